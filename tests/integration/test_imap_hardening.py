"""mailstead-imapd against hostile input (issue 10): deeply nested SEARCH programs, LIST
patterns built to make a wildcard matcher backtrack, literals announced before login, and
mailbox names that would alias other names. The server must answer each with a protocol
error and keep serving everyone else."""
import imaplib
import socket
import threading
import time
import unittest

from helpers import Suite, client_tls
from test_imap import Raw


class ImapHardeningTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.s = Suite(imapd_toml="max_connections_per_ip = 1000\n").start("imapd")
        cls.s.cli("domain", "add", "example.test")
        cls.s.cli("user", "add", "alice@example.test", "--password", "alice-pw")
        cls.tls = client_tls(cls.s.cert)

    @classmethod
    def tearDownClass(cls):
        cls.s.cleanup()

    def raw(self, login=True):
        r = Raw(self.s.imaps, self.s.cert)
        if login:
            tagged, _ = r.cmd('LOGIN "alice@example.test" "alice-pw"')
            self.assertIn(" OK ", tagged)
        return r

    def assert_alive(self):
        self.assertIsNone(self.s.procs["imapd"].poll(), "imapd died")
        c = imaplib.IMAP4_SSL("127.0.0.1", self.s.imaps, ssl_context=self.tls)
        c.login("alice@example.test", "alice-pw")
        self.assertEqual(c.select("INBOX")[0], "OK")
        c.logout()

    def selected(self):
        r = self.raw()
        r.cmd("SELECT INBOX")
        return r

    # 10.1: the search program's depth and size are bounded

    def test_deep_not_chain_gets_bad_naming_the_limit(self):
        r = self.selected()
        tagged, _ = r.cmd("SEARCH " + "NOT " * 16000 + "ALL")
        self.assertRegex(tagged, r"^a\d+ BAD .*nested too deeply.*100")
        # the session goes on, and so does everyone else's
        self.assertIn(" OK ", r.cmd("NOOP")[0])
        self.assert_alive()

    def test_deep_or_chain_through_literals_gets_bad(self):
        r = self.selected()
        # under the command's text limit, so the depth limit is what answers
        r.n += 1
        tag = f"a{r.n}"
        r.send(f"{tag} SEARCH " + "OR SUBJECT {1+}\r\na " * 3000 + "ALL\r\n")
        tagged, _ = r.response(tag)
        self.assertRegex(tagged, r"BAD .*nested too deeply")
        # over the limit on a command's text outside literals: the whole command is refused
        r.n += 1
        tag = f"a{r.n}"
        r.send(f"{tag} SEARCH " + "OR SUBJECT {1+}\r\na " * 20000 + "ALL\r\n")
        tagged, _ = r.response(tag)
        self.assertRegex(tagged, r"BAD \[TOOBIG\]")
        self.assertIn(" OK ", r.cmd("NOOP")[0])
        self.assert_alive()

    def test_deep_parentheses_and_too_many_keys(self):
        r = self.selected()
        tagged, _ = r.cmd("SEARCH " + "(" * 200 + "ALL" + ")" * 200)
        self.assertIn(" BAD ", tagged)
        tagged, _ = r.cmd("SEARCH " + " ".join(["SEEN"] * 12000))
        self.assertRegex(tagged, r"BAD .*Too many SEARCH keys.*10000")
        for cmd in ("UID SORT (DATE) UTF-8 ", "UID THREAD REFERENCES UTF-8 "):
            tagged, _ = r.cmd(cmd + "NOT " * 16000 + "ALL")
            self.assertRegex(tagged, r"BAD .*nested too deeply")
        # an ordinary deep-ish program a client builds still works
        tagged, un = r.cmd("SEARCH " + "OR SEEN " * 50 + "ALL")
        self.assertIn(" OK ", tagged)
        self.assert_alive()
    def test_deeply_nested_mime_is_served(self):
        """The other trees a session walks: a message nested 3,000 levels deep (multiparts and
        forwarded messages) gets its BODYSTRUCTURE, sections and a THREAD answer."""
        r = self.raw()
        r.cmd("CREATE Deep")
        depth = 3000
        multi = b"".join(b"Content-Type: multipart/mixed; boundary=b%d\r\n\r\n--b%d\r\n" % (i, i) for i in range(depth))
        multi = b"Subject: deep\r\n" + multi + b"Content-Type: text/plain\r\n\r\nx\r\n"
        forwards = b"Subject: fwd\r\n" + b"Content-Type: message/rfc822\r\n\r\nSubject: f\r\n" * depth + b"\r\nx\r\n"
        for msg in (multi, forwards):
            r.n += 1
            tag = f"a{r.n}"
            r.send(f"{tag} APPEND Deep {{{len(msg)}+}}\r\n".encode() + msg + b"\r\n")
            self.assertIn(" OK ", r.response(tag)[0])
        r.cmd("SELECT Deep")
        tagged, un = r.cmd("FETCH 1:2 (BODYSTRUCTURE ENVELOPE BODY.PEEK[" + ".".join(["1"] * 60) + "])")
        self.assertIn(" OK ", tagged)
        self.assertEqual(len(un), 2)
        self.assertIn(" OK ", r.cmd("THREAD REFERENCES UTF-8 ALL")[0])
        self.assertIn(" OK ", r.cmd("SEARCH TEXT x")[0])
        self.assert_alive()

    # 10.2: LIST patterns are matched in linear time, and bounded

    def test_list_patterns_that_backtrack_are_fast(self):
        r = self.raw()
        name = "q" * 40 + "/" + "q" * 200
        self.assertIn(" OK ", r.cmd(f'CREATE "{name}"')[0])
        other = self.raw()
        for pattern in ("*q" * 12 + "Z", "%q" * 12 + "Z", "*q%q" * 6 + "Z", "*q" * 200 + "Z"):
            tagged, un = r.cmd(f'LIST "" "{pattern}"')
            self.assertIn(" OK ", tagged)
            self.assertEqual(un, [])
            self.assertIn(" OK ", other.cmd("NOOP")[0], "another session is served meanwhile")
        tagged, un = r.cmd('LIST "" "*q*q*q"')
        self.assertEqual(len(un), 2)  # the parent created with it, and the name
        tagged, un = r.cmd('LSUB "" "%q%q/*q*q"')
        self.assertEqual(len(un), 1)
        tagged, un = r.cmd('LIST "" ("*q*q*Z" "%/*q")')
        self.assertEqual(len(un), 1)
        # a pattern over max_list_pattern (1024 bytes with the reference)
        self.assertRegex(r.cmd('LIST "" "' + "*q" * 600 + '"')[0], r"NO \[LIMIT\].*1024")
        self.assertRegex(r.cmd('LIST "' + "q" * 600 + '" ("' + "%" * 300 + '" "' + "*" * 300 + '")')[0],
                         r"NO \[LIMIT\]")
        self.assertIn(" OK ", r.cmd(f'DELETE "{name}"')[0])
        self.assert_alive()

    def test_overlapping_sequence_sets_cost_the_mailbox_not_their_product(self):
        # 16,000 copies of "1:*" fit one command line: each message must be listed once, and
        # resolving the set must cost the ranges plus the mailbox, not ranges x messages
        # (that was 2 GB and 10 s of one I/O thread at 10,000 messages).
        r = self.raw()
        self.assertIn(" OK ", r.cmd("CREATE Overlap")[0])
        body = b"Subject: x\r\n\r\nx\r\n"
        n = 600
        parts = b"".join(b" {%d+}\r\n" % len(body) + body for _ in range(n))
        r.n += 1
        r.send(b"a%d APPEND Overlap" % r.n + parts + b"\r\n")
        self.assertIn(" OK ", r.response(f"a{r.n}")[0])
        self.assertIn(" OK ", r.cmd("SELECT Overlap")[0])
        pid = self.s.procs["imapd"].pid
        with open(f"/proc/{pid}/clear_refs", "w") as f:
            f.write("5")  # resets the peak resident size (VmHWM) to the current one

        def hwm_kib():
            with open(f"/proc/{pid}/status") as f:
                return next(int(line.split()[1]) for line in f if line.startswith("VmHWM:"))

        before = hwm_kib()
        sets = ",".join(["1:*"] * 16000)
        for command in (f"UID FETCH {sets} (FLAGS)", f"FETCH {sets} (UID)"):
            tagged, un = r.cmd(command)
            self.assertIn(" OK ", tagged)
            self.assertEqual(len(un), n, "each message once")
        tagged, un = r.cmd("UID STORE " + ",".join(["2:4", "3:5", "1"] * 2000) + " +FLAGS.SILENT (\\Seen)")
        self.assertIn(" OK ", tagged)
        tagged, un = r.cmd("UID SEARCH SEEN")
        self.assertEqual(un, [b"* SEARCH 1 2 3 4 5"])
        # ranges x messages would be 16,000 x 600 indexes (77 MB); the merged spans are 256 KB
        self.assertLess(hwm_kib() - before, 24 * 1024, "peak memory while resolving the set")
        self.assertIn(" OK ", r.cmd("CLOSE")[0])
        self.assertIn(" OK ", r.cmd("DELETE Overlap")[0])
        self.assert_alive()

    # 10.10: names that would alias other names or namespaces are not created

    def test_mailbox_names_refused_at_create_and_rename(self):
        r = self.raw()
        self.assertIn(" OK ", r.cmd("CREATE Plain")[0])
        for name in ('"x&AAA-y"', '"a&AAk-b"', '".."', '"../b"', '"a/../b"', '"a/./b"', '"#shared"', "#shared",
                     "~b", '"~b"', '"a//b"', '"/a"'):
            tagged, _ = r.cmd(f"CREATE {name}")
            self.assertRegex(tagged, r"^a\d+ NO ", name)
            tagged, _ = r.cmd(f"RENAME Plain {name}")
            self.assertRegex(tagged, r"^a\d+ NO ", name)
            # other commands parse the same names and answer normally
            for cmd in (f"SELECT {name}", f"STATUS {name} (MESSAGES)", f"DELETE {name}", f"SUBSCRIBE {name}"):
                self.assertRegex(r.cmd(cmd)[0], r"^a\d+ NO ", cmd)
            tagged, _ = r.cmd(f'LIST "" {name}')
            self.assertRegex(tagged, r"^a\d+ OK ", name)
        tagged, un = r.cmd('LIST "" "*"')
        names = b"\n".join(un)
        for leaked in (b"x", b"..", b"#shared", b"~b", b"\x00"):
            self.assertNotIn(b'"' + leaked + b'"', names)
        self.assertNotIn(b"&AAA-", names)
        self.assertIn(b'"Plain"', names)
        self.assertIn(" OK ", r.cmd("DELETE Plain")[0])

    # 10.3: before login only small literals, and only LOGIN's two

    def test_literals_before_login_are_small_and_few(self):
        r = self.raw(login=False)
        self.assertIn("LITERAL-", r.greeting.decode())
        self.assertNotIn("LITERAL+", r.greeting.decode())
        r.send("a1 LOGIN {5000}\r\n")  # synchronizing: refused, the client sends nothing
        self.assertRegex(r.response("a1")[0], r"a1 NO \[TOOBIG\].*4096")
        r.send("a2 LOGIN {1+}\r\na {1+}\r\nb {1+}\r\nc\r\n")  # three literals: not a LOGIN
        self.assertRegex(r.response("a2")[0], r"a2 BAD ")
        r.send("a3 LOGIN {18+}\r\nalice@example.test {8}\r\n")
        self.assertTrue(r.line().startswith(b"+ "))
        r.send("alice-pw\r\n")
        tagged = r.response("a3")[0]
        self.assertIn("a3 OK", tagged)
        self.assertIn("LITERAL+", tagged, "after login, LITERAL+")
        # a non-synchronizing literal over the limit: BYE without reading it
        r = self.raw(login=False)
        r.send("b1 LOGIN {47185920+}\r\n" + "x" * 10000)
        self.assertRegex(r.line(), rb"^\* BYE \[TOOBIG\]")
        self.assert_alive()

    def test_many_large_literals_before_login_use_little_memory(self):
        """100 connections announce a 50 MB literal before login and send what they can: the
        server's peak RSS stays under 256 MiB while a normal client logs in and reads."""
        pid = self.s.procs["imapd"].pid
        chunk = b"x" * 65536
        errors = []

        def attack(i):
            try:
                sock = self.tls.wrap_socket(socket.create_connection(("127.0.0.1", self.s.imaps), timeout=30),
                                            server_hostname="mail.example.test")
                sock.recv(4096)
                sync = i % 10 == 0
                sock.sendall(b"a LOGIN {52428800%s}\r\n" % (b"" if sync else b"+"))
                if sync:
                    reply = sock.recv(4096)
                    if not reply.startswith(b"a NO [TOOBIG]"):
                        errors.append(reply)
                    sock.close()
                    return
                sent = 0
                while sent < 4 << 20:  # 90 × 4 MiB: 360 MiB kept by a server that buffers
                    sock.sendall(chunk)
                    sent += len(chunk)
                sock.close()
            except OSError:
                pass  # the server said BYE and closed: what it should do

        threads = [threading.Thread(target=attack, args=(i,)) for i in range(100)]
        for t in threads:
            t.start()
        self.assert_alive()
        for t in threads:
            t.join(timeout=120)
        self.assert_alive()
        with open(f"/proc/{pid}/status") as f:
            hwm = next(int(line.split()[1]) for line in f if line.startswith("VmHWM:"))
        self.assertLess(hwm, 256 * 1024, f"peak RSS {hwm} KiB")
        self.assertEqual(errors, [])


class ImapLiteralBudgetTest(unittest.TestCase):
    """The process-wide budget of literal bytes held in memory: over it, a temporary NO."""

    def test_budget_refuses_then_recovers(self):
        s = Suite(imapd_toml='max_literal_size = "600K"\nmax_literal_memory = "1M"\n').start("imapd")
        try:
            s.cli("domain", "add", "example.test")
            s.cli("user", "add", "alice@example.test", "--password", "alice-pw")
            a, b = Raw(s.imaps, s.cert), Raw(s.imaps, s.cert)
            for r in (a, b):
                self.assertIn(" OK ", r.cmd('LOGIN "alice@example.test" "alice-pw"')[0])
            msg = b"Subject: big\r\n\r\n" + b"x" * (600000 - 16)
            self.assertEqual(len(msg), 600000)
            a.send("a1 APPEND INBOX {600000}\r\n")  # holds 600,000 bytes of the budget
            self.assertTrue(a.line().startswith(b"+ "))
            b.send("b1 APPEND INBOX {600000}\r\n")
            self.assertRegex(b.response("b1")[0], r"b1 NO \[UNAVAILABLE\]")
            b.send(b"b2 APPEND INBOX {600000+}\r\n" + msg + b"\r\n")  # read and dropped
            self.assertRegex(b.response("b2")[0], r"b2 NO \[UNAVAILABLE\]")
            self.assertIn(" OK ", b.cmd("NOOP")[0])
            a.send(msg + b"\r\n")
            self.assertIn("a1 OK [APPENDUID", a.response("a1")[0])
            b.send(b"b3 APPEND INBOX {600000+}\r\n" + msg + b"\r\n")
            self.assertIn("b3 OK [APPENDUID", b.response("b3")[0])
        finally:
            s.cleanup()


class ImapSearchLimitsConfigTest(unittest.TestCase):
    def test_limits_come_from_the_config(self):
        s = Suite(imapd_toml="max_search_depth = 3\nmax_search_keys = 5\n").start("imapd")
        try:
            s.cli("domain", "add", "example.test")
            s.cli("user", "add", "alice@example.test", "--password", "alice-pw")
            r = Raw(s.imaps, s.cert)
            r.cmd('LOGIN "alice@example.test" "alice-pw"')
            r.cmd("SELECT INBOX")
            self.assertIn(" OK ", r.cmd("SEARCH NOT NOT NOT ALL")[0])
            self.assertRegex(r.cmd("SEARCH NOT NOT NOT NOT ALL")[0], r"BAD .*limit is 3 levels")
            self.assertRegex(r.cmd("SEARCH SEEN SEEN SEEN SEEN SEEN SEEN")[0], r"BAD .*limit is 5")
        finally:
            s.cleanup()


if __name__ == "__main__":
    unittest.main()
