// Server TLS contexts and the reloadable certificate (see tls.hpp).
#include "net/tls.hpp"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <sys/stat.h>

#include <cstdio>
#include <stdexcept>

#include "log/log.hpp"

namespace mailstead::net {

namespace {

// A private key anyone on the machine can read is as good as published.
void check_key_mode(const std::string& key_file, bool allow_world_readable) {
  struct stat st {};
  if (::stat(key_file.c_str(), &st) != 0 || !(st.st_mode & S_IROTH)) return;
  char mode[8];
  std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
  if (!allow_world_readable)
    throw std::runtime_error("the TLS key " + key_file + " has mode " + mode +
                             ": anyone on this machine can read it; chmod o-r it (or set tls.allow_world_readable_key)");
  log::warn("tls.key.world_readable", {{"file", key_file}, {"mode", mode}});
}

std::string openssl_error() {
  unsigned long e = ERR_get_error();
  ERR_clear_error();
  if (!e) return "no PEM data";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  return buf;
}

}  // namespace

struct Certificate::Pair {
  X509* leaf = nullptr;
  STACK_OF(X509)* chain = nullptr;
  EVP_PKEY* key = nullptr;
  ~Pair() {
    X509_free(leaf);
    sk_X509_pop_free(chain, X509_free);
    EVP_PKEY_free(key);
  }
};

namespace {

// Reads a certificate chain file (leaf first) and its key; throws naming the file.
std::shared_ptr<const Certificate::Pair> load_pair(const std::string& cert_file, const std::string& key_file) {
  auto pair = std::make_shared<Certificate::Pair>();
  ERR_clear_error();
  {
    FILE* f = std::fopen(cert_file.c_str(), "r");
    if (!f) throw std::runtime_error("cannot use the TLS certificate " + cert_file + ": cannot open it");
    pair->leaf = PEM_read_X509(f, nullptr, nullptr, nullptr);
    if (!pair->leaf) {
      std::fclose(f);
      throw std::runtime_error("cannot use the TLS certificate " + cert_file + ": " + openssl_error());
    }
    pair->chain = sk_X509_new_null();
    while (X509* more = PEM_read_X509(f, nullptr, nullptr, nullptr)) sk_X509_push(pair->chain, more);
    ERR_clear_error();  // the end of the file reads as an error
    std::fclose(f);
  }
  {
    FILE* f = std::fopen(key_file.c_str(), "r");
    if (!f) throw std::runtime_error("cannot use the TLS key " + key_file + ": cannot open it");
    pair->key = PEM_read_PrivateKey(f, nullptr, nullptr, nullptr);
    std::fclose(f);
    if (!pair->key) throw std::runtime_error("cannot use the TLS key " + key_file + ": " + openssl_error());
  }
  if (X509_check_private_key(pair->leaf, pair->key) != 1) {
    ERR_clear_error();
    throw std::runtime_error("the TLS key " + key_file + " does not match the certificate " + cert_file);
  }
  return pair;
}

// OpenSSL's certificate callback: runs in each handshake, before the server's certificate
// is chosen, and gives this connection the pair current now.
int present_current(SSL* ssl, void* arg) {
  auto pair = static_cast<std::atomic<std::shared_ptr<const Certificate::Pair>>*>(arg)->load();
  if (!pair) return 0;
  return SSL_use_certificate(ssl, pair->leaf) == 1 && SSL_use_PrivateKey(ssl, pair->key) == 1 &&
                 SSL_set1_chain(ssl, pair->chain) == 1
             ? 1
             : 0;
}

}  // namespace

boost::asio::ssl::context make_server_tls(const std::string& min_version) {
  namespace ssl = boost::asio::ssl;
  ssl::context ctx(ssl::context::tls_server);
  SSL_CTX* raw = ctx.native_handle();
  SSL_CTX_set_min_proto_version(raw, min_version == "1.3" ? TLS1_3_VERSION : TLS1_2_VERSION);
  SSL_CTX_set_options(raw, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
  // TLS 1.2: forward-secret AEAD suites only.
  SSL_CTX_set_cipher_list(raw, "ECDHE+AESGCM:ECDHE+CHACHA20:DHE+AESGCM:DHE+CHACHA20");
  // Idle sessions give their read and write buffers (about 34 KiB) back to the allocator
  // until the next record; writes may be partial and resumed from a moved buffer (the
  // non-blocking socket of net/stream.cpp).
  SSL_CTX_set_mode(raw, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  // One recv() per record (header and body together, and whatever else has arrived)
  // instead of two: a command costs one system call less. What OpenSSL read ahead counts
  // as pending (SSL_has_pending), which net/stream.cpp checks before it waits.
  SSL_CTX_set_read_ahead(raw, 1);
  // Resumption: a client that comes back (a phone polling IMAP, a submission client)
  // skips the certificate signature and the key exchange. TLS 1.3 uses stateless tickets
  // (one per handshake, sealed with this process's rotating keys), TLS 1.2 tickets or the
  // server's session cache. Nothing is shared between processes, so a restart costs
  // each client one full handshake.
  SSL_CTX_set_session_cache_mode(raw, SSL_SESS_CACHE_SERVER);
  static const unsigned char sid_ctx[] = "mailstead";
  SSL_CTX_set_session_id_context(raw, sid_ctx, sizeof sid_ctx - 1);
  SSL_CTX_sess_set_cache_size(raw, 20000);
  SSL_CTX_set_timeout(raw, 2 * 3600);
  SSL_CTX_set_num_tickets(raw, 1);
  return ctx;
}

Certificate::FileStamp Certificate::stamp(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return {};
  // ctime, not mtime: a chmod that fixes the key's mode counts as a change too.
  return {st.st_dev, st.st_ino, st.st_size, st.st_ctim.tv_sec * 1'000'000'000LL + st.st_ctim.tv_nsec};
}

Certificate::Certificate(std::string cert_file, std::string key_file, bool allow_world_readable_key)
    : cert_file_(std::move(cert_file)), key_file_(std::move(key_file)), allow_world_readable_key_(allow_world_readable_key) {
  check_key_mode(key_file_, allow_world_readable_key_);
  cert_stamp_ = stamp(cert_file_);
  key_stamp_ = stamp(key_file_);
  current_.store(load_pair(cert_file_, key_file_));
}

Certificate::~Certificate() = default;

void Certificate::attach(boost::asio::ssl::context& ctx) {
  SSL_CTX_set_cert_cb(ctx.native_handle(), present_current, &current_);
}

Certificate::Reload Certificate::reload(bool force) {
  auto cert_now = stamp(cert_file_), key_now = stamp(key_file_);
  if (!force && cert_now == cert_stamp_ && key_now == key_stamp_) return Reload::unchanged;
  try {
    check_key_mode(key_file_, allow_world_readable_key_);
    current_.store(load_pair(cert_file_, key_file_));
  } catch (const std::exception& e) {
    // Most often a renewal caught between writing the certificate and the key: the next
    // check (the files changed again) loads the finished pair.
    log::warn("tls.reload.failed", {{"error", e.what()}, {"kept", fingerprint()}});
    cert_stamp_ = cert_now;
    key_stamp_ = key_now;
    return Reload::failed;
  }
  cert_stamp_ = cert_now;
  key_stamp_ = key_now;
  log::info("tls.reloaded", {{"cert", cert_file_}, {"fingerprint", fingerprint()}});
  return Reload::reloaded;
}

std::string Certificate::fingerprint() const {
  auto pair = current_.load();
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (!pair || X509_digest(pair->leaf, EVP_sha256(), md, &n) != 1) return "";
  static const char hex[] = "0123456789abcdef";
  std::string out;
  for (unsigned i = 0; i < n; ++i) {
    out += hex[md[i] >> 4];
    out += hex[md[i] & 15];
  }
  return out;
}

}  // namespace mailstead::net
