// SRS0/SRS1 against vectors made by an independent implementation (Debian's python3-srs,
// pysrs 1.0.4: Guarded(secret=key, maxage=21) at 2024-11-30T10:00:00Z), and the checks a
// bounce must pass: the hash (case-insensitive), the timestamp, the shape.
#include "srs/srs.hpp"

#include <gtest/gtest.h>

#include "../../test_support.hpp"
#include "config/core_settings.hpp"

namespace mailstead::srs {
namespace {

constexpr std::string_view key = "a-test-key-of-some-length";
constexpr std::int64_t t0 = 1732960800;  // 2024-11-30T10:00:00Z
constexpr std::int64_t day = 86400;

TEST(Srs, ForwardMatchesPysrs) {
  EXPECT_EQ(forward("alice@remote.example", "fwd.example.test", key, t0),
            "SRS0=Cwd9=SZ=remote.example=alice@fwd.example.test");
  EXPECT_EQ(forward("Bob.Smith+tag@Other.Example", "fwd.example.test", key, t0),
            "SRS0=sSXN=SZ=Other.Example=Bob.Smith+tag@fwd.example.test");
  EXPECT_EQ(forward("user=with=eq@remote.example", "fwd.example.test", key, t0),
            "SRS0=ltUa=SZ=remote.example=user=with=eq@fwd.example.test");
  EXPECT_EQ(forward("alice@remote.example", "fwd.example.test", "another secret entirely", t0),
            "SRS0=BNaY=SZ=remote.example=alice@fwd.example.test");
}

TEST(Srs, ForwardingAgainMakesSrs1ThatKeepsTheFirstForwarder) {
  auto srs0 = forward("alice@remote.example", "fwd.example.test", key, t0);
  auto srs1 = forward(srs0, "second.example", key, t0);
  EXPECT_EQ(srs1, "SRS1=lVxm=fwd.example.test==Cwd9=SZ=remote.example=alice@second.example");
  EXPECT_EQ(forward(srs1, "third.example", key, t0),
            "SRS1=lVxm=fwd.example.test==Cwd9=SZ=remote.example=alice@third.example");
}

TEST(Srs, WhatIsNotRewritten) {
  EXPECT_EQ(forward("", "fwd.example.test", key, t0), "");  // the null sender stays null
  EXPECT_EQ(forward("postmaster", "fwd.example.test", key, t0), "postmaster");
  EXPECT_EQ(forward("a@FWD.example.test", "fwd.example.test", key, t0), "a@FWD.example.test");
}

TEST(Srs, ReverseMatchesPysrs) {
  EXPECT_EQ(reverse("SRS0=Cwd9=SZ=remote.example=alice@fwd.example.test", key, t0), "alice@remote.example");
  EXPECT_EQ(reverse("SRS1=lVxm=fwd.example.test==Cwd9=SZ=remote.example=alice@second.example", key, t0),
            "SRS0=Cwd9=SZ=remote.example=alice@fwd.example.test");
  EXPECT_EQ(reverse("SRS0=ltUa=SZ=remote.example=user=with=eq@fwd.example.test", key, t0),
            "user=with=eq@remote.example");
}

TEST(Srs, RoundTripsAndCaseIsIgnoredInTheHashAndTag) {
  auto a = forward("Alice@Remote.Example", "ours.test", key, t0);
  EXPECT_EQ(reverse(a, key, t0), "Alice@Remote.Example");
  std::string lower, upper;
  for (char c : a) lower.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  for (char c : a) upper.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
  EXPECT_EQ(reverse(lower, key, t0), "alice@remote.example");  // a relay that smashed case
  EXPECT_EQ(reverse(upper, key, t0), "ALICE@REMOTE.EXAMPLE");
  // The other separators libsrs2 accepts after the tag.
  EXPECT_EQ(reverse("SRS0+Cwd9=SZ=remote.example=alice@x", key, t0), "alice@remote.example");
  EXPECT_EQ(reverse("SRS0-Cwd9=SZ=remote.example=alice@x", key, t0), "alice@remote.example");
}

TEST(Srs, OnlyValidHashesAndCurrentTimestamps) {
  auto a = forward("alice@remote.example", "ours.test", key, t0);
  EXPECT_FALSE(reverse(a, "the wrong key..........", t0));
  EXPECT_FALSE(reverse("SRS0=Cwd8=SZ=remote.example=alice@x", key, t0));          // hash
  EXPECT_FALSE(reverse("SRS0=Cwd9=SZ=remote.example=mallory@x", key, t0));        // user changed
  EXPECT_FALSE(reverse("SRS0=Cwd9=SZ=evil.example=alice@x", key, t0));            // host changed
  EXPECT_FALSE(reverse("SRS0=Cwd9=SY=remote.example=alice@x", key, t0));          // stamp changed
  EXPECT_FALSE(reverse("SRS0=Cwd=SZ=remote.example=alice@x", key, t0));           // hash too short
  EXPECT_FALSE(reverse("SRS0=Cwd9=S1=remote.example=alice@x", key, t0));          // not base32
  EXPECT_FALSE(reverse("SRS0=Cwd9=SZZ=remote.example=alice@x", key, t0));         // stamp length
  EXPECT_FALSE(reverse("SRS0=Cwd9=SZ=remote.example@x", key, t0));                // no user
  EXPECT_FALSE(reverse("SRS0=@x", key, t0));
  EXPECT_FALSE(reverse("SRS1=lVxm=fwd.example.test@x", key, t0));
  EXPECT_FALSE(reverse("SRS1=lVxn=fwd.example.test==Cwd9=SZ=remote.example=alice@x", key, t0));
  EXPECT_FALSE(reverse("alice@x", key, t0));
  // 21 days (the default) and no more; a stamp from the future is as good as very old.
  EXPECT_TRUE(reverse(a, key, t0 + 21 * day));
  EXPECT_FALSE(reverse(a, key, t0 + 22 * day));
  EXPECT_FALSE(reverse(a, key, t0 + 22 * day, 21));
  EXPECT_TRUE(reverse(a, key, t0 + 22 * day, 30));
  EXPECT_FALSE(reverse(a, key, t0 - day));
  // The day count wraps every 1024 days; the check still works across the wrap.
  std::int64_t wrap = (t0 / day / 1024 + 1) * 1024 * day;  // the first day of the next cycle
  auto b = forward("alice@remote.example", "ours.test", key, wrap - day);
  EXPECT_TRUE(reverse(b, key, wrap + 5 * day));
}

TEST(Srs, IsSrs) {
  EXPECT_TRUE(is_srs("SRS0=a=b=c=d"));
  EXPECT_TRUE(is_srs("srs1+x"));
  EXPECT_FALSE(is_srs("SRS2=x"));
  EXPECT_FALSE(is_srs("SRS0"));
  EXPECT_FALSE(is_srs("SRS0_x"));
  EXPECT_FALSE(is_srs("alice"));
}

TEST(Srs, KeysFromTheSecretsOrOnceFromTheStore) {
  testing::TempDir dir;
  auto store = testing::open_store(dir.path());
  config::CoreSettings core;
  auto first = load_keys(*store, core);
  ASSERT_TRUE(first);
  ASSERT_EQ(first->size(), 1u);
  EXPECT_GE(first->front().size(), 40u);
  auto again = load_keys(*store, core);
  ASSERT_TRUE(again);
  EXPECT_EQ(*again, *first) << "made once and kept";
  core.secrets.srs_secret = "configured secret of some length";
  core.secrets.srs_old_secret = "the previous secret, still verifying";
  auto configured = load_keys(*store, core);
  ASSERT_TRUE(configured);
  EXPECT_EQ(*configured, (std::vector<std::string>{core.secrets.srs_secret, core.secrets.srs_old_secret}));
}

}  // namespace
}  // namespace mailstead::srs
