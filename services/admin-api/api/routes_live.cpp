// GET /api/v1/streams/{stream}/live: a stream's new messages pushed over a WebSocket
// (RFC 6455) as they are posted by any path: the API, the CLI, smtpd's email gateway
// (docs/streams.md, "Live updates"). The handshake is checked like any request of the
// stream (a member or an administrator), plus the Origin of a browser's session against
// the Host, so another site cannot open it with the user's cookie (cross-site WebSocket
// hijacking). New messages are found by the process's live::Hub, never by polling per
// connection; each connection reads them from the store itself, so a slow reader only
// falls behind (nothing is queued for it in memory) and is cut off by the write timeout.
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>

#include "api/handlers.hpp"
#include "api/stream_json.hpp"
#include "http/websocket.hpp"
#include "live/hub.hpp"
#include "log/log.hpp"
#include "ops/streams.hpp"
#include "util/text.hpp"

namespace mailstead::api {

namespace {

constexpr auto tuple_awaitable = asio::as_tuple(asio::use_awaitable);
constexpr std::uint32_t batch_size = 100;  // messages read per store look while catching up
// How often a quiet connection checks that its session and membership still hold.
constexpr auto recheck_every = std::chrono::seconds(20);

// A member with the stream open is watching it (no notification emails) until a little
// past the page's next heartbeat (every 30 s while visible): a page closed or hidden stops
// counting by itself, and another open tab of the member keeps it going.
constexpr std::int64_t watch_for_seconds = 75;
// At most one store write per connection this often, however often the page says `watch`.
constexpr auto watch_rewrite = std::chrono::seconds(20);

bool same_origin(const http::Request& req) {
  auto origin = req.header("origin");
  auto host = req.header("host");
  if (origin.empty() || host.empty()) return false;
  std::string want = std::string(req.tls ? "https://" : "http://") + std::string(host);
  return iequals(origin, want);
}

struct Live {
  Api& api;
  http::Request creds;  // the handshake's credentials (cookie or token), to check them again
  Principal who;
  std::string slug;
  std::uint64_t stream = 0;
  std::uint64_t last = 0;  // the newest message id the peer has
  std::unique_ptr<live::Hub::Slot> slot;
  // On the connection's thread only:
  std::shared_ptr<live::Wake> wake;
  bool done = false, peer_gone = false;
  std::uint16_t close_code = 1000;
  std::string close_reason = "bye";
  std::optional<std::chrono::steady_clock::time_point> watched_at;  // the last watch written

  Live(Api& a, http::Request c, Principal w, std::string s, std::uint64_t id, std::uint64_t after,
       std::unique_ptr<live::Hub::Slot> held)
      : api(a), creds(std::move(c)), who(std::move(w)), slug(std::move(s)), stream(id), last(after), slot(std::move(held)) {}

  void stop() {
    done = true;
    if (wake) wake->timer.cancel();
  }

  // Still signed in, still a member (or an administrator), the stream still there?
  std::string still_allowed() {
    auto now = identify(api, creds);
    if (!now.authenticated || now.user != who.user || now.token != who.token) return "signed out";
    if (now.admin) return "";
    admin::StreamOps so(api.ops, api.settings.streams);
    if (!so.is_member(slug, now.user)) return "no longer a member of the stream";
    return "";
  }

  // The page says it is open (`watch`, `heartbeat`): the member is watching the stream
  // (streams::set_watching through StreamOps::plan_watch, which checks the membership: an
  // administrator who is no member, or an API token, watches nothing).
  asio::awaitable<void> note_watching() {
    if (who.token || who.user == 0) co_return;
    auto now = std::chrono::steady_clock::now();
    if (watched_at && now - *watched_at < watch_rewrite) co_return;
    watched_at = now;
    admin::StreamOps so(api.ops, api.settings.streams);
    auto plan = so.plan_watch(slug, who.address, watch_for_seconds);
    if (plan.refused) co_return;
    auto refused = std::make_shared<std::string>();
    store::BatchFn batch = [apply = std::move(plan.apply), refused](store::WriteTxn& txn) -> std::error_code {
      auto r = apply(txn);
      if (r) return {};
      *refused = r.error().message;
      return store::Errc::aborted;
    };
    auto ec = co_await store::async_commit(api.ops.store(), std::move(batch), asio::use_awaitable);
    if (ec) log::debug("admin.live.watch_not_noted", {{"stream", slug}, {"user", who.address},
                                                      {"error", refused->empty() ? ec.message() : *refused}});
  }

  asio::awaitable<void> reader(http::WebSocket& ws) {
    for (;;) {
      std::string text;
      boost::system::error_code ec;
      co_await ws.read(text, ec);
      if (ec) {
        if (!done) peer_gone = true;
        break;
      }
      // {"type": "heartbeat" | "watch", "topic": "…"}: the page is open (on that topic).
      boost::system::error_code jec;
      auto v = json::parse(text, jec);
      const json::object* o = (!jec && v.is_object()) ? &v.as_object() : nullptr;
      const json::value* type = o ? o->if_contains("type") : nullptr;
      const json::value* topic = o ? o->if_contains("topic") : nullptr;
      if (!type || !type->is_string() || (type->as_string() != "heartbeat" && type->as_string() != "watch") ||
          (topic && !topic->is_string())) {
        close_code = 1008;
        close_reason = "expected {\"type\": \"heartbeat\" or \"watch\", \"topic\": \"…\"}";
        break;
      }
      co_await note_watching();
    }
    stop();
  }

  asio::awaitable<void> writer(http::WebSocket& ws) {
    boost::system::error_code ec;
    std::string hello = json::serialize(json::object{{"type", "hello"}, {"stream", slug}, {"last_id", last}});
    co_await ws.write(hello, ec);
    if (ec) peer_gone = true;
    auto next_check = std::chrono::steady_clock::now() + recheck_every;
    while (!done && !peer_gone) {
      auto token = api.live->watch(stream, last, wake->timer.get_executor(), wake);
      if (!wake->woken) {
        wake->timer.expires_after(recheck_every);
        co_await wake->timer.async_wait(tuple_awaitable);
      }
      bool woken = wake->woken;
      wake->woken = false;
      api.live->unwatch(token);
      if (done) break;
      if (woken || std::chrono::steady_clock::now() >= next_check) {
        next_check = std::chrono::steady_clock::now() + recheck_every;
        if (auto why = still_allowed(); !why.empty()) {
          close_code = 1008;
          close_reason = why;
          break;
        }
      }
      if (!woken) continue;
      // Everything after `last`, in batches; each message written before the next is read.
      for (bool more = true; more && !done;) {
        admin::StreamOps so(api.ops, api.settings.streams);
        streams::Query q;
        q.after = last;
        q.limit = batch_size;
        auto got = so.messages(slug, q);
        if (!got) {
          close_code = 1008;
          close_reason = "the stream was removed";
          done = true;
          break;
        }
        more = got->size() == batch_size;
        for (const auto& m : *got) {
          std::string frame = json::serialize(json::object{{"type", "message"}, {"message", stream_message_view(slug, m)}});
          co_await ws.write(frame, ec);
          if (ec) {
            peer_gone = true;
            more = false;
            break;
          }
          last = m.id;
        }
      }
    }
    if (!peer_gone) co_await ws.close(close_code, close_reason);
    log::info("admin.live.closed", {{"stream", slug}, {"user", who.token ? "token " + who.token_name : who.address},
                                    {"code", close_code}, {"peer_gone", peer_gone}});
    ws.abort();  // ends the reader's pending read, if any
    stop();
  }

  static asio::awaitable<void> serve(std::shared_ptr<Live> self, http::WebSocket& ws) {
    auto ex = co_await asio::this_coro::executor;
    self->wake = std::make_shared<live::Wake>(ex);
    using namespace asio::experimental::awaitable_operators;
    auto r = self->reader(ws);
    auto w = self->writer(ws);
    auto both = std::move(r) && std::move(w);
    co_await std::move(both);
  }
};

}  // namespace

namespace stream_routes {

H stream_live(Call& c) {
  if (!c.req.websocket)
    co_return error_reply(400, "websocket_required",
                          "this route is a WebSocket: open it with Upgrade: websocket (docs/streams.md)");
  // A browser's session cookie rides along on any site's WebSocket: only this origin's pages
  // may use it. An API token is no ambient credential and needs no Origin.
  if (!c.who.token && !same_origin(c.req))
    co_return error_reply(403, "origin", "the Origin header does not match this server", "Origin");
  admin::StreamOps so(c.api.ops, c.api.settings.streams);
  auto v = so.get(c.param("stream"));
  bool member = false;
  if (v)
    for (auto id : v->stream.members) member |= id == c.who.user && c.who.user != 0;
  if (!v || (!c.who.admin && !member)) co_return error_reply(404, "not_found", "no stream " + c.param("stream"), "stream");
  if (!c.api.live) co_return error_reply(500, "internal", "live updates are not running");
  // Where to start: ?after=ID (a reconnecting page: what it missed comes at once), else now.
  std::uint64_t after = 0;
  if (auto text = c.req.query_param("after"); !text.empty()) {
    for (char ch : text) {
      if (ch < '0' || ch > '9' || after > UINT64_MAX / 20) co_return error_reply(422, "invalid", "after is a message id", "after");
      after = after * 10 + static_cast<std::uint64_t>(ch - '0');
    }
  } else if (auto topics = so.topics(v->stream.slug)) {
    for (const auto& t : *topics) after = std::max(after, t.last_id);
  }
  std::string who = c.who.token ? "token:" + c.who.token_name : "user:" + std::to_string(c.who.user);
  auto slot = c.api.live->acquire(who, c.api.settings.live_max_connections_per_user);
  if (!slot)
    co_return error_reply(429, "throttled",
                          "too many live connections (at most " + std::to_string(c.api.settings.live_max_connections_per_user) +
                              " per user); close another tab");
  http::Request creds;
  for (const auto& h : c.req.headers)
    if (h.first == "cookie" || h.first == "authorization") creds.headers.push_back(h);
  auto live = std::make_shared<Live>(c.api, std::move(creds), c.who, v->stream.slug, v->stream.id, after, std::move(slot));
  log::info("admin.live.open", {{"stream", live->slug}, {"user", c.who.token ? "token " + c.who.token_name : c.who.address},
                                {"peer", c.req.peer}, {"after", after}});
  http::Response r;
  r.status = 101;
  r.content_type.clear();
  r.upgrade = std::make_shared<http::Upgrade>();
  r.upgrade->limits.max_message_size = c.api.settings.live_max_message_size;
  r.upgrade->limits.idle_timeout = c.api.settings.live_idle_timeout;
  r.upgrade->limits.write_timeout = c.api.settings.write_timeout;
  r.upgrade->run = [live](http::WebSocket& ws) { return Live::serve(live, ws); };
  co_return r;
}

}  // namespace stream_routes

}  // namespace mailstead::api
