// Failed-login limits (see failure_limiter.hpp).
#include "auth/failure_limiter.hpp"

namespace mailstead::auth {

void FailureLimiter::prune(std::deque<Clock::time_point>& q, Clock::time_point now) const {
  while (!q.empty() && now - q.front() >= limits_.window) q.pop_front();
}

bool FailureLimiter::ip_allowed(const std::string& ip, Clock::time_point now) {
  std::lock_guard lock(mu_);
  auto it = by_ip_.find(ip);
  if (it == by_ip_.end()) return true;
  prune(it->second, now);
  if (it->second.empty()) {
    by_ip_.erase(it);
    return true;
  }
  return it->second.size() < limits_.max_per_ip;
}

std::chrono::milliseconds FailureLimiter::account_delay(const std::string& account, Clock::time_point now) {
  std::lock_guard lock(mu_);
  auto it = by_account_.find(account);
  if (it == by_account_.end()) return std::chrono::milliseconds(0);
  prune(it->second, now);
  if (it->second.empty()) {
    by_account_.erase(it);
    return std::chrono::milliseconds(0);
  }
  return it->second.size() >= limits_.max_per_account ? limits_.account_delay : std::chrono::milliseconds(0);
}

void FailureLimiter::failed(const std::string& ip, const std::string& account, Clock::time_point now) {
  std::lock_guard lock(mu_);
  // Bounded memory: a flood of distinct IPs or names cannot grow the maps without end.
  if (by_ip_.size() > 100000) by_ip_.clear();
  if (by_account_.size() > 100000) by_account_.clear();
  auto& q = by_ip_[ip];
  prune(q, now);
  q.push_back(now);
  if (!account.empty()) {
    auto& a = by_account_[account];
    prune(a, now);
    a.push_back(now);
  }
}

void FailureLimiter::succeeded(const std::string& ip) {
  std::lock_guard lock(mu_);
  by_ip_.erase(ip);
}

}  // namespace mailstead::auth
