"""mailstead-smtpd against hostile input (issue reproductions): header From tricks on
submission, NUL bytes, HELO names that would rewrite Received, oversized header lines,
and messages spooled to disk within the spool's budget."""
import base64
import os
import smtplib
import time
import unittest

from helpers import SmtpServer, client_tls
from test_smtp import Client, setup_directory


class SubmissionSenderFieldsTest(unittest.TestCase):
    """Authenticated as alice: the originator fields must be alice's (RFC 6409 8.1)."""

    @classmethod
    def setUpClass(cls):
        cls.s = SmtpServer().start()
        setup_directory(cls.s)
        cls.tls = client_tls(cls.s.cert)

    @classmethod
    def tearDownClass(cls):
        cls.s.cleanup()

    def submission(self):
        c = smtplib.SMTP("127.0.0.1", self.s.submission, timeout=30)
        c.ehlo("client.example")
        c.starttls(context=self.tls)
        c.ehlo("client.example")
        c.login("alice@example.test", "alice-pw")
        return c

    def count(self):
        return len(self.s.messages("bob@example.test"))

    def refused(self, header, why=None):
        before = self.count()
        c = self.submission()
        with self.assertRaises(smtplib.SMTPDataError, msg=header) as cm:
            c.sendmail("alice@example.test", ["bob@example.test"], header + b"Subject: x\r\n\r\nbody\r\n")
        self.assertEqual(cm.exception.smtp_code, 550, header)
        self.assertTrue(cm.exception.smtp_error.startswith(b"5.7.1"), cm.exception.smtp_error)
        if why:
            self.assertIn(why, cm.exception.smtp_error.decode())
        self.assertEqual(c.noop()[0], 250, "the session goes on")
        c.quit()
        self.assertEqual(self.count(), before, header)

    def accepted(self, header):
        c = self.submission()
        c.sendmail("alice@example.test", ["bob@example.test"], header + b"Subject: ok\r\n\r\nbody\r\n")
        c.quit()
        uid = self.s.messages("bob@example.test")[-1]["uid"]
        return self.s.message("bob@example.test", uid)

    def test_missing_from_is_added(self):
        got = self.accepted(b"To: bob@example.test\r\n")
        header = got.split(b"\r\n\r\n", 1)[0]
        self.assertEqual(header.count(b"\r\nFrom: "), 1, got)
        self.assertIn(b"\r\nFrom: <alice@example.test>\r\n", got)

    def test_several_from_fields_refused(self):
        self.refused(b"From: alice@example.test\r\nFrom: bob@example.test\r\n", "only one From")
        self.refused(b"From: alice@example.test\r\nfrom : alice@example.test\r\n", "only one From")

    def test_group_syntax_refused(self):
        self.refused(b"From: undisclosed:;\r\n", "group")
        self.refused(b"From: team: alice@example.test;\r\n", "group")

    def test_two_angle_addresses_refused(self):
        self.refused(b"From: x <alice@example.test> <bob@example.test>\r\n")
        self.refused(b"From: alice@example.test, bob@example.test\r\n")

    def test_display_name_that_is_another_address_refused(self):
        self.refused(b'From: "bob@example.test" <alice@example.test>\r\n', "bob@example.test")
        self.refused(b"From: bob@example.test <alice@example.test>\r\n", "bob@example.test")
        self.refused(b"From: =?utf-8?q?bob=40example=2Etest?= <alice@example.test>\r\n", "bob@example.test")
        self.refused(b"From: =?utf-8?b?Ym9iQGV4YW1wbGUudGVzdA==?= <alice@example.test>\r\n", "bob@example.test")
        self.refused(b"From: Bob (bob@example.test) <alice@example.test>\r\n", "bob@example.test")

    def test_sender_and_resent_from_checked(self):
        self.refused(b"From: alice@example.test\r\nSender: bob@example.test\r\n", "Sender")
        self.refused(b"From: alice@example.test\r\nResent-From: bob@example.test\r\n", "Resent-From")
        self.refused(b'From: alice@example.test\r\nSender: "bob@example.test" <alice@example.test>\r\n', "Sender")

    def test_what_is_allowed(self):
        # Own address and aliases anywhere, the own address as display name, Reply-To free.
        self.accepted(b'From: "alice@example.test" <alice@example.test>\r\n')
        self.accepted(b"From: Info <info@example.test>\r\nSender: alice@example.test\r\n"
                      b"Resent-From: alice@example.test\r\n")
        got = self.accepted(b"From: Alice <alice@example.test>\r\nReply-To: bob@example.test, list:;\r\n")
        self.assertIn(b"Reply-To: bob@example.test", got)


class SmtpContentTest(unittest.TestCase):
    """NUL bytes, HELO names, header line and header size limits (defaults)."""

    @classmethod
    def setUpClass(cls):
        cls.s = SmtpServer().start()
        setup_directory(cls.s)

    @classmethod
    def tearDownClass(cls):
        cls.s.cleanup()

    def transaction(self, c):
        self.assertEqual(c.cmd("EHLO client.example")[0], "250")
        self.assertEqual(c.cmd("MAIL FROM:<a@remote.example>")[0], "250")
        self.assertEqual(c.cmd("RCPT TO:<alice@example.test>")[0], "250")

    def test_nul_in_data_and_bdat_refused(self):
        before = len(self.s.messages("alice@example.test"))
        c = Client(self.s.mx)
        self.transaction(c)
        self.assertEqual(c.cmd("DATA")[0], "354")
        c.send(b"Subject: nul\r\n\r\nbefore\0after\r\n.\r\n")
        code, text = c.reply()
        self.assertEqual((code, text[4:9]), ("550", "5.6.0"), text)
        self.assertIn("NUL", text)
        self.assertEqual(c.cmd("RSET")[0], "250")
        c.cmd("MAIL FROM:<a@remote.example>")
        c.cmd("RCPT TO:<alice@example.test>")
        chunk = b"Subject: nul\0\r\n\r\nbody\r\n"
        c.send(b"BDAT %d LAST\r\n" % len(chunk) + chunk)
        code, text = c.reply()
        self.assertEqual((code, text[4:9]), ("550", "5.6.0"), text)
        self.assertEqual(c.cmd("NOOP")[0], "250")
        self.assertEqual(len(self.s.messages("alice@example.test")), before)

    def test_helo_names_cannot_rewrite_received(self):
        for verb in ("HELO", "EHLO"):
            for name in ("x)by evil.example", "x)\tby", "evil;date", "a(b", "x\x01y", "<a@b>"):
                c = Client(self.s.mx)
                code, text = c.cmd(f"{verb} {name}")
                self.assertEqual(code, "501", (verb, name, text))
                self.assertEqual(c.cmd("HELO fine.example")[0], "250")
                c.cmd("QUIT")
        # What clients really send still works, and lands in Received as sent.
        c = Client(self.s.mx)
        self.assertEqual(c.cmd("HELO DESKTOP-AB_12")[0], "250")
        c.cmd("MAIL FROM:<a@remote.example>")
        c.cmd("RCPT TO:<alice@example.test>")
        c.cmd("DATA")
        self.assertEqual(c.cmd("Subject: helo\r\n\r\nx\r\n.")[0], "250")
        uid = self.s.messages("alice@example.test")[-1]["uid"]
        self.assertIn(b"Received: from DESKTOP-AB_12 ([127.0.0.1])", self.s.message("alice@example.test", uid))

    def test_long_header_line_refused(self):
        before = len(self.s.messages("alice@example.test"))
        c = Client(self.s.mx)
        self.transaction(c)
        self.assertEqual(c.cmd("DATA")[0], "354")
        c.send(b"Subject: " + b"a" * (2 * 1024 * 1024) + b"\r\n\r\nbody\r\n.\r\n")
        code, text = c.reply()
        self.assertEqual((code, text[4:9]), ("552", "5.3.4"), text)
        self.assertIn("header line", text)
        self.assertEqual(c.cmd("NOOP")[0], "250")
        # Folded lines and a header as large as allowed are fine; long body lines too.
        c.cmd("MAIL FROM:<a@remote.example>")
        c.cmd("RCPT TO:<alice@example.test>")
        c.cmd("DATA")
        folded = b"X-Long: " + b"\r\n ".join([b"b" * 1000] * 100) + b"\r\n"
        self.assertEqual(c.cmd((folded + b"Subject: ok\r\n\r\n" + b"c" * 20000 + b"\r\n.").decode())[0], "250")
        # A header larger than 256 KiB is refused too.
        c.cmd("MAIL FROM:<a@remote.example>")
        c.cmd("RCPT TO:<alice@example.test>")
        c.cmd("DATA")
        code, text = c.cmd((b"X-Many: x\r\n" * 30000 + b"\r\nbody\r\n.").decode())
        self.assertEqual((code, text[4:9]), ("552", "5.3.4"), text)
        self.assertIn("header larger", text)
        self.assertEqual(len(self.s.messages("alice@example.test")), before + 1)


class SpoolTest(unittest.TestCase):
    """Messages over spool_threshold go to <data_dir>/spool; the spool's space is bounded."""

    @classmethod
    def setUpClass(cls):
        cls.s = SmtpServer('spool_threshold = "16K"\nspool_max_size = "3M"\nmax_message_size = "10M"\n'
                           'max_connections_per_ip = 100\n').start()
        setup_directory(cls.s)
        cls.spool = os.path.join(cls.s.instance.data_dir, "spool")

    @classmethod
    def tearDownClass(cls):
        cls.s.cleanup()

    def test_spooled_message_is_byte_exact_and_leaves_nothing(self):
        body = b"Subject: spooled\r\n\r\n" + b"".join(b"line %07d ..dot\r\n" % i for i in range(60000))
        c = smtplib.SMTP("127.0.0.1", self.s.mx, timeout=30)
        c.sendmail("a@remote.example", ["bob@example.test"], body)
        # BDAT in chunks too.
        c.ehlo("x")
        c.mail("b@remote.example")
        c.rcpt("bob@example.test")
        half = len(body) // 2
        c.send(b"BDAT %d\r\n" % half + body[:half])
        self.assertEqual(c.getreply()[0], 250)
        c.send(b"BDAT %d LAST\r\n" % (len(body) - half) + body[half:])
        self.assertEqual(c.getreply()[0], 250)
        c.quit()
        msgs = self.s.messages("bob@example.test")[-2:]
        for m in msgs:
            got = self.s.message("bob@example.test", m["uid"])
            self.assertTrue(got.endswith(body), got[-200:])
            self.assertEqual(len(got), m["size"])
        self.assertTrue(os.path.isdir(self.spool))
        self.assertEqual(os.listdir(self.spool), [], "spool files are unnamed and gone with the session")

    def wait_spooled(self, size, timeout=60):
        """Until the server holds a spool file of at least `size` bytes."""
        deadline = time.monotonic() + timeout
        fds = f"/proc/{self.s.proc.pid}/fd"
        while time.monotonic() < deadline:
            for fd in os.listdir(fds):
                try:
                    if os.readlink(os.path.join(fds, fd)).startswith(self.spool) and \
                            os.stat(os.path.join(fds, fd)).st_size >= size:
                        return
                except OSError:
                    pass
            time.sleep(0.05)
        self.fail(f"no spool file of {size} bytes")

    def test_spool_full_is_a_temporary_error(self):
        # Two transfers of 2 MB at once do not fit in 3 MB of spool: the second is told to retry.
        a, b = Client(self.s.mx), Client(self.s.mx)
        for c in (a, b):
            c.cmd("EHLO x")
            c.cmd("MAIL FROM:<a@remote.example>")
            c.cmd("RCPT TO:<alice@example.test>")
            self.assertEqual(c.cmd("DATA")[0], "354")
        line = b"y" * 998 + b"\r\n"
        a.send(b"Subject: first\r\n\r\n" + line * 2000)
        self.wait_spooled(2_000_000)
        # A declared size that does not fit now is refused at MAIL (RFC 1870 6.1).
        c = Client(self.s.mx)
        c.cmd("EHLO x")
        code, text = c.cmd("MAIL FROM:<a@remote.example> SIZE=2000000")
        self.assertEqual((code, text[4:9]), ("452", "4.3.1"), text)
        self.assertEqual(c.cmd("MAIL FROM:<a@remote.example> SIZE=1000")[0], "250")
        c.cmd("QUIT")
        b.send(b"Subject: second\r\n\r\n" + line * 2000 + b".\r\n")
        code, text = b.reply()
        self.assertEqual((code, text[4:9]), ("452", "4.3.1"), text)
        self.assertEqual(b.cmd("NOOP")[0], "250")
        a.send(b".\r\n")
        self.assertEqual(a.reply()[0], "250", "the first one fitted")
        # Once the first is gone the room is back.
        b.cmd("MAIL FROM:<a@remote.example>")
        b.cmd("RCPT TO:<alice@example.test>")
        b.cmd("DATA")
        self.assertEqual(b.cmd((b"Subject: again\r\n\r\n" + line * 2000 + b".").decode())[0], "250")


if __name__ == "__main__":
    unittest.main()
