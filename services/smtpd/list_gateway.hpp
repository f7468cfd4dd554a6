// Pattern-matched lists in smtpd (docs/lists.md): at the end of DATA, each list recipient
// of the transaction becomes its members' copies (the sender shown as their site alias),
// one queue entry per member for mailstead-deliverd, written in the same batch as the
// mailbox deliveries so 250 follows the commit. Unauthenticated posts are proven here, with
// the MX's SPF/DMARC results.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "directory/routing.hpp"
#include "inbound/auth_checks.hpp"
#include "lists/settings.hpp"

namespace mailstead::store {
class ReadTxn;
class WriteTxn;
}  // namespace mailstead::store

namespace mailstead::smtp {

struct ListPoster {
  std::optional<std::uint64_t> authenticated_user;  // a session that logged in
  std::string mail_from;                            // MAIL FROM
  const mailstead::inbound::AuthVerdict* checks = nullptr;  // the MX's SPF/DKIM/DMARC (null: not run)
};

struct ListFanout {
  struct Copy {
    std::string key, bytes;  // blob key and the rewritten message
  };
  struct Entry {
    std::string sender, recipient;
    std::size_t copy = 0;
    std::uint64_t poster = 0;
  };
  std::optional<directory::Rejection> refused;  // the whole message is refused with this
  std::vector<Copy> copies;                     // one per list
  std::vector<Entry> entries;                   // one per member
  std::size_t looped = 0;                       // list recipients skipped: the message passed them before
  std::size_t lists = 0;                        // list recipients expanded
};

// The copies and queue entries for the transaction's list recipients.
ListFanout prepare_list_posts(store::ReadTxn& txn, const std::vector<const directory::Delivery*>& deliveries,
                              std::string_view message, const lists::Settings& settings,
                              const directory::RoutingSettings& routing, const ListPoster& poster);
// Stores the copies and queues one entry per member.
std::error_code write_list_posts(store::WriteTxn& txn, const ListFanout& f, std::int64_t now);

}  // namespace mailstead::smtp
