// mailstead-deliverd's counters in the process's metrics registry (docs/metrics.md), each
// an atomic taken once, and the queue depth read from the store when scraped.
#pragma once

#include "metrics/metrics.hpp"
#include "queue/queue.hpp"
#include "store/store.hpp"

namespace mailstead::outbound {

struct Counters {
  metrics::Registry& reg = metrics::process();
  static constexpr const char* help =
      "Recipients whose delivery attempt was recorded, by result (bounced: failed for good, a DSN goes to the sender)";
  metrics::Counter& delivered = reg.counter("mailstead_delivery_recipients_total", help, {{"result", "delivered"}});
  metrics::Counter& deferred = reg.counter("mailstead_delivery_recipients_total", help, {{"result", "deferred"}});
  metrics::Counter& bounced = reg.counter("mailstead_delivery_recipients_total", help, {{"result", "bounced"}});
  metrics::Gauge& queue_depth = reg.gauge("mailstead_queue_depth", "Messages in the outbound queue");

  // After a settle has committed: one count per recipient outcome.
  template <class Outcomes>
  void settled(const Outcomes& outcomes) noexcept {
    for (const auto& o : outcomes)
      ++(o.result == queue::Result::delivered ? delivered : o.result == queue::Result::deferred ? deferred : bounced);
  }
};

// The process's deliverd counters (registered on first use).
inline Counters& counters() {
  static Counters c;
  return c;
}

// Sets mailstead_queue_depth from the store (the /metrics refresh, on the scraping thread).
inline void read_queue_depth(store::Store& store) {
  auto txn = store.read();
  std::int64_t n = 0;
  auto cur = txn->cursor(store::Table::queue);
  for (bool ok = cur->first(); ok; ok = cur->next()) ++n;
  counters().queue_depth.set(n);
}

}  // namespace mailstead::outbound
