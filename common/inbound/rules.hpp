// The administrator's inbound lists (docs/inbound.md): blocklists and allowlists of client
// IP addresses and CIDR ranges, sender domains and sender addresses, global or per user,
// kept in the store's `inbound_rules` table; and the greylisting triplets (`greylist`).
// The MX (services/smtpd/inbound) reads them at RCPT; the `mailstead block|allow` commands
// write them through the admin ops layer.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "inbound/cidr.hpp"
#include "util/error.hpp"

namespace mailstead::store {
class ReadTxn;
class WriteTxn;
}  // namespace mailstead::store

namespace mailstead::inbound {

enum class List : std::uint8_t { allow = 'a', block = 'b' };
enum class Kind : std::uint8_t { ip = 'i', domain = 'd', address = 'e' };
const char* list_name(List l);  // "allow", "block"
const char* kind_name(Kind k);  // "ip", "domain", "address"

struct Rule {
  List list = List::block;
  std::uint64_t user = 0;  // 0: global; else the recipient user it belongs to
  Kind kind = Kind::ip;
  std::string value;       // canonical: CIDR text, lower-case A-label domain, or local@domain
  std::int64_t created = 0;
  std::string note;
};

// Works out the kind and canonical value of what an administrator typed: an IP or CIDR, a
// domain ("example.com" or "@example.com"), or an address ("user@example.com").
Result<Rule> make_rule(List list, std::string_view value, std::string_view note = {});

Result<void> add_rule(store::WriteTxn& txn, const Rule& rule);  // conflict when present
Result<void> remove_rule(store::WriteTxn& txn, const Rule& rule);  // not_found when absent
std::vector<Rule> list_rules(store::ReadTxn& txn);
// Removes every rule of a user (when the user goes).
void remove_user_rules(store::WriteTxn& txn, std::uint64_t user);

// Who is asking: the client's address and the envelope sender ("" for the null sender).
struct Subject {
  std::optional<Cidr> ip;
  std::string sender;  // local@domain, local part lower case, domain lower-case A-labels
  std::string sender_domain;
};
Subject make_subject(std::string_view ip, std::string_view mail_from);

struct Verdict {
  std::optional<List> list;  // none: no rule matched
  std::uint64_t user = 0;    // the scope of the rule that decided
  Kind kind = Kind::ip;
  std::string value;
};
// A user's own rules decide first (allow over block), then the global ones (allow over block).
// `user` 0 looks at the global rules only. A domain rule also matches its subdomains.
Verdict evaluate(store::ReadTxn& txn, std::uint64_t user, const Subject& subject);

// ---- greylisting (RFC 6647): the triplet (client network, sender, recipient) ----
// The client's network: an IPv4 /24 or an IPv6 /64 (clients retry from a neighbouring
// address of their pool).
std::string greylist_network(std::string_view ip);
// 16 bytes: BLAKE2b of the triplet (keys stay short whatever the addresses).
std::string greylist_key(std::string_view network, std::string_view sender, std::string_view recipient);
struct GreylistEntry {
  std::int64_t first_seen = 0;
  std::int64_t passed = 0;   // when a retry after the delay was accepted (0: not yet)
  std::int64_t expires = 0;  // the triplet is forgotten after this
};
std::optional<GreylistEntry> get_greylist(store::ReadTxn& txn, std::string_view key);
// Writes the entry (and its place in the expiry order), then drops up to `purge` expired
// triplets, oldest first, so the table stays bounded without a sweeper.
std::error_code put_greylist(store::WriteTxn& txn, std::string_view key, const GreylistEntry& e, std::int64_t now,
                             std::size_t purge = 16);
std::size_t greylist_size(store::ReadTxn& txn);

}  // namespace mailstead::inbound
