// The three checks behind AuthChecker (auth_checks.hpp), each usable alone: they run on a
// check pool thread inside a LookupScope (dns_bridge.hpp) that gives them DNS and a deadline.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "inbound/auth_results.hpp"

namespace mailstead::inbound {

// ---- SPF (spf.cpp), RFC 7208 ----
struct SpfResult {
  std::string result;  // pass fail softfail neutral none temperror permerror
  std::string domain;  // the domain checked
  std::string comment;
};
// identity: the MAIL FROM address (or "" with a HELO name: postmaster@helo, RFC 7208 2.4);
// helo_identity: check the HELO name itself (RFC 7208 2.3).
SpfResult check_spf(std::string_view ip, std::string_view helo, std::string_view mail_from, bool helo_identity);

// ---- DKIM (dkim_verify.cpp), RFC 6376 ----
struct DkimResult {
  std::string result;  // pass fail neutral policy temperror permerror
  std::string domain, selector, b;  // header.d, header.s, header.b (a unique prefix)
  std::string comment;
};
// Every DKIM-Signature of `message`, the first `max_signatures` verified, the rest reported
// as policy. Empty: the message has no signature.
std::vector<DkimResult> verify_dkim(std::string_view message, std::uint32_t max_signatures);

// ---- DMARC (dmarc.cpp), RFC 7489 ----
struct DmarcInput {
  std::string ip;
  std::string from_domain;   // lower case
  std::string spf_domain;    // the domain SPF checked (MAIL FROM's, or HELO's for <>)
  std::string spf_result;
  bool spf_from_helo = false;
  std::vector<DkimResult> dkim;
};
struct DmarcResult {
  std::string result;  // pass fail none temperror permerror
  char policy = 0;     // 'r' 'q' 'n': what the record asks for this From domain (sp= for a subdomain); 0 when none
  bool sampled_out = false;  // pct= left this message out: the next policy down applies
  bool spf_aligned = false, dkim_aligned = false;
  std::string record_domain;  // where the record was found
  std::string comment;
};
DmarcResult check_dmarc(const DmarcInput& in);
// The organizational domain (public suffix list) of `domain`; the domain itself when unknown.
std::string organizational_domain(const std::string& domain);
// Loads the public suffix list once per process ("" or a missing file: last two labels).
void init_dmarc(const std::string& public_suffix_list);

// The RFC 5322 From domain, as DMARC needs it (RFC 7489 6.6.1): exactly one From field
// with one address. error says why not (a permerror).
struct FromDomain {
  std::string domain;
  std::string error;
};
FromDomain from_domain_of(std::string_view header);

}  // namespace mailstead::inbound
