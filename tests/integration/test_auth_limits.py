"""Failed-login limits against the real smtpd, imapd and sieved over one data directory, with
Python's imaplib and smtplib and a raw ManageSieve client: the real user is not locked out by
someone else's failures behind the same address, an unknown guesser is; a login to an account
the guesser owns launders nothing; parallel guesses get no more password checks than the
budget; and the budget is one across the three services, through the store and through a
real Redis. Each test speaks from its own loopback address (127.0.0.x), so each has its own
per-address count."""
import base64
import imaplib
import re
import smtplib
import socket
import threading
import unittest

from helpers import Redis, Suite, client_tls

# Small pauses so the tests are quick; the verified-password cache off, so every login
# goes through the limiter's slot and argon2id.
AUTH = ('[auth]\nmax_failures_per_ip = 10\nmax_failures_per_account = 20\nfailure_delay = "10ms"\n'
        'account_delay = "100ms"\nverified_cache_ttl = "0s"\n')
USERS = {"alice": "alice-pw", "mallory": "mallory-pw", "carol": "carol-pw"}


class SourcedIMAP(imaplib.IMAP4_SSL):
    """imaplib over TLS, connecting from a chosen loopback address."""

    def __init__(self, port, cert, source):
        self._source = source
        super().__init__("127.0.0.1", port, ssl_context=client_tls(cert), timeout=120)

    def _create_socket(self, timeout):
        sock = socket.create_connection((self.host, self.port), timeout, source_address=(self._source, 0))
        return self.ssl_context.wrap_socket(sock, server_hostname="mail.example.test")


class Sieve:
    """Just enough ManageSieve: the greeting, STARTTLS, AUTHENTICATE PLAIN."""

    def __init__(self, port, cert, source):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=120, source_address=(source, 0))
        self.cert = cert
        self.buf = b""
        self.response()

    def line(self):
        while b"\r\n" not in self.buf:
            data = self.sock.recv(65536)
            if not data:
                raise EOFError("connection closed")
            self.buf += data
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def response(self):
        while True:
            line = self.line()
            if re.match(rb"^(OK|NO|BYE)\b", line):
                return line

    def cmd(self, text):
        self.sock.sendall(text.encode() + b"\r\n")
        return self.response()

    def starttls(self):
        assert self.cmd("STARTTLS").startswith(b"OK")
        self.sock = client_tls(self.cert).wrap_socket(self.sock, server_hostname="localhost")
        self.response()

    def authenticate(self, user, password):
        b64 = base64.b64encode(f"\0{user}\0{password}".encode()).decode()
        return self.cmd(f'AUTHENTICATE "PLAIN" "{b64}"')

    def close(self):
        self.sock.close()


def plain(user, password):
    return base64.b64encode(f"\0{user}\0{password}".encode()).decode()


class Logins:
    """One login over each protocol from `source`; each returns 'ok', 'failed' or 'refused'.
    connect_* and *_login are split so that parallel tests can connect first, then log in
    at once."""

    def __init__(self, suite):
        self.s = suite

    def imap_connect(self, source):
        return SourcedIMAP(self.s.imaps, self.s.cert, source)

    def imap_login(self, c, user, password):
        try:
            c.login(user, password)
            c.logout()
            return "ok"
        except imaplib.IMAP4.error as e:
            c.shutdown()
            if "[UNAVAILABLE]" in str(e):
                return "refused"
            if "[AUTHENTICATIONFAILED]" in str(e):
                return "failed"
            raise

    def smtp_connect(self, source):
        c = smtplib.SMTP_SSL("127.0.0.1", self.s.submissions, context=client_tls(self.s.cert), timeout=120,
                             source_address=(source, 0))
        c.ehlo("client.example")
        return c

    def smtp_login(self, c, user, password):
        code, text = c.docmd("AUTH", "PLAIN " + plain(user, password))
        c.close()
        return {235: "ok", 535: "failed", 454: "refused"}[code]

    def sieve_connect(self, source):
        m = Sieve(self.s.sieve, self.s.cert, source)
        m.starttls()
        return m

    def sieve_login(self, m, user, password):
        r = m.authenticate(user, password)
        m.close()
        if r.startswith(b"OK"):
            return "ok"
        return "refused" if b"(TRYLATER)" in r else "failed"

    def one(self, proto, source, user, password):
        c = getattr(self, proto + "_connect")(source)
        return getattr(self, proto + "_login")(c, user, password)

    def parallel(self, attempts):
        """attempts: [(proto, source, user, password)]; all connect, then all log in at once."""
        results = [None] * len(attempts)
        barrier = threading.Barrier(len(attempts))

        def run(i, proto, source, user, password):
            try:
                c = getattr(self, proto + "_connect")(source)
                barrier.wait(timeout=120)
                results[i] = getattr(self, proto + "_login")(c, user, password)
            except Exception as e:  # reported by the assertion on results
                barrier.abort()
                results[i] = repr(e)

        threads = [threading.Thread(target=run, args=(i, *a)) for i, a in enumerate(attempts)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=300)
        return results


def checks(log, event, source):
    """How many `event` lines the service logged for that client address."""
    return len(re.findall(rf"event={re.escape(event)} .*peer={re.escape(source)}\b", log))


class Budget:
    """The tests, run once over the store (StoreBudgetTest) and once over Redis."""

    @classmethod
    def start_suite(cls, top_toml=""):
        cls.s = Suite(top_toml=top_toml + AUTH).start("smtpd", "imapd", "sieved")
        cls.s.cli("domain", "add", "example.test")
        for user, password in USERS.items():
            cls.s.cli("user", "add", f"{user}@example.test", "--password", password)
        cls.login = Logins(cls.s)

    def total_checks(self, source):
        return sum(checks(self.s.log(name), f"{proto}.auth.failed", source)
                   for name, proto in (("imapd", "imap"), ("smtpd", "smtp"), ("sieved", "sieve")))

    def test_real_user_is_not_locked_out(self):
        ip = "127.0.0.2"
        self.assertEqual(self.login.one("imap", ip, "alice@example.test", "alice-pw"), "ok")  # logged in before
        # 30 wrong IMAP logins and 10 wrong SMTP AUTHs from that address: alice's old
        # password on a phone, and a guesser trying names behind the same NAT
        got = []
        for i in range(15):
            got.append(self.login.one("imap", ip, "alice@example.test", f"old-{i}"))
            got.append(self.login.one("imap", ip, f"guess{i}@example.test", "123456"))
        for i in range(5):
            got.append(self.login.one("smtp", ip, "Alice@Example.TEST", f"old-{i}"))
            got.append(self.login.one("smtp", ip, f"guess{i}@example.test", "123456"))
        self.assertEqual(got[0::2], ["failed"] * 20, "alice's failures are checked, never refused")
        self.assertIn("refused", got[1::2], "the guesser used up the address's budget")
        # the right password, at once, over every protocol
        self.assertEqual(self.login.one("imap", ip, "alice@example.test", "alice-pw"), "ok")
        self.assertEqual(self.login.one("smtp", ip, "alice@example.test", "alice-pw"), "ok")
        self.assertEqual(self.login.one("sieve", ip, "alice@example.test", "alice-pw"), "ok")
        # while anyone else from that address stays refused, even with a right password
        self.assertEqual(self.login.one("imap", ip, "carol@example.test", "carol-pw"), "refused")
        self.assertEqual(self.login.one("smtp", ip, "guess99@example.test", "123456"), "refused")
        self.assertEqual(self.login.one("sieve", ip, "guess99@example.test", "123456"), "refused")
        # and alice's count is only slowed: the log says it was checked, not refused
        self.assertIn("trusted=true", self.s.log("imapd"))

    def test_an_owned_account_launders_nothing(self):
        ip = "127.0.0.3"
        first = [self.login.one("imap", ip, f"victim{i}@example.test", "password1") for i in range(9)]
        self.assertEqual(first, ["failed"] * 9)
        self.assertEqual(self.login.one("smtp", ip, "mallory@example.test", "mallory-pw"), "ok")
        protos = ["sieve", "imap", "smtp"] * 3
        then = [self.login.one(p, ip, f"victim{i}@example.test", "password2") for i, p in enumerate(protos)]
        self.assertEqual(then, ["failed"] + ["refused"] * 8, "one slot was left, then refused")
        self.assertEqual(self.total_checks(ip), 10)

    def test_parallel_guesses_get_no_extra_checks(self):
        ip = "127.0.0.4"
        results = self.login.parallel([("imap", ip, f"p{i}@example.test", "wrong") for i in range(30)])
        self.assertEqual(sorted(results), ["failed"] * 10 + ["refused"] * 20, results)
        self.assertEqual(checks(self.s.log("imapd"), "imap.auth.failed", ip), 10, "password checks made")

    def test_parallel_guesses_across_services_share_one_budget(self):
        ip = "127.0.0.5"
        attempts = [(proto, ip, f"q{proto}{i}@example.test", "wrong")
                    for i in range(10) for proto in ("imap", "smtp", "sieve")]
        results = self.login.parallel(attempts)
        self.assertEqual(sorted(results), ["failed"] * 10 + ["refused"] * 20, results)
        self.assertEqual(self.total_checks(ip), 10, "password checks made by the three services together")

    def test_one_budget_across_services(self):
        ip = "127.0.0.6"
        got = [self.login.one("imap", ip, f"r{i}@example.test", "wrong") for i in range(4)]
        got += [self.login.one("smtp", ip, f"s{i}@example.test", "wrong") for i in range(3)]
        got += [self.login.one("sieve", ip, f"t{i}@example.test", "wrong") for i in range(3)]
        self.assertEqual(got, ["failed"] * 10)
        for proto in ("imap", "smtp", "sieve"):
            self.assertEqual(self.login.one(proto, ip, "carol@example.test", "carol-pw"), "refused", proto)
        self.assertEqual(self.login.one("imap", "127.0.0.7", "carol@example.test", "carol-pw"), "ok",
                         "another address is not affected")


class StoreBudgetTest(Budget, unittest.TestCase):
    """The embedded default: the counters in the store's auth_limits table."""

    @classmethod
    def setUpClass(cls):
        cls.start_suite()

    @classmethod
    def tearDownClass(cls):
        cls.s.cleanup()


def redis_command(port, *args):
    """One command over RESP; returns the raw reply."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(f"*{len(args)}\r\n".encode() + b"".join(f"${len(a)}\r\n{a}\r\n".encode() for a in args))
        return s.recv(65536)


class RedisBudgetTest(Budget, unittest.TestCase):
    """With [redis] url: the counters in a real Redis (started here on a loopback port)."""

    @classmethod
    def setUpClass(cls):
        cls.redis = Redis()  # under CI a missing redis-server fails, naming it
        cls.start_suite(f'[redis]\nurl = "{cls.redis.url}"\n')

    @classmethod
    def tearDownClass(cls):
        cls.s.cleanup()
        cls.redis.stop()

    def test_the_counters_are_in_redis(self):
        ip = "127.0.0.8"
        self.assertEqual(self.login.one("imap", ip, "nobody@example.test", "wrong"), "failed")
        reply = redis_command(self.redis.port, "KEYS", "mailstead:auth:address:*")
        self.assertTrue(reply.startswith(b"*") and not reply.startswith(b"*0"), reply)
        for name in ("smtpd", "imapd", "sieved"):
            self.assertNotIn("auth.limits.redis_failed", self.s.log(name), "the tests so far went through Redis")

    def test_z_redis_down_falls_back_to_the_store(self):
        self.redis.proc.terminate()
        self.redis.proc.wait(timeout=10)
        ip = "127.0.0.9"
        got = [self.login.one(p, ip, f"u{i}@example.test", "wrong") for i, p in enumerate(["imap", "smtp"] * 5)]
        self.assertEqual(got, ["failed"] * 10)
        self.assertEqual(self.login.one("sieve", ip, "carol@example.test", "carol-pw"), "refused")
        self.assertEqual(self.login.one("imap", "127.0.0.10", "carol@example.test", "carol-pw"), "ok")
        self.assertIn("event=auth.limits.redis_failed", self.s.log("imapd"))


if __name__ == "__main__":
    unittest.main()
