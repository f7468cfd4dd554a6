// The spamd protocol core (requests, the strict reply parser, whole and a byte at a time),
// the X-Spam-* fields written and scrubbed, and the training records' lease rules.
#include <gtest/gtest.h>

#include "spam/protocol.hpp"
#include "spam/training.hpp"
#include "spam/verdict.hpp"
#include "store/store.hpp"
#include "../../test_support.hpp"
#include "util/bytes.hpp"

namespace mailstead::spam {

TEST(SpamdProtocol, Requests) {
  Request r;
  r.verb = Verb::symbols;
  r.user = "ann@example.test";
  EXPECT_EQ(build_request(r, "Subject: x\r\n\r\nhi\r\n"),
            "SYMBOLS SPAMC/1.5\r\nContent-length: 18\r\nUser: ann@example.test\r\n\r\nSubject: x\r\n\r\nhi\r\n");
  Request t;
  t.verb = Verb::tell;
  t.message_class = "spam";
  EXPECT_EQ(build_request(t, "abc"), "TELL SPAMC/1.5\r\nMessage-class: spam\r\nSet: local\r\nContent-length: 3\r\n\r\nabc");
  Request bad;
  bad.user = "a\r\nSet: local";
  EXPECT_EQ(build_request(bad, ""), "SYMBOLS SPAMC/1.5\r\nContent-length: 0\r\nUser: aSet:local\r\n\r\n");
}

TEST(SpamdProtocol, ParsesReplies) {
  std::string sym = "SPAMD/1.1 0 EX_OK\r\nContent-length: 15\r\nSpam: True ; 1000.0 / 5.0\r\n\r\nGTUBE,NO_RELAYS";
  auto r = parse_reply(sym, false);
  ASSERT_TRUE(std::holds_alternative<Reply>(r));
  auto& rep = std::get<Reply>(r);
  EXPECT_EQ(rep.code, 0);
  EXPECT_EQ(*rep.spam, true);
  EXPECT_DOUBLE_EQ(rep.score, 1000.0);
  EXPECT_DOUBLE_EQ(rep.threshold, 5.0);
  EXPECT_EQ(symbols_of(rep.body), (std::vector<std::string>{"GTUBE", "NO_RELAYS"}));
  // A byte at a time: need more until the last byte, then the same reply.
  for (std::size_t n = 0; n < sym.size(); ++n)
    EXPECT_TRUE(std::holds_alternative<NeedMore>(parse_reply(sym.substr(0, n), false))) << n;
  auto neg = parse_reply("SPAMD/1.1 0 EX_OK\r\nSpam: False ; -1.9 / 5.0\r\n\r\n", true);
  ASSERT_TRUE(std::holds_alternative<Reply>(neg));
  EXPECT_DOUBLE_EQ(std::get<Reply>(neg).score, -1.9);
  auto tell = parse_reply("SPAMD/1.1 0 EX_OK\r\nDidSet: local\r\n\r\n", true);
  ASSERT_TRUE(std::holds_alternative<Reply>(tell));
  EXPECT_EQ(std::get<Reply>(tell).did_set, std::vector<std::string>{"local"});
  auto pong = parse_reply("SPAMD/1.5 0 PONG\r\n", true);
  ASSERT_TRUE(std::holds_alternative<Reply>(pong));
  EXPECT_EQ(std::get<Reply>(pong).message, "PONG");
  auto err = parse_reply("SPAMD/1.0 76 Bad header line: (EOF)\r\n", true);
  ASSERT_TRUE(std::holds_alternative<Reply>(err));
  EXPECT_EQ(std::get<Reply>(err).code, 76);
}

TEST(SpamdProtocol, RejectsMalformedReplies) {
  auto error = [](std::string_view in) {
    auto r = parse_reply(in, true);
    return std::holds_alternative<ReplyError>(r);
  };
  EXPECT_TRUE(error(""));
  EXPECT_TRUE(error("HTTP/1.1 200 OK\r\n\r\n"));
  EXPECT_TRUE(error("SPAMD/x.1 0 EX_OK\r\n\r\n"));
  EXPECT_TRUE(error("SPAMD/1.1 zero EX_OK\r\n\r\n"));
  EXPECT_TRUE(error("SPAMD/1.1 0 EX_OK\r\nSpam: Maybe ; 1 / 5\r\n\r\n"));
  EXPECT_TRUE(error("SPAMD/1.1 0 EX_OK\r\nSpam: True ; 1e9 / 5\r\n\r\n"));
  EXPECT_TRUE(error("SPAMD/1.1 0 EX_OK\r\nSpam: True ; 1 5\r\n\r\n"));
  EXPECT_TRUE(error("SPAMD/1.1 0 EX_OK\r\nSpam: True ; 1 / 5\r\nSpam: False ; 1 / 5\r\n\r\n"));
  EXPECT_TRUE(error("SPAMD/1.1 0 EX_OK\r\nContent-length: 5\r\n\r\nabc"));      // short at EOF
  EXPECT_TRUE(error("SPAMD/1.1 0 EX_OK\r\nContent-length: 2\r\n\r\nabc"));      // long
  EXPECT_TRUE(error("SPAMD/1.1 0 EX_OK\r\nContent-length: -2\r\n\r\n"));
  EXPECT_TRUE(error("SPAMD/1.1 0 EX_OK\r\nContent-length: 99999999\r\n\r\n"));  // over the limit
  EXPECT_TRUE(error("SPAMD/1.1 0 EX_OK\r\nno colon\r\n\r\n"));
  EXPECT_TRUE(error("SPAMD/1.1 0 EX_OK\r\nBad Name: x\r\n\r\n"));
  EXPECT_TRUE(error("SPAMD/1.1 0 EX_OK\r\nX: a\x01b\r\n\r\n"));
  EXPECT_TRUE(error("SPAMD/1.1 0 EX_OK\r\nSpam: True ; 1 / 5"));  // ends inside the header
  EXPECT_TRUE(error(std::string("SPAMD/1.1 0 EX_OK\r\n") + std::string(9000, 'a')));
  std::string many = "SPAMD/1.1 0 EX_OK\r\n";
  for (int i = 0; i < 40; ++i) many += "X-A: b\r\n";
  EXPECT_TRUE(error(many + "\r\n"));
  EXPECT_EQ(symbols_of("GTUBE, bad rule!,X_Y"), (std::vector<std::string>{"GTUBE", "X_Y"}));
}

TEST(SpamVerdict, HeaderFields) {
  Thresholds t{5.0, 15.0};
  Verdict v;
  v.not_scanned = "spamd unreachable";
  EXPECT_EQ(header_fields(v, t), "X-Spam-Status: No, not scanned (spamd unreachable)\r\n");
  v.scanned = true;
  v.score = 7.25;
  v.symbols = {"GTUBE", "NO_RELAYS"};
  EXPECT_TRUE(v.junk(t));
  EXPECT_FALSE(v.reject(t));
  EXPECT_EQ(header_fields(v, t),
            "X-Spam-Flag: YES\r\nX-Spam-Score: 7.2\r\nX-Spam-Status: Yes, score=7.2 required=5.0 tests=GTUBE,NO_RELAYS\r\n");
  v.score = 1;
  v.symbols.assign(30, "SOME_LONG_RULE_NAME");
  auto h = header_fields(v, t);
  EXPECT_NE(h.find("X-Spam-Flag: NO\r\n"), std::string::npos);
  for (std::size_t p = 0, e; (e = h.find("\r\n", p)) != std::string::npos; p = e + 2) EXPECT_LE(e - p, 80u);
}

TEST(SpamVerdict, StripsForgedFields) {
  EXPECT_FALSE(strip_spam_fields("Subject: a\r\n\r\nX-Spam-Flag: YES\r\n"));  // in the body: left alone
  auto s = strip_spam_fields(
      "From: a@b\r\nx-spam-flag: YES\r\nX-Spam-Status: Yes,\r\n\tscore=9\r\nSubject: s\r\nX-Spam-Score: 9\r\n\r\nbody\r\n");
  ASSERT_TRUE(s);
  EXPECT_EQ(*s, "From: a@b\r\nSubject: s\r\n\r\nbody\r\n");
  auto only = strip_spam_fields("X-Spam-Flag: YES\r\n");
  ASSERT_TRUE(only);
  EXPECT_EQ(*only, "");
}

TEST(SpamTraining, LeasesAndRetries) {
  testing::TempDir dir;
  auto store = testing::open_store(dir.path());
  auto write = [&](std::uint64_t id, std::uint64_t user, bool spam) {
    Encoder e;
    e.u64(user).str("hash").u8(spam ? 1 : 0).i64(100);  // as imapd writes it
    ASSERT_FALSE(store->commit_sync([&](store::WriteTxn& t) { return t.put(store::Table::spam_training, key_u64(id), e.view()); }));
  };
  write(1, 7, true);
  write(2, 8, false);
  std::vector<TrainingRecord> a, b;
  ASSERT_FALSE(store->commit_sync([&](store::WriteTxn& t) { a = claim_training(t, 1000, "A", 300, 1); return std::error_code{}; }));
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0].id, 1u);
  EXPECT_TRUE(a[0].spam);
  EXPECT_EQ(a[0].user, 7u);
  // B sees only the record A does not hold.
  ASSERT_FALSE(store->commit_sync([&](store::WriteTxn& t) { b = claim_training(t, 1000, "B", 300, 10); return std::error_code{}; }));
  ASSERT_EQ(b.size(), 1u);
  EXPECT_EQ(b[0].id, 2u);
  EXPECT_FALSE(b[0].spam);
  // B fails: due again at 1060, not before; A's lease ends at 1300 (then B may take it).
  ASSERT_FALSE(store->commit_sync([&](store::WriteTxn& t) { return retry_training(t, 2, "B", 1060); }));
  ASSERT_FALSE(store->commit_sync([&](store::WriteTxn& t) { b = claim_training(t, 1059, "B", 300, 10); return std::error_code{}; }));
  EXPECT_TRUE(b.empty());
  ASSERT_FALSE(store->commit_sync([&](store::WriteTxn& t) { b = claim_training(t, 1301, "B", 300, 10); return std::error_code{}; }));
  ASSERT_EQ(b.size(), 2u);
  EXPECT_EQ(b[1].attempts, 1u);
  // A's late finish does not remove what B now holds; B's does.
  ASSERT_FALSE(store->commit_sync([&](store::WriteTxn& t) { return finish_training(t, 1, "A"); }));
  ASSERT_FALSE(store->commit_sync([&](store::WriteTxn& t) { return finish_training(t, 1, "B"); }));
  ASSERT_FALSE(store->commit_sync([&](store::WriteTxn& t) { return finish_training(t, 2, "B"); }));
  auto r = store->read();
  EXPECT_FALSE(r->cursor(store::Table::spam_training)->first());
}

}  // namespace mailstead::spam
