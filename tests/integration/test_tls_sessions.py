"""TLS as the services run it on their own non-blocking sockets (net/stream.cpp): a client
that comes back resumes its TLS session (a TLS 1.3 ticket, or a TLS 1.2 session) on IMAPS,
submissions and STARTTLS, and the data path behaves under the cases that socket-level TLS
must get right: a large literal and a large response crossing many records, a pipelined
group split over several TCP segments, a session left idle and then used, and a peer that
vanishes mid-session."""
import imaplib
import smtplib
import socket
import ssl
import time
import unittest

from helpers import Suite


def client_context(max_version=None):
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    if max_version:
        ctx.maximum_version = max_version
    return ctx


def read_until(sock, end):
    buf = b""
    while not buf.endswith(end):
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError(f"closed after {buf[-200:]!r}")
        buf += chunk
    return buf


def imaps_session(port, ctx, session=None):
    """Connects, logs in, selects INBOX; returns (socket, reused, session)."""
    raw = socket.create_connection(("127.0.0.1", port), timeout=20)
    tls = ctx.wrap_socket(raw, session=session)
    read_until(tls, b"\r\n")
    tls.sendall(b'a LOGIN "ann@example.test" "ann-pw"\r\n')
    assert b"a OK" in read_until(tls, b"\r\n")
    tls.sendall(b"b SELECT INBOX\r\n")
    buf = b""
    while b"b OK" not in buf:
        buf += tls.recv(65536)
    return tls, tls.session_reused, tls.session


class TlsSessionsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.s = Suite().start("smtpd", "imapd")
        cls.s.cli("domain", "add", "example.test")
        cls.s.cli("user", "add", "ann@example.test", "--password", "ann-pw")

    @classmethod
    def tearDownClass(cls):
        cls.s.cleanup()

    def test_imaps_resumes_tls13_and_tls12(self):
        for version in (None, ssl.TLSVersion.TLSv1_2):
            ctx = client_context(version)
            first, reused, session = imaps_session(self.s.imaps, ctx)
            self.assertFalse(reused)
            first.sendall(b"z LOGOUT\r\n")
            read_until(first, b"\r\n")
            first.close()
            self.assertIsNotNone(session)
            second, reused, _ = imaps_session(self.s.imaps, ctx, session)
            self.assertTrue(reused, f"not resumed ({version or 'TLS 1.3'})")
            self.assertEqual(second.version(), "TLSv1.2" if version else "TLSv1.3")
            second.close()

    def test_a_ticket_from_before_a_restart_gives_a_full_handshake(self):
        ctx = client_context()
        first, _, session = imaps_session(self.s.imaps, ctx)
        first.close()
        # Restarting imapd changes the ticket keys: the old ticket must be refused cleanly.
        self.s.procs["imapd"].terminate()
        self.s.procs["imapd"].wait()
        del self.s.procs["imapd"]
        self.s.start("imapd")
        again, reused, _ = imaps_session(self.s.imaps, ctx, session)
        self.assertFalse(reused)
        again.close()

    def test_submissions_and_starttls_resume(self):
        ctx = client_context()
        raw = socket.create_connection(("127.0.0.1", self.s.submissions), timeout=20)
        tls = ctx.wrap_socket(raw)
        read_until(tls, b"\r\n")
        tls.sendall(b"EHLO client.example\r\n")
        buf = b""
        while b"250 " not in buf:
            buf += tls.recv(4096)
        session = tls.session
        tls.sendall(b"QUIT\r\n")
        tls.recv(4096)
        tls.close()
        raw = socket.create_connection(("127.0.0.1", self.s.submissions), timeout=20)
        tls = ctx.wrap_socket(raw, session=session)
        read_until(tls, b"\r\n")
        self.assertTrue(tls.session_reused)
        tls.close()
        # STARTTLS on submission: the session of one connection resumes on the next.
        sessions = []
        for _ in range(2):
            raw = socket.create_connection(("127.0.0.1", self.s.submission), timeout=20)
            read_until(raw, b"\r\n")
            raw.sendall(b"EHLO client.example\r\n")
            buf = b""
            while b"250 " not in buf:
                buf += raw.recv(4096)
            raw.sendall(b"STARTTLS\r\n")
            self.assertTrue(read_until(raw, b"\r\n").startswith(b"220"))
            tls = ctx.wrap_socket(raw, session=sessions[-1] if sessions else None)
            tls.sendall(b"EHLO client.example\r\n")
            buf = b""
            while b"250 " not in buf:
                buf += tls.recv(4096)
            sessions.append(tls.session)
            reused = tls.session_reused
            tls.sendall(b"QUIT\r\n")
            tls.recv(4096)
            tls.close()
        self.assertTrue(reused)

    def test_large_transfers_and_split_pipelining_over_tls(self):
        # A 3 MB message through submissions (many TLS records each way), then fetched back.
        body = ("x" * 76 + "\r\n") * 40000
        msg = "From: ann@example.test\r\nTo: ann@example.test\r\nSubject: big\r\n\r\n" + body
        with smtplib.SMTP_SSL("127.0.0.1", self.s.submissions, context=client_context(), timeout=60) as c:
            c.login("ann@example.test", "ann-pw")
            c.sendmail("ann@example.test", ["ann@example.test"], msg)
        # A pipelined group sent in pieces over the MX, each a separate TCP segment: every
        # reply comes, in order, and nothing is lost between the pieces.
        raw = socket.create_connection(("127.0.0.1", self.s.mx), timeout=20)
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        read_until(raw, b"\r\n")
        raw.sendall(b"EHLO client.example\r\n")
        buf = b""
        while b"250 " not in buf:
            buf += raw.recv(4096)
        group = b"MAIL FROM:<x@remote.example>\r\nRCPT TO:<ann@example.test>\r\nRCPT TO:<ann@example.test>\r\nDATA\r\n"
        for i in range(0, len(group), 7):
            raw.sendall(group[i:i + 7])
            time.sleep(0.002)
        replies = read_until(raw, b"354 End data with <CR><LF>.<CR><LF>\r\n")
        self.assertEqual([line[:3] for line in replies.split(b"\r\n") if line], [b"250", b"250", b"250", b"354"])
        raw.sendall(b"Subject: split\r\n\r\nhello\r\n.\r\nQUIT\r\n")
        rest = b""
        while b"221" not in rest:
            chunk = raw.recv(4096)
            if not chunk:
                break
            rest += chunk
        self.assertIn(b"250 2.0.0 Ok: queued", rest)
        raw.close()
        m = imaplib.IMAP4_SSL("127.0.0.1", self.s.imaps, ssl_context=client_context())
        m.login("ann@example.test", "ann-pw")
        m.select("INBOX")
        typ, data = m.uid("SEARCH", "SUBJECT", "big")
        uid = data[0].split()[-1]
        typ, data = m.uid("FETCH", uid, "(BODY.PEEK[])")
        self.assertEqual(typ, "OK")
        self.assertIn(body.encode()[:1000], data[0][1])
        self.assertGreater(len(data[0][1]), len(body))
        m.logout()

    def test_idle_session_then_used_and_a_vanishing_peer(self):
        ctx = client_context()
        idle, _, _ = imaps_session(self.s.imaps, ctx)
        idle.sendall(b"i IDLE\r\n")
        self.assertTrue(read_until(idle, b"\r\n").startswith(b"+ "))
        # Peers that vanish: mid-handshake, and after login without a close_notify.
        half = socket.create_connection(("127.0.0.1", self.s.imaps), timeout=20)
        half.sendall(b"\x16\x03\x01\x00\xff")  # the start of a ClientHello, never finished
        half.close()
        gone, _, _ = imaps_session(self.s.imaps, ctx)
        gone.sendall(b"c NOOP\r\n")
        socket.socket(fileno=gone.detach()).close()  # no TLS close_notify
        time.sleep(0.2)
        # A delivery wakes the idle session, which then answers DONE.
        with smtplib.SMTP("127.0.0.1", self.s.mx, timeout=20) as c:
            c.sendmail("x@remote.example", ["ann@example.test"], "Subject: wake\r\n\r\nhi\r\n")
        buf = b""
        while b"EXISTS" not in buf:
            buf += idle.recv(4096)
        idle.sendall(b"DONE\r\n")
        buf = b""
        while b"i OK" not in buf:
            buf += idle.recv(4096)
        idle.sendall(b"n NOOP\r\n")
        buf = b""
        while b"n OK" not in buf:
            buf += idle.recv(4096)
        idle.close()


if __name__ == "__main__":
    unittest.main()
