"""Slow clients cannot hold connections (issue reproductions): a byte now and then no
longer restarts the timeouts of an SMTP command, DATA or BDAT, a TLS handshake, or the
login phase of IMAP and ManageSieve; and connections piling up on one SMTP port (465,
never starting TLS) cannot refuse another (25, 587)."""
import select
import smtplib
import socket
import ssl
import time
import unittest

from helpers import SmtpServer, Suite, client_tls
from test_smtp import Client, setup_directory

# The servers below get 3 s limits; a peer trickling one byte a second is cut off when
# they pass. Before, every byte restarted the timeout and the peer was never cut off.
LIMIT = 3
GIVE_UP = 40  # seconds; generous for a loaded machine, far below "never"


def trickle(sock, data, interval=1.0, give_up=GIVE_UP):
    """Sends `data` one byte every `interval` seconds (cycling), reading whatever the server
    says, until the server closes the connection. Returns the seconds that took, or None
    if it was still open after `give_up` seconds."""
    start = time.monotonic()
    i = 0
    while time.monotonic() - start < give_up:
        try:
            sock.sendall(data[i % len(data):i % len(data) + 1])
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError, OSError):
            return time.monotonic() - start
        i += 1
        until = time.monotonic() + interval
        while (left := until - time.monotonic()) > 0:
            if isinstance(sock, ssl.SSLSocket) and sock.pending():
                ready = True
            else:
                ready = select.select([sock], [], [], left)[0]
            if not ready:
                continue
            try:
                if sock.recv(65536) == b"":
                    return time.monotonic() - start
            except ssl.SSLWantReadError:
                continue
            except (ConnectionResetError, ssl.SSLError, OSError):
                return time.monotonic() - start
    return None


class SmtpSlowClientsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.s = SmtpServer(f'command_timeout = "{LIMIT}s"\ndata_timeout = "{LIMIT}s"\n'
                           f'tls_handshake_timeout = "{LIMIT}s"\nmax_connections_per_ip = 1000\n').start()
        setup_directory(cls.s)

    @classmethod
    def tearDownClass(cls):
        cls.s.cleanup()

    def assert_cut_off(self, sock, data):
        took = trickle(sock, data)
        sock.close()
        self.assertIsNotNone(took, f"a peer sending a byte a second was still connected after {GIVE_UP} s")

    def test_command_line_trickled(self):
        c = Client(self.s.mx)
        self.assert_cut_off(c.sock, b"NOOP " + b"x" * 100)

    def test_data_trickled(self):
        c = Client(self.s.mx)
        c.cmd("EHLO x")
        c.cmd("MAIL FROM:<a@remote.example>")
        c.cmd("RCPT TO:<alice@example.test>")
        self.assertEqual(c.cmd("DATA")[0], "354")
        self.assert_cut_off(c.sock, b"Subject: slow\r\n\r\n" + b"y" * 1000)
        self.assertEqual(self.s.messages("alice@example.test"), [])

    def test_bdat_trickled(self):
        c = Client(self.s.mx)
        c.cmd("EHLO x")
        c.cmd("MAIL FROM:<a@remote.example>")
        c.cmd("RCPT TO:<alice@example.test>")
        c.send(b"BDAT 1000 LAST\r\n")
        self.assert_cut_off(c.sock, b"z" * 1000)

    def test_tls_handshake_trickled(self):
        # A real ClientHello, sent a byte a second on 465.
        hello = ssl.MemoryBIO(), ssl.MemoryBIO()
        obj = ssl.create_default_context().wrap_bio(*hello, server_hostname="mail.example.test")
        try:
            obj.do_handshake()
        except ssl.SSLWantReadError:
            pass
        client_hello = hello[1].read()
        sock = socket.create_connection(("127.0.0.1", self.s.submissions), timeout=10)
        self.assert_cut_off(sock, client_hello)

    def test_fast_clients_are_not_cut_off(self):
        # The DATA deadline moves on with the data: 5 MB in one go is fine with a 3 s limit.
        body = b"Subject: fast\r\n\r\n" + (b"f" * 998 + b"\r\n") * 5000
        c = smtplib.SMTP("127.0.0.1", self.s.mx, timeout=60)
        c.sendmail("a@remote.example", ["bob@example.test"], body)
        c.quit()
        self.assertEqual(len(self.s.messages("bob@example.test")), 1)


class SmtpListenerLimitTest(unittest.TestCase):
    """max_connections counts per listener: 465 full of clients that never start TLS."""

    @classmethod
    def setUpClass(cls):
        cls.s = SmtpServer('max_connections = 20\nmax_connections_per_ip = 1000\n'
                           'tls_handshake_timeout = "5m"\n').start()
        setup_directory(cls.s)

    @classmethod
    def tearDownClass(cls):
        cls.s.cleanup()

    def test_full_465_does_not_refuse_25_or_587(self):
        idle = [socket.create_connection(("127.0.0.1", self.s.submissions), timeout=10) for _ in range(20)]
        try:
            # Until the server has taken all 20 in (connect() returns before it accepts).
            deadline = time.monotonic() + 60
            while self.s.logs().count("port=submissions") < 20:
                self.assertLess(time.monotonic(), deadline, "the server did not accept 20 connections on 465")
                time.sleep(0.05)
            # The 21st on 465 is refused (closed at once: no text before TLS)...
            extra = socket.create_connection(("127.0.0.1", self.s.submissions), timeout=10)
            self.assertEqual(extra.recv(100), b"")
            extra.close()
            # ...while 25 and 587 still greet and serve.
            for port in (self.s.mx, self.s.submission):
                c = Client(port)
                self.assertEqual(c.greeting[0], "220", port)
                self.assertEqual(c.cmd("EHLO x")[0], "250")
                c.cmd("QUIT")
                c.sock.close()
            c = smtplib.SMTP("127.0.0.1", self.s.mx, timeout=10)
            c.sendmail("a@remote.example", ["alice@example.test"], b"Subject: through\r\n\r\nx\r\n")
            c.quit()
        finally:
            for s in idle:
                s.close()


class LoginPhaseTest(unittest.TestCase):
    """IMAP and ManageSieve: logging in must be done within login_timeout of connecting."""

    @classmethod
    def setUpClass(cls):
        cls.s = Suite(imapd_toml=f'login_timeout = "{LIMIT}s"\nmax_connections_per_ip = 1000\n',
                      sieved_toml=f'login_timeout = "{LIMIT}s"\n')
        cls.s.start("smtpd", "imapd", "sieved")
        cls.s.cli("domain", "add", "example.test")
        cls.s.cli("user", "add", "alice@example.test", "--password", "alice-pw")
        cls.tls = client_tls(cls.s.cert)

    @classmethod
    def tearDownClass(cls):
        cls.s.cleanup()

    def imap(self):
        sock = socket.create_connection(("127.0.0.1", self.s.imaps), timeout=10)
        sock = self.tls.wrap_socket(sock, server_hostname="mail.example.test")
        self.assertTrue(sock.recv(1000).startswith(b"* OK"))
        return sock

    def test_imap_command_trickled_before_login(self):
        sock = self.imap()
        took = trickle(sock, b"a LOGIN alice@example.test " + b"x" * 200)
        sock.close()
        self.assertIsNotNone(took, "an IMAP client trickling a command before login was never cut off")

    def test_imap_noops_before_login(self):
        sock = self.imap()
        took = trickle(sock, b"a NOOP\r\n", interval=0.15)
        sock.close()
        self.assertIsNotNone(took, "NOOPs before login kept the session open")

    def test_imap_login_in_time_then_idle_limits_apply(self):
        import imaplib
        c = imaplib.IMAP4_SSL("127.0.0.1", self.s.imaps, ssl_context=self.tls, timeout=30)
        c.login("alice@example.test", "alice-pw")
        deadline = time.monotonic() + 2 * LIMIT + 1
        while time.monotonic() < deadline:  # past the login deadline: still served
            self.assertEqual(c.noop()[0], "OK")
            time.sleep(0.5)
        c.logout()

    def test_managesieve_trickled_before_login(self):
        sock = socket.create_connection(("127.0.0.1", self.s.sieve), timeout=10)
        greeting = b""
        while b"OK" not in greeting:
            greeting += sock.recv(1000)
        took = trickle(sock, b'AUTHENTICATE "PLAIN" ' + b"x" * 200)
        sock.close()
        self.assertIsNotNone(took, "a ManageSieve client trickling before login was never cut off")

    def test_managesieve_noops_before_login(self):
        sock = socket.create_connection(("127.0.0.1", self.s.sieve), timeout=10)
        took = trickle(sock, b"NOOP\r\n", interval=0.15)
        sock.close()
        self.assertIsNotNone(took, "NOOPs before login kept the ManageSieve session open")


if __name__ == "__main__":
    unittest.main()
