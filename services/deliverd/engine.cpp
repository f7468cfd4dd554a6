// The delivery engine (see engine.hpp and docs/delivery.md).
#include "engine.hpp"

#include <fcntl.h>
#include <sodium.h>
#include <unistd.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cstring>
#include <ctime>
#include <deque>
#include <filesystem>
#include <map>
#include <optional>
#include <boost/asio/ip/address.hpp>

#include "client.hpp"
#include "counters.hpp"
#include "delivery/local.hpp"
#include "directory/directory.hpp"
#include "directory/routing.hpp"
#include "dkim/dkim.hpp"
#include "relay/relay.hpp"
#include "srs/srs.hpp"
#include "dns/resolver.hpp"
#include "log/log.hpp"
#include "queue/queue.hpp"
#include "mta_sts.hpp"
#include "route.hpp"
#include "security.hpp"
#include "sieve/delivery.hpp"
#include "store/async.hpp"
#include "store/mailstore.hpp"
#include "store/store.hpp"

namespace mailstead::outbound {

namespace asio = boost::asio;
using queue::Outcome;
using queue::Result;

namespace {

std::int64_t now_s() { return static_cast<std::int64_t>(std::time(nullptr)); }
std::int64_t secs(std::chrono::milliseconds d) { return std::max<std::int64_t>(1, d.count() / 1000); }

std::string domain_of(const std::string& address) {
  auto at = address.rfind('@');
  std::string d = at == std::string::npos ? "" : address.substr(at + 1);
  for (auto& c : d)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return d;
}

std::string random_hex(std::size_t bytes) {
  std::string raw(bytes, '\0');
  randombytes_buf(raw.data(), raw.size());
  static const char hex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char b : raw) out.push_back(hex[b >> 4]), out.push_back(hex[b & 15]);
  return out;
}

// The outbound TLS context: TLS 1.2 at least; certificates are not checked for
// opportunistic STARTTLS (RFC 7435), and checked against the system's CAs where a policy
// demands it.
asio::ssl::context make_client_tls() {
  asio::ssl::context ctx(asio::ssl::context::tls_client);
  SSL_CTX_set_min_proto_version(ctx.native_handle(), TLS1_2_VERSION);
  SSL_CTX_set_options(ctx.native_handle(), SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
  boost::system::error_code ec;
  ctx.set_default_verify_paths(ec);
  return ctx;
}

}  // namespace

struct Engine::Impl : std::enable_shared_from_this<Impl> {
  struct Job {
    std::uint64_t id = 0;
    Envelope env;
  };
  // Where a group of recipients goes: a domain's MX hosts, or a relay (smarthost).
  struct InFlight {
    int parts = 0;
  };
  struct Destination {
    std::deque<Job> jobs;
    unsigned active = 0;
    std::optional<relay::Relay> relay;  // set: every job goes to this relay
  };

  asio::io_context& io;
  store::Store& store;
  const config::CoreSettings& core;
  const Settings& settings;
  queue::Policy policy;
  std::string owner;
  std::shared_ptr<dns::Cache> cache;
  dns::Resolver resolver;
  asio::ssl::context tls = make_client_tls();
  asio::ssl::context verified_tls = make_client_tls();  // relays: the certificate must check out
  // MX hosts under DANE or MTA-STS, and MTA-STS policy servers (security.hpp, mta_sts.hpp).
  asio::ssl::context secure_tls = make_client_tls();
  std::unique_ptr<mta_sts::Client> sts_client;
  directory::RoutingSettings routing;
  asio::steady_timer wake;
  std::map<std::uint64_t, InFlight> inflight;
  std::map<std::string, Destination> dests;
  unsigned connections = 0;
  bool stopping = false;
  std::size_t max_inflight;
  std::function<void(std::uint64_t, const std::vector<Outcome>&)> observer;  // deliver_now()

  Impl(asio::io_context& ctx, store::Store& s, const config::CoreSettings& c, const Settings& st)
      : io(ctx),
        store(s),
        core(c),
        settings(st),
        cache(std::make_shared<dns::Cache>(c.dns.cache_entries)),
        resolver(ctx, {c.dns.nameservers, c.dns.timeout, c.dns.tries}, cache),
        wake(ctx) {
    policy.retry_base = secs(st.retry_base);
    policy.retry_max = secs(st.retry_max);
    policy.lifetime = secs(st.max_queue_lifetime);
    policy.delay_warning = st.delay_warning_time.count() ? secs(st.delay_warning_time) : 0;
    policy.lease = secs(st.lease_time);
    policy.hostname = c.hostname;
    char host[256] = {};
    gethostname(host, sizeof host - 1);
    owner = std::string(host) + "/" + std::to_string(getpid()) + "/" + random_hex(4);
    max_inflight = std::max<std::size_t>(64, std::size_t{st.max_connections} * st.max_messages_per_connection);
    routing.delimiter = c.routing.recipient_delimiter;
    auto keys = srs::load_keys(s, c);
    if (!keys) throw std::runtime_error(keys.error().message);
    routing.srs_keys = std::move(*keys);
    routing.srs_max_age_days = c.srs.max_age_days;
    if (!st.tls_ca_file.empty()) {
      boost::system::error_code ec;
      verified_tls.load_verify_file(st.tls_ca_file, ec);
      if (ec) throw std::runtime_error("outbound.tls_ca_file: cannot use " + st.tls_ca_file + ": " + ec.message());
    }
    if (!st.mta_sts_ca_file.empty()) {
      boost::system::error_code ec;
      secure_tls.load_verify_file(st.mta_sts_ca_file, ec);
      if (ec) throw std::runtime_error("outbound.mta_sts_ca_file: cannot use " + st.mta_sts_ca_file + ": " + ec.message());
    }
    if (SSL_CTX_dane_enable(secure_tls.native_handle()) <= 0) throw std::runtime_error("OpenSSL cannot enable DANE");
    mta_sts::FetchOptions fo;
    fo.port = st.mta_sts_https_port;
    fo.timeout = st.mta_sts_fetch_timeout;
    fo.max_size = st.mta_sts_max_policy_size;
    sts_client = std::make_unique<mta_sts::Client>(io, resolver, store, secure_tls, fo);
  }

  // DKIM (docs/outbound.md): signed with the keys of the From domain when it is ours; mail
  // whose From is not ours (a redirect, a forward) or has none of our keys (a DSN from the
  // host name) is signed by the domain that sends it: the envelope sender's (after SRS), or
  // the first local domain for a bounce.
  std::string signed_message(std::uint64_t id, const std::string& message, const std::string& envelope_domain) {
    std::vector<dkim::Key> keys;
    {
      auto txn = store.read();
      keys = dkim::signing_keys(*txn, dkim::from_domain(message));
      if (keys.empty() && !envelope_domain.empty()) keys = dkim::signing_keys(*txn, envelope_domain);
      if (keys.empty() && envelope_domain.empty()) {
        auto domains = directory::list_domains(*txn);
        if (!domains.empty()) keys = dkim::signing_keys(*txn, domains.front().name);
      }
    }
    if (keys.empty()) return message;
    auto fields = dkim::sign(message, keys);
    if (!fields) {
      log::warn("dkim.sign.failed", {{"id", id}, {"why", fields.error().message}});
      return message;
    }
    return *fields + message;
  }

  ClientOptions client_options() const {
    ClientOptions o;
    o.helo = core.hostname;
    o.tls = const_cast<asio::ssl::context*>(&tls);
    o.timeouts.connect = settings.connect_timeout;
    o.timeouts.greeting = settings.greeting_timeout;
    o.timeouts.command = settings.command_timeout;
    o.timeouts.data_init = settings.data_init_timeout;
    o.timeouts.data_block = settings.data_block_timeout;
    o.timeouts.data_done = settings.data_done_timeout;
    return o;
  }

  // ---- settling ----

  // Records outcomes for one part of a record; the last part ends the lease.
  // `security`: the TLS policy that applied, for the send log.
  asio::awaitable<void> settle_part(std::uint64_t id, std::vector<Outcome> outcomes,
                                    std::function<std::error_code(store::WriteTxn&)> also = {},
                                    const std::string* security = nullptr) {
    auto it = inflight.find(id);
    bool last = it == inflight.end() || --it->second.parts <= 0;
    if (observer && !outcomes.empty()) observer(id, outcomes);
    auto now = now_s();
    auto ec = co_await store::async_commit(
        store,
        [&, id, last, now](store::WriteTxn& t) -> std::error_code {
          if (also)
            if (auto e = also(t)) return e;
          return queue::settle(t, id, owner, outcomes, now, policy, nullptr, !last, security ? *security : std::string());
        },
        asio::use_awaitable);
    if (ec) log::error("delivery.settle.failed", {{"id", id}, {"error", ec.message()}});
    if (!ec) counters().settled(outcomes);
    if (last) inflight.erase(id);
    wake.cancel();  // a DSN may have been queued: look again soon
  }

  // ---- one record ----

  asio::awaitable<void> start(store::QueueRecord rec) {
    auto now = now_s();
    std::string message;
    std::vector<std::string> due;
    std::vector<delivery::LocalTarget> locals;
    std::vector<Outcome> refused;
    std::map<std::string, std::vector<std::string>> remote;  // domain → recipients
    bool expired = now >= rec.created + policy.lifetime;
    {
      auto txn = store.read();
      auto blob = store::get_blob(*txn, rec.blob);
      if (!blob) {
        for (const auto& r : rec.states)
          if (!r.final()) refused.push_back({r.address, Result::failed, "5.3.0 the queued message's content is missing", "", ""});
      } else {
        message = rec.prefix + std::string(*blob);
      }
      for (const auto& r : rec.states) {
        if (r.final() || r.next_attempt > now || !blob || expired) continue;
        auto route = directory::resolve(*txn, routing, r.address, {rec.sender, rec.authenticated_user});
        if (auto* rej = std::get_if<directory::Rejection>(&route)) {
          refused.push_back({r.address, rej->code >= 500 ? Result::failed : Result::deferred,
                             std::to_string(rej->code) + " " + rej->enhanced + " " + rej->text + " (local routing)", "", ""});
          continue;
        }
        auto& d = std::get<directory::Delivery>(route);
        if (d.kind == directory::RouteKind::remote) {
          remote[domain_of(d.address)].push_back(r.address);
        } else if (d.kind == directory::RouteKind::list) {
          // Lists expand at RCPT, where the sender is known (docs/lists.md); never from the queue.
          refused.push_back({r.address, Result::failed, "5.7.1 a list address takes mail at RCPT only", "", ""});
        } else if (d.kind == directory::RouteKind::stream) {
          refused.push_back({r.address, Result::deferred, "4.3.2 the chat gateway is not enabled yet", "", ""});
        } else {
          for (auto u : d.users) locals.push_back({u, r.address});
        }
      }
    }
    // Parts: the refusals and local deliveries settle together; then one per destination.
    bool local_part = !locals.empty() || !refused.empty() || expired;
    int parts = (local_part ? 1 : 0) + (settings.transport == "file" ? (remote.empty() ? 0 : 1) : static_cast<int>(remote.size()));
    if (parts == 0) {
      // Nothing due (another recipient's retry is later): give the lease back.
      inflight[rec.id].parts = 1;
      co_await settle_part(rec.id, {});
      co_return;
    }
    inflight[rec.id].parts = parts;
    if (local_part) co_await deliver_local(rec, message, std::move(locals), std::move(refused));
    if (remote.empty()) co_return;
    // Leaving: SRS for a sender that is not ours (forwarded mail, so SPF passes at the
    // receiver), DKIM for the From domain, and the sender domain's relay if it has one.
    std::string sender = rec.sender;
    std::optional<relay::Relay> via;
    {
      auto txn = store.read();
      auto sender_domain = domain_of(rec.sender);
      if (!rec.sender.empty() && !directory::get_domain(*txn, sender_domain) && !routing.srs_keys.empty()) {
        auto domains = directory::list_domains(*txn);
        if (!domains.empty()) sender = srs::forward(rec.sender, domains.front().name, routing.srs_keys.front(), now);
      }
      // An SRS-rewritten forward goes through the forwarding domain's relay.
      via = relay::relay_for(*txn, sender.empty() ? sender_domain : domain_of(sender), core.secrets);
    }
    auto out = signed_message(rec.id, message, sender.empty() ? std::string() : domain_of(sender));
    if (settings.transport == "file") {
      std::vector<std::string> all;
      for (auto& [domain, rcpts] : remote) all.insert(all.end(), rcpts.begin(), rcpts.end());
      co_await deliver_file(rec, sender, out, all);
      co_return;
    }
    if (via) {
      // One destination, the relay: its recipients in one transaction.
      std::vector<std::string> all;
      for (auto& [domain, rcpts] : remote) all.insert(all.end(), rcpts.begin(), rcpts.end());
      inflight[rec.id].parts += 1 - static_cast<int>(remote.size());
      auto key = "relay " + via->host + ":" + std::to_string(via->port);
      auto& d = dests[key];
      d.relay = std::move(via);
      d.jobs.push_back(Job{rec.id, Envelope{rec.id, sender, all, out}});
      kick(key);
      co_return;
    }
    for (auto& [domain, rcpts] : remote) {
      dests[domain].jobs.push_back(Job{rec.id, Envelope{rec.id, sender, rcpts, out}});
      kick(domain);
    }
  }

  // The local short-cut: local recipients go through local routing and delivery (Sieve
  // included) in the same transaction that marks them delivered.
  asio::awaitable<void> deliver_local(const store::QueueRecord& rec, const std::string& message,
                                      std::vector<delivery::LocalTarget> targets, std::vector<Outcome> outcomes) {
    auto ctx = std::make_shared<delivery::LocalContext>();
    ctx->hostname = core.hostname;
    ctx->sender = rec.sender;
    ctx->now = now_s();
    ctx->routing = routing;
    ctx->limits = sieve::limits_of(core);
    auto plan = std::make_shared<delivery::LocalPlan>();
    if (!targets.empty()) {
      auto txn = store.read();
      *plan = delivery::plan_local(*txn, *ctx, targets, message);
      for (const auto& e : plan->errors) log::warn("sieve.error", {{"id", rec.id}, {"error", e}});
    }
    std::vector<std::string> done;
    for (const auto& t : targets) {
      bool seen = false;
      for (const auto& d : done) seen |= d == t.delivered_to;
      if (seen) continue;
      done.push_back(t.delivered_to);
      outcomes.push_back({t.delivered_to, Result::delivered, "250 2.0.0 delivered locally", core.hostname + " (local)", ""});
    }
    // The function holds plain pointers (plan and ctx live in this frame until the commit is
    // done): GCC 12 destroys objects passed by value into a coroutine call inside co_await
    // twice, and a copy holding the shared_ptrs released them twice (ASan: heap-use-after-free).
    std::function<std::error_code(store::WriteTxn&)> apply = [p = plan.get(), c = ctx.get()](store::WriteTxn& t) {
      return delivery::apply_local(t, *p, *c);
    };
    co_await settle_part(rec.id, std::move(outcomes), std::move(apply));
  }

  // The file transport: one .eml per message, written whole (temporary name, fsync, rename).
  asio::awaitable<void> deliver_file(const store::QueueRecord& rec, const std::string& sender, const std::string& message,
                                     const std::vector<std::string>& rcpts) {
    std::vector<Outcome> outcomes;
    std::string env = "X-Mailstead-Envelope-From: <" + sender + ">\r\n";
    for (const auto& r : rcpts) env += "X-Mailstead-Envelope-To: <" + r + ">\r\n";
    auto name = std::to_string(now_s()) + "-" + std::to_string(rec.id) + "-" + random_hex(4) + ".eml";
    auto dir = std::filesystem::path(settings.file_path);
    std::error_code fec;
    std::filesystem::create_directories(dir, fec);
    auto tmp = dir / ("." + name + ".tmp");
    std::string why;
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
    if (fd < 0) {
      why = "cannot write " + tmp.string() + ": " + std::strerror(errno);
    } else {
      std::string all = env + message;
      std::size_t off = 0;
      while (off < all.size()) {
        auto n = ::write(fd, all.data() + off, all.size() - off);
        if (n <= 0) break;
        off += static_cast<std::size_t>(n);
      }
      bool ok = off == all.size() && ::fsync(fd) == 0;
      ::close(fd);
      if (!ok || std::rename(tmp.c_str(), (dir / name).c_str()) != 0) why = "cannot write " + (dir / name).string();
    }
    for (const auto& r : rcpts) {
      if (why.empty()) outcomes.push_back({r, Result::delivered, "250 2.0.0 written to " + (dir / name).string(), "file", ""});
      else outcomes.push_back({r, Result::deferred, "4.3.0 " + why, "file", ""});
    }
    co_await settle_part(rec.id, std::move(outcomes));
  }

  // ---- SMTP by destination ----

  void kick(const std::string& domain) {
    auto& d = dests[domain];
    while (!d.jobs.empty() && d.active < settings.max_per_destination && connections < settings.max_connections) {
      // One connection per max_messages_per_connection messages waiting.
      std::size_t wanted = (d.jobs.size() + settings.max_messages_per_connection - 1) / settings.max_messages_per_connection;
      if (d.active >= wanted) break;
      ++d.active;
      ++connections;
      asio::co_spawn(io, worker(domain), [self = shared_from_this(), domain](std::exception_ptr e) {
        if (e) {
          try {
            std::rethrow_exception(e);
          } catch (const std::exception& ex) {
            log::error("delivery.worker.exception", {{"domain", domain}, {"error", ex.what()}});
          }
        }
        --self->dests[domain].active;
        --self->connections;
        for (auto& [name, dest] : self->dests)
          if (!dest.jobs.empty()) self->kick(name);
      });
    }
  }

  asio::awaitable<void> defer_all(const std::string& domain, Result result, const std::string& why,
                                  const std::string* security = nullptr) {
    std::function<std::error_code(store::WriteTxn&)> nothing;
    auto& d = dests[domain];
    while (!d.jobs.empty()) {
      auto job = std::move(d.jobs.front());
      d.jobs.pop_front();
      std::vector<Outcome> out;
      for (const auto& r : job.env.recipients) out.push_back({r, result, why, "", ""});
      co_await settle_part(job.id, std::move(out), nothing, security);
    }
  }

  // A relay's host: an IP, localhost, or a name to look up.
  asio::awaitable<Route> relay_route(const relay::Relay& r) {
    Route route;
    boost::system::error_code ec;
    asio::ip::make_address(r.host, ec);
    if (!ec) {
      route.hops.push_back({r.host, {r.host}});
      co_return route;
    }
    if (r.host == "localhost") {
      route.hops.push_back({r.host, {"127.0.0.1", "::1"}});
      co_return route;
    }
    Hop hop{r.host, {}};
    std::string why;
    for (auto type : {dns::Type::a, dns::Type::aaaa}) {
      auto a = co_await resolver.query(r.host, type);
      if (a.ok()) hop.addresses.insert(hop.addresses.end(), a.addresses.begin(), a.addresses.end());
      else if (why.empty()) why = a.error.empty() ? dns::status_name(a.status) : a.error;
    }
    if (hop.addresses.empty()) {
      route.kind = Route::Kind::defer;
      route.why = "4.4.3 the relay " + r.host + " cannot be found in DNS: " + why;
    } else {
      route.hops.push_back(std::move(hop));
    }
    co_return route;
  }

  asio::awaitable<void> worker(std::string domain) {
    const auto relay_settings = dests[domain].relay;
    if (relay_settings && !relay_settings->password_error.empty()) {
      co_await defer_all(domain, Result::deferred, "4.7.0 relay " + relay_settings->host + ": " + relay_settings->password_error);
      co_return;
    }
    // (Two statements, not ?: between two co_awaits: GCC 12 miscompiles that.)
    Route route;
    if (relay_settings)
      route = co_await relay_route(*relay_settings);
    else
      route = co_await resolve_route(resolver, domain);
    if (route.kind != Route::Kind::ok) {
      log::info("delivery.route", {{"domain", domain}, {"result", route.kind == Route::Kind::fail ? "fail" : "defer"},
                                   {"why", route.why}});
      co_await defer_all(domain, route.kind == Route::Kind::fail ? Result::failed : Result::deferred, route.why);
      co_return;
    }
    std::string last_failure, status = "4.4.1";
    bool failure_from_server = false;
    // MX delivery: the domain's MTA-STS policy; each host's TLS policy below (security.hpp).
    mta_sts::Applied sts;
    if (!relay_settings && settings.mta_sts) sts = co_await sts_client->policy_for(domain);
    std::string label, last_label;  // the TLS policy of the connection, of the last failure
    // What the attempt is reported with: a server's own words (a 535, a TLS mismatch) are
    // kept over a later address's refused connection.
    auto note_failure = [&](const Connection& c, const HopSecurity& sec) {
      if (failure_from_server && !c.connected()) return;
      last_failure = c.failure();
      if (sec.require_tls && !sec.label.empty()) last_failure += " (TLS required by " + sec.label + ")";
      status = "4.4.1";
      last_label = sec.label;
      failure_from_server = c.connected();
    };
    int reconnects = 0;
    while (!dests[domain].jobs.empty() && reconnects < 3) {
      ++reconnects;
      std::unique_ptr<Connection> conn;
      HopSecurity sec;
      for (const auto& hop : route.hops) {
        sec = HopSecurity{};
        if (!relay_settings) {
          sec = co_await hop_security(resolver, settings.dane, settings.mx_port, hop.host, &sts);
          if (sec.skip) {
            log::info("delivery.mx_skipped", {{"domain", domain}, {"host", hop.host}, {"why", sec.why}});
            if (!failure_from_server) {
              last_failure = sec.why.substr(6);
              status = sec.why.substr(0, 5);
              last_label = sec.label;
            }
            continue;
          }
        }
        for (const auto& addr : hop.addresses) {
          Target target{hop.host, addr, relay_settings ? relay_settings->port : settings.mx_port};
          auto opts = client_options();
          if (relay_settings) {
            // A relay gets what its security says, with the certificate checked (the
            // password must not go to an impostor), and AUTH when it has a user.
            opts.tls = relay_settings->security == relay::Security::none ? nullptr : &verified_tls;
            opts.verify_peer = relay_settings->security != relay::Security::none;
            opts.require_tls = relay_settings->security == relay::Security::starttls;
            opts.implicit_tls = relay_settings->security == relay::Security::tls;
            opts.auth_user = relay_settings->user;
            opts.auth_password = relay_settings->password;
            opts.relay = true;
            opts.timeouts.greeting = settings.relay_greeting_timeout;
          } else if (sec.require_tls || sec.pkix) {
            opts.tls = &secure_tls;
            opts.require_tls = sec.require_tls;
            opts.pkix = sec.pkix;
            opts.report_only = sec.report_only;
            opts.dane = sec.dane;
          }
          conn = std::make_unique<Connection>(io.get_executor(), opts);
          if (co_await conn->open(target)) goto connected;
          note_failure(*conn, sec);
          if (conn->tls_failed() && !relay_settings && !opts.require_tls) {
            // Opportunistic TLS failed: this host in plain text, as Postfix does at level "may".
            log::info("delivery.tls_fallback", {{"remote", target.remote()}, {"why", conn->failure()}});
            opts.tls = nullptr;
            conn = std::make_unique<Connection>(io.get_executor(), opts);
            if (co_await conn->open(target)) goto connected;
            note_failure(*conn, sec);
          }
          log::info("delivery.connect_failed", {{"remote", target.remote()}, {"why", conn->failure()}});
          conn.reset();
        }
      }
    connected:
      if (!conn) {
        std::string why = status + " " + last_failure;
        co_await defer_all(domain, Result::deferred, why, &last_label);
        co_return;
      }
      label = sec.label;
      if (sec.report_only) {
        // MTA-STS testing (RFC 8461 5): deliver, but say what enforce would have refused.
        std::string problem = sec.testing_problem;
        auto add = [&](const std::string& p) { problem += (problem.empty() ? "" : "; ") + p; };
        if (conn->tls_version().empty()) add("no TLS");
        else if (!conn->verify_error().empty()) add("certificate: " + conn->verify_error());
        if (!problem.empty()) {
          log::warn("mta_sts.testing.would_fail", {{"domain", domain}, {"remote", conn->remote()}, {"policy", label},
                                                    {"why", problem}});
          label += ": enforce would refuse: " + problem;
        }
      }
      std::uint32_t sent = 0;
      auto& d = dests[domain];
      while (!d.jobs.empty() && conn->usable() && sent < settings.max_messages_per_connection) {
        auto job = std::move(d.jobs.front());
        d.jobs.pop_front();
        auto out = co_await conn->send(job.env);
        ++sent;
        std::function<std::error_code(store::WriteTxn&)> nothing;
        co_await settle_part(job.id, std::move(out), nothing, &label);
      }
      co_await conn->quit();
      if (sent >= settings.max_messages_per_connection) break;  // let kick() start a fresh one
    }
    if (!dests[domain].jobs.empty() && !last_failure.empty() && reconnects >= 3) {
      std::string why = "4.4.2 " + last_failure;
      co_await defer_all(domain, Result::deferred, why, &last_label);
    }
  }

  // ---- the loop ----

  asio::awaitable<void> renew_loop() {
    asio::steady_timer t(io);
    while (!stopping) {
      t.expires_after(std::chrono::seconds(std::max<std::int64_t>(1, policy.lease / 3)));
      co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
      if (inflight.empty()) continue;
      std::vector<std::uint64_t> ids;
      for (const auto& [id, _] : inflight) ids.push_back(id);
      auto until = now_s() + policy.lease;
      co_await store::async_commit(
          store, [&](store::WriteTxn& txn) { return queue::renew(txn, ids, owner, until); }, asio::use_awaitable);
    }
  }

  asio::awaitable<void> prune_loop() {
    asio::steady_timer t(io);
    while (!stopping) {
      auto before = now_s() - secs(settings.send_log_retention);
      std::size_t removed = 0;
      co_await store::async_commit(
          store, [&](store::WriteTxn& txn) { removed = queue::prune_log(txn, before); return std::error_code{}; },
          asio::use_awaitable);
      if (removed) log::info("delivery.send_log.pruned", {{"entries", removed}});
      t.expires_after(removed ? std::chrono::seconds(1) : std::chrono::minutes(10));
      co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
    }
  }

  asio::awaitable<void> run() {
    auto self = shared_from_this();
    asio::co_spawn(io, renew_loop(), asio::detached);
    asio::co_spawn(io, prune_loop(), asio::detached);
    log::info("delivery.started", {{"owner", owner}, {"transport", settings.transport}});
    while (!stopping) {
      std::vector<store::QueueRecord> claimed;
      if (inflight.size() < max_inflight) {
        auto now = now_s();
        auto room = max_inflight - inflight.size();
        auto ec = co_await store::async_commit(
            store,
            [&](store::WriteTxn& txn) {
              claimed = queue::claim(txn, now, owner, policy, room);
              return std::error_code{};
            },
            asio::use_awaitable);
        if (ec) log::error("delivery.claim.failed", {{"error", ec.message()}});
      }
      for (auto& rec : claimed) {
        if (inflight.count(rec.id)) continue;  // ours already (its lease was renewed late)
        inflight[rec.id].parts = 1;
        asio::co_spawn(io, start(std::move(rec)), asio::detached);
      }
      if (claimed.empty()) {
        wake.expires_after(settings.poll_interval);
        co_await wake.async_wait(asio::as_tuple(asio::use_awaitable));
      }
    }
    // Let what is in flight finish (bounded): leases cover the rest.
    for (int i = 0; i < 50 && !inflight.empty(); ++i) {
      wake.expires_after(std::chrono::milliseconds(100));
      co_await wake.async_wait(asio::as_tuple(asio::use_awaitable));
    }
    log::info("delivery.stopped", {{"in_flight", inflight.size()}});
  }
};

asio::awaitable<std::vector<Engine::Report>> Engine::deliver_now(std::vector<std::uint64_t> ids) {
  auto& d = *impl_;
  std::vector<Report> reports;
  for (auto id : ids) reports.push_back({id, {}});
  d.observer = [&reports](std::uint64_t id, const std::vector<Outcome>& out) {
    for (auto& r : reports)
      if (r.id == id) r.outcomes.insert(r.outcomes.end(), out.begin(), out.end());
  };
  std::vector<store::QueueRecord> claimed;
  auto now = now_s();
  co_await store::async_commit(
      d.store,
      [&](store::WriteTxn& txn) {
        claimed = queue::claim_ids(txn, ids, now, d.owner, d.policy);
        return std::error_code{};
      },
      asio::use_awaitable);
  for (auto& rec : claimed) {
    d.inflight[rec.id].parts = 1;
    asio::co_spawn(d.io, d.start(std::move(rec)), asio::detached);
  }
  asio::steady_timer t(d.io);
  while (!d.inflight.empty()) {
    t.expires_after(std::chrono::milliseconds(20));
    co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
  }
  d.observer = nullptr;
  co_return reports;
}

const std::string& Engine::owner() const { return impl_->owner; }
std::int64_t Engine::lease_seconds() const { return impl_->policy.lease; }

Engine::Engine(asio::io_context& io, store::Store& store, const config::CoreSettings& core, const Settings& settings)
    : impl_(std::make_shared<Impl>(io, store, core, settings)) {}
Engine::~Engine() = default;

asio::awaitable<void> Engine::run() { co_await impl_->run(); }

void Engine::stop() {
  impl_->stopping = true;
  impl_->wake.cancel();
}

}  // namespace mailstead::outbound
