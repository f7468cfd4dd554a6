// The Session's hooks into the inbound protections (docs/inbound.md). Only the MX port is
// checked: the submission ports have their own authentication and limits.
#include <boost/asio/execution/context.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/query.hpp>
#include <boost/asio/this_coro.hpp>
#include <ctime>

#include "dns/resolver.hpp"
#include "inbound/rules.hpp"
#include "log/log.hpp"
#include "session/session.hpp"
#include "store/store.hpp"

namespace mailstead::smtp {

namespace rules = mailstead::inbound;

bool Session::inbound_admit() {
  if (port_ != Port::mx || shared_.protection.trusted(peer_)) return true;
  if (shared_.protection.admit(peer_)) return true;
  log::info("smtp.connection.rate_limited",
            {{"session", id_}, {"peer", peer_}, {"per_minute", shared_.protection.settings.max_connection_rate_per_ip}});
  return false;
}

asio::awaitable<void> Session::inbound_look_up() {
  if (port_ != Port::mx || inbound_.done || user_id_) co_return;
  const auto& s = shared_.protection.settings;
  if (shared_.protection.trusted(peer_)) {
    inbound_.done = true;
    co_return;
  }
  auto ex = co_await asio::this_coro::executor;
  auto& io = static_cast<asio::io_context&>(asio::query(ex, asio::execution::context));
  dns::Resolver* resolver = nullptr;
  try {
    resolver = &shared_.protection.resolver(io);
  } catch (const std::exception& e) {
    log::warn("smtp.inbound.no_resolver", {{"session", id_}, {"error", e.what()}});
    inbound_.done = true;
    co_return;
  }
  auto started = std::chrono::steady_clock::now();
  std::string ip = peer_, helo = helo_;
  inbound_ = co_await inbound::look_up(*resolver, s, ip, helo, s.dnsbl.enabled);
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started).count();
  for (const auto& e : inbound_.dnsbl_errors)
    log::warn("smtp.dnsbl.failed_open", {{"session", id_}, {"peer", peer_}, {"error", e}});
  std::string zones;
  for (const auto& h : inbound_.dnsbl) zones += (zones.empty() ? "" : ",") + h.zone + "=" + h.code;
  log::info("smtp.inbound.checked", {{"session", id_},
                                     {"peer", peer_},
                                     {"iprev", inbound::iprev_status_name(inbound_.iprev.status)},
                                     {"ptr", inbound_.iprev.host},
                                     {"helo", inbound::helo_status_name(inbound_.helo.status)},
                                     {"dnsbl", zones},
                                     {"dnsbl_score", inbound_.dnsbl_score},
                                     {"ms", ms}});
}

namespace {
std::string local_part_base(std::string_view address) {
  auto at = address.rfind('@');
  std::string local(address.substr(0, at == std::string_view::npos ? address.size() : at));
  if (auto plus = local.find('+'); plus != std::string::npos) local.resize(plus);
  return local;
}
}  // namespace

std::optional<inbound::Refusal> Session::inbound_rcpt(const directory::Delivery& d) {
  if (port_ != Port::mx || user_id_) return std::nullopt;
  const auto& s = shared_.protection.settings;
  bool exempt = false;
  auto local = local_part_base(d.address);
  for (const auto& e : s.dnsbl.exempt_recipients)
    if (local == e) exempt = true;

  // The administrator's lists, and the recipient's own (when the address is one user's).
  std::uint64_t user = d.kind != directory::RouteKind::remote && d.users.size() == 1 ? d.users.front() : 0;
  auto subject = rules::make_subject(peer_, txn_.mail.path);
  rules::Verdict verdict;
  std::optional<rules::GreylistEntry> grey;
  std::string grey_key;
  const bool greylisting = s.greylist.enabled && !shared_.protection.trusted(peer_);
  if (greylisting)
    grey_key = rules::greylist_key(rules::greylist_network(peer_), subject.sender, d.address);
  {
    auto txn = shared_.store.read();
    verdict = rules::evaluate(*txn, user, subject);
    if (greylisting) grey = rules::get_greylist(*txn, grey_key);
  }
  if (verdict.list == rules::List::block) {
    log::info("smtp.rcpt.blocklisted", {{"session", id_}, {"peer", peer_}, {"from", txn_.mail.path}, {"rcpt", d.address},
                                        {"rule", std::string(rules::kind_name(verdict.kind)) + ":" + verdict.value},
                                        {"scope", verdict.user ? "user" : "global"}});
    return inbound::Refusal{554, "5.7.1",
                            verdict.user ? "Message refused by the recipient's blocklist"
                                         : "Message refused by this server's blocklist"};
  }
  bool allowed = verdict.list == rules::List::allow;
  // The transaction counts as allowlisted while every accepted recipient allowed it.
  txn_.allowlisted = allowed && (txn_.recipients.empty() || txn_.allowlisted);
  if (allowed) return std::nullopt;

  if (inbound_.dnsbl_listed && !exempt) {
    log::info("smtp.rcpt.dnsbl", {{"session", id_}, {"peer", peer_}, {"rcpt", d.address},
                                  {"zone", inbound_.dnsbl.front().zone}, {"score", inbound_.dnsbl_score}});
    return inbound::Refusal{554, "5.7.1", inbound::refusal_text(inbound_.dnsbl.front())};
  }
  if (s.iprev_reject && inbound_.iprev.status == inbound::IprevStatus::fail && !exempt) {
    log::info("smtp.rcpt.iprev", {{"session", id_}, {"peer", peer_}, {"rcpt", d.address}});
    return inbound::Refusal{550, "5.7.25", "Reverse DNS of your address (" + peer_ + ") does not confirm it"};
  }
  if (greylisting && !exempt) {
    const std::int64_t now = std::time(nullptr);
    const auto secs = [](std::chrono::milliseconds m) {
      return static_cast<std::int64_t>(std::chrono::duration_cast<std::chrono::seconds>(m).count());
    };
    std::optional<rules::GreylistEntry> write;
    bool pass = false;
    if (grey && grey->expires > now && grey->passed) {
      pass = true;
      // Refresh the memory of a known sender, at most about once a day.
      if (grey->expires - now < secs(s.greylist.expiry) - 86400)
        write = rules::GreylistEntry{grey->first_seen, grey->passed, now + secs(s.greylist.expiry)};
    } else if (grey && grey->expires > now && now - grey->first_seen >= secs(s.greylist.delay)) {
      pass = true;
      write = rules::GreylistEntry{grey->first_seen, now, now + secs(s.greylist.expiry)};
    } else if (!grey || grey->expires <= now) {
      write = rules::GreylistEntry{now, 0, now + secs(s.greylist.retry_window)};
    }
    if (write) {
      // Not waited for: a triplet lost to a crash only means one more 451.
      auto key = grey_key;
      auto entry = *write;
      shared_.store.submit([key, entry, now](store::WriteTxn& w) { return rules::put_greylist(w, key, entry, now); },
                           [id = id_](std::error_code ec) {
                             if (ec) log::warn("smtp.greylist.write_failed", {{"session", id}, {"error", ec.message()}});
                           });
    }
    if (!pass) {
      log::info("smtp.rcpt.greylisted", {{"session", id_}, {"peer", peer_}, {"from", txn_.mail.path}, {"rcpt", d.address}});
      return inbound::Refusal{451, "4.7.1", "Greylisted: please try again in " +
                                                std::to_string(secs(s.greylist.delay)) + " seconds"};
    }
  }
  return std::nullopt;
}

std::string Session::inbound_trace() const {
  if (port_ != Port::mx || !inbound_.done || inbound_.iprev.status == inbound::IprevStatus::none) return "";
  // Read by SpamAssassin rules and, later, folded into Authentication-Results (iprev).
  std::string h = "X-Mailstead-Iprev: " + inbound_.iprev.method_clause() + "\r\n";
  h += "X-Mailstead-Helo: " + inbound_.helo.clause() + "\r\n";
  return h;
}

}  // namespace mailstead::smtp
