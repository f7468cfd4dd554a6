// The `mailstead` commands of outbound mail: DNS look-ups as the delivery service sees them,
// the outbound queue and its send log, send-test-email. Kept apart from main.cpp so the
// rest of the CLI does not compile Asio.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json.hpp>
#include <cstdio>
#include <iostream>

#include "cli/cli.hpp"
#include "config/source.hpp"
#include "dns/resolver.hpp"
#include "log/log.hpp"

namespace mailstead::cli {

namespace {

namespace json = boost::json;
namespace asio = boost::asio;

struct Usage {
  std::string text;
};

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
  if (!type) throw Usage{"TYPE is one of A, AAAA, MX, TXT, PTR, NS, CNAME, TLSA"};
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

struct Command {
  const char* noun;
  const char* verb;
  const char* usage;
  int (*handler)(const Args&, const AllSettings&);
};

const Command commands[] = {
    {"dns", "lookup", "dns lookup TYPE NAME [--json]   (A, AAAA, MX, TXT, PTR, TLSA as the delivery service sees them)", dns_lookup},
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
    if (args.words.size() > 1 && args.words[1] == c.verb) cmd = &c;
  }
  if (!noun) return -1;
  if (!cmd) {
    std::fprintf(stderr, "mailstead: unknown or missing verb for '%s'; one of:\n", args.words[0].c_str());
    for (const auto& c : commands)
      if (args.words[0] == c.noun) std::fprintf(stderr, "  mailstead %s\n", c.usage);
    return 2;
  }
  for (const auto& [name, _] : args.opts) {
    if (std::string(cmd->usage).find("--" + name) == std::string::npos) {
      std::fprintf(stderr, "mailstead: unknown option --%s for '%s'\n", name.c_str(), cmd->usage);
      return 2;
    }
  }
  AllSettings settings;
  try {
    settings = load_all_settings(args.config_path);
  } catch (const config::ConfigError& e) {
    std::fprintf(stderr, "mailstead: %s\n", e.what());
    return 78;
  }
  log::init("mailstead", "warn");
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
