"""Certificate renewal without a restart: every service presents a new certificate and key
after SIGHUP, or by itself when the files change (tls.reload_check), without dropping the
sessions already open; a broken new pair is refused and the old one kept."""
import hashlib
import imaplib
import os
import signal
import smtplib
import socket
import ssl
import subprocess
import time
import unittest

from helpers import Suite, tool


def new_pair(directory, cn):
    """A fresh self-signed pair written beside the live files, then renamed over them (as
    certbot's deploy hooks and most renewal tools do)."""
    key, cert = os.path.join(directory, "key.new"), os.path.join(directory, "cert.new")
    subprocess.run([tool("openssl"), "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                    "-nodes", "-keyout", key, "-out", cert, "-days", "2", "-subj", f"/CN={cn}",
                    "-addext", "subjectAltName=DNS:mail.example.test,IP:127.0.0.1"], check=True, capture_output=True)
    os.chmod(key, 0o600)
    with open(cert, "rb") as f:
        der = ssl.PEM_cert_to_DER_cert(f.read().decode())
    os.replace(key, os.path.join(directory, "key.pem"))
    os.replace(cert, os.path.join(directory, "cert.pem"))
    return hashlib.sha256(der).hexdigest()


def presented(port, starttls=None):
    """The SHA-256 of the certificate a new connection is shown (no verification)."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    if starttls == "smtp":
        s = smtplib.SMTP("127.0.0.1", port, timeout=10)
        s.starttls(context=ctx)
        der = s.sock.getpeercert(binary_form=True)
        s.quit()
        return hashlib.sha256(der).hexdigest()
    if starttls == "sieve":
        raw = socket.create_connection(("127.0.0.1", port), timeout=10)
        buf = b""
        while not buf.endswith(b'OK "Mailstead ManageSieve ready"\r\n') and b"\r\nOK" not in buf:
            buf += raw.recv(4096)
        raw.sendall(b"STARTTLS\r\n")
        reply = b""
        while not reply.endswith(b"\r\n"):
            reply += raw.recv(4096)
        tls = ctx.wrap_socket(raw)
        der = tls.getpeercert(binary_form=True)
        tls.close()
        return hashlib.sha256(der).hexdigest()
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        with ctx.wrap_socket(raw) as tls:
            return hashlib.sha256(tls.getpeercert(binary_form=True)).hexdigest()


def wait_presented(test, port, want, starttls=None, timeout=30):
    deadline = time.monotonic() + timeout
    seen = None
    while time.monotonic() < deadline:
        seen = presented(port, starttls)
        if seen == want:
            return
        time.sleep(0.05)
    test.fail(f"port {port} still presents {seen}, not {want}")


class TlsReloadTest(unittest.TestCase):
    def start(self, reload_check):
        self.s = Suite(top_toml=f'[tls]\nreload_check = "{reload_check}"\n').start("smtpd", "imapd", "sieved")
        self.s.cli("domain", "add", "example.test")
        self.s.cli("user", "add", "ann@example.test", "--password", "ann-pw")
        self.tls_dir = os.path.join(self.s.instance.data_dir, "tls")

    def tearDown(self):
        self.s.cleanup()

    def open_session(self):
        ctx = ssl.create_default_context(cafile=self.s.cert)
        im = imaplib.IMAP4_SSL("127.0.0.1", self.s.imaps, ssl_context=ctx)
        im.login("ann@example.test", "ann-pw")
        im.select("INBOX")
        return im

    def test_sighup_reloads_every_service_and_keeps_sessions(self):
        self.start("0")
        im = self.open_session()
        before = presented(self.s.imaps)
        fresh = new_pair(self.tls_dir, "renewed-by-hup")
        # No periodic check: the old pair is still presented until the signal.
        self.assertEqual(presented(self.s.imaps), before)
        for name in ("smtpd", "imapd", "sieved"):
            self.s.procs[name].send_signal(signal.SIGHUP)
        wait_presented(self, self.s.imaps, fresh)
        wait_presented(self, self.s.submissions, fresh)
        wait_presented(self, self.s.submission, fresh, starttls="smtp")
        wait_presented(self, self.s.sieve, fresh, starttls="sieve")
        # The session opened under the old certificate goes on.
        self.assertEqual(im.noop()[0], "OK")
        self.assertEqual(im.select("INBOX")[0], "OK")
        im.logout()
        for name in ("smtpd", "imapd", "sieved"):
            self.assertIsNone(self.s.procs[name].poll(), f"{name} died on SIGHUP")
            self.assertIn("event=tls.reloaded", self.s.log(name))

    def test_changed_files_are_picked_up_without_a_signal(self):
        self.start("100ms")
        im = self.open_session()
        fresh = new_pair(self.tls_dir, "renewed-in-place")
        wait_presented(self, self.s.imaps, fresh)
        wait_presented(self, self.s.submissions, fresh)
        self.assertEqual(im.noop()[0], "OK")
        im.logout()

    def test_a_broken_pair_is_refused_and_the_old_one_kept(self):
        self.start("0")
        before = presented(self.s.imaps)
        # A key that does not belong to the certificate (a renewal caught half-way).
        other = os.path.join(self.s.instance.dir, "other.key")
        subprocess.run([tool("openssl"), "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
                        "-out", other], check=True, capture_output=True)
        os.chmod(other, 0o600)
        os.replace(other, os.path.join(self.tls_dir, "key.pem"))
        self.s.procs["imapd"].send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 30
        while "event=tls.reload.failed" not in self.s.log("imapd") and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertIn("does not match the certificate", self.s.log("imapd"))
        self.assertEqual(presented(self.s.imaps), before)
        im = self.open_session()  # still serving, with the old pair
        im.logout()


if __name__ == "__main__":
    unittest.main()
