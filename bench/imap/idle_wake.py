#!/usr/bin/env python3
"""IDLE wake latency: the time from smtpd's 250 for a delivery to the untagged EXISTS on an
IMAPS session idling on that INBOX, with the embedded default (imapd's watcher polling the
store every idle_poll) and with Redis pub/sub. The integration tests check that the wake
happens; this measures how fast.

    bench/imap/idle_wake.py [--deliveries 200] [--idle-poll 50ms]

Prints the median, 90th and 99th percentile per mode (milliseconds)."""
import argparse
import os
import smtplib
import socket
import statistics
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
os.environ.setdefault("MAILSTEAD_BIN_DIR", os.path.join(ROOT, "build", "bin"))
from helpers import Redis, Suite, client_tls  # noqa: E402


class Idler:
    def __init__(self, port, cert, user, password):
        raw = socket.create_connection(("127.0.0.1", port), timeout=30)
        self.sock = client_tls(cert).wrap_socket(raw, server_hostname="mail.example.test")
        self.buf = b""
        self.line()
        self.cmd(f'a LOGIN "{user}" "{password}"', b"a ")
        self.exists = 0
        for line in self.cmd("b SELECT INBOX", b"b "):
            if line.endswith(b" EXISTS"):
                self.exists = int(line.split()[1])
        self.sock.sendall(b"c IDLE\r\n")
        assert self.line().startswith(b"+ ")

    def line(self):
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def cmd(self, text, tag):
        self.sock.sendall(text.encode() + b"\r\n")
        lines = []
        while True:
            line = self.line()
            if line.startswith(tag):
                return lines
            lines.append(line)


def measure(suite, deliveries):
    suite.cli("domain", "add", "example.test")
    suite.cli("user", "add", "bench@example.test", "--password", "bench-pw")
    idler = Idler(suite.imaps, suite.cert, "bench@example.test", "bench-pw")
    smtp = smtplib.SMTP("127.0.0.1", suite.mx, timeout=30)
    latencies = []
    for n in range(deliveries):
        smtp.sendmail("x@remote.example", ["bench@example.test"], f"Subject: wake {n}\r\n\r\nup\r\n".encode())
        t0 = time.monotonic()
        while True:
            line = idler.line()
            if line.endswith(b" EXISTS"):
                break
        latencies.append((time.monotonic() - t0) * 1000)
    smtp.quit()
    return latencies


def report(name, ms):
    ms = sorted(ms)
    q = lambda p: ms[min(len(ms) - 1, int(len(ms) * p))]  # noqa: E731
    print(f"| {name} | {len(ms)} | {statistics.median(ms):.1f} | {q(0.9):.1f} | {q(0.99):.1f} |")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--deliveries", type=int, default=200)
    ap.add_argument("--idle-poll", default="50ms")
    args = ap.parse_args()
    print("| mode | deliveries | median ms | p90 ms | p99 ms |")
    print("|---|---|---|---|---|")
    s = Suite(imapd_toml=f'idle_poll = "{args.idle_poll}"\n').start()
    try:
        report(f"embedded (idle_poll {args.idle_poll})", measure(s, args.deliveries))
    finally:
        s.cleanup()
    redis = Redis()
    s = Suite(top_toml=f'[redis]\nurl = "{redis.url}"\n', imapd_toml='idle_poll = "10s"\n').start()
    try:
        report("Redis pub/sub (idle_poll 10s)", measure(s, args.deliveries))
    finally:
        s.cleanup()
        redis.stop()


if __name__ == "__main__":
    main()
