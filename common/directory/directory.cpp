// Directory reads and writes (docs/storage.md: domains, users, user_by_address,
// aliases, groups, streams).
#include "directory/directory.hpp"

#include <algorithm>
#include <ctime>
#include <sodium.h>

#include "directory/address.hpp"
#include "store/mailstore.hpp"
#include "store/store.hpp"
#include "streams/watch.hpp"
#include "util/bytes.hpp"

namespace mailstead::directory {

using store::Table;

namespace {

std::int64_t now() { return static_cast<std::int64_t>(std::time(nullptr)); }
Error store_error(std::error_code ec) { return internal("store: " + ec.message()); }

std::string encode(const DomainRecord& d) {
  Encoder e;
  e.str(d.name).i64(d.created).u64s(d.catchall);
  return e.take();
}
std::optional<DomainRecord> decode_domain(std::string_view v) {
  Decoder d(v);
  DomainRecord r;
  r.name = d.str();
  r.created = d.i64();
  r.catchall = d.u64s();
  if (!d.ok()) return std::nullopt;
  return r;
}

std::string encode(const UserRecord& u) {
  Encoder e;
  e.u64(u.id).str(u.address).str(u.password_hash).str(u.display_name).u64(u.quota)
      .u8(u.enabled ? 1 : 0).strings(u.allowed_senders).i64(u.created);
  return e.take();
}
std::optional<UserRecord> decode_user(std::string_view v) {
  Decoder d(v);
  UserRecord u;
  u.id = d.u64();
  u.address = d.str();
  u.password_hash = d.str();
  u.display_name = d.str();
  u.quota = d.u64();
  u.enabled = d.u8() != 0;
  u.allowed_senders = d.strings();
  u.created = d.i64();
  if (!d.ok()) return std::nullopt;
  return u;
}

std::string encode(const AliasRecord& a) {
  Encoder e;
  e.str(a.address).u64(a.user).i64(a.created);
  return e.take();
}
std::optional<AliasRecord> decode_alias(std::string_view v) {
  Decoder d(v);
  AliasRecord a;
  a.address = d.str();
  a.user = d.u64();
  a.created = d.i64();
  if (!d.ok()) return std::nullopt;
  return a;
}

std::string encode(const GroupRecord& g) {
  Encoder e;
  e.str(g.address).u8(static_cast<std::uint8_t>(g.policy)).u64s(g.members).i64(g.created);
  return e.take();
}
std::optional<GroupRecord> decode_group(std::string_view v) {
  Decoder d(v);
  GroupRecord g;
  g.address = d.str();
  auto p = d.u8();
  g.members = d.u64s();
  g.created = d.i64();
  if (!d.ok() || p > 2) return std::nullopt;
  g.policy = static_cast<PostingPolicy>(p);
  return g;
}


}  // namespace

std::string encode_stream(const StreamRecord& s) {
  Encoder e;
  e.u64(s.id).str(s.slug).str(s.name).str(s.description).u64s(s.members).str(s.token).u8(s.enabled ? 1 : 0)
      .u8(static_cast<std::uint8_t>(s.email_posting)).i64(s.created).u8(static_cast<std::uint8_t>(s.unauthenticated));
  return e.take();
}
std::optional<StreamRecord> decode_stream(std::string_view v) {
  Decoder d(v);
  StreamRecord s;
  s.id = d.u64();
  s.slug = d.str();
  s.name = d.str();
  s.description = d.str();
  s.members = d.u64s();
  s.token = d.str();
  s.enabled = d.u8() != 0;
  auto p = d.u8();
  s.created = d.i64();
  std::uint8_t u = d.at_end() ? 0 : d.u8();
  if (!d.ok() || p > 3 || u > 1) return std::nullopt;
  s.email_posting = static_cast<EmailPosting>(p);
  s.unauthenticated = static_cast<Unauthenticated>(u);
  return s;
}

const char* unauthenticated_name(Unauthenticated u) { return u == Unauthenticated::refuse ? "refuse" : "bot"; }
std::optional<Unauthenticated> parse_unauthenticated(std::string_view s) {
  if (s == "bot") return Unauthenticated::bot;
  if (s == "refuse") return Unauthenticated::refuse;
  return std::nullopt;
}

const char* email_posting_name(EmailPosting p) {
  switch (p) {
    case EmailPosting::anyone: return "anyone";
    case EmailPosting::local: return "local";
    case EmailPosting::members: return "members";
    case EmailPosting::nobody: return "nobody";
  }
  return "?";
}
std::optional<EmailPosting> parse_email_posting(std::string_view s) {
  for (auto p : {EmailPosting::anyone, EmailPosting::local, EmailPosting::members, EmailPosting::nobody})
    if (s == email_posting_name(p)) return p;
  return std::nullopt;
}

std::string new_stream_token() {
  unsigned char raw[16];
  randombytes_buf(raw, sizeof raw);
  static const char hex[] = "0123456789abcdef";
  std::string out;
  for (auto b : raw) {
    out.push_back(hex[b >> 4]);
    out.push_back(hex[b & 15]);
  }
  return out;
}

Result<std::string> stream_slug(std::string_view text) {
  std::string out;
  for (char c : text) {
    char l = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
    if ((l >= 'a' && l <= 'z') || (l >= '0' && l <= '9') || l == '-' || l == '_') out.push_back(l);
    else if (l == ' ' && !out.empty() && out.back() != '-') out.push_back('-');
    else return invalid("a stream slug may hold only letters, digits, '-' and '_' (not '" + std::string(1, c) + "')");
  }
  while (!out.empty() && out.back() == '-') out.pop_back();
  if (out.empty()) return invalid("a stream needs a slug of letters, digits, '-' or '_'");
  if (out.size() > 64) return invalid("a stream slug is at most 64 characters");
  return out;
}

namespace {

template <class T, class Decode>
std::vector<T> scan(ReadTxn& txn, Table t, Decode decode) {
  std::vector<T> out;
  auto c = txn.cursor(t);
  for (bool ok = c->first(); ok; ok = c->next())
    if (auto r = decode(c->value())) out.push_back(std::move(*r));
  return out;
}

std::string domain_of(std::string_view address) {
  auto at = address.rfind('@');
  return at == std::string_view::npos ? std::string() : std::string(address.substr(at + 1));
}

// A new address for a user, alias, group or stream: well-formed, in a local domain, free.
Result<std::string> claim_address(WriteTxn& txn, std::string_view address) {
  auto n = normalize_admin_address(address, "");
  if (!n) return n.error();
  auto a = n->address();
  if (!get_domain(txn, n->domain)) return not_found("domain " + n->domain + " is not a local domain; add it first");
  auto owner = address_owner(txn, a);
  if (!owner.empty()) return conflict(a + " is already a " + owner);
  return a;
}

Result<UserRecord> require_user(ReadTxn& txn, std::string_view address) {
  auto u = find_user(txn, lowercase_ascii(address));
  if (!u) return not_found("no user " + std::string(address));
  return *u;
}

Result<GroupRecord> require_group(ReadTxn& txn, std::string_view address) {
  auto g = get_group(txn, lowercase_ascii(address));
  if (!g) return not_found("no group " + std::string(address));
  return *g;
}

Result<void> put(WriteTxn& txn, Table t, std::string_view key, const std::string& value) {
  if (auto ec = txn.put(t, key, value)) return store_error(ec);
  return {};
}

}  // namespace

const char* policy_name(PostingPolicy p) {
  switch (p) {
    case PostingPolicy::anyone: return "anyone";
    case PostingPolicy::members: return "members";
    case PostingPolicy::domain: return "domain";
  }
  return "?";
}

std::optional<PostingPolicy> parse_policy(std::string_view s) {
  if (s == "anyone") return PostingPolicy::anyone;
  if (s == "members") return PostingPolicy::members;
  if (s == "domain") return PostingPolicy::domain;
  return std::nullopt;
}

std::optional<DomainRecord> get_domain(ReadTxn& txn, std::string_view name) {
  auto v = txn.get(Table::domains, name);
  return v ? decode_domain(*v) : std::nullopt;
}
std::vector<DomainRecord> list_domains(ReadTxn& txn) { return scan<DomainRecord>(txn, Table::domains, decode_domain); }

std::optional<UserRecord> get_user(ReadTxn& txn, std::uint64_t id) {
  auto v = txn.get(Table::users, key_u64(id));
  return v ? decode_user(*v) : std::nullopt;
}
std::optional<UserRecord> find_user(ReadTxn& txn, std::string_view address) {
  auto v = txn.get(Table::user_by_address, address);
  if (!v || v->size() != 8) return std::nullopt;
  return get_user(txn, get_be64(*v));
}
std::vector<UserRecord> list_users(ReadTxn& txn) {
  auto users = scan<UserRecord>(txn, Table::users, decode_user);
  std::sort(users.begin(), users.end(), [](auto& a, auto& b) { return a.address < b.address; });
  return users;
}

std::optional<AliasRecord> get_alias(ReadTxn& txn, std::string_view address) {
  auto v = txn.get(Table::aliases, address);
  return v ? decode_alias(*v) : std::nullopt;
}
std::vector<AliasRecord> list_aliases(ReadTxn& txn) { return scan<AliasRecord>(txn, Table::aliases, decode_alias); }
std::optional<AliasRecord> parse_alias(std::string_view value) { return decode_alias(value); }
std::vector<std::string> aliases_of(ReadTxn& txn, std::uint64_t user) {
  std::vector<std::string> out;
  auto prefix = key_u64(user);
  auto c = txn.cursor(Table::alias_by_user);
  for (bool ok = c->seek(prefix); ok && c->key().starts_with(prefix); ok = c->next())
    out.emplace_back(c->key().substr(prefix.size()));
  return out;
}

std::optional<GroupRecord> get_group(ReadTxn& txn, std::string_view address) {
  auto v = txn.get(Table::groups, address);
  return v ? decode_group(*v) : std::nullopt;
}
std::vector<GroupRecord> list_groups(ReadTxn& txn) { return scan<GroupRecord>(txn, Table::groups, decode_group); }

std::optional<StreamRecord> get_stream(ReadTxn& txn, std::string_view slug) {
  auto v = txn.get(Table::streams, slug);
  return v ? decode_stream(*v) : std::nullopt;
}
std::vector<StreamRecord> list_streams(ReadTxn& txn) { return scan<StreamRecord>(txn, Table::streams, decode_stream); }

std::string address_owner(ReadTxn& txn, std::string_view a) {
  if (txn.get(Table::user_by_address, a)) return "user";
  if (txn.get(Table::aliases, a)) return "alias";
  if (txn.get(Table::groups, a)) return "group";
  return "";
}

std::optional<std::uint64_t> user_for_address(ReadTxn& txn, std::string_view address) {
  if (auto v = txn.get(Table::user_by_address, address); v && v->size() == 8) return get_be64(*v);
  if (auto a = get_alias(txn, address)) return a->user;
  return std::nullopt;
}

// ---- domains ----

Result<DomainRecord> add_domain(WriteTxn& txn, std::string_view name) {
  auto d = normalize_domain(name);
  if (!d) return d.error();
  if (get_domain(txn, *d)) return conflict("domain " + *d + " already exists");
  DomainRecord r{*d, now(), {}};
  if (auto p = put(txn, Table::domains, r.name, encode(r)); !p) return p.error();
  return r;
}

Result<void> remove_domain(WriteTxn& txn, std::string_view name) {
  auto d = normalize_domain(name);
  if (!d) return d.error();
  if (!get_domain(txn, *d)) return not_found("no domain " + *d);
  // (Streams have no address in a local domain: they live in the gateway's, docs/streams.md.)
  std::size_t users = 0, aliases = 0, groups = 0;
  for (auto& u : list_users(txn)) users += domain_of(u.address) == *d;
  for (auto& a : list_aliases(txn)) aliases += domain_of(a.address) == *d;
  for (auto& g : list_groups(txn)) groups += domain_of(g.address) == *d;
  if (users + aliases + groups)
    return conflict("domain " + *d + " still has " + std::to_string(users) + " users, " + std::to_string(aliases) +
                    " aliases and " + std::to_string(groups) + " groups; remove them first");
  txn.del(Table::domains, *d);
  return {};
}

// ---- users ----

Result<UserRecord> add_user(WriteTxn& txn, const NewUser& nu) {
  auto a = claim_address(txn, nu.address);
  if (!a) return a.error();
  if (nu.password_hash.empty()) return invalid("a user needs a password");
  UserRecord u;
  u.id = store::next_id(txn, "user");
  u.address = *a;
  u.password_hash = nu.password_hash;
  u.display_name = nu.display_name;
  u.quota = nu.quota;
  u.created = now();
  if (auto p = put(txn, Table::users, key_u64(u.id), encode(u)); !p) return p.error();
  if (auto p = put(txn, Table::user_by_address, u.address, key_u64(u.id)); !p) return p.error();
  for (const auto& mb : store::default_mailboxes()) {
    auto r = store::create_mailbox(txn, u.id, mb.name, mb.special_use, true);
    if (!r) return r.error();
  }
  return u;
}

namespace {
template <class Change>
Result<void> update_user(WriteTxn& txn, std::string_view address, Change change) {
  auto u = require_user(txn, address);
  if (!u) return u.error();
  if (auto r = change(*u); !r) return r.error();
  return put(txn, Table::users, key_u64(u->id), encode(*u));
}
}  // namespace

Result<void> set_password_hash(WriteTxn& txn, std::string_view address, std::string_view hash) {
  return update_user(txn, address, [&](UserRecord& u) -> Result<void> {
    u.password_hash = std::string(hash);
    return {};
  });
}

Result<void> set_enabled(WriteTxn& txn, std::string_view address, bool enabled) {
  return update_user(txn, address, [&](UserRecord& u) -> Result<void> {
    u.enabled = enabled;
    return {};
  });
}

Result<void> set_quota(WriteTxn& txn, std::string_view address, std::uint64_t quota) {
  return update_user(txn, address, [&](UserRecord& u) -> Result<void> {
    u.quota = quota;
    return {};
  });
}

Result<void> set_display_name(WriteTxn& txn, std::string_view address, std::string_view name) {
  return update_user(txn, address, [&](UserRecord& u) -> Result<void> {
    u.display_name = std::string(name);
    return {};
  });
}

Result<void> set_allowed_sender(WriteTxn& txn, std::string_view address, std::string_view sender, bool allow) {
  std::string entry;
  if (!sender.empty() && sender.front() == '@') {
    auto d = normalize_domain(sender.substr(1));
    if (!d) return d.error();
    entry = "@" + *d;
  } else {
    auto n = normalize_admin_address(sender, "");
    if (!n) return n.error();
    entry = n->address();
  }
  return update_user(txn, address, [&](UserRecord& u) -> Result<void> {
    auto it = std::find(u.allowed_senders.begin(), u.allowed_senders.end(), entry);
    if (allow) {
      if (it != u.allowed_senders.end()) return conflict(u.address + " may already send as " + entry);
      u.allowed_senders.push_back(entry);
    } else {
      if (it == u.allowed_senders.end()) return not_found(u.address + " has no allowed sender " + entry);
      u.allowed_senders.erase(it);
    }
    return {};
  });
}

Result<void> remove_user(WriteTxn& txn, std::string_view address) {
  auto u = require_user(txn, address);
  if (!u) return u.error();
  for (auto& mb : store::list_mailboxes(txn, u->id))
    if (auto ec = store::delete_mailbox(txn, mb.id)) return store_error(ec);
  for (const auto& a : aliases_of(txn, u->id)) txn.del(Table::aliases, a);
  {
    std::vector<std::string> keys;
    auto c = txn.cursor(Table::alias_by_user);
    auto prefix = key_u64(u->id);
    for (bool ok = c->seek(prefix); ok && c->key().starts_with(prefix); ok = c->next()) keys.emplace_back(c->key());
    for (const auto& k : keys) txn.del(Table::alias_by_user, k);
  }
  for (auto& g : list_groups(txn)) {
    auto it = std::remove(g.members.begin(), g.members.end(), u->id);
    if (it == g.members.end()) continue;
    g.members.erase(it, g.members.end());
    if (auto p = put(txn, Table::groups, g.address, encode(g)); !p) return p.error();
  }
  for (auto& s : list_streams(txn)) {
    // Its watch, notification mode and reply addresses go whether or not it was a member.
    if (auto ec = streams::forget_member(txn, s.id, u->id)) return store_error(ec);
    auto it = std::remove(s.members.begin(), s.members.end(), u->id);
    if (it == s.members.end()) continue;
    s.members.erase(it, s.members.end());
    if (auto p = put(txn, Table::streams, s.slug, encode_stream(s)); !p) return p.error();
  }
  for (auto& d : list_domains(txn)) {
    auto it = std::remove(d.catchall.begin(), d.catchall.end(), u->id);
    if (it == d.catchall.end()) continue;
    d.catchall.erase(it, d.catchall.end());
    if (auto p = put(txn, Table::domains, d.name, encode(d)); !p) return p.error();
  }
  // The user's Sieve scripts and their records go too (docs/storage.md).
  auto prefix = key_u64(u->id);
  for (auto t : {Table::sieve_scripts, Table::sieve_tracking}) {
    std::vector<std::string> keys;
    auto c = txn.cursor(t);
    for (bool ok = c->seek(prefix); ok && c->key().starts_with(prefix); ok = c->next()) keys.emplace_back(c->key());
    for (const auto& k : keys) txn.del(t, k);
  }
  txn.del(Table::sieve_active, prefix);
  txn.del(Table::user_by_address, u->address);
  txn.del(Table::users, key_u64(u->id));
  return {};
}

// ---- aliases ----

Result<AliasRecord> add_alias(WriteTxn& txn, std::string_view alias, std::string_view user_address) {
  auto u = require_user(txn, user_address);
  if (!u) return u.error();
  auto a = claim_address(txn, alias);
  if (!a) return a.error();
  AliasRecord r{*a, u->id, now()};
  if (auto p = put(txn, Table::aliases, r.address, encode(r)); !p) return p.error();
  if (auto p = put(txn, Table::alias_by_user, key_u64_str(r.user, r.address), ""); !p) return p.error();
  return r;
}

Result<void> remove_alias(WriteTxn& txn, std::string_view alias) {
  auto a = lowercase_ascii(alias);
  auto r = get_alias(txn, a);
  if (!r || !txn.del(Table::aliases, a)) return not_found("no alias " + a);
  txn.del(Table::alias_by_user, key_u64_str(r->user, a));
  return {};
}

// ---- groups ----

namespace {
Result<std::uint64_t> member_id(ReadTxn& txn, std::string_view member) {
  auto id = user_for_address(txn, lowercase_ascii(member));
  if (!id) return not_found("no user or alias " + std::string(member) + " (group members are local users)");
  return *id;
}
}  // namespace

Result<GroupRecord> add_group(WriteTxn& txn, std::string_view address, const std::vector<std::string>& members) {
  auto a = claim_address(txn, address);
  if (!a) return a.error();
  GroupRecord g{*a, PostingPolicy::anyone, {}, now()};
  for (const auto& m : members) {
    auto id = member_id(txn, m);
    if (!id) return id.error();
    if (std::find(g.members.begin(), g.members.end(), *id) == g.members.end()) g.members.push_back(*id);
  }
  if (auto p = put(txn, Table::groups, g.address, encode(g)); !p) return p.error();
  return g;
}

Result<void> add_group_member(WriteTxn& txn, std::string_view group, std::string_view member) {
  auto g = require_group(txn, group);
  if (!g) return g.error();
  auto id = member_id(txn, member);
  if (!id) return id.error();
  if (std::find(g->members.begin(), g->members.end(), *id) != g->members.end())
    return conflict(std::string(member) + " is already a member of " + g->address);
  g->members.push_back(*id);
  return put(txn, Table::groups, g->address, encode(*g));
}

Result<void> remove_group_member(WriteTxn& txn, std::string_view group, std::string_view member) {
  auto g = require_group(txn, group);
  if (!g) return g.error();
  auto id = member_id(txn, member);
  if (!id) return id.error();
  auto it = std::find(g->members.begin(), g->members.end(), *id);
  if (it == g->members.end()) return not_found(std::string(member) + " is not a member of " + g->address);
  g->members.erase(it);
  return put(txn, Table::groups, g->address, encode(*g));
}

Result<void> set_group_policy(WriteTxn& txn, std::string_view group, PostingPolicy policy) {
  auto g = require_group(txn, group);
  if (!g) return g.error();
  g->policy = policy;
  return put(txn, Table::groups, g->address, encode(*g));
}

Result<void> remove_group(WriteTxn& txn, std::string_view group) {
  auto a = lowercase_ascii(group);
  if (!txn.del(Table::groups, a)) return not_found("no group " + a);
  return {};
}

// ---- streams ----

Result<StreamRecord> add_stream(WriteTxn& txn, const NewStream& n) {
  if (n.name.empty()) return invalid("a stream needs a name");
  if (n.name.size() > 200) return invalid("a stream name is at most 200 bytes");
  if (n.description.size() > 4000) return invalid("a stream description is at most 4000 bytes");
  auto slug = stream_slug(n.slug.empty() ? n.name : n.slug);
  if (!slug) return slug.error();
  if (get_stream(txn, *slug)) return conflict("a stream " + *slug + " exists already");
  StreamRecord s;
  s.id = store::next_id(txn, "stream");
  s.slug = *slug;
  s.name = n.name;
  s.description = n.description;
  s.token = n.token.empty() ? new_stream_token() : n.token;
  s.email_posting = n.email_posting;
  s.created = now();
  if (auto p = put(txn, Table::streams, s.slug, encode_stream(s)); !p) return p.error();
  return s;
}

Result<void> put_stream(WriteTxn& txn, const StreamRecord& s) {
  if (!get_stream(txn, s.slug)) return not_found("no stream " + s.slug);
  return put(txn, Table::streams, s.slug, encode_stream(s));
}

Result<void> remove_stream(WriteTxn& txn, std::string_view slug) {
  auto a = lowercase_ascii(slug);
  if (!txn.del(Table::streams, a)) return not_found("no stream " + a);
  return {};
}

// ---- catch-all ----

Result<void> set_catchall(WriteTxn& txn, std::string_view domain, const std::vector<std::string>& users) {
  auto dn = normalize_domain(domain);
  if (!dn) return dn.error();
  auto d = get_domain(txn, *dn);
  if (!d) return not_found("no domain " + *dn);
  if (users.empty()) return invalid("name at least one user for the catch-all (or use 'catchall clear')");
  std::vector<std::uint64_t> ids;
  for (const auto& addr : users) {
    auto u = require_user(txn, addr);
    if (!u) return u.error();
    if (std::find(ids.begin(), ids.end(), u->id) == ids.end()) ids.push_back(u->id);
  }
  d->catchall = std::move(ids);
  return put(txn, Table::domains, d->name, encode(*d));
}

Result<void> clear_catchall(WriteTxn& txn, std::string_view domain) {
  auto dn = normalize_domain(domain);
  if (!dn) return dn.error();
  auto d = get_domain(txn, *dn);
  if (!d) return not_found("no domain " + *dn);
  d->catchall.clear();
  return put(txn, Table::domains, d->name, encode(*d));
}

}  // namespace mailstead::directory
