// Parses the [sieved] section.
#include "settings.hpp"

#include "config/source.hpp"

namespace mailstead::managesieve {

Settings load_settings(config::Source& src) {
  Settings s;
  const std::string sec = "sieved";
  config::get_protocol_limits(src, sec, s);
  src.get_listeners(sec, "listen", s.listen);
  src.get_listeners(sec, "metrics_listen", s.metrics_listen);
  src.get(sec, "max_line_length", s.max_line_length, 512, 1 << 20);
  src.get_duration(sec, "idle_timeout", s.idle_timeout);
  src.get_duration(sec, "login_timeout", s.login_timeout);
  src.get_duration(sec, "tls_handshake_timeout", s.tls_handshake_timeout);
  for (auto* d : {&s.idle_timeout, &s.login_timeout, &s.tls_handshake_timeout})
    if (d->count() == 0) src.fail(sec, "timeouts", "timeouts must be greater than zero");
  return s;
}

}  // namespace mailstead::managesieve
