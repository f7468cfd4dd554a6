// DKIM signing with libopendkim (RFC 6376 3.4 relaxed canonicalisation, 3.5 the
// signature field, 5.4 which fields to sign; RFC 8463 ed25519-sha256). See dkim.hpp.
// dkim.h is C and spells its booleans _Bool, which C++ calls bool.
#define _Bool bool
#include <opendkim/dkim.h>
#undef _Bool

#include <cstring>
#include <memory>

#include "dkim/dkim.hpp"
#include "mime/header.hpp"

namespace mailstead::dkim {

namespace {

// The fields signed when present (RFC 6376 5.4.1's list, cut to what Mailstead's own mail
// and its users' mail carry). libopendkim adds From itself; it is over-signed below.
const char* sign_fields[] = {"from",         "to",       "subject",     "date",       "message-id", "mime-version",
                             "content-type", "reply-to", "in-reply-to", "references", nullptr};
// RFC 6376 8.15: one more From in h= than the message has, so none can be added later.
const char* oversign_fields[] = {"from", nullptr};

// One library handle per process (libopendkim shares it between threads; its options are
// set once, here, before any use).
DKIM_LIB* library() {
  static DKIM_LIB* lib = [] {
    DKIM_LIB* l = dkim_init(nullptr, nullptr);
    if (!l) return l;
    auto hdrs = sign_fields;
    auto over = oversign_fields;
    if (dkim_options(l, DKIM_OP_SETOPT, DKIM_OPTS_SIGNHDRS, hdrs, sizeof hdrs) != DKIM_STAT_OK ||
        dkim_options(l, DKIM_OP_SETOPT, DKIM_OPTS_OVERSIGNHDRS, over, sizeof over) != DKIM_STAT_OK) {
      dkim_close(l);
      return static_cast<DKIM_LIB*>(nullptr);
    }
    return l;
  }();
  return lib;
}

// The message as SMTP sends it: CRLF line ends (bare LF or CR become CRLF), a CRLF after
// the last line, and a header that ends with an empty line even when there is no body.
std::string as_transmitted(std::string_view m) {
  std::string out;
  out.reserve(m.size() + 64);
  for (std::size_t i = 0; i < m.size(); ++i) {
    char c = m[i];
    if (c == '\r') {
      out += "\r\n";
      if (i + 1 < m.size() && m[i + 1] == '\n') ++i;
    } else if (c == '\n') {
      out += "\r\n";
    } else {
      out.push_back(c);
    }
  }
  if (!out.empty() && !out.ends_with("\r\n")) out += "\r\n";
  if (out.find("\r\n\r\n") == std::string::npos && !out.starts_with("\r\n")) out += "\r\n";
  return out;
}

struct DkimFree {
  void operator()(DKIM* d) const { dkim_free(d); }
};

Result<std::string> sign_one(DKIM_LIB* lib, std::string& message, const Key& k) {
  auto what = [&](const char* step, DKIM* d, DKIM_STAT st) {
    const char* detail = d ? dkim_geterror(d) : nullptr;
    std::string why = detail && *detail ? detail : dkim_getresultstr(st);
    return invalid(std::string("DKIM signing with ") + k.selector + "._domainkey." + k.domain + " failed at " + step +
                   ": " + why);
  };
  DKIM_STAT st = DKIM_STAT_OK;
  std::unique_ptr<DKIM, DkimFree> d(dkim_sign(
      lib, reinterpret_cast<const unsigned char*>("mailstead"), nullptr,
      reinterpret_cast<dkim_sigkey_t>(const_cast<char*>(k.private_key.c_str())),
      reinterpret_cast<const unsigned char*>(k.selector.c_str()), reinterpret_cast<const unsigned char*>(k.domain.c_str()),
      DKIM_CANON_RELAXED, DKIM_CANON_RELAXED,
      k.algorithm == Algorithm::rsa ? DKIM_SIGN_RSASHA256 : DKIM_SIGN_ED25519SHA256, -1, &st));
  if (!d) return what("start", nullptr, st);
  if ((st = dkim_chunk(d.get(), reinterpret_cast<unsigned char*>(message.data()), message.size())) != DKIM_STAT_OK)
    return what("reading the message", d.get(), st);
  if ((st = dkim_chunk(d.get(), nullptr, 0)) != DKIM_STAT_OK) return what("the end of the message", d.get(), st);
  if ((st = dkim_eom(d.get(), nullptr)) != DKIM_STAT_OK) return what("signing", d.get(), st);
  unsigned char* buf = nullptr;
  std::size_t len = 0;
  if ((st = dkim_getsighdr_d(d.get(), std::strlen(DKIM_SIGNHEADER) + 2, &buf, &len)) != DKIM_STAT_OK)
    return what("writing the field", d.get(), st);
  std::string field = DKIM_SIGNHEADER ": ";
  field.append(reinterpret_cast<const char*>(buf), len);
  field += "\r\n";
  return field;
}

}  // namespace

const char* algorithm_name(Algorithm a) { return a == Algorithm::rsa ? "rsa" : "ed25519"; }

std::optional<Algorithm> parse_algorithm(std::string_view s) {
  if (s == "rsa") return Algorithm::rsa;
  if (s == "ed25519") return Algorithm::ed25519;
  return std::nullopt;
}

Result<std::string> sign(std::string_view message, const std::vector<Key>& keys) {
  if (keys.empty()) return std::string();
  DKIM_LIB* lib = library();
  if (!lib) return internal("libopendkim failed to start");
  std::string m = as_transmitted(message);
  std::string out;
  for (const auto& k : keys) {
    auto f = sign_one(lib, m, k);
    if (!f) return f.error();
    out += *f;
  }
  return out;
}

std::string from_domain(std::string_view message) {
  auto header = message.substr(0, mime::header_end(message));
  auto from = mime::field_values(header, "From");
  if (from.empty()) return "";
  auto addrs = mime::parse_address_list(from.front());
  if (addrs.empty()) return "";
  auto at = addrs.front().rfind('@');
  if (at == std::string::npos) return "";
  std::string d = addrs.front().substr(at + 1);
  for (auto& c : d) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return d;
}

}  // namespace mailstead::dkim
