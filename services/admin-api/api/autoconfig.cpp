// Mail client set-up documents naming this server (docs/admin-api.md "Autoconfig"):
// Thunderbird's autoconfig (clientConfig 1.1) at both URLs it tries, and Outlook's
// autodiscover (POX, responseschema 2006a), which Thunderbird also asks. Only for local
// domains; anything else is 404, answered at once.
#include "api/handlers.hpp"
#include "ops/dns_records.hpp"
#include "directory/address.hpp"
#include "util/text.hpp"

namespace mailstead::api {

namespace {

// The local domain an address or host names, or "" when it is not one of ours.
std::string local_domain(Api& api, std::string_view address, std::string_view host) {
  std::string candidate;
  if (auto at = address.rfind('@'); at != std::string_view::npos) {
    candidate = std::string(address.substr(at + 1));
  } else {
    auto h = host.substr(0, host.rfind(':') == std::string_view::npos || host.ends_with(']') ? host.size() : host.rfind(':'));
    candidate = lower(h);
    for (std::string_view p : {"autoconfig.", "autodiscover.", "mta-sts."})
      if (candidate.starts_with(p)) candidate = candidate.substr(p.size());
  }
  auto d = directory::normalize_domain(candidate);
  if (!d) return "";
  auto txn = api.ops.store().read();
  return directory::get_domain(*txn, *d) ? *d : "";
}

http::Response xml(std::string body) {
  http::Response r;
  r.content_type = "application/xml; charset=utf-8";
  r.body = std::move(body);
  r.headers.emplace_back("Cache-Control", "max-age=3600");
  return r;
}

http::Response not_here() {
  http::Response r;
  r.status = 404;
  r.content_type = "text/plain; charset=utf-8";
  r.body = "no configuration for that domain here\n";
  return r;
}

std::string thunderbird(Api& api, const std::string& domain) {
  const auto& s = api.settings;
  auto host = xml_escape(client_host(api));
  auto d = xml_escape(domain);
  auto server = [&](const char* dir, const char* type, std::uint32_t port, const char* socket) {
    return std::string("    <") + dir + "Server type=\"" + type + "\">\n      <hostname>" + host +
           "</hostname>\n      <port>" + std::to_string(port) + "</port>\n      <socketType>" + socket +
           "</socketType>\n      <authentication>password-cleartext</authentication>\n"
           "      <username>%EMAILADDRESS%</username>\n    </" + dir + "Server>\n";
  };
  return "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<clientConfig version=\"1.1\">\n  <emailProvider id=\"" + d +
         "\">\n    <domain>" + d + "</domain>\n    <displayName>" + d + "</displayName>\n    <displayShortName>" + d +
         "</displayShortName>\n" + server("incoming", "imap", s.client_imaps_port, "SSL") +
         server("outgoing", "smtp", s.client_submissions_port, "SSL") +
         server("outgoing", "smtp", s.client_submission_port, "STARTTLS") + "  </emailProvider>\n</clientConfig>\n";
}

// The text of the first <name>…</name> in a small XML request, "" when absent.
std::string element(std::string_view body, std::string_view name) {
  auto open = body.find("<" + std::string(name));
  if (open == std::string_view::npos) return "";
  auto gt = body.find('>', open);
  auto close = body.find("</", gt);
  if (gt == std::string_view::npos || close == std::string_view::npos) return "";
  return std::string(trim(body.substr(gt + 1, close - gt - 1)));
}

std::string outlook(Api& api, const std::string& address) {
  const auto& s = api.settings;
  auto host = xml_escape(client_host(api));
  auto login = xml_escape(address);
  auto protocol = [&](const char* type, std::uint32_t port) {
    return std::string("      <Protocol>\n        <Type>") + type + "</Type>\n        <Server>" + host +
           "</Server>\n        <Port>" + std::to_string(port) +
           "</Port>\n        <LoginName>" + login +
           "</LoginName>\n        <SPA>off</SPA>\n        <SSL>on</SSL>\n        <AuthRequired>on</AuthRequired>\n"
           "      </Protocol>\n";
  };
  return "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
         "<Autodiscover xmlns=\"http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006\">\n"
         "  <Response xmlns=\"http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a\">\n"
         "    <Account>\n      <AccountType>email</AccountType>\n      <Action>settings</Action>\n" +
         protocol("IMAP", s.client_imaps_port) + protocol("SMTP", s.client_submissions_port) +
         "    </Account>\n  </Response>\n</Autodiscover>\n";
}

}  // namespace

asio::awaitable<std::optional<http::Response>> autoconfig(Api& api, http::Request& req) {
  auto path = lower(req.path);
  if ((path == "/.well-known/autoconfig/mail/config-v1.1.xml" || path == "/mail/config-v1.1.xml") &&
      (req.method == "GET" || req.method == "HEAD")) {
    auto domain = local_domain(api, req.query_param("emailaddress"), req.header("host"));
    if (domain.empty()) co_return not_here();
    co_return xml(thunderbird(api, domain));
  }
  // The MTA-STS policy (RFC 8461 3.3) for https://mta-sts.<domain>/ (docs/dns-records.md).
  if (path == "/.well-known/mta-sts.txt" && (req.method == "GET" || req.method == "HEAD")) {
    auto host = lower(req.header("host"));
    if (!host.starts_with("mta-sts.")) co_return not_here();
    auto domain = local_domain(api, "", host);
    if (domain.empty()) co_return not_here();
    http::Response r;
    r.content_type = "text/plain";
    r.body = admin::dns_records::mta_sts_policy(dns_hosts(api));
    co_return r;
  }
  if (path == "/autodiscover/autodiscover.xml") {
    if (req.method != "POST") co_return not_here();
    // ActiveSync (mobilesync) is not offered: only the Outlook POX schema is answered.
    auto schema = element(req.body, "AcceptableResponseSchema");
    if (schema.find("outlook/responseschema/2006a") == std::string::npos) co_return not_here();
    auto address = element(req.body, "EMailAddress");
    auto domain = local_domain(api, address, "");
    if (domain.empty() || address.find('@') == std::string::npos) co_return not_here();
    co_return xml(outlook(api, address));
  }
  co_return std::nullopt;
}

}  // namespace mailstead::api
