// What Sieve decides for one recipient at delivery, turned into store work: the mailboxes
// to file into (with flags, :create), messages to queue (redirects, vacation replies,
// notifications, rejection notices) and records to keep (vacation, duplicate). smtpd plans
// every local recipient before its one write batch and applies the plans inside it.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "config/core_settings.hpp"
#include "directory/routing.hpp"
#include "sieve/sieve.hpp"
#include "store/records.hpp"
#include "store/store.hpp"

namespace mailstead::sieve {

struct Filing {
  std::string mailbox = "INBOX";
  // The user's \Junk mailbox instead of `mailbox` (created if missing): the implicit keep
  // of a message the inbound checks marked as junk (DeliveryContext::junk).
  bool junk = false;
  bool create = false;
  std::uint32_t flags = 0;
  std::vector<std::string> keywords;
};

struct Outgoing {
  std::string sender;  // "" for the null reverse path
  std::vector<std::string> recipients;
  std::string message;
};

struct Tracking {
  char kind;  // 'v' vacation, 'd' duplicate
  std::string key;
  std::int64_t expires;
};

struct Plan {
  std::vector<Filing> filings;             // empty: discarded
  std::vector<std::uint64_t> local_copies;  // local users a redirect reached (their INBOX)
  std::string redirect_prefix;              // header lines on redirected copies (loop marker)
  std::vector<Outgoing> outgoing;
  std::vector<Tracking> tracking;
  std::optional<std::string> reject;        // reject/ereject reason
  std::optional<std::string> edited;        // the message with editheader's header
  std::string error;                        // run-time error (the message was kept)
  bool ran = false;                         // the user has an active script
  std::string address;                      // the user's primary address
};

struct DeliveryContext {
  std::string hostname;
  std::string sender;      // envelope reverse path
  std::string recipient;   // as the sender addressed it (Delivered-To)
  std::int64_t now = 0;
  const directory::RoutingSettings* routing = nullptr;
  Limits limits;
  // The inbound checks' verdict on this message (docs/spam.md): the implicit keep (no
  // script, or a script that neither keeps nor files explicitly) goes to the recipient's
  // \Junk mailbox. Set by spam scanning (score >= [spam] junk_threshold) and by any other
  // check that quarantines (DMARC p=quarantine); an explicit keep or fileinto wins.
  bool junk = false;
  // The From domain failed DMARC (whatever the policy did with the message): like a junk
  // message, it gets no vacation reply or rejection notice, since its sender is likely
  // forged: a reply would be backscatter to an innocent third party (RFC 3834, 7).
  bool dmarc_failed = false;
  SpamScore spam;          // for spamtest/spamtestplus
  std::string remote_host, remote_ip;  // for environment (the SMTP client), "" unknown
};

// The mailbox a filing goes to, inside the delivery's write: its mailbox by name (created
// with :create), the user's \Junk mailbox for a junk filing (created as "Spam" if the user
// has none), INBOX when the named one is missing (RFC 5228 4.1); nullopt: the user is gone.
std::optional<store::MailboxRecord> filing_mailbox(store::WriteTxn& txn, std::uint64_t user, const Filing& f);

// Runs the user's active script (if any) on `message` and plans the result; reads only.
Plan plan(store::ReadTxn& txn, std::uint64_t user, std::string_view message, const DeliveryContext& ctx);

// The DSN-style notice for a message rejected by Sieve (RFC 5429 2.1), to the sender: the
// user whose script rejected it (Final-Recipient) and the address the sender used, such as
// a group's (Original-Recipient, RFC 3464 2.3.1).
std::string rejection_notice(const DeliveryContext& ctx, std::string_view user_address, std::string_view addressed,
                             std::string_view reason, std::string_view original);

// The [sieve] limits of the configuration.
inline Limits limits_of(const config::CoreSettings& core) {
  Limits l;
  l.max_script_size = core.sieve.max_script_size;
  l.max_redirects = core.sieve.max_redirects;
  l.max_steps = core.sieve.max_steps;
  l.max_include_depth = core.sieve.max_include_depth;
  l.max_actions = core.sieve.max_actions;
  l.max_cpu_time = core.sieve.max_cpu_time;
  l.max_variable_size = core.sieve.max_variable_size;
  l.max_regex_length = core.sieve.max_regex_length;
  l.max_regex_memory = static_cast<std::int64_t>(core.sieve.max_regex_memory);
  l.regex_cache_size = core.sieve.regex_cache_size;
  l.script_cache_size = core.sieve.script_cache_size;
  return l;
}

// Parsed scripts by their text: delivery parses each distinct script once per process.
std::shared_ptr<const Script> cached_parse(const std::string& text, const Limits& limits, std::string* error);

}  // namespace mailstead::sieve
