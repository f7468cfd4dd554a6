"""`mailstead up`: first start makes a certificate and the demo account and prints how to
connect; it supervises every service, restarts one that dies, and stops all on SIGTERM."""
import json
import os
import signal
import stat
import subprocess
import time
import unittest

import ssl
import urllib.request

from helpers import Instance, binary, free_ports, make_cert, wait_for_line


def children_of(pid):
    out = {}
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/children") as f:
                for c in f.read().split():
                    with open(f"/proc/{c}/cmdline", "rb") as g:
                        out[os.path.basename(g.read().split(b"\0")[0].decode())] = int(c)
    except FileNotFoundError:
        pass
    return out


def alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


class UpTest(unittest.TestCase):
    def setUp(self):
        mx, sub, subs, admin = free_ports(4)
        self.ports = (mx, sub, subs, admin)
        self.m = Instance(f'[smtpd]\nmx_listen = ["127.0.0.1:{mx}"]\nsubmission_listen = ["127.0.0.1:{sub}"]\n'
                          f'submissions_listen = ["127.0.0.1:{subs}"]\n[admin]\nlisten = ["127.0.0.1:{admin}"]\n')

    def tearDown(self):
        self.m.cleanup()

    def start(self):
        p = subprocess.Popen([binary("mailstead"), "--config", self.m.config, "up"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        lines = []
        for line in p.stdout:
            lines.append(line)
            if "Stop with Ctrl-C" in line:
                break
        return p, "".join(lines)

    def wait_children(self, p, n=5, timeout=10):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            kids = children_of(p.pid)
            if len(kids) >= n and all(alive(k) for k in kids.values()):
                return kids
            time.sleep(0.05)
        self.fail(f"services did not start: {children_of(p.pid)}")

    def stop(self, p):
        p.send_signal(signal.SIGTERM)
        p.wait(timeout=20)
        p.stdout.close()
        p.stderr.close()
        self.assertEqual(p.returncode, 0)

    def test_first_start_supervise_and_stop(self):
        p, out = self.start()
        try:
            self.assertIn(f"SMTP (MX)             127.0.0.1:{self.ports[0]}", out)
            self.assertIn("IMAPS                 127.0.0.1:2993", out)
            self.assertIn("ManageSieve           127.0.0.1:24190", out)
            url = f"https://127.0.0.1:{self.ports[3]}/"
            self.assertIn(f"Admin API             {url}", out)
            self.assertIn("user: demo@example.test", out)
            password = out.split("password: ")[1].split()[0]
            self.assertGreaterEqual(len(password), 16)
            creds = os.path.join(self.m.data_dir, "demo-credentials.txt")
            self.assertEqual(stat.S_IMODE(os.stat(creds).st_mode), 0o600)
            key = os.path.join(self.m.data_dir, "tls", "key.pem")
            self.assertEqual(stat.S_IMODE(os.stat(key).st_mode), 0o600)
            cert = subprocess.run(["openssl", "x509", "-in", os.path.join(self.m.data_dir, "tls", "cert.pem"),
                                   "-noout", "-ext", "subjectAltName"], capture_output=True, text=True)
            self.assertIn("DNS:mail.example.test", cert.stdout)

            kids = self.wait_children(p)
            # The printed admin URL answers, with the certificate `up` made.
            ctx = ssl.create_default_context(cafile=os.path.join(self.m.data_dir, "tls", "cert.pem"))
            ctx.check_hostname = False
            deadline = time.monotonic() + 30
            while True:
                try:
                    with urllib.request.urlopen(url + "api/v1/health", context=ctx, timeout=10) as r:
                        self.assertEqual(r.status, 200)
                        self.assertEqual(json.loads(r.read()), {"status": "ok"})
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.1)
            self.assertEqual(set(kids), {"mailstead-smtpd", "mailstead-deliverd", "mailstead-imapd", "mailstead-sieved",
                                         "mailstead-admin-api"})
            # The demo user exists in the shared store.
            users = [u["address"] for u in self.m.cli_json("user", "list")]
            self.assertEqual(users, ["demo@example.test"])
            self.assertEqual(self.m.cli_json("resolve", "postmaster@example.test")["mailboxes"],
                             ["demo@example.test"])

            # A service that dies is restarted.
            old = kids["mailstead-smtpd"]
            os.kill(old, signal.SIGKILL)
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                new = children_of(p.pid).get("mailstead-smtpd")
                if new and new != old and alive(new):
                    break
                time.sleep(0.1)
            else:
                self.fail("smtpd was not restarted")
            kids = self.wait_children(p)
        finally:
            self.stop(p)
        for pid in kids.values():
            self.assertFalse(alive(pid), "a service outlived `mailstead up`")

        # The second start keeps the account and prints the same credentials.
        p, out2 = self.start()
        try:
            self.assertIn("password: " + password, out2)
            self.wait_children(p)
        finally:
            self.stop(p)
        self.assertEqual([u["address"] for u in self.m.cli_json("user", "list")], ["demo@example.test"])

    def test_configuration_error_stops_start_up(self):
        with open(self.m.config) as f:
            text = f.read()
        with open(self.m.config, "w") as f:
            f.write(text.replace(f'listen = ["127.0.0.1:{self.ports[3]}"]', 'listen = ["no-port"]'))
        p = subprocess.run([binary("mailstead"), "--config", self.m.config, "up"],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(p.returncode, 78)
        self.assertIn(self.m.config, p.stderr)
        self.assertIn("'admin.listen'", p.stderr)
        self.assertFalse(os.path.exists(self.m.data_dir), "nothing is created for a broken configuration")

    def test_services_validate_their_own_section(self):
        with open(self.m.config, "a") as f:
            f.write("[imapd]\nimaps_lisen = [\"127.0.0.1:1\"]\n")
        p = subprocess.run([binary("mailstead-imapd"), "--config", self.m.config], capture_output=True,
                           text=True, timeout=30)
        self.assertEqual(p.returncode, 78)
        self.assertIn("'imapd.imaps_lisen': unknown key", p.stderr)
        # admin-api leaves [imapd] to imapd
        make_cert(self.m.data_dir)
        p = subprocess.Popen([binary("mailstead-admin-api"), "--config", self.m.config],
                             stderr=subprocess.PIPE, text=True)
        started = wait_for_line(p.stderr, "event=service.start", timeout=30)
        self.assertIsNotNone(started, "admin-api refused another service's section")
        self.assertIsNone(p.poll(), "admin-api refused another service's section")
        p.send_signal(signal.SIGTERM)
        _, err = p.communicate(timeout=10)
        self.assertEqual(p.returncode, 0, err)
        self.assertIn("event=service.stop", err)


if __name__ == "__main__":
    unittest.main()
