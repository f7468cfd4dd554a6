// Building and encoding the parse cache (see cache.hpp).
#include "mime/cache.hpp"

#include <cctype>

#include "mime/imap_structure.hpp"
#include "mime/mime.hpp"
#include "util/bytes.hpp"

namespace mailstead::mime {

namespace {

// IMAP section numbers (RFC 3501 6.4.5): parts of a multipart are 1, 2, …; the message
// inside a message/rfc822 part takes that part's number.
void collect(const Part& p, const std::string& section, std::vector<CachedPart>& out) {
  out.push_back({section, p.header_begin, p.header_end, p.body_end});
  if (p.is_multipart()) {
    for (std::size_t i = 0; i < p.children.size(); ++i)
      collect(p.children[i], section.empty() ? std::to_string(i + 1) : section + "." + std::to_string(i + 1), out);
  } else if (p.is_message() && !p.children.empty()) {
    const Part& inner = p.children.front();
    if (inner.is_multipart()) {
      for (std::size_t i = 0; i < inner.children.size(); ++i)
        collect(inner.children[i], section + "." + std::to_string(i + 1), out);
    } else {
      out.push_back({section + ".1", inner.header_begin, inner.header_end, inner.body_end});
    }
  }
}

}  // namespace

Cache build_cache(std::string_view message) {
  auto root = parse(message);
  Cache c;
  c.envelope = envelope(message, root);
  c.bodystructure = bodystructure(message, root, true);
  c.body = bodystructure(message, root, false);
  collect(root, "", c.parts);
  // The top-level header's fields with their offsets.
  std::size_t pos = 0, end = root.header_end;
  while (pos < end) {
    auto eol = message.find('\n', pos);
    std::size_t next = eol == std::string_view::npos || eol >= end ? end : eol + 1;
    auto line = message.substr(pos, next - pos);
    if (line == "\r\n" || line == "\n") break;
    if ((line[0] == ' ' || line[0] == '\t') && !c.header.empty()) {
      c.header.back().end = next;
    } else if (auto colon = line.find(':'); colon != std::string_view::npos) {
      std::string name(line.substr(0, colon));
      while (!name.empty() && (name.back() == ' ' || name.back() == '\t')) name.pop_back();
      for (auto& ch : name) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      c.header.push_back({name, pos, next});
    }
    pos = next;
  }
  return c;
}

std::string Cache::encode() const {
  Encoder e;
  e.u8(format).str(envelope).str(bodystructure).str(body).varint(parts.size());
  for (const auto& p : parts) e.str(p.section).u64(p.header_begin).u64(p.header_end).u64(p.body_end);
  e.varint(header.size());
  for (const auto& h : header) e.str(h.name).u64(h.begin).u64(h.end);
  return e.take();
}

std::optional<Cache> Cache::decode(std::string_view v) {
  Decoder d(v);
  Cache c;
  if (d.u8() != format) return std::nullopt;
  c.envelope = d.str();
  c.bodystructure = d.str();
  c.body = d.str();
  auto n = d.varint();
  if (n > v.size()) return std::nullopt;
  for (std::uint64_t i = 0; i < n && d.ok(); ++i) {
    CachedPart p;
    p.section = d.str();
    p.header_begin = d.u64();
    p.header_end = d.u64();
    p.body_end = d.u64();
    c.parts.push_back(std::move(p));
  }
  auto h = d.varint();
  if (h > v.size()) return std::nullopt;
  for (std::uint64_t i = 0; i < h && d.ok(); ++i) {
    HeaderField f;
    f.name = d.str();
    f.begin = d.u64();
    f.end = d.u64();
    c.header.push_back(std::move(f));
  }
  if (!d.ok() || !d.at_end()) return std::nullopt;
  return c;
}

}  // namespace mailstead::mime
