"""Many IMAPS sessions for bench/imap/run.py, driven by the C++ client bench-imap-sessions
(bench/imap/sessions.cpp, built with the benchmarks): the idle-memory measure (sessions held
in IDLE while the server's PSS is sampled) and the connect measure (connect, TLS, LOGIN,
SELECT, LOGOUT with and without TLS resumption).

The file-descriptor limit is the bench's own: raise_nofile() lifts this process's limit
(root may raise the hard limit up to fs.nr_open) before the servers start, so they and the
client inherit it; the services' defaults stay as they are."""
import os
import resource
import subprocess
import time

BIN = None  # the directory holding bench-imap-sessions; set by run.py

SOURCES = 16  # loopback source addresses 127.0.0.1..16: ephemeral ports per source


def raise_nofile(want=1 << 20):
    """Lifts the soft limit to the hard one, and the hard one too where the process may
    (root with CAP_SYS_RESOURCE; a container may have dropped it)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if os.geteuid() == 0:
        try:
            with open("/proc/sys/fs/nr_open") as f:
                want = min(want, int(f.read()))
            resource.setrlimit(resource.RLIMIT_NOFILE, (max(want, hard), max(want, hard)))
            return
        except (OSError, ValueError):
            pass
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def check_nofile(count):
    """Each session is a descriptor in the client and one in the server."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if count + 256 > soft:
        raise SystemExit(f"{count} sessions need more than the {soft} file descriptors this process may open "
                         "(raise the hard limit: ulimit -Hn, or LimitNOFILE= for a unit)")


def available():
    return BIN is not None and os.path.exists(os.path.join(BIN, "bench-imap-sessions"))


def _client(mode, server, count, *extra):
    return [os.path.join(BIN, "bench-imap-sessions"), mode, "--port", str(server.port), "--user", server.user,
            "--password", "bench-password", "--count", str(count), "--sources", str(SOURCES), *extra]


def idle_memory(server, count, mailbox="Idle", concurrency=32, timeout=1800):
    """Opens `count` sessions in IDLE on `mailbox`, samples the server's memory (PSS and
    anonymous PSS of every process, server.memory()) once they all idle, closes them.
    Returns (pss_kib, anon_kib, seconds to open them)."""
    check_nofile(count)
    proc = subprocess.Popen(_client("hold", server, count, "--mailbox", mailbox, "--concurrency", str(concurrency)),
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    deadline = time.monotonic() + timeout
    try:
        opened = None
        for line in proc.stdout:
            if line.startswith("ready"):
                _, n, secs, errors = line.split()
                if int(errors) or int(n) != count:
                    raise SystemExit(f"{server.name}: only {n} of {count} sessions in IDLE")
                opened = float(secs)
                break
            if time.monotonic() > deadline:
                raise SystemExit(f"{server.name}: {line.strip()} sessions after {timeout} s, stopped")
        if opened is None:
            raise SystemExit(f"{server.name}: the session client ended early")
        time.sleep(2)  # let the last sessions' handshake memory go back
        mem = server.memory()
    finally:
        try:
            proc.stdin.close()
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    time.sleep(1)
    return mem[0], mem[1], opened


def connect_load(server, count, concurrency, resume):
    """count sessions of connect + TLS + LOGIN + SELECT INBOX + LOGOUT from `concurrency`
    sequential workers; with resume each offers its previous session's TLS ticket.
    Returns (sessions/s, server CPU ms per session, share resumed)."""
    extra = ["--concurrency", str(concurrency)] + (["--resume"] if resume else [])
    cpu0 = server.cpu()
    out = subprocess.run(_client("connect", server, count, *extra), capture_output=True, text=True, timeout=1800)
    cpu = server.cpu() - cpu0
    if out.returncode != 0:
        raise SystemExit(f"{server.name}: {out.stderr.strip()}")
    _, n, secs, resumed, _errors = out.stdout.split()
    return int(n) / float(secs), cpu * 1000 / int(n), int(resumed) / int(n)
