// The process-wide byte budget: immediate takes, waiting in turn across threads, timeouts,
// and the bytes held given back.
#include "net/budget.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <thread>

namespace mailstead::net {

namespace asio = boost::asio;
using namespace std::chrono_literals;

TEST(ByteBudget, TryTakeAndGive) {
  ByteBudget b(100);
  EXPECT_TRUE(b.try_take(60));
  EXPECT_FALSE(b.try_take(41));
  EXPECT_TRUE(b.try_take(40));
  EXPECT_EQ(b.used(), 100u);
  b.give(100);
  EXPECT_EQ(b.used(), 0u);
}

TEST(ByteBudget, HeldGivesBack) {
  ByteBudget b(100);
  {
    Held h;
    EXPECT_TRUE(h.grow(b, 30));
    EXPECT_TRUE(h.grow(b, 30));
    EXPECT_FALSE(h.grow(b, 50));
    EXPECT_EQ(h.bytes(), 60u);
    Held moved = std::move(h);
    EXPECT_EQ(b.used(), 60u);
  }
  EXPECT_EQ(b.used(), 0u);
}

TEST(ByteBudget, WaitersGetInWhenBytesComeBackAcrossThreads) {
  ByteBudget b(100);
  ASSERT_TRUE(b.try_take(90));
  asio::io_context other(1);
  std::atomic<std::uint64_t> got{0}, got_big{0};
  // Two waiters on another thread: FIFO, the big one (capped at the limit) first.
  asio::co_spawn(other, [&]() -> asio::awaitable<void> { got_big = co_await b.take(1000, 30s); }, asio::detached);
  std::thread t([&] {
    auto guard = asio::make_work_guard(other);
    other.run_for(50ms);  // the big waiter queues
    asio::co_spawn(other, [&]() -> asio::awaitable<void> { got = co_await b.take(20, 30s); }, asio::detached);
    other.run_for(50ms);
    guard.reset();
    other.restart();
    other.run();
  });
  while (got_big == 0) {
    std::this_thread::sleep_for(10ms);
    if (b.used() == 90) b.give(90);  // from this thread: lets the big one in
  }
  EXPECT_EQ(got_big, 100u) << "capped at the whole budget";
  b.give(100);
  t.join();
  EXPECT_EQ(got, 20u) << "the next waiter got in after the big one gave back";
  b.give(20);
  EXPECT_EQ(b.used(), 0u);
}

TEST(ByteBudget, TimesOutAndLetsTheNextOneIn) {
  ByteBudget b(100);
  ASSERT_TRUE(b.try_take(50));
  asio::io_context io(1);
  std::uint64_t first = 1, second = 0;
  asio::co_spawn(io, [&]() -> asio::awaitable<void> { first = co_await b.take(80, 20ms); }, asio::detached);
  asio::co_spawn(io, [&]() -> asio::awaitable<void> { second = co_await b.take(40, 10s); }, asio::detached);
  io.run();
  EXPECT_EQ(first, 0u) << "did not fit before its timeout";
  EXPECT_EQ(second, 40u) << "queued behind the first, admitted when it left";
  EXPECT_EQ(b.used(), 90u);
}

}  // namespace mailstead::net
