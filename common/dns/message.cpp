// DNS response parsing (RFC 1035 4.1, name compression 4.1.4; negative caching RFC 2308;
// AAAA RFC 3596; TLSA RFC 6698 2.1; the AD bit RFC 4035 3.2.3).
#include "dns/message.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <cstdio>

namespace mailstead::dns {

namespace {

struct Type_name {
  Type type;
  const char* name;
};
constexpr Type_name type_names[] = {{Type::a, "A"},     {Type::ns, "NS"},   {Type::cname, "CNAME"},
                                    {Type::soa, "SOA"}, {Type::ptr, "PTR"}, {Type::mx, "MX"},
                                    {Type::txt, "TXT"}, {Type::aaaa, "AAAA"}, {Type::srv, "SRV"},
                                    {Type::tlsa, "TLSA"}};

char lower_ascii(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

// A bounds-checked reader over one message.
class Reader {
 public:
  explicit Reader(std::string_view msg) : m_(msg) {}
  bool ok() const { return ok_; }
  std::size_t pos() const { return pos_; }
  void seek(std::size_t p) {
    if (p > m_.size()) ok_ = false;
    else pos_ = p;
  }
  std::uint8_t u8() {
    if (pos_ + 1 > m_.size()) { ok_ = false; return 0; }
    return static_cast<std::uint8_t>(m_[pos_++]);
  }
  std::uint16_t u16() {
    std::uint16_t hi = u8();
    return static_cast<std::uint16_t>((hi << 8) | u8());
  }
  std::uint32_t u32() {
    std::uint32_t hi = u16();
    return (hi << 16) | u16();
  }
  std::string_view bytes(std::size_t n) {
    if (pos_ + n > m_.size()) { ok_ = false; return {}; }
    auto v = m_.substr(pos_, n);
    pos_ += n;
    return v;
  }
  // A possibly compressed name, lower case, no trailing dot ("" for the root).
  std::string name() {
    std::string out;
    std::size_t p = pos_, end = 0;
    bool jumped = false;
    for (int hops = 0; hops < 128; ++hops) {
      if (p >= m_.size()) break;
      auto len = static_cast<std::uint8_t>(m_[p]);
      if ((len & 0xc0) == 0xc0) {
        if (p + 1 >= m_.size()) break;
        if (!jumped) end = p + 2;
        jumped = true;
        p = (static_cast<std::size_t>(len & 0x3f) << 8) | static_cast<std::uint8_t>(m_[p + 1]);
        continue;
      }
      if (len & 0xc0) break;  // the extended label types are not used (RFC 6891 5)
      if (len == 0) {
        pos_ = jumped ? end : p + 1;
        if (out.size() > 255) break;
        return out;
      }
      if (p + 1 + len > m_.size()) break;
      if (!out.empty()) out.push_back('.');
      for (std::size_t i = 0; i < len; ++i) out.push_back(lower_ascii(m_[p + 1 + i]));
      p += 1 + len;
    }
    ok_ = false;
    return {};
  }

 private:
  std::string_view m_;
  std::size_t pos_ = 0;
  bool ok_ = true;
};

Answer failed(std::string why) {
  Answer a;
  a.status = Status::servfail;
  a.error = std::move(why);
  return a;
}

struct Rr {
  std::string owner;
  std::uint16_t type = 0, klass = 0;
  std::uint32_t ttl = 0;
  std::size_t rdata = 0, rdlength = 0;  // offset and length in the message
};

}  // namespace

const char* type_name(Type t) {
  for (const auto& e : type_names)
    if (e.type == t) return e.name;
  return "?";
}

std::optional<Type> type_from_name(std::string_view name) {
  for (const auto& e : type_names) {
    std::string_view n = e.name;
    if (n.size() != name.size()) continue;
    bool same = true;
    for (std::size_t i = 0; i < n.size() && same; ++i) same = lower_ascii(n[i]) == lower_ascii(name[i]);
    if (same) return e.type;
  }
  return std::nullopt;
}

const char* status_name(Status s) {
  switch (s) {
    case Status::ok: return "ok";
    case Status::nxdomain: return "nxdomain";
    case Status::nodata: return "nodata";
    case Status::servfail: return "servfail";
    case Status::timeout: return "timeout";
  }
  return "?";
}

std::string normalize_name(std::string_view name) {
  std::string out;
  out.reserve(name.size());
  for (char c : name) out.push_back(lower_ascii(c));
  while (!out.empty() && out.back() == '.') out.pop_back();
  return out;
}

std::string reverse_name(std::string_view ip, std::string_view zone) {
  std::string text(ip);
  unsigned char buf[16];
  std::string out;
  char part[8];
  if (inet_pton(AF_INET, text.c_str(), buf) == 1) {
    for (int i = 3; i >= 0; --i) {
      std::snprintf(part, sizeof part, "%u.", buf[i]);
      out += part;
    }
    out += zone.empty() ? std::string_view("in-addr.arpa") : zone;
    return normalize_name(out);
  }
  if (inet_pton(AF_INET6, text.c_str(), buf) == 1) {
    static const char hex[] = "0123456789abcdef";
    for (int i = 15; i >= 0; --i) {
      out.push_back(hex[buf[i] & 0xf]);
      out.push_back('.');
      out.push_back(hex[buf[i] >> 4]);
      out.push_back('.');
    }
    out += zone.empty() ? std::string_view("ip6.arpa") : zone;
    return normalize_name(out);
  }
  return "";
}

Answer parse_response(std::string_view bytes, std::string_view asked, Type type) {
  Reader r(bytes);
  r.u16();  // ID: c-ares matched it to the query
  std::uint16_t flags = r.u16();
  std::uint16_t qd = r.u16(), an = r.u16(), ns = r.u16();
  r.u16();  // additional records: not used
  if (!r.ok()) return failed("truncated DNS header");
  if (!(flags & 0x8000)) return failed("not a DNS response");
  int rcode = flags & 0x000f;
  Answer out;
  out.authenticated = (flags & 0x0020) != 0;
  for (int i = 0; i < qd; ++i) {
    r.name();
    r.u16();
    r.u16();
  }
  auto read_rrs = [&](int count, std::vector<Rr>& into) {
    for (int i = 0; i < count && r.ok(); ++i) {
      Rr rr;
      rr.owner = r.name();
      rr.type = r.u16();
      rr.klass = r.u16();
      rr.ttl = r.u32();
      rr.rdlength = r.u16();
      rr.rdata = r.pos();
      r.bytes(rr.rdlength);
      if (rr.ttl > 0x7fffffff) rr.ttl = 0;  // RFC 2181 8: the top bit set means zero
      into.push_back(std::move(rr));
    }
  };
  std::vector<Rr> answers, authority;
  read_rrs(an, answers);
  read_rrs(ns, authority);
  if (!r.ok()) return failed("malformed DNS response");

  // The negative TTL: min(SOA TTL, SOA MINIMUM) from the authority section (RFC 2308 5).
  auto negative_ttl = [&]() -> std::uint32_t {
    for (const auto& rr : authority) {
      if (rr.type != static_cast<std::uint16_t>(Type::soa)) continue;
      Reader s(bytes);
      s.seek(rr.rdata);
      s.name();
      s.name();
      s.u32(), s.u32(), s.u32(), s.u32();
      std::uint32_t minimum = s.u32();
      if (s.ok()) return std::min(rr.ttl, minimum);
    }
    return 0;
  };

  if (rcode == 3) {
    out.status = Status::nxdomain;
    out.ttl = negative_ttl();
    return out;
  }
  if (rcode != 0) {
    static const char* names[] = {"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED"};
    out = failed(std::string("the DNS server answered ") + (rcode < 6 ? names[rcode] : "RCODE " + std::to_string(rcode)));
    return out;
  }

  // Follow the CNAME chain from the asked name (RFC 1034 3.6.2), then take the records
  // of the asked type owned by its end.
  std::string current = normalize_name(asked);
  std::uint32_t ttl = UINT32_MAX;
  for (int hops = 0; hops < 16; ++hops) {
    bool moved = false;
    for (const auto& rr : answers) {
      if (rr.type != static_cast<std::uint16_t>(Type::cname) || rr.owner != current) continue;
      if (type == Type::cname) break;
      Reader c(bytes);
      c.seek(rr.rdata);
      auto target = c.name();
      if (!c.ok()) return failed("malformed CNAME record");
      ttl = std::min(ttl, rr.ttl);
      current = target;
      moved = true;
      break;
    }
    if (!moved) break;
  }
  for (const auto& rr : answers) {
    if (rr.type != static_cast<std::uint16_t>(type) || rr.owner != current || rr.klass != 1) continue;
    Reader d(bytes);
    d.seek(rr.rdata);
    switch (type) {
      case Type::a:
      case Type::aaaa: {
        std::size_t want = type == Type::a ? 4 : 16;
        if (rr.rdlength != want) return failed("malformed address record");
        auto raw = d.bytes(want);
        char text[INET6_ADDRSTRLEN];
        inet_ntop(type == Type::a ? AF_INET : AF_INET6, raw.data(), text, sizeof text);
        out.addresses.emplace_back(text);
        break;
      }
      case Type::mx: {
        Mx mx;
        mx.preference = d.u16();
        mx.host = d.name();
        out.mx.push_back(std::move(mx));
        break;
      }
      case Type::txt: {
        std::string joined;
        while (d.ok() && d.pos() < rr.rdata + rr.rdlength) {
          auto len = d.u8();
          joined.append(d.bytes(len));
        }
        if (d.pos() != rr.rdata + rr.rdlength) return failed("malformed TXT record");
        out.texts.push_back(std::move(joined));
        break;
      }
      case Type::ptr:
      case Type::ns:
      case Type::cname:
        out.names.push_back(d.name());
        break;
      case Type::tlsa: {
        if (rr.rdlength < 3) return failed("malformed TLSA record");
        Tlsa t;
        t.usage = d.u8();
        t.selector = d.u8();
        t.matching = d.u8();
        t.data = std::string(d.bytes(rr.rdlength - 3));
        out.tlsa.push_back(std::move(t));
        break;
      }
      case Type::srv: {
        Srv v;
        v.priority = d.u16();
        v.weight = d.u16();
        v.port = d.u16();
        v.target = d.name();
        out.srv.push_back(std::move(v));
        break;
      }
      case Type::soa:
        break;  // SOA is read for negative TTLs only
    }
    if (!d.ok()) return failed(std::string("malformed ") + type_name(type) + " record");
    ttl = std::min(ttl, rr.ttl);
  }
  std::stable_sort(out.mx.begin(), out.mx.end(), [](const Mx& a, const Mx& b) { return a.preference < b.preference; });
  std::stable_sort(out.srv.begin(), out.srv.end(), [](const Srv& a, const Srv& b) { return a.priority < b.priority; });
  bool any = !out.addresses.empty() || !out.mx.empty() || !out.texts.empty() || !out.names.empty() || !out.tlsa.empty() ||
             !out.srv.empty();
  if (!any) {
    out.status = Status::nodata;
    out.ttl = negative_ttl();
    return out;
  }
  out.status = Status::ok;
  out.ttl = ttl == UINT32_MAX ? 0 : ttl;
  return out;
}

}  // namespace mailstead::dns
