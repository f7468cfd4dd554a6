// Mailbox change notices between processes (DESIGN principle 6). The embedded default needs
// none: readers watch the store's commit counter (Store::generation). With a [redis] url,
// writers also PUBLISH the changed mailbox's ID and readers SUBSCRIBE, which wakes IDLE at
// once and reaches other hosts. Redis being down only costs that speed: nothing waits on it.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

struct redisContext;  // hiredis

namespace mailstead::notify {

inline constexpr std::string_view kChannel = "mailstead:mailbox";

// "redis://host[:port]" or "unix:/path"; false with `why` otherwise.
bool valid_redis_url(std::string_view url, std::string& why);

// A connection to the Redis at `url` whose connect and every command time out after
// `timeout`; null when unreachable. The caller frees it with redisFree.
redisContext* connect_redis(const std::string& url, std::chrono::milliseconds timeout);

class Publisher {
 public:
  // Empty url: publishing does nothing.
  explicit Publisher(const std::string& redis_url);
  ~Publisher();
  Publisher(const Publisher&) = delete;
  Publisher& operator=(const Publisher&) = delete;
  // Never blocks: queued for a background thread, dropped if Redis is unreachable.
  void changed(std::uint64_t mailbox_id);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

class Subscriber {
 public:
  // Calls `on_change` (on its own thread) for every published mailbox ID; reconnects
  // after failures. Empty url: does nothing.
  Subscriber(const std::string& redis_url, std::function<void(std::uint64_t)> on_change);
  ~Subscriber();
  Subscriber(const Subscriber&) = delete;
  Subscriber& operator=(const Subscriber&) = delete;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace mailstead::notify
