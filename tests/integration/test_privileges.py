"""Started as root, a service binds its ports, then runs as `run_as` for good."""
import os
import pwd
import smtplib
import unittest

from helpers import SmtpServer, missing, wait_for


class PrivilegesTest(unittest.TestCase):
    def setUp(self):
        if os.geteuid() != 0:
            missing("root (the test starts smtpd as root to see it drop privileges)")

    def test_smtpd_runs_as_run_as_after_binding(self):
        s = SmtpServer(top_toml='run_as = "nobody"\n')
        try:
            s.cli("domain", "add", "example.test")
            s.cli("user", "add", "alice@example.test", "--password", "pw")
            s.start()
            # The port answers as soon as it is bound, a moment before the switch.
            wait_for(lambda: "event=security.dropped_privileges" in s.logs(), what="the privileges to drop")
            with open(f"/proc/{s.proc.pid}/status") as f:
                uids = next(line for line in f if line.startswith("Uid:")).split()[1:]
            nobody = pwd.getpwnam("nobody").pw_uid
            self.assertEqual({int(u) for u in uids}, {nobody}, "real, effective, saved and fs uid")
            c = smtplib.SMTP("127.0.0.1", s.mx, timeout=10)
            c.sendmail("a@remote.example", ["alice@example.test"], b"Subject: after the switch\r\n\r\nx\r\n")
            c.quit()
            self.assertEqual(len(s.messages("alice@example.test")), 1, "the store is still writable")
            self.assertIn("event=security.dropped_privileges user=nobody", s.logs())
        finally:
            s.cleanup()

    def test_spool_is_writable_after_the_switch(self):
        # A message over spool_threshold goes to <data_dir>/spool, written as run_as.
        s = SmtpServer(top_toml='run_as = "nobody"\n', smtpd_toml='spool_threshold = "4K"\n')
        try:
            s.cli("domain", "add", "example.test")
            s.cli("user", "add", "alice@example.test", "--password", "pw")
            s.start()
            body = b"Subject: spooled as nobody\r\n\r\n" + b"x" * 998 + b"\r\n" * 1 + (b"y" * 998 + b"\r\n") * 100
            c = smtplib.SMTP("127.0.0.1", s.mx, timeout=10)
            c.sendmail("a@remote.example", ["alice@example.test"], body)
            c.quit()
            self.assertEqual(len(s.messages("alice@example.test")), 1)
            spool = os.path.join(s.instance.data_dir, "spool")
            self.assertEqual(os.stat(spool).st_uid, pwd.getpwnam("nobody").pw_uid)
            self.assertEqual(os.stat(spool).st_mode & 0o777, 0o700)
        finally:
            s.cleanup()

    def test_unknown_run_as_stops_start_up(self):
        s = SmtpServer(top_toml='run_as = "no-such-user-here"\n')
        try:
            import subprocess
            from helpers import binary
            p = subprocess.run([binary("mailstead-smtpd"), "--config", s.instance.config],
                               capture_output=True, text=True, timeout=30)
            self.assertEqual(p.returncode, 1)
            self.assertIn("run_as: there is no user 'no-such-user-here'", p.stderr)
        finally:
            s.cleanup()


if __name__ == "__main__":
    unittest.main()
