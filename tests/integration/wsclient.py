"""A small WebSocket client (RFC 6455) over Python's ssl sockets, for the live stream tests:
the standard library has none, and the test needs what a library hides (sending no Origin or
a foreign one, not answering pings, oversized frames, reading the server's close code). The
browser tests drive the same route with chromium's own WebSocket."""
import base64
import json
import os
import socket
import struct


class Refused(Exception):
    def __init__(self, status, body):
        super().__init__(f"handshake refused: {status} {body}")
        self.status, self.body = status, body


class Closed(Exception):
    def __init__(self, code, reason):
        super().__init__(f"closed: {code} {reason}")
        self.code, self.reason = code, reason


class WebSocket:
    def __init__(self, port, path, tls, cookie=None, token=None, origin="default", timeout=10):
        raw = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.sock = tls.wrap_socket(raw, server_hostname="localhost")
        key = base64.b64encode(os.urandom(16)).decode()
        host = f"127.0.0.1:{port}"
        lines = [f"GET {path} HTTP/1.1", f"Host: {host}", "Upgrade: websocket", "Connection: Upgrade",
                 f"Sec-WebSocket-Key: {key}", "Sec-WebSocket-Version: 13"]
        if origin == "default":
            origin = f"https://{host}"
        if origin:
            lines.append(f"Origin: {origin}")
        if cookie:
            lines.append(f"Cookie: mailstead_session={cookie}")
        if token:
            lines.append(f"Authorization: Bearer {token}")
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        self.buf = b""
        head = self._until(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        if status != 101:
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            body = self._exactly(length).decode() if length else ""
            self.sock.close()
            raise Refused(status, body)
        self.pings = 0

    def _fill(self):
        data = self.sock.recv(65536)
        if not data:
            raise Closed(1006, "connection ended without a close frame")
        self.buf += data

    def _until(self, marker):
        while marker not in self.buf:
            self._fill()
        head, self.buf = self.buf.split(marker, 1)
        return head

    def _exactly(self, n):
        while len(self.buf) < n:
            self._fill()
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def send_frame(self, opcode, payload):
        mask = os.urandom(4)
        n = len(payload)
        head = bytes([0x80 | opcode])
        if n < 126:
            head += bytes([0x80 | n])
        elif n < 65536:
            head += bytes([0x80 | 126]) + struct.pack("!H", n)
        else:
            head += bytes([0x80 | 127]) + struct.pack("!Q", n)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.sock.sendall(head + mask + masked)

    def send(self, obj):
        self.send_frame(1, (obj if isinstance(obj, str) else json.dumps(obj)).encode())

    def frame(self):
        b0, b1 = self._exactly(2)
        self.fin = bool(b0 & 0x80)
        opcode, n = b0 & 0x0F, b1 & 0x7F
        if n == 126:
            n = struct.unpack("!H", self._exactly(2))[0]
        elif n == 127:
            n = struct.unpack("!Q", self._exactly(8))[0]
        return opcode, self._exactly(n)

    def recv(self, answer_pings=True):
        """The next text message as JSON; pings answered (unless told not to); Closed on close."""
        parts = None  # a fragmented text message (RFC 6455 5.4): continuation frames until FIN
        while True:
            opcode, payload = self.frame()
            if opcode == 1 or (opcode == 0 and parts is not None):
                parts = (parts or []) + [payload]
                if self.fin:
                    return json.loads(b"".join(parts))
                continue
            if opcode == 8:
                code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else 1005
                raise Closed(code, payload[2:].decode("utf-8", "replace"))
            if opcode == 9:
                self.pings += 1
                if answer_pings:
                    self.send_frame(10, payload)

    def close(self):
        try:
            self.send_frame(8, struct.pack("!H", 1000))
        except OSError:
            pass
        self.sock.close()
