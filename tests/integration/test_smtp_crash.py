"""Durability under crashes: 1,000 messages from 8 concurrent clients while smtpd is
SIGKILLed and restarted twice mid-run. Every message that got 250 must be in the mailbox
exactly once afterwards (one that got no reply may or may not be there)."""
import collections
import smtplib
import threading
import time
import unittest

from helpers import SmtpServer

TOTAL = 1000
CLIENTS = 8


class SmtpCrashTest(unittest.TestCase):
    def setUp(self):
        self.s = SmtpServer().start()
        self.s.cli("domain", "add", "example.test")
        self.s.cli("user", "add", "alice@example.test", "--password", "pw")

    def tearDown(self):
        self.s.cleanup()

    def test_acknowledged_messages_survive_sigkill(self):
        lock = threading.Lock()
        next_id = iter(range(10 ** 6))
        acked, attempted = set(), set()

        def client():
            conn = None
            while True:
                with lock:
                    if len(acked) >= TOTAL:
                        break
                    n = next(next_id)
                    attempted.add(n)
                try:
                    if conn is None:
                        conn = smtplib.SMTP("127.0.0.1", self.s.mx, timeout=10)
                        conn.ehlo("crash.example")
                    conn.sendmail("load@remote.example", ["alice@example.test"],
                                  f"Subject: crash-{n}\r\nMessage-ID: <{n}@crash.example>\r\n\r\nbody {n}\r\n".encode())
                    with lock:
                        acked.add(n)
                except (OSError, smtplib.SMTPException):
                    # The server died under us: no 250, so no promise. Reconnect (each
                    # attempt gets a fresh id, so an unacknowledged copy cannot be mistaken
                    # for a duplicate of an acknowledged one).
                    try:
                        conn and conn.close()
                    except Exception:
                        pass
                    conn = None
                    time.sleep(0.05)
            if conn:
                try:
                    conn.quit()
                except Exception:
                    pass

        threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
        for t in threads:
            t.start()
        for kill_at in (250, 600):
            deadline = time.monotonic() + 120
            while len(acked) < kill_at and time.monotonic() < deadline:
                time.sleep(0.005)
            self.s.kill()  # waits for the process to be gone
            self.s.start()
        for t in threads:
            t.join(timeout=300)
        self.assertGreaterEqual(len(acked), TOTAL)

        counts = collections.Counter()
        for m in self.s.messages("alice@example.test"):
            raw = self.s.message("alice@example.test", m["uid"])
            subject = raw.split(b"Subject: crash-", 1)[1].split(b"\r\n", 1)[0]
            counts[int(subject)] += 1
        missing = [n for n in acked if counts[n] == 0]
        duplicated = [n for n, c in counts.items() if c > 1]
        self.assertEqual(missing, [], "acknowledged messages lost")
        self.assertEqual(duplicated, [], "messages stored twice")
        self.assertTrue(set(counts) <= attempted)
        print(f"\nacked={len(acked)} stored={sum(counts.values())} attempted={len(attempted)}")


if __name__ == "__main__":
    unittest.main()
