"""The store across processes: concurrent writers in two processes, and a writer killed
with SIGKILL mid-stream, after which every batch it reported durable is present."""
import os
import select
import signal
import subprocess
import tempfile
import shutil
import time
import unittest

from helpers import binary


class StoreProcessesTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="mailstead-store-")
        self.store = os.path.join(self.dir, "store")

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def torture(self, *args, **kw):
        return [binary("store-torture"), args[0], "--dir", self.store, *args[1:]]

    def test_two_processes_commit_concurrently(self):
        procs = [subprocess.Popen(self.torture("write", "--writer", str(w), "--count", "10000",
                                               "--concurrency", "16"),
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
                 for w in (1, 2)]
        for p in procs:
            _, err = p.communicate(timeout=300)
            self.assertEqual(p.returncode, 0, err)
        for w in (1, 2):
            p = subprocess.run(self.torture("verify", "--writer", str(w), "--count", "10000"),
                               capture_output=True, text=True, timeout=60)
            self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
            self.assertEqual(p.stdout.strip(), "present 10000 counter 10000")

    def test_sigkill_mid_stream_loses_nothing_acknowledged(self):
        acked_total = 0
        for round_ in range(3):
            p = subprocess.Popen(self.torture("write", "--writer", str(10 + round_), "--count", "10000000",
                                              "--concurrency", "16"),
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            acks = []
            deadline = time.monotonic() + 20
            buf = b""
            # Read acknowledgements until a good number arrived, then kill mid-stream.
            while len(acks) < 1500 and time.monotonic() < deadline:
                r, _, _ = select.select([p.stdout], [], [], 1)
                if r:
                    chunk = os.read(p.stdout.fileno(), 65536)
                    if not chunk:
                        break
                    buf += chunk
                    *lines, buf = buf.split(b"\n")
                    acks += lines
            p.send_signal(signal.SIGKILL)
            rest, _ = p.communicate(timeout=30)
            acks += (buf + rest).split(b"\n")
            acks = [a for a in acks if a.startswith(b"ack ")]
            self.assertGreater(len(acks), 100, "the writer made no progress")
            acked_total += len(acks)
            check = subprocess.run(self.torture("check"), input=b"\n".join(acks), capture_output=True, timeout=60)
            self.assertEqual(check.returncode, 0, check.stdout + check.stderr)
            self.assertIn(b"missing 0", check.stdout)
        # The store is still writable by a fresh process after three crashes.
        p = subprocess.run(self.torture("write", "--writer", "99", "--count", "100"), capture_output=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertGreater(acked_total, 300)


if __name__ == "__main__":
    unittest.main()
