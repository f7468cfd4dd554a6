"""mailstead-imapd as a real binary, driven by Python's imaplib and a raw IMAP client:
login, SELECT, APPEND, FETCH (byte-exact, sections, partials), STORE, SEARCH, COPY/MOVE,
EXPUNGE, mailbox management, two sessions seeing each other, IDLE woken by the real smtpd,
and errors that keep the session alive."""
import base64
import imaplib
import re
import smtplib
import socket
import ssl
import time
import unittest

from helpers import Redis, Suite, client_tls, connect_when_room, free_ports


class Raw:
    """A raw IMAP client over TLS, for exact protocol checks."""

    def __init__(self, port, cert):
        ctx = client_tls(cert)
        self.sock = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=10),
                                    server_hostname="mail.example.test")
        self.buf = b""
        self.n = 0
        self.greeting = self.line()

    def send(self, data):
        self.sock.sendall(data if isinstance(data, bytes) else data.encode())

    def line(self):
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def read_exact(self, n):
        while len(self.buf) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed")
            self.buf += chunk
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def cmd(self, text, literal_data=None):
        """Sends `tag text`; returns (tagged line, [untagged lines with literals inline])."""
        self.n += 1
        tag = f"a{self.n}"
        self.send(f"{tag} {text}\r\n")
        return self.response(tag)

    def response(self, tag):
        untagged = []
        while True:
            line = self.line()
            m = re.search(rb"\{(\d+)\}$", line)
            while m:
                line += b"\r\n" + self.read_exact(int(m.group(1)))
                more = self.line()
                line += more
                m = re.search(rb"\{(\d+)\}$", more)
            if line.startswith(tag.encode() + b" "):
                return line.decode(errors="replace"), untagged
            untagged.append(line)


def idle_wake_latency(test, suite, r, user="bob@example.test"):
    """IDLEs on INBOX, delivers one message through the real smtpd and returns the seconds
    from the 250 to the untagged EXISTS."""
    tagged, un = r.cmd("SELECT INBOX")
    exists = int(next(u for u in un if u.endswith(b"EXISTS")).split()[1])
    r.send("i1 IDLE\r\n")
    test.assertEqual(r.line(), b"+ idling")
    s = smtplib.SMTP("127.0.0.1", suite.mx, timeout=10)
    s.sendmail("x@remote.example", [user], b"Subject: wake\r\n\r\nup\r\n")
    t0 = time.monotonic()
    line = r.line()
    latency = time.monotonic() - t0
    s.quit()
    test.assertEqual(line, f"* {exists + 1} EXISTS".encode())
    r.send("DONE\r\n")
    test.assertIn("i1 OK", r.response("i1")[0])
    return latency


class ImapTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.s = Suite(imapd_toml='max_literal_size = "30M"\n',
                      smtpd_toml='max_message_size = "30M"\n').start()
        cls.s.cli("domain", "add", "example.test")
        cls.s.cli("user", "add", "alice@example.test", "--password", "alice-pw")
        cls.s.cli("user", "add", "bob@example.test", "--password", "bob-pw")
        cls.s.cli("alias", "add", "info@example.test", "alice@example.test")
        cls.tls = client_tls(cls.s.cert)

    @classmethod
    def tearDownClass(cls):
        cls.s.cleanup()

    def connect(self, user="alice@example.test", password="alice-pw"):
        c = imaplib.IMAP4_SSL("127.0.0.1", self.s.imaps, ssl_context=self.tls)
        c.login(user, password)
        return c

    def raw(self, login=True, user="alice@example.test", password="alice-pw"):
        r = Raw(self.s.imaps, self.s.cert)
        if login:
            tagged, _ = r.cmd(f'LOGIN "{user}" "{password}"')
            self.assertIn(" OK ", tagged)
        return r

    def fresh_mailbox(self, c, name):
        c.create(name)
        typ, _ = c.select(name)
        self.assertEqual(typ, "OK")

    # ---- greeting, capabilities, login ----
    def test_capabilities_in_greeting_and_login(self):
        r = self.raw(login=False)
        self.assertTrue(r.greeting.startswith(b"* OK [CAPABILITY IMAP4rev1 "), r.greeting)
        caps = r.greeting.split(b"[CAPABILITY ")[1].split(b"]")[0].split()
        for need in (b"IMAP4rev1", b"SASL-IR", b"AUTH=PLAIN", b"LITERAL-", b"ID", b"IDLE"):
            self.assertIn(need, caps)
        for never in (b"AUTH=CRAM-MD5", b"AUTH=DIGEST-MD5", b"XLIST", b"X-GM-EXT-1", b"LANGUAGE", b"IMAP4rev2"):
            self.assertNotIn(never, caps)
        tagged, _ = r.cmd('LOGIN "alice@example.test" "alice-pw"')
        self.assertRegex(tagged, r"OK \[CAPABILITY IMAP4rev1 .*LITERAL\+.*UIDPLUS.*MOVE.*SPECIAL-USE")

    def test_authenticate_plain_forms(self):
        token = base64.b64encode(b"\0alice@example.test\0alice-pw").decode()
        r = self.raw(login=False)
        self.assertIn(" OK ", r.cmd(f"AUTHENTICATE PLAIN {token}")[0])  # SASL-IR, Roundcube's form
        r = self.raw(login=False)
        r.send("t1 authenticate PLAIN\r\n")  # Thunderbird's form: "+" round trip
        self.assertEqual(r.line(), b"+ ")
        r.send(token + "\r\n")
        self.assertIn(" OK ", r.response("t1")[0])
        r = self.raw(login=False)
        r.send("t2 AUTHENTICATE PLAIN\r\n")
        r.line()
        r.send("*\r\n")
        self.assertIn("t2 BAD", r.response("t2")[0])

    def test_login_failures(self):
        r = self.raw(login=False)
        self.assertIn("NO [AUTHENTICATIONFAILED]", r.cmd('LOGIN "alice@example.test" "wrong"')[0])
        self.assertIn("NO [AUTHENTICATIONFAILED]", r.cmd('LOGIN "info@example.test" "alice-pw"')[0],
                      "only the primary address logs in")
        self.assertIn("NO", r.cmd("SELECT INBOX")[0])
        self.assertIn(" OK ", r.cmd('LOGIN "alice@example.test" "alice-pw"')[0])

    def test_id_namespace_enable(self):
        r = self.raw()
        tagged, un = r.cmd('ID ("name" "Thunderbird" "version" "128.0")')
        self.assertIn(" OK ", tagged)
        self.assertTrue(un[0].startswith(b'* ID ("name" "Mailstead"'))
        tagged, un = r.cmd("NAMESPACE")
        self.assertEqual(un, [b'* NAMESPACE (("" "/")) NIL NIL'])
        tagged, un = r.cmd("ENABLE IMAP4rev2 X-UNKNOWN")
        self.assertEqual(un, [b"* ENABLED"], "nothing is enabled that is not advertised")
        tagged, un = r.cmd("ENABLE UTF8=ACCEPT IMAP4rev2")
        self.assertEqual(un, [b"* ENABLED UTF8=ACCEPT"])

    # ---- SELECT ----
    def test_select_reply(self):
        r = self.raw(user="bob@example.test", password="bob-pw")
        msg = b"Subject: s\r\n\r\nx\r\n"
        r.send(f"p1 APPEND INBOX {{{len(msg)}+}}\r\n".encode() + msg + b"\r\n")
        self.assertIn("p1 OK [APPENDUID ", r.response("p1")[0])
        tagged, un = r.cmd('select "INBOX"')
        text = b"\n".join(un)
        self.assertIn(b"* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)", text)
        self.assertIn(b"* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft \\*)]", text)
        self.assertRegex(text, rb"\* \d+ EXISTS")
        self.assertIn(b"* 0 RECENT", text)
        self.assertRegex(text, rb"\* OK \[UIDVALIDITY \d+\]")
        self.assertRegex(text, rb"\* OK \[UIDNEXT \d+\]")
        self.assertRegex(text, rb"\* OK \[UNSEEN \d+\]")
        self.assertIn("OK [READ-WRITE]", tagged)
        tagged, un = r.cmd("EXAMINE INBOX")
        self.assertIn("OK [READ-ONLY]", tagged)
        self.assertIn(b"* OK [PERMANENTFLAGS ()] Read-only mailbox", un)
        self.assertIn("NO [READ-ONLY]", r.cmd("STORE 1 +FLAGS (\\Seen)")[0])
        self.assertIn("NO [NONEXISTENT]", r.cmd("SELECT Nowhere")[0])
        self.assertIn("BAD", r.cmd("FETCH 1 FLAGS")[0], "a failed SELECT leaves no mailbox selected")

    # ---- APPEND and FETCH ----
    def test_append_fetch_byte_exact_and_sections(self):
        c = self.connect()
        self.fresh_mailbox(c, "Fetch")
        msg = (b"From: \"Bob B\" <bob@example.test>\r\nTo: alice@example.test\r\nSubject: sections\r\n"
               b"Date: Mon, 1 Jan 2024 10:00:00 +0000\r\nMessage-ID: <m1@example.test>\r\n"
               b"Content-Type: multipart/mixed; boundary=zz\r\n\r\n--zz\r\nContent-Type: text/plain\r\n\r\n"
               b"hello plain\r\n--zz\r\nContent-Type: application/octet-stream\r\n"
               b"Content-Transfer-Encoding: base64\r\n\r\nAAECAw==\r\n--zz--\r\n")
        typ, data = c.append("Fetch", r"(\Draft)", '"01-Feb-2024 12:34:56 +0100"', msg)
        self.assertEqual(typ, "OK")
        m = re.search(rb"APPENDUID (\d+) (\d+)", data[0])
        self.assertIsNotNone(m)
        uid = m.group(2).decode()
        c.select("Fetch")
        typ, data = c.uid("fetch", uid, "(UID RFC822.SIZE INTERNALDATE FLAGS BODY.PEEK[])")
        self.assertEqual(data[0][1], msg)
        self.assertIn(f"RFC822.SIZE {len(msg)}".encode(), data[0][0])
        self.assertIn(b'INTERNALDATE "01-Feb-2024 11:34:56 +0000"', data[0][0])
        self.assertIn(b"FLAGS (\\Draft)", data[0][0] + data[0][-1] if isinstance(data[0], tuple) else data[0])
        typ, data = c.uid("fetch", uid, "(BODY.PEEK[HEADER.FIELDS (From Subject)] BODY.PEEK[1] BODY.PEEK[2.MIME] BODY.PEEK[TEXT]<0.4>)")
        parts = [p for p in data if isinstance(p, tuple)]
        self.assertIn(b"BODY[HEADER.FIELDS (From Subject)] {", parts[0][0])
        self.assertEqual(parts[0][1], b"From: \"Bob B\" <bob@example.test>\r\nSubject: sections\r\n\r\n")
        self.assertEqual(parts[1][1], b"hello plain")
        self.assertEqual(parts[2][1], b"Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n")
        self.assertIn(b"BODY[TEXT]<0> {4}", parts[3][0])
        self.assertEqual(parts[3][1], b"--zz")
        typ, data = c.uid("fetch", uid, "(ENVELOPE BODYSTRUCTURE)")
        self.assertIn(b'ENVELOPE ("Mon, 1 Jan 2024 10:00:00 +0000" "sections" (("Bob B" NIL "bob" "example.test"))', data[0])
        self.assertIn(b'("APPLICATION" "OCTET-STREAM" NIL NIL NIL "BASE64" 8 NIL NIL NIL NIL) "MIXED"', data[0])
        # PEEK left \Seen alone; BODY[] sets it.
        self.assertNotIn(b"\\Seen", c.uid("fetch", uid, "(FLAGS)")[1][0])
        typ, data = c.uid("fetch", uid, "(BODY[1])")
        self.assertIn(b"\\Seen", b"".join(p if isinstance(p, bytes) else p[0] for p in data))
        c.logout()

    def test_delivered_by_smtpd_then_fetched(self):
        body = b"Subject: via smtp\r\n\r\nhello over smtp\r\n"
        s = smtplib.SMTP("127.0.0.1", self.s.mx, timeout=10)
        s.sendmail("sender@remote.example", ["bob@example.test"], body)
        s.quit()
        c = self.connect("bob@example.test", "bob-pw")
        c.select("INBOX")
        typ, data = c.fetch("*", "(RFC822.SIZE BODY.PEEK[])")
        got = data[0][1]
        self.assertTrue(got.startswith(b"Return-Path: <sender@remote.example>\r\nDelivered-To: bob@example.test\r\n"))
        self.assertTrue(got.endswith(body))
        self.assertIn(f"RFC822.SIZE {len(got)}".encode(), data[0][0])
        c.logout()

    def test_25mb_message_whole_and_partial(self):
        line = b"y" * 998 + b"\r\n"
        msg = b"Subject: big\r\n\r\n" + line * (25 * 1000 * 1000 // len(line))
        c = self.connect()
        self.fresh_mailbox(c, "Big")
        typ, data = c.append("Big", None, None, msg)
        self.assertEqual(typ, "OK")
        c.select("Big")
        typ, data = c.fetch("1", "(BODY.PEEK[])")
        self.assertEqual(data[0][1], msg)
        typ, data = c.fetch("1", "(BODY.PEEK[]<0.65536>)")
        self.assertIn(b"BODY[]<0> {65536}", data[0][0])
        self.assertEqual(data[0][1], msg[:65536])
        typ, data = c.fetch("1", f"(BODY.PEEK[]<{len(msg) - 100}.65536>)")
        self.assertEqual(data[0][1], msg[-100:])
        c.logout()

    # ---- STORE, SEARCH ----
    def test_store_and_search(self):
        c = self.connect()
        self.fresh_mailbox(c, "Search")
        msgs = [
            b"From: Alice <alice@example.test>\r\nSubject: =?utf-8?q?Gr=C3=BC=C3=9Fe?=\r\n"
            b"Date: Mon, 1 Jan 2024 10:00:00 +0000\r\n\r\nplain words here\r\n",
            b"From: Carol <carol@remote.example>\r\nSubject: invoice\r\nContent-Type: text/plain\r\n"
            b"Content-Transfer-Encoding: base64\r\n\r\n" + base64.b64encode(b"secret payload text") + b"\r\n",
            b"From: Dave <dave@remote.example>\r\nSubject: big one\r\n\r\n" + b"z" * 5000 + b"\r\n",
        ]
        for m in msgs:
            c.append("Search", None, None, m)
        c.select("Search")
        typ, data = c.store("1", "+FLAGS", r"(\Seen \Flagged $Work)")
        self.assertIn(b"FLAGS (\\Seen \\Flagged $Work)", data[0])
        typ, data = c.store("1", "-FLAGS.SILENT", r"(\Flagged)")
        self.assertEqual(data, [None])
        self.assertIn(b"FLAGS (\\Seen $Work)", c.fetch("1", "(FLAGS)")[1][0])
        def search(*keys):
            return c.search(None, *keys)[1][0].split()
        self.assertEqual(search("UNSEEN"), [b"2", b"3"])
        self.assertEqual(search("SEEN"), [b"1"])
        self.assertEqual(search("KEYWORD", "$Work"), [b"1"])
        self.assertEqual(search("FROM", "carol"), [b"2"])
        self.assertEqual(search("SUBJECT", "INVOICE"), [b"2"])
        self.assertEqual(search("BODY", "payload"), [b"2"], "base64 bodies are searched decoded")
        self.assertEqual(search("TEXT", '"plain words"'), [b"1"])
        self.assertEqual(search("LARGER", "3000"), [b"3"])
        self.assertEqual(search("NOT", "LARGER", "3000"), [b"1", b"2"])
        self.assertEqual(search("OR", "FROM", "dave", "FROM", "alice"), [b"1", b"3"])
        self.assertEqual(search("SENTBEFORE", "2-Jan-2024"), [b"1"])
        self.assertEqual(search("2:*"), [b"2", b"3"])
        self.assertEqual(search("UNDELETED", "SINCE", "1-Jan-2000"), [b"1", b"2", b"3"])
        typ, data = c.uid("search", None, "ALL")
        self.assertEqual(len(data[0].split()), 3)
        c.literal = "Grüße".encode()
        typ, data = c.search("UTF-8", "SUBJECT")
        self.assertEqual(data[0].split(), [b"1"], "CHARSET UTF-8 with a literal, after RFC 2047 decoding")
        c.logout()

    def test_esearch_and_quota(self):
        r = self.raw()
        r.cmd("CREATE Es")
        for i in range(4):
            msg = f"Subject: {i}\r\n\r\nx\r\n".encode()
            r.send(f"e{i} APPEND Es {{{len(msg)}+}}\r\n".encode() + msg + b"\r\n")
            r.response(f"e{i}")
        r.cmd("SELECT Es")
        tagged, un = r.cmd("UID SEARCH RETURN (MIN MAX COUNT ALL) 2:*")
        self.assertRegex(un[0].decode(), r'^\* ESEARCH \(TAG "a\d+"\) UID MIN \d+ MAX \d+ COUNT 3 ALL \d+:\d+$')
        tagged, un = r.cmd("SEARCH RETURN (COUNT) ALL")
        self.assertTrue(un[0].endswith(b"COUNT 4"), un)
        tagged, un = r.cmd('getquotaroot "INBOX"')
        self.assertIn(" OK ", tagged)
        self.assertEqual(un, [b'* QUOTAROOT "INBOX"'], "no quota for alice")
        self.s.cli("user", "add", "quota@example.test", "--password", "q-pw", "--quota", "1M")
        q = self.raw(user="quota@example.test", password="q-pw")
        tagged, un = q.cmd("GETQUOTAROOT INBOX")
        self.assertEqual(un, [b'* QUOTAROOT "INBOX" ""', b'* QUOTA "" (STORAGE 0 1024)'])
        big = b"Subject: big\r\n\r\n" + b"q" * 1100000
        q.send(f"qa APPEND INBOX {{{len(big)}+}}\r\n".encode() + big + b"\r\n")
        self.assertIn("qa NO [OVERQUOTA]", q.response("qa")[0])

    def test_sort(self):
        r = self.raw()
        r.cmd("CREATE Sorted")
        msgs = [
            ("Re: [team] Budget", "Zed <zed@remote.example>", "Tue, 2 Jan 2024 10:00:00 +0000", 100),
            ("apples", "\"Anna Able\" <zz@remote.example>", "Mon, 1 Jan 2024 10:00:00 +0000", 3000),
            ("Fwd: budget (fwd)", "bob@remote.example", "Wed, 3 Jan 2024 10:00:00 +0000", 10),
            ("=?utf-8?q?Caf=C3=A9?=", "Carl <carl@remote.example>", "Mon, 1 Jan 2024 09:00:00 +0000", 500),
        ]
        for i, (subject, sender, date, pad) in enumerate(msgs):
            m = f"From: {sender}\r\nSubject: {subject}\r\nDate: {date}\r\n\r\n{'x' * pad}\r\n".encode()
            r.send(f"s{i} APPEND Sorted {{{len(m)}+}}\r\n".encode() + m + b"\r\n")
            r.response(f"s{i}")
        r.cmd("SELECT Sorted")
        def sort(criteria, keys="ALL", uid=False):
            tagged, un = r.cmd(f"{'UID ' if uid else ''}SORT ({criteria}) UTF-8 {keys}")
            self.assertIn(" OK ", tagged)
            return un[0].decode()
        self.assertEqual(sort("SUBJECT"), "* SORT 2 1 3 4", "apples, budget, budget, café: base subjects")
        self.assertEqual(sort("DATE"), "* SORT 4 2 1 3")
        self.assertEqual(sort("REVERSE DATE"), "* SORT 3 1 2 4")
        self.assertEqual(sort("SIZE"), "* SORT 3 1 4 2")
        self.assertEqual(sort("FROM"), "* SORT 3 4 1 2", "by mailbox: bob, carl, zed, zz")
        self.assertEqual(sort("DISPLAYFROM"), "* SORT 2 3 4 1", "by display name: anna, bob@, carl, zed")
        self.assertEqual(sort("SUBJECT REVERSE DATE", "NOT LARGER 2000"), "* SORT 3 1 4")
        self.assertRegex(sort("ARRIVAL", uid=True), r"^\* SORT \d+ \d+ \d+ \d+$")
        self.assertIn("BAD", r.cmd("SORT (SHOESIZE) UTF-8 ALL")[0])
        self.assertIn("NO [BADCHARSET", r.cmd("SORT (DATE) KOI8-R ALL")[0])

    def test_thread(self):
        r = self.raw()
        r.cmd("CREATE Threads")
        msgs = [  # (subject, Message-ID, References, In-Reply-To, date)
            ("Plan", "<p1@x>", "", "", "Mon, 1 Jan 2024 10:00:00 +0000"),
            ("Re: Plan", "<p2@x>", "<p1@x>", "", "Mon, 1 Jan 2024 11:00:00 +0000"),
            ("Lunch", "<l1@x>", "", "", "Mon, 1 Jan 2024 10:30:00 +0000"),
            ("Re: Plan", "<p3@x>", "<p1@x> <p2@x>", "", "Mon, 1 Jan 2024 12:00:00 +0000"),
            ("Re: Plan", "<p4@x>", "", "<p1@x>", "Mon, 1 Jan 2024 13:00:00 +0000"),
            ("Re: Lunch", "<l2@x>", "", "", "Mon, 1 Jan 2024 14:00:00 +0000"),
        ]
        for i, (subject, mid, refs, irt, date) in enumerate(msgs):
            h = f"From: a@remote.example\r\nSubject: {subject}\r\nMessage-ID: {mid}\r\nDate: {date}\r\n"
            if refs:
                h += f"References: {refs}\r\n"
            if irt:
                h += f"In-Reply-To: {irt}\r\n"
            m = (h + "\r\nbody\r\n").encode()
            r.send(f"t{i} APPEND Threads {{{len(m)}+}}\r\n".encode() + m + b"\r\n")
            r.response(f"t{i}")
        self.assertIn(b"THREAD=REFERENCES", r.cmd("CAPABILITY")[1][0])
        r.cmd("SELECT Threads")
        def thread(algorithm, keys="ALL", uid=False):
            tagged, un = r.cmd(f"{'UID ' if uid else ''}THREAD {algorithm} UTF-8 {keys}")
            self.assertIn(" OK ", tagged)
            return un[0].decode()
        # Plan: 1 → 2 → 4 and 1 → 5 (In-Reply-To); Lunch: 3 → 6 by subject alone
        self.assertEqual(thread("REFERENCES"), "* THREAD (1 (2 4)(5))(3 6)")
        self.assertEqual(thread("ORDEREDSUBJECT"), "* THREAD (1 (2)(4)(5))(3 6)")
        self.assertEqual(thread("REFERENCES", "SUBJECT lunch"), "* THREAD (3 6)")
        self.assertEqual(thread("REFERENCES", "SUBJECT nothing-like-this"), "* THREAD")
        uids = thread("REFERENCES", uid=True)
        self.assertRegex(uids, r"^\* THREAD \(\d+ \(\d+ \d+\)\(\d+\)\)\(\d+ \d+\)$")
        self.assertIn("BAD", r.cmd("THREAD BYMOOD UTF-8 ALL")[0])
        self.assertIn("NO [BADCHARSET", r.cmd("THREAD REFERENCES KOI8-R ALL")[0])

    def test_search_charset_refused(self):
        r = self.raw()
        r.cmd("SELECT INBOX")
        self.assertIn("NO [BADCHARSET", r.cmd("SEARCH CHARSET KOI8-R ALL")[0])

    # ---- COPY, MOVE, EXPUNGE ----
    def test_copy_move_expunge_and_uids_never_reused(self):
        c = self.connect()
        self.fresh_mailbox(c, "Src")
        c.create("Dst")
        for i in range(3):
            c.append("Src", None, None, f"Subject: m{i}\r\n\r\nbody {i}\r\n".encode())
        c.select("Src")
        r = self.raw()
        r.cmd("SELECT Src")
        self.assertRegex(r.cmd("UID COPY 1:2 Dst")[0], r"OK \[COPYUID \d+ 1:2 1:2\] ")
        r.cmd("LOGOUT")
        typ, data = c.uid("move", "3", "Dst")
        self.assertEqual(typ, "OK")
        self.assertEqual(c.untagged_responses.pop("EXPUNGE"), [b"3"])
        self.assertIn(b"COPYUID", b" ".join(c.untagged_responses.get("OK", [])))
        self.assertEqual(c.uid("copy", "1", "Nowhere")[0], "NO")
        c.store("1", "+FLAGS", r"\Deleted")
        typ, data = c.expunge()
        self.assertEqual(data, [b"1"])
        c.append("Src", None, None, b"Subject: new\r\n\r\nx\r\n")
        c.noop()
        typ, data = c.uid("search", None, "ALL")
        self.assertEqual(data[0].split(), [b"2", b"4"], "UID 1 and 3 are gone and never reused")
        status = c.status("Dst", "(MESSAGES UIDNEXT)")[1][0]
        self.assertIn(b"MESSAGES 3", status)
        self.assertIn(b"UIDNEXT 4", status)
        c.logout()

    def test_uid_expunge(self):
        c = self.connect()
        self.fresh_mailbox(c, "UidX")
        for i in range(3):
            c.append("UidX", r"(\Deleted)", None, f"Subject: {i}\r\n\r\nx\r\n".encode())
        c.select("UidX")
        typ, data = c.uid("expunge", "2")
        self.assertEqual(typ, "OK")
        self.assertEqual(c.untagged_responses.pop("EXPUNGE"), [b"2"])
        self.assertEqual(c.uid("search", None, "ALL")[1][0].split(), [b"1", b"3"])
        c.logout()

    # ---- mailboxes ----
    def test_mailbox_management_and_utf7_names(self):
        c = self.connect()
        self.assertEqual(c.create("Entw&APw-rfe/Alt")[0], "OK")
        names = [l.decode() for l in c.list('""', "*")[1]]
        self.assertIn('(\\HasChildren) "/" "Entw&APw-rfe"', names)
        self.assertIn('(\\HasNoChildren) "/" "Entw&APw-rfe/Alt"', names)
        self.assertIn('(\\HasNoChildren \\Junk) "/" "Spam"', names)
        self.assertEqual(c.rename("Entw&APw-rfe", "Old"), ("OK", [b"RENAME completed"]))
        names = [l.decode() for l in c.list('""', "Old*")[1]]
        self.assertEqual(len(names), 2, names)
        top = [l.decode() for l in c.list('""', "%")[1]]
        self.assertTrue(top and not any('/' in l.split('"/" ')[1] for l in top), "% does not cross the delimiter")
        c.unsubscribe("Old/Alt")
        lsub = [l.decode() for l in c.lsub('""', "*")[1]]
        listed_sub = [l.decode() for l in c.list('""', "*")[1]]
        self.assertNotIn('"Old/Alt"', " ".join(lsub))
        self.assertIn('"Old/Alt"', " ".join(listed_sub))
        self.assertEqual(c.delete("Old")[0], "NO", "mailboxes inside it first")
        self.assertEqual(c.delete("Old/Alt")[0], "OK")
        self.assertEqual(c.delete("Old")[0], "OK")
        self.assertEqual(c.delete("INBOX")[0], "NO")
        self.assertEqual(c.create("Sent")[0], "NO")
        r = self.raw()
        tagged, un = r.cmd('LIST (SUBSCRIBED) "" "*" RETURN (SPECIAL-USE)')
        self.assertIn(b'* LIST (\\HasNoChildren \\Sent \\Subscribed) "/" "Sent"', un)
        tagged, un = r.cmd('STATUS "INBOX" (MESSAGES UNSEEN UIDNEXT UIDVALIDITY RECENT SIZE)')
        self.assertRegex(un[0].decode(), r'^\* STATUS "INBOX" \(MESSAGES \d+ UNSEEN \d+ UIDNEXT \d+ UIDVALIDITY \d+ RECENT 0 SIZE \d+\)$')
        c.logout()

    def test_list_extended_status_and_create_special_use(self):
        r = self.raw()
        self.assertIn(" OK ", r.cmd("CREATE Projects/Alpha")[0])
        r.cmd("UNSUBSCRIBE Projects")
        tagged, un = r.cmd('LIST (SUBSCRIBED RECURSIVEMATCH) "" "Projects*"')
        self.assertIn(b'* LIST (\\HasChildren) "/" "Projects" ("CHILDINFO" ("SUBSCRIBED"))', un)
        self.assertIn(b'* LIST (\\HasNoChildren \\Subscribed) "/" "Projects/Alpha"', un)
        self.assertIn("BAD", r.cmd('LIST (RECURSIVEMATCH) "" "*"')[0])
        tagged, un = r.cmd('LIST "" "INBOX" RETURN (STATUS (MESSAGES UIDNEXT SIZE))')
        self.assertEqual(un[0], b'* LIST (\\HasNoChildren) "/" "INBOX"')
        self.assertRegex(un[1].decode(), r'^\* STATUS "INBOX" \(MESSAGES \d+ UIDNEXT \d+ SIZE \d+\)$')
        tagged, un = r.cmd('LIST (SPECIAL-USE) "" "*"')
        self.assertTrue(un and all(re.search(rb"\\(Sent|Drafts|Trash|Junk|Archive|All|Flagged)", u) for u in un), un)
        self.assertIn(" OK ", r.cmd("CREATE Outbox (USE (\\Sent))")[0])
        tagged, un = r.cmd('LIST "" "Outbox"')
        self.assertEqual(un, [b'* LIST (\\HasNoChildren \\Sent) "/" "Outbox"'])
        self.assertIn("NO [USEATTR]", r.cmd("CREATE Weird (USE (\\Important))")[0])
        r.cmd("DELETE Outbox")

    # ---- concurrency ----
    def test_two_sessions_see_each_other(self):
        a = self.raw()
        b = self.raw()
        a.cmd("CREATE Shared")
        for i in range(3):
            msg = f"Subject: s{i}\r\n\r\nx\r\n".encode()
            a.send(f"ap{i} APPEND Shared {{{len(msg)}+}}\r\n".encode() + msg + b"\r\n")
            a.response(f"ap{i}")
        a.cmd("SELECT Shared")
        b.cmd("SELECT Shared")
        a.cmd("STORE 2 +FLAGS (\\Flagged)")
        a.cmd("STORE 3 +FLAGS (\\Deleted)")
        a.cmd("EXPUNGE")
        msg = b"Subject: new\r\n\r\nx\r\n"
        a.send(f"ap9 APPEND Shared {{{len(msg)}+}}\r\n".encode() + msg + b"\r\n")
        a.response("ap9")
        # B learns during FETCH what may be said then (flags, new messages, never EXPUNGE),
        # and the expunge at NOOP.
        tagged, during_fetch = b.cmd("FETCH 1 (FLAGS)")
        self.assertFalse(any(b"EXPUNGE" in u for u in during_fetch), during_fetch)
        self.assertIn(b"* 2 FETCH (FLAGS (\\Flagged))", during_fetch)
        self.assertIn(b"* 4 EXISTS", during_fetch)
        tagged, at_noop = b.cmd("NOOP")
        self.assertEqual(at_noop, [b"* 3 EXPUNGE"])
        tagged, un = b.cmd("UID SEARCH ALL")
        self.assertEqual(un, [b"* SEARCH 1 2 4"])

    def test_condstore_and_qresync_resync(self):
        a = self.raw()
        b = self.raw()
        a.cmd("CREATE Sync")
        for i in range(6):
            msg = f"Subject: q{i}\r\n\r\nx\r\n".encode()
            a.send(f"q{i} APPEND Sync {{{len(msg)}+}}\r\n".encode() + msg + b"\r\n")
            a.response(f"q{i}")
        tagged, un = b.cmd("ENABLE QRESYNC")
        self.assertEqual(un, [b"* ENABLED CONDSTORE QRESYNC"])
        tagged, un = b.cmd("SELECT Sync")
        validity = int(next(re.search(rb"UIDVALIDITY (\d+)", u).group(1) for u in un if b"UIDVALIDITY" in u))
        modseq = int(next(re.search(rb"HIGHESTMODSEQ (\d+)", u).group(1) for u in un if b"HIGHESTMODSEQ" in u))
        b.cmd("LOGOUT")
        # Meanwhile, elsewhere: two expunged, one flagged.
        a.cmd("SELECT Sync")
        a.cmd("UID STORE 2,5 +FLAGS (\\Deleted)")
        a.cmd("EXPUNGE")
        a.cmd("UID STORE 3 +FLAGS (\\Flagged)")
        # The client comes back with what it knew.
        c = self.raw()
        c.cmd("ENABLE QRESYNC")
        tagged, un = c.cmd(f"SELECT Sync (QRESYNC ({validity} {modseq} 1:6))")
        self.assertIn(b"* VANISHED (EARLIER) 2,5", un)
        flagged = [u for u in un if b"FETCH" in u]
        self.assertEqual(len(flagged), 1, un)
        self.assertRegex(flagged[0], rb"^\* 2 FETCH \(UID 3 FLAGS \(\\Flagged\) MODSEQ \(\d+\)\)$")
        tagged, un = c.cmd(f"UID FETCH 1:* (FLAGS) (CHANGEDSINCE {modseq} VANISHED)")
        self.assertEqual(un[0], b"* VANISHED (EARLIER) 2,5")
        self.assertEqual(len(un), 2)
        # STORE UNCHANGEDSINCE: a change made since then wins, the client is told.
        tagged, un = c.cmd(f"UID STORE 3,4 (UNCHANGEDSINCE {modseq}) +FLAGS (\\Seen)")
        self.assertIn("[MODIFIED 3]", tagged)
        self.assertTrue(any(b"UID 4 FLAGS (\\Seen) MODSEQ (" in u for u in un), un)
        tagged, un = c.cmd(f"SEARCH MODSEQ {modseq + 1}")
        self.assertRegex(un[0].decode(), r"^\* SEARCH 2 3 \(MODSEQ \d+\)$")
        tagged, un = c.cmd("STATUS Sync (HIGHESTMODSEQ)")
        self.assertRegex(un[0].decode(), r'^\* STATUS "Sync" \(HIGHESTMODSEQ \d+\)$')
        # Expunges reach a QRESYNC client as VANISHED.
        c.cmd("UID STORE 1 +FLAGS (\\Deleted)")
        tagged, un = c.cmd("EXPUNGE")
        self.assertEqual(un, [b"* VANISHED 1"])

    def test_compress_deflate(self):
        import zlib
        r = self.raw()
        msg = b"Subject: squeeze\r\n\r\n" + b"compressible line of text\r\n" * 40000
        r.send(f"c1 APPEND INBOX {{{len(msg)}+}}\r\n".encode() + msg + b"\r\n")
        uid = re.search(r"APPENDUID \d+ (\d+)", r.response("c1")[0]).group(1)
        self.assertIn("COMPRESS=DEFLATE", r.cmd("CAPABILITY")[1][0].decode())
        tagged, _ = r.cmd("COMPRESS DEFLATE")
        self.assertIn(" OK ", tagged)
        # From here both directions are raw deflate (RFC 4978), as Thunderbird does it.
        comp = zlib.compressobj(wbits=-15)
        decomp = zlib.decompressobj(wbits=-15)
        raw_recv = r.sock.recv
        wire = [0]

        def recv(n):
            data = raw_recv(n)
            wire[0] += len(data)
            return decomp.decompress(data) if data else data
        r.sock.recv = recv
        raw_send = r.sock.sendall
        r.send = lambda data: raw_send(comp.compress(data if isinstance(data, bytes) else data.encode()) +
                                       comp.flush(zlib.Z_SYNC_FLUSH))
        r.cmd("SELECT INBOX")
        tagged, un = r.cmd(f"UID FETCH {uid} (BODY.PEEK[])")
        self.assertIn(" OK ", tagged)
        self.assertIn(b"BODY[] {%d}\r\n" % len(msg) + msg + b" UID ", un[0])
        self.assertLess(wire[0], len(msg) // 10, "the body crossed the wire compressed")
        self.assertIn("NO [COMPRESSIONACTIVE]", r.cmd("COMPRESS DEFLATE")[0])
        self.assertIn(" OK ", r.cmd("NOOP")[0])

    def test_idle_woken_by_smtp_delivery(self):
        # the embedded default: the imapd watcher sees the store's commit counter move
        latency = idle_wake_latency(self, self.s, self.raw(user="bob@example.test", password="bob-pw"))
        print(f"\nIDLE woke {latency * 1000:.0f} ms after the 250 (no Redis, idle_poll 50 ms)")
        # The wake is what is tested; its latency is measured by bench/imap/idle_wake.py.

    # ---- errors ----
    def test_bad_input_keeps_the_session(self):
        r = self.raw()
        self.assertIn("BAD", r.cmd("FROBNICATE")[0])
        self.assertIn("BAD", r.cmd("FETCH 1 FLAGS")[0])
        r.cmd("SELECT INBOX")
        self.assertIn("BAD", r.cmd("FETCH 999999 FLAGS")[0])
        self.assertIn("BAD", r.cmd("FETCH 1 (FLAGS FROB)")[0])
        self.assertIn("BAD", r.cmd('SEARCH FROB "x"')[0])
        self.assertIn("BAD", r.cmd("STORE 1 FLAGS (\\Bogus)")[0])
        self.assertIn("BAD", r.cmd('LIST "unterminated')[0])
        r.send(b"big APPEND INBOX {999999999}\r\n")
        self.assertIn("big NO [TOOBIG]", r.response("big")[0])
        r.send(b"x" * 70000 + b"\r\n")
        self.assertTrue(r.line().startswith(b"* BAD [TOOBIG] Command line too long"))
        self.assertIn(" OK ", r.cmd("NOOP")[0])


class ImapStartTlsTest(unittest.TestCase):
    """Port 143 when imap_listen is set: STARTTLS and LOGINDISABLED before it."""

    @classmethod
    def setUpClass(cls):
        cls.plain = free_ports(1)[0]
        cls.s = Suite(imapd_toml=f'imap_listen = ["127.0.0.1:{cls.plain}"]\n').start("imapd")
        cls.s.cli("domain", "add", "example.test")
        cls.s.cli("user", "add", "dan@example.test", "--password", "dan-pw")

    @classmethod
    def tearDownClass(cls):
        cls.s.cleanup()

    def test_login_only_after_starttls(self):
        c = imaplib.IMAP4("127.0.0.1", self.plain)
        self.assertIn("STARTTLS", c.capabilities)
        self.assertIn("LOGINDISABLED", c.capabilities)
        self.assertNotIn("AUTH=PLAIN", c.capabilities)
        with self.assertRaises(imaplib.IMAP4.error) as e:
            c.login("dan@example.test", "dan-pw")
        self.assertIn("PRIVACYREQUIRED", str(e.exception))
        c.starttls(ssl_context=client_tls(self.s.cert))
        self.assertIn("AUTH=PLAIN", c.capabilities)
        self.assertNotIn("STARTTLS", c.capabilities)
        self.assertEqual(c.login("dan@example.test", "dan-pw")[0], "OK")
        self.assertEqual(c.select("INBOX")[0], "OK")
        c.logout()

    def test_plaintext_pipelined_after_starttls_is_dropped(self):
        sock = socket.create_connection(("127.0.0.1", self.plain), timeout=10)
        f = sock.makefile("rb")
        self.assertTrue(f.readline().startswith(b"* OK"))
        sock.sendall(b"a STARTTLS\r\nb LOGIN dan@example.test dan-pw\r\n")
        self.assertTrue(f.readline().startswith(b"a OK"))
        tls = client_tls(self.s.cert).wrap_socket(sock, server_hostname="localhost")
        tls.sendall(b"c NOOP\r\n")
        reply = tls.recv(4096)
        self.assertTrue(reply.startswith(b"c OK"), reply)
        tls.close()


class ImapRedisTest(unittest.TestCase):
    """With [redis] url set, smtpd publishes each changed mailbox and imapd wakes IDLE at
    once; the store poll is slowed to 10 s here so only Redis can explain a fast wake."""

    @classmethod
    def setUpClass(cls):
        cls.redis = Redis()
        cls.s = Suite(top_toml=f'[redis]\nurl = "{cls.redis.url}"\n', imapd_toml='idle_poll = "10s"\n').start()
        cls.s.cli("domain", "add", "example.test")
        cls.s.cli("user", "add", "bob@example.test", "--password", "bob-pw")

    @classmethod
    def tearDownClass(cls):
        cls.s.cleanup()
        cls.redis.stop()

    def raw(self):
        r = Raw(self.s.imaps, self.s.cert)
        self.assertIn(" OK ", r.cmd('LOGIN "bob@example.test" "bob-pw"')[0])
        return r

    def test_a_idle_woken_through_redis(self):
        for _ in range(3):
            latency = idle_wake_latency(self, self.s, self.raw())
            print(f"\nIDLE woke {latency * 1000:.1f} ms after the 250 (Redis pub/sub, idle_poll 10 s)")
            # Well before the 10 s poll: Redis woke it (latency: bench/imap/idle_wake.py).
            self.assertLess(latency, 5)

    def test_b_redis_down_delays_nothing(self):
        self.redis.proc.terminate()
        self.redis.proc.wait(timeout=10)
        s = smtplib.SMTP("127.0.0.1", self.s.mx, timeout=10)
        t0 = time.monotonic()
        s.sendmail("x@remote.example", ["bob@example.test"], b"Subject: no redis\r\n\r\nstill here\r\n")
        self.assertLess(time.monotonic() - t0, 1.0)
        s.quit()
        r = self.raw()
        tagged, un = r.cmd("SELECT INBOX")
        tagged, un = r.cmd('SEARCH SUBJECT "no redis"')
        self.assertRegex(un[0].decode(), r"^\* SEARCH \d+$")


class ImapLimitsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.s = Suite(imapd_toml='max_errors = 3\nlogin_timeout = "1s"\nmax_connections_per_ip = 2\n',
                      top_toml='[auth]\nmax_failures_per_ip = 2\nfailure_delay = "10ms"\n').start("imapd")
        cls.s.cli("domain", "add", "example.test")
        cls.s.cli("user", "add", "alice@example.test", "--password", "alice-pw")

    @classmethod
    def tearDownClass(cls):
        cls.s.cleanup()

    def test_too_many_errors_then_bye(self):
        r = Raw(self.s.imaps, self.s.cert)
        r.cmd("X1")
        r.cmd("X2")
        r.send("a3 X3\r\n")
        self.assertIn(b"a3 BAD", r.line())
        self.assertEqual(r.line(), b"* BYE Too many errors")

    def test_login_timeout(self):
        r = Raw(self.s.imaps, self.s.cert)
        t = time.monotonic()
        with self.assertRaises((ConnectionError, ssl.SSLError, OSError)):
            r.line()
        self.assertLess(time.monotonic() - t, 4)

    def test_connections_per_ip(self):
        held = [Raw(self.s.imaps, self.s.cert) for _ in range(2)]
        with self.assertRaises((ConnectionError, ssl.SSLError, OSError)):
            Raw(self.s.imaps, self.s.cert)
        for h in held:
            h.cmd("LOGOUT")

    def test_failed_logins_rate_limited(self):
        r = connect_when_room(lambda: Raw(self.s.imaps, self.s.cert))  # after test_connections_per_ip
        self.assertIn("NO [AUTHENTICATIONFAILED]", r.cmd('LOGIN "alice@example.test" "x"')[0])
        self.assertIn("NO [AUTHENTICATIONFAILED]", r.cmd('LOGIN "alice@example.test" "y"')[0])
        self.assertIn("NO [UNAVAILABLE]", r.cmd('LOGIN "alice@example.test" "alice-pw"')[0])


if __name__ == "__main__":
    unittest.main()
