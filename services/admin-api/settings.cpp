// Parses the [admin] section.
#include "settings.hpp"

#include "config/source.hpp"

namespace mailstead::admin {

Settings load_settings(config::Source& src) {
  Settings s;
  src.get_listeners("admin", "listen", s.listen);
  return s;
}

}  // namespace mailstead::admin
