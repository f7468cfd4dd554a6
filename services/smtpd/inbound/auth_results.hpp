// The Authentication-Results header field (RFC 8601): rendering our one field from a list
// of method clauses (spf, dkim, dmarc, and whatever a later check appends: iprev, arc…),
// and finding the fields an earlier hop forged with our authserv-id (RFC 8601 5: they are
// removed before ours is added). Pure: bytes in, bytes out; fuzzed (fuzz-auth-results).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mailstead::inbound {

// One resinfo (RFC 8601 2.2): "method=result (comment) reason=… ptype.property=value…".
struct Clause {
  std::string method;   // "spf", "dkim", "dmarc", "iprev"…
  std::string result;   // "pass", "fail", "temperror"…
  std::string comment;  // shown in parentheses after the result; may be empty
  std::string reason;   // reason="…"; may be empty
  std::vector<std::pair<std::string, std::string>> properties;  // {"smtp.mailfrom", "a@b"}
};

// "Authentication-Results: <authserv_id>;\r\n\t<clause>;\r\n\t<clause>\r\n" — or with no
// clause "…; none\r\n" (RFC 8601 2.2). Values that are not RFC 2045 tokens are quoted;
// control characters never reach the output. The field stops growing at `max_size` bytes
// (clauses past it are dropped, with a comment saying how many).
std::string render_authentication_results(std::string_view authserv_id, const std::vector<Clause>& clauses,
                                          std::size_t max_size = 4096);

// The authserv-id an Authentication-Results value names (RFC 8601 2.2: CFWS, then the
// id, an optional version after whitespace, then ";"), lower-cased; "" when there is none.
std::string authserv_id_of(std::string_view value);

// The message header with every Authentication-Results field that names `authserv_id`
// (case-insensitively, with or without a version) removed; `removed` counts them.
// `header` is the header block (up to and including the empty line); the rest of the
// message is not looked at.
std::string remove_forged_results(std::string_view header, std::string_view authserv_id, std::size_t& removed);

// Every field only this MX may write, removed before it adds its own: the
// Authentication-Results fields naming `authserv_id` (as above; none when it is "") and
// the trace fields of docs/inbound.md, X-Mailstead-Iprev and X-Mailstead-Helo, whatever
// they say (a sender must not pass for a host with confirmed reverse DNS).
struct ForgedFields {
  std::size_t results = 0;  // Authentication-Results of ours
  std::size_t trace = 0;    // X-Mailstead-Iprev, X-Mailstead-Helo
  std::size_t total() const { return results + trace; }
};
std::string remove_forged_fields(std::string_view header, std::string_view authserv_id, ForgedFields& removed);

}  // namespace mailstead::inbound
