// Password login (see login.hpp).
#include "auth/login.hpp"

#include "auth/app_passwords.hpp"
#include "auth/password.hpp"
#include "directory/address.hpp"
#include "directory/directory.hpp"
#include "store/store.hpp"

namespace mailstead::auth {

LoginResult login(store::Store& store, VerifiedCache& cache, std::string_view address, std::string_view password) {
  LoginResult r;
  std::optional<directory::UserRecord> user;
  std::optional<AppPasswordRecord> app;
  {
    auto n = directory::normalize_admin_address(address, "");
    if (!n) return r;
    auto txn = store.read();  // short: released before the slow hash
    user = directory::find_user(*txn, n->address());
    if (auto id = app_password_id(password); user && !id.empty()) app = get_app_password(*txn, user->id, id);
  }
  if (!user) {
    // Spend about the same time as a real check, so a missing user is not visible
    // from the response time.
    static const std::string dummy = hash_password("not a real password").value();
    verify_password(dummy, password);
    return r;
  }
  r.user_id = user->id;
  r.address = user->address;
  bool app_cached = app && cache.check(user->id, app->hash, password);
  if (app && (app_cached || verify_password(app->hash, password))) {
    if (!app_cached) cache.remember(user->id, app->hash, password);
    r.from_cache = app_cached;
    r.app_password = app->name;
  } else if (cache.check(user->id, user->password_hash, password)) {
    r.from_cache = true;
  } else if (verify_password(user->password_hash, password)) {
    cache.remember(user->id, user->password_hash, password);
  } else {
    return r;
  }
  r.status = user->enabled ? LoginStatus::ok : LoginStatus::disabled;
  return r;
}

std::optional<LoginResult> login_from_cache(store::Store& store, VerifiedCache& cache, std::string_view address,
                                            std::string_view password) {
  auto n = directory::normalize_admin_address(address, "");
  if (!n) return std::nullopt;
  std::optional<directory::UserRecord> user;
  {
    auto txn = store.read();
    user = directory::find_user(*txn, n->address());
  }
  if (!user || !user->enabled || !cache.check(user->id, user->password_hash, password)) return std::nullopt;
  LoginResult r;
  r.status = LoginStatus::ok;
  r.user_id = user->id;
  r.address = user->address;
  r.from_cache = true;
  return r;
}

}  // namespace mailstead::auth
