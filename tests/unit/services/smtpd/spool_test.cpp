// Message spooling: memory up to the threshold, then an unnamed file; the memory and disk
// budgets; the prefix written in front of a spooled message; nothing left on disk.
#include "spool.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>

namespace mailstead::smtp {

namespace {
struct TempDir {
  TempDir() {
    char tmpl[] = "/tmp/mailstead-spool-test-XXXXXX";
    path = ::mkdtemp(tmpl);
  }
  ~TempDir() { std::filesystem::remove_all(path); }
  std::string path;
};
}  // namespace

TEST(Spool, SmallMessagesStayInMemory) {
  TempDir dir;
  Spool spool(dir.path + "/spool", {1 << 20, 100, 1 << 20});
  ASSERT_EQ(spool.open(""), "");
  SpooledMessage m(spool);
  m.append("Subject: a\r\n\r\n");
  m.append("body\r\n");
  EXPECT_FALSE(m.on_disk());
  EXPECT_EQ(spool.memory().used(), 20u);
  EXPECT_EQ(*m.view(), "Subject: a\r\n\r\nbody\r\n");
  EXPECT_EQ(*m.prepend("Received: x\r\n"), "Received: x\r\nSubject: a\r\n\r\nbody\r\n");
}

TEST(Spool, LargeMessagesGoToAnUnnamedFile) {
  TempDir dir;
  Spool spool(dir.path + "/spool", {1 << 20, 100, 1 << 20});
  ASSERT_EQ(spool.open(""), "");
  std::string body;
  for (int i = 0; i < 50; ++i) body += "line " + std::to_string(i) + "\r\n";
  {
    SpooledMessage m(spool);
    for (std::size_t i = 0; i < body.size(); i += 7) m.append(std::string_view(body).substr(i, 7));
    EXPECT_TRUE(m.on_disk());
    EXPECT_EQ(spool.memory().used(), 0u) << "the in-memory part was handed back";
    EXPECT_EQ(spool.disk().used(), SpooledMessage::prefix_room + body.size());
    EXPECT_EQ(*m.view(), body);
    EXPECT_EQ(*m.prepend("Received: y\r\n"), "Received: y\r\n" + body);
    EXPECT_TRUE(std::filesystem::is_empty(dir.path + "/spool")) << "no name in the directory";
    struct stat st {};
    ASSERT_EQ(::stat((dir.path + "/spool").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0700u);
  }
  EXPECT_EQ(spool.disk().used(), 0u);
}

TEST(Spool, MemoryBudgetFullSpillsAtOnce) {
  TempDir dir;
  Spool spool(dir.path + "/spool", {1 << 20, 1000, 1 << 20});
  ASSERT_EQ(spool.open(""), "");
  ASSERT_TRUE(spool.memory().try_take(1 << 20));
  SpooledMessage m(spool);
  m.append("small");
  EXPECT_TRUE(m.on_disk());
  EXPECT_EQ(*m.view(), "small");
}

TEST(Spool, DiskBudgetRefuses) {
  TempDir dir;
  Spool spool(dir.path + "/spool", {1 << 20, 0, SpooledMessage::prefix_room + 10});
  ASSERT_EQ(spool.open(""), "");
  SpooledMessage a(spool);
  a.append("0123456789");
  EXPECT_EQ(a.failure(), SpooledMessage::Failure::none);
  SpooledMessage b(spool);
  b.append("x");
  EXPECT_EQ(b.failure(), SpooledMessage::Failure::no_room);
  EXPECT_FALSE(b.view());
  a.append("more");
  EXPECT_EQ(a.failure(), SpooledMessage::Failure::no_room);
  EXPECT_EQ(a.size(), 14u) << "counted, not kept";
}

TEST(Spool, NoDirectoryIsAnIoFailure) {
  Spool spool("/nonexistent-dir/for/sure/spool", {1 << 20, 0, 1 << 20});
  EXPECT_NE(spool.open(""), "");
  SpooledMessage m(spool);
  m.append("x");
  EXPECT_EQ(m.failure(), SpooledMessage::Failure::io);
}

}  // namespace mailstead::smtp
