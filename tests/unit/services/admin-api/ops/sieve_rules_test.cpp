// Vacation and forwarding rules in Roundcube's managesieve form: written exactly as the
// plugin writes them, read back from its output, edited in place beside other rules.
#include "ops/sieve_rules.hpp"

#include <gtest/gtest.h>

namespace mailstead::admin::rules {
namespace {

TEST(SieveRules, VacationOnAnEmptyScriptIsRoundcubesRule) {
  Vacation v;
  v.enabled = true;
  v.subject = "Out \"now\"";
  v.reason = "Away.\r\n.hidden line\r\nBye";
  v.days = 3;
  auto s = set_vacation("", v);
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_EQ(*s,
            "require [\"vacation\"];\n# rule:[vacation]\nif true\n{\n\tvacation :days 3 :subject \"Out \\\"now\\\"\" "
            "text:\nAway.\n..hidden line\nBye\n.\n;\n}\n");
  auto back = find_vacation(*s);
  ASSERT_TRUE(back && *back);
  EXPECT_TRUE((*back)->enabled);
  EXPECT_EQ((*back)->subject, "Out \"now\"");
  EXPECT_EQ((*back)->reason, "Away.\n.hidden line\nBye");
  EXPECT_EQ((*back)->days, 3u);
}

TEST(SieveRules, ReadsWhatRoundcubeWrote) {
  const char* rc =
      "require [\"date\",\"relational\",\"vacation\"];\n"
      "# rule:[Out of Office]\n"
      "if false # allof (currentdate :zone \"+0100\" :value \"ge\" \"date\" \"2026-07-01\", currentdate :zone \"+0100\" "
      ":value \"le\" \"date\" \"2026-07-15\")\n"
      "{\n\tvacation :days 7 :addresses [\"a@example.test\",\"b@example.test\"] :subject \"Away\" :from "
      "\"a@example.test\" \"I am away.\";\n}\n";
  auto v = find_vacation(rc);
  ASSERT_TRUE(v && *v);
  EXPECT_FALSE((*v)->enabled);
  EXPECT_EQ((*v)->start, "2026-07-01");
  EXPECT_EQ((*v)->end, "2026-07-15");
  EXPECT_EQ((*v)->zone, "+0100");
  EXPECT_EQ((*v)->addresses, (std::vector<std::string>{"a@example.test", "b@example.test"}));
  EXPECT_EQ((*v)->from, "a@example.test");
  EXPECT_EQ((*v)->reason, "I am away.");
  // Switched on again: the same rule, its name kept out (ours is written), in place.
  auto on = **v;
  on.enabled = true;
  auto s = set_vacation(rc, on);
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_EQ(s->find("if false"), std::string::npos);
  EXPECT_NE(s->find("if allof (currentdate :zone \"+0100\" :value \"ge\" \"date\" \"2026-07-01\", "), std::string::npos);
  EXPECT_EQ(s->find("vacation :days 7"), s->rfind("vacation :days 7"));
}

TEST(SieveRules, OtherRulesStayAndRequireIsMerged) {
  const char* script =
      "# a header comment\n"
      "require [\"fileinto\"];\n"
      "# rule:[lists]\n"
      "if header :contains \"list-id\" \"x\"\n{\n\tfileinto \"Lists\";\n}\n";
  Forward f{true, "me@elsewhere.test", true};
  auto s = set_forward(script, f);
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_EQ(*s,
            "# a header comment\nrequire [\"copy\",\"fileinto\"];\n# rule:[forward]\nif true\n{\n\tredirect :copy "
            "\"me@elsewhere.test\";\n}\n# rule:[lists]\nif header :contains \"list-id\" \"x\"\n{\n\tfileinto "
            "\"Lists\";\n}\n");
  auto back = find_forward(*s);
  ASSERT_TRUE(back && *back);
  EXPECT_EQ((*back)->target, "me@elsewhere.test");
  f.enabled = false;
  f.keep_copy = false;
  auto off = set_forward(*s, f);
  ASSERT_TRUE(off);
  EXPECT_NE(off->find("# rule:[forward]\nif false # true\n{\n\tredirect \"me@elsewhere.test\";\n}\n"), std::string::npos);
  EXPECT_NE(off->find("fileinto \"Lists\""), std::string::npos);
  auto again = find_forward(*off);
  ASSERT_TRUE(again && *again);
  EXPECT_FALSE((*again)->enabled);
  EXPECT_FALSE((*again)->keep_copy);
}

TEST(SieveRules, RefusesWhatItCannotEditSafely) {
  Vacation v;
  v.enabled = true;
  v.reason = "x";
  auto one_line = set_vacation("require \"fileinto\"; keep;\n", v);
  ASSERT_FALSE(one_line);
  EXPECT_EQ(one_line.error().kind, ErrorKind::conflict);
  auto broken = set_vacation("if true {\n", v);
  ASSERT_FALSE(broken);
  EXPECT_EQ(broken.error().kind, ErrorKind::conflict);
}

TEST(SieveRules, ValidationNamesTheField) {
  Vacation v;
  v.enabled = true;
  EXPECT_EQ(set_vacation("", v).error().field, "reason");
  v.reason = "x";
  v.start = "2026-02-30x";
  EXPECT_EQ(set_vacation("", v).error().field, "start");
  v.start = "2026-07-10";
  v.end = "2026-07-01";
  EXPECT_EQ(set_vacation("", v).error().field, "end");
  v.end.clear();
  v.zone = "CET";
  EXPECT_EQ(set_vacation("", v).error().field, "zone");
  v.zone = "+0000";
  v.addresses = {"not an address"};
  EXPECT_EQ(set_vacation("", v).error().field, "addresses");
  EXPECT_EQ(set_forward("", Forward{true, "nope", true}).error().field, "target");
}

}  // namespace
}  // namespace mailstead::admin::rules
