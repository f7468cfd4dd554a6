// The chat gateway's IMAP poller (see stream_poller.hpp).
#include "poll/stream_poller.hpp"

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <ctime>
#include <map>
#include <stdexcept>

#include "log/log.hpp"
#include "metrics/metrics.hpp"
#include "poll/imap_client.hpp"
#include "store/async.hpp"
#include "store/store.hpp"
#include "streams/polled.hpp"

namespace mailstead::poll {

namespace asio = boost::asio;

namespace {

std::int64_t now_s() { return static_cast<std::int64_t>(std::time(nullptr)); }

struct Counters {
  metrics::Registry& reg = metrics::process();
  static constexpr const char* help = "Messages the chat gateway's IMAP poller took from the mailbox, by outcome";
  metrics::Counter& posted = reg.counter("mailstead_stream_poll_messages_total", help, {{"outcome", "posted"}});
  metrics::Counter& refused = reg.counter("mailstead_stream_poll_messages_total", help, {{"outcome", "refused"}});
  metrics::Counter& duplicate = reg.counter("mailstead_stream_poll_messages_total", help, {{"outcome", "duplicate"}});
  metrics::Counter& connect_failures = reg.counter(
      "mailstead_stream_poll_failures_total", "IMAP poller connections that failed or broke (login refused included)");
};
Counters& counters() {
  static Counters c;
  return c;
}

// "3:5,9" for {3, 4, 5, 9} (RFC 3501 9 "sequence-set"); `uids` sorted.
std::string uid_set(const std::vector<std::uint32_t>& uids) {
  std::string out;
  for (std::size_t i = 0; i < uids.size();) {
    std::size_t j = i;
    while (j + 1 < uids.size() && uids[j + 1] == uids[j] + 1) ++j;
    if (!out.empty()) out += ',';
    out += std::to_string(uids[i]);
    if (j > i) out += ':' + std::to_string(uids[j]);
    i = j + 1;
  }
  return out;
}

asio::ssl::context make_tls(const streams::Settings::Poll& st) {
  asio::ssl::context ctx(asio::ssl::context::tls_client);
  SSL_CTX_set_min_proto_version(ctx.native_handle(), TLS1_2_VERSION);
  ctx.set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_compression);
  boost::system::error_code ec;
  if (!st.ca_file.empty()) {
    ctx.load_verify_file(st.ca_file, ec);
    if (ec) throw std::runtime_error("[streams] poll_ca_file " + st.ca_file + ": " + ec.message());
  } else {
    ctx.set_default_verify_paths(ec);
  }
  return ctx;
}

}  // namespace

StreamPoller::StreamPoller(asio::io_context& io, store::Store& store, const config::CoreSettings& core,
                           const streams::Settings& settings)
    : io_(io),
      store_(store),
      settings_(settings),
      st_(settings.poll),
      password_(core.secrets.stream_poll_password),
      source_(streams::poll_source(st_.host, st_.port, st_.user, st_.mailbox)),
      tls_(make_tls(settings.poll)),
      wake_(io) {
  if (password_.empty()) throw std::runtime_error("[streams] poll_host is set but the secrets file has no [streams] poll_password");
  if (password_.find_first_of(std::string("\r\n\0", 3)) != std::string::npos)
    throw std::runtime_error("[streams] poll_password may not hold CR, LF or NUL");
  routing_.delimiter = core.routing.recipient_delimiter;
  routing_.stream_gateway = settings.pattern;
  counters();
}

StreamPoller::~StreamPoller() = default;

void StreamPoller::stop() {
  stopping_ = true;
  wake_.cancel();
  if (conn_) conn_->close();
}

asio::awaitable<void> StreamPoller::sleep(std::chrono::milliseconds d) {
  wake_.expires_after(d);
  co_await wake_.async_wait(asio::as_tuple(asio::use_awaitable));
}

asio::awaitable<void> StreamPoller::run() {
  log::info("stream.poll.started", {{"server", st_.host + ":" + std::to_string(st_.port)}, {"user", st_.user},
                                    {"mailbox", st_.mailbox}, {"after", st_.after_delete ? "delete" : "flag"}});
  std::chrono::milliseconds backoff = std::chrono::seconds(1);
  while (!stopping_) {
    bool worked = false;
    auto why = co_await session(worked);
    if (conn_) conn_->close();
    conn_.reset();
    if (stopping_) break;
    ++counters().connect_failures;
    // A connection that did its work starts the back-off afresh; one that never got that far
    // (down, refused TLS, bad password) waits twice as long each time, up to poll_backoff_max.
    if (worked) backoff = std::chrono::seconds(1);
    log::warn("stream.poll.disconnected", {{"server", st_.host + ":" + std::to_string(st_.port)}, {"reason", why},
                                           {"retry_in_ms", static_cast<std::int64_t>(backoff.count())}});
    co_await sleep(backoff);
    backoff = std::min(backoff * 2, st_.backoff_max);
  }
  log::info("stream.poll.stopped", {{"server", st_.host + ":" + std::to_string(st_.port)}});
}

asio::awaitable<std::string> StreamPoller::session(bool& worked) {
  auto c = std::make_shared<Connection>(io_.get_executor(), tls_, st_);
  conn_ = c;
  if (auto e = co_await c->open(); !e.empty()) co_return e;
  if (stopping_) co_return "stopped";
  const std::string capability = "CAPABILITY";
  if (!c->has("IMAP4REV1")) {
    auto r = co_await c->command(capability);
    if (!r.ok()) co_return "CAPABILITY: " + r.why();
  }
  if (c->has("LOGINDISABLED")) co_return c->remote() + " does not allow LOGIN (LOGINDISABLED)";
  std::string login = "LOGIN " + quote(st_.user) + " " + quote(password_);
  auto r = co_await c->command(std::move(login), true);
  if (!r.error.empty()) co_return r.error;
  if (!r.ok()) {
    // The password is never logged; the server's words say why.
    log::error("stream.poll.login_failed", {{"server", c->remote()}, {"user", st_.user},
                                            {"reply", r.status.kind + " " + r.status.text.substr(0, 200)}});
    co_return "login refused";
  }
  r = co_await c->command(capability);  // RFC 3501 6.2.3: they may change after login
  if (!r.ok()) co_return "CAPABILITY: " + r.why();
  std::string select = "SELECT " + quote(st_.mailbox);
  r = co_await c->command(std::move(select));
  if (!r.ok()) co_return "SELECT " + st_.mailbox + ": " + r.why();
  std::optional<std::uint32_t> uidvalidity;
  for (const auto& f : r.untagged)
    if (auto s = parse_status(f.text); s && s->tag == "*" && s->kind == "OK")
      if (auto v = code_number(s->code, "UIDVALIDITY")) uidvalidity = *v;
  if (!uidvalidity) co_return "SELECT " + st_.mailbox + " gave no UIDVALIDITY";
  log::info("stream.poll.connected", {{"server", c->remote()}, {"mailbox", st_.mailbox},
                                      {"uidvalidity", *uidvalidity}, {"idle", c->has("IDLE")}});
  if (st_.after_delete)
    if (auto e = co_await finish_deleted(*c, *uidvalidity); !e.empty()) co_return e;
  while (!stopping_) {
    bool more = false;
    if (auto e = co_await round(*c, *uidvalidity, more); !e.empty()) co_return e;
    worked = true;
    if (stopping_ || more) continue;
    if (c->has("IDLE")) {
      if (auto e = co_await c->idle(st_.idle_restart); !e.empty()) co_return e;
    } else {
      co_await sleep(st_.interval);
    }
  }
  co_return "stopped";
}

// Messages posted and flagged \Deleted whose expunge a restart interrupted.
asio::awaitable<std::string> StreamPoller::finish_deleted(Connection& c, std::uint32_t uidvalidity) {
  const std::string search = "UID SEARCH DELETED";
  auto r = co_await c.command(search);
  if (!r.ok()) co_return "UID SEARCH: " + r.why();
  std::vector<std::uint32_t> ours;
  {
    auto txn = store_.read();
    for (const auto& f : r.untagged)
      if (auto uids = parse_search(f.text))
        for (auto uid : *uids)
          if (auto rec = streams::find_polled(*txn, source_, uidvalidity, uid);
              rec && rec->outcome != streams::PollOutcome::refused && ours.size() < st_.batch)
            ours.push_back(uid);
  }
  if (ours.empty()) co_return "";
  std::sort(ours.begin(), ours.end());
  std::string cmd = c.has("UIDPLUS") ? "UID EXPUNGE " + uid_set(ours) : "EXPUNGE";
  r = co_await c.command(std::move(cmd));
  if (!r.ok()) co_return "EXPUNGE: " + r.why();
  co_return "";
}

asio::awaitable<std::string> StreamPoller::round(Connection& c, std::uint32_t uidvalidity, bool& more) {
  std::string search = st_.after_delete ? "UID SEARCH UNDELETED" : "UID SEARCH UNSEEN UNDELETED";
  auto r = co_await c.command(std::move(search));
  if (!r.ok()) co_return "UID SEARCH: " + r.why();
  std::vector<std::uint32_t> uids;
  for (const auto& f : r.untagged)
    if (auto u = parse_search(f.text)) uids.insert(uids.end(), u->begin(), u->end());
  std::sort(uids.begin(), uids.end());
  uids.erase(std::unique(uids.begin(), uids.end()), uids.end());

  // Recorded already: posted (its flag or expunge was interrupted) or refused (left).
  std::vector<std::uint32_t> todo, finish, reflag;
  {
    auto txn = store_.read();
    for (auto uid : uids) {
      auto rec = streams::find_polled(*txn, source_, uidvalidity, uid);
      if (!rec) {
        if (todo.size() < st_.batch) todo.push_back(uid);
        else more = true;
      } else if (rec->outcome != streams::PollOutcome::refused) {
        if (finish.size() < st_.batch) finish.push_back(uid);
      } else if (!st_.after_delete) {
        reflag.push_back(uid);  // refused but still unseen: its flag was interrupted
      }
    }
  }
  const std::string done_flags = st_.after_delete ? "(\\Seen \\Deleted)" : "(\\Seen)";
  const std::string refused_flags = "(\\Seen \\Flagged)";
  std::vector<std::uint32_t> expunge;
  if (!finish.empty()) {
    std::string cmd = "UID STORE " + uid_set(finish) + " +FLAGS.SILENT " + done_flags;
    r = co_await c.command(std::move(cmd));
    if (!r.ok()) co_return "UID STORE: " + r.why();
    expunge = finish;
  }
  if (!reflag.empty()) {
    if (reflag.size() > st_.batch) reflag.resize(st_.batch);
    std::string cmd = "UID STORE " + uid_set(reflag) + " +FLAGS.SILENT " + refused_flags;
    r = co_await c.command(std::move(cmd));
    if (!r.ok()) co_return "UID STORE: " + r.why();
  }

  std::map<std::uint32_t, std::uint64_t> sizes;
  if (!todo.empty()) {
    std::string cmd = "UID FETCH " + uid_set(todo) + " (UID RFC822.SIZE)";
    r = co_await c.command(std::move(cmd));
    if (!r.ok()) co_return "UID FETCH: " + r.why();
    for (const auto& f : r.untagged)
      if (auto d = parse_fetch(f); d && d->uid && d->size) sizes[*d->uid] = *d->size;
  }
  for (auto uid : todo) {
    if (stopping_) break;
    auto size = sizes.find(uid);
    if (size == sizes.end()) continue;  // expunged by someone else meanwhile
    streams::PolledMessage m;
    std::string bytes;
    auto now = now_s();
    if (size->second > st_.max_message_size) {
      m.refused = directory::Rejection{552, "5.3.4", "Message size " + std::to_string(size->second) +
                                                         " exceeds poll_max_message_size " +
                                                         std::to_string(st_.max_message_size)};
    } else {
      std::string cmd = "UID FETCH " + std::to_string(uid) + " (UID BODY.PEEK[])";
      r = co_await c.command(std::move(cmd));
      if (!r.ok()) co_return "UID FETCH: " + r.why();
      bool found = false;
      for (auto& f : r.untagged)
        if (auto d = parse_fetch(f); d && d->uid == uid && d->body) {
          bytes = std::move(*d->body);
          found = true;
        }
      if (!found) continue;
      auto txn = store_.read();
      m = streams::prepare_polled(*txn, routing_, settings_, bytes, now);
    }
    m.source = source_;
    m.uidvalidity = uidvalidity;
    m.uid = uid;
    streams::PollOutcome outcome = streams::PollOutcome::posted;
    store::BatchFn batch = [&](store::WriteTxn& t) { return streams::commit_polled(t, m, settings_, now, outcome); };
    auto ec = co_await store::async_commit(store_, std::move(batch), asio::use_awaitable);
    if (ec) co_return "the store failed: " + ec.message();
    std::string stream = m.posts.empty() ? std::string() : m.posts.front().slug;
    if (outcome == streams::PollOutcome::refused) {
      ++counters().refused;
      log::warn("stream.poll.refused", {{"uid", uid}, {"message_id", m.message_id}, {"address", m.address},
                                        {"reason", m.refused ? std::to_string(m.refused->code) + " " + m.refused->enhanced +
                                                                   " " + m.refused->text
                                                             : std::string("the stream was removed")}});
      std::string cmd = "UID STORE " + std::to_string(uid) + " +FLAGS.SILENT " + refused_flags;
      r = co_await c.command(std::move(cmd));
      if (!r.ok()) co_return "UID STORE: " + r.why();
      continue;
    }
    ++(outcome == streams::PollOutcome::posted ? counters().posted : counters().duplicate);
    log::info(outcome == streams::PollOutcome::posted ? "stream.poll.posted" : "stream.poll.duplicate",
              {{"uid", uid}, {"message_id", m.message_id}, {"stream", stream}, {"size", bytes.size()}});
    std::string cmd = "UID STORE " + std::to_string(uid) + " +FLAGS.SILENT " + done_flags;
    r = co_await c.command(std::move(cmd));
    if (!r.ok()) co_return "UID STORE: " + r.why();
    expunge.push_back(uid);
  }
  if (st_.after_delete && !expunge.empty()) {
    std::sort(expunge.begin(), expunge.end());
    // RFC 4315 2.1: UID EXPUNGE removes only these; without UIDPLUS, EXPUNGE removes every
    // \Deleted message of the mailbox (it is the gateway's own).
    std::string cmd = c.has("UIDPLUS") ? "UID EXPUNGE " + uid_set(expunge) : "EXPUNGE";
    r = co_await c.command(std::move(cmd));
    if (!r.ok()) co_return "EXPUNGE: " + r.why();
  }
  co_return "";
}

}  // namespace mailstead::poll
