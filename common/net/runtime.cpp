// Protocol service set-up (see runtime.hpp).
#include "net/runtime.hpp"

#include <cstdio>

#include "net/server.hpp"

namespace mailstead::net {

std::unique_ptr<Runtime> make_runtime(const service::Context& ctx, const RuntimeLimits& limits) {
  auto rt = std::make_unique<Runtime>(ctx.core, limits);
  rt->store = service::open_store(ctx);
  if (!rt->store) return nullptr;
  if (!ctx.core.redis.url.empty()) {
    rt->changes = std::make_unique<notify::Publisher>(ctx.core.redis.url);
    rt->store->set_commit_hook([p = rt->changes.get()](const std::vector<std::uint64_t>& mailboxes) {
      for (auto id : mailboxes) p->changed(id);
    });
  }
  const auto& a = ctx.core.auth;
  auth::FailureLimits failures{a.max_failures_per_ip, a.max_failures_per_account, a.failure_window, a.account_delay,
                               a.trusted_login_ttl,   a.trusted_login_entries,    a.failure_entries};
  auto table = auth::make_store_limit_table(*rt->store, auth::bounds_of(failures), auth::wall_clock_ms);
  if (!ctx.core.redis.url.empty())
    table = auth::make_redis_limit_table(ctx.core.redis.url, std::move(table), auth::bounds_of(failures),
                                         auth::wall_clock_ms);
  rt->limiter = std::make_unique<auth::FailureLimiter>(failures, std::move(table));
  try {
    rt->certificate = std::make_unique<Certificate>(ctx.core.tls_cert(), ctx.core.tls_key(),
                                                    ctx.core.tls.allow_world_readable_key);
    rt->tls.emplace(make_server_tls(ctx.core.tls.min_version));
    rt->certificate->attach(*rt->tls);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: %s\n", ctx.name.c_str(), e.what());
    return nullptr;
  }
  return rt;
}

int serve_until_stopped(Runtime& rt, const service::Context& ctx, const std::string& name, unsigned threads,
                        std::vector<Listener> listeners, std::function<void()> join_pools) {
  ServerOptions options{name, threads, &rt.connections, [&] { return service::drop_privileges(ctx.core); },
                        [&](bool force) { rt.certificate->reload(force); }, ctx.core.tls.reload_check,
                        [&] {
                          rt.slow_pool.join();
                          if (join_pools) join_pools();
                        }};
  int rc = serve(options, std::move(listeners));
  rt.slow_pool.join();
  rt.store->close();
  return rc;
}

}  // namespace mailstead::net
