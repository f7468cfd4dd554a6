// RFC 3464 delivery status notifications (see dsn.hpp).
#include "queue/dsn.hpp"

#include <ctime>

#include "mime/header.hpp"

namespace mailstead::queue {

namespace {

std::string one_line(std::string_view s) {
  std::string out(s);
  for (auto& c : out)
    if (c == '\r' || c == '\n') c = ' ';
  return out;
}

bool is_status(std::string_view s) {
  // class "." subject "." detail: 2/4/5, 1-3 digits, 1-3 digits (RFC 3463 2)
  if (s.size() < 5 || (s[0] != '2' && s[0] != '4' && s[0] != '5') || s[1] != '.') return false;
  std::size_t i = 2, digits = 0;
  while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i, ++digits;
  if (digits == 0 || digits > 3 || i >= s.size() || s[i] != '.') return false;
  ++i;
  digits = 0;
  while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i, ++digits;
  return digits > 0 && digits <= 3 && i == s.size();
}

}  // namespace

std::string status_of(std::string_view reply) {
  // Our own reasons start with their status: "5.1.10 example.net accepts no mail …"
  if (auto sp = reply.find(' '); sp != std::string_view::npos && is_status(reply.substr(0, sp)))
    return std::string(reply.substr(0, sp));
  if (reply.size() >= 3 && (reply[0] == '4' || reply[0] == '5') && reply.size() > 4 && reply[3] == ' ') {
    auto rest = reply.substr(4);
    auto sp = rest.find(' ');
    auto code = rest.substr(0, sp);
    if (is_status(code) && code[0] == reply[0]) return std::string(code);
  }
  if (!reply.empty() && reply[0] == '5') return "5.0.0";
  return "4.0.0";
}

std::string build_dsn(const DsnInput& in) {
  bool delayed = !in.recipients.empty() && in.recipients.front().action == "delayed";
  std::string boundary = "=_dsn_" + std::to_string(in.now) + "_" + std::to_string(in.recipients.size()) + "_" +
                         std::to_string(in.original.size());
  auto header = std::string_view(in.original).substr(0, mime::header_end(in.original));
  std::string subject;
  if (auto v = mime::field_values(header, "Subject"); !v.empty()) subject = one_line(v.front());

  std::string m;
  m += "From: Mail Delivery System <MAILER-DAEMON@" + in.hostname + ">\r\n";
  m += "To: <" + in.to + ">\r\n";
  m += std::string("Subject: ") + (delayed ? "Delayed Mail (still being retried)" : "Undelivered Mail Returned to Sender") +
       "\r\n";
  m += "Date: " + rfc5322_date(in.now) + "\r\n";
  m += "Message-ID: " + in.message_id + "\r\n";
  m += "Auto-Submitted: auto-replied\r\n";  // RFC 3834 5
  m += "MIME-Version: 1.0\r\n";
  m += "Content-Type: multipart/report; report-type=delivery-status;\r\n\tboundary=\"" + boundary + "\"\r\n\r\n";
  m += "This is a MIME-encapsulated message.\r\n\r\n";

  m += "--" + boundary + "\r\nContent-Description: Notification\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n";
  m += "This is the mail system at host " + in.hostname + ".\r\n\r\n";
  if (delayed) {
    m += "Your message could not be delivered yet to the recipients below. The mail system\r\n"
         "will keep trying; you do not need to send it again.\r\n\r\n";
  } else {
    m += "I'm sorry to have to inform you that your message could not be delivered to one or\r\n"
         "more recipients. The reasons are below.\r\n\r\n";
  }
  if (!subject.empty()) m += "Subject of your message: " + subject + "\r\n\r\n";
  for (const auto& r : in.recipients) {
    m += "<" + r.address + ">: ";
    m += r.diagnostic.empty() ? "delivery failed" : one_line(r.diagnostic);
    if (!r.remote_mta.empty()) m += " (from " + one_line(r.remote_mta) + ")";
    m += "\r\n";
  }
  m += "\r\n";

  m += "--" + boundary + "\r\nContent-Description: Delivery report\r\nContent-Type: message/delivery-status\r\n\r\n";
  m += "Reporting-MTA: dns; " + in.hostname + "\r\n";
  if (in.arrival) m += "Arrival-Date: " + rfc5322_date(in.arrival) + "\r\n";
  for (const auto& r : in.recipients) {
    m += "\r\n";
    m += "Final-Recipient: rfc822; " + one_line(r.address) + "\r\n";
    m += "Action: " + r.action + "\r\n";
    m += "Status: " + (is_status(r.status) ? r.status : status_of(r.diagnostic)) + "\r\n";
    if (!r.remote_mta.empty()) {
      auto host = r.remote_mta.substr(0, r.remote_mta.find(' '));
      m += "Remote-MTA: dns; " + one_line(host) + "\r\n";
    }
    if (!r.diagnostic.empty()) {
      // smtp diagnostics only when the text is a reply (RFC 3464 2.3.6)
      bool reply = r.diagnostic.size() >= 4 && r.diagnostic[0] >= '2' && r.diagnostic[0] <= '5' &&
                   r.diagnostic[1] >= '0' && r.diagnostic[1] <= '9' && r.diagnostic[2] >= '0' && r.diagnostic[2] <= '9';
      m += std::string("Diagnostic-Code: ") + (reply ? "smtp; " : "X-Mailstead; ") + one_line(r.diagnostic) + "\r\n";
    }
    if (r.last_attempt) m += "Last-Attempt-Date: " + rfc5322_date(r.last_attempt) + "\r\n";
    if (r.retry_until && r.action == "delayed") m += "Will-Retry-Until: " + rfc5322_date(r.retry_until) + "\r\n";
  }
  m += "\r\n";

  m += "--" + boundary + "\r\nContent-Description: Undelivered Message Headers\r\nContent-Type: text/rfc822-headers\r\n\r\n";
  m += header;
  if (!header.ends_with("\r\n")) m += "\r\n";
  m += "\r\n--" + boundary + "--\r\n";
  return m;
}

}  // namespace mailstead::queue
