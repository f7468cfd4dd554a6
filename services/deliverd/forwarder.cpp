// The stream forwarding sender (see forwarder.hpp): claim, send, settle.
#include "forwarder.hpp"

#include <openssl/ssl.h>

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <ctime>
#include <set>

#include "directory/directory.hpp"
#include "dns/resolver.hpp"
#include "forward_request.hpp"
#include "http_client.hpp"
#include "log/log.hpp"
#include "store/async.hpp"
#include "store/store.hpp"
#include "streams/forwards.hpp"
#include "streams/messages.hpp"
#include "util/bytes.hpp"

namespace mailstead::outbound {

namespace asio = boost::asio;
using streams::ForwardJob;
using streams::ForwardTarget;
using streams::JobState;

namespace {

constexpr auto tuple_awaitable = asio::as_tuple(asio::use_awaitable);

std::int64_t now_s() { return static_cast<std::int64_t>(std::time(nullptr)); }
std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// The outcome of one attempt.
struct Attempt {
  forward::Verdict verdict = forward::Verdict::retry;
  std::string error;                              // why not delivered ("" when delivered)
  std::optional<std::chrono::seconds> retry_after;  // the receiver's wish
  int status = 0;
};

std::string stream_name_of(store::ReadTxn& txn, std::uint64_t stream) {
  for (const auto& s : directory::list_streams(txn))
    if (s.id == stream) return s.name;
  return "";
}

}  // namespace

struct Forwarder::Impl : std::enable_shared_from_this<Impl> {
  asio::io_context& io;
  store::Store& store;
  const streams::ForwardSettings& settings;
  std::string owner;
  dns::Resolver resolver;
  asio::ssl::context tls{asio::ssl::context::tls_client};
  asio::steady_timer wake;
  std::set<std::uint64_t> busy;  // targets with a job in flight here
  bool stopping = false;
  bool again = false;  // a send ended while claiming: look again before sleeping
  std::int64_t lease_seconds;

  Impl(asio::io_context& ctx, store::Store& s, const config::CoreSettings& core, const streams::ForwardSettings& st,
       std::string own)
      : io(ctx),
        store(s),
        settings(st),
        owner(std::move(own)),
        resolver(ctx, {core.dns.nameservers, core.dns.timeout, core.dns.tries}, std::make_shared<dns::Cache>(1000)),
        wake(ctx) {
    SSL_CTX_set_min_proto_version(tls.native_handle(), TLS1_2_VERSION);
    SSL_CTX_set_options(tls.native_handle(), SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
    boost::system::error_code ec;
    if (!st.ca_file.empty()) {
      tls.load_verify_file(st.ca_file, ec);
      if (ec) throw std::runtime_error("streams.forward_ca_file: cannot use " + st.ca_file + ": " + ec.message());
    } else {
      tls.set_default_verify_paths(ec);
    }
    // Long enough for one attempt (DNS, connect, TLS, the answer) with room to spare; a
    // job whose sender died is taken over after it.
    lease_seconds = std::chrono::duration_cast<std::chrono::seconds>(st.timeout).count() * 2 + 10;
  }

  // Addresses for a host: an address as it is, "localhost" as loopback (RFC 6761 6.3),
  // otherwise A and AAAA records.
  asio::awaitable<std::vector<std::string>> addresses_of(const std::string& host, std::string& why) {
    boost::system::error_code ec;
    asio::ip::make_address(host, ec);
    if (!ec) co_return std::vector<std::string>{host};
    if (host == "localhost") co_return std::vector<std::string>{"127.0.0.1", "::1"};
    std::vector<std::string> out;
    for (auto type : {dns::Type::a, dns::Type::aaaa}) {
      auto a = co_await resolver.query(host, type);
      if (a.ok()) out.insert(out.end(), a.addresses.begin(), a.addresses.end());
      else if (why.empty() && a.status != dns::Status::nodata) why = a.error.empty() ? dns::status_name(a.status) : a.error;
    }
    if (out.empty()) why = host + " has no address" + (why.empty() ? "" : ": " + why);
    co_return out;
  }

  asio::awaitable<Attempt> attempt(const ForwardTarget& target, const streams::StreamMessage& msg,
                                   const std::string& stream_name) {
    Attempt out;
    std::string why;
    auto wire = forward::build_request(target, msg, stream_name, &why);
    if (!wire) co_return Attempt{forward::Verdict::failed, "the target's URL is not usable: " + why, std::nullopt, 0};
    const std::string host = wire->url.host;
    auto addresses = co_await addresses_of(host, why);
    if (addresses.empty()) co_return Attempt{forward::Verdict::retry, why, std::nullopt, 0};
    http_client::Request req;
    req.method = "POST";
    req.host = wire->url.host;
    req.port = wire->url.port;
    req.tls = wire->url.https;
    req.target = wire->url.target;
    req.headers = std::move(wire->headers);
    req.body = std::move(wire->body);
    http_client::Options options;
    options.timeout = settings.timeout;
    options.max_body = 64 * 1024;
    http_client::Response res;
    for (const auto& address : addresses) {
      req.address = address;
      res = co_await http_client::send(io, tls, req, options);
      if (res.failure != http_client::Failure::connect) break;
    }
    if (res.failure != http_client::Failure::none) co_return Attempt{forward::Verdict::retry, res.error, std::nullopt, 0};
    out.status = res.status;
    out.verdict = forward::classify(res.status);
    if (out.verdict != forward::Verdict::delivered) {
      out.error = "HTTP " + std::to_string(res.status) + " from " + http_client::describe(req);
      if (res.status >= 300 && res.status < 400) out.error += ": redirects are not followed";
      if (auto text = forward::excerpt(res.body); !text.empty()) out.error += ": " + text;
      out.retry_after = forward::parse_retry_after(res.retry_after, now_s());
    }
    co_return out;
  }

  // The settled job: deleted, failed, or pending again with its next attempt.
  asio::awaitable<void> settle(const ForwardJob& claimed, const Attempt& a) {
    ForwardJob job = claimed;
    job.lease_owner.clear();
    job.lease_until = 0;
    bool gone = a.verdict == forward::Verdict::delivered;
    if (!gone) {
      job.attempts += 1;
      job.last_error = a.error;
      if (a.verdict == forward::Verdict::retry) {
        auto base = settings.retry_base.count();
        std::int64_t delay = base;
        for (std::uint32_t i = 1; i < job.attempts && delay < settings.retry_max.count(); ++i) delay *= 2;
        delay = std::min<std::int64_t>(delay, settings.retry_max.count());
        if (a.retry_after) delay = std::max<std::int64_t>(delay, a.retry_after->count() * 1000);
        job.next_attempt = now_ms() + delay;
        auto deadline = (job.created * 1000) + settings.max_age.count();
        if (job.next_attempt > deadline) {
          job.state = JobState::failed;
          job.last_error = "gave up after " + std::to_string(job.attempts) + " attempts: " + a.error;
        }
      } else {
        job.state = JobState::failed;
      }
      if (job.state == JobState::failed) job.failed_at = now_s();
    }
    std::function<std::error_code(store::WriteTxn&)> write = [&](store::WriteTxn& t) -> std::error_code {
      auto v = t.get(store::Table::forward_jobs, claimed.key());
      if (!v) return {};  // the target (or its stream) was removed meanwhile
      auto current = ForwardJob::decode(*v);
      if (!current || current->lease_owner != owner) return {};  // taken over after our lease ran out
      streams::delete_job(t, claimed);
      if (gone) return {};
      return streams::put_job(t, job);
    };
    auto ec = co_await store::async_commit(store, write, asio::use_awaitable);
    if (ec) log::error("forward.settle.failed", {{"target", job.target}, {"message", job.message}, {"error", ec.message()}});
    if (gone) {
      log::info("forward.sent", {{"target", job.target}, {"stream", job.stream}, {"message", job.message},
                                 {"status", a.status}, {"attempts", job.attempts + 1}});
    } else if (job.state == JobState::failed) {
      log::warn("forward.failed", {{"target", job.target}, {"stream", job.stream}, {"message", job.message},
                                   {"attempts", job.attempts}, {"error", job.last_error}});
    } else {
      log::info("forward.deferred", {{"target", job.target}, {"stream", job.stream}, {"message", job.message},
                                     {"attempts", job.attempts}, {"retry_in_ms", job.next_attempt - now_ms()},
                                     {"error", job.last_error}});
    }
  }

  asio::awaitable<void> send(ForwardTarget target, ForwardJob job) {
    std::optional<streams::StreamMessage> msg;
    std::string stream_name;
    {
      auto txn = store.read();
      std::string key;
      put_be64(key, job.stream);
      put_be64(key, job.message);
      if (auto v = txn->get(store::Table::stream_messages, key)) msg = streams::StreamMessage::decode(*v);
      stream_name = stream_name_of(*txn, job.stream);
    }
    Attempt a;
    if (!msg) a = Attempt{forward::Verdict::failed, "the message is no longer stored", std::nullopt, 0};
    else a = co_await attempt(target, *msg, stream_name);
    co_await settle(job, a);
  }

  // The due head job of every idle target, leased to this instance in one commit.
  asio::awaitable<std::vector<std::pair<ForwardTarget, ForwardJob>>> claim() {
    std::vector<std::pair<ForwardTarget, ForwardJob>> claimed;
    std::vector<ForwardTarget> candidates;
    {
      auto txn = store.read();
      auto now = now_ms();
      for (auto& t : streams::all_forwards(*txn)) {
        if (busy.count(t.id)) continue;
        auto head = streams::head_job(*txn, t.id);
        if (!head || head->next_attempt > now) continue;
        if (!head->lease_owner.empty() && head->lease_until >= now_s()) continue;
        candidates.push_back(std::move(t));
      }
    }
    if (candidates.empty()) co_return claimed;
    std::function<std::error_code(store::WriteTxn&)> write = [&](store::WriteTxn& t) -> std::error_code {
      claimed.clear();
      auto now = now_ms();
      auto until = now_s() + lease_seconds;
      for (const auto& target : candidates) {
        auto head = streams::head_job(t, target.id);
        if (!head || head->next_attempt > now) continue;
        if (!head->lease_owner.empty() && head->lease_until >= now_s()) continue;
        head->lease_owner = owner;
        head->lease_until = until;
        if (auto ec = streams::put_job(t, *head)) return ec;
        claimed.emplace_back(target, *head);
      }
      return {};
    };
    auto ec = co_await store::async_commit(store, write, asio::use_awaitable);
    if (ec) {
      log::error("forward.claim.failed", {{"error", ec.message()}});
      claimed.clear();
    }
    co_return claimed;
  }

  // The head jobs leased to this instance go back to pending as they were (no attempt
  // counted). A send cut short may have reached the target: it is sent again, at least once,
  // as after a crash. Scans first so that a shutdown with nothing in flight writes nothing.
  void release_leases() {
    auto ours = [this](store::ReadTxn& t) {
      std::vector<ForwardJob> jobs;
      for (const auto& target : streams::all_forwards(t))
        if (auto head = streams::head_job(t, target.id); head && head->lease_owner == owner) jobs.push_back(*head);
      return jobs;
    };
    if (ours(*store.read()).empty()) return;
    std::size_t released = 0;
    auto ec = store.commit_sync([&](store::WriteTxn& t) -> std::error_code {
      auto jobs = ours(t);
      for (auto& job : jobs) {
        job.lease_owner.clear();
        job.lease_until = 0;
        if (auto put = streams::put_job(t, job)) return put;
      }
      released = jobs.size();
      return {};
    });
    if (ec) log::error("forward.release.failed", {{"owner", owner}, {"error", ec.message()}});
    else log::info("forward.released", {{"owner", owner}, {"jobs", released}});
  }

  asio::awaitable<void> run() {
    log::info("forward.started", {{"owner", owner}});
    while (!stopping) {
      auto jobs = co_await claim();
      for (auto& [target, job] : jobs) {
        busy.insert(target.id);
        auto self = shared_from_this();
        auto id = target.id;
        asio::co_spawn(io, send(std::move(target), std::move(job)), [self, id](std::exception_ptr e) {
          self->busy.erase(id);
          if (e) {
            try {
              std::rethrow_exception(e);
            } catch (const std::exception& ex) {
              log::error("forward.exception", {{"target", id}, {"error", ex.what()}});
            }
          }
          self->again = true;  // the target's next job may be due now
          self->wake.cancel();
        });
      }
      if (stopping) break;
      if (again) {
        again = false;
        continue;
      }
      wake.expires_after(settings.poll_interval);
      co_await wake.async_wait(tuple_awaitable);
    }
  }
};

Forwarder::Forwarder(asio::io_context& io, store::Store& store, const config::CoreSettings& core,
                     const streams::ForwardSettings& settings, std::string owner)
    : impl_(std::make_shared<Impl>(io, store, core, settings, std::move(owner))) {}

Forwarder::~Forwarder() = default;

asio::awaitable<void> Forwarder::run() {
  auto self = impl_;
  co_await self->run();
}

void Forwarder::stop() {
  impl_->stopping = true;
  impl_->wake.cancel();
}

void Forwarder::release_leases() { impl_->release_leases(); }

std::unique_ptr<Forwarder> start_forwarder(asio::io_context& io, store::Store& store, const config::CoreSettings& core,
                                           const streams::ForwardSettings& settings, const std::string& owner) {
  std::unique_ptr<Forwarder> f;
  try {
    f = std::make_unique<Forwarder>(io, store, core, settings, owner);
  } catch (const std::exception& e) {
    log::error("forward.unavailable", {{"error", e.what()}});
    return nullptr;
  }
  asio::co_spawn(io, f->run(), [](std::exception_ptr e) {
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      log::error("forward.exception", {{"error", ex.what()}});
    }
  });
  return f;
}

}  // namespace mailstead::outbound
