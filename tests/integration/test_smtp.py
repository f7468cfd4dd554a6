"""mailstead-smtpd as a real binary, driven by Python's smtplib, raw sockets and swaks:
routing branches, relay tricks, submission rules, TLS on 465, pipelining, BDAT,
SMTPUTF8, size limits, smuggling, malformed input and connection limits."""
import smtplib
import socket
import ssl
import subprocess
import time
import unittest

from helpers import SmtpServer, client_tls, connect_when_room, tool

USERS = """
"""


def setup_directory(s):
    s.cli("domain", "add", "example.test")
    s.cli("domain", "add", "other.test")
    s.cli("user", "add", "alice@example.test", "--password", "alice-pw")
    s.cli("user", "add", "bob@example.test", "--password", "bob-pw")
    s.cli("user", "add", "small@example.test", "--password", "small-pw", "--quota", "3000")
    s.cli("user", "add", "jörg@example.test", "--password", "jorg-pw")
    s.cli("alias", "add", "info@example.test", "alice@example.test")
    s.cli("group", "add", "team@example.test", "alice@example.test", "bob@example.test")
    s.cli("group", "add", "board@example.test", "alice@example.test")
    s.cli("group", "policy", "board@example.test", "members")
    s.cli("catchall", "set", "other.test", "bob@example.test")


class Client:
    """A raw SMTP client over a socket, for what smtplib cannot send."""

    def __init__(self, port, tls_ctx=None):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        if tls_ctx:
            self.sock = tls_ctx.wrap_socket(self.sock, server_hostname="mail.example.test")
        self.buf = b""
        self.greeting = self.reply()

    def send(self, data):
        self.sock.sendall(data if isinstance(data, bytes) else data.encode())

    def line(self):
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed: " + self.buf.decode(errors="replace"))
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line.decode()

    def reply(self):
        lines = [self.line()]
        while lines[-1][3:4] == "-":
            lines.append(self.line())
        return lines[-1][:3], "\n".join(lines)

    def cmd(self, c):
        self.send(c + "\r\n")
        return self.reply()

    def closed(self, timeout=5):
        self.sock.settimeout(timeout)
        try:
            return self.sock.recv(1) == b""
        except (ConnectionError, socket.timeout):
            return True


class SmtpTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.s = SmtpServer('max_message_size = "30M"\nmax_recipients = 5\n').start()
        setup_directory(cls.s)
        cls.tls = client_tls(cls.s.cert)

    @classmethod
    def tearDownClass(cls):
        cls.s.cleanup()

    def mx(self):
        c = smtplib.SMTP("127.0.0.1", self.s.mx, timeout=10)
        c.ehlo("client.example")
        return c

    def submission(self, user="alice@example.test", password="alice-pw"):
        c = smtplib.SMTP("127.0.0.1", self.s.submission, timeout=10)
        c.ehlo("client.example")
        c.starttls(context=self.tls)
        c.ehlo("client.example")
        c.login(user, password)
        return c

    def count(self, user, mailbox="INBOX"):
        return len(self.s.messages(user, mailbox))

    def assert_refused(self, fn, code, enhanced=None):
        with self.assertRaises((smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused,
                                smtplib.SMTPDataError, smtplib.SMTPResponseException)) as cm:
            fn()
        e = cm.exception
        if isinstance(e, smtplib.SMTPRecipientsRefused):
            (got_code, text), = e.recipients.values()
        else:
            got_code, text = e.smtp_code, e.smtp_error
        self.assertEqual(got_code, code, text)
        if enhanced:
            self.assertTrue(text.decode().startswith(enhanced), text)

    # ---- routing branches on port 25 ----
    def test_routing_branches(self):
        before = {u: self.count(u) for u in ("alice@example.test", "bob@example.test")}
        c = self.mx()
        msg = b"Subject: routing\r\n\r\nhello\r\n"
        c.sendmail("sender@remote.example", ["alice+tag@example.test"], msg)   # user
        c.sendmail("sender@remote.example", ["INFO@example.test"], msg)        # alias
        c.sendmail("sender@remote.example", ["team@example.test"], msg)        # group
        c.sendmail("sender@remote.example", ["whoever@other.test"], msg)       # catch-all
        self.assert_refused(lambda: c.sendmail("s@remote.example", ["nobody@example.test"], msg), 550, "5.1.1")
        self.assert_refused(lambda: c.sendmail("s@remote.example", ["board@example.test"], msg), 550, "5.7.1")
        self.assert_refused(lambda: c.sendmail("s@remote.example", ["x@remote.example"], msg), 554, "5.7.1")
        c.quit()
        self.assertEqual(self.count("alice@example.test"), before["alice@example.test"] + 3)
        self.assertEqual(self.count("bob@example.test"), before["bob@example.test"] + 2)

    def test_parsed_once_at_delivery(self):
        msg = (b"From: \"Sender, A\" <sender@remote.example>\r\nSubject: parts\r\n"
               b"Content-Type: multipart/alternative; boundary=b\r\n\r\n--b\r\n"
               b"Content-Type: text/plain; charset=utf-8\r\n\r\nplain\r\n--b\r\n"
               b"Content-Type: text/html\r\n\r\n<b>x</b>\r\n--b--\r\n")
        c = self.mx()
        c.sendmail("sender@remote.example", ["alice@example.test"], msg)
        c.quit()
        m = self.s.messages("alice@example.test")[-1]
        self.assertEqual(m["bodystructure"],
                         '(("TEXT" "PLAIN" ("CHARSET" "utf-8") NIL NIL "7BIT" 5 1 NIL NIL NIL NIL)'
                         '("TEXT" "HTML" ("CHARSET" "us-ascii") NIL NIL "7BIT" 8 1 NIL NIL NIL NIL)'
                         ' "ALTERNATIVE" ("BOUNDARY" "b") NIL NIL NIL)')
        self.assertIn('"parts" (("Sender, A" NIL "sender" "remote.example"))', m["envelope"])

    def test_one_copy_per_mailbox(self):
        before = self.count("alice@example.test")
        c = self.mx()
        c.sendmail("s@remote.example", ["alice@example.test", "info@example.test", "team@example.test"],
                   b"Subject: dup\r\n\r\nonce\r\n")
        c.quit()
        self.assertEqual(self.count("alice@example.test"), before + 1)

    def test_relay_tricks_refused(self):
        c = Client(self.s.mx)
        c.cmd("EHLO client.example")
        c.cmd("MAIL FROM:<s@remote.example>")
        for trick in ["user%remote.example@example.test", "remote.example!user@example.test",
                      '"user@remote.example"@example.test', "@relay.example:alice@example.test",
                      "@a.example,@b.example:user@remote.example",
                      "alice@example.test.", "alice@[127.0.0.1]", "alice", "user@remote.example"]:
            code, text = c.cmd(f"RCPT TO:<{trick}>")
            self.assertEqual((code, text[4:9]), ("554", "5.7.1"), trick)
        c.cmd("QUIT")

    def test_no_auth_on_mx(self):
        c = self.mx()
        self.assertNotIn("auth", c.esmtp_features)
        code, text = c.docmd("AUTH", "PLAIN AGFsaWNlQGV4YW1wbGUudGVzdABhbGljZS1wdw==")
        self.assertEqual(code, 503)
        c.quit()

    def test_delivered_message_is_byte_exact_with_trace_headers(self):
        body = b"From: <sender@remote.example>\r\nSubject: exact\r\n\r\n8-bit: \xc3\xa9t\xc3\xa9 \xff\r\n..leading dot\r\n"
        c = self.mx()
        c.sendmail("sender@remote.example", ["bob@example.test"], body, mail_options=["BODY=8BITMIME"])
        c.quit()
        uid = self.s.messages("bob@example.test")[-1]["uid"]
        got = self.s.message("bob@example.test", uid)
        self.assertTrue(got.startswith(b"Return-Path: <sender@remote.example>\r\nDelivered-To: bob@example.test\r\n"
                                       b"Received: from client.example ([127.0.0.1])\r\n\tby mail.example.test"), got[:200])
        self.assertTrue(got.endswith(body), got)  # smtplib stuffed the dot, the server removed it
        self.assertIn(b"for <bob@example.test>", got)

    # ---- submission ----
    def test_auth_requires_starttls_on_587(self):
        c = smtplib.SMTP("127.0.0.1", self.s.submission, timeout=10)
        c.ehlo("client.example")
        self.assertIn("starttls", c.esmtp_features)
        self.assertNotIn("auth", c.esmtp_features)
        code, text = c.docmd("AUTH", "PLAIN AGFsaWNlQGV4YW1wbGUudGVzdABhbGljZS1wdw==")
        self.assertEqual((code, text[:5]), (530, b"5.7.0"))
        code, text = c.docmd("MAIL", "FROM:<alice@example.test>")
        self.assertEqual((code, text[:5]), (530, b"5.7.0"))
        c.starttls(context=self.tls)
        c.ehlo("client.example")
        self.assertEqual(c.esmtp_features["auth"].split(), ["PLAIN", "LOGIN"])
        self.assertNotIn("starttls", c.esmtp_features)
        code, text = c.docmd("MAIL", "FROM:<alice@example.test>")
        self.assertEqual((code, text[:5]), (530, b"5.7.0"), "MAIL before AUTH")
        c.login("alice@example.test", "alice-pw")
        before = len(self.s.instance.cli_json("queue", "list"))
        c.sendmail("alice@example.test", ["bob@example.test", "out@remote.example", "Two@Remote.Example"],
                   b"From: Alice <alice@example.test>\r\nSubject: s\r\n\r\nhi\r\n")
        c.quit()
        queue = self.s.instance.cli_json("queue", "list")
        self.assertEqual(len(queue), before + 1, "one queue entry for the remote recipients")
        self.assertEqual(queue[-1]["sender"], "alice@example.test")
        self.assertEqual(queue[-1]["recipients"], ["out@remote.example", "Two@remote.example"])
        self.assertEqual(queue[-1]["authenticated_user"], "alice@example.test")

    def test_failed_auth(self):
        c = smtplib.SMTP("127.0.0.1", self.s.submission, timeout=10)
        c.ehlo("x")
        c.starttls(context=self.tls)
        c.ehlo("x")
        with self.assertRaises(smtplib.SMTPAuthenticationError) as cm:
            c.login("alice@example.test", "wrong")
        self.assertEqual(cm.exception.smtp_code, 535)
        self.assertTrue(cm.exception.smtp_error.startswith(b"5.7.8"))
        c.login("alice@example.test", "alice-pw")  # the session goes on
        c.quit()

    def test_auth_login_and_plain_without_initial_response(self):
        c = Client(self.s.submissions, self.tls)
        c.cmd("EHLO x")
        self.assertEqual(c.cmd("AUTH PLAIN")[0], "334")
        import base64
        self.assertEqual(c.cmd(base64.b64encode(b"\0bob@example.test\0bob-pw").decode())[0], "235")
        c.cmd("QUIT")
        c = Client(self.s.submissions, self.tls)
        c.cmd("EHLO x")
        code, text = c.cmd("AUTH LOGIN")
        self.assertEqual((code, text), ("334", "334 VXNlcm5hbWU6"))
        self.assertEqual(c.cmd(base64.b64encode(b"bob@example.test").decode())[0], "334")
        self.assertEqual(c.cmd(base64.b64encode(b"bob-pw").decode())[0], "235")
        c = Client(self.s.submissions, self.tls)
        c.cmd("EHLO x")
        c.cmd("AUTH PLAIN")
        self.assertEqual(c.cmd("*")[0], "501")
        self.assertEqual(c.cmd("AUTH CRAM-MD5")[0], "504")

    def test_spoofing_refused_alias_accepted(self):
        c = self.submission()
        self.assert_refused(lambda: c.sendmail("bob@example.test", ["bob@example.test"], b"Subject: x\r\n\r\nx\r\n"),
                            553, "5.7.1")
        self.assert_refused(lambda: c.sendmail("alice@example.test", ["bob@example.test"],
                                               b"From: Bob <bob@example.test>\r\nSubject: x\r\n\r\nx\r\n"),
                            550, "5.7.1")
        self.assert_refused(lambda: c.sendmail("alice@example.test", ["bob@example.test"],
                                               b"From: alice@example.test, \"Bob\" <bob@example.test>\r\n\r\nx\r\n"),
                            550, "5.7.1")
        before = self.count("bob@example.test")
        c.sendmail("info+news@example.test", ["bob@example.test"],
                   b"From: \"Info (team)\" <info@example.test>\r\nSubject: ok\r\n\r\nx\r\n")
        c.quit()
        self.assertEqual(self.count("bob@example.test"), before + 1)

    def test_submissions_465(self):
        c = smtplib.SMTP_SSL("127.0.0.1", self.s.submissions, timeout=10, context=self.tls)
        c.ehlo("client.example")
        self.assertNotIn("starttls", c.esmtp_features)
        c.login("alice@example.test", "alice-pw")
        c.sendmail("alice@example.test", ["bob@example.test"], b"From: alice@example.test\r\n\r\nover 465\r\n")
        c.quit()
        uid = self.s.messages("bob@example.test")[-1]["uid"]
        got = self.s.message("bob@example.test", uid)
        self.assertIn(b"with ESMTPSA", got)
        self.assertIn(b"(authenticated as alice@example.test)", got)
        self.assertRegex(got, rb"\(using TLSv1\.[23] with cipher ")

    def test_swaks_submission(self):
        for args in (["--server", f"127.0.0.1:{self.s.submission}", "-tls"],
                     ["--server", f"127.0.0.1:{self.s.submissions}", "-tlsc"]):
            p = subprocess.run([tool("swaks"), *args, "--auth", "LOGIN", "--auth-user", "bob@example.test",
                                "--auth-password", "bob-pw", "--from", "bob@example.test",
                                "--h-From", "bob@example.test", "--to", "alice@example.test",
                                "--tls-verify", "--tls-ca-path", self.s.cert, "--tls-sni", "mail.example.test"],
                               capture_output=True, text=True, timeout=60)
            self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
            self.assertIn("250 2.0.0 Ok: queued as", p.stdout)

    # ---- protocol ----
    def test_pipelined_transaction_in_one_write(self):
        c = Client(self.s.mx)
        c.send("EHLO client.example\r\nMAIL FROM:<p@remote.example>\r\nRCPT TO:<alice@example.test>\r\n"
               "RCPT TO:<nobody@example.test>\r\nRCPT TO:<bob@example.test>\r\nDATA\r\n"
               "Subject: pipelined\r\n\r\nbody\r\n.\r\nQUIT\r\n")
        codes = [c.reply()[0] for _ in range(8)]
        self.assertEqual(codes, ["250", "250", "250", "550", "250", "354", "250", "221"])

    def test_bdat(self):
        c = Client(self.s.mx)
        c.cmd("EHLO x")
        c.cmd("MAIL FROM:<b@remote.example>")
        c.cmd("RCPT TO:<alice@example.test>")
        part1 = b"Subject: chunked\r\n\r\nfirst "
        part2 = b"and last\r\n"
        c.send(b"BDAT %d\r\n" % len(part1) + part1)
        self.assertEqual(c.reply()[0], "250")
        c.send(b"BDAT %d LAST\r\n" % len(part2) + part2)
        self.assertEqual(c.reply()[0], "250")
        uid = self.s.messages("alice@example.test")[-1]["uid"]
        self.assertTrue(self.s.message("alice@example.test", uid).endswith(part1 + part2))
        # BDAT with no transaction: the bytes are consumed, the reply is an error, the session lives.
        c.send(b"BDAT 5 LAST\r\nxxxxx")
        self.assertEqual(c.reply()[0], "503")
        self.assertEqual(c.cmd("NOOP")[0], "250")

    def test_smtputf8_addresses_and_body_byte_exact(self):
        body = "From: jörg@example.test\r\nSubject: Grüße\r\n\r\nÄpfel und Bäume\r\n".encode()
        c = self.mx()
        self.assertIn("smtputf8", c.esmtp_features)
        c.sendmail("sénder@remote.example", ["jörg@example.test"], body, mail_options=["SMTPUTF8", "BODY=8BITMIME"])
        # without SMTPUTF8 a non-ASCII address is refused
        code, text = c.docmd("MAIL", "FROM:<sénder@remote.example>")
        self.assertEqual((code, text[:5]), (553, b"5.6.7"))
        c.quit()
        uid = self.s.messages("jörg@example.test")[-1]["uid"]
        got = self.s.message("jörg@example.test", uid)
        self.assertTrue(got.endswith(body))
        self.assertIn("Return-Path: <sénder@remote.example>".encode(), got)
        self.assertIn(b"with UTF8SMTP", got)

    def test_25mb_message(self):
        line = b"x" * 998 + b"\r\n"
        body = b"Subject: big\r\n\r\n" + line * (25 * 1000 * 1000 // len(line))
        c = self.mx()
        c.sendmail("big@remote.example", ["bob@example.test"], body)
        c.quit()
        m = self.s.messages("bob@example.test")[-1]
        got = self.s.message("bob@example.test", m["uid"])
        self.assertEqual(len(got), m["size"])
        self.assertTrue(got.endswith(body))

    def test_malformed_commands_keep_the_session_usable(self):
        c = Client(self.s.mx)
        for bad, code in [("FROB", "502"), ("MAIL FROM:<alice@example.test>", "503"), ("EHLO", "501"),
                          ("HELO a b c", "501"), ("RCPT TO:<x@example.test>", "503"), ("DATA", "503"),
                          ("BDAT x", "501"), ("STARTTLS now", "501")]:
            self.assertEqual(c.cmd(bad)[0], code, bad)
        self.assertEqual(c.cmd("EHLO client.example")[0], "250")
        c.cmd("QUIT")
        c = Client(self.s.mx)  # a fresh session: max_errors would end the first one
        self.assertEqual(c.cmd("EHLO client.example")[0], "250")
        for bad, code in [("MAIL FROM:alice@example.test", "501"), ("MAIL FROM:<a@b> SIZE=abc", "501"),
                          ("MAIL FROM:<a@b> FOO=1", "555"), ("MAIL FROM:<not an address>", "501")]:
            self.assertEqual(c.cmd(bad)[0], code, bad)
        self.assertEqual(c.cmd("MAIL FROM:<ok@remote.example>")[0], "250")
        self.assertEqual(c.cmd("MAIL FROM:<again@remote.example>")[0], "503")
        self.assertEqual(c.cmd("RCPT TO:<>")[0], "501")
        self.assertEqual(c.cmd("RCPT TO:<a b@example.test>")[0], "501")
        self.assertEqual(c.cmd("VRFY alice")[0], "252")
        self.assertEqual(c.cmd("RSET")[0], "250")
        self.assertEqual(c.cmd("QUIT")[0], "221")

    def test_too_many_recipients(self):
        c = self.mx()
        c.mail("s@remote.example")
        for i in range(5):
            self.assertEqual(c.rcpt("alice@example.test")[0], 250)
        code, text = c.rcpt("bob@example.test")
        self.assertEqual((code, text[:5]), (452, b"4.5.3"))
        c.quit()

    def test_line_too_long(self):
        c = Client(self.s.mx)
        self.assertEqual(c.cmd("NOOP " + "a" * 5000), ("500", "500 5.5.6 Line too long"))
        self.assertEqual(c.cmd("NOOP")[0], "250")

    def test_bare_lf_in_commands_refused(self):
        c = Client(self.s.mx)
        c.send("NOOP\n")
        self.assertEqual(c.reply()[0], "500")
        self.assertEqual(c.cmd("NOOP")[0], "250")

    def test_smuggling_attempts_refused(self):
        before = self.count("alice@example.test")
        for smuggle in [b"\n.\n", b"\r\n.\n", b"\n.\r\n", b"\r.\r\n", b"\r\n.\r"]:
            c = Client(self.s.mx)
            c.cmd("EHLO x")
            c.cmd("MAIL FROM:<a@remote.example>")
            c.cmd("RCPT TO:<alice@example.test>")
            self.assertEqual(c.cmd("DATA")[0], "354")
            # What a smuggler hopes ends the message early, then a second, forged transaction.
            c.send(b"Subject: first\r\n\r\nhello" + smuggle +
                   b"MAIL FROM:<ceo@example.test>\r\nRCPT TO:<alice@example.test>\r\nDATA\r\n"
                   b"Subject: forged\r\n\r\nforged\r\n.\r\n")
            code, text = c.reply()
            self.assertEqual(code, "550", (smuggle, text))
            self.assertIn("5.5.2", text)
            self.assertEqual(c.cmd("NOOP")[0], "250")
        self.assertEqual(self.count("alice@example.test"), before)

    def test_size_declared_too_big(self):
        c = self.mx()
        code, text = c.docmd("MAIL", f"FROM:<a@remote.example> SIZE={31 * 1024 * 1024}")
        self.assertEqual((code, text[:5]), (552, b"5.3.4"))
        self.assertIn("size", c.esmtp_features)
        self.assertEqual(int(c.esmtp_features["size"]), 30 * 1024 * 1024)
        c.quit()

    def test_quota(self):
        c = self.mx()
        c.sendmail("q@remote.example", ["small@example.test"], b"Subject: fits\r\n\r\n" + b"a" * 1000)
        # declared SIZE over quota: refused at RCPT
        with self.assertRaises(smtplib.SMTPRecipientsRefused) as cm:
            c.sendmail("q@remote.example", ["small@example.test"], b"Subject: too big\r\n\r\n" + b"a" * 3000)
        (code, text), = cm.exception.recipients.values()
        self.assertEqual((code, text[:5]), (452, b"4.2.2"))
        c.quit()
        # undeclared: refused after DATA, for every recipient alike
        r = Client(self.s.mx)
        r.cmd("EHLO x")
        r.cmd("MAIL FROM:<q@remote.example>")
        r.cmd("RCPT TO:<small@example.test>")
        r.cmd("RCPT TO:<bob@example.test>")
        r.cmd("DATA")
        r.send(b"Subject: too big\r\n\r\n" + b"a" * 3000 + b"\r\n.\r\n")
        code, text = r.reply()
        self.assertEqual((code, text[4:9]), ("452", "4.2.2"))
        self.assertEqual(self.count("small@example.test"), 1)


class SmtpLimitsTest(unittest.TestCase):
    """Limits that need their own server settings."""

    @classmethod
    def setUpClass(cls):
        cls.s = SmtpServer('max_message_size = "100K"\nmax_connections_per_ip = 3\nmax_errors = 4\n'
                           'command_timeout = "1s"\n').start()
        setup_directory(cls.s)

    @classmethod
    def tearDownClass(cls):
        cls.s.cleanup()

    def test_oversize_refused(self):
        # smtplib declares SIZE: refused at MAIL
        c = smtplib.SMTP("127.0.0.1", self.s.mx, timeout=10)
        with self.assertRaises(smtplib.SMTPSenderRefused) as cm:
            c.sendmail("a@remote.example", ["alice@example.test"], b"Subject: big\r\n\r\n" + b"a" * 200_000)
        self.assertEqual(cm.exception.smtp_code, 552)
        c.quit()
        # undeclared: refused after DATA, and the session goes on
        r = Client(self.s.mx)
        r.cmd("EHLO x")
        r.cmd("MAIL FROM:<a@remote.example>")
        r.cmd("RCPT TO:<alice@example.test>")
        self.assertEqual(r.cmd("DATA")[0], "354")
        r.send(b"Subject: big\r\n\r\n" + (b"a" * 998 + b"\r\n") * 200 + b".\r\n")
        code, text = r.reply()
        self.assertEqual((code, text[4:9]), ("552", "5.3.4"))
        self.assertEqual(r.cmd("NOOP")[0], "250")
        # BDAT too
        r.cmd("MAIL FROM:<a@remote.example>")
        r.cmd("RCPT TO:<alice@example.test>")
        r.send(b"BDAT 150000 LAST\r\n" + b"a" * 150000)
        self.assertEqual(r.reply()[0], "552")
        self.assertEqual(r.cmd("NOOP")[0], "250")
        self.assertEqual(self.s.messages("alice@example.test"), [])

    def test_connections_per_ip(self):
        held = [Client(self.s.mx) for _ in range(3)]
        extra = socket.create_connection(("127.0.0.1", self.s.mx), timeout=5)
        self.assertTrue(extra.recv(200).startswith(b"421 4.7.0"))
        extra.close()
        for h in held:
            h.cmd("QUIT")

        def room():
            c = Client(self.s.mx)
            if c.greeting[0] != "220":
                c.sock.close()
                raise ConnectionError(c.greeting)
            return c
        c = connect_when_room(room)  # room again once the server has seen the QUITs
        c.cmd("QUIT")

    def test_too_many_errors(self):
        c = Client(self.s.mx)
        for _ in range(4):
            self.assertEqual(c.cmd("FROB")[0], "502")
        code, text = c.reply()
        self.assertEqual(code, "421")
        self.assertIn("4.7.0", text)
        self.assertTrue(c.closed())

    def test_idle_timeout(self):
        c = Client(self.s.mx)
        t = time.monotonic()
        self.assertTrue(c.closed(timeout=5))
        self.assertLess(time.monotonic() - t, 4)


class SmtpLoginLimitTest(unittest.TestCase):
    """The per-address failed-login limit, on a server of its own (the limits server allows 3
    connections per address, each freed only when the server has seen its close). Each
    failure is answered after a failure_delay longer than command_timeout: time the server
    spends itself (argon2id, the limiter's commit, the delay) must not time the client out."""

    @classmethod
    def setUpClass(cls):
        cls.s = SmtpServer('command_timeout = "1s"\n',
                           top_toml='[auth]\nmax_failures_per_ip = 3\nfailure_delay = "1500ms"\n').start()
        setup_directory(cls.s)
        cls.tls = client_tls(cls.s.cert)

    @classmethod
    def tearDownClass(cls):
        cls.s.cleanup()

    def test_failed_logins_rate_limited_per_ip(self):
        import base64

        def attempt(password):
            c = Client(self.s.submissions, self.tls)
            c.cmd("EHLO x")
            code, _ = c.cmd("AUTH PLAIN " + base64.b64encode(b"\0bob@example.test\0" + password.encode()).decode())
            c.sock.close()
            return int(code)
        self.assertEqual([attempt("bad") for _ in range(3)], [535, 535, 535])
        self.assertEqual(attempt("bob-pw"), 454, "this IP is shut out for the window, even with the right password")
        self.assertIn("event=smtp.auth.throttled", self.s.logs())
        self.assertNotIn("bob-pw", self.s.logs())


class SmtpTimeoutsTest(unittest.TestCase):
    """The remaining limits: connections in total, the DATA and TLS handshake timeouts,
    and the permanent over-quota reply."""

    @classmethod
    def setUpClass(cls):
        cls.s = SmtpServer('max_connections = 2\nmax_connections_per_ip = 100\ndata_timeout = "1s"\n'
                           'tls_handshake_timeout = "1s"\nquota_reply = "permanent"\n').start()
        setup_directory(cls.s)

    @classmethod
    def tearDownClass(cls):
        cls.s.cleanup()

    def test_connections_in_total(self):
        held = [Client(self.s.mx) for _ in range(2)]
        extra = socket.create_connection(("127.0.0.1", self.s.mx), timeout=5)
        self.assertTrue(extra.recv(200).startswith(b"421 4.3.2"))
        extra.close()
        for h in held:
            h.cmd("QUIT")

    def test_data_timeout(self):
        c = Client(self.s.mx)
        c.cmd("EHLO x")
        c.cmd("MAIL FROM:<a@remote.example>")
        c.cmd("RCPT TO:<alice@example.test>")
        self.assertEqual(c.cmd("DATA")[0], "354")
        c.send(b"Subject: stalls\r\n")
        t = time.monotonic()
        self.assertTrue(c.closed(timeout=5))
        self.assertLess(time.monotonic() - t, 4)
        c.sock.close()
        self.assertEqual(self.s.messages("alice@example.test"), [])

    def test_tls_handshake_timeout(self):
        raw = socket.create_connection(("127.0.0.1", self.s.submissions), timeout=5)
        t = time.monotonic()
        self.assertEqual(raw.recv(10), b"", "a client that never starts TLS is dropped")
        self.assertLess(time.monotonic() - t, 4)
        raw.close()

    def test_over_quota_permanent(self):
        c = Client(self.s.mx)
        c.cmd("EHLO x")
        c.cmd("MAIL FROM:<a@remote.example> SIZE=5000")
        code, text = c.cmd("RCPT TO:<small@example.test>")
        self.assertEqual((code, text[4:9]), ("552", "5.2.2"))
        c.cmd("QUIT")


if __name__ == "__main__":
    unittest.main()
