// SRS0/SRS1 addresses (see srs.hpp): HMAC-SHA1 with OpenSSL, the key from the secrets file
// or the store.
#include "srs/srs.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sodium.h>

#include <cctype>

#include "config/core_settings.hpp"
#include "store/store.hpp"
#include "util/base64.hpp"

namespace mailstead::srs {

namespace {

constexpr std::string_view base32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
constexpr std::int64_t day = 86400;
constexpr std::int64_t slots = 1024;  // two base32 characters
constexpr std::size_t hash_length = 4;
constexpr std::string_view key_name = "srs_secret";

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
  return true;
}

bool separator(char c) { return c == '=' || c == '+' || c == '-'; }

// "SRS0" or "SRS1" (any case) and a separator.
bool tagged(std::string_view local, char digit) {
  return local.size() > 5 && iequals(local.substr(0, 3), "SRS") && local[3] == digit && separator(local[4]);
}

// The first 4 base64 characters of HMAC-SHA1(key, the fields lower-cased and joined).
std::string hash(std::string_view key, std::initializer_list<std::string_view> fields) {
  std::string data;
  for (auto f : fields)
    for (char c : f) data.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha1(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(data.data()),
       data.size(), md, &len);
  return base64_encode(std::string_view(reinterpret_cast<const char*>(md), 3)).substr(0, hash_length);
}

bool hash_ok(std::string_view given, std::string_view key, std::initializer_list<std::string_view> fields) {
  if (given.size() < hash_length) return false;
  return iequals(given.substr(0, hash_length), hash(key, fields));
}

std::string stamp(std::int64_t now) {
  auto d = (now / day) % slots;
  return {base32[static_cast<std::size_t>((d >> 5) & 31)], base32[static_cast<std::size_t>(d & 31)]};
}

bool stamp_ok(std::string_view s, std::int64_t now, std::uint32_t max_age_days) {
  if (s.size() != 2) return false;
  std::int64_t then = 0;
  for (char c : s) {
    auto p = base32.find(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
    if (p == std::string_view::npos) return false;
    then = (then << 5) | static_cast<std::int64_t>(p);
  }
  std::int64_t today = (now / day) % slots;
  while (today < then) today += slots;
  return today <= then + max_age_days;
}

// Splits at the first '=' after `from`; false when there is none or either side is empty.
bool cut(std::string_view s, std::string_view& head, std::string_view& tail) {
  auto eq = s.find('=');
  if (eq == std::string_view::npos || eq == 0 || eq + 1 >= s.size()) return false;
  head = s.substr(0, eq);
  tail = s.substr(eq + 1);
  return true;
}

}  // namespace

bool is_srs(std::string_view local) { return tagged(local, '0') || tagged(local, '1'); }

std::string forward(std::string_view sender, std::string_view local_domain, std::string_view key, std::int64_t now) {
  auto at = sender.rfind('@');
  if (sender.empty() || at == std::string_view::npos || at == 0 || at + 1 == sender.size()) return std::string(sender);
  auto user = sender.substr(0, at);
  auto host = sender.substr(at + 1);
  if (iequals(host, local_domain)) return std::string(sender);
  std::string ours = "@" + std::string(local_domain);

  if (tagged(user, '1')) {
    // SRS1=HHHH=first.example==HHHH=TT=orig=user: keep the first forwarder, sign anew.
    std::string_view old_hash, rest, first, srs0;
    if (cut(user.substr(5), old_hash, rest) && cut(rest, first, srs0))
      return "SRS1=" + hash(key, {first, srs0}) + "=" + std::string(first) + "=" + std::string(srs0) + ours;
  } else if (tagged(user, '0')) {
    // The sender's domain forwarded it first: SRS1 points there, with its SRS0 part as is
    // (from the separator on, hence the "==").
    auto srs0 = user.substr(4);
    return "SRS1=" + hash(key, {host, srs0}) + "=" + std::string(host) + "=" + std::string(srs0) + ours;
  }
  auto ts = stamp(now);
  return "SRS0=" + hash(key, {ts, host, user}) + "=" + ts + "=" + std::string(host) + "=" + std::string(user) + ours;
}

std::optional<std::string> reverse(std::string_view address, std::string_view key, std::int64_t now,
                                   std::uint32_t max_age_days) {
  auto at = address.rfind('@');
  auto local = address.substr(0, at == std::string_view::npos ? address.size() : at);
  std::string_view h, rest, host, user;
  if (tagged(local, '0')) {
    std::string_view ts;
    if (!cut(local.substr(5), h, rest) || !cut(rest, ts, rest) || !cut(rest, host, user)) return std::nullopt;
    if (!stamp_ok(ts, now, max_age_days) || !hash_ok(h, key, {ts, host, user})) return std::nullopt;
    return std::string(user) + "@" + std::string(host);
  }
  if (tagged(local, '1')) {
    if (!cut(local.substr(5), h, rest) || !cut(rest, host, user)) return std::nullopt;
    if (!hash_ok(h, key, {host, user})) return std::nullopt;
    return "SRS0" + std::string(user) + "@" + std::string(host);
  }
  return std::nullopt;
}

Result<std::vector<std::string>> load_keys(store::Store& store, const config::CoreSettings& core) {
  if (!core.secrets.srs_secret.empty()) {
    std::vector<std::string> keys{core.secrets.srs_secret};
    if (!core.secrets.srs_old_secret.empty()) keys.push_back(core.secrets.srs_old_secret);
    return keys;
  }
  {
    auto txn = store.read();
    if (auto v = txn->get(store::Table::meta, key_name); v && !v->empty()) return std::vector<std::string>{std::string(*v)};
  }
  // None yet: make one. Two processes racing both write only if none is there, and both
  // read back the one that committed.
  unsigned char raw[32];
  randombytes_buf(raw, sizeof raw);
  std::string fresh = base64_encode(std::string_view(reinterpret_cast<const char*>(raw), sizeof raw));
  sodium_memzero(raw, sizeof raw);
  auto ec = store.commit_sync([&](store::WriteTxn& txn) -> std::error_code {
    if (auto v = txn.get(store::Table::meta, key_name); v && !v->empty()) return {};
    return txn.put(store::Table::meta, key_name, fresh);
  });
  if (ec) return internal("could not keep the SRS key in the store: " + ec.message());
  auto txn = store.read();
  auto v = txn->get(store::Table::meta, key_name);
  if (!v || v->empty()) return internal("the SRS key is missing from the store");
  return std::vector<std::string>{std::string(*v)};
}

}  // namespace mailstead::srs
