#include "util/bytes.hpp"

#include <gtest/gtest.h>

namespace mailstead {

TEST(Bytes, BigEndianKeysSortNumerically) {
  EXPECT_LT(key_u64(1), key_u64(2));
  EXPECT_LT(key_u64(255), key_u64(256));
  EXPECT_LT(key_u64_u32(7, 0xffffffff), key_u64_u32(8, 0));
  EXPECT_EQ(get_be64(key_u64(0x0102030405060708ull)), 0x0102030405060708ull);
  EXPECT_EQ(get_be32(key_u64_u32(0, 0xdeadbeef).substr(8)), 0xdeadbeefu);
}

TEST(Bytes, EncoderDecoderRoundTrip) {
  Encoder e;
  e.u8(7).u32(123456).u64(1ull << 40).i64(-5).str("hello").strings({"a", "", "c"}).u64s({1, 2}).varint(300);
  auto bytes = e.take();
  Decoder d(bytes);
  EXPECT_EQ(d.u8(), 7);
  EXPECT_EQ(d.u32(), 123456u);
  EXPECT_EQ(d.u64(), 1ull << 40);
  EXPECT_EQ(d.i64(), -5);
  EXPECT_EQ(d.str(), "hello");
  EXPECT_EQ(d.strings(), (std::vector<std::string>{"a", "", "c"}));
  EXPECT_EQ(d.u64s(), (std::vector<std::uint64_t>{1, 2}));
  EXPECT_EQ(d.varint(), 300u);
  EXPECT_TRUE(d.ok());
  EXPECT_TRUE(d.at_end());
}

TEST(Bytes, TruncatedValuesFailInsteadOfOverreading) {
  Encoder e;
  e.str("a longer string").u64(9);
  auto bytes = e.take();
  for (std::size_t n = 0; n < bytes.size(); ++n) {
    Decoder d(std::string_view(bytes).substr(0, n));
    d.str();
    d.u64();
    EXPECT_FALSE(d.ok()) << "prefix of " << n << " bytes";
  }
  // A length that claims more elements than there are bytes.
  Decoder huge("\xff\xff\xff\xff\x0f");
  EXPECT_TRUE(huge.strings().empty());
  EXPECT_FALSE(huge.ok());
}

}  // namespace mailstead
