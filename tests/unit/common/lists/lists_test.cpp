// Pattern-matched lists (docs/lists.md): checking patterns and templates, matching with
// named captures, expansion through users, aliases and groups, the routing step with its
// precedence and refusals, registered external addresses, and the privacy rewrite.
#include "lists/lists.hpp"

#include <gtest/gtest.h>

#include "../../test_support.hpp"
#include "directory/directory.hpp"
#include "lists/message.hpp"
#include "store/store.hpp"

namespace mailstead::lists {
namespace {

using directory::Delivery;
using directory::Rejection;
using directory::RouteKind;
using store::WriteTxn;

constexpr const char* pattern = R"(^(?<code>[a-z0-9]+)-students@classes\.test$)";

TEST(ListCheck, PatternsAndTemplates) {
  auto ok = check("Classes", pattern, {"{code}-students@groups.test", "archive@outside.test"}, "Site.Test");
  ASSERT_TRUE(ok) << ok.error().message;
  EXPECT_EQ(ok->name, "classes");
  EXPECT_EQ(ok->site_domain, "site.test");
  auto field = [](const Result<ListRecord>& r) { return r ? std::string("(accepted)") : r.error().field; };
  EXPECT_EQ(field(check("x", "^(unclosed", {"a@b.test"}, "s.test")), "pattern");
  EXPECT_EQ(field(check("x", "(?<=a)b", {"a@b.test"}, "s.test")), "pattern");
  EXPECT_EQ(field(check("x", pattern, {"{course}@b.test"}, "s.test")), "templates");
  EXPECT_EQ(field(check("x", pattern, {"{code@b.test"}, "s.test")), "templates");
  EXPECT_EQ(field(check("x", pattern, {"{code}"}, "s.test")), "templates");
  EXPECT_EQ(field(check("x", pattern, {}, "s.test")), "templates");
  EXPECT_EQ(field(check("bad name", pattern, {"a@b.test"}, "s.test")), "name");
  EXPECT_EQ(field(check("x", pattern, {"a@b.test"}, "")), "site_domain");
  EXPECT_EQ(field(check("x", "(?P<code>a)@b", {"{code}@b.test"}, "s.test")), "(accepted)");
}

TEST(ListMatch, NamedCapturesAndFill) {
  auto m = match(pattern, "cs101-students@classes.test");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->at("code"), "cs101");
  EXPECT_FALSE(match(pattern, "cs101-students@classes.test.evil"));
  EXPECT_FALSE(match(pattern, "x-cs101-students@classes.testx"));
  EXPECT_EQ(fill("{code}-students@Groups.Test", *m), "cs101-students@groups.test");
  EXPECT_FALSE(fill("{code}@groups.test", {{"code", "a@evil.test"}}));  // a capture cannot bring a domain
  EXPECT_FALSE(fill("{code}@groups.test", {{"code", "a b"}}));
  EXPECT_FALSE(fill("{code}@groups.test", {{"code", ""}}));
}

class ListRouting : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = testing::open_store(dir_.path());
    ASSERT_FALSE(store_->commit_sync([&](WriteTxn& t) -> std::error_code {
      for (auto d : {"example.test", "groups.test", "classes.test", "site.test", "other.test"})
        directory::add_domain(t, d).value();
      ann_ = directory::add_user(t, {"ann@example.test", "h", "Ann", 0}).value().id;
      bob_ = directory::add_user(t, {"bob@example.test", "h", "", 0}).value().id;
      carl_ = directory::add_user(t, {"carl@example.test", "h", "", 0}).value().id;
      directory::add_user(t, {"carl@other.test", "h", "", 0}).value();  // shares carl's local part
      directory::add_alias(t, "teacher@example.test", "ann@example.test").value();
      directory::add_group(t, "cs101-students@groups.test", {"ann@example.test", "bob@example.test"}).value();
      directory::add_group(t, "exact-students@classes.test", {"bob@example.test"}).value();
      directory::set_catchall(t, "classes.test", {"carl@example.test"}).value();
      add_list(t, check("classes", pattern, {"{code}-students@groups.test", "teacher@example.test", "archive@outside.test"},
                        "site.test").value()).value();
      add_list(t, check("clubs", R"(^(?<club>[a-z]+)-club@classes\.test$)", {"{club}-members@groups.test"}, "site.test")
                      .value()).value();
      add_external(t, bob_, "Bob@Home.Test").value();
      return {};
    }));
  }

  directory::Route route(std::string_view rcpt, std::string sender, std::optional<std::uint64_t> auth = std::nullopt) {
    auto txn = store_->read();
    return directory::resolve(*txn, settings_, rcpt, directory::RouteContext{std::move(sender), auth});
  }

  testing::TempDir dir_;
  std::unique_ptr<store::Store> store_;
  directory::RoutingSettings settings_;
  std::uint64_t ann_ = 0, bob_ = 0, carl_ = 0;
};

TEST_F(ListRouting, ExpandsGroupsAliasesAndFixedAddresses) {
  auto txn = store_->read();
  auto l = get_list(*txn, "classes").value();
  auto members = expand(*txn, l, {{"code", "cs101"}});
  ASSERT_EQ(members.size(), 3u);  // ann once (group and alias), bob, the archive
  EXPECT_EQ(members[0].address, "ann@example.test");
  EXPECT_EQ(members[1].address, "bob@example.test");
  EXPECT_EQ(members[2].address, "archive@outside.test");
  EXPECT_EQ(members[2].user, 0u);
}

TEST_F(ListRouting, AccountHoldersPostOthersAreRefused) {
  auto r = route("CS101-Students@classes.test", "", ann_);
  auto* d = std::get_if<Delivery>(&r);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->kind, RouteKind::list);
  EXPECT_EQ(d->list, "classes");
  EXPECT_EQ(d->list_poster, ann_);
  EXPECT_TRUE(d->users.empty());
  // Unauthenticated: the envelope sender's account (proven later, at DATA).
  r = route("cs101-students@classes.test", "teacher+x@example.test");
  ASSERT_TRUE(std::holds_alternative<Delivery>(r));
  EXPECT_EQ(std::get<Delivery>(r).list_poster, ann_);
  r = route("cs101-students@classes.test", "bob@home.test");
  ASSERT_TRUE(std::holds_alternative<Delivery>(r));
  EXPECT_EQ(std::get<Delivery>(r).list_poster, bob_);
  for (auto sender : {"stranger@outside.test", ""}) {
    r = route("cs101-students@classes.test", sender);
    auto* j = std::get_if<Rejection>(&r);
    ASSERT_TRUE(j) << sender;
    EXPECT_EQ(j->code, 550);
    EXPECT_EQ(j->enhanced, "5.7.1");
  }
}

TEST_F(ListRouting, PrecedenceAfterGroupsBeforeCatchAll) {
  // An exact group wins over the pattern.
  auto r = route("exact-students@classes.test", "bob@example.test");
  ASSERT_TRUE(std::holds_alternative<Delivery>(r));
  EXPECT_EQ(std::get<Delivery>(r).kind, RouteKind::group);
  // A pattern that matches but reaches nobody is unknown, not the catch-all.
  r = route("chess-club@classes.test", "bob@example.test");
  ASSERT_TRUE(std::holds_alternative<Rejection>(r));
  EXPECT_EQ(std::get<Rejection>(r).enhanced, "5.1.1");
  // No pattern matches: the catch-all.
  r = route("office@classes.test", "x@outside.test");
  ASSERT_TRUE(std::holds_alternative<Delivery>(r));
  EXPECT_EQ(std::get<Delivery>(r).kind, RouteKind::catchall);
}

TEST_F(ListRouting, SiteAliasesReachTheirUser) {
  auto r = route("ann@site.test", "x@outside.test");
  ASSERT_TRUE(std::holds_alternative<Delivery>(r));
  EXPECT_EQ(std::get<Delivery>(r).users, std::vector<std::uint64_t>{ann_});
  // Two users named carl: nobody has the alias.
  r = route("carl@site.test", "x@outside.test");
  ASSERT_TRUE(std::holds_alternative<Rejection>(r));
  auto txn = store_->read();
  EXPECT_EQ(site_alias_owner(*txn, "ann@site.test"), ann_);
  EXPECT_FALSE(site_alias_owner(*txn, "carl@site.test"));
}

TEST_F(ListRouting, ExternalAddresses) {
  ASSERT_FALSE(store_->commit_sync([&](WriteTxn& t) -> std::error_code {
    EXPECT_EQ(add_external(t, ann_, "bob@home.test").error().kind, ErrorKind::conflict);
    EXPECT_EQ(add_external(t, ann_, "ann@example.test").error().field, "address");  // a local domain
    EXPECT_EQ(add_external(t, ann_, "not an address").error().field, "address");
    EXPECT_TRUE(add_external(t, bob_, "bob@home.test"));  // again: no change
    return {};
  }));
  auto txn = store_->read();
  EXPECT_EQ(external_owner(*txn, "BOB@home.test"), bob_);
  EXPECT_EQ(externals_of(*txn, bob_), std::vector<std::string>{"bob@home.test"});
  EXPECT_EQ(account_of(*txn, "bob@home.test", "+"), bob_);
  EXPECT_EQ(account_of(*txn, "Teacher+tag@example.test", "+"), ann_);
  EXPECT_FALSE(account_of(*txn, "nobody@home.test", "+"));
}

TEST(ListCopy, ShowsTheAliasAndHidesTheSender) {
  std::string msg =
      "Received: from laptop (host.example [192.0.2.1])\r\n\tby mail (Mailstead) id 1\r\n\t(authenticated as ann@example.test)\r\n"
      "From: Ann <ann@example.test>\r\nSender: ann@example.test\r\nReply-To: ann@example.test\r\n"
      "Return-Path: <ann@example.test>\r\nDisposition-Notification-To: ann@example.test\r\n"
      "DKIM-Signature: v=1; d=example.test;\r\n b=abc\r\nTo: cs101-students@classes.test\r\nSubject: Hi\r\n"
      "\r\nBody mentions nothing.\r\n";
  auto out = list_copy(msg, {"classes", "cs101-students@classes.test", "site.test", "ann@site.test", "Ann \"T\" Lee"});
  EXPECT_EQ(out.find("ann@example.test"), std::string::npos) << out;
  EXPECT_EQ(out.find("192.0.2.1"), std::string::npos) << out;
  EXPECT_NE(out.find("From: \"Ann \\\"T\\\" Lee\" <ann@site.test>\r\n"), std::string::npos) << out;
  EXPECT_NE(out.find("List-Id: <classes.site.test>\r\n"), std::string::npos);
  EXPECT_NE(out.find("To: cs101-students@classes.test\r\nSubject: Hi\r\n\r\nBody mentions nothing.\r\n"), std::string::npos);
  EXPECT_TRUE(passed_list(out.substr(0, out.find("\r\n\r\n") + 2), "classes", "site.test"));
  EXPECT_FALSE(passed_list(out.substr(0, out.find("\r\n\r\n") + 2), "clubs", "site.test"));
  EXPECT_EQ(mailbox("", "a@b.test"), "<a@b.test>");
  EXPECT_EQ(mailbox("Jörg", "j@b.test"), "=?UTF-8?B?SsO2cmc=?= <j@b.test>");
}

}  // namespace
}  // namespace mailstead::lists
