// `mailstead stream …` (docs/cli.md, docs/streams.md): chat streams, their members and email
// address, posting and reading messages, through the admin operations (ops/streams.hpp).
#include <boost/json.hpp>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>

#include "cli/cli.hpp"
#include "cli/operands.hpp"
#include "cli/stream_forward.hpp"
#include "config/source.hpp"
#include "log/log.hpp"
#include "ops/admin_ops.hpp"
#include "ops/streams.hpp"
#include "service/service.hpp"
#include "store/store.hpp"
#include "streams/watch.hpp"

namespace mailstead::cli {

namespace {

namespace json = boost::json;

using operands::expect_operands;
using operands::fail;
using operands::operand;
using operands::opt;
using operands::Usage;

struct Env {
  const Args& args;
  admin::StreamOps& streams;
};

void print_json(const json::value& v) { std::cout << json::serialize(v) << "\n"; }

json::object stream_json(const admin::StreamView& v) {
  json::array members;
  for (const auto& m : v.members) members.push_back(json::value(m));
  const auto& s = v.stream;
  return json::object{{"stream_id", s.id},
                      {"slug", s.slug},
                      {"name", s.name},
                      {"description", s.description},
                      {"members", members},
                      {"enabled", s.enabled},
                      {"email_posting", directory::email_posting_name(s.email_posting)},
                      {"unauthenticated", directory::unauthenticated_name(s.unauthenticated)},
                      {"email_address", v.address},
                      {"created", s.created}};
}

template <class T>
Result<T> run(admin::StreamOps& s, admin::Change<T> c) {
  return s.ops().run(std::move(c));
}

int stream_add(Env& e) {
  auto& name = operand(e.args, 2, "NAME");
  expect_operands(e.args, 3);
  auto r = run(e.streams, e.streams.plan_add(name, opt(e.args, "slug"), opt(e.args, "description"),
                                             opt(e.args, "email-posting")));
  if (!r) return fail(r.error());
  auto v = e.streams.get(r->slug);
  if (e.args.json) print_json(stream_json(*v));
  else std::printf("added stream %s%s%s\n", r->slug.c_str(), v->address.empty() ? "" : ": ", v->address.c_str());
  return 0;
}

int stream_list(Env& e) {
  expect_operands(e.args, 2);
  auto all = e.streams.list();
  if (e.args.json) {
    json::array arr;
    for (const auto& v : all) arr.push_back(stream_json(v));
    print_json(arr);
    return 0;
  }
  for (const auto& v : all)
    std::printf("%s\t%s\t%s\t%zu members\n", v.stream.slug.c_str(), v.stream.enabled ? "enabled" : "disabled",
                v.stream.name.c_str(), v.members.size());
  return 0;
}

int stream_show(Env& e) {
  auto& slug = operand(e.args, 2, "STREAM");
  expect_operands(e.args, 3);
  auto v = e.streams.get(slug);
  if (!v) return fail(v.error());
  if (e.args.json) {
    print_json(stream_json(*v));
    return 0;
  }
  const auto& s = v->stream;
  std::printf("stream:        %s\nname:          %s\n", s.slug.c_str(), s.name.c_str());
  if (!s.description.empty()) std::printf("description:   %s\n", s.description.c_str());
  std::printf("enabled:       %s\nemail posting: %s\n", s.enabled ? "yes" : "no", directory::email_posting_name(s.email_posting));
  std::printf("unauthenticated email: %s\n", directory::unauthenticated_name(s.unauthenticated));
  std::printf("address:       %s\n",
              v->address.empty() ? "(the gateway is off: set [streams] gateway_pattern)" : v->address.c_str());
  std::printf("members:      ");
  for (const auto& m : v->members) std::printf(" %s", m.c_str());
  std::printf("%s\n", v->members.empty() ? " (none)" : "");
  return 0;
}

int stream_remove(Env& e) {
  auto& slug = operand(e.args, 2, "STREAM");
  expect_operands(e.args, 3);
  auto r = run(e.streams, e.streams.plan_remove(slug));
  if (!r) return fail(r.error());
  std::printf("removed stream %s and its messages\n", slug.c_str());
  return 0;
}

int stream_members(Env& e) {
  auto& slug = operand(e.args, 2, "STREAM");
  if (e.args.words.size() == 3) {
    auto v = e.streams.get(slug);
    if (!v) return fail(v.error());
    if (e.args.json) {
      json::array arr;
      for (const auto& m : v->members) arr.push_back(json::value(m));
      print_json(arr);
    } else {
      for (const auto& m : v->members) std::printf("%s\n", m.c_str());
    }
    return 0;
  }
  auto& verb = e.args.words[3];
  if (verb != "add" && verb != "remove") throw Usage{"members takes add or remove, not '" + verb + "'"};
  std::vector<std::string> who(e.args.words.begin() + 4, e.args.words.end());
  if (who.empty()) throw Usage{"name at least one member"};
  auto r = run(e.streams, e.streams.plan_members(slug, who, verb == "add"));
  if (!r) return fail(r.error());
  std::printf("%s %zu member%s %s stream %s\n", verb == "add" ? "added" : "removed", who.size(), who.size() == 1 ? "" : "s",
              verb == "add" ? "to" : "from", slug.c_str());
  return 0;
}

int set_enabled(Env& e, bool on) {
  auto& slug = operand(e.args, 2, "STREAM");
  expect_operands(e.args, 3);
  auto r = run(e.streams, e.streams.plan_set_enabled(slug, on));
  if (!r) return fail(r.error());
  std::printf("stream %s %s\n", slug.c_str(), on ? "enabled" : "disabled");
  return 0;
}
int stream_enable(Env& e) { return set_enabled(e, true); }
int stream_disable(Env& e) { return set_enabled(e, false); }

int stream_posting(Env& e) {
  auto& slug = operand(e.args, 2, "STREAM");
  auto& p = operand(e.args, 3, "anyone|local|members|nobody");
  expect_operands(e.args, 4);
  auto r = run(e.streams, e.streams.plan_set_posting(slug, p));
  if (!r) return fail(r.error());
  std::printf("stream %s takes email from: %s\n", slug.c_str(), p.c_str());
  return 0;
}

int stream_unauthenticated(Env& e) {
  auto& slug = operand(e.args, 2, "STREAM");
  auto& mode = operand(e.args, 3, "bot|refuse");
  expect_operands(e.args, 4);
  auto r = run(e.streams, e.streams.plan_set_unauthenticated(slug, mode));
  if (!r) return fail(r.error());
  std::printf("stream %s: unauthenticated email %s\n", slug.c_str(),
              mode == "bot" ? "is posted by the gateway bot" : "is refused (550 5.7.1)");
  return 0;
}

int stream_notify(Env& e) {
  auto& slug = operand(e.args, 2, "STREAM");
  auto& member = operand(e.args, 3, "MEMBER");
  if (e.args.words.size() == 4) {
    auto st = e.streams.member_state(slug, member);
    if (!st) return fail(st.error());
    if (e.args.json) {
      print_json(json::object{{"member", st->address}, {"notify", streams::notify_mode_name(st->notify)},
                              {"watching_until", st->watching_until}});
    } else {
      std::printf("%s\tnotifications %s\t%s\n", st->address.c_str(), streams::notify_mode_name(st->notify),
                  st->watching_until ? "watching" : "not watching");
    }
    return 0;
  }
  auto& mode = operand(e.args, 4, "all|none");
  expect_operands(e.args, 5);
  auto r = run(e.streams, e.streams.plan_set_notify(slug, member, mode));
  if (!r) return fail(r.error());
  std::printf("%s gets %s notification emails of %s\n", member.c_str(), mode == "all" ? "all" : "no", slug.c_str());
  return 0;
}

int stream_watch(Env& e) {
  auto& slug = operand(e.args, 2, "STREAM");
  auto& member = operand(e.args, 3, "MEMBER");
  expect_operands(e.args, 4);
  std::int64_t seconds = 300;
  if (auto f = opt(e.args, "for"); !f.empty()) {
    char* end = nullptr;
    seconds = std::strtoll(f.c_str(), &end, 10);
    if (end == f.c_str() || *end != '\0') throw Usage{"--for takes seconds, not '" + f + "'"};
  }
  if (e.args.opts.count("stop")) seconds = 0;
  auto r = run(e.streams, e.streams.plan_watch(slug, member, seconds));
  if (!r) return fail(r.error());
  if (seconds == 0) std::printf("%s no longer watches %s\n", member.c_str(), slug.c_str());
  else std::printf("%s watches %s for %lld seconds (no notification emails meanwhile)\n", member.c_str(), slug.c_str(),
                   static_cast<long long>(seconds));
  return 0;
}

int stream_rotate(Env& e) {
  auto& slug = operand(e.args, 2, "STREAM");
  expect_operands(e.args, 3);
  auto r = run(e.streams, e.streams.plan_rotate_token(slug));
  if (!r) return fail(r.error());
  auto v = e.streams.get(slug);
  std::printf("new address of %s: %s (the old one now gets 550 5.1.1)\n", slug.c_str(),
              v && !v->address.empty() ? v->address.c_str() : ("token " + *r).c_str());
  return 0;
}

int stream_post(Env& e) {
  auto& slug = operand(e.args, 2, "STREAM");
  auto& topic = operand(e.args, 3, "TOPIC");
  auto& source = operand(e.args, 4, "FILE|-");
  expect_operands(e.args, 5);
  std::string body;
  if (source == "-") {
    body.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  } else {
    std::ifstream in(source, std::ios::binary);
    if (!in) return fail(Error(ErrorKind::not_found, "cannot read " + source));
    body.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  admin::StreamPostAuthor author;
  author.name = "mailstead CLI";
  if (auto as = opt(e.args, "as"); !as.empty()) {
    auto u = e.streams.ops().get_user(as);
    if (!u) return fail(u.error());
    author.user = u->user.id;
  }
  auto r = run(e.streams, e.streams.plan_post(slug, topic, body, author, "cli"));
  if (!r) return fail(r.error());
  if (e.args.json) print_json(json::object{{"id", *r}});
  else std::printf("posted message %llu to %s > %s\n", static_cast<unsigned long long>(*r), slug.c_str(), topic.c_str());
  return 0;
}

json::object message_json(const std::string& slug, const streams::StreamMessage& m) {
  json::array files;
  for (const auto& a : m.attachments)
    files.push_back(json::object{{"name", a.name}, {"content_type", a.content_type}, {"size", a.size},
                                 {"url", streams::attachment_url(slug, a.blob, a.name)}});
  return json::object{{"id", m.id},
                      {"topic", m.topic},
                      {"sender_id", m.user},
                      {"sender_email", m.sender},
                      {"sender_full_name", m.sender_name},
                      {"email_from", m.email_from},
                      {"content", m.body},
                      {"attachments", files},
                      {"via", m.via},
                      {"timestamp", m.time}};
}

int stream_messages(Env& e) {
  auto& slug = operand(e.args, 2, "STREAM");
  expect_operands(e.args, 3);
  streams::Query q;
  if (e.args.opts.count("topic")) q.topic = opt(e.args, "topic");
  auto r = e.streams.messages(slug, q);
  if (!r) return fail(r.error());
  if (e.args.json) {
    json::array arr;
    auto v = e.streams.get(slug);
    for (const auto& m : *r) arr.push_back(message_json(v->stream.slug, m));
    print_json(arr);
    return 0;
  }
  std::string last;
  for (const auto& m : *r) {
    if (m.topic != last) std::printf("== %s\n", m.topic.c_str());
    last = m.topic;
    std::printf("-- #%llu %s <%s>%s%s\n%s\n", static_cast<unsigned long long>(m.id), m.sender_name.c_str(),
                m.sender.c_str(), m.email_from.empty() ? "" : " via email from ", m.email_from.c_str(), m.body.c_str());
  }
  return 0;
}

int stream_topics(Env& e) {
  auto& slug = operand(e.args, 2, "STREAM");
  expect_operands(e.args, 3);
  auto r = e.streams.topics(slug);
  if (!r) return fail(r.error());
  if (e.args.json) {
    json::array arr;
    for (const auto& t : *r) arr.push_back(json::object{{"name", t.name}, {"messages", t.messages}, {"max_id", t.last_id}});
    print_json(arr);
  } else {
    for (const auto& t : *r) std::printf("%s\t%llu\n", t.name.c_str(), static_cast<unsigned long long>(t.messages));
  }
  return 0;
}

int stream_forward(Env& e) { return run_stream_forward(e.args, e.streams.ops()); }

struct Command {
  const char* verb;
  const char* usage;
  int (*handler)(Env&);
};

const Command commands[] = {
    {"add", "stream add NAME [--slug S] [--description D] [--email-posting anyone|local|members|nobody] [--json]", stream_add},
    {"list", "stream list [--json]", stream_list},
    {"show", "stream show STREAM [--json]   (its email address too)", stream_show},
    {"remove", "stream remove STREAM   (and its messages)", stream_remove},
    {"members", "stream members STREAM [add|remove ADDRESS...] [--json]", stream_members},
    {"enable", "stream enable STREAM", stream_enable},
    {"disable", "stream disable STREAM   (its address answers 550 5.7.1)", stream_disable},
    {"posting", "stream posting STREAM anyone|local|members|nobody   (who may post by email)", stream_posting},
    {"unauthenticated", "stream unauthenticated STREAM bot|refuse   (email not proved to be from a local user)", stream_unauthenticated},
    {"notify", "stream notify STREAM MEMBER [all|none] [--json]   (a member's notification emails)", stream_notify},
    {"watch", "stream watch STREAM MEMBER [--for SECONDS] [--stop]   (no notifications while watching)", stream_watch},
    {"rotate-token", "stream rotate-token STREAM   (a new address; the old one stops working)", stream_rotate},
    {"post", "stream post STREAM TOPIC FILE|- [--as USER] [--json]", stream_post},
    {"messages", "stream messages STREAM [--topic T] [--json]", stream_messages},
    {"topics", "stream topics STREAM [--json]", stream_topics},
    {"forward", stream_forward_usage, stream_forward},
};

}  // namespace

std::vector<std::string> streams_usage() {
  std::vector<std::string> out;
  for (const auto& c : commands) out.push_back(c.usage);
  return out;
}

int run_streams(const Args& args) {
  if (args.words.empty() || args.words[0] != "stream") return -1;
  const Command* cmd = nullptr;
  for (const auto& c : commands)
    if (args.words.size() > 1 && args.words[1] == c.verb) cmd = &c;
  if (!cmd) {
    std::fprintf(stderr, "mailstead: unknown or missing verb for 'stream'; one of:\n");
    for (const auto& c : commands) std::fprintf(stderr, "  mailstead %s\n", c.usage);
    return 2;
  }
  if (int rc = check_options(args, cmd->usage)) return rc;
  int rc = 0;
  auto loaded = load_for_command(args, rc);
  if (!loaded) return rc;
  const AllSettings& settings = *loaded;
  auto store = open_store_for(settings.core, rc);
  if (!store) return rc;
  admin::Ops ops(*store, settings.core);
  admin::StreamOps streams(ops, settings.smtpd.streams);
  Env env{args, streams};
  try {
    return cmd->handler(env);
  } catch (const Usage& u) {
    return operands::usage_error(u, cmd->usage);
  }
}

}  // namespace mailstead::cli
