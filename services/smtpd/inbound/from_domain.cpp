// The RFC 5322 From domain DMARC evaluates (RFC 7489 6.6.1). See checks.hpp. Pure; fuzzed
// (fuzz-dmarc-record).
#include "directory/address.hpp"
#include "inbound/message_checks.hpp"
#include "mime/header.hpp"

namespace mailstead::inbound {

FromDomain from_domain_of(std::string_view header) {
  auto froms = mime::field_values(header, "from");
  if (froms.empty()) return {"", "no From field"};
  if (froms.size() > 1) return {"", "more than one From field"};
  auto list = mime::parse_address_list(froms.front());
  if (list.empty()) return {"", "no address in From"};
  std::string domain;
  for (const auto& a : list) {
    auto at = a.rfind('@');
    if (at == std::string::npos) return {"", "From address without a domain"};
    auto d = directory::normalize_domain(a.substr(at + 1));
    if (!d) return {"", "From domain not valid"};
    if (!domain.empty() && *d != domain) return {"", "From addresses in different domains"};
    domain = *d;
  }
  return {domain, ""};
}

}  // namespace mailstead::inbound
