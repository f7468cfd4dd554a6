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


if __name__ == "__main__":
    unittest.main()
