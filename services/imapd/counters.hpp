// mailstead-imapd's counters in the process's metrics registry (docs/metrics.md), each an
// atomic taken once: sessions bump them with one line where the event happens.
#pragma once

#include "metrics/metrics.hpp"

namespace mailstead::imap {

struct Counters {
  metrics::Registry& reg = metrics::process();
  metrics::Gauge& authenticated = reg.gauge(
      "mailstead_authenticated_sessions", "Sessions open now that have logged in, by protocol", {{"protocol", "imap"}});
  metrics::Gauge& idle = reg.gauge("mailstead_imap_idle_sessions", "IMAP sessions in IDLE now");
};

// The process's imapd counters (registered on first use).
inline Counters& counters() {
  static Counters c;
  return c;
}

}  // namespace mailstead::imap
