// Failed-login limits, one budget shared by smtpd, imapd and sieved (docs/security.md):
//  - per client address: after `max_per_ip` failures inside `window`, the address is refused
//    until its oldest failure leaves the window (an unknown guesser is shut out) ...
//  - ... except for an account that logged in from that address within `trusted_ttl`: the
//    real user is never locked out by someone else's failures behind the same address;
//  - per account: after `max_per_account` failures inside `window` from anywhere, each
//    further attempt waits `account_delay` before the check; never refused;
//  - an attempt is counted (a slot reserved) before its password is checked, so parallel
//    attempts cannot overrun the budget; a success forgives only that account's failures
//    at that address, so an account the guesser owns launders nothing.
// The records live in a LimitTable (the store, or Redis), so every process sees them.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "auth/limit_table.hpp"

namespace mailstead::auth {

struct FailureLimits {
  std::uint32_t max_per_ip = 10;
  std::uint32_t max_per_account = 20;
  std::chrono::milliseconds window{std::chrono::minutes(15)};
  std::chrono::milliseconds account_delay{std::chrono::seconds(2)};
  std::chrono::milliseconds trusted_ttl{std::chrono::hours(30 * 24)};  // 0: nobody passes the per-address refusal
  std::uint32_t trusted_entries = 100000;                              // (account, address) pairs remembered
  std::uint32_t failure_entries = 100000;                              // addresses, and accounts, counted
};

// The table's bounds for these limits.
LimitBounds bounds_of(const FailureLimits& limits);

// The address a client's failures count against: an IPv4 address as it is (also when mapped
// into IPv6), an IPv6 address by its /64 (one subscriber's prefix, which it can hop within).
std::string address_key(std::string_view ip);

// The account a login name counts against: normalised as routing does it (local part in
// lower case, the domain in lower-case A-labels), so `Bob@Bücher.example` and
// `bob@xn--bcher-kva.example` share one count. A name that is no address is lower-cased.
std::string account_key(std::string_view login_name);

struct Attempt {
  std::string address;  // address_key(peer)
  std::string account;  // account_key(login name)
  static Attempt of(std::string_view peer_ip, std::string_view login_name) {
    return {address_key(peer_ip), account_key(login_name)};
  }
};

struct Decision {
  bool allowed = true;
  bool trusted = false;                   // the account logged in from this address recently
  std::chrono::milliseconds delay{0};     // the per-account slow-down, before the check
  std::chrono::milliseconds retry_after{0};  // when refused: until the oldest failure leaves the window
  std::uint32_t address_failures = 0;     // counted against the address (untrusted accounts only)
  std::uint32_t account_failures = 0;
  bool counted = true;                    // false: the table could not be written (see reserve)
};

class FailureLimiter {
 public:
  FailureLimiter(FailureLimits limits, std::unique_ptr<LimitTable> table, NowFn now = wall_clock_ms);

  // What the limits say now, from a read (cheap; nothing is written).
  void check(const Attempt& a, std::function<void(Decision)> done);
  // Counts the attempt as a failure, atomically with every other process, unless the
  // address's budget is used up (then `allowed` is false and nothing is counted). Call it
  // before checking the password; succeeded() takes the count back. Should the table fail,
  // the answer is the read's and `counted` is false: a broken disk does not stop logins.
  void reserve(const Attempt& a, std::function<void(Decision)> done);
  // The password was right: this account's failures at this address are forgiven (the
  // address's failures for other accounts stay) and the account is trusted there.
  void succeeded(const Attempt& a, std::function<void()> done = {});

  const FailureLimits& limits() const { return limits_; }

 private:
  struct Keys;
  Keys keys_of(const Attempt& a) const;

  FailureLimits limits_;
  std::unique_ptr<LimitTable> table_;
  NowFn now_;
};

}  // namespace mailstead::auth
