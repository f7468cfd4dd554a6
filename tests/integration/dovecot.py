"""Debian's Dovecot (dovecot-imapd) as an external IMAPS mailbox for the tests: started on a
free loopback port with its own configuration, a passwd-file user database and the
instance's self-signed certificate; messages go in with imaplib's APPEND."""
import imaplib
import os
import pwd
import shutil
import signal
import subprocess
import tempfile

from helpers import client_tls, free_ports, missing, wait_port


class Dovecot:
    def __init__(self, cert, key, user="gw", password="poll-secret-pw"):
        self.binary = shutil.which("dovecot") or ("/usr/sbin/dovecot" if os.path.exists("/usr/sbin/dovecot") else None)
        if not self.binary:
            missing("dovecot (Debian package dovecot-imapd)")
        self.cert, self.user, self.password = cert, user, password
        self.port = free_ports(1)[0]
        self.dir = tempfile.mkdtemp(prefix="mailstead-dovecot-")
        os.chmod(self.dir, 0o755)
        # As root, Dovecot's own unprivileged users run its processes and own the mail; as
        # anyone else, that user runs everything.
        if os.geteuid() == 0:
            internal, login = "dovecot", "dovenull"
            owner = pwd.getpwnam("dovecot")
        else:
            owner = pwd.getpwuid(os.geteuid())
            internal = login = owner.pw_name
        home = os.path.join(self.dir, "mail", user)
        os.makedirs(home)
        for d in (os.path.join(self.dir, "mail"), home):
            os.chown(d, owner.pw_uid, owner.pw_gid)
        with open(os.path.join(self.dir, "users"), "w") as f:
            f.write(f"{user}:{{PLAIN}}{password}:{owner.pw_uid}:{owner.pw_gid}::{home}\n")
        self.log = os.path.join(self.dir, "dovecot.log")
        self.config = os.path.join(self.dir, "dovecot.conf")
        with open(self.config, "w") as f:
            f.write(f"""protocols = imap
listen = 127.0.0.1
base_dir = {self.dir}/run
state_dir = {self.dir}/state
instance_name = mailstead-test-{self.port}
default_internal_user = {internal}
default_login_user = {login}
first_valid_uid = 1
log_path = {self.log}
ssl = required
ssl_cert = <{cert}
ssl_key = <{key}
ssl_min_protocol = TLSv1.2
auth_mechanisms = plain login
passdb {{
  driver = passwd-file
  args = scheme=PLAIN {self.dir}/users
}}
userdb {{
  driver = passwd-file
  args = {self.dir}/users
}}
mail_location = maildir:~/Maildir
service imap-login {{
  chroot =
  inet_listener imap {{
    port = 0
  }}
  inet_listener imaps {{
    port = {self.port}
    ssl = yes
  }}
}}
service anvil {{
  chroot =
}}
""")
        # In the foreground (-F), so the test owns the master's PID and stops it by that.
        self.proc = subprocess.Popen([self.binary, "-F", "-c", self.config],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_port(self.port)
        except AssertionError:
            self.stop()
            raise

    def connect(self):
        m = imaplib.IMAP4_SSL("127.0.0.1", self.port, ssl_context=client_tls(self.cert), timeout=30)
        m.login(self.user, self.password)
        return m

    def append(self, *messages, mailbox="INBOX"):
        m = self.connect()
        try:
            for msg in messages:
                typ, data = m.append(mailbox, None, None, msg.encode() if isinstance(msg, str) else msg)
                assert typ == "OK", data
        finally:
            m.logout()

    def mailbox(self, mailbox="INBOX"):
        """{uid: set of flags} of every message."""
        m = self.connect()
        try:
            m.select(mailbox)
            typ, data = m.uid("FETCH", "1:*", "(FLAGS)")
            out = {}
            for item in data:
                if not item:
                    continue
                text = item.decode() if isinstance(item, bytes) else item[0].decode()
                uid = int(text.split("UID ")[1].split()[0].rstrip(")"))
                flags = text.split("FLAGS (")[1].split(")")[0].split()
                out[uid] = set(flags)
            return out
        finally:
            m.logout()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=20)
        shutil.rmtree(self.dir, ignore_errors=True)
