"""Sieve under hostile or unlucky input, against the real binaries: regex bombs refused at
upload (raw ManageSieve) and bounded at delivery (smtplib), process memory measured from
/proc, a slow script that delays only its own message, path-like script names, a Sieve
reject by one member of a group, and the blob of a recipient removed between RCPT and DATA
(counted in the store with lmdb-utils' mdb_stat)."""
import os
import re
import shutil
import smtplib
import subprocess
import threading
import time
import unittest

from helpers import Suite, wait_for
from test_sieve import ManageSieve


def require_tool(name):
    """The path of a tool the test drives; missing: a failure under CI, else a skip."""
    path = shutil.which(name)
    if path:
        return path
    if os.environ.get("CI") == "true" or os.environ.get("MAILSTEAD_NO_SKIP") == "1":
        raise AssertionError(f"{name} is not installed (scripts/install-deps.sh installs it)")
    raise unittest.SkipTest(f"{name} is not installed")


def peak_rss_kib(pid):
    """The process's peak resident set (VmHWM) in KiB."""
    with open(f"/proc/{pid}/status") as f:
        return int(re.search(r"^VmHWM:\s+(\d+) kB", f.read(), re.M).group(1))


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        return int(re.search(r"^VmRSS:\s+(\d+) kB", f.read(), re.M).group(1))


def cpu_seconds(pid):
    """User + system CPU time the process has used."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def entries(store_dir, table):
    """The number of records in one table of the store (LMDB), read with mdb_stat."""
    out = subprocess.run([require_tool("mdb_stat"), "-s", table, store_dir], capture_output=True, text=True,
                         check=True, timeout=60).stdout
    return int(re.search(r"Entries: (\d+)", out).group(1))


class Base(unittest.TestCase):
    top_toml = ""
    smtpd_toml = ""
    users = ()

    @classmethod
    def setUpClass(cls):
        cls.s = Suite(top_toml=cls.top_toml, smtpd_toml=cls.smtpd_toml)
        try:
            cls.s.start("smtpd", "sieved")
            cls.s.cli("domain", "add", "example.test")
            for user in cls.users:
                cls.s.cli("user", "add", f"{user}@example.test", "--password", f"{user}-pw")
        except BaseException:
            cls.s.cleanup()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.s.cleanup()

    def put_active(self, user, script, name="rules"):
        path = os.path.join(self.s.instance.dir, f"{user}-{name}.sieve")
        with open(path, "w") as f:
            f.write(script)
        self.s.cli("sieve", "put", f"{user}@example.test", name, path)
        self.s.cli("sieve", "activate", f"{user}@example.test", name)

    def send(self, rcpts, message, sender="a@remote.example", timeout=60):
        s = smtplib.SMTP("127.0.0.1", self.s.mx, timeout=timeout)
        try:
            return s.sendmail(sender, rcpts, message.encode())
        finally:
            s.quit()

    def inbox(self, user, mailbox="INBOX"):
        return self.s.instance.cli_json("message", "list", f"{user}@example.test", mailbox)

    def queue(self):
        return self.s.instance.cli_json("queue", "list")

    def managesieve(self, user):
        m = ManageSieve(self.s.sieve, self.s.cert)
        m.starttls()
        r = m.login(f"{user}@example.test", f"{user}-pw")
        self.assertTrue(r[-1].startswith(b"OK"), r)
        return m


class StoreAndGroupTest(Base):
    users = ("gone", "keeper", "rejecter", "member")

    def test_blob_of_a_recipient_removed_before_data_is_freed(self):
        store = os.path.join(self.s.instance.data_dir, "store")
        blobs, refs = entries(store, "blobs"), entries(store, "blob_refs")
        s = smtplib.SMTP("127.0.0.1", self.s.mx, timeout=60)
        try:
            s.ehlo("client.example")
            self.assertEqual(s.mail("a@remote.example")[0], 250)
            self.assertEqual(s.rcpt("gone@example.test")[0], 250)
            self.s.cli("user", "remove", "gone@example.test")
            code, _ = s.data(b"From: a@remote.example\r\nSubject: to nobody now\r\n\r\nbody\r\n")
        finally:
            s.quit()
        self.assertEqual(code, 250)
        # Nothing refers to the message: its bytes, reference count and parsed cache go too.
        self.assertEqual(entries(store, "blobs"), blobs)
        self.assertEqual(entries(store, "blob_refs"), refs)
        self.assertEqual(entries(store, "blob_cache"), entries(store, "blobs"))
        # A message that is delivered still keeps its blob.
        self.send(["keeper@example.test"], "From: a@remote.example\r\nSubject: kept\r\n\r\nbody\r\n")
        self.assertEqual(entries(store, "blobs"), blobs + 1)

    def test_reject_by_one_group_member_rejects_only_for_that_member(self):
        self.s.cli("group", "add", "team@example.test", "rejecter@example.test", "member@example.test")
        self.s.cli("group", "policy", "team@example.test", "anyone")
        self.put_active("rejecter", 'require "reject";\r\nreject "Not from strangers";\r\n')
        before = len(self.queue())
        # One recipient address, two mailboxes behind it: the SMTP answer is for both.
        self.send(["team@example.test"], "From: b@remote.example\r\nSubject: to the team\r\n\r\nhi\r\n",
                  sender="b@remote.example")
        self.assertEqual(len(self.inbox("member")), 1)
        self.assertIn('"to the team"', self.inbox("member")[0]["envelope"])
        self.assertEqual(self.inbox("rejecter"), [])
        q = self.queue()[before:]
        self.assertEqual([(r["sender"], r["recipients"]) for r in q], [("", ["b@remote.example"])], q)
        notice = self.s.cli("queue", "get", str(q[0]["id"])).stdout
        self.assertIn("Not from strangers", notice)
        self.assertIn("Final-Recipient: rfc822; rejecter@example.test", notice)
        self.assertIn("Status: 5.7.1", notice)
        # Addressed to that member alone, the reject is the SMTP answer (RFC 5429 2.1).
        with self.assertRaises(smtplib.SMTPDataError) as e:
            self.send(["rejecter@example.test"], "From: b@remote.example\r\nSubject: direct\r\n\r\nhi\r\n",
                      sender="b@remote.example")
        self.assertEqual(e.exception.smtp_code, 550)
        self.assertIn(b"Not from strangers", e.exception.smtp_error)



BOMB = "((a{200}){200}){200}"
BACKREF = "(.*)(.*)(.*)(.*)(.*)\\5x"


def sieve_string(s):
    """s as the inside of a Sieve quoted string."""
    return s.replace("\\", "\\\\").replace('"', '\\"')


class RegexBombTest(Base):
    users = ("rita", "sam")
    top_toml = '[sieve]\nregex_cache_size = "2M"\n'

    def test_bombs_are_refused_at_upload_and_sieved_stays_small(self):
        m = self.managesieve("rita")
        # The peak so far includes argon2id's 64 MiB for the login.
        peak_before = peak_rss_kib(self.s.procs["sieved"].pid)
        for name, pattern, why in (("bomb", BOMB, b"repetition {200} too large"),
                                   ("backref", BACKREF, b"back-references (")):
            script = f'require "regex";\r\nif header :regex "Subject" "{sieve_string(pattern)}" {{ discard; }}\r\n'.encode()
            for cmd in (f'PUTSCRIPT "{name}" '.encode(), b"CHECKSCRIPT "):
                r = m.cmd(cmd + b"{%d+}\r\n" % len(script) + script + b"\r\n")
                self.assertTrue(r[-1].startswith(b'NO "line 2: invalid regular expression'), r)
                self.assertIn(why, r[-1])
        self.assertEqual(m.cmd("LISTSCRIPTS")[:-1], [])
        m.cmd("LOGOUT")
        m.sock.close()
        # sieve-connect shows the reason to its user.
        path = os.path.join(self.s.instance.dir, "bomb.sieve")
        with open(path, "w") as f:
            f.write(f'require "regex";\r\nif header :regex "Subject" "{BOMB}" {{ discard; }}\r\n')
        r, w = os.pipe()
        os.write(w, b"rita-pw\n")
        os.close(w)
        try:
            p = subprocess.run([require_tool("sieve-connect"), "--server", "localhost", "--port", str(self.s.sieve),
                                "--user", "rita@example.test", "--passwordfd", str(r), "--tlscafile", self.s.cert,
                                "--upload", "--localsieve", path, "--remotesieve", "bomb"],
                               capture_output=True, pass_fds=(r,), timeout=60, text=True)
        finally:
            os.close(r)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("repetition {200} too large", p.stdout + p.stderr)
        # glibc's regcomp took sieved to 1.73 GB on the first of these.
        self.assertLess(peak_rss_kib(self.s.procs["sieved"].pid), peak_before + 32 * 1024)

    def test_patterns_built_at_run_time_are_bounded_and_smtpd_stays_small(self):
        # Variables make keys that only exist at delivery: the same bounds apply there.
        self.put_active("sam", "\r\n".join([
            'require ["regex","variables","fileinto"];',
            'if header :matches "X-Pattern" "*" { set "p" "${1}"; }',
            'if header :regex "Subject" "${p}" { fileinto "Hit"; stop; }',
            ""]))
        subject = "a" * 300
        for pattern, why in ((BOMB, "repetition {200} too large"), (BACKREF, "back-references")):
            self.send(["sam@example.test"], f"From: a@remote.example\r\nX-Pattern: {pattern}\r\n"
                                            f"Subject: {subject}\r\n\r\nbody\r\n")
            wait_for(lambda: why in self.s.log("smtpd"), what=f"sieve.error naming {why}")
        self.assertEqual(len(self.inbox("sam")), 2, "a script error keeps the message")
        # Many distinct patterns near the memory bound, each against a subject that fills its
        # DFA cache: the compiled-pattern cache keeps 2 MiB of them.
        noise = "".join("abcd"[(i * 7919) % 4] for i in range(60000))
        folded = "\r\n ".join(noise[i:i + 900] for i in range(0, len(noise), 900))
        for i in range(30):
            self.send(["sam@example.test"], f"From: a@remote.example\r\nX-Pattern: (x|y)[ab]{{700}}[cd]{{700}}q{i}\r\n"
                                            f"Subject: {folded}\r\n\r\nbody\r\n")
        self.assertEqual(len(self.inbox("sam")), 32)
        # glibc's regcomp took smtpd to 1.85 GB on the first bomb.
        self.assertLess(peak_rss_kib(self.s.procs["smtpd"].pid), 128 * 1024)


class ScriptCacheTest(Base):
    users = ("vic",)
    top_toml = '[sieve]\nscript_cache_size = "16M"\n'

    def test_parsed_scripts_are_kept_within_the_cache_size(self):
        # A 250 KiB script parses to about 5 MiB; smtpd keeps the active scripts it parsed.
        rule = 'if header :contains ["X-A","X-B"] ["one","two"] { fileinto "Folder"; }\r\n'
        body = rule * (250 * 1024 // len(rule))
        for i in range(40):
            self.put_active("vic", f'require "fileinto";\r\n# version {i}\r\n' + body, name=f"big{i % 2}")
            self.send(["vic@example.test"], f"From: a@remote.example\r\nSubject: {i}\r\n\r\nbody\r\n")
        self.assertEqual(len(self.inbox("vic")), 40)
        # 40 of them would be 200 MiB.
        self.assertLess(peak_rss_kib(self.s.procs["smtpd"].pid), 100 * 1024)


class SlowScriptTest(Base):
    """One I/O thread: with Sieve on it, a slow script would stop every other session."""
    users = ("tom", "uma")
    # 10,000 small :regex keys compile to about 2 MiB together: above the default budget of
    # 4 x max_regex_memory (which this script would otherwise meet at PUTSCRIPT).
    top_toml = '[sieve]\nmax_cpu_time = "8s"\nmax_script_size = "1M"\nmax_regex_memory = "2M"\n'
    smtpd_toml = "threads = 1\n"

    def put_slow_script(self):
        """One test that compares 200 copies of the Subject with 10,000 keys: about two
        minutes of CPU for a 64 KiB Subject, unless max_cpu_time stops it."""
        names = ",".join(['"Subject"'] * 200)
        keys = ",".join(f'"a[^b]*b{i}"' for i in range(10000))
        self.put_active("tom", f'require ["regex","fileinto"];\r\nif header :regex [{names}] [{keys}] '
                               '{ fileinto "Never"; }\r\n')

    def test_a_slow_script_delays_only_its_own_message(self):
        self.put_slow_script()
        subject = "\r\n ".join(["a" * 900] * 72)  # 64 KiB unfolded
        pid = self.s.procs["smtpd"].pid
        cpu_before = cpu_seconds(pid)
        slow = {}

        def send_slow():
            try:
                slow["result"] = self.send(["tom@example.test"], f"From: a@remote.example\r\nSubject: {subject}\r\n"
                                                                 "\r\nbody\r\n", timeout=600)
            except Exception as e:  # reported below
                slow["error"] = e

        t = threading.Thread(target=send_slow)
        t.start()
        try:
            # The script is running once smtpd has spent a second of CPU on it.
            wait_for(lambda: cpu_seconds(pid) - cpu_before >= 1.0, timeout=120, what="the slow script to run")
            for i in range(3):
                self.send(["uma@example.test"], f"From: a@remote.example\r\nSubject: quick {i}\r\n\r\nhi\r\n")
            self.assertEqual(len(self.inbox("uma")), 3)
            self.assertTrue(t.is_alive(), "the other deliveries finished while the slow script still ran")
        finally:
            t.join(timeout=600)
        self.assertFalse(t.is_alive())
        self.assertEqual(slow.get("result"), {}, slow)
        # Stopped by max_cpu_time (max_steps counts that one test once): kept in INBOX.
        self.assertEqual(len(self.inbox("tom")), 1)
        self.assertIn("max_cpu_time", self.s.log("smtpd"))

    def test_b_smtpd_stops_cleanly_while_a_script_runs(self):
        # The Sieve pool is joined before the sessions' io_contexts go: the script's session
        # resumes onto a stopped context, never a destroyed one.
        self.put_slow_script()
        subject = "\r\n ".join(["a" * 900] * 72)
        proc = self.s.procs["smtpd"]
        cpu_before = cpu_seconds(proc.pid)
        s = smtplib.SMTP("127.0.0.1", self.s.mx, timeout=600)
        s.ehlo("client.example")
        s.mail("a@remote.example")
        s.rcpt("tom@example.test")
        s.putcmd("data")
        self.assertEqual(s.getreply()[0], 354)
        s.send(f"From: a@remote.example\r\nSubject: {subject}\r\n\r\nbody\r\n.\r\n".encode())
        wait_for(lambda: cpu_seconds(proc.pid) - cpu_before >= 1.0, timeout=120, what="the slow script to run")
        proc.terminate()
        self.assertEqual(proc.wait(timeout=300), 0, self.s.log("smtpd")[-2000:])
        s.close()


class ScriptNameTest(Base):
    users = ("nina",)

    def test_path_like_script_names_are_refused(self):
        m = self.managesieve("nina")
        for name in ("..", "../x", ".", "a/b", "..\\x", "x\u2028y"):
            quoted = name.replace("\\", "\\\\")
            r = m.cmd(f'PUTSCRIPT "{quoted}" "keep;"'.encode() + b"\r\n")
            self.assertTrue(r[-1].startswith(b'NO "Invalid script name: '), (name, r))
        r = m.cmd('HAVESPACE "../x" 10')
        self.assertTrue(r[-1].startswith(b'NO "Invalid script name: '), r)
        self.assertTrue(m.cmd('PUTSCRIPT "good" "keep;"')[-1].startswith(b"OK"))
        r = m.cmd('RENAMESCRIPT "good" "../evil"')
        self.assertTrue(r[-1].startswith(b'NO "Invalid script name: '), r)
        # Names that only look unusual stay valid.
        for name in (".hidden", "a..b", "Größe 2", "x.sieve"):
            self.assertTrue(m.cmd(f'PUTSCRIPT "{name}" "keep;"')[-1].startswith(b"OK"), name)
            self.assertTrue(m.cmd(f'DELETESCRIPT "{name}"')[-1].startswith(b"OK"), name)
        listed = m.cmd("LISTSCRIPTS")
        self.assertEqual(listed[:-1], [b'"good"'])
        m.cmd("LOGOUT")
        m.sock.close()
        # The CLI refuses them the same way.
        path = os.path.join(self.s.instance.dir, "k.sieve")
        with open(path, "w") as f:
            f.write("keep;\r\n")
        for name in ("..", "../x", "a/b"):
            p = self.s.cli("sieve", "put", "nina@example.test", name, path, check=False)
            self.assertNotEqual(p.returncode, 0, name)
            self.assertIn("script name", p.stderr)
        self.assertEqual([x["name"] for x in self.s.instance.cli_json("sieve", "list", "nina@example.test")], ["good"])


if __name__ == "__main__":
    unittest.main()
