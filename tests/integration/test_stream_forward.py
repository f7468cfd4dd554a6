"""Forwarding stream messages to other chat systems (docs/streams.md, "Forwarding"), for real:
mailstead-smtpd takes mail for a stream, the admin API and the CLI post too, and a
mailstead-deliverd process of the test's own sends the forwarding queue to a local receiver
(Python's http.server, over HTTPS with a certificate from the test's own CA, or plain HTTP
where the target allows it). The receiver checks the documented request shapes (Basic auth,
form fields, JSON), answers as each test scripts it (500, 429 with Retry-After, 400), and
records what it got, so retries, order, restarts and failures are seen from the outside."""
import base64
import json
import os
import signal
import smtplib
import ssl
import subprocess
import threading
import time
import unittest
import urllib.parse
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from adminapi import AdminApi
from helpers import SmtpServer, binary, free_ports
from peers import wait_until
from tls_peers import TestCa

GATEWAY = "streams.example.test"
API_KEY = "zK3y-Secret-0123456789abcdef"
BOT = "mirror-bot@chat.example.test"
HOOK_TOKEN = "T000/B000/hook-secret-token-xyz"


class Receiver:
    """A chat server stand-in: records each request; answers from a per-path script, else 200.
    A scripted answer may carry a threading.Event as a fourth item: the answer waits for it
    (at most 60 s), a receiver that is slow to answer."""

    def __init__(self, tls_cert=None):
        self.requests = []  # dicts: path, headers, body, time
        self.script = {}    # path → [(status, headers, body)] answered first, in order
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                with receiver.lock:
                    receiver.requests.append({"path": self.path, "headers": dict(self.headers), "body": body,
                                              "time": time.monotonic()})
                    todo = receiver.script.get(self.path)
                    status, headers, text, *slow = todo.pop(0) if todo else (200, {}, '{"result": "success", "id": 1}')
                if slow:
                    slow[0].wait(60)
                out = text.encode()
                try:
                    self.send_response(status)
                    for k, v in headers.items():
                        self.send_header(k, v)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(out)))
                    self.end_headers()
                    self.wfile.write(out)
                except OSError:
                    pass  # the sender gave up waiting (a slow answer)

            def log_message(self, *args):
                pass

        self.port = free_ports(1)[0]
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        if tls_cert:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(*tls_cert)
            self.server.socket = ctx.wrap_socket(self.server.socket, server_side=True)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def at(self, path):
        with self.lock:
            return [r for r in self.requests if r["path"] == path]

    def answer(self, path, *answers):
        with self.lock:
            self.script[path] = list(answers)

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def form(request):
    return {k: v[0] for k, v in urllib.parse.parse_qs(request["body"].decode(), strict_parsing=True).items()}


class StreamForwarding(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.ca = TestCa()
        cls.https = Receiver(tls_cert=cls.ca.issue(["localhost"]))
        cls.http = Receiver()
        top = (f'[streams]\ngateway_pattern = "%s@{GATEWAY}"\nforward_retry_base = "300ms"\n'
               f'forward_retry_max = "1s"\nforward_poll_interval = "100ms"\nforward_timeout = "5s"\n'
               f'forward_max_age = "25s"\nforward_ca_file = "{cls.ca.cert}"\n')
        cls.smtp = SmtpServer(top_toml=top).start()
        cls.api = AdminApi(instance=cls.smtp.instance).start()
        cls.smtp.cli("domain", "add", "example.test")
        cls.smtp.cli("user", "add", "ann@example.test", "--password-stdin", "--name", "Ann Admin",
                     stdin="ann-secret-pw\n")
        token = cls.smtp.instance.cli_json("token", "create", "--name", "tests")["token"]
        cls.client = cls.api.client(token=token)
        cls.secrets = os.path.join(cls.smtp.instance.dir, "secrets")
        os.makedirs(cls.secrets)
        cls.deliverd_log = open(os.path.join(cls.smtp.instance.dir, "deliverd.log"), "w+")
        cls.deliverd = None
        cls.start_deliverd()

    @classmethod
    def start_deliverd(cls):
        wrap = os.environ.get("MAILSTEAD_TEST_WRAP", "").split()
        cls.deliverd = subprocess.Popen(wrap + [binary("mailstead-deliverd"), "--config", cls.smtp.instance.config],
                                        stdout=cls.deliverd_log, stderr=cls.deliverd_log)

    @classmethod
    def tearDownClass(cls):
        if cls.deliverd.poll() is None:
            cls.deliverd.send_signal(signal.SIGTERM)
            cls.deliverd.wait(timeout=30)
        if os.environ.get("MAILSTEAD_TEST_LOGS"):
            print(cls.deliverd_says()[-20000:])
        cls.deliverd_log.close()
        cls.client.close()
        cls.api.cleanup()
        cls.smtp.cleanup()
        cls.https.stop()
        cls.http.stop()
        cls.ca.cleanup()

    @classmethod
    def deliverd_says(cls):
        cls.deliverd_log.flush()
        with open(cls.deliverd_log.name) as f:
            return f.read()

    def secret_file(self, name, text):
        path = os.path.join(self.secrets, name)
        with open(path, "w") as f:
            f.write(text + "\n")
        return path

    def stream(self, slug):
        self.smtp.cli("stream", "add", slug.title(), "--slug", slug)
        return self.smtp.instance.cli_json("stream", "show", slug)

    def add_webhook(self, slug, url, *extra):
        out = self.smtp.cli("stream", "forward", slug, "add", "webhook", "--url-file",
                            self.secret_file(slug + ".url", url), *extra).stdout
        self.assertIn("added forward", out)
        return self.forwards(slug)[-1]["id"]

    def forwards(self, slug):
        return self.smtp.instance.cli_json("stream", "forward", slug, "list")

    def post_cli(self, slug, topic, text):
        self.smtp.cli("stream", "post", slug, topic, "-", stdin=text)

    def post_mail(self, address, subject, text, sender="bob@outside.test"):
        m = EmailMessage()
        m["From"] = f"Bob Builder <{sender}>"
        m["To"] = address
        m["Subject"] = subject
        m.set_content(text)
        with smtplib.SMTP("127.0.0.1", self.smtp.mx, timeout=30) as c:
            c.send_message(m, from_addr=sender, to_addrs=[address])

    def wait_requests(self, receiver, path, n, what):
        return wait_until(lambda: len(receiver.at(path)) >= n and receiver.at(path), what=what)

    def test_zulip_and_webhook_get_mail_api_and_cli_posts(self):
        info = self.stream("dev")
        site = f"https://localhost:{self.https.port}/zulip-dev"
        out = self.smtp.cli("stream", "forward", "dev", "add", "zulip", "--site", site, "--bot-email", BOT,
                            "--api-key-file", self.secret_file("key", API_KEY), "--stream", "mirror").stdout
        self.assertIn("added forward", out)
        hook = f"https://localhost:{self.https.port}/hooks/{HOOK_TOKEN}"
        self.add_webhook("dev", hook)

        self.post_mail(info["email_address"], "Launch plan", "Ship it on Monday.")
        r = self.client.post("/api/v1/streams/dev/messages", {"topic": "Launch plan", "content": "Agreed *via API*."})
        self.assertEqual(r.status, 201, r)
        self.post_cli("dev", "Other topic", "From the CLI & friends")

        zulip = self.wait_requests(self.https, "/zulip-dev/api/v1/messages", 3, "three posts at the zulip receiver")
        hooks = self.wait_requests(self.https, f"/hooks/{HOOK_TOKEN}", 3, "three posts at the webhook")
        time.sleep(1)  # nothing more arrives: each once
        self.assertEqual(len(self.https.at("/zulip-dev/api/v1/messages")), 3)
        self.assertEqual(len(self.https.at(f"/hooks/{HOOK_TOKEN}")), 3)

        auth = "Basic " + base64.b64encode(f"{BOT}:{API_KEY}".encode()).decode()
        for req in zulip:
            self.assertEqual(req["headers"]["Authorization"], auth)
            self.assertEqual(req["headers"]["Content-Type"], "application/x-www-form-urlencoded")
        fields = [form(req) for req in zulip]
        self.assertEqual([f["type"] for f in fields], ["stream"] * 3)
        self.assertEqual([f["to"] for f in fields], ["mirror"] * 3)
        self.assertEqual([f["topic"] for f in fields], ["Launch plan", "Launch plan", "Other topic"])
        self.assertIn("bob@outside.test", fields[0]["content"])
        self.assertIn("Ship it on Monday.", fields[0]["content"])
        self.assertIn("Agreed *via API*.", fields[1]["content"])
        self.assertIn("From the CLI & friends", fields[2]["content"])

        for req in hooks:
            self.assertEqual(req["headers"]["Content-Type"], "application/json")
            self.assertNotIn("Authorization", req["headers"])
        texts = [json.loads(req["body"]) for req in hooks]
        self.assertIn("Launch plan", texts[0]["text"])
        self.assertIn("bob@outside.test", texts[0]["text"])
        self.assertIn("Ship it on Monday.", texts[0]["text"])
        self.assertEqual(texts[0]["username"], "Email gateway")  # posted by the gateway bot, sender in the text
        self.assertIn("Agreed *via API*.", texts[1]["text"])
        self.assertIn("Other topic", texts[2]["text"])

        # Secrets are never shown (CLI, API) nor logged.
        listed = self.smtp.cli("stream", "forward", "dev", "list").stdout
        status = self.smtp.cli("stream", "forward", "dev", "status", "--json").stdout
        api_list = self.client.get("/api/v1/streams/dev/forwards")
        self.assertEqual(api_list.status, 200)
        for shown in (listed, status, api_list.body, self.deliverd_says(), self.api.logs(), self.smtp.logs()):
            self.assertNotIn(API_KEY, shown)
            self.assertNotIn("hook-secret-token", shown)
        self.assertIn("…cdef", listed)
        targets = api_list.json
        self.assertEqual([t["kind"] for t in targets], ["zulip", "webhook"])
        self.assertEqual([(t["pending"], t["failed"]) for t in targets], [(0, 0), (0, 0)])

    def test_retried_after_500_and_429_then_sent_once_in_order(self):
        self.stream("retry")
        path = "/hooks/retry"
        self.http.answer(path, (500, {}, '{"error": "down"}'), (429, {"Retry-After": "2"}, '{"error": "slow down"}'))
        self.add_webhook("retry", f"http://127.0.0.1:{self.http.port}{path}", "--allow-http")
        self.post_cli("retry", "t", "first message")
        self.post_cli("retry", "t", "second message")
        got = self.wait_requests(self.http, path, 4, "four requests at the webhook")
        time.sleep(1.5)
        got = self.http.at(path)
        texts = [json.loads(r["body"])["text"] for r in got]
        self.assertEqual(len(got), 4, texts)
        self.assertTrue(all("first message" in t for t in texts[:3]), texts)
        self.assertIn("second message", texts[3])
        # Retry-After: 2 is honoured although the backoff would have tried sooner.
        self.assertGreaterEqual(got[2]["time"] - got[1]["time"], 1.9)
        self.assertIn("event=forward.deferred", self.deliverd_says())
        self.assertEqual(self.forwards("retry")[0]["pending"], 0)

    def test_jobs_survive_a_deliverd_crash(self):
        self.stream("restart")
        path = "/hooks/restart"
        self.http.answer(path, (503, {}, "maintenance"), (503, {}, "maintenance"), (503, {}, "maintenance"))
        self.add_webhook("restart", f"http://127.0.0.1:{self.http.port}{path}", "--allow-http")
        self.post_cli("restart", "t", "before the crash")
        self.wait_requests(self.http, path, 1, "a first attempt")
        # Killed between attempts (a kill mid-attempt leaves a lease that a new instance
        # waits out: forward_timeout × 2 + 10 s).
        wait_until(lambda: self.forwards("restart")[0]["next"]["attempts"] >= 1 and
                   not self.forwards("restart")[0]["next"]["sending"], what="the first attempt settled")
        self.deliverd.send_signal(signal.SIGKILL)
        self.deliverd.wait(timeout=30)
        try:
            self.post_cli("restart", "t", "while it was down")
            target = self.forwards("restart")[0]
            self.assertEqual(target["pending"], 2)
            self.assertGreaterEqual(target["next"]["attempts"], 1)
            self.assertIn("HTTP 503", target["next"]["last_error"])
            status = self.smtp.cli("stream", "forward", "restart", "status").stdout
            self.assertIn("pending 2", status)
            self.assertIn("HTTP 503", status)
        finally:
            self.start_deliverd()
        wait_until(lambda: any("while it was down" in r["body"].decode() for r in self.http.at(path)),
                   what="the second message after the restart")
        time.sleep(1)
        bodies = [json.loads(r["body"])["text"] for r in self.http.at(path)]
        self.assertEqual(sum("before the crash" in b for b in bodies), 4, bodies)  # three 503s, then 200
        self.assertEqual(sum("while it was down" in b for b in bodies), 1, bodies)
        self.assertIn("while it was down", bodies[-1])
        self.assertEqual(self.forwards("restart")[0]["pending"], 0)

    def test_lease_returned_at_sigterm(self):
        self.stream("slow")
        path = "/hooks/slow"
        answered = threading.Event()
        self.http.answer(path, (200, {}, '{"ok": true}', answered))
        self.add_webhook("slow", f"http://127.0.0.1:{self.http.port}{path}", "--allow-http")
        try:
            self.post_cli("slow", "t", "cut short by a restart")
            self.wait_requests(self.http, path, 1, "the attempt the receiver is slow to answer")
            # Stopped in the middle of the attempt (forward_timeout is 5 s): the lease
            # (forward_timeout × 2 + 10 s) goes back with the job, no attempt counted.
            self.deliverd.send_signal(signal.SIGTERM)
            self.assertEqual(self.deliverd.wait(timeout=30), 0)
            job = self.forwards("slow")[0]["next"]
            self.assertFalse(job["sending"], job)
            self.assertEqual(job["attempts"], 0, job)
            self.assertIn("event=forward.released", self.deliverd_says())
        finally:
            answered.set()
            started = time.monotonic()
            self.start_deliverd()
        self.wait_requests(self.http, path, 2, "the message sent again after the restart")
        # Sent at the new instance's first look, not after the 20 s lease.
        self.assertLess(time.monotonic() - started, 10)
        wait_until(lambda: self.forwards("slow")[0]["pending"] == 0, what="the job settled")
        self.assertEqual(len(self.http.at(path)), 2)

    def test_400_fails_at_once_and_is_shown(self):
        self.stream("refused")
        site = f"http://127.0.0.1:{self.http.port}/zulip-refused"
        path = "/zulip-refused/api/v1/messages"
        self.http.answer(path, (400, {}, '{"result": "error", "msg": "Stream \'Refused\' does not exist"}'))
        self.smtp.cli("stream", "forward", "refused", "add", "zulip", "--site", site, "--bot-email", BOT,
                      "--api-key-file", self.secret_file("key2", API_KEY), "--allow-http")
        self.post_cli("refused", "t", "nobody will see this")
        self.post_cli("refused", "t", "but this one goes")
        self.wait_requests(self.http, path, 2, "two requests")
        time.sleep(1)
        self.assertEqual(len(self.http.at(path)), 2)  # the 400 was not retried
        target = wait_until(lambda: [t for t in self.forwards("refused") if t["failed"] == 1 and t["pending"] == 0],
                            what="one failed job")[0]
        self.assertIn("HTTP 400", target["failures"][0]["last_error"])
        self.assertIn("does not exist", target["failures"][0]["last_error"])
        status = self.smtp.cli("stream", "forward", "refused", "status").stdout
        self.assertIn("failed: message", status)
        self.assertIn("HTTP 400", status)
        # Queued again by hand: sent now that the receiver takes it.
        out = self.smtp.cli("stream", "forward", "refused", "retry").stdout
        self.assertIn("queued 1 failed message again", out)
        self.wait_requests(self.http, path, 3, "the retried message")
        self.assertIn("nobody+will+see+this", self.http.at(path)[2]["body"].decode())
        wait_until(lambda: self.forwards("refused")[0]["failed"] == 0, what="no failures left")

    def test_gives_up_after_max_age(self):
        self.stream("tired")
        path = "/hooks/tired"
        self.http.answer(path, *[(503, {}, "down")] * 1000)
        self.add_webhook("tired", f"http://127.0.0.1:{self.http.port}{path}", "--allow-http")
        self.post_cli("tired", "t", "never accepted")
        target = wait_until(lambda: [t for t in self.forwards("tired") if t["failed"] == 1], timeout=60,
                            what="the job given up after forward_max_age")[0]
        self.assertIn("gave up after", target["failures"][0]["last_error"])
        self.assertGreaterEqual(len(self.http.at(path)), 3)

    def test_certificate_checked(self):
        self.stream("wrongname")
        # The receiver's certificate names localhost, not 127.0.0.1.
        path = "/hooks/wrongname"
        self.add_webhook("wrongname", f"https://127.0.0.1:{self.https.port}{path}")
        self.post_cli("wrongname", "t", "not over a bad certificate")
        target = wait_until(lambda: [t for t in self.forwards("wrongname") if t["next"] and t["next"]["last_error"]],
                            what="a TLS failure")[0]
        self.assertIn("TLS with", target["next"]["last_error"])
        self.assertEqual(self.https.at(path), [])
        self.smtp.cli("stream", "forward", "wrongname", "remove", str(target["id"]))
        self.assertEqual(self.forwards("wrongname"), [])

    def test_bad_targets_refused(self):
        self.stream("bad")
        url = self.secret_file("plain.url", "http://127.0.0.1:1/hook")
        p = self.smtp.cli("stream", "forward", "bad", "add", "webhook", "--url-file", url, check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("https://", p.stderr)
        p = self.smtp.cli("stream", "forward", "bad", "add", "zulip", "--bot-email", BOT, "--api-key-file", url,
                          check=False)
        self.assertEqual(p.returncode, 2)
        self.assertIn("--site", p.stderr)
        p = self.smtp.cli("stream", "forward", "bad", "add", "zulip", "--site", "https://x.test", "--bot-email", BOT,
                          "--api-key-file", os.path.join(self.secrets, "missing"), check=False)
        self.assertEqual(p.returncode, 1)
        p = self.smtp.cli("stream", "forward", "nosuch", "list", check=False)
        self.assertEqual(p.returncode, 1)
        r = self.client.post("/api/v1/streams/bad/forwards", {"kind": "carrier-pigeon"})
        self.assertEqual(r.status, 422)
        r = self.client.post("/api/v1/streams/bad/forwards", {"kind": "webhook", "url": "ftp://x.test/"})
        self.assertEqual(r.status, 422)
        r = self.client.post("/api/v1/streams/bad/forwards",
                             {"kind": "zulip", "site": "https://chat.test", "bot_email": BOT, "api_key": API_KEY})
        self.assertEqual(r.status, 201, r)
        self.assertNotIn(API_KEY, r.body)
        self.assertEqual(self.client.delete(f"/api/v1/streams/bad/forwards/{r.json['id']}").status, 204)
        self.assertEqual(self.client.delete(f"/api/v1/streams/bad/forwards/{r.json['id']}").status, 404)
        self.assertEqual(self.forwards("bad"), [])


if __name__ == "__main__":
    unittest.main()
