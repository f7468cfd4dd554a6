// App passwords: per-device passwords a user makes for a mail client (IMAP, SMTP,
// ManageSieve), each named, shown once, revocable alone (docs/admin-api.md). The text is
// five groups of four characters, "abcd-efgh-…"; the first group names the app password
// among the user's, so a login checks one argon2id hash, never all of them.
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

namespace mailstead::auth {

struct AppPasswordRecord {
  std::string id;    // the first group (4 characters)
  std::string name;  // "Phone", "Thunderbird at home"
  std::string hash;  // argon2id of the whole text
  std::int64_t created = 0;
};

// A new random app password text ("abcd-efgh-jkmn-pqrs-tuvw": about 79 secret bits after the id).
std::string new_app_password();
// The id group of a text that has the app-password form, or "" when it has not.
std::string app_password_id(std::string_view text);

std::vector<AppPasswordRecord> list_app_passwords(store::ReadTxn& txn, std::uint64_t user);
std::optional<AppPasswordRecord> get_app_password(store::ReadTxn& txn, std::uint64_t user, std::string_view id);
// Fails with conflict when the id is taken (the caller draws another text) or the name is.
Result<void> add_app_password(store::WriteTxn& txn, std::uint64_t user, const AppPasswordRecord& rec);
bool remove_app_password(store::WriteTxn& txn, std::uint64_t user, std::string_view id);
void remove_all_app_passwords(store::WriteTxn& txn, std::uint64_t user);

}  // namespace mailstead::auth
