"""DKIM keys made by the CLI sign real messages (common/dkim, the library the delivery
service signs with, driven here by tests/tools' dkim-sign), and a third-party verifier,
python3-dkim, checks each signature against the public key it fetches over real DNS from a
dnsmasq on a loopback port that serves what `mailstead dkim show --txt` says to publish."""
import os
import re
import shutil
import socket
import struct
import subprocess
import sys
import time
import unittest

from helpers import Instance, binary, free_ports, missing

HERE = os.path.dirname(os.path.abspath(__file__))


def verifier_python():
    """An interpreter that has Debian's python3-dkim (with PyNaCl for Ed25519)."""
    for exe in (sys.executable, "/usr/bin/python3"):
        if exe and os.path.exists(exe) and subprocess.run(
                [exe, "-c", "import dkim, dns.resolver, nacl"], capture_output=True).returncode == 0:
            return exe
    missing("python3-dkim (dkimpy, with python3-dnspython and python3-nacl)")


def dnsmasq_binary():
    path = shutil.which("dnsmasq") or ("/usr/sbin/dnsmasq" if os.path.exists("/usr/sbin/dnsmasq") else None)
    if not path:
        missing("dnsmasq (dnsmasq-base)")
    return path


def dns_answers(port, name="ready.test"):
    """True when a DNS server on 127.0.0.1:port answers a TXT query (any answer)."""
    qname = b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\0"
    packet = struct.pack(">HHHHHH", 0x1234, 0x0100, 1, 0, 0, 0) + qname + struct.pack(">HH", 16, 1)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(0.5)
        try:
            s.sendto(packet, ("127.0.0.1", port))
            return s.recvfrom(512)[0][:2] == b"\x12\x34"
        except OSError:
            return False


class Dnsmasq:
    """A real dnsmasq on a loopback port serving the given TXT records, nothing else."""

    def __init__(self, txt_records):
        self.port = free_ports(1)[0]
        args = [dnsmasq_binary(), "--keep-in-foreground", f"--port={self.port}", "--listen-address=127.0.0.1",
                "--bind-interfaces", "--no-resolv", "--no-hosts", "--conf-file=/dev/null", "--pid-file="]
        for name, value in txt_records:
            # DNS character-strings hold 255 bytes at most; a long key is several strings.
            chunks = [value[i:i + 255] for i in range(0, len(value), 255)]
            args.append(f"--txt-record={name},{','.join(chunks)}")
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 30
        while not dns_answers(self.port):
            if self.proc.poll() is not None:
                raise AssertionError("dnsmasq exited: " + self.proc.stderr.read().decode(errors="replace"))
            if time.monotonic() > deadline:
                raise AssertionError("dnsmasq does not answer")
            time.sleep(0.05)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
        self.proc.stderr.close()


def as_transmitted(message):
    """What SMTP carries: CRLF line ends and a CRLF before the final dot."""
    m = re.sub(rb"\r?\n|\r", b"\r\n", message)
    return m if m.endswith(b"\r\n") else m + b"\r\n"


PLAIN = (b"From: Alice <alice@example.test>\r\n"
         b"To: bob@remote.test\r\n"
         b"Subject: Hello\r\n"
         b"Date: Sat, 30 Nov 2024 10:00:00 +0000\r\n"
         b"Message-ID: <plain.1@example.test>\r\n"
         b"MIME-Version: 1.0\r\n"
         b"Content-Type: text/plain; charset=us-ascii\r\n"
         b"\r\n"
         b"Hello Bob.\r\n"
         b"\r\n"
         b"-- \r\nAlice\r\n")

FOLDED = (b"Received: from somewhere by mail.example.test; Sat, 30 Nov 2024 10:00:00 +0000\r\n"
          b"From: \"Alice Liddell\"\r\n <alice@example.test>\r\n"
          b"To: bob@remote.test,\r\n\tcarol@remote.test,\r\n  dave@remote.test\r\n"
          b"Subject: A subject long enough\r\n\tto be folded\r\n   twice   with   spaces\r\n"
          b"Date: Sat, 30 Nov 2024 10:00:00 +0000\r\n"
          b"Message-ID:\r\n <folded.1@example.test>\r\n"
          b"In-Reply-To: <b@remote.test>\r\n"
          b"References: <a@remote.test>\r\n <b@remote.test>\r\n"
          b"Reply-To: Alice\r\n <alice@example.test>\r\n"
          b"MIME-Version: 1.0\r\n"
          b"Content-Type: text/plain;\r\n charset=us-ascii\r\n"
          b"X-Mailer: not signed\r\n"
          b"\r\n"
          b"Trailing spaces here   \r\n"
          b"and\ttabs\t \r\n"
          b"\r\n\r\n\r\n")

EIGHT_BIT = ("From: Jörg <joerg@example.test>\r\n"
             "To: bob@remote.test\r\n"
             "Subject: Grüße aus Köln\r\n"
             "Date: Sat, 30 Nov 2024 10:00:00 +0000\r\n"
             "Message-ID: <8bit.1@example.test>\r\n"
             "MIME-Version: 1.0\r\n"
             "Content-Type: text/plain; charset=utf-8\r\n"
             "Content-Transfer-Encoding: 8bit\r\n"
             "\r\n"
             "Grüße — ünïcödé, 日本語, and a byte \xff.\r\n").encode("utf-8", "surrogateescape")

NO_TRAILING_CRLF = (b"From: alice@example.test\r\n"
                    b"To: bob@remote.test\r\n"
                    b"Subject: no CRLF at the end\r\n"
                    b"Date: Sat, 30 Nov 2024 10:00:00 +0000\r\n"
                    b"Message-ID: <nocrlf.1@example.test>\r\n"
                    b"\r\n"
                    b"first line\r\n"
                    b"last line without CRLF")

BARE_LF = (b"From: alice@example.test\n"
           b"To: bob@remote.test\n"
           b"Subject: bare LF line ends\n"
           b"\n"
           b"written by a program that forgot CR\n")

DSN_LIKE = (b"From: Mail Delivery System <mailer-daemon@example.test>\r\n"
            b"To: alice@example.test\r\n"
            b"Subject: Undelivered Mail Returned to Sender\r\n"
            b"Date: Sat, 30 Nov 2024 10:00:00 +0000\r\n"
            b"Message-ID: <dsn.1@example.test>\r\n"
            b"MIME-Version: 1.0\r\n"
            b"Content-Type: multipart/report; report-type=delivery-status;\r\n\tboundary=\"b1\"\r\n"
            b"\r\n"
            b"--b1\r\nContent-Type: text/plain\r\n\r\nIt failed.\r\n"
            b"--b1\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mail.example.test\r\n\r\n"
            b"Final-Recipient: rfc822; x@remote.test\r\nAction: failed\r\nStatus: 5.1.1\r\n"
            b"--b1--\r\n")


class DkimVerified(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.python = verifier_python()
        dnsmasq_binary()
        cls.sign_tool = binary("dkim-sign")

    def setUp(self):
        self.inst = Instance('[dkim]\nrotate_grace = "7d"\n')
        self.dns = None
        # A new domain gets an RSA key at `domain add`; an Ed25519 key joins it.
        self.inst.cli("domain", "add", "example.test")
        self.inst.cli("dkim", "generate", "example.test", "--algorithm", "ed25519")

    def tearDown(self):
        if self.dns:
            self.dns.stop()
        self.inst.cleanup()

    def publish(self):
        """Serves every key `dkim show --txt` lists, as an operator would publish them."""
        if self.dns:
            self.dns.stop()
        lines = self.inst.cli("dkim", "show", "example.test", "--txt").stdout.splitlines()
        records = []
        for line in lines:
            selector, value = line.split(" ", 1)
            records.append((f"{selector}._domainkey.example.test", value))
        self.dns = Dnsmasq(records)
        return lines

    def sign(self, message, domain=None):
        args = [self.sign_tool, "--store", os.path.join(self.inst.data_dir, "store")]
        if domain:
            args += ["--domain", domain]
        p = subprocess.run(args, input=message, capture_output=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr.decode(errors="replace"))
        return p.stdout

    def verify(self, message):
        p = subprocess.run([self.python, os.path.join(HERE, "dkim_verify.py"), "--dns", f"127.0.0.1:{self.dns.port}"],
                           input=message, capture_output=True, timeout=120)
        return p.returncode, p.stdout.decode() + p.stderr.decode()

    def assert_verifies(self, signed):
        rc, out = self.verify(signed)
        self.assertEqual(rc, 0, out)
        algs = sorted(re.findall(r"^ok a=(\S+)", out, re.M))
        self.assertEqual(algs, ["ed25519-sha256", "rsa-sha256"], out)
        return out

    def test_txt_lists_one_line_per_key(self):
        lines = self.publish()
        self.assertEqual(len(lines), 2, lines)
        by_sel = dict(line.split(" ", 1) for line in lines)
        self.assertRegex(by_sel["mail"], r"^v=DKIM1; k=rsa; p=MIIB[A-Za-z0-9+/=]+$")
        self.assertRegex(by_sel["ed25519"], r"^v=DKIM1; k=ed25519; p=[A-Za-z0-9+/]{43}=$")

    def test_every_kind_of_message_verifies_with_rsa_and_ed25519(self):
        self.publish()
        for name, message in [("plain", PLAIN), ("folded headers", FOLDED), ("8-bit body", EIGHT_BIT),
                              ("no trailing CRLF", NO_TRAILING_CRLF), ("bare LF", BARE_LF),
                              ("DSN", DSN_LIKE)]:
            with self.subTest(name):
                signed = self.sign(message)
                self.assertTrue(signed.endswith(message), "the message itself is left as it was")
                head = signed[:len(signed) - len(message)]
                self.assertEqual(head.count(b"DKIM-Signature: "), 2)
                self.assertTrue(head.endswith(b"\r\n"))
                self.assertNotIn(b"\n\n", head)
                # RSA first, then Ed25519; each says what the issue asks for.
                self.assertLess(head.find(b"a=rsa-sha256"), head.find(b"a=ed25519-sha256"))
                self.assertEqual(head.count(b"c=relaxed/relaxed"), 2)
                self.assert_verifies(as_transmitted(signed))

    def test_signed_fields_and_over_signed_from(self):
        self.publish()
        signed = self.sign(FOLDED)
        unfolded = re.sub(rb"\r\n[ \t]+", b" ", signed)
        h = re.search(rb"a=rsa-sha256;.*?[;\s]h=([^;]+);", unfolded).group(1).replace(b" ", b"").lower().split(b":")
        for field in [b"from", b"to", b"subject", b"date", b"message-id", b"mime-version", b"content-type",
                      b"reply-to", b"in-reply-to", b"references"]:
            self.assertIn(field, h)
        self.assertEqual(h.count(b"from"), 2, "From is over-signed")
        self.assertNotIn(b"received", h)
        self.assertNotIn(b"x-mailer", h)
        # A second From added after signing breaks both signatures.
        sigs, rest = signed.split(b"Received:", 1)
        forged = sigs + b"From: Mallory <ceo@example.test>\r\nReceived:" + rest
        rc, out = self.verify(as_transmitted(forged))
        self.assertNotEqual(rc, 0, out)
        self.assertNotIn("ok ", out)

    def test_a_changed_body_fails(self):
        self.publish()
        signed = as_transmitted(self.sign(PLAIN))
        rc, out = self.verify(signed.replace(b"Hello Bob.", b"Hello Bib."))
        self.assertNotEqual(rc, 0, out)
        self.assertNotIn("ok ", out)

    def test_rotate_signs_with_new_selectors_and_keeps_the_old_listed(self):
        before = self.inst.cli_json("dkim", "show", "example.test")
        out = self.inst.cli("dkim", "rotate", "example.test").stdout
        self.assertIn("publish", out)
        after = self.inst.cli_json("dkim", "show", "example.test")
        self.assertEqual(len(after), 4, after)
        active = {k["selector"] for k in after if k["state"] == "active"}
        retired = {k["selector"]: k for k in after if k["state"] == "retired"}
        self.assertEqual(set(retired), {k["selector"] for k in before})
        self.assertEqual(len(active), 2)
        for k in retired.values():
            self.assertAlmostEqual(k["retire_at"] - time.time(), 7 * 86400, delta=600)
        lines = self.publish()
        self.assertEqual(len(lines), 4, "retired keys stay published during their grace")
        signed = self.sign(PLAIN)
        verified = self.assert_verifies(as_transmitted(signed))
        used = set(re.findall(r"s=(\S+)", verified))
        self.assertEqual(used, active)

    def test_private_keys_are_never_printed(self):
        outputs = [self.inst.cli("dkim", "show", "example.test").stdout,
                   self.inst.cli("dkim", "show", "example.test", "--txt").stdout,
                   self.inst.cli("dkim", "show", "example.test", "--json").stdout,
                   self.inst.cli("dkim", "rotate", "example.test").stdout,
                   self.inst.cli("domain", "list", "--json").stdout]
        for text in outputs:
            self.assertNotIn("PRIVATE", text)
            self.assertNotIn("BEGIN", text)
            self.assertNotIn("MIIE", text)  # the start of a DER RSA private key in base64

    def test_bad_input_changes_nothing(self):
        before = self.inst.cli("dkim", "show", "example.test", "--json").stdout
        cases = [
            (["dkim", "generate", "example.test", "--algorithm", "dsa"], "rsa or ed25519"),
            (["dkim", "generate", "example.test"], "already has an active rsa key"),
            (["dkim", "generate", "example.test", "--algorithm", "ed25519"], "already has an active ed25519 key"),
            (["dkim", "generate", "nowhere.test"], "no domain nowhere.test"),
            (["dkim", "generate", "example.test", "--selector", "bad selector!"], "selector"),
            (["dkim", "show", "nowhere.test"], "no domain nowhere.test"),
            (["dkim", "rotate", "nowhere.test"], "no domain nowhere.test"),
            (["dkim", "show"], "missing DOMAIN"),
        ]
        for args, text in cases:
            with self.subTest(args=args):
                p = self.inst.cli(*args, check=False)
                self.assertNotEqual(p.returncode, 0)
                self.assertIn(text, p.stderr)
        self.assertEqual(self.inst.cli("dkim", "show", "example.test", "--json").stdout, before)

    def test_a_chosen_selector_and_a_removed_domain(self):
        self.inst.cli("domain", "add", "other.test")
        self.assertEqual([k["selector"] for k in self.inst.cli_json("dkim", "show", "other.test")], ["mail"])
        self.inst.cli("dkim", "generate", "other.test", "--algorithm", "ed25519", "--selector", "Ed.2024")
        keys = self.inst.cli_json("dkim", "show", "other.test")
        self.assertEqual(sorted(k["selector"] for k in keys), ["ed.2024", "mail"])
        p = self.inst.cli("dkim", "generate", "other.test", "--algorithm", "rsa", "--selector", "mail", check=False)
        self.assertNotEqual(p.returncode, 0)
        self.inst.cli("domain", "remove", "other.test")
        self.inst.cli("domain", "add", "other.test")
        keys = self.inst.cli_json("dkim", "show", "other.test")
        self.assertEqual([(k["selector"], k["algorithm"]) for k in keys], [("mail", "rsa")],
                         "a removed domain's keys went with it")


class DkimGrace(unittest.TestCase):
    def test_a_retired_key_leaves_the_listing_when_its_grace_ends(self):
        inst = Instance('[dkim]\nrotate_grace = "2s"\n')
        try:
            inst.cli("domain", "add", "example.test")
            inst.cli("dkim", "rotate", "example.test")
            self.assertEqual(len(inst.cli_json("dkim", "show", "example.test")), 2)
            deadline = time.monotonic() + 60
            while len(inst.cli_json("dkim", "show", "example.test")) != 1:
                self.assertLess(time.monotonic(), deadline, "the retired key is still listed")
                time.sleep(0.5)
            keys = inst.cli_json("dkim", "show", "example.test")
            self.assertEqual(keys[0]["state"], "active")
            self.assertNotEqual(keys[0]["selector"], "mail")
        finally:
            inst.cleanup()


if __name__ == "__main__":
    unittest.main()
