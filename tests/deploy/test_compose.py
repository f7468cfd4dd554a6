"""The docker compose deployment, tested with a real engine (Debian's dockerd and
docker-compose): build the images, `up -d`, wait until every health check passes, then use
the published ports (IPv4 and IPv6 loopback) as a mail user and an administrator would:
SMTP in, IMAPS out, a Sieve script over ManageSieve, the admin API's sign-in, a vacation
reply that the delivery service delivers; restart a container, reload a certificate with
SIGHUP, back up under load and restore elsewhere, `down` and `up` again.

Run by scripts/test.sh after ctest (python3 tests/deploy/test_compose.py). It needs root
(or a running dockerd). Without a reachable image registry, `debian:bookworm` is made from
Debian's archive (deploy/make-base-image.sh), so deploy/docker-compose.yml stays the file a
normal host uses. Build caches are kept between runs: docker's own layers, and the image's
compiler cache, handed to the build through the context's .ccache-image/ (deploy/Dockerfile).
scripts/test.sh names its own (relocatable) ccache in MAILSTEAD_IMAGE_CCACHE: the build stage
compiles with the same flags, so every file is a hit there. Run alone, the test keeps the
image's cache in ~/.cache/mailstead/image-ccache between runs."""
import http.client
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
import threading
import time
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
from helpers import free_ports, missing, tool  # noqa: E402

PROJECT = "mailstead-citest"
SERVICES = ("smtpd", "imapd", "sieved", "admin-api", "deliverd")
ADMIN = "admin@example.org"
BOB = "bob@example.org"
BOB_PASSWORD = "bob-has-a-long-password-1"
# Classic builder (the docker client here has no buildx) and docker-py's own build path.
ENV = dict(os.environ, DOCKER_BUILDKIT="0", COMPOSE_DOCKER_CLI_BUILD="0")
CCACHE = os.environ.get("MAILSTEAD_IMAGE_CCACHE") or os.path.expanduser("~/.cache/mailstead/image-ccache")
TIMES = {}


def run(*args, timeout=600, check=True, **kw):
    p = subprocess.run(args, capture_output=True, text=True, timeout=timeout, env=ENV, **kw)
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
        tool("debootstrap")
        t = time.monotonic()
        run(os.path.join(ROOT, "deploy", "make-base-image.sh"), timeout=1800)
        TIMES["base image (debootstrap)"] = time.monotonic() - t

    def image_id(self, tag):
        p = run(self.docker, "image", "inspect", "-f", "{{.Id}}", tag, check=False)
        return p.stdout.strip() if p.returncode == 0 else ""

    def build(self):
        """The image's build stage first (with the kept compiler cache), then every image
        through compose, which finds that stage in docker's layer cache."""
        context_cache = os.path.join(ROOT, ".ccache-image")
        shutil.rmtree(context_cache, ignore_errors=True)
        if os.path.isdir(CCACHE):
            shutil.copytree(CCACHE, context_cache, symlinks=True,
                            ignore=shutil.ignore_patterns("*.lock", "tmp", "ccache.conf", "stats"))
        stage = "mailstead-build:cache"
        before = self.image_id(stage)
        t = time.monotonic()
        run(self.docker, "build", "-q", "-f", os.path.join(ROOT, "deploy", "Dockerfile"), "--target", "build",
            "--build-arg", "BUILD_JOBS=2", "-t", stage, ROOT, timeout=5400)
        TIMES["build stage"] = time.monotonic() - t
        if self.image_id(stage) != before and not os.environ.get("MAILSTEAD_IMAGE_CCACHE"):
            # Compiled: keep its cache for the next run, without ccache's counters (which
            # change on every hit and would make the next build's context differ).
            fresh = CCACHE + ".new"
            shutil.rmtree(fresh, ignore_errors=True)
            os.makedirs(fresh)
            out = subprocess.Popen([self.docker, "run", "--rm", stage, "tar", "-C", "/ccache", "-c",
                                    "--exclude=./tmp", "--exclude=stats", "--exclude=ccache.conf",
                                    "--exclude=*.lock", "."], stdout=subprocess.PIPE)
            subprocess.run(["tar", "-C", fresh, "-x"], stdin=out.stdout, check=True, timeout=600)
            if out.wait(timeout=60) != 0:
                raise AssertionError("could not copy the compiler cache out of the build stage")
            shutil.rmtree(CCACHE, ignore_errors=True)
            os.rename(fresh, CCACHE)


class ComposeTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.compose_bin = tool("docker-compose")
        cls.engine = Engine()
        try:
            cls.engine.ensure_base_image()
            cls.dir = tempfile.mkdtemp(prefix="mailstead-compose-")
            cls.ports = dict(zip(("SMTP_PORT", "SUBMISSION_PORT", "SUBMISSIONS_PORT", "IMAPS_PORT",
                                  "MANAGESIEVE_PORT", "HTTPS_PORT"), free_ports(6)))
            cls.env_file = os.path.join(cls.dir, "test.env")
            cls.secrets = os.path.join(cls.dir, "secrets.toml")
            with open(cls.env_file, "w") as f:
                f.write(f"MAIL_DOMAIN=example.org\nMAIL_HOSTNAME=mail.example.org\nADMIN_ADDRESS={ADMIN}\n"
                        "PUBLISH_IPV4=127.0.0.1\nPUBLISH_IPV6=::1\nBACKUP_INTERVAL=3600\nBACKUP_KEEP=2\n"
                        "LOG_LEVEL=info\nHEALTH_INTERVAL=2s\n")
                for k, v in cls.ports.items():
                    f.write(f"{k}={v}\n")
                f.write(f"SECRETS_FILE={cls.secrets}\n")
            with open(cls.secrets, "w") as f:
                f.write('[srs]\nsecret = "a-test-secret-of-enough-length"\n')
            os.chmod(cls.secrets, 0o600)
            os.chown(cls.secrets, 10000, 10000)
            cls.compose("config", "-q")
            t = time.monotonic()
            cls.engine.build()
            cls.compose("build", "--build-arg", "BUILD_JOBS=2", timeout=3600)
            TIMES["images"] = time.monotonic() - t
            t = time.monotonic()
            cls.compose("up", "-d", timeout=600)
            cls.wait_healthy()
            TIMES["up -d until healthy"] = time.monotonic() - t
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
            run(cls.engine.docker, "volume", "rm", "-f", PROJECT + "-restored", check=False)
            shutil.rmtree(cls.dir, ignore_errors=True)
        shutil.rmtree(os.path.join(ROOT, ".ccache-image"), ignore_errors=True)
        cls.engine.stop()
        for k, v in TIMES.items():
            print(f"deploy: {k}: {v:.0f} s", flush=True)

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
            time.sleep(1)
        raise AssertionError(f"not healthy after {timeout} s: {state}\n" + cls.compose("logs", "--tail=30").stdout)

    @classmethod
    def admin_password(cls):
        out = cls.compose("logs", "--no-color", "setup").stdout
        return out.split("password: ")[1].split()[0]

    @classmethod
    def cli(cls, *args, service="backup"):
        """The mailstead CLI inside a running container, on the live store."""
        return run(cls.engine.docker, "exec", cls.container(service), "mailstead", *args)

    def tls(self):
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        return ctx

    def imap(self, user=ADMIN, password=None, host="127.0.0.1"):
        im = imaplib.IMAP4_SSL(host, self.ports["IMAPS_PORT"], ssl_context=self.tls())
        im.login(user, password or self.password)
        return im

    def subjects(self, user=ADMIN, password=None, mailbox="INBOX"):
        im = self.imap(user, password)
        im.select(mailbox)
        _, data = im.search(None, "ALL")
        subjects = []
        for n in data[0].split():
            _, msg = im.fetch(n, "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
            subjects.append(msg[0][1].decode().strip())
        im.logout()
        return subjects

    def deliver(self, subject, host="127.0.0.1", to=ADMIN):
        s = smtplib.SMTP(host, self.ports["SMTP_PORT"], timeout=30)
        s.sendmail("someone@remote.example", [to],
                   f"From: someone@remote.example\r\nTo: {to}\r\nSubject: {subject}\r\n\r\nhello\r\n".encode())
        s.quit()

    def api(self, method, path, body=None, cookie=None, csrf=None):
        c = http.client.HTTPSConnection("127.0.0.1", self.ports["HTTPS_PORT"], timeout=30, context=self.tls())
        headers = {"Content-Type": "application/json"}
        if cookie:
            headers["Cookie"] = cookie
        if csrf:
            headers["X-CSRF-Token"] = csrf
        c.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
        r = c.getresponse()
        data = r.read()
        c.close()
        return r.status, r.getheader("Set-Cookie") or "", json.loads(data) if data else None

    def sign_in(self, address, password):
        status, cookie, body = self.api("POST", "/api/v1/login", {"address": address, "password": password})
        self.assertEqual(status, 200, body)
        self.assertIn("mailstead_session=", cookie)
        return cookie.split(";")[0], body["csrf_token"]

    def test_1_mail_in_and_out_through_the_published_ports(self):
        self.deliver("through compose")
        self.deliver("over ipv6", host="::1")
        subjects = self.subjects()
        self.assertIn("Subject: through compose", subjects)
        self.assertIn("Subject: over ipv6", subjects)
        # Submission with STARTTLS and AUTH, as a mail client sends.
        s = smtplib.SMTP("127.0.0.1", self.ports["SUBMISSION_PORT"], timeout=30)
        s.starttls(context=self.tls())
        s.login(ADMIN, self.password)
        s.sendmail(ADMIN, [ADMIN], b"From: admin@example.org\r\nSubject: submitted\r\n\r\nhi\r\n")
        s.quit()
        self.assertIn("Subject: submitted", self.subjects())
        # IMAPS over IPv6 too.
        im = self.imap(host="::1")
        self.assertEqual(im.select("INBOX")[0], "OK")
        im.logout()

    def test_2_admin_api_sign_in_and_a_vacation_reply_through_deliverd(self):
        self.assertEqual(self.api("GET", "/api/v1/health")[0], 200)
        # The web UI comes with the image (scripts/test.sh built it before the images).
        c = http.client.HTTPSConnection("127.0.0.1", self.ports["HTTPS_PORT"], timeout=30, context=self.tls())
        c.request("GET", "/")
        r = c.getresponse()
        page = r.read().decode(errors="replace")
        c.close()
        self.assertEqual(r.status, 200, page[:500])
        self.assertIn("<script", page, "the web UI's index.html")
        self.assertEqual(r.getheader("X-Frame-Options"), "DENY")
        status, _, body = self.api("POST", "/api/v1/login", {"address": ADMIN, "password": "wrong"})
        self.assertEqual(status, 401, body)
        cookie, csrf = self.sign_in(ADMIN, self.password)
        status, _, body = self.api("POST", "/api/v1/users", {"address": BOB, "password": BOB_PASSWORD},
                                   cookie=cookie, csrf=csrf)
        self.assertEqual(status, 201, body)
        status, _, body = self.api("GET", "/api/v1/users", cookie=cookie)
        self.assertEqual(status, 200, body)
        self.assertIn(BOB, json.dumps(body))
        # Bob signs in for himself and sets a vacation reply; admin writes to him; the reply
        # is queued and the delivery service delivers it (its local short-cut) to admin.
        bob_cookie, bob_csrf = self.sign_in(BOB, BOB_PASSWORD)
        status, _, body = self.api("PUT", "/api/v1/me/vacation",
                                   {"enabled": True, "subject": "bob is away", "reason": "Back on Monday."},
                                   cookie=bob_cookie, csrf=bob_csrf)
        self.assertEqual(status, 200, body)
        # With the delivery service stopped the reply waits in the queue; started, it comes.
        self.compose("stop", "deliverd", timeout=120)
        s = smtplib.SMTP("127.0.0.1", self.ports["SUBMISSION_PORT"], timeout=30)
        s.starttls(context=self.tls())
        s.login(ADMIN, self.password)
        s.sendmail(ADMIN, [BOB], b"From: admin@example.org\r\nTo: bob@example.org\r\nSubject: are you there\r\n"
                   b"Message-ID: <q1@example.org>\r\n\r\nhi bob\r\n")
        s.quit()
        self.assertIn("Subject: are you there", self.subjects(BOB, BOB_PASSWORD))
        queued = json.loads(self.cli("--json", "queue", "list").stdout)
        self.assertEqual([r["recipients"] for r in queued], [[ADMIN]], queued)
        self.assertFalse(any("bob is away" in s for s in self.subjects()))
        self.compose("start", "deliverd", timeout=120)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not any("bob is away" in s for s in self.subjects()):
            time.sleep(1)
        self.assertTrue(any("bob is away" in s for s in self.subjects()), "no vacation reply through deliverd")
        self.assertEqual(json.loads(self.cli("--json", "queue", "list").stdout), [])
        self.wait_healthy(("deliverd",))

    def test_3_sieve_script_over_managesieve(self):
        script = os.path.join(self.dir, "filter.sieve")
        with open(script, "w") as f:
            f.write('require ["fileinto", "mailbox"];\n'
                    'if header :contains "subject" "[list]" { fileinto :create "Lists"; }\n')
        common = [tool("sieve-connect"), "--server", "127.0.0.1", "--port", str(self.ports["MANAGESIEVE_PORT"]),
                  "--user", ADMIN, "--passwordfd", "0", "--notlsverify", "--noclearauth"]
        p = subprocess.run(common + ["--upload", "--localsieve", script, "--remotesieve", "filter"],
                           input=self.password + "\n", capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        p = subprocess.run(common + ["--activate", "--remotesieve", "filter"],
                           input=self.password + "\n", capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.deliver("[list] filed")
        self.assertEqual(self.subjects(mailbox="Lists"), ["Subject: [list] filed"])

    def test_4_one_pid_namespace_non_root_and_no_extra_capabilities(self):
        cid = self.container("imapd")
        procs = run(self.engine.docker, "exec", cid, "sh", "-c", "cat /proc/[0-9]*/cmdline | tr '\\0' ' '").stdout
        for s in SERVICES:
            self.assertIn(f"mailstead-{s}", procs, "the store's users do not share one PID namespace")
        for s in ("imapd", "deliverd"):
            status = run(self.engine.docker, "exec", cid, "sh", "-c",
                         f"for p in /proc/[0-9]*; do grep -q mailstead-{s} $p/cmdline 2>/dev/null && cat $p/status; done; true"
                         ).stdout
            uid = next(line.split()[1] for line in status.splitlines() if line.startswith("Uid:"))
            self.assertEqual(uid, "10000")
            cap_eff = int(next(line.split()[1] for line in status.splitlines() if line.startswith("CapEff:")), 16)
            self.assertEqual(cap_eff & ~(1 << 10), 0, f"{s}: a capability beyond CAP_NET_BIND_SERVICE")

    def test_5_restart_keeps_everything(self):
        before = self.subjects()
        self.deliver("before restart")
        self.compose("restart", "smtpd", "imapd", timeout=300)
        self.wait_healthy(("smtpd", "imapd"))
        after = self.subjects()
        self.assertEqual(after, before + ["Subject: before restart"])
        self.deliver("after restart")
        self.assertIn("Subject: after restart", self.subjects())

    def test_6_certificate_reload_on_sighup_keeps_sessions(self):
        im = self.imap()
        im.select("INBOX")
        cid = self.container("imapd")
        run(self.engine.docker, "exec", cid, "sh", "-c",
            "cd /var/lib/mailstead/tls && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
            "-keyout key.new -out cert.new -days 2 -subj /CN=renewed 2>/dev/null && chmod 600 key.new && "
            "mv key.new key.pem && mv cert.new cert.pem")
        self.compose("kill", "-s", "HUP", "imapd", "smtpd", "sieved", "admin-api")
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
        self.wait_healthy(("smtpd", "imapd", "sieved", "admin-api"))

    def test_7_scheduled_backup_lands_in_its_volume(self):
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

    def test_8_backup_under_load_restored_elsewhere_is_byte_identical(self):
        acked, stop, errors = [], threading.Event(), []

        def load():
            try:
                s = smtplib.SMTP("127.0.0.1", self.ports["SMTP_PORT"], timeout=30)
                n = 0
                while not stop.is_set():
                    n += 1
                    body = f"From: someone@remote.example\r\nSubject: load {n}\r\n\r\n" + f"line {n}\r\n" * (n % 50 + 1)
                    s.sendmail("someone@remote.example", [ADMIN], body.encode())
                    acked.append((time.monotonic(), n))
                s.quit()
            except Exception as e:  # reported below
                errors.append(e)

        loader = threading.Thread(target=load)
        loader.start()
        try:
            while len(acked) < 20 and loader.is_alive():
                time.sleep(0.1)
            started = time.monotonic()
            self.cli("backup", "/var/backups/mailstead/under-load")
            while len(acked) < 40 + sum(1 for t, _ in acked if t <= started) and loader.is_alive():
                time.sleep(0.1)  # the load goes on after the copy
        finally:
            stop.set()
            loader.join(timeout=60)
        self.assertEqual(errors, [])
        before_backup = {f"Subject: load {n}" for t, n in acked if t < started}

        def digests(container_cmd):
            # One line per message of admin's INBOX: UID, SHA-256 of its bytes, Subject.
            script = ("for uid in $(mailstead --json message list admin@example.org INBOX | jq -r '.[].uid'); do "
                      "printf '%s %s ' $uid $(mailstead message get admin@example.org INBOX $uid | sha256sum | cut -c1-64); "
                      "mailstead message get admin@example.org INBOX $uid | grep -m1 '^Subject:' | tr -d '\\r'; done")
            out = run(*container_cmd, "sh", "-c", script, timeout=600).stdout
            rows = {}
            for line in out.splitlines():
                uid, digest, subject = line.split(" ", 2)
                rows[uid] = (digest, subject)
            return rows

        # Elsewhere: a fresh volume, restored by a one-off container from the backups volume.
        restored = PROJECT + "-restored"
        run(self.engine.docker, "volume", "create", restored)
        image = "mailstead:latest"
        run(self.engine.docker, "run", "--rm", "-v", f"{restored}:/var/lib/mailstead",
            "-v", f"{PROJECT}_backups:/var/backups/mailstead:ro", image,
            "mailstead", "restore", "/var/backups/mailstead/under-load")
        copy = digests([self.engine.docker, "run", "--rm", "-v", f"{restored}:/var/lib/mailstead", image])
        live = digests([self.engine.docker, "exec", self.container("backup")])
        subjects = {subject for _, subject in copy.values()}
        self.assertTrue(before_backup <= subjects, f"acknowledged before the backup, not in it: "
                                                   f"{sorted(before_backup - subjects)}")
        self.assertGreater(len(copy), 20)
        for uid, row in copy.items():
            self.assertEqual(row, live.get(uid), f"UID {uid} differs between the restored copy and the live store")
        # The restore refuses a store that is in use (the live deployment's).
        p = run(self.engine.docker, "exec", self.container("backup"), "mailstead", "restore",
                "/var/backups/mailstead/under-load", check=False)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("stop the deployment first", p.stderr)

    def test_9_down_and_up_keeps_the_data(self):
        self.deliver("survives down")
        before = self.subjects()
        t = time.monotonic()
        self.compose("down", timeout=300)
        self.compose("up", "-d", timeout=600)
        self.wait_healthy()
        TIMES["down, up -d until healthy"] = time.monotonic() - t
        self.assertEqual(self.subjects(), before)
        self.assertIn("Subject: survives down", before)
        self.assertIn("exists; nothing else to do", self.compose("logs", "--no-color", "setup").stdout)
        self.sign_in(BOB, BOB_PASSWORD)


if __name__ == "__main__":
    unittest.main(verbosity=2)
