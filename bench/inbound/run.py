#!/usr/bin/env python3
"""Delivery on the MX with every inbound check on, against delivery with none, on the same
machine in the same run (issue 14's bench):

- "off": [dmarc], [dnsbl] and [spam] disabled, the client trusted (no DNS at all);
- "on": the client is not trusted, so per connection the DNSBL zone, the PTR and its
  forward confirmation and the HELO name are looked up; per message SPF (MAIL FROM and
  HELO), DKIM (one RSA-2048 signature, python3-dkim made it), DMARC (p=reject, aligned,
  so it passes) and a SpamAssassin scan (SYMBOLS) by a local spamd. DNS comes from a local
  dnsmasq on a loopback port with the test zones; smtpd caches its answers for their TTL
  (60 s), as it would for a sender that writes often.

bench-smtp-load sends the same signed message N times over C connections. Reported, medians
of --runs runs with the two sides alternating: server CPU per message (user + system, from
/proc) of smtpd, of spamd (the parent and its children) and of dnsmasq, which depends little
on what else the machine runs; then messages per second and the on/off throughput ratio,
which does.

Run: bench/inbound/run.py --bin build-rel/bin [--runs 3 --count 200 --concurrency 4]
Needs: spamassassin spamd dnsmasq-base python3-dkim openssl (scripts/install-deps.sh)."""
import argparse
import base64
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "bench"))
sys.path.insert(0, os.path.join(ROOT, "bench", "spam"))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))

from common import SmtpdInstance, cpu_seconds, free_port, wait_port  # noqa: E402  (bench/common.py)
from run import Spamd  # noqa: E402  (bench/spam/run.py)
from peers import Dnsmasq  # noqa: E402  (the tests' dnsmasq runner)

SENDER = "alice@sender.test"
HELO = "out.sender.test"
SIGN = """
import sys, dkim
key = open(sys.argv[1], "rb").read()
msg = sys.stdin.buffer.read()
sys.stdout.buffer.write(dkim.sign(msg, b"bench", b"sender.test", key,
                                  include_headers=[b"from", b"to", b"subject", b"date", b"message-id"]) + msg)
"""


def dkim_key(work):
    priv = os.path.join(work, "dkim.pem")
    subprocess.run(["openssl", "genrsa", "-traditional", "-out", priv, "2048"], check=True, capture_output=True)
    der = subprocess.run(["openssl", "rsa", "-in", priv, "-pubout", "-outform", "DER"], check=True,
                         capture_output=True).stdout
    return priv, base64.b64encode(der).decode()


def signed_message(work, priv, size):
    body = "".join(f"line {i} of an ordinary message about the quarterly figures and the next meeting\r\n"
                   for i in range(size // 80))
    msg = (f"From: Alice <{SENDER}>\r\nTo: <bench@example.test>\r\nSubject: figures\r\n"
           "Date: Tue, 01 Dec 2026 10:00:00 +0000\r\nMessage-ID: <bench.1@sender.test>\r\n"
           "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n" + body).encode()
    python = next((exe for exe in (sys.executable, "/usr/bin/python3")
                   if subprocess.run([exe, "-c", "import dkim"], capture_output=True).returncode == 0), sys.executable)
    p = subprocess.run([python, "-c", SIGN, priv], input=msg, capture_output=True)
    if p.returncode != 0:
        raise SystemExit("signing failed (python3-dkim installed?): " + p.stderr.decode())
    path = os.path.join(work, "signed.eml")
    with open(path, "wb") as f:
        f.write(p.stdout)
    return path


class Mailstead(SmtpdInstance):
    def __init__(self, work, bindir, name, toml, smtpd_toml):
        super().__init__(work, bindir, name, toml=toml, smtpd_toml=smtpd_toml)
        self.log = open(os.path.join(work, name + ".log"), "w")
        self.proc = subprocess.Popen([f"{bindir}/mailstead-smtpd", "--config", self.config],
                                     stdout=self.log, stderr=self.log)
        wait_port(self.port)

    def stop(self):
        self.proc.terminate()
        self.proc.wait()
        self.log.close()


def run_point(server, spamd, dns, bindir, message, count, concurrency):
    pids = (server.proc.pid, spamd.proc.pid, dns.proc.pid)
    before = [cpu_seconds(p) for p in pids]
    t0 = time.monotonic()
    out = subprocess.run([f"{bindir}/bench-smtp-load", "--port", str(server.port), "--count", str(count),
                          "--concurrency", str(concurrency), "--message", message, "--from", SENDER, "--helo", HELO],
                         capture_output=True, text=True, timeout=3600)
    elapsed = time.monotonic() - t0
    if out.returncode != 0:
        raise SystemExit(f"load failed: {out.stdout} {out.stderr}")
    stats = dict(kv.split("=") for kv in out.stdout.split())
    if int(stats["failed"]):
        raise SystemExit(f"{stats['failed']} messages failed")
    cpu = [1000 * (cpu_seconds(p) - b) / count for p, b in zip(pids, before)]
    return (count / elapsed, float(stats["p50_ms"]), *cpu)


def check_headers(server):
    """The last message delivered by "on" must show every check passing."""
    msgs = server.cli("message", "list", "bench@example.test", "INBOX", "--json")
    uid = json.loads(msgs)[-1]["uid"]
    raw = server.cli("message", "get", "bench@example.test", "INBOX", str(uid))
    for want in ("spf=pass smtp.mailfrom=", "dkim=pass header.d=sender.test", "dmarc=pass", "iprev=pass",
                 "X-Spam-Status: No", "X-Mailstead-Helo: helo=match"):
        if want not in raw:
            raise SystemExit(f"'on' delivered without {want!r}:\n{raw[:3000]}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.path.join(ROOT, "build", "bin"))
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--count", type=int, default=200)
    ap.add_argument("--concurrency", type=int, default=4)
    ap.add_argument("--size", type=int, default=2048, help="approximate body bytes")
    ap.add_argument("--children", type=int, default=2, help="spamd's preforked children")
    args = ap.parse_args()
    work = tempfile.mkdtemp(prefix="mailstead-bench-inbound-")
    spamd = dns = off = on = None
    try:
        priv, pub = dkim_key(work)
        spf = "v=spf1 ip4:127.0.0.0/8 -all"
        dns = Dnsmasq(["sender.test", "bl.bench.test", "0.0.127.in-addr.arpa"], [
            ("txt-record", f"sender.test,{spf}"),
            ("txt-record", f"{HELO},{spf}"),
            ("address", f"/{HELO}/127.0.0.1"),
            ("ptr-record", f"1.0.0.127.in-addr.arpa,{HELO}"),
            ("txt-record", "_dmarc.sender.test,v=DMARC1; p=reject"),
            ("txt-record", f"bench._domainkey.sender.test,v=DKIM1; k=rsa; p={pub}"),
            # the DNSBL lists someone else: the client's query is answered NXDOMAIN
            ("address", "/2.0.0.127.bl.bench.test/127.0.0.2"),
        ])
        message = signed_message(work, priv, args.size)
        spamd = Spamd(work, args.children)
        off = Mailstead(work, args.bin, "off", "[dmarc]\nenabled = false\n[dnsbl]\nenabled = false\n"
                                               "[spam]\nenabled = false\n", "")
        on = Mailstead(work, args.bin, "on",
                       f'[dns]\nnameservers = ["{dns.address}"]\n[dnsbl]\nzones = ["bl.bench.test"]\n'
                       f'[spam]\nenabled = true\naddress = "127.0.0.1:{spamd.port}"\ntimeout = "60s"\n'
                       'reject_threshold = 1000\n',
                       "trusted_clients = []\nmax_connection_rate_per_ip = 0\n")
        # one warm-up message each: the first DNS answers and spamd's first scan
        run_point(off, spamd, dns, args.bin, message, 1, 1)
        run_point(on, spamd, dns, args.bin, message, 1, 1)
        check_headers(on)
        results = {"off": [], "on": []}
        for _ in range(args.runs):
            for name, server in (("off", off), ("on", on)):
                results[name].append(run_point(server, spamd, dns, args.bin, message, args.count, args.concurrency))
        med = {k: [statistics.median(r[i] for r in v) for i in range(5)] for k, v in results.items()}
        load = os.getloadavg()
        print(f"{args.count} DKIM-signed messages of {os.path.getsize(message)} bytes, concurrency {args.concurrency}, "
              f"spamd children {args.children}, medians of {args.runs} runs; load average {load[0]:.1f} "
              f"on {os.cpu_count()} CPUs")
        print("| checks | smtpd CPU ms/msg | spamd CPU ms/msg | dnsmasq CPU ms/msg | msg/s | DATA->250 p50 ms |")
        print("|---|---:|---:|---:|---:|---:|")
        for k in ("off", "on"):
            m = med[k]
            print(f"| {k} | {m[2]:.2f} | {m[3]:.1f} | {m[4]:.2f} | {m[0]:.1f} | {m[1]:.1f} |")
        print(f"server CPU per message on/off: {(med['on'][2] + med['on'][3] + med['on'][4]) / max(med['off'][2], 1e-9):.1f}x"
              f" (smtpd alone {med['on'][2] / max(med['off'][2], 1e-9):.2f}x); throughput ratio on/off: "
              f"{med['on'][0] / med['off'][0]:.3f}")
    finally:
        for s in (off, on, spamd):
            if s:
                s.stop()
        if dns:
            dns.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
