// Server TLS contexts (OpenSSL 3 through Asio): TLS 1.2 at least (1.3 when configured),
// no compression, no renegotiation, server cipher preference. The certificate and key are
// presented through a Certificate, which can load new files while the server runs: each
// handshake takes the pair current at that moment, so renewals (certbot, a reverse
// proxy's certificates) need no restart and drop no session. Included only by session code.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <boost/asio/ssl/context.hpp>
#include <memory>
#include <string>

namespace mailstead::net {

// A context with the protocol settings and no certificate: attach a Certificate.
boost::asio::ssl::context make_server_tls(const std::string& min_version);

class Certificate {
 public:
  // Loads the pair; throws std::runtime_error naming the file when the certificate or key
  // cannot be used, or when the key is readable by others and `allow_world_readable_key`
  // is false (with it true, that is logged as a warning).
  Certificate(std::string cert_file, std::string key_file, bool allow_world_readable_key = false);
  ~Certificate();
  Certificate(const Certificate&) = delete;
  Certificate& operator=(const Certificate&) = delete;

  // Every later handshake on `ctx` presents the pair current at that moment.
  void attach(boost::asio::ssl::context& ctx);

  enum class Reload { unchanged, reloaded, failed };
  // Loads the files again when they changed on disk (always, with `force`). A new pair
  // that cannot be used (unreadable, mismatched, half-written) is refused, logged with the
  // reason, and the current pair stays.
  Reload reload(bool force);

  // SHA-256 fingerprint (hex) of the leaf certificate presented now (for logs and tests).
  std::string fingerprint() const;

  struct Pair;

 private:
  struct FileStamp {
    dev_t dev = 0;
    ino_t ino = 0;
    off_t size = 0;
    long long ctime_ns = 0;
    bool operator==(const FileStamp&) const = default;
  };
  static FileStamp stamp(const std::string& path);

  std::string cert_file_, key_file_;
  bool allow_world_readable_key_;
  FileStamp cert_stamp_, key_stamp_;
  std::atomic<std::shared_ptr<const Pair>> current_;
};

}  // namespace mailstead::net
