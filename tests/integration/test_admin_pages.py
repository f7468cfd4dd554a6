"""`mailstead import` and the admin API's pages for real: a JSON import in one batch (a bad
entry anywhere imports nothing, and says which entry), users with a password or an argon2id
hash that then log in over IMAP, and `GET users` / `GET aliases` paged with
?limit=&after=&q= and RFC 8288 Link headers walked to the end."""
import ctypes
import imaplib
import json
import os
import subprocess
import unittest
import urllib.parse

from adminapi import AdminApi
from helpers import binary, client_tls, free_ports, wait_port

PASSWORD = "imported password 1"


class ImportAndPages(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.imaps = free_ports(1)[0]
        cls.api = AdminApi(top_toml=f'[imapd]\nimaps_listen = ["127.0.0.1:{cls.imaps}"]\n')

    @classmethod
    def tearDownClass(cls):
        cls.api.cleanup()

    def import_json(self, doc, check=True):
        return self.api.cli("import", "-", stdin=json.dumps(doc), check=check)

    def test_a_import_then_pages(self):
        # A refused entry (an alias of a user that is not in the file) imports nothing.
        bad = self.import_json({"domains": ["pages.test"],
                                "users": [{"address": "u1@pages.test", "password": PASSWORD}],
                                "aliases": [{"alias": "a1@pages.test", "user": "nobody@pages.test"}]}, check=False)
        self.assertEqual(bad.returncode, 1)
        self.assertIn("aliases[0]", bad.stderr)
        self.assertIn("nothing was imported", bad.stderr)
        self.assertEqual(self.api.instance.cli_json("user", "list"), [])
        self.assertEqual(self.api.instance.cli_json("domain", "list"), [])
        for doc, where in (({"users": [{"address": "x@pages.test", "password_hash": "$2y$10$abc"}]}, "password_hash"),
                           ({"users": [{"address": "x@pages.test"}]}, "users[0] needs password"),
                           ({"users": [{"address": "x@pages.test", "password": PASSWORD, "shell": 1}]}, "unknown field"),
                           ({"users": "nope"}, "users must be an array")):
            p = self.import_json(doc, check=False)
            self.assertEqual(p.returncode, 1, doc)
            self.assertIn(where, p.stderr)

        # One user with a password the import hashes, 24 sharing one argon2id hash made
        # here with libsodium (as a hash moved from another server would be).
        lib = ctypes.CDLL("libsodium.so.23")
        self.assertGreaterEqual(lib.sodium_init(), 0)
        out = ctypes.create_string_buffer(128)
        lib.crypto_pwhash_memlimit_interactive.restype = ctypes.c_size_t
        pw = PASSWORD.encode()
        self.assertEqual(lib.crypto_pwhash_str_alg(out, pw, ctypes.c_ulonglong(len(pw)),
                                                   ctypes.c_ulonglong(lib.crypto_pwhash_opslimit_interactive()),
                                                   ctypes.c_size_t(lib.crypto_pwhash_memlimit_interactive()),
                                                   ctypes.c_int(2)), 0)
        shared = out.value.decode()
        users = [{"address": "u00@pages.test", "password": PASSWORD, "name": "Plain Password"}]
        users += [{"address": f"u{i:02d}@pages.test", "password_hash": shared, "name": f"Hashed {i}"} for i in range(1, 25)]
        aliases = [{"alias": f"al{i:02d}@pages.test", "user": f"u{i % 25:02d}@pages.test"} for i in range(60)]
        p = self.api.cli("import", "-", "--json", stdin=json.dumps({"domains": ["pages.test"], "users": users,
                                                                    "aliases": aliases}))
        self.assertEqual(json.loads(p.stdout), {"domains": 1, "users": 25, "aliases": 60})

        token = self.api.cli("token", "create", "--name", "pages").stdout.strip()
        self.api.start()
        c = self.api.client(token=token)

        got, pages = c.walk("/api/v1/users?limit=10")
        self.assertEqual([u["address"] for u in got], [f"u{i:02d}@pages.test" for i in range(25)])
        self.assertEqual(pages, 3)
        self.assertEqual(got, c.get("/api/v1/users").json, "pages add up to the whole list")
        u3 = [u for u in got if u["address"] == "u03@pages.test"][0]
        self.assertEqual(sorted(u3["aliases"]), ["al03@pages.test", "al28@pages.test", "al53@pages.test"])

        r = c.get("/api/v1/users?limit=5&after=" + urllib.parse.quote("u20@pages.test"))
        self.assertEqual([u["address"] for u in r.json], [f"u{i}@pages.test" for i in range(21, 25)])
        self.assertIsNone(r.header("Link"))
        r = c.get("/api/v1/users?limit=100&q=hashed%201")  # names "Hashed 1", "Hashed 10".."Hashed 19"
        self.assertEqual(len(r.json), 11)

        got, pages = c.walk("/api/v1/aliases?limit=25")
        self.assertEqual(len(got), 60)
        self.assertEqual(pages, 3)
        self.assertEqual(got, c.get("/api/v1/aliases").json)
        r = c.get("/api/v1/aliases?limit=100&q=u07%40")
        self.assertEqual(sorted(a["alias"] for a in r.json), ["al07@pages.test", "al32@pages.test", "al57@pages.test"])
        for bad_limit in ("0", "1001", "x"):
            r = c.get("/api/v1/users?limit=" + bad_limit)
            self.assertEqual(r.status, 422)
            self.assertEqual(r.json["error"]["field"], "limit")

        # Both kinds of imported password log in.
        log = open(os.path.join(self.api.instance.dir, "imapd.log"), "w+")
        imapd = subprocess.Popen([binary("mailstead-imapd"), "--config", self.api.instance.config], stdout=log, stderr=log)
        try:
            wait_port(self.imaps)
            for who in ("u00@pages.test", "u17@pages.test"):
                m = imaplib.IMAP4_SSL("127.0.0.1", self.imaps, ssl_context=client_tls(self.api.cert))
                m.login(who, PASSWORD)
                m.logout()
        finally:
            imapd.terminate()
            imapd.wait(timeout=20)
            log.close()


if __name__ == "__main__":
    unittest.main()
