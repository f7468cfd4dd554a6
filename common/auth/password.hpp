// Passwords: argon2id hashes only (libsodium crypto_pwhash_str), and a cache of recent
// successful verifications so that webmail, which logs in on every HTTP request, does not
// pay argon2id each time. A changed password changes the stored hash, and with it every
// cache key, so an old password stops working at once.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "util/error.hpp"

namespace mailstead::auth {

struct HashCost {
  std::uint64_t opslimit = 0;  // 0: libsodium's "interactive" defaults (argon2id, 64 MiB, 2 passes)
  std::size_t memlimit = 0;
};

Result<std::string> hash_password(std::string_view password, HashCost cost = {});
bool verify_password(std::string_view hash, std::string_view password);
// Passwords are 1 to 1024 bytes without NUL (SASL PLAIN cannot carry NUL).
std::optional<std::string> password_problem(std::string_view password);

class VerifiedCache {
 public:
  VerifiedCache(std::chrono::milliseconds ttl, std::size_t max_entries);
  // True when this user logged in with this password against this stored hash within the TTL.
  bool check(std::uint64_t user_id, std::string_view stored_hash, std::string_view password);
  void remember(std::uint64_t user_id, std::string_view stored_hash, std::string_view password);
  std::size_t size() const;

 private:
  std::string key(std::uint64_t user_id, std::string_view stored_hash, std::string_view password) const;
  std::chrono::milliseconds ttl_;
  std::size_t max_entries_;
  std::string secret_;  // random per process: cache keys mean nothing outside it
  mutable std::mutex mu_;
  std::unordered_map<std::string, std::chrono::steady_clock::time_point> entries_;
};

}  // namespace mailstead::auth
