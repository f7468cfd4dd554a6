#!/usr/bin/env python3
"""Delivery with SpamAssassin scanning on and off: the same Mailstead smtpd configuration
with [spam] enabled = false and = true, against a local spamd (Debian's package, a private
configuration without network tests, as tests/integration/test_spam.py starts it).

For each side it sends N messages of 2 KB with bench-smtp-load at a given concurrency and
reports messages per second end to end (the 250 follows the store commit), DATA->250
latency, and CPU time per message: smtpd's own (user + system) and spamd's (the parent and
its children). Medians of --runs runs, the sides alternating.

Run: bench/spam/run.py [--runs 3 --count 300 --concurrency 4]
Needs: apt-get install spamassassin spamd (scripts/install-deps.sh)."""
import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# bench/common.py; bench/inbound takes cpu_seconds, free_port and wait_port from this module.
from common import ROOT, SmtpdInstance, cpu_seconds, free_port, wait_port  # noqa: E402,F401


class Spamd:
    def __init__(self, work, children):
        self.port = free_port()
        self.dir = os.path.join(work, "spamd")
        os.chmod(work, 0o755)  # spamd runs as nobody when started as root: it must reach its directory
        site = os.path.join(self.dir, "site")
        os.makedirs(site)
        os.makedirs(os.path.join(self.dir, "home"))
        for f in os.listdir("/etc/spamassassin"):
            if f.endswith(".pre"):
                shutil.copy(os.path.join("/etc/spamassassin", f), site)
        with open(os.path.join(site, "local.cf"), "w") as f:
            f.write(f"bayes_path {self.dir}/bayes\nuse_bayes 1\nbayes_auto_learn 0\nskip_rbl_checks 1\n"
                    "dns_available no\nuse_razor2 0\nuse_pyzor 0\n")
        user = []
        if os.geteuid() == 0:
            subprocess.run(["chown", "-R", "nobody", self.dir], check=True)
            user = ["-u", "nobody"]
        self.proc = subprocess.Popen(["spamd", f"--listen=127.0.0.1:{self.port}", f"--siteconfigpath={site}",
                                      "-H", os.path.join(self.dir, "home"), "--syslog=stderr", "-x",
                                      f"--max-children={children}", f"--min-children={children}",
                                      f"--pidfile={self.dir}/pid", *user],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 120
        while True:
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("spamd did not start")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=5) as s:
                    s.sendall(b"PING SPAMC/1.5\r\n\r\n")
                    if b"PONG" in s.recv(100):
                        break
            except OSError:
                pass
            time.sleep(0.2)
        time.sleep(2)  # let the preforked children come up

    def stop(self):
        self.proc.terminate()
        self.proc.wait()


class Mailstead(SmtpdInstance):
    def __init__(self, work, bindir, name, spam_toml):
        super().__init__(work, bindir, name, toml=spam_toml)
        self.proc = subprocess.Popen([f"{bindir}/mailstead-smtpd", "--config", self.config])
        wait_port(self.port)

    def stop(self):
        self.proc.terminate()
        self.proc.wait()


def run_point(server, spamd, bindir, count, concurrency):
    smtpd0 = cpu_seconds(server.proc.pid)
    spamd0 = cpu_seconds(spamd.proc.pid)
    t0 = time.monotonic()
    out = subprocess.run([f"{bindir}/bench-smtp-load", "--port", str(server.port), "--count", str(count),
                          "--concurrency", str(concurrency), "--size", "2048"],
                         capture_output=True, text=True, timeout=1800)
    elapsed = time.monotonic() - t0
    if out.returncode != 0:
        raise SystemExit(f"load failed: {out.stdout} {out.stderr}")
    stats = dict(kv.split("=") for kv in out.stdout.split())
    if int(stats["failed"]):
        raise SystemExit(f"{stats['failed']} messages failed")
    return (count / elapsed, float(stats["p50_ms"]), float(stats["p99_ms"]),
            1000 * (cpu_seconds(server.proc.pid) - smtpd0) / count,
            1000 * (cpu_seconds(spamd.proc.pid) - spamd0) / count)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.path.join(ROOT, "build", "bin"))
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--count", type=int, default=300)
    ap.add_argument("--concurrency", type=int, default=4)
    ap.add_argument("--children", type=int, default=2, help="spamd's preforked children")
    args = ap.parse_args()
    work = tempfile.mkdtemp(prefix="mailstead-bench-spam-")
    spamd = off = on = None
    try:
        spamd = Spamd(work, args.children)
        off = Mailstead(work, args.bin, "off", "[spam]\nenabled = false\n")
        on = Mailstead(work, args.bin, "on", f'[spam]\nenabled = true\naddress = "127.0.0.1:{spamd.port}"\n'
                                             'timeout = "60s"\nreject_threshold = 1000\n')
        results = {"off": [], "on": []}
        for _ in range(args.runs):
            for name, server in (("off", off), ("on", on)):
                results[name].append(run_point(server, spamd, args.bin, args.count, args.concurrency))
        med = {k: [statistics.median(r[i] for r in v) for i in range(5)] for k, v in results.items()}
        print(f"{args.count} messages of 2 KB, concurrency {args.concurrency}, spamd children {args.children}, "
              f"medians of {args.runs} runs")
        print("| scanning | msg/s | DATA->250 p50/p99 ms | smtpd CPU ms/msg | spamd CPU ms/msg |")
        print("|---|---:|---:|---:|---:|")
        for k in ("off", "on"):
            m = med[k]
            print(f"| {k} | {m[0]:.1f} | {m[1]:.1f}/{m[2]:.1f} | {m[3]:.2f} | {m[4]:.1f} |")
        print(f"ratio on/off: {med['on'][0] / med['off'][0]:.3f}")
    finally:
        for s in (off, on, spamd):
            if s:
                s.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
