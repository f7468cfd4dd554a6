"""Stream notifications and replies for real (docs/streams.md, "Notifications and replies" and
"Who posts"): mailstead-smtpd, -deliverd and -admin-api over one data directory, a dnsmasq
on a loopback port serving the SPF, DKIM and DMARC records of the local test domains, and
Python's smtplib as the mail client. A post (CLI, API, email) queues a notification to each
member who is not the poster and not watching; deliverd files it in the member's INBOX; the
member replies to its one-member `mm…` Reply-To from a Thunderbird-like submission and the
reply lands in the topic as that member; anyone else using the address is refused. A
DMARC-aligned pass of a local user's From posts as that user; per stream, unauthenticated
mail is posted by the bot or refused."""
import email
import email.policy
import os
import re
import smtplib
import subprocess
import tempfile
import time
import unittest

from adminapi import AdminApi
from helpers import SmtpServer, binary, client_tls, wait_for
from peers import Dnsmasq
from test_authentication import SIGN, rsa_key
from test_dkim import verifier_python
from wsclient import WebSocket

GATEWAY = "streams.example.test"
PW = {"ann@example.test": "ann-secret-pw", "dave@good.test": "dave-secret-pw", "carl@example.test": "carl-secret-pw"}


class StreamNotifications(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.python = verifier_python()
        cls.key, cls.pub = rsa_key()
        # good.test: SPF passes from loopback (DMARC aligned through SPF). example.test: SPF
        # fails from loopback, so only a DKIM signature with its published key passes DMARC.
        records = [
            ("txt-record", "good.test,v=spf1 ip4:127.0.0.0/8 -all"),
            ("txt-record", "_dmarc.good.test,v=DMARC1; p=none"),
            ("txt-record", "example.test,v=spf1 ip4:192.0.2.1 -all"),
            ("txt-record", "_dmarc.example.test,v=DMARC1; p=none"),
            ("txt-record", f"sel._domainkey.example.test,v=DKIM1; k=rsa; p={cls.pub}"),
            ("txt-record", "outside.test,v=spf1 ip4:127.0.0.0/8 -all"),
            ("txt-record", "_dmarc.outside.test,v=DMARC1; p=none"),
            ("txt-record", "client.good.test,v=spf1 ip4:127.0.0.0/8 -all"),
        ]
        cls.dns = Dnsmasq(["good.test", "example.test", "outside.test"], records)
        top = (f'[streams]\ngateway_pattern = "%s@{GATEWAY}"\nbot_name = "Gateway Bot"\n'
               f'[dns]\nnameservers = ["{cls.dns.address}"]\ntimeout = "2s"\ntries = 1\n'
               '[outbound]\npoll_interval = "100ms"\n')
        cls.smtp = SmtpServer(top_toml=top)
        cli = cls.smtp.cli
        for d in ("example.test", "good.test"):
            cli("domain", "add", d)
        cli("user", "add", "ann@example.test", "--password-stdin", "--name", "Ann Example", stdin=PW["ann@example.test"] + "\n")
        cli("user", "add", "dave@good.test", "--password-stdin", "--name", "Dave Good", stdin=PW["dave@good.test"] + "\n")
        cli("user", "add", "carl@example.test", "--password-stdin", stdin=PW["carl@example.test"] + "\n")
        cli("stream", "add", "Dev Team", "--slug", "dev")
        cli("stream", "members", "dev", "add", "ann@example.test", "dave@good.test")
        cls.address = cls.smtp.instance.cli_json("stream", "show", "dev")["email_address"]
        cls.smtp.start()
        cls.api = AdminApi(instance=cls.smtp.instance).start()
        cls.token = cls.smtp.instance.cli_json("token", "create", "--name", "tests")["token"]
        cls.deliverd_log = open(os.path.join(cls.smtp.instance.dir, "deliverd.log"), "w+")
        cls.deliverd = subprocess.Popen([binary("mailstead-deliverd"), "--config", cls.smtp.instance.config],
                                        stdout=cls.deliverd_log, stderr=cls.deliverd_log)
        cls.tls = client_tls(cls.smtp.cert)

    @classmethod
    def tearDownClass(cls):
        if cls.deliverd.poll() is None:
            cls.deliverd.terminate()
            cls.deliverd.wait(timeout=20)
        if os.environ.get("MAILSTEAD_TEST_LOG"):
            cls.deliverd_log.seek(0)
            print(cls.deliverd_log.read()[-8000:], cls.smtp.logs()[-8000:])
        cls.deliverd_log.close()
        cls.api.cleanup()
        cls.smtp.cleanup()
        cls.dns.stop()

    # ---- helpers ----

    def notifications(self, user, topic, stream_name="Dev Team"):
        """The notification emails about `topic` in the user's INBOX, parsed."""
        out = []
        for m in self.smtp.messages(user):
            raw = self.smtp.message(user, m["uid"])
            msg = email.message_from_bytes(raw, policy=email.policy.default)
            if msg["Auto-Submitted"] == "auto-generated" and msg["Subject"] == f"[{stream_name}] {topic}":
                out.append(msg)
        return out

    def wait_notification(self, user, topic, count=1):
        wait_for(lambda: len(self.notifications(user, topic)) >= count, timeout=30,
                 what=f"notification {count} about {topic!r} for {user}")
        return self.notifications(user, topic)[count - 1]

    def topic_messages(self, topic, stream="dev"):
        return self.smtp.instance.cli_json("stream", "messages", stream, "--topic", topic)

    def post_cli(self, topic, text, as_user=None, stream="dev"):
        args = ["stream", "post", stream, topic, "-"] + (["--as", as_user] if as_user else [])
        self.smtp.cli(*args, stdin=text + "\n")

    def reply_bytes(self, note, from_addr, text, extra=""):
        """A reply as Thunderbird writes it: its own Message-ID, In-Reply-To and References
        naming the notification, the notification quoted under an attribution line."""
        quoted = "\r\n".join("> " + line for line in note.get_content().splitlines())
        return (f"From: Someone <{from_addr}>\r\nTo: {note['Reply-To']}\r\nSubject: Re: {note['Subject']}\r\n"
                f"Message-ID: <{time.time()}.reply@{from_addr.split('@')[1]}>\r\n"
                f"In-Reply-To: {note['Message-ID']}\r\nReferences: {note['References']} {note['Message-ID']}\r\n"
                f"Date: Tue, 01 Dec 2026 10:00:00 +0000\r\nUser-Agent: Mozilla Thunderbird\r\n"
                f"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8; format=flowed\r\n{extra}\r\n"
                f"{text}\r\n\r\nOn 01/12/2026 09:00, Gateway Bot wrote:\r\n{quoted}\r\n").encode()

    def submit(self, user, rcpt, data):
        """Authenticated submission on 587 with STARTTLS: (code, text) of the end of DATA."""
        with smtplib.SMTP("127.0.0.1", self.smtp.submission, timeout=60) as c:
            c.starttls(context=self.tls)
            c.login(user, PW[user])
            try:
                c.sendmail(user, [rcpt], data)
                return 250, ""
            except smtplib.SMTPRecipientsRefused as e:
                code, text = e.recipients[rcpt]
                return code, text.decode()
            except smtplib.SMTPDataError as e:
                return e.smtp_code, e.smtp_error.decode()

    def mx(self, mail_from, rcpt, data, helo="client.good.test"):
        """The MX on port 25: (code, text) of RCPT when refused, else of the end of DATA."""
        with smtplib.SMTP("127.0.0.1", self.smtp.mx, local_hostname=helo, timeout=60) as c:
            try:
                c.sendmail(mail_from, [rcpt], data)
                return 250, ""
            except smtplib.SMTPRecipientsRefused as e:
                code, text = e.recipients[rcpt]
                return code, text.decode()
            except smtplib.SMTPDataError as e:
                return e.smtp_code, e.smtp_error.decode()

    def sign(self, msg, domain="example.test"):
        with tempfile.NamedTemporaryFile(suffix=".pem") as k:
            k.write(self.key)
            k.flush()
            p = subprocess.run([self.python, "-c", SIGN, "sel", domain, k.name], input=msg, capture_output=True,
                               timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        return p.stdout + msg

    def plain(self, from_addr, subject, text, rcpt=None):
        return (f"From: <{from_addr}>\r\nTo: <{rcpt or self.address}>\r\nSubject: {subject}\r\n"
                f"Message-ID: <{time.time()}@{from_addr.split('@')[1]}>\r\nDate: Tue, 01 Dec 2026 10:00:00 +0000\r\n"
                f"\r\n{text}\r\n").encode()

    # ---- the round trip ----

    def test_notification_and_reply_round_trip(self):
        self.post_cli("Launch plan", "Shall we launch on Monday?", as_user="dave@good.test")
        note = self.wait_notification("ann@example.test", "Launch plan")
        # The notification: from the bot, a one-member Reply-To, threading and loop headers.
        self.assertIn("Gateway Bot", note["From"])
        self.assertEqual(note["From"].addresses[0].addr_spec, f"noreply@{GATEWAY}")
        reply_to = note["Reply-To"].addresses[0].addr_spec
        self.assertRegex(reply_to, r"^mm[0-9a-f]{32}@" + re.escape(GATEWAY) + "$")
        self.assertEqual(note["To"].addresses[0].addr_spec, "ann@example.test")
        self.assertRegex(note["Message-ID"], r"^<stream-\d+\.msg-\d+\.to-\d+@" + re.escape(GATEWAY) + ">$")
        self.assertRegex(note["In-Reply-To"], r"^<stream-\d+\.topic-[0-9a-f]{32}@")
        self.assertEqual(note["References"], note["In-Reply-To"])
        self.assertIn(GATEWAY, note["List-Id"])
        self.assertIn("Dave Good", note.get_content())
        self.assertIn("Shall we launch on Monday?", note.get_content())
        # The poster gets none.
        self.assertEqual(self.notifications("dave@good.test", "Launch plan"), [])
        # A second message in the topic: the same thread and the same reply address.
        self.post_cli("Launch plan", "The build is green.", as_user="dave@good.test")
        second = self.wait_notification("ann@example.test", "Launch plan", 2)
        self.assertEqual(second["In-Reply-To"], note["In-Reply-To"])
        self.assertNotEqual(second["Message-ID"], note["Message-ID"])
        self.assertEqual(second["Reply-To"].addresses[0].addr_spec, reply_to)

        # Ann replies from her mail client (authenticated submission, as Thunderbird sends).
        code, text = self.submit("ann@example.test", reply_to,
                                 self.reply_bytes(note, "ann@example.test", "Yes, Monday it is."))
        self.assertEqual(code, 250, text)
        got = self.topic_messages("Launch plan")[-1]
        self.assertEqual(got["sender_email"], "ann@example.test")
        self.assertEqual(got["sender_full_name"], "Ann Example")
        self.assertEqual(got["topic"], "Launch plan")
        self.assertEqual(got["content"], "Yes, Monday it is.")
        self.assertEqual(got["via"], "email")
        # Dave is told of Ann's reply; Ann (the poster now) is not.
        dave_note = self.wait_notification("dave@good.test", "Launch plan")
        self.assertIn("Yes, Monday it is.", dave_note.get_content())
        self.assertIn("Ann Example", dave_note.get_content())
        time.sleep(0.5)
        self.assertEqual(len(self.notifications("ann@example.test", "Launch plan")), 2)

        # The same address used by anyone else is refused.
        before = len(self.topic_messages("Launch plan"))
        code, text = self.submit("carl@example.test", reply_to, self.reply_bytes(note, "carl@example.test", "carl"))
        self.assertEqual(code, 550, text)
        self.assertTrue(text.startswith("5.7.1"), text)
        code, text = self.submit("dave@good.test", reply_to, self.reply_bytes(note, "dave@good.test", "dave"))
        self.assertEqual((code, text[:5]), (550, "5.7.1"), text)
        code, text = self.mx("mallory@outside.test", reply_to, self.reply_bytes(note, "mallory@outside.test", "x"))
        self.assertEqual((code, text[:5]), (550, "5.7.1"), text)
        # Ann's address as envelope and From, from a host example.test's SPF does not allow
        # and without its DKIM signature: DMARC fails, refused at the end of DATA.
        code, text = self.mx("ann@example.test", reply_to, self.reply_bytes(note, "ann@example.test", "spoofed"))
        self.assertEqual((code, text[:5]), (550, "5.7.1"), text)
        self.assertIn("prove", text)
        # An unknown token.
        code, text = self.mx("ann@example.test", "mm" + "0" * 32 + "@" + GATEWAY, self.reply_bytes(note, "ann@example.test", "x"))
        self.assertEqual((code, text[:5]), (550, "5.1.1"), text)
        self.assertEqual(len(self.topic_messages("Launch plan")), before)

        # Ann's reply through the MX, DKIM-signed by her domain: DMARC passes, posted as Ann.
        signed = self.sign(self.reply_bytes(note, "ann@example.test", "Signed reply from outside."))
        code, text = self.mx("ann@example.test", reply_to, signed)
        self.assertEqual(code, 250, text)
        got = self.topic_messages("Launch plan")[-1]
        self.assertEqual((got["sender_email"], got["content"]), ("ann@example.test", "Signed reply from outside."))
        # A vacation-style automatic reply to the address is not posted.
        auto = self.sign(self.reply_bytes(note, "ann@example.test", "I am away.", "Auto-Submitted: auto-replied\r\n"))
        code, text = self.mx("ann@example.test", reply_to, auto)
        self.assertEqual((code, text[:5]), (550, "5.7.1"), text)
        # The notification sent back to the stream address (a redirect) is a loop: refused.
        loop = self.smtp.message("ann@example.test", self.smtp.messages("ann@example.test")[0]["uid"])
        code, text = self.mx("ann@example.test", self.address, loop)
        self.assertEqual((code, text[:5]), (550, "5.7.1"), text)
        self.assertIn("loop", text.lower())

    def test_api_post_notifies_and_watching_members_get_none(self):
        cli = self.smtp.cli
        cli("stream", "watch", "dev", "ann@example.test", "--for", "120")
        state = self.smtp.instance.cli_json("stream", "notify", "dev", "ann@example.test")
        self.assertGreater(state["watching_until"], time.time())
        admin = self.api.client(token=self.token)
        self.addCleanup(admin.close)
        r = admin.post("/api/v1/messages", {"type": "stream", "to": "dev", "topic": "Watched", "content": "one"})
        self.assertEqual(r.status, 201, r.body)
        self.wait_notification("dave@good.test", "Watched")
        # Dave's arrived; Ann's would have been queued in the same transaction.
        time.sleep(1)
        self.assertEqual(self.notifications("ann@example.test", "Watched"), [])
        # Watching over: she gets the next one; turned off: none again.
        cli("stream", "watch", "dev", "ann@example.test", "--stop")
        self.post_cli("Watched", "two")
        self.wait_notification("ann@example.test", "Watched")
        cli("stream", "notify", "dev", "ann@example.test", "none")
        self.assertEqual(self.smtp.instance.cli_json("stream", "notify", "dev", "ann@example.test")["notify"], "none")
        self.post_cli("Watched", "three")
        self.wait_notification("dave@good.test", "Watched", 3)
        time.sleep(1)
        self.assertEqual(len(self.notifications("ann@example.test", "Watched")), 1)
        cli("stream", "notify", "dev", "ann@example.test", "all")
        # The member's own settings over the API (a signed-in member).
        ann = self.api.client()
        self.addCleanup(ann.close)
        self.assertEqual(ann.login("ann@example.test", PW["ann@example.test"]).status, 200)
        r = ann.post("/api/v1/streams/dev/watch", {"seconds": 60})
        self.assertEqual(r.status, 200, r.body)
        self.assertGreater(r.json["watching_until"], time.time())
        r = ann.post("/api/v1/streams/dev/watch", {"seconds": 0})
        self.assertEqual(r.json["watching_until"], 0)
        r = ann.put("/api/v1/streams/dev/notifications", {"notify": "bogus"})
        self.assertEqual(r.status, 422, r.body)
        r = ann.put("/api/v1/streams/dev/notifications", {"notify": "all", "member": "dave@good.test"})
        self.assertEqual(r.status, 403, r.body)
        r = ann.get("/api/v1/streams/dev/notifications")
        self.assertEqual(r.json, {"member": "ann@example.test", "notify": "all", "watching_until": 0})
        # Bad CLI input: a clear error, nothing changed.
        p = cli("stream", "notify", "dev", "carl@example.test", "none", check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("not a member", p.stderr)
        p = cli("stream", "watch", "dev", "ann@example.test", "--for", "86401", check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("86400", p.stderr)
        r = ann.post("/api/v1/streams/dev/watch", {"seconds": 86401})
        self.assertEqual(r.status, 422, r.body)
        self.assertEqual(self.smtp.instance.cli_json("stream", "notify", "dev", "ann@example.test")["watching_until"], 0)

    def test_live_page_open_is_watching(self):
        """A member with the stream open in the web UI (its live WebSocket, after `watch`) gets
        no notification email; another member does. The watch expires by itself."""
        cli = self.smtp.cli
        cli("stream", "watch", "dev", "ann@example.test", "--stop")
        self.addCleanup(cli, "stream", "watch", "dev", "ann@example.test", "--stop")
        ann = self.api.client()
        self.addCleanup(ann.close)
        self.assertEqual(ann.login("ann@example.test", PW["ann@example.test"]).status, 200)
        w = WebSocket(self.api.port, "/api/v1/streams/dev/live", self.api.tls(), cookie=ann.cookie)
        self.addCleanup(w.close)
        self.assertEqual(w.recv()["type"], "hello")
        self.assertEqual(self.smtp.instance.cli_json("stream", "notify", "dev", "ann@example.test")["watching_until"], 0)
        w.send({"type": "watch", "topic": "Live page"})
        wait_for(lambda: self.smtp.instance.cli_json("stream", "notify", "dev", "ann@example.test")["watching_until"]
                 > time.time() + 30, timeout=10, what="the live page's watch in the store")
        # Repeated `watch`/`heartbeat` messages write no more: still one watch, still valid.
        for _ in range(20):
            w.send({"type": "heartbeat", "topic": "Live page"})
        self.post_cli("Live page", "while ann has the page open")
        self.assertEqual(w.recv()["type"], "message")  # the socket is alive and pushed it
        self.wait_notification("dave@good.test", "Live page")
        time.sleep(1)
        self.assertEqual(self.notifications("ann@example.test", "Live page"), [])
        # The page closed and the watch ended: notified again.
        w.close()
        cli("stream", "watch", "dev", "ann@example.test", "--stop")
        self.post_cli("Live page", "after ann closed the page")
        self.wait_notification("ann@example.test", "Live page")

    def test_email_post_notifies_and_member_leaving_rotates_tokens(self):
        cli = self.smtp.cli
        cli("stream", "add", "Ops", "--slug", "ops")
        cli("stream", "members", "ops", "add", "ann@example.test", "dave@good.test")
        ops = self.smtp.instance.cli_json("stream", "show", "ops")["email_address"]
        code, text = self.mx("monitor@outside.test", ops, self.plain("monitor@outside.test", "Disk full", "disk 95%", ops))
        self.assertEqual(code, 250, text)

        def ops_notes(user):
            return self.notifications(user, "Disk full", "Ops")

        wait_for(lambda: ops_notes("ann@example.test") and ops_notes("dave@good.test"), timeout=30,
                 what="both members notified of the email post")
        note = ops_notes("ann@example.test")[0]
        self.assertIn("monitor@outside.test", note.get_content())
        reply_to = note["Reply-To"].addresses[0].addr_spec
        # Ann leaves: her reply address stops working.
        cli("stream", "members", "ops", "remove", "ann@example.test")
        code, text = self.submit("ann@example.test", reply_to, self.reply_bytes(note, "ann@example.test", "late"))
        self.assertEqual((code, text[:5]), (550, "5.1.1"), text)

    # ---- who posts to a stream address ----

    def test_dmarc_pass_posts_as_the_local_user_and_refuse_mode(self):
        cli = self.smtp.cli
        cli("stream", "add", "Auth", "--slug", "auth")
        addr = self.smtp.instance.cli_json("stream", "show", "auth")["email_address"]
        self.assertEqual(self.smtp.instance.cli_json("stream", "show", "auth")["unauthenticated"], "bot")
        # SPF-aligned DMARC pass for good.test: posted as Dave.
        code, text = self.mx("dave@good.test", addr, self.plain("dave@good.test", "By SPF", "spf aligned", addr))
        self.assertEqual(code, 250, text)
        got = self.topic_messages("By SPF", "auth")[-1]
        self.assertEqual((got["sender_email"], got["email_from"]), ("dave@good.test", "dave@good.test"))
        # DKIM-aligned pass for example.test: posted as Ann.
        code, text = self.mx("ann@example.test", addr, self.sign(self.plain("ann@example.test", "By DKIM", "dkim", addr)))
        self.assertEqual(code, 250, text)
        self.assertEqual(self.topic_messages("By DKIM", "auth")[-1]["sender_email"], "ann@example.test")
        # The same From without proof: the gateway bot, the From shown.
        code, text = self.mx("ann@example.test", addr, self.plain("ann@example.test", "Spoofed", "not ann", addr))
        self.assertEqual(code, 250, text)
        got = self.topic_messages("Spoofed", "auth")[-1]
        self.assertEqual((got["sender_email"], got["sender_full_name"], got["email_from"]),
                         ("gateway-bot", "Gateway Bot", "ann@example.test"))
        # A DMARC pass of a domain that is not ours: the bot too.
        code, text = self.mx("x@outside.test", addr, self.plain("x@outside.test", "Outsider", "hello", addr))
        self.assertEqual(code, 250, text)
        self.assertEqual(self.topic_messages("Outsider", "auth")[-1]["sender_email"], "gateway-bot")

        # refuse: unproved mail gets 550 5.7.1 at the end of DATA; proved mail still posts.
        cli("stream", "unauthenticated", "auth", "refuse")
        code, text = self.mx("ann@example.test", addr, self.plain("ann@example.test", "Refused", "not ann", addr))
        self.assertEqual((code, text[:5]), (550, "5.7.1"), text)
        code, text = self.mx("x@outside.test", addr, self.plain("x@outside.test", "Refused", "outsider", addr))
        self.assertEqual((code, text[:5]), (550, "5.7.1"), text)
        self.assertEqual(self.topic_messages("Refused", "auth"), [])
        code, text = self.mx("dave@good.test", addr, self.plain("dave@good.test", "Still fine", "spf", addr))
        self.assertEqual(code, 250, text)
        code, text = self.submit("carl@example.test", addr, self.plain("carl@example.test", "Submitted", "auth", addr))
        self.assertEqual(code, 250, text)
        self.assertEqual(self.topic_messages("Submitted", "auth")[-1]["sender_email"], "carl@example.test")
        # The API field, and a bad value.
        admin = self.api.client(token=self.token)
        self.addCleanup(admin.close)
        r = admin.patch("/api/v1/streams/auth", {"unauthenticated": "bot"})
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual(r.json["unauthenticated"], "bot")
        r = admin.patch("/api/v1/streams/auth", {"unauthenticated": "maybe"})
        self.assertEqual(r.status, 422, r.body)
        p = cli("stream", "unauthenticated", "auth", "maybe", check=False)
        self.assertNotEqual(p.returncode, 0)

    def test_members_rule_takes_a_dmarc_proved_member(self):
        cli = self.smtp.cli
        cli("stream", "add", "Members", "--slug", "mem", "--email-posting", "members")
        cli("stream", "members", "mem", "add", "dave@good.test")
        addr = self.smtp.instance.cli_json("stream", "show", "mem")["email_address"]
        # A member proved by DMARC (SPF aligned): posted as the member.
        code, text = self.mx("dave@good.test", addr, self.plain("dave@good.test", "Member mail", "hi", addr))
        self.assertEqual(code, 250, text)
        self.assertEqual(self.topic_messages("Member mail", "mem")[-1]["sender_email"], "dave@good.test")
        # A non-member's envelope: refused at RCPT.
        code, text = self.mx("ann@example.test", addr, self.plain("ann@example.test", "Not member", "x", addr))
        self.assertEqual((code, text[:5]), (550, "5.7.1"), text)
        # The member's envelope with someone else's From: refused at the end of DATA.
        code, text = self.mx("dave@good.test", addr, self.plain("x@outside.test", "Other from", "x", addr))
        self.assertEqual((code, text[:5]), (550, "5.7.1"), text)


class ReplyTokenExpiry(unittest.TestCase):
    """[streams] reply_token_lifetime: a reply address stops working when it expires."""

    def test_expired_reply_address(self):
        smtp = SmtpServer(top_toml=f'[streams]\ngateway_pattern = "%s@{GATEWAY}"\nreply_token_lifetime = "5s"\n'
                                   '[outbound]\npoll_interval = "100ms"\n')
        deliverd = None
        try:
            smtp.cli("domain", "add", "example.test")
            for u in ("ann@example.test", "carl@example.test"):
                smtp.cli("user", "add", u, "--password-stdin", stdin=PW[u] + "\n")
            smtp.cli("stream", "add", "Dev Team", "--slug", "dev")
            smtp.cli("stream", "members", "dev", "add", "ann@example.test")
            smtp.start()
            deliverd = subprocess.Popen([binary("mailstead-deliverd"), "--config", smtp.instance.config],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            posted = time.monotonic()
            smtp.cli("stream", "post", "dev", "Soon gone", "-", stdin="hello\n")
            wait_for(lambda: smtp.messages("ann@example.test"), timeout=30, what="the notification")
            raw = smtp.message("ann@example.test", smtp.messages("ann@example.test")[0]["uid"])
            reply_to = re.search(rb"Reply-To: .*<(mm[0-9a-f]{32}@[^>]+)>", raw).group(1).decode()
            tls = client_tls(smtp.cert)

            def rcpt():
                with smtplib.SMTP("127.0.0.1", smtp.submission, timeout=30) as c:
                    c.starttls(context=tls)
                    c.login("ann@example.test", PW["ann@example.test"])
                    c.mail("ann@example.test")
                    return c.rcpt(reply_to)

            if time.monotonic() - posted < 4:
                self.assertEqual(rcpt()[0], 250)  # still valid
            time.sleep(max(0.0, posted + 5.5 - time.monotonic()))
            code, text = rcpt()
            self.assertEqual((code, text[:5]), (550, b"5.1.1"), text)
        finally:
            if deliverd and deliverd.poll() is None:
                deliverd.terminate()
                deliverd.wait(timeout=20)
            smtp.cleanup()


if __name__ == "__main__":
    unittest.main()
