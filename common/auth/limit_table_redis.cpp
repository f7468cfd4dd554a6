// The limiter's table in Redis, shared by every process and host pointed at it. Keys:
//   mailstead:auth:<kind>:<hex id>  → the value, with PX = the kind's time to live
//   mailstead:auth:<kind>:index     → sorted set of ids by last write, to evict the oldest
// One connection on a thread of its own; an update is WATCH, MGET, MULTI, SET/DEL, EXEC,
// retried when another process wrote a watched key in between. While Redis cannot answer
// (down, slow beyond the timeout, an error), the fallback table (the store) does.
#include <hiredis/hiredis.h>

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "auth/limit_table.hpp"
#include "log/log.hpp"
#include "notify/changes.hpp"

namespace mailstead::auth {

namespace {

constexpr auto redis_timeout = std::chrono::seconds(1);
constexpr auto reconnect_after = std::chrono::seconds(1);
constexpr std::size_t max_queue = 10000;  // more waiting than this: Redis is too slow, use the fallback
constexpr int max_retries = 32;

const char* kind_name(LimitKind k) {
  switch (k) {
    case LimitKind::address: return "address";
    case LimitKind::account: return "account";
    case LimitKind::trust: return "trust";
  }
  return "?";
}

std::string hex(const std::string& id) {
  static const char digits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : id) {
    out.push_back(digits[c >> 4]);
    out.push_back(digits[c & 15]);
  }
  return out;
}

std::string redis_key(const LimitKey& k) { return std::string("mailstead:auth:") + kind_name(k.kind) + ":" + hex(k.id); }
std::string index_key(LimitKind kind) { return std::string("mailstead:auth:") + kind_name(kind) + ":index"; }

struct ReplyPtr {
  redisReply* r = nullptr;
  explicit ReplyPtr(void* p) : r(static_cast<redisReply*>(p)) {}
  ReplyPtr(const ReplyPtr&) = delete;
  ReplyPtr& operator=(const ReplyPtr&) = delete;
  ~ReplyPtr() {
    if (r) freeReplyObject(r);
  }
  bool ok() const { return r && r->type != REDIS_REPLY_ERROR; }
};

void append(redisContext* c, const std::vector<std::string>& args) {
  std::vector<const char*> argv;
  std::vector<std::size_t> lens;
  for (const auto& a : args) {
    argv.push_back(a.data());
    lens.push_back(a.size());
  }
  redisAppendCommandArgv(c, static_cast<int>(args.size()), argv.data(), lens.data());
}

ReplyPtr next_reply(redisContext* c) {
  void* r = nullptr;
  if (redisGetReply(c, &r) != REDIS_OK) return ReplyPtr(nullptr);
  return ReplyPtr(r);
}

ReplyPtr command(redisContext* c, const std::vector<std::string>& args) {
  append(c, args);
  return next_reply(c);
}

class RedisLimitTable final : public LimitTable {
 public:
  RedisLimitTable(std::string url, std::unique_ptr<LimitTable> fallback, LimitBounds bounds, NowFn now)
      : url_(std::move(url)), fallback_(std::move(fallback)), bounds_(bounds), now_(std::move(now)) {
    thread_ = std::thread([this] { run(); });
  }

  ~RedisLimitTable() override {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
    if (ctx_) redisFree(ctx_);
  }

  void read(std::vector<LimitKey> keys, std::function<void(LimitValues)> done) override {
    enqueue([this, keys = std::move(keys), done = std::move(done)](bool use_redis) mutable {
      if (use_redis)
        if (auto v = redis_read(keys)) return done(std::move(*v));
      fallback_->read(std::move(keys), std::move(done));
    });
  }

  void update(std::vector<LimitKey> keys, std::function<bool(LimitValues&)> change,
              std::function<void(bool)> done) override {
    enqueue([this, keys = std::move(keys), change = std::move(change), done = std::move(done)](bool use_redis) mutable {
      if (use_redis && redis_update(keys, change)) return done(true);
      fallback_->update(std::move(keys), std::move(change), std::move(done));
    });
  }

 private:
  using Job = std::function<void(bool use_redis)>;

  void enqueue(Job job) {
    {
      std::lock_guard lock(mu_);
      if (!stop_ && queue_.size() < max_queue) {
        queue_.push_back(std::move(job));
        cv_.notify_one();
        return;
      }
    }
    job(false);
  }

  void run() {
    std::unique_lock lock(mu_);
    for (;;) {
      cv_.wait(lock, [&] { return stop_ || !queue_.empty(); });
      if (queue_.empty()) return;
      auto job = std::move(queue_.front());
      queue_.pop_front();
      lock.unlock();
      job(connection() != nullptr);
      lock.lock();
    }
  }

  redisContext* connection() {
    if (ctx_) return ctx_;
    auto now = std::chrono::steady_clock::now();
    if (now < next_try_) return nullptr;
    ctx_ = notify::connect_redis(url_, redis_timeout);
    if (!ctx_) {
      broken("unreachable");
      return nullptr;
    }
    if (down_) log::info("auth.limits.redis_connected", {});
    down_ = false;
    return ctx_;
  }

  // The connection failed or answered with an error: start again later, meanwhile the
  // fallback answers.
  void broken(const char* why) {
    if (ctx_) redisFree(ctx_);
    ctx_ = nullptr;
    next_try_ = std::chrono::steady_clock::now() + reconnect_after;
    if (!down_) log::warn("auth.limits.redis_failed", {{"why", why}, {"using", "store"}});
    down_ = true;
  }

  std::optional<LimitValues> values_of(const redisReply* r, std::size_t n) {
    if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != n) return std::nullopt;
    LimitValues out;
    for (std::size_t i = 0; i < n; ++i) {
      auto* e = r->element[i];
      if (e->type == REDIS_REPLY_STRING) out.emplace_back(std::string(e->str, e->len));
      else if (e->type == REDIS_REPLY_NIL) out.emplace_back(std::nullopt);
      else return std::nullopt;
    }
    return out;
  }

  std::optional<LimitValues> redis_read(const std::vector<LimitKey>& keys) {
    std::vector<std::string> args{"MGET"};
    for (const auto& k : keys) args.push_back(redis_key(k));
    auto r = command(ctx_, args);
    auto v = values_of(r.r, keys.size());
    if (!v) broken(r.r ? "bad reply" : "connection");
    return v;
  }

  bool redis_update(const std::vector<LimitKey>& keys, const std::function<bool(LimitValues&)>& change) {
    std::vector<std::string> names;
    for (const auto& k : keys) names.push_back(redis_key(k));
    for (int attempt = 0; attempt < max_retries; ++attempt) {
      std::vector<std::string> watch{"WATCH"}, mget{"MGET"};
      watch.insert(watch.end(), names.begin(), names.end());
      mget.insert(mget.end(), names.begin(), names.end());
      append(ctx_, watch);
      append(ctx_, mget);
      auto w = next_reply(ctx_);
      auto m = next_reply(ctx_);
      auto before = values_of(m.r, keys.size());
      if (!w.ok() || !before) {
        broken(w.r && m.r ? "bad reply" : "connection");
        return false;
      }
      auto values = *before;
      if (!change(values)) {
        if (!command(ctx_, {"UNWATCH"}).ok()) broken("connection");
        return true;
      }
      auto now = now_();
      std::vector<std::size_t> changed;
      append(ctx_, {"MULTI"});
      for (std::size_t i = 0; i < keys.size(); ++i) {
        if (values[i] == (*before)[i]) continue;
        auto ttl = bounds_[static_cast<std::size_t>(keys[i].kind)].ttl.count();
        if (values[i] && ttl > 0) append(ctx_, {"SET", names[i], *values[i], "PX", std::to_string(ttl)});
        else append(ctx_, {"DEL", names[i]});
        changed.push_back(i);
      }
      append(ctx_, {"EXEC"});
      bool failed = !next_reply(ctx_).ok();
      for (std::size_t i = 0; i < changed.size(); ++i) failed |= !next_reply(ctx_).ok();
      auto exec = next_reply(ctx_);
      if (failed || !exec.r || exec.r->type == REDIS_REPLY_ERROR) {
        broken(exec.r ? "error reply" : "connection");
        return false;
      }
      if (exec.r->type == REDIS_REPLY_NIL) continue;  // a watched key changed: run `change` again
      keep_bounded(keys, values, changed, now);
      return true;
    }
    log::warn("auth.limits.redis_contended", {{"retries", max_retries}});
    return false;
  }

  // The index of each written kind: add or remove the ids, drop the expired, and evict the
  // oldest beyond the bound. Not part of the transaction: at worst an eviction comes late.
  void keep_bounded(const std::vector<LimitKey>& keys, const LimitValues& values, const std::vector<std::size_t>& changed,
                    std::int64_t now) {
    std::vector<LimitKind> kinds;
    std::size_t sent = 0;
    for (auto i : changed) {
      auto idx = index_key(keys[i].kind);
      if (values[i]) append(ctx_, {"ZADD", idx, std::to_string(now), hex(keys[i].id)});
      else append(ctx_, {"ZREM", idx, hex(keys[i].id)});
      ++sent;
      if (std::find(kinds.begin(), kinds.end(), keys[i].kind) == kinds.end()) kinds.push_back(keys[i].kind);
    }
    for (auto kind : kinds) {
      auto ttl = bounds_[static_cast<std::size_t>(kind)].ttl.count();
      append(ctx_, {"ZREMRANGEBYSCORE", index_key(kind), "-inf", std::to_string(now - ttl)});
      append(ctx_, {"PEXPIRE", index_key(kind), std::to_string(std::max<std::int64_t>(ttl, 1))});
      append(ctx_, {"ZCARD", index_key(kind)});
    }
    for (std::size_t i = 0; i < sent; ++i)
      if (!next_reply(ctx_).r) return broken("connection");
    for (auto kind : kinds) {
      if (!next_reply(ctx_).r || !next_reply(ctx_).r) return broken("connection");
      auto card = next_reply(ctx_);
      if (!card.r) return broken("connection");
      if (card.r->type != REDIS_REPLY_INTEGER) continue;
      auto max = static_cast<long long>(bounds_[static_cast<std::size_t>(kind)].max_entries);
      if (card.r->integer <= max) continue;
      auto popped = command(ctx_, {"ZPOPMIN", index_key(kind), std::to_string(card.r->integer - max)});
      if (!popped.r) return broken("connection");
      if (popped.r->type != REDIS_REPLY_ARRAY) continue;
      std::vector<std::string> del{"DEL"};
      for (std::size_t j = 0; j + 1 < popped.r->elements; j += 2) {
        auto* e = popped.r->element[j];
        if (e->type == REDIS_REPLY_STRING)
          del.push_back(std::string("mailstead:auth:") + kind_name(kind) + ":" + std::string(e->str, e->len));
      }
      if (del.size() > 1 && !command(ctx_, del).r) return broken("connection");
    }
  }

  std::string url_;
  std::unique_ptr<LimitTable> fallback_;
  LimitBounds bounds_;
  NowFn now_;
  // The worker thread's own: the connection and its state.
  redisContext* ctx_ = nullptr;
  std::chrono::steady_clock::time_point next_try_{};
  bool down_ = false;

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Job> queue_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace

std::unique_ptr<LimitTable> make_redis_limit_table(const std::string& url, std::unique_ptr<LimitTable> fallback,
                                                   LimitBounds bounds, NowFn now) {
  return std::make_unique<RedisLimitTable>(url, std::move(fallback), bounds, std::move(now));
}

}  // namespace mailstead::auth
