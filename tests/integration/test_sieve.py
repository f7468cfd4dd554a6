"""Sieve end to end: sieve-connect (Debian's ManageSieve client) and a raw client against the
real mailstead-sieved, then mail sent over SMTP to the real smtpd filed where the active
script says, checked over IMAP and in the outbound queue."""
import base64
import imaplib
import json
import os
import re
import smtplib
import socket
import ssl
import subprocess
import tempfile
import time
import unittest

from helpers import Suite, client_tls, tool


class ManageSieve:
    """A raw ManageSieve client: lines, quoted strings, literals."""

    def __init__(self, port, cert):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.cert = cert
        self.buf = b""
        self.greeting = self.response()

    def recv_more(self):
        data = self.sock.recv(65536)
        if not data:
            raise EOFError("connection closed")
        self.buf += data

    def line(self):
        while b"\r\n" not in self.buf:
            self.recv_more()
        line, self.buf = self.buf.split(b"\r\n", 1)
        m = re.search(rb"\{(\d+)\}$", line)
        if m:
            n = int(m.group(1))
            while len(self.buf) < n + 2:
                self.recv_more()
            line += b"\r\n" + self.buf[:n]
            self.buf = self.buf[n + 2:]
        return line

    def response(self):
        """Lines up to and including OK/NO/BYE."""
        lines = []
        while True:
            line = self.line()
            lines.append(line)
            if re.match(rb"^(OK|NO|BYE)\b", line):
                return lines

    def cmd(self, text):
        self.send(text if isinstance(text, bytes) else text.encode() + b"\r\n")
        return self.response()

    def send(self, data):
        self.sock.sendall(data)

    def starttls(self):
        r = self.cmd("STARTTLS")
        assert r[-1].startswith(b"OK"), r
        self.sock = client_tls(self.cert).wrap_socket(self.sock, server_hostname="localhost")
        return self.response()  # the capabilities, unprompted

    def login(self, user, password):
        b64 = base64.b64encode(f"\0{user}\0{password}".encode()).decode()
        return self.cmd(f'AUTHENTICATE "PLAIN" "{b64}"')


class SieveTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.s = Suite(top_toml='[sieve]\nmax_scripts = 3\nmax_script_size = "8K"\n').start("smtpd", "imapd", "sieved")
        cls.s.cli("domain", "add", "example.test")
        for user in ("erin", "frank", "gina", "hank", "ivy", "jo"):
            cls.s.cli("user", "add", f"{user}@example.test", "--password", f"{user}-pw")
        cls.tmp = tempfile.mkdtemp(prefix="mailstead-sieve-")

    @classmethod
    def tearDownClass(cls):
        cls.s.cleanup()

    # ---- helpers ----
    def sieve_connect(self, user, *args, password=None):
        r, w = os.pipe()
        os.write(w, ((password or user.split("@")[0] + "-pw") + "\n").encode())
        os.close(w)
        cmd = [tool("sieve-connect"), "--server", "localhost", "--port", str(self.s.sieve), "--user", user,
               "--passwordfd", str(r), "--tlscafile", self.s.cert, *args]
        try:
            return subprocess.run(cmd, capture_output=True, pass_fds=(r,), timeout=60, text=True)
        finally:
            os.close(r)

    def file(self, name, text):
        path = os.path.join(self.tmp, name)
        with open(path, "wb") as f:
            f.write(text.encode())
        return path

    def activate(self, user, script, name="rules"):
        p = self.sieve_connect(user, "--upload", "--localsieve", self.file(name, script), "--remotesieve", name)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        p = self.sieve_connect(user, "--activate", "--remotesieve", name)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)

    def send(self, sender, rcpts, message):
        s = smtplib.SMTP("127.0.0.1", self.s.mx, timeout=10)
        try:
            return s.sendmail(sender, rcpts, message.encode())
        finally:
            s.quit()

    def imap(self, user):
        c = imaplib.IMAP4_SSL("127.0.0.1", self.s.imaps, ssl_context=client_tls(self.s.cert))
        c.login(user, user.split("@")[0] + "-pw")
        return c

    def subjects(self, user, mailbox):
        c = self.imap(user)
        typ, _ = c.select(f'"{mailbox}"' if " " in mailbox else mailbox)
        if typ != "OK":
            c.logout()
            return None
        count = int(c.select(mailbox)[1][0])
        data = c.fetch("1:*", "(FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])")[1] if count else []
        out = []
        for item in data:
            if isinstance(item, tuple):
                flags = re.search(rb"FLAGS \(([^)]*)\)", item[0]).group(1).decode()
                subject = item[1].decode().strip().replace("Subject: ", "")
                out.append((subject, flags))
        c.logout()
        return out

    def queue(self):
        return self.s.instance.cli_json("queue", "list")

    # ---- ManageSieve with sieve-connect ----
    def test_a_sieve_connect_manages_scripts(self):
        user = "erin@example.test"
        script = 'require ["fileinto"];\r\n# rule:[work]\r\nif header :contains "Subject" "work" {\r\n  fileinto "Work";\r\n}\r\n'
        p = self.sieve_connect(user, "--upload", "--localsieve", self.file("work.sieve", script), "--remotesieve", "work")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn('"work"', self.sieve_connect(user, "--list").stdout)
        self.assertEqual(self.sieve_connect(user, "--activate", "--remotesieve", "work").returncode, 0)
        self.assertIn('"work" ACTIVE', self.sieve_connect(user, "--list").stdout)
        out = os.path.join(self.tmp, "work.out")
        p = self.sieve_connect(user, "--download", "--remotesieve", "work", "--localsieve", out)
        self.assertEqual(p.returncode, 0, p.stderr)
        with open(out, "rb") as f:
            self.assertEqual(f.read(), script.encode(), "downloaded byte-exact")
        p = self.sieve_connect(user, "--delete", "--remotesieve", "work")
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("NO (ACTIVE)", p.stdout + p.stderr)
        self.assertEqual(self.sieve_connect(user, "--deactivate").returncode, 0)
        self.assertEqual(self.sieve_connect(user, "--delete", "--remotesieve", "work").returncode, 0)
        self.assertNotIn('"work"', self.sieve_connect(user, "--list").stdout)
        bad = 'require "fileinto";\nif header :contains "Subject" "x" {\n  fileinto "Work"\n}\n'
        p = self.sieve_connect(user, "--upload", "--localsieve", self.file("bad.sieve", bad), "--remotesieve", "bad")
        self.assertNotEqual(p.returncode, 0)
        self.assertIn('NO "line 4: expected \';\' or a block after fileinto"', p.stdout + p.stderr)
        p = self.sieve_connect(user, "--list", password="wrong")
        self.assertNotEqual(p.returncode, 0)

    # ---- ManageSieve, raw ----
    def test_b_raw_protocol(self):
        m = ManageSieve(self.s.sieve, self.s.cert)
        caps = b"\r\n".join(m.greeting)
        for need in (b'"IMPLEMENTATION" "Mailstead"', b'"STARTTLS"', b'"VERSION" "1.0"', b'"NOTIFY" "mailto"',
                     b'"MAXREDIRECTS" "4"', b'"SIEVE" "fileinto reject ereject envelope'):
            self.assertIn(need, caps)
        self.assertIn(b"NO (ENCRYPT-NEEDED)", m.login("gina@example.test", "gina-pw")[-1])
        after = b"\r\n".join(m.starttls())
        self.assertIn(b'"SASL" "PLAIN"', after)
        self.assertNotIn(b'"STARTTLS"', after)
        self.assertTrue(after.endswith(b"OK \"TLS active\""), after)
        self.assertEqual(m.cmd('NOOP "STARTTLS-RESYNC-CAPA"')[-1], b'OK (TAG "STARTTLS-RESYNC-CAPA") "Done"')
        # AUTHENTICATE without an initial response: the empty challenge, then "*" cancels
        m.send(b'AUTHENTICATE "PLAIN"\r\n')
        self.assertEqual(m.line(), b'""')
        m.send(b'"*"\r\n')
        self.assertTrue(m.response()[-1].startswith(b"NO"))
        m.send(b'AUTHENTICATE "PLAIN"\r\n')
        self.assertEqual(m.line(), b'""')
        b64 = base64.b64encode(b"\0gina@example.test\0gina-pw")
        m.send(b"{%d+}\r\n%s\r\n" % (len(b64), b64))
        self.assertEqual(m.response(), [b'OK "Authenticated"'], "no capabilities after AUTHENTICATE")
        self.assertIn(b'"OWNER" "gina@example.test"', b"\r\n".join(m.cmd("CAPABILITY")))
        script = b'require "vacation";\r\nvacation :days 0 "away";\r\n'
        r = m.cmd(b'PUTSCRIPT "v" {%d+}\r\n%s\r\n' % (len(script), script))
        self.assertEqual(r[-1], b'OK (WARNINGS) "line 2: :days 0 is taken as 1 day"')
        r = m.cmd(b'CHECKSCRIPT {%d+}\r\n%s\r\n' % (len(b"keep"), b"keep"))
        self.assertEqual(r[-1], b'NO "line 1: expected \';\' or a block after keep"')
        self.assertEqual(m.cmd('CHECKSCRIPT "/* empty script */"')[-1], b'OK "Script is valid"')
        self.assertEqual(m.cmd('HAVESPACE "v" 100')[-1][:2], b"OK")
        self.assertIn(b"NO (QUOTA/MAXSIZE)", m.cmd('HAVESPACE "v" 100000')[-1])
        self.assertEqual(m.cmd('RENAMESCRIPT "v" "vac"')[-1][:2], b"OK")
        self.assertIn(b"NO (NONEXISTENT)", m.cmd('GETSCRIPT "v"')[-1])
        got = m.cmd('GETSCRIPT "vac"')
        self.assertEqual(got[0], b"{%d}\r\n%s" % (len(script), script))
        self.assertEqual(m.cmd('SETACTIVE "vac"')[-1][:2], b"OK")
        self.assertEqual(m.cmd("LISTSCRIPTS")[0], b'"vac" ACTIVE')
        self.assertIn(b"NO (ACTIVE)", m.cmd('DELETESCRIPT "vac"')[-1])
        self.assertEqual(m.cmd('SETACTIVE ""')[-1][:2], b"OK")
        self.assertEqual(m.cmd("LISTSCRIPTS")[0], b'"vac"')
        self.assertIn(b"NO (NONEXISTENT)", m.cmd('SETACTIVE "nope"')[-1])
        for i in range(2):
            self.assertEqual(m.cmd(f'PUTSCRIPT "s{i}" "keep;"')[-1][:2], b"OK")
        self.assertIn(b"NO (QUOTA/MAXSCRIPTS)", m.cmd('PUTSCRIPT "s9" "keep;"')[-1])
        big = b"#" + b"x" * 9000 + b"\r\nkeep;\r\n"
        self.assertIn(b"NO (QUOTA/MAXSIZE)", m.cmd(b'PUTSCRIPT "s0" {%d+}\r\n%s\r\n' % (len(big), big))[-1])
        self.assertTrue(m.cmd("FROBNICATE")[-1].startswith(b"NO"))
        self.assertEqual(m.cmd("UNAUTHENTICATE")[-1][:2], b"OK")
        self.assertTrue(m.cmd("LISTSCRIPTS")[-1].startswith(b"NO"))
        self.assertEqual(m.cmd("LOGOUT")[-1][:2], b"OK")

    # ---- delivery ----
    def test_d_delivery_follows_the_active_script(self):
        user = "frank@example.test"
        self.activate(user, "\r\n".join([
            'require ["fileinto","mailbox","imap4flags","copy","reject","editheader","variables","envelope","subaddress"];',
            '# rule:[work]',
            'if header :contains "Subject" "[work]" { setflag "\\\\Flagged"; fileinto "Work"; stop; }',
            'if header :contains "Subject" "[new]" { fileinto :create "Projekte/Größe"; stop; }',
            'if envelope :detail "to" "lists" { fileinto :create "Lists"; stop; }',
            'if header :contains "Subject" "[junk]" { discard; stop; }',
            'if header :contains "Subject" "[copy]" { fileinto :copy "Archive"; addheader "X-Filed" "yes"; }',
            'if header :contains "Subject" "[away]" { redirect "someone@elsewhere.example"; stop; }',
            'if header :contains "Subject" "[no]" { reject "Not interested"; stop; }',
            'if header :contains "Subject" "[loop]" { redirect "a@x.example"; redirect "b@x.example"; redirect "c@x.example"; '
            'redirect "d@x.example"; redirect "e@x.example"; }',
            '',
        ]))
        c = self.imap(user)
        c.create("Work")
        c.logout()
        before = len(self.queue())
        mk = lambda subject: f"From: a@remote.example\r\nTo: {user}\r\nSubject: {subject}\r\n\r\nbody\r\n"
        self.send("a@remote.example", [user], mk("[work] report"))
        self.send("a@remote.example", [user], mk("[new] plans"))
        self.send("a@remote.example", ["frank+lists@example.test"], mk("digest"))
        self.send("a@remote.example", [user], mk("[junk] offer"))
        self.send("a@remote.example", [user], mk("[copy] both"))
        self.send("a@remote.example", [user], mk("[away] forward me"))
        self.send("a@remote.example", [user], mk("[loop] too many"))
        self.send("a@remote.example", [user], mk("plain"))
        with self.assertRaises(smtplib.SMTPDataError) as e:
            self.send("a@remote.example", [user], mk("[no] thanks"))
        self.assertEqual(e.exception.smtp_code, 550)
        self.assertIn(b"5.7.1 Not interested", e.exception.smtp_error)
        self.assertEqual(self.subjects(user, "Work"), [("[work] report", "\\Flagged")])
        self.assertEqual(self.subjects_utf8(user, "Projekte/Größe"),
                         [("[new] plans", "")])
        self.assertEqual(self.subjects(user, "Lists"), [("digest", "")])
        self.assertEqual(self.subjects(user, "Archive"), [("[copy] both", "")])
        inbox = [s for s, _ in self.subjects(user, "INBOX")]
        self.assertEqual(inbox, ["[copy] both", "[loop] too many", "plain"], "discard, fileinto, redirect take it out of INBOX")
        q = self.queue()[before:]
        self.assertEqual([r["recipients"] for r in q], [["someone@elsewhere.example"]], q)
        self.assertEqual(q[0]["sender"], "a@remote.example")
        queued = self.s.cli("queue", "get", str(q[0]["id"])).stdout
        self.assertIn("X-Mailstead-Redirected-By: frank@example.test", queued)
        # editheader changed this user's copy in INBOX (the Archive copy was filed before)
        c = self.imap(user)
        c.select("INBOX")
        typ, data = c.fetch("1", "(BODY.PEEK[HEADER])")
        self.assertIn(b"X-Filed: yes", data[0][1])
        c.logout()

    def subjects_utf8(self, user, mailbox):
        """subjects() of a mailbox with a non-ASCII name, found by LIST (modified UTF-7)."""
        c = self.imap(user)
        typ, data = c.list()
        names = [d.decode() for d in data]
        c.logout()
        encoded = next((re.search(r'"/" (.*)$', n).group(1) for n in names if "Projekte/Gr" in n), None)
        self.assertIsNotNone(encoded, names)
        return self.subjects(user, encoded.strip('"'))

    def test_e_reject_with_several_recipients_notifies_the_sender(self):
        self.activate("hank@example.test", 'require "reject";\r\nreject "Hank does not take mail here";\r\n', name="no")
        before = len(self.queue())
        self.send("b@remote.example", ["hank@example.test", "erin@example.test"],
                  "From: b@remote.example\r\nSubject: hello both\r\n\r\nhi\r\n")
        q = self.queue()[before:]
        self.assertEqual(len(q), 1, q)
        self.assertEqual(q[0]["sender"], "")
        self.assertEqual(q[0]["recipients"], ["b@remote.example"])
        notice = self.s.cli("queue", "get", str(q[0]["id"])).stdout
        self.assertIn("Hank does not take mail here", notice)
        self.assertIn("multipart/report; report-type=delivery-status", notice)
        self.assertIn("Status: 5.7.1", notice)
        self.assertIn(("hello both", ""), self.subjects("erin@example.test", "INBOX"))
        self.sieve_connect("hank@example.test", "--deactivate")

    def test_f_vacation_once_per_sender_and_never_to_lists(self):
        user = "erin@example.test"
        self.activate(user, 'require ["vacation"];\r\nvacation :days 7 :subject "Out of office" "I am away until Monday.";\r\n',
                      name="away")
        before = len(self.queue())
        personal = lambda sender, extra="": f"From: {sender}\r\nTo: {user}\r\n{extra}Subject: question\r\nMessage-ID: <m{time.time()}@remote.example>\r\n\r\nhi\r\n"
        self.send("c@remote.example", [user], personal("c@remote.example"))
        self.send("c@remote.example", [user], personal("c@remote.example"))  # same sender within :days
        self.send("d@remote.example", [user], personal("d@remote.example", "List-Id: <team.remote.example>\r\n"))
        self.send("e@remote.example", [user], personal("e@remote.example", "Auto-Submitted: auto-generated\r\n"))
        self.send("f@remote.example", [user], personal("f@remote.example", "Precedence: bulk\r\n"))
        self.send("owner-team@remote.example", [user], personal("owner-team@remote.example"))
        self.send("g@remote.example", [user], f"From: g@remote.example\r\nTo: others@remote.example\r\nSubject: bcc\r\n\r\nhi\r\n")
        self.send("h@remote.example", [user], personal("h@remote.example"))
        q = self.queue()[before:]
        self.assertEqual([r["recipients"] for r in q], [["c@remote.example"], ["h@remote.example"]], q)
        self.assertTrue(all(r["sender"] == "" for r in q), "replies go out with the null sender")
        reply = self.s.cli("queue", "get", str(q[0]["id"])).stdout
        self.assertIn("Subject: Out of office", reply)
        self.assertIn("Auto-Submitted: auto-replied", reply)
        self.assertIn("In-Reply-To: <m", reply)
        self.assertIn("From: erin@example.test", reply)
        self.assertIn("I am away until Monday.", reply)
        self.sieve_connect(user, "--deactivate")


    def test_g_cli_manages_scripts_too(self):
        user = "ivy@example.test"
        cli = self.s.cli
        bad = cli("sieve", "put", user, "x", "-", stdin='require "fileinto";\nfileinto "A"\n', check=False)
        self.assertNotEqual(bad.returncode, 0)
        self.assertIn("line 3: expected ';' or a block after fileinto", bad.stderr)
        script = ('require ["fileinto","vacation"];\nvacation :days 0 "x";\n'
                  'if header :contains "Subject" "[cli]" { fileinto "Spam"; }\n')
        p = cli("sieve", "put", user, "junk", "-", stdin=script)
        self.assertIn("warning: line 2: :days 0 is taken as 1 day", p.stderr)
        cli("sieve", "activate", user, "junk")
        self.assertEqual(self.s.instance.cli_json("sieve", "list", user), [{"name": "junk", "active": True, "size": len(script)}])
        self.assertEqual(cli("sieve", "get", user, "junk").stdout, script)
        self.assertIn('"junk" ACTIVE', self.sieve_connect(user, "--list").stdout, "the same scripts as ManageSieve")
        self.send("z@remote.example", [user], f"From: z@remote.example\r\nTo: {user}\r\nSubject: [cli] hi\r\n\r\nx\r\n")
        self.assertEqual(self.subjects(user, "Spam"), [("[cli] hi", "")])
        refused = cli("sieve", "delete", user, "junk", check=False)
        self.assertNotEqual(refused.returncode, 0)
        self.assertIn("active script cannot be deleted", refused.stderr)
        cli("sieve", "deactivate", user)
        cli("sieve", "delete", user, "junk")
        self.assertEqual(self.s.instance.cli_json("sieve", "list", user), [])
        self.assertNotEqual(cli("sieve", "list", "nobody@example.test", check=False).returncode, 0)

    def test_h_vacation_from_must_be_the_users_own(self):
        user = "hank@example.test"
        self.activate(user, 'require "vacation";\r\nvacation :from "The CEO <ceo@elsewhere.example>" "Away";\r\n',
                      name="spoof")
        before = len(self.queue())
        self.send("k@remote.example", [user], f"From: k@remote.example\r\nTo: {user}\r\nSubject: hi\r\n\r\nx\r\n")
        q = self.queue()[before:]
        self.assertEqual(len(q), 1, q)
        reply = self.s.cli("queue", "get", str(q[0]["id"])).stdout
        self.assertRegex(reply, r"(?m)^From: hank@example\.test$")
        self.assertNotIn("ceo@elsewhere.example", reply)
        self.activate(user, 'require "vacation";\r\nvacation :from "Hank <hank@example.test>" "Away";\r\n', name="own")
        self.send("l@remote.example", [user], f"From: l@remote.example\r\nTo: {user}\r\nSubject: hi\r\n\r\nx\r\n")
        reply = self.s.cli("queue", "get", str(self.queue()[-1]["id"])).stdout
        self.assertRegex(reply, r"(?m)^From: Hank <hank@example\.test>$")
        self.sieve_connect(user, "--deactivate")

    def test_i_roundcube_and_thunderbird_sequences(self):
        """CLIENTS.md 3: what Roundcube's managesieve plugin and the Thunderbird add-on send."""
        m = ManageSieve(self.s.sieve, self.s.cert)
        m.starttls()
        self.assertEqual(m.login("jo@example.test", "jo-pw"), [b'OK "Authenticated"'])
        self.assertIn(b'"SIEVE"', b"\r\n".join(m.cmd("CAPABILITY")))
        self.assertEqual(m.cmd("LISTSCRIPTS"), [b'OK "Listscripts completed"'])
        self.assertEqual(m.cmd("LISTSCRIPTS"), [b'OK "Listscripts completed"'])
        script = ("require [\"fileinto\",\"vacation\"];\r\n# rule:[Newsletters]\r\n"
                  "if anyof (header :contains \"list-id\" \"news\", header :contains \"subject\" \"[news]\")\r\n"
                  "{\r\n\tfileinto \"Archive\";\r\n}\r\n# rule:[off]\r\nif false # true\r\n{\r\n\tdiscard;\r\n}\r\n").encode()
        self.assertEqual(m.cmd(b'PUTSCRIPT "roundcube" {%d+}\r\n%s\r\n' % (len(script), script))[-1][:2], b"OK")
        self.assertEqual(m.cmd('SETACTIVE "roundcube"')[-1][:2], b"OK")
        self.assertEqual(m.cmd("LISTSCRIPTS")[0], b'"roundcube" ACTIVE')
        self.assertEqual(m.cmd('GETSCRIPT "roundcube"')[0], b"{%d}\r\n%s" % (len(script), script))
        changed = script.replace(b"Archive", b"Sent")
        self.assertEqual(m.cmd(b'PUTSCRIPT "roundcube" {%d+}\r\n%s\r\n' % (len(changed), changed))[-1][:2], b"OK")
        self.assertEqual(m.cmd('GETSCRIPT "roundcube"')[0], b"{%d}\r\n%s" % (len(changed), changed))
        # the Thunderbird add-on's syntax check without CHECKSCRIPT: upload, then delete
        self.assertEqual(m.cmd('PUTSCRIPT "TMP_FILE_DELETE_ME" "keep;"')[-1][:2], b"OK")
        self.assertEqual(m.cmd('DELETESCRIPT "TMP_FILE_DELETE_ME"')[-1][:2], b"OK")
        # a non-ASCII name as a literal, listed back as a quoted UTF-8 string
        name = "Grüße".encode()
        self.assertEqual(m.cmd(b'PUTSCRIPT {%d+}\r\n%s "keep;"\r\n' % (len(name), name))[-1][:2], b"OK")
        self.assertIn(b'"' + name + b'"', m.cmd("LISTSCRIPTS"))
        self.assertEqual(m.cmd('RENAMESCRIPT "roundcube" "main"')[-1][:2], b"OK")
        self.assertIn(b'"main" ACTIVE', m.cmd("LISTSCRIPTS"), "renaming the active script keeps it active")
        self.assertEqual(m.cmd("LOGOUT")[-1][:2], b"OK")


class SieveLoginLimitTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.s = Suite(top_toml='[auth]\nmax_failures_per_ip = 3\nfailure_delay = "10ms"\n').start("sieved")
        cls.s.cli("domain", "add", "example.test")
        cls.s.cli("user", "add", "gina@example.test", "--password", "gina-pw")

    @classmethod
    def tearDownClass(cls):
        cls.s.cleanup()

    def test_failed_logins_are_limited(self):
        for i in range(3):
            m = ManageSieve(self.s.sieve, self.s.cert)
            m.starttls()
            self.assertTrue(m.login("gina@example.test", "nope")[-1].startswith(b"NO"))
        m = ManageSieve(self.s.sieve, self.s.cert)
        m.starttls()
        self.assertIn(b"NO (TRYLATER)", m.login("gina@example.test", "gina-pw")[-1])


if __name__ == "__main__":
    unittest.main()
