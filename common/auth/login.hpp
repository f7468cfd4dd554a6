// Password login against the directory (shared by smtpd, imapd, sieved): the primary
// address only, enabled users only, argon2id outside any store transaction. A password in
// the app-password form is checked against that one app password (auth/app_passwords.hpp)
// before the account password.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace mailstead::store {
class Store;
}

namespace mailstead::auth {

class VerifiedCache;

enum class LoginStatus { ok, bad_credentials, disabled };

struct LoginResult {
  LoginStatus status = LoginStatus::bad_credentials;
  std::uint64_t user_id = 0;
  std::string address;
  bool from_cache = false;
  std::string app_password;  // the name of the app password used; "" for the account password
};

LoginResult login(store::Store& store, VerifiedCache& cache, std::string_view address, std::string_view password);

// The verified-password cache alone (no argon2id, cheap enough for a session thread): an
// enabled user whose password was verified within the cache's TTL gets `ok`; anything else
// (no entry, a wrong password, a disabled user) gets nullopt and needs login().
std::optional<LoginResult> login_from_cache(store::Store& store, VerifiedCache& cache, std::string_view address,
                                            std::string_view password);

}  // namespace mailstead::auth
