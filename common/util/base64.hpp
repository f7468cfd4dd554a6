// Base64 (RFC 4648) for SASL exchanges, via OpenSSL.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace mailstead {

std::string base64_encode(std::string_view in);
// nullopt for anything that is not canonical base64 (bad characters, bad padding).
std::optional<std::string> base64_decode(std::string_view in);

}  // namespace mailstead
