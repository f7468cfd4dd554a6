// Byte scans over message bodies that run 16 bytes at a time (SSE2, which every x86-64 has)
// or a word (8 bytes) at a time elsewhere: counting line feeds and finding the next CR, LF
// or NUL. The DATA reader, the message scanner and the MIME
// line counts run them over every byte of every message (docs/performance.md, "SMTP
// delivery"), where a byte loop or std::string_view::find_first_of (one memchr per byte)
// cost more than the rest of the delivery.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace mailstead::util {

namespace scan_detail {
constexpr std::uint64_t ones = 0x0101010101010101ull;
constexpr std::uint64_t low7 = 0x7f7f7f7f7f7f7f7full;

inline std::uint64_t load(const char* p) {
  std::uint64_t w;
  std::memcpy(&w, p, sizeof w);
  return w;
}

// 0x80 in each byte of w that is zero, 0 in every other byte (exact: no borrow between bytes).
inline std::uint64_t zero_bytes(std::uint64_t w) { return ~(((w & low7) + low7) | w | low7); }
}  // namespace scan_detail

// How many bytes of s are c.
inline std::size_t count_byte(std::string_view s, char c) {
  using namespace scan_detail;
  const std::uint64_t pattern = ones * static_cast<unsigned char>(c);
  const char* p = s.data();
  const char* end = p + s.size();
  std::size_t n = 0;
#if defined(__SSE2__)
  const __m128i needle = _mm_set1_epi8(c);
  while (end - p >= 16) {
    // Per-byte counters (at most 255 each), summed once per block.
    __m128i acc = _mm_setzero_si128();
    for (int i = 0; i < 255 && end - p >= 16; ++i, p += 16)
      acc = _mm_sub_epi8(acc, _mm_cmpeq_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)), needle));
    auto sums = _mm_sad_epu8(acc, _mm_setzero_si128());
    n += static_cast<std::size_t>(_mm_cvtsi128_si64(sums)) +
         static_cast<std::size_t>(_mm_cvtsi128_si64(_mm_unpackhi_epi64(sums, sums)));
  }
#endif
  while (end - p >= 8 * 255) {
    // Per-byte counters (at most 255 each) summed once per block.
    std::uint64_t acc = 0;
    for (const char* stop = p + 8 * 255; p < stop; p += 8) acc += zero_bytes(load(p) ^ pattern) >> 7;
    acc = (acc & 0x00ff00ff00ff00ffull) + ((acc >> 8) & 0x00ff00ff00ff00ffull);
    n += static_cast<std::size_t>((acc * 0x0001000100010001ull) >> 48);
  }
  std::uint64_t acc = 0;
  for (; end - p >= 8; p += 8) acc += zero_bytes(load(p) ^ pattern) >> 7;
  acc = (acc & 0x00ff00ff00ff00ffull) + ((acc >> 8) & 0x00ff00ff00ff00ffull);
  n += static_cast<std::size_t>((acc * 0x0001000100010001ull) >> 48);
  for (; p < end; ++p) n += *p == c;
  return n;
}

// The position of the first CR or LF (and NUL, when `nul`) in s at or after `from`, or npos.
inline std::size_t find_line_byte(std::string_view s, std::size_t from, bool nul = false) {
  using namespace scan_detail;
  const char* begin = s.data();
  const char* p = begin + from;
  const char* end = begin + s.size();
#if defined(__SSE2__)
  const __m128i cr = _mm_set1_epi8('\r'), lf = _mm_set1_epi8('\n'), zero = _mm_setzero_si128();
  for (; end - p >= 16; p += 16) {
    auto v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    auto hit = _mm_or_si128(_mm_cmpeq_epi8(v, cr), _mm_cmpeq_epi8(v, lf));
    if (nul) hit = _mm_or_si128(hit, _mm_cmpeq_epi8(v, zero));
    if (int mask = _mm_movemask_epi8(hit))
      return static_cast<std::size_t>(p - begin) + static_cast<std::size_t>(__builtin_ctz(static_cast<unsigned>(mask)));
  }
#endif
  for (; end - p >= 8; p += 8) {
    auto w = load(p);
    auto hit = zero_bytes(w ^ (ones * '\r')) | zero_bytes(w ^ (ones * '\n'));
    if (nul) hit |= zero_bytes(w);
    if (hit) {
      // The lowest hit byte is the first in memory on a little-endian machine; elsewhere
      // the bytes of this word are looked at one by one.
      if constexpr (std::endian::native == std::endian::little)
        return static_cast<std::size_t>(p - begin) + static_cast<std::size_t>(__builtin_ctzll(hit)) / 8;
      break;
    }
  }
  for (; p < end; ++p)
    if (*p == '\r' || *p == '\n' || (nul && *p == '\0')) return static_cast<std::size_t>(p - begin);
  return std::string_view::npos;
}

}  // namespace mailstead::util
