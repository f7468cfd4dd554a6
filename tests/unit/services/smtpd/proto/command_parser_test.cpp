// The SMTP command parser, table-driven: each line → the command or the exact reply.
#include "proto/command.hpp"

#include <gtest/gtest.h>

namespace mailstead::smtp {

namespace {
SyntaxError err(std::string_view line) {
  auto r = parse_command(line);
  EXPECT_TRUE(std::holds_alternative<SyntaxError>(r)) << line;
  return std::holds_alternative<SyntaxError>(r) ? std::get<SyntaxError>(r) : SyntaxError{};
}
template <class T>
T cmd(std::string_view line) {
  auto r = parse_command(line);
  EXPECT_TRUE(std::holds_alternative<Command>(r)) << line << ": " << std::get<SyntaxError>(r).text;
  auto& c = std::get<Command>(r);
  EXPECT_TRUE(std::holds_alternative<T>(c)) << line;
  return std::get<T>(c);
}
}  // namespace

TEST(CommandParser, VerbsAreCaseInsensitive) {
  EXPECT_EQ(cmd<Helo>("ehlo client.example").domain, "client.example");
  EXPECT_TRUE(cmd<Helo>("EhLo x").extended);
  EXPECT_FALSE(cmd<Helo>("HELO x").extended);
  EXPECT_EQ(cmd<Helo>("EHLO [192.0.2.1]").domain, "[192.0.2.1]");
  cmd<Data>("data");
  cmd<Rset>("RSET");
  cmd<Quit>("quit");
  cmd<Noop>("NOOP anything");
  cmd<StartTls>("starttls");
  cmd<Help>("HELP MAIL");
  EXPECT_EQ(cmd<Vrfy>("VRFY alice").arg, "alice");
}

TEST(CommandParser, HeloNamesThatCannotChangeTheReceivedField) {
  // Not strict: what clients really send is accepted, for HELO and EHLO alike.
  for (const char* name : {"client.example", "DESKTOP-AB_12", "localhost", "[192.0.2.1]", "[IPv6:2001:db8::1]",
                           "b\xc3\xbc" "cher.example", "host.example."}) {
    EXPECT_EQ(cmd<Helo>(std::string("HELO ") + name).domain, name);
    EXPECT_EQ(cmd<Helo>(std::string("EHLO ") + name).domain, name);
  }
  // Anything that would end up as a comment, an address, a new clause or a control
  // character inside Received is refused, for HELO as for EHLO.
  for (const char* name : {"x)y", "x(y", "a)\r\n\tby", "evil;date", "x<y>", "\"q\"", "a\\b", "a,b", "[1.2.3.4",
                           "[1.2 .3.4]", "[a;b]", "x\ty", "x\x01y", "x\x7fy", "x[y]"}) {
    for (const char* verb : {"HELO ", "EHLO "}) {
      auto r = parse_command(std::string(verb) + name);
      ASSERT_TRUE(std::holds_alternative<SyntaxError>(r)) << verb << name;
      EXPECT_EQ(std::get<SyntaxError>(r).code, name == std::string("a)\r\n\tby") ? 500 : 501) << verb << name;
    }
  }
  EXPECT_EQ(std::get<SyntaxError>(parse_command("HELO " + std::string(256, 'a'))).code, 501);
}

TEST(CommandParser, MailWithParameters) {
  auto m = cmd<Mail>("MAIL FROM:<a@example.test> SIZE=1000 BODY=8BITMIME SMTPUTF8 RET=hdrs ENVID=<x@y> AUTH=<>");
  EXPECT_EQ(m.path, "a@example.test");
  EXPECT_EQ(m.size, 1000u);
  EXPECT_EQ(m.body, Body::eight_bit_mime);
  EXPECT_TRUE(m.smtputf8);
  EXPECT_EQ(m.ret, "HDRS");
  EXPECT_EQ(m.envid, "<x@y>");
  EXPECT_EQ(cmd<Mail>("MAIL FROM:<>").path, "");
  EXPECT_EQ(cmd<Mail>("mail from: <a@b>").path, "a@b") << "a space after the colon is tolerated";
  EXPECT_EQ(cmd<Mail>("MAIL FROM:<\"a>b\"@example.test>").path, "\"a>b\"@example.test");
}

TEST(CommandParser, RcptWithParameters) {
  auto r = cmd<Rcpt>("RCPT TO:<b@example.test> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;b@example.test");
  EXPECT_EQ(r.path, "b@example.test");
  EXPECT_EQ(r.notify, "SUCCESS,FAILURE");
  EXPECT_EQ(cmd<Rcpt>("RCPT TO:<Postmaster>").path, "Postmaster");
}

TEST(CommandParser, Bdat) {
  auto b = cmd<Bdat>("BDAT 1000");
  EXPECT_EQ(b.size, 1000u);
  EXPECT_FALSE(b.last);
  EXPECT_TRUE(cmd<Bdat>("bdat 0 last").last);
}

TEST(CommandParser, Auth) {
  auto a = cmd<Auth>("auth plain AGEAYg==");
  EXPECT_EQ(a.mechanism, "PLAIN");
  EXPECT_EQ(a.initial, "AGEAYg==");
  EXPECT_FALSE(cmd<Auth>("AUTH LOGIN").initial);
}

TEST(CommandParser, Errors) {
  struct Case {
    const char* line;
    int code;
    const char* enhanced;
  };
  for (auto c : std::initializer_list<Case>{
           {"", 500, "5.5.2"},
           {"FROB", 502, "5.5.1"},
           {"EHLO", 501, "5.5.4"},
           {"HELO a b", 501, "5.5.4"},
           {"MAIL", 501, "5.5.4"},
           {"MAIL FROM:a@b", 501, "5.5.4"},
           {"MAIL FROM:<a@b", 501, "5.5.4"},
           {"MAIL FROM:<a@b>SIZE=1", 501, "5.5.4"},
           {"MAIL FROM:<a@b> SIZE=", 501, "5.5.4"},
           {"MAIL FROM:<a@b> SIZE=12x", 501, "5.5.4"},
           {"MAIL FROM:<a@b> SIZE=99999999999999999999999", 501, "5.5.4"},
           {"MAIL FROM:<a@b> BODY=BINARYMIME", 501, "5.5.4"},
           {"MAIL FROM:<a@b> SMTPUTF8=yes", 501, "5.5.4"},
           {"MAIL FROM:<a@b> RET=ALL", 501, "5.5.4"},
           {"MAIL FROM:<a@b> XFOO=1", 555, "5.5.4"},
           {"RCPT TO:<>", 501, "5.1.3"},
           {"RCPT TO:<a@b> NOTIFY=SOMETIMES", 501, "5.5.4"},
           {"RCPT TO:<a@b> ORCPT=nosemicolon", 501, "5.5.4"},
           {"RCPT FROM:<a@b>", 501, "5.5.4"},
           {"DATA now", 501, "5.5.4"},
           {"BDAT", 501, "5.5.4"},
           {"BDAT -1", 501, "5.5.4"},
           {"BDAT 10 FIRST", 501, "5.5.4"},
           {"AUTH", 501, "5.5.4"},
           {"QUIT now", 501, "5.5.4"},
           {"NOOP a\rb", 500, "5.5.2"},
       }) {
    auto e = err(c.line);
    EXPECT_EQ(e.code, c.code) << c.line;
    EXPECT_EQ(e.enhanced, c.enhanced) << c.line;
    EXPECT_FALSE(e.text.empty()) << c.line;
  }
  auto nul = err(std::string_view("NOOP \0x", 7));
  EXPECT_EQ(nul.code, 500);
}

}  // namespace mailstead::smtp
