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
  // the text is the i;unicode-casemap form (RFC 5256 3): compare with the same mapping
  auto s = base_subject("Re: [list] Fwd: Hello   World (fwd)");
  EXPECT_EQ(s.text, unicode_casemap("hello world"));
  EXPECT_TRUE(s.reply);
  auto l = base_subject("[list] Plans");
  EXPECT_EQ(l.text, unicode_casemap("plans"));
  EXPECT_FALSE(l.reply);
  EXPECT_EQ(base_subject("=?UTF-8?B?UmU6IMO8YmVy?=").text, unicode_casemap("über"));
  EXPECT_EQ(base_subject("[fwd: Budget]").text, unicode_casemap("budget"));
  EXPECT_EQ(base_subject("RE[2]: x").text, unicode_casemap("x"));
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

TEST(ImapThread, BaseSubjectFollowsRfc5256Steps) {
  auto same = [](std::string_view a, std::string_view b) { return base_subject(a).text == base_subject(b).text; };
  // nested [fwd: …] with leaders and trailers inside and out (steps 2-6, repeated)
  EXPECT_TRUE(same("[Fwd: [fwd: Re: Budget (fwd)]]", "budget"));
  EXPECT_TRUE(same("Re: [fwd: [list] Re: Budget]", "Budget"));
  EXPECT_TRUE(base_subject("[fwd: [fwd: x]]").reply);
  // blobs before "re:" go with it; a lone blob goes only when something follows it
  EXPECT_TRUE(same("[a][b] Re [c]: x", "x"));
  EXPECT_TRUE(same("Re: [c]: x", ": x")) << "the blob after Re: is a lone blob, then \": x\" stays";
  EXPECT_TRUE(same("[only]", "[only]"));
  EXPECT_FALSE(base_subject("[list] x").reply);
  // a blob may not hold brackets: "[a[b] x" has no leading blob
  EXPECT_FALSE(same("[a[b] x", "x"));
  EXPECT_TRUE(same("fwd:fw:re: x", "x"));
  EXPECT_TRUE(same("Re : x", "Re : x")) << "no space before the colon";
  // i;unicode-casemap: case and compatibility forms fold beyond ASCII (RFC 5051)
  EXPECT_TRUE(same("ÜBER", "über"));
  EXPECT_TRUE(same("Ǆemal", "ǆemal"));           // titlecase folds DŽ and dž together
  EXPECT_TRUE(same("ａｂｃ ①", "ABC 1"));            // NFKD: fullwidth and circled forms
  EXPECT_TRUE(same("Café", "CAFE\u0301"));         // composed and decomposed é
  EXPECT_FALSE(same("Straße", "Strasse"));         // titlecase, not full case folding
  EXPECT_EQ(base_subject("\xff\xfe broken").text, unicode_casemap("\xef\xbf\xbd\xef\xbf\xbd broken"));
}

TEST(ImapThread, ReferencesWithoutReferencesLeaveTheirParent) {
  // RFC 5256 1.C: a message's parent is its last reference, or none; a parent that
  // another message's References gave it is dropped.
  std::vector<ThreadMessage> m{
      msg(1, "One", "<x@x>"),
      msg(2, "Two", "<c@x>", "<x@x> <b@x>"),
      msg(3, "Three", "<b@x>"),
  };
  EXPECT_EQ(thread_references(m), "(1)(3 2)");
}

}  // namespace mailstead::imap
