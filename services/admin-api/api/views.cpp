// JSON forms of records (see views.hpp).
#include "api/views.hpp"

#include <ctime>

namespace mailstead::api::views {

json::array string_array(const std::vector<std::string>& v) {
  json::array a;
  for (const auto& s : v) a.emplace_back(s);
  return a;
}

json::object domain(const directory::DomainRecord& d, const std::vector<std::string>& catchall) {
  return {{"domain", d.name}, {"created", iso_time(d.created)}, {"catchall", string_array(catchall)}};
}

json::object user(const admin::UserView& v, const admin::Usage& u) {
  return {{"address", v.user.address},
          {"name", v.user.display_name},
          {"quota", v.user.quota},
          {"used", u.bytes},
          {"messages", u.messages},
          {"enabled", v.user.enabled},
          {"admin", v.admin},
          {"aliases", string_array(v.aliases)},
          {"allowed_senders", string_array(v.user.allowed_senders)},
          {"created", iso_time(v.user.created)}};
}

json::object group(const admin::GroupView& g) {
  return {{"group", g.group.address},
          {"policy", directory::policy_name(g.group.policy)},
          {"members", string_array(g.members)},
          {"created", iso_time(g.group.created)}};
}

json::object session(const Principal& p) {
  return {{"address", p.address}, {"admin", p.admin}, {"csrf_token", p.csrf}, {"expires", iso_time(p.expires)},
          {"id", p.session_id}};
}

json::object session_info(const admin::access::SessionRecord& s, const std::string& address, const std::string& current) {
  return {{"id", s.id()},           {"address", address},       {"created", iso_time(s.created)},
          {"expires", iso_time(s.expires)}, {"peer", s.peer}, {"agent", s.agent},
          {"current", s.key == current}};
}

json::object token(const admin::access::TokenRecord& t) {
  return {{"id", t.id}, {"name", t.name}, {"created", iso_time(t.created)}};
}

json::object app_password(const auth::AppPasswordRecord& a) {
  return {{"id", a.id}, {"name", a.name}, {"created", iso_time(a.created)}};
}

json::object queue_item(const store::QueueRecord& q, const std::string& authenticated_user) {
  return {{"id", q.id},
          {"sender", q.sender},
          {"recipients", string_array(q.recipients)},
          {"authenticated_user", authenticated_user},
          {"created", iso_time(q.created)},
          {"next_attempt", iso_time(q.next_attempt)},
          {"attempts", q.attempts},
          {"last_error", q.last_error},
          {"leased_by", q.lease_until > static_cast<std::int64_t>(std::time(nullptr)) ? q.lease_owner : std::string()},
          {"bounce", (q.flags & store::queue_bounce) != 0},
          {"states", [&] {
             json::array a;
             for (const auto& st : q.states)
               a.push_back(json::object{{"address", st.address},
                                        {"state", store::state_name(st.state)},
                                        {"attempts", st.attempts},
                                        {"next_attempt", st.final() || st.next_attempt <= 0 ? std::string() : iso_time(st.next_attempt)},
                                        {"last_attempt", st.last_attempt > 0 ? iso_time(st.last_attempt) : std::string()},
                                        {"last_reply", st.last_reply},
                                        {"remote", st.remote}});
             return a;
           }()}};
}

json::object vacation(const admin::rules::Vacation& v) {
  return {{"enabled", v.enabled}, {"subject", v.subject}, {"reason", v.reason},
          {"from", v.from},       {"addresses", string_array(v.addresses)},
          {"days", v.days},       {"start", v.start}, {"end", v.end}, {"zone", v.zone}};
}

json::object forward(const admin::rules::Forward& f) {
  return {{"enabled", f.enabled}, {"target", f.target}, {"keep_copy", f.keep_copy}};
}

}  // namespace mailstead::api::views
