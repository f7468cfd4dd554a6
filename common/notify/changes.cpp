#include "notify/changes.hpp"

#include <hiredis/hiredis.h>
#include <sys/socket.h>

#include <charconv>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "log/log.hpp"

namespace mailstead::notify {

namespace {

struct Target {
  std::string host, path;
  int port = 6379;
};

bool parse(std::string_view url, Target& t, std::string& why) {
  if (url.starts_with("unix:")) {
    t.path = std::string(url.substr(5));
    if (t.path.empty() || t.path[0] != '/') {
      why = "unix: needs an absolute socket path";
      return false;
    }
    return true;
  }
  if (!url.starts_with("redis://")) {
    why = "expected redis://host[:port] or unix:/path";
    return false;
  }
  auto rest = url.substr(8);
  if (auto slash = rest.find('/'); slash != std::string_view::npos) rest = rest.substr(0, slash);
  auto colon = rest.rfind(':');
  if (colon != std::string_view::npos && rest.find(']') == std::string_view::npos) {
    auto p = rest.substr(colon + 1);
    auto [ptr, ec] = std::from_chars(p.data(), p.data() + p.size(), t.port);
    if (ec != std::errc() || ptr != p.data() + p.size() || t.port <= 0 || t.port > 65535) {
      why = "bad port";
      return false;
    }
    rest = rest.substr(0, colon);
  }
  if (rest.starts_with("[") && rest.ends_with("]")) rest = rest.substr(1, rest.size() - 2);
  if (rest.empty()) {
    why = "no host";
    return false;
  }
  t.host = std::string(rest);
  return true;
}

redisContext* connect(const Target& t) {
  timeval tv{1, 0};
  redisContext* c = t.path.empty() ? redisConnectWithTimeout(t.host.c_str(), t.port, tv)
                                   : redisConnectUnixWithTimeout(t.path.c_str(), tv);
  if (c && c->err) {
    redisFree(c);
    return nullptr;
  }
  return c;
}

}  // namespace

bool valid_redis_url(std::string_view url, std::string& why) {
  Target t;
  return parse(url, t, why);
}

redisContext* connect_redis(const std::string& url, std::chrono::milliseconds timeout) {
  Target t;
  std::string why;
  if (!parse(url, t, why)) return nullptr;
  timeval tv{static_cast<time_t>(timeout.count() / 1000), static_cast<suseconds_t>(timeout.count() % 1000 * 1000)};
  redisContext* c = t.path.empty() ? redisConnectWithTimeout(t.host.c_str(), t.port, tv)
                                   : redisConnectUnixWithTimeout(t.path.c_str(), tv);
  if (c && (c->err || redisSetTimeout(c, tv) != REDIS_OK)) {
    redisFree(c);
    return nullptr;
  }
  return c;
}

// ---- Publisher ----

struct Publisher::Impl {
  Target target;
  std::mutex mu;
  std::condition_variable cv;
  std::deque<std::uint64_t> queue;
  bool stop = false;
  std::thread thread;

  void run() {
    redisContext* c = nullptr;
    auto next_try = std::chrono::steady_clock::time_point{};
    std::unique_lock lock(mu);
    while (true) {
      cv.wait(lock, [&] { return stop || !queue.empty(); });
      if (stop) break;
      std::deque<std::uint64_t> batch;
      batch.swap(queue);
      lock.unlock();
      if (!c && std::chrono::steady_clock::now() >= next_try) {
        c = connect(target);
        if (!c) {
          log::warn("notify.redis.unreachable", {{"role", "publisher"}});
          next_try = std::chrono::steady_clock::now() + std::chrono::seconds(1);
        }
      }
      if (c) {
        for (auto id : batch) redisAppendCommand(c, "PUBLISH %s %llu", std::string(kChannel).c_str(),
                                                 static_cast<unsigned long long>(id));
        for (std::size_t i = 0; i < batch.size(); ++i) {
          void* reply = nullptr;
          if (redisGetReply(c, &reply) != REDIS_OK) {
            log::warn("notify.redis.failed", {{"role", "publisher"}});
            redisFree(c);
            c = nullptr;
            break;
          }
          freeReplyObject(reply);
        }
      }
      lock.lock();
    }
    if (c) redisFree(c);
  }
};

Publisher::Publisher(const std::string& redis_url) {
  if (redis_url.empty()) return;
  std::string why;
  auto impl = std::make_unique<Impl>();
  if (!parse(redis_url, impl->target, why)) return;  // config checks report it
  impl_ = std::move(impl);
  impl_->thread = std::thread([this] { impl_->run(); });
}

Publisher::~Publisher() {
  if (!impl_) return;
  {
    std::lock_guard lock(impl_->mu);
    impl_->stop = true;
  }
  impl_->cv.notify_all();
  impl_->thread.join();
}

void Publisher::changed(std::uint64_t mailbox_id) {
  if (!impl_) return;
  {
    std::lock_guard lock(impl_->mu);
    if (impl_->queue.size() >= 100000) return;  // Redis is far behind: the store is the truth
    impl_->queue.push_back(mailbox_id);
  }
  impl_->cv.notify_one();
}

// ---- Subscriber ----

struct Subscriber::Impl {
  Target target;
  std::function<void(std::uint64_t)> on_change;
  std::mutex mu;
  std::condition_variable cv;
  bool stop = false;
  int fd = -1;  // shut down to unblock the reader
  std::thread thread;

  void run() {
    bool warned = false;
    while (true) {
      {
        std::lock_guard lock(mu);
        if (stop) return;
      }
      redisContext* c = connect(target);
      if (c) {
        void* reply = redisCommand(c, "SUBSCRIBE %s", std::string(kChannel).c_str());
        if (reply) {
          freeReplyObject(reply);
          {
            std::lock_guard lock(mu);
            if (stop) {
              redisFree(c);
              return;
            }
            fd = c->fd;
          }
          if (warned) log::info("notify.redis.connected", {{"role", "subscriber"}});
          warned = false;
          read_loop(c);
          std::lock_guard lock(mu);
          fd = -1;
        }
        redisFree(c);
      }
      std::unique_lock lock(mu);
      if (stop) return;
      if (!warned) log::warn("notify.redis.unreachable", {{"role", "subscriber"}});
      warned = true;
      cv.wait_for(lock, std::chrono::seconds(1), [&] { return stop; });
    }
  }

  void read_loop(redisContext* c) {
    while (true) {
      void* raw = nullptr;
      if (redisGetReply(c, &raw) != REDIS_OK || !raw) return;
      auto* r = static_cast<redisReply*>(raw);
      // ["message", channel, payload]
      if (r->type == REDIS_REPLY_ARRAY && r->elements == 3 && r->element[2]->type == REDIS_REPLY_STRING) {
        std::uint64_t id = 0;
        auto* s = r->element[2]->str;
        auto [ptr, ec] = std::from_chars(s, s + r->element[2]->len, id);
        if (ec == std::errc() && ptr == s + r->element[2]->len) on_change(id);
      }
      freeReplyObject(raw);
    }
  }
};

Subscriber::Subscriber(const std::string& redis_url, std::function<void(std::uint64_t)> on_change) {
  if (redis_url.empty()) return;
  std::string why;
  auto impl = std::make_unique<Impl>();
  if (!parse(redis_url, impl->target, why)) return;
  impl->on_change = std::move(on_change);
  impl_ = std::move(impl);
  impl_->thread = std::thread([this] { impl_->run(); });
}

Subscriber::~Subscriber() {
  if (!impl_) return;
  {
    std::lock_guard lock(impl_->mu);
    impl_->stop = true;
    if (impl_->fd >= 0) ::shutdown(impl_->fd, SHUT_RDWR);
  }
  impl_->cv.notify_all();
  impl_->thread.join();
}

}  // namespace mailstead::notify
