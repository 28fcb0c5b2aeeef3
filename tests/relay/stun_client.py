# SPDX-License-Identifier: GPL-2.0 OR MIT
"""A STUN binding client from RFC 5389, shaped as Tailscale's clients send
it (SOFTWARE "tailnode", then FINGERPRINT), independent of relay/."""
import os
import socket
import struct
import zlib

COOKIE = 0x2112A442
SOFTWARE, FINGERPRINT, XOR_MAPPED = 0x8022, 0x8028, 0x0020


def attr(atype, value):
    pad = (-len(value)) % 4
    return struct.pack(">HH", atype, len(value)) + value + bytes(pad)


def request(txid=None, software=b"tailnode", fingerprint=True, method=0x0001,
            bad_crc=False, extra_after_fp=b""):
    """A binding request; the knobs make the bad variants."""
    txid = txid or os.urandom(12)
    attrs = attr(SOFTWARE, software) if software is not None else b""
    length = len(attrs) + (8 if fingerprint else 0) + len(extra_after_fp)
    msg = struct.pack(">HHI", method, length, COOKIE) + txid + attrs
    if fingerprint:
        crc = (zlib.crc32(msg) ^ 0x5354554E) & 0xFFFFFFFF
        if bad_crc:
            crc ^= 1
        msg += attr(FINGERPRINT, struct.pack(">I", crc))
    return txid, msg + extra_after_fp


def parse_response(data):
    """(txid, (ip, port)) of a binding success response."""
    mtype, length, cookie = struct.unpack(">HHI", data[:8])
    assert mtype == 0x0101 and cookie == COOKIE, data.hex()
    assert length == len(data) - 20, (length, len(data))
    txid = data[8:20]
    body = data[20:]
    while body:
        atype, alen = struct.unpack(">HH", body[:4])
        value = body[4:4 + alen]
        body = body[4 + ((alen + 3) & ~3):]
        if atype != XOR_MAPPED:
            continue
        family = value[1]
        port = struct.unpack(">H", value[2:4])[0] ^ (COOKIE >> 16)
        key = struct.pack(">I", COOKIE) + txid
        raw = bytes(b ^ key[i] for i, b in enumerate(value[4:]))
        if family == 1:
            return txid, (socket.inet_ntop(socket.AF_INET, raw[:4]), port)
        return txid, (socket.inet_ntop(socket.AF_INET6, raw[:16]), port)
    raise ValueError("no XOR-MAPPED-ADDRESS")
