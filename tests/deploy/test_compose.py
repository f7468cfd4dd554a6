"""The docker compose deployment, tested with a real engine (Debian's dockerd and
docker-compose): build the images, `up -d`, wait until every health check passes, then use
the published ports as a mail user would: SMTP in, IMAPS out, a Sieve script over
ManageSieve; restart a container, `down` and `up` again, reload a certificate with SIGHUP.

Run by scripts/test.sh after ctest (it builds the images: minutes, not seconds). With no
reachable image registry, `debian:bookworm` is built from Debian's archive with debootstrap
and tagged as such, so deploy/docker-compose.yml stays the same file a normal host uses."""
import hashlib
import imaplib
import json
import os
import shutil
import smtplib
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
from helpers import free_ports, missing, tool  # noqa: E402

PROJECT = "mailstead-citest"
SERVICES = ("smtpd", "imapd", "sieved")


def run(*args, timeout=600, check=True, **kw):
    p = subprocess.run(args, capture_output=True, text=True, timeout=timeout, **kw)
    if check and p.returncode != 0:
        raise AssertionError(f"{' '.join(args)} exited {p.returncode}:\n{p.stdout[-3000:]}\n{p.stderr[-3000:]}")
    return p


class Engine:
    """dockerd, started here when it is not running (and stopped after)."""

    def __init__(self):
        self.docker = tool("docker")
        self.proc = None
        if run(self.docker, "info", check=False, timeout=60).returncode == 0:
            return
        if os.geteuid() != 0:
            missing("a running dockerd (or root, to start one)")
        self.log = open(os.path.join(tempfile.gettempdir(), "mailstead-dockerd.log"), "w")
        self.proc = subprocess.Popen([tool("dockerd")], stdout=self.log, stderr=self.log)
        deadline = time.monotonic() + 120
        while run(self.docker, "info", check=False, timeout=60).returncode != 0:
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError("dockerd did not start; see " + self.log.name)
            time.sleep(0.5)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=60)

    def ensure_base_image(self):
        if run(self.docker, "image", "inspect", "debian:bookworm", check=False).returncode == 0:
            return
        if run(self.docker, "pull", "debian:bookworm", check=False, timeout=120).returncode == 0:
            return
        # No registry: the same base, made from Debian's archive.
        rootfs = tempfile.mkdtemp(prefix="mailstead-bookworm-")
        try:
            run(tool("debootstrap"), "--variant=minbase", "bookworm", rootfs, "http://deb.debian.org/debian",
                timeout=1200)
            os.remove(os.path.join(rootfs, "etc", "apt", "sources.list"))
            with open(os.path.join(rootfs, "etc", "apt", "sources.list.d", "debian.sources"), "w") as f:
                f.write("Types: deb\nURIs: http://deb.debian.org/debian\nSuites: bookworm bookworm-updates\n"
                        "Components: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n\n"
                        "Types: deb\nURIs: http://deb.debian.org/debian-security\nSuites: bookworm-security\n"
                        "Components: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n")
            tar = subprocess.Popen(["tar", "-C", rootfs, "-c", "."], stdout=subprocess.PIPE)
            subprocess.run([self.docker, "import", "--change", 'CMD ["bash"]', "-", "debian:bookworm"],
                           stdin=tar.stdout, check=True, capture_output=True, timeout=600)
            tar.wait(timeout=60)
        finally:
            shutil.rmtree(rootfs, ignore_errors=True)


class ComposeTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.compose_bin = tool("docker-compose")
        cls.engine = Engine()
        try:
            cls.engine.ensure_base_image()
            cls.dir = tempfile.mkdtemp(prefix="mailstead-compose-")
            cls.ports = dict(zip(("SMTP_PORT", "SUBMISSION_PORT", "SUBMISSIONS_PORT", "IMAPS_PORT",
                                  "MANAGESIEVE_PORT"), free_ports(5)))
            cls.env_file = os.path.join(cls.dir, "test.env")
            with open(cls.env_file, "w") as f:
                f.write("MAIL_DOMAIN=example.org\nMAIL_HOSTNAME=mail.example.org\nADMIN_ADDRESS=admin@example.org\n"
                        "PUBLISH_ADDRESS=127.0.0.1:\nBACKUP_INTERVAL=3600\nBACKUP_KEEP=2\nLOG_LEVEL=info\n")
                for k, v in cls.ports.items():
                    f.write(f"{k}={v}\n")
                cls.secrets = os.path.join(cls.dir, "secrets.toml")
                f.write(f"SECRETS_FILE={cls.secrets}\n")
            with open(cls.secrets, "w") as f:
                f.write('[relay]\npassword = "not-used-yet"\n')
            os.chmod(cls.secrets, 0o600)
            os.chown(cls.secrets, 10000, 10000)
            cls.compose("config", "-q")
            t = time.monotonic()
            cls.compose("build", timeout=2400)
            print(f"\nimages built in {time.monotonic() - t:.0f} s", flush=True)
            cls.compose("up", "-d", timeout=600)
            cls.wait_healthy()
            cls.password = cls.admin_password()  # printed once, by the first start only
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        if getattr(cls, "env_file", None):
            p = cls.compose("logs", "--no-color", check=False)
            with open(os.path.join(tempfile.gettempdir(), "mailstead-compose.log"), "w") as f:
                f.write(p.stdout)
            cls.compose("down", "-v", "--remove-orphans", check=False, timeout=300)
            shutil.rmtree(cls.dir, ignore_errors=True)
        cls.engine.stop()

    @classmethod
    def compose(cls, *args, timeout=600, check=True):
        return run(cls.compose_bin, "-p", PROJECT, "--env-file", cls.env_file,
                   "-f", os.path.join(ROOT, "deploy", "docker-compose.yml"),
                   "-f", os.path.join(ROOT, "deploy", "docker-compose.secrets.yml"),
                   *args, timeout=timeout, check=check)

    @classmethod
    def container(cls, service):
        return cls.compose("ps", "-q", service).stdout.strip()

    @classmethod
    def wait_healthy(cls, services=SERVICES + ("redis", "spamd"), timeout=600):
        deadline = time.monotonic() + timeout
        state = {}
        while time.monotonic() < deadline:
            for s in services:
                cid = cls.container(s)
                if not cid:
                    state[s] = "missing"
                    continue
                info = json.loads(run(cls.engine.docker, "inspect", cid).stdout)[0]["State"]
                state[s] = info.get("Health", {}).get("Status", info["Status"])
            if all(v == "healthy" for v in state.values()):
                return
            time.sleep(2)
        raise AssertionError(f"not healthy after {timeout} s: {state}\n" + cls.compose("logs", "--tail=30").stdout)

    @classmethod
    def admin_password(cls):
        out = cls.compose("logs", "--no-color", "setup").stdout
        return out.split("password: ")[1].split()[0]

    def tls(self):
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        return ctx

    def imap(self):
        im = imaplib.IMAP4_SSL("127.0.0.1", self.ports["IMAPS_PORT"], ssl_context=self.tls())
        im.login("admin@example.org", self.password)
        return im

    def subjects(self):
        im = self.imap()
        im.select("INBOX")
        _, data = im.search(None, "ALL")
        subjects = []
        for n in data[0].split():
            _, msg = im.fetch(n, "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
            subjects.append(msg[0][1].decode().strip())
        im.logout()
        return subjects

    def deliver(self, subject):
        s = smtplib.SMTP("127.0.0.1", self.ports["SMTP_PORT"], timeout=30)
        s.sendmail("someone@remote.example", ["admin@example.org"],
                   f"From: someone@remote.example\r\nSubject: {subject}\r\n\r\nhello\r\n".encode())
        s.quit()

    def test_1_mail_in_and_out_through_the_published_ports(self):
        self.deliver("through compose")
        self.assertIn("Subject: through compose", self.subjects())
        # Submission with STARTTLS and AUTH, as a mail client sends.
        s = smtplib.SMTP("127.0.0.1", self.ports["SUBMISSION_PORT"], timeout=30)
        s.starttls(context=self.tls())
        s.login("admin@example.org", self.password)
        s.sendmail("admin@example.org", ["admin@example.org"],
                   b"From: admin@example.org\r\nSubject: submitted\r\n\r\nhi\r\n")
        s.quit()
        self.assertIn("Subject: submitted", self.subjects())

    def test_2_sieve_script_over_managesieve(self):
        script = os.path.join(self.dir, "filter.sieve")
        with open(script, "w") as f:
            f.write('require "fileinto";\nif header :contains "subject" "[list]" { fileinto :create "Lists"; }\n')
        p = subprocess.run([tool("sieve-connect"), "--server", "127.0.0.1", "--port", str(self.ports["MANAGESIEVE_PORT"]),
                            "--user", "admin@example.org", "--passwordfd", "0", "--notlsverify", "--noclearauth",
                            "--upload", "--localsieve", script, "--remotesieve", "filter"],
                           input=self.password + "\n", capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        subprocess.run([tool("sieve-connect"), "--server", "127.0.0.1", "--port", str(self.ports["MANAGESIEVE_PORT"]),
                        "--user", "admin@example.org", "--passwordfd", "0", "--notlsverify", "--noclearauth",
                        "--activate", "--remotesieve", "filter"],
                       input=self.password + "\n", capture_output=True, text=True, timeout=60, check=True)
        self.deliver("[list] filed")
        im = self.imap()
        self.assertEqual(im.select("Lists")[0], "OK")
        _, data = im.search(None, "ALL")
        self.assertEqual(len(data[0].split()), 1)
        im.logout()

    def test_3_one_pid_namespace_non_root_and_no_extra_capabilities(self):
        cid = self.container("imapd")
        procs = run(self.engine.docker, "exec", cid, "sh", "-c", "cat /proc/[0-9]*/cmdline | tr '\\0' ' '").stdout
        for s in SERVICES:
            self.assertIn(f"mailstead-{s}", procs, "the store's users do not share one PID namespace")
        status = run(self.engine.docker, "exec", cid, "sh", "-c",
                     "for p in /proc/[0-9]*; do grep -q mailstead-imapd $p/cmdline 2>/dev/null && cat $p/status; done").stdout
        uid = next(line.split()[1] for line in status.splitlines() if line.startswith("Uid:"))
        self.assertEqual(uid, "10000")
        cap_eff = int(next(line.split()[1] for line in status.splitlines() if line.startswith("CapEff:")), 16)
        self.assertEqual(cap_eff & ~(1 << 10), 0, "a capability beyond CAP_NET_BIND_SERVICE")

    def test_4_restart_keeps_everything(self):
        self.deliver("before restart")
        self.compose("restart", "imapd", timeout=300)
        self.wait_healthy(("imapd",))
        self.assertIn("Subject: before restart", self.subjects())

    def test_5_certificate_reload_on_sighup_keeps_sessions(self):
        im = self.imap()
        im.select("INBOX")
        cid = self.container("imapd")
        run(self.engine.docker, "exec", cid, "sh", "-c",
            "cd /var/lib/mailstead/tls && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
            "-keyout key.new -out cert.new -days 2 -subj /CN=renewed 2>/dev/null && chmod 600 key.new && "
            "mv key.new key.pem && mv cert.new cert.pem")
        self.compose("kill", "-s", "HUP", "imapd", "smtpd", "sieved")
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with socket.create_connection(("127.0.0.1", self.ports["IMAPS_PORT"]), timeout=10) as raw:
                with self.tls().wrap_socket(raw) as t:
                    der = t.getpeercert(binary_form=True)
            if b"renewed" in der:
                break
            time.sleep(0.5)
        self.assertIn(b"renewed", der)
        self.assertEqual(im.noop()[0], "OK")
        im.logout()

    def test_6_scheduled_backup_lands_in_its_volume(self):
        cid = self.container("backup")
        deadline = time.monotonic() + 120
        listing = ""
        while time.monotonic() < deadline:
            listing = run(self.engine.docker, "exec", cid, "sh", "-c", "ls /var/backups/mailstead/*/SHA256SUMS",
                          check=False).stdout
            if listing.strip():
                break
            time.sleep(1)
        self.assertIn("SHA256SUMS", listing)
        check = run(self.engine.docker, "exec", cid, "sh", "-c",
                    "cd $(dirname $(ls -1 /var/backups/mailstead/*/SHA256SUMS | head -1)) && sha256sum -c SHA256SUMS")
        self.assertIn("store/data.mdb: OK", check.stdout)

    def test_7_down_and_up_keeps_the_data(self):
        self.deliver("survives down")
        self.compose("down", timeout=300)
        self.compose("up", "-d", timeout=600)
        self.wait_healthy()
        self.assertIn("Subject: survives down", self.subjects())
        self.assertIn("Subject: through compose", self.subjects())
        self.assertIn("exists; nothing else to do", self.compose("logs", "--no-color", "setup").stdout)


if __name__ == "__main__":
    unittest.main()
