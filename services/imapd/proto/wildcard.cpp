// LIST wildcards: a position automaton simulated with bit sets (see wildcard.hpp).
// State i means "the first i pattern bytes have matched the name so far"; state size_
// accepts. A wildcard at i may match nothing (i → i+1) or one more byte (i → i); a
// literal byte at i moves to i+1 when the name byte equals it.
#include "proto/wildcard.hpp"

namespace mailstead::imap {

namespace {
void set(std::vector<std::uint64_t>& b, std::size_t i) { b[i / 64] |= std::uint64_t{1} << (i % 64); }
bool test(const std::vector<std::uint64_t>& b, std::size_t i) { return (b[i / 64] >> (i % 64)) & 1; }
}  // namespace

ListPattern::ListPattern(std::string_view pattern, char delimiter) : delimiter_(delimiter) {
  // Fold runs of wildcards ("%*" and "*%" match what "*" does, "%%" what "%" does), so no
  // two wildcards are adjacent and one step of "match nothing" is a whole closure.
  std::string p;
  for (char c : pattern) {
    bool wild = c == '*' || c == '%';
    if (wild && !p.empty() && (p.back() == '*' || p.back() == '%')) {
      if (c == '*') p.back() = '*';
      continue;
    }
    p.push_back(c);
  }
  size_ = p.size();
  words_ = (size_ + 1 + 63) / 64;
  star_.assign(words_, 0);
  percent_.assign(words_, 0);
  for (std::size_t i = 0; i < size_; ++i) {
    auto c = static_cast<unsigned char>(p[i]);
    if (p[i] == '*') {
      set(star_, i);
    } else if (p[i] == '%') {
      set(percent_, i);
    } else {
      if (!literal_[c]) {
        literals_.emplace_back(words_, 0);
        literal_[c] = static_cast<std::uint16_t>(literals_.size());
      }
      set(literals_[literal_[c] - 1], i);
    }
  }
}

bool ListPattern::matches(std::string_view name) const {
  Bits live(words_, 0), next(words_, 0);
  // (b & wildcards) << 1: the states a wildcard reaches by matching nothing.
  auto close = [&](Bits& b) {
    std::uint64_t carry = 0;
    for (std::size_t w = 0; w < words_; ++w) {
      auto wild = b[w] & (star_[w] | percent_[w]);
      auto moved = (wild << 1) | carry;
      carry = wild >> 63;
      b[w] |= moved;
    }
  };
  set(live, 0);
  close(live);
  for (char ch : name) {
    auto c = static_cast<unsigned char>(ch);
    const Bits* lit = literal_[c] ? &literals_[literal_[c] - 1] : nullptr;
    bool any = false;
    std::uint64_t carry = 0;
    for (std::size_t w = 0; w < words_; ++w) {
      auto stay = live[w] & (star_[w] | (ch != delimiter_ ? percent_[w] : 0));
      auto step = lit ? live[w] & (*lit)[w] : 0;
      next[w] = stay | (step << 1) | carry;
      carry = step >> 63;
      any |= next[w] != 0;
    }
    if (!any) return false;
    close(next);
    std::swap(live, next);
  }
  return test(live, size_);
}

}  // namespace mailstead::imap
