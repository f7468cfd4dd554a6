// libFuzzer: the chat gateway's pure parts — the gateway pattern, stream address parts and
// options, and the whole email → stream message conversion (MIME, HTML through gumbo,
// quote and footer trimming, truncation, attachments).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

#include "streams/address.hpp"
#include "streams/convert.hpp"

using namespace mailstead::streams;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  if (auto p = parse_pattern(in.substr(0, 200))) {
    if (auto part = gateway_part(*p, in)) (void)parse_stream_part(*part);
  }
  auto parsed = parse_stream_part(in.substr(0, 300));
  Options options;
  if (auto* a = std::get_if<StreamAddress>(&parsed)) {
    options = a->options;
    auto pattern = parse_pattern("%s@streams.example.org");
    auto again = parse_stream_part(*gateway_part(*pattern, format_address(*pattern, a->slug, a->token, a->options)));
    if (!std::holds_alternative<StreamAddress>(again) || std::get<StreamAddress>(again).options != a->options)
      __builtin_trap();  // a formatted address parses back to the same options
  }
  // The first byte picks the options when the input is no address.
  if (size > 0) {
    options.include_quotes = data[0] & 1;
    options.include_footer = data[0] & 2;
    options.prefer_html = data[0] & 4;
    options.show_sender = data[0] & 8;
  }
  ConvertLimits limits;
  limits.max_body_bytes = 2000;
  auto c = convert(in, options, limits);
  if (c.topic.empty() || c.topic.size() > limits.max_topic_bytes) __builtin_trap();
  if (c.body.size() > limits.max_body_bytes) __builtin_trap();
  (void)compose_body(c, options, {"/a"});
  (void)html_to_text(in);
  (void)strip_quotes(in);
  (void)strip_footer(in);
  return 0;
}
