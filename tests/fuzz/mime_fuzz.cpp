// libFuzzer: the MIME parser must give the same tree whole and in arbitrary chunks, stay
// inside the message, and its ENVELOPE/BODYSTRUCTURE/cache must never fail.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "mime/cache.hpp"
#include "mime/imap_structure.hpp"
#include "mime/mime.hpp"

using namespace mailstead::mime;

namespace {
std::string dump(const Part& p, std::size_t size) {
  if (p.header_begin > p.header_end || p.header_end > p.body_end || p.body_end > size) std::abort();
  std::string s = std::to_string(p.header_begin) + "," + std::to_string(p.header_end) + "," + std::to_string(p.body_end) +
                  p.type + "/" + p.subtype;
  for (const auto& c : p.children) s += "(" + dump(c, size) + ")";
  return s;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  Limits limits;
  limits.max_depth = 8;
  limits.max_parts = 64;
  limits.max_header_bytes = 512;
  auto whole = parse(in, limits);
  Parser chunked(limits);
  std::size_t step = size ? (data[0] % 7) + 1 : 1;
  for (std::size_t i = 0; i < size; i += step) chunked.feed(in.substr(i, step));
  auto parts = chunked.finish();
  if (dump(whole, size) != dump(parts, size)) std::abort();
  (void)bodystructure(in, whole, true);
  (void)envelope(in, whole);
  auto cache = build_cache(in);
  if (!Cache::decode(cache.encode())) std::abort();
  (void)decode_words(in.substr(0, 256));
  return 0;
}
