// DKIM key management: per-domain signing keys in the store's dkim_keys table, made with
// OpenSSL 3 (RSA-2048, Ed25519), their DNS TXT records (RFC 6376 3.6.1, RFC 8463 4), and
// rotation. docs/outbound.md explains the life of a key; docs/storage.md the record.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "dkim/dkim.hpp"
#include "util/error.hpp"

namespace mailstead::store {
class ReadTxn;
class WriteTxn;
}

namespace mailstead::dkim {

enum class KeyState : std::uint8_t { active = 0, retired = 1 };
const char* state_name(KeyState s);

struct KeyRecord {
  std::string domain;
  std::string selector;
  Algorithm algorithm = Algorithm::rsa;
  std::string private_key;  // PEM (PKCS #8); never printed or logged
  std::string public_key;   // the TXT record's p= value (base64)
  std::int64_t created = 0;
  KeyState state = KeyState::active;
  std::int64_t retire_at = 0;  // retired keys: listed for publication until then

  std::string dns_name() const { return selector + "._domainkey." + domain; }
  std::string txt() const;  // "v=DKIM1; k=rsa; p=MIIB..."
};

// A freshly generated key pair (slow for RSA: make it outside a write batch).
struct NewKey {
  Algorithm algorithm = Algorithm::rsa;
  std::string private_key;  // PEM
  std::string public_key;   // base64: SubjectPublicKeyInfo DER (RSA) or the raw 32 bytes (Ed25519)
};
Result<NewKey> generate(Algorithm a);

// RFC 6376 3.1: a selector is one or more DNS labels. Lower-cases it; errors say why.
Result<std::string> normalize_selector(std::string_view s);

// Keys to publish for `domain` at `now`: active ones and retired ones whose grace has not
// run out, ordered by selector. Private keys are in the records: do not print them.
std::vector<KeyRecord> list_keys(store::ReadTxn& txn, std::string_view domain, std::int64_t now);

// Adds `key` as an active key of `domain` (which must exist). `selector` "" picks one:
// "mail" (RSA) or "ed25519", or with "-YYYYMMDD" (and "-2", "-3" …) when that is taken.
// Refused when the domain already has an active key of that algorithm (rotate replaces
// one) or the selector is taken. Removes retired keys whose grace ran out.
Result<KeyRecord> add_key(store::WriteTxn& txn, std::string_view domain, std::string_view selector,
                          const NewKey& key, std::int64_t now);

// Replaces each active key of `domain` by the new key of its algorithm in `fresh` (one per
// active algorithm): the new one signs from now, the old one is retired and stays listed
// until now + grace. Returns the new keys. Refused when the domain has no active key.
Result<std::vector<KeyRecord>> rotate(store::WriteTxn& txn, std::string_view domain,
                                      const std::vector<NewKey>& fresh, std::int64_t now, std::int64_t grace);

// The algorithms of the domain's active keys (what rotate needs fresh keys for).
std::vector<Algorithm> active_algorithms(store::ReadTxn& txn, std::string_view domain);

// Removes every key of `domain` (with the domain itself).
void remove_keys(store::WriteTxn& txn, std::string_view domain);

}  // namespace mailstead::dkim
