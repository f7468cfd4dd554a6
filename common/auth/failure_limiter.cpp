// Failed-login limits (see failure_limiter.hpp). Three records per attempt, each under a
// 16-byte BLAKE2b key (layouts in docs/storage.md):
//   address → the failures counted against it: (time, tag of the account) each;
//   account → its newest failures from anywhere: (time, tag of the address) each;
//   (account, address) → the time of the account's last success there.
// The tags let a success take back exactly that account's failures at that address.
#include "auth/failure_limiter.hpp"

#include <arpa/inet.h>
#include <sodium.h>

#include <algorithm>
#include <cstring>

#include "directory/address.hpp"
#include "util/bytes.hpp"

namespace mailstead::auth {

std::int64_t wall_clock_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

LimitBounds bounds_of(const FailureLimits& l) {
  LimitBounds b;
  b[static_cast<std::size_t>(LimitKind::address)] = {l.window, l.failure_entries};
  b[static_cast<std::size_t>(LimitKind::account)] = {l.window, l.failure_entries};
  b[static_cast<std::size_t>(LimitKind::trust)] = {l.trusted_ttl, l.trusted_entries};
  return b;
}

std::string address_key(std::string_view ip) {
  std::string s(ip);
  if (s.size() > 2 && s.front() == '[' && s.back() == ']') s = s.substr(1, s.size() - 2);
  char text[INET6_ADDRSTRLEN] = {};
  in_addr v4{};
  if (inet_pton(AF_INET, s.c_str(), &v4) == 1) return inet_ntop(AF_INET, &v4, text, sizeof text);
  if (auto zone = s.find('%'); zone != std::string::npos) s.resize(zone);
  in6_addr v6{};
  if (inet_pton(AF_INET6, s.c_str(), &v6) == 1) {
    if (IN6_IS_ADDR_V4MAPPED(&v6)) {
      std::memcpy(&v4, &v6.s6_addr[12], 4);
      return inet_ntop(AF_INET, &v4, text, sizeof text);
    }
    std::memset(&v6.s6_addr[8], 0, 8);
    return std::string(inet_ntop(AF_INET6, &v6, text, sizeof text)) + "/64";
  }
  return directory::lowercase_ascii(s);
}

std::string account_key(std::string_view login_name) {
  if (auto n = directory::normalize_admin_address(login_name, "")) return n->address();
  return directory::lowercase_ascii(login_name);
}

namespace {

constexpr std::uint8_t failures_format = 1;

struct Failure {
  std::int64_t at;
  std::uint64_t tag;  // the other side: the account's for an address, the address's for an account
};
using Failures = std::vector<Failure>;

std::string hash16(std::string_view domain, std::string_view a, std::string_view b = {}) {
  crypto_generichash_state st;
  crypto_generichash_init(&st, nullptr, 0, 16);
  for (auto part : {domain, a, b}) {
    std::string len;
    put_be64(len, part.size());
    crypto_generichash_update(&st, reinterpret_cast<const unsigned char*>(len.data()), len.size());
    crypto_generichash_update(&st, reinterpret_cast<const unsigned char*>(part.data()), part.size());
  }
  std::string out(16, '\0');
  crypto_generichash_final(&st, reinterpret_cast<unsigned char*>(out.data()), out.size());
  return out;
}

// Decodes and drops the failures that have left the window. A value this version cannot
// read counts as no failures (the records are short-lived).
Failures decode_failures(const std::optional<std::string>& v, std::int64_t now, std::int64_t window) {
  Failures out;
  if (!v) return out;
  Decoder d(*v);
  if (d.u8() != failures_format) return {};
  auto n = d.varint();
  if (n > v->size() / 16) return {};
  for (std::uint64_t i = 0; i < n; ++i) {
    Failure f{d.i64(), d.u64()};
    if (now - f.at < window) out.push_back(f);
  }
  if (!d.ok() || !d.at_end()) return {};
  std::sort(out.begin(), out.end(), [](const Failure& a, const Failure& b) { return a.at < b.at; });
  return out;
}

std::optional<std::string> encode_failures(const Failures& f) {
  if (f.empty()) return std::nullopt;
  Encoder e;
  e.u8(failures_format).varint(f.size());
  for (const auto& x : f) e.i64(x.at).u64(x.tag);
  return e.take();
}

std::optional<std::int64_t> decode_trust(const std::optional<std::string>& v) {
  if (!v || v->size() != 8) return std::nullopt;
  return static_cast<std::int64_t>(get_be64(*v));
}

std::string encode_trust(std::int64_t at) {
  std::string s;
  put_be64(s, static_cast<std::uint64_t>(at));
  return s;
}

struct State {
  Failures by_address, by_account;
  std::optional<std::int64_t> trusted_at;
};

enum : std::size_t { address_slot = 0, account_slot = 1, trust_slot = 2 };

State decode_state(const LimitValues& v, std::int64_t now, const FailureLimits& l) {
  return {decode_failures(v[address_slot], now, l.window.count()),
          decode_failures(v[account_slot], now, l.window.count()), decode_trust(v[trust_slot])};
}

Decision judge(const State& s, std::int64_t now, const FailureLimits& l) {
  Decision d;
  d.trusted = s.trusted_at && now - *s.trusted_at < l.trusted_ttl.count();
  d.address_failures = static_cast<std::uint32_t>(s.by_address.size());
  d.account_failures = static_cast<std::uint32_t>(s.by_account.size());
  d.allowed = d.trusted || s.by_address.size() < l.max_per_ip;
  if (!d.allowed)
    d.retry_after = std::chrono::milliseconds(std::max<std::int64_t>(s.by_address.front().at + l.window.count() - now, 0));
  if (s.by_account.size() >= l.max_per_account) d.delay = l.account_delay;
  return d;
}

bool trust_enabled(const FailureLimits& l) { return l.trusted_ttl.count() > 0 && l.trusted_entries > 0; }

// A trusted login is written again only when it is this old: a webmail logging in on every
// request does not write on every request.
std::int64_t trust_refresh(const FailureLimits& l) {
  return std::min<std::int64_t>(std::chrono::milliseconds(std::chrono::hours(1)).count(), l.trusted_ttl.count() / 10);
}

}  // namespace

struct FailureLimiter::Keys {
  std::vector<LimitKey> keys;  // address, account, trust: the slots above
  std::uint64_t address_tag = 0, account_tag = 0;
};

FailureLimiter::FailureLimiter(FailureLimits limits, std::unique_ptr<LimitTable> table, NowFn now)
    : limits_(limits), table_(std::move(table)), now_(std::move(now)) {}

FailureLimiter::Keys FailureLimiter::keys_of(const Attempt& a) const {
  Keys k;
  auto address = hash16("address", a.address), account = hash16("account", a.account);
  k.keys = {{LimitKind::address, address}, {LimitKind::account, account},
            {LimitKind::trust, hash16("trust", a.account, a.address)}};
  k.address_tag = get_be64(address);
  k.account_tag = get_be64(account);
  return k;
}

void FailureLimiter::check(const Attempt& a, std::function<void(Decision)> done) {
  table_->read(keys_of(a).keys, [this, done = std::move(done)](LimitValues v) {
    auto now = now_();
    done(judge(decode_state(v, now, limits_), now, limits_));
  });
}

void FailureLimiter::reserve(const Attempt& a, std::function<void(Decision)> done) {
  auto k = keys_of(a);
  auto result = std::make_shared<Decision>();
  auto now = now_();
  auto change = [this, address_tag = k.address_tag, account_tag = k.account_tag, result, now](LimitValues& v) {
    auto s = decode_state(v, now, limits_);
    *result = judge(s, now, limits_);
    if (!result->allowed) return false;
    // An account trusted here is not counted against the address: its failures are the
    // real user's typos or an attack on that one account, which the account's own count
    // slows down.
    if (!result->trusted) s.by_address.push_back({now, account_tag});
    s.by_account.push_back({now, address_tag});
    // Only whether the account reached its threshold matters: keep the newest that many.
    if (s.by_account.size() > limits_.max_per_account)
      s.by_account.erase(s.by_account.begin(), s.by_account.end() - limits_.max_per_account);
    v[address_slot] = encode_failures(s.by_address);
    v[account_slot] = encode_failures(s.by_account);
    result->address_failures = static_cast<std::uint32_t>(s.by_address.size());
    result->account_failures = static_cast<std::uint32_t>(s.by_account.size());
    return true;
  };
  table_->update(std::move(k.keys), std::move(change), [result, done = std::move(done)](bool written) {
    result->counted = written;
    done(*result);
  });
}

void FailureLimiter::succeeded(const Attempt& a, std::function<void()> done) {
  auto k = keys_of(a);
  auto now = now_();
  auto change = [this, address_tag = k.address_tag, account_tag = k.account_tag, now](LimitValues& v) {
    auto s = decode_state(v, now, limits_);
    bool changed = false;
    auto forgive = [&](Failures& f, std::uint64_t tag, std::size_t slot) {
      auto n = f.size();
      std::erase_if(f, [tag](const Failure& x) { return x.tag == tag; });
      if (f.size() == n) return;
      v[slot] = encode_failures(f);
      changed = true;
    };
    forgive(s.by_address, account_tag, address_slot);
    forgive(s.by_account, address_tag, account_slot);
    if (trust_enabled(limits_) && (!s.trusted_at || now - *s.trusted_at >= trust_refresh(limits_))) {
      v[trust_slot] = encode_trust(now);
      changed = true;
    }
    return changed;
  };
  table_->update(std::move(k.keys), std::move(change), [done = std::move(done)](bool) {
    if (done) done();
  });
}

}  // namespace mailstead::auth
