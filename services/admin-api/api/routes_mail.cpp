// Mailboxes, messages, Sieve scripts and the outbound queue of any user (admin).
#include "api/handlers.hpp"
#include "api/views.hpp"
#include "directory/address.hpp"

namespace mailstead::api {

namespace {

std::string key_of(const std::string& s) { return directory::lowercase_ascii(s); }

bool number(const std::string& s, std::uint64_t& out, std::uint64_t max) {
  out = 0;
  if (s.empty() || s.size() > 19) return false;
  for (char ch : s) {
    if (ch < '0' || ch > '9') return false;
    out = out * 10 + static_cast<std::uint64_t>(ch - '0');
  }
  return out > 0 && out <= max;
}

http::Response raw_message(std::string bytes) {
  http::Response r;
  r.content_type = "message/rfc822";
  r.body = std::move(bytes);
  return r;
}

}  // namespace

namespace mail_routes {

H list_mailboxes(Call& c) {
  auto r = c.api.ops.list_mailboxes(key_of(c.param("address")));
  if (!r) co_return error_reply(r.error());
  json::array arr;
  for (const auto& m : *r)
    arr.push_back(json::object{{"name", m.name},         {"special_use", m.special_use}, {"subscribed", m.subscribed},
                               {"messages", m.messages}, {"unseen", m.unseen},           {"bytes", m.bytes},
                               {"uidvalidity", m.uidvalidity}, {"uidnext", m.uidnext},   {"highestmodseq", m.highestmodseq}});
  co_return json_reply(200, arr);
}

H list_messages(Call& c) {
  auto r = c.api.ops.list_messages(key_of(c.param("address")), c.param("mailbox"));
  if (!r) co_return error_reply(r.error());
  json::array arr;
  for (const auto& m : *r)
    arr.push_back(json::object{{"uid", m.uid},
                               {"size", m.record.size},
                               {"flags", m.record.flags},
                               {"keywords", views::string_array(m.record.keywords)},
                               {"modseq", m.record.modseq},
                               {"internaldate", iso_time(m.record.internaldate)},
                               {"envelope", m.envelope}});
  co_return json_reply(200, arr);
}

H get_message(Call& c) {
  std::uint64_t uid = 0;
  if (!number(c.param("uid"), uid, UINT32_MAX)) co_return error_reply(404, "not_found", "no such UID", "uid");
  auto r = c.api.ops.get_message(key_of(c.param("address")), c.param("mailbox"), static_cast<std::uint32_t>(uid));
  if (!r) co_return error_reply(r.error());
  co_return raw_message(std::move(*r));
}

H list_scripts(Call& c) {
  auto r = c.api.ops.list_scripts(key_of(c.param("address")));
  if (!r) co_return error_reply(r.error());
  json::array arr;
  for (const auto& s : *r) arr.push_back(json::object{{"name", s.name}, {"active", s.active}, {"size", s.size}});
  co_return json_reply(200, arr);
}

H get_script(Call& c) {
  auto r = c.api.ops.get_script(key_of(c.param("address")), c.param("name"));
  if (!r) co_return error_reply(r.error());
  co_return json_reply(200, json::object{{"name", c.param("name")}, {"script", *r}});
}

H put_script(Call& c) {
  std::string text;
  if (auto r = c.body.str("script", text)) co_return *r;
  auto plan = c.api.ops.plan_put_script(key_of(c.param("address")), c.param("name"), text);
  auto r = co_await commit(c, plan);
  if (!r) co_return error_reply(r.error());
  co_return json_reply(200, json::object{{"warnings", views::string_array(*r)}});
}

H delete_script(Call& c) {
  auto plan = c.api.ops.plan_delete_script(key_of(c.param("address")), c.param("name"));
  auto r = co_await commit(c, plan);
  co_return r ? no_content() : error_reply(r.error());
}

H activate_script(Call& c) {
  std::string name;
  if (auto r = c.body.str("name", name)) co_return *r;
  auto plan = c.api.ops.plan_activate_script(key_of(c.param("address")), name);
  auto r = co_await commit(c, plan);
  co_return r ? no_content() : error_reply(r.error());
}

H list_queue(Call& c) {
  json::array arr;
  for (const auto& q : c.api.ops.list_queue()) {
    auto users = c.api.ops.user_addresses({q.authenticated_user});
    arr.push_back(views::queue_item(q, users.empty() ? "" : users[0]));
  }
  co_return json_reply(200, arr);
}

H get_queued(Call& c) {
  std::uint64_t id = 0;
  if (!number(c.param("id"), id, UINT64_MAX)) co_return error_reply(404, "not_found", "no such queue id", "id");
  auto q = c.api.ops.get_queue_record(id);
  if (!q) co_return error_reply(q.error());
  auto users = c.api.ops.user_addresses({q->authenticated_user});
  co_return json_reply(200, views::queue_item(*q, users.empty() ? "" : users[0]));
}

H get_queued_message(Call& c) {
  std::uint64_t id = 0;
  if (!number(c.param("id"), id, UINT64_MAX)) co_return error_reply(404, "not_found", "no such queue id", "id");
  auto r = c.api.ops.get_queued(id);
  if (!r) co_return error_reply(r.error());
  co_return raw_message(std::move(*r));
}

}  // namespace mail_routes

}  // namespace mailstead::api
