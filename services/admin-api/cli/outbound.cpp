// The `mailstead` commands of outbound mail: DNS look-ups as the delivery service sees them,
// the outbound queue and its send log, send-test-email. Kept apart from main.cpp so the
// rest of the CLI does not compile Asio.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json.hpp>
#include <cstdio>
#include <ctime>
#include <iostream>

#include "cli/cli.hpp"
#include "cli/operands.hpp"
#include "config/source.hpp"
#include "directory/directory.hpp"
#include "dns/resolver.hpp"
#include "engine.hpp"
#include "queue/dsn.hpp"
#include <sodium.h>
#include <boost/asio/use_awaitable.hpp>
#include "log/log.hpp"
#include "ops/admin_ops.hpp"
#include "ops/test_email.hpp"
#include "queue/queue.hpp"
#include "relay/relay.hpp"
#include "store/mailstore.hpp"
#include "store/store.hpp"

namespace mailstead::cli {

namespace {

namespace json = boost::json;
namespace asio = boost::asio;

using operands::Usage;

std::string hex(std::string_view bytes) {
  static const char digits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out.push_back(digits[c >> 4]);
    out.push_back(digits[c & 15]);
  }
  return out;
}

int dns_lookup(const Args& args, const AllSettings& s) {
  if (args.words.size() != 4) throw Usage{"dns lookup TYPE NAME [--json]"};
  auto type = dns::type_from_name(args.words[2]);
  if (!type) throw Usage{"TYPE is one of A, AAAA, MX, TXT, PTR, NS, CNAME, SRV, TLSA"};
  std::string name = args.words[3];
  if (*type == dns::Type::ptr && !dns::reverse_name(name).empty()) name = dns::reverse_name(name);
  asio::io_context io;
  dns::Resolver resolver(io, {s.core.dns.nameservers, s.core.dns.timeout, s.core.dns.tries}, nullptr);
  dns::Answer answer;
  resolver.async_query(name, *type, [&](dns::Answer a) { answer = std::move(a); });
  io.run();
  std::vector<std::string> lines;
  for (const auto& a : answer.addresses) lines.push_back(a);
  for (const auto& m : answer.mx) lines.push_back(std::to_string(m.preference) + " " + (m.host.empty() ? "." : m.host));
  for (const auto& t : answer.texts) lines.push_back(t);
  for (const auto& n : answer.names) lines.push_back(n);
  for (const auto& v : answer.srv)
    lines.push_back(std::to_string(v.priority) + " " + std::to_string(v.weight) + " " + std::to_string(v.port) + " " +
                    (v.target.empty() ? "." : v.target));
  for (const auto& t : answer.tlsa)
    lines.push_back(std::to_string(t.usage) + " " + std::to_string(t.selector) + " " + std::to_string(t.matching) + " " +
                    hex(t.data));
  if (args.json) {
    json::array records;
    for (const auto& l : lines) records.push_back(json::string(l));
    std::cout << json::serialize(json::object{{"name", dns::normalize_name(name)},
                                              {"type", dns::type_name(*type)},
                                              {"status", dns::status_name(answer.status)},
                                              {"ttl", answer.ttl},
                                              {"authenticated", answer.authenticated},
                                              {"records", records},
                                              {"error", answer.error}})
              << "\n";
  } else {
    std::printf("status=%s ttl=%u authenticated=%s%s%s\n", dns::status_name(answer.status), answer.ttl,
                answer.authenticated ? "yes" : "no", answer.error.empty() ? "" : " error=",
                answer.error.c_str());
    for (const auto& l : lines) std::printf("%s\n", l.c_str());
  }
  return answer.status == dns::Status::servfail || answer.status == dns::Status::timeout ? 1 : 0;
}

std::unique_ptr<store::Store> open(const AllSettings& s) {
  std::error_code ec;
  std::string why;
  auto st = store::open({s.core.store_dir(), s.core.store.map_size, s.core.store.max_readers,
                         s.core.store.max_batches_per_commit},
                        ec, why);
  if (!st) throw std::runtime_error(why);
  return st;
}

std::int64_t now_s() { return static_cast<std::int64_t>(std::time(nullptr)); }

std::string when(std::int64_t t) {
  if (t <= 0) return "-";
  std::time_t tt = static_cast<std::time_t>(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::uint64_t queue_id(const Args& a, std::size_t i) {
  if (a.words.size() <= i) throw Usage{"queue show|retry|delete ID"};
  auto id = admin::parse_queue_id(a.words[i]);
  if (!id) throw Usage{"ID must be a queue id (a number), not '" + a.words[i] + "'"};
  return *id;
}

std::string user_address(store::ReadTxn& txn, std::uint64_t id);

json::object record_json(store::ReadTxn& txn, const store::QueueRecord& r) {
  json::array rcpts, states;
  for (const auto& st : r.states) {
    rcpts.push_back(json::string(st.address));
    states.push_back(json::object{{"address", st.address},
                                  {"state", store::state_name(st.state)},
                                  {"attempts", st.attempts},
                                  {"next_attempt", st.final() ? 0 : st.next_attempt},
                                  {"last_attempt", st.last_attempt},
                                  {"last_reply", st.last_reply},
                                  {"remote", st.remote}});
  }
  return json::object{{"id", r.id},
                      {"sender", r.sender},
                      {"recipients", rcpts},
                      {"states", states},
                      {"authenticated_user", user_address(txn, r.authenticated_user)},
                      {"created", r.created},
                      {"next_attempt", r.next_attempt},
                      {"attempts", r.attempts},
                      {"last_error", r.last_error},
                      {"leased_by", r.lease_until > now_s() ? r.lease_owner : std::string()},
                      {"bounce", (r.flags & store::queue_bounce) != 0}};
}

std::string user_address(store::ReadTxn& txn, std::uint64_t id) {
  if (id == 0) return "";
  auto u = directory::get_user(txn, id);
  return u ? u->address : "#" + std::to_string(id);
}

int queue_list(const Args& args, const AllSettings& s) {
  if (args.words.size() != 2) throw Usage{"queue list [--json]"};
  auto st = open(s);
  auto txn = st->read();
  auto all = queue::list(*txn);
  if (args.json) {
    json::array arr;
    for (const auto& r : all) arr.push_back(record_json(*txn, r));
    std::cout << json::serialize(arr) << "\n";
    return 0;
  }
  for (const auto& r : all) {
    std::string rcpts;
    for (const auto& x : r.states)
      if (!x.final()) rcpts += (rcpts.empty() ? "" : ",") + x.address;
    std::printf("%llu from=<%s> to=%s attempts=%u next=%s%s\n", static_cast<unsigned long long>(r.id), r.sender.c_str(),
                rcpts.c_str(), r.attempts, when(r.next_attempt).c_str(),
                r.last_error.empty() ? "" : (" last_reply=\"" + r.last_error + "\"").c_str());
  }
  return 0;
}

int queue_show(const Args& args, const AllSettings& s) {
  auto id = queue_id(args, 2);
  if (args.words.size() != 3) throw Usage{"queue show ID [--json]"};
  auto st = open(s);
  auto txn = st->read();
  auto r = store::get_queued(*txn, id);
  if (!r) {
    std::fprintf(stderr, "mailstead: no message %llu in the queue (delivered, bounced or deleted)\n",
                 static_cast<unsigned long long>(id));
    return 1;
  }
  if (args.json) {
    std::cout << json::serialize(record_json(*txn, *r)) << "\n";
    return 0;
  }
  auto blob = store::get_blob(*txn, r->blob);
  std::printf("id:        %llu\nfrom:      <%s>\nqueued:    %s\nsize:      %zu\nattempts:  %u\n",
              static_cast<unsigned long long>(r->id), r->sender.c_str(), when(r->created).c_str(),
              r->prefix.size() + (blob ? blob->size() : 0), r->attempts);
  if (r->lease_until > now_s()) std::printf("in flight: %s (until %s)\n", r->lease_owner.c_str(), when(r->lease_until).c_str());
  for (const auto& x : r->states) {
    std::printf("to:        <%s> %s", x.address.c_str(), store::state_name(x.state));
    if (!x.final()) std::printf(", next attempt %s", when(x.next_attempt).c_str());
    if (x.attempts) std::printf(", %u attempt%s", x.attempts, x.attempts == 1 ? "" : "s");
    std::printf("\n");
    if (!x.last_reply.empty()) std::printf("           %s%s%s\n", x.last_reply.c_str(), x.remote.empty() ? "" : " from ", x.remote.c_str());
  }
  return 0;
}

// retry, flush, delete and log are the admin layer's operations (ops/admin_ops.hpp), the
// same the HTTP API calls.
int queue_retry(const Args& args, const AllSettings& s) {
  bool all = args.opts.count("all") > 0;
  std::optional<std::uint64_t> id;
  if (all) {
    if (args.words.size() != 2) throw Usage{"queue retry ID|--all"};
  } else {
    id = queue_id(args, 2);
    if (args.words.size() != 3) throw Usage{"queue retry ID|--all"};
  }
  auto st = open(s);
  admin::Ops ops(*st, s.core);
  auto n = ops.run(ops.plan_retry_queue(id));
  if (!n) {
    std::fprintf(stderr, "mailstead: %s\n", n.error().message.c_str());
    return 1;
  }
  std::printf("%llu message%s due now\n", static_cast<unsigned long long>(*n), *n == 1 ? "" : "s");
  return 0;
}

int queue_flush(const Args& args, const AllSettings& s) {
  if (args.words.size() != 2) throw Usage{"queue flush"};
  Args a = args;
  a.opts["all"] = "";
  return queue_retry(a, s);
}

int queue_delete(const Args& args, const AllSettings& s) {
  auto id = queue_id(args, 2);
  if (args.words.size() != 3) throw Usage{"queue delete ID"};
  auto st = open(s);
  admin::Ops ops(*st, s.core);
  auto r = ops.run(ops.plan_delete_queued(id));
  if (!r) {
    std::fprintf(stderr, "mailstead: %s\n", r.error().message.c_str());
    return 1;
  }
  std::printf("deleted %llu (no bounce is sent)\n", static_cast<unsigned long long>(id));
  return 0;
}

int queue_log(const Args& args, const AllSettings& s) {
  if (args.words.size() != 2) throw Usage{"queue log [--since T] [--limit N] [--json]"};
  auto since = admin::parse_since(operands::opt(args, "since"), now_s());
  if (!since) throw Usage{"queue log [--since T] [--limit N] [--json]   (T: seconds since 1970, 2024-01-02T03:04:05Z, or 90m/2h/7d ago)"};
  std::size_t limit = 100000;
  if (args.opts.count("limit")) {
    auto n = admin::parse_queue_id(args.opts.at("limit"));
    if (!n) throw Usage{"queue log --limit N   (N: how many of the latest entries, at least 1)"};
    limit = static_cast<std::size_t>(std::min<std::uint64_t>(*n, limit));
  }
  auto st = open(s);
  admin::Ops ops(*st, s.core);
  auto entries = ops.send_log(*since, limit);
  if (args.json) {
    json::array arr;
    for (const auto& e : entries)
      arr.push_back(json::object{{"time", e.time},         {"queue_id", e.queue_id}, {"sender", e.sender},
                                 {"recipient", e.recipient}, {"remote", e.remote},     {"tls", e.tls},
                                 {"reply", e.reply},       {"result", queue::result_name(e.result)},
                                 {"security", e.security}});
    std::cout << json::serialize(arr) << "\n";
    return 0;
  }
  for (const auto& e : entries)
    std::printf("%s %llu <%s> -> <%s> %s%s%s%s%s \"%s\"\n", when(e.time).c_str(), static_cast<unsigned long long>(e.queue_id),
                e.sender.c_str(), e.recipient.c_str(), queue::result_name(e.result), e.remote.empty() ? "" : " via ",
                e.remote.c_str(), e.tls.empty() ? "" : (" " + e.tls).c_str(),
                e.security.empty() ? "" : (" [" + e.security + "]").c_str(), e.reply.c_str());
  return 0;
}

std::string checked_address(const Args& args, std::size_t words, const char* usage) {
  if (args.words.size() != words) throw Usage{usage};
  const auto& to = args.words.back();
  auto at = to.rfind('@');
  if (at == std::string::npos || at == 0 || at + 1 == to.size() || to.find_first_of(" <>\r\n") != std::string::npos)
    throw Usage{std::string(usage) + "   (an address such as you@example.org)"};
  return to;
}

std::string first_domain(store::Store& st) {
  auto txn = st.read();
  auto domains = directory::list_domains(*txn);
  return domains.empty() ? std::string() : domains.front().name;
}

std::string default_from(const AllSettings& s, const std::string& domain) {
  if (!s.outbound.from.empty()) return s.outbound.from;
  if (domain.empty())
    throw std::runtime_error("there is no local domain yet: add one (mailstead domain add) or set [outbound] from");
  return "postmaster@" + domain;
}

// Queues `sent` to `to` already leased to this command (so a running mailstead-deliverd
// leaves them alone), delivers them now through the service's own code, and prints for each
// where it went and what the receiving server said, or exactly why it did not go. The steps
// are ops/test_email.hpp's, which POST /api/v1/send-test-email shares.
int send_and_report(const Args& args, const AllSettings& s, store::Store& st, std::vector<admin::test_email::Message> sent,
                    const std::string& to) {
  asio::io_context io;
  outbound::Engine engine(io, st, s.core, s.outbound);
  admin::Ops ops(st, s.core);
  auto queued = ops.run(admin::test_email::plan_enqueue(std::move(sent), to, s.core.hostname, engine.owner(),
                                                        now_s() + engine.lease_seconds()));
  if (!queued) throw std::runtime_error(queued.error().message);
  std::vector<std::uint64_t> ids;
  for (const auto& m : *queued) ids.push_back(m.id);
  std::vector<outbound::Engine::Report> reports;
  asio::co_spawn(io, engine.deliver_now(ids), [&](std::exception_ptr e, std::vector<outbound::Engine::Report> r) {
    if (e) std::rethrow_exception(e);
    reports = std::move(r);
  });
  io.run();

  bool all_ok = true;
  json::array out;
  std::uint64_t last = 0;
  std::size_t n = 0;
  for (const auto& oc : admin::test_email::outcomes(*queued, to, reports)) {
    bool ok = oc.result == queue::Result::delivered;
    all_ok &= ok;
    if (args.json) {
      out.push_back(json::object{{"queue_id", oc.queue_id}, {"from", oc.from}, {"to", oc.to},
                                 {"result", queue::result_name(oc.result)}, {"route", oc.route},
                                 {"tls", oc.tls}, {"reply", oc.reply}});
      continue;
    }
    if (oc.queue_id != last) ++n;
    last = oc.queue_id;
    std::printf("Message %zu of %zu, from %s (%s), queue id %llu\n", n, queued->size(), oc.from.c_str(), oc.which.c_str(),
                static_cast<unsigned long long>(oc.queue_id));
    std::printf("  to:     <%s>\n", oc.to.c_str());
    std::printf("  result: %s\n", ok ? "delivered"
                                      : oc.result == queue::Result::failed
                                            ? "FAILED (bounced; the queue no longer holds it)"
                                            : "NOT delivered yet (deferred: mailstead-deliverd will retry; see mailstead queue show)");
    if (!oc.route.empty()) std::printf("  route:  %s\n", oc.route.c_str());
    std::printf("  TLS:    %s\n", oc.tls.empty() ? "none" : oc.tls.c_str());
    std::printf("  %s %s\n", ok ? "reply: " : "why:   ", oc.reply.c_str());
  }
  if (args.json) std::cout << json::serialize(out) << "\n";
  return all_ok ? 0 : 1;
}

// mailstead send-test-email ADDRESS: two messages through the real delivery path, one from
// the default From and one from the noreply address.
int send_test_email(const Args& args, const AllSettings& s) {
  auto to = checked_address(args, 2, "send-test-email ADDRESS");
  auto st = open(s);
  auto msgs = admin::test_email::prepare(*st->read(), s.outbound, to);
  if (!msgs) throw std::runtime_error(msgs.error().message);
  return send_and_report(args, s, *st, std::move(*msgs), to);
}

// mailstead relay test ADDRESS: one message from the default From through the relay that
// From's domain uses (its own or the default), reported as send-test-email reports.
int relay_test(const Args& args, const AllSettings& s) {
  auto to = checked_address(args, 3, "relay test ADDRESS");
  if (sodium_init() < 0) throw std::runtime_error("libsodium failed to start");
  auto st = open(s);
  auto from = default_from(s, first_domain(*st));
  auto sender_domain = from.substr(from.rfind('@') + 1);
  std::optional<relay::Relay> r;
  {
    auto txn = st->read();
    r = relay::relay_for(*txn, sender_domain, s.core.secrets);
  }
  if (!r)
    throw std::runtime_error("no relay is set for " + sender_domain +
                             " nor a default one: mail goes straight to MX hosts (mailstead relay set HOST:PORT)");
  if (!args.json)
    std::printf("Relay %s:%u (%s%s%s) for mail from %s\n", r->host.c_str(), r->port, relay::security_name(r->security),
                r->user.empty() ? ", no login" : ", user ", r->user.c_str(), from.c_str());
  return send_and_report(args, s, *st, {{from, "the default From address, through the relay", 0}}, to);
}

struct Command {
  const char* noun;
  const char* verb;
  const char* usage;
  int (*handler)(const Args&, const AllSettings&);
};

const Command commands[] = {
    {"dns", "lookup", "dns lookup TYPE NAME [--json]   (A, AAAA, MX, TXT, PTR, TLSA as the delivery service sees them)", dns_lookup},
    {"send-test-email", "", "send-test-email ADDRESS [--json]   (two messages: the default From and the noreply address)", send_test_email},
    {"relay", "test", "relay test ADDRESS [--json]   (one message through the relay, reported like send-test-email)", relay_test},
    {"queue", "list", "queue list [--json]", queue_list},
    {"queue", "show", "queue show ID [--json]   (each recipient's state and last reply)", queue_show},
    {"queue", "retry", "queue retry ID|--all", queue_retry},
    {"queue", "flush", "queue flush   (everything waiting is due now)", queue_flush},
    {"queue", "delete", "queue delete ID   (no bounce)", queue_delete},
    {"queue", "log", "queue log [--since T] [--limit N] [--json]", queue_log},
};

}  // namespace

std::vector<std::string> outbound_usage() {
  std::vector<std::string> out;
  for (const auto& c : commands) out.push_back(c.usage);
  return out;
}

int run_outbound(const Args& args) {
  if (args.words.empty()) return -1;
  const Command* cmd = nullptr;
  bool noun = false;
  for (const auto& c : commands) {
    if (args.words[0] != c.noun) continue;
    noun = true;
    if (std::string_view(c.verb).empty() || (args.words.size() > 1 && args.words[1] == c.verb)) cmd = &c;
  }
  if (!noun) return -1;
  if (!cmd && args.words[0] == "queue" && args.words.size() > 1 && args.words[1] == "get") return -1;  // main.cpp
  if (!cmd && args.words[0] == "relay") return -1;  // relay set/show/clear: main.cpp
  if (!cmd) {
    std::fprintf(stderr, "mailstead: unknown or missing verb for '%s'; one of:\n", args.words[0].c_str());
    for (const auto& c : commands)
      if (args.words[0] == c.noun) std::fprintf(stderr, "  mailstead %s\n", c.usage);
    return 2;
  }
  if (int rc = check_options(args, cmd->usage)) return rc;
  int rc = 0;
  auto loaded = load_for_command(args, rc);
  if (!loaded) return rc;
  const AllSettings& settings = *loaded;
  try {
    return cmd->handler(args, settings);
  } catch (const Usage& u) {
    std::fprintf(stderr, "mailstead: usage: mailstead %s\n", u.text.c_str());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "mailstead: %s\n", e.what());
    return 1;
  }
}

}  // namespace mailstead::cli
