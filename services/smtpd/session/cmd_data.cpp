// DATA (RFC 5321 4.1.1.4) and BDAT (RFC 3030): the message is spooled as it arrives and
// checked (smuggling, NUL, header bounds, the submitted originator fields); then local
// delivery: the message is stored once, each recipient mailbox gets a record pointing at
// it, remote recipients go into the outbound queue, and 250 is sent only after that
// commit is durable.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <ctime>

#include "directory/directory.hpp"
#include "directory/routing.hpp"
#include "inbound/auth_results.hpp"
#include "log/log.hpp"
#include "mime/cache.hpp"
#include "mime/header.hpp"
#include "proto/input.hpp"
#include "proto/sender_fields.hpp"
#include "session/session.hpp"
#include "sieve/delivery.hpp"
#include "sieve/storage.hpp"
#include "store/async.hpp"
#include "store/mailstore.hpp"
#include "store/store.hpp"

namespace mailstead::smtp {

namespace {

// The time a transfer of n bytes may take at the minimum rate.
std::chrono::microseconds allowance(std::uint64_t n, std::uint32_t rate) {
  return std::chrono::microseconds(n * 1'000'000 / rate);
}

HeaderLimits header_limits(const Settings& s) { return {s.max_header_line_length, s.max_header_size}; }

// Runs fn() on `pool` and resumes the caller on its own thread; fn's exception is rethrown
// there. The pool is joined before the io_contexts go (main.cpp).
template <class F>
asio::awaitable<void> run_on(asio::thread_pool& pool, F fn) {
  co_await asio::co_spawn(pool, [&fn]() -> asio::awaitable<void> {
    fn();
    co_return;
  }, asio::use_awaitable);
}
}  // namespace

asio::awaitable<void> Session::handle_data() {
  if (!txn_.active) co_return send_error(503, "5.5.1", "Need MAIL command");
  if (txn_.recipients.empty()) co_return send_error(554, "5.5.1", "No valid recipients");
  send(354, "", "End data with <CR><LF>.<CR><LF>");
  const auto& st = shared_.settings;
  DataReader reader(st.max_message_size);
  MessageScanner scan(header_limits(st));
  SpooledMessage message(shared_.spool);
  // The transfer may wait data_timeout in all, plus what the data earns at min_data_rate
  // (docs/security.md, "Slow clients"): a byte now and then cannot hold the session.
  stream_->begin_phase(st.data_timeout);
  for (;;) {
    auto used = reader.feed(in_);
    in_.erase(0, used);
    // The reader's buffer is emptied, not given away: it keeps its capacity for the next read.
    auto& bytes = reader.message();
    if (!reader.too_big()) {
      scan.feed(bytes);
      message.append(bytes);
    }
    bytes.clear();
    stream_->extend_phase(allowance(used, st.min_data_rate));
    if (reader.done()) break;
    if (!co_await read_more(st.data_timeout)) {
      quit_ = true;
      co_return;
    }
  }
  stream_->end_phase();
  scan.finish();
  co_await finish_message(message, scan, reader.too_big());
}

asio::awaitable<void> Session::handle_bdat(const Bdat& b) {
  // The chunk's bytes follow the command whatever we answer: read them first
  // (RFC 3030 2), keeping them only while the transaction is good.
  const auto& st = shared_.settings;
  bool keep = txn_.active && !txn_.recipients.empty() && !txn_.bdat_failed &&
              !(port_ == Port::submission && !stream_->tls());
  std::uint64_t remaining = b.size;
  bool too_big = txn_.bdat_size + b.size > st.max_message_size;
  keep = keep && !too_big;
  if (keep && !txn_.bdat_message) {
    txn_.bdat_message = std::make_unique<SpooledMessage>(shared_.spool);
    txn_.bdat_scan = std::make_unique<MessageScanner>(header_limits(st));
  }
  // (An announced size beyond any message earns nothing more.)
  stream_->begin_phase(st.data_timeout + allowance(std::min(b.size, st.max_message_size), st.min_data_rate));
  for (;;) {
    auto take = std::min<std::uint64_t>(remaining, in_.size());
    if (keep) {
      auto part = std::string_view(in_).substr(0, take);
      txn_.bdat_scan->feed(part);
      txn_.bdat_message->append(part);
    }
    in_.erase(0, take);
    remaining -= take;
    if (remaining == 0) break;
    if (!co_await read_more(st.data_timeout)) {
      quit_ = true;
      co_return;
    }
  }
  stream_->end_phase();
  if (port_ == Port::submission && !stream_->tls()) co_return send_error(530, "5.7.0", "Must issue a STARTTLS command first");
  if (!txn_.active) co_return send_error(503, "5.5.1", "Need MAIL command");
  if (txn_.recipients.empty()) co_return send_error(554, "5.5.1", "No valid recipients");
  txn_.bdat = !b.last;
  txn_.bdat_size += b.size;
  if (too_big) {
    txn_.bdat_failed = true;
    txn_.bdat_message.reset();  // an oversized message is never kept
  }
  if (!b.last) {
    if (txn_.bdat_failed) co_return send_error(552, "5.3.4", "Message size exceeds fixed maximum message size");
    co_return send(250, "2.0.0", std::to_string(b.size) + " octets received");
  }
  if (txn_.bdat_failed) {
    reset_transaction();
    co_return send_error(552, "5.3.4", "Message size exceeds fixed maximum message size");
  }
  auto message = std::move(txn_.bdat_message);
  auto scan = std::move(txn_.bdat_scan);
  scan->finish();
  co_await finish_message(*message, *scan, false);
}

asio::awaitable<void> Session::finish_message(SpooledMessage& message, const MessageScanner& scan, bool too_big) {
  const auto& st = shared_.settings;
  auto refuse = [&](int code, std::string_view enhanced, const std::string& text, const char* reason) {
    log::info("smtp.data.refused", {{"session", id_}, {"peer", peer_}, {"reason", reason}, {"size", message.size()}});
    reset_transaction();
    if (code >= 500) send_error(code, enhanced, text);
    else send(code, enhanced, text);
  };
  if (too_big) co_return refuse(552, "5.3.4", "Message size exceeds fixed maximum message size", "size");
  if (scan.bare_newline())
    co_return refuse(550, "5.5.2", "Message contains a bare CR or LF; lines must end with CRLF", "bare_newline");
  // NUL is not text (RFC 5322 2.1, RFC 5321 2.3.8); stripping it downstream is how NUL
  // smuggling works, so the message is refused whole.
  if (scan.nul()) co_return refuse(550, "5.6.0", "Message contains NUL characters", "nul");
  if (scan.header_line_too_long())
    co_return refuse(552, "5.3.4", "Message header line longer than " + std::to_string(st.max_header_line_length) + " bytes",
                     "header_line");
  if (scan.header_too_big())
    co_return refuse(552, "5.3.4", "Message header larger than " + std::to_string(st.max_header_size) + " bytes",
                     "header_size");
  if (message.failure() == SpooledMessage::Failure::no_room)
    co_return refuse(452, "4.3.1", "Insufficient system storage, try again later", "spool_full");
  if (message.failure() == SpooledMessage::Failure::io)
    co_return refuse(451, "4.3.0", "Local error in processing, try again later", "spool_error");

  // Parsing and storing need the message in memory about twice over (the message, the
  // store's copy): wait for that much of the memory budget (docs/smtp.md, "Memory"). The
  // client waits for our reply meanwhile (RFC 5321 4.5.3.2.6 gives it 10 minutes): the
  // connection stays for the wait and the delivery.
  stream_->expires_after(st.data_timeout + st.command_timeout);
  auto& budget = shared_.spool.memory();
  net::Held held(budget, co_await budget.take(2 * (message.size() + SpooledMessage::prefix_room), st.data_timeout));
  if (held.bytes() == 0) {
    log::warn("smtp.data.memory_budget", {{"session", id_}, {"size", message.size()}, {"used", budget.used()}});
    co_return refuse(452, "4.3.1", "Insufficient system resources, try again later", "memory_budget");
  }
  auto view = message.view();
  if (!view) co_return refuse(451, "4.3.0", "Local error in processing, try again later", "spool_error");

  ++messages_;
  std::string id = id_ + "." + std::to_string(messages_);
  std::string prefix = received_header(id);
  // Submission: the originator fields must be the sender's too (docs/smtp.md, "Submission").
  if (user_id_) {
    auto fields = examine_sender_fields(view->substr(0, mime::header_end(*view)));
    if (fields.error.empty()) {
      auto txn = shared_.store.read();
      for (const auto& a : fields.addresses) {
        if (directory::check_sender(*txn, shared_.routing, *user_id_, a.address)) {
          log::info("smtp.data.from_rejected", {{"session", id_}, {"user", user_address_}, {"field", a.field},
                                                {"address", a.address}});
          fields.error = a.field + " names " + a.address + ", which this account may not send as";
          break;
        }
      }
    } else {
      log::info("smtp.data.from_rejected", {{"session", id_}, {"user", user_address_}, {"reason", fields.error}});
    }
    if (!fields.error.empty()) co_return refuse(550, "5.7.1", fields.error, "sender_fields");
    // RFC 6409 8.1: a message without From gets the authenticated identity.
    if (fields.add_from) prefix += "From: <" + user_address_ + ">\r\n";
  }
  // The MX: SPF, DKIM, DMARC; one Authentication-Results field of ours, forged ones removed
  // with the forged trace fields of ours (session/auth.cpp, docs/authentication.md).
  std::string cleaned;  // the message without forged fields (no prefix), when any were removed
  if (port_ == Port::mx) {
    std::string authserv_id;
    if (shared_.authenticator) {
      auto verdict = co_await authenticate(*view, id);
      txn_.checks = verdict;
      if (verdict.disposition == mailstead::inbound::Disposition::reject) co_return refuse(550, "5.7.1", verdict.reply, "dmarc");
      if (verdict.disposition == mailstead::inbound::Disposition::defer) co_return refuse(451, "4.7.0", verdict.reply, "dmarc_temperror");
      txn_.junk = verdict.disposition == mailstead::inbound::Disposition::junk;
      authserv_id = shared_.authenticator->authserv_id();
      // Right below our Received field: the results belong to the hop it records.
      // The client's reverse DNS (inbound/iprev.hpp, found at the first RCPT) is one more method.
      if (inbound_.iprev.status != inbound::IprevStatus::none) verdict.clauses.push_back(inbound_.iprev.clause());
      prefix += inbound::render_authentication_results(authserv_id, verdict.clauses);
    }
    auto hend = mime::header_end(*view);
    mailstead::inbound::ForgedFields removed;
    auto header = mailstead::inbound::remove_forged_fields(view->substr(0, hend), authserv_id, removed);
    if (removed.total()) {
      if (removed.results) log::info("smtp.auth.forged_results_removed", {{"session", id_}, {"id", id}, {"count", removed.results}});
      if (removed.trace) log::info("smtp.inbound.forged_trace_removed", {{"session", id_}, {"id", id}, {"count", removed.trace}});
      cleaned = header;
      cleaned.append(view->substr(hend));
    }
  }
  // Spam scanning (spam_check.cpp, docs/spam.md), of the message as it will be stored.
  std::string rewritten;
  const std::string_view original = cleaned.empty() ? *view : std::string_view(cleaned);
  auto spam_refusal = co_await check_spam(original, prefix, rewritten);
  if (spam_refusal) co_return refuse(550, "5.7.1", *spam_refusal, "spam");
  if (rewritten.empty() && !cleaned.empty()) rewritten = prefix + cleaned;
  auto blob = rewritten.empty() ? message.prepend(prefix) : std::optional<std::string_view>(rewritten);
  if (!blob) co_return refuse(451, "4.3.0", "Local error in processing, try again later", "spool_error");
  co_await deliver(*blob, id);
}

std::string Session::received_header(const std::string& id) const {
  // RFC 5321 4.4 trace field; "with" per RFC 3848 (ESMTP, ESMTPS, ESMTPA, ESMTPSA) and
  // RFC 6531 (UTF8SMTP…); TLS details as RFC 8314 7 suggests.
  std::string with = txn_.mail.smtputf8 ? "UTF8SMTP" : (esmtp_ ? "ESMTP" : "SMTP");
  if (stream_->tls()) with += "S";
  if (user_id_) with += "A";
  // TCP-info (RFC 5321 4.4): the confirmed reverse DNS name, when there is one.
  std::string ptr = inbound_.iprev.status == inbound::IprevStatus::pass ? inbound_.iprev.host + " " : "";
  std::string h = "Received: from " + helo_ + " (" + ptr + "[" + peer_ + "])\r\n\tby " + shared_.core.hostname +
                  " (Mailstead) with " + with + " id " + id;
  if (stream_->tls()) h += "\r\n\t(using " + stream_->tls_version() + " with cipher " + stream_->tls_cipher() + ")";
  if (user_id_) h += "\r\n\t(authenticated as " + user_address_ + ")";
  if (txn_.recipients.size() == 1) h += "\r\n\tfor <" + txn_.recipients.front().address + ">";
  char date[64];
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  std::strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S +0000", &tm);
  h += ";\r\n\t";
  h += date;
  h += "\r\n";
  h += inbound_trace();
  return h;
}

asio::awaitable<void> Session::deliver(std::string_view blob, const std::string& id) {
  auto fanout = list_fanout(blob, id);  // pattern-matched lists (session/lists.cpp)
  if (fanout.refused) {
    reset_transaction();
    co_return send_error(fanout.refused->code, fanout.refused->enhanced, fanout.refused->text);
  }
  // One copy per mailbox, even when several recipients resolve to the same user.
  struct Local {
    std::uint64_t user;
    std::string delivered_to;
  };
  std::vector<Local> locals;
  std::vector<std::string> remotes;
  for (const auto& r : txn_.recipients) {
    if (r.delivery.kind == directory::RouteKind::remote) {
      remotes.push_back(r.address);
      continue;
    }
    for (auto u : r.delivery.users) {
      bool seen = false;
      for (const auto& l : locals) seen |= l.user == u;
      if (!seen) locals.push_back({u, r.address});
    }
  }
  std::vector<std::uint64_t> user_ids;
  for (const auto& l : locals) user_ids.push_back(l.user);
  if (auto over = check_quota(user_ids, blob.size())) {
    // Every recipient gets the same answer: a temporary failure delivers to nobody, so
    // a retry causes no duplicates.
    log::info("smtp.data.over_quota", {{"session", id_}, {"user", *over}});
    reset_transaction();
    if (shared_.settings.quota_permanent) co_return send_error(552, "5.2.2", "Mailbox full");
    co_return send(452, "4.2.2", "Mailbox full, try again later");
  }

  auto now = static_cast<std::int64_t>(std::time(nullptr));
  std::string sender = txn_.mail.path;
  std::uint64_t auth_user = user_id_.value_or(0);

  // Sieve: each local recipient's active script decides where their copy goes, before the
  // one write batch (docs/sieve.md). A script that fails keeps the message in INBOX.
  sieve::DeliveryContext sctx;
  sctx.hostname = shared_.core.hostname;
  sctx.sender = sender;
  sctx.now = now;
  sctx.routing = &shared_.routing;
  sctx.limits = sieve::limits_of(shared_.core);
  sctx.junk = txn_.junk;
  sctx.dmarc_failed = txn_.dmarc_failed();  // no auto-reply to a DMARC failure (docs/sieve.md)
  sctx.spam = txn_.spam;
  sctx.remote_ip = peer_;
  // The scripts run on the Sieve pool, never on this I/O thread: a slow one (bounded by
  // max_cpu_time) delays this message only, not the other sessions of the thread.
  std::vector<sieve::Plan> plans;
  auto plan_all = [&](store::ReadTxn& rtxn) {
    for (const auto& l : locals) {
      sctx.recipient = l.delivered_to;
      plans.push_back(sieve::plan(rtxn, l.user, blob, sctx));
      counters().sieve_ran(plans.back());
      if (!plans.back().error.empty())
        log::warn("sieve.error", {{"session", id_}, {"user", l.user}, {"error", plans.back().error}});
    }
  };
  if (!locals.empty()) {
    // Without any active script there is nothing to run: the implicit keep is planned here,
    // from the same snapshot that found no script, saving the round trip through the pool
    // (two thread hand-offs per message).
    bool scripts = false;
    {
      auto rtxn = shared_.store.read();
      for (const auto& l : locals) scripts = scripts || sieve::active_script(*rtxn, l.user).has_value();
      if (!scripts) plan_all(*rtxn);
    }
    if (scripts) {
      co_await run_on(shared_.sieve_pool, [&] {
        auto rtxn = shared_.store.read();
        plan_all(*rtxn);
      });
    }
  }
  // reject/ereject: refused in the protocol when the message is for that user alone (RFC
  // 5429 2.1); otherwise (other recipients, or other members of a group address) a notice
  // to the sender, and the others still get the message.
  std::vector<sieve::Outgoing> outgoing;
  for (std::size_t i = 0; i < plans.size(); ++i) {
    if (!plans[i].reject) continue;
    if (locals.size() == 1 && remotes.empty()) {
      log::info("sieve.reject", {{"session", id_}, {"user", locals[i].user}, {"mode", "protocol"}});
      auto reason = *plans[i].reject;
      for (auto& ch : reason)
        if (ch == '\r' || ch == '\n' || static_cast<unsigned char>(ch) < 0x20) ch = ' ';
      reset_transaction();
      co_return send_error(550, "5.7.1", reason.empty() ? std::string("Rejected by the recipient's filter") : reason.substr(0, 400));
    }
    // No notice to a sender that is likely forged (junk, DMARC failure): no backscatter.
    if (!sender.empty() && !sctx.junk && !sctx.dmarc_failed)
      outgoing.push_back({"", {sender}, sieve::rejection_notice(sctx, plans[i].address, locals[i].delivered_to,
                                                                *plans[i].reject, blob)});
  }
  struct Copy {
    std::uint64_t user;
    std::string delivered_to, prefix;
    sieve::Filing filing;
    std::string_view bytes;  // the original or an edited message
  };
  std::vector<Copy> copies;
  for (std::size_t i = 0; i < plans.size(); ++i) {
    auto& p = plans[i];
    std::string_view bytes = p.edited ? std::string_view(*p.edited) : blob;
    for (auto& f : p.filings) copies.push_back({locals[i].user, locals[i].delivered_to, "", f, bytes});
    for (auto u : p.local_copies) copies.push_back({u, locals[i].delivered_to, p.redirect_prefix, sieve::Filing{}, bytes});
    for (auto& o : p.outgoing) outgoing.push_back(std::move(o));
  }
  // Parsed once, here, for IMAP and Sieve (DESIGN principle 4).
  struct Blob {
    std::string key, cache;
    std::string_view bytes;
  };
  std::vector<Blob> blobs;
  auto blob_for = [&](std::string_view bytes) -> const std::string& {
    for (const auto& b : blobs)
      if (b.bytes.data() == bytes.data()) return b.key;
    blobs.push_back({store::blob_key(bytes), mime::build_cache(bytes).encode(), bytes});
    return blobs.back().key;
  };
  std::vector<std::string> copy_keys;
  for (const auto& c : copies) copy_keys.push_back(blob_for(c.bytes));
  std::string remote_key = remotes.empty() ? "" : blob_for(blob);
  std::vector<std::string> outgoing_keys;
  for (const auto& o : outgoing) outgoing_keys.push_back(store::blob_key(o.message));
  // Chat streams get the message converted, in the same batch (docs/streams.md).
  // Who posts is decided here (stream_gateway.hpp); a sender the stream refuses gets 550
  // 5.7.1 for the whole message.
  PreparedPosts prepared;
  {
    std::vector<const directory::Delivery*> to_streams;
    for (const auto& r : txn_.recipients)
      if (r.delivery.kind == directory::RouteKind::stream) to_streams.push_back(&r.delivery);
    if (!to_streams.empty()) {
      auto rtxn = shared_.store.read();
      prepared = prepare_stream_posts(*rtxn, to_streams, blob, shared_.settings.streams,
                                      PostAuthor{user_id_, sender, txn_.dmarc_pass_domain(), shared_.routing.delimiter}, now);
    }
  }
  if (prepared.refused) {
    log::info("smtp.data.stream_refused", {{"session", id_}, {"id", id}, {"from", sender}, {"reason", prepared.refused->text}});
    reset_transaction();
    co_return send_error(prepared.refused->code, prepared.refused->enhanced, prepared.refused->text);
  }
  const auto& stream_posts = prepared.posts;

  auto batch = [&](store::WriteTxn& t) -> std::error_code {
    for (const auto& b : blobs) {
      if (auto ec = store::put_blob(t, b.key, b.bytes)) return ec;
      if (!t.get(store::Table::blob_cache, b.key))
        if (auto ec = t.put(store::Table::blob_cache, b.key, b.cache)) return ec;
    }
    for (std::size_t i = 0; i < copies.size(); ++i) {
      const auto& c = copies[i];
      auto box = sieve::filing_mailbox(t, c.user, c.filing);
      if (!box) continue;  // the user was removed since RCPT
      store::MessageRecord m;
      m.blob = copy_keys[i];
      m.internaldate = now;
      m.flags = c.filing.flags;
      m.keywords = c.filing.keywords;
      m.prefix = "Return-Path: <" + sender + ">\r\nDelivered-To: " + c.delivered_to + "\r\n" + c.prefix;
      if (!store::append(t, box->id, std::move(m))) return store::Errc::aborted;
    }
    auto queue = [&](const std::string& from, const std::vector<std::string>& to, const std::string& key) {
      store::QueueRecord q;
      q.sender = from;
      q.recipients = to;
      q.blob = key;
      q.authenticated_user = auth_user;
      q.created = now;
      q.next_attempt = now;
      return store::enqueue(t, std::move(q)).has_value();
    };
    if (!remotes.empty() && !queue(sender, remotes, remote_key)) return store::Errc::aborted;
    for (std::size_t i = 0; i < outgoing.size(); ++i) {
      if (auto ec = store::put_blob(t, outgoing_keys[i], outgoing[i].message)) return ec;
      if (!queue(outgoing[i].sender, outgoing[i].recipients, outgoing_keys[i])) return store::Errc::aborted;
    }
    if (auto ec = write_stream_posts(t, stream_posts, shared_.settings.streams)) return ec;
    if (auto ec = write_list_posts(t, fanout, now)) return ec;
    for (std::size_t i = 0; i < plans.size(); ++i)
      for (const auto& tr : plans[i].tracking)
        if (auto ec = sieve::track(t, locals[i].user, tr.kind, tr.key, tr.expires)) return ec;
    // A blob no copy ended up in (every user it was for was removed since RCPT) is not kept.
    for (const auto& b : blobs)
      if (auto ec = store::drop_unreferenced_blob(t, b.key)) return ec;
    return {};
  };
  auto ec = co_await store::async_commit(shared_.store, batch, asio::use_awaitable);
  if (ec) {
    log::error("smtp.deliver.failed", {{"session", id_}, {"id", id}, {"error", ec.message()}});
    reset_transaction();
    // RFC 5321 4.2.3 (452) and RFC 3463 X.3.1: the store's disk is full; the client retries.
    if (ec == store::Errc::full) co_return send(452, "4.3.1", "Insufficient system storage, try again later");
    co_return send(451, "4.3.0", "Local error in processing, try again later");
  }
  log::info("smtp.delivered", {{"session", id_}, {"id", id}, {"from", sender}, {"size", blob.size()},
                               {"local", copies.size()}, {"remote", remotes.size()}, {"generated", outgoing.size()},
                               {"streams", stream_posts.size()}, {"list_copies", fanout.entries.size()}});
  counters().accepted(blob.size(), copies.size(), remotes.size());
  reset_transaction();
  send(250, "2.0.0", "Ok: queued as " + id);
}

}  // namespace mailstead::smtp
