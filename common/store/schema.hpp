// The schema version and its forward migrations (docs/storage.md). A store opened by a
// newer program is migrated in one transaction; one written by a newer program is refused.
#pragma once

#include <cstdint>
#include <string>
#include <system_error>

namespace mailstead::store {
class WriteTxn;
class ReadTxn;
}

namespace mailstead::store::schema {

inline constexpr std::uint32_t current_version = 5;

// Reads meta "schema_version" (0 when the store is new).
std::uint32_t version(ReadTxn& txn);
// Stamps a new store with the current version or runs each migration in turn.
std::error_code migrate(WriteTxn& txn, std::string& why);
// Sets the stamped version; for tests that build an old store.
std::error_code set_version(WriteTxn& txn, std::uint32_t v);

}  // namespace mailstead::store::schema
