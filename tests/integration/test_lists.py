"""Pattern-matched lists for real (docs/lists.md): mailstead-smtpd matches the recipient
against each list's RE2 pattern at RCPT, fans the post out as one queue entry per member,
and mailstead-deliverd delivers the group's members to their local mailboxes and the fixed
archive address to an aiosmtpd MX (found through dnsmasq), signed for the site domain. The
copies show the sender's site alias, never the real address; a reply to the alias reaches
the sender; a sender without an account is refused at RCPT; every copy is in the send log.
Lists and registered addresses are managed with `mailstead list …`, `mailstead user
address …` and /api/v1/lists (curl-like client of adminapi.py)."""
import email
import email.policy
import os
import smtplib
import subprocess
import unittest

from adminapi import AdminApi
from helpers import Suite, binary, client_tls, free_ports
from peers import Dnsmasq, wait_until
from tls_peers import TestCa, TlsMx

PASSWORD = "correct horse battery"
PATTERN = r"^(?<code>[a-z0-9]+)-students@classes\.test$"


class PatternLists(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.port = free_ports(1)[0]
        cls.ca = TestCa()
        cert, key = cls.ca.issue(["mx.outside.test"], self_signed=True)
        cls.mx = TlsMx(cls.port, [("127.0.0.1", cert, key)])
        # outside.test: the archive's MX, and SPF that lets 127.0.0.1 send for it (carl's
        # registered address proves itself); nospf.test publishes nothing.
        # The local domains are zones too, so DMARC finds no record there at once (NXDOMAIN).
        cls.dns = Dnsmasq(["outside.test", "nospf.test", "example.test", "groups.test", "classes.test", "site.test"],
                          [("mx-host", "outside.test,mx.outside.test,10"), ("host-record", "mx.outside.test,127.0.0.1"),
                           ("txt-record", "outside.test,v=spf1 ip4:127.0.0.1 -all")])
        cls.suite = Suite(top_toml=f'[dns]\nnameservers = ["{cls.dns.address}"]\ntimeout = "2s"\n'
                                   f'[outbound]\nmx_port = {cls.port}\npoll_interval = "100ms"\n'
                                   'retry_base = "1s"\nretry_max = "2s"\n'
                                   '[lists]\nsite_domain = "site.test"\nmax_members = 3\n')
        cli = cls.suite.cli
        for d in ("example.test", "groups.test", "classes.test", "site.test"):
            cli("domain", "add", d)
        cli("user", "add", "ann@example.test", "--name", "Ann Teacher", "--password-stdin", stdin=PASSWORD + "\n")
        for u in ("bob", "carl", "erin"):
            cli("user", "add", f"{u}@example.test", "--password-stdin", stdin=PASSWORD + "\n")
        cli("group", "add", "cs101-students@groups.test", "ann@example.test", "bob@example.test")
        cli("list", "add", "classes", PATTERN, "{code}-students@groups.test", "archive@outside.test")
        cli("list", "add", "clubs", r"^(?<club>[a-z]+)-club@classes\.test$", "{club}-members@groups.test")
        cli("list", "add", "everyone", r"^all-(?<any>[a-z]+)@classes\.test$", "ann@example.test", "bob@example.test",
            "carl@example.test", "erin@example.test")  # 4 members: over max_members
        cli("user", "address", "add", "carl@example.test", "carl@outside.test")
        cli("user", "address", "add", "erin@example.test", "erin@nospf.test")
        cls.suite.start("smtpd")
        cls.log = open(os.path.join(cls.suite.instance.dir, "deliverd.log"), "w+")
        cls.deliverd = subprocess.Popen([binary("mailstead-deliverd"), "--config", cls.suite.instance.config],
                                        stdout=cls.log, stderr=cls.log)

    @classmethod
    def tearDownClass(cls):
        if cls.deliverd.poll() is None:
            cls.deliverd.terminate()
            cls.deliverd.wait(timeout=20)
        if os.environ.get("MAILSTEAD_TEST_LOGS"):
            cls.log.seek(0)
            print(cls.log.read()[-8000:])
            print(cls.suite.log("smtpd")[-8000:])
        cls.log.close()
        cls.suite.cleanup()
        cls.mx.stop()
        cls.dns.stop()
        cls.ca.cleanup()

    # ---- helpers ----
    def submit(self, user, to, message):
        with smtplib.SMTP("127.0.0.1", self.suite.submission, timeout=30) as c:
            c.starttls(context=client_tls(self.suite.cert))
            c.login(user, PASSWORD)
            c.sendmail(user, to, message)

    def mx_session(self):
        c = smtplib.SMTP("127.0.0.1", self.suite.mx, timeout=30)
        c.ehlo("client.outside.test")
        return c

    def find_local(self, user, subject):
        """The raw bytes of the message with `subject` in `user`'s INBOX, or None."""
        for m in self.suite.instance.cli_json("message", "list", user, "INBOX"):
            raw = subprocess.run([binary("mailstead"), "--config", self.suite.instance.config, "message", "get", user,
                                  "INBOX", str(m["uid"])], capture_output=True, check=True).stdout
            if f"Subject: {subject}".encode() in raw:
                return raw
        return None

    def wait_local(self, user, subject):
        return wait_until(lambda: self.find_local(user, subject), what=f"'{subject}' in {user}'s INBOX")

    def wait_remote(self, subject):
        return wait_until(lambda: [m for m in self.mx.messages() if f"Subject: {subject}" in m["message"]],
                          what=f"'{subject}' at the archive's MX")

    def log_for(self, recipient, sender):
        return [e for e in self.suite.instance.cli_json("queue", "log")
                if e["recipient"] == recipient and e["sender"] == sender]

    # ---- fan-out and privacy ----
    def test_fanout_to_group_members_and_archive_with_the_alias_as_sender(self):
        subject = "week 1 reading"
        msg = (f"From: Ann Teacher <ann@example.test>\r\nReply-To: ann@example.test\r\n"
               f"To: cs101-students@classes.test\r\nSubject: {subject}\r\n"
               "Message-ID: <week1@mail.example.test>\r\n\r\nRead chapter one.\r\n")
        self.submit("ann@example.test", ["cs101-students@classes.test"], msg)
        for user in ("bob@example.test", "ann@example.test"):
            raw = self.wait_local(user, subject)
            if user == "bob@example.test":
                self.assertNotIn(b"ann@example.test", raw, raw.decode())
            m = email.message_from_bytes(raw, policy=email.policy.default)
            self.assertEqual(m["From"].addresses[0].addr_spec, "ann@site.test")
            self.assertEqual(m["From"].addresses[0].display_name, "Ann Teacher")
            self.assertIsNone(m["Reply-To"])
            self.assertEqual(m["List-Id"], "<classes.site.test>")
            self.assertIn("Read chapter one.", m.get_content())
        (remote,) = self.wait_remote(subject)
        self.assertEqual(remote["mail_from"], "ann@site.test")
        self.assertEqual(remote["rcpt_tos"], ["archive@outside.test"])
        self.assertNotIn("ann@example.test", remote["message"])
        self.assertIn("List-Id: <classes.site.test>", remote["message"])
        self.assertRegex(remote["message"], r"DKIM-Signature:[^\r\n]*(\r\n[ \t][^\r\n]*)*d=site\.test")
        # One queue entry per member, each in the send log as delivered.
        for rcpt in ("bob@example.test", "ann@example.test", "archive@outside.test"):
            entries = wait_until(lambda: [e for e in self.log_for(rcpt, "ann@site.test") if e["result"] == "delivered"],
                                 what=f"the send log entry for {rcpt}")
            self.assertEqual(len(entries), 1, entries)
        self.assertIsNone(self.find_local("carl@example.test", subject))

    def test_a_reply_to_the_alias_reaches_the_sender(self):
        subject = "question about week 1"
        # From outside, over the MX: the alias is an address like any other.
        with self.mx_session() as c:
            c.sendmail("parent@outside.test", ["ann@site.test"],
                       f"From: parent@outside.test\r\nTo: ann@site.test\r\nSubject: {subject}\r\n\r\nHi\r\n")
        self.wait_local("ann@example.test", subject)
        # And from a local user replying to the copy.
        self.submit("bob@example.test", ["ann@site.test"],
                    f"From: bob@example.test\r\nTo: ann@site.test\r\nSubject: Re: {subject}\r\n\r\nThanks\r\n")
        self.wait_local("ann@example.test", f"Re: {subject}")
        self.assertEqual(self.suite.instance.cli_json("resolve", "ann@site.test")["mailboxes"], ["ann@example.test"])

    def test_a_registered_external_address_posts_with_spf(self):
        subject = "from carl's own mailbox"
        with self.mx_session() as c:
            c.sendmail("carl@outside.test", ["cs101-students@classes.test"],
                       f"From: Carl <carl@outside.test>\r\nTo: cs101-students@classes.test\r\nSubject: {subject}\r\n\r\n"
                       "Posting from home.\r\n")
        raw = self.wait_local("bob@example.test", subject)
        self.assertNotIn(b"carl@outside.test", raw)
        self.assertNotIn(b"carl@example.test", raw)
        m = email.message_from_bytes(raw, policy=email.policy.default)
        self.assertEqual(m["From"].addresses[0].addr_spec, "carl@site.test")
        (remote,) = self.wait_remote(subject)
        self.assertNotIn("carl@outside.test", remote["message"])

    # ---- refusals ----
    def test_a_sender_without_an_account_is_refused_at_rcpt(self):
        with self.mx_session() as c:
            c.mail("stranger@outside.test")
            code, text = c.rcpt("cs101-students@classes.test")
            self.assertEqual(code, 550)
            self.assertIn(b"5.7.1", text)
            self.assertIn(b"account", text)
            c.rset()
            c.mail("")
            self.assertEqual(c.rcpt("cs101-students@classes.test")[0], 550)

    def test_an_unproven_external_post_is_refused_at_data(self):
        with self.mx_session() as c:
            c.mail("erin@nospf.test")
            self.assertEqual(c.rcpt("cs101-students@classes.test")[0], 250)
            code, text = c.data(b"From: erin@nospf.test\r\nTo: cs101-students@classes.test\r\nSubject: spoof?\r\n\r\nx\r\n")
            self.assertEqual(code, 550)
            self.assertIn(b"5.7.1", text)
            self.assertIn(b"DMARC or SPF", text)

    def test_a_forged_from_is_refused_at_data(self):
        with self.mx_session() as c:
            c.mail("carl@outside.test")
            self.assertEqual(c.rcpt("cs101-students@classes.test")[0], 250)
            code, text = c.data(b"From: ann@example.test\r\nTo: cs101-students@classes.test\r\nSubject: forged\r\n\r\nx\r\n")
            self.assertEqual(code, 550)
            self.assertIn(b"5.7.1", text)

    def test_a_list_that_expands_to_nobody_is_unknown(self):
        with self.mx_session() as c:
            c.mail("carl@outside.test")
            code, text = c.rcpt("chess-club@classes.test")
            self.assertEqual(code, 550)
            self.assertIn(b"5.1.1", text)

    def test_a_post_over_max_members_is_refused_whole(self):
        with smtplib.SMTP("127.0.0.1", self.suite.submission, timeout=30) as c:
            c.starttls(context=client_tls(self.suite.cert))
            c.login("ann@example.test", PASSWORD)
            with self.assertRaises(smtplib.SMTPDataError) as e:
                c.sendmail("ann@example.test", ["all-staff@classes.test"],
                           "From: ann@example.test\r\nTo: all-staff@classes.test\r\nSubject: too many\r\n\r\nx\r\n")
            self.assertEqual(e.exception.smtp_code, 552)
            self.assertIn(b"5.5.3", e.exception.smtp_error)
        # Nothing was queued for anyone (erin is on this list only).
        self.assertFalse([q for q in self.suite.instance.cli_json("queue", "list") if "erin@example.test" in q["recipients"]])
        self.assertFalse([e for e in self.suite.instance.cli_json("queue", "log") if e["recipient"] == "erin@example.test"])

    def test_a_message_that_passed_the_list_is_not_expanded_again(self):
        msg = ("From: ann@example.test\r\nTo: cs101-students@classes.test\r\nSubject: looping\r\n"
               "List-Id: <classes.site.test>\r\n\r\nround and round\r\n")
        with smtplib.SMTP("127.0.0.1", self.suite.submission, timeout=30) as c:
            c.starttls(context=client_tls(self.suite.cert))
            c.login("ann@example.test", PASSWORD)
            with self.assertRaises(smtplib.SMTPDataError) as e:
                c.sendmail("ann@example.test", ["cs101-students@classes.test"], msg)
            self.assertEqual(e.exception.smtp_code, 554)
            self.assertIn(b"5.4.6", e.exception.smtp_error)

    # ---- management ----
    def test_cli_show_and_clear_errors(self):
        shown = self.suite.instance.cli_json("list", "show", "classes")
        self.assertEqual(shown["pattern"], PATTERN)
        self.assertEqual(shown["templates"], ["{code}-students@groups.test", "archive@outside.test"])
        self.assertEqual(shown["site_domain"], "site.test")
        self.assertIn("classes", [x["name"] for x in self.suite.instance.cli_json("list", "show")])
        bad = self.suite.cli("list", "add", "broken", "^(unclosed", "x@groups.test", check=False)
        self.assertEqual(bad.returncode, 1)
        self.assertIn("pattern", bad.stderr)
        unknown = self.suite.cli("list", "add", "typo", PATTERN, "{course}-students@groups.test", check=False)
        self.assertEqual(unknown.returncode, 1)
        self.assertIn("{course}", unknown.stderr)
        self.assertEqual(self.suite.cli("list", "show", "typo", check=False).returncode, 1)
        local = self.suite.cli("user", "address", "add", "bob@example.test", "bob@groups.test", check=False)
        self.assertEqual(local.returncode, 1)
        self.assertIn("local domain", local.stderr)
        self.assertEqual(self.suite.instance.cli_json("user", "address", "list", "carl@example.test"), ["carl@outside.test"])
        r = self.suite.instance.cli_json("resolve", "ma201-students@classes.test", "--from", "carl@outside.test")
        self.assertEqual((r["action"], r["kind"], r["list"]), ("deliver", "list", "classes"))
        r = self.suite.instance.cli_json("resolve", "ma201-students@classes.test", "--from", "who@outside.test")
        self.assertEqual((r["action"], r["code"], r["enhanced"]), ("reject", 550, "5.7.1"))

    def test_api_manages_lists_with_field_errors(self):
        api = AdminApi(instance=self.suite.instance)
        api.user("root@example.test", "root password 123", admin=True)
        api.start()
        try:
            c = api.client()
            self.assertEqual(c.login("root@example.test", "root password 123").status, 200)
            r = c.post("/api/v1/lists", {"name": "api-list", "pattern": "^(?<x>[a-z]+)-api@classes\\.test$",
                                         "templates": ["{x}@groups.test"]})
            self.assertEqual(r.status, 201, r)
            self.assertEqual(r.json["site_domain"], "site.test")
            self.assertIn("api-list", [x["name"] for x in c.get("/api/v1/lists").json])
            r = c.post("/api/v1/lists", {"name": "bad", "pattern": "([", "templates": ["a@groups.test"]})
            self.assertEqual(r.status, 422)
            self.assertEqual(r.json["error"]["field"], "pattern")
            r = c.post("/api/v1/lists", {"name": "bad", "pattern": PATTERN, "templates": ["{nope}@groups.test"]})
            self.assertEqual(r.status, 422)
            self.assertEqual(r.json["error"]["field"], "templates")
            self.assertEqual(c.post("/api/v1/lists", {"name": "api-list", "pattern": PATTERN,
                                                      "templates": ["a@groups.test"]}).status, 409)
            self.assertEqual(c.delete("/api/v1/lists/api-list").status, 204)
            self.assertEqual(c.get("/api/v1/lists/api-list").status, 404)
            r = c.post("/api/v1/users/bob@example.test/external-addresses", {"external": "bob@home.test"})
            self.assertEqual(r.status, 204, r)
            self.assertEqual(c.get("/api/v1/users/bob@example.test/external-addresses").json, ["bob@home.test"])
            self.assertEqual(c.delete("/api/v1/users/bob@example.test/external-addresses/bob@home.test").status, 204)
            r = c.get("/api/v1/resolve?address=cs101-students@classes.test&authenticated_as=bob@example.test")
            self.assertEqual((r.json["kind"], r.json["list"]), ("list", "classes"))
            c.close()
        finally:
            api.cleanup()


if __name__ == "__main__":
    unittest.main()
