// The administrator's inbound block and allow lists (docs/inbound.md): global, or a
// recipient user's own. The MX reads them at RCPT from the same table.
#include <map>

#include "directory/address.hpp"
#include "ops/admin_ops.hpp"
#include "store/store.hpp"

namespace mailstead::admin {

namespace {

Result<std::uint64_t> user_of(store::ReadTxn& txn, const std::string& user) {
  if (user.empty()) return std::uint64_t{0};
  auto u = directory::find_user(txn, directory::lowercase_ascii(user));
  if (!u) return Error(ErrorKind::not_found, "no user " + user, "user");
  return u->id;
}

}  // namespace

Change<InboundRuleView> Ops::plan_add_inbound_rule(inbound::List list, std::string_view value, std::string_view user,
                                                   std::string_view note) {
  auto made = inbound::make_rule(list, value, note);
  if (!made) return about(made.error(), "value");
  return Change<InboundRuleView>([r = *made, u = std::string(user)](store::WriteTxn& t) -> Result<InboundRuleView> {
    auto id = user_of(t, u);
    if (!id) return id.error();
    auto rule = r;
    rule.user = *id;
    if (auto added = inbound::add_rule(t, rule); !added) return about(added.error(), "value");
    std::string address;
    if (rule.user)
      if (auto rec = directory::get_user(t, rule.user)) address = rec->address;
    return InboundRuleView{rule, address};
  });
}

Change<void> Ops::plan_remove_inbound_rule(inbound::List list, std::string_view value, std::string_view user) {
  auto made = inbound::make_rule(list, value);
  if (!made) return about(made.error(), "value");
  return Change<void>([r = *made, u = std::string(user)](store::WriteTxn& t) -> Result<void> {
    auto id = user_of(t, u);
    if (!id) return id.error();
    auto rule = r;
    rule.user = *id;
    if (auto gone = inbound::remove_rule(t, rule); !gone) return about(gone.error(), "value");
    return {};
  });
}

std::vector<InboundRuleView> Ops::list_inbound_rules() {
  auto txn = store_.read();
  std::vector<InboundRuleView> out;
  std::map<std::uint64_t, std::string> names;
  for (auto& r : inbound::list_rules(*txn)) {
    std::string address;
    if (r.user) {
      auto it = names.find(r.user);
      if (it == names.end()) {
        auto u = directory::get_user(*txn, r.user);
        it = names.emplace(r.user, u ? u->address : "#" + std::to_string(r.user)).first;
      }
      address = it->second;
    }
    out.push_back({std::move(r), std::move(address)});
  }
  return out;
}

}  // namespace mailstead::admin
