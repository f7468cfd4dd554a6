"""Live stream updates over the admin API's WebSocket (docs/streams.md, "Live updates"):
a member's connection gets each new message of the stream as it is posted, by the API and
by email through the real smtpd (another process, seen through the store); who may connect
(session or token, a member, the same Origin); and each limit: connections per user, the
size of a client's message, the idle ping/pong timeout, a reader that does not read."""
import smtplib
import ssl
import threading
import time
import unittest
from email.message import EmailMessage

from adminapi import AdminApi
from helpers import SmtpServer, client_tls
from wsclient import Closed, Refused, WebSocket

GATEWAY = "streams.example.test"
TOML = f'[streams]\ngateway_pattern = "%s@{GATEWAY}"\nmax_body_size = "1M"\n'
ADMIN_TOML = ('live_max_connections_per_user = 3\nlive_max_message_size = 1024\nlive_idle_timeout = "3s"\n'
              'write_timeout = "3s"\n')


class StreamLive(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.smtp = SmtpServer(top_toml=TOML).start()
        cls.api = AdminApi(instance=cls.smtp.instance, admin_toml=ADMIN_TOML).start()
        cli = cls.smtp.cli
        cli("domain", "add", "example.test")
        cls.api.user("boss@example.test", "boss password 1", admin=True)
        cls.api.user("ann@example.test", "ann password 1")
        cls.api.user("carl@example.test", "carl password 1")
        cli("stream", "add", "Dev Team", "--slug", "dev")
        cli("stream", "members", "dev", "add", "ann@example.test")
        cls.address = cls.smtp.instance.cli_json("stream", "show", "dev")["email_address"]
        cls.tls = client_tls(cls.smtp.cert)

    @classmethod
    def tearDownClass(cls):
        cls.api.cleanup()
        cls.smtp.cleanup()

    def login(self, address, password):
        c = self.api.client()
        self.assertEqual(c.login(address, password).status, 200)
        return c

    def ws(self, client, path="/api/v1/streams/dev/live", **kw):
        return WebSocket(self.api.port, path, self.api.tls(), cookie=client.cookie, **kw)

    def post(self, client, topic, content):
        r = client.post("/api/v1/streams/dev/messages", {"topic": topic, "content": content})
        self.assertEqual(r.status, 201, r)
        return r.json["id"]

    def test_messages_by_api_and_by_email_are_pushed(self):
        ann = self.login("ann@example.test", "ann password 1")
        w = self.ws(ann)
        hello = w.recv()
        self.assertEqual((hello["type"], hello["stream"]), ("hello", "dev"))
        w.send({"type": "watch", "topic": "launch"})
        t0 = time.monotonic()
        mid = self.post(ann, "launch", "from the API")
        m = w.recv()
        self.assertEqual(m["type"], "message")
        self.assertEqual((m["message"]["id"], m["message"]["topic"], m["message"]["content"]), (mid, "launch", "from the API"))
        self.assertEqual(m["message"]["sender_email"], "ann@example.test")
        api_ms = (time.monotonic() - t0) * 1000
        # By email through smtpd: another process writes the store; the hub sees its commit.
        msg = EmailMessage()
        msg["From"] = "Bob Outside <bob@outside.test>"
        msg["To"] = self.address
        msg["Subject"] = "Re: launch"
        msg.set_content("by email, live")
        t0 = time.monotonic()
        with smtplib.SMTP("127.0.0.1", self.smtp.mx, timeout=30) as s:
            s.send_message(msg, from_addr="bob@outside.test", to_addrs=[self.address])
        m = w.recv()
        email_ms = (time.monotonic() - t0) * 1000
        self.assertEqual((m["message"]["topic"], m["message"]["via"], m["message"]["email_from"]),
                         ("launch", "email", "bob@outside.test"))
        self.assertIn("by email, live", m["message"]["content"])
        print(f"live push: API post {api_ms:.0f} ms, email (SMTP session included) {email_ms:.0f} ms")
        self.assertLess(email_ms, 5000)
        # A reconnecting page names the last id it has and gets what it missed at once.
        w.close()
        missed = self.post(ann, "launch", "while away")
        w = self.ws(ann, path=f"/api/v1/streams/dev/live?after={mid}")
        self.assertEqual(w.recv()["type"], "hello")
        got = [w.recv()["message"]["id"], w.recv()["message"]["id"]]
        self.assertEqual(got[1], missed)
        w.close()
        ann.close()

    def test_who_may_connect(self):
        ann = self.login("ann@example.test", "ann password 1")
        carl = self.login("carl@example.test", "carl password 1")
        # a plain GET is not a WebSocket
        r = ann.get("/api/v1/streams/dev/live")
        self.assertEqual((r.status, r.json["error"]["code"]), (400, "websocket_required"))
        with self.assertRaises(Refused) as e:
            WebSocket(self.api.port, "/api/v1/streams/dev/live", self.api.tls())
        self.assertEqual(e.exception.status, 401)
        # another site's page using ann's cookie (cross-site WebSocket hijacking); no Origin
        for origin in ("https://evil.example", "null", None):
            with self.assertRaises(Refused) as e:
                self.ws(ann, origin=origin)
            self.assertEqual(e.exception.status, 403, origin)
            self.assertIn("origin", e.exception.body)
        # not a member: as if the stream did not exist
        with self.assertRaises(Refused) as e:
            self.ws(carl)
        self.assertEqual(e.exception.status, 404)
        with self.assertRaises(Refused) as e:
            self.ws(ann, path="/api/v1/streams/nope/live")
        self.assertEqual(e.exception.status, 404)
        # an administrator sees every stream; an API token needs no Origin
        boss = self.login("boss@example.test", "boss password 1")
        self.assertEqual(self.ws(boss).recv()["type"], "hello")
        token = self.smtp.instance.cli_json("token", "create", "--name", "live-test")["token"]
        w = WebSocket(self.api.port, "/api/v1/streams/dev/live", self.api.tls(), token=token, origin=None)
        self.assertEqual(w.recv()["type"], "hello")
        w.close()
        # signed out while connected: the connection ends (policy) at its next look
        w = self.ws(ann)
        w.recv()
        self.assertEqual(ann.post("/api/v1/logout").status, 204)
        self.post(boss, "t", "wakes the connection")
        with self.assertRaises(Closed) as e:
            while True:
                w.recv()
        self.assertEqual(e.exception.code, 1008)
        # removed from the stream while connected: the same
        ann = self.login("ann@example.test", "ann password 1")
        w = self.ws(ann)
        w.recv()
        self.assertEqual(boss.delete("/api/v1/streams/dev/members/ann@example.test").status, 200)
        self.post(boss, "t", "ann no longer sees this")
        with self.assertRaises(Closed) as e:
            while True:
                m = w.recv()
                self.assertNotEqual(m.get("message", {}).get("content"), "ann no longer sees this")
        self.assertEqual(e.exception.code, 1008)
        self.assertEqual(boss.post("/api/v1/streams/dev/members", {"member": "ann@example.test"}).status, 200)
        for c in (ann, carl, boss):
            c.close()

    def test_connections_per_user(self):
        ann = self.login("ann@example.test", "ann password 1")
        socks = [self.ws(ann) for _ in range(3)]
        for s in socks:
            s.recv()
        with self.assertRaises(Refused) as e:
            self.ws(ann)
        self.assertEqual(e.exception.status, 429)
        self.assertIn("live connections", e.exception.body)
        # the admin is another user: unaffected
        boss = self.login("boss@example.test", "boss password 1")
        b = self.ws(boss)
        b.recv()
        b.close()
        socks.pop().close()
        deadline = time.monotonic() + 5
        while True:  # the slot is free once the server saw the close
            try:
                w = self.ws(ann)
                break
            except Refused:
                self.assertLess(time.monotonic(), deadline)
                time.sleep(0.1)
        w.close()
        for s in socks:
            s.close()
        ann.close()
        boss.close()

    def test_client_messages_and_their_size(self):
        ann = self.login("ann@example.test", "ann password 1")
        w = self.ws(ann)
        w.recv()
        w.send({"type": "heartbeat", "topic": "launch"})
        w.send({"type": "watch"})
        w.send_frame(1, ("x" * 2000).encode())  # over live_max_message_size (1024)
        with self.assertRaises(Closed) as e:
            while True:
                w.recv()
        self.assertEqual(e.exception.code, 1009)
        w = self.ws(ann)
        w.recv()
        w.send("not json")
        with self.assertRaises(Closed) as e:
            while True:
                w.recv()
        self.assertEqual(e.exception.code, 1008)
        ann.close()

    def test_idle_timeout_and_a_reader_that_does_not_read(self):
        ann = self.login("ann@example.test", "ann password 1")
        boss = self.login("boss@example.test", "boss password 1")
        # A peer that never answers the pings is closed after the idle limit (3 s) ...
        mute = self.ws(ann)
        mute.recv()
        t0 = time.monotonic()
        with self.assertRaises((Closed, ssl.SSLError, ConnectionError)):
            while True:
                mute.recv(answer_pings=False)
        self.assertLess(time.monotonic() - t0, 8)
        # ... one that answers them stays open past it.
        alive = self.ws(ann)
        alive.recv()
        alive.sock.settimeout(1)
        until = time.monotonic() + 5
        while time.monotonic() < until:
            try:
                alive.recv()
            except TimeoutError:
                pass
        self.assertGreaterEqual(alive.pings, 2)
        alive.sock.settimeout(10)
        # A reader that stops reading while many messages come: the others keep getting them
        # at once, and the stuck one is disconnected by the write timeout (3 s) before it
        # has them all; nothing waits on it.
        stuck = self.ws(ann)
        stuck.recv()
        big = "y" * 500000
        got = []

        def read_alive():  # a reader that keeps up, in its own thread while the flood is posted
            try:
                while len(got) < 30:
                    m = alive.recv()
                    if m["type"] == "message":
                        got.append(m["message"]["id"])
            except Exception as e:  # reported by the assertion below
                got.append(repr(e))
        reader = threading.Thread(target=read_alive)
        reader.start()
        ids = [self.post(boss, "flood", big) for _ in range(30)]  # 15 MB: more than socket buffers hold
        reader.join(30)
        self.assertEqual(got, ids)
        time.sleep(5)
        stuck.sock.settimeout(10)
        had = 0
        try:
            while True:
                if stuck.recv().get("type") == "message":
                    had += 1
        except TimeoutError:
            self.fail("the reader that did not read was never disconnected")
        except (Closed, ConnectionError, ssl.SSLError):
            pass
        self.assertLess(had, len(ids))
        alive.close()
        ann.close()
        boss.close()


if __name__ == "__main__":
    unittest.main()
