// Parses the [imapd] section.
#include "settings.hpp"

#include "config/source.hpp"

namespace mailstead::imap {

Settings load_settings(config::Source& src) {
  Settings s;
  src.get_listeners("imapd", "imaps_listen", s.imaps_listen);
  src.get_listeners("imapd", "imap_listen", s.imap_listen);
  return s;
}

}  // namespace mailstead::imap
