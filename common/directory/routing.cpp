// The routing resolver: DESIGN.md "Address routing", first match wins:
// user → alias → group → chat stream → catch-all → 550 5.1.1; remote only when authenticated.
#include "directory/routing.hpp"

#include <algorithm>
#include <ctime>

#include "directory/address.hpp"
#include "directory/directory.hpp"
#include "srs/srs.hpp"
#include "store/store.hpp"
#include "streams/notifications.hpp"
#include "streams/reply_route.hpp"

namespace mailstead::directory {

namespace {

Rejection relay_denied() { return {554, "5.7.1", "Relay access denied"}; }
Rejection no_such_user() { return {550, "5.1.1", "No such user here"}; }
Rejection bad_syntax() { return {501, "5.1.3", "Bad recipient address syntax"}; }
Rejection disabled() { return {550, "5.2.1", "Mailbox disabled"}; }
Rejection not_allowed_to_post() { return {550, "5.7.1", "You are not allowed to post to this group"}; }

bool has_routing_chars(std::string_view local) {
  return local.find_first_of("@%!") != std::string_view::npos;
}

// Keeps the enabled users, once each, in order.
std::vector<std::uint64_t> enabled_users(store::ReadTxn& txn, const std::vector<std::uint64_t>& ids) {
  std::vector<std::uint64_t> out;
  for (auto id : ids) {
    if (std::find(out.begin(), out.end(), id) != out.end()) continue;
    if (auto u = get_user(txn, id); u && u->enabled) out.push_back(id);
  }
  return out;
}

// The identity a group checks: only an authenticated session proves one. An envelope
// sender on port 25 is a claim, not a proof, so members-only and same-domain groups
// take posts from authenticated users (our users submit on 587/465).
std::optional<Rejection> check_posting(store::ReadTxn& txn, const GroupRecord& g, const RouteContext& ctx) {
  if (g.policy == PostingPolicy::anyone) return std::nullopt;
  if (!ctx.authenticated_user) return not_allowed_to_post();
  auto sender = get_user(txn, *ctx.authenticated_user);
  if (!sender) return not_allowed_to_post();
  if (g.policy == PostingPolicy::members) {
    if (std::find(g.members.begin(), g.members.end(), sender->id) == g.members.end()) return not_allowed_to_post();
    return std::nullopt;
  }
  auto dom = [](std::string_view a) { return a.substr(a.rfind('@') + 1); };
  if (dom(sender->address) != dom(g.address)) return not_allowed_to_post();
  return std::nullopt;
}

Route resolve_local(store::ReadTxn& txn, const RoutingSettings& settings, const std::string& local,
                    const std::string& domain, const RouteContext& ctx) {
  // The base is case-insensitive; the tag keeps its case for Sieve's :detail.
  std::string base, tag;
  split_tag(local, settings.delimiter, base, tag);
  base = lowercase_ascii(base);
  Delivery d;
  d.address = (tag.empty() && base.size() == local.size() ? base : base + settings.delimiter + tag) + "@" + domain;
  d.tag = tag;
  auto full = base + "@" + domain;

  if (auto u = find_user(txn, full)) {
    if (!u->enabled) return disabled();
    d.kind = RouteKind::user;
    d.users = {u->id};
    return d;
  }
  if (auto a = get_alias(txn, full)) {
    auto u = get_user(txn, a->user);
    if (!u) return no_such_user();
    if (!u->enabled) return disabled();
    d.kind = RouteKind::alias;
    d.users = {u->id};
    return d;
  }
  if (auto g = get_group(txn, full)) {
    if (auto r = check_posting(txn, *g, ctx)) return *r;
    d.kind = RouteKind::group;
    d.users = enabled_users(txn, g->members);
    if (d.users.empty()) return Rejection{550, "5.2.1", "This group has no active members"};
    return d;
  }
  auto dom = get_domain(txn, domain);
  if (dom && !dom->catchall.empty()) {
    d.kind = RouteKind::catchall;
    d.users = enabled_users(txn, dom->catchall);
    if (d.users.empty()) return disabled();
    return d;
  }
  return no_such_user();
}

// A bounce coming back to an SRS address of ours (docs/outbound.md): it goes to the
// address the SRS address encodes, from any sender and on any port, but only when the
// hash verifies and the timestamp is current; anything else is no such user.
Route resolve_srs(store::ReadTxn& txn, const RoutingSettings& settings, const std::string& local,
                  const std::string& domain, const RouteContext& ctx) {
  auto now = static_cast<std::int64_t>(std::time(nullptr));
  std::optional<std::string> back;
  for (const auto& key : settings.srs_keys)
    if ((back = srs::reverse(local + "@" + domain, key, now, settings.srs_max_age_days))) break;
  if (!back) return no_such_user();
  auto at = back->rfind('@');
  auto b_local = back->substr(0, at);
  auto b_domain = normalize_domain(back->substr(at + 1));
  if (!b_domain) return no_such_user();
  if (get_domain(txn, *b_domain)) {
    // It encodes one of our own addresses: deliver here (never reversed twice).
    if (has_routing_chars(b_local) || b_local.size() > 64) return no_such_user();
    return resolve_local(txn, settings, b_local, *b_domain, ctx);
  }
  Delivery d;
  d.kind = RouteKind::remote;
  d.address = (is_dot_atom(b_local) ? b_local : "\"" + b_local + "\"") + "@" + *b_domain;
  return d;
}

// A chat gateway address (docs/streams.md): the slug names the stream, the token proves the
// sender was given the address; then the stream's email posting rule. A `local`/`members`
// rule takes an authenticated session, or a MAIL FROM naming such a user that the end of
// DATA must prove (a DMARC pass of that user's From). Reply addresses (mm…) are
// streams/reply_route.cpp's.
Route resolve_stream(store::ReadTxn& txn, const RoutingSettings& settings, const std::string& address,
                     const std::string& part, const RouteContext& ctx) {
  if (auto token = streams::reply_token_of(part))
    return streams::resolve_reply(txn, address, *token, ctx, settings.delimiter, static_cast<std::int64_t>(std::time(nullptr)));
  Rejection unknown{550, "5.1.1", "No such stream address here"};
  auto parsed = streams::parse_stream_part(part);
  if (auto* e = std::get_if<streams::AddressError>(&parsed)) return Rejection{550, "5.1.1", "Bad stream address: " + e->text};
  auto& a = std::get<streams::StreamAddress>(parsed);
  auto s = get_stream(txn, a.slug);
  if (!s || !streams::same_token(s->token, a.token)) return unknown;
  Rejection refused{550, "5.7.1", "This stream does not take email from you"};
  if (!s->enabled) return Rejection{550, "5.7.1", "This stream is disabled"};
  std::optional<std::uint64_t> claimed;  // proved at the end of DATA
  if (!ctx.authenticated_user && (s->email_posting == EmailPosting::local || s->email_posting == EmailPosting::members))
    claimed = streams::user_of_address(txn, ctx.sender, settings.delimiter);
  auto who = ctx.authenticated_user ? ctx.authenticated_user : claimed;
  switch (s->email_posting) {
    case EmailPosting::anyone: break;
    case EmailPosting::nobody: return Rejection{550, "5.7.1", "This stream does not take email"};
    case EmailPosting::local:
      if (!who) return refused;
      break;
    case EmailPosting::members:
      if (!who || std::find(s->members.begin(), s->members.end(), *who) == s->members.end()) return refused;
      break;
  }
  Delivery d;
  d.kind = RouteKind::stream;
  d.address = lowercase_ascii(address);
  d.stream = s->slug;
  d.stream_id = s->id;
  d.stream_options = a.options;
  d.stream_user = claimed.value_or(0);
  return d;
}

}  // namespace

const char* route_kind_name(RouteKind k) {
  switch (k) {
    case RouteKind::user: return "user";
    case RouteKind::alias: return "alias";
    case RouteKind::group: return "group";
    case RouteKind::stream: return "stream";
    case RouteKind::catchall: return "catchall";
    case RouteKind::remote: return "remote";
  }
  return "?";
}

Route resolve(store::ReadTxn& txn, const RoutingSettings& settings, std::string_view recipient,
              const RouteContext& ctx) {
  const bool authed = ctx.authenticated_user.has_value();
  auto p = parse_address(recipient);
  if (!p) return bad_syntax();
  if (settings.stream_gateway && p->has_domain && p->source_route.empty() && !p->ip_literal && !p->quoted)
    if (auto part = streams::gateway_part(*settings.stream_gateway, p->local + "@" + p->domain))
      return resolve_stream(txn, settings, p->local + "@" + p->domain, *part, ctx);

  if (!p->has_domain) {
    // RFC 5321 4.5.1: "Postmaster" without a domain must be accepted; it goes to the
    // postmaster of the first local domain that has one.
    if (lowercase_ascii(p->local) == "postmaster" && !p->quoted && p->source_route.empty()) {
      for (const auto& d : list_domains(txn)) {
        auto r = resolve_local(txn, settings, "postmaster", d.name, ctx);
        if (std::holds_alternative<Delivery>(r)) return r;
      }
      return no_such_user();
    }
    return authed ? Rejection{501, "5.1.3", "Recipient address needs a domain"} : relay_denied();
  }
  // Sender-specified routing (source routes, IP literals, a trailing dot) is how relays
  // are tricked; from an unauthenticated peer it is refused as relaying.
  if (!authed && (!p->source_route.empty() || p->ip_literal || p->trailing_dot)) return relay_denied();

  std::string domain;
  if (p->ip_literal) {
    domain = "[" + p->domain + "]";
  } else {
    auto d = normalize_domain(p->domain);
    if (!d) return bad_syntax();
    domain = *d;
  }

  if (p->ip_literal || !get_domain(txn, domain)) {
    if (!authed) return relay_denied();
    Delivery d;
    d.kind = RouteKind::remote;
    // Local parts of remote addresses are the remote side's business: kept as written.
    d.address = (is_dot_atom(p->local) ? p->local : "\"" + p->local + "\"") + "@" + domain;
    return d;
  }

  // A local domain. "user%ext@local", "ext!user@local", "\"user@ext\"@local": the local
  // part carries a route to elsewhere (Postfix's allow_untrusted_routing = no).
  if (!settings.srs_keys.empty() && srs::is_srs(p->local) && p->source_route.empty())
    return resolve_srs(txn, settings, p->local, domain, ctx);
  if (has_routing_chars(p->local)) return authed ? no_such_user() : relay_denied();
  if (p->local.size() > 64) return bad_syntax();
  return resolve_local(txn, settings, p->local, domain, ctx);
}

std::optional<Rejection> check_sender(store::ReadTxn& txn, const RoutingSettings& settings,
                                      std::uint64_t user_id, std::string_view mail_from) {
  Rejection refused{553, "5.7.1", "Sender address not owned by the authenticated user"};
  auto u = get_user(txn, user_id);
  if (!u) return refused;
  if (mail_from.empty()) return std::nullopt;  // the null sender (RFC 5321 4.5.5)
  auto p = parse_address(mail_from);
  if (!p || !p->has_domain || !p->source_route.empty() || p->ip_literal || p->trailing_dot) return refused;
  auto d = normalize_domain(p->domain);
  if (!d) return refused;
  std::string base, tag;
  split_tag(lowercase_ascii(p->local), settings.delimiter, base, tag);
  auto address = base + "@" + *d;
  auto exact = lowercase_ascii(p->local) + "@" + *d;
  if (auto owner = user_for_address(txn, address); owner && *owner == u->id) return std::nullopt;
  for (const auto& allowed : u->allowed_senders) {
    if (allowed == address || allowed == exact) return std::nullopt;
    if (allowed.front() == '@' && allowed.substr(1) == *d) return std::nullopt;
  }
  return refused;
}

}  // namespace mailstead::directory
