// The account directory: domains, users, aliases, groups, chat streams and per-domain
// catch-all, stored in the shared store (docs/storage.md). Reads take any transaction;
// writes run inside a write batch and check everything before changing anything, so a
// refused change leaves the store as it was.
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
}

namespace mailstead::directory {

using store::ReadTxn;
using store::WriteTxn;

enum class PostingPolicy : std::uint8_t { anyone = 0, members = 1, domain = 2 };
const char* policy_name(PostingPolicy p);
std::optional<PostingPolicy> parse_policy(std::string_view s);

struct DomainRecord {
  std::string name;                   // A-labels, lower case
  std::int64_t created = 0;
  std::vector<std::uint64_t> catchall;  // user ids; empty: no catch-all
};

struct UserRecord {
  std::uint64_t id = 0;
  std::string address;        // the primary address: the login
  std::string password_hash;  // argon2id, libsodium's crypto_pwhash_str format
  std::string display_name;
  std::uint64_t quota = 0;    // bytes; 0 = no quota
  bool enabled = true;
  std::vector<std::string> allowed_senders;  // extra MAIL FROM/From: "a@b" or "@domain"
  std::int64_t created = 0;
};

struct AliasRecord {
  std::string address;
  std::uint64_t user = 0;
  std::int64_t created = 0;
};

struct GroupRecord {
  std::string address;
  PostingPolicy policy = PostingPolicy::anyone;
  std::vector<std::uint64_t> members;  // user ids
  std::int64_t created = 0;
};

struct StreamRecord {
  std::string address;
  std::string name;
  std::int64_t created = 0;
};

// ---- reads ----
std::optional<DomainRecord> get_domain(ReadTxn& txn, std::string_view name);
std::vector<DomainRecord> list_domains(ReadTxn& txn);
std::optional<UserRecord> get_user(ReadTxn& txn, std::uint64_t id);
std::optional<UserRecord> find_user(ReadTxn& txn, std::string_view address);  // normalised primary address
std::vector<UserRecord> list_users(ReadTxn& txn);
std::optional<AliasRecord> get_alias(ReadTxn& txn, std::string_view address);
std::vector<AliasRecord> list_aliases(ReadTxn& txn);
// An alias record from its stored bytes (a cursor over the aliases table).
std::optional<AliasRecord> parse_alias(std::string_view value);
// A user's aliases in address order, from the alias_by_user index.
std::vector<std::string> aliases_of(ReadTxn& txn, std::uint64_t user);
std::optional<GroupRecord> get_group(ReadTxn& txn, std::string_view address);
std::vector<GroupRecord> list_groups(ReadTxn& txn);
std::optional<StreamRecord> get_stream(ReadTxn& txn, std::string_view address);
// What already answers at a normalised address: "user", "alias", "group", "stream" or "".
std::string address_owner(ReadTxn& txn, std::string_view address);

// ---- writes (inside a write batch) ----
Result<DomainRecord> add_domain(WriteTxn& txn, std::string_view name);
Result<void> remove_domain(WriteTxn& txn, std::string_view name);

struct NewUser {
  std::string address;  // normalised
  std::string password_hash;
  std::string display_name;
  std::uint64_t quota = 0;
};
// Creates the user and its INBOX, Sent, Drafts, Trash, Spam (\Junk) and Archive.
Result<UserRecord> add_user(WriteTxn& txn, const NewUser& u);
Result<void> set_password_hash(WriteTxn& txn, std::string_view address, std::string_view hash);
Result<void> set_enabled(WriteTxn& txn, std::string_view address, bool enabled);
Result<void> set_quota(WriteTxn& txn, std::string_view address, std::uint64_t quota);
Result<void> set_display_name(WriteTxn& txn, std::string_view address, std::string_view name);
Result<void> set_allowed_sender(WriteTxn& txn, std::string_view address, std::string_view sender, bool allow);
// Removes the user, its mailboxes and messages, the aliases that point at it, and its
// places in groups and catch-all lists.
Result<void> remove_user(WriteTxn& txn, std::string_view address);

Result<AliasRecord> add_alias(WriteTxn& txn, std::string_view alias, std::string_view user_address);
Result<void> remove_alias(WriteTxn& txn, std::string_view alias);

Result<GroupRecord> add_group(WriteTxn& txn, std::string_view address, const std::vector<std::string>& members);
Result<void> add_group_member(WriteTxn& txn, std::string_view group, std::string_view member);
Result<void> remove_group_member(WriteTxn& txn, std::string_view group, std::string_view member);
Result<void> set_group_policy(WriteTxn& txn, std::string_view group, PostingPolicy policy);
Result<void> remove_group(WriteTxn& txn, std::string_view group);

Result<StreamRecord> add_stream(WriteTxn& txn, std::string_view address, std::string_view name);
Result<void> remove_stream(WriteTxn& txn, std::string_view address);

Result<void> set_catchall(WriteTxn& txn, std::string_view domain, const std::vector<std::string>& users);
Result<void> clear_catchall(WriteTxn& txn, std::string_view domain);

// The user that an address (primary or alias, normalised, no tag) belongs to.
std::optional<std::uint64_t> user_for_address(ReadTxn& txn, std::string_view address);

}  // namespace mailstead::directory
