// DKIM verification (RFC 6376 6) with libopendkim: every signature up to max_signatures is
// verified (the rest are marked ignored by the prescreen callback and reported as policy);
// public keys come through a key lookup callback that asks common/dns (the LookupScope of
// this thread), so [dns] nameservers and the check's deadline apply.
#define _Bool bool
#include <opendkim/dkim.h>
#undef _Bool

#include <cstring>

#include "dns/message.hpp"
#include "inbound/message_checks.hpp"
#include "inbound/dns_bridge.hpp"
#include "mime/header.hpp"

namespace mailstead::inbound {

namespace {

thread_local std::uint32_t max_sigs = 5;

DKIM_CBSTAT prescreen(DKIM*, DKIM_SIGINFO** sigs, int n) {
  for (int i = static_cast<int>(max_sigs); i < n; ++i) dkim_sig_ignore(sigs[i]);
  return DKIM_CBSTAT_CONTINUE;
}

DKIM_CBSTAT key_lookup(DKIM*, DKIM_SIGINFO* sig, u_char* buf, size_t buflen) {
  const char* d = reinterpret_cast<const char*>(dkim_sig_getdomain(sig));
  const char* s = reinterpret_cast<const char*>(dkim_sig_getselector(sig));
  if (!d || !s || !*d || !*s) return DKIM_CBSTAT_NOTFOUND;
  auto a = LookupScope::ask(std::string(s) + "._domainkey." + d, dns::Type::txt);
  if (a.status == dns::Status::nxdomain || a.status == dns::Status::nodata) return DKIM_CBSTAT_NOTFOUND;
  if (!a.ok()) return DKIM_CBSTAT_TRYAGAIN;
  if (a.texts.empty()) return DKIM_CBSTAT_NOTFOUND;
  // RFC 6376 3.6.2.2: more than one record is a key the verifier may not use.
  const std::string& t = a.texts.front();
  if (t.size() + 1 > buflen) return DKIM_CBSTAT_ERROR;
  std::memcpy(buf, t.c_str(), t.size() + 1);
  return DKIM_CBSTAT_CONTINUE;
}

DKIM_LIB* library() {
  static DKIM_LIB* lib = [] {
    DKIM_LIB* l = dkim_init(nullptr, nullptr);
    if (!l) return l;
    dkim_set_key_lookup(l, key_lookup);
    dkim_set_prescreen(l, prescreen);
    return l;
  }();
  return lib;
}

const char* classify(DKIM_SIGINFO* sig, std::string& comment) {
  unsigned flags = dkim_sig_getflags(sig);
  if (flags & DKIM_SIGFLAG_IGNORE) {
    comment = "not verified: over the signature limit";
    return "policy";
  }
  if (DKIM_SIG_CHECK(sig)) return "pass";
  int err = dkim_sig_geterror(sig);
  if (err != DKIM_SIGERROR_OK) {
    if (const char* s = dkim_sig_geterrorstr(err)) comment = s;
  }
  switch (err) {
    case DKIM_SIGERROR_KEYFAIL: return "temperror";
    case DKIM_SIGERROR_BADSIG: return "fail";
    case DKIM_SIGERROR_OK:
      if (dkim_sig_getbh(sig) == DKIM_SIGBH_MISMATCH) {
        comment = "body hash mismatch";
        return "fail";
      }
      if (!(flags & DKIM_SIGFLAG_PROCESSED)) {
        comment = "not verified";
        return "neutral";
      }
      return "fail";
    case DKIM_SIGERROR_EXPIRED:
    case DKIM_SIGERROR_FUTURE:
      return "neutral";
    default:
      return "permerror";  // malformed signature, no key, unusable key
  }
}

}  // namespace

std::vector<DkimResult> verify_dkim(std::string_view message, std::uint32_t max_signatures) {
  std::vector<DkimResult> out;
  DKIM_LIB* lib = library();
  if (!lib) return {{"temperror", "", "", "", "DKIM library unavailable"}};
  max_sigs = max_signatures;
  DKIM_STAT st = DKIM_STAT_OK;
  DKIM* d = dkim_verify(lib, reinterpret_cast<const unsigned char*>("in"), nullptr, &st);
  if (!d) return {{"temperror", "", "", "", "DKIM library unavailable"}};
  std::size_t hend = mime::header_end(message);
  std::string_view header = message.substr(0, hend);
  // Each field with its folding, without the final CRLF.
  std::size_t pos = 0;
  bool any = false;
  while (pos < header.size()) {
    std::size_t end = pos;
    do {
      auto nl = header.find('\n', end);
      end = nl == std::string_view::npos ? header.size() : nl + 1;
    } while (end < header.size() && (header[end] == ' ' || header[end] == '\t'));
    auto field = header.substr(pos, end - pos);
    pos = end;
    while (!field.empty() && (field.back() == '\n' || field.back() == '\r')) field.remove_suffix(1);
    if (field.empty()) continue;
    if (field.size() >= 15 && strncasecmp(field.data(), "dkim-signature:", 15) == 0) any = true;
    std::string f(field);
    dkim_header(d, reinterpret_cast<u_char*>(f.data()), f.size());
  }
  if (!any) {
    dkim_free(d);
    return out;
  }
  st = dkim_eoh(d);
  if (st != DKIM_STAT_NOSIG) {
    // libopendkim only reads the body; its prototype is not const.
    auto body = message.substr(hend);
    if (!body.empty()) dkim_body(d, reinterpret_cast<u_char*>(const_cast<char*>(body.data())), body.size());
    dkim_eom(d, nullptr);
  }
  DKIM_SIGINFO** sigs = nullptr;
  int n = 0;
  if (dkim_getsiglist(d, &sigs, &n) == DKIM_STAT_OK) {
    for (int i = 0; i < n; ++i) {
      DkimResult r;
      r.result = classify(sigs[i], r.comment);
      if (auto* dom = dkim_sig_getdomain(sigs[i])) r.domain = reinterpret_cast<const char*>(dom);
      if (auto* sel = dkim_sig_getselector(sigs[i])) r.selector = reinterpret_cast<const char*>(sel);
      char b[128];
      std::size_t blen = sizeof b;
      if (dkim_get_sigsubstring(d, sigs[i], b, &blen) == DKIM_STAT_OK) r.b.assign(b, strnlen(b, std::min(blen, sizeof b)));
      if (r.b.size() > 16) r.b.resize(16);
      out.push_back(std::move(r));
    }
  }
  if (out.empty()) out.push_back({"permerror", "", "", "", "malformed DKIM-Signature"});
  dkim_free(d);
  return out;
}

}  // namespace mailstead::inbound
