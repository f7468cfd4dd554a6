// `mailstead stream forward STREAM add|list|status|remove|retry` (docs/cli.md, docs/streams.md
// "Forwarding"). Secrets are read from files (or stdin), never from the command line where
// `ps` and shell history would show them, and never printed back.
#include "cli/stream_forward.hpp"

#include <boost/json.hpp>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <iostream>
#include <iterator>

#include "cli/operands.hpp"
#include "ops/stream_forwards.hpp"
#include "ops/stream_forwards_json.hpp"
#include "util/text.hpp"

namespace mailstead::cli {

namespace {

namespace json = boost::json;

using operands::expect_operands;
using operands::opt;
using operands::Usage;

int fail(const std::string& message) {
  std::fprintf(stderr, "mailstead: %s\n", message.c_str());
  return 1;
}

// The first line of a file (or stdin for "-"), without surrounding blanks.
std::optional<std::string> read_secret(const std::string& source, std::string& why) {
  std::string text;
  if (source == "-") {
    text.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  } else {
    std::ifstream in(source, std::ios::binary);
    if (!in) {
      why = "cannot read " + source;
      return std::nullopt;
    }
    text.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  auto nl = text.find('\n');
  auto line = std::string(trim(text.substr(0, nl)));
  if (nl != std::string::npos && !trim(text.substr(nl)).empty()) {
    why = source + " holds more than one line";
    return std::nullopt;
  }
  if (line.empty()) {
    why = source + " is empty";
    return std::nullopt;
  }
  return line;
}

std::string when(std::int64_t t) {
  if (t <= 0) return "-";
  std::time_t tt = static_cast<std::time_t>(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%SZ", &tm);
  return buf;
}

std::uint64_t parse_id(const std::string& text) {
  std::uint64_t n = 0;
  if (text.empty() || text.size() > 19) throw Usage{"ID is a number (stream forward STREAM list)"};
  for (char c : text) {
    if (c < '0' || c > '9') throw Usage{"ID is a number (stream forward STREAM list)"};
    n = n * 10 + static_cast<std::uint64_t>(c - '0');
  }
  return n;
}

int add(const Args& a, admin::Ops& ops, const std::string& slug) {
  if (a.words.size() < 5) throw Usage{"add takes zulip or webhook"};
  expect_operands(a, 5);
  auto kind = streams::parse_forward_kind(a.words[4]);
  if (!kind) throw Usage{"add takes zulip or webhook, not '" + a.words[4] + "'"};
  streams::ForwardTarget t;
  t.kind = *kind;
  t.allow_http = a.opts.count("allow-http") > 0;
  std::string why;
  if (t.kind == streams::ForwardKind::zulip) {
    for (const char* o : {"site", "bot-email", "api-key-file"})
      if (opt(a, o).empty()) throw Usage{std::string("add zulip needs --") + o};
    if (a.opts.count("url-file")) throw Usage{"--url-file is for webhook targets"};
    t.site = opt(a, "site");
    t.bot_email = opt(a, "bot-email");
    t.to_stream = opt(a, "stream");
    auto key = read_secret(opt(a, "api-key-file"), why);
    if (!key) return fail(why);
    t.secret = std::move(*key);
  } else {
    if (opt(a, "url-file").empty()) throw Usage{"add webhook needs --url-file"};
    for (const char* o : {"site", "bot-email", "api-key-file", "stream"})
      if (a.opts.count(o)) throw Usage{std::string("--") + o + " is for zulip targets"};
    auto url = read_secret(opt(a, "url-file"), why);
    if (!url) return fail(why);
    t.secret = std::move(*url);
  }
  admin::ForwardOps fo(ops);
  auto r = ops.run(fo.plan_add(slug, t));
  if (!r) return fail(r.error().message);
  if (a.json) std::cout << json::serialize(json::object{{"id", r->id}}) << "\n";
  else
    std::printf("added forward %llu of %s: %s %s\n", static_cast<unsigned long long>(r->id), slug.c_str(),
                streams::forward_kind_name(r->kind), r->shown_url().c_str());
  return 0;
}

int list(const Args& a, admin::Ops& ops, const std::string& slug, bool status) {
  expect_operands(a, 4);
  admin::ForwardOps fo(ops);
  auto r = fo.list(slug);
  if (!r) return fail(r.error().message);
  if (a.json) {
    json::array arr;
    for (const auto& v : *r) arr.push_back(admin::forward_json(v));
    std::cout << json::serialize(arr) << "\n";
    return 0;
  }
  if (r->empty()) std::printf("stream %s forwards nowhere\n", slug.c_str());
  for (const auto& v : *r) {
    const auto& t = v.target;
    std::printf("%llu\t%s\t%s", static_cast<unsigned long long>(t.id), streams::forward_kind_name(t.kind), t.shown_url().c_str());
    if (t.kind == streams::ForwardKind::zulip)
      std::printf("\tbot %s key %s stream %s", t.bot_email.c_str(), t.secret_hint().c_str(),
                  t.to_stream.empty() ? "(this stream's name)" : t.to_stream.c_str());
    if (t.allow_http) std::printf("\tallow-http");
    std::printf("\tpending %llu\tfailed %llu\n", static_cast<unsigned long long>(v.counts.pending),
                static_cast<unsigned long long>(v.counts.failed));
    if (!status) continue;
    if (v.next) {
      const auto& j = *v.next;
      std::printf("  next: message %llu, %u attempt%s, %s%s\n", static_cast<unsigned long long>(j.message), j.attempts,
                  j.attempts == 1 ? "" : "s", j.lease_owner.empty() ? "next try " : "sending now",
                  j.lease_owner.empty() ? when(j.next_attempt / 1000).c_str() : "");
      if (!j.last_error.empty()) std::printf("        last error: %s\n", j.last_error.c_str());
    }
    for (const auto& j : v.failed)
      std::printf("  failed: message %llu at %s after %u attempt%s: %s\n", static_cast<unsigned long long>(j.message),
                  when(j.failed_at).c_str(), j.attempts, j.attempts == 1 ? "" : "s", j.last_error.c_str());
  }
  return 0;
}

}  // namespace

int run_stream_forward(const Args& a, admin::Ops& ops) {
  try {
    if (a.words.size() < 4) throw Usage{"missing STREAM or what to do (add, list, status, remove, retry)"};
    const std::string& slug = a.words[2];
    const std::string& verb = a.words[3];
    if (verb == "add") return add(a, ops, slug);
    if (verb == "list" || verb == "status") return list(a, ops, slug, verb == "status");
    admin::ForwardOps fo(ops);
    if (verb == "remove") {
      if (a.words.size() != 5) throw Usage{"remove takes one ID"};
      auto id = parse_id(a.words[4]);
      auto r = ops.run(fo.plan_remove(slug, id));
      if (!r) return fail(r.error().message);
      std::printf("removed forward %llu of %s (its queue too)\n", static_cast<unsigned long long>(id), slug.c_str());
      return 0;
    }
    if (verb == "retry") {
      if (a.words.size() > 5) throw Usage{"retry takes at most one ID"};
      std::uint64_t id = a.words.size() == 5 ? parse_id(a.words[4]) : 0;
      auto r = ops.run(fo.plan_retry(slug, id));
      if (!r) return fail(r.error().message);
      std::printf("queued %llu failed message%s again\n", static_cast<unsigned long long>(*r), *r == 1 ? "" : "s");
      return 0;
    }
    throw Usage{"forward takes add, list, status, remove or retry, not '" + verb + "'"};
  } catch (const Usage& u) {
    return operands::usage_error(u, stream_forward_usage);
  }
}

}  // namespace mailstead::cli
