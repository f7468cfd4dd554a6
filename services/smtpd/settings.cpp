// Parses the [smtpd] section.
#include "settings.hpp"

#include "config/source.hpp"

namespace mailstead::smtp {

Settings load_settings(config::Source& src) {
  Settings s;
  const std::string sec = "smtpd";
  config::get_protocol_limits(src, sec, s);
  src.get_listeners(sec, "mx_listen", s.mx_listen);
  src.get_listeners(sec, "submission_listen", s.submission_listen);
  src.get_listeners(sec, "submissions_listen", s.submissions_listen);
  src.get_listeners(sec, "metrics_listen", s.metrics_listen);
  src.get(sec, "max_line_length", s.max_line_length, 512, 1 << 20);
  src.get_size(sec, "max_message_size", s.max_message_size, 1024, 1ull << 31);
  src.get(sec, "max_recipients", s.max_recipients, 1, 100000);
  src.get(sec, "sieve_threads", s.sieve_threads, 1, 256);
  src.get_duration(sec, "command_timeout", s.command_timeout);
  src.get_duration(sec, "data_timeout", s.data_timeout);
  src.get_duration(sec, "tls_handshake_timeout", s.tls_handshake_timeout);
  src.get(sec, "min_data_rate", s.min_data_rate, 1, 1u << 30);
  src.get_size(sec, "memory_budget", s.memory_budget, 1 << 20, 1ull << 40);
  src.get_size(sec, "spool_threshold", s.spool_threshold, 0, 1ull << 30);
  src.get_size(sec, "spool_max_size", s.spool_max_size, 1 << 20, 1ull << 50);
  src.get(sec, "max_header_line_length", s.max_header_line_length, 78, 1u << 30);
  src.get_size(sec, "max_header_size", s.max_header_size, 1024, 1ull << 31);
  std::string quota = s.quota_permanent ? "permanent" : "temporary";
  src.get(sec, "quota_reply", quota);
  if (quota != "temporary" && quota != "permanent") src.fail(sec, "quota_reply", "must be \"temporary\" or \"permanent\"");
  s.quota_permanent = quota == "permanent";
  mailstead::inbound::load_auth_settings(src, s.auth);
  s.streams = streams::load_settings(src);
  s.lists = lists::load_settings(src);
  for (auto* d : {&s.command_timeout, &s.data_timeout, &s.tls_handshake_timeout})
    if (d->count() == 0) src.fail(sec, "timeouts", "timeouts must be greater than zero");
  inbound::load_protection_settings(src, s.inbound);
  return s;
}

}  // namespace mailstead::smtp
