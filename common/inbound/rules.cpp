// The inbound lists and greylisting triplets in the store (docs/storage.md, tables
// inbound_rules and greylist).
#include "inbound/rules.hpp"

#include <sodium.h>

#include <cstring>
#include <ctime>

#include "directory/address.hpp"
#include "store/store.hpp"
#include "util/bytes.hpp"
#include "util/text.hpp"

namespace mailstead::inbound {

using store::Table;

const char* list_name(List l) { return l == List::allow ? "allow" : "block"; }
const char* kind_name(Kind k) {
  switch (k) {
    case Kind::ip: return "ip";
    case Kind::domain: return "domain";
    case Kind::address: return "address";
  }
  return "?";
}

Result<Rule> make_rule(List list, std::string_view value, std::string_view note) {
  Rule r;
  r.list = list;
  r.note = std::string(note);
  r.created = std::time(nullptr);
  value = trim(value);
  if (value.empty()) return invalid("give an IP address, a CIDR range, a domain or an address");
  if (note.size() > 200) return invalid("the note is longer than 200 bytes");
  if (auto c = parse_cidr(value)) {
    r.kind = Kind::ip;
    r.value = c->text();
    return r;
  }
  if (value.find('/') != std::string_view::npos || value.find_first_not_of("0123456789./") == std::string_view::npos)
    return invalid("'" + std::string(value) + "' is not an IP address or CIDR range (e.g. 192.0.2.0/24, 2001:db8::/32)");
  auto at = value.rfind('@');
  if (at == 0 || at == std::string_view::npos) {
    auto d = directory::normalize_domain(at == 0 ? value.substr(1) : value);
    if (!d) return invalid("'" + std::string(value) + "' is not a domain: " + d.error().message);
    r.kind = Kind::domain;
    r.value = *d;
    return r;
  }
  auto p = directory::parse_address(value);
  if (!p || !p->has_domain || p->ip_literal || p->local.empty())
    return invalid("'" + std::string(value) + "' is not an address (user@example.com)");
  auto d = directory::normalize_domain(p->domain);
  if (!d) return invalid("'" + std::string(value) + "' has a bad domain: " + d.error().message);
  r.kind = Kind::address;
  r.value = directory::lowercase_ascii(p->local) + "@" + *d;
  return r;
}

namespace {

std::string scope_prefix(List list, std::uint64_t user) {
  std::string k(1, static_cast<char>(list));
  put_be64(k, user);
  return k;
}

std::string rule_key(const Rule& r) {
  auto k = scope_prefix(r.list, r.user);
  k.push_back(static_cast<char>(r.kind));
  k += r.value;
  return k;
}

std::optional<Rule> decode_rule(std::string_view key, std::string_view value) {
  if (key.size() < 10) return std::nullopt;
  Rule r;
  r.list = static_cast<List>(key[0]);
  r.user = get_be64(key.substr(1));
  r.kind = static_cast<Kind>(key[9]);
  r.value = std::string(key.substr(10));
  Decoder d(value);
  if (d.u8() != 1) return std::nullopt;
  r.created = d.i64();
  r.note = std::string(d.str());
  if (!d.ok()) return std::nullopt;
  return r;
}

}  // namespace

Result<void> add_rule(store::WriteTxn& txn, const Rule& rule) {
  auto key = rule_key(rule);
  if (txn.get(Table::inbound_rules, key)) return conflict(std::string(list_name(rule.list)) + " rule " + rule.value + " exists");
  Encoder e;
  e.u8(1).i64(rule.created).str(rule.note);
  if (auto ec = txn.put(Table::inbound_rules, key, e.view())) return internal(ec.message());
  return {};
}

Result<void> remove_rule(store::WriteTxn& txn, const Rule& rule) {
  if (!txn.del(Table::inbound_rules, rule_key(rule)))
    return not_found(std::string("no ") + list_name(rule.list) + " rule " + rule.value);
  return {};
}

std::vector<Rule> list_rules(store::ReadTxn& txn) {
  std::vector<Rule> out;
  auto c = txn.cursor(Table::inbound_rules);
  for (bool ok = c->first(); ok; ok = c->next())
    if (auto r = decode_rule(c->key(), c->value())) out.push_back(std::move(*r));
  return out;
}

void remove_user_rules(store::WriteTxn& txn, std::uint64_t user) {
  for (auto list : {List::allow, List::block}) {
    auto prefix = scope_prefix(list, user);
    std::vector<std::string> keys;
    auto c = txn.cursor(Table::inbound_rules);
    for (bool ok = c->seek(prefix); ok && c->key().substr(0, prefix.size()) == prefix; ok = c->next())
      keys.emplace_back(c->key());
    c.reset();
    for (auto& k : keys) txn.del(Table::inbound_rules, k);
  }
}

Subject make_subject(std::string_view ip, std::string_view mail_from) {
  Subject s;
  s.ip = parse_cidr(ip);
  if (s.ip && s.ip->prefix != (s.ip->v6 ? 128u : 32u)) s.ip.reset();  // an address, not a range
  if (auto p = directory::parse_address(mail_from); p && p->has_domain && !p->ip_literal) {
    auto d = directory::normalize_domain(p->domain);
    if (d) {
      s.sender_domain = *d;
      s.sender = directory::lowercase_ascii(p->local) + "@" + *d;
    }
  }
  return s;
}

namespace {

bool matches(const Rule& r, const Subject& s) {
  switch (r.kind) {
    case Kind::ip: {
      if (!s.ip) return false;
      auto c = parse_cidr(r.value);
      return c && c->contains(*s.ip);
    }
    case Kind::domain:
      if (s.sender_domain.empty()) return false;
      return s.sender_domain == r.value ||
             (s.sender_domain.size() > r.value.size() &&
              s.sender_domain.compare(s.sender_domain.size() - r.value.size(), r.value.size(), r.value) == 0 &&
              s.sender_domain[s.sender_domain.size() - r.value.size() - 1] == '.');
    case Kind::address: return !s.sender.empty() && s.sender == r.value;
  }
  return false;
}

std::optional<Rule> first_match(store::ReadTxn& txn, List list, std::uint64_t user, const Subject& s) {
  auto prefix = scope_prefix(list, user);
  auto c = txn.cursor(Table::inbound_rules);
  for (bool ok = c->seek(prefix); ok && c->key().substr(0, prefix.size()) == prefix; ok = c->next()) {
    auto r = decode_rule(c->key(), c->value());
    if (r && matches(*r, s)) return r;
  }
  return std::nullopt;
}

}  // namespace

Verdict evaluate(store::ReadTxn& txn, std::uint64_t user, const Subject& subject) {
  std::vector<std::uint64_t> scopes;
  if (user != 0) scopes.push_back(user);
  scopes.push_back(0);
  for (auto scope : scopes) {
    for (auto list : {List::allow, List::block}) {
      if (auto r = first_match(txn, list, scope, subject)) return Verdict{list, scope, r->kind, r->value};
    }
  }
  return {};
}

// ---- greylisting ----

std::string greylist_network(std::string_view ip) {
  auto c = parse_cidr(ip);
  if (!c) return std::string(ip);
  auto net = parse_cidr(c->text() + "/" + (c->v6 ? "64" : "24"));
  return net ? net->text() : std::string(ip);
}

std::string greylist_key(std::string_view network, std::string_view sender, std::string_view recipient) {
  std::string in;
  in.append(network).push_back('\0');
  in.append(directory::lowercase_ascii(sender)).push_back('\0');
  in.append(directory::lowercase_ascii(recipient));
  unsigned char out[16];
  crypto_generichash(out, sizeof out, reinterpret_cast<const unsigned char*>(in.data()), in.size(), nullptr, 0);
  return std::string(reinterpret_cast<const char*>(out), sizeof out);
}

namespace {
std::string record_key(std::string_view key) { return "r" + std::string(key); }
std::string order_key(std::int64_t expires, std::string_view key) {
  std::string k = "o";
  put_be64(k, static_cast<std::uint64_t>(expires));
  k.append(key);
  return k;
}
}  // namespace

std::optional<GreylistEntry> get_greylist(store::ReadTxn& txn, std::string_view key) {
  auto v = txn.get(Table::greylist, record_key(key));
  if (!v) return std::nullopt;
  Decoder d(*v);
  GreylistEntry e;
  if (d.u8() != 1) return std::nullopt;
  e.first_seen = d.i64();
  e.passed = d.i64();
  e.expires = d.i64();
  if (!d.ok()) return std::nullopt;
  return e;
}

std::error_code put_greylist(store::WriteTxn& txn, std::string_view key, const GreylistEntry& e, std::int64_t now,
                             std::size_t purge) {
  if (auto old = get_greylist(txn, key)) txn.del(Table::greylist, order_key(old->expires, key));
  Encoder enc;
  enc.u8(1).i64(e.first_seen).i64(e.passed).i64(e.expires);
  if (auto ec = txn.put(Table::greylist, record_key(key), enc.view())) return ec;
  if (auto ec = txn.put(Table::greylist, order_key(e.expires, key), "")) return ec;
  std::vector<std::string> gone;
  {
    auto c = txn.cursor(Table::greylist);
    for (bool ok = c->seek("o"); ok && gone.size() < purge && !c->key().empty() && c->key()[0] == 'o'; ok = c->next()) {
      auto k = c->key();
      if (k.size() != 1 + 8 + 16) continue;
      if (static_cast<std::int64_t>(get_be64(k.substr(1))) >= now) break;
      gone.emplace_back(k);
    }
  }
  for (auto& k : gone) {
    txn.del(Table::greylist, k);
    txn.del(Table::greylist, record_key(std::string_view(k).substr(9)));
  }
  return {};
}

std::size_t greylist_size(store::ReadTxn& txn) {
  std::size_t n = 0;
  auto c = txn.cursor(Table::greylist);
  for (bool ok = c->seek("r"); ok && !c->key().empty() && c->key()[0] == 'r'; ok = c->next()) ++n;
  return n;
}

}  // namespace mailstead::inbound
