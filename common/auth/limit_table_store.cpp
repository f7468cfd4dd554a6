// The limiter's table in the store (Table::auth_limits; layout in docs/storage.md):
//   'r' kind id            → i64 written (ms) + value     the record
//   'o' kind be64 written id → ""                          oldest first, for expiry and eviction
//   'n' kind               → u64 count of records of that kind
// Every write keeps the three in step inside one write transaction.
#include <set>

#include "auth/limit_table.hpp"
#include "log/log.hpp"
#include "store/store.hpp"
#include "util/bytes.hpp"

namespace mailstead::auth {

namespace {

using store::Table;

// Expired records a write removes on its way, besides evictions: spreads the clean-up.
constexpr std::size_t sweep_per_write = 16;

std::string record_key(const LimitKey& k) {
  std::string s{'r', static_cast<char>(k.kind)};
  return s + k.id;
}
std::string order_prefix(LimitKind kind) { return {'o', static_cast<char>(kind)}; }
std::string order_key(LimitKind kind, std::int64_t written, const std::string& id) {
  auto s = order_prefix(kind);
  put_be64(s, static_cast<std::uint64_t>(written));
  return s + id;
}
std::string count_key(LimitKind kind) { return {'n', static_cast<char>(kind)}; }

struct Stored {
  std::int64_t written = 0;
  std::string value;
};

std::optional<Stored> parse(std::optional<std::string_view> raw) {
  if (!raw || raw->size() < 8) return std::nullopt;
  return Stored{static_cast<std::int64_t>(get_be64(*raw)), std::string(raw->substr(8))};
}

class StoreLimitTable final : public LimitTable {
 public:
  StoreLimitTable(store::Store& store, LimitBounds bounds, NowFn now)
      : store_(store), bounds_(bounds), now_(std::move(now)) {}

  void read(std::vector<LimitKey> keys, std::function<void(LimitValues)> done) override {
    done(snapshot(keys, now_()));
  }

  void update(std::vector<LimitKey> keys, std::function<bool(LimitValues&)> change,
              std::function<void(bool)> done) override {
    auto now = now_();
    // Most updates change nothing (a refused attempt, a login with nothing to forgive):
    // find that out from a read, and write nothing.
    auto trial = snapshot(keys, now);
    if (!change(trial)) {
      done(true);
      return;
    }
    store_.submit(
        [this, keys = std::move(keys), change = std::move(change), now](store::WriteTxn& txn) -> std::error_code {
          return apply(txn, keys, change, now);
        },
        [done = std::move(done)](std::error_code ec) {
          if (ec) log::warn("auth.limits.write_failed", {{"backend", "store"}, {"error", ec.message()}});
          done(!ec);
        });
  }

 private:
  bool live(const Stored& s, LimitKind kind, std::int64_t now) const {
    return now - s.written < bounds_[static_cast<std::size_t>(kind)].ttl.count();
  }

  LimitValues snapshot(const std::vector<LimitKey>& keys, std::int64_t now) {
    LimitValues out;
    auto txn = store_.read();
    for (const auto& k : keys) {
      auto s = parse(txn->get(Table::auth_limits, record_key(k)));
      out.push_back(s && live(*s, k.kind, now) ? std::optional(std::move(s->value)) : std::nullopt);
    }
    return out;
  }

  std::uint64_t count(store::WriteTxn& txn, LimitKind kind) {
    auto v = txn.get(Table::auth_limits, count_key(kind));
    return v && v->size() == 8 ? get_be64(*v) : 0;
  }

  std::error_code set_count(store::WriteTxn& txn, LimitKind kind, std::uint64_t n) {
    return txn.put(Table::auth_limits, count_key(kind), key_u64(n));
  }

  std::error_code apply(store::WriteTxn& txn, const std::vector<LimitKey>& keys,
                        const std::function<bool(LimitValues&)>& change, std::int64_t now) {
    std::vector<std::optional<Stored>> existing;
    LimitValues values;
    for (const auto& k : keys) {
      existing.push_back(parse(txn.get(Table::auth_limits, record_key(k))));
      const auto& s = existing.back();
      values.push_back(s && live(*s, k.kind, now) ? std::optional(s->value) : std::nullopt);
    }
    auto before = values;
    if (!change(values)) return {};
    std::set<LimitKind> written;
    for (std::size_t i = 0; i < keys.size(); ++i) {
      if (values[i] == before[i]) continue;
      const auto& k = keys[i];
      auto n = count(txn, k.kind);
      if (existing[i]) txn.del(Table::auth_limits, order_key(k.kind, existing[i]->written, k.id));
      if (values[i]) {
        std::string v;
        put_be64(v, static_cast<std::uint64_t>(now));
        v += *values[i];
        if (auto ec = txn.put(Table::auth_limits, record_key(k), v)) return ec;
        if (auto ec = txn.put(Table::auth_limits, order_key(k.kind, now, k.id), "")) return ec;
        if (!existing[i]) ++n;
      } else if (existing[i]) {
        txn.del(Table::auth_limits, record_key(k));
        if (n > 0) --n;
      }
      if (auto ec = set_count(txn, k.kind, n)) return ec;
      written.insert(k.kind);
    }
    for (auto kind : written)
      if (auto ec = sweep(txn, kind, now)) return ec;
    return {};
  }

  // Removes expired records from the oldest end, and the oldest live ones while the kind
  // holds more than its bound: eviction of the oldest, never a flush of all.
  std::error_code sweep(store::WriteTxn& txn, LimitKind kind, std::int64_t now) {
    const auto& bound = bounds_[static_cast<std::size_t>(kind)];
    auto n = count(txn, kind);
    auto over = n > bound.max_entries ? n - bound.max_entries : 0;
    std::vector<std::string> victims;  // ids
    std::vector<std::int64_t> times;
    {
      auto prefix = order_prefix(kind);
      auto c = txn.cursor(Table::auth_limits);
      std::size_t expired = 0;
      for (bool ok = c->seek(prefix); ok && c->key().starts_with(prefix) && c->key().size() == prefix.size() + 8 + 16;
           ok = c->next()) {
        auto written = static_cast<std::int64_t>(get_be64(c->key().substr(prefix.size())));
        bool is_expired = now - written >= bound.ttl.count();
        if (victims.size() < over || (is_expired && expired < sweep_per_write)) {
          if (is_expired) ++expired;
          victims.emplace_back(c->key().substr(prefix.size() + 8));
          times.push_back(written);
          continue;
        }
        break;
      }
    }
    if (victims.empty()) return {};
    for (std::size_t i = 0; i < victims.size(); ++i) {
      txn.del(Table::auth_limits, order_key(kind, times[i], victims[i]));
      txn.del(Table::auth_limits, record_key({kind, victims[i]}));
    }
    return set_count(txn, kind, n > victims.size() ? n - victims.size() : 0);
  }

  store::Store& store_;
  LimitBounds bounds_;
  NowFn now_;
};

}  // namespace

std::unique_ptr<LimitTable> make_store_limit_table(store::Store& store, LimitBounds bounds, NowFn now) {
  return std::make_unique<StoreLimitTable>(store, bounds, std::move(now));
}

}  // namespace mailstead::auth
