"""The `mailstead` CLI as a real binary: every verb, its output, --json, and its errors
(one line on stderr, a non-zero exit, and the store unchanged)."""
import os
import unittest

from helpers import Instance, binary
import subprocess


class CliTest(unittest.TestCase):
    def setUp(self):
        self.m = Instance()
        self.m.cli("domain", "add", "Example.TEST")
        self.m.cli("user", "add", "alice@example.test", "--password-stdin", "--name", "Alice A",
                   stdin="alice-pw\n")
        self.m.cli("user", "add", "bob@example.test", "--password", "bob-pw", "--quota", "1G")

    def tearDown(self):
        self.m.cleanup()

    def snapshot(self):
        return {what: self.m.cli_json(what, "list") for what in ("domain", "user", "alias", "group")} | {
            "catchall": self.m.cli_json("catchall", "show")}

    def assert_refused(self, args, fragment, code=1, stdin=None):
        before = self.snapshot()
        p = self.m.cli(*args, check=False, stdin=stdin)
        self.assertEqual(p.returncode, code, f"{args}: {p.stdout} {p.stderr}")
        lines = p.stderr.strip().splitlines()
        self.assertGreaterEqual(len(lines), 1)
        self.assertTrue(lines[0].startswith("mailstead: "), p.stderr)
        self.assertIn(fragment, p.stderr)
        self.assertEqual(self.snapshot(), before, f"{args} changed the store")

    # ---- domain ----
    def test_domain_verbs(self):
        self.assertEqual(self.m.cli("domain", "add", "bücher.example").stdout.strip(),
                         "added domain xn--bcher-kva.example")
        names = [d["domain"] for d in self.m.cli_json("domain", "list")]
        self.assertEqual(names, ["example.test", "xn--bcher-kva.example"])
        self.assertIn("example.test", self.m.cli("domain", "list").stdout.split())
        self.m.cli("domain", "remove", "bücher.example")
        self.assertEqual([d["domain"] for d in self.m.cli_json("domain", "list")], ["example.test"])

    def test_domain_errors(self):
        self.assert_refused(["domain", "add", "example.test"], "already exists")
        self.assert_refused(["domain", "add", "-bad-.example"], "starts or ends with '-'")
        self.assert_refused(["domain", "remove", "nowhere.example"], "no domain nowhere.example")
        self.assert_refused(["domain", "remove", "example.test"], "still has 2 users")
        self.assert_refused(["domain", "add"], "missing DOMAIN", code=2)

    # ---- user ----
    def test_user_verbs(self):
        users = {u["address"]: u for u in self.m.cli_json("user", "list")}
        self.assertEqual(users["alice@example.test"]["name"], "Alice A")
        self.assertEqual(users["bob@example.test"]["quota"], 1 << 30)
        self.assertTrue(users["bob@example.test"]["enabled"])
        self.m.cli("user", "disable", "bob@example.test")
        self.assertIn("(disabled)", self.m.cli("user", "list").stdout)
        self.assertEqual(self.m.cli_json("resolve", "bob@example.test")["action"], "reject")
        self.m.cli("user", "enable", "bob@example.test")
        self.assertEqual(self.m.cli_json("resolve", "bob@example.test")["action"], "deliver")
        self.m.cli("user", "passwd", "bob@example.test", "--password-stdin", stdin="new-pw\n")
        self.m.cli("user", "allow-sender", "bob@example.test", "@other.example")
        self.m.cli("user", "allow-sender", "bob@example.test", "boss@example.test")
        users = {u["address"]: u for u in self.m.cli_json("user", "list")}
        self.assertEqual(users["bob@example.test"]["allowed_senders"], ["@other.example", "boss@example.test"])
        self.m.cli("user", "deny-sender", "bob@example.test", "@other.example")
        self.m.cli("user", "remove", "bob@example.test")
        self.assertEqual([u["address"] for u in self.m.cli_json("user", "list")], ["alice@example.test"])

    def test_user_errors(self):
        self.assert_refused(["user", "add", "alice@example.test", "--password", "x"], "already a user")
        self.assert_refused(["user", "add", "x@unknown.example", "--password", "x"], "add it first")
        self.assert_refused(["user", "add", "x+tag@example.test", "--password", "x"], "sub-address delimiter")
        self.assert_refused(["user", "add", "not-an-address", "--password", "x"], "not an address")
        self.assert_refused(["user", "add", "x@example.test"], "--password-stdin", code=2)
        self.assert_refused(["user", "add", "x@example.test", "--password-stdin"], "nothing on standard input",
                            code=2, stdin="")
        self.assert_refused(["user", "add", "x@example.test", "--password", ""], "password is empty")
        self.assert_refused(["user", "add", "x@example.test", "--password", "x", "--quota", "lots"],
                            "--quota", code=2)
        self.assert_refused(["user", "add", "x@example.test", "--password", "x", "--colour", "red"],
                            "unknown option --colour", code=2)
        self.assert_refused(["user", "passwd", "nobody@example.test", "--password", "x"], "no user")
        self.assert_refused(["user", "remove", "nobody@example.test"], "no user")
        self.assert_refused(["user", "enable", "nobody@example.test"], "no user")
        self.assert_refused(["user", "disable", "nobody@example.test"], "no user")
        self.assert_refused(["user", "deny-sender", "bob@example.test", "x@example.test"], "no allowed sender")
        self.assert_refused(["user", "frobnicate"], "unknown or missing verb", code=2)

    # ---- alias ----
    def test_alias_verbs(self):
        self.m.cli("alias", "add", "Info@example.test", "alice@example.test")
        self.assertEqual(self.m.cli_json("alias", "list"), [{"alias": "info@example.test", "user": "alice@example.test"}])
        self.assertEqual(self.m.cli("alias", "list").stdout.strip(), "info@example.test -> alice@example.test")
        self.assertEqual(self.m.cli_json("resolve", "info+x@example.test")["kind"], "alias")
        self.m.cli("alias", "remove", "info@example.test")
        self.assertEqual(self.m.cli_json("alias", "list"), [])

    def test_alias_errors(self):
        self.m.cli("alias", "add", "info@example.test", "alice@example.test")
        self.assert_refused(["alias", "add", "bob@example.test", "alice@example.test"], "already a user")
        self.assert_refused(["alias", "add", "info@example.test", "bob@example.test"], "already a alias")
        self.assert_refused(["alias", "add", "x@example.test", "nobody@example.test"], "no user")
        self.assert_refused(["alias", "add", "x@unknown.example", "alice@example.test"], "add it first")
        self.assert_refused(["alias", "remove", "nothing@example.test"], "no alias")
        # a user can never take an alias's address either
        self.assert_refused(["user", "add", "info@example.test", "--password", "x"], "already a alias")

    # ---- group ----
    def test_group_verbs(self):
        self.m.cli("group", "add", "team@example.test", "alice@example.test")
        self.m.cli("group", "add-member", "team@example.test", "bob@example.test")
        self.m.cli("group", "policy", "team@example.test", "members")
        self.assertEqual(self.m.cli_json("group", "list"),
                         [{"group": "team@example.test", "policy": "members",
                           "members": ["alice@example.test", "bob@example.test"]}])
        r = self.m.cli_json("resolve", "team@example.test")
        self.assertEqual((r["action"], r["code"], r["enhanced"]), ("reject", 550, "5.7.1"))
        r = self.m.cli_json("resolve", "team@example.test", "--authenticated-as", "bob@example.test")
        self.assertEqual(r["mailboxes"], ["alice@example.test", "bob@example.test"])
        self.m.cli("group", "remove-member", "team@example.test", "bob@example.test")
        self.assertIn("members=alice@example.test", self.m.cli("group", "list").stdout)
        self.m.cli("group", "remove", "team@example.test")
        self.assertEqual(self.m.cli_json("group", "list"), [])

    def test_group_errors(self):
        self.m.cli("group", "add", "team@example.test", "alice@example.test")
        self.assert_refused(["group", "add", "team@example.test"], "already a group")
        self.assert_refused(["group", "add", "g@example.test", "nobody@example.test"], "no user or alias")
        self.assert_refused(["group", "add-member", "team@example.test", "alice@example.test"], "already a member")
        self.assert_refused(["group", "add-member", "nogroup@example.test", "alice@example.test"], "no group")
        self.assert_refused(["group", "remove-member", "team@example.test", "bob@example.test"], "not a member")
        self.assert_refused(["group", "policy", "team@example.test", "everybody"], "anyone, members or domain")
        self.assert_refused(["group", "remove", "nogroup@example.test"], "no group")

    # ---- catch-all ----
    def test_catchall_verbs(self):
        self.assertEqual(self.m.cli_json("resolve", "anything@example.test")["code"], 550)
        self.m.cli("catchall", "set", "example.test", "bob@example.test", "alice@example.test")
        self.assertEqual(self.m.cli_json("catchall", "show", "example.test"),
                         [{"domain": "example.test", "users": ["bob@example.test", "alice@example.test"]}])
        r = self.m.cli_json("resolve", "anything@example.test")
        self.assertEqual((r["kind"], r["mailboxes"]), ("catchall", ["bob@example.test", "alice@example.test"]))
        self.m.cli("catchall", "clear", "example.test")
        self.assertIn("(none)", self.m.cli("catchall", "show").stdout)
        self.assertEqual(self.m.cli_json("resolve", "anything@example.test")["enhanced"], "5.1.1")

    def test_catchall_errors(self):
        self.assert_refused(["catchall", "set", "nowhere.example", "alice@example.test"], "no domain")
        self.assert_refused(["catchall", "set", "example.test", "nobody@example.test"], "no user")
        self.assert_refused(["catchall", "set", "example.test"], "missing USER", code=2)
        self.assert_refused(["catchall", "clear", "nowhere.example"], "no domain")

    # ---- resolve ----
    def test_resolve(self):
        self.assertEqual(self.m.cli("resolve", "Alice+News@Example.TEST").stdout.strip(),
                         "deliver alice+News@example.test via user to alice@example.test tag=News")
        self.assertEqual(self.m.cli("resolve", "x@remote.example").stdout.strip(),
                         "reject 554 5.7.1 Relay access denied")
        r = self.m.cli_json("resolve", "x@remote.example", "--authenticated-as", "alice@example.test")
        self.assertEqual(r["kind"], "remote")
        for trick in ["user%remote.example@example.test", "remote.example!user@example.test",
                      '"user@remote.example"@example.test', "@relay.example:alice@example.test",
                      "alice@example.test.", "alice@[127.0.0.1]", "alice"]:
            r = self.m.cli_json("resolve", trick)
            self.assertEqual((r["code"], r["enhanced"]), (554, "5.7.1"), trick)
        r = self.m.cli_json("resolve", "a b@example.test")
        self.assertEqual((r["code"], r["enhanced"]), (501, "5.1.3"))
        self.assert_refused(["resolve", "x@example.test", "--authenticated-as", "nobody@example.test"], "no user")

    # ---- mailbox ----
    def test_mailbox_list(self):
        boxes = {b["name"]: b for b in self.m.cli_json("mailbox", "list", "alice@example.test")}
        self.assertEqual({n: b["special_use"] for n, b in boxes.items()},
                         {"INBOX": "", "Sent": "\\Sent", "Drafts": "\\Drafts", "Trash": "\\Trash",
                          "Spam": "\\Junk", "Archive": "\\Archive"})
        self.assertTrue(all(b["uidnext"] == 1 and b["messages"] == 0 for b in boxes.values()))
        self.assertEqual(len({b["uidvalidity"] for b in boxes.values()}), 6)
        out = self.m.cli("mailbox", "list", "alice@example.test").stdout.splitlines()
        self.assertTrue(out[0].startswith("INBOX"), out)
        self.assert_refused(["mailbox", "list", "nobody@example.test"], "no user")

    # ---- general ----
    def test_usage_and_config_errors(self):
        p = subprocess.run([binary("mailstead")], capture_output=True, text=True)
        self.assertEqual(p.returncode, 2)
        self.assertIn("usage: mailstead", p.stderr)
        self.assert_refused(["frobnicate"], "unknown command 'frobnicate'", code=2)
        with open(self.m.config, "a") as f:
            f.write("[store]\nmap_sise = 5\n")
        p = self.m.cli("domain", "list", check=False)
        self.assertEqual(p.returncode, 78)
        self.assertIn(self.m.config, p.stderr)
        self.assertIn("'store.map_sise': unknown key", p.stderr)
        p = subprocess.run([binary("mailstead"), "--config", "/nonexistent/mailstead.toml", "domain", "list"],
                           capture_output=True, text=True)
        self.assertEqual(p.returncode, 78)
        self.assertIn("/nonexistent/mailstead.toml", p.stderr)

    def test_environment_overrides_the_data_dir(self):
        other = os.path.join(self.m.dir, "elsewhere")
        env = dict(os.environ, MAILSTEAD_DATA_DIR=other)
        subprocess.run([binary("mailstead"), "--config", self.m.config, "domain", "add", "env.example"],
                       env=env, check=True, capture_output=True)
        self.assertTrue(os.path.exists(os.path.join(other, "store", "data.mdb")))
        self.assertNotIn("env.example", [d["domain"] for d in self.m.cli_json("domain", "list")])


if __name__ == "__main__":
    unittest.main()
