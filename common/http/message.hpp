// An HTTP/1.1 request and response as the API's handlers see them: plain strings, no
// Beast types (Beast stays inside session.cpp). Header names are lower case.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mailstead::http {

struct Upgrade;  // websocket.hpp

struct Request {
  std::string method;  // as sent: "GET", "POST", ...
  std::string path;    // the target before '?', still percent-encoded
  std::string query;   // after '?', "" when none
  std::vector<std::pair<std::string, std::string>> headers;  // name lower case
  std::string body;
  std::string peer;  // client IP
  bool tls = false;
  bool websocket = false;  // a WebSocket opening handshake (RFC 6455 4.1): GET with Upgrade

  // The first header of that (lower-case) name, "" when absent.
  std::string_view header(std::string_view name) const;
  // A cookie's value from the Cookie header(s), "" when absent.
  std::string cookie(std::string_view name) const;
  // A query parameter, percent-decoded ('+' as space), "" when absent.
  std::string query_param(std::string_view name) const;
};

struct Response {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers (Set-Cookie, ...)
  bool close = false;  // end the connection after this response
  // With status 101: the connection becomes this WebSocket (only for a request.websocket).
  std::shared_ptr<Upgrade> upgrade;
};

// "%40" → "@"; false when an escape is malformed or decodes to NUL.
bool percent_decode(std::string_view in, std::string& out, bool plus_is_space = false);
std::string percent_encode(std::string_view in);  // everything but unreserved characters
const char* reason_phrase(int status);

}  // namespace mailstead::http
