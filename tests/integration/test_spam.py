"""SpamAssassin end to end: Debian's spamd, started here on a loopback port with a private
configuration and Bayes database, scores what the real mailstead-smtpd receives; the
verdict files into Junk or refuses per the thresholds, Sieve's spamtest overrides it, a
dead or silent spamd delivers unscanned; moves into and out of Junk over IMAP (imaplib)
teach spamd through mailstead-deliverd, seen in `sa-learn --dump magic`."""
import imaplib
import os
import re
import shutil
import smtplib
import socket
import subprocess
import tempfile
import threading
import time
import unittest

from helpers import Suite, binary, client_tls, free_ports, tool, wait_for

GTUBE = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"


class Spamd:
    """A real spamd on a free loopback port; its site config, home and Bayes files in a
    private directory (the system's are never read or written), no network tests."""

    def __init__(self):
        self.port = free_ports(1)[0]
        self.dir = tempfile.mkdtemp(prefix="mailstead-spamd-")
        self.site = os.path.join(self.dir, "site")
        os.makedirs(self.site)
        os.makedirs(os.path.join(self.dir, "home"))
        os.makedirs(os.path.join(self.dir, "bayes"))
        # The plugin loaders (*.pre) as installed, then our local.cf: Bayes in this directory,
        # learning only by TELL, no DNS or network checks (fast start, no outside traffic).
        for f in os.listdir("/etc/spamassassin"):
            if f.endswith(".pre"):
                shutil.copy(os.path.join("/etc/spamassassin", f), self.site)
        with open(os.path.join(self.site, "local.cf"), "w") as f:
            f.write(f"bayes_path {self.dir}/bayes/bayes\n"
                    "bayes_file_mode 0666\nuse_bayes 1\nbayes_auto_learn 0\n"
                    "skip_rbl_checks 1\ndns_available no\nuse_razor2 0\nuse_pyzor 0\n"
                    "lock_method flock\n")
        self.user = []
        if os.geteuid() == 0:
            # spamd will not serve as root: the private directory belongs to nobody.
            subprocess.run(["chown", "-R", "nobody", self.dir], check=True)
            self.user = ["-u", "nobody"]
        self.log = open(os.path.join(self.dir, "..", os.path.basename(self.dir) + ".log"), "w+")
        self.proc = None
        self.start()

    def start(self):
        self.proc = subprocess.Popen([tool("spamd"), f"--listen=127.0.0.1:{self.port}",
                                      f"--siteconfigpath={self.site}", "-H", os.path.join(self.dir, "home"),
                                      "--syslog=stderr", "--allow-tell", "-x", "--max-children=2",
                                      f"--pidfile={self.dir}/spamd.pid", *self.user],
                                     stdout=self.log, stderr=self.log)
        deadline = time.monotonic() + 120
        while True:
            if self.proc.poll() is not None:
                self.log.seek(0)
                raise AssertionError("spamd exited: " + self.log.read()[-3000:])
            if self.ping():
                return
            if time.monotonic() > deadline:
                raise AssertionError("spamd did not answer PING")
            time.sleep(0.2)

    def ping(self):
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=5) as s:
                s.sendall(b"PING SPAMC/1.5\r\n\r\n")
                return b"PONG" in s.recv(100)
        except OSError:
            return False

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=30)

    def magic(self):
        """nspam, nham from sa-learn --dump magic on the same Bayes database."""
        env = dict(os.environ, HOME=os.path.join(self.dir, "home"))  # not the system's ~/.spamassassin
        out = subprocess.run([tool("sa-learn"), f"--siteconfigpath={self.site}", "--dump", "magic"],
                             capture_output=True, text=True, timeout=120, env=env).stdout
        counts = {}
        for line in out.splitlines():
            m = re.match(r"\s*\S+\s+\S+\s+(\d+)\s+\S+\s+non-token data: (nspam|nham)$", line)
            if m:
                counts[m.group(2)] = int(m.group(1))
        return counts.get("nspam", 0), counts.get("nham", 0)

    def cleanup(self):
        self.stop()
        self.log.close()
        os.unlink(self.log.name)
        shutil.rmtree(self.dir, ignore_errors=True)


def message(subject, body, extra=""):
    return (f"From: Sender <sender@remote.test>\r\nTo: <someone@example.test>\r\nSubject: {subject}\r\n"
            f"Date: Tue, 01 Dec 2026 10:00:00 +0000\r\nMessage-ID: <{time.time_ns()}@remote.test>\r\n"
            f"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=us-ascii\r\n{extra}\r\n"
            f"{body}\r\n")


NORMAL_BODY = ("Hello,\r\n\r\nthe minutes of Tuesday's meeting are attached to the wiki page as agreed.\r\n"
               "Please add your comments before Friday.\r\n\r\nRegards,\r\nSam")


def spam_toml(spamd_address, junk=5.0, reject=2000.0, timeout="20s", max_size="512K", per_user=False):
    return (f'[spam]\nenabled = true\naddress = "{spamd_address}"\ntimeout = "{timeout}"\n'
            f'max_size = "{max_size}"\njunk_threshold = {junk}\nreject_threshold = {reject}\n'
            f'learn_timeout = "20s"\nper_user = {"true" if per_user else "false"}\n')


class Base(unittest.TestCase):
    suite = None

    @classmethod
    def send(cls, rcpt, data):
        s = smtplib.SMTP("127.0.0.1", cls.suite.mx, timeout=60)
        try:
            s.sendmail("sender@remote.test", [rcpt], data.encode())
        finally:
            s.quit()

    @classmethod
    def imap(cls, user):
        c = imaplib.IMAP4_SSL("127.0.0.1", cls.suite.imaps, ssl_context=client_tls(cls.suite.cert))
        c.login(user, user.split("@")[0] + "-pw")
        return c

    def fetch_all(self, user, mailbox):
        """Every message of the mailbox (bytes), over IMAP."""
        c = self.imap(user)
        try:
            typ, _ = c.select(f'"{mailbox}"', readonly=True)
            self.assertEqual(typ, "OK", mailbox)
            typ, data = c.uid("SEARCH", None, "ALL")
            out = []
            for uid in data[0].split():
                typ, d = c.uid("FETCH", uid, "(BODY.PEEK[])")
                out.append(d[0][1])
            return out
        finally:
            c.logout()

    def header(self, msg, name):
        head = msg.split(b"\r\n\r\n", 1)[0].decode()
        head = re.sub(r"\r\n[ \t]+", " ", head)
        return [line.split(":", 1)[1].strip() for line in head.split("\r\n")
                if line.lower().startswith(name.lower() + ":")]


class JunkTest(Base):
    """Thresholds A: junk at 5, reject only at 2000 (GTUBE scores 1000)."""

    @classmethod
    def setUpClass(cls):
        cls.spamd = Spamd()
        cls.suite = Suite(top_toml=spam_toml(f"127.0.0.1:{cls.spamd.port}")).start("smtpd", "imapd")
        cls.suite.cli("domain", "add", "example.test")
        for user in ("ann", "ben", "cat", "dan", "eve"):
            cls.suite.cli("user", "add", f"{user}@example.test", "--password", f"{user}-pw")
        cls.deliverd_log = open(os.path.join(cls.suite.instance.dir, "deliverd.log"), "w+")
        cls.deliverd = subprocess.Popen([binary("mailstead-deliverd"), "--config", cls.suite.instance.config],
                                        stdout=cls.deliverd_log, stderr=cls.deliverd_log)

    @classmethod
    def tearDownClass(cls):
        if cls.deliverd.poll() is None:
            cls.deliverd.terminate()
            cls.deliverd.wait(timeout=30)
        if os.environ.get("MAILSTEAD_TEST_LOG"):
            cls.deliverd_log.seek(0)
            print(cls.deliverd_log.read()[-6000:])
            print(cls.suite.log("smtpd")[-6000:])
        cls.deliverd_log.close()
        cls.suite.cleanup()
        cls.spamd.cleanup()

    def test_1_gtube_goes_to_junk(self):
        self.send("ann@example.test", message("cheap offer", GTUBE))
        self.assertEqual(self.fetch_all("ann@example.test", "INBOX"), [])
        junk = self.fetch_all("ann@example.test", "Spam")
        self.assertEqual(len(junk), 1)
        self.assertEqual(self.header(junk[0], "X-Spam-Flag"), ["YES"])
        # GTUBE scores 1000; spamd's local rules can move it a point either way (ALL_TRUSTED -1.0).
        status = self.header(junk[0], "X-Spam-Status")[0]
        self.assertTrue(status.startswith("Yes, score="), junk[0][:600])
        self.assertGreaterEqual(float(status.split("score=")[1].split()[0]), 900.0, status)
        self.assertIn("GTUBE", self.header(junk[0], "X-Spam-Status")[0])
        self.assertGreaterEqual(float(self.header(junk[0], "X-Spam-Score")[0]), 900)

    def test_2_normal_message_to_inbox(self):
        self.send("ben@example.test", message("meeting minutes", NORMAL_BODY))
        inbox = self.fetch_all("ben@example.test", "INBOX")
        self.assertEqual(len(inbox), 1)
        status = self.header(inbox[0], "X-Spam-Status")
        self.assertEqual(len(status), 1)
        self.assertTrue(status[0].startswith("No, score="), status)
        self.assertEqual(self.header(inbox[0], "X-Spam-Flag"), ["NO"])
        self.assertEqual(self.fetch_all("ben@example.test", "Spam"), [])

    def test_3_forged_headers_removed(self):
        forged = "X-Spam-Flag: YES\r\nX-Spam-Status: Yes, score=99.0\r\n\tforged=1\r\nX-Spam-Score: 99\r\n"
        self.send("cat@example.test", message("forged", NORMAL_BODY, extra=forged))
        inbox = self.fetch_all("cat@example.test", "INBOX")
        self.assertEqual(len(inbox), 1)
        self.assertEqual(self.header(inbox[0], "X-Spam-Flag"), ["NO"])
        self.assertEqual(len(self.header(inbox[0], "X-Spam-Status")), 1)
        self.assertEqual(len(self.header(inbox[0], "X-Spam-Score")), 1)
        self.assertNotIn(b"forged=1", inbox[0])
        self.assertNotEqual(self.header(inbox[0], "X-Spam-Score"), ["99"])

    def test_4_sieve_spamtest_overrides_junk(self):
        script = ('require ["spamtest", "spamtestplus", "relational", "comparator-i;ascii-numeric", "environment",\n'
                  '         "fileinto", "mailbox"];\n'
                  'if allof (spamtest :value "ge" :comparator "i;ascii-numeric" "5",\n'
                  '          spamtest :percent :value "ge" :comparator "i;ascii-numeric" "50",\n'
                  '          environment :is "location" "MTA", environment :is "name" "Mailstead",\n'
                  '          environment :is "remote-ip" "127.0.0.1") {\n'
                  '  keep;\n'
                  '  fileinto :create "Reviewed";\n'
                  '}\n')
        self.suite.cli("sieve", "put", "dan@example.test", "spam", "-", stdin=script)
        self.suite.cli("sieve", "activate", "dan@example.test", "spam")
        self.send("dan@example.test", message("cheap offer again", GTUBE))
        self.assertEqual(len(self.fetch_all("dan@example.test", "INBOX")), 1)
        self.assertEqual(len(self.fetch_all("dan@example.test", "Reviewed")), 1)
        self.assertEqual(self.fetch_all("dan@example.test", "Spam"), [])

    def test_4b_no_vacation_reply_to_junk(self):
        # A message filed as junk gets no auto-reply, even when the user's script keeps it:
        # its sender is probably forged (docs/sieve.md).
        script = 'require ["vacation"];\nvacation :days 1 "Away.";\nkeep;\n'
        self.suite.cli("sieve", "put", "eve@example.test", "away", "-", stdin=script)
        self.suite.cli("sieve", "activate", "eve@example.test", "away")
        try:
            self.send("eve@example.test", message("cheap offer for eve", GTUBE).replace("To: ", "To: eve@example.test, ", 1))
            self.assertEqual(len(self.fetch_all("eve@example.test", "INBOX")), 1)
            self.assertRegex(self.suite.log("smtpd"), r"event=sieve.vacation.suppressed[^\n]*why=junk")
            queued = self.suite.instance.cli_json("queue", "list")
            self.assertFalse([q for q in queued if "sender@remote.test" in q["recipients"]], queued)
        finally:
            self.suite.cli("sieve", "deactivate", "eve@example.test")

    def test_5_moves_teach_spamd(self):
        nspam0, nham0 = self.spamd.magic()
        self.send("eve@example.test", message("quarterly report", NORMAL_BODY + "\r\nNumbers inside."))
        c = self.imap("eve@example.test")
        try:
            c.select("INBOX")
            typ, data = c.uid("SEARCH", None, "ALL")
            uid = data[0].split()[0]
            typ, _ = c.uid("MOVE", uid, "Spam")
            self.assertEqual(typ, "OK")
            wait_for(lambda: self.spamd.magic()[0] > nspam0, timeout=90, what="nspam to grow after a MOVE into Junk")
            c.select("Spam")
            typ, data = c.uid("SEARCH", None, "ALL")
            uid = data[0].split()[0]
            typ, _ = c.uid("MOVE", uid, "INBOX")
            self.assertEqual(typ, "OK")
            wait_for(lambda: self.spamd.magic()[1] > nham0, timeout=90, what="nham to grow after a MOVE out of Junk")
        finally:
            c.logout()
        # Each was taught once spamd confirmed it.
        self.deliverd_log.flush()
        with open(self.deliverd_log.name) as f:
            log = f.read()
        self.assertIn("event=spam.learn.taught user=", log)
        self.assertIn("class=spam", log)
        self.assertIn("class=ham", log)

    def test_6_spamd_down_delivers_unscanned_and_learning_retries(self):
        nspam0, _ = self.spamd.magic()
        self.spamd.stop()
        try:
            self.send("ben@example.test", message("while spamd is down", NORMAL_BODY + "\r\nDown."))
            inbox = self.fetch_all("ben@example.test", "INBOX")
            last = [m for m in inbox if b"while spamd is down" in m]
            self.assertEqual(len(last), 1)
            self.assertEqual(self.header(last[0], "X-Spam-Status"), ["No, not scanned (spamd unreachable)"])
            self.assertEqual(self.header(last[0], "X-Spam-Flag"), [])
            # A move into Junk now cannot be taught: the record stays and is tried again.
            c = self.imap("ben@example.test")
            try:
                c.select("INBOX")
                typ, data = c.uid("SEARCH", None, "SUBJECT", '"while spamd is down"')
                typ, _ = c.uid("MOVE", data[0].split()[0], "Spam")
                self.assertEqual(typ, "OK")
            finally:
                c.logout()

            def failed():
                self.deliverd_log.flush()
                with open(self.deliverd_log.name) as f:
                    return "event=spam.learn.failed" in f.read()
            wait_for(failed, timeout=30, what="a failed TELL while spamd is down")
        finally:
            self.spamd.start()
        # The retry (5 s later) reaches the restarted spamd.
        wait_for(lambda: self.spamd.magic()[0] > nspam0, timeout=90, what="nspam to grow after spamd came back")


class RejectTest(Base):
    """Thresholds B: reject at 15 (GTUBE refused at the end of DATA); and a spamd that
    accepts but never answers, bounded by the timeout."""

    @classmethod
    def setUpClass(cls):
        cls.spamd = Spamd()
        cls.suite = Suite(top_toml=spam_toml(f"127.0.0.1:{cls.spamd.port}", junk=5.0, reject=15.0,
                                             max_size="8K", per_user=True)).start("smtpd", "imapd")
        cls.suite.cli("domain", "add", "example.test")
        cls.suite.cli("user", "add", "fay@example.test", "--password", "fay-pw")
        # A listener that accepts and stays silent: a hung spamd.
        cls.silent = socket.socket()
        cls.silent.bind(("127.0.0.1", 0))
        cls.silent.listen(16)
        cls.held = []
        cls.stop_silent = False

        def accept():
            while not cls.stop_silent:
                try:
                    conn, _ = cls.silent.accept()
                    cls.held.append(conn)
                except OSError:
                    return
        cls.silent_thread = threading.Thread(target=accept, daemon=True)
        cls.silent_thread.start()
        cls.slow = Suite(top_toml=spam_toml(f"127.0.0.1:{cls.silent.getsockname()[1]}", timeout="2s")).start("smtpd", "imapd")
        cls.slow.cli("domain", "add", "example.test")
        cls.slow.cli("user", "add", "gus@example.test", "--password", "gus-pw")

    @classmethod
    def tearDownClass(cls):
        cls.stop_silent = True
        cls.silent.close()
        for c in cls.held:
            c.close()
        cls.slow.cleanup()
        cls.suite.cleanup()
        cls.spamd.cleanup()

    def test_gtube_rejected(self):
        s = smtplib.SMTP("127.0.0.1", self.suite.mx, timeout=60)
        try:
            with self.assertRaises(smtplib.SMTPDataError) as e:
                s.sendmail("sender@remote.test", ["fay@example.test"], message("offer", GTUBE).encode())
            self.assertEqual(e.exception.smtp_code, 550)
            self.assertIn(b"5.7.1", e.exception.smtp_error)
            self.assertIn(b"spam", e.exception.smtp_error)
        finally:
            s.quit()
        self.assertEqual([m for m in self.fetch_all("fay@example.test", "INBOX") if b"Subject: offer" in m], [])
        self.assertEqual(self.fetch_all("fay@example.test", "Spam"), [])

    def test_normal_message_accepted(self):
        self.send("fay@example.test", message("hello", NORMAL_BODY))
        inbox = [m for m in self.fetch_all("fay@example.test", "INBOX") if b"Subject: hello" in m]
        self.assertEqual(len(inbox), 1)
        self.assertTrue(self.header(inbox[0], "X-Spam-Status")[0].startswith("No, score="))
        # per_user: spamd was told whose message it scored.
        self.spamd.log.flush()
        with open(self.spamd.log.name) as f:
            self.assertIn("for fay@example.test:", f.read())

    def test_over_max_size_not_scanned(self):
        big = GTUBE + "\r\n" + ("filler line of a long message\r\n" * 400)
        self.send("fay@example.test", message("big one", big))
        inbox = [m for m in self.fetch_all("fay@example.test", "INBOX") if b"big one" in m]
        self.assertEqual(len(inbox), 1)
        self.assertEqual(self.header(inbox[0], "X-Spam-Status"), ["No, not scanned (larger than 8192 bytes)"])

    def test_silent_spamd_times_out_and_delivers(self):
        started = time.monotonic()
        s = smtplib.SMTP("127.0.0.1", self.slow.mx, timeout=60)
        try:
            s.sendmail("sender@remote.test", ["gus@example.test"], message("slow", GTUBE).encode())
        finally:
            s.quit()
        elapsed = time.monotonic() - started
        self.assertLess(elapsed, 15)
        self.assertGreaterEqual(elapsed, 1.5)
        c = imaplib.IMAP4_SSL("127.0.0.1", self.slow.imaps, ssl_context=client_tls(self.slow.cert))
        c.login("gus@example.test", "gus-pw")
        c.select("INBOX", readonly=True)
        typ, d = c.fetch("1", "(BODY.PEEK[HEADER.FIELDS (X-Spam-Status)])")
        c.logout()
        self.assertIn(b"X-Spam-Status: No, not scanned (spamd timed out)", d[0][1])


if __name__ == "__main__":
    unittest.main()
