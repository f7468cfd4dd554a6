// DKIM keys in the store (generation, default selectors, rotation, grace, removal) and the
// shape of the signatures libopendkim makes. tests/integration/test_dkim.py verifies the
// signatures with a third-party verifier over DNS.
#include "dkim/dkim.hpp"

#include <gtest/gtest.h>

#include <cctype>

#include "../../test_support.hpp"
#include "directory/directory.hpp"
#include "dkim/keys.hpp"
#include "util/base64.hpp"

namespace mailstead::dkim {
namespace {

constexpr std::int64_t t0 = 1732960800;  // 2024-11-30T10:00:00Z

const std::string message =
    "From: Alice <alice@Example.TEST>\r\n"
    "To: bob@remote.test\r\n"
    "Subject: hi\r\n"
    "X-Other: unsigned\r\n"
    "\r\n"
    "body\r\n";

class Keys : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = testing::open_store(dir_.path());
    ASSERT_FALSE(store_->commit_sync([](store::WriteTxn& t) -> std::error_code {
      directory::add_domain(t, "example.test").value();
      return {};
    }));
  }
  template <class T, class Fn>
  Result<T> write(Fn fn) {
    std::optional<Result<T>> out;
    store_->commit_sync([&](store::WriteTxn& t) -> std::error_code {
      out.emplace(fn(t));
      return out->has_value() ? std::error_code{} : store::Errc::aborted;
    });
    return *out;
  }
  Result<KeyRecord> add(const NewKey& k, std::string_view selector = "", std::int64_t now = t0) {
    return write<KeyRecord>([&](store::WriteTxn& t) { return add_key(t, "example.test", selector, k, now); });
  }
  std::vector<KeyRecord> listed(std::int64_t now) {
    auto txn = store_->read();
    return list_keys(*txn, "example.test", now);
  }
  std::vector<Key> signing(std::string_view domain = "example.test") {
    auto txn = store_->read();
    return signing_keys(*txn, domain);
  }

  testing::TempDir dir_;
  std::unique_ptr<store::Store> store_;
};

TEST_F(Keys, GeneratedKeysHaveTheRecordFormatsOfRfc6376And8463) {
  auto rsa = generate(Algorithm::rsa);
  ASSERT_TRUE(rsa);
  EXPECT_TRUE(rsa->private_key.starts_with("-----BEGIN PRIVATE KEY-----"));
  auto der = base64_decode(rsa->public_key);
  ASSERT_TRUE(der);
  EXPECT_GT(der->size(), 290u);  // SubjectPublicKeyInfo of a 2048-bit key
  EXPECT_TRUE(rsa->public_key.starts_with("MIIBIjAN"));
  auto ed = generate(Algorithm::ed25519);
  ASSERT_TRUE(ed);
  EXPECT_TRUE(ed->private_key.starts_with("-----BEGIN PRIVATE KEY-----"));
  auto raw = base64_decode(ed->public_key);
  ASSERT_TRUE(raw);
  EXPECT_EQ(raw->size(), 32u);
  KeyRecord r;
  r.algorithm = Algorithm::ed25519;
  r.public_key = ed->public_key;
  r.selector = "s1";
  r.domain = "example.test";
  EXPECT_EQ(r.txt(), "v=DKIM1; k=ed25519; p=" + ed->public_key);
  EXPECT_EQ(r.dns_name(), "s1._domainkey.example.test");
}

TEST_F(Keys, DefaultSelectorsOneActiveKeyPerAlgorithmAndSigningOrder) {
  auto ed = generate(Algorithm::ed25519).value();
  auto rsa = generate(Algorithm::rsa).value();
  EXPECT_EQ(add(ed).value().selector, "ed25519");
  EXPECT_EQ(add(rsa).value().selector, "mail");
  auto again = add(generate(Algorithm::ed25519).value());
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().kind, ErrorKind::conflict);
  auto keys = signing("EXAMPLE.test");
  ASSERT_EQ(keys.size(), 2u);
  EXPECT_EQ(keys[0].algorithm, Algorithm::rsa);
  EXPECT_EQ(keys[0].selector, "mail");
  EXPECT_EQ(keys[0].domain, "example.test");
  EXPECT_EQ(keys[1].algorithm, Algorithm::ed25519);
  EXPECT_TRUE(signing("other.test").empty());
}

TEST_F(Keys, ChosenSelectorsAreCheckedAndUnique) {
  auto ed = generate(Algorithm::ed25519).value();
  EXPECT_EQ(add(ed, "Sel-1.Example").value().selector, "sel-1.example");
  for (auto bad : {"-x", "x-", "a..b", ".a", "a b", "a_b", "ä"}) {
    auto r = write<KeyRecord>([&](store::WriteTxn& t) {
      return add_key(t, "example.test", bad, ed, t0);
    });
    EXPECT_FALSE(r) << bad;
  }
  auto dup = write<KeyRecord>([&](store::WriteTxn& t) {
    return add_key(t, "example.test", "sel-1.example", generate(Algorithm::rsa).value(), t0);  // another algorithm
  });
  ASSERT_FALSE(dup);
  EXPECT_EQ(dup.error().kind, ErrorKind::conflict);
  auto nodomain = write<KeyRecord>([&](store::WriteTxn& t) { return add_key(t, "nowhere.test", "", ed, t0); });
  ASSERT_FALSE(nodomain);
  EXPECT_EQ(nodomain.error().kind, ErrorKind::not_found);
}

TEST_F(Keys, RotateRetiresWithGraceAndPurgesAfterIt) {
  add(generate(Algorithm::ed25519).value()).value();
  std::vector<NewKey> fresh{generate(Algorithm::ed25519).value()};
  const std::int64_t grace = 7 * 86400;
  auto made = write<std::vector<KeyRecord>>(
      [&](store::WriteTxn& t) { return rotate(t, "example.test", fresh, t0 + 10, grace); });
  ASSERT_TRUE(made);
  ASSERT_EQ(made->size(), 1u);
  EXPECT_EQ((*made)[0].selector, "ed25519-20241130");
  auto keys = signing();
  ASSERT_EQ(keys.size(), 1u);
  EXPECT_EQ(keys[0].selector, "ed25519-20241130");
  auto during = listed(t0 + grace);
  ASSERT_EQ(during.size(), 2u);
  EXPECT_EQ(during[0].selector, "ed25519");
  EXPECT_EQ(during[0].state, KeyState::retired);
  EXPECT_EQ(during[0].retire_at, t0 + 10 + grace);
  EXPECT_EQ(listed(t0 + 10 + grace).size(), 1u);
  // A second rotation the same day gets the next free selector.
  std::vector<NewKey> fresh2{generate(Algorithm::ed25519).value()};
  auto made2 = write<std::vector<KeyRecord>>(
      [&](store::WriteTxn& t) { return rotate(t, "example.test", fresh2, t0 + 20, grace); });
  ASSERT_TRUE(made2);
  EXPECT_EQ((*made2)[0].selector, "ed25519-20241130-2");
  // Rotation without a fresh key for an active algorithm changes nothing.
  auto none = write<std::vector<KeyRecord>>(
      [&](store::WriteTxn& t) { return rotate(t, "example.test", {}, t0 + 30, grace); });
  EXPECT_FALSE(none);
  EXPECT_EQ(signing()[0].selector, "ed25519-20241130-2");
}

TEST_F(Keys, RotateNeedsAnActiveKeyAndRemoveDropsThemAll) {
  auto r = write<std::vector<KeyRecord>>(
      [&](store::WriteTxn& t) { return rotate(t, "example.test", {}, t0, 1); });
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, ErrorKind::not_found);
  add(generate(Algorithm::ed25519).value()).value();
  ASSERT_FALSE(store_->commit_sync([](store::WriteTxn& t) -> std::error_code {
    remove_keys(t, "example.test");
    return {};
  }));
  EXPECT_TRUE(listed(t0).empty());
}

TEST_F(Keys, SignaturesHaveTheAskedForShape) {
  add(generate(Algorithm::ed25519).value()).value();
  add(generate(Algorithm::rsa).value()).value();
  auto sig = sign(message, signing());
  ASSERT_TRUE(sig) << sig.error().message;
  // Two fields, each folded with CRLF TAB; compare them without white space.
  ASSERT_TRUE(sig->starts_with("DKIM-Signature: v=1; a=rsa-sha256;")) << *sig;
  auto second_at = sig->find("\r\nDKIM-Signature: v=1; a=ed25519-sha256;");
  ASSERT_NE(second_at, std::string::npos) << *sig;
  std::string first, second;
  for (char c : sig->substr(0, second_at)) if (!std::isspace(static_cast<unsigned char>(c))) first.push_back(c);
  for (char c : sig->substr(second_at)) if (!std::isspace(static_cast<unsigned char>(c))) second.push_back(c);
  for (const auto* f : {&first, &second}) {
    EXPECT_NE(f->find(";c=relaxed/relaxed;"), std::string::npos) << *f;
    EXPECT_NE(f->find(";d=example.test;"), std::string::npos) << *f;
    EXPECT_NE(f->find(";h=From:To:Subject:from;"), std::string::npos) << *f;
    EXPECT_NE(f->find(";bh="), std::string::npos) << *f;
    EXPECT_NE(f->find(";t="), std::string::npos) << *f;
    EXPECT_EQ(f->find(";l="), std::string::npos) << *f;
  }
  EXPECT_NE(first.find(";s=mail;"), std::string::npos) << first;
  EXPECT_NE(second.find(";s=ed25519;"), std::string::npos) << second;
  auto unfolded = first + second;
  EXPECT_EQ(sig->find("\n\n"), std::string::npos);
  EXPECT_EQ(unfolded.find("X-Other"), std::string::npos);
  EXPECT_TRUE(sig->ends_with("\r\n"));
  EXPECT_EQ(sig->find("PRIVATE"), std::string::npos);
}

TEST_F(Keys, NothingToSignWithAndMessagesThatCannotBeSigned) {
  EXPECT_EQ(sign(message, {}).value(), "");
  add(generate(Algorithm::ed25519).value()).value();
  auto no_from = sign("To: bob@remote.test\r\nSubject: x\r\n\r\nbody\r\n", signing());
  ASSERT_FALSE(no_from);
  EXPECT_NE(no_from.error().message.find("ed25519._domainkey.example.test"), std::string::npos);
  auto broken = signing();
  broken[0].private_key = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n";
  auto bad_key = sign(message, broken);
  ASSERT_FALSE(bad_key);
  EXPECT_EQ(bad_key.error().message.find("AAAA"), std::string::npos) << "no key material in errors";
  // Header only, no body, no final CRLF: still signable (hashed as SMTP sends it).
  EXPECT_TRUE(sign("From: a@example.test\r\nSubject: x", signing()));
}

TEST(FromDomain, FirstAddressOfTheFromField) {
  EXPECT_EQ(from_domain(message), "example.test");
  EXPECT_EQ(from_domain("from: \"x, y\" <a@B.Example>, c@d.example\r\n\r\n"), "b.example");
  EXPECT_EQ(from_domain("To: a@b\r\n\r\nFrom: x@y\r\n"), "");
  EXPECT_EQ(from_domain("From: undisclosed\r\n\r\n"), "");
}

}  // namespace
}  // namespace mailstead::dkim
