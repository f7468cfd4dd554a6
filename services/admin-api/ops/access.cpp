// Admin role, API tokens and web sessions in the store (see access.hpp).
#include "ops/access.hpp"

#include <sodium.h>

#include <cstdio>
#include <ctime>

#include "store/mailstore.hpp"
#include "store/store.hpp"
#include "util/base64.hpp"
#include "util/bytes.hpp"

namespace mailstead::admin::access {

using store::Table;

namespace {

std::int64_t now_s() { return static_cast<std::int64_t>(std::time(nullptr)); }

std::string random_bytes(std::size_t n) {
  std::string b(n, '\0');
  randombytes_buf(b.data(), b.size());
  return b;
}

// base64url without padding (RFC 4648 5): safe in cookies, headers and URLs.
std::string b64url(std::string_view bytes) {
  auto s = base64_encode(bytes);
  while (!s.empty() && s.back() == '=') s.pop_back();
  for (auto& c : s) c = c == '+' ? '-' : c == '/' ? '_' : c;
  return s;
}

std::string hex(std::string_view bytes) {
  static const char digits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out.push_back(digits[c >> 4]);
    out.push_back(digits[c & 15]);
  }
  return out;
}

std::string encode(const TokenRecord& t) {
  Encoder e;
  e.u64(t.id).str(t.name).str(t.digest).i64(t.created);
  return e.take();
}
std::optional<TokenRecord> decode_token(std::string_view v) {
  Decoder d(v);
  TokenRecord t;
  t.id = d.u64();
  t.name = d.str();
  t.digest = d.str();
  t.created = d.i64();
  if (!d.ok()) return std::nullopt;
  return t;
}

std::string encode(const SessionRecord& s) {
  Encoder e;
  e.u64(s.user).str(s.csrf).i64(s.created).i64(s.expires).str(s.peer).str(s.agent);
  return e.take();
}
std::optional<SessionRecord> decode_session(std::string_view key, std::string_view v) {
  Decoder d(v);
  SessionRecord s;
  s.key = std::string(key);
  s.user = d.u64();
  s.csrf = d.str();
  s.created = d.i64();
  s.expires = d.i64();
  s.peer = d.str();
  s.agent = d.str();
  if (!d.ok()) return std::nullopt;
  return s;
}

}  // namespace

std::string digest(std::string_view secret) {
  std::string out(crypto_generichash_BYTES, '\0');
  crypto_generichash(reinterpret_cast<unsigned char*>(out.data()), out.size(),
                     reinterpret_cast<const unsigned char*>(secret.data()), secret.size(), nullptr, 0);
  return out;
}

bool same_digest(std::string_view a, std::string_view b) {
  return a.size() == b.size() && sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

// ---- admins ----
bool is_admin(store::ReadTxn& txn, std::uint64_t user) { return txn.get(Table::admins, key_u64(user)).has_value(); }

std::vector<std::uint64_t> list_admins(store::ReadTxn& txn) {
  std::vector<std::uint64_t> out;
  auto c = txn.cursor(Table::admins);
  for (bool ok = c->first(); ok; ok = c->next())
    if (c->key().size() == 8) out.push_back(get_be64(c->key()));
  return out;
}

Result<void> grant_admin(store::WriteTxn& txn, std::uint64_t user) {
  if (is_admin(txn, user)) return conflict("already an administrator");
  Encoder e;
  e.i64(now_s());
  if (auto ec = txn.put(Table::admins, key_u64(user), e.take())) return internal("store: " + ec.message());
  return {};
}

Result<void> revoke_admin(store::WriteTxn& txn, std::uint64_t user) {
  if (!txn.del(Table::admins, key_u64(user))) return not_found("not an administrator");
  return {};
}

// ---- tokens ----
NewSecret new_token_secret() {
  NewSecret s;
  s.text = b64url(random_bytes(32));
  s.digest = digest(s.text);
  return s;
}

std::string token_text(std::uint64_t id, std::string_view secret) {
  char idhex[17];
  std::snprintf(idhex, sizeof idhex, "%016llx", static_cast<unsigned long long>(id));
  return "mst_" + std::string(idhex) + "_" + std::string(secret);
}

Result<TokenRecord> add_token(store::WriteTxn& txn, std::string_view name, const NewSecret& secret) {
  if (name.empty() || name.size() > 100) return about(invalid("a token name is 1 to 100 characters"), "name");
  for (unsigned char c : name)
    if (c < 0x20 || c == 0x7f) return about(invalid("a token name has no control characters"), "name");
  for (const auto& t : list_tokens(txn))
    if (t.name == name) return about(conflict("a token named '" + std::string(name) + "' exists"), "name");
  TokenRecord t{store::next_id(txn, "api_token"), std::string(name), secret.digest, now_s()};
  if (auto ec = txn.put(Table::api_tokens, key_u64(t.id), encode(t))) return internal("store: " + ec.message());
  return t;
}

std::vector<TokenRecord> list_tokens(store::ReadTxn& txn) {
  std::vector<TokenRecord> out;
  auto c = txn.cursor(Table::api_tokens);
  for (bool ok = c->first(); ok; ok = c->next())
    if (auto t = decode_token(c->value())) out.push_back(std::move(*t));
  return out;
}

Result<void> remove_token(store::WriteTxn& txn, std::uint64_t id) {
  if (!txn.del(Table::api_tokens, key_u64(id))) return about(not_found("no token " + std::to_string(id)), "id");
  return {};
}

std::optional<TokenRecord> check_token(store::ReadTxn& txn, std::string_view text) {
  // mst_ + 16 hex + _ + 43 base64url
  if (text.size() != 4 + 16 + 1 + 43 || !text.starts_with("mst_") || text[20] != '_') return std::nullopt;
  std::uint64_t id = 0;
  for (char c : text.substr(4, 16)) {
    int v = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
    if (v < 0) return std::nullopt;
    id = id * 16 + static_cast<std::uint64_t>(v);
  }
  auto v = txn.get(Table::api_tokens, key_u64(id));
  if (!v) return std::nullopt;
  auto t = decode_token(*v);
  if (!t || !same_digest(t->digest, digest(text.substr(21)))) return std::nullopt;
  return t;
}

// ---- sessions ----
std::string SessionRecord::id() const { return hex(std::string_view(key).substr(0, 8)); }

std::string new_session(SessionRecord& rec) {
  auto cookie = b64url(random_bytes(32));
  rec.key = digest(cookie);
  rec.csrf = b64url(random_bytes(24));
  return cookie;
}

std::error_code put_session(store::WriteTxn& txn, const SessionRecord& rec) {
  return txn.put(Table::web_sessions, rec.key, encode(rec));
}

std::optional<SessionRecord> find_session(store::ReadTxn& txn, std::string_view cookie, std::int64_t now) {
  if (cookie.size() != 43) return std::nullopt;
  auto key = digest(cookie);
  auto v = txn.get(Table::web_sessions, key);
  if (!v) return std::nullopt;
  auto s = decode_session(key, *v);
  if (!s || s->expires <= now) return std::nullopt;
  return s;
}

std::vector<SessionRecord> list_sessions(store::ReadTxn& txn, std::optional<std::uint64_t> user, std::int64_t now) {
  std::vector<SessionRecord> out;
  auto c = txn.cursor(Table::web_sessions);
  for (bool ok = c->first(); ok; ok = c->next())
    if (auto s = decode_session(c->key(), c->value()); s && s->expires > now && (!user || s->user == *user))
      out.push_back(std::move(*s));
  return out;
}

bool remove_session(store::WriteTxn& txn, std::string_view id, std::optional<std::uint64_t> user) {
  std::string key;
  {
    auto c = txn.cursor(Table::web_sessions);
    for (bool ok = c->first(); ok; ok = c->next()) {
      if (hex(c->key().substr(0, 8)) != id) continue;
      auto s = decode_session(c->key(), c->value());
      if (!s || (user && s->user != *user)) return false;
      key = std::string(c->key());
      break;
    }
  }
  return !key.empty() && txn.del(Table::web_sessions, key);
}

void remove_session_key(store::WriteTxn& txn, std::string_view key) { txn.del(Table::web_sessions, key); }

void remove_user_sessions(store::WriteTxn& txn, std::uint64_t user, std::string_view keep_key) {
  std::vector<std::string> doomed;
  {
    auto c = txn.cursor(Table::web_sessions);
    for (bool ok = c->first(); ok; ok = c->next())
      if (auto s = decode_session(c->key(), c->value()); s && s->user == user && s->key != keep_key)
        doomed.emplace_back(c->key());
  }
  for (const auto& k : doomed) txn.del(Table::web_sessions, k);
}

void purge_expired(store::WriteTxn& txn, std::int64_t now) {
  std::vector<std::string> doomed;
  {
    auto c = txn.cursor(Table::web_sessions);
    for (bool ok = c->first(); ok; ok = c->next()) {
      auto s = decode_session(c->key(), c->value());
      if (!s || s->expires <= now) doomed.emplace_back(c->key());
    }
  }
  for (const auto& k : doomed) txn.del(Table::web_sessions, k);
}

}  // namespace mailstead::admin::access
