"""A real mailstead-admin-api on free loopback ports, and a small HTTPS JSON client for it
(Python's http.client: a real TLS connection, cookies and headers as a browser sends them)."""
import http.client
import json
import os
import re
import ssl
import subprocess

from helpers import Instance, binary, client_tls, free_ports, make_cert, wait_port


class AdminApi:
    def __init__(self, admin_toml="", top_toml="", instance=None):
        self.port, self.metrics_port = free_ports(2)
        section = (f'[admin]\nlisten = ["127.0.0.1:{self.port}"]\nmetrics_listen = ["127.0.0.1:{self.metrics_port}"]\n'
                   + admin_toml)
        if instance is None:
            self.instance = Instance(top_toml + section)
            self.cert = make_cert(self.instance.data_dir)
            self.own_instance = True
        else:
            self.instance = instance
            with open(instance.config, "a") as f:
                f.write(section)
            self.cert = os.path.join(instance.data_dir, "tls", "cert.pem")
            self.own_instance = False
        self.proc = None
        self.log = open(os.path.join(self.instance.dir, "admin-api.log"), "w+")

    def start(self):
        self.proc = subprocess.Popen([binary("mailstead-admin-api"), "--config", self.instance.config],
                                     stdout=self.log, stderr=self.log)
        wait_port(self.port)
        return self

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=20)

    def cleanup(self):
        self.stop()
        self.log.close()
        if self.own_instance:
            self.instance.cleanup()

    def logs(self):
        self.log.flush()
        with open(self.log.name) as f:
            return f.read()

    def cli(self, *a, **kw):
        return self.instance.cli(*a, **kw)

    def tls(self):
        ctx = client_tls(self.cert)
        return ctx

    def client(self, **kw):
        return Client(self, **kw)

    def user(self, address, password="a good password 1", admin=False):
        self.cli("user", "add", address, "--password-stdin", stdin=password + "\n")
        if admin:
            self.cli("admin", "grant", address)
        return password


class Response:
    def __init__(self, status, headers, body):
        self.status, self.headers, self.body = status, headers, body

    @property
    def json(self):
        return json.loads(self.body) if self.body else None

    def header(self, name):
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None

    def __repr__(self):
        return f"<{self.status} {self.body[:300]!r}>"


class Client:
    """One keep-alive HTTPS connection; remembers the session cookie and CSRF token."""

    def __init__(self, api, token=None):
        self.api = api
        self.token = token
        self.cookie = None
        self.csrf = None
        self.conn = http.client.HTTPSConnection("127.0.0.1", api.port, context=api.tls(), timeout=60)

    def close(self):
        self.conn.close()

    def request(self, method, path, body=None, csrf=True, headers=None, raw=None, content_type="application/json"):
        h = dict(headers or {})
        if self.token:
            h["Authorization"] = f"Bearer {self.token}"
        if self.cookie:
            h["Cookie"] = f"mailstead_session={self.cookie}"
        if csrf and self.csrf and method not in ("GET", "HEAD"):
            h["X-CSRF-Token"] = self.csrf
        data = raw
        if body is not None:
            data = json.dumps(body).encode()
        if data is not None and content_type:
            h["Content-Type"] = content_type
        try:
            self.conn.request(method, path, body=data, headers=h)
            r = self.conn.getresponse()
        except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
            self.conn.close()
            self.conn = http.client.HTTPSConnection("127.0.0.1", self.api.port, context=self.api.tls(), timeout=60)
            self.conn.request(method, path, body=data, headers=h)
            r = self.conn.getresponse()
        resp = Response(r.status, r.getheaders(), r.read().decode("utf-8", "replace"))
        if r.will_close:
            self.conn.close()
            self.conn = http.client.HTTPSConnection("127.0.0.1", self.api.port, context=self.api.tls(), timeout=60)
        return resp

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, body=None, **kw):
        return self.request("POST", path, body=body, **kw)

    def put(self, path, body=None, **kw):
        return self.request("PUT", path, body=body, **kw)

    def patch(self, path, body=None, **kw):
        return self.request("PATCH", path, body=body, **kw)

    def delete(self, path, **kw):
        return self.request("DELETE", path, **kw)

    def walk(self, path):
        """Every entry of a paged list, following `Link: rel="next"` to the end, and the number
        of pages; fails on any answer but 200."""
        seen, pages = [], 0
        while path:
            r = self.get(path)
            if r.status != 200:
                raise AssertionError(f"GET {path}: {r.status} {r.body!r}")
            seen += r.json
            pages += 1
            link = r.header("Link")
            path = re.match(r'<([^>]+)>; rel="next"', link).group(1) if link else None
        return seen, pages

    def login(self, address, password):
        r = self.post("/api/v1/login", {"address": address, "password": password})
        if r.status == 200:
            cookie = r.header("Set-Cookie")
            self.cookie = cookie.split(";")[0].split("=", 1)[1]
            self.csrf = r.json["csrf_token"]
        return r
