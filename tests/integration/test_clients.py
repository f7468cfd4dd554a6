"""The exact Roundcube and Thunderbird IMAP sequences of ../shared/CLIENTS.md, replayed over
a raw connection against the real imapd (mail delivered by the real smtpd), with what
each client relies on checked in every answer."""
import base64
import re
import smtplib
import unittest

from helpers import Suite
from test_imap import Raw


class ClientSequencesTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.s = Suite().start()
        cls.s.cli("domain", "add", "example.test")
        cls.s.cli("user", "add", "rc@example.test", "--password", "rc-pw", "--quota", "100M")
        cls.s.cli("user", "add", "tb@example.test", "--password", "tb-pw")
        s = smtplib.SMTP("127.0.0.1", cls.s.mx, timeout=10)
        for user in ("rc@example.test", "tb@example.test"):
            for i in range(3):
                s.sendmail("sender@remote.example", [user],
                           (f"From: Sender <sender@remote.example>\r\nTo: {user}\r\nSubject: message {i}\r\n"
                            f"Date: Mon, 1 Jan 2024 10:0{i}:00 +0000\r\nMessage-ID: <{i}.{user}>\r\n"
                            "Content-Type: multipart/alternative; boundary=b\r\n\r\n--b\r\n"
                            "Content-Type: text/plain; charset=utf-8\r\n\r\nplain text\r\n--b\r\n"
                            "Content-Type: text/html; charset=utf-8\r\n\r\n<p>html</p>\r\n--b--\r\n").encode())
        s.quit()

    @classmethod
    def tearDownClass(cls):
        cls.s.cleanup()

    def ok(self, r, command):
        tagged, untagged = r.cmd(command)
        self.assertRegex(tagged, r"^a\d+ OK", command)
        return tagged, untagged

    def test_roundcube(self):
        # Login request: connect, SASL-IR login, namespace, folder list, logout.
        r = Raw(self.s.imaps, self.s.cert)
        self.assertIn(b"AUTH=PLAIN", r.greeting)
        self.assertIn(b"SASL-IR", r.greeting)
        token = base64.b64encode(b"\0rc@example.test\0rc-pw").decode()
        tagged, _ = self.ok(r, f"AUTHENTICATE PLAIN {token}")
        self.assertIn("[CAPABILITY IMAP4rev1", tagged, "capabilities in the tagged OK spare a CAPABILITY")
        _, un = self.ok(r, "NAMESPACE")
        self.assertEqual(un, [b'* NAMESPACE (("" "/")) NIL NIL'])
        _, listed = self.ok(r, 'LIST "" "*"')
        _, lsub = self.ok(r, 'LSUB "" "*"')
        names = lambda lines: sorted(l.rsplit(b'"/" ', 1)[1] for l in lines)
        self.assertEqual(names(listed), names(lsub), "LIST and LSUB agree, so Roundcube unsubscribes nothing")
        self.assertIn(b'* LIST (\\HasNoChildren \\Sent) "/" "Sent"', listed)
        self.ok(r, "LOGOUT") if False else r.cmd("LOGOUT")

        # Mail screen request.
        r = Raw(self.s.imaps, self.s.cert)
        self.ok(r, f"AUTHENTICATE PLAIN {token}")
        _, un = self.ok(r, "GETQUOTAROOT INBOX")
        self.assertEqual(un, [b'* QUOTAROOT "INBOX" ""', b'* QUOTA "" (STORAGE ' + un[1].split(b"STORAGE ")[1]])
        for folder in ("INBOX", "Sent", "Drafts", "Trash", "Spam", "Archive"):
            _, un = self.ok(r, f'STATUS "{folder}" (MESSAGES UNSEEN)')
            self.assertRegex(un[0].decode(), rf'^\* STATUS "{folder}" \(MESSAGES \d+ UNSEEN \d+\)$')
        r.cmd("LOGOUT")

        # Opening the folder.
        r = Raw(self.s.imaps, self.s.cert)
        self.ok(r, f"AUTHENTICATE PLAIN {token}")
        _, un = self.ok(r, "STATUS INBOX (MESSAGES UNSEEN)")
        self.assertIn(b"MESSAGES 3 UNSEEN 3", un[0])
        tagged, un = self.ok(r, "SELECT INBOX")
        self.assertIn(b"* 3 EXISTS", un)
        self.assertTrue(any(b"PERMANENTFLAGS" in u and b"\\*" in u for u in un))
        _, un = self.ok(r, "UID SEARCH 3")
        last_uid = int(un[0].split()[-1])
        _, un = self.ok(r, "UID SEARCH ALL")
        uids = un[0].split()[2:]
        self.assertEqual(len(uids), 3)
        _, un = self.ok(r, f"UID FETCH {','.join(u.decode() for u in uids)} (UID RFC822.SIZE FLAGS INTERNALDATE "
                           "BODY.PEEK[HEADER.FIELDS (DATE FROM TO SUBJECT CONTENT-TYPE CC REPLY-TO LIST-POST "
                           "DISPOSITION-NOTIFICATION-TO X-PRIORITY)])")
        self.assertEqual(len(un), 3)
        for line in un:
            self.assertRegex(line, rb"UID \d+ RFC822\.SIZE \d+ FLAGS \(\) INTERNALDATE \"")
            self.assertIn(b"BODY[HEADER.FIELDS (DATE FROM TO SUBJECT CONTENT-TYPE CC REPLY-TO LIST-POST "
                          b"DISPOSITION-NOTIFICATION-TO X-PRIORITY)]", line)
            self.assertIn(b"Subject: message", line)
        r.cmd("LOGOUT")

        # Opening a message.
        r = Raw(self.s.imaps, self.s.cert)
        self.ok(r, f"AUTHENTICATE PLAIN {token}")
        self.ok(r, "SELECT INBOX")
        _, un = self.ok(r, f"UID FETCH {last_uid} (UID RFC822.SIZE FLAGS INTERNALDATE BODYSTRUCTURE BODY.PEEK[HEADER.FIELDS "
                           "(DATE FROM TO SUBJECT CONTENT-TYPE CC REPLY-TO LIST-POST DISPOSITION-NOTIFICATION-TO "
                           "X-PRIORITY MESSAGE-ID REFERENCES IN-REPLY-TO BCC SENDER)])")
        self.assertIn(b'BODYSTRUCTURE (("TEXT" "PLAIN" ("CHARSET" "utf-8") NIL NIL "7BIT" 10 1 NIL NIL NIL NIL)'
                      b'("TEXT" "HTML" ("CHARSET" "utf-8") NIL NIL "7BIT" 11 1 NIL NIL NIL NIL) "ALTERNATIVE"', un[0])
        _, un = self.ok(r, f"UID FETCH {last_uid} (BODY.PEEK[1] BODY.PEEK[1.MIME])")
        self.assertIn(b"BODY[1] {10}\r\nplain text", un[0])
        self.assertIn(b"BODY[1.MIME] {43}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n", un[0])
        tagged, un = self.ok(r, f"UID STORE {last_uid} +FLAGS.SILENT (\\Seen)")
        self.assertEqual(un, [])
        _, un = self.ok(r, "STATUS INBOX (MESSAGES UNSEEN)")
        self.assertIn(b"UNSEEN 2", un[0])
        r.cmd("LOGOUT")

    def test_thunderbird(self):
        r = Raw(self.s.imaps, self.s.cert)
        self.assertIn(b"IMAP4rev1", r.greeting)
        r.send("1 authenticate PLAIN\r\n")
        self.assertEqual(r.line(), b"+ ")
        r.send(base64.b64encode(b"\0tb@example.test\0tb-pw").decode() + "\r\n")
        self.assertIn("1 OK [CAPABILITY", r.response("1")[0])
        self.ok(r, "namespace")
        _, un = self.ok(r, 'ID ("name" "Thunderbird" "version" "128.3.0")')
        self.assertTrue(un[0].startswith(b"* ID ("))
        _, un = self.ok(r, "ENABLE UTF8=ACCEPT")
        self.assertEqual(un, [b"* ENABLED UTF8=ACCEPT"])
        # then UTF-8 folder names both ways, and drafts saved with APPEND … UTF8 (~{n})
        self.ok(r, 'create "Entwürfe"')
        draft = "Subject: Grüße\r\nFrom: tb@example.test\r\n\r\nText\r\n".encode()
        r.send(b'7 APPEND "Entw\xc3\xbcrfe" (\\Seen \\Draft) UTF8 (~{%d}\r\n' % len(draft))
        self.assertTrue(r.line().startswith(b"+ "))
        r.send(draft + b")\r\n")
        self.assertIn("7 OK [APPENDUID", r.response("7")[0])
        _, un = self.ok(r, 'list "" "Entw*"')
        self.assertEqual(un, ['* LIST (\\HasNoChildren) "/" "Entwürfe"'.encode()])
        _, un = self.ok(r, 'STATUS "Entwürfe" (MESSAGES)')
        self.assertEqual(un, ['* STATUS "Entwürfe" (MESSAGES 1)'.encode()])
        _, listed = self.ok(r, 'list "" "*"')
        _, lsub = self.ok(r, 'lsub "" "*"')
        self.assertEqual(len(listed), len(lsub))
        _, un = self.ok(r, 'select "INBOX"')
        self.assertIn(b"* 3 EXISTS", un)
        uidvalidity = next(re.search(rb"UIDVALIDITY (\d+)", u).group(1) for u in un if b"UIDVALIDITY" in u)
        self.assertTrue(uidvalidity)
        tagged, un = r.cmd('getquotaroot "INBOX"')
        self.assertIn(" OK ", tagged)
        _, un = self.ok(r, "UID fetch 1:* (FLAGS)")
        self.assertEqual(len(un), 3)
        self.assertTrue(all(re.match(rb"\* \d+ FETCH \(FLAGS \(\) UID \d+\)", u) for u in un), un)
        _, un = self.ok(r, "UID fetch 1:* (UID RFC822.SIZE FLAGS BODY.PEEK[HEADER.FIELDS (From To Cc Bcc Subject Date "
                           "Message-ID Priority X-Priority References Newsgroups In-Reply-To Content-Type Reply-To "
                           "Received)])")
        sizes = [int(re.search(rb"RFC822\.SIZE (\d+)", u).group(1)) for u in un]
        uids = [int(re.search(rb"UID (\d+)", u).group(1)) for u in un]
        # Display: 64 KiB chunks; the size TB saw must be exactly what it streams.
        _, un = self.ok(r, f"UID fetch {uids[0]} (UID RFC822.SIZE BODY[]<0.65536>)")
        body = un[0].split(b"BODY[]<0> {", 1)[1]
        n = int(body.split(b"}", 1)[0])
        self.assertEqual(n, sizes[0], "RFC822.SIZE is exact")
        self.assertIn(b"FLAGS (\\Seen)", un[0], "BODY[] sets \\Seen and says so")
        # Other folders
        _, un = self.ok(r, 'STATUS "Sent" (UIDNEXT MESSAGES UNSEEN RECENT)')
        self.assertEqual(un, [b'* STATUS "Sent" (UIDNEXT 1 MESSAGES 0 UNSEEN 0 RECENT 0)'])
        # Move, then the fallback without MOVE: copy + \Deleted + UID EXPUNGE
        tagged, un = self.ok(r, f'uid move {uids[1]} "Archive"')
        self.assertTrue(any(b"COPYUID" in u for u in un))
        self.assertIn(b"* 2 EXPUNGE", un)
        tagged, _ = self.ok(r, f'uid copy {uids[2]} "Trash"')
        self.assertIn("[COPYUID", tagged)
        self.ok(r, f"uid store {uids[2]} +FLAGS (\\Deleted)")
        _, un = self.ok(r, f"uid expunge {uids[2]}")
        self.assertEqual(un, [b"* 2 EXPUNGE"])
        # IDLE, DONE
        r.send("9 IDLE\r\n")
        self.assertEqual(r.line(), b"+ idling")
        r.send("DONE\r\n")
        self.assertIn("9 OK", r.response("9")[0])
        r.cmd("logout")


if __name__ == "__main__":
    unittest.main()
