// Address routing at RCPT TO (DESIGN.md "Address routing"): a recipient, the envelope
// sender and the session's authentication give either the mailboxes to deliver to or a
// precise rejection (RFC 5321 reply code, RFC 3463 enhanced code, text).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "streams/address.hpp"

namespace mailstead::store {
class ReadTxn;
}

namespace mailstead::directory {

struct RoutingSettings {
  std::string delimiter = "+";
  // SRS (docs/outbound.md): a bounce to an SRS0/SRS1 address at a local domain whose hash
  // verifies with one of these keys goes back to the address it encodes. Empty: no SRS.
  std::vector<std::string> srs_keys{};
  std::uint32_t srs_max_age_days = 21;
  // The chat gateway's addresses ([streams] gateway_pattern; docs/streams.md). Unset: none.
  std::optional<streams::GatewayPattern> stream_gateway{};
};

enum class RouteKind { user, alias, group, stream, catchall, remote };
const char* route_kind_name(RouteKind k);

struct Delivery {
  RouteKind kind = RouteKind::user;
  std::string address;               // the normalised recipient, tag included
  std::string tag;                   // the sub-address, for Sieve (RFC 5233)
  std::vector<std::uint64_t> users;  // local mailboxes' owners, no duplicates
  std::string stream;                // for RouteKind::stream: the slug
  std::uint64_t stream_id = 0;
  streams::Options stream_options;   // from the address
  // The user the message must prove to be from at the end of DATA (an authenticated session
  // or a DMARC pass of that user's From; docs/streams.md "Who posts"): a reply address's
  // member, or the local user MAIL FROM names on a `local`/`members` stream. 0: none.
  std::uint64_t stream_user = 0;
  std::string reply_token;           // a reply address (mm…): its token; the topic it posts in:
  std::string stream_topic;
};

struct Rejection {
  int code = 550;
  std::string enhanced;  // "5.1.1"
  std::string text;
};

using Route = std::variant<Delivery, Rejection>;

struct RouteContext {
  std::string sender;  // MAIL FROM as given ("" for the null sender)
  std::optional<std::uint64_t> authenticated_user;
};

Route resolve(store::ReadTxn& txn, const RoutingSettings& settings, std::string_view recipient,
              const RouteContext& ctx);

// On submission: may this user use `mail_from` as MAIL FROM (and header From)? Its own
// address or an alias of it, with any tag, or an address/domain an administrator allowed.
// nullopt means yes; otherwise 553 5.7.1.
std::optional<Rejection> check_sender(store::ReadTxn& txn, const RoutingSettings& settings,
                                      std::uint64_t user_id, std::string_view mail_from);

}  // namespace mailstead::directory
