"""SIGKILL of the delivery service in the middle of a 1,000-message run: every message
reaches the receiving server (Postfix's smtp-sink) at least once, and no more arrive twice
than were in flight (leased) at the kill."""
import collections
import os
import re
import signal
import smtplib
import subprocess
import unittest

from helpers import Suite, binary, client_tls, free_ports
from peers import Dnsmasq, SmtpSink, wait_until

PASSWORD = "correct horse battery"
COUNT = 1000


class KilledMidRun(unittest.TestCase):
    def test_nothing_lost_duplicates_bounded_by_in_flight(self):
        port = free_ports(1)[0]
        sink = SmtpSink("127.0.0.1", port)
        dns = Dnsmasq(["ok.test"], [("mx-host", "ok.test,mx.ok.test,10"), ("host-record", "mx.ok.test,127.0.0.1")])
        suite = Suite(top_toml=f'[dns]\nnameservers = ["{dns.address}"]\n'
                               f'[outbound]\nmx_port = {port}\npoll_interval = "100ms"\nlease_time = "2s"\n'
                               'max_connections = 2\nmax_messages_per_connection = 10\n')
        procs = []
        try:
            suite.cli("domain", "add", "local.test")
            suite.cli("user", "add", "alice@local.test", "--password-stdin", stdin=PASSWORD + "\n")
            suite.start("smtpd")
            with smtplib.SMTP("127.0.0.1", suite.submission, timeout=60) as c:
                c.starttls(context=client_tls(suite.cert))
                c.login("alice@local.test", PASSWORD)
                for i in range(COUNT):
                    c.sendmail("alice@local.test", [f"r{i % 7}@ok.test"],
                               f"From: alice@local.test\r\nSubject: run {i}\r\nMessage-ID: <run{i}@local.test>\r\n\r\n{i}\r\n")
            self.assertEqual(len(suite.instance.cli_json("queue", "list")), COUNT)

            def start():
                log = open(os.path.join(suite.instance.dir, f"deliverd{len(procs)}.log"), "w")
                p = subprocess.Popen([binary("mailstead-deliverd"), "--config", suite.instance.config],
                                     stdout=log, stderr=log)
                procs.append((p, log))
                return p

            first = start()
            wait_until(lambda: len(sink.messages()) >= COUNT // 4, timeout=300, what="a quarter of the run delivered")
            first.send_signal(signal.SIGKILL)
            first.wait(timeout=20)
            in_flight = [q for q in suite.instance.cli_json("queue", "list") if q["leased_by"]]
            self.assertLessEqual(len(in_flight), 64)
            start()

            def ids():
                seen = collections.Counter()
                for _, body in sink.messages():
                    m = re.search(rb"Message-ID: <run(\d+)@local.test>", body)
                    if m:
                        seen[int(m.group(1))] += 1
                return seen
            seen = wait_until(lambda: (lambda s: s if len(s) == COUNT else None)(ids()), timeout=600,
                              what="every message at the receiver")
            duplicates = sum(n - 1 for n in seen.values())
            self.assertLessEqual(duplicates, len(in_flight), f"{duplicates} duplicates, {len(in_flight)} in flight")
            wait_until(lambda: suite.instance.cli_json("queue", "list") == [], what="an empty queue")
        finally:
            for p, log in procs:
                if p.poll() is None:
                    p.terminate()
                    p.wait(timeout=20)
                log.close()
            suite.cleanup()
            sink.stop()
            dns.stop()


if __name__ == "__main__":
    unittest.main()
