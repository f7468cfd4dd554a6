// Internal to common/http: the HTTP session hands a WebSocket opening handshake it has
// parsed, and the connection, to websocket.cpp (Beast types on both sides).
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <string>

#include "http/websocket.hpp"
#include "net/stream.hpp"

namespace mailstead::http {

// Answers 101 (Beast's accept) and runs the upgrade's handler until it returns or the
// connection ends; the connection is closed afterwards either way.
boost::asio::awaitable<void> run_websocket(net::Stream& stream,
                                           const boost::beast::http::request<boost::beast::http::string_body>& req,
                                           Upgrade& upgrade, const std::string& log_name, const std::string& session);

}  // namespace mailstead::http
