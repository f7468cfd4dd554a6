// Parses the [admin] section.
#include "settings.hpp"

#include "config/source.hpp"

namespace mailstead::admin {

Settings load_settings(config::Source& src) {
  Settings s;
  const std::string sec = "admin";
  s.streams = streams::load_settings(src);
  s.lists = lists::load_settings(src);
  config::get_protocol_limits(src, sec, s);
  src.get_listeners(sec, "listen", s.listen);
  src.get_listeners(sec, "metrics_listen", s.metrics_listen);
  src.get(sec, "max_header_size", s.max_header_size, 1024, 1 << 20);
  src.get_size(sec, "max_body_size", s.max_body_size, 1024, std::uint64_t{1} << 30);
  src.get(sec, "max_requests_per_connection", s.max_requests_per_connection, 1, 1000000);
  src.get_duration(sec, "tls_handshake_timeout", s.tls_handshake_timeout);
  src.get_duration(sec, "request_timeout", s.request_timeout);
  src.get_duration(sec, "idle_timeout", s.idle_timeout);
  src.get_duration(sec, "write_timeout", s.write_timeout);
  src.get_duration(sec, "session_lifetime", s.session_lifetime);
  for (auto* d : {&s.tls_handshake_timeout, &s.request_timeout, &s.idle_timeout, &s.write_timeout,
                  &s.session_lifetime})
    if (d->count() == 0) src.fail(sec, "timeouts", "timeouts and session_lifetime must be greater than zero");
  src.get(sec, "max_app_passwords", s.max_app_passwords, 1, 1000);
  src.get(sec, "live_max_connections_per_user", s.live_max_connections_per_user, 1, 10000);
  src.get(sec, "live_max_message_size", s.live_max_message_size, 256, 1 << 20);
  src.get_duration(sec, "live_idle_timeout", s.live_idle_timeout);
  src.get_duration(sec, "live_poll", s.live_poll);
  if (s.live_idle_timeout < std::chrono::seconds(2) || s.live_poll.count() == 0 || s.live_poll > std::chrono::seconds(10))
    src.fail(sec, "live_idle_timeout", "live_idle_timeout must be at least 2s and live_poll from 1ms to 10s");
  src.get(sec, "web_root", s.web_root);
  src.get(sec, "client_host", s.client_host);
  src.get(sec, "client_imaps_port", s.client_imaps_port, 1, 65535);
  src.get(sec, "client_submission_port", s.client_submission_port, 1, 65535);
  src.get(sec, "client_submissions_port", s.client_submissions_port, 1, 65535);
  src.get(sec, "client_sieve_port", s.client_sieve_port, 1, 65535);
  return s;
}

}  // namespace mailstead::admin
