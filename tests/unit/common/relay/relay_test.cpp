// Relay settings: every refusal of `relay set`, presets, the sealed password and which
// relay a sender domain gets.
#include "relay/relay.hpp"

#include <gtest/gtest.h>

#include "../../test_support.hpp"
#include "directory/directory.hpp"
#include "store/store.hpp"

namespace mailstead::relay {
namespace {

config::CoreSettings::Secrets secrets_with_key() {
  config::CoreSettings::Secrets s;
  s.relay_key = "0123456789abcdef0123456789abcdef";
  return s;
}

SetRequest req(std::string host_port) {
  SetRequest r;
  r.host_port = std::move(host_port);
  return r;
}

TEST(RelayPrepare, DefaultsFromPortPresetAndSecurity) {
  auto s = secrets_with_key();
  auto a = prepare(req("smtp.example.net:587"), s, 1).value().record;
  EXPECT_EQ(a.host, "smtp.example.net");
  EXPECT_EQ(a.port, 587);
  EXPECT_EQ(a.security, Security::starttls);
  EXPECT_EQ(a.password, PasswordSource::none);
  EXPECT_EQ(prepare(req("smtp.example.net:465"), s, 1).value().record.security, Security::tls);
  EXPECT_EQ(prepare(req("SMTP.Example.NET"), s, 1).value().record.port, 587);
  auto none = req("localhost");
  none.security = "none";
  EXPECT_EQ(prepare(none, s, 1).value().record.port, 25);
  auto v6 = prepare(req("[::1]:2525"), s, 1).value().record;
  EXPECT_EQ(v6.host, "::1");
  EXPECT_EQ(v6.port, 2525);

  SetRequest p;
  p.preset = "mailgun";
  auto mg = prepare(p, s, 1).value().record;
  EXPECT_EQ(mg.host, "smtp.mailgun.org");
  EXPECT_EQ(mg.port, 587);
  EXPECT_EQ(mg.preset, "mailgun");
  p.host_port = "smtp.eu.mailgun.org";
  EXPECT_EQ(prepare(p, s, 1).value().record.host, "smtp.eu.mailgun.org");
  p.security = "tls";
  EXPECT_EQ(prepare(p, s, 1).value().record.port, 465);
  for (const auto& preset : presets()) {
    SetRequest q;
    q.preset = preset.name;
    if (!*preset.host) q.host_port = "mail.example.net";
    EXPECT_TRUE(prepare(q, s, 1)) << preset.name;
  }
  SetRequest sg;
  sg.preset = "sendgrid";
  sg.password = "SG.key";
  auto r = prepare(sg, s, 1).value().record;
  EXPECT_EQ(r.user, "apikey");
  EXPECT_EQ(r.password, PasswordSource::stored);
}

TEST(RelayPrepare, Refusals) {
  auto s = secrets_with_key();
  auto refused = [&](SetRequest r, const std::string& words, const config::CoreSettings::Secrets& sec) {
    auto p = prepare(r, sec, 1);
    ASSERT_FALSE(p) << words;
    EXPECT_NE(p.error().message.find(words), std::string::npos) << p.error().message;
  };
  SetRequest unknown;
  unknown.preset = "mailchimp";
  refused(unknown, "unknown preset 'mailchimp'; one of: ses, mailgun, postmark, sendgrid, gmail, smtp", s);
  SetRequest any;
  any.preset = "smtp";
  refused(any, "needs HOST[:PORT]", s);
  refused(req(""), "give the relay as HOST:PORT", s);
  refused(req("host:0"), "port from 1 to 65535", s);
  refused(req("host:65536"), "port from 1 to 65535", s);
  refused(req("host:x"), "port from 1 to 65535", s);
  refused(req("host:"), "port from 1 to 65535", s);
  refused(req("bad host:25"), "bad relay host", s);
  auto sec = req("host:25");
  sec.security = "ssl";
  refused(sec, "--security must be starttls, tls or none", s);
  auto pw_only = req("host:587");
  pw_only.password = "secret";
  refused(pw_only, "--password-stdin needs --user", s);
  auto user_only = req("host:587");
  user_only.user = "u";
  refused(user_only, "--user needs a password", s);
  auto empty = req("host:587");
  empty.user = "u";
  empty.password = "";
  refused(empty, "empty", s);
  auto nokey = req("host:587");
  nokey.user = "u";
  nokey.password = "secret";
  refused(nokey, "[relay] key", config::CoreSettings::Secrets{});
  auto clear = req("relay.example.net:25");
  clear.security = "none";
  clear.user = "u";
  clear.password = "secret";
  refused(clear, "refusing to send the relay password in clear text to relay.example.net", s);
  auto dom = req("host:587");
  dom.domain = "bad domain";
  EXPECT_FALSE(prepare(dom, s, 1));
}

TEST(RelayPrepare, WarningsAndLoopbackWithoutTls) {
  auto s = secrets_with_key();
  auto p = req("host:465");
  p.security = "starttls";
  auto r = prepare(p, s, 1);
  ASSERT_TRUE(r);
  ASSERT_EQ(r->warnings.size(), 1u);
  EXPECT_NE(r->warnings[0].find("--security tls"), std::string::npos);
  auto t = req("host:587");
  t.security = "tls";
  EXPECT_EQ(prepare(t, s, 1).value().warnings.size(), 1u);
  auto local = req("127.0.0.1:25");
  local.security = "none";
  local.user = "u";
  local.password = "p";
  EXPECT_TRUE(prepare(local, s, 1));
  auto named = req("127.evil.example:25");
  named.security = "none";
  named.user = "u";
  named.password = "p";
  EXPECT_FALSE(prepare(named, s, 1));
  EXPECT_TRUE(is_loopback_host("LOCALHOST"));
  EXPECT_TRUE(is_loopback_host("127.0.0.2"));
  EXPECT_TRUE(is_loopback_host("::1"));
  EXPECT_TRUE(is_loopback_host("0:0:0:0:0:0:0:1"));
  EXPECT_FALSE(is_loopback_host("127.example.net"));
  EXPECT_FALSE(is_loopback_host("127.0.0.1.example.net"));
  EXPECT_FALSE(is_loopback_host("10.0.0.1"));
}

class Relays : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = testing::open_store(dir_.path());
    ASSERT_FALSE(store_->commit_sync([](store::WriteTxn& t) -> std::error_code {
      directory::add_domain(t, "example.test").value();
      directory::add_domain(t, "other.test").value();
      return {};
    }));
  }
  Result<RelayRecord> set(const SetRequest& r, const config::CoreSettings::Secrets& s) {
    auto p = prepare(r, s, 1);
    if (!p) return p.error();
    std::optional<Result<RelayRecord>> out;
    store_->commit_sync([&](store::WriteTxn& t) -> std::error_code {
      out.emplace(put(t, p->record));
      return *out ? std::error_code{} : store::Errc::aborted;
    });
    return *out;
  }
  std::optional<Relay> for_domain(std::string_view d, const config::CoreSettings::Secrets& s) {
    auto txn = store_->read();
    return relay_for(*txn, d, s);
  }
  testing::TempDir dir_;
  std::unique_ptr<store::Store> store_;
};

TEST_F(Relays, PerDomainThenDefaultThenNone) {
  auto s = secrets_with_key();
  EXPECT_FALSE(for_domain("example.test", s));
  auto def = req("smtp.default.net:587");
  def.user = "me@example.test";
  def.password = "pa55 word";
  ASSERT_TRUE(set(def, s));
  auto other = req("relay.other.net:465");
  other.domain = "Other.Test";
  ASSERT_TRUE(set(other, s));
  auto a = for_domain("EXAMPLE.test", s);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->host, "smtp.default.net");
  EXPECT_EQ(a->domain, "");
  EXPECT_EQ(a->user, "me@example.test");
  EXPECT_EQ(a->password, "pa55 word");
  EXPECT_EQ(a->password_error, "");
  auto b = for_domain("other.test", s);
  ASSERT_TRUE(b);
  EXPECT_EQ(b->host, "relay.other.net");
  EXPECT_EQ(b->security, Security::tls);
  EXPECT_EQ(b->user, "");
  EXPECT_EQ(for_domain("", s)->host, "smtp.default.net");  // bounces go the default way

  // The stored password is sealed: not in the store's bytes, and a wrong key says so.
  {
    auto txn = store_->read();
    auto raw = txn->get(store::Table::relays, "*");
    ASSERT_TRUE(raw);
    EXPECT_EQ(raw->find("pa55"), std::string_view::npos);
    for (const auto& r : list(*txn)) EXPECT_EQ(r.sealed_password.find("pa55"), std::string::npos);
  }
  auto wrong = secrets_with_key();
  wrong.relay_key = "another key of thirty-two bytes!";
  EXPECT_NE(for_domain("example.test", wrong)->password_error.find("cannot be decrypted"), std::string::npos);
  EXPECT_EQ(for_domain("example.test", wrong)->password, "");
  EXPECT_NE(for_domain("example.test", {})->password_error.find("no [relay] key"), std::string::npos);

  // Clearing: the domain falls back to the default; clearing twice is an error.
  ASSERT_FALSE(store_->commit_sync([](store::WriteTxn& t) -> std::error_code {
    clear(t, "other.test").value();
    return {};
  }));
  EXPECT_EQ(for_domain("other.test", s)->host, "smtp.default.net");
  std::optional<Result<void>> again;
  store_->commit_sync([&](store::WriteTxn& t) -> std::error_code {
    again.emplace(clear(t, "other.test"));
    return {};
  });
  EXPECT_FALSE(*again);
}

TEST_F(Relays, PasswordFromTheSecretsFileForTheDefaultRelayOnly) {
  config::CoreSettings::Secrets s;
  s.relay_password = "from the file";
  auto def = req("smtp.default.net:587");
  def.user = "me";
  ASSERT_TRUE(set(def, s));
  auto a = for_domain("example.test", s);
  EXPECT_EQ(a->password, "from the file");
  EXPECT_NE(for_domain("example.test", {})->password_error.find("[relay] password"), std::string::npos);
  auto dom = req("smtp.other.net:587");
  dom.user = "me";
  dom.domain = "other.test";
  EXPECT_FALSE(set(dom, s));
  auto unknown = req("smtp.other.net:587");
  unknown.domain = "nowhere.test";
  auto r = set(unknown, s);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, ErrorKind::not_found);
}

}  // namespace
}  // namespace mailstead::relay
