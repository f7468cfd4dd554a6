// bench-smtp-load: sends N messages of a given size over C concurrent SMTP connections
// (each: EHLO once, then MAIL/RCPT/DATA per message) and reports messages/s at the 250
// and the DATA→250 latency percentiles. Plain blocking sockets, one thread per connection,
// so the client is cheap next to the server it measures.
//   bench-smtp-load --port P --count N --concurrency C --size BYTES [--rcpt ADDR]
//                   [--from ADDR] [--helo NAME] [--message FILE]
// --message sends that file (CRLF lines, dot-stuffed here) as every message instead of a
// generated one: a DKIM-signed message for bench/inbound.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

using Clock = std::chrono::steady_clock;

namespace {

struct Conn {
  int fd = -1;
  std::string buf;
  bool open(int port) {
    fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  }
  bool send_all(const std::string& s) {
    std::size_t off = 0;
    while (off < s.size()) {
      auto n = ::send(fd, s.data() + off, s.size() - off, MSG_NOSIGNAL);
      if (n <= 0) return false;
      off += static_cast<std::size_t>(n);
    }
    return true;
  }
  // Reads one (possibly multi-line) reply; returns its code or -1.
  int reply() {
    for (;;) {
      auto eol = buf.find("\r\n");
      while (eol != std::string::npos) {
        std::string line = buf.substr(0, eol);
        buf.erase(0, eol + 2);
        if (line.size() >= 4 && line[3] == ' ') return std::atoi(line.substr(0, 3).c_str());
        if (line.size() == 3) return std::atoi(line.c_str());
        eol = buf.find("\r\n");
      }
      char tmp[4096];
      auto n = ::recv(fd, tmp, sizeof tmp, 0);
      if (n <= 0) return -1;
      buf.append(tmp, static_cast<std::size_t>(n));
    }
  }
  int cmd(const std::string& c) { return send_all(c + "\r\n") ? reply() : -1; }
  ~Conn() {
    if (fd >= 0) ::close(fd);
  }
};

std::string make_body(std::size_t size, long n) {
  std::string m = "From: <load@remote.example>\r\nTo: <bench@example.test>\r\nSubject: bench " + std::to_string(n) +
                  "\r\nMessage-ID: <" + std::to_string(n) + "." + std::to_string(::getpid()) + "@bench>\r\n\r\n";
  std::string line(76, 'x');
  while (m.size() < size) m += line + "\r\n";
  return m + ".\r\n";
}

std::string dot_stuffed(const std::string& m) {
  std::string out;
  std::size_t pos = 0;
  while (pos < m.size()) {
    auto eol = m.find("\r\n", pos);
    auto end = eol == std::string::npos ? m.size() : eol + 2;
    if (m[pos] == '.') out += '.';
    out.append(m, pos, end - pos);
    pos = end;
  }
  if (!out.ends_with("\r\n")) out += "\r\n";
  return out + ".\r\n";
}

}  // namespace

int main(int argc, char** argv) {
  int port = 2525, concurrency = 8;
  long count = 1000;
  std::size_t size = 2048;
  std::string rcpt = "bench@example.test", from = "load@remote.example", helo = "bench.example", fixed;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    if (a == "--port") port = std::atoi(argv[i + 1]);
    else if (a == "--count") count = std::atol(argv[i + 1]);
    else if (a == "--concurrency") concurrency = std::atoi(argv[i + 1]);
    else if (a == "--size") size = static_cast<std::size_t>(std::atol(argv[i + 1]));
    else if (a == "--rcpt") rcpt = argv[i + 1];
    else if (a == "--from") from = argv[i + 1];
    else if (a == "--helo") helo = argv[i + 1];
    else if (a == "--message") {
      std::ifstream f(argv[i + 1], std::ios::binary);
      std::stringstream ss;
      ss << f.rdbuf();
      if (!f) {
        std::fprintf(stderr, "cannot read %s\n", argv[i + 1]);
        return 2;
      }
      fixed = dot_stuffed(ss.str());
    }
  }
  std::atomic<long> next{0}, ok{0}, failed{0};
  std::mutex mu;
  std::vector<double> latencies;
  auto start = Clock::now();
  std::vector<std::thread> threads;
  for (int t = 0; t < concurrency; ++t) {
    threads.emplace_back([&] {
      Conn c;
      if (!c.open(port) || c.reply() != 220 || c.cmd("EHLO " + helo) != 250) {
        failed += 1;
        return;
      }
      std::vector<double> mine;
      for (long n; (n = next++) < count;) {
        auto body = fixed.empty() ? make_body(size, n) : fixed;
        if (c.cmd("MAIL FROM:<" + from + ">") != 250 || c.cmd("RCPT TO:<" + rcpt + ">") != 250 ||
            c.cmd("DATA") != 354) {
          ++failed;
          continue;
        }
        auto t0 = Clock::now();
        if (!c.send_all(body) || c.reply() != 250) {
          ++failed;
          continue;
        }
        mine.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
        ++ok;
      }
      c.cmd("QUIT");
      std::lock_guard l(mu);
      latencies.insert(latencies.end(), mine.begin(), mine.end());
    });
  }
  for (auto& t : threads) t.join();
  double secs = std::chrono::duration<double>(Clock::now() - start).count();
  std::sort(latencies.begin(), latencies.end());
  auto pct = [&](double p) {
    return latencies.empty() ? 0.0 : latencies[std::min(latencies.size() - 1, static_cast<std::size_t>(p * latencies.size()))];
  };
  // One line, key=value, for the bench script to parse.
  std::printf("ok=%ld failed=%ld seconds=%.3f rate=%.1f p50_ms=%.2f p90_ms=%.2f p99_ms=%.2f\n", ok.load(),
              failed.load(), secs, ok / secs, pct(0.5), pct(0.9), pct(0.99));
  return failed ? 1 : 0;
}
