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
  src.get_listeners(sec, "metrics_listen", s.metrics_listen);
  src.get(sec, "max_line_length", s.max_line_length, 1024, 1 << 24);
  src.get_size(sec, "max_literal_size", s.max_literal_size, 1024, 1ull << 31);
  // LITERAL- (advertised before login) promises non-synchronizing literals of 4,096 bytes.
  src.get_size(sec, "max_login_literal_size", s.max_login_literal_size, 256, 4096);
  src.get_size(sec, "max_literal_memory", s.max_literal_memory, 1 << 20, 1ull << 40);
  // Matching walks the key tree recursively: 1,000 levels stay far inside a thread's stack.
  src.get(sec, "max_search_depth", s.max_search_depth, 1, 1000);
  src.get(sec, "max_search_keys", s.max_search_keys, 1, 1000000);
  src.get(sec, "max_list_pattern", s.max_list_pattern, 64, 65536);
  // Each kept update is evaluated again when the mailbox changes: a small number.
  src.get(sec, "max_search_updates", s.max_search_updates, 0, 1000);
  src.get_duration(sec, "idle_timeout", s.idle_timeout);
  src.get_duration(sec, "login_timeout", s.login_timeout);
  src.get_duration(sec, "tls_handshake_timeout", s.tls_handshake_timeout);
  src.get_duration(sec, "idle_poll", s.idle_poll);
  if (s.max_literal_memory < s.max_literal_size)
    src.fail(sec, "max_literal_memory", "must be at least max_literal_size, or no message that large could ever be appended");
  for (auto* d : {&s.idle_timeout, &s.login_timeout, &s.tls_handshake_timeout, &s.idle_poll})
    if (d->count() == 0) src.fail(sec, "timeouts", "timeouts must be greater than zero");
  return s;
}

}  // namespace mailstead::imap
