"""The web UI in a real browser: web-ui/tests/browser.mjs drives Debian's chromium through
playwright-core against a real mailstead-admin-api (with smtpd, imapd and the delivery
service on the same store). As the admin it signs in, adds a domain, users, an alias, a group
with members and policy, the catch-all (and a DKIM key where the API has the route) and reads
every page; as a user it changes the password, sets a vacation reply and creates an app
password. This side then checks what the clicks did: the store through the API, the vacation
reply through SMTP and the delivery service, the app password through IMAP. Screenshots of
every page land in the build directory (MAILSTEAD_ARTIFACTS)."""
import gzip
import http.client
import imaplib
import json
import os
import shutil
import smtplib
import subprocess
import time
import unittest

from adminapi import AdminApi
from helpers import Suite, binary, client_tls, free_ports, tool
from peers import Dnsmasq, SmtpSink

HERE = os.path.dirname(os.path.abspath(__file__))
WEB_UI = os.path.join(HERE, "..", "..", "web-ui")
ADMIN, ADMIN_PASSWORD = "admin@example.test", "the admin's password 1"


def wait_until(check, timeout=30, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


class WebUi(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.node, cls.chromium = tool("node"), tool("chromium")
        if not os.path.exists(os.path.join(WEB_UI, "node_modules", "playwright-core")):
            raise AssertionError("web-ui/node_modules has no playwright-core: the build's `npm ci` did not run")
        # The relay page's "send test email" goes to a local SMTP sink; the DNS check asks a
        # local dnsmasq that publishes example.org's MX (and nothing else of it).
        cls.sink = SmtpSink("127.0.0.1", free_ports(1)[0])
        cls.dns = Dnsmasq(["example.org"], [("mx-host", "example.org,mail.example.test,10")])
        cls.suite = Suite(top_toml=f'[dns]\nnameservers = ["{cls.dns.address}"]\n'
                                   '[outbound]\npoll_interval = "100ms"\nretry_base = "1s"\n')
        cls.api = AdminApi(instance=cls.suite.instance)
        cls.suite.cli("domain", "add", "example.test")
        cls.api.user(ADMIN, ADMIN_PASSWORD, admin=True)
        cls.suite.start("smtpd", "imapd")
        cls.api.start()
        cls.deliverd_log = open(os.path.join(cls.suite.instance.dir, "deliverd.log"), "w+")
        cls.deliverd = subprocess.Popen([binary("mailstead-deliverd"), "--config", cls.suite.instance.config],
                                        stdout=cls.deliverd_log, stderr=cls.deliverd_log)
        cls.artifacts = os.path.join(os.environ.get("MAILSTEAD_ARTIFACTS", os.path.join(cls.suite.instance.dir, "artifacts")),
                                     "web-ui")
        os.makedirs(cls.artifacts, exist_ok=True)

    @classmethod
    def tearDownClass(cls):
        if cls.deliverd.poll() is None:
            cls.deliverd.terminate()
            cls.deliverd.wait(timeout=20)
        cls.deliverd_log.close()
        cls.api.stop()
        cls.api.log.close()
        cls.suite.cleanup()
        cls.sink.stop()
        cls.dns.stop()

    def admin(self):
        c = self.api.client()
        self.assertEqual(c.login(ADMIN, ADMIN_PASSWORD).status, 200)
        return c

    def raw_get(self, path, headers=None):
        conn = http.client.HTTPSConnection("127.0.0.1", self.api.port, context=self.api.tls(), timeout=30)
        conn.request("GET", path, headers=headers or {})
        r = conn.getresponse()
        body = r.read()
        conn.close()
        return r, body

    def test_a_served_with_csp_gzip_and_under_300_kb(self):
        r, body = self.raw_get("/", {"Accept-Encoding": "gzip"})
        self.assertEqual(r.status, 200)
        self.assertEqual(r.getheader("Content-Encoding"), "gzip")
        html = gzip.decompress(body).decode()
        self.assertIn('<div id="app">', html)
        self.assertNotIn("<script>", html, "no inline script")
        csp = r.getheader("Content-Security-Policy")
        self.assertIn("script-src 'self'", csp)
        self.assertNotIn("unsafe-inline", csp)
        self.assertEqual(r.getheader("X-Frame-Options"), "DENY")
        self.assertEqual(r.getheader("Cache-Control"), "no-cache")
        # without Accept-Encoding: the plain file, the same bytes
        r2, plain = self.raw_get("/")
        self.assertIsNone(r2.getheader("Content-Encoding"))
        self.assertEqual(plain.decode(), html)
        r3, _ = self.raw_get("/", {"Accept-Encoding": "gzip;q=0, identity"})
        self.assertIsNone(r3.getheader("Content-Encoding"))
        # the first load: index.html and every asset it names, as a browser fetches them
        import re
        total = len(body)
        assets = re.findall(r'(?:src|href)="(/assets/[^"]+)"', html)
        self.assertEqual(len(assets), 2, html)
        for a in assets:
            ra, b = self.raw_get(a, {"Accept-Encoding": "gzip, deflate, br"})
            self.assertEqual(ra.status, 200, a)
            self.assertEqual(ra.getheader("Content-Encoding"), "gzip")
            self.assertIn("immutable", ra.getheader("Cache-Control"))
            self.assertEqual(ra.getheader("X-Frame-Options"), "DENY")
            total += len(b)
        print(f"web-ui first load: {total} bytes compressed")
        with open(os.path.join(self.artifacts, "first-load-bytes.txt"), "w") as f:
            f.write(f"{total}\n")
        self.assertLess(total, 300 * 1024)
        # a path that is neither a file nor the API: 404, never index.html or a directory listing
        self.assertEqual(self.raw_get("/assets/../settings.hpp")[0].status, 404)
        self.assertEqual(self.raw_get("/nothing-here")[0].status, 404)

    def test_b_admin_and_user_in_the_browser(self):
        shots = os.path.join(self.artifacts, "screenshots")
        shutil.rmtree(shots, ignore_errors=True)
        result_file = os.path.join(self.artifacts, "browser-result.json")
        env = dict(os.environ, WEB_URL=f"https://127.0.0.1:{self.api.port}/", CHROMIUM=self.chromium,
                   ADMIN=ADMIN, ADMIN_PASSWORD=ADMIN_PASSWORD, SHOTS=shots, RESULT=result_file,
                   SINK_PORT=str(self.sink.port))
        p = subprocess.run([self.node, os.path.join(WEB_UI, "tests", "browser.mjs")], env=env,
                           capture_output=True, text=True, timeout=300)
        with open(result_file) as f:
            result = json.load(f)
        self.assertTrue(result.get("ok"), f"browser run failed: {result.get('error')}\n{p.stdout[-3000:]}\n{p.stderr[-3000:]}"
                                          f"\nadmin-api exit: {self.api.proc.poll()} log:\n{self.api.logs()[-3000:]}")
        self.assertEqual(p.returncode, 0)
        self.assertEqual(result["adminErrors"], [], "no script errors on the admin pages")
        self.assertEqual(result["userErrors"], [], "no script errors on the user's pages")
        # The page's answers carry the strict headers.
        self.assertEqual(result["headers"].get("x-frame-options"), "DENY")
        self.assertIn("script-src 'self'", result["headers"].get("content-security-policy", ""))
        # Validation: the API's error landed at the field it named, marked and focused.
        self.assertEqual(result["addressInvalid"], "true")
        self.assertTrue(result["addressFocused"])
        self.assertIn("nobody", result["addressError"])
        self.assertIn("dave@example.org", result["aliasConflict"])
        self.assertTrue(result["currentPasswordError"])
        self.assertEqual(result["searchRows"], 1, "the search shows only carol")
        self.assertEqual(set(result["userNav"]), {"Streams", "My account", "Password", "Vacation reply", "Forwarding", "App passwords"})
        self.assertGreaterEqual(len(result["pages"]), 17)

        # The DNS check: example.org's MX (published by the test's dnsmasq) found, its DKIM
        # record (not published) missing.
        rows = result["dnsCheck"]  # [type, name (and its hint), value, what DNS has]
        mx = [r for r in rows if r[0] == "MX"]
        self.assertTrue(mx and mx[0][3].startswith("✓"), rows)
        dkim = [r for r in rows if r[0] == "TXT" and "_domainkey" in r[1]]
        self.assertTrue(dkim and all(r[3].startswith("✗") for r in dkim), rows)
        # "Send test email": both messages delivered through the relay set in the page, as
        # the sink received them, and the send log page lists them.
        self.assertEqual(len(result["testEmail"]), 2, result["testEmail"])
        self.assertTrue(all("delivered" in t for t in result["testEmail"]), result["testEmail"])
        got = wait_until(lambda: [m for m in self.sink.messages() if "<someone@example.net>" in m[0]["rcpt"]] or None,
                         what="the test emails at the sink")
        self.assertEqual(len(got), 2)
        self.assertGreaterEqual(len([r for r in result["sendLog"] if "someone@example.net" in r and "delivered" in r]), 2,
                                result["sendLog"])

        # What the clicks changed, read back from the server.
        c = self.admin()
        self.assertIn("example.org", [d["domain"] for d in c.get("/api/v1/domains").json])
        carol = c.get("/api/v1/users/carol%40example.org").json
        self.assertEqual((carol["name"], carol["quota"]), ("Carol Example", 100 * 1024 * 1024))
        self.assertEqual(carol["aliases"], ["info@example.org"])
        dave = c.get("/api/v1/users/dave%40example.org").json
        self.assertEqual((dave["admin"], dave["enabled"]), (True, True))
        team = c.get("/api/v1/groups/team%40example.org").json
        self.assertEqual((sorted(team["members"]), team["policy"]), (["carol@example.org", "dave@example.org"], "domain"))
        catchall = {x["domain"]: x["users"] for x in c.get("/api/v1/catchall").json}
        self.assertEqual(catchall["example.org"], ["carol@example.org"])
        self.assertIn("carol@example.org", self.suite.cli("resolve", "whoever@example.org").stdout)
        keys = json.loads(self.suite.cli("dkim", "show", "example.org", "--json").stdout)
        self.assertGreaterEqual(len(keys), 1, "the domain got its DKIM key")
        if result["dkimBuilt"]:
            self.assertIn("ed25519", [k["algorithm"] for k in keys])

        # The new password works over IMAP, the first one no longer does.
        imap = imaplib.IMAP4_SSL("127.0.0.1", self.suite.imaps, ssl_context=client_tls(self.suite.cert))
        with self.assertRaises(imaplib.IMAP4.error):
            imap.login("carol@example.org", "carol's first password")
        imap.logout()
        imap = imaplib.IMAP4_SSL("127.0.0.1", self.suite.imaps, ssl_context=client_tls(self.suite.cert))
        self.assertEqual(imap.login("carol@example.org", "carol's second password")[0], "OK")
        imap.logout()

        # The app password shown once logs in over IMAP.
        app = result["appPassword"]
        self.assertRegex(app, r"^[a-z0-9]{4}(-[a-z0-9]{4}){4}$")
        imap = imaplib.IMAP4_SSL("127.0.0.1", self.suite.imaps, ssl_context=client_tls(self.suite.cert))
        self.assertEqual(imap.login("carol@example.org", app)[0], "OK")
        self.assertEqual(imap.select("INBOX")[0], "OK")
        imap.logout()
        c.close()

        # The vacation reply: dave writes to carol over SMTP; the reply reaches dave's INBOX
        # through the queue and the delivery service.
        s = smtplib.SMTP_SSL("127.0.0.1", self.suite.submissions, context=client_tls(self.suite.cert), timeout=30)
        s.login("dave@example.org", "dave's new password 2")
        s.sendmail("dave@example.org", ["carol@example.org"],
                   "From: dave@example.org\r\nTo: carol@example.org\r\nSubject: lunch?\r\n"
                   f"Message-ID: <lunch{time.time()}@example.org>\r\n\r\nAre you in?\r\n")
        s.quit()
        wait_until(lambda: self.suite.instance.cli_json("message", "list", "carol@example.org", "INBOX"),
                   what="dave's message in carol's INBOX")

        def reply():
            for m in self.suite.instance.cli_json("message", "list", "dave@example.org", "INBOX"):
                raw = self.suite.cli("message", "get", "dave@example.org", "INBOX", str(m["uid"])).stdout
                if "Away until Monday" in raw:
                    return raw
            return None
        raw = wait_until(reply, timeout=60, what="the vacation reply in dave's INBOX")
        self.assertIn("I am away until Monday.", raw)
        self.assertIn("Auto-Submitted: auto-replied", raw)


if __name__ == "__main__":
    unittest.main()
