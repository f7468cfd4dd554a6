// DMARC (RFC 7489) with libopendmarc: we find the record ourselves through common/dns
// (_dmarc.<From domain>, then _dmarc.<organizational domain>, 6.6.3) and hand its text to
// libopendmarc, which parses it and computes alignment (3.1) from the SPF and DKIM results;
// which policy applies (p= or sp=) and pct= sampling are decided here from the parsed
// record. The From domain comes from the one From field (6.6.1).
#include <opendmarc/dmarc.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <random>

#include "directory/address.hpp"
#include "dns/message.hpp"
#include "inbound/message_checks.hpp"
#include "inbound/dns_bridge.hpp"
#include "mime/header.hpp"

// Exported by libopendmarc, not declared in its header: the organizational domain.
extern "C" int opendmarc_get_tld(u_char* domain, u_char* tld, size_t tld_len);

namespace mailstead::inbound {

namespace {

std::once_flag init_once;
bool psl_loaded = false;

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

struct Record {
  std::string text;
  dns::Status status = dns::Status::ok;
  bool several = false;
};

// The DMARC record at _dmarc.<domain>: TXT records starting "v=DMARC1" (6.6.3 step 3/4).
Record find_record(const std::string& domain) {
  Record r;
  auto a = LookupScope::ask("_dmarc." + domain, dns::Type::txt);
  r.status = a.status;
  if (!a.ok()) return r;
  int n = 0;
  for (const auto& t : a.texts) {
    auto s = t;
    s.erase(0, s.find_first_not_of(" \t"));
    if (s.size() >= 8 && lower(s.substr(0, 8)) == "v=dmarc1" && (s.size() == 8 || s[8] == ';' || s[8] == ' ' || s[8] == '\t')) {
      if (n++ == 0) r.text = s;
    }
  }
  r.several = n > 1;
  if (n == 0) r.status = dns::Status::nodata;
  return r;
}

}  // namespace

void init_dmarc(const std::string& public_suffix_list) {
  std::call_once(init_once, [&] {
    OPENDMARC_LIB_T lib{};
    lib.tld_type = OPENDMARC_TLD_TYPE_NONE;
    if (!public_suffix_list.empty() && public_suffix_list.size() < sizeof lib.tld_source_file) {
      if (FILE* f = std::fopen(public_suffix_list.c_str(), "r")) {
        std::fclose(f);
        lib.tld_type = OPENDMARC_TLD_TYPE_MOZILLA;
        std::memcpy(lib.tld_source_file, public_suffix_list.c_str(), public_suffix_list.size() + 1);
        psl_loaded = true;
      }
    }
    opendmarc_policy_library_init(&lib);
  });
}

std::string organizational_domain(const std::string& domain) {
  if (psl_loaded) {
    u_char out[256] = {0};
    std::string d = domain;
    if (d.size() < 250 && opendmarc_get_tld(reinterpret_cast<u_char*>(d.data()), out, sizeof out) == 0 && out[0])
      return lower(reinterpret_cast<char*>(out));
  }
  // Without a list: the last two labels.
  auto last = domain.rfind('.');
  if (last == std::string::npos || last == 0) return domain;
  auto prev = domain.rfind('.', last - 1);
  return prev == std::string::npos ? domain : domain.substr(prev + 1);
}

DmarcResult check_dmarc(const DmarcInput& in) {
  DmarcResult out;
  const std::string& from = in.from_domain;
  auto rec = find_record(from);
  std::string org;
  if (rec.status == dns::Status::ok) {
    out.record_domain = from;
  } else if (rec.status == dns::Status::nxdomain || rec.status == dns::Status::nodata) {
    org = organizational_domain(from);
    if (org != from) {
      rec = find_record(org);
      if (rec.status == dns::Status::ok) out.record_domain = org;
    }
  }
  if (rec.status == dns::Status::servfail || rec.status == dns::Status::timeout) {
    out.result = "temperror";
    out.comment = "DNS: the DMARC record could not be looked up";
    return out;
  }
  if (rec.status != dns::Status::ok) {
    out.result = "none";
    return out;
  }
  if (rec.several) {  // RFC 7489 6.6.3: more than one record is no record
    out.result = "none";
    out.comment = "more than one DMARC record";
    return out;
  }
  std::string ip = in.ip;
  DMARC_POLICY_T* p = opendmarc_policy_connect_init(reinterpret_cast<u_char*>(ip.data()), ip.find(':') != std::string::npos);
  if (!p) return {"temperror", 0, false, false, false, "", "DMARC library unavailable"};
  std::string from_s = from, text = rec.text;
  std::string org_s = out.record_domain == from ? std::string() : out.record_domain;
  opendmarc_policy_store_from_domain(p, reinterpret_cast<u_char*>(from_s.data()));
  int st = opendmarc_policy_store_dmarc(p, reinterpret_cast<u_char*>(text.data()), reinterpret_cast<u_char*>(from_s.data()),
                                        org_s.empty() ? nullptr : reinterpret_cast<u_char*>(org_s.data()));
  if (st != DMARC_PARSE_OKAY) {
    out.result = "permerror";
    out.comment = std::string("DMARC record: ") + opendmarc_policy_status_to_str(st);
    opendmarc_policy_connect_shutdown(p);
    return out;
  }
  if (!in.spf_domain.empty()) {
    int spf = in.spf_result == "pass"        ? DMARC_POLICY_SPF_OUTCOME_PASS
              : in.spf_result == "temperror" ? DMARC_POLICY_SPF_OUTCOME_TMPFAIL
              : in.spf_result == "none"      ? DMARC_POLICY_SPF_OUTCOME_NONE
                                             : DMARC_POLICY_SPF_OUTCOME_FAIL;
    std::string sd = in.spf_domain;
    opendmarc_policy_store_spf(p, reinterpret_cast<u_char*>(sd.data()), spf,
                               in.spf_from_helo ? DMARC_POLICY_SPF_ORIGIN_HELO : DMARC_POLICY_SPF_ORIGIN_MAILFROM, nullptr);
  }
  for (const auto& k : in.dkim) {
    if (k.domain.empty()) continue;
    int r = k.result == "pass" ? DMARC_POLICY_DKIM_OUTCOME_PASS
            : k.result == "temperror" ? DMARC_POLICY_DKIM_OUTCOME_TMPFAIL
            : k.result == "policy" ? DMARC_POLICY_DKIM_OUTCOME_NONE
                                   : DMARC_POLICY_DKIM_OUTCOME_FAIL;
    std::string dd = k.domain, ss = k.selector;
    opendmarc_policy_store_dkim(p, reinterpret_cast<u_char*>(dd.data()), reinterpret_cast<u_char*>(ss.data()), r, nullptr);
  }
  int verdict = opendmarc_get_policy_to_enforce(p);
  int dkim_al = 0, spf_al = 0;
  opendmarc_policy_fetch_alignment(p, &dkim_al, &spf_al);
  out.dkim_aligned = dkim_al == DMARC_POLICY_DKIM_ALIGNMENT_PASS;
  out.spf_aligned = spf_al == DMARC_POLICY_SPF_ALIGNMENT_PASS;
  int pol = 0, sub = 0, pct = 100;
  opendmarc_policy_fetch_p(p, &pol);
  opendmarc_policy_fetch_sp(p, &sub);
  opendmarc_policy_fetch_pct(p, &pct);
  opendmarc_policy_connect_shutdown(p);
  bool pass = verdict == DMARC_POLICY_PASS;
  out.result = pass ? "pass" : "fail";
  // RFC 7489 6.3: sp= applies to subdomains of the domain the record was found at.
  bool subdomain = !org_s.empty();
  int applied = (subdomain && sub != DMARC_RECORD_P_UNSPECIFIED) ? sub : pol;
  out.policy = static_cast<char>(applied == DMARC_RECORD_P_REJECT       ? 'r'
                                 : applied == DMARC_RECORD_P_QUARANTINE ? 'q'
                                                                        : 'n');
  // 6.6.4: pct= — a message outside the sample gets the next policy down.
  if (!pass && pct >= 0 && pct < 100) {
    thread_local std::mt19937 rng{std::random_device{}()};
    if (static_cast<int>(rng() % 100) >= pct) out.sampled_out = true;
  }
  return out;
}

}  // namespace mailstead::inbound
