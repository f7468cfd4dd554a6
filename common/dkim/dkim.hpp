// DKIM signing of outgoing mail (RFC 6376) with libopendkim: relaxed/relaxed
// canonicalisation, rsa-sha256 and ed25519-sha256 (RFC 8463), From over-signed.
// This is what the delivery service calls for every message that leaves; key management
// (generation, rotation, the store table) is in dkim/keys.hpp. docs/outbound.md.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/error.hpp"

namespace mailstead::store {
class ReadTxn;
}

namespace mailstead::dkim {

enum class Algorithm : std::uint8_t { rsa = 1, ed25519 = 2 };
const char* algorithm_name(Algorithm a);  // "rsa", "ed25519" (the TXT record's k= value)
std::optional<Algorithm> parse_algorithm(std::string_view s);

// A key that signs. `private_key` is PEM (PKCS #8). Never print or log it: nothing in
// Mailstead formats a Key, and the log interface has no field for it.
struct Key {
  std::string domain;    // d=, A-labels, lower case
  std::string selector;  // s=
  Algorithm algorithm = Algorithm::rsa;
  std::string private_key;
};

// The keys that sign for `domain` now: at most one per algorithm (RSA first), from the
// dkim_keys table. Empty when the domain has none (or is not ours): send unsigned.
// `domain` may be in any case or a U-label; it is normalised here.
std::vector<Key> signing_keys(store::ReadTxn& txn, std::string_view domain);

// The DKIM-Signature header fields for `message` (RFC 5322 bytes, header and body), one
// per key in order, each "DKIM-Signature: ...\r\n" (folded with CRLF TAB): prepend them
// to the message unchanged. Empty `keys`: "".
//
// Signed, when present: From (and once more than present: over-signed, so no From can be
// added later), To, Subject, Date, Message-ID, MIME-Version, Content-Type, Reply-To,
// In-Reply-To, References. c=relaxed/relaxed, t= the signing time, no l= and no x=.
//
// The message is hashed as SMTP transmits it (RFC 5321 2.3.8): every line ends in CRLF —
// a bare LF or a bare CR counts as a line end — and a last line without CRLF gets one
// (the SMTP client adds it before the final dot). The client must send the same lines.
//
// An error means the message cannot be signed as it is (no From field, a malformed
// header, an unusable key); its text says why and never contains key material.
Result<std::string> sign(std::string_view message, const std::vector<Key>& keys);

// The domain of the first address in the message's From field (lower case), the usual
// d= for DMARC alignment; "" when there is none.
std::string from_domain(std::string_view message);

}  // namespace mailstead::dkim
