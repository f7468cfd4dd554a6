"""Prometheus /metrics of mailstead-smtpd, -imapd, -sieved and -deliverd for real: each
started with `metrics_listen` on a loopback port, driven by real clients (smtplib, imaplib,
a raw ManageSieve client, deliverd sending to Postfix's smtp-sink), then scraped and read
with python3-prometheus-client's parser; every counter must move by exactly the traffic
sent. A malformed request to a metrics port gets 400 and the port keeps serving."""
import base64
import http.client
import imaplib
import os
import smtplib
import socket
import subprocess
import time
import unittest

from helpers import Suite, binary, client_tls, free_ports, wait_port
from peers import Dnsmasq, SmtpSink, wait_until
from test_admin_autoconfig import prometheus_parse
from test_sieve import ManageSieve

PASSWORD = "metrics password 1"


def scrape(port):
    """(samples {(name, labels tuple): value}, types {family: type}, raw text)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", "/metrics")
        r = conn.getresponse()
        text = r.read().decode()
        assert r.status == 200, (r.status, text)
        assert r.getheader("Content-Type") == "text/plain; version=0.0.4; charset=utf-8", r.getheader("Content-Type")
    finally:
        conn.close()
    parsed = prometheus_parse(text)
    samples = {(name, tuple(tuple(l) for l in labels)): value for name, labels, value in parsed["samples"]}
    return samples, parsed["types"], text


def value(samples, name, **labels):
    return samples.get((name, tuple(sorted(labels.items()))), 0)


class MetricsCase(unittest.TestCase):
    def assertMoved(self, before, after, name, by, **labels):
        self.assertEqual(value(after, name, **labels) - value(before, name, **labels), by, f"{name} {labels}")

    def check_malformed_then_serving(self, port):
        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
            s.sendall(b"GET /metrics HTTP/1.1\r\nHost x\r\n\r\n")  # a header line without its colon
            answer = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                answer += chunk
        self.assertTrue(answer.startswith(b"HTTP/1.1 400 "), answer[:200])
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("GET", "/other")
        r = conn.getresponse()
        r.read()
        self.assertEqual(r.status, 404)
        conn.request("POST", "/metrics", body="x")
        r = conn.getresponse()
        r.read()
        self.assertEqual(r.status, 405)
        conn.close()
        scrape(port)  # still serving

    def check_format(self, text, types):
        # Every family has its HELP and TYPE lines before its samples (format 0.0.4).
        for family, kind in types.items():
            name = family + "_total" if kind == "counter" else family  # the parser drops _total
            self.assertIn(f"# TYPE {name} {kind}\n", text)
            self.assertIn(f"# HELP {name} ", text)
        self.assertEqual(types["mailstead_store_commit_seconds"], "histogram")
        self.assertIn('mailstead_store_commit_seconds_bucket{le="+Inf"}', text)


class ProtocolMetrics(MetricsCase):
    @classmethod
    def setUpClass(cls):
        cls.ports = dict(zip(("smtpd", "imapd", "sieved"), free_ports(3)))
        cls.s = Suite(smtpd_toml=f'metrics_listen = ["127.0.0.1:{cls.ports["smtpd"]}"]\n',
                      imapd_toml=f'metrics_listen = ["127.0.0.1:{cls.ports["imapd"]}"]\n',
                      sieved_toml=f'metrics_listen = ["127.0.0.1:{cls.ports["sieved"]}"]\n')
        cls.s.cli("domain", "add", "example.test")
        for u in ("ann", "bob"):
            cls.s.cli("user", "add", f"{u}@example.test", "--password-stdin", stdin=PASSWORD + "\n")
        cls.s.cli("sieve", "put", "bob@example.test", "rules", "-", stdin='require "fileinto";\nkeep;\n')
        cls.s.cli("sieve", "activate", "bob@example.test", "rules")
        cls.s.start("smtpd", "imapd", "sieved")
        for p in cls.ports.values():
            wait_port(p)

    @classmethod
    def tearDownClass(cls):
        cls.s.cleanup()

    def test_smtpd_counts_messages_logins_and_connections(self):
        port = self.ports["smtpd"]
        before, _, _ = scrape(port)
        for i in range(2):  # two messages on MX, each on its own connection
            with smtplib.SMTP("127.0.0.1", self.s.mx, timeout=30) as c:
                c.sendmail("x@remote.example", ["bob@example.test"],
                           f"From: x@remote.example\r\nSubject: m{i}\r\n\r\nhello\r\n")
        with smtplib.SMTP("127.0.0.1", self.s.mx, timeout=30) as c:
            c.ehlo()
            c.mail("x@remote.example")
            code, _ = c.rcpt("nobody@example.test")
            self.assertEqual(code, 550)
        with smtplib.SMTP("127.0.0.1", self.s.submission, timeout=30) as c:
            c.starttls(context=client_tls(self.s.cert))
            c.ehlo()
            # One AUTH PLAIN with a wrong password (smtplib's login() would try LOGIN next).
            wrong = base64.b64encode(b"\0ann@example.test\0wrong").decode()
            self.assertEqual(c.docmd("AUTH", "PLAIN " + wrong)[0], 535)
            c.login("ann@example.test", PASSWORD)
            during, _, _ = scrape(port)
            self.assertEqual(value(during, "mailstead_authenticated_sessions", protocol="smtp"), 1)
            self.assertEqual(value(during, "mailstead_connections", listener="submission",
                                   address=f"127.0.0.1:{self.s.submission}"), 1)
        after, types, text = scrape(port)
        mx = {"listener": "mx", "address": f"127.0.0.1:{self.s.mx}"}
        self.assertMoved(before, after, "mailstead_connections_total", 3, **mx)
        self.assertMoved(before, after, "mailstead_connections_total", 1, listener="submission",
                         address=f"127.0.0.1:{self.s.submission}")
        self.assertMoved(before, after, "mailstead_smtp_messages_received_total", 2)
        self.assertMoved(before, after, "mailstead_smtp_recipients_total", 2, destination="local")
        self.assertMoved(before, after, "mailstead_smtp_recipients_total", 0, destination="remote")
        self.assertMoved(before, after, "mailstead_smtp_recipients_rejected_total", 1)
        self.assertMoved(before, after, "mailstead_sieve_scripts_run_total", 2, result="ok")
        self.assertMoved(before, after, "mailstead_logins_total", 1, protocol="smtp", result="ok")
        self.assertMoved(before, after, "mailstead_logins_total", 1, protocol="smtp", result="failed")
        self.assertMoved(before, after, "mailstead_tls_handshakes_total", 1, result="ok")
        self.assertGreaterEqual(value(after, "mailstead_store_commit_seconds_count")
                                - value(before, "mailstead_store_commit_seconds_count"), 2)
        # Sessions end: the gauges come back down once the server has seen the close.
        wait_until(lambda: value(scrape(port)[0], "mailstead_authenticated_sessions", protocol="smtp") == 0 and
                   value(scrape(port)[0], "mailstead_connections", **mx) == 0, what="the session gauges at 0")
        self.check_format(text, types)
        self.check_malformed_then_serving(port)

    def test_imapd_counts_logins_and_idle(self):
        port = self.ports["imapd"]
        before, _, _ = scrape(port)
        c = imaplib.IMAP4_SSL("127.0.0.1", self.s.imaps, ssl_context=client_tls(self.s.cert))
        with self.assertRaises(imaplib.IMAP4.error):
            c.login("ann@example.test", "wrong")
        c.logout()
        c = imaplib.IMAP4_SSL("127.0.0.1", self.s.imaps, ssl_context=client_tls(self.s.cert))
        c.login("ann@example.test", PASSWORD)
        c.select("INBOX")
        tag = c._new_tag().decode()
        c.send(f"{tag} IDLE\r\n".encode())
        self.assertTrue(c.readline().startswith(b"+"))
        during, _, _ = scrape(port)
        self.assertEqual(value(during, "mailstead_imap_idle_sessions"), 1)
        self.assertEqual(value(during, "mailstead_authenticated_sessions", protocol="imap"), 1)
        c.send(b"DONE\r\n")
        self.assertIn(b"OK", c.readline())
        self.assertEqual(value(scrape(port)[0], "mailstead_imap_idle_sessions"), 0)
        c.logout()
        after, types, text = scrape(port)
        self.assertMoved(before, after, "mailstead_logins_total", 1, protocol="imap", result="ok")
        self.assertMoved(before, after, "mailstead_logins_total", 1, protocol="imap", result="failed")
        self.assertMoved(before, after, "mailstead_tls_handshakes_total", 2, result="ok")
        self.assertMoved(before, after, "mailstead_connections_total", 2, listener="imaps",
                         address=f"127.0.0.1:{self.s.imaps}")
        wait_until(lambda: value(scrape(port)[0], "mailstead_authenticated_sessions", protocol="imap") == 0,
                   what="the IMAP session gauge at 0")
        # A client that connects and never finishes its TLS handshake.
        with socket.create_connection(("127.0.0.1", self.s.imaps), timeout=10) as s:
            s.sendall(b"this is not TLS\r\n")
            # The server's alert, then its end: it reads what we sent before it closes, so
            # we see no reset.
            while s.recv(100):
                pass
        wait_until(lambda: value(scrape(port)[0], "mailstead_tls_handshakes_total", result="failed")
                   == value(before, "mailstead_tls_handshakes_total", result="failed") + 1,
                   what="the failed handshake counted")
        self.check_format(text, types)
        self.check_malformed_then_serving(port)

    def test_sieved_counts_logins(self):
        port = self.ports["sieved"]
        before, _, _ = scrape(port)
        m = ManageSieve(self.s.sieve, self.s.cert)
        m.starttls()
        self.assertTrue(m.login("ann@example.test", "wrong")[-1].startswith(b"NO"))
        self.assertTrue(m.login("ann@example.test", PASSWORD)[-1].startswith(b"OK"))
        self.assertEqual(value(scrape(port)[0], "mailstead_authenticated_sessions", protocol="sieve"), 1)
        m.cmd("LOGOUT")
        m.sock.close()
        after, types, text = scrape(port)
        self.assertMoved(before, after, "mailstead_logins_total", 1, protocol="sieve", result="ok")
        self.assertMoved(before, after, "mailstead_logins_total", 1, protocol="sieve", result="failed")
        self.assertMoved(before, after, "mailstead_tls_handshakes_total", 1, result="ok")
        self.assertMoved(before, after, "mailstead_connections_total", 1, listener="managesieve",
                         address=f"127.0.0.1:{self.s.sieve}")
        self.check_format(text, types)
        self.check_malformed_then_serving(port)


class DeliveryMetrics(MetricsCase):
    @classmethod
    def setUpClass(cls):
        cls.port, cls.metrics = free_ports(2)
        cls.sinks = {"ok": SmtpSink("127.0.0.1", cls.port), "hard": SmtpSink("127.0.0.2", cls.port, ["-f", "rcpt"]),
                     "soft": SmtpSink("127.0.0.3", cls.port, ["-r", "rcpt"])}
        records = []
        for i, name in enumerate(["ok", "hard", "soft"]):
            records += [("mx-host", f"{name}.test,mx.{name}.test,10"), ("host-record", f"mx.{name}.test,127.0.0.{i + 1}")]
        cls.dns = Dnsmasq(["ok.test", "hard.test", "soft.test"], records)
        # A long retry_base: the deferred recipient is tried exactly once during the test.
        cls.suite = Suite(top_toml=f'[dns]\nnameservers = ["{cls.dns.address}"]\n'
                                   f'[outbound]\nmx_port = {cls.port}\nretry_base = "1h"\n'
                                   f'poll_interval = "100ms"\nconnect_timeout = "5s"\n'
                                   f'metrics_listen = ["127.0.0.1:{cls.metrics}"]\n')
        cls.suite.cli("domain", "add", "local.test")
        cls.suite.cli("user", "add", "alice@local.test", "--password-stdin", stdin=PASSWORD + "\n")
        cls.suite.start("smtpd")
        cls.log = open(os.path.join(cls.suite.instance.dir, "deliverd.log"), "w+")
        cls.deliverd = subprocess.Popen([binary("mailstead-deliverd"), "--config", cls.suite.instance.config],
                                        stdout=cls.log, stderr=cls.log)
        wait_port(cls.metrics)

    @classmethod
    def tearDownClass(cls):
        if cls.deliverd.poll() is None:
            cls.deliverd.terminate()
            cls.deliverd.wait(timeout=20)
        cls.log.close()
        cls.suite.cleanup()
        for s in cls.sinks.values():
            s.stop()
        cls.dns.stop()

    def submit(self, to, subject):
        with smtplib.SMTP("127.0.0.1", self.suite.submission, timeout=30) as c:
            c.starttls(context=client_tls(self.suite.cert))
            c.login("alice@local.test", PASSWORD)
            c.sendmail("alice@local.test", to, f"From: alice@local.test\r\nSubject: {subject}\r\n\r\nhi\r\n")

    def test_delivered_deferred_bounced_and_queue_depth(self):
        before, _, _ = scrape(self.metrics)
        self.assertEqual(value(before, "mailstead_queue_depth"), 0)
        self.submit(["a@ok.test"], "to the sink")
        self.submit(["b@hard.test"], "refused for good")
        self.submit(["c@soft.test"], "refused for now")
        wait_until(lambda: self.sinks["ok"].messages(), what="the message at the sink")
        # The hard refusal's DSN comes back to alice through the local short-cut: a second
        # delivered recipient. The soft one stays queued.
        total = lambda s: sum(value(s, "mailstead_delivery_recipients_total", result=r)
                              for r in ("delivered", "deferred", "bounced"))
        after = wait_until(lambda: (lambda s: s if total(s) - total(before) >= 4 else None)(scrape(self.metrics)[0]),
                           what="four recipient outcomes")
        time.sleep(0.5)  # nothing more may come
        after, types, text = scrape(self.metrics)
        self.assertMoved(before, after, "mailstead_delivery_recipients_total", 2, result="delivered")
        self.assertMoved(before, after, "mailstead_delivery_recipients_total", 1, result="bounced")
        self.assertMoved(before, after, "mailstead_delivery_recipients_total", 1, result="deferred")
        self.assertEqual(value(after, "mailstead_queue_depth"), 1)
        self.assertEqual(types["mailstead_queue_depth"], "gauge")
        self.check_format(text, types)
        self.check_malformed_then_serving(self.metrics)


if __name__ == "__main__":
    unittest.main()
