#!/usr/bin/env python3
"""Admin API list benchmark: 10,000 users and 50,000 aliases seeded with `mailstead import`
(one store batch; every user shares one argon2id hash made once here with libsodium, so the
seeding does not spend 10,000 deliberate argon2id runs) and 50 groups of 20 members with the
CLI, then each list endpoint of the
admin API (pages, search, the whole list) asked --requests times over one HTTPS keep-alive
connection with an API token. Reports p50/p99 per endpoint in milliseconds, client side
(request sent to the last byte of the answer read).

Usage: bench/admin_api/run.py [--build build] [--users 10000] [--aliases 50000] [--groups 50] [--requests 300]"""
import argparse
import ctypes
import http.client
import json
import os
import shutil
import ssl
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from common import ROOT, free_port, wait_port  # noqa: E402


def argon2id_hash(password):
    """libsodium's crypto_pwhash_str_alg with argon2id13 at the interactive limits."""
    lib = ctypes.CDLL("libsodium.so.23")
    assert lib.sodium_init() >= 0
    out = ctypes.create_string_buffer(128)
    ops = lib.crypto_pwhash_opslimit_interactive()
    lib.crypto_pwhash_memlimit_interactive.restype = ctypes.c_size_t
    mem = lib.crypto_pwhash_memlimit_interactive()
    pw = password.encode()
    rc = lib.crypto_pwhash_str_alg(out, pw, ctypes.c_ulonglong(len(pw)), ctypes.c_ulonglong(ops), ctypes.c_size_t(mem),
                                   ctypes.c_int(2))  # crypto_pwhash_ALG_ARGON2ID13
    assert rc == 0
    return out.value.decode()


def percentile(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--users", type=int, default=10000)
    ap.add_argument("--aliases", type=int, default=50000)
    ap.add_argument("--groups", type=int, default=50)
    ap.add_argument("--requests", type=int, default=300)
    args = ap.parse_args()
    bin_dir = os.path.join(args.build, "bin")
    tmp = tempfile.mkdtemp(prefix="mailstead-bench-api-")
    proc = None
    try:
        port = free_port()
        data = os.path.join(tmp, "var")
        config = os.path.join(tmp, "mailstead.toml")
        with open(config, "w") as f:
            f.write(f'hostname = "mail.example.test"\ndata_dir = "{data}"\n[admin]\nlisten = ["127.0.0.1:{port}"]\n')
        tls = os.path.join(data, "tls")
        os.makedirs(tls)
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                        "-keyout", os.path.join(tls, "key.pem"), "-out", os.path.join(tls, "cert.pem"), "-days", "2",
                        "-subj", "/CN=mail.example.test", "-addext", "subjectAltName=IP:127.0.0.1"],
                       check=True, capture_output=True)
        cli = [os.path.join(bin_dir, "mailstead"), "--config", config]
        shared = argon2id_hash("bench password 1")
        users = [{"address": f"user{i:05d}@example.test", "password_hash": shared, "name": f"Bench User {i}"}
                 for i in range(args.users)]
        aliases = [{"alias": f"alias{i:06d}@example.test", "user": users[i % args.users]["address"]}
                   for i in range(args.aliases)]
        seed = os.path.join(tmp, "seed.json")
        with open(seed, "w") as f:
            json.dump({"domains": ["example.test"], "users": users, "aliases": aliases}, f)
        t0 = time.monotonic()
        p = subprocess.run(cli + ["import", seed], capture_output=True, text=True)
        seconds = time.monotonic() - t0
        if p.returncode != 0:
            raise SystemExit("import failed: " + p.stderr)
        print(f"import: {args.users} users, {args.aliases} aliases in {seconds:.1f} s ({p.stdout.strip()})")
        # Groups of 20 members each (the group list resolves every member's address).
        for g in range(args.groups):
            members = [users[(g * 20 + k) % args.users]["address"] for k in range(20)]
            subprocess.run(cli + ["group", "add", f"group{g:03d}@example.test"] + members, check=True,
                           capture_output=True)
        token = subprocess.run(cli + ["token", "create", "--name", "bench"], capture_output=True, text=True,
                               check=True).stdout.strip()
        proc = subprocess.Popen([os.path.join(bin_dir, "mailstead-admin-api"), "--config", config],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        ctx = ssl.create_default_context(cafile=os.path.join(tls, "cert.pem"))
        wait_port(port)
        conn = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=60)
        headers = {"Authorization": f"Bearer {token}"}
        mid_user = users[args.users // 2]["address"]
        mid_alias = aliases[args.aliases // 2]["alias"]
        endpoints = [
            ("users, first page of 100", "/api/v1/users?limit=100"),
            ("users, page of 100 from the middle", f"/api/v1/users?limit=100&after={mid_user.replace('@', '%40')}"),
            ("users, search (1 match)", "/api/v1/users?limit=100&q=user04999%40"),
            ("users, search (1,000 matches, first 100)", "/api/v1/users?limit=100&q=user01"),
            ("users, search by name (1 match)", "/api/v1/users?limit=100&q=user%204999"),
            ("aliases, first page of 100", "/api/v1/aliases?limit=100"),
            ("aliases, page of 100 from the middle", f"/api/v1/aliases?limit=100&after={mid_alias.replace('@', '%40')}"),
            ("aliases, search (1 match)", "/api/v1/aliases?limit=100&q=alias024999%40"),
            ("aliases, search by user (5 matches)", "/api/v1/aliases?limit=100&q=user04999%40"),
            ("aliases, search (50,000 match, first 100)", "/api/v1/aliases?limit=100&q=example"),
            ("aliases, search, a middle page", f"/api/v1/aliases?limit=100&q=example&after={mid_alias.replace('@', '%40')}"),
            ("domains", "/api/v1/domains"),
            ("groups", "/api/v1/groups"),
            ("catch-all", "/api/v1/catchall"),
            ("users, whole list (no limit)", "/api/v1/users"),
            ("aliases, whole list (no limit)", "/api/v1/aliases"),
        ]
        print(f"{'endpoint':45} {'p50 ms':>8} {'p99 ms':>8} {'bytes':>9}")
        results = []
        for name, path in endpoints:
            times, size = [], 0
            n = args.requests if "whole" not in name else max(20, args.requests // 10)
            for i in range(n + 5):
                t = time.perf_counter()
                conn.request("GET", path, headers=headers)
                r = conn.getresponse()
                body = r.read()
                elapsed = (time.perf_counter() - t) * 1000
                if r.status != 200:
                    raise SystemExit(f"{path}: {r.status} {body[:200]}")
                size = len(body)
                if i >= 5:  # the first few warm the caches
                    times.append(elapsed)
            p50, p99 = statistics.median(times), percentile(times, 99)
            results.append({"endpoint": name, "path": path, "p50_ms": round(p50, 2), "p99_ms": round(p99, 2),
                            "bytes": size, "requests": n})
            print(f"{name:45} {p50:8.2f} {p99:8.2f} {size:9d}")
        # The first search after a directory change (here an alias added through the API)
        # reads the tables again to rebuild the admin API's search list.
        name, path = "aliases, search (1 match) after a change", "/api/v1/aliases?limit=100&q=alias024999%40"
        times = []
        for i in range(max(20, args.requests // 10)):
            add = json.dumps({"alias": f"fresh{i:04d}@example.test", "user": users[0]["address"]})
            conn.request("POST", "/api/v1/aliases", body=add, headers=dict(headers, **{"Content-Type": "application/json"}))
            r = conn.getresponse()
            body = r.read()
            if r.status != 201:
                raise SystemExit(f"POST /api/v1/aliases: {r.status} {body[:200]}")
            t = time.perf_counter()
            conn.request("GET", path, headers=headers)
            r = conn.getresponse()
            body = r.read()
            times.append((time.perf_counter() - t) * 1000)
            if r.status != 200:
                raise SystemExit(f"{path}: {r.status} {body[:200]}")
        p50, p99 = statistics.median(times), percentile(times, 99)
        results.append({"endpoint": name, "path": path, "p50_ms": round(p50, 2), "p99_ms": round(p99, 2),
                        "bytes": len(body), "requests": len(times)})
        print(f"{name:45} {p50:8.2f} {p99:8.2f} {len(body):9d}")
        conn.close()
        print(json.dumps(results))
    finally:
        if proc and proc.poll() is None:
            proc.terminate()
            proc.wait(timeout=20)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
