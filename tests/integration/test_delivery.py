"""The delivery service for real: mailstead-smtpd takes mail on submission, mailstead-deliverd
resolves the recipient domains with dnsmasq and sends to Postfix's smtp-sink on loopback
addresses (one per behaviour: accept, 5xx at RCPT, 4xx at RCPT, hang-up after DATA), and
bounces come back to the local sender's INBOX through the local short-cut."""
import email
import email.policy
import os
import smtplib
import subprocess
import time
import unittest

from helpers import Instance, Suite, binary, client_tls, free_ports
from peers import Dnsmasq, SmtpSink, wait_until

PASSWORD = "correct horse battery"


class Delivery(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.port = free_ports(1)[0]
        cls.sinks = {
            "ok": SmtpSink("127.0.0.1", cls.port),
            "hard": SmtpSink("127.0.0.2", cls.port, ["-f", "rcpt"]),
            "soft": SmtpSink("127.0.0.3", cls.port, ["-r", "rcpt"]),
            "drop": SmtpSink("127.0.0.4", cls.port, ["-q", "."]),
            "mailfail": SmtpSink("127.0.0.5", cls.port, ["-f", "mail"]),
        }
        records = [("dns-rr", "nullmx.test,15,000000")]
        for i, name in enumerate(["ok", "hard", "soft", "drop", "mailfail"]):
            records += [("mx-host", f"{name}.test,mx.{name}.test,10"), ("host-record", f"mx.{name}.test,127.0.0.{i + 1}")]
        # second.test: the first MX refuses connections (nothing listens on 127.0.0.9), the second takes it
        records += [("mx-host", "second.test,mx1.second.test,10"), ("mx-host", "second.test,mx2.second.test,20"),
                    ("host-record", "mx1.second.test,127.0.0.9"), ("host-record", "mx2.second.test,127.0.0.1")]
        records += [("mx-host", "refused.test,mx.refused.test,10"), ("host-record", "mx.refused.test,127.0.0.9")]
        # implicit.test: no MX, an A record (RFC 5321 5.1)
        records += [("host-record", "implicit.test,127.0.0.1")]
        cls.dns = Dnsmasq(["ok.test", "hard.test", "soft.test", "drop.test", "mailfail.test", "nullmx.test",
                           "second.test", "implicit.test", "zone.test", "refused.test"], records)
        cls.suite = Suite(top_toml=f'[dns]\nnameservers = ["{cls.dns.address}"]\n'
                                   f'[outbound]\nmx_port = {cls.port}\nretry_base = "1s"\nretry_max = "2s"\n'
                                   'poll_interval = "100ms"\nconnect_timeout = "5s"\n')
        cls.suite.cli("domain", "add", "local.test")
        for u in ("alice", "bob"):
            cls.suite.cli("user", "add", f"{u}@local.test", "--password-stdin", stdin=PASSWORD + "\n")
        cls.suite.start("smtpd")
        cls.deliverd_log = open(os.path.join(cls.suite.instance.dir, "deliverd.log"), "w+")
        wrap = os.environ.get("MAILSTEAD_TEST_WRAP", "").split()
        cls.deliverd = subprocess.Popen(wrap + [binary("mailstead-deliverd"), "--config", cls.suite.instance.config],
                                        stdout=cls.deliverd_log, stderr=cls.deliverd_log)

    @classmethod
    def tearDownClass(cls):
        if cls.deliverd.poll() is None:
            cls.deliverd.terminate()
            cls.deliverd.wait(timeout=20)
        if os.environ.get("MAILSTEAD_TEST_LOGS"):
            cls.deliverd_log.seek(0)
            print(cls.deliverd_log.read()[-20000:])
        cls.deliverd_log.close()
        cls.suite.cleanup()
        for s in cls.sinks.values():
            s.stop()
        cls.dns.stop()

    def submit(self, to, subject, sender="alice@local.test", body="Hello there.\r\n"):
        msg = (f"From: {sender}\r\nTo: {', '.join(to)}\r\nSubject: {subject}\r\n"
               f"Message-ID: <{subject.replace(' ', '-')}@local.test>\r\n\r\n{body}")
        with smtplib.SMTP("127.0.0.1", self.suite.submission, timeout=30) as c:
            c.starttls(context=client_tls(self.suite.cert))
            c.login(sender, PASSWORD)
            c.sendmail(sender, to, msg)

    def sink_got(self, sink, subject):
        return [m for m in self.sinks[sink].messages() if f"Subject: {subject}".encode() in m[1]]

    def inbox(self, user="alice@local.test"):
        return self.suite.instance.cli_json("message", "list", user, "INBOX")

    def inbox_message(self, uid, user="alice@local.test", raw=False):
        p = subprocess.run([binary("mailstead"), "--config", self.suite.instance.config, "message", "get", user, "INBOX",
                            str(uid)], capture_output=True, check=True)
        return p.stdout if raw else email.message_from_bytes(p.stdout, policy=email.policy.default)

    def wait_bounce(self, about):
        """The DSN in alice's INBOX whose report mentions `about`."""
        def find():
            for m in self.inbox():
                raw = self.inbox_message(m["uid"], raw=True)
                msg = email.message_from_bytes(raw, policy=email.policy.default)
                if msg.get_content_type() == "multipart/report" and about in raw.decode("utf-8", "replace"):
                    return msg
            return None
        return wait_until(find, what=f"a DSN about {about} in alice's INBOX")

    def queue(self):
        return self.suite.instance.cli_json("queue", "list")

    def test_delivered_to_the_mx_and_logged(self):
        self.submit(["Someone@ok.test"], "plain delivery")
        (env, body), = wait_until(lambda: self.sink_got("ok", "plain delivery"), what="the message at the sink")
        self.assertEqual(env["mail"].split()[0], "<alice@local.test>")
        self.assertEqual(env["rcpt"], ["<Someone@ok.test>"])
        self.assertIn(b"Received: from ", body)
        wait_until(lambda: not [q for q in self.queue() if "Someone@ok.test" in q["recipients"]], what="the queue to empty")
        log = self.suite.instance.cli_json("queue", "log")
        entry = [e for e in log if e["recipient"] == "Someone@ok.test"][-1]
        self.assertEqual(entry["result"], "delivered")
        self.assertIn("mx.ok.test [127.0.0.1]", entry["remote"])
        self.assertTrue(entry["reply"].startswith("250"))

    def test_second_mx_when_the_first_refuses_and_implicit_mx(self):
        self.submit(["x@second.test"], "second mx")
        wait_until(lambda: self.sink_got("ok", "second mx"), what="delivery through the second MX")
        self.submit(["x@implicit.test"], "implicit mx")
        wait_until(lambda: self.sink_got("ok", "implicit mx"), what="delivery to the domain's A record")

    def test_5xx_bounces_into_the_senders_inbox_as_multipart_report(self):
        self.submit(["nobody@hard.test"], "hard failure")
        dsn = self.wait_bounce("nobody@hard.test")
        self.assertEqual(dsn["From"].addresses[0].username, "MAILER-DAEMON")
        parts = [p.get_content_type() for p in dsn.iter_parts()]
        self.assertEqual(parts, ["text/plain", "message/delivery-status", "text/rfc822-headers"])
        status = dsn.get_payload()[1].as_string()
        self.assertIn("Final-Recipient: rfc822; nobody@hard.test", status)
        self.assertIn("Action: failed", status)
        self.assertRegex(status, r"Status: 5\.\d+\.\d+")
        self.assertIn("Diagnostic-Code: smtp; 5", status)
        self.assertIn("Subject: hard failure", dsn.get_payload()[2].as_string())
        self.assertFalse([q for q in self.queue() if "nobody@hard.test" in q["recipients"]])

    def test_5xx_at_mail_from_fails_every_recipient(self):
        self.submit(["a@mailfail.test", "b@mailfail.test"], "mail refused")
        dsn = self.wait_bounce("a@mailfail.test")
        self.assertIn("b@mailfail.test", dsn.as_string())
        self.assertIn("MAIL FROM", dsn.as_string())

    def test_4xx_is_retried_on_schedule_with_the_reason_shown(self):
        self.submit(["later@soft.test"], "soft failure")
        def retried():
            for q in self.queue():
                if "later@soft.test" in q["recipients"] and q["states"][0]["attempts"] >= 2:
                    return q
        q = wait_until(retried, what="two attempts at soft.test")
        st = q["states"][0]
        self.assertEqual(st["state"], "deferred")
        self.assertTrue(st["last_reply"].startswith("4"), st)
        shown = self.suite.cli("queue", "show", str(q["id"])).stdout
        self.assertIn("deferred", shown)
        self.assertIn(st["last_reply"], shown)
        self.suite.cli("queue", "delete", str(q["id"]))
        self.assertFalse([x for x in self.queue() if x["id"] == q["id"]])

    def test_receiver_hanging_up_after_data_defers(self):
        self.submit(["x@drop.test"], "hang up")
        def deferred():
            for q in self.queue():
                if "x@drop.test" in q["recipients"] and q["states"][0]["attempts"] >= 1:
                    return q
        q = wait_until(deferred, what="a deferral for drop.test")
        self.assertEqual(q["states"][0]["state"], "deferred")
        self.assertIn("lost connection", q["states"][0]["last_reply"])
        self.suite.cli("queue", "delete", str(q["id"]))

    def test_null_mx_bounces_at_once(self):
        self.submit(["x@nullmx.test"], "null mx")
        dsn = self.wait_bounce("x@nullmx.test")
        self.assertIn("Status: 5.1.10", dsn.as_string())
        self.assertIn("null MX", dsn.as_string())

    def test_nonexistent_domain_bounces(self):
        self.submit(["x@gone.zone.test"], "no such domain")
        dsn = self.wait_bounce("x@gone.zone.test")
        self.assertIn("Status: 5.1.2", dsn.as_string())

    def test_smtputf8_message_to_a_server_without_it_bounces_clearly(self):
        to = "j\u00f6rg@ok.test"
        msg = (f"From: alice@local.test\r\nTo: {to}\r\nSubject: utf8 needed\r\n\r\nHallo\r\n").encode()
        with smtplib.SMTP("127.0.0.1", self.suite.submission, timeout=30) as c:
            c.starttls(context=client_tls(self.suite.cert))
            c.login("alice@local.test", PASSWORD)
            c.sendmail("alice@local.test", [to], msg, mail_options=["SMTPUTF8"])
        dsn = self.wait_bounce("does not support")
        text = dsn.as_bytes().decode("utf-8", "replace")
        self.assertIn("Status: 5.6.7", text)
        self.assertIn("SMTPUTF8", text)
        self.assertFalse(self.sink_got("ok", "utf8 needed"))

    def test_send_test_email_sends_two_and_says_where(self):
        p = self.suite.cli("send-test-email", "check@ok.test")
        out = p.stdout
        self.assertEqual(out.count("result: delivered"), 2, out)
        self.assertIn("from postmaster@local.test (the default From address)", out)
        self.assertRegex(out, r"from noreply-[a-z0-9]{12}@local.test \(the noreply address\)")
        self.assertIn("route:  mx.ok.test [127.0.0.1]", out)
        self.assertIn("reply:  250", out)
        got = wait_until(lambda: (lambda m: m if len(m) == 2 else None)(self.sink_got("ok", "Mailstead test email")),
                         what="both test messages at the receiver")
        self.assertEqual(sorted(e["rcpt"][0] for e, _ in got), ["<check@ok.test>", "<check@ok.test>"])

    def test_send_test_email_failures_in_words(self):
        p = self.suite.cli("send-test-email", "x@hard.test", check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("FAILED", p.stdout)
        self.assertIn("RCPT TO", p.stdout)
        p = self.suite.cli("send-test-email", "x@refused.test", check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("NOT delivered yet", p.stdout)
        self.assertIn("connection to mx.refused.test[127.0.0.9]", p.stdout)
        self.assertIn("refused", p.stdout)
        for q in self.queue():
            if "x@refused.test" in q["recipients"]:
                self.suite.cli("queue", "delete", str(q["id"]))
        p = self.suite.cli("send-test-email", "not-an-address", check=False)
        self.assertEqual(p.returncode, 2)

    def test_vacation_reply_to_a_local_sender_lands_in_its_inbox(self):
        script = 'require "vacation";\r\nvacation :days 1 :subject "Away" "I am away this week.";\r\n'
        self.suite.cli("sieve", "put", "bob@local.test", "away", "-", stdin=script)
        self.suite.cli("sieve", "activate", "bob@local.test", "away")
        try:
            self.submit(["bob@local.test"], "are you there")
            def reply():
                for m in self.inbox():
                    msg = self.inbox_message(m["uid"])
                    if msg["Subject"] == "Away":
                        return msg
            msg = wait_until(reply, what="bob's vacation reply in alice's INBOX")
            self.assertIn("auto-replied", msg["Auto-Submitted"])
            self.assertIn("I am away", msg.get_content())
        finally:
            self.suite.cli("sieve", "deactivate", "bob@local.test")
        self.assertIn("250 2.0.0 delivered locally", str(self.suite.instance.cli_json("queue", "log")))


class DnsTimeout(unittest.TestCase):
    def test_dns_timeout_defers_with_the_reason(self):
        from peers import SilentDns
        silent = SilentDns()
        suite = Suite(top_toml=f'[dns]\nnameservers = ["{silent.address}"]\ntimeout = "300ms"\ntries = 1\n'
                               '[outbound]\npoll_interval = "100ms"\nretry_base = "1h"\n')
        deliverd = None
        try:
            suite.cli("domain", "add", "local.test")
            suite.cli("user", "add", "alice@local.test", "--password-stdin", stdin=PASSWORD + "\n")
            suite.start("smtpd")
            deliverd = subprocess.Popen([binary("mailstead-deliverd"), "--config", suite.instance.config],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            with smtplib.SMTP("127.0.0.1", suite.submission, timeout=30) as c:
                c.starttls(context=client_tls(suite.cert))
                c.login("alice@local.test", PASSWORD)
                c.sendmail("alice@local.test", ["x@slow.example"], "From: alice@local.test\r\nSubject: t\r\n\r\nx\r\n")
            q = wait_until(lambda: [q for q in suite.instance.cli_json("queue", "list") if q["attempts"] >= 1],
                           what="an attempt")[0]
            self.assertEqual(q["states"][0]["state"], "deferred")
            self.assertIn("DNS lookup of the MX of slow.example failed", q["states"][0]["last_reply"])
            self.assertIn("did not answer in time", q["states"][0]["last_reply"])
            self.assertIn("did not answer in time", suite.cli("queue", "show", str(q["id"])).stdout)
        finally:
            if deliverd:
                deliverd.terminate()
                deliverd.wait(timeout=20)
            suite.cleanup()
            silent.stop()


class FileTransport(unittest.TestCase):
    def test_each_message_becomes_an_eml_file(self):
        suite = Suite(top_toml='[outbound]\ntransport = "file"\nfile_path = "FILES"\npoll_interval = "100ms"\n')
        files = os.path.join(suite.instance.dir, "outbox")
        with open(suite.instance.config) as f:
            text = f.read().replace("FILES", files)
        with open(suite.instance.config, "w") as f:
            f.write(text)
        deliverd = None
        try:
            suite.cli("domain", "add", "local.test")
            suite.cli("user", "add", "alice@local.test", "--password-stdin", stdin=PASSWORD + "\n")
            suite.start("smtpd")
            deliverd = subprocess.Popen([binary("mailstead-deliverd"), "--config", suite.instance.config],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            with smtplib.SMTP("127.0.0.1", suite.submission, timeout=30) as c:
                c.starttls(context=client_tls(suite.cert))
                c.login("alice@local.test", PASSWORD)
                for i in range(3):
                    c.sendmail("alice@local.test", ["x@elsewhere.example", "y@other.example"],
                               f"From: alice@local.test\r\nSubject: file {i}\r\n\r\nbody {i}\r\n")
            names = wait_until(lambda: [n for n in os.listdir(files) if n.endswith(".eml")] if os.path.isdir(files)
                               and len([n for n in os.listdir(files) if n.endswith(".eml")]) == 3 else None,
                               what="three .eml files")
            for n in names:
                with open(os.path.join(files, n), "rb") as f:
                    msg = email.message_from_bytes(f.read(), policy=email.policy.default)
                self.assertEqual(msg.get_all("X-Mailstead-Envelope-To"), ["<x@elsewhere.example>", "<y@other.example>"])
                self.assertTrue(msg["Subject"].startswith("file "))
            wait_until(lambda: suite.instance.cli_json("queue", "list") == [], what="an empty queue")
        finally:
            if deliverd:
                deliverd.terminate()
                deliverd.wait(timeout=20)
            suite.cleanup()

    def test_file_transport_needs_a_path(self):
        inst = Instance('[outbound]\ntransport = "file"\n')
        try:
            p = inst.cli("queue", "list", check=False)
            self.assertEqual(p.returncode, 78)
            self.assertIn("outbound.file_path", p.stderr)
        finally:
            inst.cleanup()


if __name__ == "__main__":
    unittest.main()
