"""Message authentication on the MX, end to end: a dnsmasq on a loopback port serves SPF,
DKIM and DMARC records of test domains ([dns] nameservers points mailstead-smtpd at it);
Python's smtplib sends from 127.0.0.1; messages are DKIM-signed with Debian's python3-dkim
using keys the test generates and publishes. Each case checks the SMTP answer (250, 550
5.7.1, 451 4.7.0), where the message went (INBOX or Junk) and the one
Authentication-Results field with our authserv-id."""
import base64
import os
import re
import smtplib
import subprocess
import tempfile
import time
import unittest

from adminapi import AdminApi
from helpers import SmtpServer, binary, tool
from peers import Dnsmasq, SilentDns
from test_dkim import verifier_python

PASSWORD = "correct horse battery"
USER = "bob@example.test"
AUTHSERV = "mail.example.test"
SIGN = """
import sys, dkim
selector, domain, key = sys.argv[1:4]
msg = sys.stdin.buffer.read()
sys.stdout.buffer.write(dkim.sign(msg, selector.encode(), domain.encode(), open(key, "rb").read(),
                                  include_headers=[b"from", b"to", b"subject", b"message-id"]))
"""


def rsa_key():
    """A 2048-bit RSA key: (PKCS#1 PEM private key, base64 DER public key for p=)."""
    d = tempfile.mkdtemp(prefix="mailstead-dkim-")
    priv = os.path.join(d, "key.pem")
    subprocess.run([tool("openssl"), "genrsa", "-traditional", "-out", priv, "2048"], check=True, capture_output=True)
    der = subprocess.run([tool("openssl"), "rsa", "-in", priv, "-pubout", "-outform", "DER"], check=True,
                         capture_output=True).stdout
    with open(priv, "rb") as f:
        pem = f.read()
    return pem, base64.b64encode(der).decode()


class Authentication(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.python = verifier_python()  # one with Debian's python3-dkim
        cls.key, cls.pub = rsa_key()
        cls.other_key, _ = rsa_key()  # signs with a key that is not the published one
        cls.silent = SilentDns()
        silent_port = cls.silent.address.split(":")[1]
        spf_loopback = "v=spf1 ip4:127.0.0.0/8 -all"
        records = [
            ("txt-record", f"pass.test,{spf_loopback}"),
            ("txt-record", "fail.test,v=spf1 ip4:192.0.2.1 -all"),
            ("txt-record", "soft.test,v=spf1 ip4:192.0.2.1 ~all"),
            ("txt-record", "neutral.test,v=spf1 ?all"),
            ("txt-record", "bad.test,v=spf1 ip4:not-an-address -all"),
            ("txt-record", f"client.pass.test,{spf_loopback}"),
            ("txt-record", f"rej.test,{spf_loopback}"),
            ("txt-record", "_dmarc.rej.test,v=DMARC1; p=reject"),
            ("txt-record", f"quar.test,{spf_loopback}"),
            ("txt-record", "_dmarc.quar.test,v=DMARC1; p=quarantine"),
            ("txt-record", f"mon.test,{spf_loopback}"),
            ("txt-record", "_dmarc.mon.test,v=DMARC1; p=none"),
            ("txt-record", "_dmarc.strict.test,v=DMARC1; p=reject; aspf=s"),
            ("txt-record", f"mail.strict.test,{spf_loopback}"),
            ("txt-record", "_dmarc.parent.test,v=DMARC1; p=none; sp=reject"),
            ("txt-record", "_dmarc.broken.test,v=DMARC1; p=whatever"),
            ("txt-record", "_dmarc.dk.test,v=DMARC1; p=reject"),
            ("txt-record", f"sel._domainkey.dk.test,v=DKIM1; k=rsa; p={cls.pub}"),
            ("txt-record", "_dmarc.sticky.test,v=DMARC1; p=reject"),
            ("server", f"/tmp.sticky.test/127.0.0.1#{silent_port}"),
            ("server", f"/_dmarc.slow.test/127.0.0.1#{silent_port}"),
        ]
        zones = ["pass.test", "fail.test", "soft.test", "neutral.test", "none.test", "bad.test", "rej.test",
                 "quar.test", "mon.test", "strict.test", "parent.test", "broken.test", "dk.test", "sticky.test",
                 "slow.test"]
        cls.dns = Dnsmasq(zones, records)
        cls.server = SmtpServer(top_toml=f'[dns]\nnameservers = ["{cls.dns.address}"]\ntimeout = "1s"\ntries = 1\n')
        cls.server.cli("domain", "add", "example.test")
        cls.server.cli("user", "add", USER, "--password-stdin", stdin=PASSWORD + "\n")
        cls.server.start()
        cls.n = 0

    @classmethod
    def tearDownClass(cls):
        if os.environ.get("MAILSTEAD_TEST_LOG"):
            print(cls.server.logs()[-8000:])
        cls.server.cleanup()
        cls.dns.stop()
        cls.silent.stop()

    # ---- helpers ----

    def message(self, from_addr, subject, extra=""):
        Authentication.n += 1
        return (f"From: <{from_addr}>\r\nTo: <{USER}>\r\nSubject: {subject}\r\n"
                f"Message-ID: <{Authentication.n}.{time.time()}@test>\r\nDate: Tue, 01 Dec 2026 05:00:00 +0000\r\n"
                f"{extra}\r\nHello.\r\n").encode()

    def sign(self, msg, domain="dk.test", selector="sel", key=None):
        """The message with a DKIM-Signature by python3-dkim (dkimpy) in front."""
        with tempfile.NamedTemporaryFile(suffix=".pem") as k:
            k.write(key or self.key)
            k.flush()
            p = subprocess.run([self.python, "-c", SIGN, selector, domain, k.name], input=msg, capture_output=True,
                               timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        return p.stdout + msg

    def send(self, mail_from, msg, helo="client.pass.test"):
        """(code, text) of the answer to the message."""
        with smtplib.SMTP("127.0.0.1", self.server.mx, local_hostname=helo, timeout=60) as s:
            try:
                s.sendmail(mail_from, [USER], msg)
                return 250, ""
            except smtplib.SMTPDataError as e:
                return e.smtp_code, e.smtp_error.decode()

    def delivered(self, subject, mailbox="INBOX"):
        """The stored bytes of the message with this subject in `mailbox`, or None."""
        for m in self.server.messages(USER, mailbox):
            raw = self.server.message(USER, m["uid"], mailbox)
            if f"Subject: {subject}\r\n".encode() in raw:
                return raw.decode(errors="replace")
        return None

    def results(self, raw):
        """The unfolded values of the Authentication-Results fields, in order."""
        header = raw.split("\r\n\r\n", 1)[0]
        fields = re.findall(r"^Authentication-Results:([^\r\n]*(?:\r\n[ \t][^\r\n]*)*)", header, re.M | re.I)
        return [re.sub(r"\r\n[ \t]+", " ", f).strip() for f in fields]

    def ours(self, raw):
        mine = [r for r in self.results(raw) if r.split(";")[0].strip().lower() == AUTHSERV]
        self.assertEqual(len(mine), 1, raw[:3000])
        return mine[0]

    def deliver_ok(self, mail_from, from_addr, subject, mailbox="INBOX", extra="", sign=None, helo="client.pass.test"):
        msg = self.message(from_addr, subject, extra)
        if sign:
            msg = sign(msg)
        code, text = self.send(mail_from, msg, helo)
        self.assertEqual(code, 250, text)
        raw = self.delivered(subject, mailbox)
        self.assertIsNotNone(raw, f"{subject} not in {mailbox}")
        return self.ours(raw)

    # ---- SPF ----

    def test_spf_results(self):
        for domain, want in [("pass.test", "pass"), ("fail.test", "fail"), ("soft.test", "softfail"),
                             ("neutral.test", "neutral"), ("none.test", "none"), ("bad.test", "permerror")]:
            with self.subTest(domain=domain):
                ar = self.deliver_ok(f"alice@{domain}", f"alice@{domain}", f"spf {domain}")
                self.assertIn(f"spf={want}", ar)
                self.assertIn(f"smtp.mailfrom=alice@{domain}", ar)
                self.assertIn("smtp.helo=client.pass.test", ar)

    def test_spf_helo_identity_and_null_sender(self):
        ar = self.deliver_ok("", "alice@mon.test", "null sender", helo="client.pass.test")
        self.assertRegex(ar, r"spf=pass smtp\.mailfrom=postmaster@client\.pass\.test")

    # ---- DKIM ----

    def test_dkim_pass_and_fail(self):
        ar = self.deliver_ok("alice@pass.test", "alice@dk.test", "dkim good", sign=self.sign)
        self.assertRegex(ar, r"dkim=pass header\.d=dk\.test header\.s=sel header\.b=\S+")
        self.assertIn("dmarc=pass", ar)
        # The same signature over a changed body: fail, and DMARC p=reject refuses it.
        msg = self.sign(self.message("alice@dk.test", "dkim tampered")).replace(b"Hello.", b"Hullo.")
        code, text = self.send("alice@pass.test", msg)
        self.assertEqual(code, 550, text)
        self.assertIn("DMARC", text)
        self.assertIsNone(self.delivered("dkim tampered"))
        # Signed with another key than the one published: fail (delivered, monitored domain).
        ar = self.deliver_ok("alice@pass.test", "alice@mon.test", "dkim wrong key",
                             sign=lambda m: self.sign(m, key=self.other_key))
        self.assertRegex(ar, r"dkim=fail .*header\.d=dk\.test")
        # A key that is not published: permerror.
        ar = self.deliver_ok("alice@pass.test", "alice@mon.test", "dkim no key",
                             sign=lambda m: self.sign(m, selector="gone"))
        self.assertRegex(ar, r"dkim=permerror .*header\.s=gone")

    def test_malformed_and_many_signatures_are_bounded(self):
        junk = "DKIM-Signature: v=1; a=rsa-sha256; d=; s=; b=!!!\r\n"
        ar = self.deliver_ok("alice@pass.test", "alice@mon.test", "dkim malformed", extra=junk)
        self.assertIn("dkim=", ar)
        many = "".join(f"DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=dk.test; s=s{i}; h=from; "
                       f"bh=AAAA; b=AAAA\r\n" for i in range(2000))
        start = time.monotonic()
        ar = self.deliver_ok("alice@pass.test", "alice@mon.test", "dkim many", extra=many)
        self.assertLess(time.monotonic() - start, 30)
        # max_signatures (5) verified, the rest reported as policy; the field stays bounded.
        self.assertLessEqual(len(ar), 4096)
        self.assertIn("dkim=policy", ar)
        verified = re.findall(r"dkim=(?!policy)\w+", ar)
        self.assertEqual(len(verified), 5, ar)

    # ---- DMARC ----

    def test_dmarc_reject(self):
        ar = self.deliver_ok("alice@rej.test", "alice@rej.test", "rej aligned")
        self.assertIn("dmarc=pass", ar)
        self.assertIn("header.from=rej.test", ar)
        code, text = self.send("alice@pass.test", self.message("alice@rej.test", "rej misaligned"))
        self.assertEqual(code, 550, text)
        self.assertTrue(text.startswith("5.7.1"), text)
        self.assertIsNone(self.delivered("rej misaligned"))

    def test_dmarc_quarantine_goes_to_junk(self):
        ar = self.deliver_ok("alice@quar.test", "alice@quar.test", "quar aligned")
        self.assertIn("dmarc=pass", ar)
        ar = self.deliver_ok("alice@pass.test", "alice@quar.test", "quar misaligned", mailbox="Spam")
        self.assertIn("dmarc=fail", ar)
        self.assertIn("p=quarantine", ar)
        self.assertIsNone(self.delivered("quar misaligned"))

    def test_dmarc_none_delivers(self):
        ar = self.deliver_ok("alice@pass.test", "alice@mon.test", "mon misaligned")
        self.assertIn("dmarc=fail", ar)
        self.assertIn("header.from=mon.test", ar)

    def test_dmarc_strict_alignment_and_subdomain_policy(self):
        # aspf=s: a subdomain's SPF pass is not aligned.
        code, text = self.send("alice@mail.strict.test", self.message("alice@strict.test", "strict"))
        self.assertEqual(code, 550, text)
        # sp=reject applies to a subdomain of the record's domain, p=none to the domain itself.
        code, text = self.send("alice@pass.test", self.message("alice@news.parent.test", "sub"))
        self.assertEqual(code, 550, text)
        ar = self.deliver_ok("alice@pass.test", "alice@parent.test", "parent itself")
        self.assertIn("dmarc=fail", ar)

    def test_malformed_dmarc_record_is_permerror(self):
        ar = self.deliver_ok("alice@pass.test", "alice@broken.test", "broken record")
        self.assertIn("dmarc=permerror", ar)

    def test_dns_temporary_failure_is_never_a_5xx(self):
        # The DMARC record cannot be looked up: accepted, dmarc=temperror.
        ar = self.deliver_ok("alice@pass.test", "alice@slow.test", "slow dmarc")
        self.assertIn("dmarc=temperror", ar)
        # p=reject, and the aligned SPF identity's lookup failed: 451, retried later.
        start = time.monotonic()
        code, text = self.send("alice@tmp.sticky.test", self.message("alice@sticky.test", "sticky"))
        self.assertEqual(code, 451, text)
        self.assertTrue(text.startswith("4.7.0"), text)
        # [dns] timeout (1 s) x tries (1) per question, within [dmarc] timeout in all
        self.assertLess(time.monotonic() - start, 20)

    def test_admin_override(self):
        self.server.cli("dmarc", "override", "rej.test", "none")
        try:
            ar = self.deliver_ok("alice@pass.test", "alice@rej.test", "override none")
            self.assertIn("dmarc=fail", ar)
            self.server.cli("dmarc", "override", "mon.test", "reject")
            code, text = self.send("alice@pass.test", self.message("alice@mon.test", "override reject"))
            self.assertEqual(code, 550, text)
            self.server.cli("dmarc", "override", "rej.test", "ignore")
            ar = self.deliver_ok("alice@pass.test", "alice@rej.test", "override ignore")
            self.assertIn("dmarc=none", ar)
            shown = self.server.instance.cli_json("dmarc", "show")
            self.assertIn({"domain": "rej.test", "action": "ignore"}, shown["overrides"])
            self.assertEqual(shown["authserv_id"], AUTHSERV)
        finally:
            self.server.cli("dmarc", "clear", "rej.test")
            self.server.cli("dmarc", "clear", "mon.test")
        bad = self.server.cli("dmarc", "override", "rej.test", "maybe", check=False)
        self.assertEqual(bad.returncode, 2)
        self.assertIn("maybe", bad.stderr)
        gone = self.server.cli("dmarc", "clear", "nothing.test", check=False)
        self.assertEqual(gone.returncode, 1)

    def test_admin_api_overrides(self):
        # The same overrides through the admin API (PUT/DELETE /api/v1/dmarc-overrides/{domain}).
        api = AdminApi(instance=self.server.instance).start()
        try:
            token = self.server.instance.cli_json("token", "create", "--name", "dmarc")["token"]
            c = api.client(token=token)
            r = c.put("/api/v1/dmarc-overrides/MON.test", {"action": "reject"})
            self.assertEqual((r.status, r.json), (200, {"domain": "mon.test", "action": "reject"}), r)
            code, text = self.send("alice@pass.test", self.message("alice@mon.test", "api override reject"))
            self.assertEqual(code, 550, text)
            self.assertEqual(c.get("/api/v1/dmarc-overrides").json, [{"domain": "mon.test", "action": "reject"}])
            policy = c.get("/api/v1/policy").json["dmarc"]
            self.assertEqual(policy["overrides"], [{"domain": "mon.test", "action": "reject"}])
            self.assertEqual(policy, self.server.instance.cli_json("dmarc", "show"))
            # Bad input: named, nothing written.
            r = c.put("/api/v1/dmarc-overrides/mon.test", {"action": "maybe"})
            self.assertEqual((r.status, r.json["error"]["field"]), (422, "action"), r)
            r = c.put("/api/v1/dmarc-overrides/bad..test", {"action": "none"})
            self.assertEqual((r.status, r.json["error"]["field"]), (422, "domain"), r)
            r = c.put("/api/v1/dmarc-overrides/mon.test", {"action": 3})
            self.assertIn(r.status, (400, 422), r)
            self.assertEqual(c.get("/api/v1/dmarc-overrides").json, [{"domain": "mon.test", "action": "reject"}])
            # Who may: no credentials 401, a user without the admin role 403.
            self.assertEqual(api.client().put("/api/v1/dmarc-overrides/mon.test", {"action": "none"}).status, 401)
            self.assertEqual(api.client().get("/api/v1/policy").status, 401)
            pleb = api.client()
            self.assertEqual(pleb.login(USER, PASSWORD).status, 200)
            self.assertEqual(pleb.put("/api/v1/dmarc-overrides/mon.test", {"action": "none"}).status, 403)
            self.assertEqual(pleb.delete("/api/v1/dmarc-overrides/mon.test").status, 403)
            self.assertEqual(pleb.get("/api/v1/policy").status, 403)
            pleb.close()
            self.assertEqual(c.delete("/api/v1/dmarc-overrides/mon.test").status, 204)
            self.assertEqual(c.delete("/api/v1/dmarc-overrides/mon.test").status, 404)
            self.deliver_ok("alice@pass.test", "alice@mon.test", "api override cleared")
            c.close()
        finally:
            self.server.cli("dmarc", "clear", "mon.test", check=False)
            api.cleanup()

    def test_no_vacation_reply_to_dmarc_failures_or_junk(self):
        # Auto-replies go only to senders that are probably who they say (docs/sieve.md):
        # not for mail whose From domain failed DMARC, nor for mail filed as junk.
        script = 'require "vacation";\r\nvacation :days 1 "Away.";\r\n'
        self.server.cli("sieve", "put", USER, "away", "-", stdin=script)
        self.server.cli("sieve", "activate", USER, "away")
        try:
            before = len(self.server.instance.cli_json("queue", "list"))
            self.deliver_ok("alice@pass.test", "alice@mon.test", "vacation dmarc fail")  # p=none: delivered
            self.deliver_ok("alice@pass.test", "alice@quar.test", "vacation junk", mailbox="Spam")
            self.deliver_ok("alice@mon.test", "alice@mon.test", "vacation dmarc pass")
            q = self.server.instance.cli_json("queue", "list")[before:]
            self.assertEqual([r["recipients"] for r in q], [["alice@mon.test"]], q)
            self.assertIn("sieve.vacation.suppressed", self.server.logs())
        finally:
            self.server.cli("sieve", "deactivate", USER)
            self.server.cli("sieve", "delete", USER, "away")

    # ---- Authentication-Results ----

    def test_forged_results_with_our_id_are_removed(self):
        extra = (f"Authentication-Results: {AUTHSERV}; dkim=pass header.d=bank.test\r\n"
                 f"Authentication-Results: (comment) MAIL.Example.TEST 1;\r\n\tspf=pass smtp.mailfrom=bank.test\r\n"
                 "Authentication-Results: other.test; spf=pass smtp.mailfrom=x@other.test\r\n")
        msg = self.message("alice@mon.test", "forged", extra)
        code, text = self.send("alice@pass.test", msg)
        self.assertEqual(code, 250, text)
        raw = self.delivered("forged")
        all_results = self.results(raw)
        self.assertEqual(len(all_results), 2, all_results)
        ours = self.ours(raw)
        self.assertNotIn("bank.test", ours)
        self.assertTrue(any(r.startswith("other.test;") for r in all_results))

    def test_forged_trace_fields_are_removed_for_trusted_clients_too(self):
        # 127.0.0.1 is a trusted client: no trace fields of ours, and none of the sender's.
        extra = "X-Mailstead-Iprev: iprev=pass policy.iprev=127.0.0.1 (bank.test)\r\nX-MAILSTEAD-HELO: helo=match\r\n"
        code, text = self.send("alice@pass.test", self.message("alice@pass.test", "forged trace", extra))
        self.assertEqual(code, 250, text)
        raw = self.delivered("forged trace")
        self.assertNotIn("x-mailstead-", raw.lower())
        self.assertNotIn("bank.test", raw)


class Settings(unittest.TestCase):
    def test_disabled_adds_nothing_and_removes_nothing(self):
        server = SmtpServer(top_toml="[dmarc]\nenabled = false\n")
        try:
            server.cli("domain", "add", "example.test")
            server.cli("user", "add", USER, "--password-stdin", stdin=PASSWORD + "\n")
            server.start()
            msg = (f"From: <a@rej.test>\r\nTo: <{USER}>\r\nSubject: off\r\n"
                   f"Authentication-Results: {AUTHSERV}; spf=pass\r\n\r\nHi.\r\n").encode()
            with smtplib.SMTP("127.0.0.1", server.mx, timeout=60) as s:
                s.sendmail("a@pass.test", [USER], msg)
            raw = server.message(USER, server.messages(USER)[-1]["uid"])
            self.assertEqual(raw.count(b"Authentication-Results:"), 1, raw)
        finally:
            server.cleanup()

    def test_bad_values_are_configuration_errors(self):
        for toml, key in [('[dmarc]\nreject_action = "bounce"\n', "reject_action"),
                          ('[dmarc]\nauthserv_id = "a b"\n', "authserv_id"),
                          ('[dkim_verify]\nmax_signatures = 0\n', "max_signatures"),
                          ('[spf]\ntimeout = "0s"\n', "timeout"),
                          ('[dmarc]\ntemperror_action = "maybe"\n', "temperror_action")]:
            with self.subTest(key=key):
                server = SmtpServer(top_toml=toml)
                try:
                    p = server.cli("dmarc", "show", check=False)
                    self.assertEqual(p.returncode, 78, p.stderr)
                    self.assertIn(key, p.stderr)
                    smtpd = subprocess.run([binary("mailstead-smtpd"), "--config", server.instance.config],
                                           capture_output=True, text=True, timeout=60)
                    self.assertEqual(smtpd.returncode, 78, smtpd.stderr)
                    self.assertIn(key, smtpd.stderr)
                finally:
                    server.cleanup()


if __name__ == "__main__":
    unittest.main()
