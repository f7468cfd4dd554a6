// mailstead-imapd: for now it loads and validates its configuration, opens the store (so a
// broken or newer store stops it at start-up), logs, and exits cleanly on SIGTERM.
#include <cstdio>

#include "service/service.hpp"
#include "settings.hpp"
#include "store/store.hpp"

int main(int argc, char** argv) {
  mailstead::imap::Settings settings;
  return mailstead::service::run(
      argc, argv, "mailstead-imapd", [&](mailstead::config::Source& src) { settings = mailstead::imap::load_settings(src); },
      [&](const mailstead::service::Context& ctx) {
        std::error_code ec;
        std::string why;
        auto store = mailstead::store::open({ctx.core.store_dir(), ctx.core.store.map_size, ctx.core.store.max_readers,
                                             ctx.core.store.max_batches_per_commit},
                                            ec, why);
        if (!store) {
          std::fprintf(stderr, "mailstead-imapd: %s\n", why.c_str());
          return 1;
        }
        if (auto dropped = mailstead::service::drop_privileges(ctx.core); !dropped.empty()) {
          std::fprintf(stderr, "%s\n", dropped.c_str());
          return 1;
        }
        return mailstead::service::wait_for_stop_signal();
      });
}
