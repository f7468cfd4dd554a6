// Pages of users and aliases for the admin API's `?limit=&after=` (docs/admin-api.md): a
// cursor seeks to `after` in the address-ordered table and reads one page, and a user's
// aliases come from the alias_by_user index, so a page costs the same at 10 users as at
// 10,000 (docs/performance.md has the figures). A search reads on until the page is full;
// it matches on the records' bytes in place (string views into the store's pages, no record
// decoded into strings), so a search that matches little costs one plain pass over the table.
#include <algorithm>
#include <optional>
#include <unordered_set>

#include "ops/admin_ops.hpp"
#include "store/mailstore.hpp"
#include "store/store.hpp"
#include "util/bytes.hpp"
#include "util/text.hpp"

namespace mailstead::admin {

namespace {

std::uint64_t be64(std::string_view v) {
  std::uint64_t n = 0;
  for (unsigned char c : v.substr(0, 8)) n = (n << 8) | c;
  return n;
}

// Whether `text` contains `q` (lower case) ignoring ASCII case, as lower(text).find(q) would.
bool contains_folded(std::string_view text, std::string_view q) {
  if (q.size() > text.size()) return false;
  for (std::size_t i = 0; i + q.size() <= text.size(); ++i) {
    std::size_t j = 0;
    while (j < q.size() && ascii_lower(text[i + j]) == q[j]) ++j;
    if (j == q.size()) return true;
  }
  return false;
}

// The ids of the users whose address or display name contains `q`: one pass over the users
// table reading the two fields in place (the UserRecord layout of directory.cpp: id,
// address, password hash, display name, ...).
std::unordered_set<std::uint64_t> users_matching(store::ReadTxn& txn, std::string_view q) {
  std::unordered_set<std::uint64_t> out;
  auto c = txn.cursor(store::Table::users);
  for (bool ok = c->first(); ok; ok = c->next()) {
    Decoder d(c->value());
    auto id = d.u64();
    auto address = d.str();
    d.str();  // the password hash
    auto name = d.str();
    if (!d.ok()) continue;
    if (address.find(q) != std::string_view::npos || contains_folded(name, q)) out.insert(id);
  }
  return out;
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
  // A search finds its users first (one pass, nothing decoded), then reads them in address
  // order from `after`: only matching users are decoded.
  std::optional<std::unordered_set<std::uint64_t>> matching;
  if (!q.empty()) matching = users_matching(*txn, q);
  auto c = txn->cursor(store::Table::user_by_address);
  for (bool ok = start_after(*c, after); ok; ok = c->next()) {
    if (c->value().size() != 8) continue;
    auto id = be64(c->value());
    if (matching && !matching->count(id)) continue;
    if (matching && page.users.size() == limit) {
      page.next = page.users.back().user.address;
      break;
    }
    auto u = directory::get_user(*txn, id);
    if (!u) continue;
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
    // The AliasRecord's address and user, read in place (directory.cpp's layout).
    Decoder d(c->value());
    auto address = d.str();
    auto user = d.u64();
    d.i64();  // created
    if (!d.ok()) continue;
    if (!q.empty() && address.find(q) == std::string_view::npos && !matching_users.count(user)) continue;
    if (page.aliases.size() == limit) {
      page.next = page.aliases.back().first;
      break;
    }
    auto it = names.find(user);
    if (it == names.end()) {
      auto u = directory::get_user(*txn, user);
      it = names.emplace(user, u ? u->address : "?").first;
    }
    page.aliases.emplace_back(std::string(address), it->second);
  }
  return page;
}

}  // namespace mailstead::admin
