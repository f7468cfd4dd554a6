// List and external address operations (docs/lists.md) for the CLI and the API.
#include "ops/lists.hpp"

#include "directory/address.hpp"
#include "directory/directory.hpp"
#include "store/store.hpp"

namespace mailstead::admin {

Change<lists::ListRecord> ListOps::plan_add(std::string_view name, std::string_view pattern,
                                            const std::vector<std::string>& templates, std::string_view site_domain) {
  auto checked = lists::check(name, pattern, templates, site_domain.empty() ? settings_.site_domain : site_domain);
  if (!checked) return checked.error();
  return Change<lists::ListRecord>([rec = *checked](store::WriteTxn& t) -> Result<lists::ListRecord> {
    auto r = lists::add_list(t, rec);
    if (!r) return r.error();
    auto stored = lists::get_list(t, rec.name);
    if (!stored) return internal("the list was not stored");
    return *stored;
  });
}

Change<void> ListOps::plan_remove(std::string_view name) {
  return Change<void>([n = std::string(name)](store::WriteTxn& t) -> Result<void> { return lists::remove_list(t, n); });
}

std::vector<lists::ListRecord> ListOps::list() {
  auto txn = ops_.store().read();
  return lists::all_lists(*txn);
}

Result<lists::ListRecord> ListOps::get(std::string_view name) {
  auto txn = ops_.store().read();
  auto l = lists::get_list(*txn, name);
  if (!l) return Error(ErrorKind::not_found, "no list " + directory::lowercase_ascii(name), "name");
  return *l;
}

Change<void> ListOps::plan_add_address(std::string_view user, std::string_view external) {
  return Change<void>([u = directory::lowercase_ascii(user), e = std::string(external)](store::WriteTxn& t) -> Result<void> {
    auto rec = directory::find_user(t, u);
    if (!rec) return Error(ErrorKind::not_found, "no user " + u, "user");
    return lists::add_external(t, rec->id, e);
  });
}

Change<void> ListOps::plan_remove_address(std::string_view user, std::string_view external) {
  return Change<void>([u = directory::lowercase_ascii(user), e = directory::lowercase_ascii(external)](store::WriteTxn& t) -> Result<void> {
    auto rec = directory::find_user(t, u);
    if (!rec) return Error(ErrorKind::not_found, "no user " + u, "user");
    if (lists::external_owner(t, e) != rec->id) return Error(ErrorKind::not_found, e + " is not registered to " + u, "address");
    return lists::remove_external(t, e);
  });
}

Result<std::vector<std::string>> ListOps::addresses(std::string_view user) {
  auto txn = ops_.store().read();
  auto rec = directory::find_user(*txn, directory::lowercase_ascii(user));
  if (!rec) return Error(ErrorKind::not_found, "no user " + directory::lowercase_ascii(user), "user");
  return lists::externals_of(*txn, rec->id);
}

}  // namespace mailstead::admin
