// Self-service for every signed-in user: password, vacation, forwarding, app passwords,
// quota use and an Apple configuration profile.
#include "api/handlers.hpp"
#include "api/views.hpp"
#include "auth/password.hpp"
#include "log/log.hpp"
#include "util/text.hpp"

namespace mailstead::api {

namespace {

// A UUID (RFC 9562 version 4 layout) from random bytes, for the profile's identifiers.
std::string uuid() {
  auto id = new_session_id() + new_session_id() + new_session_id() + new_session_id();  // 40 hex digits
  return id.substr(0, 8) + "-" + id.substr(8, 4) + "-4" + id.substr(13, 3) + "-a" + id.substr(17, 3) + "-" +
         id.substr(20, 12);
}

}  // namespace

namespace self_routes {

H me(Call& c) {
  auto v = c.api.ops.get_user(c.who.address);
  if (!v) co_return error_reply(v.error());
  auto u = c.api.ops.usage(c.who.address);
  co_return json_reply(200, views::user(*v, u ? *u : admin::Usage{}));
}

H change_password(Call& c) {
  std::string current, next;
  if (auto r = c.body.str("current_password", current)) co_return *r;
  if (auto r = c.body.str("new_password", next)) co_return *r;
  std::string hash;
  {
    auto v = c.api.ops.get_user(c.who.address);
    if (!v) co_return error_reply(v.error());
    hash = v->user.password_hash;
  }
  auto& ops = c.api.ops;
  bool ok = co_await on_slow_pool(c, [&] { return auth::verify_password(hash, current); });
  if (!ok) co_return error_reply(422, "invalid", "the current password is wrong", "current_password");
  auto plan = co_await on_slow_pool(c, [&] { return ops.plan_set_password(c.who.address, next, c.who.session_key); });
  auto r = co_await commit(c, plan);
  if (!r) {
    auto e = r.error();
    if (e.field == "password") e.field = "new_password";
    co_return error_reply(e);
  }
  log::info("admin.password.changed", {{"user", c.who.address}, {"peer", c.req.peer}});
  co_return no_content();
}

H get_vacation(Call& c) {
  auto v = c.api.ops.get_vacation(c.who.address);
  if (!v) co_return error_reply(v.error());
  co_return json_reply(200, views::vacation(*v));
}

H set_vacation(Call& c) {
  admin::rules::Vacation v;
  std::uint64_t days = 0;
  if (auto r = c.body.boolean("enabled", v.enabled)) co_return *r;
  if (auto r = c.body.str("reason", v.reason)) co_return *r;
  if (auto r = c.body.str("subject", v.subject, false)) co_return *r;
  if (auto r = c.body.str("from", v.from, false)) co_return *r;
  if (auto r = c.body.strings("addresses", v.addresses, false)) co_return *r;
  if (auto r = c.body.u64("days", days, false)) co_return *r;
  if (auto r = c.body.str("start", v.start, false)) co_return *r;
  if (auto r = c.body.str("end", v.end, false)) co_return *r;
  if (auto r = c.body.str("zone", v.zone, false)) co_return *r;
  if (days > 365) co_return error_reply(422, "invalid", "days is 1 to 365 (0: the default)", "days");
  v.days = static_cast<std::uint32_t>(days);
  auto plan = c.api.ops.plan_set_vacation(c.who.address, v);
  auto r = co_await commit(c, plan);
  if (!r) co_return error_reply(r.error());
  co_return co_await get_vacation(c);
}

H get_forwarding(Call& c) {
  auto f = c.api.ops.get_forward(c.who.address);
  if (!f) co_return error_reply(f.error());
  co_return json_reply(200, views::forward(*f));
}

H set_forwarding(Call& c) {
  admin::rules::Forward f;
  if (auto r = c.body.boolean("enabled", f.enabled)) co_return *r;
  if (auto r = c.body.str("target", f.target)) co_return *r;
  if (auto r = c.body.boolean("keep_copy", f.keep_copy, false)) co_return *r;
  auto plan = c.api.ops.plan_set_forward(c.who.address, f);
  auto r = co_await commit(c, plan);
  if (!r) co_return error_reply(r.error());
  co_return co_await get_forwarding(c);
}

H list_app_passwords(Call& c) {
  auto r = c.api.ops.list_app_passwords(c.who.address);
  if (!r) co_return error_reply(r.error());
  json::array arr;
  for (const auto& a : *r) arr.push_back(views::app_password(a));
  co_return json_reply(200, arr);
}

H create_app_password(Call& c) {
  std::string name;
  if (auto r = c.body.str("name", name)) co_return *r;
  auto& ops = c.api.ops;
  auto max = c.api.settings.max_app_passwords;
  for (int attempt = 0; attempt < 3; ++attempt) {
    auto plan = co_await on_slow_pool(c, [&] { return ops.plan_create_app_password(c.who.address, name, max); });
    auto r = co_await commit(c, plan);
    if (!r && r.error().kind == ErrorKind::conflict && r.error().message == "the app password id is taken") continue;
    if (!r) co_return error_reply(r.error());
    auto o = views::app_password(r->record);
    o["password"] = r->text;
    log::info("admin.app_password.created", {{"user", c.who.address}, {"name", name}});
    co_return json_reply(201, o);
  }
  co_return error_reply(409, "conflict", "could not draw a free app password id; try again", "name");
}

H revoke_app_password(Call& c) {
  auto plan = c.api.ops.plan_revoke_app_password(c.who.address, c.param("id"));
  auto r = co_await commit(c, plan);
  co_return r ? no_content() : error_reply(r.error());
}

// An Apple configuration profile (com.apple.mail.managed) naming this server's IMAP and
// SMTP ports; the password is left for the device to ask.
H mobileconfig(Call& c) {
  const auto& s = c.api.settings;
  auto host = xml_escape(client_host(c.api));
  auto user = xml_escape(c.who.address);
  std::string body =
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      "<!DOCTYPE plist PUBLIC \"-//Apple//DTD PLIST 1.0//EN\" \"http://www.apple.com/DTDs/PropertyList-1.0.dtd\">\n"
      "<plist version=\"1.0\">\n<dict>\n"
      "  <key>PayloadContent</key>\n  <array>\n    <dict>\n"
      "      <key>EmailAccountDescription</key><string>" + user + "</string>\n"
      "      <key>EmailAccountType</key><string>EmailTypeIMAP</string>\n"
      "      <key>EmailAddress</key><string>" + user + "</string>\n"
      "      <key>IncomingMailServerAuthentication</key><string>EmailAuthPassword</string>\n"
      "      <key>IncomingMailServerHostName</key><string>" + host + "</string>\n"
      "      <key>IncomingMailServerPortNumber</key><integer>" + std::to_string(s.client_imaps_port) + "</integer>\n"
      "      <key>IncomingMailServerUseSSL</key><true/>\n"
      "      <key>IncomingMailServerUsername</key><string>" + user + "</string>\n"
      "      <key>OutgoingMailServerAuthentication</key><string>EmailAuthPassword</string>\n"
      "      <key>OutgoingMailServerHostName</key><string>" + host + "</string>\n"
      "      <key>OutgoingMailServerPortNumber</key><integer>" + std::to_string(s.client_submissions_port) + "</integer>\n"
      "      <key>OutgoingMailServerUseSSL</key><true/>\n"
      "      <key>OutgoingMailServerUsername</key><string>" + user + "</string>\n"
      "      <key>OutgoingPasswordSameAsIncomingPassword</key><true/>\n"
      "      <key>PayloadDisplayName</key><string>" + user + "</string>\n"
      "      <key>PayloadIdentifier</key><string>mailstead." + host + ".account</string>\n"
      "      <key>PayloadType</key><string>com.apple.mail.managed</string>\n"
      "      <key>PayloadUUID</key><string>" + uuid() + "</string>\n"
      "      <key>PayloadVersion</key><integer>1</integer>\n"
      "    </dict>\n  </array>\n"
      "  <key>PayloadDisplayName</key><string>Mail: " + user + "</string>\n"
      "  <key>PayloadIdentifier</key><string>mailstead." + host + "</string>\n"
      "  <key>PayloadType</key><string>Configuration</string>\n"
      "  <key>PayloadUUID</key><string>" + uuid() + "</string>\n"
      "  <key>PayloadVersion</key><integer>1</integer>\n"
      "</dict>\n</plist>\n";
  http::Response r;
  r.content_type = "application/x-apple-aspen-config";
  r.body = std::move(body);
  r.headers.emplace_back("Content-Disposition", "attachment; filename=\"mail.mobileconfig\"");
  co_return r;
}

}  // namespace self_routes

}  // namespace mailstead::api
