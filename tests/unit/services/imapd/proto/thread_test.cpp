// RFC 5256 threading: base subjects, ORDEREDSUBJECT, and REFERENCES with its dummy
// containers, subject gathering, loops and very long chains.
#include "proto/thread.hpp"

#include <gtest/gtest.h>

namespace mailstead::imap {

namespace {
ThreadMessage msg(std::uint32_t n, std::string subject, std::string id = "", std::string refs = "",
                  std::string in_reply_to = "") {
  return ThreadMessage{n, static_cast<std::int64_t>(n) * 60, std::move(subject), std::move(id), std::move(refs),
                       std::move(in_reply_to)};
}
}  // namespace

TEST(ImapThread, BaseSubjectStripsReplyAndForwardMarkers) {
  auto s = base_subject("Re: [list] Fwd: Hello   World (fwd)");
  EXPECT_EQ(s.text, "hello world");
  EXPECT_TRUE(s.reply);
  auto l = base_subject("[list] Plans");
  EXPECT_EQ(l.text, "plans");
  EXPECT_FALSE(l.reply);
  EXPECT_EQ(base_subject("=?UTF-8?B?UmU6IMO8YmVy?=").text, "über");
  EXPECT_EQ(base_subject("[fwd: Budget]").text, "budget");
  EXPECT_EQ(base_subject("RE[2]: x").text, "x");
}

TEST(ImapThread, MessageIdsSkipInvalidOnes) {
  auto ids = message_ids("<a@x> junk <no-at> <b@y>\r\n <c@z>");
  ASSERT_EQ(ids.size(), 3u);
  EXPECT_EQ(ids[0], "<a@x>");
  EXPECT_EQ(ids[2], "<c@z>");
}

TEST(ImapThread, OrderedSubjectGroupsByBaseSubject) {
  std::vector<ThreadMessage> m{msg(1, "Hello"), msg(2, "Re: hello"), msg(3, "Other"), msg(4, "hello")};
  EXPECT_EQ(thread_orderedsubject(m), "(1 (2)(4))(3)");
  std::vector<ThreadMessage> two{msg(1, "A"), msg(2, "re: a")};
  EXPECT_EQ(thread_orderedsubject(two), "(1 2)");
  EXPECT_EQ(thread_orderedsubject({}), "");
}

TEST(ImapThread, ReferencesBuildsTrees) {
  std::vector<ThreadMessage> m{
      msg(1, "A", "<a@x>"),
      msg(2, "Re: A", "<b@x>", "<a@x>"),
      msg(3, "Re: A", "<c@x>", "<a@x> <b@x>"),
      msg(4, "Re: A", "<d@x>", "", "<a@x>"),  // In-Reply-To when there is no References
      msg(5, "Other", "<e@x>"),
  };
  EXPECT_EQ(thread_references(m), "(1 (2 3)(4))(5)");
}

TEST(ImapThread, ReferencesKeepsARootDummyWithSeveralChildren) {
  std::vector<ThreadMessage> m{msg(1, "Q", "<1@x>", "<gone@x>"), msg(2, "Z", "<2@x>", "<gone@x>")};
  EXPECT_EQ(thread_references(m), "((1)(2))");
  // below the root a missing parent disappears and its children move up
  std::vector<ThreadMessage> deep{msg(1, "Q", "<1@x>"), msg(2, "Re: Q", "<2@x>", "<1@x> <gone@x>")};
  EXPECT_EQ(thread_references(deep), "(1 2)");
}

TEST(ImapThread, ReferencesGathersBySubject) {
  std::vector<ThreadMessage> reply{msg(1, "Topic", "<1@x>"), msg(2, "Re: Topic", "<2@x>")};
  EXPECT_EQ(thread_references(reply), "(1 2)");
  std::vector<ThreadMessage> same{msg(1, "Topic", "<1@x>"), msg(2, "Topic", "<2@x>"), msg(3, "Else", "<3@x>")};
  EXPECT_EQ(thread_references(same), "((1)(2))(3)");
}

TEST(ImapThread, ReferencesSurvivesLoopsDuplicatesAndLongChains) {
  std::vector<ThreadMessage> loop{msg(1, "L", "<a@x>", "<b@x>"), msg(2, "M", "<b@x>", "<a@x>"),
                                  msg(3, "N", "<a@x>")};  // duplicate Message-ID
  auto t = thread_references(loop);
  for (const char* n : {"1", "2", "3"}) EXPECT_NE(t.find(n), std::string::npos) << t;
  std::vector<ThreadMessage> chain;
  std::string refs;
  for (std::uint32_t i = 1; i <= 20000; ++i) {
    auto id = "<" + std::to_string(i) + "@x>";
    chain.push_back(msg(i, "Long", id, refs));
    refs += id + " ";
    if (refs.size() > 200) refs = id + " ";  // clients trim References
  }
  auto long_thread = thread_references(chain);
  EXPECT_TRUE(long_thread.starts_with("(1 2 3 4"));
  EXPECT_TRUE(long_thread.ends_with(" 20000)"));
}

}  // namespace mailstead::imap
