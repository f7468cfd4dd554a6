"""Real third-party peers for the outbound tests, each run unprivileged-style from a
temporary directory on loopback ports: dnsmasq serving a test zone, and Postfix (or its
smtp-sink) as the receiving MX. A missing tool is a skip, or a failure under CI (helpers.missing)."""
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time

from helpers import free_ports, missing, wait_port


def require_tool(name, package):
    """A program from /usr/sbin too (dnsmasq, postfix, smtp-sink are there)."""
    path = shutil.which(name) or (f"/usr/sbin/{name}" if os.path.exists(f"/usr/sbin/{name}") else None)
    if not path:
        missing(f"{name} (Debian package {package})")
    return path


def free_udp_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Dnsmasq:
    """dnsmasq answering only from its command line: `zones` are the domains it is
    authoritative for (unknown names in them get NXDOMAIN), `records` dnsmasq options such
    as ("mx-host", "example.test,mx.example.test,10")."""

    def __init__(self, zones, records, ttl=60, port=None):
        """`port`: a given UDP port (to start it again with other records), else a free one."""
        exe = require_tool("dnsmasq", "dnsmasq-base")
        for _ in range(5 if port is None else 20):
            self.port = port or free_udp_port()
            args = [exe, "--keep-in-foreground", f"--port={self.port}", "--listen-address=127.0.0.1",
                    "--bind-interfaces", "--no-resolv", "--no-hosts", "--conf-file=/dev/null", "--pid-file=",
                    f"--local-ttl={ttl}", "--log-facility=-"]
            if os.geteuid() == 0:
                args.append("--user=root")
            args += [f"--local=/{z}/" for z in zones]
            for k, v in records:
                if k == "txt-record":
                    # DNS character-strings hold 255 bytes at most: a long value is several strings
                    name, value = v.split(",", 1)
                    v = name + "," + ",".join(value[i:i + 255] for i in range(0, len(value), 255))
                args.append(f"--{k}={v}")
            self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            if self._ready():
                return
            self.proc.kill()
            self.proc.wait()
            if port is not None:
                time.sleep(0.2)  # the old instance's port may not be free yet
        raise AssertionError("dnsmasq did not start: " + self.proc.stderr.read())

    def _ready(self):
        # A query for a name it serves: the answer means it listens.
        query = b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x04test\x00\x00\x01\x00\x01"
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.settimeout(0.2)
            try:
                s.sendto(query, ("127.0.0.1", self.port))
                s.recvfrom(512)
                return True
            except OSError:
                pass
            finally:
                s.close()
        return False

    @property
    def address(self):
        return f"127.0.0.1:{self.port}"

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
        if self.proc.stderr:
            self.proc.stderr.close()


class SilentDns:
    """A UDP port that receives DNS queries and never answers (a DNS timeout)."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.address = f"127.0.0.1:{self.sock.getsockname()[1]}"

    def stop(self):
        self.sock.close()


class SmtpSink:
    """Postfix's smtp-sink on `address`:`port`, keeping each transaction in `dir` as a file
    (X-Mail-Args, X-Rcpt-Args lines, then the message). `flags` are smtp-sink options, e.g.
    ["-f", "rcpt"] (5xx at RCPT), ["-r", "rcpt"] (4xx), ["-q", "."] (hang up after DATA)."""

    def __init__(self, address, port, flags=()):
        exe = require_tool("smtp-sink", "postfix")
        self.dir = tempfile.mkdtemp(prefix="mailstead-sink-")
        os.chmod(self.dir, 0o777)  # smtp-sink writes as "nobody" when started as root
        self.address, self.port = address, port
        args = [exe]
        if os.geteuid() == 0:
            args += ["-u", "nobody"]
        args += list(flags) + ["-d", os.path.join(self.dir, "%Y%m%d%H%M%S."), f"{address}:{port}", "100"]
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                socket.create_connection((address, port), timeout=1).close()
                return
            except OSError:
                if self.proc.poll() is not None:
                    raise AssertionError("smtp-sink did not start: " + self.proc.stderr.read())
                time.sleep(0.05)
        raise AssertionError(f"smtp-sink does not listen on {address}:{port}")

    def messages(self):
        """[(envelope dict, message bytes)] of every complete transaction so far."""
        out = []
        for name in sorted(os.listdir(self.dir)):
            path = os.path.join(self.dir, name)
            with open(path, "rb") as f:
                data = f.read()
            env = {"rcpt": []}
            rest = data
            while True:
                line, _, after = rest.partition(b"\n")
                if line.startswith(b"X-Mail-Args: "):
                    env["mail"] = line[13:].decode().strip()
                elif line.startswith(b"X-Rcpt-Args: "):
                    env["rcpt"].append(line[13:].decode().strip())
                elif not (line.startswith(b"X-Client-") or line.startswith(b"X-Helo-Args")):
                    break
                rest = after
            out.append((env, rest))
        return out

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
        self.proc.stderr.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def wait_until(check, timeout=60, what="the condition"):
    """Polls `check` until it returns something true; returns that."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = check()
        if got:
            return got
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


class AiosmtpdRelay:
    """A relay (smarthost) on aiosmtpd (python3-aiosmtpd, aiosmtpd_relay.py): STARTTLS then AUTH
    on `starttls_port` (587-like), TLS from the first byte then AUTH on `tls_port` (465-like),
    `user`/`password` the only login; its certificate (for localhost) is `cert`."""

    def __init__(self, user, password):
        python = "/usr/bin/python3"
        if subprocess.run([python, "-c", "import aiosmtpd"], capture_output=True).returncode != 0:
            missing("python3-aiosmtpd")
        self.dir = tempfile.mkdtemp(prefix="mailstead-relay-")
        self.cert, key = os.path.join(self.dir, "cert.pem"), os.path.join(self.dir, "key.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                        "-keyout", key, "-out", self.cert, "-days", "2", "-subj", "/CN=localhost",
                        "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"], check=True, capture_output=True)
        self.messages_dir = os.path.join(self.dir, "messages")
        os.mkdir(self.messages_dir)
        self.starttls_port, self.tls_port = free_ports(2)
        self.proc = subprocess.Popen(
            [python, os.path.join(os.path.dirname(os.path.abspath(__file__)), "aiosmtpd_relay.py"),
             "--starttls-port", str(self.starttls_port), "--tls-port", str(self.tls_port), "--cert", self.cert,
             "--key", key, "--user", user, "--password", password, "--dir", self.messages_dir],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        if self.proc.stdout.readline().strip() != "ready":
            raise AssertionError("the aiosmtpd relay did not start")

    def messages(self):
        out = []
        for name in sorted(os.listdir(self.messages_dir)):
            if name.endswith(".json"):
                with open(os.path.join(self.messages_dir, name)) as f:
                    out.append(json.load(f))
        return out

    def stop(self):
        if self.proc.poll() is None:
            self.proc.stdin.close()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc.stdout.close()
        shutil.rmtree(self.dir, ignore_errors=True)


POSTFIX_MASTER_CF = """\
{listen} inet n - n - - smtpd
pickup    unix n - n 60 1 pickup
cleanup   unix n - n - 0 cleanup
qmgr      unix n - n 300 1 qmgr
rewrite   unix - - n - - trivial-rewrite
bounce    unix - - n - 0 bounce
defer     unix - - n - 0 bounce
trace     unix - - n - 0 bounce
verify    unix - - n - 1 verify
flush     unix n - n 1000? 0 flush
proxymap  unix - - n - - proxymap
smtp      unix - - n - - smtp
relay     unix - - n - - smtp
showq     unix n - n - - showq
error     unix - - n - - error
retry     unix - - n - - error
discard   unix - - n - - discard
local     unix - n n - - local
virtual   unix - n n - - virtual
lmtp      unix - - n - - lmtp
anvil     unix - - n - 1 anvil
scache    unix - - n - 1 scache
tlsmgr    unix - - n 1000? 1 tlsmgr
postlog   unix-dgram n - n - 1 postlogd
"""


class PostfixMx:
    """Debian's Postfix as the receiving MX for `domains`: a private instance (its own
    configuration, queue and log in a temporary directory) on 127.0.0.1:`port`, delivering
    every recipient of those domains into one maildir. Postfix must start as root."""

    def __init__(self, domains, port, extra_main_cf=""):
        exe = require_tool("postfix", "postfix")
        if os.geteuid() != 0:
            missing("root, to run a private Postfix instance")
        import pwd
        pw = pwd.getpwnam("postfix")
        self.dir = tempfile.mkdtemp(prefix="mailstead-pf-")
        os.chmod(self.dir, 0o755)
        self.conf = os.path.join(self.dir, "conf")
        for d in ("conf", "queue", "data", "mail"):
            os.mkdir(os.path.join(self.dir, d))
        for d in ("data", "mail"):
            os.chown(os.path.join(self.dir, d), pw.pw_uid, pw.pw_gid)
        self.maildir = os.path.join(self.dir, "mail", "inbox")
        self.port = port
        with open(os.path.join(self.conf, "main.cf"), "w") as f:
            f.write(f"""compatibility_level = 3.6
queue_directory = {self.dir}/queue
data_directory = {self.dir}/data
mail_owner = postfix
setgid_group = postdrop
myhostname = mx.postfix.test
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
maillog_file = {self.dir}/maillog
maillog_file_prefixes = {self.dir}
virtual_mailbox_domains = {" ".join(domains)}
virtual_mailbox_base = {self.dir}/mail
virtual_mailbox_maps = static:inbox/
virtual_uid_maps = static:{pw.pw_uid}
virtual_gid_maps = static:{pw.pw_gid}
mynetworks = 127.0.0.0/8
smtpd_recipient_restrictions = reject_unauth_destination
local_header_rewrite_clients =
smtputf8_enable = yes
alias_maps =
alias_database =
local_recipient_maps =
{extra_main_cf}
""")
        with open(os.path.join(self.conf, "master.cf"), "w") as f:
            f.write(POSTFIX_MASTER_CF.format(listen=f"127.0.0.1:{port}"))
        self.exe = exe
        p = subprocess.run([exe, "-c", self.conf, "start"], capture_output=True, text=True, timeout=60)
        if p.returncode != 0:
            raise AssertionError(f"Postfix did not start: {p.stderr} {self.log()}")
        wait_port(port)

    def log(self):
        try:
            with open(os.path.join(self.dir, "maillog")) as f:
                return f.read()
        except OSError:
            return ""

    def messages(self):
        """[(envelope dict like SmtpSink's, message bytes with CRLF lines)] delivered so far,
        Postfix's Return-Path, X-Original-To and Delivered-To taken off as the envelope."""
        out = []
        new = os.path.join(self.maildir, "new")
        if not os.path.isdir(new):
            return out
        for name in sorted(os.listdir(new)):
            with open(os.path.join(new, name), "rb") as f:
                data = f.read()
            env = {"rcpt": []}
            while True:
                line, _, rest = data.partition(b"\n")
                if line.startswith(b"Return-Path: "):
                    env["mail"] = line[13:].decode().strip()
                elif line.startswith(b"Delivered-To: "):
                    env["rcpt"].append("<" + line[14:].decode().strip() + ">")
                elif not line.startswith(b"X-Original-To: "):
                    break
                data = rest
            out.append((env, data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")))
        return out

    def stop(self):
        try:
            with open(os.path.join(self.dir, "queue", "pid", "master.pid")) as f:
                pid = int(f.read().strip())
        except (OSError, ValueError):
            pid = None
        subprocess.run([self.exe, "-c", self.conf, "stop"], capture_output=True, timeout=60)
        deadline = time.monotonic() + 20
        while pid and time.monotonic() < deadline:
            try:
                os.kill(pid, 0)  # the master this instance started, gone yet?
            except ProcessLookupError:
                break
            time.sleep(0.1)
        shutil.rmtree(self.dir, ignore_errors=True)
