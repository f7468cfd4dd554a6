"""Self-service through the admin API with the real mail services beside it: a user changes
the password, sets a vacation reply (written as Roundcube's managesieve plugin writes it, and
then answered by smtpd's Sieve), forwards mail, and makes an app password that logs in over
IMAP, SMTP and ManageSieve until it is revoked."""
import imaplib
import os
import smtplib
import subprocess
import time
import unittest

from adminapi import AdminApi
from helpers import Suite, client_tls, tool

USER, PASSWORD = "erin@example.test", "erin password 1"


class SelfServiceTest(unittest.TestCase):
    def setUp(self):
        self.s = Suite()
        self.api = AdminApi(instance=self.s.instance)
        self.s.cli("domain", "add", "example.test")
        self.api.user(USER, PASSWORD)
        self.s.start("smtpd", "imapd", "sieved")
        self.api.start()
        self.c = self.api.client()
        self.assertEqual(self.c.login(USER, PASSWORD).status, 200)

    def tearDown(self):
        self.c.close()
        self.api.stop()
        self.s.cleanup()

    def imap_login(self, password):
        c = imaplib.IMAP4_SSL("127.0.0.1", self.s.imaps, ssl_context=client_tls(self.s.cert))
        try:
            c.login(USER, password)
            return True
        except imaplib.IMAP4.error:
            return False
        finally:
            try:
                c.logout()
            except Exception:
                pass

    def smtp_login(self, password):
        s = smtplib.SMTP_SSL("127.0.0.1", self.s.submissions, context=client_tls(self.s.cert), timeout=30)
        try:
            s.login(USER, password)
            return True
        except smtplib.SMTPAuthenticationError:
            return False
        finally:
            s.close()

    def test_me_shows_quota_use(self):
        me = self.c.get("/api/v1/me").json
        self.assertEqual((me["address"], me["admin"], me["used"]), (USER, False, 0))
        s = smtplib.SMTP("127.0.0.1", self.s.mx, timeout=30)
        s.sendmail("x@remote.example", [USER], b"From: x@remote.example\r\nTo: erin@example.test\r\nSubject: s\r\n\r\nbody\r\n")
        s.quit()
        me = self.c.get("/api/v1/me").json
        self.assertEqual(me["messages"], 1)
        self.assertGreater(me["used"], 0)

    def test_change_password(self):
        r = self.c.post("/api/v1/me/password", {"current_password": "wrong", "new_password": "new password 22"})
        self.assertEqual((r.status, r.json["error"]["field"]), (422, "current_password"))
        r = self.c.post("/api/v1/me/password", {"current_password": PASSWORD, "new_password": ""})
        self.assertEqual((r.status, r.json["error"]["field"]), (422, "new_password"))
        self.assertTrue(self.imap_login(PASSWORD), "a refused change changed the password")
        other = self.api.client()
        self.assertEqual(other.login(USER, PASSWORD).status, 200)
        self.assertEqual(self.c.post("/api/v1/me/password", {"current_password": PASSWORD,
                                                             "new_password": "new password 22"}).status, 204)
        self.assertFalse(self.imap_login(PASSWORD))
        self.assertTrue(self.imap_login("new password 22"))
        self.assertEqual(self.c.get("/api/v1/me").status, 200, "the session that changed it goes on")
        self.assertEqual(other.get("/api/v1/me").status, 401, "other sessions end with the old password")
        other.close()

    def test_vacation_is_roundcubes_rule_and_smtpd_answers_with_it(self):
        self.assertEqual(self.c.get("/api/v1/me/vacation").json["enabled"], False)
        r = self.c.put("/api/v1/me/vacation", {"enabled": True, "subject": "Out of office",
                                               "reason": "I am away.\nBack on Monday.", "days": 3})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json["reason"], "I am away.\nBack on Monday.")
        scripts = self.s.instance.cli_json("sieve", "list", USER)
        self.assertEqual(scripts, [{"name": "roundcube", "active": True, "size": scripts[0]["size"]}])
        text = self.s.cli("sieve", "get", USER, "roundcube").stdout
        self.assertEqual(text, 'require ["vacation"];\n# rule:[vacation]\nif true\n{\n'
                               '\tvacation :days 3 :subject "Out of office" text:\nI am away.\nBack on Monday.\n.\n;\n}\n')
        before = len(self.s.instance.cli_json("queue", "list"))
        s = smtplib.SMTP("127.0.0.1", self.s.mx, timeout=30)
        s.sendmail("friend@remote.example", [USER],
                   b"From: friend@remote.example\r\nTo: erin@example.test\r\nSubject: hello\r\n"
                   b"Message-ID: <v1@remote.example>\r\n\r\nhi\r\n")
        s.quit()
        q = self.s.instance.cli_json("queue", "list")[before:]
        self.assertEqual([r["recipients"] for r in q], [["friend@remote.example"]])
        reply = self.s.cli("queue", "get", str(q[0]["id"])).stdout
        self.assertIn("Subject: Out of office", reply)
        self.assertIn("Back on Monday.", reply)

        # Switched off, the rule stays, as Roundcube writes it: "if false # <tests>".
        r = self.c.put("/api/v1/me/vacation", {"enabled": False, "reason": "I am away.", "start": "2030-07-01",
                                               "end": "2030-07-15", "zone": "+0100"})
        self.assertEqual(r.status, 200, r)
        self.assertEqual((r.json["enabled"], r.json["start"], r.json["end"], r.json["zone"]),
                         (False, "2030-07-01", "2030-07-15", "+0100"))
        text = self.s.cli("sieve", "get", USER, "roundcube").stdout
        self.assertIn('if false # allof (currentdate :zone "+0100" :value "ge" "date" "2030-07-01", '
                      'currentdate :zone "+0100" :value "le" "date" "2030-07-15")\n', text)
        self.assertTrue(text.startswith('require ["date","relational","vacation"];\n'))

    def test_vacation_keeps_the_users_other_rules(self):
        script = ('require ["fileinto"];\n# rule:[lists]\nif header :contains "list-id" "x"\n{\n'
                  '\tfileinto "Lists";\n}\n')
        self.s.cli("sieve", "put", USER, "mine", "-", stdin=script)
        self.s.cli("sieve", "activate", USER, "mine")
        self.assertEqual(self.c.put("/api/v1/me/vacation", {"enabled": True, "reason": "away"}).status, 200)
        text = self.s.cli("sieve", "get", USER, "mine").stdout
        self.assertEqual(text, 'require ["fileinto","vacation"];\n# rule:[vacation]\nif true\n{\n\tvacation "away";\n}\n'
                               '# rule:[lists]\nif header :contains "list-id" "x"\n{\n\tfileinto "Lists";\n}\n')
        # A second save replaces the rule in place.
        self.assertEqual(self.c.put("/api/v1/me/vacation", {"enabled": True, "reason": "still away"}).status, 200)
        text = self.s.cli("sieve", "get", USER, "mine").stdout
        self.assertEqual(text.count("vacation \""), 1)
        self.assertIn('vacation "still away"', text)
        self.assertIn('fileinto "Lists"', text)

    def test_forwarding_is_a_redirect_rule(self):
        r = self.c.put("/api/v1/me/forwarding", {"enabled": True, "target": "me@elsewhere.example", "keep_copy": True})
        self.assertEqual(r.json, {"enabled": True, "target": "me@elsewhere.example", "keep_copy": True})
        text = self.s.cli("sieve", "get", USER, "roundcube").stdout
        self.assertEqual(text, 'require ["copy"];\n# rule:[forward]\nif true\n{\n\tredirect :copy "me@elsewhere.example";\n}\n')
        before = len(self.s.instance.cli_json("queue", "list"))
        s = smtplib.SMTP("127.0.0.1", self.s.mx, timeout=30)
        s.sendmail("x@remote.example", [USER], b"From: x@remote.example\r\nTo: erin@example.test\r\nSubject: f\r\n\r\nhi\r\n")
        s.quit()
        q = self.s.instance.cli_json("queue", "list")[before:]
        self.assertEqual([r["recipients"] for r in q], [["me@elsewhere.example"]])

    def test_app_password_logs_in_to_imap_smtp_and_managesieve_until_revoked(self):
        r = self.c.post("/api/v1/me/app-passwords", {"name": "phone"})
        self.assertEqual(r.status, 201, r)
        app = r.json["password"]
        self.assertRegex(app, r"^[a-z2-9]{4}(-[a-z2-9]{4}){4}$")
        listed = self.c.get("/api/v1/me/app-passwords").json
        self.assertEqual([(a["id"], a["name"]) for a in listed], [(r.json["id"], "phone")])
        self.assertNotIn("password", listed[0], "an app password is shown once")
        self.assertEqual(self.c.post("/api/v1/me/app-passwords", {"name": "phone"}).status, 409)
        self.assertTrue(self.imap_login(app))
        self.assertTrue(self.smtp_login(app))
        r_fd, w_fd = os.pipe()
        os.write(w_fd, (app + "\n").encode())
        os.close(w_fd)
        try:
            sc = subprocess.run([tool("sieve-connect"), "--server", "localhost", "--port", str(self.s.sieve), "--user", USER,
                                 "--passwordfd", str(r_fd), "--tlscafile", self.s.cert, "--list"],
                                capture_output=True, pass_fds=(r_fd,), timeout=60, text=True)
        finally:
            os.close(r_fd)
        self.assertEqual(sc.returncode, 0, sc.stdout + sc.stderr)
        self.assertTrue(self.imap_login(PASSWORD), "the account password still works")
        self.assertEqual(self.c.delete(f"/api/v1/me/app-passwords/{r.json['id']}").status, 204)
        self.assertFalse(self.imap_login(app))
        self.assertFalse(self.smtp_login(app))

    def test_mobileconfig_names_the_real_ports(self):
        r = self.c.get("/api/v1/me/mobileconfig")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.header("Content-Type"), "application/x-apple-aspen-config")
        import plistlib
        profile = plistlib.loads(r.body.encode())
        account = profile["PayloadContent"][0]
        self.assertEqual(account["EmailAddress"], USER)
        self.assertEqual(account["IncomingMailServerHostName"], "mail.example.test")
        self.assertEqual(account["IncomingMailServerPortNumber"], 993)
        self.assertEqual(account["OutgoingMailServerPortNumber"], 465)


if __name__ == "__main__":
    unittest.main()
