// Reply addresses at RCPT TO (docs/streams.md, "Notifications and replies").
#include "streams/reply_route.hpp"

#include <algorithm>

#include "directory/address.hpp"
#include "directory/directory.hpp"
#include "streams/notifications.hpp"

namespace mailstead::streams {

std::optional<std::uint64_t> user_of_address(store::ReadTxn& txn, std::string_view address, std::string_view delimiter) {
  auto p = directory::parse_address(address);
  if (!p || !p->has_domain || !p->source_route.empty() || p->ip_literal || p->quoted) return std::nullopt;
  auto d = directory::normalize_domain(p->domain);
  if (!d) return std::nullopt;
  std::string base, tag;
  directory::split_tag(directory::lowercase_ascii(p->local), delimiter, base, tag);
  return directory::user_for_address(txn, base + "@" + *d);
}

directory::Route resolve_reply(store::ReadTxn& txn, std::string_view address, std::string_view token,
                               const directory::RouteContext& ctx, std::string_view delimiter, std::int64_t now) {
  directory::Rejection unknown{550, "5.1.1", "No such reply address here (unknown or expired)"};
  auto t = find_reply(txn, token, now);
  if (!t) return unknown;
  std::optional<directory::StreamRecord> s;
  for (auto& r : directory::list_streams(txn))
    if (r.id == t->stream) s = std::move(r);
  if (!s || std::find(s->members.begin(), s->members.end(), t->user) == s->members.end()) return unknown;
  auto u = directory::get_user(txn, t->user);
  if (!u) return unknown;
  if (!u->enabled) return directory::Rejection{550, "5.7.1", "The member of this reply address is disabled"};
  if (!s->enabled) return directory::Rejection{550, "5.7.1", "This stream is disabled"};
  if (s->email_posting == directory::EmailPosting::nobody)
    return directory::Rejection{550, "5.7.1", "This stream does not take email"};
  directory::Rejection other{550, "5.7.1", "This reply address takes mail only from the member it was sent to"};
  if (ctx.authenticated_user) {
    if (*ctx.authenticated_user != t->user) return other;
  } else if (user_of_address(txn, ctx.sender, delimiter) != t->user) {
    return other;
  }
  directory::Delivery d;
  d.kind = directory::RouteKind::stream;
  d.address = directory::lowercase_ascii(address);
  d.stream = s->slug;
  d.stream_id = s->id;
  d.reply_token = std::string(token);
  d.stream_user = t->user;
  d.stream_topic = t->topic;
  return d;
}

}  // namespace mailstead::streams
