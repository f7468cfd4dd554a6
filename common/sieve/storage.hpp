// Sieve scripts and their state in the store: each user's scripts by name, which one is
// active, and the expiring records vacation and duplicate keep (docs/storage.md). Global
// scripts (include :global) belong to user 0. StoreEnvironment lets the interpreter see
// the user's mailboxes, scripts and records through one read transaction.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "sieve/sieve.hpp"
#include "store/store.hpp"

namespace mailstead::sieve {

inline constexpr std::uint64_t kGlobalOwner = 0;

struct ScriptInfo {
  std::string name;
  bool active = false;
  std::uint64_t size = 0;
};

// Why `name` cannot name a script, or "" when it can: 1 to 128 bytes of UTF-8 without
// control characters, U+2028 or U+2029 (RFC 5804 1.6, Net-Unicode), and nothing that reads
// as a path ("." or "..", "/" or "\\"), which a client or an export to files would take as
// one. PUTSCRIPT, RENAMESCRIPT, HAVESPACE and the CLI check names with it.
std::string script_name_error(std::string_view name);

std::vector<ScriptInfo> list_scripts(store::ReadTxn& txn, std::uint64_t user);
std::optional<std::string> get_script(store::ReadTxn& txn, std::uint64_t user, std::string_view name);
std::optional<std::string> active_script(store::ReadTxn& txn, std::uint64_t user);  // its name
std::error_code put_script(store::WriteTxn& txn, std::uint64_t user, std::string_view name, std::string_view text);
// false when there is no such script
bool delete_script(store::WriteTxn& txn, std::uint64_t user, std::string_view name);
bool rename_script(store::WriteTxn& txn, std::uint64_t user, std::string_view from, std::string_view to);
// "" deactivates; false when the named script does not exist.
bool set_active(store::WriteTxn& txn, std::uint64_t user, std::string_view name);
std::uint64_t used_space(store::ReadTxn& txn, std::uint64_t user);

// Expiring records: kind 'v' (a vacation reply sent to a sender for a handle) and 'd' (a
// duplicate ID seen).
bool tracked(store::ReadTxn& txn, std::uint64_t user, char kind, std::string_view key, std::int64_t now);
std::error_code track(store::WriteTxn& txn, std::uint64_t user, char kind, std::string_view key, std::int64_t expires);

class StoreEnvironment : public Environment {
 public:
  StoreEnvironment(store::ReadTxn& txn, std::uint64_t user, std::int64_t now) : txn_(txn), user_(user), now_(now) {}
  bool mailbox_exists(std::string_view name) override;
  std::optional<std::string> script(std::string_view name, bool global) override;
  bool seen(std::string_view id) override;
  std::int64_t now() override { return now_; }

 private:
  store::ReadTxn& txn_;
  std::uint64_t user_;
  std::int64_t now_;
};

}  // namespace mailstead::sieve
