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
import subprocess
import threading
import time
import unittest

from helpers import Suite, client_tls

TIMEOUT = 60  # seconds: generous on a loaded machine; a lost wake-up never arrives at all


def stop(suite):
    """Suite.cleanup, killing a server that does not stop on SIGTERM (a deadlocked one)."""
    for p in suite.procs.values():
        if p.poll() is None:
            p.terminate()
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(timeout=20)
    suite.cleanup()


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
        stop(cls.s)

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


class IdleResetTest(unittest.TestCase):
    """A client that resets its connection during IDLE while the server still has output
    for it: the session must end and give back its per-IP connection slot. The server's
    write is made to block first (the client reads nothing, with a tiny receive buffer,
    while another session changes many long keywords), so the reset fails the write and
    the read at once, the order that used to leave the session waiting forever."""

    SLOTS = 3

    @classmethod
    def setUpClass(cls):
        cls.s = Suite(imapd_toml=f"max_connections_per_ip = {cls.SLOTS + 1}\n").start("imapd")
        cls.s.cli("domain", "add", "example.test")
        cls.s.cli("user", "add", "carol@example.test", "--password", "carol-pw")
        c = imap(cls.s, "carol@example.test", "carol-pw")
        c.create("Busy")
        for i in range(200):
            c.append("Busy", None, None, f"Subject: m{i}\r\n\r\nbody\r\n".encode())
        c.logout()

    @classmethod
    def tearDownClass(cls):
        stop(cls.s)

    def idler(self):
        """A raw TLS client with a tiny receive buffer, IDLE on Busy, reading nothing more."""
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.settimeout(TIMEOUT)
        sock.connect(("127.0.0.1", self.s.imaps))
        tls = client_tls(self.s.cert).wrap_socket(sock, server_hostname="mail.example.test")
        f = tls.makefile("rb")
        f.readline()
        for cmd in (b"a LOGIN carol@example.test carol-pw", b"b SELECT Busy", b"c IDLE"):
            tls.sendall(cmd + b"\r\n")
            while True:
                line = f.readline()
                if line.startswith(cmd[:2]) or line.startswith(b"+"):
                    break
        self.assertTrue(line.startswith(b"+"), line)
        return tls, f

    def reset(self, tls, f):
        """Closes with SO_LINGER 0: the kernel sends RST, discarding what is unread."""
        tls.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        f.close()
        tls.close()

    def server_send_queue(self, client_port):
        """Bytes the server has written to this client's connection and the client has not
        taken yet (the kernel's send queue of the server's socket, from /proc/net/tcp)."""
        with open("/proc/net/tcp") as f:
            for row in f.readlines()[1:]:
                fields = row.split()
                local, remote, queues = fields[1], fields[2], fields[4]
                if int(local.split(":")[1], 16) == self.s.imaps and int(remote.split(":")[1], 16) == client_port:
                    return int(queues.split(":")[0], 16)
        return 0

    def test_reset_during_idle_with_output_pending_frees_the_slot(self):
        changer = imap(self.s, "carol@example.test", "carol-pw")
        changer.select("Busy")
        for round_ in range(self.SLOTS):
            tls, f = self.idler()
            port = tls.getsockname()[1]
            # One change that gives the idler ~6 MB of untagged FETCH: more than the kernel's
            # buffers on both sides hold, so the server's write cannot finish.
            words = " ".join(f"k{round_}x{w}" + "y" * 1000 for w in range(30))
            typ, _ = changer.store("1:*", "FLAGS.SILENT", f"({words})")
            self.assertEqual(typ, "OK")
            deadline = time.monotonic() + TIMEOUT
            while self.server_send_queue(port) == 0:
                self.assertLess(time.monotonic(), deadline, "the server never wrote the changes")
                time.sleep(0.05)  # polling a condition: the server's write has begun
            self.reset(tls, f)
        changer.logout()
        # Every reset session must end: all SLOTS + 1 connections from this address fit
        # again (a session stuck in IDLE would keep its slot for ever).
        deadline = time.monotonic() + TIMEOUT
        while True:
            held = []
            try:
                for _ in range(self.SLOTS + 1):
                    c = imap(self.s, "carol@example.test", "carol-pw", timeout=10)
                    held.append(c)
                    self.assertEqual(c.noop()[0], "OK")
                break
            except (imaplib.IMAP4.abort, imaplib.IMAP4.error, OSError):
                if time.monotonic() > deadline:
                    self.fail(f"only {len(held)} of {self.SLOTS + 1} connections accepted: reset IDLE sessions kept their slots")
                time.sleep(0.2)  # polling a condition (the slots coming back), not a synchronisation
            finally:
                for c in held:
                    try:
                        c.logout()
                    except (imaplib.IMAP4.abort, OSError):
                        pass
        # ... and every session that logged in logged its end.
        while True:
            log = self.s.log("imapd")
            began = set(re.findall(r"event=imap\.auth\.ok session=(\w+)", log))
            ended = set(re.findall(r"event=imap\.disconnect session=(\w+)", log))
            if began <= ended:
                break
            if time.monotonic() > deadline:
                self.fail(f"sessions {sorted(began - ended)} never ended")
            time.sleep(0.2)  # polling the log for a condition


class SlowReaderTest(unittest.TestCase):
    """A client that reads nothing of a large FETCH while smtpd's deliveries grow the map
    past the size imapd has mapped. A FETCH that kept its read transaction across the wait
    for the client would pin the map: imapd's next reader on that thread would wait for it
    for ever (adopting the larger map needs every transaction of the process closed)."""

    BIG = 5 << 20  # each stored message: more than the kernel buffers take at once

    @classmethod
    def setUpClass(cls):
        cls.s = Suite(top_toml='[store]\nmap_size = "1M"\n', imapd_toml="threads = 1\n").start()
        cls.s.cli("domain", "add", "example.test")
        cls.s.cli("user", "add", "erin@example.test", "--password", "erin-pw")
        c = imap(cls.s, "erin@example.test", "erin-pw")
        c.create("Big")
        cls.stored = 0
        for i in range(3):
            msg = f"Subject: big {i}\r\n\r\n".encode() + (f"line {i} " * 16 + "\r\n").encode() * (cls.BIG // 114)
            c.append("Big", None, None, msg)
            cls.stored += len(msg)
        c.logout()

    @classmethod
    def tearDownClass(cls):
        stop(cls.s)

    def test_fetch_to_a_client_that_does_not_read_blocks_nobody(self):
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.settimeout(TIMEOUT)
        sock.connect(("127.0.0.1", self.s.imaps))
        slow = client_tls(self.s.cert).wrap_socket(sock, server_hostname="mail.example.test")
        f = slow.makefile("rb")
        f.readline()
        slow.sendall(b"a LOGIN erin@example.test erin-pw\r\n")
        self.assertTrue(f.readline().startswith(b"a OK"))
        slow.sendall(b"b SELECT Big\r\n")
        while not f.readline().startswith(b"b OK"):
            pass
        slow.sendall(b"c FETCH 1:* BODY.PEEK[]\r\n")
        # From here the slow client reads nothing until the end of the test.

        other = imap(self.s, "erin@example.test", "erin-pw")
        smtp = smtplib.SMTP("127.0.0.1", self.s.mx, timeout=TIMEOUT)
        for i in range(10):
            body = (f"delivery {i} " * 12 + "\r\n").encode() * (self.BIG // 130)
            smtp.sendmail("x@remote.example", ["erin@example.test"], f"Subject: grow {i}\r\n\r\n".encode() + body)
            # imapd (one thread, shared with the slow session) keeps answering, and sees
            # each delivery.
            try:
                typ, data = other.status("INBOX", "(MESSAGES)")
            except (socket.timeout, TimeoutError):
                held = [l for l in self.s.log("imapd").splitlines() if "across_suspension" in l]
                self.fail(f"imapd stopped answering after delivery {i}; {held[:1]}")
            self.assertEqual(typ, "OK")
            self.assertIn(f"MESSAGES {i + 1})".encode(), data[0])
        smtp.quit()
        other.logout()

        # The slow client finally reads: the whole FETCH arrives, then its OK.
        got = 0
        while True:
            line = f.readline()
            m = re.search(rb"\{(\d+)\}\r\n$", line)
            if m:
                got += len(f.read(int(m.group(1))))
                continue
            if line.startswith(b"c "):
                self.assertTrue(line.startswith(b"c OK"), line)
                break
            self.assertTrue(line, "the connection closed before the FETCH completed")
        self.assertEqual(got, self.stored)
        f.close()
        slow.close()
        self.assertNotIn("store.txn.across_suspension", self.s.log("imapd"))
        self.assertIn("event=store.grow", self.s.log("smtpd"))


class FlagRaceTest(unittest.TestCase):
    """Two sessions change the flags of the same messages at once. Each change must be
    applied to the stored flags inside the write (a session's view may be stale), and an
    UNCHANGEDSINCE check must be made in the same transaction as the write."""

    N = 1000

    @classmethod
    def setUpClass(cls):
        cls.s = Suite().start("imapd")
        cls.s.cli("domain", "add", "example.test")
        cls.s.cli("user", "add", "fay@example.test", "--password", "fay-pw")
        c = imap(cls.s, "fay@example.test", "fay-pw")
        for box in ("Plus", "Seen", "Cond"):
            c.create(box)
        c.logout()

        def fill(box, first, count):
            c = imap(cls.s, "fay@example.test", "fay-pw")
            for i in range(first, first + count):
                c.append(box, None, None, f"Subject: m{i}\r\n\r\nbody {i}\r\n".encode())
            c.logout()

        # Four writers at once: the group commit keeps filling the mailboxes quick.
        threads = [threading.Thread(target=fill, args=(box, k * cls.N // 4, cls.N // 4))
                   for box in ("Plus", "Seen", "Cond") for k in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()

    @classmethod
    def tearDownClass(cls):
        stop(cls.s)

    def session(self, box):
        c = imap(self.s, "fay@example.test", "fay-pw")
        typ, data = c.select(box)
        self.assertEqual((typ, int(data[0])), ("OK", self.N))
        return c

    def at_once(self, *jobs):
        """Runs each job(session) in its own thread, all starting together."""
        start = threading.Barrier(len(jobs))
        errors = []

        def run(job):
            try:
                start.wait()
                job()
            except Exception as e:  # reported below, in the test's thread
                errors.append(e)

        threads = [threading.Thread(target=run, args=(j,)) for j in jobs]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if errors:
            raise errors[0]

    def flags(self, box):
        c = self.session(box)
        typ, data = c.fetch("1:*", "(UID FLAGS)")
        c.logout()
        out = {}
        for line in data:
            m = re.search(rb"UID (\d+) FLAGS \(([^)]*)\)", line)
            out[int(m.group(1))] = set(m.group(2).decode().split())
        self.assertEqual(len(out), self.N)
        return out

    def test_two_sessions_add_different_flags_to_the_same_messages(self):
        a, b = self.session("Plus"), self.session("Plus")

        def add(c, flags):
            return lambda: [self.assertEqual(c.uid("STORE", str(uid), "+FLAGS.SILENT", flags)[0], "OK")
                            for uid in range(1, self.N + 1)]

        self.at_once(add(a, "(\\Flagged $alpha)"), add(b, "(\\Answered $beta)"))
        a.logout()
        b.logout()
        lost = {uid: f for uid, f in self.flags("Plus").items() if f != {"\\Flagged", "\\Answered", "$alpha", "$beta"}}
        self.assertEqual(lost, {}, f"{len(lost)} of {self.N} messages lost a change")

    def test_implicit_seen_and_a_store_at_once(self):
        a, b = self.session("Seen"), self.session("Seen")

        def read_all():
            for uid in range(1, self.N + 1):
                self.assertEqual(a.uid("FETCH", str(uid), "(BODY[TEXT])")[0], "OK")

        def flag_all():
            for uid in range(1, self.N + 1):
                self.assertEqual(b.uid("STORE", str(uid), "+FLAGS.SILENT", "(\\Flagged)")[0], "OK")

        self.at_once(read_all, flag_all)
        a.logout()
        b.logout()
        lost = {uid: f for uid, f in self.flags("Seen").items() if f != {"\\Seen", "\\Flagged"}}
        self.assertEqual(lost, {}, f"{len(lost)} of {self.N} messages lost a change")

    def test_unchangedsince_lets_exactly_one_of_two_sessions_win(self):
        # RFC 7162 3.1.3: both sessions know MODSEQ m of every message and both store
        # "(UNCHANGEDSINCE m)": for each message exactly one succeeds, the other is MODIFIED.
        a, b = self.session("Cond"), self.session("Cond")
        typ, data = a.fetch("1:*", "(UID MODSEQ)")
        modseq = {int(m.group(1)): int(m.group(2))
                  for m in (re.search(rb"UID (\d+) MODSEQ \((\d+)\)", line) for line in data)}
        won = {"a": set(), "b": set()}

        def conditional(c, name, flag):
            def job():
                for uid in range(1, self.N + 1):
                    typ, dat = c._simple_command("UID", "STORE", str(uid), f"(UNCHANGEDSINCE {modseq[uid]})",
                                                 "+FLAGS.SILENT", f"({flag})")
                    self.assertEqual(typ, "OK", dat)
                    if b"MODIFIED" not in dat[-1]:
                        won[name].add(uid)
            return job

        self.at_once(conditional(a, "a", "$alpha"), conditional(b, "b", "$beta"))
        a.logout()
        b.logout()
        both = won["a"] & won["b"]
        self.assertEqual(both, set(), f"{len(both)} messages were changed by both conditional STOREs")
        self.assertEqual(won["a"] | won["b"], set(range(1, self.N + 1)))
        for uid, f in self.flags("Cond").items():
            self.assertEqual(f, {"$alpha"} if uid in won["a"] else {"$beta"}, uid)


if __name__ == "__main__":
    unittest.main()
