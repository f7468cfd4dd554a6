// X-Spam-* header fields: written from a verdict, and removed from what senders send.
#include "spam/verdict.hpp"

#include <algorithm>
#include <cstdio>

#include "mime/header.hpp"
#include "util/text.hpp"

namespace mailstead::spam {

namespace {

std::string score_text(double d) {
  char b[32];
  std::snprintf(b, sizeof b, "%.1f", d);
  return b;
}

bool is_spam_field(std::string_view line) {
  return line.size() >= 7 && iequals(line.substr(0, 7), "X-Spam-");
}

}  // namespace

std::string header_fields(const Verdict& v, const Thresholds& t) {
  if (!v.scanned) return "X-Spam-Status: No, not scanned (" + v.not_scanned + ")\r\n";
  bool junk = v.junk(t);
  std::string out;
  out += std::string("X-Spam-Flag: ") + (junk ? "YES" : "NO") + "\r\n";
  out += "X-Spam-Score: " + score_text(v.score) + "\r\n";
  std::string status = std::string("X-Spam-Status: ") + (junk ? "Yes" : "No") + ", score=" + score_text(v.score) +
                       " required=" + score_text(t.junk) + " tests=";
  // Folded at about 78 columns (RFC 5322 2.1.1); at most 100 rule names.
  std::size_t col = status.size();
  if (v.symbols.empty()) status += "none";
  for (std::size_t i = 0; i < v.symbols.size() && i < 100; ++i) {
    std::string item = v.symbols[i] + (i + 1 < v.symbols.size() && i + 1 < 100 ? "," : "");
    if (col + item.size() > 78 && i > 0) {
      status += "\r\n\t";
      col = 1;
    }
    status += item;
    col += item.size();
  }
  out += status + "\r\n";
  return out;
}

std::optional<std::string> strip_spam_fields(std::string_view message) {
  auto end = mime::header_end(message);
  auto header = message.substr(0, std::min(end, message.size()));
  // A quick look first: most messages have none.
  bool any = false;
  for (std::size_t p = 0; p < header.size();) {
    auto e = header.find('\n', p);
    if (e == std::string_view::npos) e = header.size();
    any |= is_spam_field(header.substr(p, e - p));
    p = e + 1;
  }
  if (!any) return std::nullopt;
  std::string out;
  out.reserve(message.size());
  bool dropping = false;
  for (std::size_t p = 0; p < header.size();) {
    auto e = header.find('\n', p);
    auto next = e == std::string_view::npos ? header.size() : e + 1;
    auto line = header.substr(p, next - p);
    bool continuation = !line.empty() && (line[0] == ' ' || line[0] == '\t');
    if (!continuation) dropping = is_spam_field(line);
    if (!dropping) out.append(line);
    p = next;
  }
  out.append(message.substr(header.size()));
  return out;
}

}  // namespace mailstead::spam
