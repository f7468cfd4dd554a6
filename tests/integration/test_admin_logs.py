"""The log view: every service keeps its latest events in a bounded ring in
<data_dir>/logs (common/log), and GET /api/v1/logs reads them, filtered by service, least
level and text, newest first. Bad filters answer 422 naming the field."""
import os
import smtplib
import unittest

from adminapi import AdminApi
from helpers import Suite

ADMIN, PASSWORD = "boss@example.test", "boss password 123"


class Logs(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.suite = Suite(top_toml='[log]\nring_size = "8K"\n')
        cls.suite.cli("domain", "add", "example.test")
        cls.api = AdminApi(instance=cls.suite.instance)
        cls.api.user(ADMIN, PASSWORD, admin=True)
        cls.suite.start("smtpd")
        cls.api.start()
        cls.c = cls.api.client()
        assert cls.c.login(ADMIN, PASSWORD).status == 200

    @classmethod
    def tearDownClass(cls):
        cls.c.close()
        cls.api.stop()
        cls.api.log.close()
        cls.suite.cleanup()

    def test_events_of_every_service_filtered(self):
        # smtpd: a failed AUTH is logged (a warning or info line naming the event)
        with smtplib.SMTP("127.0.0.1", self.suite.mx, timeout=10) as s:
            s.ehlo("client.example.test")
            s.mail("someone@remote.example")
            try:
                s.rcpt("nobody@example.test")
            except smtplib.SMTPRecipientsRefused:
                pass
        events = self.c.get("/api/v1/logs").json
        services = {e["service"] for e in events}
        self.assertIn("mailstead-smtpd", services)
        self.assertIn("mailstead-admin-api", services)
        times = [e["time"] for e in events]
        self.assertEqual(times, sorted(times, reverse=True))
        smtpd = self.c.get("/api/v1/logs?service=smtpd").json
        self.assertTrue(smtpd and all(e["service"] == "mailstead-smtpd" for e in smtpd))
        self.assertIn("service.start", [e["event"] for e in smtpd])
        started = self.c.get("/api/v1/logs?text=SERVICE.START").json
        self.assertTrue(started and all("service.start" in e["text"] for e in started))
        self.assertGreaterEqual(len({e["service"] for e in started}), 2)
        warn = self.c.get("/api/v1/logs?level=warn").json
        self.assertTrue(all(e["level"] in ("warn", "error", "critical") for e in warn), warn)
        self.assertEqual(len(self.c.get("/api/v1/logs?limit=2").json), 2)
        self.assertEqual(self.c.get("/api/v1/logs?limit=2").json, self.c.get("/api/v1/logs").json[:2])

    def test_the_dashboard(self):
        with smtplib.SMTP("127.0.0.1", self.suite.mx, timeout=10) as s:
            s.sendmail("someone@remote.example", [ADMIN], b"Subject: hi\r\n\r\nhello\r\n")
            try:
                s.sendmail("someone@remote.example", ["ghost@example.test"], b"Subject: x\r\n\r\nx\r\n")
            except smtplib.SMTPRecipientsRefused:
                pass
        d = self.c.get("/api/v1/dashboard").json
        self.assertEqual(d["counts"], {"domains": 1, "users": 1, "aliases": 0, "groups": 0})
        self.assertEqual(d["queue_depth"], 0)
        self.assertEqual(len(d["hours"]), 24)
        now = d["hours"][-1]
        self.assertGreaterEqual(now["received"], 1)
        self.assertGreaterEqual(now["rejected"], 1)
        health = {h["service"]: h["state"] for h in d["health"]}
        self.assertEqual(health["mailstead-smtpd"], "running")
        self.assertEqual(health["mailstead-admin-api"], "running")
        self.assertEqual(health["mailstead-imapd"], "unknown")
        self.assertGreater(d["store"]["bytes"], 0)
        self.assertGreater(d["store"]["free_bytes"], 0)
        self.assertGreaterEqual(d["store"]["map_size"], d["store"]["bytes"])
        anon = self.api.client()
        self.assertEqual(anon.get("/api/v1/dashboard").status, 401)
        anon.close()

    def test_bad_filters_are_refused_naming_the_field(self):
        for q, field in [("service=postfix", "service"), ("level=loud", "level"), ("limit=0", "limit"),
                         ("limit=5000", "limit"), ("limit=x", "limit"), ("text=" + "a" * 201, "text")]:
            r = self.c.get("/api/v1/logs?" + q)
            self.assertEqual((r.status, r.json["error"]["field"]), (422, field), (q, r))
        anon = self.api.client()
        self.assertEqual(anon.get("/api/v1/logs").status, 401)
        anon.close()

    def test_the_ring_stays_bounded(self):
        # Each refused request is one info event of admin-api; far more than 8K of them.
        for _ in range(150):
            self.c.post("/api/v1/domains", {"domain": "bad..name"})
        logs = os.path.join(self.suite.instance.data_dir, "logs")
        size = sum(os.path.getsize(os.path.join(logs, f)) for f in os.listdir(logs) if f.startswith("mailstead-admin-api"))
        self.assertLessEqual(size, 8 * 1024 + 1024)
        self.assertTrue(os.path.exists(os.path.join(logs, "mailstead-admin-api.1.log")))
        recent = self.c.get("/api/v1/logs?service=admin-api&text=admin.http.refused&limit=1000").json
        self.assertGreater(len(recent), 10)


if __name__ == "__main__":
    unittest.main()
