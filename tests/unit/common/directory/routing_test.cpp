// Every branch of DESIGN.md "Address routing" and every rejection with its codes.
#include "directory/routing.hpp"

#include <gtest/gtest.h>

#include "../../test_support.hpp"
#include "directory/directory.hpp"
#include "srs/srs.hpp"
#include "store/store.hpp"

namespace mailstead::directory {

namespace {

class Routing : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = testing::open_store(dir_.path());
    ASSERT_FALSE(store_->commit_sync([&](WriteTxn& t) -> std::error_code {
      for (auto d : {"example.test", "other.test", "bücher.example"}) add_domain(t, d).value();
      alice_ = add_user(t, {"alice@example.test", "h", "", 0}).value().id;
      bob_ = add_user(t, {"bob@example.test", "h", "", 0}).value().id;
      carol_ = add_user(t, {"carol@other.test", "h", "", 0}).value().id;
      dave_ = add_user(t, {"dave@example.test", "h", "", 0}).value().id;
      jorg_ = add_user(t, {"jörg@xn--bcher-kva.example", "h", "", 0}).value().id;
      set_enabled(t, "dave@example.test", false).value();
      add_alias(t, "info@example.test", "alice@example.test").value();
      add_alias(t, "sales@example.test", "bob@example.test").value();
      add_alias(t, "postmaster@example.test", "alice@example.test").value();
      add_group(t, "all@example.test", {"alice@example.test", "bob@example.test", "dave@example.test"}).value();
      add_group(t, "team@example.test", {"alice@example.test"}).value();
      set_group_policy(t, "team@example.test", PostingPolicy::members).value();
      add_group(t, "staff@example.test", {"alice@example.test", "bob@example.test"}).value();
      set_group_policy(t, "staff@example.test", PostingPolicy::domain).value();
      add_group(t, "ghosts@example.test", {"dave@example.test"}).value();
      add_stream(t, NewStream{"general", "General", "", "0123456789abcdef0123456789abcdef"}).value();
      add_stream(t, NewStream{"quiet", "Quiet", "", "00000000000000000000000000000001"}).value();
      auto q = get_stream(t, "quiet").value();
      q.enabled = false;
      put_stream(t, q).value();
      auto m = add_stream(t, NewStream{"team-chat", "Team chat", "", "00000000000000000000000000000002"}).value();
      m.email_posting = EmailPosting::members;
      m.members = {alice_};
      put_stream(t, m).value();
      auto off = add_stream(t, NewStream{"off", "Off", "", "00000000000000000000000000000003"}).value();
      off.email_posting = EmailPosting::nobody;
      put_stream(t, off).value();
      set_catchall(t, "other.test", {"carol@other.test"}).value();
      set_allowed_sender(t, "bob@example.test", "@other.test", true).value();
      set_allowed_sender(t, "bob@example.test", "boss@example.test", true).value();
      return {};
    }));
  }

  Route route(std::string_view rcpt, std::optional<std::uint64_t> auth = std::nullopt, std::string sender = "s@x.example") {
    auto txn = store_->read();
    return resolve(*txn, settings_, rcpt, RouteContext{sender, auth});
  }

  void expect_delivery(std::string_view rcpt, RouteKind kind, std::vector<std::uint64_t> users,
                       std::optional<std::uint64_t> auth = std::nullopt, std::string tag = "") {
    auto r = route(rcpt, auth);
    auto* d = std::get_if<Delivery>(&r);
    ASSERT_TRUE(d) << rcpt << " was rejected: " << std::get<Rejection>(r).code << " " << std::get<Rejection>(r).text;
    EXPECT_EQ(d->kind, kind) << rcpt;
    EXPECT_EQ(d->users, users) << rcpt;
    EXPECT_EQ(d->tag, tag) << rcpt;
  }

  void expect_rejection(std::string_view rcpt, int code, const std::string& enhanced,
                        std::optional<std::uint64_t> auth = std::nullopt) {
    auto r = route(rcpt, auth);
    auto* j = std::get_if<Rejection>(&r);
    ASSERT_TRUE(j) << rcpt << " was accepted";
    EXPECT_EQ(j->code, code) << rcpt;
    EXPECT_EQ(j->enhanced, enhanced) << rcpt;
    EXPECT_FALSE(j->text.empty());
  }

  testing::TempDir dir_;
  std::unique_ptr<store::Store> store_;
  RoutingSettings settings_;
  std::uint64_t alice_ = 0, bob_ = 0, carol_ = 0, dave_ = 0, jorg_ = 0;
};

TEST_F(Routing, UsersByPrimaryAddressInAnyCase) {
  expect_delivery("alice@example.test", RouteKind::user, {alice_});
  expect_delivery("ALICE@Example.TEST", RouteKind::user, {alice_});
  expect_delivery("\"alice\"@example.test", RouteKind::user, {alice_});
}

TEST_F(Routing, PlusAddressing) {
  expect_delivery("alice+news@example.test", RouteKind::user, {alice_}, std::nullopt, "news");
  expect_delivery("alice+News+Daily@example.test", RouteKind::user, {alice_}, std::nullopt, "News+Daily");
  settings_.delimiter = "-";
  expect_rejection("alice+news@example.test", 550, "5.1.1");
  expect_delivery("alice-news@example.test", RouteKind::user, {alice_}, std::nullopt, "news");
  settings_.delimiter = "";
  expect_rejection("alice-news@example.test", 550, "5.1.1");
}

TEST_F(Routing, InternationalisedDomainsInEitherForm) {
  expect_delivery("jörg@bücher.example", RouteKind::user, {jorg_});
  expect_delivery("jörg@BÜCHER.example", RouteKind::user, {jorg_});
  expect_delivery("jörg@xn--bcher-kva.example", RouteKind::user, {jorg_});
}

TEST_F(Routing, Aliases) {
  expect_delivery("info@example.test", RouteKind::alias, {alice_});
  expect_delivery("Info+x@example.test", RouteKind::alias, {alice_}, std::nullopt, "x");
  expect_delivery("sales@example.test", RouteKind::alias, {bob_});
}

TEST_F(Routing, GroupsByPostingPolicy) {
  // anyone: every enabled member, once.
  expect_delivery("all@example.test", RouteKind::group, {alice_, bob_});
  // members only: an authenticated member.
  expect_rejection("team@example.test", 550, "5.7.1");
  expect_rejection("team@example.test", 550, "5.7.1", bob_);
  expect_delivery("team@example.test", RouteKind::group, {alice_}, alice_);
  // same domain: an authenticated user of the group's domain.
  expect_rejection("staff@example.test", 550, "5.7.1");
  expect_rejection("staff@example.test", 550, "5.7.1", carol_);
  expect_delivery("staff@example.test", RouteKind::group, {alice_, bob_}, bob_);
  // every member disabled
  expect_rejection("ghosts@example.test", 550, "5.2.1");
}

TEST_F(Routing, ChatStreams) {
  settings_.stream_gateway = streams::parse_pattern("%s@streams.example.test");
  auto r = route("General.0123456789ABCDEF0123456789abcdef.show-sender+include-quotes@Streams.Example.Test");
  auto* d = std::get_if<Delivery>(&r);
  ASSERT_TRUE(d) << std::get<Rejection>(r).text;
  EXPECT_EQ(d->kind, RouteKind::stream);
  EXPECT_EQ(d->stream, "general");
  EXPECT_NE(d->stream_id, 0u);
  EXPECT_TRUE(d->stream_options.show_sender);
  EXPECT_TRUE(d->stream_options.include_quotes);
  EXPECT_FALSE(d->stream_options.include_footer);
  EXPECT_TRUE(d->users.empty());
  // Wrong token, unknown stream, unknown option, no token: no such address.
  expect_rejection("general.0123456789abcdef0123456789abcdee@streams.example.test", 550, "5.1.1");
  expect_rejection("nosuch.0123456789abcdef0123456789abcdef@streams.example.test", 550, "5.1.1");
  expect_rejection("general.0123456789abcdef0123456789abcdef.loud@streams.example.test", 550, "5.1.1");
  expect_rejection("general@streams.example.test", 550, "5.1.1");
  // Disabled, email off, members only (an authenticated member passes).
  expect_rejection("quiet.00000000000000000000000000000001@streams.example.test", 550, "5.7.1");
  expect_rejection("off.00000000000000000000000000000003@streams.example.test", 550, "5.7.1", alice_);
  expect_rejection("team-chat.00000000000000000000000000000002@streams.example.test", 550, "5.7.1");
  expect_rejection("team-chat.00000000000000000000000000000002@streams.example.test", 550, "5.7.1", bob_);
  expect_delivery("team-chat.00000000000000000000000000000002@streams.example.test", RouteKind::stream, {}, alice_);
  // On the MX, a member's MAIL FROM is taken at RCPT, to be proved at the end of DATA.
  auto claimed = route("team-chat.00000000000000000000000000000002@streams.example.test", std::nullopt, "Alice@example.test");
  ASSERT_TRUE(std::holds_alternative<Delivery>(claimed));
  EXPECT_EQ(std::get<Delivery>(claimed).stream_user, alice_);
  EXPECT_TRUE(std::holds_alternative<Rejection>(
      route("team-chat.00000000000000000000000000000002@streams.example.test", std::nullopt, "bob@example.test")));
  EXPECT_EQ(std::get<Delivery>(route("general.0123456789abcdef0123456789abcdef@streams.example.test")).stream_user, 0u);
  // Without a gateway pattern the gateway domain is just some remote domain.
  settings_.stream_gateway.reset();
  expect_rejection("general.0123456789abcdef0123456789abcdef@streams.example.test", 554, "5.7.1");
}

TEST_F(Routing, CatchAllOnAndOff) {
  expect_delivery("anything@other.test", RouteKind::catchall, {carol_});
  expect_delivery("x+y@other.test", RouteKind::catchall, {carol_}, std::nullopt, "y");
  expect_rejection("nobody@example.test", 550, "5.1.1");
  ASSERT_FALSE(store_->commit_sync([](WriteTxn& t) -> std::error_code {
    clear_catchall(t, "other.test").value();
    return {};
  }));
  expect_rejection("anything@other.test", 550, "5.1.1");
}

TEST_F(Routing, DisabledUsers) {
  expect_rejection("dave@example.test", 550, "5.2.1");
}

TEST_F(Routing, RemoteOnlyWhenAuthenticated) {
  expect_rejection("x@remote.example", 554, "5.7.1");
  auto r = route("X.Y@Remote.Example", bob_);
  auto* d = std::get_if<Delivery>(&r);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->kind, RouteKind::remote);
  EXPECT_EQ(d->address, "X.Y@remote.example") << "a remote local part is kept as written";
  EXPECT_TRUE(d->users.empty());
}

TEST_F(Routing, RelayTricksAreRelayDenied) {
  for (const char* trick : {"user%remote.example@example.test", "remote.example!user@example.test",
                            "\"user@remote.example\"@example.test", "@relay.example:alice@example.test",
                            "alice@example.test.", "alice@[127.0.0.1]", "alice@[IPv6:::1]", "alice"}) {
    expect_rejection(trick, 554, "5.7.1");
  }
  // Authenticated, the same forms are not relaying: no such local user, or the route is ignored.
  expect_rejection("user%remote.example@example.test", 550, "5.1.1", bob_);
  expect_delivery("@relay.example:alice@example.test", RouteKind::user, {alice_}, bob_);
  expect_rejection("alice", 501, "5.1.3", bob_);
}

TEST_F(Routing, PostmasterWithoutADomain) {
  expect_delivery("Postmaster", RouteKind::alias, {alice_});
  expect_delivery("postmaster@example.test", RouteKind::alias, {alice_});
}

TEST_F(Routing, SyntaxErrors) {
  for (const char* bad : {"", "a@", "a b@example.test", "a@@example.test", "a..b@example.test"})
    expect_rejection(bad, 501, "5.1.3");
}

TEST_F(Routing, SenderMustBeOwnedOnSubmission) {
  auto txn = store_->read();
  auto ok = [&](std::uint64_t user, std::string_view from) { return !check_sender(*txn, settings_, user, from); };
  EXPECT_TRUE(ok(alice_, "alice@example.test"));
  EXPECT_TRUE(ok(alice_, "Alice+lists@Example.Test"));
  EXPECT_TRUE(ok(alice_, "info@example.test"));
  EXPECT_TRUE(ok(alice_, "postmaster@example.test"));
  EXPECT_TRUE(ok(alice_, ""));
  EXPECT_FALSE(ok(alice_, "bob@example.test"));
  EXPECT_FALSE(ok(alice_, "sales@example.test"));
  EXPECT_FALSE(ok(alice_, "alice@other.test"));
  EXPECT_FALSE(ok(alice_, "alice@example.test."));
  EXPECT_FALSE(ok(alice_, "not an address"));
  // allowed by an administrator: a whole domain, or one address
  EXPECT_TRUE(ok(bob_, "anyone@other.test"));
  EXPECT_TRUE(ok(bob_, "boss@example.test"));
  EXPECT_FALSE(ok(bob_, "alice@example.test"));
  auto r = check_sender(*txn, settings_, alice_, "bob@example.test");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->code, 553);
  EXPECT_EQ(r->enhanced, "5.7.1");
}

// A bounce to an SRS address of ours goes back to the sender it encodes, from anyone, when
// the hash verifies and the stamp is current (docs/outbound.md); anything else is 5.1.1.
TEST_F(Routing, SrsBouncesGoBackToTheOriginalSender) {
  const std::string key = "routing test srs key";
  const auto now = static_cast<std::int64_t>(std::time(nullptr));
  auto srs0 = srs::forward("Orig.Sender@remote.example", "example.test", key, now);
  // Without keys an SRS local part is just an unknown user.
  expect_rejection(srs0, 550, "5.1.1");
  settings_.srs_keys = {"a newer key that signs now", key};
  auto r = route(srs0, std::nullopt, "");
  auto* d = std::get_if<Delivery>(&r);
  ASSERT_TRUE(d) << std::get<Rejection>(r).text;
  EXPECT_EQ(d->kind, RouteKind::remote);
  EXPECT_EQ(d->address, "Orig.Sender@remote.example");
  EXPECT_TRUE(d->users.empty());
  // Case smashed by a relay on the way back, and the other separators.
  std::string upper;
  for (char c : srs0) upper.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
  r = route(upper.substr(0, upper.find('@')) + "@example.test");
  ASSERT_TRUE(std::get_if<Delivery>(&r));
  EXPECT_EQ(std::get<Delivery>(r).address, "ORIG.SENDER@remote.example");
  // SRS1 goes back to the first forwarder, as SRS0.
  auto srs1 = srs::forward("SRS0=abcd=SZ=orig.example=u@first.example", "example.test", key, now);
  r = route(srs1);
  ASSERT_TRUE(std::get_if<Delivery>(&r));
  EXPECT_EQ(std::get<Delivery>(r).address, "SRS0=abcd=SZ=orig.example=u@first.example");
  // One that encodes a local address is delivered here.
  expect_delivery(srs::forward("alice@example.test", "other.test", key, now), RouteKind::user, {alice_});
  // Forged, tampered, expired, another key: no such user.
  auto tampered = srs0;
  tampered.replace(tampered.find("Orig"), 4, "Evil");
  expect_rejection(tampered, 550, "5.1.1");
  expect_rejection("SRS0=AAAA=AA=remote.example=x@example.test", 550, "5.1.1");
  expect_rejection(srs::forward("a@remote.example", "example.test", key, now - 22 * 86400), 550, "5.1.1");
  expect_rejection(srs::forward("a@remote.example", "example.test", "not ours at all", now), 550, "5.1.1");
  expect_rejection("SRS0=broken@example.test", 550, "5.1.1");
  // At a domain that is not ours it is relaying, as ever.
  expect_rejection(srs::forward("a@remote.example", "remote.test", key, now), 554, "5.7.1");
  // The 30-day setting keeps a 22-day-old address valid.
  settings_.srs_max_age_days = 30;
  r = route(srs::forward("a@remote.example", "example.test", key, now - 22 * 86400));
  EXPECT_TRUE(std::get_if<Delivery>(&r));
}

}  // namespace
}  // namespace mailstead::directory
