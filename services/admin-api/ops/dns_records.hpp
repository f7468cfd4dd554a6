// The DNS records a local domain should publish (MX, SPF, DKIM from its keys, DMARC,
// MTA-STS, TLS-RPT, autoconfig/autodiscover names and SRV, and the mail host's
// forward-confirmed reverse DNS), and the pure judgement of what a resolver found for each:
// ok, missing or mismatch (docs/dns-records.md). Looking records up is the caller's part
// (the admin API does it through common/dns); nothing here does I/O.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "dns/message.hpp"
#include "util/error.hpp"

namespace mailstead::store {
class ReadTxn;
}

namespace mailstead::admin::dns_records {

// The names and ports mail clients and other servers are told.
struct Hosts {
  std::string mail_host;    // the MX and the name every SMTP greeting gives (`hostname`)
  std::string client_host;  // what clients connect to ([admin] client_host, else hostname)
  std::uint32_t imaps_port = 993, submission_port = 587, submissions_port = 465, https_port = 443;
};

struct Record {
  std::string kind;  // mx, spf, dkim, dmarc, mta-sts, tls-rpt, autoconfig, autodiscover, srv, ptr
  std::string name;  // the owner name, no trailing dot
  dns::Type type = dns::Type::txt;
  std::string value;  // what to publish (the record's data as a zone file writes it)
  std::string note;   // why, in words
};

// Every record for `domain` (404 "domain" when it is not ours).
Result<std::vector<Record>> expected(store::ReadTxn& txn, std::string_view domain, const Hosts& hosts,
                                     std::int64_t now);

// The MTA-STS policy served at https://mta-sts.<domain>/.well-known/mta-sts.txt, and its
// id (changes whenever the policy does).
std::string mta_sts_policy(const Hosts& hosts);
std::string mta_sts_id(const Hosts& hosts);

enum class Status { ok, missing, mismatch, error };
const char* status_name(Status s);

struct Judgement {
  Status status = Status::missing;
  std::vector<std::string> found;  // the values found, as text
  std::string error;               // the resolver's reason (Status::error)
};

// What `answer` (for the record's name and type) says of `record`. PTR records are judged
// by the caller from the mail host's addresses (judge_ptr).
Judgement judge(const Record& record, const dns::Answer& answer);

// Forward-confirmed reverse DNS: `addresses` are the mail host's A and AAAA answers and
// `ptrs[i]` the PTR answer for addresses[i].
Judgement judge_ptr(const Record& record, const std::vector<std::string>& addresses,
                    const std::vector<dns::Answer>& ptrs, const dns::Answer& a, const dns::Answer& aaaa);

}  // namespace mailstead::admin::dns_records
