// The JSON form of each record the API returns (the schemas of openapi.cpp).
#pragma once

#include "api/call.hpp"

namespace mailstead::api::views {

json::object domain(const directory::DomainRecord& d, const std::vector<std::string>& catchall);
json::object user(const admin::UserView& v, const admin::Usage& u);
json::object group(const admin::GroupView& g);
json::object session(const Principal& p);
json::object session_info(const admin::access::SessionRecord& s, const std::string& address, const std::string& current);
json::object token(const admin::access::TokenRecord& t);
json::object app_password(const auth::AppPasswordRecord& a);
json::object queue_item(const store::QueueRecord& q, const std::string& authenticated_user);
json::object vacation(const admin::rules::Vacation& v);
json::object forward(const admin::rules::Forward& f);
json::array string_array(const std::vector<std::string>& v);

}  // namespace mailstead::api::views
