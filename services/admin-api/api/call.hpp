// What a route handler works with (included only by services/admin-api/api/*.cpp: it
// brings Boost.JSON and Asio): the request, who made it, its path parameters, its JSON
// body read field by field, replies and errors in the API's one shape
// {"error":{"code","message","field"}}, and the store's asynchronous commit.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>
#include <chrono>
#include <vector>
#include <map>
#include <optional>
#include <string>

#include "api/api.hpp"
#include "api/metrics.hpp"
#include "ops/dns_records.hpp"
#include "http/message.hpp"
#include "store/async.hpp"
#include "store/store.hpp"

namespace mailstead::api {

namespace asio = boost::asio;
namespace json = boost::json;

struct Principal {
  bool authenticated = false;
  std::uint64_t user = 0;  // 0 for an API token
  std::string address;
  bool admin = false;
  bool token = false;
  std::string token_name;
  std::string session_key;  // the web session's key ("" for a token)
  std::string session_id;
  std::string csrf;
  std::int64_t expires = 0;
};

// Who sent the request: an API token, a session cookie, or nobody (authenticated false).
Principal identify(Api& api, const http::Request& req);

using Reply = std::optional<http::Response>;  // set: answer with this instead of going on

http::Response json_reply(int status, const json::value& v);
http::Response no_content();
// The error shape; 400 bad input, 401, 403, 404, 409, 413, 422 invalid value, 429, 500.
http::Response error_reply(int status, std::string_view code, std::string_view message, std::string_view field = "");
// An operation's error: invalid → 422, not_found → 404, conflict → 409, denied → 403, internal → 500.
http::Response error_reply(const Error& e);

// The request's JSON object, read field by field; each getter answers 400 with the field
// named for a wrong type, a missing required field or (at parse time) an unknown field.
class Body {
 public:
  static Reply parse(std::string_view text, const std::vector<const char*>& allowed, Body& out);
  Reply str(std::string_view name, std::string& out, bool required = true) const;
  Reply u64(std::string_view name, std::uint64_t& out, bool required = true) const;
  Reply boolean(std::string_view name, bool& out, bool required = true) const;
  Reply strings(std::string_view name, std::vector<std::string>& out, bool required = true) const;
  bool has(std::string_view name) const { return obj_.contains(name); }

 private:
  json::object obj_;
};

struct Call {
  Api& api;
  http::Request& req;
  std::map<std::string, std::string> params;  // path parameters, percent-decoded
  Principal who;
  Body body;

  const std::string& param(const std::string& name) const { return params.at(name); }
};

// Runs `fn` on the slow pool (argon2id) and comes back to the session's thread.
template <class Fn>
asio::awaitable<std::invoke_result_t<Fn>> on_slow_pool(Call& c, Fn fn) {
  auto ex = co_await asio::this_coro::executor;
  co_await asio::post(c.api.slow_pool, asio::use_awaitable);
  auto r = fn();
  co_await asio::post(ex, asio::use_awaitable);
  co_return r;
}

// Commits a planned change through the store's writer; resumes on this thread once the
// group commit holding it is durable (or refused, with nothing written). The change is a
// named local of the caller: GCC 12 mishandles a non-trivial temporary passed by value to
// a coroutine inside a co_await expression (it is destroyed twice).
template <class T>
asio::awaitable<Result<T>> commit(Call& c, admin::Change<T>& change) {
  if (change.refused) co_return *change.refused;
  auto out = std::make_shared<std::optional<Result<T>>>();
  auto started = std::chrono::steady_clock::now();
  // A named local, not a temporary in the co_await expression (see above).
  store::BatchFn batch = [out, apply = std::move(change.apply)](store::WriteTxn& txn) -> std::error_code {
    out->emplace(apply(txn));
    return (*out)->has_value() ? std::error_code{} : store::Errc::aborted;
  };
  auto ec = co_await store::async_commit(c.api.ops.store(), std::move(batch), asio::use_awaitable);
  c.api.metrics.commit_seconds.observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  if (*out && !(*out)->has_value()) co_return **out;
  if (ec) co_return internal("the store did not commit the change: " + ec.message());
  co_return **out;
}

// Routes: who may call each, its handler, and what the OpenAPI document says of it.
// member: a signed-in user or an (administrator's) API token; the handler decides what the
// caller may see (chat streams: administrators everything, users their own streams).
enum class Access { open, user, admin, member };

using HandlerFn = asio::awaitable<http::Response> (*)(Call&);

struct Route {
  const char* method;
  const char* path;  // "/api/v1/users/{address}"
  Access access;
  HandlerFn handler;
  const char* summary;
  std::vector<const char*> fields;  // the JSON body's fields; empty: no body
  const char* request;   // components/schemas name of the body ("" none)
  const char* response;  // schema of the success answer ("" : 204 No Content)
  int status;            // success status (200, 201, 204)
  const char* tag;
};

const std::vector<Route>& routes();
std::string openapi_document();

std::string iso_time(std::int64_t t);
std::string client_host(const Api& api);
// The names and ports the DNS records name (ops/dns_records.hpp).
admin::dns_records::Hosts dns_hosts(const Api& api);

}  // namespace mailstead::api
