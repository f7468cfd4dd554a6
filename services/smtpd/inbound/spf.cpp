// SPF (RFC 7208) with libspf2, its DNS answered through common/dns: a DNS layer of our own
// (SPF_dns_server_t) whose lookup asks the LookupScope of the check running on this thread.
// libspf2 gives loopback clients a free pass inside SPF_request_query_mailfrom; we run the
// same steps (find the record, interpret it) without that shortcut, so every client's
// address is checked against the record.
#include <arpa/inet.h>
#include <netdb.h>
// libspf2's headers have no extern "C" of their own.
extern "C" {
#include <spf2/spf.h>
}

#include <cstring>

#include "dns/message.hpp"
#include "inbound/message_checks.hpp"
#include "inbound/dns_bridge.hpp"

namespace mailstead::inbound {

namespace {

void quiet(const char*, int, const char*) {}

SPF_dns_rr_t* lookup(SPF_dns_server_t* server, const char* domain, ns_type rr_type, int) {
  std::optional<dns::Type> type;
  switch (rr_type) {
    case ns_t_a: type = dns::Type::a; break;
    case ns_t_aaaa: type = dns::Type::aaaa; break;
    case ns_t_mx: type = dns::Type::mx; break;
    case ns_t_txt: type = dns::Type::txt; break;
    case ns_t_ptr: type = dns::Type::ptr; break;
    default: break;  // type SPF (99) is obsolete (RFC 7208 3.1)
  }
  if (!type) return SPF_dns_rr_new_init(server, domain, rr_type, 0, NO_DATA);
  auto a = LookupScope::ask(domain, *type);
  SPF_dns_stat_t herrno = a.status == dns::Status::ok         ? NETDB_SUCCESS
                          : a.status == dns::Status::nxdomain ? HOST_NOT_FOUND
                          : a.status == dns::Status::nodata   ? NO_DATA
                                                              : TRY_AGAIN;
  SPF_dns_rr_t* rr = SPF_dns_rr_new_init(server, domain, rr_type, static_cast<int>(a.ttl), herrno);
  if (!rr || herrno != NETDB_SUCCESS) return rr;
  int n = 0;
  auto add_text = [&](const std::string& s) {
    if (SPF_dns_rr_buf_realloc(rr, n, s.size() + 1) != SPF_E_SUCCESS) return;
    std::memcpy(rr->rr[n]->txt, s.c_str(), s.size() + 1);  // txt, mx and ptr share the storage
    ++n;
  };
  if (*type == dns::Type::a || *type == dns::Type::aaaa) {
    for (const auto& ip : a.addresses) {
      bool v4 = *type == dns::Type::a;
      if (SPF_dns_rr_buf_realloc(rr, n, v4 ? sizeof(in_addr) : sizeof(in6_addr)) != SPF_E_SUCCESS) break;
      if (inet_pton(v4 ? AF_INET : AF_INET6, ip.c_str(), v4 ? static_cast<void*>(&rr->rr[n]->a)
                                                            : static_cast<void*>(&rr->rr[n]->aaaa)) == 1)
        ++n;
    }
  } else if (*type == dns::Type::mx) {
    for (const auto& m : a.mx) add_text(m.host);
  } else if (*type == dns::Type::txt) {
    for (const auto& t : a.texts) add_text(t);
  } else {
    for (const auto& p : a.names) add_text(p);
  }
  rr->num_rr = n;
  if (n == 0) rr->herrno = NO_DATA;
  return rr;
}

// One libspf2 server per check thread, with our DNS layer (never freed: it lives as long
// as the thread, and libspf2 treats a layer without a destructor as shared).
SPF_server_t* server() {
  thread_local SPF_server_t* s = [] {
    SPF_warning_handler = quiet;
    SPF_info_handler = quiet;
    SPF_debug_handler = nullptr;
    static thread_local SPF_dns_server_t layer{};
    layer.destroy = nullptr;
    layer.lookup = lookup;
    layer.name = "mailstead";
    return SPF_server_new_dns(&layer, 0);
  }();
  return s;
}

const char* result_name(SPF_result_t r) {
  switch (r) {
    case SPF_RESULT_PASS: return "pass";
    case SPF_RESULT_FAIL: return "fail";
    case SPF_RESULT_SOFTFAIL: return "softfail";
    case SPF_RESULT_NEUTRAL: return "neutral";
    case SPF_RESULT_NONE: return "none";
    case SPF_RESULT_TEMPERROR: return "temperror";
    case SPF_RESULT_PERMERROR: return "permerror";
    default: return "permerror";
  }
}

}  // namespace

SpfResult check_spf(std::string_view ip, std::string_view helo, std::string_view mail_from, bool helo_identity) {
  SpfResult out;
  SPF_server_t* srv = server();
  if (!srv) return {"temperror", "", "SPF library unavailable"};
  SPF_request_t* req = SPF_request_new(srv);
  std::string ip_s(ip), helo_s(helo), from_s(mail_from);
  bool v6 = ip_s.find(':') != std::string::npos;
  if ((v6 ? SPF_request_set_ipv6_str(req, ip_s.c_str()) : SPF_request_set_ipv4_str(req, ip_s.c_str())) != SPF_E_SUCCESS) {
    SPF_request_free(req);
    return {"permerror", "", "client address not understood"};
  }
  if (!helo_s.empty()) SPF_request_set_helo_dom(req, helo_s.c_str());
  if (helo_identity) {
    if (helo_s.empty()) {
      SPF_request_free(req);
      return {"none", "", "no HELO name"};
    }
    SPF_request_set_env_from(req, ("postmaster@" + helo_s).c_str());
    req->use_helo = 1;
  } else {
    if (from_s.empty() && helo_s.empty()) {
      SPF_request_free(req);
      return {"none", "", "null sender and no HELO name"};
    }
    if (SPF_request_set_env_from(req, from_s.empty() ? ("postmaster@" + helo_s).c_str() : from_s.c_str()) != 0) {
      SPF_request_free(req);
      return {"permerror", "", "sender address not understood"};
    }
  }
  out.domain = req->use_helo ? helo_s : (req->env_from_dp ? req->env_from_dp : "");
  req->cur_dom = req->use_helo ? req->helo_dom : req->env_from_dp;
  SPF_response_t* resp = SPF_response_new(req);
  SPF_record_t* record = nullptr;
  SPF_errcode_t err = SPF_server_get_record(srv, req, resp, &record);
  if (err == SPF_E_SUCCESS && record) {
    resp->spf_record_exp = record;
    err = SPF_record_interpret(record, req, resp, 0);
    SPF_record_free(record);
    resp->spf_record_exp = nullptr;
  } else if (record) {
    SPF_record_free(record);
  }
  SPF_result_t r = SPF_response_result(resp);
  if (r == SPF_RESULT_INVALID) {
    r = err == SPF_E_NOT_SPF ? SPF_RESULT_NONE : err == SPF_E_DNS_ERROR ? SPF_RESULT_TEMPERROR : SPF_RESULT_PERMERROR;
    // libspf2 reports a record that does not compile as "not SPF" too, with the syntax
    // error among the response's messages: that is a permerror (RFC 7208 4.6).
    for (int i = 0; r == SPF_RESULT_NONE && i < SPF_response_messages(resp); ++i) {
      SPF_error_t* e = SPF_response_message(resp, i);
      if (e && SPF_error_code(e) != SPF_E_NOT_SPF && SPF_error_code(e) != SPF_E_SUCCESS) {
        r = SPF_RESULT_PERMERROR;
        if (const char* m = SPF_error_message(e)) out.comment = m;
      }
    }
  }
  auto* scope = LookupScope::current();
  if (scope && scope->expired && (r == SPF_RESULT_NONE || r == SPF_RESULT_PERMERROR || r == SPF_RESULT_NEUTRAL))
    r = SPF_RESULT_TEMPERROR;  // the deadline, not the record, decided
  out.result = result_name(r);
  if (err != SPF_E_SUCCESS && r != SPF_RESULT_NONE && out.comment.empty()) out.comment = SPF_strerror(err);
  SPF_response_free(resp);
  SPF_request_free(req);
  return out;
}

}  // namespace mailstead::inbound
