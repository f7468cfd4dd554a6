// Who may use the admin API, kept in the store (docs/admin-api.md, tables admins,
// api_tokens and web_sessions in docs/storage.md): the admin role of users, API tokens for
// automation, and the web sessions a password login opens. Token and session secrets are
// 256 random bits and are stored only as BLAKE2b-256 digests: a copy of the store lets
// nobody in.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/error.hpp"

namespace mailstead::store {
class ReadTxn;
class WriteTxn;
}  // namespace mailstead::store

namespace mailstead::admin::access {

// ---- the admin role ----
bool is_admin(store::ReadTxn& txn, std::uint64_t user);
std::vector<std::uint64_t> list_admins(store::ReadTxn& txn);
Result<void> grant_admin(store::WriteTxn& txn, std::uint64_t user);  // conflict if already
Result<void> revoke_admin(store::WriteTxn& txn, std::uint64_t user);  // not_found if not one

// ---- API tokens: "mst_<16 hex id>_<43 base64url secret>" ----
struct TokenRecord {
  std::uint64_t id = 0;
  std::string name;
  std::string digest;  // BLAKE2b-256 of the secret part
  std::int64_t created = 0;
};
struct NewSecret {
  std::string text;    // given to the caller once
  std::string digest;  // what the store keeps
};
NewSecret new_token_secret();  // random; the id is added by add_token
std::string token_text(std::uint64_t id, std::string_view secret);
Result<TokenRecord> add_token(store::WriteTxn& txn, std::string_view name, const NewSecret& secret);
std::vector<TokenRecord> list_tokens(store::ReadTxn& txn);
Result<void> remove_token(store::WriteTxn& txn, std::uint64_t id);
// The token a bearer text names, when the text is a valid, current token.
std::optional<TokenRecord> check_token(store::ReadTxn& txn, std::string_view text);

// ---- web sessions ----
struct SessionRecord {
  std::string key;  // BLAKE2b-256 of the cookie value (the table's key)
  std::uint64_t user = 0;
  std::string csrf;  // the CSRF token the session's state-changing requests must carry
  std::int64_t created = 0, expires = 0;
  std::string peer, agent;
  std::string id() const;  // public handle: hex of the key's first 8 bytes
};
// A new session for `user`: returns the cookie value; `rec` is filled (key, csrf).
std::string new_session(SessionRecord& rec);
std::error_code put_session(store::WriteTxn& txn, const SessionRecord& rec);
// The current (unexpired) session a cookie value opens.
std::optional<SessionRecord> find_session(store::ReadTxn& txn, std::string_view cookie, std::int64_t now);
std::vector<SessionRecord> list_sessions(store::ReadTxn& txn, std::optional<std::uint64_t> user, std::int64_t now);
// By public id; false when none (or, with `user`, not that user's).
bool remove_session(store::WriteTxn& txn, std::string_view id, std::optional<std::uint64_t> user);
void remove_session_key(store::WriteTxn& txn, std::string_view key);
// Every session of the user except `keep_key` (a password change ends the others).
void remove_user_sessions(store::WriteTxn& txn, std::uint64_t user, std::string_view keep_key = {});
// Drops expired sessions (done at each login, so the table stays small).
void purge_expired(store::WriteTxn& txn, std::int64_t now);

// Constant-time comparison of two secrets' digests.
bool same_digest(std::string_view a, std::string_view b);
std::string digest(std::string_view secret);

}  // namespace mailstead::admin::access
