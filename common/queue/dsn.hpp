// Delivery status notifications (RFC 3464): one multipart/report per failed (or delayed)
// set of recipients, with a human part, message/delivery-status and the original headers
// (text/rfc822-headers, RFC 6522). Pure: no store, no clock.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "util/text.hpp"

namespace mailstead::queue {

struct DsnRecipient {
  std::string address;
  std::string action = "failed";  // "failed" or "delayed" (RFC 3464 2.3.3)
  std::string status;             // "5.1.1"
  std::string diagnostic;         // the remote reply, e.g. "550 5.1.1 <x@y>: unknown user"
  std::string remote_mta;         // the host that answered, if one did
  std::int64_t last_attempt = 0;
  std::int64_t retry_until = 0;   // delayed: when the server gives up
};

struct DsnInput {
  std::string hostname;       // Reporting-MTA and the MAILER-DAEMON's domain
  std::string to;             // the envelope sender of the original message
  std::string original;       // the original message (prefix + bytes); only its header is quoted
  std::int64_t arrival = 0;   // when the original was queued
  std::int64_t now = 0;
  std::string message_id;     // "<…@host>" for the DSN itself
  std::vector<DsnRecipient> recipients;
};

std::string build_dsn(const DsnInput& in);

// The RFC 3463 status of a reply ("550 5.1.1 …" → "5.1.1"; "451 …" → "4.0.0") or of one of
// our own reasons ("5.1.10 …" → "5.1.10").
std::string status_of(std::string_view reply);

using mailstead::rfc5322_date;  // util/text.hpp

}  // namespace mailstead::queue
