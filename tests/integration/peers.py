"""Real third-party peers for the outbound tests, each run unprivileged-style from a
temporary directory on loopback ports: dnsmasq serving a test zone, and Postfix (or its
smtp-sink) as the receiving MX. A missing tool is a skip, or a failure under CI (helpers.missing)."""
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

    def __init__(self, zones, records, ttl=60):
        exe = require_tool("dnsmasq", "dnsmasq-base")
        for _ in range(5):
            self.port = free_udp_port()
            args = [exe, "--keep-in-foreground", f"--port={self.port}", "--listen-address=127.0.0.1",
                    "--bind-interfaces", "--no-resolv", "--no-hosts", "--conf-file=/dev/null", "--pid-file=",
                    f"--local-ttl={ttl}", "--log-facility=-"]
            if os.geteuid() == 0:
                args.append("--user=root")
            args += [f"--local=/{z}/" for z in zones]
            args += [f"--{k}={v}" for k, v in records]
            self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            if self._ready():
                return
            self.proc.kill()
            self.proc.wait()
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
