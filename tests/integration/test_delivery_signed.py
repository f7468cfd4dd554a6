"""What leaves is signed and forwarded mail keeps SPF: mailstead-deliverd signs with the From
domain's DKIM keys (RSA and Ed25519; what Debian's Postfix, the receiving MX found through
dnsmasq, put in its maildir is checked by python3-dkim against the keys published in
dnsmasq), rewrites a forwarded outside sender with SRS (the bounce to that address comes
back through smtpd to the original sender), and hands mail to a relay (aiosmtpd) with
STARTTLS + AUTH or implicit TLS + AUTH; a wrong relay password defers with the 535 text,
and mismatched relay security is explained in words."""
import os
import re
import smtplib
import subprocess
import unittest

from helpers import Suite, binary, client_tls, free_ports
from peers import AiosmtpdRelay, Dnsmasq, PostfixMx, wait_until
from test_dkim import HERE, verifier_python

PASSWORD = "correct horse battery"



def start_deliverd(cls):
    """mailstead-deliverd on the class's suite, its output in deliverd.log."""
    cls.log = open(os.path.join(cls.suite.instance.dir, "deliverd.log"), "w+")
    cls.deliverd = subprocess.Popen([binary("mailstead-deliverd"), "--config", cls.suite.instance.config],
                                    stdout=cls.log, stderr=cls.log)


def stop_deliverd(cls):
    """Ends deliverd (its log printed with MAILSTEAD_TEST_LOG) and removes the suite."""
    if cls.deliverd.poll() is None:
        cls.deliverd.terminate()
        cls.deliverd.wait(timeout=20)
    if os.environ.get("MAILSTEAD_TEST_LOG"):
        cls.log.seek(0)
        print(cls.log.read()[-6000:])
    cls.log.close()
    cls.suite.cleanup()


class SignedAndForwarded(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.python = verifier_python()
        cls.port = free_ports(1)[0]
        cls.mx = PostfixMx(["ok.test", "remote.example"], cls.port)
        cls.suite = Suite(top_toml='[dns]\nnameservers = ["127.0.0.1:9"]\n'
                                   f'[outbound]\nmx_port = {cls.port}\npoll_interval = "100ms"\n')
        cls.suite.cli("domain", "add", "local.test")
        cls.suite.cli("dkim", "generate", "local.test", "--algorithm", "ed25519")
        for u in ("alice", "bob"):
            cls.suite.cli("user", "add", f"{u}@local.test", "--password-stdin", stdin=PASSWORD + "\n")
        txt = []
        for line in cls.suite.cli("dkim", "show", "local.test", "--txt").stdout.splitlines():
            selector, value = line.split(" ", 1)
            txt.append(("txt-record", f"{selector}._domainkey.local.test,{value}"))
        cls.dns = Dnsmasq(["ok.test", "remote.example", "local.test", "refused.test"],
                          [("mx-host", "ok.test,mx.ok.test,10"), ("host-record", "mx.ok.test,127.0.0.1"),
                           ("mx-host", "remote.example,mx.ok.test,10"),
                           ("mx-host", "refused.test,mx.ok.test,10")] + txt)
        with open(cls.suite.instance.config) as f:
            text = f.read().replace('"127.0.0.1:9"', f'"{cls.dns.address}"')
        with open(cls.suite.instance.config, "w") as f:
            f.write(text)
        cls.suite.start("smtpd")
        start_deliverd(cls)

    @classmethod
    def tearDownClass(cls):
        stop_deliverd(cls)
        cls.mx.stop()
        cls.dns.stop()

    def got(self, subject):
        return [m for m in self.mx.messages() if f"Subject: {subject}".encode() in m[1]]

    def test_a_sieve_notice_to_an_outside_address_leaves_signed(self):
        self.suite.cli("sieve", "put", "bob@local.test", "tell", "-",
                       stdin='require "enotify";\r\nnotify :message "notice for bob" "mailto:pager@ok.test";\r\n')
        self.suite.cli("sieve", "activate", "bob@local.test", "tell")
        try:
            with smtplib.SMTP("127.0.0.1", self.suite.mx, timeout=30) as c:
                c.sendmail("someone@ok.test", ["bob@local.test"],
                           "From: someone@ok.test\r\nTo: bob@local.test\r\nSubject: ping\r\n\r\nhello\r\n")
            (env, body), = wait_until(lambda: [m for m in self.mx.messages() if b"notice for bob" in m[1]],
                                      what="the Sieve notice at the MX")
            self.assertEqual(env["rcpt"], ["<pager@ok.test>"])
            self.assertIn(b"Auto-Submitted: auto-notified", body)
            self.assertEqual(self.verify(body), ["ed25519-sha256 d=local.test", "rsa-sha256 d=local.test"])
        finally:
            self.suite.cli("sieve", "deactivate", "bob@local.test")

    def test_our_dsn_to_an_outside_sender_leaves_signed(self):
        # Outside mail redirected to a domain Postfix does not take (554 relay access denied):
        # the DSN goes back to the original sender, from our host name, signed by our domain.
        self.suite.cli("sieve", "put", "bob@local.test", "fwd2", "-", stdin='redirect "x@refused.test";\r\n')
        self.suite.cli("sieve", "activate", "bob@local.test", "fwd2")
        try:
            with smtplib.SMTP("127.0.0.1", self.suite.mx, timeout=30) as c:
                c.sendmail("back@remote.example", ["bob@local.test"],
                           "From: back@remote.example\r\nTo: bob@local.test\r\nSubject: will bounce\r\n\r\nhi\r\n")
            (env, body), = wait_until(lambda: [m for m in self.mx.messages()
                                               if b"multipart/report" in m[1] and b"will bounce" in m[1]],
                                      what="our DSN at the original sender's MX")
            self.assertEqual(env["rcpt"], ["<back@remote.example>"])
            self.assertEqual(env["mail"].split()[0], "<>")
            self.assertEqual(self.verify(body), ["ed25519-sha256 d=local.test", "rsa-sha256 d=local.test"])
        finally:
            self.suite.cli("sieve", "deactivate", "bob@local.test")

    def test_dkim_rsa_and_ed25519_verify_at_the_receiver(self):
        with smtplib.SMTP("127.0.0.1", self.suite.submission, timeout=30) as c:
            c.starttls(context=client_tls(self.suite.cert))
            c.login("alice@local.test", PASSWORD)
            c.sendmail("alice@local.test", ["x@ok.test"],
                       "From: Alice <alice@local.test>\r\nTo: x@ok.test\r\nSubject: signed\r\n"
                       "Message-ID: <signed@local.test>\r\n\r\nA signed body.\r\n.dot line\r\n")
        (env, body), = wait_until(lambda: self.got("signed"), what="the signed message")
        self.assertEqual(self.verify(body), ["ed25519-sha256 d=local.test", "rsa-sha256 d=local.test"])

    def verify(self, message):
        """The signatures python3-dkim verified ("ALG d=DOMAIN"); fails the test if any did not."""
        self.assertIn(b"DKIM-Signature:", message)
        p = subprocess.run([self.python, os.path.join(HERE, "dkim_verify.py"), "--dns", self.dns.address],
                           input=message, capture_output=True, timeout=120)
        out = p.stdout.decode() + p.stderr.decode()
        self.assertEqual(p.returncode, 0, out)
        return sorted(re.findall(r"^ok a=(\S+ d=\S+)", out, re.M))

    def test_a_vacation_reply_to_an_outside_sender_leaves_signed(self):
        self.suite.cli("sieve", "put", "alice@local.test", "away", "-",
                       stdin='require "vacation";\r\nvacation :days 1 :subject "away reply" "I am away.";\r\n')
        self.suite.cli("sieve", "activate", "alice@local.test", "away")
        try:
            with smtplib.SMTP("127.0.0.1", self.suite.mx, timeout=30) as c:
                c.sendmail("someone@ok.test", ["alice@local.test"],
                           "From: someone@ok.test\r\nTo: alice@local.test\r\nSubject: are you there\r\n"
                           "Message-ID: <q1@ok.test>\r\n\r\nhello\r\n")
            (env, body), = wait_until(lambda: self.got("away reply"), what="the vacation reply at the MX")
            self.assertEqual(env["rcpt"], ["<someone@ok.test>"])
            self.assertEqual(self.verify(body), ["ed25519-sha256 d=local.test", "rsa-sha256 d=local.test"])
        finally:
            self.suite.cli("sieve", "deactivate", "alice@local.test")

    def test_srs_forward_and_the_bounce_coming_back(self):
        self.suite.cli("sieve", "put", "bob@local.test", "fwd", "-", stdin='redirect "far@ok.test";\r\n')
        self.suite.cli("sieve", "activate", "bob@local.test", "fwd")
        try:
            with smtplib.SMTP("127.0.0.1", self.suite.mx, timeout=30) as c:
                c.sendmail("orig@remote.example", ["bob@local.test"],
                           "From: orig@remote.example\r\nTo: bob@local.test\r\nSubject: forwarded\r\n\r\nhi\r\n")
            (env, body), = wait_until(lambda: self.got("forwarded"), what="the forwarded copy")
            sender = env["mail"].split()[0].strip("<>")
            self.assertRegex(sender, r"^SRS0=[^=]{4}=[^=]{2}=remote\.example=orig@local\.test$")
            # Not our From, so signed by the domain that forwards it.
            self.assertEqual(self.verify(body), ["ed25519-sha256 d=local.test", "rsa-sha256 d=local.test"])
            # The receiver bounces to the SRS address: smtpd takes it back to the original sender.
            with smtplib.SMTP("127.0.0.1", self.suite.mx, timeout=30) as c:
                c.sendmail("", [sender], "From: MAILER-DAEMON@ok.test\r\nSubject: bounce back\r\n\r\nno\r\n")
            (env, body), = wait_until(lambda: self.got("bounce back"), what="the bounce at the original sender")
            self.assertEqual(env["rcpt"], ["<orig@remote.example>"])
            self.assertEqual(env["mail"].split()[0], "<>")
            self.assertEqual(self.verify(body), ["ed25519-sha256 d=local.test", "rsa-sha256 d=local.test"])
        finally:
            self.suite.cli("sieve", "deactivate", "bob@local.test")


class ThroughARelay(unittest.TestCase):
    """aiosmtpd is the relay: STARTTLS + AUTH on a 587-like port, implicit TLS + AUTH on a
    465-like one, a certificate the sender checks (tls_ca_file)."""

    @classmethod
    def setUpClass(cls):
        cls.relay = AiosmtpdRelay("sender@relay.test", PASSWORD)
        # The key that seals stored relay passwords, as the secrets file would give it.
        os.environ["MAILSTEAD_SECRET_RELAY_KEY"] = "0123456789abcdef0123456789abcdef"
        cls.suite = Suite(top_toml=f'[outbound]\npoll_interval = "100ms"\nretry_base = "1h"\n'
                                   f'relay_greeting_timeout = "2s"\ntls_ca_file = "{cls.relay.cert}"\n')
        cls.suite.cli("domain", "add", "local.test")
        cls.suite.cli("user", "add", "alice@local.test", "--password-stdin", stdin=PASSWORD + "\n")
        cls.suite.start("smtpd")
        start_deliverd(cls)

    @classmethod
    def tearDownClass(cls):
        stop_deliverd(cls)
        cls.relay.stop()
        os.environ.pop("MAILSTEAD_SECRET_RELAY_KEY", None)

    def send(self, subject):
        with smtplib.SMTP("127.0.0.1", self.suite.submission, timeout=30) as c:
            c.starttls(context=client_tls(self.suite.cert))
            c.login("alice@local.test", PASSWORD)
            c.sendmail("alice@local.test", ["far@elsewhere.example"],
                       f"From: alice@local.test\r\nSubject: {subject}\r\n\r\nvia relay\r\n")

    def relayed(self, subject):
        return [m for m in self.relay.messages() if f"Subject: {subject}" in m["message"]]

    def set_relay(self, port, security, password):
        self.suite.cli("relay", "set", f"localhost:{port}", "--security", security, "--user", "sender@relay.test",
                       "--password-stdin", stdin=password + "\n")

    def deferred_once(self, subject):
        """The queue record of `subject` once it has been tried, with why it is still there."""
        def tried():
            for q in self.suite.instance.cli_json("queue", "list"):
                if q["attempts"] >= 1 and f"Subject: {subject}" in self.suite.cli("queue", "get", str(q["id"])).stdout:
                    return [q]
            return []
        q, = wait_until(tried, timeout=60, what=f"an attempt of {subject!r} through the relay")
        self.assertEqual(q["states"][0]["state"], "deferred")
        shown = self.suite.cli("queue", "show", str(q["id"])).stdout
        self.suite.cli("queue", "delete", str(q["id"]))
        return q["states"][0]["last_reply"], shown

    def test_starttls_and_implicit_tls_with_auth(self):
        self.set_relay(self.relay.starttls_port, "starttls", PASSWORD)
        self.send("relayed starttls")
        m, = wait_until(lambda: self.relayed("relayed starttls"), what="the message at the relay (STARTTLS)")
        self.assertEqual(m["rcpt_tos"], ["far@elsewhere.example"])
        self.assertEqual(m["mail_from"], "alice@local.test")
        self.assertEqual(m["login"], "sender@relay.test")
        self.assertTrue(m["tls"])
        self.assertIn("DKIM-Signature:", m["message"])  # signed before it leaves, relay or not
        self.set_relay(self.relay.tls_port, "tls", PASSWORD)
        self.send("relayed tls")
        m, = wait_until(lambda: self.relayed("relayed tls"), what="the message at the relay (implicit TLS)")
        self.assertEqual(m["login"], "sender@relay.test")
        self.assertTrue(m["tls"])
        log = self.suite.instance.cli_json("queue", "log")
        self.assertTrue(any(e["tls"].startswith("TLSv1.") and e["result"] == "delivered" for e in log), log)

    def test_wrong_password_defers_with_the_535_text(self):
        self.set_relay(self.relay.starttls_port, "starttls", "wrong password")
        self.send("wrong password")
        reply, shown = self.deferred_once("wrong password")
        self.assertIn("535", reply)
        self.assertIn("535 5.7.8", shown)
        self.assertEqual(self.relayed("wrong password"), [])

    def test_an_unreachable_relay_defers_saying_so(self):
        closed = free_ports(1)[0]
        self.suite.cli("relay", "set", f"127.0.0.1:{closed}", "--security", "starttls", "--user", "sender@relay.test",
                       "--password-stdin", stdin=PASSWORD + "\n")
        self.send("relay down")
        reply, shown = self.deferred_once("relay down")
        self.assertIn(f"connection to 127.0.0.1[127.0.0.1]:{closed} refused", reply)
        self.assertIn("refused", shown)

    def test_starttls_against_an_implicit_tls_port_is_explained(self):
        self.set_relay(self.relay.tls_port, "starttls", PASSWORD)
        self.send("starttls at 465")
        reply, shown = self.deferred_once("starttls at 465")
        self.assertIn('expects TLS from the first byte', reply)
        self.assertIn('use security "tls"', shown)

    def test_implicit_tls_against_a_starttls_port_is_explained(self):
        self.set_relay(self.relay.starttls_port, "tls", PASSWORD)
        self.send("tls at 587")
        reply, shown = self.deferred_once("tls at 587")
        self.assertIn("speaks plain SMTP first", reply)
        self.assertIn('use security "starttls"', shown)

    def test_relay_test_command(self):
        self.set_relay(self.relay.starttls_port, "starttls", PASSWORD)
        out = self.suite.cli("relay", "test", "someone@elsewhere.example").stdout
        self.assertIn("delivered", out)
        self.assertIn("localhost [127.0.0.1]", out)
        self.assertIn("TLSv1.", out)
        wait_until(lambda: [m for m in self.relay.messages() if m["rcpt_tos"] == ["someone@elsewhere.example"]],
                   what="the relay test message at the relay")
        self.set_relay(self.relay.starttls_port, "starttls", "wrong password")
        p = self.suite.cli("relay", "test", "someone@elsewhere.example", check=False)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("535", p.stdout)
        self.suite.cli("relay", "clear")
        p = self.suite.cli("relay", "test", "someone@elsewhere.example", check=False)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("no relay is set", p.stderr)
        p = self.suite.cli("relay", "test", "not-an-address", check=False)
        self.assertEqual(p.returncode, 2, p.stderr)


if __name__ == "__main__":
    unittest.main()
