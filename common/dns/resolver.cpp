// c-ares on Asio: c-ares reports through its socket-state callback which sockets it wants
// read or written; each gets a non-owning Asio descriptor whose readiness is handed to
// ares_process_fd, and one steady_timer follows ares_timeout. Queries are sent with
// ares_send so the response is parsed here (dns/message.cpp) with the AD bit and TTLs
// intact; the query sets AD (RFC 6840 5.7) and EDNS0 (RFC 6891) so a validating resolver
// reports authenticated data.
#include "dns/resolver.hpp"

#include <ares.h>

#include <boost/asio/async_result.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <list>
#include <map>
#include <stdexcept>
#include <unordered_map>

#include "config/source.hpp"

namespace mailstead::dns {

namespace asio = boost::asio;

// ---- Cache ----

struct Cache::Impl {
  using Clock = std::chrono::steady_clock;
  struct Entry {
    std::string key;
    Answer answer;
    Clock::time_point expires;
  };
  std::mutex mu;
  std::size_t max_entries;
  std::uint32_t max_ttl;
  std::chrono::seconds skew{0};
  std::list<Entry> lru;  // most recently used first
  std::unordered_map<std::string, std::list<Entry>::iterator> index;

  Clock::time_point now() const { return Clock::now() + skew; }
  static std::string key(std::string_view name, Type type) {
    auto k = normalize_name(name);
    k.push_back('\0');
    k += std::to_string(static_cast<int>(type));
    return k;
  }
};

Cache::Cache(std::size_t max_entries, std::uint32_t max_ttl) : impl_(std::make_unique<Impl>()) {
  impl_->max_entries = max_entries;
  impl_->max_ttl = max_ttl;
}
Cache::~Cache() = default;

std::optional<Answer> Cache::get(std::string_view name, Type type) {
  std::lock_guard lock(impl_->mu);
  auto it = impl_->index.find(Impl::key(name, type));
  if (it == impl_->index.end()) return std::nullopt;
  auto now = impl_->now();
  if (it->second->expires <= now) {
    impl_->lru.erase(it->second);
    impl_->index.erase(it);
    return std::nullopt;
  }
  impl_->lru.splice(impl_->lru.begin(), impl_->lru, it->second);
  Answer a = it->second->answer;
  // What is left of the TTL, as a downstream cache would see it.
  a.ttl = static_cast<std::uint32_t>(std::chrono::duration_cast<std::chrono::seconds>(it->second->expires - now).count());
  return a;
}

void Cache::put(std::string_view name, Type type, const Answer& answer) {
  // Only real answers are kept; failures are asked again next time.
  if (answer.ttl == 0 || impl_->max_entries == 0) return;
  if (answer.status == Status::servfail || answer.status == Status::timeout) return;
  std::lock_guard lock(impl_->mu);
  auto k = Impl::key(name, type);
  auto expires = impl_->now() + std::chrono::seconds(std::min(answer.ttl, impl_->max_ttl));
  if (auto it = impl_->index.find(k); it != impl_->index.end()) {
    it->second->answer = answer;
    it->second->expires = expires;
    impl_->lru.splice(impl_->lru.begin(), impl_->lru, it->second);
    return;
  }
  if (impl_->index.size() >= impl_->max_entries) {
    // Expired entries first; failing that, the least recently used.
    auto now = impl_->now();
    for (auto it = impl_->lru.begin(); it != impl_->lru.end();) {
      if (it->expires <= now) {
        impl_->index.erase(it->key);
        it = impl_->lru.erase(it);
      } else {
        ++it;
      }
    }
    while (impl_->index.size() >= impl_->max_entries) {
      impl_->index.erase(impl_->lru.back().key);
      impl_->lru.pop_back();
    }
  }
  impl_->lru.push_front(Impl::Entry{k, answer, expires});
  impl_->index.emplace(k, impl_->lru.begin());
}

std::size_t Cache::size() {
  std::lock_guard lock(impl_->mu);
  return impl_->index.size();
}

void Cache::advance(std::chrono::seconds seconds) {
  std::lock_guard lock(impl_->mu);
  impl_->skew += seconds;
}

// ---- Resolver ----

namespace {

struct LibraryInit {
  LibraryInit() { ares_library_init(ARES_LIB_INIT_ALL); }
};

// "host:port" / "[v6]:port" / "host" → c-ares' "host:port" CSV element.
std::string server_csv(const std::vector<std::string>& servers) {
  std::string csv;
  for (const auto& s : servers) {
    std::string host;
    std::uint16_t port = 53;
    if (!config::split_host_port(s, host, port)) {
      host = s;
      port = 53;
    }
    if (!csv.empty()) csv += ",";
    csv += host.find(':') != std::string::npos ? "[" + host + "]:" + std::to_string(port) : host + ":" + std::to_string(port);
  }
  return csv;
}

}  // namespace

struct Resolver::Impl : std::enable_shared_from_this<Impl> {
  struct Watch {
    asio::posix::stream_descriptor fd;
    bool want_read = false, want_write = false, reading = false, writing = false, closed = false;
    explicit Watch(asio::io_context& io, int s) : fd(io, s) {}
  };
  struct Pending {
    std::weak_ptr<Impl> self;
    std::string name;
    Type type;
    std::function<void(Answer)> done;
  };

  asio::io_context& io;
  asio::steady_timer timer;
  ares_channel channel = nullptr;
  std::shared_ptr<Cache> cache;
  std::map<int, std::shared_ptr<Watch>> watches;
  bool destroying = false;

  Impl(asio::io_context& ctx, std::shared_ptr<Cache> c) : io(ctx), timer(ctx), cache(std::move(c)) {}

  static void on_sock_state(void* data, ares_socket_t s, int readable, int writable) {
    auto* self = static_cast<Impl*>(data);
    auto it = self->watches.find(s);
    if (!readable && !writable) {
      if (it == self->watches.end()) return;
      auto w = it->second;
      w->closed = true;
      boost::system::error_code ec;
      w->fd.cancel(ec);
      w->fd.release();  // c-ares closes the socket itself
      self->watches.erase(it);
      return;
    }
    if (it == self->watches.end()) it = self->watches.emplace(s, std::make_shared<Watch>(self->io, s)).first;
    auto w = it->second;
    w->want_read = readable != 0;
    w->want_write = writable != 0;
    if (!self->destroying) self->arm(w, static_cast<int>(s));
  }

  void arm(const std::shared_ptr<Watch>& w, int s) {
    std::weak_ptr<Impl> weak = weak_from_this();
    if (w->want_read && !w->reading) {
      w->reading = true;
      w->fd.async_wait(asio::posix::stream_descriptor::wait_read, [weak, w, s](boost::system::error_code ec) {
        w->reading = false;
        auto self = weak.lock();
        if (ec || w->closed || !self) return;
        ares_process_fd(self->channel, s, ARES_SOCKET_BAD);
        if (!w->closed) self->arm(w, s);
        self->reset_timer();
      });
    }
    if (w->want_write && !w->writing) {
      w->writing = true;
      w->fd.async_wait(asio::posix::stream_descriptor::wait_write, [weak, w, s](boost::system::error_code ec) {
        w->writing = false;
        auto self = weak.lock();
        if (ec || w->closed || !self) return;
        ares_process_fd(self->channel, ARES_SOCKET_BAD, s);
        if (!w->closed) self->arm(w, s);
        self->reset_timer();
      });
    }
  }

  void reset_timer() {
    timeval tv{};
    auto* t = ares_timeout(channel, nullptr, &tv);  // null: no query is waiting
    if (!t) {
      timer.cancel();
      return;
    }
    timer.expires_after(std::chrono::seconds(t->tv_sec) + std::chrono::microseconds(t->tv_usec));
    std::weak_ptr<Impl> weak = weak_from_this();
    timer.async_wait([weak](boost::system::error_code ec) {
      if (ec) return;  // re-armed or destroyed
      auto self = weak.lock();
      if (!self) return;
      ares_process_fd(self->channel, ARES_SOCKET_BAD, ARES_SOCKET_BAD);  // time out what is due
      self->reset_timer();
    });
  }

  static void on_answer(void* arg, int status, int, unsigned char* abuf, int alen) {
    std::unique_ptr<Pending> p(static_cast<Pending*>(arg));
    Answer a;
    if (status == ARES_SUCCESS && abuf) {
      a = parse_response(std::string_view(reinterpret_cast<const char*>(abuf), static_cast<std::size_t>(alen)), p->name,
                         p->type);
    } else {
      a.status = status == ARES_ETIMEOUT ? Status::timeout : Status::servfail;
      a.error = status == ARES_ETIMEOUT ? "the DNS server did not answer in time" : std::string("DNS: ") + ares_strerror(status);
      if (status == ARES_ENOTFOUND) a.status = Status::nxdomain, a.error.clear();
      if (status == ARES_ENODATA) a.status = Status::nodata, a.error.clear();
    }
    auto self = p->self.lock();
    if (self && self->cache) self->cache->put(p->name, p->type, a);
    if (!self || self->destroying) {
      // The resolver is going away: answer now, on whatever thread this is.
      p->done(std::move(a));
      return;
    }
    asio::post(self->io, [done = std::move(p->done), a = std::move(a)]() mutable { done(std::move(a)); });
  }
};

Resolver::Resolver(asio::io_context& io, const Options& options, std::shared_ptr<Cache> cache)
    : impl_(std::make_shared<Impl>(io, std::move(cache))) {
  static LibraryInit init;
  ares_options opts{};
  int mask = ARES_OPT_SOCK_STATE_CB | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_FLAGS | ARES_OPT_EDNSPSZ;
  opts.sock_state_cb = &Impl::on_sock_state;
  opts.sock_state_cb_data = impl_.get();
  opts.timeout = static_cast<int>(options.timeout.count());
  opts.tries = static_cast<int>(options.tries);
  opts.flags = ARES_FLAG_EDNS | ARES_FLAG_NOSEARCH;
  opts.ednspsz = 1232;
  if (int rc = ares_init_options(&impl_->channel, &opts, mask); rc != ARES_SUCCESS)
    throw std::runtime_error(std::string("cannot start the DNS resolver: ") + ares_strerror(rc));
  if (!options.nameservers.empty()) {
    auto csv = server_csv(options.nameservers);
    if (int rc = ares_set_servers_ports_csv(impl_->channel, csv.c_str()); rc != ARES_SUCCESS) {
      ares_destroy(impl_->channel);
      impl_->channel = nullptr;
      throw std::runtime_error("dns.nameservers: cannot use '" + csv + "': " + ares_strerror(rc));
    }
  }
}

Resolver::~Resolver() {
  impl_->destroying = true;
  impl_->timer.cancel();
  if (impl_->channel) ares_destroy(impl_->channel);  // pending queries complete with ARES_EDESTRUCTION
  for (auto& [fd, w] : impl_->watches) {
    w->closed = true;
    boost::system::error_code ec;
    w->fd.cancel(ec);
    w->fd.release();
  }
  impl_->watches.clear();
}

void Resolver::async_query(std::string_view name, Type type, std::function<void(Answer)> done) {
  auto norm = normalize_name(name);
  if (impl_->cache) {
    if (auto hit = impl_->cache->get(norm, type)) {
      asio::post(impl_->io, [done = std::move(done), a = std::move(*hit)]() mutable { done(std::move(a)); });
      return;
    }
  }
  unsigned char* buf = nullptr;
  int len = 0;
  if (norm.empty() || ares_create_query(norm.c_str(), 1 /* IN */, static_cast<int>(type), 0, 1, &buf, &len, 1232) != ARES_SUCCESS) {
    Answer a;
    a.status = Status::servfail;
    a.error = "not a valid DNS name: '" + std::string(name) + "'";
    asio::post(impl_->io, [done = std::move(done), a = std::move(a)]() mutable { done(std::move(a)); });
    return;
  }
  buf[3] |= 0x20;  // AD: tell us whether the resolver validated the answer (RFC 6840 5.7)
  auto* p = new Impl::Pending{impl_, norm, type, std::move(done)};
  ares_send(impl_->channel, buf, len, &Impl::on_answer, p);
  ares_free_string(buf);
  impl_->reset_timer();
}

asio::awaitable<Answer> Resolver::query(std::string name, Type type) {
  // The initiation captures only pointers into this frame: GCC 12 mishandles a lambda's
  // owning captures inside co_await (the capture was freed twice).
  const std::string* n = &name;
  co_return co_await asio::async_initiate<const asio::use_awaitable_t<>&, void(Answer)>(
      [this, n, type](auto handler) {
        auto h = std::make_shared<decltype(handler)>(std::move(handler));
        async_query(*n, type, [h](Answer a) { (*h)(std::move(a)); });
      },
      asio::use_awaitable);
}

}  // namespace mailstead::dns
