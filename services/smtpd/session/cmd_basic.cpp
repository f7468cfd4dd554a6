// The command table and the simple verbs: EHLO/HELO, RSET, NOOP, VRFY, EXPN, HELP, QUIT.
#include "log/log.hpp"
#include "proto/input.hpp"
#include "session/session.hpp"

namespace mailstead::smtp {

namespace {

// name, allowed on the submission port before STARTTLS, ends a pipelined group
// (RFC 2920 3.1: EHLO, DATA, BDAT, QUIT, STARTTLS, AUTH, NOOP wait for the reply).
struct Entry {
  const char* name;
  bool before_tls;
  bool pipelining_last;
};

constexpr Entry table[] = {
    {"EHLO", true, true},  {"HELO", true, true},   {"STARTTLS", true, true}, {"NOOP", true, true},
    {"RSET", true, false}, {"QUIT", true, true},   {"HELP", true, false},    {"AUTH", false, true},
    {"MAIL", false, false}, {"RCPT", false, false}, {"DATA", false, true},   {"BDAT", false, true},
    {"VRFY", false, false}, {"EXPN", false, false},
};

const Entry& entry(const char* name) {
  for (const auto& e : table)
    if (std::string_view(e.name) == name) return e;
  return table[0];
}

}  // namespace

asio::awaitable<void> Session::dispatch(const Command& cmd) {
  const auto& e = entry(command_name(cmd));
  // RFC 3030 2: during BDAT only BDAT, RSET, QUIT (and NOOP) make sense.
  if (txn_.bdat && !std::holds_alternative<Bdat>(cmd) && !std::holds_alternative<Rset>(cmd) &&
      !std::holds_alternative<Quit>(cmd) && !std::holds_alternative<Noop>(cmd)) {
    send_error(503, "5.5.1", "Only BDAT, RSET or QUIT may follow BDAT");
    co_return;
  }
  if (port_ == Port::submission && !stream_->tls() && !e.before_tls) {
    if (std::holds_alternative<Bdat>(cmd)) {
      // Read the chunk away so its bytes are not taken as commands.
      co_await handle_bdat(std::get<Bdat>(cmd));
      co_return;
    }
    send_error(530, "5.7.0", "Must issue a STARTTLS command first");
    co_return;
  }
  if (auto* h = std::get_if<Helo>(&cmd)) handle_helo(*h);
  else if (std::holds_alternative<StartTls>(cmd)) co_await handle_starttls();
  else if (auto* a = std::get_if<Auth>(&cmd)) co_await handle_auth(*a);
  else if (auto* m = std::get_if<Mail>(&cmd)) handle_mail(*m);
  else if (auto* r = std::get_if<Rcpt>(&cmd)) {
    co_await inbound_look_up();
    handle_rcpt(*r);
  }
  else if (std::holds_alternative<Data>(cmd)) co_await handle_data();
  else if (auto* b = std::get_if<Bdat>(&cmd)) co_await handle_bdat(*b);
  else if (std::holds_alternative<Rset>(cmd)) {
    reset_transaction();
    send(250, "2.0.0", "Ok");
  } else if (std::holds_alternative<Noop>(cmd)) {
    send(250, "2.0.0", "Ok");
  } else if (std::holds_alternative<Vrfy>(cmd)) {
    // No user enumeration (RFC 5321 3.5.3 allows 252).
    send(252, "2.5.0", "Cannot VRFY user, but will accept message and attempt delivery");
  } else if (std::holds_alternative<Expn>(cmd)) {
    send(502, "5.5.1", "EXPN is not available");
  } else if (std::holds_alternative<Help>(cmd)) {
    send(214, "2.0.0", "See RFC 5321");
  } else if (std::holds_alternative<Quit>(cmd)) {
    send(221, "2.0.0", "Bye");
    quit_ = true;
  }
  (void)e.pipelining_last;  // replies are flushed whenever the client must wait (read_more)
}

void Session::handle_helo(const Helo& h) {
  // RFC 5321 4.1.4: EHLO/HELO also resets the transaction. The name is not checked
  // strictly (clients send all sorts, docs/smtp.md); it goes into Received as given, so
  // the parser has refused whatever could change that field's meaning.
  reset_transaction();
  helo_ = h.domain;
  esmtp_ = h.extended;
  if (!h.extended) {
    send(250, "", shared_.core.hostname);
    return;
  }
  std::vector<std::string> lines{shared_.core.hostname, "PIPELINING",
                                 "SIZE " + std::to_string(shared_.settings.max_message_size), "8BITMIME",
                                 "SMTPUTF8", "ENHANCEDSTATUSCODES", "CHUNKING"};
  if (!stream_->tls() && port_ != Port::submissions) lines.push_back("STARTTLS");
  if (port_ != Port::mx && stream_->tls() && !user_id_) lines.push_back("AUTH PLAIN LOGIN");
  auto r = reply_lines(250, "", lines);
  log_line("out", r);
  out_ += r;
}

}  // namespace mailstead::smtp
