"""A relay (smarthost) for the tests, on aiosmtpd (Debian's python3-aiosmtpd): one port that
offers STARTTLS and requires it before AUTH (587-like), one that speaks TLS from the first
byte (465-like), AUTH PLAIN/LOGIN against one user and password on both, and no mail without
a login. Each message it accepts is written to DIR as a JSON file (sender, recipients, the
user who logged in, the message). Prints "ready" when both ports listen."""
import argparse
import json
import os
import ssl
import sys
import time
import uuid

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--starttls-port", type=int, required=True)
    p.add_argument("--tls-port", type=int, required=True)
    p.add_argument("--cert", required=True)
    p.add_argument("--key", required=True)
    p.add_argument("--user", required=True)
    p.add_argument("--password", required=True)
    p.add_argument("--dir", required=True)
    a = p.parse_args()

    def authenticate(server, session, envelope, mechanism, auth_data):
        ok = (isinstance(auth_data, LoginPassword) and auth_data.login.decode() == a.user
              and auth_data.password.decode() == a.password)
        if ok:
            session.relay_login = a.user
        return AuthResult(success=ok, handled=False)

    class Keep:
        async def handle_MAIL(self, server, session, envelope, address, options):
            if not session.authenticated:
                return "530 5.7.0 Authentication required"
            envelope.mail_from = address
            envelope.mail_options.extend(options)
            return "250 OK"

        async def handle_DATA(self, server, session, envelope):
            record = {"mail_from": envelope.mail_from, "rcpt_tos": envelope.rcpt_tos,
                      "login": getattr(session, "relay_login", None),
                      "tls": server.transport.get_extra_info("ssl_object") is not None,
                      "message": envelope.original_content.decode("utf-8", "surrogateescape")}
            name = os.path.join(a.dir, f"{time.time():.6f}-{uuid.uuid4().hex}.json")
            with open(name + ".tmp", "w") as f:
                json.dump(record, f)
            os.rename(name + ".tmp", name)
            return "250 2.0.0 Ok: relayed " + os.path.basename(name)

    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(a.cert, a.key)
    common = dict(authenticator=authenticate, server_hostname="relay.test")
    starttls = Controller(Keep(), hostname="127.0.0.1", port=a.starttls_port, tls_context=ctx,
                          require_starttls=True, auth_require_tls=True, **common)
    # The whole connection is TLS here; aiosmtpd's auth_require_tls only knows STARTTLS.
    implicit = Controller(Keep(), hostname="127.0.0.1", port=a.tls_port, ssl_context=ctx,
                          auth_require_tls=False, **common)
    starttls.start()
    implicit.start()
    print("ready", flush=True)
    try:
        sys.stdin.read()  # until the test closes our stdin (or kills us)
    finally:
        starttls.stop()
        implicit.stop()


if __name__ == "__main__":
    main()
