// Pattern-matched lists and registered external addresses over HTTP (docs/admin-api.md,
// docs/lists.md), through the same operations as `mailstead list …` (ops/lists.hpp).
#include "api/handlers.hpp"
#include "ops/lists.hpp"

namespace mailstead::api {

namespace {

admin::ListOps list_ops(Call& c) { return admin::ListOps(c.api.ops, c.api.settings.lists); }

json::object list_view(const lists::ListRecord& l) {
  json::array templates;
  for (const auto& t : l.templates) templates.push_back(json::value(t));
  return json::object{{"name", l.name},
                      {"pattern", l.pattern},
                      {"templates", templates},
                      {"site_domain", l.site_domain},
                      {"created", iso_time(l.created)}};
}

}  // namespace

namespace list_routes {

H list_lists(Call& c) {
  json::array arr;
  for (const auto& l : list_ops(c).list()) arr.push_back(list_view(l));
  co_return json_reply(200, arr);
}

H add_list(Call& c) {
  std::string name, pattern, site_domain;
  std::vector<std::string> templates;
  if (auto r = c.body.str("name", name)) co_return *r;
  if (auto r = c.body.str("pattern", pattern)) co_return *r;
  if (auto r = c.body.strings("templates", templates)) co_return *r;
  if (auto r = c.body.str("site_domain", site_domain, false)) co_return *r;
  auto lo = list_ops(c);
  auto plan = lo.plan_add(name, pattern, templates, site_domain);
  auto r = co_await commit(c, plan);
  if (!r) co_return error_reply(r.error());
  co_return json_reply(201, list_view(*r));
}

H get_list(Call& c) {
  auto l = list_ops(c).get(c.param("name"));
  if (!l) co_return error_reply(l.error());
  co_return json_reply(200, list_view(*l));
}

H remove_list(Call& c) {
  auto lo = list_ops(c);
  auto plan = lo.plan_remove(c.param("name"));
  auto r = co_await commit(c, plan);
  co_return r ? no_content() : error_reply(r.error());
}

H list_external_addresses(Call& c) {
  auto a = list_ops(c).addresses(c.param("address"));
  if (!a) co_return error_reply(a.error());
  json::array arr;
  for (const auto& x : *a) arr.push_back(json::value(x));
  co_return json_reply(200, arr);
}

H add_external_address(Call& c) {
  std::string external;
  if (auto r = c.body.str("external", external)) co_return *r;
  auto lo = list_ops(c);
  auto plan = lo.plan_add_address(c.param("address"), external);
  auto r = co_await commit(c, plan);
  co_return r ? no_content() : error_reply(r.error());
}

H remove_external_address(Call& c) {
  auto lo = list_ops(c);
  auto plan = lo.plan_remove_address(c.param("address"), c.param("external"));
  auto r = co_await commit(c, plan);
  co_return r ? no_content() : error_reply(r.error());
}

}  // namespace list_routes

}  // namespace mailstead::api
