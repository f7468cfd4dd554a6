// Stream address parsing and formatting (docs/streams.md, "Addresses").
#include "streams/address.hpp"

#include <vector>

#include "util/text.hpp"

namespace mailstead::streams {

std::optional<GatewayPattern> parse_pattern(std::string_view pattern) {
  auto s = pattern.find("%s");
  if (s == std::string_view::npos || pattern.find("%s", s + 2) != std::string_view::npos) return std::nullopt;
  auto at = pattern.rfind('@');
  if (at == std::string_view::npos || at < s + 2 || at + 1 >= pattern.size()) return std::nullopt;
  if (pattern.find('%', s + 2) != std::string_view::npos || pattern.substr(0, s).find('%') != std::string_view::npos)
    return std::nullopt;
  GatewayPattern p;
  p.prefix = lower(pattern.substr(0, s));
  p.suffix = lower(pattern.substr(s + 2));
  p.domain = lower(pattern.substr(at + 1));
  for (char c : p.domain)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.')) return std::nullopt;
  if (p.prefix.find('@') != std::string::npos) return std::nullopt;
  return p;
}

std::optional<std::string> gateway_part(const GatewayPattern& p, std::string_view address) {
  auto a = lower(address);
  if (a.size() <= p.prefix.size() + p.suffix.size()) return std::nullopt;
  if (!a.starts_with(p.prefix) || !a.ends_with(p.suffix)) return std::nullopt;
  auto part = a.substr(p.prefix.size(), a.size() - p.prefix.size() - p.suffix.size());
  if (part.find('@') != std::string::npos) return std::nullopt;
  return part;
}

std::variant<StreamAddress, AddressError> parse_stream_part(std::string_view part) {
  if (part.empty()) return AddressError{"empty stream address"};
  if (part.size() > 256) return AddressError{"stream address too long"};
  std::vector<std::string> pieces;
  std::string cur;
  for (char c : part) {
    if (c == '.' || c == '+') {
      pieces.push_back(cur);
      cur.clear();
    } else {
      cur.push_back(ascii_lower(c));
    }
  }
  pieces.push_back(cur);
  if (pieces.size() < 2 || pieces[0].empty() || pieces[1].empty()) return AddressError{"no stream token in the address"};
  StreamAddress out;
  out.slug = pieces[0];
  out.token = pieces[1];
  for (std::size_t i = 2; i < pieces.size(); ++i) {
    const auto& o = pieces[i];
    if (o == "show-sender") out.options.show_sender = true;
    else if (o == "include-footer") out.options.include_footer = true;
    else if (o == "include-quotes") out.options.include_quotes = true;
    else if (o == "prefer-html") out.options.prefer_html = true;
    else if (o == "prefer-text") out.options.prefer_text = true;
    else return AddressError{"unknown stream address option '" + o.substr(0, 40) + "'"};
  }
  if (out.options.prefer_html && out.options.prefer_text) return AddressError{"prefer-html and prefer-text together"};
  return out;
}

std::string format_address(const GatewayPattern& p, std::string_view slug, std::string_view token,
                           const Options& o) {
  std::string part = std::string(slug) + "." + std::string(token);
  if (o.show_sender) part += ".show-sender";
  if (o.include_footer) part += ".include-footer";
  if (o.include_quotes) part += ".include-quotes";
  if (o.prefer_html) part += ".prefer-html";
  if (o.prefer_text) part += ".prefer-text";
  return p.prefix + part + p.suffix;
}

bool same_token(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (std::size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

}  // namespace mailstead::streams
