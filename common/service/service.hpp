// What every service binary does around its work: parse --config, load and validate
// the shared settings plus its own section, start logging, and stop cleanly on SIGTERM.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "config/core_settings.hpp"

namespace mailstead::config {
class Source;
}
namespace mailstead::store {
class Store;
struct Options;
}

namespace mailstead::service {

struct Context {
  std::string name;
  std::string config_path;
  config::CoreSettings core;
};

// Runs `body` after loading the configuration; `load_own` reads the service's section
// from the source (and so marks its keys as known). Returns the process exit code.
// A configuration error prints one line naming the file, the key and why, and exits 78.
int run(int argc, char** argv, const std::string& name,
        const std::function<void(config::Source&)>& load_own,
        const std::function<int(const Context&)>& body);

// The store's options from the configuration: path, tuning, and the pre-upgrade backup
// directory (<data_dir>/backups). Every program opens the store with these.
store::Options store_options(const config::CoreSettings& core);

// Opens the shared store with the configured tuning; on failure prints why (prefixed with
// the service's name) and returns null.
std::unique_ptr<store::Store> open_store(const Context& ctx);

// Switches to the configured `run_as` user when running as root (after the ports are
// bound and the store and TLS files are open). Returns "" or why it could not.
std::string drop_privileges(const config::CoreSettings& core);

// Blocks until SIGTERM or SIGINT (for services with nothing else to do yet).
int wait_for_stop_signal();

}  // namespace mailstead::service
