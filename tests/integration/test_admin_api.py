"""The admin API over real HTTPS (mailstead-admin-api, Python's http.client and curl): who may
call what (401 without a session, 403 without the CSRF token or the role), bad input
(400/413/422 naming the field) that changes nothing in the store (checked with the CLI),
conflicts, sessions, API tokens, failed-login limits, keep-alive and slow clients."""
import json
import socket
import ssl
import subprocess
import time
import unittest

from adminapi import AdminApi
from helpers import tool

ADMIN, PASSWORD = "boss@example.test", "boss password 123"


class ApiTest(unittest.TestCase):
    admin_toml = ""

    def setUp(self):
        self.api = AdminApi(self.admin_toml)
        self.api.cli("domain", "add", "example.test")
        self.api.user(ADMIN, PASSWORD, admin=True)
        self.api.start()
        self.c = self.api.client()
        self.assertEqual(self.c.login(ADMIN, PASSWORD).status, 200)

    def tearDown(self):
        self.c.close()
        self.api.cleanup()

    def store(self):
        """What the CLI sees in the store: the check that nothing changed."""
        cli = self.api.instance.cli_json
        return {"domains": cli("domain", "list"), "users": cli("user", "list"), "aliases": cli("alias", "list"),
                "groups": cli("group", "list"), "catchall": cli("catchall", "show"), "admins": cli("admin", "list"),
                "tokens": cli("token", "list")}

    def routes(self):
        doc = self.c.get("/api/v1/openapi.json").json
        for path, item in doc["paths"].items():
            for method, op in item.items():
                yield method.upper(), path, op

    @staticmethod
    def concrete(path):
        return (path.replace("{address}", "nobody@example.test").replace("{domain}", "example.test")
                .replace("{alias}", "x@example.test").replace("{group}", "g@example.test").replace("{id}", "1")
                .replace("{sender}", "s@example.test").replace("{member}", "m@example.test")
                .replace("{mailbox}", "INBOX").replace("{uid}", "1").replace("{name}", "s"))

    def test_every_protected_route_needs_a_session_then_csrf_then_the_role(self):
        before = self.store()
        anon = self.api.client()
        self.api.user("pleb@example.test", "pleb password 123")
        pleb = self.api.client()
        self.assertEqual(pleb.login("pleb@example.test", "pleb password 123").status, 200)
        checked = 0
        for method, path, op in self.routes():
            url = self.concrete(path)
            body = {} if "requestBody" in op else None
            if op.get("security") == []:
                continue
            r = anon.request(method, url, body=body)
            self.assertEqual(r.status, 401, f"{method} {path}: {r}")
            self.assertEqual(r.json["error"]["code"], "unauthenticated")
            if method != "GET":
                r = self.c.request(method, url, body=body, csrf=False)
                self.assertEqual(r.status, 403, f"{method} {path} without CSRF: {r}")
                self.assertEqual(r.json["error"]["code"], "csrf")
                r = self.c.request(method, url, body=body, headers={"X-CSRF-Token": "wrong" * 8}, csrf=False)
                self.assertEqual(r.status, 403, f"{method} {path} with a wrong CSRF token: {r}")
            if (path.startswith("/api/v1/streams") or path == "/api/v1/messages") and op.get("x-access") == "member":
                # Chat streams: a user sees only the streams it is a member of (none here).
                r = pleb.request(method, url, body=body)
                if path == "/api/v1/streams":
                    self.assertEqual((r.status, r.json), (200, []), f"{method} {path} as a non-member: {r}")
                else:
                    self.assertIn(r.status, (400, 404), f"{method} {path} as a non-member: {r}")
            elif not path.startswith("/api/v1/me") and path not in ("/api/v1/logout", "/api/v1/session"):
                r = pleb.request(method, url, body=body)
                self.assertEqual(r.status, 403, f"{method} {path} as a user without the role: {r}")
                self.assertEqual(r.json["error"]["code"], "forbidden")
            checked += 1
        self.assertGreater(checked, 50)
        after = self.store()
        after["users"] = [u for u in after["users"] if u["address"] != "pleb@example.test"]
        self.assertEqual(before, after, "a refused request changed the store")
        anon.close()
        pleb.close()

    def test_bad_input_names_the_field_and_changes_nothing(self):
        before = self.store()
        cases = [
            ("POST", "/api/v1/domains", b"{not json", 400, "malformed_json", ""),
            ("POST", "/api/v1/domains", b"[1]", 400, "malformed_json", ""),
            ("POST", "/api/v1/domains", b'{"domain":"a.test","colour":"red"}', 400, "unknown_field", "colour"),
            ("POST", "/api/v1/domains", b'{"domain":7}', 400, "wrong_type", "domain"),
            ("POST", "/api/v1/domains", b"{}", 400, "missing_field", "domain"),
            ("POST", "/api/v1/domains", b'{"domain":"bad..domain"}', 422, "invalid", "domain"),
            ("POST", "/api/v1/users", b'{"address":"no-at-sign","password":"long enough 1"}', 422, "invalid", "address"),
            ("POST", "/api/v1/users", b'{"address":"u@example.test","password":""}', 422, "invalid", "password"),
            ("POST", "/api/v1/users", b'{"address":"u@example.test","password":"long enough 1","quota":-1}', 400,
             "wrong_type", "quota"),
            ("POST", "/api/v1/users", b'{"address":"u@nowhere.test","password":"long enough 1"}', 404, "not_found",
             "address"),
            ("POST", "/api/v1/aliases", b'{"alias":"a@example.test","user":"ghost@example.test"}', 404, "not_found", "user"),
            ("POST", "/api/v1/groups", b'{"group":"g@example.test","policy":"everyone"}', 422, "invalid", "policy"),
            ("POST", "/api/v1/groups", b'{"group":"g@example.test","members":["ghost@example.test"]}', 404, "not_found",
             "members"),
            ("PUT", "/api/v1/catchall/example.test", b'{"users":[]}', 422, "invalid", "users"),
            ("PATCH", "/api/v1/users/boss@example.test", b'{"name":"ok","enabled":"yes"}', 400, "wrong_type", "enabled"),
            ("PUT", "/api/v1/me/vacation", b'{"enabled":true,"reason":"x","start":"2026-13-01"}', 422, "invalid", "start"),
            ("PUT", "/api/v1/me/vacation", b'{"enabled":true,"reason":""}', 422, "invalid", "reason"),
            ("PUT", "/api/v1/me/forwarding", b'{"enabled":true,"target":"not an address"}', 422, "invalid", "target"),
            ("PUT", "/api/v1/users/boss@example.test/sieve/s", b'{"script":"if true {"}', 422, "invalid", "script"),
        ]
        for method, path, raw, status, code, field in cases:
            r = self.c.request(method, path, raw=raw)
            self.assertEqual(r.status, status, f"{method} {path} {raw!r}: {r}")
            self.assertEqual(r.json["error"]["code"], code, f"{method} {path} {raw!r}: {r}")
            self.assertEqual(r.json["error"]["field"], field, f"{method} {path} {raw!r}: {r}")
            self.assertTrue(r.json["error"]["message"])
        # A body that is not JSON at all, or sent as a form (what a cross-site form can send).
        r = self.c.request("POST", "/api/v1/domains", raw=b"domain=a.test", content_type="application/x-www-form-urlencoded")
        self.assertEqual((r.status, r.json["error"]["field"]), (400, "Content-Type"))
        self.assertEqual(before, self.store())
        self.assertEqual(self.api.instance.cli_json("sieve", "list", ADMIN), [])

    def test_oversized_body_is_413_and_the_connection_serves_no_more(self):
        before = self.store()
        big = b'{"domain":"' + b"a" * (2 * 1024 * 1024) + b'.test"}'
        r = self.c.request("POST", "/api/v1/domains", raw=big)
        self.assertEqual(r.status, 413, r)
        self.assertEqual(r.json["error"]["code"], "too_large")
        # curl sends Expect: 100-continue for a large body and gets 413 before sending it.
        curl = tool("curl")
        p = subprocess.run([curl, "-s", "--cacert", self.api.cert, "-o", "/dev/null", "-w", "%{http_code}",
                            "-H", "Content-Type: application/json", "-H", f"Cookie: mailstead_session={self.c.cookie}",
                            "-H", f"X-CSRF-Token: {self.c.csrf}", "--data-binary", "@-",
                            f"https://127.0.0.1:{self.api.port}/api/v1/domains"],
                           input=big, capture_output=True, timeout=60)
        self.assertEqual(p.stdout, b"413")
        self.assertEqual(before, self.store())
        self.assertEqual(self.c.get("/api/v1/health").status, 200)

    def test_conflicts_are_409_and_change_nothing(self):
        self.assertEqual(self.c.post("/api/v1/users", {"address": "ann@example.test", "password": "ann password 1"}).status, 201)
        before = self.store()
        for path, body, field in [
            ("/api/v1/aliases", {"alias": "ann@example.test", "user": ADMIN}, "alias"),  # an alias equal to a user
            ("/api/v1/domains", {"domain": "example.test"}, "domain"),
            ("/api/v1/users", {"address": "ann@example.test", "password": "another one 1"}, "address"),
        ]:
            r = self.c.post(path, body)
            self.assertEqual(r.status, 409, f"{path}: {r}")
            self.assertEqual(r.json["error"]["field"], field)
        self.assertEqual(self.c.delete("/api/v1/domains/example.test").status, 409)  # not empty
        self.assertEqual(before, self.store())

    def test_every_cli_verb_has_its_route_with_the_same_effect(self):
        c = self.c
        self.assertEqual(c.post("/api/v1/domains", {"domain": "Other.TEST"}).json["domain"], "other.test")
        u = c.post("/api/v1/users", {"address": "Ann@example.test", "password": "ann password 1", "name": "Ann",
                                     "quota": 1000000})
        self.assertEqual(u.status, 201, u)
        self.assertEqual(u.json["address"], "ann@example.test")
        self.assertEqual(c.post("/api/v1/users", {"address": "bob@example.test", "password": "bob password 1"}).status, 201)
        self.assertEqual(c.post("/api/v1/aliases", {"alias": "info@example.test", "user": "ann@example.test"}).status, 201)
        g = c.post("/api/v1/groups", {"group": "team@example.test", "members": ["ann@example.test"], "policy": "members"})
        self.assertEqual(g.status, 201, g)
        self.assertEqual(c.post("/api/v1/groups/team@example.test/members", {"member": "bob@example.test"}).json["members"],
                         ["ann@example.test", "bob@example.test"])
        self.assertEqual(c.patch("/api/v1/groups/team@example.test", {"policy": "domain"}).json["policy"], "domain")
        self.assertEqual(c.put("/api/v1/catchall/example.test", {"users": ["bob@example.test"]}).status, 200)
        self.assertEqual(c.post("/api/v1/users/ann@example.test/allowed-senders", {"sender": "@other.test"}).status, 204)
        self.assertEqual(c.patch("/api/v1/users/bob@example.test", {"enabled": False, "quota": 5}).json["enabled"], False)
        self.assertEqual(c.put("/api/v1/admins/ann@example.test").status, 204)
        self.assertEqual(c.put("/api/v1/users/ann@example.test/sieve/main", {"script": "keep;"}).json, {"warnings": []})
        self.assertEqual(c.put("/api/v1/users/ann@example.test/sieve-active", {"name": "main"}).status, 204)

        cli = self.api.instance.cli_json
        users = {x["address"]: x for x in cli("user", "list")}
        self.assertEqual(users["ann@example.test"]["name"], "Ann")
        self.assertEqual(users["ann@example.test"]["quota"], 1000000)
        self.assertEqual(users["ann@example.test"]["aliases"], ["info@example.test"])
        self.assertEqual(users["ann@example.test"]["allowed_senders"], ["@other.test"])
        self.assertFalse(users["bob@example.test"]["enabled"])
        self.assertEqual(cli("group", "list"), [{"group": "team@example.test", "policy": "domain",
                                                 "members": ["ann@example.test", "bob@example.test"]}])
        self.assertEqual(cli("catchall", "show", "example.test"), [{"domain": "example.test", "users": ["bob@example.test"]}])
        self.assertIn({"address": "ann@example.test"}, cli("admin", "list"))
        self.assertEqual(cli("sieve", "list", "ann@example.test"), [{"name": "main", "active": True, "size": 5}])
        self.assertEqual(cli("resolve", "info@example.test")["mailboxes"],
                         c.get("/api/v1/resolve?address=info@example.test").json["mailboxes"])
        self.assertEqual([m["name"] for m in cli("mailbox", "list", "ann@example.test")],
                         [m["name"] for m in c.get("/api/v1/users/ann@example.test/mailboxes").json])
        self.assertEqual(c.get("/api/v1/users?q=ann").json[0]["address"], "ann@example.test")

        # ... and removal, the same way.
        self.assertEqual(c.delete("/api/v1/users/ann@example.test/allowed-senders/@other.test").status, 204)
        self.assertEqual(c.delete("/api/v1/groups/team@example.test/members/bob@example.test").status, 200)
        self.assertEqual(c.delete("/api/v1/groups/team@example.test").status, 204)
        self.assertEqual(c.delete("/api/v1/catchall/example.test").status, 204)
        self.assertEqual(c.delete("/api/v1/aliases/info@example.test").status, 204)
        self.assertEqual(c.delete("/api/v1/admins/ann@example.test").status, 204)
        self.assertEqual(c.delete("/api/v1/users/bob@example.test").status, 204)
        self.assertEqual(c.delete("/api/v1/domains/other.test").status, 204)
        self.assertEqual(sorted(u["address"] for u in cli("user", "list")), ["ann@example.test", ADMIN])
        self.assertEqual(cli("alias", "list"), [])
        self.assertEqual(cli("group", "list"), [])
        self.assertEqual([d["domain"] for d in cli("domain", "list")], ["example.test"])

    def test_api_tokens_are_hashed_listed_without_secret_and_revocable(self):
        out = self.api.cli("token", "create", "--name", "backup").stdout.strip()
        self.assertRegex(out, r"^mst_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$")
        # The secret is the 43 characters after "mst_<id>_"; base64url has "_" in it too, so
        # splitting at the last "_" would keep only its tail, which a few bytes of the store
        # can match by chance.
        secret = out[len("mst_") + 16 + 1:]
        listed = self.api.instance.cli_json("token", "list")
        self.assertEqual([t["name"] for t in listed], ["backup"])
        self.assertNotIn(secret, json.dumps(listed))
        # The store holds a digest only: the secret appears nowhere in the data directory.
        data = b""
        import os
        for root, _, files in os.walk(self.api.instance.data_dir):
            for f in files:
                try:
                    with open(os.path.join(root, f), "rb") as fh:
                        data += fh.read()
                except FileNotFoundError:
                    pass  # a file the server removed meanwhile holds nothing
        self.assertNotIn(secret.encode(), data)
        t = self.api.client(token=out)
        self.assertEqual(t.get("/api/v1/users").status, 200)
        self.assertEqual(t.post("/api/v1/domains", {"domain": "t.test"}).status, 201)  # no CSRF for a token
        self.assertEqual(self.api.client(token=out[:-1] + ("A" if out[-1] != "A" else "B")).get("/api/v1/users").status, 401)
        created = self.c.post("/api/v1/tokens", {"name": "deploy"})
        self.assertEqual(created.status, 201)
        self.assertNotIn("token", self.c.get("/api/v1/tokens").json[1])
        self.assertEqual(self.c.delete(f"/api/v1/tokens/{listed[0]['id']}").status, 204)
        self.assertEqual(t.get("/api/v1/users").status, 401)
        self.assertEqual(self.c.post("/api/v1/tokens", {"name": "deploy"}).status, 409)
        t.close()

    def test_sessions_can_be_listed_revoked_and_end_on_logout(self):
        second = self.api.client()
        self.assertEqual(second.login(ADMIN, PASSWORD).status, 200)
        mine = self.c.get("/api/v1/me/sessions").json
        self.assertEqual(len(mine), 2)
        self.assertEqual(sum(s["current"] for s in mine), 1)
        other = [s for s in mine if not s["current"]][0]
        self.assertEqual(self.c.delete(f"/api/v1/me/sessions/{other['id']}").status, 204)
        self.assertEqual(second.get("/api/v1/session").status, 401)
        r = self.c.post("/api/v1/logout")
        self.assertEqual(r.status, 204)
        self.assertIn("Max-Age=0", r.header("Set-Cookie"))
        self.assertEqual(self.c.get("/api/v1/session").status, 401)
        second.close()

    def test_cookie_flags_and_security_headers(self):
        c = self.api.client()
        r = c.login(ADMIN, PASSWORD)
        cookie = r.header("Set-Cookie")
        for flag in ("HttpOnly", "Secure", "SameSite=Strict", "Path=/"):
            self.assertIn(flag, cookie)
        self.assertEqual(r.header("X-Frame-Options"), "DENY")
        self.assertIn("script-src 'self'", r.header("Content-Security-Policy"))
        self.assertNotIn("unsafe-inline", r.header("Content-Security-Policy"))
        self.assertEqual(r.header("X-Content-Type-Options"), "nosniff")
        c.close()

    def test_wrong_password_is_401_and_app_passwords_do_not_open_the_web(self):
        c = self.api.client()
        r = c.login(ADMIN, "wrong")
        self.assertEqual((r.status, r.json["error"]["code"]), (401, "credentials"))
        app = self.c.post("/api/v1/me/app-passwords", {"name": "laptop"}).json["password"]
        r = c.login(ADMIN, app)
        self.assertEqual(r.status, 401, r)
        c.close()

    def test_keep_alive_serves_many_requests_on_one_connection(self):
        conn = self.c.conn
        for _ in range(20):
            self.assertEqual(self.c.get("/api/v1/health").status, 200)
        self.assertIs(conn, self.c.conn, "the connection was not kept alive")

    def test_unknown_route_404_and_wrong_method_405(self):
        self.assertEqual(self.c.get("/api/v1/nothing").status, 404)
        self.assertEqual(self.c.request("PUT", "/api/v1/health").status, 405)


class LimitsTest(unittest.TestCase):
    """Slow and failing clients, with small limits and one I/O thread."""

    def setUp(self):
        self.api = AdminApi('threads = 1\nrequest_timeout = "2s"\nidle_timeout = "2s"\n'
                            'session_lifetime = "3s"\n',
                            top_toml='[auth]\nmax_failures_per_ip = 3\nfailure_delay = "0s"\n')
        self.api.cli("domain", "add", "example.test")
        self.api.user(ADMIN, PASSWORD, admin=True)
        self.api.start()

    def tearDown(self):
        self.api.cleanup()

    def test_a_trickling_client_is_closed_at_its_deadline_and_holds_no_worker(self):
        raw = socket.create_connection(("127.0.0.1", self.api.port), timeout=60)
        slow = self.api.tls().wrap_socket(raw, server_hostname="localhost")
        slow.sendall(b"GET /api/v1/health HTTP/1.1\r\n")
        started = time.monotonic()
        closed = False
        # Meanwhile the one I/O thread serves everyone else.
        fast = self.api.client()
        self.assertEqual(fast.get("/api/v1/health").status, 200)
        fast.close()
        while time.monotonic() - started < 60:
            try:
                slow.sendall(b"X")  # a byte a second: every read succeeds, the deadline stays
                slow.settimeout(1)
                if slow.recv(1024) == b"":
                    closed = True
                    break
            except socket.timeout:
                continue
            except (ConnectionError, ssl.SSLError, OSError):
                closed = True
                break
        self.assertTrue(closed, "the trickling client was never closed")
        slow.close()
        deadline = time.monotonic() + 30  # the server logs the timeout as it closes; wait for the line
        while "admin.http.request.timeout" not in self.api.logs():
            self.assertLess(time.monotonic(), deadline, "no admin.http.request.timeout logged")
            time.sleep(0.1)

    def test_failed_logins_go_through_the_shared_limiter(self):
        c = self.api.client()
        for _ in range(3):
            self.assertEqual(c.login(ADMIN, "wrong").status, 401)
        r = c.login(ADMIN, PASSWORD)
        self.assertEqual((r.status, r.json["error"]["code"]), (429, "throttled"))
        c.close()

    def test_sessions_expire(self):
        c = self.api.client()
        self.assertEqual(c.login(ADMIN, PASSWORD).status, 200)
        self.assertEqual(c.get("/api/v1/session").status, 200)
        deadline = time.monotonic() + 60
        while c.get("/api/v1/session").status == 200:
            self.assertLess(time.monotonic(), deadline, "the session never expired")
            time.sleep(0.2)
        self.assertEqual(c.get("/api/v1/session").status, 401)
        c.close()


if __name__ == "__main__":
    unittest.main()
