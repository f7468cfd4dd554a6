// DNS records to publish and their judgement (see dns_records.hpp).
#include "ops/dns_records.hpp"

#include <algorithm>

#include "directory/address.hpp"
#include "directory/directory.hpp"
#include "dkim/keys.hpp"

namespace mailstead::admin::dns_records {

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string strip_dot(std::string_view s) {
  while (!s.empty() && s.back() == '.') s.remove_suffix(1);
  return lower(s);
}

// A TXT value without spaces, lower-cased: "v=DKIM1; k=rsa; p=AB" and "v=DKIM1;k=rsa;p=AB"
// are the same record.
std::string squeeze(std::string_view s) {
  std::string out;
  for (char c : s)
    if (c != ' ' && c != '\t') out.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  return out;
}

bool starts_with_tag(std::string_view text, std::string_view tag) {
  auto t = squeeze(text);
  auto want = squeeze(tag);
  return t.rfind(want, 0) == 0 && (t.size() == want.size() || t[want.size()] == ';' || t[want.size()] == ' ');
}

std::vector<std::string> tokens(std::string_view s) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : s) {
    if (c == ' ' || c == '\t') {
      if (!cur.empty()) out.push_back(lower(cur));
      cur.clear();
    } else {
      cur.push_back(c);
    }
  }
  if (!cur.empty()) out.push_back(lower(cur));
  return out;
}

std::uint64_t fnv1a(std::string_view s) {
  std::uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return h;
}

Judgement failed(const dns::Answer& a) {
  Judgement j;
  j.status = Status::error;
  j.error = std::string(dns::status_name(a.status)) + (a.error.empty() ? "" : ": " + a.error);
  return j;
}

bool resolver_failed(const dns::Answer& a) { return a.status == dns::Status::servfail || a.status == dns::Status::timeout; }

}  // namespace

const char* status_name(Status s) {
  switch (s) {
    case Status::ok: return "ok";
    case Status::missing: return "missing";
    case Status::mismatch: return "mismatch";
    case Status::error: return "error";
  }
  return "?";
}

std::string mta_sts_policy(const Hosts& h) {
  // "testing": receivers report failures (TLS-RPT) but still deliver; a self-signed or
  // mismatched certificate then costs no mail. Switch to enforce by hand once reports are clean.
  return "version: STSv1\r\nmode: testing\r\nmx: " + h.mail_host + "\r\nmax_age: 604800\r\n";
}

std::string mta_sts_id(const Hosts& h) {
  static const char hex[] = "0123456789abcdef";
  auto v = fnv1a(mta_sts_policy(h));
  std::string out;
  for (int i = 60; i >= 0; i -= 4) out.push_back(hex[(v >> i) & 15]);
  return out;
}

Result<std::vector<Record>> expected(store::ReadTxn& txn, std::string_view domain_in, const Hosts& h, std::int64_t now) {
  auto d = directory::normalize_domain(domain_in);
  if (!d) return about(d.error(), "domain");
  if (!directory::get_domain(txn, *d)) return Error(ErrorKind::not_found, "no domain " + *d, "domain");
  const std::string& D = *d;
  const std::string H = strip_dot(h.mail_host), C = strip_dot(h.client_host);
  std::vector<Record> out;
  using T = dns::Type;
  out.push_back({"mx", D, T::mx, "10 " + H + ".", "mail for " + D + " goes to this server"});
  out.push_back({"spf", D, T::txt, "v=spf1 mx -all",
                 "only the domain's MX hosts send its mail (RFC 7208); add a relay's include: if one is used"});
  for (const auto& k : dkim::list_keys(txn, D, now))
    out.push_back({"dkim", k.dns_name(), T::txt, k.txt(),
                   k.state == dkim::KeyState::active ? "the public key of selector " + k.selector + " (signing)"
                                                     : "selector " + k.selector + " is retired: keep it published until its grace ends"});
  out.push_back({"dmarc", "_dmarc." + D, T::txt, "v=DMARC1; p=quarantine; rua=mailto:postmaster@" + D,
                 "receivers quarantine mail that fails both SPF and DKIM alignment and report to postmaster (RFC 7489)"});
  out.push_back({"mta-sts", "_mta-sts." + D, T::txt, "v=STSv1; id=" + mta_sts_id(h),
                 "announces the MTA-STS policy (RFC 8461), served at https://mta-sts." + D + "/.well-known/mta-sts.txt"});
  out.push_back({"mta-sts", "mta-sts." + D, T::cname, C + ".", "where senders fetch the MTA-STS policy (HTTPS on port 443)"});
  out.push_back({"tls-rpt", "_smtp._tls." + D, T::txt, "v=TLSRPTv1; rua=mailto:postmaster@" + D,
                 "senders report TLS failures to postmaster (RFC 8460)"});
  out.push_back({"autoconfig", "autoconfig." + D, T::cname, C + ".", "Thunderbird's autoconfig (served on port 443)"});
  out.push_back({"autodiscover", "autodiscover." + D, T::cname, C + ".", "Outlook's autodiscover (served on port 443)"});
  auto srv = [&](const char* service, std::uint32_t port, const char* what) {
    out.push_back({"srv", std::string(service) + "." + D, T::srv, "0 1 " + std::to_string(port) + " " + C + ".", what});
  };
  srv("_imaps._tcp", h.imaps_port, "IMAP over TLS for mail clients (RFC 6186)");
  srv("_submission._tcp", h.submission_port, "submission with STARTTLS (RFC 6186)");
  srv("_submissions._tcp", h.submissions_port, "submission over TLS (RFC 8314)");
  srv("_autodiscover._tcp", h.https_port, "Outlook's autodiscover by SRV");
  out.push_back({"ptr", H, T::ptr, H + ".",
                 "the mail host's A/AAAA records must be this server's public addresses, and each address's PTR "
                 "(set by whoever runs the network) must be " + H + ": receivers check that the two agree"});
  return out;
}

Judgement judge(const Record& r, const dns::Answer& a) {
  if (resolver_failed(a)) return failed(a);
  Judgement j;
  using T = dns::Type;
  switch (r.type) {
    case T::mx: {
      auto want = strip_dot(r.value.substr(r.value.find(' ') + 1));
      bool ours = false;
      for (const auto& m : a.mx) {
        j.found.push_back(std::to_string(m.preference) + " " + (m.host.empty() ? "." : m.host + "."));
        ours |= m.host == want;
      }
      j.status = a.mx.empty() ? Status::missing : ours ? Status::ok : Status::mismatch;
      return j;
    }
    case T::txt: {
      // The record of the same kind (its v= tag) decides; other TXT records at the name are
      // not reported (a domain's apex has many).
      auto tag = r.value.substr(0, r.value.find(';'));
      if (r.kind == "spf") tag = "v=spf1";
      std::vector<std::string> same;
      for (const auto& t : a.texts) {
        bool kind = r.kind == "spf" ? (lower(t) == "v=spf1" || lower(t).rfind("v=spf1 ", 0) == 0) : starts_with_tag(t, tag);
        if (kind) same.push_back(t);
      }
      j.found = same;
      if (same.empty()) {
        // DKIM keys are alone at their name: anything else there is a wrong record.
        if (r.kind == "dkim" && !a.texts.empty()) {
          j.found = a.texts;
          j.status = Status::mismatch;
        } else {
          j.status = Status::missing;
        }
        return j;
      }
      if (same.size() > 1 && (r.kind == "spf" || r.kind == "dmarc")) {
        j.status = Status::mismatch;  // two SPF or DMARC records: receivers ignore both (RFC 7208 4.5, RFC 7489 6.6.3)
        return j;
      }
      if (r.kind == "dkim") {
        j.status = Status::mismatch;
        for (const auto& t : same)
          if (squeeze(t) == squeeze(r.value)) j.status = Status::ok;
        return j;
      }
      if (r.kind == "spf") {
        auto t = tokens(same[0]);
        bool ours = false;
        for (const auto& x : t) ours |= x == "mx" || x == "+mx" || x == "a" || x == "+a";
        j.status = ours || squeeze(same[0]) == squeeze(r.value) ? Status::ok : Status::mismatch;
        return j;
      }
      if (r.kind == "mta-sts") {
        // The id must be the current policy's, or senders keep a cached older one.
        j.status = squeeze(same[0]) == squeeze(r.value) ? Status::ok : Status::mismatch;
        return j;
      }
      j.status = Status::ok;  // DMARC, TLS-RPT: the policy and the report address are the operator's choice
      return j;
    }
    case T::cname: {
      auto want = strip_dot(r.value);
      for (const auto& n : a.names) j.found.push_back(n + ".");
      if (a.names.empty()) j.status = Status::missing;
      else j.status = std::find(a.names.begin(), a.names.end(), want) != a.names.end() ? Status::ok : Status::mismatch;
      return j;
    }
    case T::srv: {
      auto parts = tokens(r.value);
      auto port = parts.size() == 4 ? parts[2] : "";
      auto target = parts.size() == 4 ? strip_dot(parts[3]) : "";
      bool ours = false;
      for (const auto& s : a.srv) {
        j.found.push_back(std::to_string(s.priority) + " " + std::to_string(s.weight) + " " + std::to_string(s.port) + " " +
                          (s.target.empty() ? "." : s.target + "."));
        ours |= s.target == target && std::to_string(s.port) == port;
      }
      j.status = a.srv.empty() ? Status::missing : ours ? Status::ok : Status::mismatch;
      return j;
    }
    default:
      break;
  }
  j.status = Status::missing;
  return j;
}

Judgement judge_ptr(const Record& r, const std::vector<std::string>& addresses, const std::vector<dns::Answer>& ptrs,
                    const dns::Answer& a, const dns::Answer& aaaa) {
  if (addresses.empty()) {
    if (resolver_failed(a)) return failed(a);
    if (resolver_failed(aaaa)) return failed(aaaa);
    Judgement j;
    j.status = Status::missing;  // the mail host has no address at all
    return j;
  }
  Judgement j;
  auto want = strip_dot(r.value);
  bool all = true, none = true;
  for (std::size_t i = 0; i < addresses.size(); ++i) {
    const auto& p = ptrs[i];
    std::string names;
    bool match = false;
    for (const auto& n : p.names) {
      names += (names.empty() ? "" : ", ") + n + ".";
      match |= n == want;
    }
    if (resolver_failed(p)) names = std::string("(") + dns::status_name(p.status) + ")";
    j.found.push_back(addresses[i] + " -> " + (names.empty() ? "no PTR" : names));
    all &= match;
    none &= p.names.empty();
  }
  j.status = all ? Status::ok : none ? Status::missing : Status::mismatch;
  return j;
}

}  // namespace mailstead::admin::dns_records
