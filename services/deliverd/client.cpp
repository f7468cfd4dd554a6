// The outbound SMTP connection (see client.hpp).
#include "client.hpp"

#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include "util/base64.hpp"

namespace mailstead::outbound {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
namespace {
constexpr auto tuple_awaitable = asio::as_tuple(asio::use_awaitable);
}

struct Connection::Impl {
  asio::any_io_executor ex;
  ClientOptions opts;
  tcp::socket socket;
  std::unique_ptr<asio::ssl::stream<tcp::socket&>> tls;
  asio::steady_timer timer;
  std::shared_ptr<bool> alive = std::make_shared<bool>(true);
  bool timed_out = false, broken = false, tls_failed = false, is_transient = true, connected = false;
  std::string failure, buf, what;  // `what`: the wait the deadline is for, in words
  std::string verify_error;
  Target target;
  Capabilities caps;

  Impl(asio::any_io_executor e, ClientOptions o) : ex(e), opts(std::move(o)), socket(e), timer(e) {}

  void deadline(std::chrono::milliseconds d, std::string waiting_for) {
    what = std::move(waiting_for);
    timer.expires_after(d);
    auto a = alive;
    timer.async_wait([this, a](boost::system::error_code ec) {
      if (ec || !*a) return;
      timed_out = true;
      boost::system::error_code ignored;
      socket.close(ignored);
    });
  }

  std::string host_text() const { return target.host + "[" + target.address + "]:" + std::to_string(target.port); }

  void fail(std::string why, bool transient = true) {
    broken = true;
    is_transient = transient;
    failure = std::move(why);
    boost::system::error_code ignored;
    socket.close(ignored);
  }

  std::string io_failure(const boost::system::error_code& ec) {
    if (timed_out) return "timed out while " + what + " (" + host_text() + ")";
    if (ec == asio::error::eof || ec == asio::error::connection_reset)
      return "lost connection with " + host_text() + " while " + what;
    return ec.message() + " while " + what + " (" + host_text() + ")";
  }

  asio::awaitable<bool> write(std::string_view data, std::chrono::milliseconds timeout, std::string waiting_for) {
    deadline(timeout, std::move(waiting_for));
    boost::system::error_code ec;
    if (tls) std::tie(ec, std::ignore) = co_await asio::async_write(*tls, asio::buffer(data), tuple_awaitable);
    else std::tie(ec, std::ignore) = co_await asio::async_write(socket, asio::buffer(data), tuple_awaitable);
    timer.cancel();
    if (ec) {
      fail(io_failure(ec));
      co_return false;
    }
    co_return true;
  }

  asio::awaitable<Reply> read_reply(std::chrono::milliseconds timeout, std::string waiting_for) {
    deadline(timeout, std::move(waiting_for));
    Reply r;
    for (;;) {
      std::size_t used = 0;
      auto st = parse_reply(buf, r, used);
      if (st == ParseStatus::complete) {
        buf.erase(0, used);
        timer.cancel();
        co_return r;
      }
      if (st == ParseStatus::malformed) {
        timer.cancel();
        fail("malformed reply from " + host_text() + " while " + what);
        co_return Reply{};
      }
      char chunk[8192];
      boost::system::error_code ec;
      std::size_t n = 0;
      if (tls) std::tie(ec, n) = co_await tls->async_read_some(asio::buffer(chunk), tuple_awaitable);
      else std::tie(ec, n) = co_await socket.async_read_some(asio::buffer(chunk), tuple_awaitable);
      if (ec) {
        timer.cancel();
        fail(io_failure(ec));
        co_return Reply{};
      }
      buf.append(chunk, n);
    }
  }

  asio::awaitable<bool> handshake() {
    tls = std::make_unique<asio::ssl::stream<tcp::socket&>>(socket, *opts.tls);
    SSL* ssl = tls->native_handle();
    SSL_set_tlsext_host_name(ssl, target.host.c_str());
    bool checked = false;
    if (!opts.dane.empty()) {
      // RFC 7672 3: DANE-EE(3) pins the server's certificate or key, names and dates are not
      // checked (3.1.1); DANE-TA(2) names the trust anchor, the chain must reach it and name
      // the MX host (3.2.3). No PKIX.
      checked = true;
      if (SSL_dane_enable(ssl, target.host.c_str()) <= 0) {
        fail("DANE cannot be enabled for " + host_text());
        co_return false;
      }
      SSL_dane_set_flags(ssl, DANE_FLAG_NO_DANE_EE_NAMECHECKS);
      int usable = 0;
      for (const auto& t : opts.dane)
        usable += SSL_dane_tlsa_add(ssl, t.usage, t.selector, t.matching,
                                    reinterpret_cast<const unsigned char*>(t.data.data()), t.data.size()) > 0;
      if (usable == 0) {
        fail("none of the TLSA records of " + host_text() + " is usable");
        co_return false;
      }
      SSL_set_verify(ssl, SSL_VERIFY_PEER, nullptr);
    } else if (opts.pkix) {
      // RFC 8461 4.2: the certificate chains to a trusted root and names the MX host.
      checked = true;
      SSL_set1_host(ssl, target.host.c_str());
      SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
      SSL_set_verify(ssl, opts.report_only ? SSL_VERIFY_NONE : SSL_VERIFY_PEER, nullptr);
    } else if (opts.verify_peer) {
      tls->set_verify_mode(asio::ssl::verify_peer);
      tls->set_verify_callback(asio::ssl::host_name_verification(target.host));
    } else {
      tls->set_verify_mode(asio::ssl::verify_none);  // opportunistic (RFC 7435): encrypt, do not authenticate
    }
    deadline(opts.timeouts.command, "performing the TLS handshake");
    auto [ec] = co_await tls->async_handshake(asio::ssl::stream_base::client, tuple_awaitable);
    timer.cancel();
    if (checked) {
      long v = SSL_get_verify_result(ssl);
      if (v != X509_V_OK) verify_error = X509_verify_cert_error_string(v);
    }
    if (ec) {
      tls_failed = true;
      std::string why = ec.message();
      if (!verify_error.empty()) why += " (" + verify_error + ")";
      if (ec.category() == asio::error::get_ssl_category() && why.find("wrong version number") != std::string::npos) {
        if (opts.implicit_tls && opts.relay)
          why += " (this port speaks plain SMTP first, as 587 does: use security \"starttls\", or the relay's TLS port)";
        else
          why += " (the server does not speak TLS at this point)";
      }
      fail("TLS handshake with " + host_text() + " failed: " + why);
      co_return false;
    }
    co_return true;
  }

  asio::awaitable<bool> ehlo() {
    if (!co_await write("EHLO " + opts.helo + "\r\n", opts.timeouts.command, "sending EHLO")) co_return false;
    auto r = co_await read_reply(opts.timeouts.command, "waiting for the reply to EHLO");
    if (broken) co_return false;
    if (r.code == 250) {
      caps = parse_ehlo(r);
      co_return true;
    }
    // RFC 5321 3.2: a server that refuses EHLO may still take HELO.
    if (!co_await write("HELO " + opts.helo + "\r\n", opts.timeouts.command, "sending HELO")) co_return false;
    r = co_await read_reply(opts.timeouts.command, "waiting for the reply to HELO");
    if (broken) co_return false;
    if (r.code != 250) {
      fail(host_text() + " refused HELO: " + r.text(), !r.permanent());
      co_return false;
    }
    caps = Capabilities{};
    co_return true;
  }

  asio::awaitable<bool> authenticate() {
    std::string plain;
    plain.push_back('\0');
    plain += opts.auth_user;
    plain.push_back('\0');
    plain += opts.auth_password;
    bool has_plain = false, has_login = false;
    for (const auto& m : caps.auth) has_plain |= m == "PLAIN", has_login |= m == "LOGIN";
    Reply r;
    if (has_plain || !has_login) {
      if (!co_await write("AUTH PLAIN " + base64_encode(plain) + "\r\n", opts.timeouts.command, "sending AUTH"))
        co_return false;
      r = co_await read_reply(opts.timeouts.command, "waiting for the reply to AUTH");
    } else {
      if (!co_await write("AUTH LOGIN\r\n", opts.timeouts.command, "sending AUTH")) co_return false;
      r = co_await read_reply(opts.timeouts.command, "waiting for the reply to AUTH");
      if (r.code == 334) {
        co_await write(base64_encode(opts.auth_user) + "\r\n", opts.timeouts.command, "sending AUTH");
        r = co_await read_reply(opts.timeouts.command, "waiting for the reply to AUTH");
        if (r.code == 334) {
          co_await write(base64_encode(opts.auth_password) + "\r\n", opts.timeouts.command, "sending AUTH");
          r = co_await read_reply(opts.timeouts.command, "waiting for the reply to AUTH");
        }
      }
    }
    if (broken) co_return false;
    if (r.code != 235) {
      // 535: wrong credentials. Retried later (the password may be fixed), never bounced at once.
      fail("authentication failed at " + host_text() + ": " + r.text(), true);
      co_return false;
    }
    co_return true;
  }
};

Connection::Connection(asio::any_io_executor ex, ClientOptions options)
    : impl_(std::make_unique<Impl>(ex, std::move(options))) {}

Connection::~Connection() {
  *impl_->alive = false;
  impl_->timer.cancel();
}

bool Connection::usable() const { return !impl_->broken; }
bool Connection::tls_failed() const { return impl_->tls_failed; }
bool Connection::connected() const { return impl_->connected; }
const std::string& Connection::failure() const { return impl_->failure; }
const std::string& Connection::verify_error() const { return impl_->verify_error; }
bool Connection::transient() const { return impl_->is_transient; }
const Capabilities& Connection::capabilities() const { return impl_->caps; }
std::string Connection::remote() const { return impl_->target.host + " [" + impl_->target.address + "]"; }
std::string Connection::tls_version() const {
  return impl_->tls ? SSL_get_version(impl_->tls->native_handle()) : "";
}

asio::awaitable<bool> Connection::open(const Target& target) {
  auto& d = *impl_;
  d.target = target;
  boost::system::error_code ec;
  auto addr = asio::ip::make_address(target.address, ec);
  if (ec) {
    d.fail("'" + target.address + "' is not an IP address");
    co_return false;
  }
  d.deadline(d.opts.timeouts.connect, "connecting");
  auto [cec] = co_await d.socket.async_connect(tcp::endpoint(addr, target.port), tuple_awaitable);
  d.timer.cancel();
  if (cec) {
    if (d.timed_out)
      d.fail("connection to " + d.host_text() + " timed out (your provider may block port " + std::to_string(target.port) + ")");
    else if (cec == asio::error::connection_refused)
      d.fail("connection to " + d.host_text() + " refused");
    else
      d.fail("cannot connect to " + d.host_text() + ": " + cec.message());
    co_return false;
  }
  d.connected = true;
  d.socket.set_option(tcp::no_delay(true), ec);
  if (d.opts.implicit_tls) {
    if (!d.opts.tls) {
      d.fail("implicit TLS needs a TLS context");
      co_return false;
    }
    if (!co_await d.handshake()) co_return false;
  }
  auto greeting = co_await d.read_reply(d.opts.timeouts.greeting, "waiting for the greeting");
  if (d.broken) {
    if (!d.opts.implicit_tls && d.timed_out && (target.port == 465 || d.opts.relay))
      d.failure += " (no greeting: this port probably expects TLS from the first byte, as 465 does: use security \"tls\")";
    co_return false;
  }
  if (greeting.code != 220) {
    d.fail(d.host_text() + " refused the connection: " + greeting.text(), !greeting.permanent());
    co_return false;
  }
  if (!co_await d.ehlo()) co_return false;
  if (!d.tls && d.opts.tls && d.caps.starttls) {
    if (!co_await d.write("STARTTLS\r\n", d.opts.timeouts.command, "sending STARTTLS")) co_return false;
    auto r = co_await d.read_reply(d.opts.timeouts.command, "waiting for the reply to STARTTLS");
    if (d.broken) co_return false;
    if (r.code == 220) {
      d.buf.clear();  // nothing sent before TLS may be kept (RFC 3207 5)
      if (!co_await d.handshake()) co_return false;
      if (!co_await d.ehlo()) co_return false;  // RFC 3207 4.2: forget what was learnt before
    } else if (d.opts.require_tls) {
      d.fail(d.host_text() + " refused STARTTLS: " + r.text());
      co_return false;
    }
  }
  if (d.opts.require_tls && !d.tls) {
    d.fail(d.host_text() + " does not offer STARTTLS, and TLS is required");
    co_return false;
  }
  if (!d.opts.auth_user.empty() && !co_await d.authenticate()) co_return false;
  co_return true;
}

asio::awaitable<std::vector<queue::Outcome>> Connection::send(const Envelope& env) {
  auto& d = *impl_;
  std::vector<queue::Outcome> out;
  for (const auto& r : env.recipients) out.push_back({r, queue::Result::deferred, "", remote(), tls_version()});
  auto all = [&](queue::Result res, const std::string& reply) {
    for (auto& o : out) o.result = res, o.reply = reply;
  };
  if (d.broken) {
    all(queue::Result::deferred, d.failure);
    co_return out;
  }
  bool utf8 = needs_smtputf8(env.sender, env.recipients, env.message);
  if (utf8 && !d.caps.smtputf8) {
    all(queue::Result::failed, "5.6.7 the message needs SMTPUTF8 (non-ASCII addresses or header fields), which " +
                                   d.host_text() + " does not support");
    co_return out;
  }
  if (d.caps.size && env.message.size() > d.caps.size) {
    all(queue::Result::failed, "5.3.4 the message is " + std::to_string(env.message.size()) + " bytes; " + d.host_text() +
                                   " accepts at most " + std::to_string(d.caps.size));
    co_return out;
  }
  std::string mail = "MAIL FROM:<" + env.sender + ">";
  if (d.caps.size) mail += " SIZE=" + std::to_string(env.message.size());
  if (d.caps.eightbitmime && has_8bit(env.message)) mail += " BODY=8BITMIME";
  if (utf8) mail += " SMTPUTF8";
  mail += "\r\n";
  std::vector<std::string> rcpt_cmds;
  for (const auto& r : env.recipients) rcpt_cmds.push_back("RCPT TO:<" + r + ">\r\n");

  auto broke = [&] {
    for (auto& o : out)
      if (o.reply.empty() || o.result == queue::Result::deferred) o.result = queue::Result::deferred, o.reply = d.failure;
  };

  Reply mail_reply;
  std::vector<Reply> rcpt_replies;
  Reply data_reply;
  if (d.caps.pipelining) {
    // RFC 2920 3.1: MAIL, every RCPT and DATA in one write; the replies come in order.
    std::string batch = mail;
    for (const auto& c : rcpt_cmds) batch += c;
    batch += "DATA\r\n";
    if (!co_await d.write(batch, d.opts.timeouts.command, "sending MAIL FROM")) { broke(); co_return out; }
    mail_reply = co_await d.read_reply(d.opts.timeouts.command, "waiting for the reply to MAIL FROM");
    for (std::size_t i = 0; i < rcpt_cmds.size() && !d.broken; ++i)
      rcpt_replies.push_back(co_await d.read_reply(d.opts.timeouts.command, "waiting for the reply to RCPT TO"));
    if (!d.broken) data_reply = co_await d.read_reply(d.opts.timeouts.data_init, "waiting for the reply to DATA");
    if (d.broken) { broke(); co_return out; }
  } else {
    if (!co_await d.write(mail, d.opts.timeouts.command, "sending MAIL FROM")) { broke(); co_return out; }
    mail_reply = co_await d.read_reply(d.opts.timeouts.command, "waiting for the reply to MAIL FROM");
    if (d.broken) { broke(); co_return out; }
    if (mail_reply.positive()) {
      for (const auto& c : rcpt_cmds) {
        if (!co_await d.write(c, d.opts.timeouts.command, "sending RCPT TO")) { broke(); co_return out; }
        rcpt_replies.push_back(co_await d.read_reply(d.opts.timeouts.command, "waiting for the reply to RCPT TO"));
        if (d.broken) { broke(); co_return out; }
      }
    }
  }
  std::string where = " (" + d.host_text() + ", MAIL FROM: the sender <" + env.sender + "> was refused)";
  if (!mail_reply.positive()) {
    all(mail_reply.permanent() ? queue::Result::failed : queue::Result::deferred, mail_reply.text() + where);
    if (d.caps.pipelining && data_reply.code == 354) co_await d.write(".\r\n", d.opts.timeouts.data_done, "ending DATA");
    if (!d.broken) {
      co_await d.write("RSET\r\n", d.opts.timeouts.command, "sending RSET");
      co_await d.read_reply(d.opts.timeouts.command, "waiting for the reply to RSET");
    }
    co_return out;
  }
  std::size_t accepted = 0;
  for (std::size_t i = 0; i < out.size(); ++i) {
    const auto& r = rcpt_replies[i];
    if (r.positive()) {
      ++accepted;
      continue;
    }
    out[i].result = r.permanent() ? queue::Result::failed : queue::Result::deferred;
    out[i].reply = r.text() + " (" + d.host_text() + ", RCPT TO)";
  }
  if (!d.caps.pipelining && accepted > 0) {
    if (!co_await d.write("DATA\r\n", d.opts.timeouts.command, "sending DATA")) { broke(); co_return out; }
    data_reply = co_await d.read_reply(d.opts.timeouts.data_init, "waiting for the reply to DATA");
    if (d.broken) { broke(); co_return out; }
  }
  if (accepted == 0) {
    // Nobody to send to. A server that said 354 anyway gets an empty message ended at once.
    if (data_reply.code == 354) {
      co_await d.write(".\r\n", d.opts.timeouts.data_done, "ending DATA");
      co_await d.read_reply(d.opts.timeouts.data_done, "waiting for the reply to the end of DATA");
    }
    if (!d.broken) {
      co_await d.write("RSET\r\n", d.opts.timeouts.command, "sending RSET");
      co_await d.read_reply(d.opts.timeouts.command, "waiting for the reply to RSET");
    }
    co_return out;
  }
  auto accepted_get = [&](queue::Result res, const std::string& reply) {
    for (std::size_t i = 0; i < out.size(); ++i)
      if (rcpt_replies[i].positive()) out[i].result = res, out[i].reply = reply;
  };
  if (data_reply.code != 354) {
    accepted_get(data_reply.permanent() ? queue::Result::failed : queue::Result::deferred,
                 data_reply.text() + " (" + d.host_text() + ", DATA)");
    co_await d.write("RSET\r\n", d.opts.timeouts.command, "sending RSET");
    co_await d.read_reply(d.opts.timeouts.command, "waiting for the reply to RSET");
    co_return out;
  }
  auto body = dot_stuff(env.message);
  if (!co_await d.write(body, d.opts.timeouts.data_block, "sending the message body")) {
    accepted_get(queue::Result::deferred, d.failure);
    co_return out;
  }
  auto done = co_await d.read_reply(d.opts.timeouts.data_done, "waiting for the reply to the end of the message");
  if (d.broken) {
    // The server may have the message: RFC 5321 6.1 prefers a duplicate to a loss.
    accepted_get(queue::Result::deferred, d.failure);
    co_return out;
  }
  if (done.positive()) accepted_get(queue::Result::delivered, done.text());
  else accepted_get(done.permanent() ? queue::Result::failed : queue::Result::deferred,
                    done.text() + " (" + d.host_text() + ", end of DATA)");
  if (!done.positive()) {
    co_await d.write("RSET\r\n", d.opts.timeouts.command, "sending RSET");
    co_await d.read_reply(d.opts.timeouts.command, "waiting for the reply to RSET");
  }
  co_return out;
}

asio::awaitable<void> Connection::quit() {
  auto& d = *impl_;
  if (d.broken) co_return;
  if (co_await d.write("QUIT\r\n", std::chrono::seconds(10), "sending QUIT"))
    co_await d.read_reply(std::chrono::seconds(10), "waiting for the reply to QUIT");
  boost::system::error_code ec;
  if (d.tls) {
    d.deadline(std::chrono::seconds(2), "closing TLS");
    co_await d.tls->async_shutdown(asio::as_tuple(asio::use_awaitable));
    d.timer.cancel();
  }
  d.socket.close(ec);
}

}  // namespace mailstead::outbound
