// SEARCH programs: the limits that keep parsing and matching inside the stack (issue 10.1),
// and how keys match one message.
#include "proto/search.hpp"

#include <gtest/gtest.h>

#include "mime/text.hpp"

namespace mailstead::imap {

namespace {
std::variant<SearchKey, std::string> keys(std::string_view text, SearchLimits limits = {}) {
  auto r = parse_command("a SEARCH " + std::string(text) + "\r\n");
  EXPECT_TRUE(std::holds_alternative<Command>(r)) << text.substr(0, 80);
  if (!std::holds_alternative<Command>(r)) return std::string("unparsed");
  return parse_search(std::get<Command>(r).args, 0, limits);
}
std::string repeat(std::string_view s, int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out += s;
  return out;
}
}  // namespace

TEST(ImapSearchLimits, DeepNotChainIsRefusedNamingTheLimit) {
  auto r = keys(repeat("NOT ", 16000) + "ALL");
  ASSERT_TRUE(std::holds_alternative<std::string>(r));
  EXPECT_NE(std::get<std::string>(r).find("nested too deeply"), std::string::npos);
  EXPECT_NE(std::get<std::string>(r).find("100"), std::string::npos);
  EXPECT_TRUE(std::holds_alternative<SearchKey>(keys(repeat("NOT ", 100) + "ALL")));
  EXPECT_TRUE(std::holds_alternative<std::string>(keys(repeat("NOT ", 101) + "ALL")));
}

TEST(ImapSearchLimits, OrChainsAndListsCountAsLevels) {
  // a right-nested OR chain, as clients build "any of" searches
  EXPECT_TRUE(std::holds_alternative<SearchKey>(keys(repeat("OR SEEN ", 100) + "ALL")));
  EXPECT_TRUE(std::holds_alternative<std::string>(keys(repeat("OR SEEN ", 101) + "ALL")));
  // left-nested: OR OR OR a b c d
  EXPECT_TRUE(std::holds_alternative<std::string>(keys(repeat("OR ", 101) + repeat("SEEN ", 101) + "ALL")));
  // 8-bit strings come as literals; a chain of them nests the same way
  EXPECT_TRUE(std::holds_alternative<std::string>(keys(repeat("OR SUBJECT {1}\r\na ", 200) + "ALL")));
  SearchLimits shallow{4, 10000};  // NOT, (, NOT, ( are four levels
  EXPECT_TRUE(std::holds_alternative<SearchKey>(keys("NOT (NOT (SEEN))", shallow)));
  EXPECT_TRUE(std::holds_alternative<std::string>(keys("NOT (NOT (NOT SEEN))", shallow)));
}

TEST(ImapSearchLimits, KeysPerCommand) {
  std::string many;
  for (int i = 0; i < 10001; ++i) many += (i ? " " : "") + std::string("SEEN");
  auto r = keys(many);
  ASSERT_TRUE(std::holds_alternative<std::string>(r));
  EXPECT_NE(std::get<std::string>(r).find("10000"), std::string::npos);
  EXPECT_TRUE(std::holds_alternative<SearchKey>(keys("SEEN SEEN SEEN", {100, 3})));
  EXPECT_TRUE(std::holds_alternative<std::string>(keys("SEEN NOT SEEN", {100, 2})));
}

TEST(ImapSearchLimits, TheDeepestProgramMatchesWithoutTrouble) {
  SearchLimits deep{1000, 100000};
  auto r = keys(repeat("NOT ", 1000) + "ALL", deep);
  ASSERT_TRUE(std::holds_alternative<SearchKey>(r));
  SearchMessage m;
  m.seq = m.uid = m.max_seq = m.max_uid = 1;
  EXPECT_TRUE(matches(std::get<SearchKey>(r), m));  // an even number of NOTs
  EXPECT_EQ(needs(std::get<SearchKey>(r)), SearchNeeds::view);
}

TEST(ImapSearchDates, SentKeysUseTheDateAsWritten) {
  // RFC 3501 6.4.4: "disregarding time and timezone"
  auto on = [](std::string_view date_header, std::string_view key) {
    std::string blob = "Date: " + std::string(date_header) + "\r\nSubject: x\r\n\r\nbody\r\n";
    SearchMessage m;
    m.seq = m.uid = m.max_seq = m.max_uid = 1;
    m.blob = blob;
    auto k = keys(key);
    EXPECT_TRUE(std::holds_alternative<SearchKey>(k)) << key;
    return matches(std::get<SearchKey>(k), m);
  };
  const char* late = "Mon, 1 Jan 2024 23:30:00 -0500";  // 2 Jan in UTC
  EXPECT_TRUE(on(late, "SENTON 1-Jan-2024"));
  EXPECT_FALSE(on(late, "SENTON 2-Jan-2024"));
  EXPECT_TRUE(on(late, "SENTBEFORE 2-Jan-2024"));
  EXPECT_FALSE(on(late, "SENTSINCE 2-Jan-2024"));
  EXPECT_TRUE(on(late, "SENTSINCE 1-Jan-2024"));
  const char* early = "Tue, 2 Jan 2024 00:30:00 +1400";  // 1 Jan in UTC
  EXPECT_TRUE(on(early, "SENTON 2-Jan-2024"));
  EXPECT_FALSE(on(early, "SENTBEFORE 2-Jan-2024"));
  EXPECT_TRUE(on("2 Jan 2024 12:00 EST", "SENTON 2-Jan-2024"));
}

TEST(ImapSearchDates, InternalDateKeysUseItsUtcDate) {
  // INTERNALDATE is kept and reported in UTC ("+0000"), so its own date is the UTC date.
  std::int64_t jan1 = 0;
  ASSERT_TRUE(parse_search_date("1-Jan-2024", jan1));
  SearchMessage m;
  m.seq = m.uid = m.max_seq = m.max_uid = 1;
  m.internaldate = jan1 * 86400 + 23 * 3600 + 59 * 60;
  EXPECT_TRUE(matches(std::get<SearchKey>(keys("ON 1-Jan-2024")), m));
  EXPECT_TRUE(matches(std::get<SearchKey>(keys("BEFORE 2-Jan-2024")), m));
  EXPECT_FALSE(matches(std::get<SearchKey>(keys("SINCE 2-Jan-2024")), m));
  m.internaldate = -1;  // 31-Dec-1969 23:59:59
  EXPECT_TRUE(matches(std::get<SearchKey>(keys("ON 31-Dec-1969")), m));
}

}  // namespace mailstead::imap
