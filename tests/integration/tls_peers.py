"""Peers for the MTA-STS and DANE tests: a test CA made with openssl, receiving MX servers
with STARTTLS (aiosmtpd_mx.py), the HTTPS server that serves policies (mta_sts_https.py), and
a small DNS responder that sets the AD bit where told to (a test fixture standing in for a
validating resolver: dnsmasq does not sign zones)."""
import base64
import hashlib
import json
import os
import shutil
import socket
import struct
import subprocess
import tempfile
import threading

from helpers import missing

PYTHON = "/usr/bin/python3"
HERE = os.path.dirname(os.path.abspath(__file__))


def openssl(*args):
    subprocess.run(["openssl", *args], check=True, capture_output=True)


class TestCa:
    """A CA of the test's own, and certificates it signs (or self-signed ones)."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="mailstead-ca-")
        self.cert, self.key = os.path.join(self.dir, "ca.pem"), os.path.join(self.dir, "ca.key")
        openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", self.key,
                "-out", self.cert, "-days", "2", "-subj", "/CN=Mailstead Test CA",
                "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign")
        self.n = 0

    def issue(self, names, self_signed=False):
        """(cert, key) paths for a certificate naming `names` (DNS subjectAltNames)."""
        self.n += 1
        base = os.path.join(self.dir, f"leaf{self.n}")
        cert, key, csr = base + ".pem", base + ".key", base + ".csr"
        san = "subjectAltName=" + ",".join(f"DNS:{n}" for n in names)
        if self_signed:
            openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", key,
                    "-out", cert, "-days", "2", "-subj", f"/CN={names[0]}", "-addext", san)
            return cert, key
        openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", key,
                "-out", csr, "-subj", f"/CN={names[0]}")
        ext = base + ".ext"
        with open(ext, "w") as f:
            f.write(san + "\nextendedKeyUsage=serverAuth\n")
        openssl("x509", "-req", "-in", csr, "-CA", self.cert, "-CAkey", self.key, "-CAcreateserial", "-out", cert,
                "-days", "2", "-extfile", ext)
        return cert, key

    @staticmethod
    def spki_sha256(cert):
        """The TLSA 3 1 1 association data of `cert`: SHA-256 of its DER SubjectPublicKeyInfo."""
        pub = subprocess.run(["openssl", "x509", "-in", cert, "-noout", "-pubkey"], check=True, capture_output=True).stdout
        der = subprocess.run(["openssl", "pkey", "-pubin", "-outform", "DER"], input=pub, check=True,
                             capture_output=True).stdout
        return hashlib.sha256(der).digest()

    def cert_sha256(self):
        """The TLSA 2 0 1 association data of the CA: SHA-256 of its DER certificate."""
        der = subprocess.run(["openssl", "x509", "-in", self.cert, "-outform", "DER"], check=True,
                             capture_output=True).stdout
        return hashlib.sha256(der).digest()

    def chain(self, cert):
        """A file with `cert` followed by the CA's certificate (what a server sends for DANE-TA)."""
        path = cert + ".chain.pem"
        with open(path, "w") as out, open(cert) as a, open(self.cert) as b:
            out.write(a.read() + b.read())
        return path

    def cleanup(self):
        shutil.rmtree(self.dir, ignore_errors=True)


def _require_aiosmtpd():
    if subprocess.run([PYTHON, "-c", "import aiosmtpd"], capture_output=True).returncode != 0:
        missing("python3-aiosmtpd")


class TlsMx:
    """MX servers offering STARTTLS: `servers` is [(ip, cert, key)], all on `port`."""

    def __init__(self, port, servers):
        _require_aiosmtpd()
        self.dir = tempfile.mkdtemp(prefix="mailstead-mx-")
        args = [PYTHON, os.path.join(HERE, "aiosmtpd_mx.py"), "--dir", self.dir]
        for ip, cert, key in servers:
            args += ["--listen", f"{ip}:{port}:{cert}:{key}"]
        self.proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                     text=True)
        if self.proc.stdout.readline().strip() != "ready":
            raise AssertionError("the aiosmtpd MX servers did not start")

    def messages(self):
        out = []
        for name in sorted(os.listdir(self.dir)):
            if name.endswith(".json"):
                with open(os.path.join(self.dir, name)) as f:
                    out.append(json.load(f))
        return out

    def events(self):
        path = os.path.join(self.dir, "events.jsonl")
        if not os.path.exists(path):
            return []
        with open(path) as f:
            return [json.loads(line) for line in f if line.strip()]

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


class PolicyServer:
    """HTTPS on 127.0.0.1:`port` serving policies; `set(host, text)` changes one at once."""

    def __init__(self, port, cert, key):
        self.port, self.cert, self.key = port, cert, key
        self.dir = tempfile.mkdtemp(prefix="mailstead-sts-")
        self.proc = None
        self.start()

    def start(self):
        self.proc = subprocess.Popen([PYTHON, os.path.join(HERE, "mta_sts_https.py"), "--port", str(self.port),
                                      "--cert", self.cert, "--key", self.key, "--dir", self.dir],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        if self.proc.stdout.readline().strip() != "ready":
            raise AssertionError("the MTA-STS HTTPS server did not start")

    def set(self, host, text):
        with open(os.path.join(self.dir, host + ".tmp"), "w") as f:
            f.write(text)
        os.rename(os.path.join(self.dir, host + ".tmp"), os.path.join(self.dir, host))

    def requests(self, host):
        path = os.path.join(self.dir, "requests.log")
        if not os.path.exists(path):
            return 0
        with open(path) as f:
            return sum(1 for line in f if line.strip() == host)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.stdin.close()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.proc.stdout.close()
        self.proc = None

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


# ---- a DNS responder that sets AD ----

TYPES = {"A": 1, "MX": 15, "TXT": 16, "AAAA": 28, "TLSA": 52}


def _name(n):
    out = b""
    for label in n.rstrip(".").split("."):
        if label:
            out += bytes([len(label)]) + label.encode()
    return out + b"\0"


def _rdata(rtype, value):
    if rtype == "A":
        return socket.inet_pton(socket.AF_INET, value)
    if rtype == "AAAA":
        return socket.inet_pton(socket.AF_INET6, value)
    if rtype == "MX":
        pref, host = value
        return struct.pack("!H", pref) + _name(host)
    if rtype == "TXT":
        b = value.encode()
        return b"".join(bytes([len(b[i:i + 255])]) + b[i:i + 255] for i in range(0, max(len(b), 1), 255))
    if rtype == "TLSA":
        usage, selector, matching, data = value
        return bytes([usage, selector, matching]) + data
    raise ValueError(rtype)


class AdDns:
    """Answers from `records`: {(name, TYPE): [values]}, with the AD bit where
    `authenticated` holds (name, TYPE); `servfail` is a set of (name, TYPE) that get
    SERVFAIL. Names not known at all get NXDOMAIN; known names without the type, NODATA.
    A: "127.0.0.1"; MX: (10, "mx.example"); TXT: "v=STSv1; id=1"; TLSA: (3, 1, 1, bytes)."""

    def __init__(self, records, authenticated=(), servfail=()):
        self.records, self.authenticated, self.servfail = records, set(authenticated), set(servfail)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.address = f"127.0.0.1:{self.sock.getsockname()[1]}"
        self.running = True
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _answer(self, query):
        qid, flags, qd = struct.unpack("!HHH", query[:6])
        pos, labels = 12, []
        while query[pos]:
            labels.append(query[pos + 1:pos + 1 + query[pos]].decode().lower())
            pos += 1 + query[pos]
        qtype, qclass = struct.unpack("!HH", query[pos + 1:pos + 5])
        question = query[12:pos + 5]
        name = ".".join(labels)
        tname = next((k for k, v in TYPES.items() if v == qtype), None)
        rcode, answers = 0, []
        if (name, tname) in self.servfail:
            rcode = 2
        elif (name, tname) in self.records:
            answers = self.records[(name, tname)]
        elif not any(n == name for n, _ in self.records):
            rcode = 3
        rflags = 0x8000 | (flags & 0x0100) | 0x0080 | rcode  # QR, RD copied, RA
        if (name, tname) in self.authenticated and rcode != 2:
            rflags |= 0x0020  # AD
        out = struct.pack("!HHHHHH", qid, rflags, 1, len(answers), 0, 0) + question
        for v in answers:
            rd = _rdata(tname, v)
            out += b"\xc0\x0c" + struct.pack("!HHIH", qtype, 1, 1, len(rd)) + rd
        return out

    def _serve(self):
        while self.running:
            try:
                data, peer = self.sock.recvfrom(4096)
            except socket.timeout:
                continue
            except OSError:
                return
            try:
                self.sock.sendto(self._answer(data), peer)
            except (IndexError, struct.error, UnicodeDecodeError):
                pass

    def stop(self):
        self.running = False
        self.thread.join(timeout=5)
        self.sock.close()
