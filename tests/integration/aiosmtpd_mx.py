"""Receiving MX servers for the MTA-STS and DANE tests, on aiosmtpd (python3-aiosmtpd): each
`--listen IP:PORT:CERT:KEY` is a server that offers STARTTLS with that certificate (and takes
mail in clear text too, like a real MX). Every MAIL and RCPT is appended to DIR/events.jsonl
with whether the session was encrypted; each accepted message becomes DIR/<time>.json.
Prints "ready" when every server listens; stops when stdin closes."""
import argparse
import json
import os
import ssl
import sys
import threading
import time
import uuid

from aiosmtpd.controller import Controller


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--listen", action="append", required=True)
    p.add_argument("--dir", required=True)
    a = p.parse_args()
    lock = threading.Lock()

    def event(record):
        with lock, open(os.path.join(a.dir, "events.jsonl"), "a") as f:
            f.write(json.dumps(record) + "\n")

    class Keep:
        def __init__(self, ip):
            self.ip = ip

        def tls(self, server):
            return server.transport.get_extra_info("ssl_object") is not None

        async def handle_MAIL(self, server, session, envelope, address, options):
            event({"server": self.ip, "cmd": "MAIL", "arg": address, "tls": self.tls(server)})
            envelope.mail_from = address
            envelope.mail_options.extend(options)
            return "250 OK"

        async def handle_RCPT(self, server, session, envelope, address, options):
            event({"server": self.ip, "cmd": "RCPT", "arg": address, "tls": self.tls(server)})
            envelope.rcpt_tos.append(address)
            return "250 OK"

        async def handle_DATA(self, server, session, envelope):
            record = {"server": self.ip, "mail_from": envelope.mail_from, "rcpt_tos": envelope.rcpt_tos,
                      "tls": self.tls(server), "message": envelope.original_content.decode("utf-8", "surrogateescape")}
            name = os.path.join(a.dir, f"{time.time():.6f}-{uuid.uuid4().hex}.json")
            with open(name + ".tmp", "w") as f:
                json.dump(record, f)
            os.rename(name + ".tmp", name)
            return "250 2.0.0 Ok: kept " + os.path.basename(name)

    controllers = []
    for spec in a.listen:
        ip, port, cert, key = spec.split(":", 3)
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(cert, key)
        c = Controller(Keep(ip), hostname=ip, port=int(port), tls_context=ctx, require_starttls=False,
                       server_hostname="mx.test")
        c.start()
        controllers.append(c)
    print("ready", flush=True)
    try:
        sys.stdin.read()
    finally:
        for c in controllers:
            c.stop()


if __name__ == "__main__":
    main()
