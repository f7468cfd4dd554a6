"""Files that hold secrets are refused when others can read them, as ssh refuses a private
key: the secrets file (any group or other bit) and the TLS private key (readable by others,
unless tls.allow_world_readable_key)."""
import os
import subprocess
import unittest

from helpers import SmtpServer, Suite, binary, wait_for_line, wait_port


class SecretsFileModeTest(unittest.TestCase):
    def setUp(self):
        self.s = SmtpServer()
        self.secrets = os.path.join(self.s.instance.dir, "secrets.toml")
        with open(self.secrets, "w") as f:
            f.write('[relay]\npassword = "s3cret"\n')
        with open(self.s.instance.config) as f:
            body = f.read()
        with open(self.s.instance.config, "w") as f:
            f.write(f'secrets_file = "{self.secrets}"\n' + body)

    def tearDown(self):
        self.s.cleanup()

    def test_group_or_world_access_is_refused_naming_file_and_mode(self):
        for mode in (0o644, 0o640, 0o604, 0o660):
            os.chmod(self.secrets, mode)
            for program in ("mailstead-smtpd", "mailstead"):
                args = [binary(program), "--config", self.s.instance.config]
                if program == "mailstead":
                    args += ["domain", "list"]
                p = subprocess.run(args, capture_output=True, text=True, timeout=30)
                self.assertEqual(p.returncode, 78, p.stderr)
                self.assertIn(self.secrets, p.stderr)
                self.assertIn(f"mode {mode:04o}", p.stderr)
                self.assertNotIn("s3cret", p.stderr)

    def test_owner_only_is_accepted(self):
        os.chmod(self.secrets, 0o600)
        self.s.start()
        self.assertIsNone(self.s.proc.poll())


class TlsKeyModeTest(unittest.TestCase):
    def tearDown(self):
        self.s.cleanup()

    def key(self):
        return os.path.join(self.s.instance.data_dir, "tls", "key.pem")

    def test_world_readable_key_is_refused(self):
        self.s = Suite()
        os.chmod(self.key(), 0o644)
        for program in ("mailstead-smtpd", "mailstead-imapd", "mailstead-sieved"):
            p = subprocess.run([binary(program), "--config", self.s.instance.config],
                               capture_output=True, text=True, timeout=30)
            self.assertNotEqual(p.returncode, 0, f"{program} started with a world-readable key")
            self.assertIn(self.key(), p.stderr)
            self.assertIn("mode 0644", p.stderr)

    def test_setting_allows_it_with_a_warning(self):
        self.s = Suite(top_toml="[tls]\nallow_world_readable_key = true\n")
        os.chmod(self.key(), 0o644)
        p = subprocess.Popen([binary("mailstead-imapd"), "--config", self.s.instance.config],
                             stderr=subprocess.PIPE, stdout=subprocess.DEVNULL)
        try:
            seen = wait_for_line(p.stderr, "event=tls.key.world_readable", timeout=30)
            self.assertIsNotNone(seen, "no warning about the world-readable key")
            self.assertIn(self.key(), seen)
            wait_port(self.s.imaps)
            self.assertIsNone(p.poll())
        finally:
            p.terminate()
            p.wait(timeout=20)
            p.stderr.close()


if __name__ == "__main__":
    unittest.main()
