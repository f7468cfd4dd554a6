// Rate limits and stream posts for the chat gateway (docs/streams.md).
#include "stream_gateway.hpp"

#include <algorithm>


namespace mailstead::smtp {

bool StreamRateLimiter::allow(const std::string& domain, Clock::time_point now, std::chrono::milliseconds* retry_after) {
  if (limits_.empty()) return true;
  std::chrono::milliseconds longest{0};
  for (const auto& l : limits_) longest = std::max(longest, l.window);
  std::lock_guard lock(mutex_);
  auto& hits = hits_[domain];
  while (!hits.empty() && now - hits.front() >= longest) hits.pop_front();
  std::chrono::milliseconds wait{0};
  for (const auto& l : limits_) {
    // Hits inside this window: the newest ones (hits are in time order).
    std::size_t inside = 0;
    for (auto it = hits.rbegin(); it != hits.rend() && now - *it < l.window; ++it) ++inside;
    if (inside >= l.count) {
      auto oldest_inside = *(hits.end() - static_cast<std::ptrdiff_t>(l.count));
      wait = std::max(wait, std::chrono::duration_cast<std::chrono::milliseconds>(oldest_inside + l.window - now));
    }
  }
  if (wait.count() > 0) {
    if (retry_after) *retry_after = wait;
    return false;
  }
  hits.push_back(now);
  return true;
}

}  // namespace mailstead::smtp
