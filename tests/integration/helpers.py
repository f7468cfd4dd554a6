"""Shared helpers for the integration tests: where the binaries are, a temporary data
directory with its own config file, and running the `mailstead` CLI for real."""
import json
import os
import shutil
import subprocess
import tempfile
import unittest

BIN = os.environ.get("MAILSTEAD_BIN_DIR") or os.path.join(
    os.path.dirname(__file__), "..", "..", "build", "bin")


# Under CI, and under scripts/test.sh (which installs every tool first), nothing may skip.
IN_CI = os.environ.get("CI") == "true" or os.environ.get("MAILSTEAD_NO_SKIP") == "1"


def missing(what):
    """A tool or service the test needs is not here: under CI (CI=true) that is a failure
    naming it, never a skip; on a developer's machine, a skip that says what to install."""
    if IN_CI:
        raise AssertionError(f"{what} is missing (scripts/install-deps.sh installs it)")
    raise unittest.SkipTest(f"{what} is missing")


def tool(name):
    """The path of a third-party program the test drives (swaks, mbsync, curl, ...)."""
    path = shutil.which(name)
    if not path:
        missing(name)
    return path


def binary(name):
    path = os.path.join(BIN, name)
    if not os.path.exists(path):
        missing(f"{path} (not built)")
    return path


class Instance:
    """A data directory and a config file pointing at it."""

    def __init__(self, extra_toml=""):
        self.dir = tempfile.mkdtemp(prefix="mailstead-it-")
        self.data_dir = os.path.join(self.dir, "var")
        self.config = os.path.join(self.dir, "mailstead.toml")
        # Spam scanning is on by default; tests without a spamd of their own turn it off
        # (test_spam.py starts a real spamd and sets [spam] itself).
        if "[spam]" not in extra_toml:
            extra_toml += "\n[spam]\nenabled = false\n"
        with open(self.config, "w") as f:
            f.write(f'hostname = "mail.example.test"\ndata_dir = "{self.data_dir}"\n{extra_toml}')

    def cli(self, *args, stdin=None, check=True):
        """Runs `mailstead --config FILE args…`; returns the CompletedProcess."""
        p = subprocess.run([binary("mailstead"), "--config", self.config, *args],
                           input=stdin, capture_output=True, text=True, timeout=60)
        if check and p.returncode != 0:
            raise AssertionError(f"mailstead {' '.join(args)} exited {p.returncode}: {p.stderr}")
        return p

    def cli_json(self, *args):
        return json.loads(self.cli(*args, "--json").stdout)

    def cleanup(self):
        shutil.rmtree(self.dir, ignore_errors=True)


def loopback_dns(*tomls):
    """Servers under test stay on loopback: without a [dns] section of the test's own, the
    resolver is a loopback port nothing answers on (smtpd's SPF/DKIM/DMARC checks then get
    temperror at once instead of asking the machine's resolver). Appended last, after any
    top-level keys."""
    return "" if any("[dns]" in t for t in tomls) else '\n[dns]\nnameservers = ["127.0.0.1:9"]\n'


PORT_RANGE = (20000, 32000)  # below Linux's ephemeral range (32768-60999): no client's source port


def free_ports(n):
    """n distinct free loopback ports. Tests run in parallel (ctest -j): a port taken by
    binding port 0 and releasing it could be handed to another test (or be a client's source
    port) before this test's server binds it. So ports come in turn from PORT_RANGE through
    one counter shared by every test process (a file under the temporary directory, locked
    while it is read and written), and each is checked to be bindable."""
    import fcntl
    import socket
    import tempfile
    lo, hi = PORT_RANGE
    ports = []
    with open(os.path.join(tempfile.gettempdir(), "mailstead-test-ports"), "a+") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        f.seek(0)
        text = f.read().strip()
        port = int(text) if text.isdigit() and lo <= int(text) < hi else lo + os.getpid() % (hi - lo)
        for _ in range(hi - lo):
            if len(ports) == n:
                break
            port = port + 1 if port + 1 < hi else lo
            s = socket.socket()
            try:
                s.bind(("127.0.0.1", port))
                ports.append(port)
            except OSError:
                pass
            finally:
                s.close()
        f.seek(0)
        f.truncate()
        f.write(str(port))
    if len(ports) < n:
        raise RuntimeError(f"no {n} free loopback ports in {lo}-{hi}")
    return ports


def make_cert(data_dir, hostname="mail.example.test"):
    """A self-signed certificate for hostname and 127.0.0.1 where the servers look for it."""
    tls = os.path.join(data_dir, "tls")
    os.makedirs(tls, exist_ok=True)
    subprocess.run([tool("openssl"), "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-keyout", os.path.join(tls, "key.pem"), "-out", os.path.join(tls, "cert.pem"),
                    "-days", "2", "-subj", f"/CN={hostname}",
                    "-addext", f"subjectAltName=DNS:{hostname},DNS:localhost,IP:127.0.0.1"],
                   check=True, capture_output=True)
    return os.path.join(tls, "cert.pem")


def client_tls(cert):
    import ssl
    ctx = ssl.create_default_context(cafile=cert)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    return ctx


def wait_port(port, timeout=15):
    import socket
    import time
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise AssertionError(f"nothing listens on {port}")


def wait_for(condition, timeout=60, what="condition"):
    """Polls `condition()` until it is true; fails naming `what` after `timeout` seconds."""
    import time
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def wait_for_line(stream, text, timeout=30):
    """Reads the pipe `stream` until `text` has arrived; returns what was read, or None at
    end of file or after `timeout` seconds. A wait on what the program says, not on time."""
    import selectors
    import time
    sel = selectors.DefaultSelector()
    sel.register(stream, selectors.EVENT_READ)
    buf, deadline = b"", time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            if not sel.select(deadline - time.monotonic()):
                continue
            chunk = os.read(stream.fileno(), 65536)
            if not chunk:
                return None
            buf += chunk
            if text.encode() in buf:
                return buf.decode(errors="replace")
        return None
    finally:
        sel.close()


def connect_when_room(connect, timeout=15):
    """Calls `connect` until the server has room for the connection (a slot just released
    is freed when the server has seen the close, not when the client has sent it)."""
    import time
    deadline = time.monotonic() + timeout
    while True:
        try:
            return connect()
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.02)


class SmtpServer:
    """A real mailstead-smtpd on free loopback ports with its own data directory."""

    def __init__(self, smtpd_toml="", top_toml=""):
        self.mx, self.submission, self.submissions = free_ports(3)
        self.instance = Instance(top_toml + "[smtpd]\n"
                                 f'mx_listen = ["127.0.0.1:{self.mx}"]\n'
                                 f'submission_listen = ["127.0.0.1:{self.submission}"]\n'
                                 f'submissions_listen = ["127.0.0.1:{self.submissions}"]\n' + smtpd_toml +
                                 loopback_dns(top_toml, smtpd_toml))
        self.cert = make_cert(self.instance.data_dir)
        self.proc = None
        self.log = open(os.path.join(self.instance.dir, "smtpd.log"), "w+")

    def start(self):
        self.proc = subprocess.Popen([binary("mailstead-smtpd"), "--config", self.instance.config],
                                     stderr=self.log, stdout=self.log)
        wait_port(self.mx)
        return self

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=20)

    def kill(self):
        import signal
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=20)

    def cleanup(self):
        self.stop()
        self.log.close()
        self.instance.cleanup()

    def logs(self):
        self.log.flush()
        with open(self.log.name) as f:
            return f.read()

    def cli(self, *a, **kw):
        return self.instance.cli(*a, **kw)

    def messages(self, user, mailbox="INBOX"):
        return self.instance.cli_json("message", "list", user, mailbox)

    def message(self, user, uid, mailbox="INBOX"):
        p = subprocess.run([binary("mailstead"), "--config", self.instance.config, "message", "get", user,
                            mailbox, str(uid)], capture_output=True, check=True)
        return p.stdout


class Suite:
    """mailstead-smtpd, -imapd and -sieved on free loopback ports over one data directory."""

    def __init__(self, imapd_toml="", smtpd_toml="", top_toml="", sieved_toml=""):
        self.mx, self.submission, self.submissions, self.imaps, self.sieve = free_ports(5)
        self.instance = Instance(top_toml + "[smtpd]\n"
                                 f'mx_listen = ["127.0.0.1:{self.mx}"]\n'
                                 f'submission_listen = ["127.0.0.1:{self.submission}"]\n'
                                 f'submissions_listen = ["127.0.0.1:{self.submissions}"]\n' + smtpd_toml +
                                 "[imapd]\n" f'imaps_listen = ["127.0.0.1:{self.imaps}"]\n' + imapd_toml +
                                 "[sieved]\n" f'listen = ["127.0.0.1:{self.sieve}"]\n' + sieved_toml +
                                 loopback_dns(top_toml, smtpd_toml, imapd_toml, sieved_toml))
        self.cert = make_cert(self.instance.data_dir)
        self.procs = {}
        self.logs = {}

    def start(self, *names):
        for name in names or ("smtpd", "imapd"):
            log = open(os.path.join(self.instance.dir, f"{name}.log"), "w+")
            self.logs[name] = log
            self.procs[name] = subprocess.Popen([binary(f"mailstead-{name}"), "--config", self.instance.config],
                                                stdout=log, stderr=log)
            wait_port({"smtpd": self.mx, "imapd": self.imaps, "sieved": self.sieve}[name])
        return self

    def log(self, name):
        self.logs[name].flush()
        with open(self.logs[name].name) as f:
            return f.read()

    def cli(self, *a, **kw):
        return self.instance.cli(*a, **kw)

    def cleanup(self):
        for p in self.procs.values():
            if p.poll() is None:
                p.terminate()
                p.wait(timeout=20)
        for log in self.logs.values():
            log.close()
        self.instance.cleanup()


class Redis:
    """A real redis-server on a free loopback port, without persistence."""

    def __init__(self):
        import shutil
        import tempfile
        self.port = free_ports(1)[0]
        self.dir = tempfile.mkdtemp(prefix="mailstead-redis-")
        self.proc = subprocess.Popen([tool("redis-server"),
                                      "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                                      "--appendonly", "no", "--dir", self.dir],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_port(self.port)

    @property
    def url(self):
        return f"redis://127.0.0.1:{self.port}"

    def stop(self):
        import shutil
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
        shutil.rmtree(self.dir, ignore_errors=True)
