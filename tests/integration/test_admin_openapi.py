"""GET /api/v1/openapi.json is kept true: every route it lists is called (with the data it
needs made first) and each answer, success and error alike, is checked against the schema
the document gives for that status (jsonschema, OpenAPI 3.1's JSON Schema 2020-12)."""
import json
import unittest

from adminapi import AdminApi

try:
    import jsonschema
except ImportError:  # pragma: no cover
    jsonschema = None

from helpers import missing

ADMIN, PASSWORD = "boss@example.test", "boss password 123"


class OpenApiTest(unittest.TestCase):
    def setUp(self):
        if jsonschema is None:
            missing("python3-jsonschema")
        # The DNS check asks a closed loopback port: quick errors, never the network.
        self.api = AdminApi(top_toml='[dns]\nnameservers = ["127.0.0.1:9"]\ntimeout = "200ms"\ntries = 1\n')
        self.api.cli("domain", "add", "example.test")
        self.api.user(ADMIN, PASSWORD, admin=True)
        self.api.user("ann@example.test", "ann password 1")
        self.api.start()
        self.c = self.api.client()
        self.assertEqual(self.c.login(ADMIN, PASSWORD).status, 200)

    def tearDown(self):
        self.c.close()
        self.api.cleanup()

    def test_every_listed_route_answers_as_documented(self):
        doc = self.c.get("/api/v1/openapi.json").json
        self.assertEqual(doc["openapi"], "3.1.0")
        c = self.c
        # What the routes need to exist, made through the API itself.
        token = c.post("/api/v1/tokens", {"name": "fixture"}).json
        app = c.post("/api/v1/me/app-passwords", {"name": "fixture"}).json
        c.post("/api/v1/users/ann@example.test/allowed-senders", {"sender": "s@example.test"})
        c.post("/api/v1/groups", {"group": "g@example.test", "members": ["ann@example.test"]})
        c.post("/api/v1/aliases", {"alias": "x@example.test", "user": "ann@example.test"})
        c.put("/api/v1/users/ann@example.test/sieve/s", {"script": "keep;"})
        c.post("/api/v1/domains", {"domain": "spare.test"})
        c.post("/api/v1/streams", {"name": "Dev", "slug": "dev"})
        c.post("/api/v1/streams/dev/members", {"member": "ann@example.test"})
        second = self.api.client()
        second.login(ADMIN, PASSWORD)
        other_session = second.get("/api/v1/session").json["id"]
        my_second = self.api.client()
        my_second.login(ADMIN, PASSWORD)
        my_other = my_second.get("/api/v1/session").json["id"]

        values = {"address": "ann@example.test", "domain": "spare.test", "alias": "x@example.test",
                  "group": "g@example.test", "sender": "s@example.test", "member": "ann@example.test",
                  "mailbox": "INBOX", "uid": "1", "name": "s", "stream": "dev", "blob": "0" * 64,
                  "list": "block", "value": "198.51.100.7"}
        bodies = {
            "/api/v1/login": {"address": ADMIN, "password": PASSWORD},
            "/api/v1/tokens": {"name": "another"},
            "/api/v1/domains": {"domain": "new.test"},
            "/api/v1/users": {"address": "new@example.test", "password": "new password 1", "name": "New", "quota": 10},
            "/api/v1/users/{address}": {"name": "Ann"},
            "/api/v1/users/{address}/password": {"password": "ann password 2"},
            "/api/v1/users/{address}/allowed-senders": {"sender": "@spare.test"},
            "/api/v1/users/{address}/sieve/{name}": {"script": "keep;"},
            "/api/v1/users/{address}/sieve-active": {"name": "s"},
            "/api/v1/aliases": {"alias": "y@example.test", "user": "ann@example.test"},
            "/api/v1/groups": {"group": "h@example.test", "members": [], "policy": "anyone"},
            "/api/v1/groups/{group}": {"policy": "members"},
            "/api/v1/groups/{group}/members": {"member": "new@example.test"},
            "/api/v1/catchall/{domain}": {"users": ["ann@example.test"]},
            "/api/v1/me/password": {"current_password": PASSWORD, "new_password": PASSWORD},
            "/api/v1/me/vacation": {"enabled": True, "reason": "away"},
            "/api/v1/me/forwarding": {"enabled": False, "target": "me@elsewhere.example"},
            "/api/v1/me/app-passwords": {"name": "tablet"},
            "/api/v1/domains/{domain}/dkim": {"algorithm": "ed25519", "selector": "ed"},
            "/api/v1/relay": {"host": "127.0.0.1", "port": 2525, "security": "none"},
            "/api/v1/relay/{domain}": {"preset": "smtp", "host": "relay.example.net"},
            "/api/v1/inbound-rules": {"list": "block", "value": "198.51.100.7", "note": "openapi"},
            "/api/v1/dmarc-overrides/{domain}": {"action": "quarantine"},
            # a local address: the local short-cut answers (550 5.1.1), no network needed
            "/api/v1/send-test-email": {"to": "nobody@example.test"},
            "/api/v1/streams": {"name": "Another stream", "description": "more", "email_posting": "members"},
            "/api/v1/streams/{stream}": {"enabled": False, "email_posting": "local"},
            "/api/v1/streams/{stream}/members": {"member": "ann@example.test"},
            "/api/v1/streams/{stream}/messages": {"topic": "t", "content": "hello"},
            "/api/v1/streams/{stream}/notifications": {"notify": "none"},
            "/api/v1/streams/{stream}/watch": {"seconds": 30},
            "/api/v1/messages": {"type": "stream", "to": "dev", "topic": "t", "content": "hello again"},
        }
        ids = {"/api/v1/sessions/{id}": other_session, "/api/v1/me/sessions/{id}": my_other,
               "/api/v1/tokens/{id}": str(token["id"]), "/api/v1/users/{address}/app-passwords/{id}": app["id"],
               "/api/v1/me/app-passwords/{id}": app["id"], "/api/v1/queue/{id}": "1", "/api/v1/queue/{id}/message": "1",
               "/api/v1/queue/{id}/retry": "1"}
        queries = {"/api/v1/resolve": "?address=x@example.test", "/api/v1/users": "?q=ann",
                   "/api/v1/queue/log": "?since=2h&limit=10"}
        # Order: reads, then writes, then removals, then logout last.
        ops = []
        for path, item in doc["paths"].items():
            for method, op in item.items():
                rank = {"get": 0, "post": 1, "put": 1, "patch": 1, "delete": 2}[method]
                if path == "/api/v1/logout":
                    rank = 3
                if path == "/api/v1/domains/{domain}" and method == "delete":
                    rank = 2.5  # after the catch-all that names it is cleared
                ops.append((rank, path, method, op))
        ops.sort(key=lambda o: o[0])
        resolver = jsonschema.RefResolver.from_schema(doc)
        called = set()
        for _, path, method, op in ops:
            url = path
            for k, v in values.items():
                url = url.replace("{" + k + "}", v)
            if "{id}" in url:
                url = url.replace("{id}", ids[path])
            url += queries.get(path, "") if method == "get" else ""
            body = bodies.get(path) if "requestBody" in op else None
            if path == "/api/v1/users" and method == "get":
                pass
            r = c.request(method.upper(), url, body=body)
            documented = op["responses"].get(str(r.status))
            self.assertIsNotNone(documented, f"{method.upper()} {url} answered {r.status}, not documented: {r}")
            content = documented.get("content")
            if content is None:
                self.assertEqual(r.body, "", f"{method.upper()} {url}")
            else:
                ctype = list(content)[0]
                self.assertTrue(r.header("Content-Type").startswith(ctype), f"{method.upper()} {url}: {r.header('Content-Type')}")
                schema = content[ctype].get("schema")
                if schema:
                    jsonschema.validate(json.loads(r.body), schema, cls=jsonschema.Draft202012Validator, resolver=resolver)
            called.add((method, path))
        listed = {(m, p) for p, item in doc["paths"].items() for m in item}
        self.assertEqual(called, listed)
        second.close()
        my_second.close()

    def test_errors_have_the_documented_shape(self):
        doc = self.c.get("/api/v1/openapi.json").json
        resolver = jsonschema.RefResolver.from_schema(doc)
        schema = {"$ref": "#/components/schemas/Error"}
        for r in [self.api.client().get("/api/v1/users"),
                  self.c.post("/api/v1/domains", {"domain": "bad..x"}),
                  self.c.post("/api/v1/domains", {"bogus": 1}),
                  self.c.get("/api/v1/users/ghost@example.test"),
                  self.c.post("/api/v1/domains", {"domain": "example.test"})]:
            jsonschema.validate(r.json, schema, cls=jsonschema.Draft202012Validator, resolver=resolver)


if __name__ == "__main__":
    unittest.main()
