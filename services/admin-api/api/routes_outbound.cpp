// Outbound mail (docs/delivery.md, docs/outbound.md): the queue and its send log, DKIM keys
// and relays. Each route calls the admin layer's operation that the `mailstead queue …`,
// `dkim …` and `relay …` commands call; the synchronous ones (RSA key generation, a relay
// password sealed and committed) run on the slow pool, never on an I/O thread.
#include <ctime>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include <boost/asio/io_context.hpp>

#include "api/handlers.hpp"
#include "dns/resolver.hpp"
#include "ops/dns_records.hpp"
#include "ops/log_view.hpp"
#include "ops/test_email.hpp"
#include "api/views.hpp"
#include "directory/address.hpp"

namespace mailstead::api {

namespace {

std::int64_t now_s() { return static_cast<std::int64_t>(std::time(nullptr)); }

// A path's queue id: not a number names no message (404, as every id of this API).
Reply queue_id(const Call& c, std::uint64_t& out) {
  auto id = admin::parse_queue_id(c.param("id"));
  if (!id) return error_reply(404, "not_found", "no message " + c.param("id") + " in the queue", "id");
  out = *id;
  return std::nullopt;
}

json::object key_view(const dkim::KeyRecord& k) {
  // A zone-file line: TXT character-strings hold at most 255 bytes each.
  auto txt = k.txt();
  std::string zone = k.dns_name() + ". IN TXT (";
  for (std::size_t i = 0; i < txt.size(); i += 255) zone += " \"" + txt.substr(i, 255) + "\"";
  zone += " )";
  return {{"domain", k.domain},
          {"selector", k.selector},
          {"algorithm", dkim::algorithm_name(k.algorithm)},
          {"state", dkim::state_name(k.state)},
          {"created", iso_time(k.created)},
          {"retire_at", k.retire_at > 0 ? iso_time(k.retire_at) : std::string()},
          {"dns_name", k.dns_name()},
          {"txt", txt},
          {"zone", zone}};
}

json::object relay_view(const relay::RelayRecord& r) {
  return {{"domain", r.domain},
          {"host", r.host},
          {"port", r.port},
          {"security", relay::security_name(r.security)},
          {"user", r.user},
          {"password", relay::password_source_name(r.password)},
          {"preset", r.preset},
          {"updated", iso_time(r.updated)}};
}

}  // namespace

namespace outbound_routes {

// ---- the queue ----
H retry_one(Call& c) {
  std::uint64_t id = 0;
  if (auto r = queue_id(c, id)) co_return *r;
  auto plan = c.api.ops.plan_retry_queue(id);
  auto n = co_await commit(c, plan);
  if (!n) co_return error_reply(n.error());
  co_return json_reply(200, json::object{{"due", *n}});
}

H retry_all(Call& c) {
  auto plan = c.api.ops.plan_retry_queue(std::nullopt);
  auto n = co_await commit(c, plan);
  if (!n) co_return error_reply(n.error());
  co_return json_reply(200, json::object{{"due", *n}});
}

H delete_queued(Call& c) {
  std::uint64_t id = 0;
  if (auto r = queue_id(c, id)) co_return *r;
  auto plan = c.api.ops.plan_delete_queued(id);
  auto r = co_await commit(c, plan);
  co_return r ? no_content() : error_reply(r.error());
}

H send_log(Call& c) {
  auto since = admin::parse_since(c.req.query_param("since"), now_s());
  if (!since) co_return error_reply(since.error());
  std::uint64_t limit = 100;
  auto text = c.req.query_param("limit");
  if (!text.empty()) {
    auto n = admin::parse_queue_id(text);
    if (!n || *n > 1000)
      co_return error_reply(422, "invalid", "limit is a number from 1 to 1000, not '" + text + "'", "limit");
    limit = *n;
  }
  json::array arr;
  for (const auto& e : c.api.ops.send_log(*since, limit))
    arr.push_back(json::object{{"time", iso_time(e.time)}, {"queue_id", e.queue_id}, {"sender", e.sender},
                               {"recipient", e.recipient},  {"remote", e.remote},     {"tls", e.tls},
                               {"reply", e.reply},          {"result", queue::result_name(e.result)},
                               {"security", e.security}});
  co_return json_reply(200, arr);
}

// ---- DKIM ----
H list_dkim(Call& c) {
  auto r = c.api.ops.list_dkim_keys(c.param("domain"));
  if (!r) co_return error_reply(about(r.error(), "domain"));
  json::array arr;
  for (const auto& k : *r) arr.push_back(key_view(k));
  co_return json_reply(200, arr);
}

H generate_dkim(Call& c) {
  std::string selector, algorithm = "rsa";
  if (auto r = c.body.str("selector", selector, false)) co_return *r;
  if (auto r = c.body.str("algorithm", algorithm, false)) co_return *r;
  if (algorithm != "rsa" && algorithm != "ed25519")
    co_return error_reply(422, "invalid", "algorithm is rsa or ed25519, not '" + algorithm + "'", "algorithm");
  auto domain = c.param("domain");
  auto r = co_await on_slow_pool(c, [&] { return c.api.ops.generate_dkim_key(domain, selector, algorithm); });
  if (!r) {
    auto e = r.error();
    if (e.field.empty()) e.field = e.kind == ErrorKind::not_found ? "domain" : "selector";
    co_return error_reply(e);
  }
  co_return json_reply(201, key_view(*r));
}

H rotate_dkim(Call& c) {
  auto domain = c.param("domain");
  auto r = co_await on_slow_pool(c, [&] { return c.api.ops.rotate_dkim_keys(domain); });
  if (!r) co_return error_reply(about(r.error(), "domain"));
  json::array arr;
  for (const auto& k : *r) arr.push_back(key_view(k));
  co_return json_reply(200, arr);
}

// ---- relays ----
H list_relays(Call& c) {
  json::array arr;
  for (const auto& r : c.api.ops.list_relays()) arr.push_back(relay_view(r));
  co_return json_reply(200, arr);
}

H relay_presets(Call&) {
  json::array arr;
  for (const auto& p : relay::presets())
    arr.push_back(json::object{{"name", p.name}, {"description", p.description}, {"host", p.host}, {"port", p.port},
                               {"security", relay::security_name(p.security)}, {"user", p.user}});
  co_return json_reply(200, arr);
}

namespace {
asio::awaitable<http::Response> set_relay_for(Call& c, std::string domain) {
  relay::SetRequest req;
  std::string host, security, password;
  std::uint64_t port = 0;
  if (auto r = c.body.str("host", host, false)) co_return *r;
  if (auto r = c.body.u64("port", port, false)) co_return *r;
  if (auto r = c.body.str("preset", req.preset, false)) co_return *r;
  if (auto r = c.body.str("security", security, false)) co_return *r;
  if (auto r = c.body.str("user", req.user, false)) co_return *r;
  if (auto r = c.body.str("password", password, false)) co_return *r;
  if (port > 65535 || (c.body.has("port") && port == 0))
    co_return error_reply(422, "invalid", "port is from 1 to 65535", "port");
  if (port && host.empty()) co_return error_reply(422, "invalid", "a port needs a host", "host");
  if (host.find(':') != std::string::npos && port)
    co_return error_reply(422, "invalid", "give the port either in host or as port, not both", "port");
  req.host_port = port ? (host + ":" + std::to_string(port)) : host;
  if (c.body.has("security")) req.security = security;
  // The password is write-only: stored sealed, never answered or logged.
  if (c.body.has("password")) req.password = password;
  req.domain = std::move(domain);
  auto r = co_await on_slow_pool(c, [&] { return c.api.ops.set_relay(req); });
  if (!r) {
    auto e = r.error();
    if (e.field.empty() && e.kind == ErrorKind::not_found) e.field = "domain";
    co_return error_reply(e);
  }
  auto v = relay_view(r->record);
  v["warnings"] = views::string_array(r->warnings);
  co_return json_reply(200, v);
}

asio::awaitable<http::Response> clear_relay_for(Call& c, std::string domain) {
  auto r = co_await on_slow_pool(c, [&] { return c.api.ops.clear_relay(domain); });
  if (!r) co_return error_reply(about(r.error(), "domain"));
  co_return no_content();
}
}  // namespace

H set_default_relay(Call& c) { return set_relay_for(c, ""); }
H set_domain_relay(Call& c) { return set_relay_for(c, c.param("domain")); }
H clear_default_relay(Call& c) { return clear_relay_for(c, ""); }
H clear_domain_relay(Call& c) { return clear_relay_for(c, directory::lowercase_ascii(c.param("domain"))); }

// ---- send-test-email: the CLI's steps (ops/test_email.hpp), with the store's asynchronous
// commit and the delivery engine on this session's own io_context ----
H send_test_email(Call& c) {
  std::string to;
  if (auto r = c.body.str("to", to)) co_return *r;
  auto msgs = admin::test_email::prepare(*c.api.ops.store().read(), c.api.outbound, to);
  if (!msgs) co_return error_reply(msgs.error());
  auto ex = co_await asio::this_coro::executor;
  auto& io = static_cast<asio::io_context&>(asio::query(ex, asio::execution::context));
  outbound::Engine engine(io, c.api.ops.store(), c.api.core, c.api.outbound);
  auto plan = admin::test_email::plan_enqueue(std::move(*msgs), to, c.api.core.hostname, engine.owner(),
                                              now_s() + engine.lease_seconds());
  auto sent = co_await commit(c, plan);
  if (!sent) co_return error_reply(sent.error());
  std::vector<std::uint64_t> ids;
  for (const auto& m : *sent) ids.push_back(m.id);
  auto reports = co_await engine.deliver_now(std::move(ids));
  json::array arr;
  for (const auto& o : admin::test_email::outcomes(*sent, to, reports)) {
    const char* words = o.result == queue::Result::delivered ? "delivered"
                        : o.result == queue::Result::failed  ? "failed: bounced, the queue no longer holds it"
                                                             : "not delivered yet: deferred, the delivery service retries it";
    arr.push_back(json::object{{"queue_id", o.queue_id}, {"from", o.from},   {"which", o.which},
                               {"to", o.to},             {"result", queue::result_name(o.result)},
                               {"summary", words},       {"route", o.route}, {"tls", o.tls},
                               {"reply", o.reply}});
  }
  co_return json_reply(200, arr);
}

// ---- DNS records (ops/dns_records.hpp) ----
namespace {
json::object record_view(const admin::dns_records::Record& r) {
  return {{"kind", r.kind}, {"name", r.name}, {"type", dns::type_name(r.type)}, {"value", r.value}, {"note", r.note}};
}
}  // namespace

H dns_records(Call& c) {
  auto r = admin::dns_records::expected(*c.api.ops.store().read(), c.param("domain"), dns_hosts(c.api), now_s());
  if (!r) co_return error_reply(r.error());
  json::array arr;
  for (const auto& rec : *r) arr.push_back(record_view(rec));
  co_return json_reply(200, arr);
}

// Looked up now, uncached, through the resolver the delivery service uses ([dns]).
H dns_check(Call& c) {
  auto r = admin::dns_records::expected(*c.api.ops.store().read(), c.param("domain"), dns_hosts(c.api), now_s());
  if (!r) co_return error_reply(r.error());
  auto ex = co_await asio::this_coro::executor;
  auto& io = static_cast<asio::io_context&>(asio::query(ex, asio::execution::context));
  std::optional<dns::Resolver> resolver;
  try {
    resolver.emplace(io, dns::Options{c.api.core.dns.nameservers, c.api.core.dns.timeout, c.api.core.dns.tries}, nullptr);
  } catch (const std::exception& e) {
    co_return error_reply(internal(std::string("the resolver did not start: ") + e.what()));
  }
  json::array arr;
  for (const auto& rec : *r) {
    admin::dns_records::Judgement j;
    if (rec.kind == "ptr") {
      std::string host = rec.name;
      auto a = co_await resolver->query(host, dns::Type::a);
      auto aaaa = co_await resolver->query(host, dns::Type::aaaa);
      std::vector<std::string> addresses = a.addresses;
      addresses.insert(addresses.end(), aaaa.addresses.begin(), aaaa.addresses.end());
      std::vector<dns::Answer> ptrs;
      for (const auto& addr : addresses) {
        std::string reverse = dns::reverse_name(addr);
        auto p = co_await resolver->query(reverse, dns::Type::ptr);
        ptrs.push_back(std::move(p));
      }
      j = admin::dns_records::judge_ptr(rec, addresses, ptrs, a, aaaa);
    } else {
      std::string name = rec.name;
      auto answer = co_await resolver->query(name, rec.type);
      j = admin::dns_records::judge(rec, answer);
    }
    auto v = record_view(rec);
    v["status"] = admin::dns_records::status_name(j.status);
    v["found"] = views::string_array(j.found);
    v["error"] = j.error;
    arr.push_back(std::move(v));
  }
  co_return json_reply(200, arr);
}

// ---- recent events of every service (ops/log_view.hpp), read on the slow pool ----
H logs(Call& c) {
  admin::log_view::Query q;
  q.service = c.req.query_param("service");
  q.level = c.req.query_param("level");
  q.text = c.req.query_param("text");
  auto limit = c.req.query_param("limit");
  if (!limit.empty()) {
    auto n = admin::parse_queue_id(limit);
    if (!n) co_return error_reply(422, "invalid", "limit is from 1 to 1000, not '" + limit + "'", "limit");
    q.limit = static_cast<std::size_t>(std::min<std::uint64_t>(*n, 1001));
  }
  auto dir = c.api.core.log_dir();
  auto r = co_await on_slow_pool(c, [&] { return admin::log_view::recent(dir, q); });
  if (!r) co_return error_reply(r.error());
  json::array arr;
  for (const auto& e : *r)
    arr.push_back(json::object{{"time", e.time}, {"service", e.service}, {"level", e.level}, {"event", e.event}, {"text", e.text}});
  co_return json_reply(200, arr);
}

// ---- the dashboard: health, counts, queue depth, 24 hours of mail, store size ----
namespace {
std::int64_t parse_log_time(const std::string& t) {
  std::tm tm{};
  if (t.size() < 19 || !strptime(t.substr(0, 19).c_str(), "%Y-%m-%dT%H:%M:%S", &tm)) return 0;
  return static_cast<std::int64_t>(timegm(&tm));
}
}  // namespace

H dashboard(Call& c) {
  auto now = now_s();
  auto first_hour = (now / 3600 - 23) * 3600;
  auto dir = c.api.core.log_dir();
  auto data_dir = c.api.core.data_dir;
  auto store_dir = c.api.core.store_dir();
  struct Hour {
    std::uint64_t received = 0, rejected = 0, delivered = 0, deferred = 0, bounced = 0;
  };
  struct Health {
    std::string service, state = "unknown", started, last_event;
  };
  struct Out {
    std::vector<Hour> hours = std::vector<Hour>(24);
    std::vector<Health> health;
    admin::Counts counts;
    std::uint64_t store_bytes = 0, free_bytes = 0, disk_bytes = 0;
  };
  auto out = co_await on_slow_pool(c, [&] {
    Out o;
    o.counts = c.api.ops.counts();
    auto bucket = [&](std::int64_t t) -> Hour* {
      if (t < first_hour || t >= first_hour + 24 * 3600) return nullptr;
      return &o.hours[static_cast<std::size_t>((t - first_hour) / 3600)];
    };
    for (const auto& e : c.api.ops.send_log(first_hour, 1000000))
      if (auto* h = bucket(e.time)) {
        if (e.result == queue::Result::delivered) ++h->delivered;
        else if (e.result == queue::Result::failed) ++h->bounced;
        else ++h->deferred;
      }
    for (const auto& svc : admin::log_view::services()) {
      Health h;
      h.service = svc;
      admin::log_view::each(dir, svc, [&](const log::Line& l) {
        h.last_event = l.time;
        auto ev = l.text.substr(0, l.text.find(' '));
        if (ev == "event=service.start") {
          h.state = "running";
          h.started = l.time;
        } else if (ev == "event=service.stop") {
          h.state = "stopped";
        }
        if (svc != "mailstead-smtpd") return;
        if (ev == "event=smtp.delivered") {
          if (auto* b = bucket(parse_log_time(l.time))) ++b->received;
        } else if (ev == "event=smtp.rcpt.rejected" || ev == "event=smtp.mail.rejected" || ev == "event=smtp.data.refused" ||
                   ev == "event=smtp.data.from_rejected") {
          if (auto* b = bucket(parse_log_time(l.time))) ++b->rejected;
        }
      });
      if (svc == "mailstead-admin-api") h.state = "running";  // it is answering this
      o.health.push_back(std::move(h));
    }
    struct stat st{};
    if (::stat((store_dir + "/data.mdb").c_str(), &st) == 0) o.store_bytes = static_cast<std::uint64_t>(st.st_size);
    struct statvfs vfs{};
    if (::statvfs(data_dir.c_str(), &vfs) == 0) {
      o.free_bytes = static_cast<std::uint64_t>(vfs.f_bavail) * vfs.f_frsize;
      o.disk_bytes = static_cast<std::uint64_t>(vfs.f_blocks) * vfs.f_frsize;
    }
    return o;
  });
  json::array hours, health;
  for (std::size_t i = 0; i < out.hours.size(); ++i) {
    const auto& h = out.hours[i];
    hours.push_back(json::object{{"hour", iso_time(first_hour + static_cast<std::int64_t>(i) * 3600)},
                                 {"received", h.received}, {"rejected", h.rejected}, {"delivered", h.delivered},
                                 {"deferred", h.deferred}, {"bounced", h.bounced}});
  }
  for (const auto& h : out.health)
    health.push_back(json::object{{"service", h.service}, {"state", h.state}, {"started", h.started}, {"last_event", h.last_event}});
  co_return json_reply(200, json::object{
      {"health", health},
      {"counts", json::object{{"domains", out.counts.domains}, {"users", out.counts.users}, {"aliases", out.counts.aliases},
                              {"groups", out.counts.groups}}},
      {"queue_depth", out.counts.queue},
      {"hours", hours},
      {"store", json::object{{"bytes", out.store_bytes}, {"map_size", c.api.ops.store().map_size()},
                             {"free_bytes", out.free_bytes}, {"disk_bytes", out.disk_bytes}}}});
}

}  // namespace outbound_routes

}  // namespace mailstead::api
