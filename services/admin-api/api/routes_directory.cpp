// Domains, users, aliases, groups, catch-all and routing: the CLI's verbs over HTTP, each
// through the same admin operation (ops/admin_ops.hpp).
#include "api/handlers.hpp"
#include "api/views.hpp"
#include "directory/address.hpp"
#include "util/text.hpp"

namespace mailstead::api {

namespace {

H user_reply(Call& c, int status, const std::string& address) {
  auto v = c.api.ops.get_user(address);
  if (!v) co_return error_reply(v.error());
  auto u = c.api.ops.usage(address);
  co_return json_reply(status, views::user(*v, u ? *u : admin::Usage{}));
}

H group_reply(Call& c, int status, const std::string& address) {
  auto g = c.api.ops.get_group(address);
  if (!g) co_return error_reply(g.error());
  co_return json_reply(status, views::group(*g));
}

template <class T>
http::Response done(const Result<T>& r) {
  return r ? no_content() : error_reply(r.error());
}

// A path's address as the directory keys it (ASCII lower case).
std::string key_of(const std::string& s) { return directory::lowercase_ascii(s); }

}  // namespace

namespace directory_routes {

// ---- domains ----
H list_domains(Call& c) {
  json::array arr;
  for (const auto& d : c.api.ops.list_domains()) arr.push_back(views::domain(d, c.api.ops.user_addresses(d.catchall)));
  co_return json_reply(200, arr);
}

H add_domain(Call& c) {
  std::string name;
  if (auto r = c.body.str("domain", name)) co_return *r;
  auto plan = c.api.ops.plan_add_domain(name);
  auto r = co_await commit(c, plan);
  if (!r) co_return error_reply(r.error());
  co_return json_reply(201, views::domain(*r, {}));
}

H get_domain(Call& c) {
  auto d = c.api.ops.get_domain(c.param("domain"));
  if (!d) co_return error_reply(d.error());
  co_return json_reply(200, views::domain(*d, c.api.ops.user_addresses(d->catchall)));
}

H remove_domain(Call& c) {
  auto plan = c.api.ops.plan_remove_domain(c.param("domain"));
  co_return done(co_await commit(c, plan));
}

// ---- pages ----
// ?limit= (1 to 1000) asks for one page; absent, the whole list (as before paging).
std::optional<http::Response> page_limit(Call& c, std::size_t& limit) {
  auto text = c.req.query_param("limit");
  if (text.empty()) return std::nullopt;
  auto n = admin::parse_queue_id(text);  // a positive decimal number
  if (!n || *n > 1000) return error_reply(422, "invalid", "limit is from 1 to 1000, not '" + text + "'", "limit");
  limit = static_cast<std::size_t>(*n);
  return std::nullopt;
}

// The page as a JSON array, with RFC 8288 `Link: <…>; rel="next"` while more follow.
http::Response paged_reply(const json::array& arr, const char* path, const std::string& q, std::size_t limit,
                           const std::string& next) {
  auto r = json_reply(200, arr);
  if (!next.empty() && limit) {
    std::string url = std::string(path) + "?limit=" + std::to_string(limit) + "&after=" + http::percent_encode(next);
    if (!q.empty()) url += "&q=" + http::percent_encode(q);
    r.headers.emplace_back("Link", "<" + url + ">; rel=\"next\"");
  }
  return r;
}

// ---- users ----
H list_users(Call& c) {
  auto q = lower(c.req.query_param("q"));
  std::size_t limit = 0;
  if (auto bad = page_limit(c, limit)) co_return *bad;
  if (limit) {  // one page: ?limit=N&after=ADDRESS (docs/admin-api.md "Pages")
    auto after = c.req.query_param("after");
    auto page = c.api.ops.list_users_page(q, after, limit);
    json::array arr;
    for (const auto& v : page.users) {
      auto u = page.usage[v.user.id];
      u.quota = v.user.quota;
      arr.push_back(views::user(v, u));
    }
    co_return paged_reply(arr, "/api/v1/users", q, limit, page.next);
  }
  json::array arr;
  auto usage = c.api.ops.usage_by_user();  // one pass over the mailbox totals, no message read
  for (const auto& v : c.api.ops.list_users()) {
    if (!q.empty() && v.user.address.find(q) == std::string::npos && lower(v.user.display_name).find(q) == std::string::npos)
      continue;
    auto u = usage[v.user.id];
    u.quota = v.user.quota;
    arr.push_back(views::user(v, u));
  }
  co_return json_reply(200, arr);
}

H add_user(Call& c) {
  std::string address, password, name;
  std::uint64_t quota = 0;
  if (auto r = c.body.str("address", address)) co_return *r;
  if (auto r = c.body.str("password", password)) co_return *r;
  if (auto r = c.body.str("name", name, false)) co_return *r;
  if (auto r = c.body.u64("quota", quota, false)) co_return *r;
  auto& ops = c.api.ops;
  auto plan = co_await on_slow_pool(c, [&] { return ops.plan_add_user(address, password, name, quota); });
  auto r = co_await commit(c, plan);
  if (!r) co_return error_reply(r.error());
  co_return co_await user_reply(c, 201, r->address);
}

H get_user(Call& c) { co_return co_await user_reply(c, 200, key_of(c.param("address"))); }

H update_user(Call& c) {
  auto address = key_of(c.param("address"));
  std::string name;
  std::uint64_t quota = 0;
  bool enabled = true;
  if (auto r = c.body.str("name", name, false)) co_return *r;
  if (auto r = c.body.u64("quota", quota, false)) co_return *r;
  if (auto r = c.body.boolean("enabled", enabled, false)) co_return *r;
  // One batch for every field, so a refused field changes nothing.
  std::vector<admin::Change<void>> parts;
  if (c.body.has("name")) parts.push_back(c.api.ops.plan_set_display_name(address, name));
  if (c.body.has("quota")) parts.push_back(c.api.ops.plan_set_quota(address, quota));
  if (c.body.has("enabled")) parts.push_back(c.api.ops.plan_set_enabled(address, enabled));
  for (auto& p : parts)
    if (p.refused) co_return error_reply(*p.refused);
  admin::Change<void> all([parts](store::WriteTxn& t) -> Result<void> {
    for (const auto& p : parts)
      if (auto r = p.apply(t); !r) return r;
    return {};
  });
  auto r = co_await commit(c, all);
  if (!r) co_return error_reply(r.error());
  co_return co_await user_reply(c, 200, address);
}

H remove_user(Call& c) {
  auto plan = c.api.ops.plan_remove_user(key_of(c.param("address")));
  co_return done(co_await commit(c, plan));
}

H set_password(Call& c) {
  std::string password;
  if (auto r = c.body.str("password", password)) co_return *r;
  auto address = key_of(c.param("address"));
  auto& ops = c.api.ops;
  auto plan = co_await on_slow_pool(c, [&] { return ops.plan_set_password(address, password); });
  co_return done(co_await commit(c, plan));
}

H allow_sender(Call& c) {
  std::string sender;
  if (auto r = c.body.str("sender", sender)) co_return *r;
  auto plan = c.api.ops.plan_allow_sender(key_of(c.param("address")), sender, true);
  co_return done(co_await commit(c, plan));
}

H deny_sender(Call& c) {
  auto plan = c.api.ops.plan_allow_sender(key_of(c.param("address")), c.param("sender"), false);
  co_return done(co_await commit(c, plan));
}

H user_app_passwords(Call& c) {
  auto r = c.api.ops.list_app_passwords(key_of(c.param("address")));
  if (!r) co_return error_reply(r.error());
  json::array arr;
  for (const auto& a : *r) arr.push_back(views::app_password(a));
  co_return json_reply(200, arr);
}

H revoke_user_app_password(Call& c) {
  auto plan = c.api.ops.plan_revoke_app_password(key_of(c.param("address")), c.param("id"));
  co_return done(co_await commit(c, plan));
}

// ---- aliases ----
H list_aliases(Call& c) {
  auto q = lower(c.req.query_param("q"));
  std::size_t limit = 0;
  if (auto bad = page_limit(c, limit)) co_return *bad;
  if (limit || !q.empty()) {
    auto page = c.api.ops.list_aliases_page(q, c.req.query_param("after"), limit ? limit : SIZE_MAX);
    json::array arr;
    for (const auto& [a, u] : page.aliases) arr.push_back(json::object{{"alias", a}, {"user", u}});
    co_return paged_reply(arr, "/api/v1/aliases", q, limit, page.next);
  }
  json::array arr;
  for (const auto& [a, u] : c.api.ops.list_aliases()) arr.push_back(json::object{{"alias", a}, {"user", u}});
  co_return json_reply(200, arr);
}

H add_alias(Call& c) {
  std::string alias, user;
  if (auto r = c.body.str("alias", alias)) co_return *r;
  if (auto r = c.body.str("user", user)) co_return *r;
  auto plan = c.api.ops.plan_add_alias(alias, user);
  auto r = co_await commit(c, plan);
  if (!r) co_return error_reply(r.error());
  auto owner = c.api.ops.user_addresses({r->user});
  co_return json_reply(201, json::object{{"alias", r->address}, {"user", owner.empty() ? "" : owner[0]}});
}

H remove_alias(Call& c) {
  auto plan = c.api.ops.plan_remove_alias(key_of(c.param("alias")));
  co_return done(co_await commit(c, plan));
}

// ---- groups ----
H list_groups(Call& c) {
  json::array arr;
  for (const auto& g : c.api.ops.list_groups()) arr.push_back(views::group(g));
  co_return json_reply(200, arr);
}

H add_group(Call& c) {
  std::string group, policy;
  std::vector<std::string> members;
  if (auto r = c.body.str("group", group)) co_return *r;
  if (auto r = c.body.strings("members", members, false)) co_return *r;
  if (auto r = c.body.str("policy", policy, false)) co_return *r;
  auto plan = c.api.ops.plan_add_group(group, members, policy);
  auto r = co_await commit(c, plan);
  if (!r) co_return error_reply(r.error());
  co_return co_await group_reply(c, 201, r->address);
}

H get_group(Call& c) { co_return co_await group_reply(c, 200, key_of(c.param("group"))); }

H update_group(Call& c) {
  std::string policy;
  if (auto r = c.body.str("policy", policy)) co_return *r;
  auto g = key_of(c.param("group"));
  auto plan = c.api.ops.plan_set_group_policy(g, policy);
  auto r = co_await commit(c, plan);
  if (!r) co_return error_reply(r.error());
  co_return co_await group_reply(c, 200, g);
}

H remove_group(Call& c) {
  auto plan = c.api.ops.plan_remove_group(key_of(c.param("group")));
  co_return done(co_await commit(c, plan));
}

H add_member(Call& c) {
  std::string member;
  if (auto r = c.body.str("member", member)) co_return *r;
  auto g = key_of(c.param("group"));
  auto plan = c.api.ops.plan_add_group_member(g, member);
  auto r = co_await commit(c, plan);
  if (!r) co_return error_reply(r.error());
  co_return co_await group_reply(c, 200, g);
}

H remove_member(Call& c) {
  auto g = key_of(c.param("group"));
  auto plan = c.api.ops.plan_remove_group_member(g, c.param("member"));
  auto r = co_await commit(c, plan);
  if (!r) co_return error_reply(r.error());
  co_return co_await group_reply(c, 200, g);
}

// ---- catch-all ----
H list_catchall(Call& c) {
  json::array arr;
  for (const auto& v : c.api.ops.list_catchalls())
    arr.push_back(json::object{{"domain", v.domain}, {"users", views::string_array(v.users)}});
  co_return json_reply(200, arr);
}

H set_catchall(Call& c) {
  std::vector<std::string> users;
  if (auto r = c.body.strings("users", users)) co_return *r;
  auto domain = c.param("domain");
  auto plan = c.api.ops.plan_set_catchall(domain, users);
  auto r = co_await commit(c, plan);
  if (!r) co_return error_reply(r.error());
  auto d = c.api.ops.get_domain(domain);
  if (!d) co_return error_reply(d.error());
  co_return json_reply(200, json::object{{"domain", d->name}, {"users", views::string_array(c.api.ops.user_addresses(d->catchall))}});
}

H clear_catchall(Call& c) {
  auto plan = c.api.ops.plan_clear_catchall(c.param("domain"));
  co_return done(co_await commit(c, plan));
}

H resolve(Call& c) {
  auto address = c.req.query_param("address");
  if (address.empty()) co_return error_reply(400, "missing_field", "?address= is required", "address");
  auto r = c.api.ops.resolve(address, c.req.query_param("from"), c.req.query_param("authenticated_as"));
  if (!r) co_return error_reply(r.error());
  if (auto* d = std::get_if<directory::Delivery>(&*r)) {
    json::object o{{"action", "deliver"},
                   {"kind", directory::route_kind_name(d->kind)},
                   {"address", d->address},
                   {"tag", d->tag},
                   {"mailboxes", views::string_array(c.api.ops.user_addresses(d->users))},
                   {"stream", d->stream},
                   {"list", d->list}};
    co_return json_reply(200, o);
  }
  auto& rej = std::get<directory::Rejection>(*r);
  co_return json_reply(200, json::object{{"action", "reject"}, {"code", rej.code}, {"enhanced", rej.enhanced}, {"text", rej.text}});
}

}  // namespace directory_routes

}  // namespace mailstead::api
