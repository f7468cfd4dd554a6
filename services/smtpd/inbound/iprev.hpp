// The client's reverse DNS as the MX found it (RFC 8601 2.7.3 "iprev", RFC 8601 3 for the
// forward-confirmed reverse DNS it names) and the HELO name check. Recorded in the message's
// header (X-Mailstead-Iprev, X-Mailstead-Helo) and in Received; never a refusal unless
// [smtpd] iprev_policy = "reject". The Authentication-Results writer takes
// Iprev::method_clause() as one of its method clauses.
#pragma once

#include <string>

#include "inbound/auth_results.hpp"

namespace mailstead::inbound {

enum class IprevStatus {
  none,       // not looked up (a submission port, or no RCPT yet)
  pass,       // a PTR name of the address resolves back to it
  fail,       // no PTR name, or none resolves back to the address
  temperror,  // a DNS timeout or SERVFAIL on the way
};
const char* iprev_status_name(IprevStatus s);

struct Iprev {
  IprevStatus status = IprevStatus::none;
  std::string ip;    // the client's address as text
  std::string host;  // pass: the confirmed name; fail: the first PTR name ("" when none)
  std::string why;   // for the comment when there is no host: "no PTR record", "DNS timeout"…

  // RFC 8601 method clause: "iprev=pass policy.iprev=192.0.2.1 (host.example)"; "" for none.
  std::string method_clause() const;
  // The same as a clause of the Authentication-Results field (auth_results.hpp).
  Clause clause() const;
};

enum class HeloStatus {
  none,      // not checked
  match,     // the name is the confirmed PTR name, or resolves to the client's address
  literal,   // an address literal equal to the client's address
  mismatch,  // a name that resolves elsewhere, or a literal of another address
  unknown,   // a name that does not resolve (NXDOMAIN or no address)
  invalid,   // not a fully qualified name (no dot) nor a literal
  temperror,
};
const char* helo_status_name(HeloStatus s);

struct HeloCheck {
  HeloStatus status = HeloStatus::none;
  std::string name;  // as the client gave it
  // "helo=match (mail.example.org)" for X-Mailstead-Helo.
  std::string clause() const;
};

}  // namespace mailstead::inbound
