"""Chat streams and paged lists in the browser: web-ui/tests/streams.mjs drives Debian's
chromium through playwright-core against a real mailstead-admin-api and smtpd on one store.
The admin pages through the users (three pages of 10) and searches them, creates a member
and a stream, rotates its address; the member opens the stream, posts with the compose box,
and a message this side sends by email (smtplib to the real smtpd) while the page is open
must appear in it without a reload, over the stream's WebSocket. Screenshots land in the
build directory (MAILSTEAD_ARTIFACTS)."""
import json
import os
import shutil
import smtplib
import subprocess
import threading
import unittest
from email.message import EmailMessage

from adminapi import AdminApi
from helpers import SmtpServer, tool

HERE = os.path.dirname(os.path.abspath(__file__))
WEB_UI = os.path.join(HERE, "..", "..", "web-ui")
ADMIN, ADMIN_PASSWORD = "admin@example.test", "the admin's password 1"
GATEWAY = "streams.example.test"
PAGED_USERS = 22  # with the admin: 23 users, three pages of 10


class WebStreams(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.node, cls.chromium = tool("node"), tool("chromium")
        if not os.path.exists(os.path.join(WEB_UI, "node_modules", "playwright-core")):
            raise AssertionError("web-ui/node_modules has no playwright-core: the build's `npm ci` did not run")
        cls.smtp = SmtpServer(top_toml=f'[streams]\ngateway_pattern = "%s@{GATEWAY}"\n').start()
        cls.api = AdminApi(instance=cls.smtp.instance).start()
        cls.smtp.cli("domain", "add", "example.test")
        cls.api.user(ADMIN, ADMIN_PASSWORD, admin=True)
        c = cls.api.client()
        assert c.login(ADMIN, ADMIN_PASSWORD).status == 200
        for i in range(1, PAGED_USERS + 1):
            r = c.post("/api/v1/users", {"address": f"pager{i:02d}@example.test", "password": "a paged password 1"})
            assert r.status == 201, r
        for i in range(1, 13):
            c.post("/api/v1/aliases", {"alias": f"alias{i:02d}@example.test", "user": "pager01@example.test"})
        c.close()
        cls.artifacts = os.path.join(os.environ.get("MAILSTEAD_ARTIFACTS", os.path.join(cls.smtp.instance.dir, "artifacts")),
                                     "web-ui")
        os.makedirs(cls.artifacts, exist_ok=True)

    @classmethod
    def tearDownClass(cls):
        cls.api.cleanup()
        cls.smtp.cleanup()

    def send_email(self, address, text="Sent by email while the page was open.\n", subject="Re: go live"):
        msg = EmailMessage()
        msg["From"] = "Bob Outside <bob@outside.test>"
        msg["To"] = address
        msg["Subject"] = subject
        msg.set_content(text)
        with smtplib.SMTP("127.0.0.1", self.smtp.mx, timeout=30) as s:
            s.send_message(msg, from_addr="bob@outside.test", to_addrs=[address])

    def run_browser(self, script, env, on_email):
        """Runs a browser script; on its line "EMAIL-NOW X" calls on_email(X) and answers SENT."""
        p = subprocess.Popen([self.node, os.path.join(WEB_UI, "tests", script)], env=env, text=True,
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        err = []
        t = threading.Thread(target=lambda: err.append(p.stderr.read()), daemon=True)
        t.start()
        out = []
        watchdog = threading.Timer(300, p.kill)
        watchdog.start()
        try:
            for line in p.stdout:
                out.append(line)
                if line.startswith("EMAIL-NOW "):
                    try:
                        on_email(line.split()[1])
                        p.stdin.write("SENT\n")
                    except Exception as e:  # the browser side reports it
                        p.stdin.write(f"FAILED {e}\n")
                    p.stdin.flush()
            p.wait()
        finally:
            watchdog.cancel()
        t.join(10)
        return p, "".join(out), "".join(err)

    def test_streams_and_paging_in_the_browser(self):
        shots = os.path.join(self.artifacts, "screenshots-streams")
        shutil.rmtree(shots, ignore_errors=True)
        result_file = os.path.join(self.artifacts, "browser-streams-result.json")
        env = dict(os.environ, WEB_URL=f"https://127.0.0.1:{self.api.port}/", CHROMIUM=self.chromium,
                   ADMIN=ADMIN, ADMIN_PASSWORD=ADMIN_PASSWORD, SHOTS=shots, RESULT=result_file)
        sent = []

        def email(address):
            sent.append(address)
            self.send_email(address)
        p, out, err = self.run_browser("streams.mjs", env, email)
        sent = sent[0] if sent else None
        with open(result_file) as f:
            result = json.load(f)
        self.assertTrue(result.get("ok"), f"browser run failed: {result.get('error')}\n{out[-3000:]}\n"
                                          f"{err[-3000:]}\nadmin-api log:\n{self.api.logs()[-3000:]}")
        self.assertEqual(p.returncode, 0)
        self.assertEqual(result["adminErrors"], [], "no script errors on the admin pages")
        self.assertEqual(result["memberErrors"], [], "no script errors on the member's pages")
        # Paging: every user once, in address order, over three pages; the search finds one.
        self.assertEqual(result["userPages"], 3)
        expected = sorted([ADMIN] + [f"pager{i:02d}@example.test" for i in range(1, PAGED_USERS + 1)])
        self.assertEqual(result["pagedUsers"], expected)
        self.assertEqual(result["searchRows"], ["pager07@example.test"])
        # The stream: the member was refused for an unknown address first, the address rotated.
        self.assertIn("nobody@example.test", result["memberError"])
        self.assertNotEqual(result["address"], result["rotatedAddress"])
        self.assertTrue(result["rotatedAddress"].startswith("launch.") and result["rotatedAddress"].endswith("@" + GATEWAY))
        self.assertEqual(sent, result["rotatedAddress"])
        self.assertEqual(result["memberStreams"], ["Launch Team (launch)"])
        # Safe rendering: the typed markup is text, no element made of it.
        self.assertEqual(result["injected"], 0)
        # The email arrived in the open page, without a reload.
        self.assertEqual(result["reloads"], 0)
        self.assertIn("bob@outside.test", result["emailSender"])
        print(f"email → open page: {result['emailSeenMs']} ms after smtpd's 250")
        # and in the store, as the API reads it
        msgs = self.smtp.instance.cli_json("stream", "messages", "launch", "--topic", "go live")
        self.assertEqual([m["via"] for m in msgs], ["api", "email"])
        self.assertEqual(msgs[0]["sender_email"], "mia@example.test")
        self.assertGreaterEqual(len(result["pages"]), 5)

    def test_z_firefox(self):
        """The paged users page and a live stream in Debian's firefox-esr (puppeteer-core,
        WebDriver BiDi)."""
        firefox = tool("firefox-esr")
        if not os.path.exists(os.path.join(WEB_UI, "node_modules", "puppeteer-core")):
            raise AssertionError("web-ui/node_modules has no puppeteer-core: the build's `npm ci` did not run")
        cli = self.smtp.cli
        cli("user", "add", "fiona@example.test", "--password-stdin", stdin="fiona's password 1\n")
        cli("stream", "add", "Firefox Fans", "--slug", "ff")
        cli("stream", "members", "ff", "add", "fiona@example.test")
        address = self.smtp.instance.cli_json("stream", "show", "ff")["email_address"]
        shots = os.path.join(self.artifacts, "screenshots-firefox")
        shutil.rmtree(shots, ignore_errors=True)
        result_file = os.path.join(self.artifacts, "browser-firefox-result.json")
        env = dict(os.environ, WEB_URL=f"https://127.0.0.1:{self.api.port}/", FIREFOX=firefox,
                   ADMIN=ADMIN, ADMIN_PASSWORD=ADMIN_PASSWORD, MEMBER="fiona@example.test",
                   MEMBER_PASSWORD="fiona's password 1", STREAM="ff", SHOTS=shots, RESULT=result_file)
        p, out, err = self.run_browser(
            "firefox.mjs", env,
            lambda _: self.send_email(address, "Sent by email to the Firefox page.\n", "firefox"))
        with open(result_file) as f:
            result = json.load(f)
        self.assertTrue(result.get("ok"), f"firefox run failed: {result.get('error')}\n{out[-3000:]}\n{err[-3000:]}")
        self.assertEqual(p.returncode, 0)
        print(f"firefox: {result['userAgent']}; email → open page {result['emailSeenMs']} ms")
        self.assertEqual(result["errors"], [])
        self.assertEqual(len(result["secondPage"]), 10)
        self.assertEqual(result["searchRows"], ["pager07@example.test"])
        self.assertEqual(result["injected"], 0)
        self.assertTrue(result["sameDocument"], "the page was not reloaded")


if __name__ == "__main__":
    unittest.main()
