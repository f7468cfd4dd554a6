// Local delivery for the delivery service (see local.hpp).
#include "delivery/local.hpp"

#include "log/log.hpp"
#include "mime/cache.hpp"
#include "sieve/storage.hpp"
#include "store/mailstore.hpp"
#include "store/store.hpp"

namespace mailstead::delivery {

LocalPlan plan_local(store::ReadTxn& txn, const LocalContext& ctx, const std::vector<LocalTarget>& targets,
                     std::string message) {
  LocalPlan plan;
  plan.bodies.push_back(std::move(message));
  sieve::DeliveryContext sctx;
  sctx.hostname = ctx.hostname;
  sctx.sender = ctx.sender;
  sctx.now = ctx.now;
  sctx.routing = &ctx.routing;
  sctx.limits = ctx.limits;
  std::vector<std::uint64_t> seen;
  for (const auto& t : targets) {
    bool dup = false;
    for (auto u : seen) dup |= u == t.user;
    if (dup) continue;  // one copy per mailbox
    seen.push_back(t.user);
    sctx.recipient = t.delivered_to;
    auto p = sieve::plan(txn, t.user, plan.bodies.front(), sctx);
    if (!p.error.empty()) plan.errors.push_back(p.error);
    std::size_t body = 0;
    if (p.edited) {
      plan.bodies.push_back(std::move(*p.edited));
      body = plan.bodies.size() - 1;
    }
    // reject: no protocol is left to refuse in; the sender hears of it by a notice
    // (RFC 5429 2.1), never a bounce of a bounce.
    if (p.reject && !ctx.sender.empty())
      plan.outgoing.push_back({"", {ctx.sender}, sieve::rejection_notice(sctx, p.address, t.delivered_to, *p.reject, plan.bodies.front())});
    for (auto& f : p.filings) plan.copies.push_back({t.user, t.delivered_to, "", f, body});
    for (auto u : p.local_copies) plan.copies.push_back({u, t.delivered_to, p.redirect_prefix, sieve::Filing{}, body});
    for (auto& o : p.outgoing) plan.outgoing.push_back(std::move(o));
    for (auto& tr : p.tracking) plan.tracking.emplace_back(t.user, std::move(tr));
  }
  return plan;
}

std::error_code apply_local(store::WriteTxn& txn, const LocalPlan& plan, const LocalContext& ctx) {
  std::vector<std::string> keys;
  for (const auto& b : plan.bodies) {
    keys.push_back(store::blob_key(b));
    if (auto ec = store::put_blob(txn, keys.back(), b)) return ec;
    if (!txn.get(store::Table::blob_cache, keys.back()))
      if (auto ec = txn.put(store::Table::blob_cache, keys.back(), mime::build_cache(b).encode())) return ec;
  }
  for (const auto& c : plan.copies) {
    auto box = sieve::filing_mailbox(txn, c.user, c.filing);
    if (!box) continue;  // the user is gone
    store::MessageRecord m;
    m.blob = keys[c.body];
    m.internaldate = ctx.now;
    m.flags = c.filing.flags;
    m.keywords = c.filing.keywords;
    m.prefix = "Return-Path: <" + ctx.sender + ">\r\nDelivered-To: " + c.delivered_to + "\r\n" + c.prefix;
    if (!store::append(txn, box->id, std::move(m))) return store::Errc::aborted;
  }
  for (const auto& o : plan.outgoing) {
    auto key = store::blob_key(o.message);
    if (auto ec = store::put_blob(txn, key, o.message)) return ec;
    store::QueueRecord q;
    q.sender = o.sender;
    q.recipients = o.recipients;
    q.blob = key;
    q.created = ctx.now;
    q.next_attempt = ctx.now;
    if (!store::enqueue(txn, std::move(q))) return store::Errc::aborted;
  }
  for (const auto& [user, tr] : plan.tracking)
    if (auto ec = sieve::track(txn, user, tr.kind, tr.key, tr.expires)) return ec;
  return {};
}

}  // namespace mailstead::delivery
