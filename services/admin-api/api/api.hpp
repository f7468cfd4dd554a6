// The admin API's shared state and its two HTTP handlers: the API, autoconfig and the web
// UI's files on [admin] listen (HTTPS), and /metrics on [admin] metrics_listen.
// docs/admin-api.md describes every route; GET /api/v1/openapi.json lists them.
#pragma once

#include <atomic>
#include <boost/asio/thread_pool.hpp>
#include <memory>

#include "http/session.hpp"
#include "ops/admin_ops.hpp"
#include "ops/inbound_policy.hpp"
#include "settings.hpp"
#include "../../deliverd/settings.hpp"

namespace mailstead::auth {
class VerifiedCache;
class FailureLimiter;
}  // namespace mailstead::auth

namespace mailstead::live {
class Hub;
}

namespace mailstead::api {

struct Metrics;

struct Api {
  const admin::Settings& settings;
  const config::CoreSettings& core;
  admin::Ops& ops;
  auth::VerifiedCache& password_cache;
  auth::FailureLimiter& limiter;
  boost::asio::thread_pool& slow_pool;
  Metrics& metrics;
  const outbound::Settings& outbound;  // [outbound]: send-test-email delivers as the service would
  const admin::MxPolicySettings& mx;   // what smtpd enforces, for GET /api/v1/policy (docs/inbound.md)
  live::Hub* live = nullptr;           // live stream updates (WebSocket); null: the route answers 503
};

std::unique_ptr<Metrics> make_metrics();
http::Handler make_api_handler(Api& api);
http::Handler make_metrics_handler(Api& api);

}  // namespace mailstead::api
