"""The admin API's outbound routes over real HTTPS: the queue (list, show, retry, retry all,
flush, delete) and the send log, relays with presets (the password write-only), DKIM keys,
and send-test-email through the real delivery engine to Postfix's smtp-sink found by
dnsmasq. Each bad input answers 4xx naming the field, and the CLI then sees the store
unchanged."""
import json
import os
import unittest

from adminapi import AdminApi
from helpers import Instance, free_ports, make_cert
from peers import Dnsmasq, SmtpSink

ADMIN, PASSWORD = "boss@local.test", "boss password 123"
RELAY_KEY = "k7R2n9pQ4vX8mL1sT6wZ3yB5cH0dF2gJ"


class Outbound(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.port = free_ports(1)[0]
        cls.ok = SmtpSink("127.0.0.1", cls.port)
        cls.soft = SmtpSink("127.0.0.3", cls.port, ["-r", "rcpt"])
        cls.relay = SmtpSink("127.0.0.6", cls.port)
        cls.dns = Dnsmasq(["ok.test", "soft.test"],
                          [("mx-host", "ok.test,mx.ok.test,10"), ("host-record", "mx.ok.test,127.0.0.1"),
                           ("mx-host", "soft.test,mx.soft.test,10"), ("host-record", "mx.soft.test,127.0.0.3")])
        inst = Instance()
        secrets = os.path.join(inst.dir, "secrets.toml")
        with open(secrets, "w") as f:
            f.write(f'[relay]\nkey = "{RELAY_KEY}"\n')
        os.chmod(secrets, 0o600)
        with open(inst.config) as f:
            body = f.read()
        with open(inst.config, "w") as f:
            f.write(f'secrets_file = "{secrets}"\n' + body +
                    f'[dns]\nnameservers = ["{cls.dns.address}"]\n'
                    f'[outbound]\nmx_port = {cls.port}\nconnect_timeout = "5s"\n')
        make_cert(inst.data_dir)
        cls.api = AdminApi(instance=inst)
        cls.api.cli("domain", "add", "local.test")
        cls.api.user(ADMIN, PASSWORD, admin=True)
        cls.api.start()

    @classmethod
    def tearDownClass(cls):
        cls.api.cleanup()
        cls.api.instance.cleanup()
        for s in (cls.ok, cls.soft, cls.relay):
            s.stop()
        cls.dns.stop()

    def setUp(self):
        self.c = self.api.client()
        self.assertEqual(self.c.login(ADMIN, PASSWORD).status, 200)
        self.api.cli("relay", "clear", check=False)

    def tearDown(self):
        self.c.close()

    def cli(self, *a):
        return self.api.instance.cli_json(*a)

    def refused(self, r, status, field):
        self.assertEqual(r.status, status, r)
        self.assertEqual(r.json["error"]["field"], field, r)

    def test_queue_routes_act_as_the_cli_verbs(self):
        r = self.c.post("/api/v1/send-test-email", {"to": "someone@soft.test"})
        self.assertEqual(r.status, 200, r)
        self.assertEqual([x["result"] for x in r.json], ["deferred", "deferred"])
        self.assertTrue(all(x["reply"].startswith("4") for x in r.json), r.json)
        ids = [x["queue_id"] for x in r.json]
        queued = {q["id"]: q for q in self.c.get("/api/v1/queue").json}
        self.assertTrue(set(ids) <= set(queued))
        item = self.c.get(f"/api/v1/queue/{ids[0]}").json
        self.assertEqual(item["states"][0]["state"], "deferred")
        self.assertEqual(item["states"][0]["address"], "someone@soft.test")
        self.assertIn("127.0.0.3", item["states"][0]["remote"])
        self.assertEqual(item["leased_by"], "")
        # retry one: due now, as `mailstead queue retry ID`
        r = self.c.post(f"/api/v1/queue/{ids[0]}/retry")
        self.assertEqual((r.status, r.json), (200, {"due": 1}))
        show = self.cli("queue", "show", str(ids[0]))
        self.assertLessEqual(show["states"][0]["next_attempt"], show["created"] + 60)
        n = len(self.cli("queue", "list"))
        self.assertEqual(self.c.post("/api/v1/queue/retry").json, {"due": n})
        self.assertEqual(self.c.post("/api/v1/queue/flush").json, {"due": n})
        # delete: gone for the CLI too; then 404 naming the id, and nothing else changed
        self.assertEqual(self.c.delete(f"/api/v1/queue/{ids[0]}").status, 204)
        before = self.cli("queue", "list")
        self.assertNotIn(ids[0], [q["id"] for q in before])
        self.refused(self.c.delete(f"/api/v1/queue/{ids[0]}"), 404, "id")
        self.refused(self.c.post(f"/api/v1/queue/{ids[0]}/retry"), 404, "id")
        self.refused(self.c.post("/api/v1/queue/x1/retry"), 404, "id")
        self.refused(self.c.delete("/api/v1/queue/99999999999999999999999"), 404, "id")
        self.assertEqual(self.cli("queue", "list"), before)
        # the send log, with since and limit
        log = self.c.get("/api/v1/queue/log?since=1h").json
        self.assertTrue(any(e["queue_id"] == ids[1] and e["result"] == "deferred" for e in log), log)
        self.assertEqual(len(self.c.get("/api/v1/queue/log?limit=1").json), 1)
        self.assertEqual(self.c.get("/api/v1/queue/log?limit=1").json[0], log[-1])
        self.assertEqual(self.c.get("/api/v1/queue/log?since=2999-01-01").json, [])
        self.assertEqual(len(self.c.get("/api/v1/queue/log?since=1970-01-01T00:00:00Z").json), len(self.cli("queue", "log")))
        self.refused(self.c.get("/api/v1/queue/log?since=yesterday"), 422, "since")
        self.refused(self.c.get("/api/v1/queue/log?limit=0"), 422, "limit")
        self.refused(self.c.get("/api/v1/queue/log?limit=5000"), 422, "limit")
        # who may: no session, no CSRF token
        anon = self.api.client()
        self.assertEqual(anon.post(f"/api/v1/queue/{ids[1]}/retry").status, 401)
        self.assertEqual(anon.get("/api/v1/queue/log").status, 401)
        self.assertEqual(self.c.delete(f"/api/v1/queue/{ids[1]}", csrf=False).status, 403)
        self.assertEqual(self.c.post("/api/v1/queue/flush", csrf=False).status, 403)
        self.assertEqual(self.cli("queue", "list"), before)
        anon.close()

    def test_send_test_email_reports_route_tls_and_reply(self):
        before = len(self.ok.messages())
        r = self.c.post("/api/v1/send-test-email", {"to": "postmaster@ok.test"})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(len(r.json), 2)
        for x in r.json:
            self.assertEqual(x["result"], "delivered", x)
            self.assertEqual(x["summary"], "delivered")
            self.assertIn("127.0.0.1", x["route"])
            self.assertTrue(x["reply"].startswith("250"), x)
        self.assertEqual(r.json[0]["from"], "postmaster@local.test")
        self.assertTrue(r.json[1]["from"].startswith("noreply"), r.json[1])
        self.assertEqual(len(self.ok.messages()), before + 2)
        queue = self.cli("queue", "list")
        for body, field, status in [({"to": "not an address"}, "to", 422), ({"to": "@ok.test"}, "to", 422),
                                    ({}, "to", 400), ({"to": 5}, "to", 400), ({"to": "a@ok.test", "x": 1}, "x", 400)]:
            self.refused(self.c.post("/api/v1/send-test-email", body), status, field)
        self.assertEqual(self.cli("queue", "list"), queue)
        self.assertEqual(len(self.ok.messages()), before + 2)
        self.assertEqual(self.c.post("/api/v1/send-test-email", {"to": "a@ok.test"}, csrf=False).status, 403)
        self.assertEqual(self.api.client().post("/api/v1/send-test-email", {"to": "a@ok.test"}).status, 401)
        self.assertEqual(len(self.ok.messages()), before + 2)

    def test_relay_routes_presets_and_a_write_only_password(self):
        presets = {p["name"]: p for p in self.c.get("/api/v1/relay-presets").json}
        self.assertEqual(presets["gmail"]["host"], "smtp.gmail.com")
        self.assertEqual(presets["sendgrid"]["user"], "apikey")
        self.assertEqual(self.c.get("/api/v1/relays").json, [])
        secret = "relay secret 99"
        r = self.c.put("/api/v1/relay", {"host": "127.0.0.6", "port": self.port, "security": "none",
                                         "user": "me", "password": secret})
        self.assertEqual(r.status, 200, r)
        self.assertEqual((r.json["host"], r.json["port"], r.json["password"], r.json["domain"]),
                         ("127.0.0.6", self.port, "stored", ""))
        self.assertNotIn(secret, r.body)
        listed = self.c.get("/api/v1/relays")
        self.assertNotIn(secret, listed.body)
        self.assertEqual(listed.json[0]["user"], "me")
        self.assertEqual(self.cli("relay", "show")[0]["host"], "127.0.0.6")
        # a preset for a sender domain: its host, port and security
        r = self.c.put("/api/v1/relay/local.test", {"preset": "mailgun", "user": "u", "password": "p"})
        self.assertEqual((r.status, r.json["host"], r.json["port"], r.json["security"]), (200, "smtp.mailgun.org", 587, "starttls"))
        self.assertEqual(self.c.delete("/api/v1/relay/local.test").status, 204)
        # bad input: 4xx naming the field, nothing changed
        before = self.cli("relay", "show")
        for body, field in [({"preset": "nonesuch"}, "preset"), ({"host": "r.example.net", "port": 70000}, "port"),
                            ({"host": "r.example.net", "security": "ssl"}, "security"),
                            ({"host": "r.example.net", "security": "none", "user": "u", "password": "p"}, "security"),
                            ({"host": "r.example.net", "password": "p"}, "user"), ({"host": "bad host!"}, "host"),
                            ({"host": "r.example.net", "user": "u", "password": ""}, "password")]:
            self.refused(self.c.put("/api/v1/relay", body), 422, field)
        self.refused(self.c.put("/api/v1/relay", {"host": 1}), 400, "host")
        self.refused(self.c.put("/api/v1/relay/nosuch.test", {"host": "r.example.net"}), 404, "domain")
        self.assertEqual(self.cli("relay", "show"), before)
        # the test email goes by the relay (the domain has no MX: only the relay can take it)
        self.assertEqual(self.c.put("/api/v1/relay", {"host": "127.0.0.6", "port": self.port, "security": "none"}).status, 200)
        before_msgs = len(self.relay.messages())
        r = self.c.post("/api/v1/send-test-email", {"to": "x@nowhere.invalid"})
        self.assertEqual([x["result"] for x in r.json], ["delivered", "delivered"], r.json)
        self.assertIn("127.0.0.6", r.json[0]["route"])
        self.assertEqual(len(self.relay.messages()), before_msgs + 2)
        self.assertEqual(self.c.delete("/api/v1/relay").status, 204)
        self.refused(self.c.delete("/api/v1/relay"), 404, "domain")
        self.assertEqual(self.cli("relay", "show"), [])

    def test_dkim_generate_rotate_show(self):
        keys = self.c.get("/api/v1/domains/local.test/dkim").json
        self.assertEqual([(k["selector"], k["algorithm"], k["state"]) for k in keys], [("mail", "rsa", "active")])
        self.assertTrue(keys[0]["txt"].startswith("v=DKIM1; k=rsa; p="))
        self.assertEqual(keys[0]["dns_name"], "mail._domainkey.local.test")
        self.assertTrue(keys[0]["zone"].startswith("mail._domainkey.local.test. IN TXT ("))
        before = self.cli("dkim", "show", "local.test")
        for body, field in [({"algorithm": "dsa"}, "algorithm"), ({"selector": "bad selector!"}, "selector")]:
            self.refused(self.c.post("/api/v1/domains/local.test/dkim", body), 422, field)
        self.refused(self.c.post("/api/v1/domains/local.test/dkim", {"algorithm": 1}), 400, "algorithm")
        self.refused(self.c.post("/api/v1/domains/nosuch.test/dkim", {}), 404, "domain")
        self.refused(self.c.get("/api/v1/domains/nosuch.test/dkim"), 404, "domain")
        self.refused(self.c.post("/api/v1/domains/nosuch.test/dkim/rotate"), 404, "domain")
        self.assertEqual(self.c.post("/api/v1/domains/local.test/dkim", {"algorithm": "ed25519"}, csrf=False).status, 403)
        self.assertEqual(self.cli("dkim", "show", "local.test"), before)
        r = self.c.post("/api/v1/domains/local.test/dkim", {"algorithm": "ed25519", "selector": "ed"})
        self.assertEqual((r.status, r.json["selector"], r.json["algorithm"]), (201, "ed", "ed25519"))
        self.assertTrue(r.json["txt"].startswith("v=DKIM1; k=ed25519; p="))
        self.assertEqual(self.c.post("/api/v1/domains/local.test/dkim", {"selector": "ed"}).status, 409)
        r = self.c.post("/api/v1/domains/local.test/dkim/rotate")
        self.assertEqual(r.status, 200, r)
        fresh = {k["selector"] for k in r.json}
        self.assertEqual(len(fresh), 2)
        states = {k["selector"]: k for k in self.c.get("/api/v1/domains/local.test/dkim").json}
        self.assertEqual(states["mail"]["state"], "retired")
        self.assertNotEqual(states["mail"]["retire_at"], "")
        self.assertTrue(all(states[s]["state"] == "active" for s in fresh))
        self.assertEqual(len(self.cli("dkim", "show", "local.test")), 4)


if __name__ == "__main__":
    unittest.main()
