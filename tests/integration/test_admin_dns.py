"""A domain's DNS records over the admin API: what to publish (MX, SPF, DKIM from its keys,
DMARC, MTA-STS, TLS-RPT, autoconfig/autodiscover and SRV, PTR advice) and a live check of
each through the resolver ([dns] nameservers: dnsmasq on loopback) answering ok, missing or
mismatch with the value found. Also the MTA-STS policy served for mta-sts.<domain>."""
import unittest

from adminapi import AdminApi
from helpers import Instance, make_cert
from peers import Dnsmasq

ADMIN, PASSWORD = "boss@example.test", "boss password 123"


class DnsRecords(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        inst = Instance()
        make_cert(inst.data_dir)
        inst.cli("domain", "add", "example.test")
        ed = inst.cli_json("dkim", "generate", "example.test", "--selector", "ed", "--algorithm", "ed25519")
        cls.ed_txt = ed["txt"]
        records = [
            ("mx-host", "example.test,mail.example.test,10"),
            ("txt-record", "example.test,v=spf1 mx -all"),
            ("txt-record", "example.test,google-site-verification=abc"),
            ("txt-record", f"ed._domainkey.example.test,{cls.ed_txt}"),
            ("txt-record", "mail._domainkey.example.test,v=DKIM1; k=rsa; p=AAAAwrong"),
            ("txt-record", "_mta-sts.example.test,v=STSv1; id=old"),
            ("txt-record", "_smtp._tls.example.test,v=TLSRPTv1; rua=mailto:tls@example.test"),
            ("host-record", "mail.example.test,127.0.0.1"),
            ("host-record", "other.example.test,127.0.0.2"),
            ("cname", "mta-sts.example.test,mail.example.test"),
            ("cname", "autoconfig.example.test,other.example.test"),
            ("srv-host", "_imaps._tcp.example.test,mail.example.test,993,0,1"),
            ("srv-host", "_submission._tcp.example.test,other.example.test,25,0,1"),
        ]
        cls.dns = Dnsmasq(["example.test"], records)
        with open(inst.config, "a") as f:
            f.write(f'[dns]\nnameservers = ["{cls.dns.address}"]\ntimeout = "2s"\n')
        cls.api = AdminApi(instance=inst)
        cls.api.user(ADMIN, PASSWORD, admin=True)
        cls.api.start()
        cls.c = cls.api.client()
        assert cls.c.login(ADMIN, PASSWORD).status == 200

    @classmethod
    def tearDownClass(cls):
        cls.c.close()
        cls.api.cleanup()
        cls.api.instance.cleanup()
        cls.dns.stop()

    def test_the_records_to_publish(self):
        r = self.c.get("/api/v1/domains/example.test/dns")
        self.assertEqual(r.status, 200, r)
        by = {(x["kind"], x["name"], x["type"]): x for x in r.json}
        self.assertEqual(by[("mx", "example.test", "MX")]["value"], "10 mail.example.test.")
        self.assertEqual(by[("spf", "example.test", "TXT")]["value"], "v=spf1 mx -all")
        self.assertEqual(by[("dkim", "ed._domainkey.example.test", "TXT")]["value"], self.ed_txt)
        self.assertTrue(by[("dkim", "mail._domainkey.example.test", "TXT")]["value"].startswith("v=DKIM1; k=rsa; p="))
        self.assertTrue(by[("dmarc", "_dmarc.example.test", "TXT")]["value"].startswith("v=DMARC1; p="))
        self.assertTrue(by[("mta-sts", "_mta-sts.example.test", "TXT")]["value"].startswith("v=STSv1; id="))
        self.assertEqual(by[("mta-sts", "mta-sts.example.test", "CNAME")]["value"], "mail.example.test.")
        self.assertTrue(by[("tls-rpt", "_smtp._tls.example.test", "TXT")]["value"].startswith("v=TLSRPTv1; rua=mailto:"))
        self.assertEqual(by[("autoconfig", "autoconfig.example.test", "CNAME")]["value"], "mail.example.test.")
        self.assertEqual(by[("autodiscover", "autodiscover.example.test", "CNAME")]["value"], "mail.example.test.")
        self.assertEqual(by[("srv", "_imaps._tcp.example.test", "SRV")]["value"], "0 1 993 mail.example.test.")
        self.assertEqual(by[("srv", "_submissions._tcp.example.test", "SRV")]["value"], "0 1 465 mail.example.test.")
        self.assertEqual(by[("ptr", "mail.example.test", "PTR")]["value"], "mail.example.test.")

    def test_the_live_check(self):
        r = self.c.get("/api/v1/domains/example.test/dns/check")
        self.assertEqual(r.status, 200, r)
        by = {(x["kind"], x["name"], x["type"]): x for x in r.json}

        def status(kind, name, type_):
            x = by[(kind, name, type_)]
            return x["status"], x["found"]

        self.assertEqual(status("mx", "example.test", "MX"), ("ok", ["10 mail.example.test."]))
        self.assertEqual(status("spf", "example.test", "TXT"), ("ok", ["v=spf1 mx -all"]))
        self.assertEqual(status("dkim", "ed._domainkey.example.test", "TXT"), ("ok", [self.ed_txt]))
        self.assertEqual(status("dkim", "mail._domainkey.example.test", "TXT"), ("mismatch", ["v=DKIM1; k=rsa; p=AAAAwrong"]))
        self.assertEqual(status("dmarc", "_dmarc.example.test", "TXT"), ("missing", []))
        self.assertEqual(status("mta-sts", "_mta-sts.example.test", "TXT"), ("mismatch", ["v=STSv1; id=old"]))
        self.assertEqual(status("mta-sts", "mta-sts.example.test", "CNAME"), ("ok", ["mail.example.test."]))
        self.assertEqual(status("tls-rpt", "_smtp._tls.example.test", "TXT")[0], "ok")
        self.assertEqual(status("autoconfig", "autoconfig.example.test", "CNAME"), ("mismatch", ["other.example.test."]))
        self.assertEqual(status("autodiscover", "autodiscover.example.test", "CNAME"), ("missing", []))
        self.assertEqual(status("srv", "_imaps._tcp.example.test", "SRV"), ("ok", ["0 1 993 mail.example.test."]))
        self.assertEqual(status("srv", "_submission._tcp.example.test", "SRV"), ("mismatch", ["0 1 25 other.example.test."]))
        self.assertEqual(status("srv", "_submissions._tcp.example.test", "SRV"), ("missing", []))
        # forward-confirmed reverse DNS: mail.example.test -> 127.0.0.1 -> mail.example.test
        self.assertEqual(status("ptr", "mail.example.test", "PTR"), ("ok", ["127.0.0.1 -> mail.example.test."]))

    def test_errors(self):
        anon = self.api.client()
        self.assertEqual(anon.get("/api/v1/domains/example.test/dns").status, 401)
        self.assertEqual(anon.get("/api/v1/domains/example.test/dns/check").status, 401)
        anon.close()
        for path in ("/api/v1/domains/nosuch.test/dns", "/api/v1/domains/nosuch.test/dns/check"):
            r = self.c.get(path)
            self.assertEqual((r.status, r.json["error"]["field"]), (404, "domain"), r)
        r = self.c.get("/api/v1/domains/bad..name/dns")
        self.assertEqual((r.status, r.json["error"]["field"]), (422, "domain"), r)

    def test_the_mta_sts_policy_is_served(self):
        r = self.c.get("/.well-known/mta-sts.txt", headers={"Host": "mta-sts.example.test"})
        self.assertEqual(r.status, 200, r)
        self.assertTrue(r.header("Content-Type").startswith("text/plain"))
        self.assertIn("version: STSv1\r\n", r.body)
        self.assertIn("mx: mail.example.test\r\n", r.body)
        self.assertIn("mode: testing\r\n", r.body)
        self.assertEqual(self.c.get("/.well-known/mta-sts.txt", headers={"Host": "mta-sts.nosuch.test"}).status, 404)
        self.assertEqual(self.c.get("/.well-known/mta-sts.txt", headers={"Host": "example.test"}).status, 404)


if __name__ == "__main__":
    unittest.main()
