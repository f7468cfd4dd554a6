#!/usr/bin/env python3
"""Message authentication at delivery: SMTP delivery throughput on the MX with SPF, DKIM and
DMARC on ([dmarc] enabled = true; SPF and DMARC records served by a dnsmasq on loopback, a
p=reject policy the messages pass through aligned SPF) as a ratio to the same delivery with
the checks off, in the same run (medians of --runs), and smtpd's CPU time per message in
each mode. Loopback only; needs dnsmasq (dnsmasq-base)."""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "smtp"))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "integration"))
import run as smtp_bench  # noqa: E402  (bench/smtp/run.py)
from common import cpu_seconds  # noqa: E402  (bench/common.py, on the path through bench/smtp/run.py)
from peers import Dnsmasq  # noqa: E402  (tests/integration/peers.py)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.path.join(HERE, "..", "..", "build", "bin"))
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--count", type=int, default=3000)
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--size", type=int, default=2048)
    args = ap.parse_args()
    bindir = os.path.abspath(args.bin)
    dns = Dnsmasq(["remote.example"], [("txt-record", "remote.example,v=spf1 ip4:127.0.0.0/8 -all"),
                                       ("txt-record", "_dmarc.remote.example,v=DMARC1; p=reject")])
    work = tempfile.mkdtemp(prefix="mailstead-bench-auth-")
    server = smtp_bench.Mailstead(work, bindir)
    with open(server.config) as f:
        base = f.read()

    def restart(enabled):
        server.stop()
        with open(server.config, "w") as f:
            # bench/smtp's configuration turns DMARC off (in its own [dmarc] table): set it here
            dmarc = f'[dmarc]\nenabled = {"true" if enabled else "false"}\n'
            f.write(base.replace("[smtpd]", f'[dns]\nnameservers = ["{dns.address}"]\n[smtpd]', 1)
                    .replace("[dmarc]\nenabled = false\n", dmarc, 1))
        server.proc = subprocess.Popen([f"{bindir}/mailstead-smtpd", "--config", server.config])
        smtp_bench.wait_port(server.port)

    try:
        results = {"off": [], "on": []}
        for _ in range(args.runs):
            for mode in ("off", "on"):
                restart(mode == "on")
                cpu0 = cpu_seconds(server.proc.pid)
                rate, p50, p99, *_ = smtp_bench.run_point(server, bindir, args.size, args.concurrency, args.count)
                cpu = (cpu_seconds(server.proc.pid) - cpu0) / args.count * 1e6
                results[mode].append((rate, p50, cpu))
                print(f"{mode:>4}: {rate:8.0f} msg/s  p50 {p50:.2f} ms  smtpd CPU {cpu:.0f} µs/msg", flush=True)
        med = {m: statistics.median(r[0] for r in v) for m, v in results.items()}
        print(f"\n| checks | msg/s (median of {args.runs}) | DATA→250 p50 ms | smtpd CPU µs/msg |")
        print("|---|---:|---:|---:|")
        for m, v in results.items():
            print(f"| {m} | {med[m]:.0f} | {statistics.median(r[1] for r in v):.2f} | "
                  f"{statistics.median(r[2] for r in v):.0f} |")
        print(f"\nratio on/off: {med['on'] / med['off']:.2f}")
    finally:
        server.stop()
        dns.stop()


if __name__ == "__main__":
    main()
