// send-test-email (see test_email.hpp).
#include "ops/test_email.hpp"

#include <ctime>
#include <sodium.h>

#include "directory/directory.hpp"
#include "queue/dsn.hpp"
#include "store/mailstore.hpp"
#include "store/store.hpp"

namespace mailstead::admin::test_email {

namespace {

std::int64_t now_s() { return static_cast<std::int64_t>(std::time(nullptr)); }

std::string token() {
  static const char alphabet[] = "abcdefghijkmnopqrstuvwxyz23456789";
  std::string t;
  for (int i = 0; i < 12; ++i) t.push_back(alphabet[randombytes_uniform(sizeof alphabet - 1)]);
  return t;
}

std::string message(const std::string& from, const std::string& to, const std::string& hostname, const std::string& which) {
  std::string m;
  m += "From: Mailstead <" + from + ">\r\n";
  m += "To: <" + to + ">\r\n";
  m += "Subject: Mailstead test email (" + which + ")\r\n";
  m += "Date: " + queue::rfc5322_date(now_s()) + "\r\n";
  m += "Message-ID: <test." + token() + "@" + hostname + ">\r\n";
  m += "Auto-Submitted: auto-generated\r\n";
  m += "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n";
  m += "This is a test email from the Mailstead server " + hostname + ", sent from " + which + ".\r\n";
  m += "If it reached you, outgoing email works.\r\n";
  return m;
}

}  // namespace

Result<std::vector<Message>> prepare(store::ReadTxn& txn, const outbound::Settings& o, std::string_view to) {
  auto at = to.rfind('@');
  if (to.size() > 254 || at == std::string_view::npos || at == 0 || at + 1 == to.size() ||
      to.find_first_of(" <>\r\n\t\"") != std::string_view::npos)
    return Error(ErrorKind::invalid, "'" + std::string(to.substr(0, 254)) + "' is not an address such as you@example.org", "to");
  if (sodium_init() < 0) return internal("libsodium failed to start");
  std::string domain;
  auto domains = directory::list_domains(txn);
  if (!domains.empty()) domain = domains.front().name;
  if (domain.empty() && (o.from.empty() || o.noreply_address.empty()))
    return Error(ErrorKind::conflict,
                 "there is no local domain yet: add one (mailstead domain add) or set [outbound] from and noreply_address", "to");
  std::string from = o.from.empty() ? "postmaster@" + domain : o.from;
  std::string noreply = o.noreply_address.empty() ? "noreply@" + domain : o.noreply_address;
  if (o.tokenized_noreply) {
    auto a = noreply.rfind('@');
    noreply = noreply.substr(0, a) + "-" + token() + noreply.substr(a);
  }
  return std::vector<Message>{{from, "the default From address", 0}, {noreply, "the noreply address", 0}};
}

Change<std::vector<Message>> plan_enqueue(std::vector<Message> messages, std::string to, std::string hostname,
                                          std::string owner, std::int64_t lease_until) {
  // The bytes are made here, once: the batch may run again after the map grows.
  std::vector<std::string> bodies;
  for (const auto& m : messages) bodies.push_back(message(m.from, to, hostname, m.which));
  return Change<std::vector<Message>>([messages = std::move(messages), bodies = std::move(bodies), to = std::move(to),
                                       owner = std::move(owner), lease_until](store::WriteTxn& t) -> Result<std::vector<Message>> {
    auto out = messages;
    auto now = now_s();
    for (std::size_t i = 0; i < out.size(); ++i) {
      auto key = store::blob_key(bodies[i]);
      if (auto e = store::put_blob(t, key, bodies[i])) return internal("the store failed: " + e.message());
      store::QueueRecord q;
      q.sender = out[i].from;
      q.recipients = {to};
      q.blob = key;
      q.created = now;
      q.next_attempt = now;
      q.lease_owner = owner;
      q.lease_until = lease_until;
      auto id = store::enqueue(t, std::move(q));
      if (!id) return id.error();
      out[i].id = *id;
    }
    return out;
  });
}

std::vector<Outcome> outcomes(const std::vector<Message>& messages, const std::string& to,
                              const std::vector<outbound::Engine::Report>& reports) {
  std::vector<Outcome> out;
  for (const auto& m : messages) {
    std::vector<queue::Outcome> got;
    for (const auto& r : reports)
      if (r.id == m.id) got = r.outcomes;
    if (got.empty()) got.push_back({to, queue::Result::deferred, "not attempted (another delivery instance holds it)", "", ""});
    for (auto& o : got) out.push_back({m.id, m.from, m.which, o.address, o.result, o.remote, o.tls, o.reply});
  }
  return out;
}

}  // namespace mailstead::admin::test_email
