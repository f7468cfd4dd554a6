// A WebSocket connection (RFC 6455) taken over from an HTTP/1.1 session after the 101
// answer: Beast's websocket stream lives only in websocket.cpp; a handler sees text
// messages in and out. The session that accepted the upgrade runs the handler and closes
// the connection when it returns.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/system/error_code.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace mailstead::http {

struct WebSocketLimits {
  std::uint64_t max_message_size = 64 << 10;  // a message from the peer; larger closes (1009)
  // Nothing heard from the peer this long closes the connection; a ping goes out at half of
  // it, so a live browser always answers in time (RFC 6455 5.5.2).
  std::chrono::milliseconds idle_timeout{std::chrono::seconds(60)};
  std::chrono::milliseconds write_timeout{std::chrono::seconds(30)};  // one message written
};

class WebSocket {
 public:
  virtual ~WebSocket() = default;
  // The next message from the peer (pings and pongs are answered and counted inside); an
  // error when the peer closed, went quiet past the idle limit or broke a limit.
  virtual boost::asio::awaitable<void> read(std::string& out, boost::system::error_code& ec) = 0;
  // One text message; a peer that does not take it within write_timeout is disconnected.
  virtual boost::asio::awaitable<void> write(std::string_view text, boost::system::error_code& ec) = 0;
  // The closing handshake with a status code (1000 normal, 1008 policy, 1013 try again).
  virtual boost::asio::awaitable<void> close(std::uint16_t code, std::string_view reason) = 0;
  // Ends the connection now: pending reads and writes fail.
  virtual void abort() = 0;
};

using WebSocketHandler = std::function<boost::asio::awaitable<void>(WebSocket&)>;

// Set on a 101 Response: the session completes the handshake, then runs `run`.
struct Upgrade {
  WebSocketLimits limits;
  WebSocketHandler run;
};

}  // namespace mailstead::http
