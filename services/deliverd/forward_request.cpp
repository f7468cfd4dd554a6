// Forwarded messages on the wire and the meaning of answers (see forward_request.hpp).
#include "forward_request.hpp"

#include <boost/json.hpp>
#include <ctime>

#include "util/base64.hpp"

namespace mailstead::outbound::forward {

namespace json = boost::json;

std::string form_encode(const std::vector<std::pair<std::string, std::string>>& fields) {
  static const char digits[] = "0123456789ABCDEF";
  std::string out;
  auto encode = [&](std::string_view s) {
    for (unsigned char c : s) {
      if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '*' || c == '-' ||
          c == '.' || c == '_') {
        out.push_back(static_cast<char>(c));
      } else if (c == ' ') {
        out.push_back('+');
      } else {
        out.push_back('%');
        out.push_back(digits[c >> 4]);
        out.push_back(digits[c & 15]);
      }
    }
  };
  for (const auto& [name, value] : fields) {
    if (!out.empty()) out.push_back('&');
    encode(name);
    out.push_back('=');
    encode(value);
  }
  return out;
}

std::string sender_line(const streams::StreamMessage& msg) {
  // A message by email through the gateway bot shows the email's sender; a local user
  // shows its address; an administrator's post its name.
  std::string address = !msg.email_from.empty() ? msg.email_from : msg.user ? msg.sender : "";
  std::string name = msg.sender_name.empty() ? address : msg.sender_name;
  if (name.empty()) name = msg.sender;
  if (!address.empty() && address != name) return "**" + name + "** <" + address + ">";
  return "**" + name + "**";
}

std::optional<WireRequest> build_request(const streams::ForwardTarget& target, const streams::StreamMessage& msg,
                                         std::string_view stream_name, std::string* why) {
  auto url = streams::parse_http_url(target.url(), why);
  if (!url) return std::nullopt;
  WireRequest w;
  w.url = std::move(*url);
  if (target.kind == streams::ForwardKind::zulip) {
    std::string to = target.to_stream.empty() ? std::string(stream_name) : target.to_stream;
    std::string content = sender_line(msg) + ":\n" + msg.body;
    w.body = form_encode({{"type", "stream"}, {"to", to}, {"topic", msg.topic}, {"content", content}});
    w.headers.emplace_back("Content-Type", "application/x-www-form-urlencoded");
    w.headers.emplace_back("Authorization", "Basic " + base64_encode(target.bot_email + ":" + target.secret));
  } else {
    std::string text = "**" + std::string(stream_name) + " > " + msg.topic + "** " + sender_line(msg) + ":\n" + msg.body;
    std::string username = msg.sender_name.empty() ? msg.sender : msg.sender_name;
    w.body = json::serialize(json::object{{"text", text}, {"username", username}});
    w.headers.emplace_back("Content-Type", "application/json");
  }
  w.headers.emplace_back("Accept", "application/json");
  return w;
}

Verdict classify(int status) {
  if (status >= 200 && status < 300) return Verdict::delivered;
  if (status == 429 || status == 408 || status == 425 || (status >= 500 && status < 600)) return Verdict::retry;
  return Verdict::failed;
}

std::optional<std::chrono::seconds> parse_retry_after(std::string_view value, std::int64_t now) {
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
  if (value.empty()) return std::nullopt;
  if (value.front() >= '0' && value.front() <= '9') {
    std::int64_t n = 0;
    for (char c : value) {
      if (c < '0' || c > '9') return std::nullopt;
      n = n * 10 + (c - '0');
      if (n > 100'000'000) return std::nullopt;
    }
    return std::chrono::seconds(n);
  }
  // IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT".
  std::tm tm{};
  std::string text(value);
  const char* end = strptime(text.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  if (!end || *end != '\0') return std::nullopt;
  auto when = static_cast<std::int64_t>(timegm(&tm));
  return std::chrono::seconds(when > now ? when - now : 0);
}

std::string excerpt(std::string_view body) {
  std::string out(body.substr(0, 200));
  for (auto& c : out)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = ' ';
  if (body.size() > 200) out += "…";
  return out;
}

}  // namespace mailstead::outbound::forward
