// The Sieve engine: parse errors with their lines, scripts from the RFCs and in the form
// Roundcube's managesieve plugin writes them, and what each action and test does.
#include "sieve/sieve.hpp"

#include <gtest/gtest.h>

#include <map>
#include <set>

#include "sieve/ast.hpp"
#include "sieve/storage.hpp"

namespace mailstead::sieve {

namespace {

// A unit-test stand-in for the store: mailboxes, other scripts, duplicate IDs, the clock.
class World : public Environment {
 public:
  std::set<std::string> mailboxes{"INBOX", "Junk", "Work"};
  std::map<std::string, std::string> scripts;
  std::set<std::string> seen_ids;
  std::int64_t clock = 1782900000;  // 2026-07-01T10:00:00Z
  bool mailbox_exists(std::string_view n) override { return mailboxes.count(std::string(n)) != 0; }
  std::optional<std::string> script(std::string_view n, bool global) override {
    auto it = scripts.find((global ? "global/" : "") + std::string(n));
    if (it == scripts.end()) return std::nullopt;
    return it->second;
  }
  bool seen(std::string_view id) override { return seen_ids.count(std::string(id)) != 0; }
  std::int64_t now() override { return clock; }
};

const char* kMessage =
    "Return-Path: <bob@remote.example>\r\n"
    "From: Bob Smith <bob@remote.example>\r\n"
    "To: Alice <alice+work@example.test>, carol@example.test\r\n"
    "Subject: =?UTF-8?Q?Quarterly_r=C3=A9port?= [urgent]\r\n"
    "Date: Tue, 30 Jun 2026 23:30:00 -0200\r\n"
    "Message-ID: <q1@remote.example>\r\n"
    "X-Spam-Score: 7.5\r\n"
    "Received: from a\r\n"
    "Received: from b\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n"
    "Content-Transfer-Encoding: quoted-printable\r\n"
    "\r\n"
    "Numbers are up =E2=80=94 see the attached figures.\r\n";

Envelope env() { return Envelope{"bob@remote.example", "alice+work@example.test", ""}; }

std::string error_of(std::string_view script) {
  auto p = parse(script);
  EXPECT_FALSE(p.script) << script;
  return p.error;
}

Outcome run_text(std::string_view script, World& w, const char* message = kMessage, Envelope e = env()) {
  auto p = parse(script);
  EXPECT_TRUE(p.script) << p.error;
  if (!p.script) return {};
  RunOptions o;
  o.user_addresses = {"alice@example.test"};
  return run(*p.script, message, e, w, o);
}

std::string summary(const Outcome& o) {
  std::string s;
  for (const auto& a : o.actions) {
    if (!s.empty()) s += "; ";
    switch (a.kind) {
      case Action::Kind::keep: s += "keep"; break;
      case Action::Kind::fileinto: s += "fileinto " + a.mailbox + (a.create ? " create" : ""); break;
      case Action::Kind::redirect: s += "redirect " + a.address; break;
      case Action::Kind::reject: s += "reject " + a.text; break;
      case Action::Kind::ereject: s += "ereject " + a.text; break;
      case Action::Kind::vacation: s += "vacation " + a.vacation.recipient; break;
      case Action::Kind::notify: s += "notify " + a.notify.method; break;
    }
    for (const auto& f : a.flags) s += " " + f;
  }
  return s.empty() ? "discard" : s;
}

}  // namespace

TEST(SieveParse, ErrorsNameTheLine) {
  EXPECT_EQ(error_of("keep"), "line 1: expected ';' or a block after keep");
  EXPECT_EQ(error_of("keep;\n\nfrobnicate;"), "line 3: unknown command \"frobnicate\"");
  EXPECT_EQ(error_of("fileinto \"x\";"), "line 1: fileinto needs require \"fileinto\"");
  EXPECT_EQ(error_of("require \"fileinto\";\nif header :contains \"Subject\" \"x\n{ keep; }"), "line 2: unterminated string");
  EXPECT_EQ(error_of("require \"regex\";\nif header :regex \"Subject\" \"([a\" { keep; }"),
            "line 2: invalid regular expression \"([a\": missing ]: [a");
  EXPECT_EQ(error_of("keep;\nelsif true { keep; }"), "line 2: elsif must follow if or elsif");
  EXPECT_EQ(error_of("keep;\nrequire \"fileinto\";"), "line 2: require must come before any other command");
  EXPECT_EQ(error_of("require \"x-frobnicate\";"), "line 1: unsupported extension \"x-frobnicate\"");
  EXPECT_EQ(error_of("if size 100 { keep; }"), "line 1: size needs :over or :under");
  EXPECT_EQ(error_of("if header :is :contains \"a\" \"b\" { keep; }"), "line 1: :contains conflicts with an earlier argument");
  EXPECT_EQ(error_of("/* open\ncomment"), "line 1: unterminated comment");
  EXPECT_EQ(error_of("if true {\nkeep;\n"), "line 3: expected '}' to close the block");
  EXPECT_EQ(error_of("if header :comparator \"i;ascii-numeric\" \"X\" \"1\" { keep; }"),
            "line 1: comparator \"i;ascii-numeric\" needs require \"comparator-i;ascii-numeric\"");
  EXPECT_EQ(error_of("require \"vacation\";\nvacation :days \"7\" \"away\";"), "line 2: :days needs a number");
  EXPECT_EQ(error_of("redirect \"nobody\";"), "line 1: redirect needs an address with a domain");
}

TEST(SieveParse, AcceptsEmptyScriptsCommentsAndTextBlocks) {
  EXPECT_TRUE(parse("/* empty script */").script);
  EXPECT_TRUE(parse("").script);
  auto p = parse("require \"vacation\";\nvacation text:\nI am away.\n..and dots\n.\n;\n# done\n");
  ASSERT_TRUE(p.script) << p.error;
  auto call = call_of(p.script->commands[1]);
  EXPECT_EQ(call.positional[0]->strings[0], "I am away.\r\n.and dots\r\n");
  auto w = parse("require \"vacation\";\nvacation :days 0 \"x\";");
  ASSERT_TRUE(w.script);
  ASSERT_EQ(w.warnings.size(), 1u);
  EXPECT_EQ(w.warnings[0], "line 2: :days 0 is taken as 1 day");
}

TEST(SieveParse, RejectsOversizedScripts) {
  Limits l;
  l.max_script_size = 10;
  EXPECT_EQ(parse("keep; keep; keep;", l).error, "line 1: script larger than 10 bytes");
  std::string deep;
  for (int i = 0; i < 100; ++i) deep += "if true {";
  EXPECT_NE(parse(deep).error.find("nested too deeply"), std::string::npos);
}

TEST(SieveRun, ImplicitKeepFileintoDiscard) {
  World w;
  EXPECT_EQ(summary(run_text("", w)), "keep");
  EXPECT_EQ(summary(run_text("require \"fileinto\"; fileinto \"Work\";", w)), "fileinto Work");
  EXPECT_EQ(summary(run_text("require [\"fileinto\", \"copy\"]; fileinto :copy \"Work\";", w)), "keep; fileinto Work");
  EXPECT_EQ(summary(run_text("discard;", w)), "discard");
  EXPECT_EQ(summary(run_text("discard; keep;", w)), "keep");
  EXPECT_EQ(summary(run_text("require [\"fileinto\",\"mailbox\"]; fileinto :create \"Projects/Über\";", w)),
            "fileinto Projects/Über create");
  EXPECT_EQ(summary(run_text("require \"fileinto\"; if true { stop; } fileinto \"Work\";", w)), "keep");
}

// RFC 5228 section 9, adapted to the test message.
TEST(SieveRun, Rfc5228Example) {
  const char* script = R"(
     require "fileinto";
     if header :is "Sender" "owner-ietf-mta-filters@imc.org"
             {
                     fileinto "filter";  # move to "filter" mailbox
             }
     elsif address :DOMAIN :is ["From", "To"] "example.com"
             {
                     keep;               # keep in "In" mailbox
             }
     elsif anyof (NOT address :all :contains
                    ["To", "Cc", "Bcc"] "me@example.com",
                  header :matches "subject"
                    ["*make*money*fast*", "*university*dipl*mas*"])
             {
                     fileinto "spam";   # move to "spam" mailbox
             }
     else
             {
                     fileinto "personal";
             }
)";
  World w;
  EXPECT_EQ(summary(run_text(script, w)), "fileinto spam");
}

TEST(SieveRun, RoundcubeStyleScript) {
  const char* script =
      "require [\"fileinto\",\"vacation\",\"date\",\"relational\",\"imap4flags\",\"copy\",\"regex\"];\n"
      "# rule:[disabled]\n"
      "if false # header :contains \"Subject\" \"Quarterly\"\n"
      "{\n\tdiscard;\n}\n"
      "# rule:[boss]\n"
      "if anyof (header :contains \"subject\" \"[urgent]\", header :regex \"X-Spam-Score\" \"^[89]\")\n"
      "{\n\tfileinto :copy \"Work\";\n\tsetflag \"\\\\Flagged\";\n}\n"
      "# rule:[away]\n"
      "if allof (currentdate :zone \"+0100\" :value \"ge\" \"date\" \"2026-07-01\", "
      "currentdate :zone \"+0100\" :value \"le\" \"date\" \"2026-07-14\")\n"
      "{\n\tvacation :days 7 :subject \"Away\" :addresses [\"alice@example.test\"] \"I am away until the 14th.\";\n}\n";
  World w;
  auto o = run_text(script, w);
  EXPECT_EQ(summary(o), "keep \\Flagged; fileinto Work; vacation bob@remote.example") << o.error;
  EXPECT_EQ(o.actions[2].vacation.subject, "Away");
  EXPECT_EQ(o.actions[2].vacation.period, 7 * 86400);
  w.clock += 20 * 86400;  // after the range: no vacation
  EXPECT_EQ(summary(run_text(script, w)), "keep \\Flagged; fileinto Work");
}

TEST(SieveRun, HeaderAddressEnvelopeAndSubaddress) {
  World w;
  auto t = [&](const std::string& test) {
    auto o = run_text("require [\"envelope\",\"subaddress\",\"fileinto\",\"comparator-i;ascii-numeric\",\"relational\"];\n"
                      "if " + test + " { fileinto \"Work\"; }", w);
    EXPECT_TRUE(o.error.empty()) << o.error;
    return summary(o) == "fileinto Work";
  };
  EXPECT_TRUE(t("header :contains \"Subject\" \"réport\""));  // RFC 2047 decoded
  EXPECT_TRUE(t("header :is \"subject\" \"QUARTERLY RéPORT [URGENT]\""));
  EXPECT_FALSE(t("header :is :comparator \"i;octet\" \"subject\" \"QUARTERLY RéPORT [URGENT]\""));
  EXPECT_TRUE(t("address :domain :is \"from\" \"REMOTE.example\""));
  EXPECT_TRUE(t("address :localpart :is \"to\" \"carol\""));
  EXPECT_TRUE(t("address :user :is \"to\" \"alice\""));
  EXPECT_TRUE(t("address :detail :is \"to\" \"work\""));
  EXPECT_FALSE(t("address :detail :is \"to\" \"\" "));  // carol has no detail; alice's is "work"
  EXPECT_TRUE(t("envelope :detail \"to\" \"work\""));
  EXPECT_TRUE(t("envelope :all :is \"from\" \"bob@remote.example\""));
  EXPECT_TRUE(t("exists [\"From\", \"Date\"]"));
  EXPECT_FALSE(t("exists [\"From\", \"X-None\"]"));
  EXPECT_TRUE(t("size :over 100"));
  EXPECT_FALSE(t("size :over 1M"));
  EXPECT_TRUE(t("header :value \"gt\" :comparator \"i;ascii-numeric\" \"X-Spam-Score\" \"6\""));
  EXPECT_TRUE(t("header :count \"eq\" :comparator \"i;ascii-numeric\" \"Received\" \"2\""));
  EXPECT_TRUE(t("address :count \"ge\" :comparator \"i;ascii-numeric\" \"to\" \"2\""));
  EXPECT_TRUE(t("header :matches \"Subject\" \"*[urgent]\""));
  EXPECT_TRUE(t("not header :matches \"Subject\" \"?\""));
}

TEST(SieveRun, VariablesAndMatchCaptures) {
  World w;
  auto o = run_text(
      "require [\"variables\",\"fileinto\",\"mailbox\"];\n"
      "if header :matches \"From\" \"* <*@*>\" { set :lower \"dom\" \"${3}\"; set :upperfirst \"who\" \"${1}\"; }\n"
      "set :length \"n\" \"${who}\";\n"
      "fileinto :create \"lists/${dom}/${n}\";",
      w);
  EXPECT_EQ(summary(o), "fileinto lists/remote.example/9 create") << o.error;
  auto r = run_text("require [\"variables\",\"regex\",\"fileinto\"];\n"
                    "if header :regex \"Subject\" \"Quarterly (r[^ ]*)t\" { fileinto \"got-${1}\"; }",
                    w);
  EXPECT_EQ(summary(r), "fileinto got-répor") << r.error;
  // POSIX extended, as libc compiles it: escaped brackets, classes, alternation
  auto posix = run_text("require [\"regex\",\"fileinto\"];\n"
                        "if header :regex \"Subject\" \"\\\\[(urgent|later)\\\\]$\" { fileinto \"x\"; }\n"
                        "if header :regex \"X-Spam-Score\" \"^[[:digit:]]+\\\\.[0-9]$\" { fileinto \"y\"; }",
                        w);
  EXPECT_EQ(summary(posix), "fileinto x; fileinto y") << posix.error;
}

TEST(SieveRun, EncodedCharacter) {
  World w;
  auto o = run_text("require [\"encoded-character\",\"fileinto\"]; fileinto \"${hex: 57 6F}rk${unicode:21}\";", w);
  EXPECT_EQ(summary(o), "fileinto Work!");
}

TEST(SieveRun, BodyAndDate) {
  World w;
  auto t = [&](const std::string& test) {
    auto o = run_text("require [\"body\",\"date\",\"relational\",\"fileinto\"];\nif " + test + " { fileinto \"Work\"; }", w);
    EXPECT_TRUE(o.error.empty()) << o.error;
    return summary(o) == "fileinto Work";
  };
  EXPECT_TRUE(t("body :text :contains \"up — see\""));  // quoted-printable decoded
  EXPECT_TRUE(t("body :raw :contains \"=E2=80=94\""));
  EXPECT_TRUE(t("body :content \"text\" :contains \"figures\""));
  EXPECT_FALSE(t("body :content \"image\" :contains \"figures\""));
  EXPECT_TRUE(t("date :is \"date\" \"date\" \"2026-07-01\""));                  // UTC by default
  EXPECT_TRUE(t("date :originalzone :is \"date\" \"date\" \"2026-06-30\""));
  EXPECT_TRUE(t("date :zone \"+0200\" :is \"date\" \"hour\" \"03\""));
  EXPECT_TRUE(t("date :is \"date\" \"weekday\" \"3\""));                         // a Wednesday in UTC
  EXPECT_TRUE(t("date :originalzone :is \"date\" \"zone\" \"-0200\""));
  EXPECT_TRUE(t("currentdate :value \"ge\" \"iso8601\" \"2026-07-01T00:00:00\""));
  EXPECT_TRUE(t("currentdate :is \"std11\" \"Wed, 1 Jul 2026 10:00:00 +0000\""));
}

TEST(SieveRun, Imap4Flags) {
  World w;
  auto o = run_text("require [\"imap4flags\",\"fileinto\"];\n"
                    "addflag \"\\\\Seen Important\"; addflag \"\\\\Seen\"; removeflag \"important\";\n"
                    "if hasflag :is \"\\\\seen\" { fileinto :flags \"\\\\Answered\" \"Work\"; }\n"
                    "keep;",
                    w);
  EXPECT_EQ(summary(o), "fileinto Work \\Answered; keep \\Seen") << o.error;
}

TEST(SieveRun, RedirectRejectAndLimits) {
  World w;
  EXPECT_EQ(summary(run_text("redirect \"dave@elsewhere.example\";", w)), "redirect dave@elsewhere.example");
  EXPECT_EQ(summary(run_text("require \"copy\"; redirect :copy \"dave@elsewhere.example\";", w)), "keep; redirect dave@elsewhere.example");
  auto five = run_text("redirect \"a@x.example\"; redirect \"b@x.example\"; redirect \"c@x.example\"; "
                       "redirect \"d@x.example\"; redirect \"e@x.example\";",
                       w);
  EXPECT_EQ(summary(five), "keep");
  EXPECT_NE(five.error.find("more than 4 redirects"), std::string::npos);
  EXPECT_EQ(summary(run_text("require \"reject\"; reject \"No thanks\";", w)), "reject No thanks");
  auto both = run_text("require [\"reject\",\"fileinto\"]; fileinto \"Work\"; reject \"no\";", w);
  EXPECT_EQ(summary(both), "keep");
  EXPECT_FALSE(both.error.empty());
  std::string looped = std::string("X-Mailstead-Redirected-By: alice+work@example.test\r\n") + kMessage;
  auto loop = run_text("redirect \"dave@elsewhere.example\";", w, looped.c_str());
  EXPECT_EQ(summary(loop), "keep");
  EXPECT_NE(loop.error.find("redirect loop"), std::string::npos);
}

TEST(SieveRun, StepLimitStopsRunawayScripts) {
  World w;
  std::string s = "require \"variables\";\n";
  for (int i = 0; i < 200; ++i) s += "if true { set \"a\" \"b\"; }\n";
  auto p = parse(s);
  ASSERT_TRUE(p.script);
  Limits l;
  l.max_steps = 100;
  auto o = run(*p.script, kMessage, env(), w, {}, l);
  EXPECT_EQ(summary(o), "keep");
  EXPECT_NE(o.error.find("too many steps"), std::string::npos);
}

TEST(SieveRun, VacationOnlyForPersonalMail) {
  World w;
  const char* script = "require \"vacation\"; vacation :days 3 :from \"alice@example.test\" \"Away\";";
  auto o = run_text(script, w);
  ASSERT_EQ(summary(o), "keep; vacation bob@remote.example");
  EXPECT_EQ(o.actions[1].vacation.period, 3 * 86400);
  EXPECT_EQ(o.actions[1].vacation.subject, "Auto: Quarterly réport [urgent]");
  for (const char* h : {"List-Id: <team.example.test>\r\n", "Auto-Submitted: auto-replied\r\n", "Precedence: bulk\r\n"}) {
    std::string m = std::string(h) + kMessage;
    EXPECT_EQ(summary(run_text(script, w, m.c_str())), "keep") << h;
  }
  EXPECT_EQ(summary(run_text(script, w, kMessage, Envelope{"", "alice+work@example.test", ""})), "keep");
  EXPECT_EQ(summary(run_text(script, w, kMessage, Envelope{"MAILER-DAEMON@remote.example", "alice+work@example.test", ""})),
            "keep");
  EXPECT_EQ(summary(run_text(script, w, kMessage, Envelope{"owner-list@remote.example", "alice+work@example.test", ""})),
            "keep");
  // not addressed to the user (Bcc'd through a list she is not named in)
  std::string other = "From: x@remote.example\r\nTo: someone@else.example\r\n\r\nhi\r\n";
  EXPECT_EQ(summary(run_text(script, w, other.c_str(), Envelope{"x@remote.example", "alice@example.test", ""})), "keep");
  auto sec = run_text("require \"vacation-seconds\"; vacation :seconds 60 \"brb\";", w);
  ASSERT_EQ(sec.actions.size(), 2u);
  EXPECT_EQ(sec.actions[1].vacation.period, 60);
}

TEST(SieveRun, EditHeader) {
  World w;
  auto o = run_text("require \"editheader\";\n"
                    "addheader \"X-Filtered\" \"yes\";\naddheader :last \"X-Tail\" \"1\";\n"
                    "deleteheader \"X-Spam-Score\";\ndeleteheader \"Received\";\n"
                    "deleteheader :index 1 :last \"To\";",
                    w);
  ASSERT_TRUE(o.header) << o.error;
  EXPECT_TRUE(o.header->starts_with("X-Filtered: yes\r\n"));
  EXPECT_NE(o.header->find("X-Tail: 1\r\n"), std::string::npos);
  EXPECT_EQ(o.header->find("X-Spam-Score"), std::string::npos);
  EXPECT_NE(o.header->find("Received: from a"), std::string::npos) << "Received is never deleted";
  EXPECT_EQ(o.header->find("\r\nTo:"), std::string::npos);
}

TEST(SieveRun, IncludeAndGlobal) {
  World w;
  w.scripts["spam"] = "require [\"fileinto\",\"include\",\"variables\"]; global \"box\"; if header :contains \"X-Spam-Score\" \"7\" { fileinto \"${box}\"; return; } keep;";
  auto o = run_text("require [\"include\",\"variables\"]; global \"box\"; set \"box\" \"Junk\"; include \"spam\"; include :optional \"none\";", w);
  EXPECT_EQ(summary(o), "fileinto Junk") << o.error;
  w.scripts["self"] = "require \"include\"; include \"self\";";
  auto loop = run_text("require \"include\"; include \"self\";", w);
  EXPECT_EQ(summary(loop), "keep");
  EXPECT_NE(loop.error.find("include loop"), std::string::npos);
  auto missing = run_text("require \"include\"; include \"nope\";", w);
  EXPECT_NE(missing.error.find("no script"), std::string::npos);
}

TEST(SieveRun, DuplicateAndNotify) {
  World w;
  const char* script = "require [\"duplicate\",\"fileinto\"]; if duplicate :seconds 3600 { fileinto \"Junk\"; }";
  auto first = run_text(script, w);
  EXPECT_EQ(summary(first), "keep");
  ASSERT_EQ(first.duplicates.size(), 1u);
  EXPECT_EQ(first.duplicates[0].second, 3600);
  w.seen_ids.insert(first.duplicates[0].first);
  EXPECT_EQ(summary(run_text(script, w)), "fileinto Junk");
  auto n = run_text("require \"enotify\"; if valid_notify_method \"mailto:alice@example.test\" "
                    "{ notify :message \"new mail\" \"mailto:alice@example.test\"; }",
                    w);
  EXPECT_EQ(summary(n), "keep; notify mailto:alice@example.test");
  EXPECT_EQ(n.actions[1].notify.message, "new mail");
  EXPECT_NE(run_text("require \"enotify\"; notify \"xmpp:a@b\";", w).error, "");
}

TEST(SieveStorage, ScriptNames) {
  for (const char* ok : {"rules", "roundcube", ".hidden", "a..b", "x.sieve", "Größe 2", "TMP_FILE_DELETE_ME"})
    EXPECT_EQ(script_name_error(ok), "") << ok;
  for (const char* bad : {"", ".", "..", "../x", "x/..", "a/b", "/abs", "..\\x", "a\\b"})
    EXPECT_NE(script_name_error(bad), "") << bad;
  EXPECT_NE(script_name_error(std::string(129, 'a')), "");
  EXPECT_EQ(script_name_error(std::string(128, 'a')), "");
  EXPECT_NE(script_name_error("tab\there"), "");
  EXPECT_NE(script_name_error("del\x7f"), "");
  EXPECT_NE(script_name_error("c1\xc2\x85"), "");      // U+0085 NEL
  EXPECT_NE(script_name_error("ls\xe2\x80\xa8"), "");  // U+2028
  EXPECT_NE(script_name_error("bad\xff"), "");
  EXPECT_NE(script_name_error("overlong\xc0\xaf"), "");
  EXPECT_NE(script_name_error("cut\xe2\x80"), "");
  EXPECT_NE(script_name_error("surrogate\xed\xa0\x80"), "");
}

// RFC 5235 (spamtest, spamtestplus) and RFC 5183 (environment).
TEST(SieveRun, SpamtestAndEnvironment) {
  World w;
  auto run_spam = [&](std::string_view script, SpamScore sp, std::map<std::string, std::string> envi = {}) {
    auto p = parse(script);
    EXPECT_TRUE(p.script) << p.error;
    RunOptions o;
    o.spam = sp;
    o.environment = std::move(envi);
    return summary(run(*p.script, kMessage, env(), w, o));
  };
  const char* ge5 =
      "require [\"spamtest\", \"relational\", \"comparator-i;ascii-numeric\", \"fileinto\"];\n"
      "if spamtest :value \"ge\" :comparator \"i;ascii-numeric\" \"5\" { fileinto \"Junk\"; }\n";
  EXPECT_EQ(run_spam(ge5, {true, 7.0, 5.0, 15.0}), "fileinto Junk");
  EXPECT_EQ(run_spam(ge5, {true, 4.9, 5.0, 15.0}), "keep");
  EXPECT_EQ(run_spam(ge5, {false, 0, 5.0, 15.0}), "keep");
  const char* untested = "require \"spamtest\"; if spamtest :is \"0\" { discard; }";
  EXPECT_EQ(run_spam(untested, {false, 0, 5, 15}), "discard");
  EXPECT_EQ(run_spam(untested, {true, -3, 5, 15}), "keep");  // tested: at least 1
  const char* percent =
      "require [\"spamtestplus\", \"relational\", \"comparator-i;ascii-numeric\"];\n"
      "if spamtest :percent :value \"ge\" :comparator \"i;ascii-numeric\" \"50\" { discard; }\n";
  EXPECT_EQ(run_spam(percent, {true, 5.0, 5.0, 15.0}), "discard");
  EXPECT_EQ(run_spam(percent, {true, 2.0, 5.0, 15.0}), "keep");
  EXPECT_NE(error_of("require \"spamtest\"; if spamtest :percent \"5\" { stop; }").find("spamtestplus"), std::string::npos);
  EXPECT_NE(error_of("if spamtest \"5\" { stop; }").find("spamtest"), std::string::npos);
  const char* envs =
      "require \"environment\";\n"
      "if allof (environment :is \"location\" \"MTA\", environment :matches \"remote-ip\" \"127.*\") { discard; }\n";
  EXPECT_EQ(run_spam(envs, {}, {{"location", "MTA"}, {"remote-ip", "127.0.0.2"}}), "discard");
  EXPECT_EQ(run_spam(envs, {}, {{"location", "MTA"}}), "keep");  // unknown item: false
  // The implicit keep is marked as such; an explicit one is not.
  auto p = parse("keep;");
  RunOptions o;
  auto out = run(*p.script, kMessage, env(), w, o);
  ASSERT_EQ(out.actions.size(), 1u);
  EXPECT_FALSE(out.actions[0].implicit);
  auto q = parse("");
  out = run(*q.script, kMessage, env(), w, o);
  ASSERT_EQ(out.actions.size(), 1u);
  EXPECT_TRUE(out.actions[0].implicit);
}

TEST(SieveSpamtest, Mapping) {
  EXPECT_EQ(spamtest_value({false, 100, 5, 15}), 0);
  EXPECT_EQ(spamtest_value({true, -2, 5, 15}), 1);
  EXPECT_EQ(spamtest_value({true, 0, 5, 15}), 1);
  EXPECT_EQ(spamtest_value({true, 4.99, 5, 15}), 4);
  EXPECT_EQ(spamtest_value({true, 5, 5, 15}), 5);
  EXPECT_EQ(spamtest_value({true, 14.9, 5, 15}), 9);
  EXPECT_EQ(spamtest_value({true, 15, 5, 15}), 10);
  EXPECT_EQ(spamtest_value({true, 1000, 5, 15}), 10);
  EXPECT_EQ(spamtest_value({true, 7, 5, 5}), 10);
  EXPECT_EQ(spamtest_percent({false, 100, 5, 15}), 0);
  EXPECT_EQ(spamtest_percent({true, 2.5, 5, 15}), 25);
  EXPECT_EQ(spamtest_percent({true, 5, 5, 15}), 50);
  EXPECT_EQ(spamtest_percent({true, 10, 5, 15}), 75);
  EXPECT_EQ(spamtest_percent({true, 15, 5, 15}), 100);
  for (double d = -10; d < 30; d += 0.25) {
    auto v = spamtest_value({true, d, 5, 15});
    auto pc = spamtest_percent({true, d, 5, 15});
    EXPECT_TRUE(v >= 1 && v <= 10) << d;
    EXPECT_TRUE(pc >= 0 && pc <= 100) << d;
    EXPECT_LE(v, spamtest_value({true, d + 0.25, 5, 15}));
    EXPECT_LE(pc, spamtest_percent({true, d + 0.25, 5, 15}));
  }
}

}  // namespace mailstead::sieve
