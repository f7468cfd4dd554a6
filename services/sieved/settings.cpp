// Parses the [sieved] section.
#include "settings.hpp"

#include "config/source.hpp"

namespace mailstead::managesieve {

Settings load_settings(config::Source& src) {
  Settings s;
  const std::string sec = "sieved";
  src.get_listeners(sec, "listen", s.listen);
  src.get(sec, "threads", s.threads, 0, 256);
  src.get(sec, "max_line_length", s.max_line_length, 512, 1 << 20);
  src.get(sec, "max_connections", s.max_connections, 1, 1000000);
  src.get(sec, "max_connections_per_ip", s.max_connections_per_ip, 1, 1000000);
  src.get(sec, "max_errors", s.max_errors, 1, 1000);
  src.get_duration(sec, "idle_timeout", s.idle_timeout);
  src.get_duration(sec, "login_timeout", s.login_timeout);
  src.get_duration(sec, "tls_handshake_timeout", s.tls_handshake_timeout);
  src.get(sec, "auth_max_failures_per_ip", s.auth_max_failures_per_ip, 1, 1000000);
  src.get(sec, "auth_max_failures_per_account", s.auth_max_failures_per_account, 1, 1000000);
  src.get_duration(sec, "auth_failure_window", s.auth_failure_window);
  src.get_duration(sec, "auth_failure_delay", s.auth_failure_delay);
  for (auto* d : {&s.idle_timeout, &s.login_timeout, &s.tls_handshake_timeout})
    if (d->count() == 0) src.fail(sec, "timeouts", "timeouts must be greater than zero");
  return s;
}

}  // namespace mailstead::managesieve
