// mailstead-smtpd's counters in the process's metrics registry (docs/metrics.md), each an
// atomic taken once: sessions bump them with one line where the event happens.
#pragma once

#include "metrics/metrics.hpp"

namespace mailstead::smtp {

struct Counters {
  metrics::Registry& reg = metrics::process();
  metrics::Gauge& authenticated = reg.gauge(
      "mailstead_authenticated_sessions", "Sessions open now that have logged in, by protocol", {{"protocol", "smtp"}});
  metrics::Counter& messages_received = reg.counter(
      "mailstead_smtp_messages_received_total", "Messages accepted (250 after DATA or BDAT LAST) and stored durably");
  metrics::Counter& bytes_received = reg.counter("mailstead_smtp_received_bytes_total", "Bytes of the messages accepted");
  metrics::Counter& local_recipients = reg.counter(
      "mailstead_smtp_recipients_total", "Recipients of accepted messages, by where they went",
      {{"destination", "local"}});
  metrics::Counter& remote_recipients = reg.counter("mailstead_smtp_recipients_total", "", {{"destination", "remote"}});
  metrics::Counter& recipients_rejected = reg.counter(
      "mailstead_smtp_recipients_rejected_total", "RCPT TO refused by routing (unknown user, relay denied, group policy)");
  metrics::Counter& sieve_ok = reg.counter("mailstead_sieve_scripts_run_total",
                                           "Sieve scripts run at delivery, by result", {{"result", "ok"}});
  metrics::Counter& sieve_error = reg.counter("mailstead_sieve_scripts_run_total", "", {{"result", "error"}});

  void accepted(std::size_t bytes, std::size_t local, std::size_t remote) noexcept {
    ++messages_received;
    bytes_received.inc(bytes);
    local_recipients.inc(local);
    remote_recipients.inc(remote);
  }
  // After a recipient's Sieve plan: counts it when the user had an active script.
  template <class Plan>
  void sieve_ran(const Plan& p) noexcept {
    if (p.ran) ++(p.error.empty() ? sieve_ok : sieve_error);
  }
};

// The process's smtpd counters (registered on first use).
inline Counters& counters() {
  static Counters c;
  return c;
}

}  // namespace mailstead::smtp
