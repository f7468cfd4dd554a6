#include "auth/failure_limiter.hpp"

#include <gtest/gtest.h>

namespace mailstead::auth {

using namespace std::chrono_literals;

TEST(FailureLimiter, ShutsOutAnIpForTheWindow) {
  FailureLimiter l({3, 100, 10min, 2s});
  auto t0 = FailureLimiter::Clock::now();
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(l.ip_allowed("192.0.2.1", t0));
    l.failed("192.0.2.1", "bob@x", t0);
  }
  EXPECT_FALSE(l.ip_allowed("192.0.2.1", t0 + 1min));
  EXPECT_TRUE(l.ip_allowed("192.0.2.2", t0 + 1min)) << "other IPs are not affected";
  EXPECT_TRUE(l.ip_allowed("192.0.2.1", t0 + 10min)) << "the window slides";
}

TEST(FailureLimiter, AccountsAreSlowedNeverLockedOut) {
  FailureLimiter l({1000, 5, 10min, 2s});
  auto t0 = FailureLimiter::Clock::now();
  for (int i = 0; i < 5; ++i) l.failed("198.51.100." + std::to_string(i), "bob@x", t0);
  EXPECT_EQ(l.account_delay("bob@x", t0), 2s);
  EXPECT_EQ(l.account_delay("alice@x", t0), 0s);
  EXPECT_TRUE(l.ip_allowed("203.0.113.9", t0)) << "the real user's IP can still log in";
  EXPECT_EQ(l.account_delay("bob@x", t0 + 11min), 0s);
}

TEST(FailureLimiter, SuccessClearsTheIp) {
  FailureLimiter l({2, 100, 10min, 2s});
  l.failed("192.0.2.1", "a");
  l.succeeded("192.0.2.1");
  l.failed("192.0.2.1", "a");
  EXPECT_TRUE(l.ip_allowed("192.0.2.1"));
}

}  // namespace mailstead::auth
