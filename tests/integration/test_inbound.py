"""The MX's inbound protections (docs/inbound.md) against a real dnsmasq on a loopback port
serving test zones: a DNSBL that lists 127.0.0.2 with a TXT reason (the test connects FROM
127.0.0.2, binding its source address), PTR records that confirm and one that does not,
a DNS server that never answers (fail open in bounded time), the block and allow lists
managed with the `mailstead` CLI, the per-IP connection rate and greylisting."""
import json
import re
import socket
import smtplib
import time
import unittest

from adminapi import AdminApi
from helpers import SmtpServer
from peers import Dnsmasq

MSG = b"From: a@sender.example\r\nTo: someone\r\nSubject: inbound\r\n\r\nhello\r\n"


def dns_records():
    return [
        # The DNSBL: 127.0.0.2 listed in bl.test (weight 2) with a reason; 127.0.0.4 only in
        # weak.test (weight 1, under the threshold of 2).
        ("address", "/2.0.0.127.bl.test/127.0.0.2"),
        ("txt-record", "2.0.0.127.bl.test,Listed in bl.test for testing; see https://bl.test/?127.0.0.2"),
        ("address", "/4.0.0.127.weak.test/127.0.0.2"),
        # ::1 listed too, for the IPv6 reversal.
        ("address", f"/{V6_LISTED}.bl.test/127.0.0.2"),
        ("txt-record", f"{V6_LISTED}.bl.test,IPv6 listed in bl.test"),
        # Reverse DNS: 127.0.0.2 confirms (good.example.test has it back), 127.0.0.3 does not.
        ("ptr-record", "2.0.0.127.in-addr.arpa,good.example.test"),
        ("address", "/good.example.test/127.0.0.2"),
        ("ptr-record", "3.0.0.127.in-addr.arpa,liar.example.test"),
        ("address", "/liar.example.test/192.0.2.99"),
    ]


V6_LISTED = ".".join(reversed("0" * 31 + "1"))  # ::1, nibble by nibble (RFC 5782 2.4)


def dns_zones():
    return ["bl.test", "weak.test", "example.test", "0.0.127.in-addr.arpa", "ip6.arpa"]


def smtp_from(server, source, helo="good.example.test"):
    c = smtplib.SMTP("127.0.0.1", server.mx, timeout=20, source_address=(source, 0))
    c.ehlo(helo)
    return c


def send(server, source, rcpt, sender="a@sender.example", helo="good.example.test"):
    """MAIL, RCPT and (when accepted) DATA; returns the RCPT reply (code, text)."""
    c = smtp_from(server, source, helo)
    try:
        code, text = c.mail(sender)
        assert code == 250, (code, text)
        code, text = c.rcpt(rcpt)
        if code == 250:
            dcode, dtext = c.data(MSG)
            assert dcode == 250, (dcode, dtext)
        return code, text.decode()
    finally:
        c.quit()


def last_message(server, user):
    msgs = server.messages(user)
    assert msgs, f"no message for {user}"
    return server.message(user, msgs[-1]["uid"]).decode()


def setup_users(server):
    server.cli("domain", "add", "example.test")
    for u in ("alice", "bob", "postmaster"):
        server.cli("user", "add", f"{u}@example.test", "--password", "pw-" + u + "-long-enough")


class DnsblAndLists(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dns = Dnsmasq(dns_zones(), dns_records())
        cls.s = SmtpServer(
            smtpd_toml='max_connection_rate_per_ip = 0\ntrusted_clients = ["127.0.0.1"]\n',
            top_toml=f'[dns]\nnameservers = ["{cls.dns.address}"]\n'
                     '[dnsbl]\nzones = ["bl.test:2", "weak.test:1"]\nthreshold = 2\ntimeout = "2s"\n')
        # The MX on ::1 too, so an IPv6 client is checked.
        with open(cls.s.instance.config) as f:
            text = f.read()
        v4 = f'mx_listen = ["127.0.0.1:{cls.s.mx}"]'
        with open(cls.s.instance.config, "w") as f:
            f.write(text.replace(v4, f'mx_listen = ["127.0.0.1:{cls.s.mx}", "[::1]:{cls.s.mx}"]'))
        setup_users(cls.s)
        cls.s.start()

    @classmethod
    def tearDownClass(cls):
        cls.s.cleanup()
        cls.dns.stop()

    def test_listed_client_refused_with_the_zone_reason(self):
        before = len(self.s.messages("alice@example.test"))
        code, text = send(self.s, "127.0.0.2", "alice@example.test")
        self.assertEqual(code, 554, text)
        self.assertIn("5.7.1", text)
        self.assertIn("bl.test", text)
        self.assertIn("Listed in bl.test for testing", text)
        self.assertEqual(len(self.s.messages("alice@example.test")), before)
        self.assertIn("smtp.rcpt.dnsbl", self.s.logs())

    def test_ipv6_client_reversed_by_nibbles(self):
        c = smtplib.SMTP("::1", self.s.mx, timeout=20, source_address=("::1", 0))
        try:
            c.ehlo("v6.example.test")
            c.mail("a@sender.example")
            code, text = c.rcpt("alice@example.test")
            self.assertEqual(code, 554, text)
            self.assertIn("IPv6 listed in bl.test", text.decode())
            self.assertEqual(c.rcpt("postmaster@example.test")[0], 250)
        finally:
            c.quit()

    def test_postmaster_reachable_and_fcrdns_pass_recorded(self):
        code, text = send(self.s, "127.0.0.2", "postmaster@example.test")
        self.assertEqual(code, 250, text)
        m = last_message(self.s, "postmaster@example.test")
        self.assertIn("X-Mailstead-Iprev: iprev=pass policy.iprev=127.0.0.2 (good.example.test)", m)
        self.assertIn("X-Mailstead-Helo: helo=match (good.example.test)", m)
        self.assertIn("Received: from good.example.test (good.example.test [127.0.0.2])", m)
        # The same result as a method of our Authentication-Results field (RFC 8601 2.7.3).
        ar = re.search(r"Authentication-Results: [^\r\n]*(?:\r\n\t[^\r\n]*)*", m).group(0)
        self.assertIn("iprev=pass (good.example.test) policy.iprev=127.0.0.2", ar)

    def test_unlisted_client_accepted_and_fcrdns_fail_recorded(self):
        code, text = send(self.s, "127.0.0.3", "bob@example.test", helo="liar.example.test")
        self.assertEqual(code, 250, text)
        m = last_message(self.s, "bob@example.test")
        self.assertIn("X-Mailstead-Iprev: iprev=fail policy.iprev=127.0.0.3 (liar.example.test)", m)
        self.assertIn("X-Mailstead-Helo: helo=mismatch (liar.example.test)", m)
        self.assertIn("Received: from liar.example.test ([127.0.0.3])", m)

    def test_forged_trace_fields_are_removed(self):
        # A sender that writes our trace fields itself (any case, folded) must not pass for
        # a client with confirmed reverse DNS: only the fields this MX adds remain.
        forged = (b"From: a@sender.example\r\nTo: bob@example.test\r\nSubject: forged trace\r\n"
                  b"X-Mailstead-Iprev: iprev=pass policy.iprev=127.0.0.3 (bank.example)\r\n"
                  b"x-mailstead-helo:\r\n\thelo=match (bank.example)\r\n"
                  b"X-Other: kept\r\n\r\nhello\r\n")
        c = smtp_from(self.s, "127.0.0.3", "liar.example.test")
        try:
            self.assertEqual(c.mail("a@sender.example")[0], 250)
            self.assertEqual(c.rcpt("bob@example.test")[0], 250)
            code, text = c.data(forged)
            self.assertEqual(code, 250, text)
        finally:
            c.quit()
        m = last_message(self.s, "bob@example.test")
        self.assertIn("Subject: forged trace", m)
        self.assertNotIn("bank.example", m)
        self.assertEqual(m.lower().count("x-mailstead-iprev:"), 1, m)
        self.assertEqual(m.lower().count("x-mailstead-helo:"), 1, m)
        self.assertIn("X-Mailstead-Iprev: iprev=fail policy.iprev=127.0.0.3 (liar.example.test)", m)
        self.assertIn("X-Other: kept", m)
        self.assertIn("forged_trace_removed", self.s.logs())

    def test_weights_under_threshold_accepted(self):
        code, text = send(self.s, "127.0.0.4", "bob@example.test", helo="nodots")
        self.assertEqual(code, 250, text)
        m = last_message(self.s, "bob@example.test")
        self.assertIn("X-Mailstead-Iprev: iprev=fail policy.iprev=127.0.0.4 (no PTR record)", m)
        self.assertIn("X-Mailstead-Helo: helo=invalid (nodots)", m)

    def test_cli_lists_take_effect(self):
        s = self.s
        # An address, then its removal.
        s.cli("block", "add", "127.0.0.5", "--note", "a test")
        self.assertEqual(send(s, "127.0.0.5", "bob@example.test")[0], 554)
        s.cli("block", "remove", "127.0.0.5")
        self.assertEqual(send(s, "127.0.0.5", "bob@example.test")[0], 250)
        # A CIDR range.
        s.cli("block", "add", "127.0.1.0/24")
        code, text = send(s, "127.0.1.9", "bob@example.test")
        self.assertEqual(code, 554)
        self.assertIn("5.7.1", text)
        self.assertIn("blocklist", text)
        self.assertEqual(send(s, "127.0.2.9", "bob@example.test")[0], 250)
        # A sender domain (subdomains too) and a sender address.
        s.cli("block", "add", "@spam.example")
        self.assertEqual(send(s, "127.0.0.3", "bob@example.test", sender="x@mail.spam.example")[0], 554)
        self.assertEqual(send(s, "127.0.0.3", "bob@example.test", sender="x@notspam.example")[0], 250)
        s.cli("block", "add", "Bad@ok.example")
        self.assertEqual(send(s, "127.0.0.3", "bob@example.test", sender="bad@OK.example")[0], 554)
        self.assertEqual(send(s, "127.0.0.3", "bob@example.test", sender="good@ok.example")[0], 250)
        # Per user: alice blocks 127.0.0.6, bob still gets its mail.
        s.cli("block", "add", "127.0.0.6", "--user", "alice@example.test")
        code, text = send(s, "127.0.0.6", "alice@example.test")
        self.assertEqual(code, 554)
        self.assertIn("recipient", text)
        self.assertEqual(send(s, "127.0.0.6", "bob@example.test")[0], 250)
        # Per-user allow beats the global block: bob accepts the spam.example friend.
        s.cli("allow", "add", "friend@spam.example", "--user", "bob@example.test")
        self.assertEqual(send(s, "127.0.0.3", "bob@example.test", sender="friend@spam.example")[0], 250)
        self.assertEqual(send(s, "127.0.0.3", "alice@example.test", sender="friend@spam.example")[0], 554)
        # A global allow of a DNSBL-listed client skips the DNSBL.
        s.cli("allow", "add", "127.0.0.2")
        self.assertEqual(send(s, "127.0.0.2", "alice@example.test")[0], 250)
        s.cli("allow", "remove", "127.0.0.2")
        self.assertEqual(send(s, "127.0.0.2", "alice@example.test")[0], 554)
        # The lists as JSON, and the whole policy.
        blocks = s.instance.cli_json("block", "list")
        values = {(b["kind"], b["value"], b["user"]) for b in blocks}
        self.assertIn(("ip", "127.0.1.0/24", None), values)
        self.assertIn(("domain", "spam.example", None), values)
        self.assertIn(("address", "bad@ok.example", None), values)
        self.assertIn(("ip", "127.0.0.6", "alice@example.test"), values)
        policy = s.instance.cli_json("policy", "show")
        self.assertEqual(policy["dnsbl"]["zones"], [{"zone": "bl.test", "weight": 2}, {"zone": "weak.test", "weight": 1}])
        self.assertEqual(policy["dnsbl"]["threshold"], 2)
        self.assertFalse(policy["greylist"]["enabled"])
        self.assertEqual(len(policy["allowlist"]), 1)
        self.assertEqual(len(policy["blocklist"]), 4)  # 127.0.0.5 was removed

    def test_admin_api_routes(self):
        api = AdminApi(instance=self.s.instance).start()
        try:
            token = self.s.instance.cli_json("token", "create", "--name", "inbound")["token"]
            c = api.client(token=token)
            r = c.post("/api/v1/inbound-rules", {"list": "block", "value": "127.0.3.0/24", "note": "api"})
            self.assertEqual(r.status, 201, r)
            self.assertEqual(r.json["value"], "127.0.3.0/24")
            self.assertEqual(send(self.s, "127.0.3.5", "bob@example.test")[0], 554)
            self.assertIn("127.0.3.0/24", [x["value"] for x in c.get("/api/v1/inbound-rules").json])
            r = c.post("/api/v1/inbound-rules", {"list": "maybe", "value": "127.0.3.0/24"})
            self.assertEqual(r.status, 422, r)
            r = c.post("/api/v1/inbound-rules", {"list": "allow", "value": "not an address"})
            self.assertEqual(r.status, 422, r)
            self.assertEqual(c.delete("/api/v1/inbound-rules/block/127.0.3.0%2F24").status, 204)
            self.assertEqual(c.delete("/api/v1/inbound-rules/block/127.0.3.0%2F24").status, 404)
            self.assertEqual(send(self.s, "127.0.3.5", "bob@example.test")[0], 250)
            # The whole policy, as `policy show --json` gives it, with the rules in the API's shape.
            policy = c.get("/api/v1/policy")
            self.assertEqual(policy.status, 200, policy)
            self.assertEqual(policy.json["dnsbl"]["zones"], [{"zone": "bl.test", "weight": 2}, {"zone": "weak.test", "weight": 1}])
            self.assertEqual(policy.json["dnsbl"]["threshold"], 2)
            self.assertEqual(policy.json["trusted_clients"], ["127.0.0.1"])
            self.assertEqual(policy.json["spam"]["junk_threshold"], 5.0)
            self.assertEqual(policy.json["dmarc"]["arc"], "not verified")
            self.assertEqual(policy.json, {**self.s.instance.cli_json("policy", "show"),
                                           "allowlist": policy.json["allowlist"], "blocklist": policy.json["blocklist"]})
            self.assertEqual(len(policy.json["blocklist"]), len(self.s.instance.cli_json("block", "list")))
            self.assertEqual(api.client().get("/api/v1/policy").status, 401)
            c.close()
        finally:
            api.cleanup()

    def test_cli_errors(self):
        for bad in ("300.1.2.3", "127.0.0.0/33", "a b", "x@"):
            p = self.s.cli("block", "add", bad, check=False)
            self.assertEqual(p.returncode, 1, (bad, p.stderr))
            self.assertIn("mailstead:", p.stderr)
        p = self.s.cli("block", "remove", "192.0.2.1", check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("no block rule", p.stderr)
        p = self.s.cli("block", "add", "192.0.2.1", "--user", "nobody@example.test", check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("no user", p.stderr)
        p = self.s.cli("block", "frobnicate", check=False)
        self.assertEqual(p.returncode, 2)


class SilentDns:
    """A UDP socket on loopback that reads queries and never answers."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.address = f"127.0.0.1:{self.sock.getsockname()[1]}"

    def close(self):
        self.sock.close()


class FailOpen(unittest.TestCase):
    def test_dns_that_never_answers_fails_open_in_bounded_time(self):
        dns = SilentDns()
        # [dmarc] off: SPF's own look-ups would wait out their own timeouts at DATA.
        s = SmtpServer(top_toml=f'[dns]\nnameservers = ["{dns.address}"]\n'
                                '[dnsbl]\nzones = ["bl.test"]\ntimeout = "500ms"\n[dmarc]\nenabled = false\n')
        try:
            setup_users(s)
            s.start()
            c = smtp_from(s, "127.0.0.2")
            self.assertEqual(c.mail("a@sender.example")[0], 250)
            started = time.monotonic()
            code, text = c.rcpt("alice@example.test")
            took = time.monotonic() - started
            self.assertEqual(code, 250, text)
            self.assertEqual(c.data(MSG)[0], 250)
            c.quit()
            self.assertLess(took, 5.0)
            m = last_message(s, "alice@example.test")
            self.assertIn("X-Mailstead-Iprev: iprev=temperror policy.iprev=127.0.0.2", m)
            logs = s.logs()
            self.assertIn("smtp.dnsbl.failed_open", logs)
            self.assertIn("bl.test", logs)
            print(f"fail-open RCPT round trip with a silent DNS server: {took:.2f}s")
        finally:
            s.cleanup()
            dns.close()


    def test_dnsbl_that_fails_fails_open(self):
        # dnsmasq with no upstream refuses names outside its zones: the DNSBL zone fails
        # (REFUSED, as SERVFAIL) and the mail is accepted with a warning.
        dns = Dnsmasq(dns_zones(), dns_records())
        s = SmtpServer(top_toml=f'[dns]\nnameservers = ["{dns.address}"]\n'
                                '[dnsbl]\nzones = ["unserved.example"]\n')
        try:
            setup_users(s)
            s.start()
            code, text = send(s, "127.0.0.2", "alice@example.test")
            self.assertEqual(code, 250, text)
            self.assertIn("smtp.dnsbl.failed_open", s.logs())
            self.assertIn("unserved.example", s.logs())
            m = last_message(s, "alice@example.test")
            self.assertIn("iprev=pass policy.iprev=127.0.0.2 (good.example.test)", m)
        finally:
            s.cleanup()
            dns.stop()


class RateLimit(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.s = SmtpServer(smtpd_toml='max_connection_rate_per_ip = 3\n').start()

    @classmethod
    def tearDownClass(cls):
        cls.s.cleanup()

    def test_connection_rate_per_ip(self):
        for _ in range(3):
            c = socket.create_connection(("127.0.0.1", self.s.mx), timeout=10, source_address=("127.0.0.7", 0))
            self.assertTrue(c.recv(512).startswith(b"220 "))
            c.close()
        c = socket.create_connection(("127.0.0.1", self.s.mx), timeout=10, source_address=("127.0.0.7", 0))
        greeting = c.recv(512).decode()
        c.close()
        self.assertTrue(greeting.startswith("421 4.7.0 "), greeting)
        self.assertIn("Too many connections", greeting)
        # Another address has its own budget; trusted 127.0.0.1 is not limited.
        c = socket.create_connection(("127.0.0.1", self.s.mx), timeout=10, source_address=("127.0.0.8", 0))
        self.assertTrue(c.recv(512).startswith(b"220 "))
        c.close()
        for _ in range(5):
            c = socket.create_connection(("127.0.0.1", self.s.mx), timeout=10)
            self.assertTrue(c.recv(512).startswith(b"220 "))
            c.close()
        self.assertIn("smtp.connection.rate_limited", self.s.logs())


class Greylist(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dns = Dnsmasq(dns_zones(), dns_records())
        cls.s = SmtpServer(
            smtpd_toml='max_connection_rate_per_ip = 0\n',
            top_toml=f'[dns]\nnameservers = ["{cls.dns.address}"]\n[dnsbl]\nenabled = false\n'
                     '[greylist]\nenabled = true\ndelay = "2s"\nretry_window = "1h"\n')
        setup_users(cls.s)
        cls.s.start()

    @classmethod
    def tearDownClass(cls):
        cls.s.cleanup()
        cls.dns.stop()

    def test_greylisting_then_accepted_after_the_delay(self):
        code, text = send(self.s, "127.0.0.3", "alice@example.test", sender="first@grey.example")
        self.assertEqual(code, 451, text)
        self.assertIn("4.7.1", text)
        self.assertIn("Greylisted", text)
        time.sleep(0.5)
        self.assertEqual(send(self.s, "127.0.0.3", "alice@example.test", sender="first@grey.example")[0], 451)
        time.sleep(2.0)
        # The retry may come from a neighbour in the /24.
        code, text = send(self.s, "127.0.0.9", "alice@example.test", sender="first@grey.example")
        self.assertEqual(code, 250, text)
        self.assertIn("Subject: inbound", last_message(self.s, "alice@example.test"))
        # Remembered: the next message passes at once; another sender is greylisted.
        self.assertEqual(send(self.s, "127.0.0.3", "alice@example.test", sender="first@grey.example")[0], 250)
        self.assertEqual(send(self.s, "127.0.0.3", "alice@example.test", sender="other@grey.example")[0], 451)
        # Allowlisted senders bypass, as does the postmaster.
        self.s.cli("allow", "add", "@friend.example")
        self.assertEqual(send(self.s, "127.0.0.3", "alice@example.test", sender="x@friend.example")[0], 250)
        self.assertEqual(send(self.s, "127.0.0.3", "postmaster@example.test", sender="y@grey.example")[0], 250)
        self.assertGreaterEqual(self.s.instance.cli_json("policy", "show")["greylist"]["triplets"], 2)
