// The MX's block and allow lists, per-domain DMARC overrides and the whole inbound policy
// over HTTP (docs/inbound.md, docs/authentication.md): the same operations as `mailstead
// block|allow add|remove|list`, `mailstead dmarc override|clear|show` and `policy show`.
#include "api/handlers.hpp"
#include "inbound/dmarc_overrides.hpp"
#include "inbound/rules.hpp"
#include "ops/inbound_policy.hpp"

namespace mailstead::api::inbound_routes {

namespace {

json::object rule_view(const admin::InboundRuleView& v) {
  return json::object{{"list", inbound::list_name(v.rule.list)},
                      {"kind", inbound::kind_name(v.rule.kind)},
                      {"value", v.rule.value},
                      {"user", v.user},
                      {"note", v.rule.note},
                      {"created", iso_time(v.rule.created)}};
}

std::optional<inbound::List> list_of(std::string_view name) {
  if (name == "allow") return inbound::List::allow;
  if (name == "block") return inbound::List::block;
  return std::nullopt;
}

json::object override_view(const inbound::OverrideEntry& e) {
  return json::object{{"domain", e.domain}, {"action", inbound::override_name(e.action)}};
}

}  // namespace

H list_rules(Call& c) {
  json::array arr;
  for (const auto& v : c.api.ops.list_inbound_rules()) arr.push_back(rule_view(v));
  co_return json_reply(200, arr);
}

H add_rule(Call& c) {
  std::string list, value, user, note;
  if (auto r = c.body.str("list", list)) co_return *r;
  if (auto r = c.body.str("value", value)) co_return *r;
  if (auto r = c.body.str("user", user, false)) co_return *r;
  if (auto r = c.body.str("note", note, false)) co_return *r;
  auto l = list_of(list);
  if (!l) co_return error_reply(422, "invalid", "list is \"block\" or \"allow\"", "list");
  auto plan = c.api.ops.plan_add_inbound_rule(*l, value, user, note);
  auto r = co_await commit(c, plan);
  if (!r) co_return error_reply(r.error());
  co_return json_reply(201, rule_view(*r));
}

H remove_rule(Call& c) {
  auto l = list_of(c.param("list"));
  if (!l) co_return error_reply(422, "invalid", "list is \"block\" or \"allow\"", "list");
  auto user = c.req.query_param("user");
  auto plan = c.api.ops.plan_remove_inbound_rule(*l, c.param("value"), user);
  auto r = co_await commit(c, plan);
  if (!r) co_return error_reply(r.error());
  co_return no_content();
}

H policy(Call& c) { co_return json_reply(200, admin::policy_json(c.api.mx, c.api.ops, rule_view)); }

H list_dmarc_overrides(Call& c) {
  json::array arr;
  for (const auto& e : c.api.ops.list_dmarc_overrides()) arr.push_back(override_view(e));
  co_return json_reply(200, arr);
}

H set_dmarc_override(Call& c) {
  std::string action;
  if (auto r = c.body.str("action", action)) co_return *r;
  auto a = inbound::parse_override(action);
  if (!a) co_return error_reply(422, "invalid", "action is \"none\", \"quarantine\", \"reject\" or \"ignore\"", "action");
  auto plan = c.api.ops.plan_set_dmarc_override(c.param("domain"), *a);
  auto r = co_await commit(c, plan);
  if (!r) co_return error_reply(r.error());
  co_return json_reply(200, override_view(*r));
}

H clear_dmarc_override(Call& c) {
  auto plan = c.api.ops.plan_clear_dmarc_override(c.param("domain"));
  auto r = co_await commit(c, plan);
  if (!r) co_return error_reply(r.error());
  co_return no_content();
}

}  // namespace mailstead::api::inbound_routes
