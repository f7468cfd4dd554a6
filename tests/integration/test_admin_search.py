"""The admin API's searches (`GET /api/v1/users?q=` and `GET /api/v1/aliases?q=`) answer from
an in-memory search list that is rebuilt when the store counts a change of the directory
(docs/performance.md). Checked against a plain Python rendering of the rules over the whole
lists: ASCII case folded, matches in the local part and the domain (and a user's name, and
an alias's user), pages walked through the Link headers across a match set, and every kind
of change (by the API, and by the CLI: another process) seen by the very next request."""
import json
import unittest
import urllib.parse

from adminapi import AdminApi


class Search(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.api = AdminApi()
        users = [{"address": f"{'ann' if i % 3 == 0 else 'bob'}{i:02d}@{'north' if i % 2 else 'south'}.test",
                  "password": "a good password 1", "name": f"Person {i} Of {'Tromsø' if i % 4 == 0 else 'Kent'}"}
                 for i in range(30)]
        aliases = [{"alias": f"{'sales' if i % 5 == 0 else 'info'}{i:03d}@{'north' if i % 2 else 'south'}.test",
                    "user": users[i % 30]["address"]} for i in range(120)]
        cls.api.cli("import", "-", stdin=json.dumps({"domains": ["north.test", "south.test"], "users": users,
                                                    "aliases": aliases}))
        cls.token = cls.api.cli("token", "create", "--name", "search").stdout.strip()
        cls.api.start()
        cls.c = cls.api.client(token=cls.token)

    @classmethod
    def tearDownClass(cls):
        cls.c.close()
        cls.api.cleanup()

    def expected_users(self, q):
        q = q.lower()  # the API folds ASCII only; these names' other letters have no upper case in q
        every = self.c.get("/api/v1/users").json
        return [u["address"] for u in every if q in u["address"] or q in u["name"].lower()]

    def expected_aliases(self, q):
        q = q.lower()
        every = self.c.get("/api/v1/aliases").json
        return [a["alias"] for a in every if q in a["alias"] or q in a["user"]]

    def search_users(self, q, limit=7):
        got, _ = self.c.walk(f"/api/v1/users?limit={limit}&q=" + urllib.parse.quote(q))
        return [u["address"] for u in got]

    def search_aliases(self, q, limit=7):
        got, pages = self.c.walk(f"/api/v1/aliases?limit={limit}&q=" + urllib.parse.quote(q))
        return got, pages

    def check_aliases(self, q, limit=7):
        got, pages = self.search_aliases(q, limit)
        want = self.expected_aliases(q)
        self.assertEqual([a["alias"] for a in got], want, q)
        self.assertEqual(pages, max(1, -(-len(want) // limit)), q)
        # Each entry names its user as the whole list does.
        every = {a["alias"]: a["user"] for a in self.c.get("/api/v1/aliases").json}
        for a in got:
            self.assertEqual(a["user"], every[a["alias"]])
        # Without ?limit the search answers the whole match set at once.
        whole = self.c.get("/api/v1/aliases?q=" + urllib.parse.quote(q))
        self.assertEqual([a["alias"] for a in whole.json], want, q)
        return want

    def test_a_matches_local_part_domain_name_and_user(self):
        for q in ("ann", "ANN", "North", "@SOUTH.", "bob07", "of tromsø", "PERSON 1", "n1", "zzz", "."):
            want = self.expected_users(q)
            self.assertEqual(self.search_users(q), want, q)
        self.assertEqual(len(self.expected_users("ann")), 10)
        self.assertEqual(len(self.expected_users("of kent")), 22)
        self.assertEqual(self.search_users("zzz"), [])
        for q in ("sales", "SALES0", "@north", "NORTH.TEST", "info119@", "ann03@", "bob", "zzz"):
            self.check_aliases(q)
        # An alias found through its user's address (not its own).
        self.assertEqual(self.check_aliases("ann03@"), ["info003@north.test", "info033@north.test",
                                                        "info063@north.test", "info093@north.test"])

    def test_b_pages_across_a_match_set(self):
        want = self.expected_aliases("north")
        self.assertEqual(len(want), 60)
        for limit in (1, 7, 60, 61, 1000):
            got, pages = self.search_aliases("north", limit)
            self.assertEqual([a["alias"] for a in got], want, limit)
            self.assertEqual(pages, max(1, -(-60 // limit)), limit)
        # ?after= anywhere in the set, even an address that is no entry, starts after it.
        r = self.c.get("/api/v1/aliases?limit=3&q=north&after=" + urllib.parse.quote("info010@north.test"))
        self.assertEqual([a["alias"] for a in r.json], [a for a in want if a > "info010@north.test"][:3])
        r = self.c.get("/api/v1/aliases?limit=3&q=north&after=" + urllib.parse.quote(want[-1]))
        self.assertEqual((r.json, r.header("Link")), ([], None))
        link = self.c.get("/api/v1/aliases?limit=3&q=NORTH").header("Link")
        self.assertIn("&q=north", link)  # the next page repeats the (folded) search
        users = self.expected_users("south")
        for limit in (1, 4, 15, 16):
            self.assertEqual(self.search_users("south", limit), users, limit)

    def test_c_changes_are_seen_by_the_next_request(self):
        c = self.c
        self.assertEqual(self.search_users("ann03"), ["ann03@north.test"])
        self.assertEqual([a["alias"] for a in self.search_aliases("newalias")[0]], [])
        # Through the API (this process's own commits)...
        r = c.post("/api/v1/aliases", {"alias": "NewAlias1@south.test", "user": "ann03@north.test"})
        self.assertEqual(r.status, 201, r.body)
        self.assertEqual(self.check_aliases("newalias"), ["newalias1@south.test"])
        self.assertIn("newalias1@south.test", self.check_aliases("ann03@"))
        r = c.patch("/api/v1/users/ann03%40north.test", {"name": "Zelda Quux"})
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual(self.search_users("zelda"), ["ann03@north.test"])
        self.assertEqual(self.search_users("person 3 of"), [])
        # ...and through the CLI: another process writes the store under the running API.
        self.api.cli("alias", "add", "cliAlias@north.test", "bob01@north.test")
        self.assertEqual(self.check_aliases("clialias"), ["clialias@north.test"])
        self.api.cli("user", "add", "carol@south.test", "--password-stdin", stdin="a good password 1\n")
        self.assertEqual(self.search_users("carol"), ["carol@south.test"])
        self.api.cli("alias", "remove", "newalias1@south.test")
        self.assertEqual(self.check_aliases("newalias"), [])
        # A removed user takes its aliases out of the search with it.
        before = self.check_aliases("bob01@")
        self.assertIn("clialias@north.test", before)
        self.assertEqual(c.delete("/api/v1/users/bob01%40north.test").status, 204)
        self.assertEqual(self.search_users("bob01"), [])
        self.assertEqual(self.check_aliases("bob01@"), [])
        self.assertEqual(self.check_aliases("clialias"), [])


if __name__ == "__main__":
    unittest.main()
