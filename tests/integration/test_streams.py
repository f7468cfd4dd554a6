"""The chat gateway for real (docs/streams.md): mail to a stream address over SMTP (Python's
smtplib and a raw socket) lands in the stream, checked with `mailstead stream messages --json`
and over the admin API with curl; each address option; HTML-only mail; attachments stored
and served; a bad token, a disabled stream and the rate limit answered as documented."""
import email.policy
import json
import smtplib
import socket
import subprocess
import time
import unittest
from email.message import EmailMessage

from adminapi import AdminApi
from helpers import SmtpServer, client_tls, tool, wait_for

GATEWAY = "streams.example.test"
STREAMS_TOML = f'[streams]\ngateway_pattern = "%s@{GATEWAY}"\n'

QUOTED_REPLY = """Sounds good, ship it on Monday.

On Fri, 1 Mar 2024 at 10:00, Ann <ann@example.test> wrote:
> Shall we launch on Monday?
> The build is green.

-- 
Bob Builder
Outside Corp, +1 555 0100
"""


class StreamGateway(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.smtp = SmtpServer(top_toml=STREAMS_TOML).start()
        cls.api = AdminApi(instance=cls.smtp.instance).start()
        cli = cls.smtp.cli
        cli("domain", "add", "example.test")
        cli("user", "add", "ann@example.test", "--password-stdin", "--name", "Ann Admin", stdin="ann-secret-pw\n")
        cli("user", "add", "carl@example.test", "--password-stdin", stdin="carl-secret-pw\n")
        cli("stream", "add", "Dev Team", "--slug", "dev", "--description", "Builds and launches")
        cli("stream", "members", "dev", "add", "ann@example.test")
        cls.info = cls.smtp.instance.cli_json("stream", "show", "dev")
        cls.address = cls.info["email_address"]
        cls.token = cls.smtp.instance.cli_json("token", "create", "--name", "tests")["token"]
        cls.tls = client_tls(cls.smtp.cert)

    @classmethod
    def tearDownClass(cls):
        cls.api.cleanup()
        cls.smtp.cleanup()

    def with_options(self, *options):
        local, domain = self.address.split("@")
        return ".".join([local, *options]) + "@" + domain

    def send(self, rcpt, msg, sender="bob@outside.test"):
        with smtplib.SMTP("127.0.0.1", self.smtp.mx, timeout=30) as c:
            return c.send_message(msg, from_addr=sender, to_addrs=[rcpt])

    def messages(self, topic=None):
        args = ["stream", "messages", "dev"] + (["--topic", topic] if topic else [])
        return self.smtp.instance.cli_json(*args)

    def last(self, topic):
        ms = self.messages(topic)
        self.assertTrue(ms, f"nothing in topic {topic!r}")
        return ms[-1]

    def curl(self, method, path, body=None, token=None):
        args = [tool("curl"), "-s", "--cacert", self.api.cert, "-X", method, "-w", "\n%{http_code}",
                "-H", f"Authorization: Bearer {token or self.token}"]
        if body is not None:
            args += ["-H", "Content-Type: application/json", "--data-binary", json.dumps(body)]
        p = subprocess.run(args + [f"https://127.0.0.1:{self.api.port}{path}"], capture_output=True, timeout=60)
        out, _, code = p.stdout.rpartition(b"\n")
        return int(code), out

    def reply_mail(self, subject):
        m = EmailMessage()
        m["From"] = "Bob Builder <bob@outside.test>"
        m["To"] = self.address
        m["Subject"] = subject
        m.set_content(QUOTED_REPLY)
        return m

    def test_address_shown(self):
        self.assertRegex(self.address, r"^dev\.[0-9a-f]{32}@" + GATEWAY.replace(".", r"\.") + "$")
        out = self.smtp.cli("stream", "show", "dev").stdout
        self.assertIn(self.address, out)

    def test_default_trims_quotes_and_footer_and_links_attachments(self):
        m = self.reply_mail("Re: AW: Launch plan")
        m.add_attachment(b"%PDF-1.4 launch checklist", maintype="application", subtype="pdf", filename="checklist.pdf")
        self.send(self.address, m)
        got = self.last("Launch plan")
        self.assertEqual(got["topic"], "Launch plan")
        self.assertEqual(got["sender_email"], "gateway-bot")
        self.assertEqual(got["email_from"], "bob@outside.test")
        self.assertEqual(got["via"], "email")
        self.assertTrue(got["content"].startswith("Sounds good, ship it on Monday."), got["content"])
        self.assertNotIn("Shall we launch", got["content"])
        self.assertNotIn("Outside Corp", got["content"])
        self.assertEqual(len(got["attachments"]), 1)
        url = got["attachments"][0]["url"]
        self.assertIn(f"[checklist.pdf]({url})", got["content"])
        # The link works over the API and gives the bytes back.
        code, body = self.curl("GET", url)
        self.assertEqual(code, 200)
        self.assertEqual(body, b"%PDF-1.4 launch checklist")
        # The same message over the API (GET messages by topic).
        code, body = self.curl("GET", "/api/v1/streams/dev/messages?topic=launch%20plan")
        self.assertEqual(code, 200)
        api_msgs = json.loads(body)
        self.assertEqual(api_msgs[-1]["id"], got["id"])
        self.assertEqual(api_msgs[-1]["content"], got["content"])

    def test_show_sender(self):
        self.send(self.with_options("show-sender"), self.reply_mail("Shown sender"))
        got = self.last("Shown sender")
        self.assertTrue(got["content"].startswith("From: Bob Builder <bob@outside.test>\nSounds good"), got["content"])

    def test_include_footer(self):
        self.send(self.with_options("include-footer"), self.reply_mail("With footer"))
        got = self.last("With footer")
        self.assertIn("Outside Corp", got["content"])
        self.assertNotIn("Shall we launch", got["content"])

    def test_include_quotes(self):
        self.send(self.with_options("include-quotes"), self.reply_mail("With quotes"))
        got = self.last("With quotes")
        self.assertIn("> Shall we launch on Monday?", got["content"])
        self.assertNotIn("Outside Corp", got["content"])

    def test_forward_keeps_quotes(self):
        self.send(self.address, self.reply_mail("Fwd: forwarded thing"))
        got = self.last("forwarded thing")
        self.assertIn("> Shall we launch", got["content"])

    def alternative(self, subject):
        m = EmailMessage()
        m["From"] = "bob@outside.test"
        m["Subject"] = subject
        m.set_content("plain version\n")
        m.add_alternative("<html><body><p>html <b>version</b> with <a href='https://example.test/x'>a link</a></p>"
                          "</body></html>", subtype="html")
        return m

    def test_prefer_html_and_prefer_text(self):
        self.send(self.address, self.alternative("Alt default"))
        self.assertEqual(self.last("Alt default")["content"], "plain version")
        self.send(self.with_options("prefer-html"), self.alternative("Alt html"))
        self.assertEqual(self.last("Alt html")["content"], "html **version** with [a link](https://example.test/x)")
        self.send(self.with_options("prefer-text"), self.alternative("Alt text"))
        self.assertEqual(self.last("Alt text")["content"], "plain version")

    def test_html_only_mail_converted(self):
        m = EmailMessage()
        m["From"] = "bob@outside.test"
        m["Subject"] = "HTML only"
        m.set_content("<html><head><style>p {color: red}</style></head><body><h1>Status</h1>"
                      "<ul><li>build: green</li><li>deploy: done</li></ul><script>x()</script></body></html>",
                      subtype="html")
        self.send(self.address, m)
        self.assertEqual(self.last("HTML only")["content"], "# Status\n\n* build: green\n* deploy: done")

    def test_empty_subject_and_raw_socket(self):
        # A raw SMTP conversation, as a minimal sender writes it.
        s = socket.create_connection(("127.0.0.1", self.smtp.mx), timeout=30)
        f = s.makefile("rwb")

        def cmd(line):
            if line is not None:
                f.write(line.encode() + b"\r\n")
                f.flush()
            reply = f.readline()
            while reply[3:4] == b"-":
                reply = f.readline()
            return reply.decode()

        self.assertTrue(cmd(None).startswith("220"))
        self.assertTrue(cmd("EHLO raw.outside.test").startswith("250"))
        self.assertTrue(cmd("MAIL FROM:<raw@outside.test>").startswith("250"))
        self.assertTrue(cmd(f"RCPT TO:<{self.address.upper()}>").startswith("250"))
        self.assertTrue(cmd("DATA").startswith("354"))
        self.assertTrue(cmd("From: raw@outside.test\r\nSubject: Re:   \r\n\r\nraw body\r\n.").startswith("250"))
        cmd("QUIT")
        s.close()
        got = self.last("Email with no subject")
        self.assertEqual(got["content"], "raw body")
        self.assertEqual(got["email_from"], "raw@outside.test")

    def test_authenticated_local_sender_posts_as_itself(self):
        with smtplib.SMTP("127.0.0.1", self.smtp.submission, timeout=30) as c:
            c.starttls(context=self.tls)
            c.login("ann@example.test", "ann-secret-pw")
            m = EmailMessage()
            m["From"] = "ann@example.test"
            m["Subject"] = "From Ann"
            m.set_content("posted by a local user")
            c.send_message(m, to_addrs=[self.address])
        got = self.last("From Ann")
        self.assertEqual(got["sender_email"], "ann@example.test")
        self.assertEqual(got["sender_full_name"], "Ann Admin")
        self.assertNotEqual(got["sender_id"], 0)

    def rcpt_reply(self, rcpt):
        with smtplib.SMTP("127.0.0.1", self.smtp.mx, timeout=30) as c:
            c.ehlo("outside.test")
            c.mail("bob@outside.test")
            return c.rcpt(rcpt)

    def test_bad_token_and_unknown_option(self):
        local, domain = self.address.split("@")
        slug, token = local.split(".")
        wrong = "0" * 32 if token != "0" * 32 else "1" * 32
        code, text = self.rcpt_reply(f"{slug}.{wrong}@{domain}")
        self.assertEqual(code, 550)
        self.assertTrue(text.startswith(b"5.1.1"), text)
        code, text = self.rcpt_reply(self.with_options("loudly"))
        self.assertEqual(code, 550)
        self.assertTrue(text.startswith(b"5.1.1"), text)

    def test_disabled_stream_and_rotated_token(self):
        cli = self.smtp.cli
        cli("stream", "add", "Ops", "--slug", "ops")
        address = self.smtp.instance.cli_json("stream", "show", "ops")["email_address"]
        self.assertEqual(self.rcpt_reply(address)[0], 250)
        cli("stream", "disable", "ops")
        code, text = self.rcpt_reply(address)
        self.assertEqual(code, 550)
        self.assertTrue(text.startswith(b"5.7.1"), text)
        cli("stream", "enable", "ops")
        self.assertEqual(self.rcpt_reply(address)[0], 250)
        cli("stream", "posting", "ops", "nobody")
        self.assertEqual(self.rcpt_reply(address)[0], 550)
        cli("stream", "posting", "ops", "anyone")
        cli("stream", "rotate-token", "ops")
        code, text = self.rcpt_reply(address)
        self.assertEqual((code, text[:5]), (550, b"5.1.1"))
        new = self.smtp.instance.cli_json("stream", "show", "ops")["email_address"]
        self.assertNotEqual(new, address)
        self.assertEqual(self.rcpt_reply(new)[0], 250)

    def test_api_lists_streams_and_sends_messages(self):
        code, body = self.curl("GET", "/api/v1/streams")
        self.assertEqual(code, 200)
        dev = [s for s in json.loads(body) if s["slug"] == "dev"][0]
        self.assertEqual(dev["name"], "Dev Team")
        self.assertEqual(dev["members"], ["ann@example.test"])
        self.assertEqual(dev["email_address"], self.address)
        code, body = self.curl("POST", "/api/v1/streams/dev/messages", {"topic": "API topic", "content": "from the API"})
        self.assertEqual(code, 201, body)
        first = json.loads(body)["id"]
        code, body = self.curl("POST", "/api/v1/messages",
                               {"type": "stream", "to": "dev", "topic": "API topic", "content": "reference shape"})
        self.assertEqual(code, 201, body)
        got = self.messages("API topic")
        self.assertEqual([m["content"] for m in got], ["from the API", "reference shape"])
        self.assertEqual(got[0]["id"], first)
        self.assertEqual(got[0]["via"], "api")
        code, body = self.curl("GET", "/api/v1/streams/dev/topics")
        self.assertEqual(code, 200)
        self.assertIn({"name": "API topic", "messages": 2, "max_id": got[1]["id"]}, json.loads(body))
        # Bad input: each a clear error.
        code, body = self.curl("POST", "/api/v1/streams/dev/messages", {"topic": "", "content": "x"})
        self.assertEqual(code, 422, body)
        code, _ = self.curl("POST", "/api/v1/streams/nosuch/messages", {"topic": "t", "content": "x"})
        self.assertEqual(code, 404)
        code, _ = self.curl("POST", "/api/v1/messages", {"type": "private", "to": "dev", "topic": "t", "content": "x"})
        self.assertEqual(code, 422)
        # The CLI posts through the same operation.
        self.smtp.cli("stream", "post", "dev", "CLI topic", "-", stdin="typed at the console\n")
        self.assertEqual(self.last("CLI topic")["content"], "typed at the console")

    def test_members_see_their_streams_only(self):
        ann = self.api.client()
        self.assertEqual(ann.login("ann@example.test", "ann-secret-pw").status, 200)
        r = ann.get("/api/v1/streams")
        self.assertEqual(r.status, 200)
        self.assertIn("dev", [s["slug"] for s in r.json])
        carl = self.api.client()
        self.assertEqual(carl.login("carl@example.test", "carl-secret-pw").status, 200)
        self.assertEqual(carl.get("/api/v1/streams").json, [])
        self.assertEqual(carl.get("/api/v1/streams/dev/messages").status, 404)
        self.assertEqual(carl.post("/api/v1/streams/dev/messages", {"topic": "t", "content": "x"}).status, 404)
        r = ann.post("/api/v1/streams/dev/messages", {"topic": "Member post", "content": "hi from Ann"})
        self.assertEqual(r.status, 201, r.body)
        self.assertEqual(self.last("Member post")["sender_email"], "ann@example.test")


class StreamRateLimit(unittest.TestCase):
    """Three messages per 5 seconds on the gateway domain: the fourth gets 451 4.7.1, and
    once the window has passed the sender's retry is accepted."""

    def setUp(self):
        self.smtp = SmtpServer(top_toml=STREAMS_TOML + 'rate_limits = ["3/5s", "100/1h"]\n').start()
        self.smtp.cli("stream", "add", "Alerts", "--slug", "alerts")
        self.address = self.smtp.instance.cli_json("stream", "show", "alerts")["email_address"]

    def tearDown(self):
        self.smtp.cleanup()

    def test_over_the_limit_then_accepted_after_the_window(self):
        def send(i):
            m = EmailMessage()
            m["From"] = "monitor@outside.test"
            m["Subject"] = f"alert {i}"
            m.set_content(f"alert number {i}")
            with smtplib.SMTP("127.0.0.1", self.smtp.mx, timeout=30) as c:
                c.ehlo("outside.test")
                c.mail("monitor@outside.test")
                code, text = c.rcpt(self.address)
                if code != 250:
                    return code, text
                reply = c.data(m.as_bytes(policy=email.policy.SMTP))
                self.assertEqual(reply[0], 250, reply)
                return code, text

        started = time.monotonic()
        for i in range(3):
            self.assertEqual(send(i)[0], 250)
        code, text = send(3)
        self.assertEqual(code, 451)
        self.assertTrue(text.startswith(b"4.7.1"), text)
        self.assertLess(time.monotonic() - started, 5, "the sends took longer than the window; the test proves nothing")
        # The retry after the window goes through.
        wait_for(lambda: send(3)[0] == 250, timeout=15, what="the rate limit window to pass")
        msgs = self.smtp.instance.cli_json("stream", "messages", "alerts")
        self.assertEqual(sorted(m["topic"] for m in msgs), ["alert 0", "alert 1", "alert 2", "alert 3"])
        self.assertIn("smtp.rcpt.stream_rate_limited", self.smtp.logs())


if __name__ == "__main__":
    unittest.main()
