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

// Who may post to a stream by email (docs/streams.md). Only an authenticated session proves
// a local identity; an envelope sender on port 25 is a claim.
enum class EmailPosting : std::uint8_t {
  anyone = 0,   // anyone who knows the address; unauthenticated mail is posted by the gateway bot, sender shown
  local = 1,    // authenticated local users only
  members = 2,  // authenticated members of the stream only
  nobody = 3,   // the address is off
};
const char* email_posting_name(EmailPosting p);
std::optional<EmailPosting> parse_email_posting(std::string_view s);

// What becomes of email whose sender is not proved to be a local user (neither an
// authenticated session nor a DMARC pass of a local user's From; docs/streams.md).
enum class Unauthenticated : std::uint8_t {
  bot = 0,     // posted by the gateway bot, the email's From shown beside it
  refuse = 1,  // 550 5.7.1 at the end of DATA
};
const char* unauthenticated_name(Unauthenticated u);
std::optional<Unauthenticated> parse_unauthenticated(std::string_view s);

// A chat stream (schema 5; docs/storage.md). Its email address is not a local address but
// `<slug>.<token>[.<option>…]` in the gateway pattern (docs/streams.md).
struct StreamRecord {
  std::uint64_t id = 0;
  std::string slug;  // the key: [a-z0-9_-], 1..64, no '.' or '+' (they separate token and options)
  std::string name;
  std::string description;
  std::vector<std::uint64_t> members;  // user ids
  std::string token;                   // 32 lower-case hex characters
  bool enabled = true;
  EmailPosting email_posting = EmailPosting::anyone;
  std::int64_t created = 0;
  Unauthenticated unauthenticated = Unauthenticated::bot;  // a trailing byte; absent in older records: bot
};
std::string encode_stream(const StreamRecord& s);
std::optional<StreamRecord> decode_stream(std::string_view v);
// 128 random bits as 32 hex characters.
std::string new_stream_token();
// A stream's slug from a name or given slug: lower case, [a-z0-9_-]; invalid → error.
Result<std::string> stream_slug(std::string_view text);

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
std::optional<StreamRecord> get_stream(ReadTxn& txn, std::string_view slug);
std::vector<StreamRecord> list_streams(ReadTxn& txn);
// What already answers at a normalised address: "user", "alias", "group" or "".
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

struct NewStream {
  std::string slug;  // empty: made from the name
  std::string name;
  std::string description;
  std::string token;  // empty: a new random one
  EmailPosting email_posting = EmailPosting::anyone;
};
Result<StreamRecord> add_stream(WriteTxn& txn, const NewStream& s);
// Writes a changed stream record (the slug names it; it must exist).
Result<void> put_stream(WriteTxn& txn, const StreamRecord& s);
// Removes the stream record only; its messages are removed by streams::remove_messages.
Result<void> remove_stream(WriteTxn& txn, std::string_view slug);

Result<void> set_catchall(WriteTxn& txn, std::string_view domain, const std::vector<std::string>& users);
Result<void> clear_catchall(WriteTxn& txn, std::string_view domain);

// The user that an address (primary or alias, normalised, no tag) belongs to.
std::optional<std::uint64_t> user_for_address(ReadTxn& txn, std::string_view address);

}  // namespace mailstead::directory
