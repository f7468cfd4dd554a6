// :regex on RE2 and the bounds of a run: patterns refused at upload with their reason (the
// regex bombs among them), POSIX semantics kept, the compiled-pattern cache bounded by size,
// and a run stopped by its CPU time or its variables' size, keeping the message.
#include "sieve/regex.hpp"

#include <gtest/gtest.h>

#include "sieve/ast.hpp"
#include "sieve/sieve.hpp"

namespace mailstead::sieve {

namespace {

class Nothing : public Environment {
 public:
  bool mailbox_exists(std::string_view) override { return true; }
  std::optional<std::string> script(std::string_view, bool) override { return std::nullopt; }
  bool seen(std::string_view) override { return false; }
  std::int64_t now() override { return 1782900000; }
};

std::string refusal(std::string_view pattern, const Limits& limits = {}) {
  Regex re(pattern, false, limits);
  EXPECT_FALSE(re.ok()) << pattern;
  return re.error();
}

std::vector<std::string> groups(std::string_view pattern, std::string_view subject, bool icase = false) {
  Regex re(pattern, icase, Limits{});
  EXPECT_TRUE(re.ok()) << re.error();
  std::vector<std::string> g;
  if (!re.search(subject, &g)) return {"no match"};
  while (!g.empty() && g.back().empty()) g.pop_back();
  return g;
}

Outcome run_with(std::string_view script, const std::string& message, const Limits& limits) {
  auto p = parse(script, limits);
  EXPECT_TRUE(p.script) << p.error;
  if (!p.script) return {};
  Nothing env;
  return run(*p.script, message, Envelope{"a@remote.example", "b@example.test", ""}, env, {}, limits);
}

bool kept_with_error(const Outcome& o, std::string_view error_part) {
  return o.actions.size() == 1 && o.actions[0].kind == Action::Kind::keep &&
         o.error.find(error_part) != std::string::npos;
}

}  // namespace

TEST(SieveRegex, BombsAndBackReferencesAreRefusedWithAReason) {
  // The two: a 1.7 GB compile and a 27 s match with glibc's regex.
  EXPECT_EQ(refusal("((a{200}){200}){200}"),
            "invalid regular expression \"((a{200}){200}){200}\": repetition {200} too large (at most 1000, nested "
            "counts multiplied)");
  EXPECT_EQ(refusal("(.*)(.*)(.*)(.*)(.*)\\5x"),
            "invalid regular expression \"(.*)(.*)(.*)(.*)(.*)\\5x\": back-references (\\5) are not supported: "
            "matching must take linear time");
  EXPECT_NE(refusal("\\<word\\>").find("\\< is not supported"), std::string::npos);
  EXPECT_NE(refusal("a{,3}").find("write {0,n}"), std::string::npos);
  EXPECT_NE(refusal("[[=e=]]").find("equivalence classes"), std::string::npos);
  EXPECT_NE(refusal("[[.-.]]").find("collating"), std::string::npos);
  EXPECT_NE(refusal("bad\xff").find("not UTF-8"), std::string::npos);
  EXPECT_NE(refusal("*a").find("no argument for repetition"), std::string::npos);
  Limits small;
  small.max_regex_length = 16;
  EXPECT_NE(refusal(std::string(17, 'a'), small).find("longer than 16 bytes"), std::string::npos);
  small.max_regex_memory = 8 * 1024;
  EXPECT_NE(refusal("[a-z]{900}", small).find("compiles to more than 8192 bytes"), std::string::npos);
  // Long patterns are shown cut in the message.
  auto e = refusal(std::string(100, 'x') + "\\1");
  EXPECT_LT(e.size(), 200u);
  EXPECT_NE(e.find("...\": back-references"), std::string::npos);
  // Escapes and classes inside brackets are not mistaken for those.
  for (const char* ok : {"[\\.]", "[<>]", "[[:alpha:]]+", "[]a]", "[^]a]", "\\{,", "x\\\\1", "\\d+\\s\\w\\b"})
    EXPECT_TRUE(Regex(ok, false, Limits{}).ok()) << ok << ": " << Regex(ok, false, Limits{}).error();
}

TEST(SieveRegex, UploadRefusesWhatDeliveryWouldRefuse) {
  auto p = parse("require \"regex\";\nif header :regex \"Subject\" \"((a{200}){200}){200}\" { discard; }");
  EXPECT_EQ(p.error, "line 2: invalid regular expression \"((a{200}){200}){200}\": repetition {200} too large (at most "
                     "1000, nested counts multiplied)");
  // Written with encoded-character, the key is checked as it will run.
  p = parse("require [\"regex\",\"encoded-character\"];\nif header :regex \"Subject\" \"(a)${hex:5c 31}\" { discard; }");
  EXPECT_NE(p.error.find("line 2: invalid regular expression \"(a)\\1\": back-references"), std::string::npos) << p.error;
  // i;ascii-casemap compiles case-insensitively: the memory bound applies to that program.
  Limits l;
  l.max_regex_memory = 64 * 1024;
  p = parse("require \"regex\";\nif header :regex \"Subject\" \"[a-z]{300}\" { discard; }", l);
  EXPECT_TRUE(p.script) << p.error;
}

TEST(SieveRegex, CheckingAScriptStaysCheap) {
  // Thousands of large distinct keys took over a minute to compile at upload: their
  // programs are bounded together; the same key many times compiles once.
  std::string distinct = "require \"regex\";\nif header :regex \"Subject\" [";
  std::string same = distinct;
  for (int i = 0; i < 200; ++i) {
    distinct += std::string(i ? "," : "") + "\"[a-z]{900}" + std::to_string(i) + "\"";
    same += std::string(i ? "," : "") + "\"[a-z]{900}\"";
  }
  auto p = parse(distinct + "] { stop; }");
  EXPECT_NE(p.error.find("line 2: the script's :regex keys compile to more than 1048576 bytes together"), std::string::npos)
      << p.error;
  p = parse(same + "] { stop; }");
  EXPECT_TRUE(p.script) << p.error;
}

TEST(SieveRegex, PosixSemantics) {
  // ^ and $ are the ends of the subject, "." matches a newline (regexec without REG_NEWLINE).
  EXPECT_EQ(groups("^b$", "a\nb\nc"), std::vector<std::string>{"no match"});
  EXPECT_EQ(groups("a.b", "a\nb"), std::vector<std::string>{"a\nb"});
  // leftmost-longest
  EXPECT_EQ(groups("a|ab", "xab"), std::vector<std::string>{"ab"});
  EXPECT_EQ(groups("(a*)(b)?", "aaa"), (std::vector<std::string>{"aaa", "aaa"}));
  EXPECT_EQ(groups("x(y)?(z)", "xz"), (std::vector<std::string>{"xz", "", "z"}));
  // case, classes, UTF-8 characters
  EXPECT_EQ(groups("QUARTERLY", "quarterly report", true), std::vector<std::string>{"quarterly"});
  EXPECT_EQ(groups("QUARTERLY", "quarterly report"), std::vector<std::string>{"no match"});
  EXPECT_EQ(groups("^[[:digit:]]+\\.[0-9]$", "7.5"), std::vector<std::string>{"7.5"});
  EXPECT_EQ(groups("r(.)p", "r\xc3\xa9port"), (std::vector<std::string>{"r\xc3\xa9p", "\xc3\xa9"}));
  EXPECT_EQ(groups("\\d+", "abc 123"), std::vector<std::string>{"123"});
  // A NUL in the subject is a byte like another.
  EXPECT_EQ(groups("b.c", std::string("ab\0cd", 5)), std::vector<std::string>{std::string("b\0c", 3)});
  // At most ${0}..${9}
  Regex many("(a)(b)(c)(d)(e)(f)(g)(h)(i)(j)(k)", false, Limits{});
  std::vector<std::string> g;
  ASSERT_TRUE(many.search("abcdefghijk", &g));
  EXPECT_EQ(g.size(), 10u);
  EXPECT_EQ(g[9], "i");
}

TEST(SieveRegex, CacheIsBoundedBySize) {
  clear_regex_cache();
  Limits l;
  l.max_regex_memory = 64 * 1024;
  Regex probe("p0", false, l);
  l.regex_cache_size = 3 * probe.cost() + 100;
  std::vector<std::shared_ptr<const Regex>> held;
  for (int i = 0; i < 50; ++i) {
    auto re = cached_regex("p" + std::to_string(i), false, l);
    ASSERT_TRUE(re->ok());
    auto stats = regex_cache_stats();
    EXPECT_LE(stats.bytes, l.regex_cache_size);
    EXPECT_LE(stats.entries, 3u);
  }
  // Recently used ones stay; the same pattern is one entry, shared.
  auto a = cached_regex("p49", false, l);
  EXPECT_EQ(a, cached_regex("p49", false, l));
  EXPECT_NE(a, cached_regex("p49", true, l));
  // A refused pattern is not kept.
  auto bad = cached_regex("(a)\\1", false, l);
  EXPECT_FALSE(bad->ok());
  EXPECT_LE(regex_cache_stats().entries, 3u);
  clear_regex_cache();
  EXPECT_EQ(regex_cache_stats().entries, 0u);
}

TEST(SieveRun, RegexBuiltAtRunTimeIsBoundedToo) {
  std::string message = "Subject: " + std::string(300, 'a') + "\r\n\r\nbody\r\n";
  auto o = run_with(
      "require [\"regex\",\"variables\",\"fileinto\"];\n"
      "set \"p\" \"((a{200}){200}){200}\";\n"
      "if header :regex \"Subject\" \"${p}\" { fileinto \"x\"; }",
      message, Limits{});
  EXPECT_TRUE(kept_with_error(o, "line 3: invalid regular expression \"((a{200}){200}){200}\": repetition")) << o.error;
  o = run_with(
      "require [\"regex\",\"variables\",\"fileinto\"];\n"
      "set \"p\" \"(.*)(.*)(.*)(.*)(.*)\\\\5x\";\n"
      "if header :regex \"Subject\" \"${p}\" { fileinto \"x\"; }",
      message, Limits{});
  EXPECT_TRUE(kept_with_error(o, "back-references (\\5)")) << o.error;
}

TEST(SieveRun, CpuTimeStopsARunThatStepsCannot) {
  // One test, 200 × 200 comparisons of a 64 KiB subject: max_steps counts it once.
  std::string names, keys;
  for (int i = 0; i < 200; ++i) {
    names += std::string(i ? "," : "") + "\"Subject\"";
    keys += std::string(i ? "," : "") + "\"a[^b]*b" + std::to_string(i) + "\"";
  }
  std::string subject;
  while (subject.size() < 64 * 1024) subject += std::string(900, 'a') + "\r\n ";
  std::string message = "Subject: " + subject + "x\r\n\r\nbody\r\n";
  Limits l;
  l.max_cpu_time = std::chrono::milliseconds(50);
  auto o = run_with("require [\"regex\",\"fileinto\"];\nif header :regex [" + names + "] [" + keys + "] { fileinto \"x\"; }",
                    message, l);
  EXPECT_TRUE(kept_with_error(o, "line 2: stopped after 50 ms of CPU time (max_cpu_time)")) << o.error;
  // :matches and :contains are checked the same way.
  std::string globs;
  for (int i = 0; i < 200; ++i) globs += std::string(i ? "," : "") + "\"*a*a*a*a*a*b" + std::to_string(i) + "\"";
  o = run_with("require \"fileinto\";\nif header :matches [" + names + "] [" + globs + "] { fileinto \"x\"; }", message, l);
  EXPECT_TRUE(kept_with_error(o, "CPU time")) << o.error;
}

TEST(SieveRun, VariablesAreBounded) {
  // Doubling a variable 40 times would need a terabyte.
  std::string script = "require [\"variables\",\"fileinto\"];\nset \"a\" \"0123456789\";\n";
  for (int i = 0; i < 40; ++i) script += "set \"a\" \"${a}${a}\";\n";
  script += "set :length \"n\" \"${a}\";\nfileinto \"n${n}\";\n";
  Limits l;
  l.max_variable_size = 1000;
  auto o = run_with(script, "Subject: x\r\n\r\n", l);
  ASSERT_EQ(o.actions.size(), 1u) << o.error;
  EXPECT_EQ(o.actions[0].mailbox, "n1000");
  // Cut on a character boundary.
  o = run_with("require [\"variables\",\"fileinto\"];\nset \"a\" \"\xc3\xa9\xc3\xa9\xc3\xa9\";\nset :length \"n\" \"${a}\";\n"
               "fileinto \"${n}\";",
               "Subject: x\r\n\r\n", [] {
                 Limits x;
                 x.max_variable_size = 5;
                 return x;
               }());
  ASSERT_EQ(o.actions.size(), 1u) << o.error;
  EXPECT_EQ(o.actions[0].mailbox, "2");
}

TEST(SieveRun, ContainsStillMatches) {
  std::string message = "Subject: Quarterly Report\r\n\r\n";
  auto o = run_with("require \"fileinto\";\nif header :contains \"Subject\" \"ARTERLY R\" { fileinto \"a\"; }\n"
                    "if header :contains :comparator \"i;octet\" \"Subject\" \"ARTERLY\" { fileinto \"b\"; }\n"
                    "if header :contains :comparator \"i;octet\" \"Subject\" \"rterly\" { fileinto \"c\"; }\n"
                    "if header :contains \"Subject\" \"\" { fileinto \"d\"; }\n"
                    "if header :contains \"Subject\" \"Quarterly Report and more\" { fileinto \"e\"; }",
                    message, Limits{});
  std::string got;
  for (const auto& a : o.actions) got += a.mailbox;
  EXPECT_EQ(got, "acd");
}

}  // namespace mailstead::sieve
