#include "queue/queue.hpp"

#include <gtest/gtest.h>

#include "../../test_support.hpp"
#include "queue/dsn.hpp"
#include "mime/mime.hpp"
#include "store/mailstore.hpp"
#include "store/schema.hpp"
#include "store/store.hpp"
#include "util/bytes.hpp"

using namespace mailstead;
using namespace mailstead::store;
using mailstead::testing::open_store;
using mailstead::testing::TempDir;

namespace {

std::uint64_t put_message(Store& s, const std::string& sender, std::vector<std::string> rcpts, std::int64_t now,
                          const std::string& body = "From: a@local.test\r\nSubject: hello\r\n\r\nbody\r\n") {
  std::uint64_t id = 0;
  EXPECT_FALSE(s.commit_sync([&](WriteTxn& t) -> std::error_code {
    auto key = blob_key(body);
    put_blob(t, key, body);
    QueueRecord q;
    q.sender = sender;
    q.recipients = rcpts;
    q.blob = key;
    q.created = now;
    q.next_attempt = now;
    id = enqueue(t, q).value();
    return {};
  }));
  return id;
}

std::vector<QueueRecord> claim(Store& s, std::int64_t now, const std::string& owner, const queue::Policy& p) {
  std::vector<QueueRecord> out;
  s.commit_sync([&](WriteTxn& t) {
    out = queue::claim(t, now, owner, p, 100);
    return std::error_code{};
  });
  return out;
}

}  // namespace

TEST(Queue, Backoff) {
  queue::Policy p;
  EXPECT_EQ(queue::backoff(p, 1), 300);
  EXPECT_EQ(queue::backoff(p, 2), 600);
  EXPECT_EQ(queue::backoff(p, 3), 1200);
  EXPECT_EQ(queue::backoff(p, 4), 2400);
  EXPECT_EQ(queue::backoff(p, 7), 14400);  // capped at 4 h
  EXPECT_EQ(queue::backoff(p, 60), 14400);
}

TEST(Queue, LeasesKeepInstancesApartAndExpire) {
  TempDir dir;
  auto s = open_store(dir.path());
  queue::Policy p;
  p.lease = 60;
  auto id = put_message(*s, "a@local.test", {"x@remote.test"}, 1000);
  auto first = claim(*s, 1000, "A", p);
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(first[0].id, id);
  EXPECT_TRUE(claim(*s, 1000, "B", p).empty()) << "claimed by A";
  EXPECT_TRUE(claim(*s, 1059, "B", p).empty()) << "A's lease still runs";
  // A died: at the lease's end B takes it up.
  auto second = claim(*s, 1060, "B", p);
  ASSERT_EQ(second.size(), 1u);
  EXPECT_EQ(second[0].lease_owner, "B");
  // A renewing now changes nothing: the lease is B's.
  s->commit_sync([&](WriteTxn& t) { return queue::renew(t, {id}, "A", 5000); });
  EXPECT_EQ(get_queued(*s->read(), id)->lease_owner, "B");
}

TEST(Queue, DeferredRecipientsRetryOnScheduleOthersAreDone) {
  TempDir dir;
  auto s = open_store(dir.path());
  queue::Policy p;
  auto id = put_message(*s, "a@local.test", {"ok@remote.test", "later@remote.test"}, 1000);
  ASSERT_EQ(claim(*s, 1000, "A", p).size(), 1u);
  s->commit_sync([&](WriteTxn& t) {
    return queue::settle(t, id, "A",
                         {{"ok@remote.test", queue::Result::delivered, "250 ok", "mx [127.0.0.1]", "TLSv1.3"},
                          {"later@remote.test", queue::Result::deferred, "451 4.3.0 try later", "mx [127.0.0.1]", ""}},
                         1001, p);
  });
  auto q = get_queued(*s->read(), id);
  ASSERT_TRUE(q);
  EXPECT_EQ(q->states[0].state, RecipientState::delivered);
  EXPECT_EQ(q->states[1].state, RecipientState::deferred);
  EXPECT_EQ(q->states[1].next_attempt, 1001 + 300);
  EXPECT_EQ(q->last_error, "451 4.3.0 try later");
  EXPECT_TRUE(q->lease_owner.empty());
  EXPECT_TRUE(claim(*s, 1300, "A", p).empty());
  ASSERT_EQ(claim(*s, 1301, "A", p).size(), 1u);
  s->commit_sync([&](WriteTxn& t) {
    return queue::settle(t, id, "A", {{"later@remote.test", queue::Result::delivered, "250 ok", "", ""}}, 1302, p);
  });
  auto r = s->read();
  EXPECT_FALSE(get_queued(*r, id)) << "every recipient final: the record is gone";
  EXPECT_FALSE(get_blob(*r, blob_key("From: a@local.test\r\nSubject: hello\r\n\r\nbody\r\n"))) << "and its blob";
  auto log = queue::read_log(*r, 0);
  ASSERT_EQ(log.size(), 3u);
  EXPECT_EQ(log[0].tls, "TLSv1.3");
  EXPECT_EQ(log[1].result, queue::Result::deferred);
  EXPECT_EQ(queue::read_log(*r, 1302).size(), 1u);
}

TEST(Queue, FailureQueuesOneDsnToTheSenderNeverToNullSender) {
  TempDir dir;
  auto s = open_store(dir.path());
  queue::Policy p;
  p.hostname = "mail.local.test";
  auto id = put_message(*s, "a@local.test", {"x@remote.test", "y@remote.test"}, 1000);
  claim(*s, 1000, "A", p);
  queue::Settled settled;
  s->commit_sync([&](WriteTxn& t) {
    return queue::settle(t, id, "A",
                         {{"x@remote.test", queue::Result::failed, "550 5.1.1 <x@remote.test>: unknown user", "mx [127.0.0.1]", ""},
                          {"y@remote.test", queue::Result::failed, "552 5.2.2 mailbox full", "mx [127.0.0.1]", ""}},
                         1001, p, &settled);
  });
  EXPECT_TRUE(settled.finished);
  ASSERT_NE(settled.dsn_id, 0u);
  auto r = s->read();
  auto dsn = get_queued(*r, settled.dsn_id);
  ASSERT_TRUE(dsn);
  EXPECT_EQ(dsn->sender, "");
  EXPECT_EQ(dsn->recipients, std::vector<std::string>{"a@local.test"});
  EXPECT_TRUE(dsn->flags & queue_bounce);
  std::string bytes(*get_blob(*r, dsn->blob));
  EXPECT_NE(bytes.find("multipart/report; report-type=delivery-status"), std::string::npos);
  EXPECT_NE(bytes.find("Final-Recipient: rfc822; x@remote.test\r\nAction: failed\r\nStatus: 5.1.1"), std::string::npos);
  EXPECT_NE(bytes.find("Status: 5.2.2"), std::string::npos);
  EXPECT_NE(bytes.find("Diagnostic-Code: smtp; 550 5.1.1"), std::string::npos);
  EXPECT_NE(bytes.find("Content-Type: text/rfc822-headers\r\n\r\nFrom: a@local.test\r\nSubject: hello\r\n"), std::string::npos);
  EXPECT_EQ(bytes.find("body\r\n"), std::string::npos) << "headers only";
  r.reset();
  // The DSN itself failing makes no DSN.
  claim(*s, 1002, "A", p);
  s->commit_sync([&](WriteTxn& t) {
    return queue::settle(t, settled.dsn_id, "A", {{"a@local.test", queue::Result::failed, "550 no", "", ""}}, 1003, p,
                         &settled);
  });
  EXPECT_EQ(settled.dsn_id, 0u);
  EXPECT_TRUE(queue::list(*s->read()).empty());
}

TEST(Queue, PastTheLifetimeBouncedNotSent) {
  TempDir dir;
  auto s = open_store(dir.path());
  queue::Policy p;
  p.lifetime = 5 * 86400;
  auto id = put_message(*s, "a@local.test", {"x@remote.test"}, 1000);
  claim(*s, 1000 + p.lifetime, "A", p);
  queue::Settled settled;
  s->commit_sync([&](WriteTxn& t) { return queue::settle(t, id, "A", {}, 1000 + p.lifetime, p, &settled); });
  EXPECT_TRUE(settled.finished);
  ASSERT_NE(settled.dsn_id, 0u);
  auto r = s->read();
  std::string bytes(*get_blob(*r, get_queued(*r, settled.dsn_id)->blob));
  EXPECT_NE(bytes.find("Status: 4.4.7"), std::string::npos);
  EXPECT_NE(bytes.find("delivery time expired"), std::string::npos);
}

TEST(Queue, DelayWarningOnce) {
  TempDir dir;
  auto s = open_store(dir.path());
  queue::Policy p;
  p.delay_warning = 3600;
  auto id = put_message(*s, "a@local.test", {"x@remote.test"}, 1000);
  auto attempt = [&](std::int64_t now) {
    claim(*s, now, "A", p);
    queue::Settled out;
    s->commit_sync([&](WriteTxn& t) {
      return queue::settle(t, id, "A", {{"x@remote.test", queue::Result::deferred, "451 later", "", ""}}, now, p, &out);
    });
  };
  attempt(1000);
  EXPECT_EQ(queue::list(*s->read()).size(), 1u);
  attempt(1000 + 3600);
  EXPECT_EQ(queue::list(*s->read()).size(), 2u) << "the original and one warning";
  attempt(1000 + 7200);
  auto all = queue::list(*s->read());
  EXPECT_EQ(all.size(), 2u) << "warned once only";
  std::string bytes(*get_blob(*s->read(), all[1].blob));
  EXPECT_NE(bytes.find("Action: delayed"), std::string::npos);
}

TEST(Queue, MigratesVersion2RecordsAndIndexesThem) {
  TempDir dir;
  std::uint64_t id = 7;
  {
    auto s = open_store(dir.path());
    ASSERT_FALSE(s->commit_sync([&](WriteTxn& t) -> std::error_code {
      std::string body = "Subject: old\r\n\r\nx\r\n";
      auto key = blob_key(body);
      put_blob(t, key, body);
      BlobRef ref{1, body.size()};
      t.put(Table::blob_refs, key, ref.encode());
      QueueRecord q;
      q.id = id;
      q.sender = "a@local.test";
      q.recipients = {"x@remote.test", "y@remote.test"};
      q.blob = key;
      q.created = 100;
      q.next_attempt = 100;
      q.last_error = "old error";
      t.put(Table::queue, key_u64(id), q.encode_v2());
      return schema::set_version(t, 2);
    }));
  }
  auto s = open_store(dir.path());
  auto q = get_queued(*s->read(), id);
  ASSERT_TRUE(q);
  ASSERT_EQ(q->states.size(), 2u);
  EXPECT_EQ(q->states[1].address, "y@remote.test");
  EXPECT_EQ(q->states[1].state, RecipientState::pending);
  EXPECT_EQ(q->due, 100);
  queue::Policy p;
  EXPECT_EQ(claim(*s, 100, "A", p).size(), 1u) << "listed in queue_due";
}

TEST(Dsn, StatusOf) {
  EXPECT_EQ(queue::status_of("550 5.1.1 <x>: no"), "5.1.1");
  EXPECT_EQ(queue::status_of("451 try later"), "4.0.0");
  EXPECT_EQ(queue::status_of("554 4.1.1 mismatched"), "5.0.0");
  EXPECT_EQ(queue::status_of("5.1.10 example.net accepts no mail"), "5.1.10");
  EXPECT_EQ(queue::status_of("connection refused"), "4.0.0");
}
