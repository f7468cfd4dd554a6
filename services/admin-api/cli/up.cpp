// `mailstead up`: the whole suite on one machine. Validates the configuration, makes a
// self-signed certificate and a demo account on first start, starts every service,
// restarts one that dies (with back-off), and stops them all on SIGINT/SIGTERM.
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sodium.h>
#include <string>
#include <vector>

#include "cli/cli.hpp"
#include "config/source.hpp"
#include "log/log.hpp"
#include "ops/admin_ops.hpp"
#include "service/service.hpp"
#include "store/store.hpp"

namespace mailstead::cli {

namespace {

using Clock = std::chrono::steady_clock;

struct Child {
  std::string name;
  pid_t pid = 0;
  Clock::time_point started{};
  Clock::time_point restart_at{};
  std::chrono::seconds backoff{1};
};

std::string self_dir() {
  std::error_code ec;
  auto p = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::string(".") : p.parent_path().string();
}

pid_t spawn(const std::string& dir, const std::string& name, const std::string& config_path) {
  std::string path = dir + "/" + name;
  pid_t pid = ::fork();
  if (pid != 0) return pid;
  // The child: default signal mask, so SIGTERM stops it.
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  std::vector<const char*> argv{path.c_str()};
  if (!config_path.empty()) {
    argv.push_back("--config");
    argv.push_back(config_path.c_str());
  }
  argv.push_back(nullptr);
  ::execv(path.c_str(), const_cast<char* const*>(argv.data()));
  std::fprintf(stderr, "mailstead up: cannot run %s\n", path.c_str());
  ::_exit(127);
}

std::string random_password() {
  static const char alphabet[] = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
  std::string p;
  for (int i = 0; i < 16; ++i) p.push_back(alphabet[randombytes_uniform(sizeof alphabet - 1)]);
  return p;
}

// On a brand-new store: the demo domain, a demo user and postmaster. The credentials
// are kept (mode 0600) in the data directory so later starts can print them again.
std::string ensure_demo(const AllSettings& s, bool no_demo) {
  auto cred_path = s.core.data_dir + "/demo-credentials.txt";
  if (std::filesystem::exists(cred_path)) {
    std::ifstream in(cred_path);
    std::string line, all;
    while (std::getline(in, line)) all += "  " + line + "\n";
    return all;
  }
  if (no_demo) return "";
  std::error_code ec;
  std::string why;
  auto store = store::open(service::store_options(s.core), ec, why);
  if (!store) throw std::runtime_error(why);
  admin::Ops ops(*store, s.core);
  if (!ops.list_domains().empty() || !ops.list_users().empty()) return "";
  auto password = random_password();
  if (auto r = ops.add_domain("example.test"); !r) throw std::runtime_error(r.error().message);
  if (auto r = ops.add_user("demo@example.test", password, "Demo User", 0); !r)
    throw std::runtime_error(r.error().message);
  if (auto r = ops.add_alias("postmaster@example.test", "demo@example.test"); !r)
    throw std::runtime_error(r.error().message);
  // The demo account may sign in to the admin web UI (a real deployment grants the role
  // with `mailstead admin grant ADDRESS`).
  if (auto r = ops.grant_admin("demo@example.test"); !r) throw std::runtime_error(r.error().message);
  mode_t old = ::umask(077);
  {
    std::ofstream out(cred_path);
    out << "user: demo@example.test\npassword: " << password << "\n";
  }
  ::umask(old);
  return "  user: demo@example.test\n  password: " + password + "\n";
}

// https://host:port/ for a listen address; a wildcard address is shown as the hostname.
std::string admin_url(const std::string& listen, const std::string& hostname) {
  std::string host;
  std::uint16_t port = 0;
  if (!config::split_host_port(listen, host, port)) return listen;
  if (host == "0.0.0.0" || host == "::" || host.empty()) host = hostname;
  if (host.find(':') != std::string::npos) host = "[" + host + "]";
  return "https://" + host + ":" + std::to_string(port) + "/";
}

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (std::size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + v[i];
  return s.empty() ? "(off)" : s;
}

// The data directory and, when no certificate is configured, a self-signed one.
void prepare_data_dir(const AllSettings& s) {
  std::filesystem::create_directories(s.core.data_dir);
  if (s.core.tls.cert.empty() && s.core.tls.key.empty()) {
    auto why = ensure_self_signed(s.core.tls_cert(), s.core.tls_key(), s.core.hostname);
    if (!why.empty()) throw std::runtime_error(why);
  }
}

}  // namespace

int run_init(const Args& args) {
  static const char* usage = "init --domain DOMAIN --admin ADDRESS [--password-stdin]";
  for (const auto& [name, _] : args.opts) {
    if (name != "domain" && name != "admin" && name != "password-stdin") {
      std::fprintf(stderr, "mailstead: unknown option --%s for '%s'\n", name.c_str(), usage);
      return 2;
    }
  }
  auto domain = args.opts.count("domain") ? args.opts.at("domain") : "";
  auto admin_address = args.opts.count("admin") ? args.opts.at("admin") : "";
  if (domain.empty() || admin_address.empty() || args.words.size() > 1) {
    std::fprintf(stderr, "mailstead: usage: mailstead %s\n", usage);
    return 2;
  }
  AllSettings s;
  try {
    s = load_all_settings(args.config_path);
  } catch (const config::ConfigError& e) {
    std::fprintf(stderr, "mailstead: %s\n", e.what());
    return 78;
  }
  log::init("mailstead", "warn");
  if (sodium_init() < 0) return 1;
  try {
    prepare_data_dir(s);
    std::error_code ec;
    std::string why;
    auto store = store::open(service::store_options(s.core), ec, why);
    if (!store) throw std::runtime_error(why);
    admin::Ops ops(*store, s.core);
    // Idempotent: every later start finds both and changes nothing.
    if (auto r = ops.add_domain(domain); r) {
      std::printf("added the domain %s\n", r->name.c_str());
    } else if (r.error().kind != ErrorKind::conflict) {
      throw std::runtime_error(r.error().message);
    }
    // The password: given on standard input, or made here and printed this once (it is
    // kept nowhere but as its argon2id hash).
    std::string password;
    bool printed = false;
    if (args.opts.count("password-stdin")) {
      if (!std::getline(std::cin, password) || password.empty()) {
        std::fprintf(stderr, "mailstead: --password-stdin: nothing on standard input\n");
        return 2;
      }
    } else {
      password = random_password();
      printed = true;
    }
    if (auto r = ops.add_user(admin_address, password, "Administrator", 0); !r) {
      if (r.error().kind != ErrorKind::conflict) throw std::runtime_error(r.error().message);
      std::printf("%s exists; nothing else to do\n", admin_address.c_str());
      return 0;
    }
    if (auto r = ops.grant_admin(admin_address); !r) throw std::runtime_error(r.error().message);
    std::printf("added the administrator %s\n", admin_address.c_str());
    if (printed) std::printf("  user: %s\n  password: %s\n  (shown once: keep it now)\n", admin_address.c_str(), password.c_str());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "mailstead: %s\n", e.what());
    return 1;
  }
  return 0;
}

int run_up(const Args& args) {
  for (const auto& [name, _] : args.opts) {
    if (name != "standard-ports" && name != "no-demo") {
      std::fprintf(stderr, "mailstead: unknown option --%s for 'up [--standard-ports] [--no-demo]'\n", name.c_str());
      return 2;
    }
  }
  if (args.words.size() > 1) {
    std::fprintf(stderr, "mailstead: unexpected argument '%s' (usage: mailstead up [--standard-ports] [--no-demo])\n",
                 args.words[1].c_str());
    return 2;
  }
  if (args.opts.count("standard-ports")) {
    // The children inherit these overrides (docs/configuration.md).
    setenv("MAILSTEAD_SMTPD_MX_LISTEN", "0.0.0.0:25", 1);
    setenv("MAILSTEAD_SMTPD_SUBMISSION_LISTEN", "0.0.0.0:587", 1);
    setenv("MAILSTEAD_SMTPD_SUBMISSIONS_LISTEN", "0.0.0.0:465", 1);
    setenv("MAILSTEAD_IMAPD_IMAPS_LISTEN", "0.0.0.0:993", 1);
    setenv("MAILSTEAD_SIEVED_LISTEN", "0.0.0.0:4190", 1);
    setenv("MAILSTEAD_ADMIN_LISTEN", "0.0.0.0:8443", 1);
  }
  // Block the signals we wait for before any child or thread exists.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGCHLD);
  sigaddset(&set, SIGHUP);
  sigprocmask(SIG_BLOCK, &set, nullptr);

  AllSettings s;
  try {
    s = load_all_settings(args.config_path);
  } catch (const config::ConfigError& e) {
    std::fprintf(stderr, "mailstead: %s\n", e.what());
    return 78;
  }
  log::init("mailstead-up", s.core.log.level);
  if (sodium_init() < 0) return 1;
  std::string credentials;
  try {
    prepare_data_dir(s);
    credentials = ensure_demo(s, args.opts.count("no-demo") > 0);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "mailstead: %s\n", e.what());
    return 1;
  }

  auto dir = self_dir();
  std::vector<Child> children;
  for (const char* n : {"mailstead-smtpd", "mailstead-deliverd", "mailstead-imapd", "mailstead-sieved", "mailstead-admin-api"}) {
    Child c;
    c.name = n;
    c.pid = spawn(dir, n, args.config_path);
    c.started = Clock::now();
    children.push_back(c);
    log::info("up.started", {{"service", c.name}, {"pid", c.pid}});
  }

  std::printf("Mailstead is up (data in %s). Connect with:\n", s.core.data_dir.c_str());
  std::printf("  SMTP (MX)             %s\n", join(s.smtpd.mx_listen).c_str());
  std::printf("  SMTP submission       %s (STARTTLS)\n", join(s.smtpd.submission_listen).c_str());
  std::printf("  SMTP submissions      %s (TLS)\n", join(s.smtpd.submissions_listen).c_str());
  std::printf("  IMAPS                 %s\n", join(s.imapd.imaps_listen).c_str());
  std::printf("  ManageSieve           %s (STARTTLS)\n", join(s.sieved.listen).c_str());
  for (const auto& a : s.admin.listen) std::printf("  Admin API             %s\n", admin_url(a, s.core.hostname).c_str());
  std::printf("  TLS certificate       %s\n", s.core.tls_cert().c_str());
  if (!credentials.empty()) std::printf("Demo account:\n%s", credentials.c_str());
  std::printf("Stop with Ctrl-C.\n");
  std::fflush(stdout);

  bool stopping = false;
  Clock::time_point kill_at{};
  for (;;) {
    timespec tick{0, 200'000'000};
    int sig = sigtimedwait(&set, nullptr, &tick);
    if (sig == SIGHUP && !stopping) {
      // A renewed certificate: every service loads it without dropping a session.
      log::info("up.reload");
      for (auto& c : children)
        if (c.pid > 0) ::kill(c.pid, SIGHUP);
    }
    if ((sig == SIGTERM || sig == SIGINT) && !stopping) {
      stopping = true;
      kill_at = Clock::now() + std::chrono::seconds(10);
      log::info("up.stopping");
      for (auto& c : children)
        if (c.pid > 0) ::kill(c.pid, SIGTERM);
    }
    // Reap whatever exited.
    for (;;) {
      int status = 0;
      pid_t pid = ::waitpid(-1, &status, WNOHANG);
      if (pid <= 0) break;
      for (auto& c : children) {
        if (c.pid != pid) continue;
        c.pid = 0;
        if (stopping) break;
        // A service that ran for a minute gets a fresh back-off; one that keeps dying
        // is restarted less and less often (up to every 30 s).
        if (Clock::now() - c.started > std::chrono::minutes(1)) c.backoff = std::chrono::seconds(1);
        c.restart_at = Clock::now() + c.backoff;
        log::warn("up.exited", {{"service", c.name},
                                {"status", WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status)},
                                {"restart_in_s", static_cast<long>(c.backoff.count())}});
        c.backoff = std::min(c.backoff * 2, std::chrono::seconds(30));
      }
    }
    if (stopping) {
      bool any = false;
      for (auto& c : children) any |= c.pid > 0;
      if (!any) break;
      if (Clock::now() > kill_at)
        for (auto& c : children)
          if (c.pid > 0) ::kill(c.pid, SIGKILL);
      continue;
    }
    for (auto& c : children) {
      if (c.pid == 0 && Clock::now() >= c.restart_at) {
        c.pid = spawn(dir, c.name, args.config_path);
        c.started = Clock::now();
        log::info("up.restarted", {{"service", c.name}, {"pid", c.pid}});
      }
    }
  }
  log::info("up.stopped");
  return 0;
}

}  // namespace mailstead::cli
