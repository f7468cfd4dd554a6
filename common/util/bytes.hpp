// Byte layouts for store keys and values: big-endian fixed-width integers (so LMDB's
// lexicographic key order is numeric order) and a small bounds-checked record codec.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace mailstead {

inline void put_be32(std::string& out, std::uint32_t v) {
  for (int s = 24; s >= 0; s -= 8) out.push_back(static_cast<char>((v >> s) & 0xff));
}
inline void put_be64(std::string& out, std::uint64_t v) {
  for (int s = 56; s >= 0; s -= 8) out.push_back(static_cast<char>((v >> s) & 0xff));
}
inline std::uint32_t get_be32(std::string_view in) {
  std::uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v = (v << 8) | static_cast<unsigned char>(in[i]);
  return v;
}
inline std::uint64_t get_be64(std::string_view in) {
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<unsigned char>(in[i]);
  return v;
}

inline std::string key_u64(std::uint64_t a) {
  std::string k;
  put_be64(k, a);
  return k;
}
inline std::string key_u64_u32(std::uint64_t a, std::uint32_t b) {
  std::string k;
  put_be64(k, a);
  put_be32(k, b);
  return k;
}
inline std::string key_u64_u64(std::uint64_t a, std::uint64_t b) {
  std::string k;
  put_be64(k, a);
  put_be64(k, b);
  return k;
}
inline std::string key_u64_str(std::uint64_t a, std::string_view s) {
  std::string k;
  put_be64(k, a);
  k.append(s);
  return k;
}

// Appends fields to a value. Strings are length-prefixed (LEB128 varint).
class Encoder {
 public:
  Encoder& u8(std::uint8_t v) { buf_.push_back(static_cast<char>(v)); return *this; }
  Encoder& u32(std::uint32_t v) { put_be32(buf_, v); return *this; }
  Encoder& u64(std::uint64_t v) { put_be64(buf_, v); return *this; }
  Encoder& i64(std::int64_t v) { return u64(static_cast<std::uint64_t>(v)); }
  Encoder& varint(std::uint64_t v) {
    while (v >= 0x80) { buf_.push_back(static_cast<char>((v & 0x7f) | 0x80)); v >>= 7; }
    buf_.push_back(static_cast<char>(v));
    return *this;
  }
  Encoder& str(std::string_view s) { varint(s.size()); buf_.append(s); return *this; }
  Encoder& strings(const std::vector<std::string>& v) {
    varint(v.size());
    for (const auto& s : v) str(s);
    return *this;
  }
  Encoder& u64s(const std::vector<std::uint64_t>& v) {
    varint(v.size());
    for (auto x : v) u64(x);
    return *this;
  }
  std::string take() { return std::move(buf_); }
  const std::string& view() const { return buf_; }

 private:
  std::string buf_;
};

// Reads fields back. A short or malformed value sets ok() to false and yields zeros:
// the caller checks ok() once at the end instead of after every field.
class Decoder {
 public:
  explicit Decoder(std::string_view in) : in_(in) {}
  std::uint8_t u8() {
    if (!need(1)) return 0;
    auto v = static_cast<std::uint8_t>(in_[0]);
    in_.remove_prefix(1);
    return v;
  }
  std::uint32_t u32() {
    if (!need(4)) return 0;
    auto v = get_be32(in_);
    in_.remove_prefix(4);
    return v;
  }
  std::uint64_t u64() {
    if (!need(8)) return 0;
    auto v = get_be64(in_);
    in_.remove_prefix(8);
    return v;
  }
  std::int64_t i64() { return static_cast<std::int64_t>(u64()); }
  std::uint64_t varint() {
    std::uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (!need(1)) return 0;
      auto b = static_cast<unsigned char>(in_[0]);
      in_.remove_prefix(1);
      v |= static_cast<std::uint64_t>(b & 0x7f) << shift;
      if (!(b & 0x80)) return v;
    }
    ok_ = false;
    return 0;
  }
  std::string_view str() {
    auto n = varint();
    if (!need(n)) return {};
    auto s = in_.substr(0, n);
    in_.remove_prefix(n);
    return s;
  }
  std::vector<std::string> strings() {
    auto n = varint();
    std::vector<std::string> v;
    if (n > in_.size()) { ok_ = false; return v; }
    for (std::uint64_t i = 0; i < n && ok_; ++i) v.emplace_back(str());
    return v;
  }
  std::vector<std::uint64_t> u64s() {
    auto n = varint();
    std::vector<std::uint64_t> v;
    if (n > in_.size() / 8) { ok_ = false; return v; }
    for (std::uint64_t i = 0; i < n; ++i) v.push_back(u64());
    return v;
  }
  bool at_end() const { return in_.empty(); }
  bool ok() const { return ok_; }
  std::string_view rest() const { return in_; }

 private:
  bool need(std::uint64_t n) {
    if (!ok_ || in_.size() < n) { ok_ = false; return false; }
    return true;
  }
  std::string_view in_;
  bool ok_ = true;
};

}  // namespace mailstead
