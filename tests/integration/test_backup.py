"""Backups and first start without `up`: `mailstead backup DIR` while smtpd delivers,
`mailstead restore DIR` into another deployment (every message byte-identical), refusals
(a running deployment, a damaged backup), and `mailstead init` (idempotent)."""
import os
import shutil
import smtplib
import subprocess
import threading
import unittest

from helpers import Instance, SmtpServer, binary, tool


class BackupRestoreTest(unittest.TestCase):
    def setUp(self):
        self.s = SmtpServer()
        self.s.cli("domain", "add", "example.test")
        self.s.cli("user", "add", "ann@example.test", "--password", "ann-pw")
        self.s.start()
        self.target = Instance()
        self.backup = os.path.join(self.s.instance.dir, "backup-1")

    def tearDown(self):
        self.s.cleanup()
        self.target.cleanup()

    def deliver(self, count, tag, acked):
        conn = smtplib.SMTP("127.0.0.1", self.s.mx, timeout=30)
        for n in range(count):
            body = f"Subject: {tag} {n}\r\nMessage-ID: <{tag}-{n}@load.example>\r\n\r\n" + ("x" * (n * 37 % 3000)) + "\r\n"
            conn.sendmail("load@remote.example", ["ann@example.test"], body.encode())
            acked.append(f"<{tag}-{n}@load.example>")
        conn.quit()

    def test_backup_under_load_restores_every_message_byte_identical(self):
        before = []
        self.deliver(200, "before", before)
        during = []
        load = threading.Thread(target=self.deliver, args=(400, "during", during))
        load.start()
        p = self.s.cli("backup", self.backup)
        load.join()
        self.assertIn("backed up to", p.stdout)
        for name in ("store/data.mdb", "MANIFEST", "SHA256SUMS", "tls/key.pem", "config/mailstead.toml"):
            self.assertTrue(os.path.exists(os.path.join(self.backup, name)), name)
        self.assertEqual(os.stat(os.path.join(self.backup, "store", "data.mdb")).st_mode & 0o077, 0)
        self.assertEqual(os.stat(os.path.join(self.backup, "tls", "key.pem")).st_mode & 0o077, 0)
        # The checksums are sha256sum's format.
        check = subprocess.run([tool("sha256sum"), "-c", "SHA256SUMS"], cwd=self.backup, capture_output=True, text=True)
        self.assertEqual(check.returncode, 0, check.stdout + check.stderr)
        with open(os.path.join(self.backup, "MANIFEST")) as f:
            manifest = f.read()
        self.assertIn("schema_version = ", manifest)
        self.assertIn("hostname = mail.example.test", manifest)

        self.target.cli("restore", self.backup)
        restored = self.target.cli_json("message", "list", "ann@example.test", "INBOX")
        original = {m["uid"]: m for m in self.s.messages("ann@example.test")}
        self.assertGreaterEqual(len(restored), len(before))  # everything acknowledged before the copy began
        self.assertLessEqual(len(restored), len(before) + len(during))
        ids = set()
        for m in restored:
            got = subprocess.run([binary("mailstead"), "--config", self.target.config, "message", "get",
                                  "ann@example.test", "INBOX", str(m["uid"])], capture_output=True, check=True).stdout
            self.assertEqual(got, self.s.message("ann@example.test", m["uid"]), f"UID {m['uid']} differs")
            self.assertEqual(m["size"], original[m["uid"]]["size"])
            ids.add(next(line.split(b": ", 1)[1].decode() for line in got.split(b"\r\n") if line.startswith(b"Message-ID: ")))
        self.assertTrue(set(before) <= ids, "a message acknowledged before the backup is missing")
        # UIDs are the same dense sequence: the copy is one snapshot, not a torn read.
        self.assertEqual(sorted(m["uid"] for m in restored), list(range(1, len(restored) + 1)))

    def test_restore_refuses_a_running_deployment(self):
        self.s.cli("backup", self.backup)
        p = self.s.cli("restore", self.backup, check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("open in a running process", p.stderr)
        self.assertEqual(len(self.s.messages("ann@example.test")), 0)

    def test_a_damaged_backup_is_refused_and_nothing_changes(self):
        self.deliver(5, "keep", [])
        self.s.cli("backup", self.backup)
        data = os.path.join(self.backup, "store", "data.mdb")
        with open(data, "r+b") as f:
            f.seek(4096 + 100)
            byte = f.read(1)
            f.seek(4096 + 100)
            f.write(bytes([byte[0] ^ 0xFF]))
        p = self.target.cli("restore", self.backup, check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("does not match its checksum", p.stderr)
        self.assertFalse(os.path.exists(os.path.join(self.target.data_dir, "store", "data.mdb")))

    def test_restore_keeps_the_replaced_store_aside(self):
        self.deliver(3, "a", [])
        self.s.cli("backup", self.backup)
        self.target.cli("domain", "add", "other.test")  # the target has a store of its own
        self.target.cli("restore", self.backup)
        self.assertEqual([d["domain"] for d in self.target.cli_json("domain", "list")], ["example.test"])
        aside = [d for d in os.listdir(self.target.data_dir) if d.startswith("store.before-restore-")]
        self.assertEqual(len(aside), 1)

    def test_backup_refuses_a_non_empty_directory(self):
        os.makedirs(self.backup)
        with open(os.path.join(self.backup, "x"), "w") as f:
            f.write("x")
        p = self.s.cli("backup", self.backup, check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("is not empty", p.stderr)


class InitTest(unittest.TestCase):
    def setUp(self):
        self.m = Instance()

    def tearDown(self):
        self.m.cleanup()

    def test_init_makes_the_domain_admin_and_certificate_once(self):
        p = self.m.cli("init", "--domain", "Example.ORG", "--admin", "admin@example.org")
        self.assertIn("added the domain example.org", p.stdout)
        self.assertIn("user: admin@example.org", p.stdout)
        password = p.stdout.split("password: ")[1].split()[0]
        self.assertGreaterEqual(len(password), 16)
        for name in ("cert.pem", "key.pem"):
            self.assertTrue(os.path.exists(os.path.join(self.m.data_dir, "tls", name)))
        self.assertFalse(any(password in open(os.path.join(root, f), errors="ignore").read()
                             for root, _, files in os.walk(self.m.data_dir) for f in files if not f.endswith(".mdb")),
                         "the administrator's password was kept in a file")
        again = self.m.cli("init", "--domain", "example.org", "--admin", "admin@example.org")
        self.assertIn("exists; nothing else to do", again.stdout)
        self.assertNotIn("password:", again.stdout)
        users = self.m.cli_json("user", "list")
        self.assertEqual([u["address"] for u in users], ["admin@example.org"])
        self.assertIn("admin@example.org", self.m.cli("admin", "list").stdout)

    def test_init_with_a_given_password(self):
        p = self.m.cli("init", "--domain", "example.org", "--admin", "boss@example.org", "--password-stdin",
                       stdin="chosen-pw\n")
        self.assertNotIn("chosen-pw", p.stdout)
        self.assertIn("added the administrator boss@example.org", p.stdout)

    def test_init_needs_both_names(self):
        p = self.m.cli("init", "--domain", "example.org", check=False)
        self.assertEqual(p.returncode, 2)
        self.assertIn("usage", p.stderr)


if __name__ == "__main__":
    unittest.main()
