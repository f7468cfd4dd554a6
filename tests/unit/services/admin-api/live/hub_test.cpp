// The live stream hub, driven step by step (no thread) over the real store: a watcher is
// woken once its stream has a message newer than it knows, never for another stream's, and
// never twice for the same message; connection slots per user.
#include "live/hub.hpp"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>

#include "../../../test_support.hpp"
#include "store/store.hpp"
#include "streams/messages.hpp"

namespace mailstead::live {
namespace {

std::uint64_t post(store::Store& s, std::uint64_t stream, const std::string& body) {
  std::uint64_t id = 0;
  EXPECT_FALSE(s.commit_sync([&](store::WriteTxn& t) -> std::error_code {
    streams::StreamMessage m;
    m.stream = stream;
    m.topic = "t";
    m.body = body;
    m.via = "cli";
    id = streams::post(t, m, {}).value();
    return {};
  }));
  return id;
}

// Runs the wakes posted so far. An io_context that ran out of work stops, and a stopped one
// runs nothing until restarted.
void run_posted(boost::asio::io_context& io) {
  io.restart();
  io.poll();
}

TEST(LiveHub, WakesTheWatchersOfTheStreamThatGotAMessage) {
  testing::TempDir dir;
  auto s = testing::open_store(dir.path());
  Hub hub(*s, std::chrono::milliseconds(10), false);
  boost::asio::io_context io;
  auto a = std::make_shared<Wake>(io.get_executor());
  auto b = std::make_shared<Wake>(io.get_executor());
  auto known = post(*s, 1, "before");
  auto ta = hub.watch(1, known, io.get_executor(), a);
  auto tb = hub.watch(2, 0, io.get_executor(), b);
  hub.check();  // a new watcher is looked at once even without a commit: nothing new yet
  run_posted(io);
  EXPECT_FALSE(a->woken);
  EXPECT_FALSE(b->woken);
  post(*s, 1, "new");
  hub.check();
  run_posted(io);
  EXPECT_TRUE(a->woken);
  EXPECT_FALSE(b->woken) << "another stream's message wakes nobody of stream 2";
  a->woken = false;
  hub.check();  // nothing committed since: no second wake for the same message
  run_posted(io);
  EXPECT_FALSE(a->woken);
  hub.unwatch(ta);
  post(*s, 1, "after unwatch");
  hub.check();
  run_posted(io);
  EXPECT_FALSE(a->woken);
  hub.unwatch(tb);
}

TEST(LiveHub, WatchersKnowingDifferentIdsAreEachWokenForTheirNews) {
  testing::TempDir dir;
  auto s = testing::open_store(dir.path());
  Hub hub(*s, std::chrono::milliseconds(10), false);
  boost::asio::io_context io;
  auto first = post(*s, 1, "one");
  auto second = post(*s, 1, "two");
  auto behind = std::make_shared<Wake>(io.get_executor());
  auto current = std::make_shared<Wake>(io.get_executor());
  hub.watch(1, first, io.get_executor(), behind);
  auto tc = hub.watch(1, second, io.get_executor(), current);
  hub.check();
  run_posted(io);
  EXPECT_TRUE(behind->woken) << "it missed the second message";
  EXPECT_FALSE(current->woken);
  post(*s, 1, "three");
  hub.check();
  run_posted(io);
  EXPECT_TRUE(current->woken);
  hub.unwatch(tc);
}

TEST(LiveHub, ConnectionSlotsPerUser) {
  testing::TempDir dir;
  auto s = testing::open_store(dir.path());
  Hub hub(*s, std::chrono::milliseconds(10), false);
  auto one = hub.acquire("user:1", 2);
  auto two = hub.acquire("user:1", 2);
  ASSERT_TRUE(one && two);
  EXPECT_FALSE(hub.acquire("user:1", 2));
  EXPECT_TRUE(hub.acquire("user:2", 2)) << "another user has its own count";
  one.reset();
  EXPECT_EQ(hub.connections("user:1"), 1u);
  EXPECT_TRUE(hub.acquire("user:1", 2));
}

}  // namespace
}  // namespace mailstead::live
