// RFC 5322 header access over the stored bytes: where the header ends, the fields with a
// given name (unfolded), and the addresses of an address-list field (3.4: display names,
// quoted strings, comments, angle addresses and groups).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace mailstead::mime {

// Offset just past the blank line that ends the header (or the message size when there
// is no body).
std::size_t header_end(std::string_view message);

// Unfolded values of every field named `name` (case-insensitive), in order.
std::vector<std::string> field_values(std::string_view header, std::string_view name);

// RFC 5322 3.2.2 comments removed (nested, outside quoted strings).
std::string strip_comments(std::string_view v);

// One address of an address list (RFC 5322 3.4), with group markers, as ENVELOPE wants it.
struct Address {
  std::string name, route, mailbox, host;
  bool group_start = false, group_end = false;
};
std::vector<Address> parse_addresses(std::string_view value);

// The addr-specs ("local@domain") in an address list, in order. Malformed entries are
// returned as they are, so a check on them fails rather than being skipped.
std::vector<std::string> parse_address_list(std::string_view value);

}  // namespace mailstead::mime
