"""Shared helpers for the integration tests: where the binaries are, a temporary data
directory with its own config file, and running the `mailstead` CLI for real."""
import json
import os
import shutil
import subprocess
import tempfile
import unittest

BIN = os.environ.get("MAILSTEAD_BIN_DIR") or os.path.join(
    os.path.dirname(__file__), "..", "..", "build", "bin")


def binary(name):
    path = os.path.join(BIN, name)
    if not os.path.exists(path):
        raise unittest.SkipTest(f"{path} is not built")
    return path


class Instance:
    """A data directory and a config file pointing at it."""

    def __init__(self, extra_toml=""):
        self.dir = tempfile.mkdtemp(prefix="mailstead-it-")
        self.data_dir = os.path.join(self.dir, "var")
        self.config = os.path.join(self.dir, "mailstead.toml")
        with open(self.config, "w") as f:
            f.write(f'hostname = "mail.example.test"\ndata_dir = "{self.data_dir}"\n{extra_toml}')

    def cli(self, *args, stdin=None, check=True):
        """Runs `mailstead --config FILE args…`; returns the CompletedProcess."""
        p = subprocess.run([binary("mailstead"), "--config", self.config, *args],
                           input=stdin, capture_output=True, text=True, timeout=60)
        if check and p.returncode != 0:
            raise AssertionError(f"mailstead {' '.join(args)} exited {p.returncode}: {p.stderr}")
        return p

    def cli_json(self, *args):
        return json.loads(self.cli(*args, "--json").stdout)

    def cleanup(self):
        shutil.rmtree(self.dir, ignore_errors=True)
