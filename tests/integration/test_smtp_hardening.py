"""mailstead-smtpd against hostile input (issue reproductions): HELO names that would
rewrite Received."""
import unittest

from helpers import SmtpServer
from test_smtp import Client, setup_directory


class SmtpContentTest(unittest.TestCase):
    """HELO names (defaults)."""

    @classmethod
    def setUpClass(cls):
        cls.s = SmtpServer().start()
        setup_directory(cls.s)

    @classmethod
    def tearDownClass(cls):
        cls.s.cleanup()

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


if __name__ == "__main__":
    unittest.main()
