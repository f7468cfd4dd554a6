// The `mailstead` command line: parsed arguments and the pieces the commands share.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "config/core_settings.hpp"
#include "settings.hpp"
#include "../../smtpd/settings.hpp"
#include "../../imapd/settings.hpp"
#include "../../sieved/settings.hpp"
#include "../../deliverd/settings.hpp"

namespace mailstead::store {
class Store;
}

namespace mailstead::cli {

struct Args {
  std::vector<std::string> words;          // positional: command, verb, operands
  std::map<std::string, std::string> opts;  // --name value (flags map to "")
  bool json = false;
  std::string config_path;
};

struct AllSettings {
  config::CoreSettings core;
  smtp::Settings smtpd;
  imap::Settings imapd;
  managesieve::Settings sieved;
  admin::Settings admin;
  outbound::Settings outbound;
};

// Loads and validates the whole configuration (every section). Throws ConfigError.
AllSettings load_all_settings(const std::string& path);

// What every command that works on the data does first (cli/main.cpp). check_options refuses
// an option the usage line does not name (a typo is an error, not ignored): 2 after saying so,
// else 0. load_for_command loads the settings and starts the CLI's log; open_store_for opens
// the store. Each says why on stderr and sets rc (78 configuration, 1 store) when it fails.
int check_options(const Args& args, const char* usage);
std::optional<AllSettings> load_for_command(const Args& args, int& rc);
std::unique_ptr<store::Store> open_store_for(const config::CoreSettings& core, int& rc);

int run_up(const Args& args);
// `mailstead init`: the first start of a deployment without `up` (containers): data
// directory, self-signed certificate, the first domain and administrator.
int run_init(const Args& args);
// `mailstead backup DIR` (a hot, consistent copy with checksums) and `mailstead restore DIR`
// (into a stopped deployment).
int run_backup(const Args& args);
int run_restore(const Args& args);
// `mailstead import FILE|-`: domains, users and aliases from JSON in one batch (cli/import.cpp).
int run_import(const Args& args);

// The outbound commands (cli/outbound.cpp): returns -1 when args name none of them.
int run_outbound(const Args& args);
std::vector<std::string> outbound_usage();
// `mailstead stream …` (cli/streams.cpp): returns -1 when args name none of them.
int run_streams(const Args& args);
std::vector<std::string> streams_usage();
// `mailstead list …` and `mailstead user address …` (cli/lists.cpp): -1 when args name none.
int run_lists(const Args& args);
std::vector<std::string> lists_usage();

// `mailstead dmarc override|clear|show` (cli/dmarc.cpp): -1 when args are not a dmarc command.
int run_dmarc(const Args& args);

// The inbound protection commands (cli/inbound.cpp): block, allow, policy. -1 when none.
int run_inbound(const Args& args);
std::vector<std::string> inbound_usage();

// Writes a self-signed certificate and key for `hostname` (and localhost) if absent.
// Returns "" on success, else why not.
std::string ensure_self_signed(const std::string& cert_path, const std::string& key_path,
                               const std::string& hostname);

}  // namespace mailstead::cli
