// Parses the [streams] section.
#include "streams/settings.hpp"

#include "config/source.hpp"

namespace mailstead::streams {

std::optional<RateLimit> parse_rate_limit(const std::string& text) {
  auto slash = text.find('/');
  if (slash == std::string::npos || slash == 0) return std::nullopt;
  std::uint64_t count = 0;
  for (std::size_t i = 0; i < slash; ++i) {
    if (text[i] < '0' || text[i] > '9') return std::nullopt;
    count = count * 10 + static_cast<std::uint64_t>(text[i] - '0');
    if (count > 1000000) return std::nullopt;
  }
  auto w = text.substr(slash + 1);
  std::uint64_t n = 0;
  std::size_t i = 0;
  for (; i < w.size() && w[i] >= '0' && w[i] <= '9'; ++i) {
    n = n * 10 + static_cast<std::uint64_t>(w[i] - '0');
    if (n > 100000000) return std::nullopt;
  }
  if (i == 0) return std::nullopt;
  auto unit = w.substr(i);
  std::uint64_t ms = 0;
  if (unit == "ms") ms = n;
  else if (unit == "s" || unit.empty()) ms = n * 1000;
  else if (unit == "m") ms = n * 60000;
  else if (unit == "h") ms = n * 3600000;
  else return std::nullopt;
  if (count == 0 || ms == 0) return std::nullopt;
  return RateLimit{static_cast<std::uint32_t>(count), std::chrono::milliseconds(ms)};
}

Settings load_settings(config::Source& src) {
  Settings s;
  const std::string sec = "streams";
  src.get(sec, "gateway_pattern", s.gateway_pattern);
  if (!s.gateway_pattern.empty()) {
    s.pattern = parse_pattern(s.gateway_pattern);
    if (!s.pattern)
      src.fail(sec, "gateway_pattern", "needs exactly one %s in the local part and a domain, e.g. \"%s@streams.example.org\"");
  }
  if (src.has(sec, "rate_limits")) {
    std::vector<std::string> limits;
    src.get(sec, "rate_limits", limits);
    s.rate_limits.clear();
    for (const auto& l : limits) {
      auto r = parse_rate_limit(l);
      if (!r) src.fail(sec, "rate_limits", "each limit is \"COUNT/WINDOW\", e.g. \"50/60s\" (got \"" + l + "\")");
      s.rate_limits.push_back(*r);
    }
  }
  std::uint32_t v = static_cast<std::uint32_t>(s.convert.max_topic_bytes);
  src.get(sec, "max_topic_length", v, 10, 1000);
  s.convert.max_topic_bytes = v;
  std::uint64_t size = s.convert.max_body_bytes;
  src.get_size(sec, "max_body_size", size, 100, 1ull << 24);
  s.convert.max_body_bytes = static_cast<std::size_t>(size);
  v = static_cast<std::uint32_t>(s.convert.max_attachments);
  src.get(sec, "max_attachments", v, 0, 1000);
  s.convert.max_attachments = v;
  src.get_size(sec, "max_attachment_size", s.convert.max_attachment_bytes, 0, 1ull << 31);
  size = s.convert.max_html_bytes;
  src.get_size(sec, "max_html_size", size, 1024, 1ull << 28);
  s.convert.max_html_bytes = static_cast<std::size_t>(size);
  src.get(sec, "bot_name", s.bot_name);
  src.get(sec, "notifications", s.notifications);
  src.get(sec, "notify_from", s.notify_from);
  if (s.notify_from.empty() && s.pattern) s.notify_from = s.pattern->prefix + "noreply" + s.pattern->suffix;
  if (s.notify_from.find_first_of("\r\n<>\" ,;") != std::string::npos || s.notify_from.find('@') == std::string::npos)
    if (src.has(sec, "notify_from")) src.fail(sec, "notify_from", "must be a plain address, e.g. \"noreply@streams.example.org\"");
  std::chrono::milliseconds lifetime{std::chrono::seconds(s.reply_token_lifetime)};
  src.get_duration(sec, "reply_token_lifetime", lifetime);
  if (lifetime < std::chrono::seconds(1) || lifetime > std::chrono::hours(24 * 3650))
    src.fail(sec, "reply_token_lifetime", "must be from 1s to 87600h (e.g. \"720h\")");
  s.reply_token_lifetime = std::chrono::duration_cast<std::chrono::seconds>(lifetime).count();
  return s;
}

}  // namespace mailstead::streams
