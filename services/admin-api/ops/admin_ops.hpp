// Administrative operations on the directory and mailboxes: the one layer under both
// the `mailstead` CLI and the HTTP API. Each change is one store batch that checks first
// and then writes, and returns only after its group commit is durable.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/core_settings.hpp"
#include "dkim/keys.hpp"
#include "directory/directory.hpp"
#include "directory/routing.hpp"
#include "relay/relay.hpp"
#include "sieve/storage.hpp"
#include "store/records.hpp"
#include "util/error.hpp"

namespace mailstead::store {
class Store;
}

namespace mailstead::admin {

struct UserView {
  directory::UserRecord user;
  std::vector<std::string> aliases;
};

struct GroupView {
  directory::GroupRecord group;
  std::vector<std::string> members;  // addresses
};

struct CatchallView {
  std::string domain;
  std::vector<std::string> users;
};

class Ops {
 public:
  Ops(store::Store& store, const config::CoreSettings& core);

  // A new domain gets an RSA DKIM key (selector "mail"); removing one drops its DKIM keys
  // and its relay.
  Result<directory::DomainRecord> add_domain(std::string_view name);
  Result<void> remove_domain(std::string_view name);
  std::vector<directory::DomainRecord> list_domains();

  Result<directory::UserRecord> add_user(std::string_view address, std::string_view password,
                                         std::string_view display_name, std::uint64_t quota);
  Result<void> set_password(std::string_view address, std::string_view password);
  Result<void> set_enabled(std::string_view address, bool enabled);
  Result<void> allow_sender(std::string_view address, std::string_view sender, bool allow);
  Result<void> remove_user(std::string_view address);
  std::vector<UserView> list_users();

  Result<directory::AliasRecord> add_alias(std::string_view alias, std::string_view user);
  Result<void> remove_alias(std::string_view alias);
  std::vector<std::pair<std::string, std::string>> list_aliases();  // alias → user address

  Result<directory::GroupRecord> add_group(std::string_view address, const std::vector<std::string>& members);
  Result<void> add_group_member(std::string_view group, std::string_view member);
  Result<void> remove_group_member(std::string_view group, std::string_view member);
  Result<void> set_group_policy(std::string_view group, std::string_view policy);
  Result<void> remove_group(std::string_view group);
  std::vector<GroupView> list_groups();

  Result<void> set_catchall(std::string_view domain, const std::vector<std::string>& users);
  Result<void> clear_catchall(std::string_view domain);
  std::vector<CatchallView> list_catchalls();

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
  // A queued message's bytes (its prefix, then the stored message).
  Result<std::string> get_queued(std::uint64_t id);
  // Sieve scripts, as ManageSieve manages them (docs/sieve.md): validated with the same
  // parser and limits; put returns the parser's warnings.
  Result<std::vector<sieve::ScriptInfo>> list_scripts(std::string_view user);
  Result<std::string> get_script(std::string_view user, std::string_view name);
  Result<std::vector<std::string>> put_script(std::string_view user, std::string_view name, std::string_view text);
  Result<void> activate_script(std::string_view user, std::string_view name);  // "" deactivates
  Result<void> delete_script(std::string_view user, std::string_view name);
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

 private:
  template <class T, class Fn>
  Result<T> write(Fn fn);
  Result<std::string> new_address(std::string_view address);

  store::Store& store_;
  const config::CoreSettings& core_;
  directory::RoutingSettings routing_;
};

}  // namespace mailstead::admin
