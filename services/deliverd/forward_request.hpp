// What a forwarded stream message looks like on the wire (docs/streams.md, "Forwarding"),
// and what the answer means. Pure: no sockets, clocks or store; unit-tested.
//   zulip:   POST {site}/api/v1/messages, Basic auth (bot email, API key),
//            form fields type=stream, to=<stream>, topic=<topic>, content=<markdown>
//   webhook: POST <url>, JSON {"text": "...", "username": "..."} (Slack, Mattermost)
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "streams/forwards.hpp"
#include "streams/messages.hpp"

namespace mailstead::outbound::forward {

struct WireRequest {
  streams::HttpUrl url;
  std::vector<std::pair<std::string, std::string>> headers;  // Authorization holds the key: never log
  std::string body;
};

// `stream_name` is the Mailstead stream's name (a Zulip target without its own stream name
// posts to a stream of that name).
std::optional<WireRequest> build_request(const streams::ForwardTarget& target, const streams::StreamMessage& msg,
                                         std::string_view stream_name, std::string* why);

// The text shown for a message: who wrote it, then the body.
std::string sender_line(const streams::StreamMessage& msg);

// application/x-www-form-urlencoded (the URL standard's serializer: space as '+').
std::string form_encode(const std::vector<std::pair<std::string, std::string>>& fields);

enum class Verdict : std::uint8_t { delivered, retry, failed };
// 2xx delivered; 429 and 5xx retried (so are 408 and 425); other answers (4xx, redirects) failed.
Verdict classify(int status);

// Retry-After (RFC 9110 10.2.3): delay-seconds or an HTTP-date; nullopt when absent or
// malformed. `now` in seconds since 1970.
std::optional<std::chrono::seconds> parse_retry_after(std::string_view value, std::int64_t now);

// The answer's body for a log line or status view: at most 200 bytes, control characters
// as spaces.
std::string excerpt(std::string_view body);

}  // namespace mailstead::outbound::forward
