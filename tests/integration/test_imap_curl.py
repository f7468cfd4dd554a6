"""mailstead-imapd driven by curl (libcurl's IMAP client): listing, STATUS, mailbox
management, APPEND by upload (APPENDUID), FETCH by URL (whole, ;SECTION=, ;PARTIAL=), SEARCH
by query, and the other commands and extensions through -X on a selected mailbox. curl
prints only the untagged lines named like the command, so the server's side of each
exchange is read from curl's -v transcript too."""
import os
import re
import subprocess
import tempfile
import unittest

from helpers import Suite, tool


class ImapCurlTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.s = Suite().start("imapd")
        cls.s.cli("domain", "add", "example.test")
        cls.s.cli("user", "add", "carol@example.test", "--password", "carol-pw", "--quota", "10M")
        cls.base = f"imaps://localhost:{cls.s.imaps}"

    @classmethod
    def tearDownClass(cls):
        cls.s.cleanup()

    def curl(self, path="/", *args, upload=None, ok=True):
        """Runs curl; returns (exit code, stdout bytes, the server's lines)."""
        cmd = [tool("curl"), "-sS", "-v", "--cacert", self.s.cert, "-u", "carol@example.test:carol-pw",
               "--max-time", "20", *args]
        tmp = None
        if upload is not None:
            tmp = tempfile.NamedTemporaryFile(delete=False)
            tmp.write(upload)
            tmp.close()
            cmd += ["-T", tmp.name]
        p = subprocess.run(cmd + [self.base + path], capture_output=True)
        if tmp:
            os.unlink(tmp.name)
        server = [line[2:] for line in p.stderr.decode(errors="replace").splitlines() if line.startswith("< ")]
        if ok:
            self.assertEqual(p.returncode, 0, f"{cmd}: {p.stderr.decode(errors='replace')[-600:]}")
        return p.returncode, p.stdout, server

    def out(self, path="/", *args):
        return self.curl(path, *args)[1].decode()

    def tagged(self, path, command):
        """The tagged reply to `command` (sent with -X on `path`)."""
        rc, _, server = self.curl(path, "-X", command, ok=False)
        return next(line for line in reversed(server) if re.match(r"^A\d+ (OK|NO|BAD) ", line) and "LOGOUT" not in line)

    def test_a_capability_namespace_id_enable(self):
        caps = self.out("/", "-X", "CAPABILITY")
        for c in ("IMAP4rev1", "IDLE", "UIDPLUS", "MOVE", "CONDSTORE", "QRESYNC", "SPECIAL-USE", "THREAD=REFERENCES",
                  "COMPRESS=DEFLATE", "QUOTA", "ESEARCH", "SORT", "LIST-STATUS", "STATUS=SIZE"):
            self.assertIn(c, caps)
        self.assertIn('NAMESPACE (("" "/")) NIL NIL', self.out("/", "-X", "NAMESPACE"))
        self.assertIn('* ID ("name" "Mailstead"', self.out("/", "-X", 'ID ("name" "curl")'))
        self.assertIn("* ENABLED CONDSTORE", self.curl("/", "-X", "ENABLE CONDSTORE")[2])
        self.assertIn("* QUOTAROOT", self.out("/", "-X", "GETQUOTAROOT INBOX"))
        self.assertTrue(any(re.match(r'\* QUOTA "" \(STORAGE \d+ 10240\)', line)
                            for line in self.curl("/", "-X", 'GETQUOTA ""')[2]))

    def test_b_list_status_and_mailbox_management(self):
        listing = self.out("/")
        for box in ("INBOX", "Sent", "Drafts", "Trash", "Junk", "Archive"):
            self.assertIn(box, listing)
        self.assertIn("\\Sent", self.out("/", "-X", 'LIST (SPECIAL-USE) "" "*"'))
        self.assertIn("OK", self.tagged("/", "CREATE Projects/Alpha"))
        self.assertIn("OK", self.tagged("/", "SUBSCRIBE Projects/Alpha"))
        self.assertIn("Projects/Alpha", self.out("/", "-X", 'LSUB "" "Projects/*"'))
        self.assertIn("OK", self.tagged("/", "RENAME Projects/Alpha Projects/Beta"))
        listing = self.out("/", "-X", 'LIST "" "Projects/*" RETURN (STATUS (MESSAGES SIZE))')
        self.assertIn("Projects/Beta", listing)
        self.assertIn("OK", self.tagged("/", "UNSUBSCRIBE Projects/Beta"))
        self.assertIn("OK", self.tagged("/", "DELETE Projects/Beta"))
        self.assertNotIn("Projects/Beta", self.out("/"))
        self.assertIn("NO", self.tagged("/", "DELETE INBOX"))
        self.assertIn("OK", self.tagged("/", "CREATE Receipts (USE (\\Flagged))"))
        self.assertRegex(self.out("/", "-X", 'LIST "" Receipts'), r"\\Flagged")

    def test_c_append_fetch_search(self):
        self.assertIn("OK", self.tagged("/", "CREATE Curl"))
        body = "0123456789" * 100
        for i in range(3):
            _, _, server = self.curl("/Curl", upload=f"From: a@remote.example\r\nSubject: curl {i}\r\n"
                                                      f"Content-Type: text/plain\r\n\r\n{body}{i}\r\n".encode())
            self.assertTrue(any(re.search(rf"OK \[APPENDUID \d+ {i + 1}\]", line) for line in server), server)
        status = self.out("/", "-X", "STATUS Curl (MESSAGES UIDNEXT UNSEEN SIZE HIGHESTMODSEQ)")
        # curl appends with \Seen
        self.assertRegex(status, r"MESSAGES 3 UIDNEXT 4 UNSEEN 0 SIZE \d+ HIGHESTMODSEQ \d+")
        whole = self.curl("/Curl;UID=2")[1]
        self.assertTrue(whole.startswith(b"From: a@remote.example\r\nSubject: curl 1\r\n"), whole[:80])
        self.assertTrue(whole.endswith(body.encode() + b"1\r\n"))
        self.assertEqual(self.curl("/Curl;UID=2;SECTION=TEXT")[1], (body + "1\r\n").encode())
        self.assertEqual(self.curl("/Curl;UID=3;SECTION=TEXT;PARTIAL=5.10")[1], b"5678901234")
        self.assertIn(b"Subject: curl 0", self.curl("/Curl;UID=1;SECTION=HEADER.FIELDS%20(SUBJECT)")[1])
        self.assertRegex(self.out("/Curl?SUBJECT%20%22curl%202%22"), r"\* SEARCH 3\s*$")
        self.assertRegex(self.out("/Curl?SEEN"), r"\* SEARCH 1 2 3\s*$")
        self.assertRegex(self.out("/Curl?UNSEEN"), r"\* SEARCH\s*$")

    def test_d_selected_state_commands(self):
        self.assertIn("OK", self.tagged("/", "CREATE Work"))
        self.assertIn("OK", self.tagged("/", "CREATE Done"))
        for i in range(4):
            self.curl("/Work", upload=f"Subject: w{i % 2}\r\nMessage-ID: <w{i}@x>\r\n"
                                      f"{'References: <w0@x>' if i else 'X-First: yes'}\r\n\r\nwork {i}\r\n".encode())
        fetch = self.out("/Work", "-X", "FETCH 1:* (UID FLAGS RFC822.SIZE ENVELOPE)")
        self.assertEqual(len(re.findall(r"^\* \d+ FETCH", fetch, re.M)), 4, fetch)
        self.assertIn('"w0" NIL NIL NIL NIL NIL NIL NIL "<w0@x>"', fetch)
        self.assertIn("OK", self.tagged("/Work", "STORE 1 +FLAGS (\\Seen)"))
        self.assertIn("OK", self.tagged("/Work", "UID STORE 2 +FLAGS.SILENT (\\Flagged $Label1)"))
        flags = self.out("/Work", "-X", "FETCH 1:2 (FLAGS)")
        self.assertIn("1 FETCH (FLAGS (\\Seen))", flags)
        self.assertIn("2 FETCH (FLAGS (\\Seen \\Flagged $Label1))", flags)
        self.assertRegex(self.out("/Work", "-X", "SEARCH FLAGGED"), r"\* SEARCH 2\s*$")
        self.assertRegex(self.out("/Work", "-X", "SEARCH RETURN (MIN MAX COUNT) ALL"), r"\* ESEARCH \(TAG \"A\d+\"\) MIN 1 MAX 4 COUNT 4")
        self.assertRegex(self.out("/Work", "-X", "SORT (REVERSE SUBJECT) UTF-8 ALL"), r"\* SORT 2 4 1 3")
        self.assertRegex(self.out("/Work", "-X", "THREAD REFERENCES UTF-8 ALL"), r"\* THREAD \(1 \(2\)\(3\)\(4\)\)")
        self.assertRegex(self.tagged("/Work", "UID COPY 1:2 Done"), r"OK \[COPYUID \d+ 1:2 1:2\]")
        self.assertRegex(self.tagged("/Work", "UID MOVE 4 Done"), r"OK")
        self.assertRegex(self.out("/", "-X", "STATUS Work (MESSAGES)"), r"MESSAGES 3")
        self.assertIn("OK", self.tagged("/Work", "STORE 3 +FLAGS.SILENT (\\Deleted)"))
        _, _, server = self.curl("/Work", "-X", "EXPUNGE")
        self.assertIn("* 3 EXPUNGE", server)
        self.assertIn("OK", self.tagged("/Work", "UID STORE 1 +FLAGS.SILENT (\\Deleted)"))
        self.assertIn("OK", self.tagged("/Work", "UID EXPUNGE 1"))
        self.assertRegex(self.out("/", "-X", "STATUS Done (MESSAGES UIDNEXT)"), r"MESSAGES 3 UIDNEXT 4")
        self.assertRegex(self.out("/", "-X", "STATUS Work (MESSAGES)"), r"MESSAGES 1")
        # CONDSTORE and QRESYNC through curl: MODSEQ in FETCH, CHANGEDSINCE, UNCHANGEDSINCE
        modseq = self.out("/Work", "-X", "FETCH 1 (MODSEQ)")
        m = int(re.search(r"MODSEQ \((\d+)\)", modseq).group(1))
        self.assertIn("OK [MODIFIED 1]", self.tagged("/Work", f"STORE 1 (UNCHANGEDSINCE {m - 1}) +FLAGS (\\Answered)"))
        self.assertIn("OK", self.tagged("/Work", f"STORE 1 (UNCHANGEDSINCE {m}) +FLAGS (\\Answered)"))
        self.assertRegex(self.out("/Work", "-X", f"FETCH 1:* (FLAGS) (CHANGEDSINCE {m})"), r"\\Answered")
        self.assertIn("OK", self.tagged("/Work", "CHECK"))
        self.assertIn("OK", self.tagged("/Work", "UNSELECT"))

    def test_e_errors(self):
        self.assertIn("BAD", self.tagged("/", "FROBNICATE"))
        self.assertIn("NO", self.tagged("/", "SELECT Nowhere"))
        rc, _, _ = self.curl("/Nowhere;UID=1", ok=False)
        self.assertNotEqual(rc, 0)
        p = subprocess.run([tool("curl"), "-sS", "--cacert", self.s.cert, "-u", "carol@example.test:wrong",
                            "--max-time", "20", self.base + "/"], capture_output=True)
        self.assertNotEqual(p.returncode, 0, "a wrong password is refused")


if __name__ == "__main__":
    unittest.main()
