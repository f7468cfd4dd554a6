"""`mailstead relay set/show/clear`: relays in the store, the password sealed with the
secrets file's key and never shown, and every bad input refused with nothing changed."""
import glob
import os
import unittest

from helpers import Instance

PASSWORD = "Tr0ub4dor&3 horse-battery"
RELAY_KEY = "k7R2n9pQ4vX8mL1sT6wZ3yB5cH0dF2gJ"


def with_secrets(secrets_toml):
    inst = Instance()
    path = os.path.join(inst.dir, "secrets.toml")
    with open(path, "w") as f:
        f.write(secrets_toml)
    os.chmod(path, 0o600)
    with open(inst.config) as f:
        body = f.read()
    with open(inst.config, "w") as f:
        f.write(f'secrets_file = "{path}"\n' + body)
    return inst


class Relay(unittest.TestCase):
    def setUp(self):
        self.inst = with_secrets(f'[relay]\nkey = "{RELAY_KEY}"\n')
        self.inst.cli("domain", "add", "example.test")
        self.inst.cli("domain", "add", "other.test")

    def tearDown(self):
        self.inst.cleanup()

    def show(self):
        return self.inst.cli_json("relay", "show")

    def test_none_at_first(self):
        self.assertEqual(self.show(), [])
        self.assertIn("no relay", self.inst.cli("relay", "show").stdout)

    def test_preset_with_a_stored_password_never_shown(self):
        p = self.inst.cli("relay", "set", "--preset", "mailgun", "--user", "postmaster@example.test",
                          "--password-stdin", stdin=PASSWORD + "\n")
        self.assertIn("smtp.mailgun.org:587", p.stdout)
        self.assertNotIn(PASSWORD, p.stdout + p.stderr)
        [r] = self.show()
        self.assertEqual(r, {"domain": None, "host": "smtp.mailgun.org", "port": 587, "security": "starttls",
                             "user": "postmaster@example.test", "password": "stored", "preset": "mailgun",
                             "updated": r["updated"]})
        text = self.inst.cli("relay", "show").stdout
        self.assertIn("default: smtp.mailgun.org:587 security=starttls user=postmaster@example.test password=stored",
                      text)
        self.assertNotIn(PASSWORD, text)
        # Not in the store's files either: it is sealed.
        for path in glob.glob(os.path.join(self.inst.data_dir, "store", "*")):
            with open(path, "rb") as f:
                self.assertNotIn(PASSWORD.encode(), f.read(), path)

    def test_per_domain_relays_and_clear(self):
        self.inst.cli("relay", "set", "smtp.default.example:587")
        self.inst.cli("relay", "set", "relay.other.example:465", "--domain", "Other.Test", "--user", "u@other.test",
                      "--password-stdin", stdin=PASSWORD)
        relays = self.show()
        self.assertEqual([(r["domain"], r["host"], r["port"], r["security"], r["password"]) for r in relays],
                         [(None, "smtp.default.example", 587, "starttls", "none"),
                          ("other.test", "relay.other.example", 465, "tls", "stored")])
        # Setting again replaces.
        self.inst.cli("relay", "set", "smtp2.default.example:2525", "--security", "tls")
        self.assertEqual(self.show()[0]["host"], "smtp2.default.example")
        self.inst.cli("relay", "clear", "--domain", "other.test")
        self.assertEqual([r["domain"] for r in self.show()], [None])
        p = self.inst.cli("relay", "clear", "--domain", "other.test", check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("no relay is set for other.test", p.stderr)
        self.inst.cli("relay", "clear")
        self.assertEqual(self.show(), [])
        p = self.inst.cli("relay", "clear", check=False)
        self.assertIn("no default relay", p.stderr)

    def test_system_email_on_this_machine(self):
        self.inst.cli("relay", "set", "localhost:25", "--security", "none")
        self.assertEqual(self.show()[0]["security"], "none")
        self.inst.cli("relay", "set", "127.0.0.1:25", "--security", "none", "--user", "u", "--password-stdin",
                      stdin=PASSWORD)
        self.assertEqual(self.show()[0]["password"], "stored")

    def test_a_removed_domain_takes_its_relay_along(self):
        self.inst.cli("relay", "set", "relay.example:587", "--domain", "other.test")
        self.inst.cli("domain", "remove", "other.test")
        self.assertEqual(self.show(), [])

    def test_warnings_for_ports_that_usually_mean_the_other_security(self):
        p = self.inst.cli("relay", "set", "smtp.example.net:465", "--security", "starttls")
        self.assertIn("warning: port 465 usually speaks TLS from the first byte", p.stderr)
        p = self.inst.cli("relay", "set", "smtp.example.net:587", "--security", "tls")
        self.assertIn("warning: port 587 usually starts in plain text", p.stderr)

    def test_bad_input_changes_nothing(self):
        self.inst.cli("relay", "set", "--preset", "postmark", "--user", "token", "--password-stdin", stdin="token")
        before = self.show()
        cases = [
            (["relay", "set", "--preset", "mailchimp"], None,
             "unknown preset 'mailchimp'; one of: ses, mailgun, postmark, sendgrid, gmail, smtp"),
            (["relay", "set", "--preset", "smtp"], None, "needs HOST[:PORT]"),
            (["relay", "set", "host.example:99999"], None, "port from 1 to 65535"),
            (["relay", "set", "host.example:0"], None, "port from 1 to 65535"),
            (["relay", "set", "host.example:smtp"], None, "port from 1 to 65535"),
            (["relay", "set", "host.example:587", "--security", "ssl"], None, "starttls, tls or none"),
            (["relay", "set", "host.example:587", "--user", "u"], None, "--user needs a password"),
            (["relay", "set", "host.example:587", "--password-stdin"], "pw", "--password-stdin needs --user"),
            (["relay", "set", "host.example:587", "--user", "u", "--password-stdin"], "", "nothing on standard input"),
            (["relay", "set", "host.example:587", "--user", "u", "--password-stdin"], "\n", "empty"),
            (["relay", "set", "host.example:587", "--user", "u", "--password", "pw"], None, "standard input"),
            (["relay", "set", "relay.example.net:25", "--security", "none", "--user", "u", "--password-stdin"],
             "pw", "refusing to send the relay password in clear text to relay.example.net"),
            (["relay", "set", "host.example:587", "--domain", "nowhere.test"], None, "no domain nowhere.test"),
            (["relay", "set"], None, "give the relay as HOST:PORT"),
            (["relay", "set", "a.example:587", "b.example:587"], None, "unexpected argument"),
            (["relay", "set", "a.example:587", "--sekurity", "tls"], None, "unknown option --sekurity"),
            (["relay", "clear", "--domain", "example.test"], None, "no relay is set for example.test"),
        ]
        for args, stdin, text in cases:
            with self.subTest(args=args):
                p = self.inst.cli(*args, stdin=stdin, check=False)
                self.assertNotEqual(p.returncode, 0, p.stdout)
                self.assertIn(text, p.stderr)
                self.assertEqual(self.show(), before)

    def test_a_password_to_store_needs_the_relay_key(self):
        inst = Instance()
        try:
            p = inst.cli("relay", "set", "smtp.example.net:587", "--user", "u", "--password-stdin", stdin=PASSWORD,
                         check=False)
            self.assertEqual(p.returncode, 1)
            self.assertIn("[relay] key", p.stderr)
            self.assertEqual(inst.cli_json("relay", "show"), [])
        finally:
            inst.cleanup()

    def test_the_default_relay_password_from_the_secrets_file(self):
        inst = with_secrets(f'[relay]\npassword = "{PASSWORD}"\n')
        try:
            inst.cli("domain", "add", "example.test")
            inst.cli("relay", "set", "--preset", "gmail", "--user", "me@gmail.example")
            [r] = inst.cli_json("relay", "show")
            self.assertEqual((r["host"], r["password"]), ("smtp.gmail.com", "secrets-file"))
            # Only the default relay may use it.
            p = inst.cli("relay", "set", "smtp.example.net:587", "--user", "u", "--domain", "example.test",
                         check=False)
            self.assertIn("--user needs a password", p.stderr)
        finally:
            inst.cleanup()

    def test_a_short_relay_key_is_a_configuration_error(self):
        inst = with_secrets('[relay]\nkey = "short"\n')
        try:
            p = inst.cli("relay", "show", check=False)
            self.assertEqual(p.returncode, 78)
            self.assertIn("relay.key", p.stderr)
            self.assertNotIn("short", p.stderr.replace("relay.key", ""))
        finally:
            inst.cleanup()


if __name__ == "__main__":
    unittest.main()
