// Administrative operations on the directory and mailboxes: the one layer under both
// the `mailstead` CLI and the HTTP API, so a rule is written once. Each change is planned
// first (arguments checked, passwords hashed: slow work outside the store's writer) into a
// `Change`, whose `apply` runs inside one store batch that checks and then writes; a refused
// change writes nothing. The CLI commits a change and waits (`Ops::add_domain` …); the HTTP
// API commits the same plan through the store's asynchronous submit (`Ops::plan_add_domain`).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <unordered_map>
#include <vector>

#include "auth/app_passwords.hpp"
#include "config/core_settings.hpp"
#include "dkim/keys.hpp"
#include "directory/directory.hpp"
#include "directory/routing.hpp"
#include "inbound/dmarc_overrides.hpp"
#include "inbound/rules.hpp"
#include "queue/queue.hpp"
#include "relay/relay.hpp"
#include "ops/access.hpp"
#include "ops/directory_search.hpp"
#include "ops/import.hpp"
#include "ops/sieve_rules.hpp"
#include "sieve/storage.hpp"
#include "store/records.hpp"
#include "util/error.hpp"

namespace mailstead::store {
class Store;
}

namespace mailstead::admin {

// A planned write: either refused before the store is touched, or a function to run inside
// one batch. `apply` may run more than once (the store retries a group after growing the
// map), so it computes everything from the transaction and owns its inputs.
template <class T>
struct Change {
  std::optional<Error> refused;
  std::function<Result<T>(store::WriteTxn&)> apply;

  Change(Error e) : refused(std::move(e)) {}  // NOLINT: a refusal converts implicitly
  template <class Fn>
  explicit Change(Fn fn) : apply(std::move(fn)) {}
};

struct UserView {
  directory::UserRecord user;
  std::vector<std::string> aliases;
  bool admin = false;
};

struct GroupView {
  directory::GroupRecord group;
  std::vector<std::string> members;  // addresses
};

struct CatchallView {
  std::string domain;
  std::vector<std::string> users;
};

struct Usage {
  std::uint64_t quota = 0;  // 0: none
  std::uint64_t bytes = 0;
  std::uint64_t messages = 0;
};

struct Counts {
  std::uint64_t domains = 0, users = 0, aliases = 0, groups = 0, queue = 0, admins = 0;
};

struct NewToken {
  access::TokenRecord record;
  std::string text;  // shown once
};

struct NewAppPassword {
  auth::AppPasswordRecord record;
  std::string text;  // shown once
};

struct InboundRuleView {
  inbound::Rule rule;
  std::string user;  // the user's address; "" for a global rule
};

class Ops {
 public:
  Ops(store::Store& store, const config::CoreSettings& core);

  // Commits a planned change and waits until it is durable (the CLI's way).
  template <class T>
  Result<T> run(Change<T> change);

  // ---- domains ----
  // A new domain gets an RSA DKIM key (selector "mail"), made while planning (RSA
  // generation is slow; the writer serves everyone); removing one drops its DKIM keys and
  // its relay.
  Change<directory::DomainRecord> plan_add_domain(std::string_view name);
  Change<void> plan_remove_domain(std::string_view name);
  Result<directory::DomainRecord> add_domain(std::string_view name) { return run(plan_add_domain(name)); }
  Result<void> remove_domain(std::string_view name) { return run(plan_remove_domain(name)); }
  std::vector<directory::DomainRecord> list_domains();
  Result<directory::DomainRecord> get_domain(std::string_view name);

  // ---- users (plan_add_user and plan_set_password hash: slow on purpose) ----
  Change<directory::UserRecord> plan_add_user(std::string_view address, std::string_view password,
                                              std::string_view display_name, std::uint64_t quota);
  // Ends the user's web sessions except `keep_session` (the one changing its own password).
  Change<void> plan_set_password(std::string_view address, std::string_view password, std::string keep_session = {});
  Change<void> plan_set_enabled(std::string_view address, bool enabled);
  Change<void> plan_set_quota(std::string_view address, std::uint64_t quota);
  Change<void> plan_set_display_name(std::string_view address, std::string_view name);
  Change<void> plan_allow_sender(std::string_view address, std::string_view sender, bool allow);
  Change<void> plan_remove_user(std::string_view address);
  Result<directory::UserRecord> add_user(std::string_view address, std::string_view password,
                                         std::string_view display_name, std::uint64_t quota) {
    return run(plan_add_user(address, password, display_name, quota));
  }
  Result<void> set_password(std::string_view address, std::string_view password) {
    return run(plan_set_password(address, password));
  }
  Result<void> set_enabled(std::string_view address, bool enabled) { return run(plan_set_enabled(address, enabled)); }
  Result<void> allow_sender(std::string_view address, std::string_view sender, bool allow) {
    return run(plan_allow_sender(address, sender, allow));
  }
  Result<void> remove_user(std::string_view address) { return run(plan_remove_user(address)); }
  std::vector<UserView> list_users();
  Result<UserView> get_user(std::string_view address);
  Result<Usage> usage(std::string_view address);
  std::unordered_map<std::uint64_t, Usage> usage_by_user();  // quota not filled in

  // ---- aliases ----
  Change<directory::AliasRecord> plan_add_alias(std::string_view alias, std::string_view user);
  Change<void> plan_remove_alias(std::string_view alias);
  Result<directory::AliasRecord> add_alias(std::string_view alias, std::string_view user) {
    return run(plan_add_alias(alias, user));
  }
  Result<void> remove_alias(std::string_view alias) { return run(plan_remove_alias(alias)); }
  std::vector<std::pair<std::string, std::string>> list_aliases();  // alias → user address

  // ---- pages of the directory (ops/list_pages.cpp) ----
  // At most `limit` entries in address order after the address `after` ("" from the start)
  // whose address (or a user's name) contains `q` (lower case, "" for all); `next` is the
  // `after` of the following page, "" on the last. Reads only what the page needs.
  struct UserPage {
    std::vector<UserView> users;
    std::unordered_map<std::uint64_t, Usage> usage;  // quota not filled in
    std::string next;
  };
  UserPage list_users_page(std::string_view q, std::string_view after, std::size_t limit);
  struct AliasPage {
    std::vector<std::pair<std::string, std::string>> aliases;  // alias → user address
    std::string next;
  };
  AliasPage list_aliases_page(std::string_view q, std::string_view after, std::size_t limit);

  // ---- bulk import (ops/import.cpp) ----
  Change<ImportCounts> plan_import(const ImportData& data);
  Result<ImportCounts> import(const ImportData& data) { return run(plan_import(data)); }

  // ---- groups ----
  Change<directory::GroupRecord> plan_add_group(std::string_view address, const std::vector<std::string>& members,
                                                std::string_view policy = "");
  Change<void> plan_add_group_member(std::string_view group, std::string_view member);
  Change<void> plan_remove_group_member(std::string_view group, std::string_view member);
  Change<void> plan_set_group_policy(std::string_view group, std::string_view policy);
  Change<void> plan_remove_group(std::string_view group);
  Result<directory::GroupRecord> add_group(std::string_view address, const std::vector<std::string>& members) {
    return run(plan_add_group(address, members));
  }
  Result<void> add_group_member(std::string_view g, std::string_view m) { return run(plan_add_group_member(g, m)); }
  Result<void> remove_group_member(std::string_view g, std::string_view m) {
    return run(plan_remove_group_member(g, m));
  }
  Result<void> set_group_policy(std::string_view g, std::string_view p) { return run(plan_set_group_policy(g, p)); }
  Result<void> remove_group(std::string_view g) { return run(plan_remove_group(g)); }
  std::vector<GroupView> list_groups();
  Result<GroupView> get_group(std::string_view address);

  // ---- catch-all ----
  Change<void> plan_set_catchall(std::string_view domain, const std::vector<std::string>& users);
  Change<void> plan_clear_catchall(std::string_view domain);
  Result<void> set_catchall(std::string_view d, const std::vector<std::string>& u) { return run(plan_set_catchall(d, u)); }
  Result<void> clear_catchall(std::string_view d) { return run(plan_clear_catchall(d)); }
  std::vector<CatchallView> list_catchalls();

  // ---- routing, mailboxes, messages, queue ----
  Result<directory::Route> resolve(std::string_view recipient, std::string_view from,
                                   std::string_view authenticated_as);
  Result<std::vector<store::MailboxRecord>> list_mailboxes(std::string_view user);
  std::vector<std::string> user_addresses(const std::vector<std::uint64_t>& ids);

  struct MessageView {
    std::uint32_t uid = 0;
    store::MessageRecord record;
    std::string envelope, bodystructure;  // from the parse cached at delivery ("" if none)
  };
  Result<std::vector<MessageView>> list_messages(std::string_view user, std::string_view mailbox);
  std::vector<store::QueueRecord> list_queue();
  Result<store::QueueRecord> get_queue_record(std::uint64_t id);
  // A queued message's bytes (its prefix, then the stored message).
  Result<std::string> get_queued(std::uint64_t id);
  // Due now, any lease ended (`mailstead queue retry|flush`): one message, or every queued
  // one when `id` is empty. The result is how many.
  Change<std::uint64_t> plan_retry_queue(std::optional<std::uint64_t> id);
  // Removed without a bounce (`mailstead queue delete`).
  Change<void> plan_delete_queued(std::uint64_t id);
  // The send log from `since` (seconds since 1970): its last `limit` entries, oldest first.
  std::vector<queue::LogEntry> send_log(std::int64_t since, std::size_t limit);
  // DKIM keys (docs/outbound.md). Listed records never carry the private key.
  Result<dkim::KeyRecord> generate_dkim_key(std::string_view domain, std::string_view selector,
                                            std::string_view algorithm);
  Result<std::vector<dkim::KeyRecord>> list_dkim_keys(std::string_view domain);
  // New keys sign at once; the replaced ones stay listed for [dkim] rotate_grace.
  Result<std::vector<dkim::KeyRecord>> rotate_dkim_keys(std::string_view domain);

  // Relays (smarthosts). Listed records never carry the sealed password.
  Result<relay::Prepared> set_relay(const relay::SetRequest& request);
  std::vector<relay::RelayRecord> list_relays();
  Result<void> clear_relay(std::string_view domain);

  // The whole message as IMAP serves it: the per-recipient prefix, then the stored bytes.
  Result<std::string> get_message(std::string_view user, std::string_view mailbox, std::uint32_t uid);

  // ---- Sieve scripts, as ManageSieve manages them (docs/sieve.md) ----
  Result<std::vector<sieve::ScriptInfo>> list_scripts(std::string_view user);
  Result<std::string> get_script(std::string_view user, std::string_view name);
  // Validated with the same parser and limits; the plan's result is the parser's warnings.
  Change<std::vector<std::string>> plan_put_script(std::string_view user, std::string_view name, std::string_view text);
  Change<void> plan_activate_script(std::string_view user, std::string_view name);  // "" deactivates
  Change<void> plan_delete_script(std::string_view user, std::string_view name);
  Result<std::vector<std::string>> put_script(std::string_view u, std::string_view n, std::string_view t) {
    return run(plan_put_script(u, n, t));
  }
  Result<void> activate_script(std::string_view u, std::string_view n) { return run(plan_activate_script(u, n)); }
  Result<void> delete_script(std::string_view u, std::string_view n) { return run(plan_delete_script(u, n)); }

  // ---- vacation and forwarding, as rules in the active script (ops/sieve_rules.hpp) ----
  Result<rules::Vacation> get_vacation(std::string_view user);
  Change<void> plan_set_vacation(std::string_view user, rules::Vacation v);
  Result<rules::Forward> get_forward(std::string_view user);
  Change<void> plan_set_forward(std::string_view user, rules::Forward f);

  // ---- the admin role ----
  Change<void> plan_grant_admin(std::string_view address);
  Change<void> plan_revoke_admin(std::string_view address);
  Result<void> grant_admin(std::string_view a) { return run(plan_grant_admin(a)); }
  Result<void> revoke_admin(std::string_view a) { return run(plan_revoke_admin(a)); }
  std::vector<std::string> list_admins();

  // ---- API tokens ----
  Change<NewToken> plan_create_token(std::string_view name);
  Change<void> plan_revoke_token(std::uint64_t id);
  Result<NewToken> create_token(std::string_view name) { return run(plan_create_token(name)); }
  Result<void> revoke_token(std::uint64_t id) { return run(plan_revoke_token(id)); }
  std::vector<access::TokenRecord> list_tokens();

  // ---- app passwords (hashing: slow) ----
  Change<NewAppPassword> plan_create_app_password(std::string_view user, std::string_view name,
                                                  std::uint32_t max_per_user);
  Change<void> plan_revoke_app_password(std::string_view user, std::string_view id);
  Result<std::vector<auth::AppPasswordRecord>> list_app_passwords(std::string_view user);

  // ---- web sessions ----
  Change<void> plan_open_session(access::SessionRecord rec);
  Change<void> plan_close_session(std::string key);
  Change<void> plan_revoke_session(std::string id, std::optional<std::uint64_t> user);
  std::vector<access::SessionRecord> list_sessions(std::optional<std::uint64_t> user);

  // ---- inbound block and allow lists (ops/inbound_lists.cpp, docs/inbound.md) ----
  // `user` "" is the global list; else the recipient user whose own list it is.
  Change<InboundRuleView> plan_add_inbound_rule(inbound::List list, std::string_view value, std::string_view user,
                                                std::string_view note);
  Change<void> plan_remove_inbound_rule(inbound::List list, std::string_view value, std::string_view user);
  std::vector<InboundRuleView> list_inbound_rules();

  // ---- per-domain DMARC overrides (ops/inbound_policy.cpp, docs/authentication.md) ----
  // Each answers the domain as stored (IDNA, lower case); clearing an absent one: not_found.
  Change<inbound::OverrideEntry> plan_set_dmarc_override(std::string_view domain, inbound::Override action);
  Change<std::string> plan_clear_dmarc_override(std::string_view domain);
  std::vector<inbound::OverrideEntry> list_dmarc_overrides();

  Counts counts();
  store::Store& store() { return store_; }
  const config::CoreSettings& core() const { return core_; }

 private:
  template <class T, class Fn>
  Result<T> write(Fn fn);
  // Runs `fn` as one batch and waits; `fn` returns false to undo its changes.
  std::error_code commit_batch(const std::function<bool(store::WriteTxn&)>& fn);
  Result<std::string> new_address(std::string_view address, const char* field);

  store::Store& store_;
  const config::CoreSettings& core_;
  directory::RoutingSettings routing_;
  DirectorySearch search_;  // the search list of list_users_page / list_aliases_page
};

template <class T>
Result<T> Ops::run(Change<T> change) {
  if (change.refused) return *change.refused;
  return write<T>(change.apply);
}

template <class T, class Fn>
Result<T> Ops::write(Fn fn) {
  std::optional<Result<T>> out;
  auto ec = commit_batch([&](store::WriteTxn& txn) -> bool {
    out.emplace(fn(txn));
    return out->has_value();
  });
  if (out && !out->has_value()) return *out;
  if (ec) return internal("the store did not commit the change: " + ec.message());
  return *out;
}

// A queue id as the CLI and the API take it: a positive decimal number.
Result<std::uint64_t> parse_queue_id(std::string_view text);
// A time for `queue log --since` and `?since=`: seconds since 1970, 2024-01-02T03:04:05Z,
// 2024-01-02, or an age such as 90m, 2h, 7d (before `now`). "" is 0 (everything).
Result<std::int64_t> parse_since(std::string_view text, std::int64_t now);

}  // namespace mailstead::admin
