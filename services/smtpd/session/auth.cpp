// Message authentication on the MX (docs/authentication.md): SPF, DKIM and DMARC run on the
// checker's own pool (they wait on DNS there, never on this I/O thread); the session gets
// the verdict back on its own thread.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "log/log.hpp"
#include "session/session.hpp"
#include "store/store.hpp"

namespace mailstead::smtp {

asio::awaitable<inbound::AuthVerdict> Session::authenticate(std::string_view message, const std::string& id) {
  auto& checker = *shared_.authenticator;
  inbound::AuthInput in;
  in.ip = peer_;
  if (in.ip.starts_with("::ffff:") && in.ip.find('.') != std::string::npos) in.ip.erase(0, 7);  // IPv4-mapped
  in.helo = helo_;
  in.mail_from = txn_.mail.path;
  in.message = message;
  auto& store = shared_.store;
  inbound::OverrideLookup overrides = [&store](std::string_view domain) -> std::optional<inbound::Override> {
    auto txn = store.read();  // short, on the pool thread; never across a co_await
    return inbound::find_override(*txn, domain);
  };
  inbound::AuthVerdict verdict;
  auto work = [&]() -> asio::awaitable<void> {
    verdict = checker.check(in, overrides);
    co_return;
  };
  co_await asio::co_spawn(checker.pool(), work, asio::use_awaitable);
  std::string dkim;
  for (const auto& c : verdict.clauses)
    if (c.method == "dkim") dkim += (dkim.empty() ? "" : ",") + c.result;
  std::string spf = verdict.clauses.empty() || verdict.clauses.front().method != "spf" ? "" : verdict.clauses.front().result;
  log::info("smtp.auth", {{"session", id_}, {"id", id}, {"spf", spf}, {"dkim", dkim}, {"dmarc", verdict.dmarc},
                          {"from_domain", verdict.from_domain}, {"policy", verdict.policy},
                          {"disposition", inbound::disposition_name(verdict.disposition)}});
  co_return verdict;
}

}  // namespace mailstead::smtp
