"""common/dns against a real DNS server: `mailstead dns lookup` (the resolver the delivery
service uses) asks dnsmasq on a loopback port for MX, A, AAAA, TXT, PTR and TLSA records,
and reports NXDOMAIN, NODATA, SERVFAIL and timeouts as such."""
import unittest

from helpers import Instance
from peers import Dnsmasq, SilentDns


class DnsLookup(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dns = Dnsmasq(["example.test", "nomail.test", "2.0.192.in-addr.arpa"], [
            ("mx-host", "example.test,mx1.example.test,10"),
            ("mx-host", "example.test,mx2.example.test,20"),
            ("host-record", "mx1.example.test,127.0.0.1,::1"),
            ("host-record", "mx2.example.test,127.0.0.2"),
            ("txt-record", "example.test,v=spf1 ip4:127.0.0.1 -all"),
            ("txt-record", "sel._domainkey.example.test,v=DKIM1; k=rsa; p=MIIB"),
            ("ptr-record", "7.2.0.192.in-addr.arpa,mail.example.test"),
            ("dns-rr", "nomail.test,15,000000"),  # null MX: preference 0, root
            ("dns-rr", "_25._tcp.mx1.example.test,52,0301012a2b2c"),
        ], ttl=120)
        cls.instance = Instance(f'[dns]\nnameservers = ["{cls.dns.address}"]\ntimeout = "500ms"\ntries = 1\n')

    @classmethod
    def tearDownClass(cls):
        cls.dns.stop()
        cls.instance.cleanup()

    def lookup(self, rtype, name, instance=None):
        return (instance or self.instance).cli_json("dns", "lookup", rtype, name)

    def test_mx_sorted_with_ttl(self):
        a = self.lookup("MX", "Example.Test.")
        self.assertEqual(a["status"], "ok")
        self.assertEqual(a["records"], ["10 mx1.example.test", "20 mx2.example.test"])
        self.assertEqual(a["ttl"], 120)
        self.assertFalse(a["authenticated"])  # dnsmasq does not validate: DANE must not trust it

    def test_addresses_v4_and_v6(self):
        self.assertEqual(self.lookup("A", "mx1.example.test")["records"], ["127.0.0.1"])
        self.assertEqual(self.lookup("AAAA", "mx1.example.test")["records"], ["::1"])

    def test_txt_ptr_tlsa(self):
        self.assertEqual(self.lookup("TXT", "example.test")["records"], ["v=spf1 ip4:127.0.0.1 -all"])
        self.assertEqual(self.lookup("TXT", "sel._domainkey.example.test")["records"], ["v=DKIM1; k=rsa; p=MIIB"])
        self.assertEqual(self.lookup("PTR", "192.0.2.7")["records"], ["mail.example.test"])
        self.assertEqual(self.lookup("TLSA", "_25._tcp.mx1.example.test")["records"], ["3 1 1 2a2b2c"])

    def test_null_mx(self):
        self.assertEqual(self.lookup("MX", "nomail.test")["records"], ["0 ."])

    def test_negative_answers(self):
        self.assertEqual(self.lookup("A", "nothere.example.test")["status"], "nxdomain")
        self.assertEqual(self.lookup("AAAA", "mx2.example.test")["status"], "nodata")

    def test_unknown_type_is_usage_error(self):
        p = self.instance.cli("dns", "lookup", "ANY", "example.test", check=False)
        self.assertEqual(p.returncode, 2)
        self.assertIn("TYPE is one of", p.stderr)

    def test_timeout_is_reported(self):
        silent = SilentDns()
        inst = Instance(f'[dns]\nnameservers = ["{silent.address}"]\ntimeout = "300ms"\ntries = 1\n')
        try:
            p = inst.cli("dns", "lookup", "MX", "example.test", "--json", check=False)
            self.assertEqual(p.returncode, 1)
            self.assertIn('"status":"timeout"', p.stdout)
        finally:
            silent.stop()
            inst.cleanup()

    def test_bad_nameserver_is_a_config_error(self):
        inst = Instance('[dns]\nnameservers = ["127.0.0.1"]\n')
        try:
            p = inst.cli("dns", "lookup", "MX", "example.test", check=False)
            self.assertEqual(p.returncode, 78)
            self.assertIn("dns.nameservers", p.stderr)
        finally:
            inst.cleanup()


if __name__ == "__main__":
    unittest.main()
