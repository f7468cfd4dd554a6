// argon2id hashing and the verified-password cache.
#include "auth/password.hpp"

#include <algorithm>

#include <sodium.h>

#include "util/bytes.hpp"

namespace mailstead::auth {

namespace {
bool init_sodium() {
  static const bool ok = sodium_init() >= 0;
  return ok;
}
}  // namespace

std::optional<std::string> password_problem(std::string_view password) {
  if (password.empty()) return "the password is empty";
  if (password.size() > 1024) return "the password is longer than 1024 bytes";
  if (password.find('\0') != std::string_view::npos) return "the password contains a NUL byte";
  return std::nullopt;
}

Result<std::string> hash_password(std::string_view password, HashCost cost) {
  if (!init_sodium()) return internal("libsodium failed to initialise");
  if (auto p = password_problem(password)) return invalid(*p);
  char out[crypto_pwhash_STRBYTES];
  auto ops = cost.opslimit ? cost.opslimit : crypto_pwhash_OPSLIMIT_INTERACTIVE;
  auto mem = cost.memlimit ? cost.memlimit : crypto_pwhash_MEMLIMIT_INTERACTIVE;
  if (crypto_pwhash_str_alg(out, password.data(), password.size(), ops, mem, crypto_pwhash_ALG_ARGON2ID13) != 0)
    return internal("out of memory while hashing the password");
  return std::string(out);
}

bool verify_password(std::string_view hash, std::string_view password) {
  if (!init_sodium()) return false;
  if (hash.rfind("$argon2id$", 0) != 0) return false;  // nothing but argon2id is accepted
  std::string h(hash);
  return crypto_pwhash_str_verify(h.c_str(), password.data(), password.size()) == 0;
}

VerifiedCache::VerifiedCache(std::chrono::milliseconds ttl, std::size_t max_entries)
    : ttl_(ttl), max_entries_(max_entries), secret_(crypto_generichash_KEYBYTES, '\0') {
  init_sodium();
  randombytes_buf(secret_.data(), secret_.size());
}

std::string VerifiedCache::key(std::uint64_t user_id, std::string_view stored_hash, std::string_view password) const {
  crypto_generichash_state st;
  crypto_generichash_init(&st, reinterpret_cast<const unsigned char*>(secret_.data()), secret_.size(), 32);
  auto id = key_u64(user_id);
  auto feed = [&](std::string_view s) {
    auto len = key_u64(s.size());
    crypto_generichash_update(&st, reinterpret_cast<const unsigned char*>(len.data()), len.size());
    crypto_generichash_update(&st, reinterpret_cast<const unsigned char*>(s.data()), s.size());
  };
  feed(id);
  feed(stored_hash);
  feed(password);
  std::string out(32, '\0');
  crypto_generichash_final(&st, reinterpret_cast<unsigned char*>(out.data()), out.size());
  return out;
}

bool VerifiedCache::check(std::uint64_t user_id, std::string_view stored_hash, std::string_view password) {
  if (max_entries_ == 0 || ttl_.count() == 0) return false;
  auto k = key(user_id, stored_hash, password);
  std::lock_guard lock(mu_);
  auto it = entries_.find(k);
  if (it == entries_.end()) return false;
  if (std::chrono::steady_clock::now() >= it->second) {
    entries_.erase(it);
    return false;
  }
  return true;
}

void VerifiedCache::remember(std::uint64_t user_id, std::string_view stored_hash, std::string_view password) {
  if (max_entries_ == 0 || ttl_.count() == 0) return;
  auto k = key(user_id, stored_hash, password);
  auto now = std::chrono::steady_clock::now();
  std::lock_guard lock(mu_);
  if (entries_.size() >= max_entries_ && !entries_.contains(k)) {
    std::erase_if(entries_, [&](const auto& e) { return e.second <= now; });
    // Still full: the oldest goes (all entries live equally long), not everyone's.
    if (entries_.size() >= max_entries_)
      entries_.erase(std::min_element(entries_.begin(), entries_.end(),
                                      [](const auto& a, const auto& b) { return a.second < b.second; }));
  }
  entries_[k] = now + ttl_;
}

std::size_t VerifiedCache::size() const {
  std::lock_guard lock(mu_);
  return entries_.size();
}

}  // namespace mailstead::auth
