// Parses the [sieved] section.
#include "settings.hpp"

#include "config/source.hpp"

namespace mailstead::sieve {

Settings load_settings(config::Source& src) {
  Settings s;
  src.get_listeners("sieved", "listen", s.listen);
  return s;
}

}  // namespace mailstead::sieve
