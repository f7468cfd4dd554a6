// One HTTP/1.1 exchange over TCP or TLS with Boost.Beast (see http_client.hpp).
#include "http_client.hpp"

#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

namespace mailstead::outbound::http_client {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

constexpr auto tuple_awaitable = asio::as_tuple(asio::use_awaitable);

Response failed(Failure f, std::string why) {
  Response r;
  r.failure = f;
  r.error = std::move(why);
  return r;
}

http::request<http::string_body> make_request(const Request& in) {
  http::request<http::string_body> req;
  req.method_string(in.method);
  req.target(in.target);
  req.version(11);
  bool v6 = in.host.find(':') != std::string::npos;
  std::string host = v6 ? "[" + in.host + "]" : in.host;
  bool default_port = in.port == (in.tls ? 443 : 80);
  req.set(http::field::host, default_port ? host : host + ":" + std::to_string(in.port));
  req.set(http::field::user_agent, "Mailstead");
  req.set(http::field::connection, "close");
  for (const auto& [name, value] : in.headers) req.set(name, value);
  if (!in.body.empty() || in.method == "POST") {
    req.body() = in.body;
    req.prepare_payload();
  }
  return req;
}

// Writes the request and reads the answer on a connected stream (TCP or TLS).
template <class Stream>
asio::awaitable<Response> exchange(Stream& stream, const Request& in, const Options& o, const std::string& where) {
  auto req = make_request(in);
  auto [wec, wn] = co_await http::async_write(stream, req, tuple_awaitable);
  (void)wn;
  if (wec) co_return failed(Failure::send, "sending the request to " + where + " failed: " + wec.message());
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(o.max_body);
  parser.header_limit(16 * 1024);
  auto [rec, rn] = co_await http::async_read(stream, buffer, parser, tuple_awaitable);
  (void)rn;
  if (rec == http::error::body_limit)
    co_return failed(Failure::too_large, "the answer of " + where + " is larger than " + std::to_string(o.max_body) + " bytes");
  if (rec) co_return failed(Failure::read, "reading the answer of " + where + " failed: " + rec.message());
  auto& res = parser.get();
  Response out;
  out.status = static_cast<int>(res.result_int());
  out.content_type = std::string(res[http::field::content_type]);
  out.retry_after = std::string(res[http::field::retry_after]);
  out.body = std::move(res.body());
  co_return out;
}

}  // namespace

std::string describe(const Request& r) {
  return r.host + " [" + r.address + "]:" + std::to_string(r.port);
}

asio::awaitable<Response> send(asio::io_context& io, asio::ssl::context& tls, const Request& in, const Options& o) {
  boost::system::error_code ec;
  auto ip = asio::ip::make_address(in.address, ec);
  if (ec) co_return failed(Failure::connect, "'" + in.address + "' is not an address");
  const std::string where = describe(in);
  tcp::endpoint endpoint(ip, in.port);
  if (!in.tls) {
    beast::tcp_stream stream(io);
    stream.expires_after(o.timeout);
    auto [cec] = co_await stream.async_connect(endpoint, tuple_awaitable);
    if (cec) co_return failed(Failure::connect, "cannot connect to " + where + ": " + cec.message());
    auto out = co_await exchange(stream, in, o, where);
    boost::system::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
    co_return out;
  }
  beast::ssl_stream<beast::tcp_stream> stream(io, tls);
  SSL* ssl = stream.native_handle();
  // The certificate must be valid for the host (PKIX, RFC 6125): a name, or an address
  // (an iPAddress subjectAltName); SNI only for names (RFC 6066 3).
  (void)asio::ip::make_address(in.host, ec);
  if (ec) {
    SSL_set_tlsext_host_name(ssl, in.host.c_str());
    SSL_set1_host(ssl, in.host.c_str());
  } else {
    X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), in.host.c_str());
  }
  SSL_set_verify(ssl, SSL_VERIFY_PEER, nullptr);
  auto& tcp_layer = beast::get_lowest_layer(stream);
  tcp_layer.expires_after(o.timeout);
  auto [cec] = co_await tcp_layer.async_connect(endpoint, tuple_awaitable);
  if (cec) co_return failed(Failure::connect, "cannot connect to " + where + ": " + cec.message());
  auto [hec] = co_await stream.async_handshake(asio::ssl::stream_base::client, tuple_awaitable);
  if (hec) {
    std::string why = hec.message();
    long v = SSL_get_verify_result(ssl);
    if (v != X509_V_OK) why += " (" + std::string(X509_verify_cert_error_string(v)) + ")";
    co_return failed(Failure::tls, "TLS with " + where + " failed: " + why);
  }
  auto out = co_await exchange(stream, in, o, where);
  if (out.failure == Failure::none) {
    tcp_layer.expires_after(std::chrono::seconds(2));
    co_await stream.async_shutdown(tuple_awaitable);
  }
  co_return out;
}

}  // namespace mailstead::outbound::http_client
