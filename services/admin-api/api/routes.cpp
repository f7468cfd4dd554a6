// The route table and the dispatcher: match the path, find who is calling (API token or
// session cookie), check the CSRF token on state-changing requests of a session, the role,
// and the JSON body's shape, then run the handler. Adding a route is one row of `table`
// (and its handler); GET /api/v1/openapi.json is generated from the same rows.
#include <ctime>

#include "api/handlers.hpp"
#include "log/log.hpp"
#include "ops/access.hpp"
#include "util/text.hpp"

namespace mailstead::api {

// clang-format off
const std::vector<Route>& routes() {
  using namespace system_routes;
  using namespace access_routes;
  using namespace directory_routes;
  using namespace mail_routes;
  using namespace self_routes;
  using namespace outbound_routes;
  using namespace stream_routes;
  using namespace inbound_routes;
  using namespace list_routes;
  constexpr auto O = Access::open; constexpr auto U = Access::user; constexpr auto A = Access::admin;
  constexpr auto M = Access::member;
  static const std::vector<Route> table = {
    {"GET", "/api/v1/health", O, health, "Liveness: the API answers", {}, "", "Health", 200, "system"},
    {"GET", "/api/v1/openapi.json", O, openapi, "This document", {}, "", "@application/json", 200, "system"},
    {"GET", "/api/v1/status", A, status, "Counts, store size and which parts of the suite are built", {}, "", "Status", 200, "system"},

    {"POST", "/api/v1/login", O, login, "Sign in with an address and password: sets the session cookie", {"address", "password"}, "Login", "Session", 200, "session"},
    {"POST", "/api/v1/logout", U, logout, "End this session", {}, "", "", 204, "session"},
    {"GET", "/api/v1/session", U, session, "This session: who, role, CSRF token, expiry", {}, "", "Session", 200, "session"},
    {"GET", "/api/v1/sessions", A, list_sessions, "Every open web session", {}, "", "SessionInfo[]", 200, "session"},
    {"DELETE", "/api/v1/sessions/{id}", A, revoke_session, "End a session", {}, "", "", 204, "session"},
    {"GET", "/api/v1/tokens", A, list_tokens, "API tokens (never their secrets)", {}, "", "Token[]", 200, "tokens"},
    {"POST", "/api/v1/tokens", A, create_token, "Create an API token; its secret is shown once", {"name"}, "TokenNew", "NewToken", 201, "tokens"},
    {"DELETE", "/api/v1/tokens/{id}", A, revoke_token, "Revoke an API token", {}, "", "", 204, "tokens"},
    {"GET", "/api/v1/admins", A, list_admins, "Users with the admin role", {}, "", "Admin[]", 200, "users"},
    {"PUT", "/api/v1/admins/{address}", A, grant_admin, "Grant the admin role", {}, "", "", 204, "users"},
    {"DELETE", "/api/v1/admins/{address}", A, revoke_admin, "Revoke the admin role", {}, "", "", 204, "users"},

    {"GET", "/api/v1/domains", A, list_domains, "Local domains", {}, "", "Domain[]", 200, "domains"},
    {"POST", "/api/v1/domains", A, add_domain, "Add a local domain", {"domain"}, "DomainNew", "Domain", 201, "domains"},
    {"GET", "/api/v1/domains/{domain}", A, get_domain, "One domain", {}, "", "Domain", 200, "domains"},
    {"DELETE", "/api/v1/domains/{domain}", A, remove_domain, "Remove an empty domain", {}, "", "", 204, "domains"},

    {"GET", "/api/v1/users", A, list_users, "Users (?q= filters by address or name; ?limit=&after= pages, Link rel=next)", {}, "", "User[]", 200, "users"},
    {"POST", "/api/v1/users", A, add_user, "Add a user with its default mailboxes", {"address", "password", "name", "quota"}, "UserNew", "User", 201, "users"},
    {"GET", "/api/v1/users/{address}", A, get_user, "One user with its aliases and quota use", {}, "", "User", 200, "users"},
    {"PATCH", "/api/v1/users/{address}", A, update_user, "Change name, quota or enabled", {"name", "quota", "enabled"}, "UserPatch", "User", 200, "users"},
    {"DELETE", "/api/v1/users/{address}", A, remove_user, "Remove a user and its mailboxes", {}, "", "", 204, "users"},
    {"POST", "/api/v1/users/{address}/password", A, set_password, "Reset a user's password (ends its web sessions)", {"password"}, "PasswordSet", "", 204, "users"},
    {"POST", "/api/v1/users/{address}/allowed-senders", A, allow_sender, "Let the user send as another address or @domain", {"sender"}, "SenderNew", "", 204, "users"},
    {"DELETE", "/api/v1/users/{address}/allowed-senders/{sender}", A, deny_sender, "Withdraw an allowed sender", {}, "", "", 204, "users"},
    {"GET", "/api/v1/users/{address}/app-passwords", A, user_app_passwords, "A user's app passwords (never the secrets)", {}, "", "AppPassword[]", 200, "users"},
    {"DELETE", "/api/v1/users/{address}/app-passwords/{id}", A, revoke_user_app_password, "Revoke one of a user's app passwords", {}, "", "", 204, "users"},
    {"GET", "/api/v1/users/{address}/mailboxes", A, list_mailboxes, "A user's mailboxes", {}, "", "Mailbox[]", 200, "mail"},
    {"GET", "/api/v1/users/{address}/mailboxes/{mailbox}/messages", A, list_messages, "Messages of a mailbox", {}, "", "Message[]", 200, "mail"},
    {"GET", "/api/v1/users/{address}/mailboxes/{mailbox}/messages/{uid}", A, get_message, "A message as IMAP serves it", {}, "", "@message/rfc822", 200, "mail"},
    {"GET", "/api/v1/users/{address}/sieve", A, list_scripts, "A user's Sieve scripts", {}, "", "Script[]", 200, "sieve"},
    {"GET", "/api/v1/users/{address}/sieve/{name}", A, get_script, "A script's text as stored", {}, "", "ScriptText", 200, "sieve"},
    {"PUT", "/api/v1/users/{address}/sieve/{name}", A, put_script, "Store a script (validated as ManageSieve does)", {"script"}, "ScriptPut", "Warnings", 200, "sieve"},
    {"DELETE", "/api/v1/users/{address}/sieve/{name}", A, delete_script, "Delete an inactive script", {}, "", "", 204, "sieve"},
    {"PUT", "/api/v1/users/{address}/sieve-active", A, activate_script, "Make a script active (\"\" deactivates)", {"name"}, "ScriptActivate", "", 204, "sieve"},

    {"GET", "/api/v1/aliases", A, list_aliases, "Aliases (?q= filters by alias or user; ?limit=&after= pages, Link rel=next)", {}, "", "Alias[]", 200, "aliases"},
    {"POST", "/api/v1/aliases", A, add_alias, "Add an alias of a user", {"alias", "user"}, "AliasNew", "Alias", 201, "aliases"},
    {"DELETE", "/api/v1/aliases/{alias}", A, remove_alias, "Remove an alias", {}, "", "", 204, "aliases"},

    {"GET", "/api/v1/groups", A, list_groups, "Groups", {}, "", "Group[]", 200, "groups"},
    {"POST", "/api/v1/groups", A, add_group, "Add a group", {"group", "members", "policy"}, "GroupNew", "Group", 201, "groups"},
    {"GET", "/api/v1/groups/{group}", A, get_group, "One group", {}, "", "Group", 200, "groups"},
    {"PATCH", "/api/v1/groups/{group}", A, update_group, "Set the posting policy", {"policy"}, "GroupPatch", "Group", 200, "groups"},
    {"DELETE", "/api/v1/groups/{group}", A, remove_group, "Remove a group", {}, "", "", 204, "groups"},
    {"POST", "/api/v1/groups/{group}/members", A, add_member, "Add a member", {"member"}, "MemberNew", "Group", 200, "groups"},
    {"DELETE", "/api/v1/groups/{group}/members/{member}", A, remove_member, "Remove a member", {}, "", "Group", 200, "groups"},

    {"GET", "/api/v1/catchall", A, list_catchall, "Each domain's catch-all mailboxes", {}, "", "Catchall[]", 200, "domains"},
    {"PUT", "/api/v1/catchall/{domain}", A, set_catchall, "Set a domain's catch-all", {"users"}, "CatchallSet", "Catchall", 200, "domains"},
    {"DELETE", "/api/v1/catchall/{domain}", A, clear_catchall, "Clear a domain's catch-all", {}, "", "", 204, "domains"},
    {"GET", "/api/v1/resolve", A, resolve, "Where mail to ?address= goes (&from=, &authenticated_as=)", {}, "", "Resolution", 200, "domains"},

    {"GET", "/api/v1/queue", A, list_queue, "The outbound queue, each recipient's state and last reply", {}, "", "QueueItem[]", 200, "queue"},
    {"GET", "/api/v1/queue/log", A, send_log, "The send log: every attempt on every recipient (?since=, ?limit=)", {}, "", "SendLogEntry[]", 200, "queue"},
    {"POST", "/api/v1/queue/retry", A, retry_all, "Every queued message due now (queue retry --all)", {}, "", "QueueRetried", 200, "queue"},
    {"POST", "/api/v1/queue/flush", A, retry_all, "Every queued message due now (queue flush)", {}, "", "QueueRetried", 200, "queue"},
    {"GET", "/api/v1/queue/{id}", A, get_queued, "One queued message", {}, "", "QueueItem", 200, "queue"},
    {"DELETE", "/api/v1/queue/{id}", A, delete_queued, "Remove a queued message without a bounce", {}, "", "", 204, "queue"},
    {"POST", "/api/v1/queue/{id}/retry", A, retry_one, "One queued message due now (also ends its lease)", {}, "", "QueueRetried", 200, "queue"},
    {"GET", "/api/v1/queue/{id}/message", A, get_queued_message, "A queued message's bytes", {}, "", "@message/rfc822", 200, "queue"},

    {"GET", "/api/v1/domains/{domain}/dns", A, dns_records, "The DNS records to publish for a domain", {}, "", "DnsRecord[]", 200, "domains"},
    {"GET", "/api/v1/domains/{domain}/dns/check", A, dns_check, "Each record looked up now through the resolver: ok, missing or mismatch with the value found", {}, "", "DnsCheck[]", 200, "domains"},
    {"GET", "/api/v1/domains/{domain}/dkim", A, list_dkim, "A domain's DKIM keys with the TXT record of each", {}, "", "DkimKey[]", 200, "dkim"},
    {"POST", "/api/v1/domains/{domain}/dkim", A, generate_dkim, "Generate a DKIM key; it signs at once", {"selector", "algorithm"}, "DkimNew", "DkimKey", 201, "dkim"},
    {"POST", "/api/v1/domains/{domain}/dkim/rotate", A, rotate_dkim, "New keys replace the signing ones; the old stay published for [dkim] rotate_grace", {}, "", "DkimKey[]", 200, "dkim"},

    {"GET", "/api/v1/inbound-rules", A, list_rules, "The MX's block and allow lists, global and per user", {}, "", "InboundRule[]", 200, "inbound"},
    {"POST", "/api/v1/inbound-rules", A, add_rule, "Block or allow an IP, CIDR range, sender domain or address (user: that user's own list)", {"list", "value", "user", "note"}, "InboundRuleNew", "InboundRule", 201, "inbound"},
    {"DELETE", "/api/v1/inbound-rules/{list}/{value}", A, remove_rule, "Remove a rule (?user= for a user's own list; a CIDR's / as %2F)", {}, "", "", 204, "inbound"},
    {"GET", "/api/v1/policy", A, policy, "The MX's whole inbound policy: DNSBL, rates, greylisting, lists, DMARC with its overrides, spam thresholds", {}, "", "Policy", 200, "inbound"},
    {"GET", "/api/v1/dmarc-overrides", A, list_dmarc_overrides, "Per-domain DMARC overrides", {}, "", "DmarcOverride[]", 200, "inbound"},
    {"PUT", "/api/v1/dmarc-overrides/{domain}", A, set_dmarc_override, "Replace a From domain's published DMARC policy (and its subdomains')", {"action"}, "DmarcOverrideSet", "DmarcOverride", 200, "inbound"},
    {"DELETE", "/api/v1/dmarc-overrides/{domain}", A, clear_dmarc_override, "The domain's published DMARC policy again", {}, "", "", 204, "inbound"},
    {"GET", "/api/v1/relays", A, list_relays, "The default relay and per-sender-domain relays (never a password)", {}, "", "Relay[]", 200, "relay"},
    {"GET", "/api/v1/relay-presets", A, relay_presets, "Well-known relay services: host, port, security", {}, "", "RelayPreset[]", 200, "relay"},
    {"PUT", "/api/v1/relay", A, set_default_relay, "Set the default relay (the password is write-only)", {"host", "port", "preset", "security", "user", "password"}, "RelaySet", "RelaySaved", 200, "relay"},
    {"DELETE", "/api/v1/relay", A, clear_default_relay, "Clear the default relay: mail goes to each recipient's MX", {}, "", "", 204, "relay"},
    {"PUT", "/api/v1/relay/{domain}", A, set_domain_relay, "Set the relay for mail from a sender domain", {"host", "port", "preset", "security", "user", "password"}, "RelaySet", "RelaySaved", 200, "relay"},
    {"DELETE", "/api/v1/relay/{domain}", A, clear_domain_relay, "Clear a sender domain's relay", {}, "", "", 204, "relay"},
    {"GET", "/api/v1/dashboard", A, dashboard, "Service health, counts, queue depth, mail per hour over 24 h, store size and free space", {}, "", "Dashboard", 200, "system"},
    {"GET", "/api/v1/logs", A, logs, "Recent events of every service, newest first (?service=, ?level=, ?text=, ?limit=)", {}, "", "LogEvent[]", 200, "system"},
    {"POST", "/api/v1/send-test-email", A, send_test_email, "Send two test messages now (default From, noreply): route, TLS, reply or failure of each", {"to"}, "TestEmail", "TestEmailResult[]", 200, "relay"},

    {"GET", "/api/v1/streams", M, list_streams, "Chat streams: every one for an administrator, one's own for a member", {}, "", "Stream[]", 200, "streams"},
    {"POST", "/api/v1/streams", A, add_stream, "Add a chat stream (a new email token)", {"name", "slug", "description", "email_posting"}, "StreamNew", "Stream", 201, "streams"},
    {"GET", "/api/v1/streams/{stream}", M, get_stream, "One stream with its email address", {}, "", "Stream", 200, "streams"},
    {"PATCH", "/api/v1/streams/{stream}", A, update_stream, "Enable or disable a stream, or set who may post by email", {"enabled", "email_posting", "unauthenticated"}, "StreamPatch", "Stream", 200, "streams"},
    {"GET", "/api/v1/streams/{stream}/notifications", M, get_notifications, "A member's notification emails and watching (?member= for an administrator)", {}, "", "MemberNotifications", 200, "streams"},
    {"PUT", "/api/v1/streams/{stream}/notifications", M, set_notifications, "Turn a member's notification emails on (all) or off (none)", {"notify", "member"}, "NotificationsPut", "MemberNotifications", 200, "streams"},
    {"POST", "/api/v1/streams/{stream}/watch", M, watch_stream, "Watch the stream for some seconds (0: stop): no notification emails meanwhile", {"seconds", "member"}, "WatchPost", "MemberNotifications", 200, "streams"},
    {"GET", "/api/v1/lists", A, list_lists, "Pattern-matched lists", {}, "", "List[]", 200, "lists"},
    {"POST", "/api/v1/lists", A, add_list, "Add a pattern-matched list (422 with the field for a bad pattern or template)", {"name", "pattern", "templates", "site_domain"}, "ListNew", "List", 201, "lists"},
    {"GET", "/api/v1/lists/{name}", A, get_list, "One list", {}, "", "List", 200, "lists"},
    {"DELETE", "/api/v1/lists/{name}", A, remove_list, "Remove a list", {}, "", "", 204, "lists"},
    {"GET", "/api/v1/users/{address}/external-addresses", A, list_external_addresses, "External addresses registered to the account (they may post to lists)", {}, "", "ExternalAddress[]", 200, "lists"},
    {"POST", "/api/v1/users/{address}/external-addresses", A, add_external_address, "Register an external address to the account", {"external"}, "ExternalNew", "", 204, "lists"},
    {"DELETE", "/api/v1/users/{address}/external-addresses/{external}", A, remove_external_address, "Withdraw a registered external address", {}, "", "", 204, "lists"},
    {"DELETE", "/api/v1/streams/{stream}", A, remove_stream, "Remove a stream and its messages", {}, "", "", 204, "streams"},
    {"POST", "/api/v1/streams/{stream}/members", A, add_stream_member, "Add a member", {"member"}, "MemberNew", "Stream", 200, "streams"},
    {"DELETE", "/api/v1/streams/{stream}/members/{member}", A, remove_stream_member, "Remove a member", {}, "", "Stream", 200, "streams"},
    {"POST", "/api/v1/streams/{stream}/token", A, rotate_token, "A new email token: the old address stops working", {}, "", "Stream", 200, "streams"},
    {"GET", "/api/v1/streams/{stream}/topics", M, list_topics, "A stream's topics with message counts", {}, "", "Topic[]", 200, "streams"},
    {"GET", "/api/v1/streams/{stream}/messages", M, list_stream_messages, "A stream's messages, oldest first (?topic=, ?after=ID, ?limit=)", {}, "", "StreamMessage[]", 200, "streams"},
    {"POST", "/api/v1/streams/{stream}/messages", M, send_stream_message, "Post a message to a topic", {"topic", "content"}, "StreamMessageNew", "StreamMessageId", 201, "streams"},
    {"GET", "/api/v1/streams/{stream}/live", M, stream_live, "New messages of the stream pushed over a WebSocket (Upgrade: websocket; ?after=ID)", {}, "", "", 101, "streams"},
    {"POST", "/api/v1/messages", M, send_message, "Send a stream message in the reference chat API's shape", {"type", "to", "topic", "content"}, "ChatMessageNew", "StreamMessageId", 201, "streams"},
    {"GET", "/api/v1/streams/{stream}/forwards", A, list_forwards, "The stream's forward targets with their queues (pending, failures); secrets never shown", {}, "", "StreamForward[]", 200, "streams"},
    {"POST", "/api/v1/streams/{stream}/forwards", A, add_forward, "Forward the stream's messages to a Zulip-compatible server or an incoming webhook", {"kind", "site", "bot_email", "api_key", "stream", "url", "allow_http"}, "StreamForwardNew", "StreamForward", 201, "streams"},
    {"DELETE", "/api/v1/streams/{stream}/forwards/{forward}", A, remove_forward, "Stop forwarding to a target (its pending and failed jobs are dropped)", {}, "", "", 204, "streams"},
    {"POST", "/api/v1/streams/{stream}/forwards/{forward}/retry", A, retry_forward, "Queue a target's failed jobs again", {}, "", "StreamForwardRetried", 200, "streams"},
    {"GET", "/api/v1/streams/{stream}/attachments/{blob}/{name}", M, get_attachment, "An attachment a message of the stream links", {}, "", "@application/octet-stream", 200, "streams"},

    {"GET", "/api/v1/me", U, me, "The signed-in user, its aliases and quota use", {}, "", "Me", 200, "self"},
    {"POST", "/api/v1/me/password", U, change_password, "Change one's own password (ends one's other sessions)", {"current_password", "new_password"}, "PasswordChange", "", 204, "self"},
    {"GET", "/api/v1/me/sessions", U, my_sessions, "One's own web sessions", {}, "", "SessionInfo[]", 200, "self"},
    {"DELETE", "/api/v1/me/sessions/{id}", U, revoke_my_session, "End one of one's own sessions", {}, "", "", 204, "self"},
    {"GET", "/api/v1/me/vacation", U, get_vacation, "The vacation reply (the Sieve rule Roundcube also edits)", {}, "", "Vacation", 200, "self"},
    {"PUT", "/api/v1/me/vacation", U, set_vacation, "Set the vacation reply", {"enabled", "subject", "reason", "from", "addresses", "days", "start", "end", "zone"}, "Vacation", "Vacation", 200, "self"},
    {"GET", "/api/v1/me/forwarding", U, get_forwarding, "Forwarding (a Sieve redirect rule)", {}, "", "Forward", 200, "self"},
    {"PUT", "/api/v1/me/forwarding", U, set_forwarding, "Set forwarding", {"enabled", "target", "keep_copy"}, "Forward", "Forward", 200, "self"},
    {"GET", "/api/v1/me/app-passwords", U, list_app_passwords, "One's app passwords (never the secrets)", {}, "", "AppPassword[]", 200, "self"},
    {"POST", "/api/v1/me/app-passwords", U, create_app_password, "Create an app password for a device; shown once", {"name"}, "AppPasswordNew", "NewAppPassword", 201, "self"},
    {"DELETE", "/api/v1/me/app-passwords/{id}", U, revoke_app_password, "Revoke an app password", {}, "", "", 204, "self"},
    {"GET", "/api/v1/me/mobileconfig", U, mobileconfig, "An Apple configuration profile for this account", {}, "", "@application/x-apple-aspen-config", 200, "self"},
  };
  return table;
}
// clang-format on

// ---- replies ----
http::Response json_reply(int status, const json::value& v) {
  http::Response r;
  r.status = status;
  r.body = json::serialize(v);
  return r;
}

http::Response no_content() {
  http::Response r;
  r.status = 204;
  r.content_type.clear();
  return r;
}

http::Response error_reply(int status, std::string_view code, std::string_view message, std::string_view field) {
  return json_reply(status, json::object{{"error", json::object{{"code", code}, {"message", message}, {"field", field}}}});
}

http::Response error_reply(const Error& e) {
  switch (e.kind) {
    case ErrorKind::invalid: return error_reply(422, "invalid", e.message, e.field);
    case ErrorKind::not_found: return error_reply(404, "not_found", e.message, e.field);
    case ErrorKind::conflict: return error_reply(409, "conflict", e.message, e.field);
    case ErrorKind::denied: return error_reply(403, "forbidden", e.message, e.field);
    case ErrorKind::internal: break;
  }
  log::error("admin.api.internal", {{"error", e.message}});
  return error_reply(500, "internal", e.message, e.field);
}

// ---- the JSON body ----
Reply Body::parse(std::string_view text, const std::vector<const char*>& allowed, Body& out) {
  boost::system::error_code ec;
  json::parse_options opt;
  opt.max_depth = 16;
  auto v = json::parse(text, ec, {}, opt);
  if (ec) return error_reply(400, "malformed_json", "the body is not valid JSON: " + ec.message());
  if (!v.is_object()) return error_reply(400, "malformed_json", "the body must be a JSON object");
  for (const auto& kv : v.as_object()) {
    bool known = false;
    for (auto a : allowed) known |= kv.key() == std::string_view(a);
    if (!known) return error_reply(400, "unknown_field", "unknown field '" + std::string(kv.key()) + "'", kv.key());
  }
  out.obj_ = std::move(v.as_object());
  return std::nullopt;
}

namespace {
Reply missing(std::string_view name) {
  return error_reply(400, "missing_field", "'" + std::string(name) + "' is required", name);
}
Reply wrong_type(std::string_view name, const char* type) {
  return error_reply(400, "wrong_type", "'" + std::string(name) + "' must be " + type, name);
}
}  // namespace

Reply Body::str(std::string_view name, std::string& out, bool required) const {
  auto* v = obj_.if_contains(name);
  if (!v) return required ? missing(name) : std::nullopt;
  if (!v->is_string()) return wrong_type(name, "a string");
  out = std::string(v->as_string());
  return std::nullopt;
}

Reply Body::u64(std::string_view name, std::uint64_t& out, bool required) const {
  auto* v = obj_.if_contains(name);
  if (!v) return required ? missing(name) : std::nullopt;
  if (v->is_uint64()) out = v->as_uint64();
  else if (v->is_int64() && v->as_int64() >= 0) out = static_cast<std::uint64_t>(v->as_int64());
  else return wrong_type(name, "a whole number of at least 0");
  return std::nullopt;
}

Reply Body::boolean(std::string_view name, bool& out, bool required) const {
  auto* v = obj_.if_contains(name);
  if (!v) return required ? missing(name) : std::nullopt;
  if (!v->is_bool()) return wrong_type(name, "true or false");
  out = v->as_bool();
  return std::nullopt;
}

Reply Body::strings(std::string_view name, std::vector<std::string>& out, bool required) const {
  auto* v = obj_.if_contains(name);
  if (!v) return required ? missing(name) : std::nullopt;
  if (!v->is_array()) return wrong_type(name, "a list of strings");
  out.clear();
  for (const auto& e : v->as_array()) {
    if (!e.is_string()) return wrong_type(name, "a list of strings");
    out.emplace_back(e.as_string());
  }
  return std::nullopt;
}

std::string iso_time(std::int64_t t) {
  std::time_t tt = static_cast<std::time_t>(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string client_host(const Api& api) {
  return api.settings.client_host.empty() ? api.core.hostname : api.settings.client_host;
}

admin::dns_records::Hosts dns_hosts(const Api& api) {
  admin::dns_records::Hosts h;
  h.mail_host = api.core.hostname;
  h.client_host = client_host(api);
  h.imaps_port = api.settings.client_imaps_port;
  h.submission_port = api.settings.client_submission_port;
  h.submissions_port = api.settings.client_submissions_port;
  return h;
}

// ---- dispatch ----
namespace {

std::vector<std::string_view> segments(std::string_view path) {
  std::vector<std::string_view> out;
  while (!path.empty()) {
    if (path.front() == '/') {
      path.remove_prefix(1);
      continue;
    }
    auto slash = path.find('/');
    out.push_back(path.substr(0, slash));
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash);
  }
  return out;
}

// True when `path` fits the template; fills the decoded parameters. `bad` is set when a
// parameter's percent-encoding is broken.
bool match(const Route& r, std::string_view path, std::map<std::string, std::string>& params, bool& bad) {
  auto want = segments(r.path);
  auto got = segments(path);
  if (want.size() != got.size()) return false;
  params.clear();
  for (std::size_t i = 0; i < want.size(); ++i) {
    if (want[i].starts_with('{')) {
      std::string v;
      if (!http::percent_decode(got[i], v)) {
        bad = true;
        return true;
      }
      if (v.empty()) return false;
      params[std::string(want[i].substr(1, want[i].size() - 2))] = std::move(v);
    } else if (want[i] != got[i]) {
      return false;
    }
  }
  return true;
}

bool state_changing(std::string_view method) { return method != "GET" && method != "HEAD"; }

}  // namespace

// Who is calling: an API token (Authorization: Bearer), else a session cookie.
Principal identify(Api& api, const http::Request& req) {
  Principal p;
  auto now = static_cast<std::int64_t>(std::time(nullptr));
  auto txn = api.ops.store().read();
  auto authz = req.header("authorization");
  if (!authz.empty()) {
    if (authz.size() > 7 && iequals(authz.substr(0, 7), "Bearer ")) {
      if (auto t = admin::access::check_token(*txn, trim(authz.substr(7)))) {
        p.authenticated = p.admin = p.token = true;
        p.token_name = t->name;
      }
    }
    return p;  // a request that names credentials is judged by them alone
  }
  auto cookie = req.cookie("mailstead_session");
  if (cookie.empty()) return p;
  auto s = admin::access::find_session(*txn, cookie, now);
  if (!s) return p;
  auto u = directory::get_user(*txn, s->user);
  if (!u || !u->enabled) return p;
  p.authenticated = true;
  p.user = u->id;
  p.address = u->address;
  p.admin = admin::access::is_admin(*txn, u->id);
  p.session_key = s->key;
  p.session_id = s->id();
  p.csrf = s->csrf;
  p.expires = s->expires;
  return p;
}

namespace {

void count(Metrics& m, int status) {
  if (status >= 500) ++m.requests_5xx;
  else if (status >= 400) ++m.requests_4xx;
  else ++m.requests_2xx;
}

asio::awaitable<http::Response> dispatch(Api& api, http::Request& req) {
  if (req.path.starts_with("/api/")) {
    const Route* found = nullptr;
    bool path_known = false, bad = false;
    std::map<std::string, std::string> params;
    std::string method = req.method == "HEAD" ? "GET" : req.method;
    for (const auto& r : routes()) {
      std::map<std::string, std::string> p;
      if (!match(r, req.path, p, bad)) continue;
      if (bad) co_return error_reply(400, "bad_path", "a path segment's %-encoding is malformed");
      path_known = true;
      if (method == r.method) {
        found = &r;
        params = std::move(p);
        break;
      }
    }
    if (!found) {
      if (path_known) co_return error_reply(405, "method_not_allowed", "this path does not take " + req.method);
      co_return error_reply(404, "not_found", "no such API route");
    }
    Call call{api, req, std::move(params), {}, {}};
    if (found->access != Access::open) {
      call.who = identify(api, req);
      if (!call.who.authenticated)
        co_return error_reply(401, "unauthenticated", "sign in (POST /api/v1/login) or send an API token");
      if (!call.who.token && state_changing(req.method)) {
        auto sent = req.header("x-csrf-token");
        if (sent.empty() || !admin::access::same_digest(sent, call.who.csrf))
          co_return error_reply(403, "csrf", "this session's X-CSRF-Token header is missing or wrong");
      }
      if (found->access == Access::admin && !call.who.admin)
        co_return error_reply(403, "forbidden", "this needs the admin role");
      if (found->access == Access::user && call.who.token)
        co_return error_reply(403, "forbidden", "an API token has no mailbox; sign in as the user");
    }
    if (found->fields.size() > 0) {
      auto ct = req.header("content-type");
      if (!lower(ct.substr(0, ct.find(';'))).starts_with("application/json"))
        co_return error_reply(400, "content_type", "send the body as application/json", "Content-Type");
      if (auto bad_body = Body::parse(req.body, found->fields, call.body)) co_return *bad_body;
    }
    co_return co_await found->handler(call);
  }
  if (auto r = co_await autoconfig(api, req)) co_return *r;
  co_return error_reply(404, "not_found", "nothing here");
}

}  // namespace

http::Handler make_api_handler(Api& api) {
  return [&api](http::Request& req) -> asio::awaitable<http::Response> {
    auto r = co_await dispatch(api, req);
    count(api.metrics, r.status);
    if (r.status >= 500 || (r.status >= 400 && r.status != 404))
      log::info("admin.http.refused", {{"peer", req.peer}, {"method", req.method}, {"path", req.path}, {"status", r.status}});
    co_return r;
  };
}

std::unique_ptr<Metrics> make_metrics() { return std::make_unique<Metrics>(); }

}  // namespace mailstead::api
