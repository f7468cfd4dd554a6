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

    # 9.12, verified in full: reference loops of every shape, comments in every place an
    # address may hold one, HIGHESTMODSEQ from each CONDSTORE-enabling command, MIN/MAX MODSEQ

    def test_thread_references_loops_of_every_shape(self):
        def msg(hour, subject, mid, extra=b""):
            return (b"Date: Mon, 1 Jan 2024 %02d:00:00 +0000\r\nSubject: %s\r\nMessage-ID: <%s@x>\r\n%s\r\nx\r\n"
                    % (hour, subject, mid, extra))
        r = self.raw()
        # a message that references itself stands alone
        self.fresh(r, msg(1, b"self", b"s", b"References: <s@x>\r\nIn-Reply-To: <s@x>\r\n"))
        self.assertEqual(r.cmd("THREAD REFERENCES UTF-8 ALL")[1], [b"* THREAD (1)"])
        # a cycle of three through References: the link that would close it is not made
        self.fresh(r, msg(1, b"a", b"a", b"References: <c@x>\r\n"), msg(2, b"b", b"b", b"References: <a@x>\r\n"),
                   msg(3, b"c", b"c", b"References: <b@x>\r\n"))
        self.assertEqual(r.cmd("THREAD REFERENCES UTF-8 ALL")[1], [b"* THREAD (3 1 2)"])
        # a loop inside one References list (<p> <q> <p>): p-q is linked, q-p is not; the
        # message's parent is its last reference, p
        self.fresh(r, msg(1, b"p", b"p"), msg(2, b"q", b"q"), msg(3, b"m", b"m", b"References: <p@x> <q@x> <p@x>\r\n"))
        self.assertEqual(r.cmd("THREAD REFERENCES UTF-8 ALL")[1], [b"* THREAD (1 (2)(3))"])
        # a loop through In-Reply-To alone
        self.fresh(r, msg(1, b"x", b"x", b"In-Reply-To: <y@x>\r\n"), msg(2, b"y", b"y", b"In-Reply-To: <x@x>\r\n"))
        self.assertEqual(r.cmd("THREAD REFERENCES UTF-8 ALL")[1], [b"* THREAD (2 1)"])
        # a long cycle through missing messages (placeholders) ends too, every message once
        chain = [msg(1 + i % 20, b"l%d" % i, b"l%d" % i, b"References: <l%d@x> <gone%d@x>\r\n" % ((i + 1) % 30, i))
                 for i in range(30)]
        self.fresh(r, *chain)
        tagged, un = r.cmd("THREAD REFERENCES UTF-8 ALL")
        self.assertIn(" OK ", tagged)
        self.assertEqual(sorted(int(n) for n in re.findall(rb"\d+", un[0])), list(range(1, 31)))

    def test_envelope_comments_never_leak(self):
        r = self.raw()
        # RFC 5322 appendix A.5's comments, a group with comments, an empty group
        self.fresh(r, b"From: Pete(A nice \\) chap) <pete(his account)@silly.test(his host)>\r\n"
                      b"To: A Group(Some people)\r\n   :Chris Jones <c@(Chris's host.)public.example>,\r\n"
                      b"     joe@example.org,\r\n John <jdoe@one.test> (my dear friend); (the end of the group)\r\n"
                      b"Cc:(Empty list)(start)Hidden recipients  :(nobody(that I know))  ;\r\n"
                      b"Bcc: (lead) user(in local)@(in domain)domain.example (Real (nested) Name)\r\n"
                      b"Subject: comments\r\n\r\nx\r\n")
        tagged, un = r.cmd("FETCH 1 ENVELOPE")
        self.assertIn(" OK ", tagged)
        env = un[0]
        pete = b'(("Pete" NIL "pete" "silly.test"))'
        # From, Sender and Reply-To (the last two default to From)
        self.assertEqual(env.count(pete), 3, env)
        self.assertIn(b'((NIL NIL "A Group" NIL)("Chris Jones" NIL "c" "public.example")(NIL NIL "joe" "example.org")'
                      b'("John" NIL "jdoe" "one.test")(NIL NIL NIL NIL))', env)
        self.assertIn(b'((NIL NIL "Hidden recipients" NIL)(NIL NIL NIL NIL))', env)
        self.assertIn(b'((NIL NIL "user" "domain.example"))', env)
        for leak in (b"nice", b"account", b"host", b"friend", b"people", b"nobody", b"Empty", b"lead", b"Real",
                     b"nested", b"in local", b"in domain"):
            self.assertNotIn(leak, env)

    def test_every_condstore_enabling_command_reports_highestmodseq(self):
        def highest(r, box):
            tagged, un = r.cmd(f'STATUS "{box}" (HIGHESTMODSEQ)')
            return int(re.search(rb"HIGHESTMODSEQ (\d+)", un[-1]).group(1))
        commands = ["FETCH 1 (FLAGS) (CHANGEDSINCE 1)", "UID FETCH 1:* (MODSEQ)", "STORE 1 (UNCHANGEDSINCE 99999) +FLAGS (x)",
                    "UID SEARCH MODSEQ 1", "SEARCH RETURN (MIN) MODSEQ 1", "ENABLE CONDSTORE"]
        owner = self.raw()
        box = self.fresh(owner, b"Subject: a\r\n\r\nx\r\n", b"Subject: b\r\n\r\nx\r\n", select=False)
        owner.cmd(f'SELECT "{box}"')
        owner.cmd("STORE 2 +FLAGS (\\Seen)")
        expected = highest(self.raw(), box)
        for command in commands:
            r = self.raw()
            tagged, un = r.cmd(f'SELECT "{box}"')
            self.assertFalse(any(b"HIGHESTMODSEQ" in u for u in un + [tagged.encode()]), "not before CONDSTORE")
            tagged, un = r.cmd(command)
            self.assertIn(" OK ", tagged, command)
            self.assertEqual(un[0], b"* OK [HIGHESTMODSEQ %d] Highest" % expected, command)
            self.assertFalse(any(b"HIGHESTMODSEQ" in u for u in r.cmd(command)[1]), f"{command}: once only")
            if command.startswith("STORE"):
                expected = highest(self.raw(), box)
        # SELECT (CONDSTORE) reports it in its own OK; a later FETCH MODSEQ adds none
        r = self.raw()
        tagged, un = r.cmd(f'SELECT "{box}" (CONDSTORE)')
        self.assertIn(b"* OK [HIGHESTMODSEQ %d]" % expected, b"\n".join(un))
        self.assertFalse(any(b"HIGHESTMODSEQ" in u for u in r.cmd("FETCH 1 (MODSEQ)")[1]))
        # outside a selected mailbox, ENABLE CONDSTORE has nothing to report
        r = self.raw()
        self.assertEqual(r.cmd("ENABLE CONDSTORE")[1], [b"* ENABLED CONDSTORE"])

    def test_esearch_min_max_modseq_with_uids_and_no_match(self):
        r = self.raw()
        self.fresh(r, *[b"Subject: %d\r\n\r\nx\r\n" % i for i in range(3)])
        r.cmd("ENABLE CONDSTORE")
        r.cmd("STORE 3 +FLAGS (\\Flagged)")
        r.cmd("STORE 1 +FLAGS (\\Flagged)")  # now the highest modseq, on the MIN message
        r.cmd("STORE 2 +FLAGS (\\Answered)")  # higher still, on a message not reported
        ms = {}
        for line in r.cmd("UID FETCH 1:* (MODSEQ)")[1]:
            m = re.search(rb"UID (\d+) MODSEQ \((\d+)\)|MODSEQ \((\d+)\) UID (\d+)", line)
            uid, mod = (m.group(1), m.group(2)) if m.group(1) else (m.group(4), m.group(3))
            ms[int(uid)] = int(mod)
        uids = sorted(ms)
        tagged, un = r.cmd("UID SEARCH RETURN (MAX) FLAGGED MODSEQ 1")
        self.assertEqual(un[0].split(b") ", 1)[1], b"UID MAX %d MODSEQ %d" % (uids[2], ms[uids[2]]))
        tagged, un = r.cmd("UID SEARCH RETURN (MIN) OR FLAGGED ANSWERED MODSEQ 1")
        self.assertEqual(un[0].split(b") ", 1)[1], b"UID MIN %d MODSEQ %d" % (uids[0], ms[uids[0]]))
        # nothing found: no MIN, no MAX, no MODSEQ
        tagged, un = r.cmd("SEARCH RETURN (MIN MAX) MODSEQ 999999")
        self.assertRegex(un[0], rb'^\* ESEARCH \(TAG "a\d+"\)$')

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

    # 9.14: CATENATE (RFC 4469) with URLAUTH-less IMAP URLs to the user's own messages

    def catenate(self, r, box, parts, extra=""):
        """APPEND box CATENATE (…): parts are ("TEXT", bytes) or ("URL", str)."""
        r.n += 1
        tag = f"a{r.n}"
        data = f'{tag} APPEND "{box}"{extra} CATENATE ('.encode()
        for i, (kind, value) in enumerate(parts):
            data += b" " if i else b""
            if kind == "TEXT":
                data += b"TEXT {%d+}\r\n" % len(value) + value
            else:
                data += b'URL "' + value.encode() + b'"'
        r.send(data + b")\r\n")
        return r.response(tag)

    def test_catenate_builds_drafts_from_stored_parts(self):
        r = self.raw()
        self.assertIn(b"CATENATE", self.caps(r))
        source = (b"Subject: with attachment\r\nContent-Type: multipart/mixed; boundary=q\r\n\r\n"
                  b"--q\r\n\r\nold text\r\n--q\r\nContent-Type: application/pdf\r\nContent-Transfer-Encoding: base64\r\n\r\n"
                  b"JVBERi0=\r\n--q--\r\n")
        src = self.fresh(r, select=False)
        tagged = self.append(r, src, source)
        validity, uid = re.search(r"APPENDUID (\d+) (\d+)", tagged).groups()
        drafts = self.fresh(r, select=False)
        head = b"Subject: new draft\r\nContent-Type: multipart/mixed; boundary=n\r\n\r\n--n\r\n\r\nnew text\r\n--n\r\n"
        tail = b"\r\n--n--\r\n"
        base = f"/{src};UIDVALIDITY={validity}/;UID={uid}"
        tagged, un = self.catenate(r, drafts, [("TEXT", head), ("URL", base + "/;SECTION=2.MIME"),
                                               ("URL", base + "/;SECTION=2"), ("TEXT", tail)], " (\\Draft)")
        self.assertRegex(tagged, r"OK \[APPENDUID \d+ 1\]")
        attachment = b"Content-Type: application/pdf\r\nContent-Transfer-Encoding: base64\r\n\r\nJVBERi0="
        # the absolute form, the user named, and the whole message; a PARTIAL range; a
        # relative URL against the selected mailbox; a percent-encoded name
        host = f"imap://alice%40example.test;AUTH=*@mail.example.test:{self.s.imaps}"
        tagged, un = self.catenate(r, drafts, [("URL", f"{host}/{src}/;UID={uid}")])
        self.assertIn(" OK ", tagged)
        tagged, un = self.catenate(r, drafts, [("TEXT", b"Subject: partial\r\n\r\n"),
                                               ("URL", base + "/;SECTION=1/;PARTIAL=0.3")])
        self.assertIn(" OK ", tagged)
        r.cmd(f'SELECT "{src}"')
        tagged, un = self.catenate(r, drafts, [("URL", f";UID={uid}/;SECTION=HEADER"), ("TEXT", b"relative\r\n")])
        self.assertIn(" OK ", tagged)
        self.assertIn(" OK ", r.cmd('CREATE "Entw&APw-rfe"')[0])
        self.append(r, "Entw&APw-rfe", b"Subject: umlaut box\r\n\r\nbody\r\n")
        tagged, un = self.catenate(r, drafts, [("URL", "/Entw%C3%BCrfe/;UID=1")])
        self.assertIn(" OK ", tagged)
        r.cmd(f'SELECT "{drafts}"')
        tagged, un = r.cmd("FETCH 1:5 (FLAGS BODY.PEEK[])")
        bodies = [re.search(rb"\{\d+\}\r\n(.*)\)$", u, re.S).group(1) for u in un]
        self.assertEqual(bodies[0], head + attachment + tail)
        self.assertIn(b"\\Draft", un[0])
        self.assertEqual(bodies[1], source)
        self.assertEqual(bodies[2], b"Subject: partial\r\n\r\nold")
        self.assertEqual(bodies[3], b"Subject: with attachment\r\nContent-Type: multipart/mixed; boundary=q\r\n\r\nrelative\r\n")
        self.assertEqual(bodies[4], b"Subject: umlaut box\r\n\r\nbody\r\n")
        # what cannot be fetched: NO [BADURL …], and nothing of the command is stored, even
        # with good messages before it in the same MULTIAPPEND
        bad = [f"imap://bob%40example.test@mail.example.test/{src}/;UID={uid}",   # another user
               f"imap://elsewhere.example/{src}/;UID={uid}",                      # another server
               f"/{src};UIDVALIDITY={int(validity) + 1}/;UID={uid}",              # UIDVALIDITY changed
               f"/{src}/;UID={int(uid) + 5}", "/Nowhere/;UID=1",                  # no such message/mailbox
               f"/{src}/;UID={uid};EXPIRE=2030-01-01T00:00:00Z;URLAUTH=anonymous:internal:0123",
               f"/{src}/;UID={uid}/;SECTION=9", "/;UID=1", "http://example.com/"]
        for url in bad:
            r.n += 1
            tag = f"a{r.n}"
            one = b"Subject: fine\r\n\r\nx\r\n"
            r.send(f'{tag} APPEND "{drafts}" {{{len(one)}+}}\r\n'.encode() + one +
                   f' CATENATE (TEXT {{2+}}\r\nab URL "{url}")\r\n'.encode())
            self.assertRegex(r.response(tag)[0], r"^a\d+ NO \[BADURL ", url)
        tagged, un = r.cmd(f'STATUS "{drafts}" (MESSAGES)')
        self.assertIn(b"MESSAGES 5", un[0])
        # syntax: BAD
        for cat in ("CATENATE ()", "CATENATE (TEXT)", 'CATENATE (TEXT "quoted")', 'CATENATE (FOO "x")', "CATENATE"):
            self.assertIn(" BAD ", r.cmd(f'APPEND "{drafts}" {cat}')[0], cat)

    # 9.14: CONTEXT=SEARCH (RFC 5267 4): results kept up to date, PARTIAL, CANCELUPDATE

    def test_context_search_updates(self):
        a, b = self.raw(), self.raw()
        self.assertIn(b"CONTEXT=SEARCH", self.caps(a))
        box = self.fresh(a, *[b"Subject: %d\r\n\r\nx\r\n" % i for i in range(5)])
        b.cmd(f'SELECT "{box}"')
        uids = [int(re.search(rb"UID (\d+)", u).group(1)) for u in a.cmd("FETCH 1:* (UID)")[1]]
        tagged, un = a.cmd("UID SEARCH RETURN (UPDATE) UNSEEN")
        t1 = tagged.split()[0]
        self.assertEqual(un, [f'* ESEARCH (TAG "{t1}") UID ALL {uids[0]}:{uids[4]}'.encode()])
        tagged, un = a.cmd("SEARCH RETURN (COUNT UPDATE) FLAGGED")
        t2 = tagged.split()[0]
        self.assertEqual(un, [f'* ESEARCH (TAG "{t2}") COUNT 0'.encode()])
        # another session changes flags and adds a message
        b.cmd("STORE 2 +FLAGS (\\Seen)")
        b.cmd("STORE 3 +FLAGS (\\Flagged)")
        self.append(b, box, b"Subject: new\r\n\r\nx\r\n")
        tagged, un = a.cmd("NOOP")
        self.assertIn(f'* ESEARCH (TAG "{t1}") UID REMOVEFROM (0 {uids[1]}) ADDTO (0 {uids[4] + 1})'.encode(), un)
        self.assertIn(f'* ESEARCH (TAG "{t2}") ADDTO (0 3)'.encode(), un)
        self.assertIn(b"* 6 EXISTS", un)
        # nothing changed: nothing sent
        self.assertEqual(a.cmd("NOOP")[1], [])
        # an expunge: REMOVEFROM comes before the EXPUNGE, with the sequence number it had
        b.cmd("STORE 3 +FLAGS (\\Deleted)")
        b.cmd("EXPUNGE")
        tagged, un = a.cmd("NOOP")
        removal = un.index(f'* ESEARCH (TAG "{t2}") REMOVEFROM (0 3)'.encode())
        self.assertLess(removal, un.index(b"* 3 EXPUNGE"))
        self.assertIn(f'* ESEARCH (TAG "{t1}") UID REMOVEFROM (0 {uids[2]})'.encode(), un)
        # the session's own changes count too; updates arrive during IDLE
        a.cmd("STORE 1 +FLAGS (\\Flagged)")
        self.assertIn(f'* ESEARCH (TAG "{t2}") ADDTO (0 1)'.encode(), a.cmd("NOOP")[1])
        a.n += 1
        idle = f"a{a.n}"
        a.send(f"{idle} IDLE\r\n")
        self.assertTrue(a.line().startswith(b"+ "))
        b.cmd("STORE 4 +FLAGS (\\Flagged)")
        lines = [a.line(), a.line()]
        self.assertIn(f'* ESEARCH (TAG "{t2}") ADDTO (0 4)'.encode(), lines)
        a.send("DONE\r\n")
        self.assertIn(" OK ", a.response(idle)[0])
        # CANCELUPDATE: no more updates for that tag; an unknown tag is BAD
        self.assertIn(" OK ", a.cmd(f'CANCELUPDATE "{t2}"')[0])
        b.cmd("STORE 1 -FLAGS (\\Flagged)")
        self.assertFalse(any(b"ESEARCH" in u for u in a.cmd("NOOP")[1]))
        self.assertIn(" BAD ", a.cmd(f'CANCELUPDATE "{t2}"')[0])
        # PARTIAL: positions in the result
        tagged, un = a.cmd("SEARCH RETURN (PARTIAL 2:3) ALL")
        self.assertTrue(un[0].endswith(b" PARTIAL (2:3 2:3)"), un)
        tagged, un = a.cmd("UID SEARCH RETURN (PARTIAL 10:12 COUNT) ALL")
        self.assertTrue(un[0].endswith(b" COUNT 5 PARTIAL (10:12 NIL)"), un)
        self.assertIn(" BAD ", a.cmd("SEARCH RETURN (PARTIAL 0:x) ALL")[0])
        # leaving the mailbox ends every kept search
        a.cmd(f'SELECT "{box}"')
        b.cmd("STORE 5 +FLAGS (\\Seen)")
        self.assertFalse(any(b"ESEARCH" in u for u in a.cmd("NOOP")[1]))
        self.assertIn(" BAD ", a.cmd(f'CANCELUPDATE "{t1}"')[0])
        # at most max_search_updates (16) per session: then OK [NOUPDATE]
        for _ in range(16):
            self.assertNotIn("NOUPDATE", a.cmd("SEARCH RETURN (UPDATE) SEEN")[0])
        tagged, un = a.cmd("SEARCH RETURN (UPDATE) SEEN")
        self.assertRegex(tagged, r'^(a\d+) OK \[NOUPDATE "\1"\]')

    def test_select_reports_the_closed_mailbox_first(self):
        # RFC 7162 3.2.11: with QRESYNC advertised, SELECT/EXAMINE of another mailbox first
        # says the previous one is closed; a first SELECT says nothing of the kind
        r = self.raw()
        self.assertIn(b"QRESYNC", self.caps(r))
        box = self.fresh(r, b"Subject: a\r\n\r\nx\r\n", select=False)
        tagged, un = r.cmd("SELECT INBOX")
        self.assertFalse(any(b"CLOSED" in u for u in un))
        tagged, un = r.cmd(f'EXAMINE "{box}"')
        self.assertEqual(un[0], b"* OK [CLOSED] Previous mailbox closed")
        tagged, un = r.cmd('SELECT "no such box"')
        self.assertEqual(un, [b"* OK [CLOSED] Previous mailbox closed"])
        self.assertIn(" NO ", tagged)
        self.assertIn(" BAD ", r.cmd("FETCH 1 FLAGS")[0], "nothing is selected after a failed SELECT")

    # SEARCHRES (RFC 5182): SEARCH RETURN (SAVE) and "$"

    def test_searchres_saves_the_result_as_dollar(self):
        r = self.raw()
        self.assertIn(b"SEARCHRES", self.caps(r))
        box = self.fresh(r, *[b"Subject: %d\r\n\r\nx\r\n" % i for i in range(6)])
        uids = [int(re.search(rb"UID (\d+)", u).group(1)) for u in r.cmd("FETCH 1:* (UID)")[1]]
        r.cmd("STORE 2,4,5 +FLAGS (\\Flagged)")
        # SAVE alone answers nothing but OK
        tagged, un = r.cmd("SEARCH RETURN (SAVE) FLAGGED")
        self.assertIn(" OK ", tagged)
        self.assertEqual(un, [])
        # "$" names the same messages in FETCH, UID FETCH, SEARCH, STORE and COPY
        tagged, un = r.cmd("FETCH $ (UID)")
        self.assertEqual([int(re.search(rb"UID (\d+)", u).group(1)) for u in un], [uids[1], uids[3], uids[4]])
        tagged, un = r.cmd("UID FETCH $ (FLAGS)")
        self.assertEqual(len(un), 3)
        self.assertEqual(r.cmd("SEARCH $ NOT 4")[1], [b"* SEARCH 2 5"])
        self.assertEqual(r.cmd("UID SEARCH UID $")[1], [b"* SEARCH %d %d %d" % (uids[1], uids[3], uids[4])])
        r.cmd("STORE $ +FLAGS (\\Answered)")
        self.assertEqual(r.cmd("SEARCH ANSWERED")[1], [b"* SEARCH 2 4 5"])
        target = self.fresh(r, select=False)
        self.assertIn(" OK [COPYUID", r.cmd(f'COPY $ "{target}"')[0])
        # an expunged message leaves "$"
        r.cmd("STORE 4 +FLAGS (\\Deleted)")
        r.cmd("EXPUNGE")
        self.assertEqual(r.cmd("SEARCH $")[1], [b"* SEARCH 2 4"])
        # SAVE with MIN or MAX keeps only those; with other options the whole result
        tagged, un = r.cmd("SEARCH RETURN (SAVE MIN) FLAGGED")
        self.assertTrue(un[0].endswith(b" MIN 2"), un)
        self.assertEqual(r.cmd("SEARCH $")[1], [b"* SEARCH 2"])
        tagged, un = r.cmd("UID SEARCH RETURN (SAVE COUNT) ALL")
        self.assertTrue(un[0].endswith(b" COUNT 5"), un)
        self.assertEqual(r.cmd("SEARCH $")[1], [b"* SEARCH 1 2 3 4 5"])
        # a failing SEARCH … SAVE empties "$"; selecting a mailbox empties it
        self.assertIn(" BAD ", r.cmd("SEARCH RETURN (SAVE) NOSUCHKEY")[0])
        self.assertEqual(r.cmd("SEARCH $")[1], [b"* SEARCH"])
        r.cmd("SEARCH RETURN (SAVE) ALL")
        r.cmd(f'SELECT "{box}"')
        self.assertEqual(r.cmd("FETCH $ (UID)")[1], [])

    # 9.14: UTF8=ACCEPT (RFC 6855): UTF-8 names and strings once enabled, APPEND UTF8 (~{n})

    def test_utf8_accept(self):
        box = "Entwürfe-" + self._testMethodName[-6:]
        client = imaplib.IMAP4_SSL("127.0.0.1", self.s.imaps, ssl_context=self.tls)
        client.login("alice@example.test", "alice-pw")
        self.assertIn(b"UTF8=ACCEPT", client.capability()[1][0].split())
        typ, data = client.enable("UTF8=ACCEPT")
        self.assertEqual(typ, "OK")
        self.assertEqual(client.untagged_responses.get("ENABLED"), [b"UTF8=ACCEPT"])
        self.assertEqual(client.create(f'"{box}"')[0], "OK")
        typ, data = client.list('""', f'"{box}"')
        self.assertEqual(data, [f'(\\HasNoChildren) "/" "{box}"'.encode()])
        self.assertEqual(client.select(f'"{box}"')[0], "OK")
        client.logout()
        # a session that did not enable it sees the same mailbox in modified UTF-7
        r = self.raw()
        tagged, un = r.cmd(f'LIST "" "Entw*"')
        self.assertIn(f'"{box}"'.replace("ü", "&APw-").encode(), b"".join(un))
        # ... and may not use APPEND UTF8
        self.assertIn(" BAD ", r.cmd(f'APPEND INBOX UTF8 (~{{3+}}\r\nabc)')[0])
        tagged, un = r.cmd("ENABLE UTF8=ACCEPT")
        self.assertEqual(un, [b"* ENABLED UTF8=ACCEPT"])
        self.assertEqual(r.cmd("ENABLE UTF8=ACCEPT")[1], [b"* ENABLED"], "reported once")
        message = "From: Jörg <jörg@exämple.test>\r\nSubject: Grüße\r\n\r\nHallo\r\n".encode()
        r.n += 1
        tag = f"a{r.n}"
        r.send(f'{tag} APPEND "{box}" (\\Seen) UTF8 (~{{{len(message)}}}\r\n'.encode())
        self.assertTrue(r.line().startswith(b"+ "))
        r.send(message + b")\r\n")
        self.assertIn(" OK [APPENDUID", r.response(tag)[0])
        # and as a CATENATE part (RFC 6855 4)
        r.send(f'c1 APPEND "{box}" CATENATE (UTF8 (~{{{len(message)}+}}\r\n'.encode() + message + b"))\r\n")
        self.assertIn(" OK [APPENDUID", r.response("c1")[0])
        self.assertIn(" OK ", r.cmd(f'SELECT "{box}"')[0])
        tagged, un = r.cmd("FETCH 1:2 (FLAGS BODY.PEEK[])")
        self.assertIn(message, un[0])
        self.assertIn(message, un[1])
        # search strings are UTF-8, and a CHARSET now conflicts (RFC 6855 3, erratum 4029)
        self.assertEqual(r.cmd('SEARCH SUBJECT "Grüße"')[1], [b"* SEARCH 1 2"])
        self.assertIn(" BAD ", r.cmd("SEARCH CHARSET UTF-8 ALL")[0])
        self.assertIn(" BAD ", r.cmd("SORT (SUBJECT) US-ASCII ALL")[0])
        self.assertIn(" OK ", r.cmd("SORT (SUBJECT) UTF-8 ALL")[0])
        # "&" is an ordinary character in a UTF-8 name; invalid UTF-8 is refused
        self.assertIn(" OK ", r.cmd('CREATE "R&D"')[0])
        tagged, un = r.cmd('LIST "" "R&D"')
        self.assertEqual(un, [b'* LIST (\\HasNoChildren) "/" "R&D"'])
        r.send(b'bad1 CREATE "bad\xff"\r\n')
        self.assertIn(" NO ", r.response("bad1")[0])
        r2 = self.raw()
        tagged, un = r2.cmd('LIST "" "R*"')
        self.assertIn(b'"R&-D"', b"".join(un))

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



class ImapProtocolLimitsTest(unittest.TestCase):
    """The limits the extensions answer to, set small: max_literal_size bounds the message
    CATENATE builds, max_search_updates the searches kept up to date."""

    @classmethod
    def setUpClass(cls):
        cls.s = Suite(imapd_toml='max_literal_size = "2K"\nmax_literal_memory = "1M"\nmax_search_updates = 1\n').start("imapd")
        cls.s.cli("domain", "add", "example.test")
        cls.s.cli("user", "add", "alice@example.test", "--password", "alice-pw")

    @classmethod
    def tearDownClass(cls):
        cls.s.cleanup()

    def test_catenate_result_and_kept_searches_are_bounded(self):
        r = Raw(self.s.imaps, self.s.cert)
        self.assertIn(" OK ", r.cmd('LOGIN "alice@example.test" "alice-pw"')[0])
        big = b"Subject: big\r\n\r\n" + b"x" * 1400 + b"\r\n"
        r.send(f'p1 APPEND INBOX {{{len(big)}+}}\r\n'.encode() + big + b"\r\n")
        uid = re.search(r"APPENDUID \d+ (\d+)", r.response("p1")[0]).group(1)
        url = f'URL "/INBOX/;UID={uid}"'
        self.assertIn(" OK ", r.cmd(f"APPEND INBOX CATENATE ({url})")[0])
        tagged, un = r.cmd(f"APPEND INBOX CATENATE ({url} {url})")
        self.assertRegex(tagged, r"^a\d+ NO \[TOOBIG\] .*2048")
        tagged, un = r.cmd("STATUS INBOX (MESSAGES)")
        self.assertIn(b"MESSAGES 2", un[0])
        # the bytes URLs bring in count against max_literal_memory: 800 × 1.4 KB > 1 MiB
        tagged, un = r.cmd("APPEND INBOX" + f" CATENATE ({url})" * 800)
        self.assertRegex(tagged, r"^a\d+ NO \[UNAVAILABLE\]")
        tagged, un = r.cmd("STATUS INBOX (MESSAGES)")
        self.assertIn(b"MESSAGES 2", un[0])
        self.assertIn(" OK ", r.cmd("APPEND INBOX" + f" CATENATE ({url})" * 100)[0], "released after the command")
        r.cmd("SELECT INBOX")
        self.assertNotIn("NOUPDATE", r.cmd("SEARCH RETURN (UPDATE) ALL")[0])
        self.assertRegex(r.cmd("SEARCH RETURN (UPDATE) SEEN")[0], r"OK \[NOUPDATE \"a\d+\"\] .*limit is 1\)")


if __name__ == "__main__":
    unittest.main()
