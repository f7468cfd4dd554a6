"""mbsync (isync) against the real imapd: a full two-way sync of a user with 5 folders and
1,000 messages, then an incremental one after flags changed on both sides and new mail
arrived on both sides."""
import imaplib
import os
import shutil
import socket
import subprocess
import tempfile
import unittest

from helpers import Suite, client_tls, tool

FOLDERS = ["INBOX", "Work", "Work/Projects", "Lists", "Archive"]
PER_FOLDER = 200


class MbsyncTest(unittest.TestCase):
    def setUp(self):
        self.mbsync_bin = tool("mbsync")
        self.s = Suite().start("imapd")
        self.s.cli("domain", "add", "example.test")
        self.s.cli("user", "add", "sync@example.test", "--password", "sync-pw")
        self.local = tempfile.mkdtemp(prefix="mailstead-mbsync-")
        os.makedirs(os.path.join(self.local, "mail"))
        self.rc = os.path.join(self.local, "mbsyncrc")
        with open(self.rc, "w") as f:
            f.write(f"""IMAPAccount acc
Host localhost
Port {self.s.imaps}
User sync@example.test
Pass sync-pw
SSLType IMAPS
CertificateFile {self.s.cert}
AuthMechs PLAIN

IMAPStore remote
Account acc

MaildirStore local
Path {self.local}/mail/
Inbox {self.local}/mail/INBOX
SubFolders Verbatim

Channel ch
Far :remote:
Near :local:
Patterns *
Create Both
Expunge Both
SyncState *
""")

    def tearDown(self):
        self.s.cleanup()
        shutil.rmtree(self.local, ignore_errors=True)

    def imap(self):
        c = imaplib.IMAP4_SSL("127.0.0.1", self.s.imaps, ssl_context=client_tls(self.s.cert))
        c.login("sync@example.test", "sync-pw")
        # imaplib writes a literal and its CRLF separately: without this, Nagle and delayed
        # ACKs cost 40 ms per APPEND on loopback.
        c.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return c

    def mbsync(self):
        p = subprocess.run([self.mbsync_bin, "-c", self.rc, "-a"], capture_output=True, text=True, timeout=600)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)

    def local_files(self, folder):
        base = os.path.join(self.local, "mail", folder)
        return {name: os.path.join(base, sub, name) for sub in ("cur", "new")
                for name in os.listdir(os.path.join(base, sub))}

    def test_full_then_incremental_two_way_sync(self):
        c = self.imap()
        for f in FOLDERS:
            if f != "INBOX":
                c.create(f)
            for i in range(PER_FOLDER):
                c.append(f, r"(\Seen)" if i % 2 else None, None,
                         f"Subject: {f} {i}\r\nMessage-ID: <{i}.{f}@sync>\r\n\r\nbody {i}\r\n".encode())
        self.mbsync()
        for f in FOLDERS:
            files = self.local_files(f)
            self.assertEqual(len(files), PER_FOLDER, f)
            seen = sum(1 for n in files if ":2," in n and "S" in n.split(":2,")[1])
            self.assertEqual(seen, PER_FOLDER // 2, f)

        # Changes on both sides: flags, and a new message each.
        c.select("Work")
        c.store("1:10", "+FLAGS", r"\Flagged")
        c.append("Work", None, None, b"Subject: new on server\r\n\r\nx\r\n")
        lists = self.local_files("Lists")
        unseen_local = sorted(n for n in lists if "S" not in n.split(":2,")[-1])[:5]
        for name in unseen_local:
            path = lists[name]
            base, _, flags = name.partition(":2,")
            target = os.path.join(os.path.dirname(os.path.dirname(path)), "cur", base + ":2," + "".join(sorted(flags + "S")))
            os.rename(path, target)
        new_local = os.path.join(self.local, "mail", "Archive", "new", "1700000000.local.host")
        with open(new_local, "wb") as f:
            f.write(b"Subject: new locally\r\n\r\ny\r\n")
        self.mbsync()

        work = self.local_files("Work")
        self.assertEqual(len(work), PER_FOLDER + 1)
        self.assertEqual(sum(1 for n in work if "F" in n.split(":2,")[-1]), 10, "server flags reached the Maildir")
        status = c.status("Lists", "(UNSEEN)")[1][0]
        self.assertIn(f"UNSEEN {PER_FOLDER // 2 - 5}".encode(), status, "local \\Seen reached the server")
        c.select("Archive")
        self.assertEqual(c.search(None, "SUBJECT", '"new locally"')[1][0].split().__len__(), 1)
        self.assertIn(f"MESSAGES {PER_FOLDER + 1}".encode(), c.status("Archive", "(MESSAGES)")[1][0])
        c.logout()
        self.mbsync()  # a third run finds nothing to do and changes nothing
        self.assertEqual(len(self.local_files("Work")), PER_FOLDER + 1)


if __name__ == "__main__":
    unittest.main()
