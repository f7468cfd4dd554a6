// Every route's handler, by area; routes.cpp puts each in the table.
#pragma once

#include "api/call.hpp"

namespace mailstead::api {

using H = asio::awaitable<http::Response>;

namespace system_routes {
H health(Call&);
H status(Call&);
H openapi(Call&);
}  // namespace system_routes

namespace access_routes {
H login(Call&);
H logout(Call&);
H session(Call&);
H list_sessions(Call&);
H revoke_session(Call&);
H my_sessions(Call&);
H revoke_my_session(Call&);
H list_tokens(Call&);
H create_token(Call&);
H revoke_token(Call&);
H list_admins(Call&);
H grant_admin(Call&);
H revoke_admin(Call&);
}  // namespace access_routes

namespace directory_routes {
H list_domains(Call&);
H add_domain(Call&);
H get_domain(Call&);
H remove_domain(Call&);
H list_users(Call&);
H add_user(Call&);
H get_user(Call&);
H update_user(Call&);
H remove_user(Call&);
H set_password(Call&);
H allow_sender(Call&);
H deny_sender(Call&);
H user_app_passwords(Call&);
H revoke_user_app_password(Call&);
H list_aliases(Call&);
H add_alias(Call&);
H remove_alias(Call&);
H list_groups(Call&);
H add_group(Call&);
H get_group(Call&);
H update_group(Call&);
H remove_group(Call&);
H add_member(Call&);
H remove_member(Call&);
H list_catchall(Call&);
H set_catchall(Call&);
H clear_catchall(Call&);
H resolve(Call&);
}  // namespace directory_routes

namespace mail_routes {
H list_mailboxes(Call&);
H list_messages(Call&);
H get_message(Call&);
H list_scripts(Call&);
H get_script(Call&);
H put_script(Call&);
H delete_script(Call&);
H activate_script(Call&);
H list_queue(Call&);
H get_queued(Call&);
H get_queued_message(Call&);
}  // namespace mail_routes

namespace outbound_routes {
H retry_one(Call&);
H retry_all(Call&);
H delete_queued(Call&);
H send_log(Call&);
H list_dkim(Call&);
H generate_dkim(Call&);
H rotate_dkim(Call&);
H list_relays(Call&);
H relay_presets(Call&);
H set_default_relay(Call&);
H set_domain_relay(Call&);
H clear_default_relay(Call&);
H clear_domain_relay(Call&);
H send_test_email(Call&);
H dns_records(Call&);
H dns_check(Call&);
H logs(Call&);
H dashboard(Call&);
}  // namespace outbound_routes

namespace self_routes {
H me(Call&);
H change_password(Call&);
H get_vacation(Call&);
H set_vacation(Call&);
H get_forwarding(Call&);
H set_forwarding(Call&);
H list_app_passwords(Call&);
H create_app_password(Call&);
H revoke_app_password(Call&);
H mobileconfig(Call&);
}  // namespace self_routes

namespace list_routes {  // routes_lists.cpp (docs/lists.md)
H list_lists(Call&);
H add_list(Call&);
H get_list(Call&);
H remove_list(Call&);
H list_external_addresses(Call&);
H add_external_address(Call&);
H remove_external_address(Call&);
}  // namespace list_routes

namespace stream_routes {
H list_streams(Call&);
H add_stream(Call&);
H get_stream(Call&);
H update_stream(Call&);
H remove_stream(Call&);
H add_stream_member(Call&);
H remove_stream_member(Call&);
H rotate_token(Call&);
H list_topics(Call&);
H list_stream_messages(Call&);
H send_stream_message(Call&);
H stream_live(Call&);  // routes_live.cpp
H get_notifications(Call&);
H set_notifications(Call&);
H watch_stream(Call&);
H send_message(Call&);
H get_attachment(Call&);
H list_forwards(Call&);  // routes_stream_forwards.cpp
H add_forward(Call&);
H remove_forward(Call&);
H retry_forward(Call&);
}  // namespace stream_routes

namespace inbound_routes {
H list_rules(Call&);
H add_rule(Call&);
H remove_rule(Call&);
H policy(Call&);
H list_dmarc_overrides(Call&);
H set_dmarc_override(Call&);
H clear_dmarc_override(Call&);
}  // namespace inbound_routes

// Thunderbird autoconfig and Outlook autodiscover (outside /api/v1).
asio::awaitable<std::optional<http::Response>> autoconfig(Api& api, http::Request& req);

}  // namespace mailstead::api
