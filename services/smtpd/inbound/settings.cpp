// Parses [dnsbl], [greylist] and the MX's rate keys in [smtpd].
#include "inbound/settings.hpp"

#include "config/source.hpp"
#include "directory/address.hpp"
#include "inbound/rules.hpp"

namespace mailstead::inbound {

void load_protection_settings(config::Source& src, ProtectionSettings& s) {
  std::string sec = "dnsbl";
  src.get(sec, "enabled", s.dnsbl.enabled);
  if (src.has(sec, "zones")) {
    std::vector<std::string> zones;
    src.get(sec, "zones", zones);
    s.dnsbl.zones.clear();
    for (const auto& z : zones) {
      DnsblZone zone;
      std::string name = z;
      if (auto colon = z.rfind(':'); colon != std::string::npos) {
        name = z.substr(0, colon);
        auto w = z.substr(colon + 1);
        if (w.empty() || w.size() > 4 || w.find_first_not_of("0123456789") != std::string::npos)
          src.fail(sec, "zones", "'" + z + "': the weight after ':' must be a number from 0 to 9999");
        zone.weight = static_cast<std::uint32_t>(std::stoul(w));
      }
      auto d = directory::normalize_domain(name);
      if (!d) src.fail(sec, "zones", "'" + z + "' is not a DNS zone: " + d.error().message);
      zone.zone = *d;
      s.dnsbl.zones.push_back(zone);
    }
  }
  src.get(sec, "threshold", s.dnsbl.threshold, 1, 100000);
  src.get_duration(sec, "timeout", s.dnsbl.timeout);
  if (s.dnsbl.timeout.count() < 100 || s.dnsbl.timeout > std::chrono::seconds(60))
    src.fail(sec, "timeout", "must be from 100ms to 60s");
  if (src.has(sec, "exempt_recipients")) {
    s.dnsbl.exempt_recipients.clear();
    std::vector<std::string> locals;
    src.get(sec, "exempt_recipients", locals);
    for (auto& l : locals) {
      if (l.empty() || l.find('@') != std::string::npos)
        src.fail(sec, "exempt_recipients", "'" + l + "': give local parts such as \"postmaster\"");
      s.dnsbl.exempt_recipients.push_back(directory::lowercase_ascii(l));
    }
  }

  sec = "greylist";
  src.get(sec, "enabled", s.greylist.enabled);
  src.get_duration(sec, "delay", s.greylist.delay);
  src.get_duration(sec, "retry_window", s.greylist.retry_window);
  src.get_duration(sec, "expiry", s.greylist.expiry);
  if (s.greylist.retry_window <= s.greylist.delay) src.fail(sec, "retry_window", "must be longer than delay");
  if (s.greylist.expiry < s.greylist.retry_window) src.fail(sec, "expiry", "must be at least retry_window");

  sec = "smtpd";
  src.get(sec, "max_connection_rate_per_ip", s.max_connection_rate_per_ip, 0, 1000000);
  std::string iprev = s.iprev_reject ? "reject" : "record";
  src.get(sec, "iprev_policy", iprev);
  if (iprev != "record" && iprev != "reject") src.fail(sec, "iprev_policy", "must be \"record\" or \"reject\"");
  s.iprev_reject = iprev == "reject";
  src.get(sec, "trusted_clients", s.trusted_clients);
  for (auto& c : s.trusted_clients)
    if (!mailstead::inbound::parse_cidr(c)) src.fail(sec, "trusted_clients", "'" + c + "' is not an IP address or CIDR range");
}

}  // namespace mailstead::inbound
