// Where the failed-login limiter keeps its records so that smtpd, imapd and sieved share one
// budget: a small key-value table with expiry and a bound per kind of record, evicting the
// oldest. Two backends: the store (the embedded default) and Redis (with `[redis] url`),
// which falls back to the store while Redis is unreachable. docs/security.md has the design.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace mailstead::store {
class Store;
}

namespace mailstead::auth {

// Milliseconds since the epoch: wall-clock time, comparable across processes and restarts.
// Tests pass their own.
using NowFn = std::function<std::int64_t()>;
std::int64_t wall_clock_ms();

enum class LimitKind : std::uint8_t { address = 0, account = 1, trust = 2 };
inline constexpr std::size_t limit_kinds = 3;

struct LimitKey {
  LimitKind kind;
  std::string id;  // 16 bytes (a hash: keys never carry what a client typed)
};

// Per kind: how long a record lives after its last write, and how many may exist (the
// oldest written goes first when a write would exceed it).
struct LimitBound {
  std::chrono::milliseconds ttl{0};
  std::uint32_t max_entries = 0;
};
using LimitBounds = std::array<LimitBound, limit_kinds>;

// One value per key: nullopt when absent or expired.
using LimitValues = std::vector<std::optional<std::string>>;

class LimitTable {
 public:
  virtual ~LimitTable() = default;
  // Reads the keys' current values. Cheap. `done` may run before this returns, or on
  // another thread.
  virtual void read(std::vector<LimitKey> keys, std::function<void(LimitValues)> done) = 0;
  // Atomically with every process sharing the table: reads the keys, lets `change` edit the
  // values in place (nullopt deletes), and writes the ones it changed. `change` returns false
  // to write nothing; it may run more than once, so it must derive everything from the
  // values it is given. `done(false)` when the table could not be written.
  virtual void update(std::vector<LimitKey> keys, std::function<bool(LimitValues&)> change,
                      std::function<void(bool)> done) = 0;
};

// Table::auth_limits in the store: reads are a read transaction, writes go through the
// group-commit writer (an update that would change nothing writes nothing).
std::unique_ptr<LimitTable> make_store_limit_table(store::Store& store, LimitBounds bounds, NowFn now);

// Redis at `url` (redis://host[:port] or unix:/path), one connection on a thread of its own;
// updates are WATCH/MULTI/EXEC transactions. Whenever Redis cannot answer, `fallback` does.
std::unique_ptr<LimitTable> make_redis_limit_table(const std::string& url, std::unique_ptr<LimitTable> fallback,
                                                   LimitBounds bounds, NowFn now);

}  // namespace mailstead::auth
