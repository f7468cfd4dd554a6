// /api/v1/streams/{stream}/forwards (docs/admin-api.md, docs/streams.md "Forwarding"): an
// administrator adds, lists, removes and retries a stream's forward targets. Secrets (the
// API key, the webhook URL) are accepted and never answered.
#include "api/handlers.hpp"
#include "ops/stream_forwards.hpp"
#include "ops/stream_forwards_json.hpp"

namespace mailstead::api {

namespace {

// The {forward} path parameter: a target id.
std::optional<std::uint64_t> forward_id(const Call& c) {
  const auto& text = c.param("forward");
  if (text.empty() || text.size() > 19) return std::nullopt;
  std::uint64_t n = 0;
  for (char ch : text) {
    if (ch < '0' || ch > '9') return std::nullopt;
    n = n * 10 + static_cast<std::uint64_t>(ch - '0');
  }
  return n;
}

}  // namespace

namespace stream_routes {

H list_forwards(Call& c) {
  admin::ForwardOps fo(c.api.ops);
  auto r = fo.list(c.param("stream"));
  if (!r) co_return error_reply(r.error());
  json::array arr;
  for (const auto& v : *r) arr.push_back(admin::forward_json(v));
  co_return json_reply(200, arr);
}

H add_forward(Call& c) {
  std::string kind;
  if (auto r = c.body.str("kind", kind)) co_return *r;
  auto k = streams::parse_forward_kind(kind);
  if (!k) co_return error_reply(422, "invalid", "kind is zulip or webhook", "kind");
  streams::ForwardTarget t;
  t.kind = *k;
  if (auto r = c.body.boolean("allow_http", t.allow_http, false)) co_return *r;
  if (t.kind == streams::ForwardKind::zulip) {
    if (auto r = c.body.str("site", t.site)) co_return *r;
    if (auto r = c.body.str("bot_email", t.bot_email)) co_return *r;
    if (auto r = c.body.str("api_key", t.secret)) co_return *r;
    if (auto r = c.body.str("stream", t.to_stream, false)) co_return *r;
    if (c.body.has("url")) co_return error_reply(422, "invalid", "a zulip target takes site, not url", "url");
  } else {
    if (auto r = c.body.str("url", t.secret)) co_return *r;
    for (const char* f : {"site", "bot_email", "api_key", "stream"})
      if (c.body.has(f)) co_return error_reply(422, "invalid", std::string("a webhook target takes no ") + f, f);
  }
  admin::ForwardOps fo(c.api.ops);
  const std::string& slug = c.param("stream");
  auto plan = fo.plan_add(slug, t);
  auto r = co_await commit(c, plan);
  if (!r) co_return error_reply(r.error());
  auto all = fo.list(slug);
  if (all)
    for (const auto& v : *all)
      if (v.target.id == r->id) co_return json_reply(201, admin::forward_json(v));
  co_return error_reply(500, "internal", "the new forward is not stored");
}

H remove_forward(Call& c) {
  auto id = forward_id(c);
  if (!id) co_return error_reply(404, "not_found", "no such forward", "forward");
  admin::ForwardOps fo(c.api.ops);
  auto plan = fo.plan_remove(c.param("stream"), *id);
  auto r = co_await commit(c, plan);
  if (!r) co_return error_reply(r.error());
  co_return no_content();
}

H retry_forward(Call& c) {
  auto id = forward_id(c);
  if (!id || *id == 0) co_return error_reply(404, "not_found", "no such forward", "forward");
  admin::ForwardOps fo(c.api.ops);
  auto plan = fo.plan_retry(c.param("stream"), *id);
  auto r = co_await commit(c, plan);
  if (!r) co_return error_reply(r.error());
  co_return json_reply(200, json::object{{"retried", *r}});
}

}  // namespace stream_routes

}  // namespace mailstead::api
