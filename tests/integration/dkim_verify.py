"""Verifies every DKIM-Signature of the message on standard input with python3-dkim
(dkimpy, a third-party verifier), fetching the public keys over real DNS from the server
given by --dns 127.0.0.1:PORT (dnsmasq in the tests). Prints one line per signature,
"ok a=ALG d=DOMAIN s=SELECTOR" or "fail ...: why", and exits 0 only when all verify.

Run with an interpreter that has Debian's python3-dkim (see test_dkim.verifier_python).
"""
import argparse
import re
import sys

import dkim
import dns.resolver


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dns", required=True)
    args = ap.parse_args()
    host, port = args.dns.rsplit(":", 1)
    resolver = dns.resolver.Resolver(configure=False)
    resolver.nameservers = [host]
    resolver.port = int(port)

    def dnsfunc(name, timeout=5):
        name = name.decode() if isinstance(name, bytes) else name
        try:
            answer = resolver.resolve(name, "TXT", lifetime=timeout)
        except Exception:  # NXDOMAIN, timeout: no key
            return None
        return b"".join(b"".join(r.strings) for r in answer)

    message = sys.stdin.buffer.read()
    d = dkim.DKIM(message)
    count = len(re.findall(rb"(?im)^dkim-signature:", message))
    if count == 0:
        print("fail: no DKIM-Signature")
        return 1
    failed = 0
    for i in range(count):
        try:
            ok = d.verify(idx=i, dnsfunc=dnsfunc)
            why = ""
        except dkim.DKIMException as e:
            ok, why = False, str(e)
        sig = _signature(message, i)
        line = f"a={sig.get(b'a', b'?').decode()} d={sig.get(b'd', b'?').decode()} s={sig.get(b's', b'?').decode()}"
        print(("ok " if ok else "fail ") + line + (f": {why}" if why else ""))
        failed += not ok
    return 1 if failed else 0


def _signature(message, idx):
    """The tags of the idx-th DKIM-Signature field (unfolded)."""
    head = message.split(b"\r\n\r\n", 1)[0].replace(b"\r\n\t", b"").replace(b"\r\n ", b" ")
    fields = [line for line in head.split(b"\r\n") if line.lower().startswith(b"dkim-signature:")]
    value = fields[idx].split(b":", 1)[1]
    out = {}
    for part in value.split(b";"):
        if b"=" in part:
            k, v = part.split(b"=", 1)
            out[k.strip()] = re.sub(rb"\s+", b"", v)
    return out


if __name__ == "__main__":
    sys.exit(main())
