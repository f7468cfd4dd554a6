// Relay (smarthost) settings: a default relay and per-sender-domain relays in the store's
// relays table — host, port, security, user — with the password sealed by a key from the
// secrets file (libsodium secretbox) or, for the default relay, the secrets file's own
// [relay] password; never in the main configuration. The delivery service reads them per
// message, so a change applies to the next message. docs/outbound.md.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/core_settings.hpp"
#include "util/error.hpp"

namespace mailstead::store {
class ReadTxn;
class WriteTxn;
}

namespace mailstead::relay {

// starttls: plain connect, then STARTTLS, required (the usual 587); tls: TLS from the
// first byte (the usual 465, "SSL"); none: no TLS (a relay on this machine: localhost:25).
enum class Security : std::uint8_t { starttls = 0, tls = 1, none = 2 };
const char* security_name(Security s);
std::optional<Security> parse_security(std::string_view s);

// What the delivery service needs to hand a message to a relay.
struct Relay {
  std::string domain;  // the sender domain this relay is for; "" for the default relay
  std::string host;
  std::uint16_t port = 587;
  Security security = Security::starttls;
  std::string user;      // "" : no AUTH
  std::string password;  // the clear password; never log it
  // Not empty: the relay needs a password that cannot be had now (no [relay] key, a key
  // other than the one it was sealed with, no [relay] password). Defer the message with
  // this text; do not try without AUTH.
  std::string password_error;
};

// The relay for mail whose envelope sender is in `sender_domain` ("" for the null
// sender): that domain's relay, else the default relay, else nullopt (deliver to each
// recipient's MX). Decrypts the password with the secrets.
std::optional<Relay> relay_for(store::ReadTxn& txn, std::string_view sender_domain,
                               const config::CoreSettings::Secrets& secrets);

// ---- administration (services/admin-api/ops) ----

// Host, port and security defaults of the well-known services (`--preset NAME`).
struct Preset {
  const char* name;
  const char* description;
  const char* host;  // "" : the operator gives it ("smtp", any SMTP server)
  std::uint16_t port;
  Security security;
  const char* user;  // a fixed user name, "" when the account's own
};
const std::vector<Preset>& presets();

enum class PasswordSource : std::uint8_t { none = 0, stored = 1, secrets_file = 2 };
const char* password_source_name(PasswordSource s);  // "none", "stored", "secrets-file"

struct RelayRecord {
  std::string domain;  // "" : the default relay
  std::string host;
  std::uint16_t port = 587;
  Security security = Security::starttls;
  std::string user;
  PasswordSource password = PasswordSource::none;
  std::string sealed_password;  // nonce + secretbox of the password (PasswordSource::stored)
  std::string preset;           // the preset it came from, "" if none
  std::int64_t updated = 0;
};

// `mailstead relay set` as a request.
struct SetRequest {
  std::string host_port;                 // "HOST:PORT", "HOST" (port from the preset/security) or ""
  std::string preset;                    // "" or a preset name
  std::optional<std::string> security;   // "starttls", "tls", "none"
  std::string user;
  std::optional<std::string> password;   // from standard input; nullopt when not given
  std::string domain;                    // the sender domain; "" for the default relay
};

struct Prepared {
  RelayRecord record;
  std::vector<std::string> warnings;  // accepted, but probably not what was meant
};

// Checks a request completely and seals the password, without the store. Refusals:
// unknown preset or security, no host, a bad port, a password without a user, a user
// without a password (none on standard input, and for the default relay none in the
// secrets file), a password to store without [relay] key, and security none with a user
// for a host that is not this machine (the password would cross the network in clear).
Result<Prepared> prepare(const SetRequest& req, const config::CoreSettings::Secrets& secrets, std::int64_t now);

// Stores a prepared relay (the sender domain must be one of ours).
Result<RelayRecord> put(store::WriteTxn& txn, const RelayRecord& r);
// Removes the default relay ("") or a domain's; not_found when there is none.
Result<void> clear(store::WriteTxn& txn, std::string_view domain);
// Every relay, the default first. Sealed passwords are in the records: never print them.
std::vector<RelayRecord> list(store::ReadTxn& txn);

bool is_loopback_host(std::string_view host);

}  // namespace mailstead::relay
