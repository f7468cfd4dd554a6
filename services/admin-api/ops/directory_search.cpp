// The admin API's search list (directory_search.hpp): built in one pass over users,
// user_by_address and aliases, reading each record's fields in place (the UserRecord and
// AliasRecord layouts of directory.cpp), and kept until the store counts a change of one
// of those tables.
#include "ops/directory_search.hpp"

#include <string.h>  // memmem (GNU)

#include <algorithm>

#include "util/bytes.hpp"
#include "util/text.hpp"

namespace mailstead::admin {

namespace {

DirectorySnapshot::Span append(std::string& text, std::string_view s) {
  DirectorySnapshot::Span span{text.size(), static_cast<std::uint32_t>(s.size())};
  text.append(s);
  text.push_back('\0');  // a search text without NUL never matches across two entries
  return span;
}

}  // namespace

std::size_t DirectorySnapshot::user_index(std::uint64_t id) const {
  auto it = std::lower_bound(users.begin(), users.end(), id, [](const User& u, std::uint64_t v) { return u.id < v; });
  return it != users.end() && it->id == id ? static_cast<std::size_t>(it - users.begin()) : users.size();
}

std::size_t DirectorySnapshot::first_after(const std::vector<Entry>& entries, std::string_view after) const {
  if (after.empty()) return 0;
  // Byte order, as the store's keys (std::string_view compares as unsigned char).
  auto it = std::upper_bound(entries.begin(), entries.end(), after,
                             [this](std::string_view a, const Entry& e) { return a < str(e.address); });
  return static_cast<std::size_t>(it - entries.begin());
}

std::size_t DirectorySnapshot::next_match(const std::vector<Entry>& entries, std::size_t from,
                                         std::string_view q) const {
  if (from >= entries.size()) return entries.size();
  if (q.find('\0') != std::string_view::npos) {  // could span a separator: entry by entry
    for (auto i = from; i < entries.size(); ++i)
      if (str(entries[i].address).find(q) != std::string_view::npos) return i;
    return entries.size();
  }
  const char* begin = text.data() + entries[from].address.offset;
  const char* end = text.data() + entries.back().address.offset + entries.back().address.size;
  const void* hit = ::memmem(begin, static_cast<std::size_t>(end - begin), q.data(), q.size());
  if (!hit) return entries.size();
  auto pos = static_cast<std::size_t>(static_cast<const char*>(hit) - text.data());
  // The entry holding `pos`: the last one starting at or before it.
  auto it = std::upper_bound(entries.begin() + static_cast<std::ptrdiff_t>(from), entries.end(), pos,
                             [](std::size_t p, const Entry& e) { return p < e.address.offset; });
  return static_cast<std::size_t>(it - entries.begin()) - 1;
}

DirectorySnapshot::Key directory_snapshot_key(store::ReadTxn& txn) {
  return {txn.table_changes(store::Table::users), txn.table_changes(store::Table::user_by_address),
          txn.table_changes(store::Table::aliases)};
}

std::shared_ptr<const DirectorySnapshot> build_directory_snapshot(store::ReadTxn& txn, const DirectorySnapshot* last) {
  auto s = std::make_shared<DirectorySnapshot>();
  s->key = directory_snapshot_key(txn);
  s->change_counter = txn.change_counter();
  if (last) {  // about the same sizes as the last one: no copying while the vectors grow
    s->text.reserve(last->text.size() + last->text.size() / 8);
    s->users.reserve(last->users.size() + 64);
    s->by_address.reserve(last->by_address.size() + 64);
    s->aliases.reserve(last->aliases.size() + 64);
  }
  {
    auto c = txn.cursor(store::Table::users);
    for (bool ok = c->first(); ok; ok = c->next()) {
      Decoder d(c->value());
      auto id = d.u64();
      auto address = d.str();
      d.str();  // the password hash
      auto name = d.str();
      if (!d.ok()) continue;
      DirectorySnapshot::User u{id, append(s->text, address), append(s->text, name)};
      for (std::size_t i = 0; i < u.name_lower.size; ++i) {
        auto& ch = s->text[u.name_lower.offset + i];
        ch = ascii_lower(ch);
      }
      s->users.push_back(u);
    }
    // The table's keys are the ids (big-endian), so this is already id order, unless a
    // record's id differs from its key; sorting keeps user_index right either way.
    std::stable_sort(s->users.begin(), s->users.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
  }
  {
    auto c = txn.cursor(store::Table::user_by_address);
    for (bool ok = c->first(); ok; ok = c->next())
      if (c->value().size() == 8) s->by_address.push_back({append(s->text, c->key()), get_be64(c->value())});
  }
  // Rank the users of by_address, so a search marks matching users in a bitmap.
  std::vector<std::uint64_t> ids;
  ids.reserve(s->by_address.size());
  for (const auto& e : s->by_address) ids.push_back(e.user);
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  s->ranks = ids.size();
  // Ids come from a counter, so they are mostly dense: a table indexed by id when it is
  // small, else a binary search.
  std::vector<std::uint32_t> by_id;
  if (!ids.empty() && ids.back() < 4 * ids.size() + 1024) {
    by_id.assign(ids.back() + 1, DirectorySnapshot::no_rank);
    for (std::size_t i = 0; i < ids.size(); ++i) by_id[ids[i]] = static_cast<std::uint32_t>(i);
  }
  auto rank = [&](std::uint64_t id) {
    if (!by_id.empty()) return id < by_id.size() ? by_id[id] : DirectorySnapshot::no_rank;
    auto it = std::lower_bound(ids.begin(), ids.end(), id);
    return it != ids.end() && *it == id ? static_cast<std::uint32_t>(it - ids.begin()) : DirectorySnapshot::no_rank;
  };
  for (auto& e : s->by_address) e.rank = rank(e.user);
  {
    auto c = txn.cursor(store::Table::aliases);
    for (bool ok = c->first(); ok; ok = c->next()) {
      Decoder d(c->value());
      auto address = d.str();
      auto user = d.u64();
      d.i64();  // created
      if (!d.ok()) continue;
      // The record's address (what a page shows); it equals the key.
      s->aliases.push_back({append(s->text, address), user, rank(user)});
    }
  }
  return s;
}

std::shared_ptr<const DirectorySnapshot> DirectorySearch::get(store::ReadTxn& txn) {
  auto key = directory_snapshot_key(txn);
  std::shared_ptr<const DirectorySnapshot> last;
  {
    std::lock_guard lock(mu_);
    if (current_ && current_->key == key) return current_;
    last = current_;
  }
  // Built outside the lock: two threads may build at once after a change; both are right.
  auto built = build_directory_snapshot(txn, last.get());
  std::lock_guard lock(mu_);
  if (!current_ || current_->change_counter < built->change_counter) current_ = built;
  return built;
}

}  // namespace mailstead::admin
