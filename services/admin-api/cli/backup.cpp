// `mailstead backup DIR` and `mailstead restore DIR` (docs/operations.md).
//
// A backup is a directory: store/data.mdb (one consistent, compacted snapshot taken while
// the services run), the configuration and secrets files, the TLS certificate and key, a
// MANIFEST (what, when, which versions) and SHA256SUMS (`sha256sum -c` checks it too).
// Restore checks every checksum first, refuses while any process has the store open, and
// moves the store it replaces aside instead of deleting it.
#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "cli/cli.hpp"
#include "config/source.hpp"
#include "log/log.hpp"
#include "service/service.hpp"
#include "store/schema.hpp"
#include "store/store.hpp"

namespace mailstead::cli {

namespace fs = std::filesystem;

namespace {

struct Failure {
  std::string text;
};

// SHA-256 of a file, hex.
std::string sha256_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Failure{"cannot read " + path.string()};
  crypto_hash_sha256_state st;
  crypto_hash_sha256_init(&st);
  std::vector<char> buf(1 << 20);
  while (in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    crypto_hash_sha256_update(&st, reinterpret_cast<const unsigned char*>(buf.data()), static_cast<unsigned long long>(in.gcount()));
  }
  unsigned char out[crypto_hash_sha256_BYTES];
  crypto_hash_sha256_final(&st, out);
  static const char hex[] = "0123456789abcdef";
  std::string s;
  for (unsigned char c : out) {
    s += hex[c >> 4];
    s += hex[c & 15];
  }
  return s;
}

void fsync_path(const fs::path& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}

// Copies `from` to `to` keeping only the owner's permission bits of `mode`, and syncs it.
void copy_private(const fs::path& from, const fs::path& to, mode_t mode) {
  std::error_code ec;
  fs::create_directories(to.parent_path(), ec);
  fs::copy_file(from, to, fs::copy_options::overwrite_existing, ec);
  if (ec) throw Failure{"cannot copy " + from.string() + " to " + to.string() + ": " + ec.message()};
  ::chmod(to.c_str(), mode);
  fsync_path(to);
}

AllSettings load(const Args& args) { return load_all_settings(args.config_path); }

bool inside(const fs::path& file, const fs::path& dir) {
  auto f = fs::weakly_canonical(file).string(), d = fs::weakly_canonical(dir).string();
  return f.size() > d.size() && f.compare(0, d.size(), d) == 0 && f[d.size()] == '/';
}

std::map<std::string, std::string> read_sums(const fs::path& dir) {
  std::ifstream in(dir / "SHA256SUMS");
  if (!in) throw Failure{(dir / "SHA256SUMS").string() + " is missing: this is not a Mailstead backup"};
  std::map<std::string, std::string> sums;
  std::string line;
  while (std::getline(in, line)) {
    if (line.size() < 67 || line[64] != ' ') throw Failure{"SHA256SUMS: malformed line '" + line + "'"};
    sums[line.substr(66)] = line.substr(0, 64);
  }
  return sums;
}

int backup(const Args& args) {
  if (args.words.size() != 2 || !args.opts.empty()) throw Failure{"usage: mailstead backup DIR"};
  fs::path dir = args.words[1];
  auto s = load(args);
  std::error_code ec;
  if (fs::exists(dir) && !fs::is_empty(dir, ec)) throw Failure{dir.string() + " is not empty: give a new directory"};
  fs::create_directories(dir, ec);
  if (ec) throw Failure{"cannot create " + dir.string() + ": " + ec.message()};
  ::chmod(dir.c_str(), 0700);

  std::string why;
  auto store = store::open(service::store_options(s.core), ec, why);
  if (!store) throw Failure{why};
  std::uint32_t schema_version = store::schema::version(*store->read());
  if (auto e = store->copy_to((dir / "store").string(), why)) throw Failure{why};
  ::chmod((dir / "store" / "data.mdb").c_str(), 0600);
  fsync_path(dir / "store" / "data.mdb");
  store->close();

  std::vector<std::string> files{"store/data.mdb"};
  auto keep = [&](const std::string& from, const std::string& name, mode_t mode) {
    if (from.empty() || !fs::exists(from)) return;
    copy_private(from, dir / name, mode);
    files.push_back(name);
  };
  keep(args.config_path, "config/mailstead.toml", 0600);
  std::string secrets;
  if (!args.config_path.empty()) {
    auto src = config::Source::load(args.config_path);
    src.get("", "secrets_file", secrets);
  }
  keep(secrets, "config/secrets.toml", 0600);
  keep(s.core.tls_cert(), "tls/cert.pem", 0644);
  keep(s.core.tls_key(), "tls/key.pem", 0600);
  keep(s.core.data_dir + "/demo-credentials.txt", "data/demo-credentials.txt", 0600);

  {
    std::ofstream m(dir / "MANIFEST");
    char when[32];
    std::time_t now = std::time(nullptr);
    std::strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&now));
    m << "format = 1\n"
      << "created = " << when << "\n"
      << "mailstead_version = " << MAILSTEAD_VERSION << "\n"
      << "schema_version = " << schema_version << "\n"
      << "hostname = " << s.core.hostname << "\n"
      << "data_dir = " << fs::absolute(s.core.data_dir).string() << "\n"
      << "config = " << (args.config_path.empty() ? "(defaults)" : fs::absolute(args.config_path).string()) << "\n"
      << "secrets_file = " << (secrets.empty() ? "(none)" : secrets) << "\n";
  }
  files.push_back("MANIFEST");
  {
    std::ofstream sums(dir / "SHA256SUMS");
    for (const auto& f : files) sums << sha256_file(dir / f) << "  " << f << "\n";
  }
  fsync_path(dir / "SHA256SUMS");
  fsync_path(dir);
  std::printf("backed up to %s: schema version %u, %llu bytes of store\n", dir.c_str(), schema_version,
              static_cast<unsigned long long>(fs::file_size(dir / "store" / "data.mdb")));
  return 0;
}

int restore(const Args& args) {
  if (args.words.size() != 2 || !args.opts.empty()) throw Failure{"usage: mailstead restore DIR"};
  fs::path dir = args.words[1];
  auto s = load(args);
  auto sums = read_sums(dir);
  if (!sums.count("store/data.mdb")) throw Failure{"the backup in " + dir.string() + " has no store/data.mdb"};
  for (const auto& [name, sum] : sums)
    if (sha256_file(dir / name) != sum) throw Failure{dir.string() + "/" + name + " does not match its checksum: the backup is damaged"};

  auto store_dir = fs::path(s.core.store_dir());
  if (store::in_use(store_dir.string()))
    throw Failure{"the store in " + store_dir.string() +
                  " is open in a running process (a service, mailstead up, a container): stop the deployment first"};
  std::error_code ec;
  if (fs::exists(store_dir / "data.mdb")) {
    auto aside = store_dir.string() + ".before-restore-" + std::to_string(std::time(nullptr));
    fs::rename(store_dir, aside, ec);
    if (ec) throw Failure{"cannot move the current store aside to " + aside + ": " + ec.message()};
    std::printf("the store it replaces is kept in %s\n", aside.c_str());
  }
  copy_private(dir / "store" / "data.mdb", store_dir / "data.mdb", 0600);
  fsync_path(store_dir);
  // The TLS files come back where the configuration expects them when they live in the
  // data directory (the self-signed default); mounted certificates are left alone.
  for (auto [name, target, mode] : {std::tuple{"tls/cert.pem", s.core.tls_cert(), mode_t{0644}},
                                    std::tuple{"tls/key.pem", s.core.tls_key(), mode_t{0600}}}) {
    if (sums.count(name) && inside(target, s.core.data_dir)) copy_private(dir / name, target, mode);
  }
  if (sums.count("data/demo-credentials.txt"))
    copy_private(dir / "data/demo-credentials.txt", fs::path(s.core.data_dir) / "demo-credentials.txt", 0600);
  // Open it once: a store from an older version is migrated (after its own backup) now,
  // and a damaged one is found before a service trips on it.
  std::string why;
  auto store = store::open(service::store_options(s.core), ec, why);
  if (!store) throw Failure{"the restored store does not open: " + why};
  store->close();
  std::printf("restored %s into %s\n", dir.c_str(), store_dir.c_str());
  if (sums.count("config/mailstead.toml") || sums.count("config/secrets.toml"))
    std::printf("the configuration and secrets files saved with it are in %s/config (not copied over the current ones)\n",
                dir.c_str());
  return 0;
}

int guarded(int (*fn)(const Args&), const Args& args) {
  try {
    log::init("mailstead", "warn");
    if (sodium_init() < 0) return 1;
    return fn(args);
  } catch (const config::ConfigError& e) {
    std::fprintf(stderr, "mailstead: %s\n", e.what());
    return 78;
  } catch (const Failure& f) {
    std::fprintf(stderr, "mailstead: %s\n", f.text.c_str());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "mailstead: %s\n", e.what());
    return 1;
  }
}

}  // namespace

int run_backup(const Args& args) { return guarded(backup, args); }
int run_restore(const Args& args) { return guarded(restore, args); }

}  // namespace mailstead::cli
