#!/usr/bin/env python3
"""IMAP benchmark: Mailstead's imapd against Dovecot's imap (Debian's package) in the same
run, both over IMAPS on loopback, each with one user whose INBOX holds --messages messages
(2-4 KB each, appended over IMAP with LITERAL+). Dovecot stores in mdbox, its fastest format
(Maildir APPEND slowed to ~50 messages/s once tens of thousands sat in new/).

Measured (medians of --runs): SELECT time; FETCH throughput for FLAGS, for header fields,
and for whole bodies; SEARCH time (a header search and UNSEEN); STORE throughput; and the
servers' memory (PSS summed over their processes) with --idle connections in IDLE.

--only-mixed: the mixed load of many mail clients: --mixed-clients clients (32), each logged in
as its own user with a --mixed-messages (200) message INBOX, each running in turn FETCH of a
few messages' FLAGS, UID FETCH of one whole body, UID SEARCH UNSEEN, UID STORE +/-FLAGS of one
message, IDLE then DONE, and NOOP, for --mixed-seconds. Reports ops/s and the server's CPU per
operation (user + system of every server process, from /proc).

--only mailstead|dovecot|both: which servers to start (Mailstead alone needs no root).

--only-connect: sessions of connect + TLS + LOGIN + SELECT INBOX + LOGOUT from 8 threads,
with full handshakes and with TLS resumption (each thread offers its previous session's
ticket), reporting sessions/s, the share resumed and the servers' CPU per session (user +
system of every server process and what they reaped, from /proc).

Run as root (Dovecot needs its system users): sudo bench/imap/run.py [--messages 100000]"""
import argparse
import os
import re
import shutil
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "bench", "smtp"))
from run import free_port, wait_port, tree_rss_kib, tree_cpu  # noqa: E402
import sessions  # noqa: E402  (bench/imap/sessions.py: the C++ session client for --only-idle/--only-connect)


class Client:
    def __init__(self, port, user, password, ctx=None, session=None):
        if ctx is None:
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        raw = socket.create_connection(("127.0.0.1", port), timeout=600)
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock = ctx.wrap_socket(raw, session=session)
        self.buf = b""
        self.n = 0
        self.line()
        self.cmd(f'LOGIN "{user}" "{password}"')

    def line(self):
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(1 << 20)
            if not chunk:
                raise ConnectionError("closed")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def response(self, tag):
        count = 0
        while True:
            line = self.line()
            m = re.search(rb"\{(\d+)\}$", line)
            while m:
                n = int(m.group(1))
                while len(self.buf) < n:
                    self.buf += self.sock.recv(1 << 20)
                self.buf = self.buf[n:]
                line = self.line()
                m = re.search(rb"\{(\d+)\}$", line)
            if line.startswith(tag + b" "):
                if b" OK" not in line[:len(tag) + 4]:
                    raise RuntimeError(line)
                return count
            count += 1

    def cmd(self, text):
        self.n += 1
        tag = f"b{self.n}".encode()
        self.sock.sendall(tag + b" " + text.encode() + b"\r\n")
        return self.response(tag)

    def append_many(self, mailbox, messages, batch=200):
        """Pipelined APPENDs with LITERAL+, a batch at a time (one thread: an SSL socket
        must not be read and written from two threads at once)."""
        for i in range(0, len(messages), batch):
            tags = []
            out = []
            for m in messages[i:i + batch]:
                self.n += 1
                tag = f"b{self.n}".encode()
                tags.append(tag)
                out.append(tag + b" APPEND " + mailbox.encode() + b" {" + str(len(m)).encode() + b"+}\r\n" + m + b"\r\n")
            self.sock.sendall(b"".join(out))
            for tag in tags:
                self.response(tag)

    def close(self):
        try:
            self.cmd("LOGOUT")
        except Exception:
            pass
        self.sock.close()


def make_cert(directory):
    os.makedirs(directory, exist_ok=True)
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-keyout", f"{directory}/key.pem", "-out", f"{directory}/cert.pem", "-days", "2", "-subj", "/CN=bench"],
                   check=True, capture_output=True)


class Mailstead:
    name = "Mailstead"

    def add_users(self, names):
        """More users with the bench's password (for the mixed load); returns their logins."""
        out = []
        for n in names:
            subprocess.run([f"{self.bindir}/mailstead", "--config", self.config, "user", "add",
                            f"{n}@example.test", "--password", "bench-password"], check=True, capture_output=True)
            out.append(f"{n}@example.test")
        return out

    def __init__(self, work, bindir, name=None):
        if name:
            self.name = name
        work = os.path.join(work, "compare") if name else work
        os.makedirs(work, exist_ok=True)
        self.bindir = bindir
        self.port = free_port()
        data = os.path.join(work, "mailstead")
        self.config = os.path.join(work, "mailstead.toml")
        with open(self.config, "w") as f:
            f.write(f'hostname = "bench.example.test"\ndata_dir = "{data}"\n[log]\nlevel = "warn"\n'
                    f'[imapd]\nimaps_listen = ["127.0.0.1:{self.port}"]\nmax_connections_per_ip = 200000\n'
                    f'max_connections = 200000\n')
        make_cert(os.path.join(data, "tls"))
        run = lambda *a: subprocess.run([f"{bindir}/mailstead", "--config", self.config, *a], check=True, capture_output=True)
        run("domain", "add", "example.test")
        run("user", "add", "bench@example.test", "--password", "bench-password")
        self.user = "bench@example.test"
        self.proc = subprocess.Popen([f"{bindir}/mailstead-imapd", "--config", self.config],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_port(self.port)

    def memory(self):
        return tree_rss_kib(self.proc.pid), tree_rss_kib(self.proc.pid, "Pss_Anon:")

    def cpu(self):
        return tree_cpu([self.proc.pid])

    def stop(self):
        self.proc.terminate()
        self.proc.wait()


class Dovecot:
    name = "Dovecot"

    def __init__(self, work):
        self.port = free_port()
        self.dir = os.path.join(work, "dovecot")
        for d in ("run", "state", "mail", "tls"):
            os.makedirs(os.path.join(self.dir, d))
        shutil.chown(os.path.join(self.dir, "mail"), "mail", "mail")
        make_cert(os.path.join(self.dir, "tls"))
        self.conf = os.path.join(self.dir, "dovecot.conf")
        with open(self.conf, "w") as f:
            f.write(f"""base_dir = {self.dir}/run
state_dir = {self.dir}/state
log_path = {self.dir}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = required
ssl_cert = <{self.dir}/tls/cert.pem
ssl_key = <{self.dir}/tls/key.pem
mail_location = mdbox:{self.dir}/mail/%n
first_valid_uid = 1
mail_uid = mail
mail_gid = mail
mail_fsync = optimized
auth_mechanisms = plain login
passdb {{
  driver = static
  args = password=bench-password
}}
userdb {{
  driver = static
  args = uid=mail gid=mail home={self.dir}/mail/%n
}}
service imap-login {{
  inet_listener imap {{
    port = 0
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {self.port}
  }}
  # high-performance mode: a few login processes proxy TLS for many clients
  service_count = 0
  process_min_avail = 2
  process_limit = 200
  client_limit = 2000
}}
service imap {{
  process_limit = 20000
}}
protocol imap {{
  mail_max_userip_connections = 100000
}}
default_process_limit = 12000
default_client_limit = 15000
""")
        subprocess.run(["dovecot", "-c", self.conf], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_port(self.port)
        self.user = "bench"
        pidfile = os.path.join(self.dir, "run", "master.pid")
        deadline = time.monotonic() + 10
        pid = ""
        while time.monotonic() < deadline:  # the master creates the file, then writes it
            if os.path.exists(pidfile):
                with open(pidfile) as f:
                    pid = f.read().strip()
                if pid:
                    break
            time.sleep(0.05)
        self.pid = 0
        if pid:
            self.pid = int(pid.split()[0])
        else:
            out = subprocess.run(["pgrep", "-f", f"dovecot -c {self.conf}"], capture_output=True, text=True).stdout.split()
            self.pid = int(out[0]) if out else 0

    def add_users(self, names):
        return list(names)  # a static passdb: every name logs in

    def memory(self):
        return tree_rss_kib(self.pid), tree_rss_kib(self.pid, "Pss_Anon:")

    def cpu(self):
        return tree_cpu([self.pid])

    def stop(self):
        if not hasattr(self, "conf"):
            return
        subprocess.run(["doveadm", "-c", self.conf, "stop"], capture_output=True)
        if getattr(self, "pid", 0):
            try:
                os.kill(self.pid, 15)
            except ProcessLookupError:
                pass


def messages(n):
    out = []
    for i in range(n):
        body = ("line of text for the benchmark message body %d\r\n" % i) * (40 + i % 40)
        out.append((f"From: Sender {i % 97} <sender{i % 97}@remote.example>\r\nTo: bench@example.test\r\n"
                    f"Subject: bench message {i}\r\nDate: Mon, 1 Jan 2024 10:00:00 +0000\r\n"
                    f"Message-ID: <{i}@bench>\r\n\r\n" + body).encode())
    return out


def timed(fn):
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def measure(server, n, runs):
    results = {}
    def med(key, fn):
        results[key] = statistics.median(fn() for _ in range(runs))
    c = Client(server.port, server.user, "bench-password")
    med("select_ms", lambda: timed(lambda: c.cmd("SELECT INBOX")) * 1000)
    med("fetch_flags", lambda: n / timed(lambda: c.cmd("FETCH 1:* (FLAGS)")))
    med("fetch_headers", lambda: n / timed(lambda: c.cmd(
        "FETCH 1:* (UID RFC822.SIZE FLAGS BODY.PEEK[HEADER.FIELDS (FROM TO SUBJECT DATE)])")))
    k = min(n, 5000)
    med("fetch_bodies", lambda: k / timed(lambda: c.cmd(f"FETCH 1:{k} (BODY.PEEK[])")))
    med("search_header_ms", lambda: timed(lambda: c.cmd('UID SEARCH FROM "sender42"')) * 1000)
    med("search_unseen_ms", lambda: timed(lambda: c.cmd("SEARCH UNSEEN")) * 1000)
    flip = [0]
    def store():
        flip[0] ^= 1
        return n / timed(lambda: c.cmd(f"STORE 1:* {'+' if flip[0] else '-'}FLAGS.SILENT (\\Flagged)"))
    med("store", store)
    c.close()
    return results


def idle_memory(server, count):
    # The idle sessions select a small mailbox: a selected mailbox costs a session memory in
    # proportion to its size (see docs/performance.md), which is measured apart from this.
    setup = Client(server.port, server.user, "bench-password")
    try:
        setup.cmd("CREATE Idle")
        setup.append_many("Idle", messages(10))
    except RuntimeError:
        pass  # exists already
    setup.close()
    if sessions.available():
        return sessions.idle_memory(server, count)[:2]
    conns = []
    for _ in range(count):
        cl = Client(server.port, server.user, "bench-password")
        cl.cmd("SELECT Idle")
        cl.n += 1
        cl.sock.sendall(f"b{cl.n} IDLE\r\n".encode())
        cl.line()
        conns.append(cl)
    time.sleep(1)
    mem = server.memory()
    for cl in conns:
        cl.sock.close()
    time.sleep(1)
    return mem


MIXED_OPS = ("fetch_flags", "fetch_body", "search", "store", "idle", "noop")


def mixed_client(port, user, seconds, seed, barrier, out, kinds=MIXED_OPS):
    """One client of the mixed load (a process of its own: the GIL would make 32 threads one
    client). Logs in and selects, waits for every other client at the barrier, then runs the
    operations in turn for `seconds`."""
    import random
    rnd = random.Random(seed)
    counts = dict.fromkeys(MIXED_OPS, 0)
    try:
        c = Client(port, user, "bench-password")
        c.cmd("SELECT INBOX")
        c.n += 1
        tag = f"b{c.n}".encode()
        c.sock.sendall(tag + b" UID SEARCH ALL\r\n")
        uids = []
        while True:
            line = c.line()
            if line.startswith(b"* SEARCH"):
                uids = [int(x) for x in line.split()[2:]]
            elif line.startswith(tag):
                break
        n = len(uids)
        barrier.wait()
        end = time.time() + seconds
        k = rnd.randrange(len(kinds))
        while time.time() < end:
            op = kinds[k % len(kinds)]
            k += 1
            if op == "fetch_flags":
                a = rnd.randrange(1, max(1, n - 9) + 1)
                c.cmd(f"FETCH {a}:{min(n, a + 9)} (FLAGS)")
            elif op == "fetch_body":
                c.cmd(f"UID FETCH {rnd.choice(uids)} (BODY.PEEK[])")
            elif op == "search":
                c.cmd("UID SEARCH UNSEEN")
            elif op == "store":
                c.cmd(f"UID STORE {rnd.choice(uids)} {rnd.choice('+-')}FLAGS (\\Seen)")
            elif op == "idle":
                c.n += 1
                tag = f"b{c.n}".encode()
                c.sock.sendall(tag + b" IDLE\r\n")
                while not c.line().startswith(b"+"):
                    pass
                c.sock.sendall(b"DONE\r\n")
                c.response(tag)
            else:
                c.cmd("NOOP")
            counts[op] += 1
        c.close()
    except Exception as e:  # reported by the parent
        barrier.abort()
        out.put(("error", repr(e)))
        return
    out.put(("ok", counts))


def mixed_setup(server, clients, messages_per_box):
    """Users bench-mix-0.. each with an INBOX of messages_per_box messages."""
    users = server.add_users([f"mix{i}" for i in range(clients)])
    msgs = messages(messages_per_box)
    for u in users:
        c = Client(server.port, u, "bench-password")
        c.append_many("INBOX", msgs)
        c.close()
    return users


def mixed_load(server, users, seconds, kinds=MIXED_OPS):
    """Runs one client process per user for `seconds`; returns ops/s, server CPU µs per op
    and the operations done by kind."""
    import multiprocessing
    ctx = multiprocessing.get_context("fork")
    q = ctx.Queue()
    barrier = ctx.Barrier(len(users) + 1)  # every client logged in and selected first
    procs = [ctx.Process(target=mixed_client, args=(server.port, u, seconds, i, barrier, q, kinds))
             for i, u in enumerate(users)]
    for p in procs:
        p.start()
    try:
        barrier.wait()
    except threading.BrokenBarrierError:
        pass  # a client failed: its error is in the queue
    print(f"(measuring {server.name}: {','.join(kinds)})", file=sys.stderr, flush=True)  # e.g. to attach perf now
    cpu0 = server.cpu()
    t0 = time.monotonic()
    results = [q.get() for _ in procs]
    elapsed = time.monotonic() - t0
    cpu = server.cpu() - cpu0
    for p in procs:
        p.join()
    errors = [r[1] for r in results if r[0] == "error"]
    if errors:
        raise SystemExit(f"{server.name}: {errors[0]}")
    counts = dict.fromkeys(MIXED_OPS, 0)
    for _, c in results:
        for k, v in c.items():
            counts[k] += v
    ops = sum(counts.values())
    if not ops:
        raise SystemExit(f"{server.name}: no operation completed")
    return ops / elapsed, cpu * 1e6 / ops, counts


def connect_load(server, count, concurrency, resume):
    """count sessions of connect + TLS + LOGIN + SELECT INBOX + LOGOUT over `concurrency`
    threads; with resume, each thread offers the TLS session (ticket) of its previous one."""
    if sessions.available():
        return sessions.connect_load(server, count, concurrency, resume)
    import threading
    per = max(1, count // concurrency)
    resumed, errors = [], []

    def worker():
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        prev, n = None, 0
        try:
            for _ in range(per):
                c = Client(server.port, server.user, "bench-password", ctx, prev if resume else None)
                n += c.sock.session_reused
                c.cmd("SELECT INBOX")
                prev = c.sock.session  # the ticket came with the first records after the handshake
                c.close()
        except Exception as e:  # reported after the run
            errors.append(repr(e))
        resumed.append(n)

    cpu0 = server.cpu()
    t0 = time.monotonic()
    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - t0
    if errors:
        raise SystemExit(f"{server.name}: {errors[0]}")
    total = per * concurrency
    return total / elapsed, (server.cpu() - cpu0) * 1000 / total, sum(resumed) / total


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.path.join(ROOT, "build", "bin"))
    ap.add_argument("--messages", type=int, default=20000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--idle", default="1,1000")
    ap.add_argument("--only-idle", action="store_true", help="measure only memory with idle connections")
    ap.add_argument("--only-connect", type=int, default=0, metavar="N",
                    help="measure only N sessions of connect+TLS+LOGIN+SELECT+LOGOUT (8 threads), full and resumed")
    ap.add_argument("--only", choices=("mailstead", "dovecot", "both"), default="both",
                    help="which servers to run (the tables then show only that one)")
    ap.add_argument("--only-mixed", action="store_true", help="measure only the mixed load of many clients")
    ap.add_argument("--mixed-clients", type=int, default=32)
    ap.add_argument("--mixed-messages", type=int, default=200, help="messages in each mixed client's INBOX")
    ap.add_argument("--mixed-seconds", type=float, default=10)
    ap.add_argument("--mixed-ops", default=",".join(MIXED_OPS),
                    help="the operations of the mixed load, comma-separated (one alone: its cost per op)")
    ap.add_argument("--compare-bin", metavar="DIR",
                    help="with --only-mixed: also run the Mailstead binaries in DIR (e.g. a build of main), "
                         "alternating with --bin's, so before and after see the same machine state")
    ap.add_argument("--mixed-each", action="store_true",
                    help="after the mix, run each operation alone too (server CPU per op by kind)")
    ap.add_argument("--dovecot-idle-max", type=int, default=1000,
                    help="Dovecot runs a process per connection: beyond this many it is not measured")
    args = ap.parse_args()
    if args.only != "both" and not (args.only_mixed or args.only_connect):
        raise SystemExit("--only mailstead|dovecot goes with --only-mixed or --only-connect (the other tables compare both)")
    want = {"mailstead": ["Mailstead"], "dovecot": ["Dovecot"], "both": ["Mailstead", "Dovecot"]}[args.only]
    if "Dovecot" in want and os.geteuid() != 0:
        raise SystemExit("run as root (Dovecot needs its system users), or --only mailstead")
    if "Dovecot" in want and (not shutil.which("dovecot") or not os.path.exists("/usr/lib/dovecot/imap")):
        subprocess.run(["apt-get", "install", "-y", "-qq", "dovecot-core", "dovecot-imapd"], check=True,
                       env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"))
    sessions.BIN = args.bin
    sessions.raise_nofile()  # the servers and the session client inherit it
    work = tempfile.mkdtemp(prefix="mailstead-bench-imap-")
    os.chmod(work, 0o755)
    servers = []
    try:
        if "Mailstead" in want:
            servers.append(Mailstead(work, args.bin))
        if args.compare_bin and args.only_mixed:
            servers.append(Mailstead(work, args.compare_bin, "Mailstead (compare-bin)"))
        if "Dovecot" in want:
            dovecot = Dovecot.__new__(Dovecot)
            servers.append(dovecot)
            dovecot.__init__(work)
        if args.only_mixed:
            users = {s.name: mixed_setup(s, args.mixed_clients, args.mixed_messages) for s in servers}
            print(f"Mixed load: {args.mixed_clients} IMAPS clients, {args.mixed_messages}-message INBOXes, "
                  f"{args.mixed_seconds:g} s a run; medians of {args.runs} runs (servers alternating)\n", flush=True)
            print("| server | operations | ops/s | server CPU µs/op | ops by kind (last run) |")
            print("|---|---|---:|---:|---|", flush=True)
            mix = tuple(x for x in args.mixed_ops.split(",") if x)
            if any(k not in MIXED_OPS for k in mix):
                raise SystemExit(f"--mixed-ops: choose among {','.join(MIXED_OPS)}")
            for kinds in [mix] + ([(k,) for k in mix] if args.mixed_each and len(mix) > 1 else []):
                runs = {s.name: [] for s in servers}
                for _ in range(args.runs):
                    for s in servers:
                        runs[s.name].append(mixed_load(s, users[s.name], args.mixed_seconds, kinds))
                label = "mix" if len(kinds) > 1 else kinds[0]
                for s in servers:
                    rate = statistics.median(r[0] for r in runs[s.name])
                    cpu = statistics.median(r[1] for r in runs[s.name])
                    done = ", ".join(f"{k} {v}" for k, v in runs[s.name][-1][2].items() if v)
                    print(f"| {s.name} | {label} | {rate:.0f} | {cpu:.1f} | {done} |", flush=True)
            return
        if args.only_connect:
            print("| IMAPS sessions (connect, TLS, LOGIN, SELECT, LOGOUT), 8 threads | sessions/s | resumed | server CPU ms/session |")
            print("|---|---:|---:|---:|")
            for resume in (False, True):
                for s in servers:
                    runs = [connect_load(s, args.only_connect, 8, resume) for _ in range(args.runs)]
                    rate, cpu, share = (statistics.median(x) for x in zip(*runs))
                    print(f"| {s.name}, {'resumed' if resume else 'full handshakes'} | {rate:.0f} | {share:.0%} | {cpu:.3f} |",
                          flush=True)
            return
        if args.only_idle:
            print("| IMAPS connections in IDLE (10-message mailbox) | Mailstead PSS / anon MiB | Dovecot PSS / anon MiB |")
            print("|---:|---:|---:|")
            for count in [int(x) for x in args.idle.split(",") if x]:
                mp, ma = idle_memory(servers[0], count)
                d = "not run"
                if count <= args.dovecot_idle_max:
                    dp, da = idle_memory(servers[1], count)
                    d = f"{dp / 1024:.0f} / {da / 1024:.0f}"
                print(f"| {count} | {mp / 1024:.0f} / {ma / 1024:.0f} | {d} |", flush=True)
            return
        msgs = messages(args.messages)
        load = {}
        for s in servers:
            c = Client(s.port, s.user, "bench-password")
            load[s.name] = args.messages / timed(lambda: c.append_many("INBOX", msgs))
            c.close()
        res = {s.name: measure(s, args.messages, args.runs) for s in servers}
        m, d = res["Mailstead"], res["Dovecot"]
        print(f"{args.messages} messages in INBOX; medians of {args.runs} runs\n")
        print("| measure | Mailstead | Dovecot | ratio |")
        print("|---|---:|---:|---:|")
        print(f"| APPEND (pipelined, msg/s) | {load['Mailstead']:.0f} | {load['Dovecot']:.0f} | "
              f"{load['Mailstead'] / load['Dovecot']:.2f} |")
        rows = [("SELECT INBOX (ms, lower is better)", "select_ms", True),
                ("FETCH 1:* (FLAGS) (msg/s)", "fetch_flags", False),
                ("FETCH 1:* headers (msg/s)", "fetch_headers", False),
                ("FETCH bodies (msg/s)", "fetch_bodies", False),
                ("UID SEARCH FROM (ms, lower is better)", "search_header_ms", True),
                ("SEARCH UNSEEN (ms, lower is better)", "search_unseen_ms", True),
                ("STORE 1:* +FLAGS.SILENT (msg/s)", "store", False)]
        for label, key, lower in rows:
            ratio = (d[key] / m[key]) if lower else (m[key] / d[key])
            print(f"| {label} | {m[key]:.1f} | {d[key]:.1f} | {ratio:.2f} |")
        for count in [int(x) for x in args.idle.split(",") if x]:
            mm = idle_memory(servers[0], count)[0] / 1024
            if count <= args.dovecot_idle_max:
                dm = idle_memory(servers[1], count)[0] / 1024
                print(f"| memory with {count} IMAPS connections in IDLE on a 10-message mailbox (MiB PSS) | {mm:.0f} | {dm:.0f} | {dm / mm:.2f} |",
                      flush=True)
            else:
                print(f"| memory with {count} IMAPS connections in IDLE on a 10-message mailbox (MiB PSS) | {mm:.0f} | not run | |", flush=True)
        print("\nratio: how many times better Mailstead is (for times, Dovecot's time / Mailstead's).")
    finally:
        for s in servers:
            s.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
