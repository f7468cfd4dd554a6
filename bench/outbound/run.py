#!/usr/bin/env python3
"""Outbound benchmark: Mailstead (smtpd + mailstead-deliverd, DKIM signing on) against Postfix
+ OpenDKIM (Debian's packages; OpenDKIM as Postfix's milter), relaying the same messages to
the same Postfix smtp-sink, in the same run, on loopback.

Each side takes N messages over STARTTLS (Mailstead on its submission port with AUTH; Postfix
on an smtpd port open to 127.0.0.0/8), signs each with a 2048-bit RSA key (relaxed/relaxed)
and relays it to smtp-sink (Mailstead: `mailstead relay set` with security none; Postfix:
relayhost). Reported: messages/s from the first message sent until smtp-sink has the last,
and the CPU time of every server process (user + system, the whole process tree with what
parents reaped, so Postfix's short-lived children and OpenDKIM count) per message. Medians of --runs runs.
The injector (Python smtplib, C threads) is the same for both and not counted in CPU.

Run as root (Postfix needs its system user): sudo bench/outbound/run.py [--runs 3]
Needs: apt-get install postfix opendkim (scripts/install-deps.sh has both)."""
import argparse
import os
import shutil
import signal
import smtplib
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from common import ROOT, free_port, tree_cpu, wait_port  # noqa: E402  (bench/common.py)
PASSWORD = "bench password 1"


def cert(dirname):
    key, crt = os.path.join(dirname, "key.pem"), os.path.join(dirname, "cert.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-keyout", key, "-out", crt, "-days", "2", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"], check=True, capture_output=True)
    return key, crt


def message(i, size):
    head = (f"From: Sender <sender@bench.test>\r\nTo: <rcpt{i % 50}@sink.test>\r\nSubject: bench {i}\r\n"
            f"Date: Tue, 01 Dec 2026 00:00:00 +0000\r\nMessage-ID: <bench.{i}@bench.test>\r\n"
            "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n")
    line = "The quick brown fox jumps over the lazy dog, again and again and again.\r\n"
    return head + line * max(1, (size - len(head)) // len(line))


def inject(port, count, concurrency, size, login):
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    per = [count // concurrency + (1 if i < count % concurrency else 0) for i in range(concurrency)]
    errors = []

    def worker(k):
        try:
            c = smtplib.SMTP("127.0.0.1", port, timeout=120)
            c.starttls(context=ctx)
            if login:
                c.login(*login)
            base = sum(per[:k])
            for i in range(base, base + per[k]):
                c.sendmail("sender@bench.test", [f"rcpt{i % 50}@sink.test"], message(i, size))
            c.quit()
        except Exception as e:  # reported after the run
            errors.append(repr(e))

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise SystemExit("injection failed: " + errors[0])


class Sink:
    def __init__(self, base):
        self.dir = os.path.join(base, "sink")
        os.mkdir(self.dir)
        os.chmod(self.dir, 0o777)
        self.port = free_port()
        self.proc = subprocess.Popen(["/usr/sbin/smtp-sink", "-u", "nobody", "-d", os.path.join(self.dir, "%M."),
                                      f"127.0.0.1:{self.port}", "256"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_port(self.port)

    def count(self):
        return len(os.listdir(self.dir))

    def clear(self):
        for name in os.listdir(self.dir):
            os.unlink(os.path.join(self.dir, name))

    def sample(self):
        names = os.listdir(self.dir)
        with open(os.path.join(self.dir, names[0]), "rb") as f:
            return f.read()

    def stop(self):
        self.proc.terminate()
        self.proc.wait()


class Mailstead:
    name = "Mailstead"

    def __init__(self, base, sink, bindir):
        self.dir = os.path.join(base, "mailstead")
        os.makedirs(self.dir)
        self.bindir = bindir
        key, crt = cert(self.dir)
        self.port = free_port()
        self.config = os.path.join(self.dir, "mailstead.toml")
        data = os.path.join(self.dir, "var")
        os.makedirs(os.path.join(data, "tls"))
        shutil.copy(key, os.path.join(data, "tls", "key.pem"))
        shutil.copy(crt, os.path.join(data, "tls", "cert.pem"))
        with open(self.config, "w") as f:
            f.write(f'hostname = "mail.bench.test"\ndata_dir = "{data}"\n'
                    f'[smtpd]\nmx_listen = ["127.0.0.1:{free_port()}"]\nsubmission_listen = ["127.0.0.1:{self.port}"]\n'
                    f'submissions_listen = []\n'
                    f'[outbound]\npoll_interval = "100ms"\n')
        self.cli("domain", "add", "bench.test")  # an RSA-2048 key comes with the domain
        self.cli("user", "add", "sender@bench.test", "--password-stdin", stdin=PASSWORD + "\n")
        self.cli("relay", "set", f"127.0.0.1:{sink.port}", "--security", "none")
        self.login = ("sender@bench.test", PASSWORD)

    def cli(self, *args, stdin=None):
        p = subprocess.run([f"{self.bindir}/mailstead", "--config", self.config, *args], input=stdin,
                           capture_output=True, text=True)
        if p.returncode != 0:
            raise SystemExit(f"mailstead {' '.join(args)}: {p.stderr}")
        return p.stdout

    def start(self):
        log = open(os.path.join(self.dir, "log"), "a")
        self.procs = [subprocess.Popen([f"{self.bindir}/{b}", "--config", self.config], stdout=log, stderr=log)
                      for b in ("mailstead-smtpd", "mailstead-deliverd")]
        wait_port(self.port)

    def stop(self):
        cpu = tree_cpu([p.pid for p in self.procs])
        for p in self.procs:
            p.send_signal(signal.SIGTERM)
        for p in self.procs:
            p.wait()
        return cpu


class PostfixOpendkim:
    name = "Postfix+OpenDKIM"

    def __init__(self, base, sink):
        self.dir = os.path.join(base, "postfix")
        os.makedirs(self.dir)
        key, crt = cert(self.dir)
        conf = self.conf = os.path.join(self.dir, "conf")
        for d in ("conf", "queue", "data", "dkim"):
            os.makedirs(os.path.join(self.dir, d), exist_ok=True)
        subprocess.run(["chown", "postfix", os.path.join(self.dir, "data")], check=True)
        dkim_key = os.path.join(self.dir, "dkim", "mail.private")
        subprocess.run(["openssl", "genrsa", "-out", dkim_key, "2048"], check=True, capture_output=True)
        self.milter = free_port()
        with open(os.path.join(self.dir, "dkim", "opendkim.conf"), "w") as f:
            f.write(f"Domain bench.test\nSelector mail\nKeyFile {dkim_key}\nCanonicalization relaxed/relaxed\n"
                    f"Mode s\nSocket inet:{self.milter}@127.0.0.1\nInternalHosts 127.0.0.1\nRequireSafeKeys no\n"
                    "OversignHeaders From\nSyslog no\nUserID root\nBackground no\n"
                    f"PidFile {self.dir}/dkim/pid\n")
        self.port = free_port()
        with open(os.path.join(conf, "main.cf"), "w") as f:
            f.write(f"""compatibility_level = 3.6
queue_directory = {self.dir}/queue
data_directory = {self.dir}/data
mail_owner = postfix
setgid_group = postdrop
myhostname = mx.bench.test
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
maillog_file = {self.dir}/maillog
maillog_file_prefixes = {self.dir}
mynetworks = 127.0.0.0/8
relayhost = [127.0.0.1]:{sink.port}
smtpd_tls_cert_file = {crt}
smtpd_tls_key_file = {key}
smtpd_tls_security_level = may
smtpd_milters = inet:127.0.0.1:{self.milter}
milter_default_action = tempfail
alias_maps =
alias_database =
local_recipient_maps =
smtp_tls_security_level = none
default_destination_concurrency_limit = 20
""")
        master = open(os.path.join(ROOT, "tests", "integration", "peers.py")).read()
        start = master.index('POSTFIX_MASTER_CF = """\\\n') + len('POSTFIX_MASTER_CF = """\\\n')
        table = master[start:master.index('"""', start)]
        with open(os.path.join(conf, "master.cf"), "w") as f:
            f.write(table.replace("{listen}", f"127.0.0.1:{self.port}"))
        subprocess.run(["postfix", "-c", conf, "check"], check=True, capture_output=True)
        self.login = None

    def start(self):
        self.dkim = subprocess.Popen(["opendkim", "-f", "-x", os.path.join(self.dir, "dkim", "opendkim.conf")],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_port(self.milter)
        env = dict(os.environ, MAIL_CONFIG=self.conf)
        self.master = subprocess.Popen(["/usr/lib/postfix/sbin/master", "-c", self.conf, "-d"], env=env,
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_port(self.port)

    def stop(self):
        cpu = tree_cpu([self.master.pid, self.dkim.pid])
        self.master.send_signal(signal.SIGTERM)
        self.master.wait()
        self.dkim.send_signal(signal.SIGTERM)
        self.dkim.wait()
        return cpu


def one_run(server, sink, count, concurrency, size):
    sink.clear()
    server.start()
    t0 = time.monotonic()
    inject(server.port, count, concurrency, size, server.login)
    deadline = time.monotonic() + 600
    while sink.count() < count:
        if time.monotonic() > deadline:
            raise SystemExit(f"{server.name}: only {sink.count()} of {count} reached the sink")
        time.sleep(0.01)
    elapsed = time.monotonic() - t0
    sample = sink.sample()
    if b"DKIM-Signature:" not in sample:
        raise SystemExit(f"{server.name}: the sink got an unsigned message")
    cpu = server.stop()
    return count / elapsed, cpu * 1000 / count


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--count", type=int, default=2000)
    ap.add_argument("--concurrency", type=int, default=4)
    ap.add_argument("--size", type=int, default=4096)
    ap.add_argument("--bindir", default=os.path.join(ROOT, "build", "bin"))
    a = ap.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("run as root: Postfix needs its system user")
    base = tempfile.mkdtemp(prefix="mailstead-bench-outbound-")
    os.chmod(base, 0o755)
    sink = Sink(base)
    servers = [Mailstead(base, sink, a.bindir), PostfixOpendkim(base, sink)]
    results = {s.name: [] for s in servers}
    try:
        for r in range(a.runs):
            for s in servers:  # alternating, so drift in the machine's load hits both
                rate, cpu = one_run(s, sink, a.count, a.concurrency, a.size)
                results[s.name].append((rate, cpu))
                print(f"run {r + 1} {s.name}: {rate:.0f} msg/s, {cpu:.2f} CPU ms/msg", flush=True)
    finally:
        for s in servers:
            for p in getattr(s, "procs", []) + [getattr(s, "master", None), getattr(s, "dkim", None)]:
                if p is not None and p.poll() is None:
                    p.kill()
                    p.wait()
        sink.stop()
        shutil.rmtree(base, ignore_errors=True)
    med = {n: (statistics.median(x[0] for x in v), statistics.median(x[1] for x in v)) for n, v in results.items()}
    m, p = med["Mailstead"], med["Postfix+OpenDKIM"]
    print(f"\n{a.count} messages of {a.size} bytes, {a.concurrency} connections, medians of {a.runs} runs")
    print("| | msg/s | CPU ms/msg |\n|---|---:|---:|")
    print(f"| Mailstead | {m[0]:.0f} | {m[1]:.2f} |")
    print(f"| Postfix+OpenDKIM | {p[0]:.0f} | {p[1]:.2f} |")
    print(f"| ratio | {m[0] / p[0]:.2f}x | {p[1] / m[1]:.2f}x less CPU |")


if __name__ == "__main__":
    main()
