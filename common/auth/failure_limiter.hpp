// Failed-login limits shared by smtpd, imapd and sieved. Policy (docs/security.md):
//  - per client IP: after `max_per_ip` failures inside `window`, that IP may not try
//    again until its oldest failure leaves the window (the attacker's IP is shut out);
//  - per account: after `max_per_account` failures inside `window` from anywhere, each
//    further attempt for that account is slowed down by `account_delay`, never refused,
//    so an attacker elsewhere cannot lock the real user out;
//  - a success clears the IP's failures.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <unordered_map>

namespace mailstead::auth {

struct FailureLimits {
  std::uint32_t max_per_ip = 10;
  std::uint32_t max_per_account = 20;
  std::chrono::milliseconds window{std::chrono::minutes(15)};
  std::chrono::milliseconds account_delay{std::chrono::seconds(2)};
};

class FailureLimiter {
 public:
  using Clock = std::chrono::steady_clock;
  explicit FailureLimiter(FailureLimits limits) : limits_(limits) {}

  // May this IP try to log in now?
  bool ip_allowed(const std::string& ip, Clock::time_point now = Clock::now());
  // How long to wait before checking a password for this account (0 when not throttled).
  std::chrono::milliseconds account_delay(const std::string& account, Clock::time_point now = Clock::now());
  void failed(const std::string& ip, const std::string& account, Clock::time_point now = Clock::now());
  void succeeded(const std::string& ip);

 private:
  void prune(std::deque<Clock::time_point>& q, Clock::time_point now) const;
  FailureLimits limits_;
  std::mutex mu_;
  std::unordered_map<std::string, std::deque<Clock::time_point>> by_ip_, by_account_;
};

}  // namespace mailstead::auth
