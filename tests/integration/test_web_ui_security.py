"""The web UI's "Email security" page in a real browser: web-ui/tests/security.mjs drives
Debian's chromium through playwright-core against a real mailstead-admin-api. It reads the
policy in force (GET /api/v1/policy), adds and removes DMARC overrides and block/allow
rules with the page's forms; this side then checks the store through the CLI."""
import json
import os
import subprocess
import unittest

from adminapi import AdminApi
from helpers import Suite, tool

HERE = os.path.dirname(os.path.abspath(__file__))
WEB_UI = os.path.join(HERE, "..", "..", "web-ui")
ADMIN, ADMIN_PASSWORD = "admin@example.test", "the admin's password 1"


class EmailSecurityPage(unittest.TestCase):
    def setUp(self):
        self.node, self.chromium = tool("node"), tool("chromium")
        if not os.path.exists(os.path.join(WEB_UI, "node_modules", "playwright-core")):
            raise AssertionError("web-ui/node_modules has no playwright-core: the build's `npm ci` did not run")
        self.suite = Suite(top_toml='[dnsbl]\nzones = ["bl.test:2"]\n[spam]\njunk_threshold = 6.0\n')
        self.api = AdminApi(instance=self.suite.instance)
        self.suite.cli("domain", "add", "example.test")
        self.api.user(ADMIN, ADMIN_PASSWORD, admin=True)
        self.api.start()

    def tearDown(self):
        self.api.stop()
        self.api.log.close()
        self.suite.cleanup()

    def test_page_changes_overrides_and_lists(self):
        artifacts = os.path.join(os.environ.get("MAILSTEAD_ARTIFACTS", os.path.join(self.suite.instance.dir, "artifacts")),
                                 "web-ui")
        os.makedirs(artifacts, exist_ok=True)
        result_file = os.path.join(artifacts, "security-result.json")
        env = dict(os.environ, WEB_URL=f"https://127.0.0.1:{self.api.port}/", CHROMIUM=self.chromium,
                   ADMIN=ADMIN, ADMIN_PASSWORD=ADMIN_PASSWORD, SHOTS=os.path.join(artifacts, "screenshots"),
                   RESULT=result_file)
        p = subprocess.run([self.node, os.path.join(WEB_UI, "tests", "security.mjs")], env=env,
                           capture_output=True, text=True, timeout=300)
        with open(result_file) as f:
            result = json.load(f)
        self.assertTrue(result.get("ok"), f"browser run failed: {result.get('error')}\n{p.stdout[-3000:]}\n{p.stderr[-3000:]}")
        self.assertEqual(result["errors"], [], "no script errors")
        shown = self.suite.instance.cli_json("dmarc", "show")
        self.assertEqual(shown["overrides"], [{"domain": "lists.example", "action": "none"}])
        blocks = self.suite.instance.cli_json("block", "list")
        self.assertEqual([(b["value"], b["note"]) for b in blocks], [("192.0.2.0/24", "from the web UI")])
        self.assertEqual(self.suite.instance.cli_json("allow", "list"), [])


if __name__ == "__main__":
    unittest.main()
