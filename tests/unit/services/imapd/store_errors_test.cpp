// imapd's answers to store failures carry the RFC 5530 code of their cause.
#include "store_errors.hpp"

#include <gtest/gtest.h>

#include "store/store.hpp"

namespace mailstead::imap {
namespace {

TEST(StoreErrors, AFullStoreIsUnavailableNotAServerBug) {
  auto t = store_failure_text(store::Errc::full, "store the message");
  EXPECT_TRUE(t.starts_with("[UNAVAILABLE] ")) << t;
  EXPECT_NE(t.find("full"), std::string::npos) << t;
  EXPECT_NE(t.find("store the message"), std::string::npos) << t;
}

TEST(StoreErrors, EachCauseHasItsCode) {
  EXPECT_TRUE(store_failure_text(store::Errc::io, "x").starts_with("[UNAVAILABLE] "));
  EXPECT_TRUE(store_failure_text(store::Errc::readers_full, "x").starts_with("[UNAVAILABLE] "));
  EXPECT_TRUE(store_failure_text(store::Errc::shutting_down, "x").starts_with("[UNAVAILABLE] "));
  EXPECT_TRUE(store_failure_text(store::Errc::too_large, "x").starts_with("[LIMIT] "));
  EXPECT_TRUE(store_failure_text(store::Errc::corrupt, "x").starts_with("[SERVERBUG] "));
  EXPECT_TRUE(store_failure_text(store::Errc::aborted, "x").starts_with("[SERVERBUG] "));
}

}  // namespace
}  // namespace mailstead::imap
