// Pattern-matched lists (docs/lists.md): a list answers every recipient address its regular
// expression (RE2, named captures) matches, and names its members by templates filled with
// the captures ("{code}-students@groups.example.org", "archive@example.org"). Only senders
// tied to an account may post; the copies show the sender's site alias, never the real
// address. Also the external addresses registered to accounts. Store work only.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "directory/routing.hpp"
#include "util/error.hpp"

namespace mailstead::store {
class ReadTxn;
class WriteTxn;
}  // namespace mailstead::store

namespace mailstead::lists {

// A list (table `lists`, keyed by name).
struct ListRecord {
  std::string name;                    // [a-z0-9._-], 1..64: also the List-Id's first part
  std::string pattern;                 // RE2 over the lower-cased recipient address, tag removed
  std::vector<std::string> templates;  // member addresses with {capture} placeholders
  std::string site_domain;             // the domain of the senders' aliases and of the List-Id
  std::int64_t created = 0;

  std::string encode() const;
  static std::optional<ListRecord> decode(std::string_view v);
};

// Checks a list before it is stored: the name, that the pattern compiles (RE2 syntax;
// "(?<name>…)" is accepted for "(?P<name>…)"), that every template names only captures of
// the pattern and makes an address, and that the site domain is a domain. The error's
// field says which input is wrong ("name", "pattern", "templates", "site_domain").
Result<ListRecord> check(std::string_view name, std::string_view pattern, const std::vector<std::string>& templates,
                         std::string_view site_domain);

// The named captures when `address` (normalised, no tag) matches the pattern as a whole.
std::optional<std::map<std::string, std::string>> match(std::string_view pattern, std::string_view address);
// A template with its placeholders filled; nullopt when a capture is missing or the result
// is not an address (a capture may not bring '@', spaces or quotes into it).
std::optional<std::string> fill(std::string_view tmpl, const std::map<std::string, std::string>& captures);

struct Member {
  std::string address;     // where the copy goes: a user's primary address or an external address
  std::uint64_t user = 0;  // the local user, 0 for an external address
};
// The list's members for the address it matched: each template filled; a local address is
// its user (user or alias) or its group's enabled members; one at a domain that is not
// local is sent there. Unknown local addresses and disabled users count for nothing. Each
// address once.
std::vector<Member> expand(store::ReadTxn& txn, const ListRecord& list, const std::map<std::string, std::string>& captures);

// ---- the store ----
std::optional<ListRecord> get_list(store::ReadTxn& txn, std::string_view name);
std::vector<ListRecord> all_lists(store::ReadTxn& txn);
Result<void> add_list(store::WriteTxn& txn, ListRecord list);  // conflict when the name is taken
Result<void> remove_list(store::WriteTxn& txn, std::string_view name);

// External addresses registered to an account (table `external_addresses`): mail from
// them counts as from the account for list posting. An address of a local domain cannot be
// registered (it is a user's, an alias or nothing).
Result<void> add_external(store::WriteTxn& txn, std::uint64_t user, std::string_view address);
Result<void> remove_external(store::WriteTxn& txn, std::string_view address);
std::optional<std::uint64_t> external_owner(store::ReadTxn& txn, std::string_view address);
std::vector<std::string> externals_of(store::ReadTxn& txn, std::uint64_t user);

// The account a sender address belongs to: a user's primary address or alias (any tag), or
// a registered external address.
std::optional<std::uint64_t> account_of(store::ReadTxn& txn, std::string_view address, std::string_view delimiter);

// A user's alias at a site domain: its primary address's local part.
std::string site_alias(std::string_view primary_address, std::string_view site_domain);
// The user a site alias reaches: the one user whose primary address has its local part;
// nullopt when none or several do (then nobody has that alias).
std::optional<std::uint64_t> site_alias_owner(store::ReadTxn& txn, std::string_view alias);

// The routing step (docs/routing.md): `address` is the normalised recipient without its
// tag. A list whose pattern matches → a Delivery of kind list (or 550 5.1.1 when it has no
// members, 550 5.7.1 when the sender has no account); a site alias (local part of exactly
// one user's primary address, at a list's site domain) → that user. nullopt: neither.
std::optional<directory::Route> route(store::ReadTxn& txn, const directory::RoutingSettings& settings,
                                      const std::string& address, const directory::RouteContext& ctx);

}  // namespace mailstead::lists
