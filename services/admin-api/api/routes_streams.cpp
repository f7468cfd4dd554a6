// Chat streams over HTTP (docs/admin-api.md, docs/streams.md), modelled on the reference
// chat server's API: list streams, read a stream's messages by topic, send a message
// (also as POST /api/v1/messages with type "stream"). Administrators manage every stream;
// a signed-in user reads and posts in the streams it is a member of.
#include "api/handlers.hpp"
#include "api/stream_json.hpp"
#include "directory/directory.hpp"
#include "ops/streams.hpp"
#include "store/store.hpp"
#include "streams/watch.hpp"
#include "util/text.hpp"

namespace mailstead::api {

namespace {

admin::StreamOps stream_ops(Call& c) { return admin::StreamOps(c.api.ops, c.api.settings.streams); }

json::object stream_view(const admin::StreamView& v, bool admin) {
  json::array members;
  for (const auto& m : v.members) members.push_back(json::value(m));
  const auto& s = v.stream;
  json::object o{{"stream_id", s.id},     {"slug", s.slug},     {"name", s.name},
                 {"description", s.description}, {"enabled", s.enabled}, {"members", members},
                 {"email_posting", directory::email_posting_name(s.email_posting)},
                 {"unauthenticated", directory::unauthenticated_name(s.unauthenticated)}, {"created", iso_time(s.created)}};
  // The address holds the token: members see it (they may hand it to a service), as on the
  // reference's stream settings page.
  o["email_address"] = v.address;
  (void)admin;
  return o;
}

}  // namespace

json::object stream_message_view(const std::string& slug, const streams::StreamMessage& m) {
  json::array files;
  for (const auto& a : m.attachments)
    files.push_back(json::object{{"name", a.name}, {"content_type", a.content_type}, {"size", a.size},
                                 {"url", streams::attachment_url(slug, a.blob, a.name)}});
  return json::object{{"id", m.id},
                      {"stream", slug},
                      {"topic", m.topic},
                      {"sender_id", m.user},
                      {"sender_email", m.sender},
                      {"sender_full_name", m.sender_name},
                      {"email_from", m.email_from},
                      {"content", m.body},
                      {"attachments", files},
                      {"via", m.via},
                      {"timestamp", m.time}};
}

namespace {

// The stream when the caller may see it: an administrator, or a member.
Result<admin::StreamView> visible(Call& c, admin::StreamOps& so, const std::string& slug) {
  auto v = so.get(slug);
  if (!v) return v.error();
  if (c.who.admin) return v;
  for (auto id : v->stream.members)
    if (id == c.who.user && c.who.user != 0) return v;
  return Error(ErrorKind::not_found, "no stream " + slug, "stream");  // a non-member does not learn it exists
}

http::Response done(const Result<void>& r) { return r ? no_content() : error_reply(r.error()); }

asio::awaitable<http::Response> post_message(Call& c, const std::string& slug, const std::string& topic,
                                             const std::string& content) {
  auto so = stream_ops(c);
  auto v = visible(c, so, slug);
  if (!v) co_return error_reply(v.error());
  admin::StreamPostAuthor author;
  if (c.who.user) author.user = c.who.user;
  else author.name = c.who.token ? "API token " + c.who.token_name : "administrator";
  auto plan = so.plan_post(v->stream.slug, topic, content, author, "api");
  auto r = co_await commit(c, plan);
  if (!r) co_return error_reply(r.error());
  co_return json_reply(201, json::object{{"id", *r}});
}

}  // namespace

namespace stream_routes {

H list_streams(Call& c) {
  auto so = stream_ops(c);
  json::array arr;
  for (const auto& v : so.list()) {
    bool member = false;
    for (auto id : v.stream.members) member |= id == c.who.user && c.who.user != 0;
    if (c.who.admin || member) arr.push_back(stream_view(v, c.who.admin));
  }
  co_return json_reply(200, arr);
}

H add_stream(Call& c) {
  std::string name, slug, description, posting;
  if (auto r = c.body.str("name", name)) co_return *r;
  if (auto r = c.body.str("slug", slug, false)) co_return *r;
  if (auto r = c.body.str("description", description, false)) co_return *r;
  if (auto r = c.body.str("email_posting", posting, false)) co_return *r;
  auto so = stream_ops(c);
  auto plan = so.plan_add(name, slug, description, posting);
  auto r = co_await commit(c, plan);
  if (!r) co_return error_reply(r.error());
  auto v = so.get(r->slug);
  if (!v) co_return error_reply(v.error());
  co_return json_reply(201, stream_view(*v, true));
}

H get_stream(Call& c) {
  auto so = stream_ops(c);
  auto v = visible(c, so, c.param("stream"));
  if (!v) co_return error_reply(v.error());
  co_return json_reply(200, stream_view(*v, c.who.admin));
}

H update_stream(Call& c) {
  auto so = stream_ops(c);
  auto slug = c.param("stream");
  if (c.body.has("enabled")) {
    bool on = true;
    if (auto r = c.body.boolean("enabled", on)) co_return *r;
    auto plan = so.plan_set_enabled(slug, on);
    if (auto r = co_await commit(c, plan); !r) co_return error_reply(r.error());
  }
  if (c.body.has("email_posting")) {
    std::string p;
    if (auto r = c.body.str("email_posting", p)) co_return *r;
    auto plan = so.plan_set_posting(slug, p);
    if (auto r = co_await commit(c, plan); !r) co_return error_reply(r.error());
  }
  if (c.body.has("unauthenticated")) {
    std::string u;
    if (auto r = c.body.str("unauthenticated", u)) co_return *r;
    auto plan = so.plan_set_unauthenticated(slug, u);
    if (auto r = co_await commit(c, plan); !r) co_return error_reply(r.error());
  }
  auto v = so.get(slug);
  if (!v) co_return error_reply(v.error());
  co_return json_reply(200, stream_view(*v, true));
}

H remove_stream(Call& c) {
  auto so = stream_ops(c);
  auto plan = so.plan_remove(c.param("stream"));
  co_return done(co_await commit(c, plan));
}

H add_stream_member(Call& c) {
  std::string member;
  if (auto r = c.body.str("member", member)) co_return *r;
  auto so = stream_ops(c);
  std::vector<std::string> who{member};
  auto plan = so.plan_members(c.param("stream"), who, true);
  if (auto r = co_await commit(c, plan); !r) co_return error_reply(r.error());
  auto v = so.get(c.param("stream"));
  if (!v) co_return error_reply(v.error());
  co_return json_reply(200, stream_view(*v, true));
}

H remove_stream_member(Call& c) {
  auto so = stream_ops(c);
  std::vector<std::string> who{c.param("member")};
  auto plan = so.plan_members(c.param("stream"), who, false);
  if (auto r = co_await commit(c, plan); !r) co_return error_reply(r.error());
  auto v = so.get(c.param("stream"));
  if (!v) co_return error_reply(v.error());
  co_return json_reply(200, stream_view(*v, true));
}

H rotate_token(Call& c) {
  auto so = stream_ops(c);
  auto plan = so.plan_rotate_token(c.param("stream"));
  if (auto r = co_await commit(c, plan); !r) co_return error_reply(r.error());
  auto v = so.get(c.param("stream"));
  if (!v) co_return error_reply(v.error());
  co_return json_reply(200, stream_view(*v, true));
}

H list_topics(Call& c) {
  auto so = stream_ops(c);
  auto v = visible(c, so, c.param("stream"));
  if (!v) co_return error_reply(v.error());
  auto r = so.topics(v->stream.slug);
  if (!r) co_return error_reply(r.error());
  json::array arr;
  for (const auto& t : *r) arr.push_back(json::object{{"name", t.name}, {"messages", t.messages}, {"max_id", t.last_id}});
  co_return json_reply(200, arr);
}

H list_stream_messages(Call& c) {
  auto so = stream_ops(c);
  auto v = visible(c, so, c.param("stream"));
  if (!v) co_return error_reply(v.error());
  streams::Query q;
  if (auto t = c.req.query_param("topic"); !t.empty()) q.topic = t;
  auto number = [&](const char* name, std::uint64_t& out, std::uint64_t max) -> bool {
    auto text = c.req.query_param(name);
    if (text.empty()) return true;
    std::uint64_t n = 0;
    for (char ch : text) {
      if (ch < '0' || ch > '9' || n > max / 10) return false;
      n = n * 10 + static_cast<std::uint64_t>(ch - '0');
    }
    if (n > max) return false;
    out = n;
    return true;
  };
  std::uint64_t limit = 1000;
  if (!number("after", q.after, UINT64_MAX / 2)) co_return error_reply(422, "invalid", "after is a message id", "after");
  if (!number("limit", limit, 5000) || limit == 0)
    co_return error_reply(422, "invalid", "limit is a number from 1 to 5000", "limit");
  q.limit = static_cast<std::uint32_t>(limit);
  auto r = so.messages(v->stream.slug, q);
  if (!r) co_return error_reply(r.error());
  json::array arr;
  for (const auto& m : *r) arr.push_back(stream_message_view(v->stream.slug, m));
  co_return json_reply(200, arr);
}

H send_stream_message(Call& c) {
  std::string topic, content;
  if (auto r = c.body.str("topic", topic)) co_return *r;
  if (auto r = c.body.str("content", content)) co_return *r;
  const std::string& slug = c.param("stream");
  co_return co_await post_message(c, slug, topic, content);
}

// The reference's shape: {"type": "stream", "to": "<stream>", "topic": "…", "content": "…"}.
H send_message(Call& c) {
  std::string type, to, topic, content;
  if (auto r = c.body.str("type", type)) co_return *r;
  if (type != "stream" && type != "channel")
    co_return error_reply(422, "invalid", "only stream messages are supported (type \"stream\")", "type");
  if (auto r = c.body.str("to", to)) co_return *r;
  if (auto r = c.body.str("topic", topic)) co_return *r;
  if (auto r = c.body.str("content", content)) co_return *r;
  auto so = stream_ops(c);
  if (!visible(c, so, to)) co_return error_reply(422, "invalid", "no stream " + to + " you may post to", "to");
  co_return co_await post_message(c, to, topic, content);
}

// A member's notification emails and watching (docs/streams.md, "Notifications and
// replies"): the caller's own; an administrator names another member with ?member= / "member".
namespace {
Result<std::string> member_address(Call& c, admin::StreamOps& so, const std::string& named) {
  if (!named.empty()) {
    if (!c.who.admin) return Error(ErrorKind::denied, "only an administrator names another member", "member");
    return named;
  }
  if (c.who.user == 0) return Error(ErrorKind::invalid, "name the member (an API token is no member)", "member");
  auto txn = so.ops().store().read();
  auto u = directory::get_user(*txn, c.who.user);
  if (!u) return Error(ErrorKind::not_found, "no such user", "member");
  return u->address;
}

json::object member_state_view(const admin::MemberState& st) {
  return json::object{{"member", st.address}, {"notify", streams::notify_mode_name(st.notify)},
                      {"watching_until", st.watching_until}};
}
}  // namespace

H get_notifications(Call& c) {
  auto so = stream_ops(c);
  auto v = visible(c, so, c.param("stream"));
  if (!v) co_return error_reply(v.error());
  auto who = member_address(c, so, c.req.query_param("member"));
  if (!who) co_return error_reply(who.error());
  auto st = so.member_state(v->stream.slug, *who);
  if (!st) co_return error_reply(st.error());
  co_return json_reply(200, member_state_view(*st));
}

H set_notifications(Call& c) {
  std::string mode, member;
  if (auto r = c.body.str("notify", mode)) co_return *r;
  if (auto r = c.body.str("member", member, false)) co_return *r;
  auto so = stream_ops(c);
  auto v = visible(c, so, c.param("stream"));
  if (!v) co_return error_reply(v.error());
  auto who = member_address(c, so, member);
  if (!who) co_return error_reply(who.error());
  auto plan = so.plan_set_notify(v->stream.slug, *who, mode);
  if (auto r = co_await commit(c, plan); !r) co_return error_reply(r.error());
  auto st = so.member_state(v->stream.slug, *who);
  if (!st) co_return error_reply(st.error());
  co_return json_reply(200, member_state_view(*st));
}

H watch_stream(Call& c) {
  std::uint64_t seconds = 0;
  std::string member;
  if (auto r = c.body.u64("seconds", seconds)) co_return *r;
  if (seconds > 86400) co_return error_reply(422, "invalid", "watch for 0 to 86400 seconds", "seconds");
  if (auto r = c.body.str("member", member, false)) co_return *r;
  auto so = stream_ops(c);
  auto v = visible(c, so, c.param("stream"));
  if (!v) co_return error_reply(v.error());
  auto who = member_address(c, so, member);
  if (!who) co_return error_reply(who.error());
  auto plan = so.plan_watch(v->stream.slug, *who, static_cast<std::int64_t>(seconds));
  if (auto r = co_await commit(c, plan); !r) co_return error_reply(r.error());
  auto st = so.member_state(v->stream.slug, *who);
  if (!st) co_return error_reply(st.error());
  co_return json_reply(200, member_state_view(*st));
}

H get_attachment(Call& c) {
  auto so = stream_ops(c);
  auto v = visible(c, so, c.param("stream"));
  if (!v) co_return error_reply(v.error());
  auto r = so.attachment(v->stream.slug, c.param("blob"));
  if (!r) co_return error_reply(r.error());
  http::Response resp;
  resp.status = 200;
  // Served as a download, never rendered in the API's origin.
  resp.content_type = "application/octet-stream";
  std::string name;
  for (char ch : r->first.name)
    if (ch != '"' && ch != '\\' && static_cast<unsigned char>(ch) >= 0x20) name.push_back(ch);
  resp.headers.emplace_back("Content-Disposition", "attachment; filename=\"" + name + "\"");
  resp.headers.emplace_back("X-Content-Type-Options", "nosniff");
  resp.body = std::move(r->second);
  co_return resp;
}

}  // namespace stream_routes

}  // namespace mailstead::api
