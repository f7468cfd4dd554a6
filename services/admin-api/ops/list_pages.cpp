// Pages of users and aliases for the admin API's `?limit=&after=` (docs/admin-api.md): a
// cursor seeks to `after` in the address-ordered table and reads one page, and a user's
// aliases come from the alias_by_user index, so a page costs the same at 10 users as at
// 10,000 (docs/performance.md has the figures). A search reads on until the page is full.
#include <algorithm>
#include <unordered_set>

#include "ops/admin_ops.hpp"
#include "store/mailstore.hpp"
#include "store/store.hpp"
#include "util/text.hpp"

namespace mailstead::admin {

namespace {

std::uint64_t be64(std::string_view v) {
  std::uint64_t n = 0;
  for (unsigned char c : v.substr(0, 8)) n = (n << 8) | c;
  return n;
}

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
  auto c = txn->cursor(store::Table::user_by_address);
  for (bool ok = start_after(*c, after); ok; ok = c->next()) {
    if (c->value().size() != 8) continue;
    auto u = directory::get_user(*txn, be64(c->value()));
    if (!u) continue;
    if (!q.empty() && u->address.find(q) == std::string::npos && lower(u->display_name).find(q) == std::string::npos)
      continue;
    if (page.users.size() == limit) {
      page.next = page.users.back().user.address;
      break;
    }
    page.users.push_back(UserView{std::move(*u), {}, false});
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
  // A search first finds the users whose address matches (keys of user_by_address, nothing
  // decoded), so an alias that does not match by its own address is a set look-up.
  std::unordered_set<std::uint64_t> matching_users;
  if (!q.empty()) {
    auto u = txn->cursor(store::Table::user_by_address);
    for (bool ok = u->first(); ok; ok = u->next())
      if (u->key().find(q) != std::string_view::npos && u->value().size() == 8) matching_users.insert(be64(u->value()));
  }
  std::unordered_map<std::uint64_t, std::string> names;
  auto c = txn->cursor(store::Table::aliases);
  for (bool ok = start_after(*c, after); ok; ok = c->next()) {
    auto rec = directory::parse_alias(c->value());
    if (!rec) continue;
    if (!q.empty() && rec->address.find(q) == std::string::npos && !matching_users.count(rec->user)) continue;
    if (page.aliases.size() == limit) {
      page.next = page.aliases.back().first;
      break;
    }
    auto it = names.find(rec->user);
    if (it == names.end()) {
      auto u = directory::get_user(*txn, rec->user);
      it = names.emplace(rec->user, u ? u->address : "?").first;
    }
    page.aliases.emplace_back(rec->address, it->second);
  }
  return page;
}

}  // namespace mailstead::admin
