// mailstead-sieved's counters in the process's metrics registry (docs/metrics.md), each an
// atomic taken once: sessions bump them with one line where the event happens.
#pragma once

#include "metrics/metrics.hpp"

namespace mailstead::managesieve {

struct Counters {
  metrics::Gauge& authenticated = metrics::process().gauge(
      "mailstead_authenticated_sessions", "Sessions open now that have logged in, by protocol",
      {{"protocol", "sieve"}});
};

// The process's sieved counters (registered on first use).
inline Counters& counters() {
  static Counters c;
  return c;
}

}  // namespace mailstead::managesieve
