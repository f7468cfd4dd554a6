#!/usr/bin/env python3
"""SMTP delivery benchmark: Mailstead's smtpd against Postfix smtpd -> Dovecot LMTP (Debian's
packages), in the same run, on loopback ports, each with fsync-before-acknowledge durability.

For each message size (2 KB, 100 KB) and concurrency (1, 8, 32) it sends N messages with
bench-smtp-load and measures end-to-end throughput: messages per second until every message
is in the recipient's mailbox (Mailstead: at the 250, which follows the store commit; Postfix:
when Dovecot has written the last one to the Maildir). It also reports DATA->250 latency
percentiles and the servers' memory (PSS, summed over every process) after the run. Medians of --runs runs.

Two workloads (--workload):
- persistent (the default): bench-smtp-load, EHLO once per connection, then MAIL/RCPT/DATA per
  message, at concurrency 1, 8 and 32.
- per-message: Debian's smtp-source (from the postfix package), a new connection for every
  message (connect, HELO, MAIL, RCPT, DATA, QUIT), 32 sessions in parallel: what an MX sees.
Both report the servers' CPU per message: user + system time of every server process and of
what they reaped (Postfix's short-lived smtpd, cleanup, qmgr, lmtp; Dovecot's lmtp), read from
/proc before and after each run, so the figure does not depend on what else loads the machine.

Run as root (Postfix and Dovecot need their system users): sudo bench/smtp/run.py
Needs: apt-get install postfix dovecot-core dovecot-lmtpd (the script installs them).
Side effect: adds the temporary directory to Postfix's alternate_config_directories in
/etc/postfix/main.cf for the run, and restores the file afterwards."""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# bench/common.py; bench/imap, bench/auth and bench/sieve take these names from this module.
from common import ROOT, SmtpdInstance, free_port, tree_cpu, tree_rss_kib, wait_port  # noqa: E402


class Mailstead(SmtpdInstance):
    name = "Mailstead"

    def __init__(self, work, bindir, log_level="warn"):
        super().__init__(work, bindir, "mailstead", log_level=log_level,
                         # smtp-source opens thousands of connections a minute from 127.0.0.1
                         smtpd_toml='max_connection_rate_per_ip = 0\n'
                         # Postfix+Dovecot run no SPF/DKIM/DMARC and no spam scan here: neither does
                         # Mailstead (bench/auth and bench/spam measure those). Without them the MX
                         # would also wait on DNS, which this loopback-only machine cannot reach.
                         '[dmarc]\nenabled = false\n[spam]\nenabled = false\n')
        self.proc = subprocess.Popen([f"{bindir}/mailstead-smtpd", "--config", self.config])
        wait_port(self.port)

    def delivered(self):
        import json
        boxes = json.loads(self.cli("mailbox", "list", "bench@example.test", "--json"))
        return next(b["messages"] for b in boxes if b["name"] == "INBOX")

    def rss(self):
        return tree_rss_kib(self.proc.pid)

    def cpu(self):
        return tree_cpu([self.proc.pid])

    def stop(self):
        self.proc.terminate()
        self.proc.wait()


class PostfixDovecot:
    name = "Postfix+Dovecot"

    def __init__(self, work):
        self.port, self.lmtp = free_port(), free_port()
        self.pf = os.path.join(work, "postfix")
        self.dv = os.path.join(work, "dovecot")
        self.maildir = os.path.join(self.dv, "mail", "bench")
        os.makedirs(os.path.join(self.pf, "queue"))
        os.makedirs(os.path.join(self.pf, "data"))
        shutil.chown(os.path.join(self.pf, "data"), "postfix")
        for d in ("run", "state", "mail"):
            os.makedirs(os.path.join(self.dv, d))
        shutil.chown(os.path.join(self.dv, "mail"), "mail", "mail")
        with open(os.path.join(self.dv, "dovecot.conf"), "w") as f:
            f.write(f"""base_dir = {self.dv}/run
state_dir = {self.dv}/state
log_path = {self.dv}/dovecot.log
protocols = lmtp
ssl = no
mail_location = maildir:{self.dv}/mail/%n
first_valid_uid = 1
mail_uid = mail
mail_gid = mail
mail_fsync = optimized
passdb {{
  driver = static
  args = nopassword=y
}}
userdb {{
  driver = static
  args = uid=mail gid=mail home={self.dv}/mail/%n
}}
service lmtp {{
  inet_listener lmtp {{
    address = 127.0.0.1
    port = {self.lmtp}
  }}
  process_min_avail = 4
}}
""")
        subprocess.run(["dovecot", "-c", os.path.join(self.dv, "dovecot.conf")], check=True)
        wait_port(self.lmtp)
        with open(os.path.join(self.pf, "main.cf"), "w") as f:
            f.write(f"""compatibility_level = 3.6
queue_directory = {self.pf}/queue
data_directory = {self.pf}/data
mail_owner = postfix
setgid_group = postdrop
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
myhostname = bench.example.test
mydestination =
mynetworks = 127.0.0.0/8
virtual_mailbox_domains = example.test
virtual_mailbox_maps = static:OK
virtual_transport = lmtp:inet:127.0.0.1:{self.lmtp}
lmtp_destination_concurrency_limit = 32
smtpd_client_connection_count_limit = 0
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
maillog_file = {self.pf}/maillog
maillog_file_prefixes = {self.pf}
biff = no
""")
        services = [
            (f"127.0.0.1:{self.port}", "inet", "n", "-", "n", "-", "-", "smtpd"),
            ("pickup", "unix", "n", "-", "n", "60", "1", "pickup"),
            ("cleanup", "unix", "n", "-", "n", "-", "0", "cleanup"),
            ("qmgr", "unix", "n", "-", "n", "300", "1", "qmgr"),
            ("rewrite", "unix", "-", "-", "n", "-", "-", "trivial-rewrite"),
            ("bounce", "unix", "-", "-", "n", "-", "0", "bounce"),
            ("defer", "unix", "-", "-", "n", "-", "0", "bounce"),
            ("trace", "unix", "-", "-", "n", "-", "0", "bounce"),
            ("verify", "unix", "-", "-", "n", "-", "1", "verify"),
            ("flush", "unix", "n", "-", "n", "1000?", "0", "flush"),
            ("proxymap", "unix", "-", "-", "n", "-", "-", "proxymap"),
            ("smtp", "unix", "-", "-", "n", "-", "-", "smtp"),
            ("relay", "unix", "-", "-", "n", "-", "-", "smtp"),
            ("showq", "unix", "n", "-", "n", "-", "-", "showq"),
            ("error", "unix", "-", "-", "n", "-", "-", "error"),
            ("retry", "unix", "-", "-", "n", "-", "-", "error"),
            ("discard", "unix", "-", "-", "n", "-", "-", "discard"),
            ("lmtp", "unix", "-", "-", "n", "-", "-", "lmtp"),
            ("anvil", "unix", "-", "-", "n", "-", "1", "anvil"),
            ("scache", "unix", "-", "-", "n", "-", "1", "scache"),
            ("postlog", "unix-dgram", "n", "-", "n", "-", "1", "postlogd"),
        ]
        with open(os.path.join(self.pf, "master.cf"), "w") as f:
            for s in services:
                f.write("  ".join(s) + "\n")
        shutil.copy("/etc/postfix/main.cf", os.path.join(work, "system-main.cf.bak"))
        self.backup = os.path.join(work, "system-main.cf.bak")
        subprocess.run(["postconf", "-e", f"alternate_config_directories = {self.pf}"], check=True)
        started = subprocess.run(["postfix", "-c", self.pf, "start"], capture_output=True, text=True)
        if started.returncode != 0:
            self.stop()
            log = open(os.path.join(self.pf, "maillog")).read() if os.path.exists(os.path.join(self.pf, "maillog")) else ""
            raise SystemExit("postfix did not start: " + started.stdout + started.stderr + log[-2000:])
        wait_port(self.port)

    def delivered(self):
        n = 0
        for sub in ("new", "cur"):
            d = os.path.join(self.maildir, sub)
            if os.path.isdir(d):
                n += len(os.listdir(d))
        return n

    def masters(self):
        pids = []
        for pidfile in (os.path.join(self.pf, "queue", "pid", "master.pid"), os.path.join(self.dv, "run", "master.pid")):
            with open(pidfile) as f:
                pids.append(int(f.read().split()[0]))
        return pids

    def rss(self):
        return sum(tree_rss_kib(p) for p in self.masters())

    def cpu(self):
        return tree_cpu(self.masters())

    def stop(self):
        subprocess.run(["postfix", "-c", self.pf, "stop"], capture_output=True)
        subprocess.run(["doveadm", "-c", os.path.join(self.dv, "dovecot.conf"), "stop"], capture_output=True)
        shutil.copy(self.backup, "/etc/postfix/main.cf")


def run_point(server, bindir, size, concurrency, count, workload="persistent"):
    before = server.delivered()
    cpu0 = server.cpu()
    t0 = time.monotonic()
    if workload == "persistent":
        out = subprocess.run([f"{bindir}/bench-smtp-load", "--port", str(server.port), "--count", str(count),
                              "--concurrency", str(concurrency), "--size", str(size)],
                             capture_output=True, text=True, timeout=900)
        if out.returncode != 0:
            raise SystemExit(f"{server.name}: load failed: {out.stdout} {out.stderr}")
        stats = dict(kv.split("=") for kv in out.stdout.split())
    else:
        # smtp-source: -s parallel sessions, -m messages, -l body length; no -d, so every
        # message has its own connection. It has no latency figures.
        out = subprocess.run(["smtp-source", "-s", str(concurrency), "-m", str(count), "-l", str(size),
                              "-M", "client.example.net", "-f", "load@remote.example", "-t", "bench@example.test",
                              f"127.0.0.1:{server.port}"], capture_output=True, text=True, timeout=900)
        if out.returncode != 0:
            raise SystemExit(f"{server.name}: smtp-source failed: {out.stdout} {out.stderr}")
        stats = {"p50_ms": "nan", "p99_ms": "nan"}
    deadline = time.monotonic() + 600
    while server.delivered() < before + count:
        if time.monotonic() > deadline:
            raise SystemExit(f"{server.name}: only {server.delivered() - before} of {count} delivered")
        time.sleep(0.02)
    elapsed = time.monotonic() - t0
    cpu_ms = (server.cpu() - cpu0) * 1000 / count
    return count / elapsed, float(stats["p50_ms"]), float(stats["p99_ms"]), server.rss(), cpu_ms


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.path.join(ROOT, "build", "bin"))
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--scale", type=float, default=1.0, help="multiplies the message counts")
    ap.add_argument("--workload", choices=("persistent", "per-message"), default="persistent",
                    help="persistent connections (bench-smtp-load) or a new connection per message (smtp-source)")
    ap.add_argument("--only", choices=("both", "mailstead", "postfix"), default="both",
                    help="run one side only (profiling); the table then shows the other as 0")
    ap.add_argument("--log-level", default="warn", help="Mailstead's [log] level (info logs 3 lines a message)")
    args = ap.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("run as root (Postfix and Dovecot need their system users)")
    if not shutil.which("postfix") or not shutil.which("dovecot") or not os.path.exists("/usr/lib/dovecot/lmtp"):
        subprocess.run(["apt-get", "install", "-y", "-qq", "postfix", "dovecot-core", "dovecot-lmtpd"], check=True,
                       env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"))
    work = tempfile.mkdtemp(prefix="mailstead-bench-smtp-")
    os.chmod(work, 0o755)  # Postfix's and Dovecot's users must reach their directories
    servers = []
    try:
        if args.only != "postfix":
            servers.append(Mailstead(work, args.bin, args.log_level))
        if args.only != "mailstead":
            servers.append(PostfixDovecot(work))
        per_message = args.workload == "per-message"
        print(f"workload: {args.workload}" + (" (smtp-source, a new connection per message)" if per_message else ""))
        print("| size | concurrency | Mailstead msg/s | Postfix+Dovecot msg/s | ratio | Mailstead CPU ms/msg |"
              " Postfix+Dovecot CPU ms/msg | Mailstead DATA→250 p50/p99 ms |"
              " Postfix DATA→250 p50/p99 ms | Mailstead PSS MiB | Postfix+Dovecot PSS MiB |")
        print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        zero = [0.0] * 5
        for size in (2048, 100 * 1024):
            for conc in ((32,) if per_message else (1, 8, 32)):
                if per_message:
                    count = int(4000 * (0.5 if size > 10000 else 1) * args.scale)
                else:
                    count = int((300 if conc == 1 else 1500) * (0.4 if size > 10000 else 1) * args.scale)
                results = {}
                # The sides alternate run by run, so a change in the machine's load falls on both.
                raw = {s.name: [] for s in servers}
                for _ in range(args.runs):
                    for s in servers:
                        raw[s.name].append(run_point(s, args.bin, size, conc, count, args.workload))
                for name, runs in raw.items():
                    results[name] = [statistics.median(x) for x in zip(*runs)]
                m, p = results.get("Mailstead", zero), results.get("Postfix+Dovecot", zero)
                ratio = m[0] / p[0] if p[0] and m[0] else 0
                print(f"| {size // 1024} KB | {conc} | {m[0]:.0f} | {p[0]:.0f} | {ratio:.2f} | {m[4]:.3f} | {p[4]:.3f} | "
                      f"{m[1]:.1f}/{m[2]:.1f} | {p[1]:.1f}/{p[2]:.1f} | {m[3] / 1024:.0f} | {p[3] / 1024:.0f} |",
                      flush=True)
    finally:
        for s in servers:
            s.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
