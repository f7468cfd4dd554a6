#!/usr/bin/env python3
"""Sieve at delivery: SMTP delivery throughput to one user with a 50-rule script active, as a
ratio to the same delivery without a script, in the same run (medians of --runs).

The script is the kind Roundcube writes: 50 rules of header/address tests (:contains,
:matches, :regex, :is), none of which matches the benchmark's messages except the last,
which sets a flag, so every message is evaluated against all 50 and then kept in INBOX.
It is uploaded and (de)activated over ManageSieve with sieve-connect against the real
mailstead-sieved. Loopback only; no root needed."""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "smtp"))
import run as smtp_bench  # noqa: E402  (bench/smtp/run.py: Mailstead, run_point, free_port, wait_port)


def script_50_rules():
    rules = ['require ["fileinto","imap4flags","regex","relational","comparator-i;ascii-numeric","variables"];']
    for i in range(49):
        kind = i % 5
        if kind == 0:
            test = f'header :contains "Subject" "project-{i}"'
        elif kind == 1:
            test = f'address :domain :is "From" "vendor{i}.example"'
        elif kind == 2:
            test = f'header :matches "List-Id" "*list{i}.example*"'
        elif kind == 3:
            test = f'header :regex "Subject" "^\\\\[ticket-{i}\\\\] [0-9]+"'
        else:
            test = f'anyof (header :contains "X-Mailer" "tool{i}", header :value "gt" :comparator "i;ascii-numeric" "X-Priority" "{90 + i}")'
        rules.append(f"# rule:[rule {i}]\nif {test}\n{{\n\tfileinto \"Folder{i}\";\n\tstop;\n}}")
    rules.append('# rule:[flag]\nif true\n{\n\taddflag "$Bench";\n}')
    return "\n".join(rules) + "\n"


def sieve_connect(port, *args):
    r, w = os.pipe()
    os.write(w, b"bench-password\n")
    os.close(w)
    try:
        p = subprocess.run(["sieve-connect", "--server", "127.0.0.1", "--port", str(port), "--user", "bench@example.test",
                            "--passwordfd", str(r), "--notlsverify", *args],
                           capture_output=True, text=True, pass_fds=(r,), timeout=60)
        if p.returncode != 0:
            raise SystemExit(f"sieve-connect {' '.join(args)}: {p.stdout} {p.stderr}")
    finally:
        os.close(r)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.path.join(HERE, "..", "..", "build", "bin"))
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--count", type=int, default=4000)
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--size", type=int, default=2048)
    args = ap.parse_args()
    bindir = os.path.abspath(args.bin)
    work = tempfile.mkdtemp(prefix="mailstead-bench-sieve-")
    server = smtp_bench.Mailstead(work, bindir)
    sieve_port = smtp_bench.free_port()
    with open(server.config, "a") as f:
        f.write(f'[sieved]\nlisten = ["127.0.0.1:{sieve_port}"]\n')
    sieved = subprocess.Popen([f"{bindir}/mailstead-sieved", "--config", server.config])
    try:
        smtp_bench.wait_port(sieve_port)
        path = os.path.join(work, "rules.sieve")
        with open(path, "w") as f:
            f.write(script_50_rules())
        sieve_connect(sieve_port, "--upload", "--localsieve", path, "--remotesieve", "rules")
        results = {"none": [], "50 rules": []}
        for _ in range(args.runs):
            for mode in ("none", "50 rules"):
                if mode == "none":
                    sieve_connect(sieve_port, "--deactivate")
                else:
                    sieve_connect(sieve_port, "--activate", "--remotesieve", "rules")
                rate, p50, p99, *_ = smtp_bench.run_point(server, bindir, args.size, args.concurrency, args.count)
                results[mode].append((rate, p50, p99))
                print(f"{mode:>9}: {rate:8.0f} msg/s  p50 {p50:.2f} ms  p99 {p99:.2f} ms", flush=True)
        med = {m: statistics.median(r[0] for r in v) for m, v in results.items()}
        print(f"\n| script | msg/s (median of {args.runs}) | DATA→250 p50 ms |")
        print("|---|---:|---:|")
        for m, v in results.items():
            print(f"| {m} | {med[m]:.0f} | {statistics.median(r[1] for r in v):.2f} |")
        print(f"\nratio with/without: {med['50 rules'] / med['none']:.2f}")
    finally:
        sieved.terminate()
        sieved.wait()
        server.stop()


if __name__ == "__main__":
    main()
