// The app-password text form: what new_app_password makes is what app_password_id accepts.
#include "auth/app_passwords.hpp"

#include <gtest/gtest.h>

namespace mailstead::auth {
namespace {

TEST(AppPasswords, NewTextsHaveTheFormAndAnId) {
  for (int i = 0; i < 100; ++i) {
    auto t = new_app_password();
    ASSERT_EQ(t.size(), 24u);
    EXPECT_EQ(app_password_id(t), t.substr(0, 4)) << t;
  }
  EXPECT_NE(new_app_password(), new_app_password());
}

TEST(AppPasswords, OtherTextsHaveNoId) {
  for (const char* t : {"", "abcd-efgh-jkmn-pqrs-tuv", "abcd-efgh-jkmn-pqrs-tuvwx", "abcd efgh jkmn pqrs tuvw",
                        "ABCD-EFGH-JKMN-PQRS-TUVW", "abc0-efgh-jkmn-pqrs-tuvw", "abcd-efgh-jkmn-pqrs-tuvl",
                        "a long account password!"})
    EXPECT_EQ(app_password_id(t), "") << t;
}

}  // namespace
}  // namespace mailstead::auth
