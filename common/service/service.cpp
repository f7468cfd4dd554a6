// Service start-up: configuration, logging, signals.
#include "service/service.hpp"

#include <csignal>
#include <cstdio>
#include <cstring>
#include <grp.h>
#include <pthread.h>
#include <pwd.h>
#include <unistd.h>

#include <cerrno>
#include <set>
#include <vector>

#include "config/source.hpp"
#include "log/log.hpp"
#include "store/store.hpp"

namespace mailstead::service {

int run(int argc, char** argv, const std::string& name,
        const std::function<void(config::Source&)>& load_own,
        const std::function<int(const Context&)>& body) {
  Context ctx;
  ctx.name = name;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--config" && i + 1 < argc) {
      ctx.config_path = argv[++i];
    } else if (a.rfind("--config=", 0) == 0) {
      ctx.config_path = a.substr(9);
    } else if (a == "--help" || a == "-h") {
      std::printf("usage: %s [--config FILE]\n", name.c_str());
      return 0;
    } else {
      std::fprintf(stderr, "%s: unknown argument '%s' (usage: %s [--config FILE])\n", name.c_str(), a.c_str(), name.c_str());
      return 64;
    }
  }
  // Block the stop and reload signals before any thread starts, so every thread inherits
  // the mask and sigwait/signal_set sees them (a SIGHUP before serving waits, not kills).
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  try {
    auto src = config::Source::load(ctx.config_path);
    ctx.core = config::load_core(src);
    load_own(src);
    std::set<std::string> foreign;
    for (const auto& s : config::service_sections()) foreign.insert(s);
    foreign.erase(name == "mailstead-admin-api"  ? "admin"
                  : name == "mailstead-deliverd" ? "outbound"
                                                 : name.substr(std::strlen("mailstead-")));
    if (name == "mailstead-smtpd")
      for (const char* own : {"dmarc", "spf", "dkim_verify", "dnsbl", "greylist"}) foreign.erase(own);  // the MX's inbound checks
    // [streams] is read by smtpd, the admin API and the CLI (common/streams/settings.hpp);
    // the CLI's check of the whole file catches its unknown keys.
    foreign.insert("streams");
    foreign.insert("lists");  // likewise (common/lists/settings.hpp)
    src.check_unknown(foreign);
  } catch (const config::ConfigError& e) {
    std::fprintf(stderr, "%s: %s\n", name.c_str(), e.what());
    return 78;  // EX_CONFIG
  }
  log::init(name, ctx.core.log.level);
  if (auto why = log::add_ring(ctx.core.log_dir(), name, ctx.core.log.ring_size); !why.empty())
    log::warn("log.ring.unavailable", {{"dir", ctx.core.log_dir()}, {"error", why}});
  log::info("service.start", {{"config", ctx.config_path.empty() ? "(defaults)" : ctx.config_path},
                              {"data_dir", ctx.core.data_dir}});
  int rc = body(ctx);
  log::info("service.stop", {{"exit", rc}});
  return rc;
}

store::Options store_options(const config::CoreSettings& core) {
  store::Options o{core.store_dir(), core.store.map_size, core.store.max_readers, core.store.max_batches_per_commit};
  o.backup_before_upgrade = core.data_dir + "/backups";
  return o;
}

std::unique_ptr<store::Store> open_store(const Context& ctx) {
  std::error_code ec;
  std::string why;
  auto s = store::open(store_options(ctx.core), ec, why);
  if (!s) std::fprintf(stderr, "%s: %s\n", ctx.name.c_str(), why.c_str());
  return s;
}

std::string drop_privileges(const config::CoreSettings& core) {
  if (::geteuid() != 0) return "";
  if (core.run_as.empty()) {
    log::warn("security.running_as_root", {{"hint", "set run_as to an unprivileged user"}});
    return "";
  }
  struct passwd* pw = ::getpwnam(core.run_as.c_str());
  if (!pw) return "run_as: there is no user '" + core.run_as + "'";
  if (pw->pw_uid == 0) return "run_as: '" + core.run_as + "' is root";
  // The log ring was opened as root: hand it over, or it could not turn over later.
  for (const auto& f : std::vector<std::string>{core.log_dir()}) (void)!::chown(f.c_str(), pw->pw_uid, pw->pw_gid);
  for (const char* ext : {".log", ".1.log"}) {
    auto f = core.log_dir() + "/" + log::process_name() + ext;
    (void)!::chown(f.c_str(), pw->pw_uid, pw->pw_gid);
  }
  if (::initgroups(core.run_as.c_str(), pw->pw_gid) != 0 || ::setgid(pw->pw_gid) != 0 || ::setuid(pw->pw_uid) != 0)
    return "run_as: cannot switch to '" + core.run_as + "': " + std::strerror(errno);
  if (::setuid(0) == 0) std::abort();  // root must be gone for good
  log::info("security.dropped_privileges", {{"user", core.run_as}, {"uid", static_cast<std::uint64_t>(pw->pw_uid)}});
  return "";
}

int wait_for_stop_signal() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  int sig = 0;
  sigwait(&set, &sig);
  log::info("service.signal", {{"signal", sig == SIGTERM ? "TERM" : "INT"}});
  return 0;
}

}  // namespace mailstead::service
