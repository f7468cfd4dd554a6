// Connection admission: a count per listener (one port filling up never refuses another)
// and a count per IP across listeners.
#include "net/listener.hpp"

#include <gtest/gtest.h>

namespace mailstead::net {

TEST(ConnectionLimits, PerListenerAndPerIp) {
  using V = ConnectionLimits::Verdict;
  ConnectionLimits l(2, 3);
  EXPECT_EQ(l.admit("192.0.2.1", 0), V::ok);
  EXPECT_EQ(l.admit("192.0.2.2", 0), V::ok);
  EXPECT_EQ(l.admit("192.0.2.3", 0), V::too_many_on_listener) << "listener 0 is full";
  EXPECT_EQ(l.admit("192.0.2.3", 1), V::ok) << "listener 1 has its own count";
  EXPECT_EQ(l.admit("192.0.2.1", 1), V::ok);
  EXPECT_EQ(l.admit("192.0.2.1", 2), V::ok);
  EXPECT_EQ(l.admit("192.0.2.1", 2), V::too_many_from_ip) << "3 from this IP, across listeners";
  l.release("192.0.2.1", 0);
  EXPECT_EQ(l.admit("192.0.2.4", 0), V::ok);
  EXPECT_EQ(l.admit("192.0.2.1", 2), V::ok);
}

}  // namespace mailstead::net
