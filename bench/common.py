"""What the benchmarks share: loopback ports, and the CPU time and memory of a server's
processes read from /proc (docs/performance.md says how each bench uses them).

CPU is user + system time of the given processes and of every descendant, living or
already reaped by its parent (cutime/cstime), so a server that forks short-lived workers
(Postfix's smtpd, cleanup, lmtp; spamd's children) is charged for them. Memory is PSS:
shared pages divided among the processes sharing them."""
import os
import socket
import subprocess
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TICK = os.sysconf("SC_CLK_TCK")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def wait_port(port, timeout=30, interval=0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(interval)
    raise SystemExit(f"nothing listens on {port}")


def _proc_stats():
    """pid -> (ppid, utime + stime + cutime + cstime in ticks) of every process now."""
    stats = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                rest = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        stats[int(d)] = (int(rest[1]), sum(int(x) for x in rest[11:15]))
    return stats


def _descendants(roots, stats):
    children = {}
    for pid, (ppid, _) in stats.items():
        children.setdefault(ppid, []).append(pid)
    seen, todo = [], list(roots)
    while todo:
        pid = todo.pop()
        if pid in seen or pid not in stats:
            continue
        seen.append(pid)
        todo.extend(children.get(pid, []))
    return seen


def tree_cpu(roots):
    """CPU seconds (user + system) of the processes `roots` and every descendant, living or
    reaped by its parent. Read just before a server stops, so a short-lived worker counts as
    much as a long-lived one."""
    stats = _proc_stats()
    return sum(stats[p][1] for p in _descendants(roots, stats)) / TICK


def cpu_seconds(pid):
    """tree_cpu of one process."""
    return tree_cpu([pid])


def pss_kib(pid, field="Pss:"):
    """Proportional set size of one process. field "Pss_Anon:" counts only anonymous memory
    (heap, stacks), leaving out file pages a process has mapped, such as LMDB's (page cache
    the kernel can reclaim)."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith(field):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def tree_pss_kib(root_pid, field="Pss:"):
    """PSS of a process and all its descendants, KiB."""
    out = subprocess.run(["ps", "-e", "-o", "pid=,ppid="], capture_output=True, text=True).stdout
    children = {}
    for line in out.split("\n"):
        if line.strip():
            pid, ppid = map(int, line.split())
            children.setdefault(ppid, []).append(pid)
    total, stack = 0, [root_pid]
    while stack:
        p = stack.pop()
        total += pss_kib(p, field)
        stack += children.get(p, [])
    return total


tree_rss_kib = tree_pss_kib  # the name bench/imap imports (through bench/smtp/run.py)


def make_cert(directory, cn="bench", san=None):
    """A self-signed P-256 certificate as directory/cert.pem and key.pem (where the servers
    look for theirs under data_dir/tls); returns (key, cert)."""
    os.makedirs(directory, exist_ok=True)
    key, crt = os.path.join(directory, "key.pem"), os.path.join(directory, "cert.pem")
    extra = ["-addext", f"subjectAltName={san}"] if san else []
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-keyout", key, "-out", crt, "-days", "2", "-subj", f"/CN={cn}", *extra],
                   check=True, capture_output=True)
    return key, crt


class SmtpdInstance:
    """A Mailstead smtpd of a bench: work/NAME.toml with the MX, submission and submissions
    listeners on free loopback ports, `toml` before the [smtpd] table and `smtpd_toml` in it,
    a certificate, the domain example.test and the user bench@example.test. Not started."""

    def __init__(self, work, bindir, name, toml="", smtpd_toml="", log_level="warn"):
        self.bindir = bindir
        self.port = free_port()
        self.data = os.path.join(work, name)
        self.config = os.path.join(work, name + ".toml")
        p2, p3 = free_port(), free_port()
        with open(self.config, "w") as f:
            f.write(f'hostname = "bench.example.test"\ndata_dir = "{self.data}"\n[log]\nlevel = "{log_level}"\n{toml}'
                    f'[smtpd]\nmx_listen = ["127.0.0.1:{self.port}"]\nsubmission_listen = ["127.0.0.1:{p2}"]\n'
                    f'submissions_listen = ["127.0.0.1:{p3}"]\nmax_connections_per_ip = 1000\n{smtpd_toml}')
        make_cert(os.path.join(self.data, "tls"))
        self.cli("domain", "add", "example.test")
        self.cli("user", "add", "bench@example.test", "--password", "bench-password")

    def cli(self, *a):
        return subprocess.run([f"{self.bindir}/mailstead", "--config", self.config, *a], check=True,
                              capture_output=True, text=True).stdout
