// Server TLS context set-up.
#include "net/tls.hpp"

#include <openssl/ssl.h>

#include <stdexcept>

namespace mailstead::net {

boost::asio::ssl::context make_server_tls(const std::string& cert_file, const std::string& key_file,
                                          const std::string& min_version) {
  namespace ssl = boost::asio::ssl;
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
