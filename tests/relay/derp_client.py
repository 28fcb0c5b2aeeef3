# SPDX-License-Identifier: GPL-2.0 OR MIT
"""A DERP client written from the public description of Tailscale's relay
protocol, independently of relay/ (which is what it tests).

Wire format, as published by Tailscale (derp/derp.go):
  HTTP: GET /derp, `Upgrade: DERP`, `Connection: Upgrade`; the server answers
  101 with `Derp-Version` and `Derp-Public-Key` (unless the client sent
  `Derp-Fast-Start: 1`), then frames.
  frame = type (1 byte) + length (4 bytes big-endian) + payload.
  0x01 ServerKey   "DERP" U+1F511 (8 bytes) + server public key (32)
  0x02 ClientInfo  client public key (32) + nonce (24) + NaCl box of JSON
  0x03 ServerInfo  nonce (24) + NaCl box of JSON
  0x04 SendPacket  destination key (32) + packet
  0x05 RecvPacket  source key (32) + packet
  0x06 KeepAlive, 0x07 NotePreferred (1 byte), 0x08 PeerGone (key + reason),
  0x12 Ping / 0x13 Pong (8 bytes).
Needs Debian's python3-nacl; run with /usr/bin/python3.
"""
import json
import socket
import ssl
import struct
import time

from nacl.public import Box, PrivateKey, PublicKey

MAGIC = b"DERP" + "\U0001F511".encode()
SERVER_KEY, CLIENT_INFO, SERVER_INFO = 0x01, 0x02, 0x03
SEND_PACKET, RECV_PACKET, KEEP_ALIVE = 0x04, 0x05, 0x06
NOTE_PREFERRED, PEER_GONE, PEER_PRESENT = 0x07, 0x08, 0x09
FORWARD_PACKET, WATCH_CONNS, CLOSE_PEER = 0x0a, 0x10, 0x11
PING, PONG, HEALTH, RESTARTING = 0x12, 0x13, 0x14, 0x15
GONE_DISCONNECTED, GONE_NOT_HERE = 0, 1
DISCO_MAGIC = b"TS" + "\U0001F4AC".encode()


class Closed(Exception):
    """The server closed the connection."""


def frame(ftype, payload=b""):
    return struct.pack(">BI", ftype, len(payload)) + payload


def disco_like(size=80):
    """Bytes that look like a disco message: magic, key, nonce, box."""
    return DISCO_MAGIC + bytes(size - len(DISCO_MAGIC))


def http_get(port, path, headers=None, method="GET", host="127.0.0.1"):
    """One request; returns (status, {lower-case header: value}, body)."""
    s = socket.create_connection((host, port), timeout=5)
    req = "%s %s HTTP/1.1\r\nHost: derp\r\n" % (method, path)
    for k, v in (headers or {}).items():
        req += "%s: %s\r\n" % (k, v)
    s.sendall((req + "\r\n").encode())
    data = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    s.close()
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    hdrs = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        hdrs[k.strip().lower()] = v.strip()
    return status, hdrs, body


class Client:
    def __init__(self, port, host="127.0.0.1", key=None, fast_start=False,
                 timeout=5, tls=None, server_name=None):
        """tls: an ssl.SSLContext to speak HTTPS, checking server_name."""
        self.priv = key or PrivateKey.generate()
        self.pub = bytes(self.priv.public_key)
        self.sock = socket.create_connection((host, port), timeout=timeout)
        if tls is not None:
            self.sock = tls.wrap_socket(self.sock, server_hostname=server_name)
        self.buf = b""
        self.fast_start = fast_start
        self.upgrade_headers = {}

    # --- raw I/O ---
    def send_raw(self, data):
        self.sock.sendall(data)

    def _fill(self, n):
        while len(self.buf) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise Closed("connection closed")
            self.buf += chunk

    def read_frame(self):
        self._fill(5)
        ftype, flen = struct.unpack(">BI", self.buf[:5])
        if flen > (1 << 20) + 24:
            raise ValueError("frame too large: %d" % flen)
        self._fill(5 + flen)
        payload = self.buf[5:5 + flen]
        self.buf = self.buf[5 + flen:]
        return ftype, payload

    def closed_within(self, seconds):
        """True if the server closes the connection within `seconds`
        (frames it sends meanwhile are read and ignored)."""
        deadline = time.monotonic() + seconds
        try:
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self.sock.settimeout(left)
                chunk = self.sock.recv(65536)
                if not chunk:
                    return True
        except (ConnectionResetError, BrokenPipeError, ssl.SSLError):
            return True
        except socket.timeout:
            return False

    # --- handshake ---
    def upgrade(self):
        req = ("GET /derp HTTP/1.1\r\nHost: derp\r\nUpgrade: DERP\r\n"
               "Connection: Upgrade\r\n")
        if self.fast_start:
            req += "Derp-Fast-Start: 1\r\n"
        self.send_raw((req + "\r\n").encode())
        if self.fast_start:
            return
        while b"\r\n\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise Closed("closed during upgrade")
            self.buf += chunk
        head, _, self.buf = self.buf.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        self.status = int(lines[0].split()[1])
        for line in lines[1:]:
            k, _, v = line.partition(":")
            self.upgrade_headers[k.strip().lower()] = v.strip()
        if self.status != 101:
            raise Closed("upgrade refused: %d" % self.status)

    def read_server_key(self):
        ftype, payload = self.read_frame()
        if ftype != SERVER_KEY or payload[:8] != MAGIC or len(payload) < 40:
            raise ValueError("bad server key frame")
        self.server_key = payload[8:40]
        return self.server_key

    def client_info_frame(self, info=None, box_key=None):
        msg = json.dumps(info if info is not None else
                         {"version": 2, "CanAckPings": True}).encode()
        box = Box(self.priv, PublicKey(box_key or self.server_key))
        return frame(CLIENT_INFO, self.pub + bytes(box.encrypt(msg)))

    def login(self, info=None):
        self.upgrade()
        self.read_server_key()
        self.send_raw(self.client_info_frame(info))
        ftype, payload = self.read_frame()
        if ftype != SERVER_INFO:
            raise ValueError("want ServerInfo, got 0x%02x" % ftype)
        box = Box(self.priv, PublicKey(self.server_key))
        self.server_info = json.loads(box.decrypt(payload))
        return self.server_info

    # --- steady state ---
    def send_packet(self, dst, data):
        self.send_raw(frame(SEND_PACKET, dst + data))

    def ping(self, data):
        self.send_raw(frame(PING, data))

    def note_preferred(self, preferred=True):
        self.send_raw(frame(NOTE_PREFERRED, b"\x01" if preferred else b"\x00"))

    def recv(self, want=None, skip=(KEEP_ALIVE,)):
        """Next frame not in `skip`; checks its type if `want` is given."""
        while True:
            ftype, payload = self.read_frame()
            if ftype in skip:
                continue
            if want is not None and ftype != want:
                raise ValueError("want frame 0x%02x, got 0x%02x %r" %
                                 (want, ftype, payload[:40]))
            return ftype, payload

    def recv_packet(self):
        _, payload = self.recv(RECV_PACKET)
        return payload[:32], payload[32:]

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass
