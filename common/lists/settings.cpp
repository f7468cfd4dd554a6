// Parses the [lists] section.
#include "lists/settings.hpp"

#include "config/source.hpp"
#include "directory/address.hpp"

namespace mailstead::lists {

Settings load_settings(config::Source& src) {
  Settings s;
  const std::string sec = "lists";
  src.get(sec, "site_domain", s.site_domain);
  if (!s.site_domain.empty()) {
    auto d = directory::normalize_domain(s.site_domain);
    if (!d) src.fail(sec, "site_domain", "is not a domain: " + d.error().message);
    s.site_domain = *d;
  }
  src.get(sec, "verify_senders", s.verify_senders);
  src.get(sec, "max_members", s.max_members, 1, 1000000);
  return s;
}

}  // namespace mailstead::lists
