# SPDX-License-Identifier: GPL-2.0 OR MIT
"""Wire-compatibility and robustness tests of meshwg-derper, through the
independent DERP client of derp_client.py.

usage: test_derp.py DERPER [--valgrind]
Starts its own servers on free loopback ports; prints one line per check
and `N passed, N failed`; exit status 1 if any failed.
"""
import json
import os
import signal
import socket
import ssl
import stat
import struct
import subprocess
import sys
import tempfile
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import derp_client as dc  # noqa: E402
import stun_client  # noqa: E402

HANDSHAKE_TIMEOUT = 2
VALGRIND = ["valgrind", "-q", "--error-exitcode=99", "--leak-check=full",
            "--errors-for-leak-kinds=definite", "--show-leak-kinds=definite"]
PASSED, FAILED = [], []


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Server:
    def __init__(self, binary, tmp, valgrind=False,
                 extra=("--http", "--stun-port", "0"), name="key",
                 host="127.0.0.1", preexec=None):
        self.port = free_port()
        self.keyfile = os.path.join(tmp, name + ".json")
        self.log = open(os.path.join(tmp, name + ".log"), "ab")
        cmd = [binary, "-a", "%s:%d" % (host, self.port),
               "-c", self.keyfile,
               "--handshake-timeout", str(HANDSHAKE_TIMEOUT)] + list(extra)
        if valgrind:
            cmd = VALGRIND + cmd
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=self.log,
                                     preexec_fn=preexec)
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection((host.strip("[]"), self.port),
                                         1).close()
                break
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("server did not start")
                time.sleep(0.05)

    def vars(self):
        status, _, body = dc.http_get(self.port, "/debug/vars")
        assert status == 200, status
        return json.loads(body)

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = "hung"
        self.log.close()
        return rc


def check(name):
    def deco(fn):
        fn.check_name = name
        return fn
    return deco


def login(srv, **kw):
    c = dc.Client(srv.port, **kw)
    c.login()
    return c


def exchange_ok(a, b, tag=b"x"):
    """a -> b and b -> a each deliver one packet with the right source."""
    a.send_packet(b.pub, b"a2b" + tag)
    src, data = b.recv_packet()
    assert (src, data) == (a.pub, b"a2b" + tag), (src, data)
    b.send_packet(a.pub, b"b2a" + tag)
    src, data = a.recv_packet()
    assert (src, data) == (b.pub, b"b2a" + tag), (src, data)
    return True


# ---- HTTP ----

@check("GET / serves a page")
def t_root(srv):
    status, hdrs, body = dc.http_get(srv.port, "/")
    assert status == 200 and b"DERP" in body, (status, body)
    assert hdrs["content-type"].startswith("text/html")


@check("/generate_204 echoes a valid X-Tailscale-Challenge only")
def t_204(srv):
    status, hdrs, body = dc.http_get(srv.port, "/generate_204",
                                     {"X-Tailscale-Challenge": "ab.c-d_e:1"})
    assert status == 204 and body == b"", (status, body)
    assert hdrs.get("x-tailscale-response") == "response ab.c-d_e:1", hdrs
    assert "content-length" not in hdrs, hdrs
    longest = "A1.-_:" * 10 + "zZ09"       # 64 characters: still echoed
    status, hdrs, _ = dc.http_get(srv.port, "/generate_204",
                                  {"X-Tailscale-Challenge": longest})
    assert hdrs.get("x-tailscale-response") == "response " + longest, hdrs
    assert "cache-control" in hdrs, hdrs
    status, hdrs, _ = dc.http_get(srv.port, "/generate_204",
                                  {"X-Tailscale-Challenge": "bad value!"})
    assert status == 204 and "x-tailscale-response" not in hdrs, hdrs
    status, hdrs, _ = dc.http_get(srv.port, "/generate_204",
                                  {"X-Tailscale-Challenge": "a" * 65})
    assert status == 204 and "x-tailscale-response" not in hdrs, hdrs


@check("/derp/probe and /derp/latency-check: 200 with CORS *, HEAD too")
def t_probe(srv):
    for path in ("/derp/probe", "/derp/latency-check"):
        for method in ("GET", "HEAD"):
            status, hdrs, body = dc.http_get(srv.port, path, method=method)
            assert status == 200, (path, method, status)
            assert hdrs.get("access-control-allow-origin") == "*", hdrs
            assert body == b""
        status, _, _ = dc.http_get(srv.port, path, method="POST")
        assert status == 405, status


@check("unknown paths 404, malformed requests 400, /derp without Upgrade 426")
def t_404(srv):
    assert dc.http_get(srv.port, "/nope")[0] == 404
    assert dc.http_get(srv.port, "/derp/nope")[0] == 404
    assert dc.http_get(srv.port, "/derp")[0] == 426
    assert dc.http_get(srv.port, "/derp", {"Upgrade": "h2c"})[0] == 426
    s = socket.create_connection(("127.0.0.1", srv.port), 5)
    s.sendall(b"\x00\x01garbage\r\n\r\n")
    resp = s.recv(4096)
    assert resp.startswith(b"HTTP/1.1 400 "), resp
    s.close()


@check("a client that half-closes after its request still gets the answer")
def t_half_close(srv):
    # Whether the FIN comes with the request or after it is up to timing:
    # ask often enough to meet the first case.
    for path, status in (("/derp/probe", b"200"), ("/nope", b"404")) * 20:
        s = socket.create_connection(("127.0.0.1", srv.port), 5)
        s.sendall(b"GET %s HTTP/1.1\r\nHost: x\r\n\r\n" % path.encode())
        s.shutdown(socket.SHUT_WR)
        data = b""
        while True:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
        s.close()
        assert data.startswith(b"HTTP/1.1 " + status), (path, data[:40])


# ---- DERP handshake ----

@check("101 with Derp-Version 2 and Derp-Public-Key, then ServerKey; Upgrade case-insensitive")
def t_upgrade(srv):
    c = dc.Client(srv.port)
    c.send_raw(b"GET /derp HTTP/1.1\r\nHost: x\r\nupgrade: dErP\r\n"
               b"Connection: Upgrade\r\n\r\n")
    while b"\r\n\r\n" not in c.buf:
        c.buf += c.sock.recv(4096)
    head, _, c.buf = c.buf.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    assert lines[0] == "HTTP/1.1 101 Switching Protocols", lines
    hdrs = {k.lower(): v.strip() for k, _, v in
            (line.partition(":") for line in lines[1:])}
    assert hdrs["derp-version"] == "2", hdrs
    key = c.read_server_key()
    assert hdrs["derp-public-key"] == key.hex(), hdrs
    c.send_raw(c.client_info_frame())
    ftype, payload = c.read_frame()
    assert ftype == dc.SERVER_INFO
    info = json.loads(dc.Box(c.priv, dc.PublicKey(key)).decrypt(payload))
    assert info.get("version") == 2, info
    c.close()


@check("fast start: no 101, ServerKey first")
def t_fast_start(srv):
    c = dc.Client(srv.port, fast_start=True)
    c.upgrade()
    c._fill(5)
    assert c.buf[0] == dc.SERVER_KEY, c.buf[:20]
    c.read_server_key()
    c.send_raw(c.client_info_frame())
    assert c.recv(dc.SERVER_INFO)
    c.close()


@check("the key file is created 0600 and reused")
def t_keyfile(srv):
    mode = stat.S_IMODE(os.stat(srv.keyfile).st_mode)
    assert mode == 0o600, oct(mode)
    with open(srv.keyfile) as f:
        cfg = json.load(f)
    assert cfg["PrivateKey"].startswith("privkey:")
    priv = bytes.fromhex(cfg["PrivateKey"][len("privkey:"):])
    c = dc.Client(srv.port)
    c.upgrade()
    assert c.read_server_key() == bytes(dc.PrivateKey(priv).public_key)
    c.close()


# ---- relaying ----

@check("two clients exchange packets both ways (empty to 64 KiB)")
def t_exchange(srv):
    a, b = login(srv), login(srv)
    exchange_ok(a, b)
    for size in (0, 1, 1400, 65536):
        data = os.urandom(size)
        a.send_packet(b.pub, data)
        assert b.recv_packet() == (a.pub, data), size
        b.send_packet(a.pub, data)
        assert a.recv_packet() == (b.pub, data), size
    # Many in a row arrive in order.
    for i in range(20):
        a.send_packet(b.pub, b"seq%d" % i)
    for i in range(20):
        assert b.recv_packet() == (a.pub, b"seq%d" % i)
    a.close()
    b.close()


@check("Ping is answered by a Pong with the same 8 bytes")
def t_ping(srv):
    a = login(srv)
    a.ping(b"12345678")
    _, payload = a.recv(dc.PONG)
    assert payload == b"12345678", payload
    a.close()


@check("NotePreferred is recorded (home_clients in /debug/vars)")
def t_preferred(srv):
    base = srv.vars()["home_clients"]
    a = login(srv)
    a.note_preferred(True)
    a.ping(b"syncsync")
    a.recv(dc.PONG)
    assert srv.vars()["home_clients"] == base + 1
    a.note_preferred(False)
    a.ping(b"syncsync")
    a.recv(dc.PONG)
    assert srv.vars()["home_clients"] == base
    a.note_preferred(True)
    a.ping(b"syncsync")
    a.recv(dc.PONG)
    a.close()
    time.sleep(0.2)
    assert srv.vars()["home_clients"] == base


@check("absent key: disco packet gets PeerGone(NotHere), others dropped silently")
def t_not_here(srv):
    a = login(srv)
    absent = os.urandom(32)
    a.send_packet(absent, b"plain wireguard-ish packet")
    a.ping(b"afterpln")
    ftype, payload = a.recv()
    assert (ftype, payload) == (dc.PONG, b"afterpln"), (ftype, payload)
    a.send_packet(absent, dc.disco_like())
    _, payload = a.recv(dc.PEER_GONE)
    assert payload == absent + bytes([dc.GONE_NOT_HERE]), payload.hex()
    a.close()


@check("PeerGone(NotHere) is rate-limited")
def t_not_here_limit(srv):
    a = login(srv)
    absent = os.urandom(32)
    for _ in range(50):
        a.send_packet(absent, dc.disco_like())
    a.ping(b"countend")
    gone = 0
    while True:
        ftype, _ = a.recv()
        if ftype == dc.PONG:
            break
        assert ftype == dc.PEER_GONE
        gone += 1
    assert 1 <= gone <= 5, gone
    a.close()


@check("PeerGone(Disconnected) to those a leaving client sent to")
def t_disconnected(srv):
    a, b, bystander = login(srv), login(srv), login(srv)
    exchange_ok(a, b)
    a.close()
    _, payload = b.recv(dc.PEER_GONE)
    assert payload == a.pub + bytes([dc.GONE_DISCONNECTED]), payload.hex()
    # Someone a never sent to hears nothing.
    bystander.ping(b"bystandr")
    assert bystander.recv() == (dc.PONG, b"bystandr")
    b.close()
    bystander.close()


@check("duplicate key: newest connection active, last writer wins, no PeerGone while one stays")
def t_dup(srv):
    key = dc.PrivateKey.generate()
    s = login(srv)
    c1 = login(srv, key=key)
    c2 = login(srv, key=key)
    s.send_packet(c2.pub, b"to-newest")
    assert c2.recv_packet() == (s.pub, b"to-newest")
    c1.ping(b"c1speaks")          # any frame makes c1 the active one
    assert c1.recv(dc.PONG)[1] == b"c1speaks"
    s.send_packet(c1.pub, b"to-writer")
    assert c1.recv_packet() == (s.pub, b"to-writer")
    assert srv.vars()["dup_client_keys"] >= 1
    c1.send_packet(s.pub, b"hello")  # s now watches the key
    assert s.recv_packet() == (c1.pub, b"hello")
    c1.close()
    time.sleep(0.2)
    s.send_packet(c2.pub, b"to-remaining")
    assert c2.recv_packet() == (s.pub, b"to-remaining")
    s.ping(b"nogone!!")
    assert s.recv() == (dc.PONG, b"nogone!!")   # key still here: no PeerGone
    c2.close()
    assert s.recv(dc.PEER_GONE)[1] == c2.pub + b"\x00"
    s.close()


@check("a client that does not read never delays the others; its queue drops oldest")
def t_slow(srv):
    a, b = login(srv), login(srv)
    slow = login(srv)
    slow.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    before = srv.vars()["packets_dropped_reason"]["queue_head"]
    blob = os.urandom(1300)
    # 20 MB: more than loopback's socket buffers hold, so its output stalls.
    for i in range(16000):
        a.send_packet(slow.pub, blob)
        if i % 2000 == 0:
            a.send_packet(b.pub, b"still-here-%d" % i)
            assert b.recv_packet() == (a.pub, b"still-here-%d" % i)
    exchange_ok(a, b)
    after = srv.vars()["packets_dropped_reason"]["queue_head"]
    assert after > before, (before, after)
    # Keep it fed until its socket is full and its output stalls: it is
    # closed after --write-timeout (2 s), its queue counted.
    deadline = time.monotonic() + 20
    while srv.vars()["write_timeouts"] < 1:
        assert time.monotonic() < deadline, "slow client never timed out"
        for _ in range(200):
            a.send_packet(slow.pub, blob)
        time.sleep(0.1)
    assert srv.vars()["packets_dropped_reason"]["write_error"] > 0
    exchange_ok(a, b)
    for c in (a, b, slow):
        c.close()


# ---- bad input ----

def bad_input_checks(srv, witness):
    """Each (name, fn): fn returns a socket-like Client the server must close."""
    def garbage():
        c = dc.Client(srv.port)
        c.send_raw(os.urandom(64) + b"\r\n\r\n")
        return c

    def not_client_info():
        c = dc.Client(srv.port)
        c.upgrade()
        c.read_server_key()
        c.send_raw(dc.frame(dc.SEND_PACKET, bytes(40)))
        return c

    def wrong_box():
        c = dc.Client(srv.port)
        c.upgrade()
        c.read_server_key()
        c.send_raw(c.client_info_frame(box_key=os.urandom(32)))
        return c

    def bad_json():
        c = dc.Client(srv.port)
        c.upgrade()
        c.read_server_key()
        box = dc.Box(c.priv, dc.PublicKey(c.server_key))
        c.send_raw(dc.frame(dc.CLIENT_INFO, c.pub + bytes(box.encrypt(b"{nope"))))
        return c

    def short_client_info():
        c = dc.Client(srv.port)
        c.upgrade()
        c.read_server_key()
        c.send_raw(dc.frame(dc.CLIENT_INFO, c.pub + bytes(10)))
        return c

    def huge_client_info():
        c = dc.Client(srv.port)
        c.upgrade()
        c.read_server_key()
        c.send_raw(struct.pack(">BI", dc.CLIENT_INFO, 300 << 10))
        return c

    def oversized_packet():
        c = login(srv)
        c.send_raw(struct.pack(">BI", dc.SEND_PACKET, 32 + 65536 + 1) + bytes(64))
        return c

    def oversized_unknown():
        c = login(srv)
        c.send_raw(struct.pack(">BI", 0x7f, (1 << 20) + 1))
        return c

    def huge_ping():
        c = login(srv)
        c.send_raw(dc.frame(dc.PING, bytes(1001)))
        return c

    def short_send():
        c = login(srv)
        c.send_raw(dc.frame(dc.SEND_PACKET, bytes(31)))
        return c

    def bad_preferred():
        c = login(srv)
        c.send_raw(dc.frame(dc.NOTE_PREFERRED, b"\x01\x01"))
        return c

    def mesh_without_key():
        c = login(srv)
        c.send_raw(dc.frame(dc.WATCH_CONNS))
        return c

    def forward_without_key():
        c = login(srv)
        c.send_raw(dc.frame(dc.FORWARD_PACKET, bytes(64) + b"x"))
        return c

    return [("garbage instead of HTTP", garbage),
            ("a frame other than ClientInfo first", not_client_info),
            ("ClientInfo sealed to the wrong key", wrong_box),
            ("ClientInfo with bad JSON", bad_json),
            ("ClientInfo too short", short_client_info),
            ("ClientInfo length over 256 KiB", huge_client_info),
            ("SendPacket over 64 KiB", oversized_packet),
            ("unknown frame over 1 MiB", oversized_unknown),
            ("Ping over 1000 bytes", huge_ping),
            ("SendPacket shorter than a key", short_send),
            ("NotePreferred of 2 bytes", bad_preferred),
            ("WatchConns without the mesh key", mesh_without_key),
            ("ForwardPacket without the mesh key", forward_without_key)]


@check("bad input closes the offender, a third client keeps working")
def t_bad_input(srv):
    w1, w2 = login(srv), login(srv)
    for i, (name, fn) in enumerate(bad_input_checks(srv, w1)):
        c = fn()
        try:
            assert c.closed_within(10), "not closed: " + name
        finally:
            c.close()
        assert exchange_ok(w1, w2, b"%d" % i), name
    w1.close()
    w2.close()


@check("truncated frames and unknown frames: skipped or closed, server fine")
def t_truncated(srv):
    w1, w2 = login(srv), login(srv)
    # Unknown frame types (with payload) are skipped; the client stays.
    c = login(srv)
    c.send_raw(dc.frame(0x7e, os.urandom(5000)) + dc.frame(dc.KEEP_ALIVE) +
               dc.frame(dc.PONG, bytes(8)))
    c.ping(b"skipped!")
    assert c.recv() == (dc.PONG, b"skipped!")
    # Half a frame, then hang up: in the handshake and after login.
    h = dc.Client(srv.port)
    h.upgrade()
    h.read_server_key()
    h.send_raw(h.client_info_frame()[:30])
    h.close()
    c.send_raw(struct.pack(">BI", dc.SEND_PACKET, 1000) + bytes(100))
    c.close()
    h = dc.Client(srv.port)
    h.send_raw(b"GET /derp HTTP/1.1\r\nUpgr")
    h.close()
    exchange_ok(w1, w2)
    w1.close()
    w2.close()


@check("no ClientInfo: closed after the handshake timeout")
def t_handshake_timeout(srv):
    w1, w2 = login(srv), login(srv)
    silent = dc.Client(srv.port)
    silent.upgrade()
    silent.read_server_key()
    http_only = dc.Client(srv.port)    # connects, says nothing
    t0 = time.monotonic()
    assert silent.closed_within(HANDSHAKE_TIMEOUT + 8)
    assert http_only.closed_within(HANDSHAKE_TIMEOUT + 8)
    assert time.monotonic() - t0 >= HANDSHAKE_TIMEOUT - 1
    exchange_ok(w1, w2)
    assert srv.vars()["handshake_timeouts"] >= 2
    for c in (w1, w2, silent, http_only):
        c.close()


@check("/debug/vars counts connections, packets and drops")
def t_vars(srv):
    v = srv.vars()
    for k in ("connections", "clients", "packets_received", "packets_sent",
              "bytes_sent", "packets_dropped", "packets_dropped_reason"):
        assert k in v, k
    assert v["packets_sent"] > 0 and v["bytes_sent"] > 0
    assert v["packets_dropped_reason"]["unknown_dest"] > 0
    assert v["connections"] >= 1


def t_max_conns(binary, tmp, valgrind):
    srv = Server(binary, tmp, valgrind, ["--http", "--stun-port", "0",
                                         "--max-conns", "3"], name="max")
    try:
        keep = [login(srv) for _ in range(3)]
        extra = dc.Client(srv.port)
        assert extra.closed_within(10)
        extra.close()
        keep[0].close()
        time.sleep(0.5)
        again = login(srv)
        exchange_ok(again, keep[1])
        for c in keep[1:] + [again]:
            c.close()
    finally:
        rc = srv.stop()
    assert rc == 0, "server exit status %s" % rc


def t_tls(binary, tmp, valgrind):
    """HTTPS with --certmode manual: DIR/HOST.crt and DIR/HOST.key."""
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-days", "2",
                    "-subj", "/CN=derp.test", "-addext",
                    "subjectAltName=DNS:derp.test",
                    "-keyout", os.path.join(tmp, "derp.test.key"),
                    "-out", os.path.join(tmp, "derp.test.crt")],
                   check=True, capture_output=True)
    srv = Server(binary, tmp, valgrind, ["--certmode", "manual", "--certdir",
                                         tmp, "--hostname", "derp.test",
                                         "--stun-port", "0"], name="tls")
    try:
        ctx = ssl.create_default_context(
            cafile=os.path.join(tmp, "derp.test.crt"))
        a = dc.Client(srv.port, tls=ctx, server_name="derp.test")
        a.login()
        b = dc.Client(srv.port, tls=ctx, server_name="derp.test",
                      fast_start=True)
        b.login()
        exchange_ok(a, b)
        big = os.urandom(65536)
        a.send_packet(b.pub, big)
        assert b.recv_packet() == (a.pub, big)
        a.ping(b"tlsping!")
        assert a.recv(dc.PONG)[1] == b"tlsping!"
        a.close()
        assert b.recv(dc.PEER_GONE)[1] == a.pub + b"\x00"
        b.close()
        # The fast-start meta certificate follows the server's chain:
        # CN "derpkey" + the server key in hex, serial = version 2.
        out = subprocess.run(
            ["openssl", "s_client", "-connect", "127.0.0.1:%d" % srv.port,
             "-servername", "derp.test", "-tls1_3", "-showcerts"],
            input=b"", capture_output=True, timeout=30).stdout.decode()
        pems = out.split("-----BEGIN CERTIFICATE-----")[1:]
        assert len(pems) == 2, "want the certificate and the meta cert"
        meta = "-----BEGIN CERTIFICATE-----" + \
            pems[1].split("-----END CERTIFICATE-----")[0] + \
            "-----END CERTIFICATE-----\n"
        info = subprocess.run(["openssl", "x509", "-noout", "-serial",
                               "-subject"], input=meta.encode(),
                              capture_output=True, check=True).stdout.decode()
        want_cn = "derpkey" + a.server_key.hex()
        assert "serial=02" in info and want_cn in info, info
        plain = dc.Client(srv.port)   # no TLS: no service
        plain.send_raw(b"GET / HTTP/1.1\r\n\r\n")
        assert plain.closed_within(10)
        plain.close()
    finally:
        rc = srv.stop()
    assert rc == 0, "server exit status %s" % rc


def t_self_signed(binary, tmp, valgrind):
    """--hostname IP without files: a self-signed certificate is made,
    pinnable by the SHA-256 the server prints; a certificate for another
    name is refused."""
    import hashlib
    certdir = os.path.join(tmp, "ipcerts")
    os.mkdir(certdir)
    srv = Server(binary, tmp, valgrind, ["--certmode", "manual", "--certdir",
                                         certdir, "--hostname", "127.0.0.1",
                                         "--stun-port", "0"], name="selfsigned")
    try:
        crt = os.path.join(certdir, "127.0.0.1.crt")
        key = os.path.join(certdir, "127.0.0.1.key")
        assert stat.S_IMODE(os.stat(key).st_mode) == 0o600
        der = ssl.PEM_cert_to_DER_cert(open(crt).read())
        with open(os.path.join(tmp, "selfsigned.log")) as f:
            log = f.read()
        assert "sha256-raw:" + hashlib.sha256(der).hexdigest() in log, log
        ctx = ssl.create_default_context(cafile=crt)   # IP SAN checked
        a = dc.Client(srv.port, tls=ctx, server_name="127.0.0.1")
        a.login()
        b = dc.Client(srv.port, tls=ctx, server_name="127.0.0.1")
        b.login()
        exchange_ok(a, b)
        a.close()
        b.close()
    finally:
        rc = srv.stop()
    assert rc == 0, "server exit status %s" % rc
    # Restart: the files are reused, not replaced.
    before = open(crt).read()
    srv = Server(binary, tmp, False, ["--certmode", "manual", "--certdir",
                                      certdir, "--hostname", "127.0.0.1",
                                      "--stun-port", "0"], name="selfsigned2")
    srv.stop()
    assert open(crt).read() == before
    # A certificate that is not valid for --hostname: refused at start.
    for ext in ("crt", "key"):
        os.link(os.path.join(tmp, "derp.test." + ext),
                os.path.join(certdir, "other.test." + ext))
    r = subprocess.run([binary, "-a", "127.0.0.1:%d" % free_port(), "-c",
                        os.path.join(tmp, "key.json"), "--certmode",
                        "manual", "--certdir", certdir, "--hostname",
                        "other.test", "--stun-port", "0"],
                       capture_output=True, timeout=30)
    assert r.returncode == 1 and b"not valid for --hostname" in r.stderr, r


def t_rate(binary, tmp, valgrind):
    """--rate-config: a client sending over its rate is slowed (not read),
    nothing is lost, others are not delayed."""
    conf = os.path.join(tmp, "rate-config.json")
    with open(conf, "w") as f:
        json.dump({"PerClientRateLimitBytesPerSec": 200000,
                   "PerClientRateBurstBytes": 1}, f)   # raised to 65568
    srv = Server(binary, tmp, valgrind, ["--http", "--stun-port", "0",
                                         "--rate-config", conf], name="rate")
    try:
        a, b, c, d = (login(srv) for _ in range(4))
        blob = os.urandom(4000)
        t0 = time.monotonic()
        for _ in range(100):            # 400 KB: ~1.7 s at 200 kB/s
            a.send_packet(b.pub, blob)
        exchange_ok(c, d)               # meanwhile, others go through
        for _ in range(100):
            assert b.recv_packet() == (a.pub, blob)
        took = time.monotonic() - t0
        assert took >= 1.2, "400 KB at 200 kB/s took only %.2f s" % took
        assert srv.vars()["rate_limited_pauses"] > 0
        assert srv.vars()["packets_dropped"] == 0
        for x in (a, b, c, d):
            x.close()
    finally:
        rc = srv.stop()
    assert rc == 0, "server exit status %s" % rc
    with open(conf, "w") as f:
        f.write('{"PerClientRateLimitBytesPerSec": "fast"}')
    r = subprocess.run([binary, "--http", "-a", "127.0.0.1:%d" % free_port(),
                        "-c", srv.keyfile, "--rate-config", conf],
                       capture_output=True, timeout=30)
    assert r.returncode == 1 and b"PerClientRateLimitBytesPerSec" in r.stderr, r


def free_udp_port(family=socket.AF_INET, host="127.0.0.1"):
    s = socket.socket(family, socket.SOCK_DGRAM)
    s.bind((host, 0))
    port = s.getsockname()[1]
    s.close()
    return port


def stun_ask(family, addr, msg):
    s = socket.socket(family, socket.SOCK_DGRAM)
    s.settimeout(5)
    s.bind((addr[0], 0))
    s.sendto(msg, addr)
    data = s.recv(2048)
    mine = s.getsockname()[:2]
    s.close()
    return data, mine


def t_stun(binary, tmp, valgrind):
    """STUN on --stun-port: tailnode requests answered, others ignored."""
    uport = free_udp_port()
    srv = Server(binary, tmp, valgrind, ["--http", "--stun-port", str(uport)],
                 name="stun")
    try:
        txid, msg = stun_client.request()
        data, mine = stun_ask(socket.AF_INET, ("127.0.0.1", uport), msg)
        assert stun_client.parse_response(data) == (txid, mine)
        assert len(data) == 32, len(data)
        # Bad requests get no answer: the one answer that comes is for
        # the good request sent after them (loopback keeps the order).
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.settimeout(5)
        s.bind(("127.0.0.1", 0))
        bad = [stun_client.request(software=b"tailnodX")[1],
               stun_client.request(software=None)[1],
               stun_client.request(fingerprint=False)[1],
               stun_client.request(bad_crc=True)[1],
               stun_client.request(extra_after_fp=stun_client.attr(
                   0x8022, b"tailnode"))[1],
               stun_client.request(method=0x0101)[1],
               stun_client.request()[1][:-3],
               os.urandom(40), b"\x00\x01"]
        for m in bad:
            s.sendto(m, ("127.0.0.1", uport))
        txid, msg = stun_client.request()
        s.sendto(msg, ("127.0.0.1", uport))
        got, _ = stun_client.parse_response(s.recv(2048))
        assert got == txid, "a bad request was answered"
        s.close()
        v = srv.vars()
        assert v["stun_bad_requests"] == len(bad), v["stun_bad_requests"]
        assert v["stun_responses"] == 2, v["stun_responses"]
        # DERP on the same server still works.
        a, b = login(srv), login(srv)
        exchange_ok(a, b)
        a.close()
        b.close()
    finally:
        rc = srv.stop()
    assert rc == 0, "server exit status %s" % rc
    # --stun-only: STUN answered, nothing on TCP, no key file needed.
    uport, tport = free_udp_port(), free_port()
    cmd = [binary, "--stun-only", "-a", "127.0.0.1:%d" % tport,
           "--stun-port", str(uport)]
    if valgrind:
        cmd = VALGRIND + cmd
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("127.0.0.1", 0))
        s.settimeout(0.2)
        mine, asked = s.getsockname()[:2], set()
        deadline = time.monotonic() + 30
        while True:     # until the server is up
            txid, msg = stun_client.request()
            asked.add(txid)
            s.sendto(msg, ("127.0.0.1", uport))
            try:
                got = stun_client.parse_response(s.recv(2048))
                break
            except socket.timeout:
                assert time.monotonic() < deadline, "--stun-only never answered"
        s.close()
        assert got[0] in asked and got[1] == mine, (got, mine)
        try:
            socket.create_connection(("127.0.0.1", tport), 2).close()
            raise AssertionError("--stun-only listens on TCP")
        except ConnectionRefusedError:
            pass
    finally:
        proc.send_signal(signal.SIGTERM)
        rc = proc.wait(60)
    assert rc == 0, "--stun-only exit status %s" % rc
    if not socket.has_ipv6:
        return
    uport = free_udp_port(socket.AF_INET6, "::1")
    srv = Server(binary, tmp, valgrind, ["--http", "--stun-port", str(uport)],
                 name="stun6", host="[::1]")
    try:
        txid, msg = stun_client.request()
        data, mine = stun_ask(socket.AF_INET6, ("::1", uport), msg)
        assert stun_client.parse_response(data) == (txid, mine)
        assert len(data) == 44, len(data)
    finally:
        rc = srv.stop()
    assert rc == 0, "server exit status %s" % rc


def t_many_idle(binary, tmp):
    """1,000 idle clients: all served, at most 20 KiB of RSS each."""
    srv = Server(binary, tmp, False, name="many")
    clients = []
    try:
        def rss_kib():
            with open("/proc/%d/status" % srv.proc.pid) as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        return int(line.split()[1])
            raise AssertionError("no VmRSS")

        base = rss_kib()
        clients = [login(srv) for _ in range(1000)]
        assert srv.vars()["clients"] == 1000
        # Idle connections give their buffers back within a tick or two.
        deadline = time.monotonic() + 10
        while True:
            per = (rss_kib() - base) / 1000.0
            if per <= 20 or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        print("     1000 idle clients: %.1f KiB of server RSS each" % per)
        assert per <= 20, "%.1f KiB per idle connection" % per
        exchange_ok(clients[0], clients[-1])
    finally:
        for c in clients:
            c.close()
        rc = srv.stop()
    assert rc == 0, "server exit status %s" % rc


def t_claimed_length(binary, tmp):
    """A frame header alone does not make the server reserve its length:
    200 handshakes claiming 256 KiB ClientInfo frames reserve little
    (VmSize: glibc maps big blocks lazily, so RSS would not show it)."""
    srv = Server(binary, tmp, False, ["--http", "--stun-port", "0",
                                      "--handshake-timeout", "30"],
                 name="claims")
    conns = []
    try:
        def vm_kib():
            with open("/proc/%d/status" % srv.proc.pid) as f:
                for line in f:
                    if line.startswith("VmSize:"):
                        return int(line.split()[1])
            raise AssertionError("no VmSize")

        base = vm_kib()
        for _ in range(200):
            c = dc.Client(srv.port)
            c.upgrade()
            c.read_server_key()
            c.send_raw(struct.pack(">BI", dc.CLIENT_INFO, 256 << 10) +
                       os.urandom(100))
            conns.append(c)
        a, b = login(srv), login(srv)      # all 200 were read by now
        exchange_ok(a, b)
        per = (vm_kib() - base) / 200.0
        assert per <= 64, "%.1f KiB reserved per half-sent ClientInfo" % per
        a.close()
        b.close()
    finally:
        for c in conns:
            c.close()
        rc = srv.stop()
    assert rc == 0, "server exit status %s" % rc


def t_fd_limit(binary, tmp):
    """With 300 descriptors, --max-conns (10000) is lowered to fit: the
    connections over it are closed at once, the server keeps serving."""
    import resource

    def limit():
        resource.setrlimit(resource.RLIMIT_NOFILE, (300, 300))

    srv = Server(binary, tmp, False, name="fds", preexec=limit)
    conns = []
    try:
        for _ in range(290):
            conns.append(socket.create_connection(("127.0.0.1", srv.port), 5))
        extra = dc.Client(srv.port)
        assert extra.closed_within(10), "connection over the limit left hanging"
        extra.close()
        for c in conns[:40]:
            c.close()
        time.sleep(0.3)
        v = srv.vars()
        assert v["refused_max_conns"] >= 1 and v["accept_errors"] == 0, v
        a, b = login(srv), login(srv)
        exchange_ok(a, b)
        a.close()
        b.close()
    finally:
        for c in conns:
            c.close()
        rc = srv.stop()
    assert rc == 0, "server exit status %s" % rc


def run(name, fn, *args):
    try:
        fn(*args)
        PASSED.append(name)
        print("ok   relay/%s" % name)
    except Exception as e:  # noqa: BLE001 - report every kind of failure
        FAILED.append(name)
        print("FAIL relay/%s: %s" % (name, e or type(e).__name__))
        traceback.print_exc(limit=3, file=sys.stdout)
    sys.stdout.flush()


def main():
    import resource
    # 1,000 clients need more than a shell's usual 1,024 descriptors.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = 4096 if hard == resource.RLIM_INFINITY else min(hard, 4096)
    if want > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    binary = sys.argv[1]
    valgrind = "--valgrind" in sys.argv[2:]
    tag = " (valgrind)" if valgrind else ""
    with tempfile.TemporaryDirectory() as tmp:
        srv = Server(binary, tmp, valgrind)
        tests = [t_root, t_204, t_probe, t_404, t_half_close, t_upgrade, t_fast_start,
                 t_keyfile, t_exchange, t_ping, t_preferred, t_not_here,
                 t_not_here_limit, t_disconnected, t_dup, t_slow,
                 t_bad_input, t_truncated, t_handshake_timeout, t_vars]
        try:
            for t in tests:
                run(t.check_name + tag, t, srv)
        finally:
            rc = srv.stop()
        first_key = open(srv.keyfile).read()
        run("exits 0 on SIGTERM, no leak or memory error" + tag,
            lambda: None if rc == 0 else (_ for _ in ()).throw(
                AssertionError("exit status %s; log:\n%s" % (
                    rc, open(os.path.join(tmp, "key.log")).read()[-3000:]))))
        srv2 = Server(binary, tmp, False)
        try:
            c = dc.Client(srv2.port)
            c.upgrade()
            same = c.read_server_key()
            c.close()
            key = bytes.fromhex(json.loads(first_key)["PrivateKey"][8:])
            run("restart keeps the server key" + tag, lambda: None if
                same == bytes(dc.PrivateKey(key).public_key) else
                (_ for _ in ()).throw(AssertionError("key changed")))
        finally:
            srv2.stop()
        run("--max-conns refuses connections over the cap" + tag,
            t_max_conns, binary, tmp, valgrind)
        run("HTTPS (--certmode manual): login, packets, ping, PeerGone, meta cert" + tag,
            t_tls, binary, tmp, valgrind)
        run("HTTPS for an IP: self-signed certificate made and pinnable; wrong name refused" +
            tag, t_self_signed, binary, tmp, valgrind)
        run("--rate-config slows a client over its rate, loses nothing" + tag,
            t_rate, binary, tmp, valgrind)
        run("STUN: tailnode binding requests answered (v4, v6, --stun-only), others not" +
            tag, t_stun, binary, tmp, valgrind)
        if not valgrind:
            run("1,000 idle clients served, <= 20 KiB RSS each", t_many_idle,
                binary, tmp)
            run("--max-conns fits the open-file limit; no accept() spin",
                t_fd_limit, binary, tmp)
            run("a frame header alone reserves no memory (256 KiB claims)",
                t_claimed_length, binary, tmp)
    print("%d passed, %d failed" % (len(PASSED), len(FAILED)))
    return 1 if FAILED else 0


if __name__ == "__main__":
    sys.exit(main())
