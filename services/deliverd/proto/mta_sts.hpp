// MTA-STS (RFC 8461) as values: the `_mta-sts` TXT record (3.1), the policy file served
// at https://mta-sts.<domain>/.well-known/mta-sts.txt (3.2) and MX host matching (4.1).
// Pure: no sockets, clocks or store. The fetching and caching are in ../mta_sts.cpp.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mailstead::outbound::mta_sts {

enum class Mode { none, testing, enforce };
const char* mode_name(Mode m);

// RFC 8461 3.2: max_age is at most 31557600 seconds (about a year).
inline constexpr std::uint32_t max_max_age = 31557600;
// RFC 8461 3.3: senders may limit the size of the policy they fetch; 64 KiB is the default
// limit (`[outbound] mta_sts_max_policy_size`).
inline constexpr std::size_t default_max_policy_size = 64 * 1024;

struct Policy {
  Mode mode = Mode::none;
  std::vector<std::string> mx;  // patterns, lower case: "mx.example.net" or "*.example.net"
  std::uint32_t max_age = 0;    // seconds
};

struct PolicyParse {
  std::optional<Policy> policy;
  std::string error;  // why not, in words, when `policy` is empty
};

// Parses a policy body (3.2): "key: value" lines ended by LF or CRLF; version STSv1, mode
// and max_age exactly as the grammar says; at least one mx unless mode is none; unknown
// fields are ignored; the first of a repeated field (other than mx) counts.
PolicyParse parse_policy(std::string_view body);

// The id of the one `v=STSv1` TXT record among `texts` (3.1); nullopt when there is none,
// more than one, or it is malformed (`why` says which).
std::optional<std::string> parse_txt(const std::vector<std::string>& texts, std::string* why = nullptr);

// RFC 8461 4.1: "mx.example.net" matches only itself; "*.example.net" matches exactly one
// more label on the left ("a.example.net", not "example.net" or "a.b.example.net").
// Case-insensitive; a trailing dot on `host` is ignored.
bool mx_matches(std::string_view pattern, std::string_view host);
bool policy_allows(const Policy& policy, std::string_view host);

}  // namespace mailstead::outbound::mta_sts
