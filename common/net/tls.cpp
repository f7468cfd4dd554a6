// Server TLS context set-up.
#include "net/tls.hpp"

#include <openssl/ssl.h>
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

}  // namespace

boost::asio::ssl::context make_server_tls(const std::string& cert_file, const std::string& key_file,
                                          const std::string& min_version, bool allow_world_readable_key) {
  namespace ssl = boost::asio::ssl;
  check_key_mode(key_file, allow_world_readable_key);
  ssl::context ctx(ssl::context::tls_server);
  SSL_CTX* raw = ctx.native_handle();
  SSL_CTX_set_min_proto_version(raw, min_version == "1.3" ? TLS1_3_VERSION : TLS1_2_VERSION);
  SSL_CTX_set_options(raw, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
  // TLS 1.2: forward-secret AEAD suites only.
  SSL_CTX_set_cipher_list(raw, "ECDHE+AESGCM:ECDHE+CHACHA20:DHE+AESGCM:DHE+CHACHA20");
  boost::system::error_code ec;
  ctx.use_certificate_chain_file(cert_file, ec);
  if (ec) throw std::runtime_error("cannot use the TLS certificate " + cert_file + ": " + ec.message());
  ctx.use_private_key_file(key_file, ssl::context::pem, ec);
  if (ec) throw std::runtime_error("cannot use the TLS key " + key_file + ": " + ec.message());
  if (SSL_CTX_check_private_key(raw) != 1)
    throw std::runtime_error("the TLS key " + key_file + " does not match the certificate " + cert_file);
  return ctx;
}

}  // namespace mailstead::net
