// Parses [dmarc], [spf] and [dkim_verify]. See auth_settings.hpp.
#include "inbound/auth_settings.hpp"

#include "config/source.hpp"

namespace mailstead::inbound {

const char* action_name(Action a) {
  switch (a) {
    case Action::none: return "none";
    case Action::quarantine: return "quarantine";
    case Action::reject: return "reject";
  }
  return "?";
}

namespace {

void get_action(config::Source& src, const std::string& sec, const std::string& key, Action& a) {
  std::string v = action_name(a);
  src.get(sec, key, v);
  if (v == "none") a = Action::none;
  else if (v == "quarantine") a = Action::quarantine;
  else if (v == "reject") a = Action::reject;
  else src.fail(sec, key, "must be \"reject\", \"quarantine\" or \"none\"");
}

void positive(config::Source& src, const std::string& sec, const char* key, std::chrono::milliseconds d) {
  if (d.count() <= 0) src.fail(sec, key, "must be greater than zero");
}

}  // namespace

void load_auth_settings(config::Source& src, AuthSettings& s) {
  std::string sec = "dmarc";
  src.get(sec, "enabled", s.enabled);
  src.get(sec, "authserv_id", s.authserv_id);
  for (char c : s.authserv_id)
    if (static_cast<unsigned char>(c) <= 0x20 || c == ';' || c == '(' || c == '"' || c == 0x7f)
      src.fail(sec, "authserv_id", "must be one word without ';', '(' or quotes");
  get_action(src, sec, "reject_action", s.reject_action);
  get_action(src, sec, "quarantine_action", s.quarantine_action);
  std::string temp = s.temperror_defer ? "defer" : "policy";
  src.get(sec, "temperror_action", temp);
  if (temp != "defer" && temp != "policy") src.fail(sec, "temperror_action", "must be \"defer\" or \"policy\"");
  s.temperror_defer = temp == "defer";
  src.get_duration(sec, "timeout", s.timeout);
  positive(src, sec, "timeout", s.timeout);
  src.get(sec, "threads", s.threads, 1, 256);
  src.get(sec, "public_suffix_list", s.public_suffix_list);

  sec = "spf";
  src.get(sec, "enabled", s.spf_enabled);
  src.get(sec, "helo", s.spf_helo);
  src.get_duration(sec, "timeout", s.spf_timeout);
  positive(src, sec, "timeout", s.spf_timeout);

  sec = "dkim_verify";
  src.get(sec, "enabled", s.dkim_enabled);
  src.get(sec, "max_signatures", s.max_signatures, 1, 100);
  src.get_duration(sec, "timeout", s.dkim_timeout);
  positive(src, sec, "timeout", s.dkim_timeout);
}

}  // namespace mailstead::inbound
