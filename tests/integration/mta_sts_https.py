"""The HTTPS server of the MTA-STS tests (Python's http.server with ssl): serves
/.well-known/mta-sts.txt for each Host from DIR/<host> (404 when absent), as text/plain,
and appends each request's host to DIR/requests.log. Prints "ready"; stops when stdin closes."""
import argparse
import http.server
import os
import ssl
import sys
import threading


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--cert", required=True)
    p.add_argument("--key", required=True)
    p.add_argument("--dir", required=True)
    a = p.parse_args()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            host = (self.headers.get("Host") or "").split(":")[0].lower()
            with open(os.path.join(a.dir, "requests.log"), "a") as f:
                f.write(host + "\n")
            path = os.path.join(a.dir, host)
            if self.path != "/.well-known/mta-sts.txt" or not host or "/" in host or not os.path.exists(path):
                self.send_error(404)
                return
            with open(path, "rb") as f:
                body = f.read()
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", a.port), Handler)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(a.cert, a.key)
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print("ready", flush=True)
    try:
        sys.stdin.read()
    finally:
        server.shutdown()
        server.server_close()


if __name__ == "__main__":
    main()
