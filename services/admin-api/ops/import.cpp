// Bulk import (see import.hpp): every entry planned with the same operation as its single
// CLI verb (domain add, user add, alias add), then applied in order inside one batch. A
// refusal names the entry: "users[3].address".
#include "ops/import.hpp"

#include "auth/password.hpp"
#include "directory/address.hpp"
#include "ops/admin_ops.hpp"

namespace mailstead::admin {

namespace {
Error at(Error e, const std::string& where) {
  e.field = where + (e.field.empty() ? "" : "." + e.field);
  e.message = where + ": " + e.message;
  return e;
}
}  // namespace

Change<ImportCounts> Ops::plan_import(const ImportData& data) {
  std::vector<std::pair<std::string, Change<directory::DomainRecord>>> domains;
  std::vector<std::pair<std::string, directory::NewUser>> users;
  std::vector<std::pair<std::string, Change<directory::AliasRecord>>> aliases;
  {
    auto txn = store_.read();
    for (std::size_t i = 0; i < data.domains.size(); ++i) {
      auto where = "domains[" + std::to_string(i) + "]";
      auto n = directory::normalize_domain(data.domains[i]);
      if (!n) return at(about(n.error(), "domain"), where);
      if (directory::get_domain(*txn, *n)) continue;  // already here: kept as it is
      auto plan = plan_add_domain(*n);
      if (plan.refused) return at(*plan.refused, where);
      domains.emplace_back(where, std::move(plan));
    }
  }
  for (std::size_t i = 0; i < data.users.size(); ++i) {
    const auto& u = data.users[i];
    auto where = "users[" + std::to_string(i) + "]";
    auto a = new_address(u.address, "address");
    if (!a) return at(a.error(), where);
    if (u.name.size() > 200) return at(Error(ErrorKind::invalid, "a name is at most 200 bytes", "name"), where);
    std::string hash;
    if (!u.password_hash.empty() && !u.password.empty())
      return at(Error(ErrorKind::invalid, "give password or password_hash, not both", "password_hash"), where);
    if (!u.password_hash.empty()) {
      // Only argon2id (docs/security.md); libsodium's string form carries its parameters.
      if (!u.password_hash.starts_with("$argon2id$"))
        return at(Error(ErrorKind::invalid, "password_hash must be an argon2id hash ($argon2id$...)", "password_hash"),
                  where);
      hash = u.password_hash;
    } else {
      if (auto p = auth::password_problem(u.password)) return at(Error(ErrorKind::invalid, *p, "password"), where);
      auto h = auth::hash_password(u.password);
      if (!h) return at(about(h.error(), "password"), where);
      hash = *h;
    }
    users.emplace_back(where, directory::NewUser{*a, hash, u.name, u.quota});
  }
  for (std::size_t i = 0; i < data.aliases.size(); ++i) {
    auto where = "aliases[" + std::to_string(i) + "]";
    auto plan = plan_add_alias(data.aliases[i].first, data.aliases[i].second);
    if (plan.refused) return at(*plan.refused, where);
    aliases.emplace_back(where, std::move(plan));
  }
  return Change<ImportCounts>([domains = std::move(domains), users = std::move(users),
                               aliases = std::move(aliases)](store::WriteTxn& t) -> Result<ImportCounts> {
    ImportCounts n;
    for (const auto& [where, plan] : domains) {
      if (auto r = plan.apply(t); !r) return at(r.error(), where);
      ++n.domains;
    }
    for (const auto& [where, nu] : users) {
      if (auto r = directory::add_user(t, nu); !r) return at(about(r.error(), "address"), where);
      ++n.users;
    }
    for (const auto& [where, plan] : aliases) {
      if (auto r = plan.apply(t); !r) return at(r.error(), where);
      ++n.aliases;
    }
    return n;
  });
}

}  // namespace mailstead::admin
