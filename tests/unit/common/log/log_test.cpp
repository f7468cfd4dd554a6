#include "log/log.hpp"

#include <gtest/gtest.h>

namespace mailstead::log {

TEST(Log, OneKeyValueLinePerEvent) {
  EXPECT_EQ(format_event("smtp.rcpt.rejected", {{"session", "3fa2"}, {"code", 550}}),
            "event=smtp.rcpt.rejected session=3fa2 code=550");
}

TEST(Log, ValuesThatNeedItAreQuotedAndEscaped) {
  EXPECT_EQ(format_event("e", {{"text", "No such user"}}), "event=e text=\"No such user\"");
  EXPECT_EQ(format_event("e", {{"v", "a\"b\r\n"}}), "event=e v=\"a\\\"b\\r\\n\"");
  EXPECT_EQ(format_event("e", {{"v", ""}}), "event=e v=\"\"");
  EXPECT_EQ(format_event("e", {{"v", std::string("\x01", 1)}}), "event=e v=\"\\x01\"");
}

}  // namespace mailstead::log
