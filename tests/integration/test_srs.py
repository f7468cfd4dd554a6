"""Bounces to SRS addresses (docs/outbound.md): smtpd routes mail for an SRS0/SRS1 address
at a local domain whose hash verifies back to the address it encodes — queued for delivery
even on the MX port, from the null sender — and refuses forged, tampered or expired ones
with 550 5.1.1. The addresses are made by pysrs (Debian's python3-srs), an implementation
independent of Mailstead's, with the [srs] secret of the secrets file."""
import os
import shutil
import smtplib
import subprocess
import sys
import tempfile
import unittest

from helpers import SmtpServer, missing

SECRET = "srs integration secret 7f3a9c"


def pysrs_python():
    for exe in (sys.executable, "/usr/bin/python3"):
        if exe and os.path.exists(exe) and subprocess.run([exe, "-c", "import SRS"],
                                                          capture_output=True).returncode == 0:
            return exe
    missing("python3-srs (pysrs)")


def pysrs(secret, sender, *forwarders, days_ago=0):
    """The envelope sender after forwarding by each forwarder in turn, as pysrs writes it."""
    script = (
        "import sys, time, SRS\n"
        "from SRS.Guarded import Guarded\n"
        "now = time.time() - int(sys.argv[2]) * 86400\n"
        "SRS.Base.time.time = lambda: now\n"
        "s = Guarded(secret=sys.argv[1], maxage=21)\n"
        "a = sys.argv[3]\n"
        "for f in sys.argv[4:]:\n"
        "    a = s.forward(a, f)\n"
        "print(a)\n")
    p = subprocess.run([pysrs_python(), "-c", script, secret, str(days_ago), sender, *forwarders],
                       capture_output=True, text=True, check=True)
    return p.stdout.strip()


class SrsBounces(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        pysrs_python()
        cls.secrets_dir = tempfile.mkdtemp(prefix="mailstead-srs-")
        cls.secrets = os.path.join(cls.secrets_dir, "secrets.toml")
        with open(cls.secrets, "w") as f:
            f.write(f'[srs]\nsecret = "{SECRET}"\n')
        os.chmod(cls.secrets, 0o600)
        cls.server = SmtpServer(top_toml=f'secrets_file = "{cls.secrets}"\n')
        cls.server.cli("domain", "add", "example.test")
        cls.server.cli("domain", "add", "fwd.example.test")
        cls.server.start()

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()
        shutil.rmtree(cls.secrets_dir, ignore_errors=True)

    def rcpt(self, address, sender=""):
        with smtplib.SMTP("127.0.0.1", self.server.mx, timeout=60) as s:
            s.ehlo("bouncer.remote.example")
            s.mail(f"<{sender}>")
            return s.rcpt(f"<{address}>")

    def bounce(self, address):
        with smtplib.SMTP("127.0.0.1", self.server.mx, timeout=60) as s:
            s.ehlo("bouncer.remote.example")
            s.sendmail("", [address], b"From: MAILER-DAEMON@remote.example\r\nSubject: Undelivered\r\n\r\nbounce\r\n")

    def queued_recipients(self):
        return [r for q in self.server.instance.cli_json("queue", "list") for r in q["recipients"]]

    def test_a_valid_srs0_bounce_is_queued_for_the_original_sender(self):
        address = pysrs(SECRET, "orig.sender@remote.example", "fwd.example.test")
        self.assertTrue(address.startswith("SRS0=") and address.endswith("@fwd.example.test"), address)
        self.assertEqual(self.rcpt(address)[0], 250)
        self.bounce(address)
        self.assertIn("orig.sender@remote.example", self.queued_recipients())

    def test_case_smashed_on_the_way_back(self):
        address = pysrs(SECRET, "case@remote.example", "fwd.example.test")
        local, domain = address.rsplit("@", 1)
        self.assertEqual(self.rcpt(local.lower() + "@" + domain)[0], 250)

    def test_srs1_goes_back_to_the_first_forwarder(self):
        srs1 = pysrs(SECRET, "alice@remote.example", "first.example", "example.test")
        self.assertTrue(srs1.startswith("SRS1="), srs1)
        self.bounce(srs1)
        back = [r for r in self.queued_recipients() if r.endswith("@first.example")]
        self.assertTrue(back and back[0].startswith("SRS0="), self.queued_recipients())

    def test_forged_tampered_and_expired_are_no_such_user(self):
        good = pysrs(SECRET, "victim@remote.example", "fwd.example.test")
        h = good.split("=")[1]
        cases = {
            "another key": pysrs("not the secret of this server", "a@remote.example", "fwd.example.test"),
            "tampered user": good.replace("victim", "mallory"),
            "tampered hash": good.replace(h, "AAAA" if h.upper() != "AAAA" else "BBBB"),
            "expired": pysrs(SECRET, "old@remote.example", "fwd.example.test", days_ago=30),
            "malformed": "SRS0=nohash@fwd.example.test",
        }
        for name, address in cases.items():
            with self.subTest(name):
                code, text = self.rcpt(address)
                self.assertEqual(code, 550, text)
                self.assertIn(b"5.1.1", text)
        # A valid one for a domain that is not ours is relaying, refused as ever.
        other = pysrs(SECRET, "a@remote.example", "not-ours.example")
        self.assertEqual(self.rcpt(other)[0], 554)


if __name__ == "__main__":
    unittest.main()
