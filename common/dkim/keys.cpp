// DKIM keys: generation with OpenSSL 3, the dkim_keys table, rotation (see keys.hpp).
#include "dkim/keys.hpp"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <algorithm>
#include <cctype>
#include <ctime>
#include <memory>

#include "directory/address.hpp"
#include "directory/directory.hpp"
#include "store/store.hpp"
#include "util/base64.hpp"
#include "util/bytes.hpp"

namespace mailstead::dkim {

namespace {

constexpr std::uint8_t record_format = 1;

std::string table_key(std::string_view domain, std::string_view selector) {
  std::string k(domain);
  k.push_back('\0');
  k.append(selector);
  return k;
}

std::string encode(const KeyRecord& r) {
  return Encoder()
      .u8(record_format)
      .str(r.domain)
      .str(r.selector)
      .u8(static_cast<std::uint8_t>(r.algorithm))
      .str(r.private_key)
      .str(r.public_key)
      .i64(r.created)
      .u8(static_cast<std::uint8_t>(r.state))
      .i64(r.retire_at)
      .take();
}

std::optional<KeyRecord> decode(std::string_view v) {
  Decoder d(v);
  if (d.u8() != record_format) return std::nullopt;
  KeyRecord r;
  r.domain = d.str();
  r.selector = d.str();
  auto alg = d.u8();
  r.private_key = d.str();
  r.public_key = d.str();
  r.created = d.i64();
  auto state = d.u8();
  r.retire_at = d.i64();
  if (!d.ok() || !d.at_end() || (alg != 1 && alg != 2) || state > 1) return std::nullopt;
  r.algorithm = static_cast<Algorithm>(alg);
  r.state = static_cast<KeyState>(state);
  return r;
}

// Every stored record of the domain, expired or not, in selector order.
std::vector<KeyRecord> all_keys(store::ReadTxn& txn, std::string_view domain) {
  std::vector<KeyRecord> out;
  auto prefix = table_key(domain, "");
  auto c = txn.cursor(store::Table::dkim_keys);
  for (bool ok = c->seek(prefix); ok && c->key().starts_with(prefix); ok = c->next())
    if (auto r = decode(c->value())) out.push_back(std::move(*r));
  return out;
}

bool expired(const KeyRecord& r, std::int64_t now) { return r.state == KeyState::retired && r.retire_at <= now; }

void purge_expired(store::WriteTxn& txn, std::string_view domain, std::int64_t now) {
  for (const auto& r : all_keys(txn, domain))
    if (expired(r, now)) txn.del(store::Table::dkim_keys, table_key(r.domain, r.selector));
}

Result<std::string> existing_domain(store::ReadTxn& txn, std::string_view domain) {
  auto d = directory::normalize_domain(domain);
  if (!d) return d.error();
  if (!directory::get_domain(txn, *d)) return not_found("no domain " + *d);
  return *d;
}

std::string yyyymmdd(std::int64_t now) {
  std::time_t t = static_cast<std::time_t>(now);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[16];
  std::strftime(buf, sizeof buf, "%Y%m%d", &tm);
  return buf;
}

std::string default_selector(store::ReadTxn& txn, std::string_view domain, Algorithm a, std::int64_t now) {
  auto taken = [&](const std::string& s) { return txn.get(store::Table::dkim_keys, table_key(domain, s)).has_value(); };
  std::string base = a == Algorithm::rsa ? "mail" : "ed25519";
  if (!taken(base)) return base;
  base += "-" + yyyymmdd(now);
  if (!taken(base)) return base;
  for (int n = 2;; ++n)
    if (auto s = base + "-" + std::to_string(n); !taken(s)) return s;
}

Error store_error(std::error_code ec) { return internal("store: " + ec.message()); }

struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};

}  // namespace

const char* state_name(KeyState s) { return s == KeyState::active ? "active" : "retired"; }

std::string KeyRecord::txt() const {
  return std::string("v=DKIM1; k=") + algorithm_name(algorithm) + "; p=" + public_key;
}

Result<NewKey> generate(Algorithm a) {
  std::unique_ptr<EVP_PKEY, PkeyFree> pkey(
      a == Algorithm::rsa ? EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<std::size_t>(2048))
                          : EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
  if (!pkey) return internal(std::string("OpenSSL could not generate an ") + algorithm_name(a) + " key");
  NewKey k;
  k.algorithm = a;
  std::unique_ptr<BIO, BioFree> mem(BIO_new(BIO_s_mem()));
  if (!mem || PEM_write_bio_PrivateKey(mem.get(), pkey.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1)
    return internal("OpenSSL could not write the private key");
  char* data = nullptr;
  long n = BIO_get_mem_data(mem.get(), &data);
  k.private_key.assign(data, static_cast<std::size_t>(n));
  OPENSSL_cleanse(data, static_cast<std::size_t>(n));

  std::string pub;
  if (a == Algorithm::rsa) {
    // RFC 6376 3.6.1: p= is the base64 of the DER SubjectPublicKeyInfo.
    int len = i2d_PUBKEY(pkey.get(), nullptr);
    if (len <= 0) return internal("OpenSSL could not encode the public key");
    pub.resize(static_cast<std::size_t>(len));
    auto* p = reinterpret_cast<unsigned char*>(pub.data());
    i2d_PUBKEY(pkey.get(), &p);
  } else {
    // RFC 8463 4.2: p= is the base64 of the raw 32-byte Ed25519 public key.
    std::size_t len = 32;
    pub.resize(len);
    if (EVP_PKEY_get_raw_public_key(pkey.get(), reinterpret_cast<unsigned char*>(pub.data()), &len) != 1 || len != 32)
      return internal("OpenSSL could not read the Ed25519 public key");
  }
  k.public_key = base64_encode(pub);
  return k;
}

Result<std::string> normalize_selector(std::string_view s) {
  if (s.empty()) return invalid("the selector is empty");
  if (s.size() > 253) return invalid("the selector is longer than 253 characters");
  std::string out;
  std::size_t label = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '.') {
      if (label == 0 || out.back() == '-') return invalid("selector '" + std::string(s) + "': bad label");
      label = 0;
    } else if (std::isalnum(static_cast<unsigned char>(c)) || c == '-') {
      if (label == 0 && c == '-') return invalid("selector '" + std::string(s) + "': a label starts with '-'");
      if (++label > 63) return invalid("selector '" + std::string(s) + "': a label is longer than 63 characters");
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    } else {
      return invalid("selector '" + std::string(s) + "': only letters, digits, '-' and '.' are allowed");
    }
    out.push_back(c);
  }
  if (label == 0 || out.back() == '-') return invalid("selector '" + std::string(s) + "': bad label");
  return out;
}

std::vector<KeyRecord> list_keys(store::ReadTxn& txn, std::string_view domain, std::int64_t now) {
  auto d = directory::normalize_domain(domain);
  if (!d) return {};
  auto all = all_keys(txn, *d);
  std::erase_if(all, [&](const KeyRecord& r) { return expired(r, now); });
  return all;
}

std::vector<Algorithm> active_algorithms(store::ReadTxn& txn, std::string_view domain) {
  std::vector<Algorithm> out;
  auto d = directory::normalize_domain(domain);
  if (!d) return out;
  for (const auto& r : all_keys(txn, *d))
    if (r.state == KeyState::active && std::find(out.begin(), out.end(), r.algorithm) == out.end())
      out.push_back(r.algorithm);
  std::sort(out.begin(), out.end());
  return out;
}

Result<KeyRecord> add_key(store::WriteTxn& txn, std::string_view domain, std::string_view selector,
                          const NewKey& key, std::int64_t now) {
  auto d = existing_domain(txn, domain);
  if (!d) return d.error();
  purge_expired(txn, *d, now);
  for (const auto& r : all_keys(txn, *d))
    if (r.state == KeyState::active && r.algorithm == key.algorithm)
      return conflict(*d + " already has an active " + algorithm_name(key.algorithm) + " key (selector " +
                      r.selector + "); `mailstead dkim rotate " + *d + "` replaces it");
  KeyRecord r;
  r.domain = *d;
  if (selector.empty()) {
    r.selector = default_selector(txn, *d, key.algorithm, now);
  } else {
    auto s = normalize_selector(selector);
    if (!s) return s.error();
    r.selector = *s;
    if (txn.get(store::Table::dkim_keys, table_key(*d, r.selector)))
      return conflict("selector " + r.selector + " is already used by a key of " + *d);
  }
  r.algorithm = key.algorithm;
  r.private_key = key.private_key;
  r.public_key = key.public_key;
  r.created = now;
  if (auto ec = txn.put(store::Table::dkim_keys, table_key(r.domain, r.selector), encode(r))) return store_error(ec);
  return r;
}

Result<std::vector<KeyRecord>> rotate(store::WriteTxn& txn, std::string_view domain,
                                      const std::vector<NewKey>& fresh, std::int64_t now, std::int64_t grace) {
  auto d = existing_domain(txn, domain);
  if (!d) return d.error();
  purge_expired(txn, *d, now);
  std::vector<KeyRecord> old;
  for (auto& r : all_keys(txn, *d))
    if (r.state == KeyState::active) old.push_back(std::move(r));
  if (old.empty())
    return not_found(*d + " has no active DKIM key to rotate; `mailstead dkim generate " + *d + "` makes one");
  std::vector<KeyRecord> made;
  for (auto& o : old) {
    auto nk = std::find_if(fresh.begin(), fresh.end(), [&](const NewKey& k) { return k.algorithm == o.algorithm; });
    if (nk == fresh.end()) return internal(std::string("no new ") + algorithm_name(o.algorithm) + " key was made");
    o.state = KeyState::retired;
    o.retire_at = now + grace;
    if (auto ec = txn.put(store::Table::dkim_keys, table_key(o.domain, o.selector), encode(o))) return store_error(ec);
  }
  for (const auto& o : old) {
    auto nk = std::find_if(fresh.begin(), fresh.end(), [&](const NewKey& k) { return k.algorithm == o.algorithm; });
    auto r = add_key(txn, *d, "", *nk, now);
    if (!r) return r.error();
    made.push_back(std::move(*r));
  }
  return made;
}

void remove_keys(store::WriteTxn& txn, std::string_view domain) {
  auto d = directory::normalize_domain(domain);
  if (!d) return;
  for (const auto& r : all_keys(txn, *d)) txn.del(store::Table::dkim_keys, table_key(r.domain, r.selector));
}

std::vector<Key> signing_keys(store::ReadTxn& txn, std::string_view domain) {
  std::vector<Key> out;
  auto d = directory::normalize_domain(domain);
  if (!d) return out;
  for (auto& r : all_keys(txn, *d))
    if (r.state == KeyState::active) out.push_back({r.domain, r.selector, r.algorithm, std::move(r.private_key)});
  std::stable_sort(out.begin(), out.end(), [](const Key& a, const Key& b) { return a.algorithm < b.algorithm; });
  return out;
}

}  // namespace mailstead::dkim
