"""mailstead-imapd's protocol against the RFCs (issue 9, items 7 to 14): part numbers
inside forwarded messages, SENT* date keys, names with a trailing delimiter and unusual
atoms, SORT and THREAD details, CONDSTORE responses, NUL bytes and BINARY, \\Recent and
keyword announcements, subscriptions by name, and the extensions advertised."""
import imaplib
import re
import unittest

from helpers import Suite, client_tls
from test_imap import Raw


class ImapProtocolTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.s = Suite().start("imapd")
        cls.s.cli("domain", "add", "example.test")
        cls.s.cli("user", "add", "alice@example.test", "--password", "alice-pw")
        cls.tls = client_tls(cls.s.cert)
        cls.boxes = 0

    @classmethod
    def tearDownClass(cls):
        cls.s.cleanup()

    def raw(self, login=True):
        r = Raw(self.s.imaps, self.s.cert)
        if login:
            self.assertIn(" OK ", r.cmd('LOGIN "alice@example.test" "alice-pw"')[0])
        return r

    def fresh(self, r, *messages, select=True):
        """A new mailbox holding `messages`, selected."""
        type(self).boxes += 1
        name = f"{self._testMethodName[:40]}{self.boxes}"
        self.assertIn(" OK ", r.cmd(f'CREATE "{name}"')[0])
        for m in messages:
            self.append(r, name, m)
        if select:
            self.assertIn(" OK ", r.cmd(f'SELECT "{name}"')[0])
        return name

    def append(self, r, name, message, extra=""):
        r.n += 1
        tag = f"a{r.n}"
        r.send(f'{tag} APPEND "{name}"{extra} {{{len(message)}+}}\r\n'.encode() + message + b"\r\n")
        tagged = r.response(tag)[0]
        self.assertIn(" OK ", tagged)
        return tagged

    # 9.11: CREATE with a trailing delimiter; atoms such as ~foo and names with [

    def test_create_with_trailing_delimiter_and_unusual_atoms(self):
        r = self.raw()
        self.assertIn(" OK ", r.cmd("CREATE Trailing/")[0])
        self.assertIn(" OK ", r.cmd("CREATE Trailing/Child/")[0])
        tagged, un = r.cmd('LIST "" Trailing*')
        self.assertEqual(sorted(un), [b'* LIST (\\HasChildren) "/" "Trailing"',
                                      b'* LIST (\\HasNoChildren) "/" "Trailing/Child"'])
        self.assertIn(" OK ", r.cmd("SELECT Trailing")[0])
        self.assertIn(" OK ", r.cmd("CREATE foo[bar")[0])
        self.assertIn(" OK ", r.cmd('CREATE "[Lists]/x]y"')[0])
        tagged, un = r.cmd("LIST \"\" foo[*")
        self.assertIn(" OK ", tagged)
        self.assertEqual(un, [b'* LIST (\\HasNoChildren) "/" "foo[bar"'])
        self.assertIn(" OK ", r.cmd("SELECT foo[bar")[0])
        self.assertIn(" OK ", r.cmd("STATUS [Lists]/x]y (MESSAGES)")[0])
        for cmd in ("SELECT ~foo", "EXAMINE ~foo", "STATUS ~foo (MESSAGES)", "DELETE ~foo"):
            self.assertRegex(r.cmd(cmd)[0], r"^a\d+ NO ", cmd)
        self.assertRegex(r.cmd('LIST "" ~foo')[0], r"^a\d+ OK ")

    # 9.7: part numbers inside message/rfc822 parts

    def fetch_section(self, r, seq, section):
        tagged, un = r.cmd(f"FETCH {seq} (BODY.PEEK[{section}])")
        self.assertIn(" OK ", tagged)
        self.assertEqual(len(un), 1, un)
        m = re.match(rb"^\* \d+ FETCH \(BODY\[[^\]]*\] (?:\{\d+\}\r\n)?(.*)\)$", un[0], re.S)
        self.assertTrue(m, un[0])
        return m.group(1)

    def test_part_numbers_inside_forwarded_messages(self):
        deepest = (b"Subject: deepest\r\nContent-Type: multipart/alternative; boundary=d\r\n\r\n"
                   b"--d\r\n\r\nplain deepest\r\n--d\r\nContent-Type: text/html\r\n\r\nhtml deepest\r\n--d--\r\n")
        middle = (b"Subject: middle\r\nContent-Type: multipart/mixed; boundary=m\r\n\r\n--m\r\n\r\nmiddle text\r\n"
                  b"--m\r\nContent-Type: message/rfc822\r\n\r\n" + deepest + b"\r\n--m--\r\n")
        nested = (b"Subject: outer\r\nContent-Type: multipart/mixed; boundary=o\r\n\r\n--o\r\n\r\nouter text\r\n"
                  b"--o\r\nContent-Type: message/rfc822\r\n\r\n" + middle + b"\r\n--o--\r\n")
        inner = (b"Subject: inner\r\nContent-Type: multipart/mixed; boundary=i\r\n\r\n--i\r\n\r\none\r\n"
                 b"--i\r\nContent-Type: text/html\r\n\r\ntwo\r\n--i--\r\n")
        attached = b"Subject: fwd as attachment\r\nContent-Type: message/rfc822\r\n\r\n" + inner
        r = self.raw()
        self.fresh(r, nested, attached)
        self.assertEqual(self.fetch_section(r, 1, "2.1"), b"middle text")
        self.assertEqual(self.fetch_section(r, 1, "2.2.1"), b"plain deepest")
        self.assertEqual(self.fetch_section(r, 1, "2.2.2.MIME"), b"Content-Type: text/html\r\n\r\n")
        self.assertEqual(self.fetch_section(r, 1, "2.2.HEADER"),
                         b"Subject: deepest\r\nContent-Type: multipart/alternative; boundary=d\r\n\r\n")
        # the forwarded message at the top: its parts are 1.1, 1.2
        self.assertEqual(self.fetch_section(r, 2, "1"), inner)
        self.assertEqual(self.fetch_section(r, 2, "1.1"), b"one")
        self.assertEqual(self.fetch_section(r, 2, "1.2"), b"two")
        self.assertEqual(self.fetch_section(r, 2, "1.2.MIME"), b"Content-Type: text/html\r\n\r\n")
        # parts that do not exist are empty
        self.assertEqual(self.fetch_section(r, 2, "1.3"), b"")
        self.assertEqual(self.fetch_section(r, 1, "1.1"), b"")

    # 9.8: SENT* keys compare the Date: header's own date

    def test_sent_date_keys_use_the_date_as_written(self):
        r = self.raw()
        late = b"Date: Mon, 1 Jan 2024 23:30:00 -0500\r\nSubject: late\r\n\r\nx\r\n"   # 2 Jan in UTC
        early = b"Date: Tue, 2 Jan 2024 00:30:00 +1400\r\nSubject: early\r\n\r\nx\r\n"  # 1 Jan in UTC
        self.fresh(r, late, early)
        def search(keys):
            tagged, un = r.cmd("SEARCH " + keys)
            self.assertIn(" OK ", tagged)
            return un[0]
        self.assertEqual(search("SENTON 1-Jan-2024"), b"* SEARCH 1")
        self.assertEqual(search("SENTON 2-Jan-2024"), b"* SEARCH 2")
        self.assertEqual(search("SENTBEFORE 2-Jan-2024"), b"* SEARCH 1")
        self.assertEqual(search("SENTSINCE 2-Jan-2024"), b"* SEARCH 2")
        # the internal date: what FETCH INTERNALDATE reports (UTC)
        name = self.fresh(r, select=False)
        self.append(r, name, b"Subject: i\r\n\r\nx\r\n", ' "01-Jan-2024 23:30:00 -0500"')
        r.cmd(f'SELECT "{name}"')
        tagged, un = r.cmd("FETCH 1 INTERNALDATE")
        self.assertIn(b'"02-Jan-2024 04:30:00 +0000"', un[0])
        self.assertEqual(search("ON 2-Jan-2024"), b"* SEARCH 1")
        self.assertEqual(search("BEFORE 2-Jan-2024"), b"* SEARCH")

    # 9.12: SORT base subjects, THREAD=REFERENCES step 1.C, ENVELOPE addresses, CONDSTORE

    def test_sort_by_base_subject_with_unicode_casemap(self):
        subjects = [b"zeta", b"[Fwd: [fwd: Re: alpha]]", b"=?utf-8?q?=C3=89COLE?=", b"=?utf-8?q?=C3=A9cole?=", b"Alpha",
                    b"Re: [list] RE: [fwd: ALPHA (fwd)]"]
        r = self.raw()
        self.fresh(r, *[b"Subject: " + s + b"\r\n\r\nx\r\n" for s in subjects])
        tagged, un = r.cmd("SORT (SUBJECT) UTF-8 ALL")
        self.assertIn(" OK ", tagged)
        # alpha ×3 (in sequence order), école = ÉCOLE, zeta
        self.assertEqual(un, [b"* SORT 2 5 6 3 4 1"])
        tagged, un = r.cmd("THREAD ORDEREDSUBJECT UTF-8 ALL")
        # the first message of each subject is the parent of the others (RFC 5256 4)
        self.assertEqual(un, [b"* THREAD (1)(2 (5)(6))(3 4)"])

    def test_thread_references_breaks_links_per_step_1c(self):
        r = self.raw()
        msgs = [b"Date: Mon, 1 Jan 2024 10:00:00 +0000\r\nSubject: One\r\nMessage-ID: <x@x>\r\n\r\nx\r\n",
                b"Date: Mon, 1 Jan 2024 11:00:00 +0000\r\nSubject: Two\r\nMessage-ID: <c@x>\r\n"
                b"References: <x@x> <b@x>\r\n\r\nx\r\n",
                b"Date: Mon, 1 Jan 2024 12:00:00 +0000\r\nSubject: Three\r\nMessage-ID: <b@x>\r\n\r\nx\r\n",
                # a loop: each references the other
                b"Date: Mon, 1 Jan 2024 13:00:00 +0000\r\nSubject: L1\r\nMessage-ID: <l1@x>\r\nReferences: <l2@x>\r\n\r\nx\r\n",
                b"Date: Mon, 1 Jan 2024 14:00:00 +0000\r\nSubject: L2\r\nMessage-ID: <l2@x>\r\nReferences: <l1@x>\r\n\r\nx\r\n"]
        self.fresh(r, *msgs)
        tagged, un = r.cmd("THREAD REFERENCES UTF-8 ALL")
        self.assertIn(" OK ", tagged)
        # 3 has no References: its parent is none (1.C), so 1 stands alone and 3 heads 2;
        # the loop keeps its first link (l2 → l1) and drops the one that would close it
        self.assertEqual(un, [b"* THREAD (1)(3 2)(5 4)"])

    def test_envelope_addresses_without_comments(self):
        r = self.raw()
        self.fresh(r, b"From: user@domain.example (Real Name)\r\nTo: \"A (not a comment)\" <a@b.example> (c),"
                      b" (lead) v@e.example\r\nSubject: s\r\n\r\nx\r\n")
        tagged, un = r.cmd("FETCH 1 ENVELOPE")
        self.assertIn(b'((NIL NIL "user" "domain.example"))', un[0])
        self.assertIn(b'(("A (not a comment)" NIL "a" "b.example")(NIL NIL "v" "e.example"))', un[0])
        self.assertNotIn(b"Real Name", un[0])

    def test_condstore_enabled_by_fetch_reports_highestmodseq(self):
        r = self.raw()
        self.fresh(r, b"Subject: a\r\n\r\nx\r\n", b"Subject: b\r\n\r\nx\r\n", b"Subject: c\r\n\r\nx\r\n")
        tagged, un = r.cmd("FETCH 1 (MODSEQ)")
        self.assertIn(" OK ", tagged)
        self.assertRegex(un[0], rb"^\* OK \[HIGHESTMODSEQ \d+\]")
        self.assertRegex(un[1], rb"^\* 1 FETCH \(MODSEQ \(\d+\)\)")
        tagged, un = r.cmd("FETCH 2 (MODSEQ)")
        self.assertEqual(len(un), 1, "reported once")
        # SEARCH MODSEQ also enables it, in a session of its own
        r2 = self.raw()
        r2.cmd("SELECT INBOX")
        tagged, un = r2.cmd("SEARCH MODSEQ 1")
        self.assertRegex(un[0], rb"^\* OK \[HIGHESTMODSEQ \d+\]")

    def test_esearch_min_max_report_their_own_modseq(self):
        r = self.raw()
        self.fresh(r, *[b"Subject: %d\r\n\r\nx\r\n" % i for i in range(4)])
        r.cmd("ENABLE CONDSTORE")
        r.cmd("STORE 1 +FLAGS (\\Flagged)")
        r.cmd("STORE 4 +FLAGS (\\Flagged)")
        r.cmd("STORE 2 +FLAGS (\\Seen)")  # the highest modseq, on a message in the middle
        modseq = {}
        for line in r.cmd("FETCH 1:4 (MODSEQ)")[1]:
            m = re.match(rb"\* (\d) FETCH \(MODSEQ \((\d+)\)\)", line)
            modseq[int(m.group(1))] = int(m.group(2))
        def esearch(ret):
            tagged, un = r.cmd(f"SEARCH RETURN ({ret}) MODSEQ 1")
            self.assertIn(" OK ", tagged)
            return int(re.search(rb"MODSEQ (\d+)", un[0]).group(1))
        self.assertEqual(esearch("MIN"), modseq[1])
        self.assertEqual(esearch("MAX"), modseq[4])
        self.assertEqual(esearch("MIN MAX"), max(modseq[1], modseq[4]))
        self.assertEqual(esearch("COUNT"), max(modseq.values()))
        self.assertEqual(esearch("ALL"), max(modseq.values()))

    # 9.13: NUL bytes never in an ordinary literal; BINARY (RFC 3516)

    def test_nul_bytes_and_binary(self):
        r = self.raw()
        tagged, un = r.cmd("CAPABILITY")
        self.assertIn(b" BINARY", un[0])
        with_nul = b"Subject: nul\r\n\r\nbefore\0after\r\n"
        box = self.fresh(r, select=False)
        r.n += 1
        tag = f"a{r.n}"
        r.send(f'{tag} APPEND "{box}" ~{{{len(with_nul)}}}\r\n'.encode())  # literal8, synchronizing
        self.assertTrue(r.line().startswith(b"+ "))
        r.send(with_nul + b"\r\n")
        self.assertIn(" OK ", r.response(tag)[0])
        encoded = (b"Subject: parts\r\nContent-Type: multipart/mixed; boundary=z\r\n\r\n"
                   b"--z\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\ncaf=C3=A9 =\r\nsoft\r\n"
                   b"--z\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n"
                   b"AAECAw==\r\n"
                   b"--z\r\nContent-Transfer-Encoding: x-uuencode\r\n\r\nbegin 644 x\r\n--z--\r\n")
        self.append(r, box, encoded)
        r.cmd(f'SELECT "{box}"')
        # an ordinary literal: the NUL is sent as 0x80, the size unchanged
        tagged, un = r.cmd("FETCH 1 (RFC822.SIZE BODY.PEEK[])")
        self.assertIn(b"RFC822.SIZE %d" % len(with_nul), un[0])
        self.assertIn(b"{%d}\r\n" % len(with_nul) + with_nul.replace(b"\0", b"\x80"), un[0])
        self.assertNotIn(b"\0", un[0])
        # BINARY: the true bytes, in a literal8
        tagged, un = r.cmd("FETCH 1 (BINARY.PEEK[] BINARY.SIZE[1])")
        self.assertIn(b"BINARY[] ~{%d}\r\n" % len(with_nul) + with_nul, un[0])
        self.assertIn(b"BINARY.SIZE[1] %d" % len(b"before\0after\r\n"), un[0])
        tagged, un = r.cmd("FETCH 2 (BINARY.PEEK[1] BINARY.PEEK[2] BINARY.SIZE[2] BINARY.PEEK[2]<1.2>)")
        self.assertIn(" OK ", tagged)
        self.assertIn(b"BINARY[1] {10}\r\ncaf\xc3\xa9 soft", un[0])
        self.assertIn(b"BINARY[2] ~{4}\r\n\0\1\2\3", un[0])
        self.assertIn(b"BINARY.SIZE[2] 4", un[0])
        self.assertIn(b"BINARY[2]<1> {2}\r\n\1\2", un[0])  # no NUL in this range: a plain literal
        self.assertRegex(r.cmd("FETCH 2 (BINARY.PEEK[3])")[0], r"NO \[UNKNOWN-CTE\]")
        self.assertIn(" BAD ", r.cmd("FETCH 2 (BINARY[1.MIME])")[0])
        # BINARY sets \Seen as BODY does; BINARY.PEEK does not
        tagged, un = r.cmd("FETCH 2 FLAGS")
        self.assertIn(b"FLAGS ()", un[0])
        tagged, un = r.cmd("FETCH 2 (BINARY[1])")
        self.assertIn(b"\\Seen", un[0])

    # 9.9: new keywords are announced with FLAGS and PERMANENTFLAGS before a FETCH uses them

    def test_new_keywords_are_announced_before_use(self):
        a, b = self.raw(), self.raw()
        box = self.fresh(a, b"Subject: 1\r\n\r\nx\r\n", b"Subject: 2\r\n\r\nx\r\n")
        b.cmd(f'SELECT "{box}"')
        self.assertIn(" OK ", b.cmd("STORE 1 +FLAGS ($Foo)")[0])
        tagged, un = a.cmd("NOOP")
        flags = next(i for i, u in enumerate(un) if u.startswith(b"* FLAGS "))
        perm = next(i for i, u in enumerate(un) if u.startswith(b"* OK [PERMANENTFLAGS"))
        fetch = next(i for i, u in enumerate(un) if b"FETCH" in u)
        self.assertLess(flags, fetch)
        self.assertLess(perm, fetch)
        self.assertIn(b"$Foo", un[flags])
        self.assertIn(b"$Foo \\*)]", un[perm])
        # the session's own STORE, even .SILENT, announces its new keyword
        tagged, un = a.cmd("STORE 2 +FLAGS.SILENT ($Bar)")
        self.assertTrue(any(u.startswith(b"* FLAGS ") and b"$Bar" in u for u in un), un)
        # known keywords are not announced again
        tagged, un = a.cmd("FETCH 1:2 FLAGS")
        self.assertFalse(any(u.startswith(b"* FLAGS") for u in un))
        # EXAMINE: PERMANENTFLAGS stays empty
        c = self.raw()
        c.cmd(f'EXAMINE "{box}"')
        b.cmd("STORE 1 +FLAGS ($Baz)")
        tagged, un = c.cmd("NOOP")
        self.assertTrue(any(u.startswith(b"* FLAGS ") and b"$Baz" in u for u in un), un)
        self.assertIn(b"* OK [PERMANENTFLAGS ()] Read-only mailbox", un)

    # 9.10: subscriptions by name, independent of existence

    def test_subscriptions_are_kept_by_name(self):
        r = self.raw()
        self.assertIn(" OK ", r.cmd("CREATE Sub/Child")[0])  # CREATE subscribes, superiors too
        self.assertIn(" OK ", r.cmd("UNSUBSCRIBE Sub")[0])
        self.assertIn(" OK ", r.cmd("DELETE Sub/Child")[0])
        # the deleted name stays subscribed (RFC 3501 6.3.6), marked \NonExistent (RFC 5258)
        tagged, un = r.cmd('LIST (SUBSCRIBED) "" "Sub*"')
        self.assertEqual(un, [b'* LIST (\\NonExistent \\Subscribed) "/" "Sub/Child"'])
        tagged, un = r.cmd('LIST (SUBSCRIBED RECURSIVEMATCH) "" "Sub"')
        self.assertEqual(un, [b'* LIST (\\HasNoChildren) "/" "Sub" ("CHILDINFO" ("SUBSCRIBED"))'])
        tagged, un = r.cmd('LIST "" "Sub*"')
        self.assertEqual(un, [b'* LIST (\\HasNoChildren) "/" "Sub"'])
        tagged, un = r.cmd('LSUB "" "Sub/*"')
        self.assertEqual(un, [b'* LSUB (\\Noselect) "/" "Sub/Child"'])
        # an unsubscribed parent of a subscribed child: \Noselect with "%"
        tagged, un = r.cmd('LSUB "" "S%"')
        self.assertIn(b'* LSUB (\\Noselect \\HasNoChildren) "/" "Sub"', un)
        tagged, un = r.cmd('LSUB "" "Sub"')
        self.assertEqual(un, [], "not with a pattern that names it exactly")
        # a name subscribed before it exists, then created
        self.assertIn(" OK ", r.cmd("SUBSCRIBE Future/Plans")[0])
        tagged, un = r.cmd('LIST (SUBSCRIBED RECURSIVEMATCH) "" "Future*"')
        self.assertEqual(un, [b'* LIST (\\NonExistent) "/" "Future" ("CHILDINFO" ("SUBSCRIBED"))',
                              b'* LIST (\\NonExistent \\Subscribed) "/" "Future/Plans"'])
        self.assertIn(" OK ", r.cmd("CREATE Future/Plans")[0])
        tagged, un = r.cmd('LIST "" "Future/*" RETURN (SUBSCRIBED)')
        self.assertEqual(un, [b'* LIST (\\HasNoChildren \\Subscribed) "/" "Future/Plans"'])
        # RENAME carries the subscription to the new name
        self.assertIn(" OK ", r.cmd("RENAME Future Later")[0])
        tagged, un = r.cmd('LSUB "" "*/Plans"')
        self.assertEqual(un, [b'* LSUB (\\HasNoChildren) "/" "Later/Plans"'])
        # UNSUBSCRIBE of a name never subscribed is fine; a name no mailbox could have is refused
        self.assertIn(" OK ", r.cmd("UNSUBSCRIBE Never")[0])
        self.assertRegex(r.cmd('SUBSCRIBE "a//b"')[0], r"NO ")
        self.assertIn(" OK ", r.cmd("UNSUBSCRIBE Sub/Child")[0])
        tagged, un = r.cmd('LSUB "" "S%"')
        self.assertNotIn(b'"Sub"', b"".join(un))

    # 9.14: MULTIAPPEND, ESORT, APPENDLIMIT

    def caps(self, r):
        return r.cmd("CAPABILITY")[1][0].split()

    def test_multiappend_is_atomic(self):
        r = self.raw()
        self.assertIn(b"MULTIAPPEND", self.caps(r))
        box = self.fresh(r, select=False)
        one, two, three = (b"Subject: %d\r\n\r\nbody %d\r\n" % (i, i) for i in (1, 2, 3))
        r.n += 1
        tag = f"a{r.n}"
        r.send(f'{tag} APPEND "{box}" (\\Seen) {{{len(one)}+}}\r\n'.encode() + one +
               f' (\\Flagged $Work) "01-Jan-2024 10:00:00 +0000" {{{len(two)}+}}\r\n'.encode() + two +
               f' {{{len(three)}+}}\r\n'.encode() + three + b"\r\n")
        tagged = r.response(tag)[0]
        m = re.search(r"\[APPENDUID (\d+) (\d+):(\d+)\]", tagged)
        self.assertTrue(m, tagged)
        self.assertEqual(int(m.group(3)) - int(m.group(2)), 2)
        r.cmd(f'SELECT "{box}"')
        tagged, un = r.cmd("FETCH 1:3 (FLAGS INTERNALDATE BODY.PEEK[])")
        self.assertEqual(len(un), 3)
        self.assertIn(b"\\Seen", un[0])
        self.assertIn(b"\\Flagged $Work", un[1])
        self.assertIn(b'"01-Jan-2024 10:00:00 +0000"', un[1])
        self.assertIn(b"body 3", un[2])
        # one bad message (empty) and none is stored
        r.n += 1
        tag = f"a{r.n}"
        r.send(f'{tag} APPEND "{box}" {{{len(one)}+}}\r\n'.encode() + one + b" {0+}\r\n\r\n")
        self.assertIn(" NO ", r.response(tag)[0])
        tagged, un = r.cmd(f'STATUS "{box}" (MESSAGES)')
        self.assertIn(b"MESSAGES 3", un[0])
        # into a mailbox that does not exist: nothing, and TRYCREATE
        r.n += 1
        tag = f"a{r.n}"
        r.send(f'{tag} APPEND Nowhere {{{len(one)}+}}\r\n'.encode() + one + f' {{{len(two)}+}}\r\n'.encode() + two + b"\r\n")
        self.assertIn("NO [TRYCREATE]", r.response(tag)[0])

    def test_esort(self):
        r = self.raw()
        self.assertIn(b"ESORT", self.caps(r))
        self.fresh(r, *[b"Subject: %s\r\n\r\nx\r\n" % s for s in (b"c", b"a", b"d", b"b", b"e")])
        tagged, un = r.cmd("SORT RETURN (MIN MAX COUNT ALL) (SUBJECT) UTF-8 ALL")
        self.assertIn(" OK ", tagged)
        tag = tagged.split()[0]
        self.assertEqual(un, [f'* ESEARCH (TAG "{tag}") MIN 2 MAX 5 COUNT 5 ALL 2,4,1,3,5'.encode()])
        tagged, un = r.cmd("UID SORT RETURN (COUNT) (REVERSE SUBJECT) UTF-8 NOT SUBJECT e")
        self.assertRegex(un[0], rb'^\* ESEARCH \(TAG "a\d+"\) UID COUNT 4$')
        tagged, un = r.cmd("SORT RETURN () (ARRIVAL) UTF-8 ALL")
        self.assertTrue(un[0].endswith(b" ALL 1:5"))
        self.assertIn(" BAD ", r.cmd("SORT RETURN (PARTIAL 1:2) (ARRIVAL) UTF-8 ALL")[0])

    def test_appendlimit(self):
        r = self.raw()
        limit = next(int(c.split(b"=")[1]) for c in self.caps(r) if c.startswith(b"APPENDLIMIT="))
        self.assertEqual(limit, 50 << 20)  # max_literal_size
        tagged, un = r.cmd("STATUS INBOX (APPENDLIMIT MESSAGES)")
        self.assertRegex(un[0], rb"APPENDLIMIT %d MESSAGES \d+" % limit)
        r.send(f"x1 APPEND INBOX {{{limit + 1}}}\r\n")
        self.assertIn("x1 NO [TOOBIG]", r.response("x1")[0])
        self.assertIn(" OK ", r.cmd("NOOP")[0])

    # docs/imap.md lists every advertised capability with the test that proves it

    def test_docs_list_every_advertised_capability_with_its_test(self):
        import importlib
        import os
        doc = open(os.path.join(os.path.dirname(__file__), "..", "..", "docs", "imap.md")).read()
        rows = [line for line in doc.splitlines() if line.startswith("| ") and "proving test" not in line]
        table = {}
        for row in rows:
            cells = [c.strip() for c in row.strip("|").split("|")]
            if len(cells) == 3 and "`test_" in cells[2]:
                for cap in re.sub(r"\([^)]*\)", "", cells[0]).replace(",", " ").split():
                    table[cap.split("=")[0] if cap.startswith("APPENDLIMIT") else cap] = cells[2]
        pre = Raw(self.s.imaps, self.s.cert).greeting.split(b"[CAPABILITY ")[1].split(b"]")[0].split()
        post = self.caps(self.raw())[2:]
        for cap in {c.decode().split("=")[0] if c.startswith(b"APPENDLIMIT") else c.decode() for c in pre + post}:
            self.assertIn(cap, table, f"{cap} is advertised but docs/imap.md names no test for it")
        # every test the table names exists
        for cell in set(table.values()):
            for ref in re.findall(r"`(test_[\w.]+)`", cell):
                parts = ref.split(".")
                obj = importlib.import_module(parts[0])
                for name in parts[1:]:
                    obj = getattr(obj, name, None)
                    self.assertIsNotNone(obj, f"docs/imap.md names {ref}, which does not exist")


if __name__ == "__main__":
    unittest.main()
