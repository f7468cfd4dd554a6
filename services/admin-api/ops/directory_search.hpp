// The admin API's search list: the directory's addresses (users, user_by_address, aliases)
// and users' display names copied into one block of memory, so a search (`?q=` on the user
// and alias lists) scans memory instead of walking the store (docs/performance.md). A copy
// belongs to one set of the store's change counts of those tables (store.hpp
// ReadTxn::table_changes): any change by any process makes the next search build a new one.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "store/store.hpp"

namespace mailstead::admin {

struct DirectorySnapshot {
  struct Key {
    std::uint64_t users = 0, user_by_address = 0, aliases = 0;
    bool operator==(const Key&) const = default;
  };
  struct Span {
    std::size_t offset = 0;
    std::uint32_t size = 0;
  };
  // A users record's address and its display name in lower case (ASCII), ordered by id.
  struct User {
    std::uint64_t id = 0;
    Span address, name_lower;
  };
  // An address → user id entry of user_by_address or aliases, in the table's key order;
  // `rank` numbers the distinct user ids of user_by_address (no_rank: none there).
  static constexpr std::uint32_t no_rank = 0xffffffff;
  struct Entry {
    Span address;
    std::uint64_t user = 0;
    std::uint32_t rank = no_rank;
  };

  Key key;
  std::uint64_t change_counter = 0;  // of the snapshot it was read from
  std::string text;                  // every address and name, each followed by a NUL byte
  std::vector<User> users;
  std::vector<Entry> by_address;
  std::vector<Entry> aliases;
  std::size_t ranks = 0;  // distinct user ids in by_address

  std::string_view str(Span s) const { return {text.data() + s.offset, s.size}; }
  // The index in `users` of the user `id`, or users.size().
  std::size_t user_index(std::uint64_t id) const;
  // The index of the first entry whose address sorts after `after` ("" : 0), as a store
  // cursor's seek-and-skip does.
  std::size_t first_after(const std::vector<Entry>& entries, std::string_view after) const;
  // The index of the first entry from `from` on whose address contains `q` (not empty), or
  // entries.size(). One memmem over the entries' addresses, which lie in order in `text`.
  std::size_t next_match(const std::vector<Entry>& entries, std::size_t from, std::string_view q) const;
};

// Reads the three tables once; the snapshot's key is what `txn` holds. `last` (may be null)
// only sizes the new one.
std::shared_ptr<const DirectorySnapshot> build_directory_snapshot(store::ReadTxn& txn, const DirectorySnapshot* last);
DirectorySnapshot::Key directory_snapshot_key(store::ReadTxn& txn);

// One per process, shared by its threads.
class DirectorySearch {
 public:
  // A snapshot equal to what `txn` holds of the three tables: the last one built when the
  // tables have not changed since, else a new one read from `txn` (kept for the next
  // caller unless an older snapshot than the one kept).
  std::shared_ptr<const DirectorySnapshot> get(store::ReadTxn& txn);

 private:
  std::mutex mu_;
  std::shared_ptr<const DirectorySnapshot> current_;
};

}  // namespace mailstead::admin
