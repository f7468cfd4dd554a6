// Health, status, sign-in and sessions, API tokens and the admin role.
#include <ctime>

#include "api/handlers.hpp"
#include "api/views.hpp"
#include "log/log.hpp"
#include "net/login_gate.hpp"
#include "util/text.hpp"

namespace mailstead::api {

namespace {
std::int64_t now_s() { return static_cast<std::int64_t>(std::time(nullptr)); }

Reply parse_id(const std::string& text, std::uint64_t& out) {
  out = 0;
  if (text.empty() || text.size() > 19) return error_reply(404, "not_found", "no such id", "id");
  for (char ch : text) {
    if (ch < '0' || ch > '9') return error_reply(404, "not_found", "no such id", "id");
    out = out * 10 + static_cast<std::uint64_t>(ch - '0');
  }
  return std::nullopt;
}
}  // namespace

namespace system_routes {

H health(Call&) { co_return json_reply(200, json::object{{"status", "ok"}}); }

H openapi(Call&) { co_return json_reply(200, json::parse(openapi_document())); }

H status(Call& c) {
  auto n = c.api.ops.counts();
  // Parts of the suite this build has; a page whose part is not built says so instead of
  // offering a control that does nothing (docs/status.md).
  json::object built{{"outbound_delivery", true}, {"relay", true}, {"dkim", true}, {"send_test_email", true},
                     {"dns_check", true}, {"dashboard", true}, {"logs", c.api.core.log.ring_size > 0},
                     {"metrics", !c.api.settings.metrics_listen.empty()}};
  co_return json_reply(200, json::object{{"hostname", c.api.core.hostname},
                                         {"domains", n.domains},
                                         {"users", n.users},
                                         {"aliases", n.aliases},
                                         {"groups", n.groups},
                                         {"admins", n.admins},
                                         {"queue", n.queue},
                                         {"store_map_size", c.api.ops.store().map_size()},
                                         {"built", built}});
}

}  // namespace system_routes

namespace access_routes {

H login(Call& c) {
  std::string address, password;
  if (auto r = c.body.str("address", address)) co_return *r;
  if (auto r = c.body.str("password", password)) co_return *r;
  net::LoginGate gate{c.api.ops.store(), c.api.password_cache, c.api.limiter, c.api.slow_pool,
                      c.api.core.auth.failure_delay};
  auto out = co_await net::gated_login(gate, "admin", new_session_id(), c.req.peer, address, password);
  if (out.result == net::GateResult::throttled) {
    ++c.api.metrics.logins_throttled;
    co_return error_reply(429, "throttled", "too many failed sign-ins from this address; try again later");
  }
  if (out.result != net::GateResult::ok) {
    ++c.api.metrics.logins_failed;
    co_return error_reply(401, "credentials", "wrong address or password");
  }
  if (!out.login.app_password.empty()) {
    ++c.api.metrics.logins_failed;
    co_return error_reply(401, "credentials", "app passwords are for mail clients; sign in with your password");
  }
  admin::access::SessionRecord rec;
  auto cookie = admin::access::new_session(rec);
  rec.user = out.login.user_id;
  rec.created = now_s();
  auto lifetime = std::chrono::duration_cast<std::chrono::seconds>(c.api.settings.session_lifetime).count();
  rec.expires = rec.created + lifetime;
  rec.peer = c.req.peer;
  rec.agent = std::string(c.req.header("user-agent").substr(0, 200));
  auto plan = c.api.ops.plan_open_session(rec);
  auto r = co_await commit(c, plan);
  if (!r) co_return error_reply(r.error());
  ++c.api.metrics.logins_ok;
  Principal p;
  p.address = out.login.address;
  {
    auto txn = c.api.ops.store().read();
    p.admin = admin::access::is_admin(*txn, rec.user);
  }
  p.csrf = rec.csrf;
  p.expires = rec.expires;
  p.session_id = rec.id();
  auto res = json_reply(200, views::session(p));
  res.headers.emplace_back("Set-Cookie", "mailstead_session=" + cookie + "; Path=/; Max-Age=" + std::to_string(lifetime) +
                                             "; HttpOnly; Secure; SameSite=Strict");
  log::info("admin.session.opened", {{"user", p.address}, {"peer", c.req.peer}, {"session", p.session_id}});
  co_return res;
}

H logout(Call& c) {
  auto res = no_content();
  res.headers.emplace_back("Set-Cookie", "mailstead_session=; Path=/; Max-Age=0; HttpOnly; Secure; SameSite=Strict");
  if (c.who.token) co_return res;
  auto plan = c.api.ops.plan_close_session(c.who.session_key);
  auto r = co_await commit(c, plan);
  if (!r) co_return error_reply(r.error());
  co_return res;
}

H session(Call& c) {
  if (c.who.token)
    co_return json_reply(200, json::object{{"address", ""}, {"admin", true}, {"csrf_token", ""}, {"expires", ""},
                                           {"id", ""}});
  co_return json_reply(200, views::session(c.who));
}

namespace {
H sessions_of(Call& c, std::optional<std::uint64_t> user) {
  json::array arr;
  auto list = c.api.ops.list_sessions(user);
  std::map<std::uint64_t, std::string> names;
  {
    auto txn = c.api.ops.store().read();
    for (const auto& s : list)
      if (auto u = directory::get_user(*txn, s.user)) names[s.user] = u->address;
  }
  for (const auto& s : list) arr.push_back(views::session_info(s, names[s.user], c.who.session_key));
  co_return json_reply(200, arr);
}
}  // namespace

H list_sessions(Call& c) { co_return co_await sessions_of(c, std::nullopt); }
H my_sessions(Call& c) { co_return co_await sessions_of(c, c.who.user); }

H revoke_session(Call& c) {
  auto plan = c.api.ops.plan_revoke_session(c.param("id"), std::nullopt);
  auto r = co_await commit(c, plan);
  co_return r ? no_content() : error_reply(r.error());
}

H revoke_my_session(Call& c) {
  auto plan = c.api.ops.plan_revoke_session(c.param("id"), c.who.user);
  auto r = co_await commit(c, plan);
  co_return r ? no_content() : error_reply(r.error());
}

H list_tokens(Call& c) {
  json::array arr;
  for (const auto& t : c.api.ops.list_tokens()) arr.push_back(views::token(t));
  co_return json_reply(200, arr);
}

H create_token(Call& c) {
  std::string name;
  if (auto r = c.body.str("name", name)) co_return *r;
  auto plan = c.api.ops.plan_create_token(name);
  auto r = co_await commit(c, plan);
  if (!r) co_return error_reply(r.error());
  auto o = views::token(r->record);
  o["token"] = r->text;
  log::info("admin.token.created", {{"name", name}, {"by", c.who.token ? "token:" + c.who.token_name : c.who.address}});
  co_return json_reply(201, o);
}

H revoke_token(Call& c) {
  std::uint64_t id = 0;
  if (auto bad = parse_id(c.param("id"), id)) co_return *bad;
  auto plan = c.api.ops.plan_revoke_token(id);
  auto r = co_await commit(c, plan);
  co_return r ? no_content() : error_reply(r.error());
}

H list_admins(Call& c) {
  json::array arr;
  for (const auto& a : c.api.ops.list_admins()) arr.push_back(json::object{{"address", a}});
  co_return json_reply(200, arr);
}

H grant_admin(Call& c) {
  auto plan = c.api.ops.plan_grant_admin(c.param("address"));
  auto r = co_await commit(c, plan);
  co_return r ? no_content() : error_reply(r.error());
}

H revoke_admin(Call& c) {
  auto plan = c.api.ops.plan_revoke_admin(c.param("address"));
  auto r = co_await commit(c, plan);
  co_return r ? no_content() : error_reply(r.error());
}

}  // namespace access_routes

}  // namespace mailstead::api
