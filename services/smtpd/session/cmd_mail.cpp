// MAIL FROM and RCPT TO (RFC 5321 4.1.1.2-3): sequence checks, limits, the submission
// sender binding, and routing through the directory at RCPT (DESIGN.md "Address routing").
#include "directory/address.hpp"
#include "directory/directory.hpp"
#include "log/log.hpp"
#include "session/session.hpp"
#include "store/mailstore.hpp"
#include "store/store.hpp"

namespace mailstead::smtp {

namespace {
bool has_non_ascii(std::string_view s) {
  for (unsigned char c : s)
    if (c >= 0x80) return true;
  return false;
}
}  // namespace

void Session::handle_mail(const Mail& m) {
  if (helo_.empty()) return send_error(503, "5.5.1", "Send EHLO or HELO first");
  if (port_ != Port::mx && !user_id_) return send_error(530, "5.7.0", "Authentication required");
  if (txn_.active) return send_error(503, "5.5.1", "Nested MAIL command");
  if (!esmtp_ && (m.size || m.body != Body::seven_bit || m.smtputf8 || !m.ret.empty() || !m.envid.empty()))
    return send_error(555, "5.5.4", "MAIL parameters need EHLO");
  if (m.size && *m.size > shared_.settings.max_message_size)
    return send_error(552, "5.3.4", "Message size exceeds fixed maximum message size");
  // RFC 1870 6.1: a declared size the spool cannot take now is a temporary refusal.
  if (m.size && *m.size > shared_.settings.spool_threshold) {
    auto& disk = shared_.spool.disk();
    if (disk.used() + *m.size + SpooledMessage::prefix_room > disk.limit()) {
      log::info("smtp.mail.spool_full", {{"session", id_}, {"size", *m.size}, {"used", disk.used()}});
      send(452, "4.3.1", "Insufficient system storage, try again later");
      return;
    }
  }
  if (has_non_ascii(m.path) && !m.smtputf8)
    return send_error(553, "5.6.7", "Non-ASCII address requires SMTPUTF8");
  if (!m.path.empty()) {
    auto p = directory::parse_address(m.path);
    if (!p || !p->has_domain) return send_error(501, "5.1.7", "Bad sender address syntax");
  }
  if (user_id_) {
    auto txn = shared_.store.read();
    if (auto r = directory::check_sender(*txn, shared_.routing, *user_id_, m.path)) {
      log::info("smtp.mail.rejected", {{"session", id_}, {"user", user_address_}, {"from", m.path}});
      return send_error(r->code, r->enhanced, r->text);
    }
  }
  txn_ = Transaction{};
  txn_.active = true;
  txn_.mail = m;
  send(250, "2.1.0", "Ok");
}

std::optional<std::string> Session::check_quota(const std::vector<std::uint64_t>& users, std::uint64_t extra) {
  auto txn = shared_.store.read();
  for (auto id : users) {
    auto u = directory::get_user(*txn, id);
    if (!u || u->quota == 0) continue;
    std::uint64_t used = 0;
    for (const auto& mb : store::list_mailboxes(*txn, id)) used += mb.bytes;
    if (used + extra > u->quota) return u->address;
  }
  return std::nullopt;
}

// The chat gateway's rate limits per gateway domain (docs/streams.md): a temporary 451 4.7.1
// so the sender's queue retries and nothing is lost.
bool Session::allow_stream_rcpt(const directory::Delivery& d) {
  auto domain = d.address.substr(d.address.rfind('@') + 1);
  std::chrono::milliseconds wait{0};
  if (shared_.stream_limiter.allow(domain, StreamRateLimiter::Clock::now(), &wait)) return true;
  log::info("smtp.rcpt.stream_rate_limited", {{"session", id_}, {"peer", peer_}, {"stream", d.stream},
                                               {"retry_ms", wait.count()}});
  send(451, "4.7.1", "Too many messages to this chat gateway; try again in " +
                         std::to_string(wait.count() / 1000 + 1) + " seconds");
  return false;
}

void Session::handle_rcpt(const Rcpt& r) {
  if (!txn_.active) return send_error(503, "5.5.1", "Need MAIL before RCPT");
  if (txn_.recipients.size() >= shared_.settings.max_recipients) {
    // RFC 5321 4.5.3.1.10: a temporary reply, so the client sends the rest later.
    send(452, "4.5.3", "Too many recipients");
    return;
  }
  if (has_non_ascii(r.path) && !txn_.mail.smtputf8)
    return send_error(553, "5.6.7", "Non-ASCII address requires SMTPUTF8");
  directory::Route route;
  {
    auto txn = shared_.store.read();
    route = directory::resolve(*txn, shared_.routing, r.path,
                               directory::RouteContext{txn_.mail.path, user_id_});
  }
  if (auto* j = std::get_if<directory::Rejection>(&route)) {
    log::info("smtp.rcpt.rejected", {{"session", id_}, {"peer", peer_}, {"rcpt", r.path}, {"code", j->code},
                                      {"enhanced", j->enhanced}});
    ++counters().recipients_rejected;
    return send_error(j->code, j->enhanced, j->text);
  }
  auto& d = std::get<directory::Delivery>(route);
  // Reply addresses (mm…) are one member's and not counted (docs/streams.md).
  if (d.kind == directory::RouteKind::stream && d.reply_token.empty() && !allow_stream_rcpt(d)) return;
  if (auto no = inbound_rcpt(d)) {
    send(no->code, no->enhanced, no->text);
    return;
  }
  if (auto over = check_quota(d.users, txn_.mail.size.value_or(0))) {
    log::info("smtp.rcpt.over_quota", {{"session", id_}, {"rcpt", r.path}, {"user", *over}});
    if (shared_.settings.quota_permanent) return send_error(552, "5.2.2", "Mailbox full");
    send(452, "4.2.2", "Mailbox full, try again later");
    return;
  }
  txn_.recipients.push_back({d.address, std::move(d)});
  send(250, "2.1.5", "Ok");
}

}  // namespace mailstead::smtp
