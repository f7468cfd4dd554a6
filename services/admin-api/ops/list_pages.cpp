// Pages of users and aliases for the admin API's `?limit=&after=` (docs/admin-api.md): a
// cursor seeks to `after` in the address-ordered table and reads one page, and a user's
// aliases come from the alias_by_user index, so a page costs the same at 10 users as at
// 10,000 (docs/performance.md has the figures). A search scans the in-memory search list
// (ops/directory_search.hpp), rebuilt after the directory changes, and reads from the store
// only the page it answers.
#include <algorithm>
#include <unordered_map>
#include <vector>

#include "ops/admin_ops.hpp"
#include "store/mailstore.hpp"
#include "store/store.hpp"
#include "util/bytes.hpp"
#include "util/text.hpp"

namespace mailstead::admin {

namespace {

// Moves `c` to the first key after `after` (or the first key); false at the end.
bool start_after(store::Cursor& c, std::string_view after) {
  if (after.empty()) return c.first();
  if (!c.seek(after)) return false;
  if (c.key() == after) return c.next();
  return true;
}

}  // namespace

Ops::UserPage Ops::list_users_page(std::string_view q, std::string_view after, std::size_t limit) {
  auto txn = store_.read();
  UserPage page;
  if (!q.empty()) {
    // A search scans the search list (ops/directory_search.hpp) for the users whose address
    // or display name contains `q`, then reads only the page's users from the store.
    auto dir = search_.get(*txn);
    std::vector<char> match(dir->users.size());
    for (std::size_t i = 0; i < dir->users.size(); ++i) {
      const auto& u = dir->users[i];
      match[i] = dir->str(u.address).find(q) != std::string_view::npos ||
                 dir->str(u.name_lower).find(q) != std::string_view::npos;
    }
    for (auto i = dir->first_after(dir->by_address, after); i < dir->by_address.size(); ++i) {
      auto at = dir->user_index(dir->by_address[i].user);
      if (at == dir->users.size() || !match[at]) continue;
      if (page.users.size() == limit) {
        page.next = page.users.back().user.address;
        break;
      }
      auto u = directory::get_user(*txn, dir->by_address[i].user);
      if (u) page.users.push_back(UserView{std::move(*u), {}, false});
    }
  } else {
    auto c = txn->cursor(store::Table::user_by_address);
    for (bool ok = start_after(*c, after); ok; ok = c->next()) {
      if (c->value().size() != 8) continue;
      auto u = directory::get_user(*txn, get_be64(c->value()));
      if (!u) continue;
      if (page.users.size() == limit) {
        page.next = page.users.back().user.address;
        break;
      }
      page.users.push_back(UserView{std::move(*u), {}, false});
    }
  }
  for (auto& v : page.users) {
    v.aliases = directory::aliases_of(*txn, v.user.id);
    v.admin = access::is_admin(*txn, v.user.id);
    auto& use = page.usage[v.user.id];
    for (const auto& m : store::list_mailboxes(*txn, v.user.id)) {
      use.bytes += m.bytes;
      use.messages += m.messages;
    }
  }
  return page;
}

Ops::AliasPage Ops::list_aliases_page(std::string_view q, std::string_view after, std::size_t limit) {
  auto txn = store_.read();
  AliasPage page;
  // The page's users' addresses, each read once from the store.
  std::unordered_map<std::uint64_t, std::string> names;
  auto add = [&](std::string_view address, std::uint64_t user) {
    auto it = names.find(user);
    if (it == names.end()) {
      auto u = directory::get_user(*txn, user);
      it = names.emplace(user, u ? u->address : "?").first;
    }
    page.aliases.emplace_back(std::string(address), it->second);
  };
  if (!q.empty()) {
    // A search scans the search list (ops/directory_search.hpp): an alias matches by its
    // own address or by its user's (user_by_address).
    auto dir = search_.get(*txn);
    std::vector<char> user_matches(dir->ranks);
    bool any_user = false;
    for (auto i = dir->next_match(dir->by_address, 0, q); i < dir->by_address.size();
         i = dir->next_match(dir->by_address, i + 1, q)) {
      user_matches[dir->by_address[i].rank] = 1;
      any_user = true;
    }
    const auto& aliases = dir->aliases;
    auto i = dir->first_after(aliases, after);
    auto own = dir->next_match(aliases, i, q);  // the next alias matching by its own address
    for (; i < aliases.size(); ++i) {
      if (!any_user) i = own;  // only own matches: jump to the next
      if (i == aliases.size()) break;
      if (i == own) {
        own = dir->next_match(aliases, i + 1, q);
      } else if (aliases[i].rank == DirectorySnapshot::no_rank || !user_matches[aliases[i].rank]) {
        continue;
      }
      if (page.aliases.size() == limit) {
        page.next = page.aliases.back().first;
        break;
      }
      add(dir->str(aliases[i].address), aliases[i].user);
    }
    return page;
  }
  auto c = txn->cursor(store::Table::aliases);
  for (bool ok = start_after(*c, after); ok; ok = c->next()) {
    // The AliasRecord's address and user, read in place (directory.cpp's layout).
    Decoder d(c->value());
    auto address = d.str();
    auto user = d.u64();
    d.i64();  // created
    if (!d.ok()) continue;
    if (page.aliases.size() == limit) {
      page.next = page.aliases.back().first;
      break;
    }
    add(address, user);
  }
  return page;
}

}  // namespace mailstead::admin
