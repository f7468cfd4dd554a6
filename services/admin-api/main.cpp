// mailstead-admin-api: for now it loads and validates its configuration, opens the store (so a
// broken or newer store stops it at start-up), logs, and exits cleanly on SIGTERM.
#include <cstdio>

#include "service/service.hpp"
#include "settings.hpp"
#include "store/store.hpp"

int main(int argc, char** argv) {
  mailstead::admin::Settings settings;
  return mailstead::service::run(
      argc, argv, "mailstead-admin-api", [&](mailstead::config::Source& src) { settings = mailstead::admin::load_settings(src); },
      [&](const mailstead::service::Context& ctx) {
        auto store = mailstead::service::open_store(ctx);
        if (!store) return 1;
        if (auto dropped = mailstead::service::drop_privileges(ctx.core); !dropped.empty()) {
          std::fprintf(stderr, "%s\n", dropped.c_str());
          return 1;
        }
        return mailstead::service::wait_for_stop_signal();
      });
}
