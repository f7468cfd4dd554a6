// Parses the [imapd] section.
#include "settings.hpp"

#include "config/source.hpp"

namespace mailstead::imap {

Settings load_settings(config::Source& src) {
  Settings s;
  const std::string sec = "imapd";
  config::get_protocol_limits(src, sec, s);
  src.get_listeners(sec, "imaps_listen", s.imaps_listen);
  src.get_listeners(sec, "imap_listen", s.imap_listen);
  src.get(sec, "max_line_length", s.max_line_length, 1024, 1 << 24);
  src.get_size(sec, "max_literal_size", s.max_literal_size, 1024, 1ull << 31);
  src.get_duration(sec, "idle_timeout", s.idle_timeout);
  src.get_duration(sec, "login_timeout", s.login_timeout);
  src.get_duration(sec, "tls_handshake_timeout", s.tls_handshake_timeout);
  src.get_duration(sec, "idle_poll", s.idle_poll);
  for (auto* d : {&s.idle_timeout, &s.login_timeout, &s.tls_handshake_timeout, &s.idle_poll})
    if (d->count() == 0) src.fail(sec, "timeouts", "timeouts must be greater than zero");
  return s;
}

}  // namespace mailstead::imap
