"""Mail client set-up from the admin API: Thunderbird's autoconfig at the HTTPS URLs it tries,
in its order (autoconfig.<domain>/mail/config-v1.1.xml?emailaddress=, then
<domain>/.well-known/autoconfig/mail/config-v1.1.xml), Outlook autodiscover (which Thunderbird
also POSTs), and Prometheus /metrics read with the Prometheus client's own parser."""
import http.client
import json
import os
import subprocess
import sys
import unittest
import xml.etree.ElementTree as ET

from adminapi import AdminApi
from helpers import missing

PARSE = '''
import json, sys
from prometheus_client.parser import text_string_to_metric_families
out = {"types": {}, "samples": []}
for f in text_string_to_metric_families(sys.stdin.read()):
    out["types"][f.name] = f.type
    for s in f.samples:
        out["samples"].append([s.name, sorted(s.labels.items()), s.value])
print(json.dumps(out))
'''


def prometheus_parse(text):
    """Parses with python3-prometheus-client, in this interpreter or Debian's python3 (where
    the package installs it when this one is another build)."""
    for python in (sys.executable, "/usr/bin/python3"):
        if not os.path.exists(python):
            continue
        p = subprocess.run([python, "-c", PARSE], input=text, capture_output=True, text=True, timeout=60)
        if p.returncode == 0:
            return json.loads(p.stdout)
        if "No module named 'prometheus_client'" not in p.stderr:
            raise AssertionError(p.stderr)
    missing("python3-prometheus-client")


class AutoconfigTest(unittest.TestCase):
    def setUp(self):
        self.api = AdminApi('client_host = "mx.example.test"\n')
        self.api.cli("domain", "add", "example.test")
        self.api.user("ann@example.test", "ann password 1")
        self.api.start()

    def tearDown(self):
        self.api.cleanup()

    def fetch(self, host, path, method="GET", body=None):
        conn = http.client.HTTPSConnection("127.0.0.1", self.api.port, context=self.api.tls(), timeout=30)
        conn.request(method, path, body=body, headers={"Host": host, "Content-Type": "text/xml"})
        r = conn.getresponse()
        data = r.read()
        conn.close()
        return r, data

    def check_thunderbird(self, data):
        root = ET.fromstring(data)
        self.assertEqual(root.tag, "clientConfig")
        self.assertEqual(root.get("version"), "1.1")
        provider = root.find("emailProvider")
        self.assertEqual(provider.findtext("domain"), "example.test")
        incoming = provider.find("incomingServer")
        self.assertEqual((incoming.get("type"), incoming.findtext("hostname"), incoming.findtext("port"),
                          incoming.findtext("socketType"), incoming.findtext("authentication"),
                          incoming.findtext("username")),
                         ("imap", "mx.example.test", "993", "SSL", "password-cleartext", "%EMAILADDRESS%"))
        outgoing = [(o.findtext("port"), o.findtext("socketType")) for o in provider.findall("outgoingServer")]
        self.assertEqual(outgoing, [("465", "SSL"), ("587", "STARTTLS")])

    def test_thunderbird_urls_in_its_order(self):
        urls = [("autoconfig.example.test", "/mail/config-v1.1.xml?emailaddress=ann%40example.test"),
                ("example.test", "/.well-known/autoconfig/mail/config-v1.1.xml?emailaddress=ann%40example.test"),
                ("example.test", "/.well-known/autoconfig/mail/config-v1.1.xml")]
        for host, path in urls:
            r, data = self.fetch(host, path)
            self.assertEqual(r.status, 200, f"{host}{path}")
            self.assertTrue(r.getheader("Content-Type").startswith("application/xml"))
            self.check_thunderbird(data)
        r, _ = self.fetch("autoconfig.other.test", "/mail/config-v1.1.xml?emailaddress=x%40other.test")
        self.assertEqual(r.status, 404)

    def test_autodiscover(self):
        request = (b'<?xml version="1.0" encoding="utf-8"?><Autodiscover xmlns="http://schemas.microsoft.com/'
                   b'exchange/autodiscover/outlook/requestschema/2006"><Request><EMailAddress>ann@example.test'
                   b'</EMailAddress><AcceptableResponseSchema>http://schemas.microsoft.com/exchange/autodiscover/'
                   b'outlook/responseschema/2006a</AcceptableResponseSchema></Request></Autodiscover>')
        r, data = self.fetch("autodiscover.example.test", "/autodiscover/autodiscover.xml", "POST", request)
        self.assertEqual(r.status, 200)
        ns = {"a": "http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a"}
        protocols = ET.fromstring(data).findall(".//a:Protocol", ns)
        got = [(p.findtext("a:Type", namespaces=ns), p.findtext("a:Server", namespaces=ns), p.findtext("a:Port", namespaces=ns),
                p.findtext("a:SSL", namespaces=ns), p.findtext("a:LoginName", namespaces=ns)) for p in protocols]
        self.assertEqual(got, [("IMAP", "mx.example.test", "993", "on", "ann@example.test"),
                               ("SMTP", "mx.example.test", "465", "on", "ann@example.test")])
        mobilesync = request.replace(b"outlook/responseschema/2006a", b"mobilesync/responseschema/2006")
        r, _ = self.fetch("autodiscover.example.test", "/autodiscover/autodiscover.xml", "POST", mobilesync)
        self.assertEqual(r.status, 404)

    def test_metrics_parse_with_the_prometheus_parser(self):
        c = self.api.client()
        c.login("ann@example.test", "ann password 1")
        c.login("ann@example.test", "wrong")
        c.close()
        conn = http.client.HTTPConnection("127.0.0.1", self.api.metrics_port, timeout=30)
        conn.request("GET", "/metrics")
        r = conn.getresponse()
        text = r.read().decode()
        self.assertEqual(r.status, 200)
        self.assertTrue(r.getheader("Content-Type").startswith("text/plain; version=0.0.4"))
        parsed = prometheus_parse(text)
        samples = {(name, tuple(tuple(l) for l in labels)): value for name, labels, value in parsed["samples"]}
        self.assertEqual(samples[("mailstead_admin_logins_total", (("result", "ok"),))], 1)
        self.assertEqual(samples[("mailstead_admin_logins_total", (("result", "failed"),))], 1)
        self.assertEqual(samples[("mailstead_directory_entries", (("kind", "user"),))], 1)
        self.assertEqual(samples[("mailstead_queue_depth", ())], 0)
        self.assertEqual(parsed["types"]["mailstead_admin_store_commit_seconds"], "histogram")
        self.assertGreaterEqual(samples[("mailstead_admin_store_commit_seconds_count", ())], 1)
        conn.close()


if __name__ == "__main__":
    unittest.main()
