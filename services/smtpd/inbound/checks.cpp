// DNSBL, FCrDNS and HELO look-ups: two rounds of parallel queries (the A records under each
// zone, the PTR and the HELO name; then the listing zones' TXT and the PTR names' addresses).
#include "inbound/checks.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cctype>
#include <memory>

#include "dns/resolver.hpp"
#include "inbound/rules.hpp"
#include "log/log.hpp"

namespace mailstead::inbound {

namespace asio = boost::asio;

const char* iprev_status_name(IprevStatus s) {
  switch (s) {
    case IprevStatus::none: return "none";
    case IprevStatus::pass: return "pass";
    case IprevStatus::fail: return "fail";
    case IprevStatus::temperror: return "temperror";
  }
  return "none";
}

std::string Iprev::method_clause() const {
  if (status == IprevStatus::none) return "";
  std::string out = std::string("iprev=") + iprev_status_name(status) + " policy.iprev=" + ip;
  if (!host.empty()) out += " (" + host + ")";
  else if (!why.empty()) out += " (" + why + ")";
  return out;
}

Clause Iprev::clause() const {
  Clause c;
  c.method = "iprev";
  c.result = iprev_status_name(status);
  c.comment = host.empty() ? why : host;
  c.properties.emplace_back("policy.iprev", ip);
  return c;
}

const char* helo_status_name(HeloStatus s) {
  switch (s) {
    case HeloStatus::none: return "none";
    case HeloStatus::match: return "match";
    case HeloStatus::literal: return "literal";
    case HeloStatus::mismatch: return "mismatch";
    case HeloStatus::unknown: return "unknown";
    case HeloStatus::invalid: return "invalid";
    case HeloStatus::temperror: return "temperror";
  }
  return "none";
}

std::string HeloCheck::clause() const {
  std::string out = std::string("helo=") + helo_status_name(status);
  if (!name.empty()) out += " (" + name + ")";
  return out;
}

bool is_listing_code(const std::string& a) {
  auto c = parse_cidr(a);
  if (!c || c->v6) return false;
  return c->bytes[0] == 127 && !(c->bytes[1] == 255 && c->bytes[2] == 255);
}

std::string refusal_text(const DnsblHit& hit) {
  std::string out;
  for (unsigned char ch : hit.reason) {
    if (out.size() >= 200) break;
    out.push_back(ch >= 0x20 && ch < 0x7f ? static_cast<char>(ch) : ' ');
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  if (out.empty()) out = "Client host blocked using " + hit.zone;
  else out = "Client host blocked using " + hit.zone + ": " + out;
  return out;
}

namespace {

using Query = std::pair<std::string, dns::Type>;

// Runs every query at once; completes when all have answered (each is bounded by the
// resolver's timeout and tries).
asio::awaitable<std::vector<dns::Answer>> query_all(dns::Resolver& resolver, const std::vector<Query>& queries) {
  struct State {
    std::vector<dns::Answer> answers;
    std::size_t left;
    asio::steady_timer timer;
  };
  auto ex = co_await asio::this_coro::executor;
  auto st = std::make_shared<State>(State{std::vector<dns::Answer>(queries.size()), queries.size(), asio::steady_timer(ex)});
  if (queries.empty()) co_return std::vector<dns::Answer>{};
  st->timer.expires_at(asio::steady_timer::time_point::max());
  for (std::size_t i = 0; i < queries.size(); ++i) {
    resolver.async_query(queries[i].first, queries[i].second, [st, i](dns::Answer a) {
      st->answers[i] = std::move(a);
      if (--st->left == 0) st->timer.cancel();
    });
  }
  while (st->left > 0) {
    auto wait = asio::as_tuple(asio::use_awaitable);
    co_await st->timer.async_wait(wait);
  }
  co_return std::move(st->answers);
}

bool same_address(const std::string& a, const std::string& b) {
  auto x = parse_cidr(a), y = parse_cidr(b);
  return x && y && x->v6 == y->v6 && x->bytes == y->bytes && x->prefix == y->prefix;
}

bool failed_temporarily(const dns::Answer& a) {
  return a.status == dns::Status::timeout || a.status == dns::Status::servfail;
}

}  // namespace

asio::awaitable<Findings> look_up(dns::Resolver& resolver, const ProtectionSettings& settings, const std::string& client,
                                  const std::string& helo_name, bool dnsbl) {
  std::string ip = client, helo = helo_name;
  Findings f;
  f.done = true;
  auto addr = parse_cidr(ip);
  if (!addr) co_return f;
  ip = addr->text();  // canonical; an IPv4-mapped IPv6 address as IPv4
  const auto family = addr->v6 ? dns::Type::aaaa : dns::Type::a;
  f.iprev.ip = ip;
  f.helo.name = helo;

  // Round 1: the DNSBL zones, the PTR, the HELO name.
  std::vector<Query> q;
  std::vector<std::size_t> zone_index;
  if (dnsbl) {
    for (std::size_t i = 0; i < settings.dnsbl.zones.size(); ++i) {
      auto name = dns::reverse_name(ip, settings.dnsbl.zones[i].zone);
      if (name.empty()) continue;
      q.emplace_back(name, dns::Type::a);
      zone_index.push_back(i);
    }
  }
  const std::size_t ptr_at = q.size();
  q.emplace_back(dns::reverse_name(ip), dns::Type::ptr);
  std::optional<std::size_t> helo_at;
  if (!helo.empty() && helo.front() == '[' && helo.back() == ']') {
    auto lit = helo.substr(1, helo.size() - 2);
    if (lit.size() > 5 && (lit.compare(0, 5, "IPv6:") == 0 || lit.compare(0, 5, "ipv6:") == 0)) lit = lit.substr(5);
    f.helo.status = same_address(lit, ip) ? HeloStatus::literal : HeloStatus::mismatch;
  } else if (helo.find('.') == std::string::npos) {
    f.helo.status = HeloStatus::invalid;
  } else {
    helo_at = q.size();
    q.emplace_back(helo, family);
  }
  auto answers = co_await query_all(resolver, q);

  // Round 2: the listing zones' reasons and the PTR names' addresses.
  std::vector<Query> q2;
  std::vector<std::size_t> txt_for;  // index into f.dnsbl
  for (std::size_t k = 0; k < zone_index.size(); ++k) {
    const auto& zone = settings.dnsbl.zones[zone_index[k]];
    const auto& a = answers[k];
    if (a.ok()) {
      std::string code;
      for (const auto& x : a.addresses)
        if (is_listing_code(x)) code = x;
      if (code.empty()) {
        f.dnsbl_errors.push_back(zone.zone + ": answered " + (a.addresses.empty() ? "nothing" : a.addresses.front()) +
                                 ", which is not a listing (an error code: a public resolver or a rate limit?)");
        continue;
      }
      f.dnsbl.push_back({zone.zone, zone.weight, code, ""});
      f.dnsbl_score += zone.weight;
      txt_for.push_back(f.dnsbl.size() - 1);
      q2.emplace_back(q[k].first, dns::Type::txt);
    } else if (failed_temporarily(a)) {
      f.dnsbl_errors.push_back(zone.zone + ": " + (a.error.empty() ? dns::status_name(a.status) : a.error));
    }
  }
  f.dnsbl_listed = !f.dnsbl.empty() && f.dnsbl_score >= settings.dnsbl.threshold;

  const auto& ptr = answers[ptr_at];
  std::vector<std::string> names;
  const std::size_t forward_at = q2.size();
  if (ptr.ok()) {
    for (const auto& n : ptr.names) {
      if (names.size() >= 10) break;  // RFC 8601 3: a bounded number of names
      names.push_back(n);
      q2.emplace_back(n, family);
    }
  }
  auto answers2 = co_await query_all(resolver, q2);
  for (std::size_t k = 0; k < txt_for.size(); ++k) {
    const auto& a = answers2[k];
    if (a.ok() && !a.texts.empty()) f.dnsbl[txt_for[k]].reason = a.texts.front();
  }

  auto& iprev = f.iprev;
  if (failed_temporarily(ptr)) {
    iprev.status = IprevStatus::temperror;
    iprev.why = ptr.status == dns::Status::timeout ? "PTR look-up timed out" : "PTR look-up failed";
  } else if (names.empty()) {
    iprev.status = IprevStatus::fail;
    iprev.why = "no PTR record";
  } else {
    bool temp = false;
    for (std::size_t k = 0; k < names.size() && iprev.status != IprevStatus::pass; ++k) {
      const auto& a = answers2[forward_at + k];
      if (failed_temporarily(a)) temp = true;
      for (const auto& x : a.addresses)
        if (same_address(x, ip)) {
          iprev.status = IprevStatus::pass;
          iprev.host = names[k];
        }
    }
    if (iprev.status != IprevStatus::pass) {
      iprev.status = temp ? IprevStatus::temperror : IprevStatus::fail;
      iprev.host = names.front();
      if (!temp) iprev.why = "the PTR name does not resolve back to the address";
    }
  }

  if (helo_at) {
    const auto& a = answers[*helo_at];
    auto lower = helo;
    for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (iprev.status == IprevStatus::pass && lower == iprev.host) f.helo.status = HeloStatus::match;
    else if (failed_temporarily(a)) f.helo.status = HeloStatus::temperror;
    else if (!a.ok()) f.helo.status = HeloStatus::unknown;
    else {
      f.helo.status = HeloStatus::mismatch;
      for (const auto& x : a.addresses)
        if (same_address(x, ip)) f.helo.status = HeloStatus::match;
    }
  }
  co_return f;
}

}  // namespace mailstead::inbound
