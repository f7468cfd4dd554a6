// Server TLS contexts (OpenSSL 3 through Asio): TLS 1.2 at least (1.3 when configured),
// no compression, no renegotiation, server cipher preference. Included only by session code.
#pragma once

#include <boost/asio/ssl/context.hpp>
#include <string>

namespace mailstead::net {

// Throws std::runtime_error naming the file when the certificate or key cannot be used,
// or when the key file is readable by others and `allow_world_readable_key` is false (with
// it true, that is logged as a warning).
boost::asio::ssl::context make_server_tls(const std::string& cert_file, const std::string& key_file,
                                          const std::string& min_version, bool allow_world_readable_key = false);

}  // namespace mailstead::net
