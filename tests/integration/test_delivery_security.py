"""MTA-STS (RFC 8461) and DANE (RFC 7672) in mailstead-deliverd, with real peers on loopback:
a CA the test makes with openssl, receiving MX servers with STARTTLS (aiosmtpd), the policies
served over HTTPS by Python's http.server, dnsmasq for the MX/A/TXT records (started again with
a new TXT id), and for DANE a DNS responder that sets the AD bit (a stand-in for a validating
resolver) serving TLSA records computed from the test's certificates."""
import os
import signal
import smtplib
import subprocess
import time
import unittest

from helpers import Suite, binary, client_tls, free_ports
from peers import Dnsmasq, wait_until
from tls_peers import AdDns, PolicyServer, TestCa, TlsMx

PASSWORD = "correct horse battery"


def policy(mode, mx, max_age=86400, extra=""):
    return "version: STSv1\r\nmode: " + mode + "\r\n" + "".join(f"mx: {m}\r\n" for m in mx) + \
        f"max_age: {max_age}\r\n" + extra


class DeliverdCase(unittest.TestCase):
    """smtpd for submission and a deliverd process of our own, to restart at will."""

    @classmethod
    def start_suite(cls, top_toml):
        cls.suite = Suite(top_toml=top_toml)
        cls.suite.cli("domain", "add", "local.test")
        cls.suite.cli("user", "add", "alice@local.test", "--password-stdin", stdin=PASSWORD + "\n")
        cls.suite.start("smtpd")
        cls.deliverd_log = open(os.path.join(cls.suite.instance.dir, "deliverd.log"), "w+")
        cls.deliverd = None
        cls.start_deliverd()

    @classmethod
    def start_deliverd(cls):
        wrap = os.environ.get("MAILSTEAD_TEST_WRAP", "").split()
        cls.deliverd = subprocess.Popen(wrap + [binary("mailstead-deliverd"), "--config", cls.suite.instance.config],
                                        stdout=cls.deliverd_log, stderr=cls.deliverd_log)

    @classmethod
    def stop_deliverd(cls):
        if cls.deliverd and cls.deliverd.poll() is None:
            cls.deliverd.send_signal(signal.SIGTERM)
            cls.deliverd.wait(timeout=30)

    @classmethod
    def stop_suite(cls):
        cls.stop_deliverd()
        if os.environ.get("MAILSTEAD_TEST_LOGS"):
            cls.deliverd_log.seek(0)
            print(cls.deliverd_log.read()[-20000:])
        cls.deliverd_log.close()
        cls.suite.cleanup()

    def deliverd_says(self):
        self.deliverd_log.flush()
        with open(self.deliverd_log.name) as f:
            return f.read()

    def submit(self, to, subject):
        msg = (f"From: alice@local.test\r\nTo: {to}\r\nSubject: {subject}\r\n"
               f"Message-ID: <{subject.replace(' ', '-')}@local.test>\r\n\r\nHello.\r\n")
        with smtplib.SMTP("127.0.0.1", self.suite.submission, timeout=30) as c:
            c.starttls(context=client_tls(self.suite.cert))
            c.login("alice@local.test", PASSWORD)
            c.sendmail("alice@local.test", [to], msg)

    def arrived(self, subject):
        """The message with `subject` as the MX server got it (waits for it)."""
        got = wait_until(lambda: [m for m in self.mx.messages() if f"Subject: {subject}" in m["message"]],
                         what=f"'{subject}' at the MX")
        return got[0]

    def log_entry(self, recipient, result=None):
        def find():
            entries = [e for e in self.suite.instance.cli_json("queue", "log") if e["recipient"] == recipient and
                       (result is None or e["result"] == result)]
            return entries[-1] if entries else None
        return wait_until(find, what=f"a send log entry for {recipient}")

    def deferred(self, recipient):
        """The queue state of `recipient` once it has been deferred; the message is then removed."""
        def find():
            for q in self.suite.instance.cli_json("queue", "list"):
                for st in q["states"]:
                    if st["address"] == recipient and st["state"] == "deferred" and st["attempts"] >= 1:
                        return q["id"], st
        qid, st = wait_until(find, what=f"{recipient} deferred")
        self.suite.cli("queue", "delete", str(qid))
        return st

    def never_sent(self, recipient):
        """No server ever got a RCPT (or the message) for `recipient`: nothing went in clear."""
        self.assertFalse([e for e in self.mx.events() if e["cmd"] == "RCPT" and recipient in e["arg"]], self.mx.events())
        self.assertFalse([m for m in self.mx.messages() if recipient in m["rcpt_tos"]])


class MtaSts(DeliverdCase):
    @classmethod
    def setUpClass(cls):
        cls.ca = TestCa()
        cls.port, cls.https_port = free_ports(2)
        good = cls.ca.issue(["mx.enforce.test", "mx.notlisted.test", "mx.cached.test", "mx.big.test"])
        wrong = cls.ca.issue(["other.test"])  # valid, but for another name
        cls.mx = TlsMx(cls.port, [("127.0.0.1", *good), ("127.0.0.2", *wrong)])
        cls.domains = ["enforce.test", "wrongname.test", "notlisted.test", "testing.test", "cached.test",
                       "idchange.test", "big.test"]
        cls.https = PolicyServer(cls.https_port, *cls.ca.issue([f"mta-sts.{d}" for d in cls.domains]))
        cls.https.set("mta-sts.enforce.test", policy("enforce", ["mx.enforce.test"]))
        cls.https.set("mta-sts.wrongname.test", policy("enforce", ["mx.wrongname.test"]))
        cls.https.set("mta-sts.notlisted.test", policy("enforce", ["*.elsewhere.test"]))
        cls.https.set("mta-sts.testing.test", policy("testing", ["mx.testing.test"]))
        cls.https.set("mta-sts.cached.test", policy("enforce", ["*.cached.test"], max_age=12))
        cls.https.set("mta-sts.idchange.test", policy("testing", ["mx.idchange.test"]))
        # Over the configured 4096-byte limit: an enforce policy that would refuse the MX.
        cls.https.set("mta-sts.big.test", policy("enforce", ["mx.nowhere.test"], extra="x_pad: " + "p" * 5000 + "\r\n"))
        cls.txt_ids = {d: "id1" for d in cls.domains}
        cls.dns = Dnsmasq(cls.domains + ["elsewhere.test"], cls.records(), ttl=1)
        cls.start_suite(f'[dns]\nnameservers = ["{cls.dns.address}"]\n'
                        f'[outbound]\nmx_port = {cls.port}\nretry_base = "1s"\nretry_max = "2s"\n'
                        'poll_interval = "100ms"\nconnect_timeout = "5s"\n'
                        f'mta_sts_https_port = {cls.https_port}\nmta_sts_ca_file = "{cls.ca.cert}"\n'
                        'mta_sts_max_policy_size = 4096\n')

    @classmethod
    def records(cls):
        ips = {"enforce.test": 1, "wrongname.test": 2, "notlisted.test": 1, "testing.test": 2, "cached.test": 1,
               "idchange.test": 2, "big.test": 1}
        out = []
        for d in cls.domains:
            out += [("mx-host", f"{d},mx.{d},10"), ("host-record", f"mx.{d},127.0.0.{ips[d]}"),
                    ("host-record", f"mta-sts.{d},127.0.0.1"), ("txt-record", f"_mta-sts.{d},v=STSv1; id={cls.txt_ids[d]}")]
        return out

    @classmethod
    def tearDownClass(cls):
        cls.stop_suite()
        cls.mx.stop()
        cls.https.cleanup()
        cls.dns.stop()
        cls.ca.cleanup()

    def test_enforce_with_a_valid_certificate_delivers_over_tls(self):
        self.submit("a@enforce.test", "enforce ok")
        m = self.arrived("enforce ok")
        self.assertTrue(m["tls"])
        e = self.log_entry("a@enforce.test", "delivered")
        self.assertEqual(e["security"], "mta-sts enforce id=id1")
        self.assertTrue(e["tls"].startswith("TLSv1."), e)
        text = self.suite.cli("queue", "log").stdout
        self.assertIn("[mta-sts enforce id=id1]", text)

    def test_enforce_with_a_certificate_for_another_name_defers_and_sends_nothing(self):
        self.submit("b@wrongname.test", "enforce wrong name")
        st = self.deferred("b@wrongname.test")
        self.assertTrue(st["last_reply"].startswith("4.4.1 TLS handshake with mx.wrongname.test"), st)
        self.assertIn("certificate verify failed", st["last_reply"])
        self.assertIn("TLS required by mta-sts enforce id=id1", st["last_reply"])
        e = self.log_entry("b@wrongname.test", "deferred")
        self.assertEqual(e["security"], "mta-sts enforce id=id1")
        self.never_sent("b@wrongname.test")

    def test_enforce_with_an_mx_not_in_the_policy_defers(self):
        self.submit("c@notlisted.test", "enforce not listed")
        st = self.deferred("c@notlisted.test")
        self.assertIn("4.7.5 the MX host mx.notlisted.test is not listed in the MTA-STS policy", st["last_reply"])
        self.never_sent("c@notlisted.test")

    def test_testing_mode_delivers_and_reports_what_enforce_would_refuse(self):
        self.submit("d@testing.test", "testing bad cert")
        m = self.arrived("testing bad cert")
        self.assertEqual(m["server"], "127.0.0.2")
        self.assertTrue(m["tls"])
        e = self.log_entry("d@testing.test", "delivered")
        self.assertTrue(e["security"].startswith("mta-sts testing id=id1: enforce would refuse: certificate:"), e)
        self.assertIn("hostname mismatch", e["security"])
        self.assertIn("event=mta_sts.testing.would_fail", self.deliverd_says())

    def test_policy_is_cached_in_the_store_until_max_age(self):
        self.submit("e@cached.test", "cached 1")
        self.arrived("cached 1")
        fetched_at = time.monotonic()
        self.assertEqual(self.log_entry("e@cached.test", "delivered")["security"], "mta-sts enforce id=id1")
        self.assertEqual(self.https.requests("mta-sts.cached.test"), 1)
        self.https.stop()
        try:
            # A new process: only the store remembers the policy.
            self.stop_deliverd()
            self.start_deliverd()
            self.submit("f@cached.test", "cached 2")
            self.arrived("cached 2")
            self.assertEqual(self.log_entry("f@cached.test", "delivered")["security"], "mta-sts enforce id=id1 (cached)")
            self.assertLess(time.monotonic() - fetched_at, 12, "too slow to show the cache before max_age")
            # max_age (12 s) over and the policy server still down: no policy applies any more.
            time.sleep(max(0.0, 13 - (time.monotonic() - fetched_at)))
            self.submit("g@cached.test", "cached 3")
            self.arrived("cached 3")
            self.assertEqual(self.log_entry("g@cached.test", "delivered")["security"], "")
            self.assertIn("event=mta_sts.fetch.failed domain=cached.test", self.deliverd_says())
        finally:
            self.https.start()

    def test_a_new_txt_id_makes_the_policy_fetched_again(self):
        self.submit("h@idchange.test", "id 1")
        self.arrived("id 1")
        self.assertEqual(self.log_entry("h@idchange.test", "delivered")["security"].split(":")[0],
                         "mta-sts testing id=id1")
        # The policy changes on the server but the id does not: the cached one still applies.
        self.https.set("mta-sts.idchange.test", policy("enforce", ["mx.idchange.test"]))
        self.submit("i@idchange.test", "id 2")
        self.arrived("id 2")
        self.assertEqual(self.log_entry("i@idchange.test", "delivered")["security"].split(":")[0],
                         "mta-sts testing id=id1 (cached)")
        self.assertEqual(self.https.requests("mta-sts.idchange.test"), 1)
        # A new id in DNS: fetched again, now enforce, and the wrong certificate defers.
        type(self).txt_ids["idchange.test"] = "id2"
        port = self.dns.port
        self.dns.stop()
        type(self).dns = Dnsmasq(self.domains + ["elsewhere.test"], self.records(), ttl=1, port=port)
        time.sleep(1.5)  # the resolver's cached TXT (TTL 1 s) runs out
        self.submit("j@idchange.test", "id 3")
        st = self.deferred("j@idchange.test")
        self.assertIn("TLS required by mta-sts enforce id=id2", st["last_reply"])
        self.assertEqual(self.https.requests("mta-sts.idchange.test"), 2)
        self.never_sent("j@idchange.test")

    def test_a_policy_over_the_size_limit_is_not_used(self):
        self.submit("k@big.test", "too big")
        self.arrived("too big")
        self.assertEqual(self.log_entry("k@big.test", "delivered")["security"], "")
        self.assertIn("larger than 4096 bytes", self.deliverd_says())


class Dane(DeliverdCase):
    @classmethod
    def setUpClass(cls):
        cls.ca = TestCa()
        cls.port = free_ports(1)[0]
        # A self-signed certificate whose name matches nothing: DANE-EE(3) pins its key.
        cert, key = cls.ca.issue(["unrelated.invalid"], self_signed=True)
        # DANE-TA(2): a certificate from the test CA for mx.dane-ta.test, sent with the CA.
        ta_cert, ta_key = cls.ca.issue(["mx.dane-ta.test"])
        cls.mx = TlsMx(cls.port, [("127.0.0.3", cert, key), ("127.0.0.4", cls.ca.chain(ta_cert), ta_key)])
        spki = TestCa.spki_sha256(cert)
        records, secure = {}, set()
        ips = {"ta": "127.0.0.4", "tawrongname": "127.0.0.4"}
        for d in ("ok", "bad", "noad", "unusable", "servfail", "sts", "ta", "tawrongname"):
            host = f"mx.dane-{d}.test"
            records[(f"dane-{d}.test", "MX")] = [(10, host)]
            records[(host, "A")] = [ips.get(d, "127.0.0.3")]
            secure |= {(f"dane-{d}.test", "MX"), (host, "A")}
        tlsa = lambda d: f"_{cls.port}._tcp.mx.dane-{d}.test"
        records[(tlsa("ok"), "TLSA")] = [(3, 1, 1, spki)]
        records[(tlsa("bad"), "TLSA")] = [(3, 1, 1, bytes(32))]
        records[(tlsa("noad"), "TLSA")] = [(3, 1, 1, bytes(32))]
        records[(tlsa("unusable"), "TLSA")] = [(1, 1, 1, spki), (3, 1, 1, b"short")]
        records[(tlsa("sts"), "TLSA")] = [(3, 1, 1, spki)]
        records[(tlsa("ta"), "TLSA")] = [(2, 0, 1, cls.ca.cert_sha256())]
        records[(tlsa("tawrongname"), "TLSA")] = [(2, 0, 1, cls.ca.cert_sha256())]
        secure |= {(tlsa(d), "TLSA") for d in ("ok", "bad", "unusable", "sts", "ta", "tawrongname")}
        # dane-sts.test also has an MTA-STS policy in enforce mode that lists another MX.
        cls.https_port = free_ports(1)[0]
        cls.https = PolicyServer(cls.https_port, *cls.ca.issue(["mta-sts.dane-sts.test"]))
        cls.https.set("mta-sts.dane-sts.test", policy("enforce", ["*.elsewhere.test"]))
        records[("mta-sts.dane-sts.test", "A")] = ["127.0.0.1"]
        records[("_mta-sts.dane-sts.test", "TXT")] = ["v=STSv1; id=d1"]
        cls.dns = AdDns(records, authenticated=secure, servfail={(tlsa("servfail"), "TLSA")})
        cls.start_suite(f'[dns]\nnameservers = ["{cls.dns.address}"]\n'
                        f'[outbound]\nmx_port = {cls.port}\nretry_base = "1s"\nretry_max = "2s"\n'
                        'poll_interval = "100ms"\nconnect_timeout = "5s"\n'
                        f'mta_sts_https_port = {cls.https_port}\nmta_sts_ca_file = "{cls.ca.cert}"\n')

    @classmethod
    def tearDownClass(cls):
        cls.stop_suite()
        cls.mx.stop()
        cls.https.cleanup()
        cls.dns.stop()
        cls.ca.cleanup()

    def test_dane_takes_precedence_over_mta_sts(self):
        # The MTA-STS policy (enforce, another MX) alone would defer; DANE authenticates the host.
        self.submit("f@dane-sts.test", "dane over sts")
        m = self.arrived("dane over sts")
        self.assertTrue(m["tls"])
        self.assertEqual(self.log_entry("f@dane-sts.test", "delivered")["security"], "dane")
        self.assertEqual(self.https.requests("mta-sts.dane-sts.test"), 1)  # the policy was fetched, and set aside

    def test_dane_ta_checks_the_chain_and_the_mx_name(self):
        self.submit("g@dane-ta.test", "dane ta")
        m = self.arrived("dane ta")
        self.assertEqual(m["server"], "127.0.0.4")
        self.assertEqual(self.log_entry("g@dane-ta.test", "delivered")["security"], "dane")
        # The same trust anchor, but the certificate does not name this MX host: DANE-TA(2)
        # checks names (RFC 7672 3.2.3), unlike DANE-EE(3).
        self.submit("h@dane-tawrongname.test", "dane ta wrong name")
        st = self.deferred("h@dane-tawrongname.test")
        self.assertIn("TLS required by dane", st["last_reply"])
        self.never_sent("h@dane-tawrongname.test")

    def test_matching_tlsa_delivers_to_a_self_signed_certificate(self):
        self.submit("a@dane-ok.test", "dane ok")
        m = self.arrived("dane ok")
        self.assertTrue(m["tls"])
        e = self.log_entry("a@dane-ok.test", "delivered")
        self.assertEqual(e["security"], "dane")

    def test_tlsa_that_does_not_match_defers_and_sends_nothing(self):
        self.submit("b@dane-bad.test", "dane bad")
        st = self.deferred("b@dane-bad.test")
        self.assertIn("certificate verify failed", st["last_reply"])
        self.assertIn("TLS required by dane", st["last_reply"])
        self.never_sent("b@dane-bad.test")

    def test_tlsa_without_the_ad_bit_is_ignored(self):
        self.submit("c@dane-noad.test", "dane no ad")
        self.arrived("dane no ad")
        self.assertEqual(self.log_entry("c@dane-noad.test", "delivered")["security"], "")

    def test_only_unusable_tlsa_records_mean_encryption_without_authentication(self):
        self.submit("d@dane-unusable.test", "dane unusable")
        m = self.arrived("dane unusable")
        self.assertTrue(m["tls"])
        self.assertEqual(self.log_entry("d@dane-unusable.test", "delivered")["security"],
                         "dane (no usable TLSA record: encrypted, not authenticated)")

    def test_a_failed_tlsa_lookup_defers(self):
        self.submit("e@dane-servfail.test", "dane servfail")
        st = self.deferred("e@dane-servfail.test")
        self.assertIn("4.7.5 the TLSA lookup of", st["last_reply"])
        self.never_sent("e@dane-servfail.test")


if __name__ == "__main__":
    unittest.main()
