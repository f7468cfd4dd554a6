"""The chat gateway's polling mode (docs/streams.md, "Polling an IMAP mailbox") against a real
IMAP server, Debian's Dovecot: mailstead-deliverd reads the mailbox over IMAPS, posts each
message to the stream its `+` address names by the SMTP path's rules, then deletes (or
flags) it; refused messages are flagged and left; each message is posted once, also when
the poller is SIGKILLed mid-batch and restarted; IDLE wakes it within seconds; a wrong
password is logged and retried; the server's certificate is checked; a message over the size
limit is flagged and left; a hostile server (a huge literal, silence) costs a reconnect only."""
import os
import re
import signal
import subprocess
import time
import unittest
import urllib.request

from dovecot import Dovecot
from helpers import Instance, binary, loopback_dns, make_cert, free_ports, wait_for

PATTERN = "gw+%s@example.com"


def message(to, subject, body="hello", msgid=None, extra=""):
    msgid = msgid or f"<{subject.replace(' ', '-')}-{time.monotonic_ns()}@outside.test>"
    return (f"From: Bob <bob@outside.test>\r\nTo: {to}\r\nSubject: {subject}\r\nMessage-ID: {msgid}\r\n{extra}"
            f"Date: Tue, 1 Dec 2026 10:00:00 +0000\r\n\r\n{body}\r\n")


class Poller:
    """A data directory whose deliverd polls `dovecot`, with a stream `dev`."""

    def __init__(self, dovecot, password=None, after="delete", interval="10m", ca=True, extra=""):
        self.instance = Instance()
        self.metrics = free_ports(1)[0]
        secrets = os.path.join(self.instance.dir, "secrets.toml")
        with open(secrets, "w") as f:
            f.write(f'[streams]\npoll_password = "{password or dovecot.password}"\n')
        os.chmod(secrets, 0o600)
        ca_line = f'poll_ca_file = "{dovecot.cert}"\n' if ca else ""
        # Top-level keys come before any table: the secrets file's line goes first.
        with open(self.instance.config) as f:
            body = f.read()
        with open(self.instance.config, "w") as f:
            f.write(f'secrets_file = "{secrets}"\n' + body +
                    f'\n[streams]\ngateway_pattern = "{PATTERN}"\npoll_host = "127.0.0.1"\n'
                    f'poll_port = {dovecot.port}\npoll_user = "{dovecot.user}"\npoll_after = "{after}"\n'
                    f'poll_interval = "{interval}"\npoll_backoff_max = "1s"\n{ca_line}{extra}'
                    f'[outbound]\nmetrics_listen = ["127.0.0.1:{self.metrics}"]\n' + loopback_dns())
        self.instance.cli("stream", "add", "Dev Team", "--slug", "dev")
        self.address = self.instance.cli_json("stream", "show", "dev")["email_address"]
        self.procs = []

    def start(self):
        log = open(os.path.join(self.instance.dir, f"deliverd{len(self.procs)}.log"), "w+")
        p = subprocess.Popen([binary("mailstead-deliverd"), "--config", self.instance.config], stdout=log, stderr=log)
        self.procs.append((p, log))
        return p

    def log(self):
        out = ""
        for _, log in self.procs:
            log.flush()
            with open(log.name) as f:
                out += f.read()
        return out

    def messages(self):
        return self.instance.cli_json("stream", "messages", "dev")

    def stop(self):
        for p, log in self.procs:
            if p.poll() is None:
                p.terminate()
                p.wait(timeout=20)
            log.close()
        self.instance.cleanup()


class StreamPolling(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.certdir = Instance()
        cert = make_cert(cls.certdir.data_dir, "localhost")
        cls.dovecot = Dovecot(cert, os.path.join(os.path.dirname(cert), "key.pem"))

    @classmethod
    def tearDownClass(cls):
        cls.dovecot.stop()
        cls.certdir.cleanup()

    def setUp(self):
        # Each test starts from an empty mailbox.
        m = self.dovecot.connect()
        if m.select("INBOX")[1][0] != b"0":
            m.store("1:*", "+FLAGS", "(\\Deleted)")
            m.expunge()
        m.logout()
        self.pollers = []

    def tearDown(self):
        for p in self.pollers:
            p.stop()

    def poller(self, **kw):
        p = Poller(self.dovecot, **kw)
        self.pollers.append(p)
        return p

    def test_posted_then_deleted_refused_left_flagged(self):
        p = self.poller()
        local, domain = p.address.split("@")
        self.assertEqual(domain, "example.com")
        bad = "gw+dev." + "f" * 32 + "@example.com"
        self.dovecot.append(
            message(p.address, "Re: launch plans", "We launch on Monday.\r\n\r\n-- \r\nBob"),
            message(f"Bob <{local}.show-sender@{domain}>", "with sender", "shown"),
            message(bad, "wrong token"),
            message("nobody@example.com", "no stream address"),
            # The address only in Delivered-To, as a provider writes it.
            message("undisclosed-recipients:;", "delivered to", "via Delivered-To",
                    extra=f"Delivered-To: {p.address}\r\n"))
        p.start()
        got = wait_for(lambda: len(p.messages()) == 3, timeout=30, what="three posts") or p.messages()
        by_topic = {m["topic"]: m for m in got}
        self.assertEqual(set(by_topic), {"launch plans", "with sender", "delivered to"})
        self.assertEqual(by_topic["launch plans"]["content"], "We launch on Monday.")
        posted = by_topic["with sender"]
        self.assertEqual(posted["email_from"], "bob@outside.test")
        self.assertIn("From: Bob <bob@outside.test>", posted["content"])
        # Posted messages are expunged; refused ones stay, flagged.
        wait_for(lambda: len(self.dovecot.mailbox()) == 2, timeout=15, what="the posted messages expunged")
        for flags in self.dovecot.mailbox().values():
            self.assertIn("\\Flagged", flags)
            self.assertIn("\\Seen", flags)
        log = p.log()
        self.assertIn("event=stream.poll.refused", log)
        self.assertIn("5.1.1", log)
        self.assertNotIn(self.dovecot.password, log)

        metrics = urllib.request.urlopen(f"http://127.0.0.1:{p.metrics}/metrics", timeout=10).read().decode()
        self.assertRegex(metrics, r'mailstead_stream_poll_messages_total\{outcome="posted"\} 3\b')
        self.assertRegex(metrics, r'mailstead_stream_poll_messages_total\{outcome="refused"\} 2\b')
        # Nothing is posted twice on later rounds or after a restart.
        p.procs[0][0].terminate()
        p.procs[0][0].wait(timeout=20)
        p.start()
        wait_for(lambda: p.log().count("event=stream.poll.connected") >= 2, timeout=20, what="the second connection")
        time.sleep(1)
        self.assertEqual(len(p.messages()), 3)
        self.assertEqual(len(self.dovecot.mailbox()), 2)

    def test_idle_wakes_the_poller(self):
        p = self.poller(interval="10m")  # only IDLE can explain a post within seconds
        p.start()
        wait_for(lambda: "idle=true" in p.log() and "event=stream.poll.connected" in p.log(), timeout=20,
                 what="the poller connected with IDLE")
        time.sleep(0.5)  # in IDLE now
        started = time.monotonic()
        self.dovecot.append(message(p.address, "while idle"))
        wait_for(lambda: len(p.messages()) == 1, timeout=10, what="the post after IDLE")
        self.assertLess(time.monotonic() - started, 10)
        self.assertEqual(p.messages()[0]["topic"], "while idle")

    def test_killed_mid_batch_posts_each_once(self):
        count = 150
        p = self.poller(extra='poll_batch = 20\n')
        self.dovecot.append(*[message(p.address, f"crash {i}", f"n={i}") for i in range(count)])
        first = p.start()
        wait_for(lambda: p.log().count("event=stream.poll.posted") >= 25, timeout=60, what="some posts")
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=20)
        posted_before = len(p.messages())
        self.assertLess(posted_before, count, "the kill came too late to be mid-run")
        p.start()
        wait_for(lambda: len(p.messages()) >= count, timeout=120, what="every message posted")
        time.sleep(1)
        topics = [m["topic"] for m in p.messages()]
        self.assertEqual(len(topics), count)
        self.assertEqual(sorted(topics), sorted(f"crash {i}" for i in range(count)))
        wait_for(lambda: self.dovecot.mailbox() == {}, timeout=20, what="an empty mailbox")

    def test_flag_mode_and_duplicate_message_id(self):
        p = self.poller(after="flag")
        same = message(p.address, "twice", msgid="<same@outside.test>")
        self.dovecot.append(same, same, message(p.address, "once"))
        p.start()
        wait_for(lambda: len(p.messages()) == 2, timeout=30, what="two posts")
        wait_for(lambda: all("\\Seen" in f for f in self.dovecot.mailbox().values()), timeout=15,
                 what="every message flagged \\Seen")
        self.assertEqual(len(self.dovecot.mailbox()), 3)  # flagged, not deleted
        self.assertIn("event=stream.poll.duplicate", p.log())
        self.assertEqual(sorted(m["topic"] for m in p.messages()), ["once", "twice"])

    def test_bad_password_logged_and_retried(self):
        p = self.poller(password="not-the-password")
        proc = p.start()
        wait_for(lambda: p.log().count("event=stream.poll.login_failed") >= 2, timeout=30,
                 what="two refused logins (a retry)")
        self.assertIsNone(proc.poll(), "deliverd exited")
        self.assertNotIn("not-the-password", p.log())

    def test_certificate_checked(self):
        # Without the test's CA the self-signed certificate fails verification.
        p = self.poller(ca=False)
        p.start()
        wait_for(lambda: "event=stream.poll.disconnected" in p.log(), timeout=30, what="a refused handshake")
        self.assertRegex(p.log(), r"certificate verify failed|self.signed")
        self.assertNotIn("event=stream.poll.connected", p.log())

    def test_too_big_is_flagged_and_left(self):
        p = self.poller(extra='poll_max_message_size = "1K"\n')
        self.dovecot.append(message(p.address, "big", "x" * 5000), message(p.address, "small"))
        p.start()
        wait_for(lambda: len(p.messages()) == 1, timeout=30, what="the small one posted")
        wait_for(lambda: len(self.dovecot.mailbox()) == 1, timeout=15, what="the small one expunged")
        self.assertEqual(p.messages()[0]["topic"], "small")
        self.assertEqual(list(self.dovecot.mailbox().values())[0], {"\\Seen", "\\Flagged"})
        self.assertIn("poll_max_message_size", p.log())


class HostileServer:
    """An IMAPS server on loopback that answers the poller's first commands correctly and then
    misbehaves: `mode` "huge-literal" announces a literal of a terabyte, "silent" stops answering."""

    def __init__(self, cert, key, mode):
        import socket
        import ssl
        import threading
        self.mode, self.connections = mode, 0
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.load_cert_chain(cert, key)
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.stopping = False
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self):
        import threading
        while not self.stopping:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self.session, args=(conn,), daemon=True).start()

    def session(self, raw):
        conn = raw
        try:
            conn = self.ctx.wrap_socket(raw, server_side=True)
            f = conn.makefile("rb")
            conn.sendall(b"* OK [CAPABILITY IMAP4rev1] hostile\r\n")
            for line in f:
                tag, cmd = line.split(b" ", 1)[0], line.split(b" ", 1)[1].upper()
                if cmd.startswith(b"LOGIN") or cmd.startswith(b"CAPABILITY"):
                    conn.sendall(b"* CAPABILITY IMAP4rev1\r\n" + tag + b" OK done\r\n")
                elif cmd.startswith(b"SELECT"):
                    conn.sendall(b"* 1 EXISTS\r\n* OK [UIDVALIDITY 7] ok\r\n" + tag + b" OK selected\r\n")
                elif cmd.startswith(b"UID SEARCH"):
                    if self.mode == "silent":
                        continue  # never answers
                    conn.sendall(b"* SEARCH 1\r\n" + tag + b" OK done\r\n")
                elif cmd.startswith(b"UID FETCH") and b"BODY" not in cmd:
                    conn.sendall(b"* 1 FETCH (UID 1 RFC822.SIZE 100)\r\n" + tag + b" OK done\r\n")
                elif cmd.startswith(b"UID FETCH"):
                    conn.sendall(b"* 1 FETCH (UID 1 BODY[] {1099511627776}\r\n" + b"A" * 4096)
                else:
                    conn.sendall(tag + b" BAD what\r\n")
            f.close()
        except Exception:
            pass
        finally:
            conn.close()

    def stop(self):
        self.stopping = True
        self.sock.close()


class HostileServers(unittest.TestCase):
    """A server that announces a huge literal or stops answering costs a reconnect, never the
    process, and nothing is posted."""

    def run_against(self, mode, expect):
        certdir = Instance()
        cert = make_cert(certdir.data_dir, "localhost")
        server = HostileServer(cert, os.path.join(os.path.dirname(cert), "key.pem"), mode)

        class Fake:
            pass
        fake = Fake()
        fake.cert, fake.port, fake.user, fake.password = cert, server.port, "gw", "pw"
        p = Poller(fake, extra='poll_timeout = "1s"\n')
        try:
            proc = p.start()
            wait_for(lambda: server.connections >= 2, timeout=30, what="a reconnect")
            self.assertIsNone(proc.poll(), "deliverd exited")
            self.assertRegex(p.log(), expect)
            self.assertEqual(p.messages(), [])
        finally:
            p.stop()
            server.stop()
            certdir.cleanup()

    def test_huge_literal(self):
        self.run_against("huge-literal", r"event=stream.poll.disconnected .*literal of 1099511627776 bytes")

    def test_silent_server(self):
        self.run_against("silent", r"event=stream.poll.disconnected .*did not answer within 1s")


if __name__ == "__main__":
    unittest.main()
