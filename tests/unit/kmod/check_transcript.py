#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Checks a handshake transcript of kmod/noise.c and kmod/cookie.c (printed by
`test_noise --transcript`) against an independent model of WireGuard written
from the WireGuard paper (section 5.4) with Python's hashlib/hmac BLAKE2s and
the `cryptography` package's X25519 and ChaCha20-Poly1305. Every byte of the
messages and the derived transport keys must match.

Usage: test_noise --transcript | check_transcript.py
Prints "N passed, N failed"; exits non-zero on any failure."""

import hashlib
import hmac
import struct
import sys

from cryptography.hazmat.primitives.asymmetric.x25519 import (
    X25519PrivateKey, X25519PublicKey)
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives import serialization

CONSTRUCTION = b"Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s"
IDENTIFIER = b"WireGuard v1 zx2c4 Jason@zx2c4.com"
LABEL_MAC1 = b"mac1----"
LABEL_COOKIE = b"cookie--"


def blake_hash(data):
    return hashlib.blake2s(data).digest()


def mac(key, data):
    return hashlib.blake2s(data, key=key, digest_size=16).digest()


def hmac_b2s(key, data):
    return hmac.new(key, data, hashlib.blake2s).digest()


def kdf(n, key, data):
    prk = hmac_b2s(key, data)
    out, prev = [], b""
    for i in range(1, n + 1):
        prev = hmac_b2s(prk, prev + bytes([i]))
        out.append(prev)
    return out


def dh(private, public):
    priv = X25519PrivateKey.from_private_bytes(private)
    return priv.exchange(X25519PublicKey.from_public_bytes(public))


def dh_pub(private):
    return X25519PrivateKey.from_private_bytes(private).public_key() \
        .public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def aead(key, counter, plain, ad):
    return ChaCha20Poly1305(key).encrypt(b"\0" * 4 + struct.pack("<Q", counter),
                                         plain, ad)


def aead_open(key, counter, sealed, ad):
    return ChaCha20Poly1305(key).decrypt(b"\0" * 4 + struct.pack("<Q", counter),
                                         sealed, ad)


def rotl32(x, n):
    return ((x << n) | (x >> (32 - n))) & 0xffffffff


def hchacha20(key, nonce16):
    s = [0x61707865, 0x3320646e, 0x79622d32, 0x6b206574]
    s += list(struct.unpack("<8I", key)) + list(struct.unpack("<4I", nonce16))

    def qr(a, b, c, d):
        s[a] = (s[a] + s[b]) & 0xffffffff; s[d] = rotl32(s[d] ^ s[a], 16)
        s[c] = (s[c] + s[d]) & 0xffffffff; s[b] = rotl32(s[b] ^ s[c], 12)
        s[a] = (s[a] + s[b]) & 0xffffffff; s[d] = rotl32(s[d] ^ s[a], 8)
        s[c] = (s[c] + s[d]) & 0xffffffff; s[b] = rotl32(s[b] ^ s[c], 7)

    for _ in range(10):
        qr(0, 4, 8, 12); qr(1, 5, 9, 13); qr(2, 6, 10, 14); qr(3, 7, 11, 15)
        qr(0, 5, 10, 15); qr(1, 6, 11, 12); qr(2, 7, 8, 13); qr(3, 4, 9, 14)
    return struct.pack("<8I", *(s[0:4] + s[12:16]))


def xaead_open(key, nonce24, sealed, ad):
    sub = hchacha20(key, nonce24[:16])
    return ChaCha20Poly1305(sub).decrypt(b"\0" * 4 + nonce24[16:], sealed, ad)


class Checker:
    def __init__(self):
        self.passed = self.failed = 0

    def eq(self, what, got, want):
        if got == want:
            self.passed += 1
        else:
            self.failed += 1
            print("FAIL %s:\n  kernel code %s\n  model       %s"
                  % (what, got.hex() if isinstance(got, bytes) else got,
                     want.hex() if isinstance(want, bytes) else want))


def main():
    t = {}
    for line in sys.stdin:
        k, v = line.split()
        t[k] = v
    c = Checker()
    if "initiation2" not in t:
        print("0 passed, 1 failed (transcript incomplete)")
        return 1
    b = {k: bytes.fromhex(v) for k, v in t.items() if k != "tai64n_seconds"}
    si, sr, psk = b["a_private"], b["b_private"], b["psk"]
    si_pub, sr_pub = dh_pub(si), dh_pub(sr)
    c.eq("a public key", b["a_public"], si_pub)
    c.eq("b public key", b["b_public"], sr_pub)

    # --- Initiation (a -> b) ---
    msg = b["initiation"]
    ei = b["a_ephemeral"]
    ck = blake_hash(CONSTRUCTION)
    h = blake_hash(ck + IDENTIFIER)
    h = blake_hash(h + sr_pub)
    ei_pub = dh_pub(ei)
    ck, = kdf(1, ck, ei_pub)
    h = blake_hash(h + ei_pub)
    ck, k = kdf(2, ck, dh(ei, sr_pub))
    enc_static = aead(k, 0, si_pub, h)
    h = blake_hash(h + enc_static)
    ck, k = kdf(2, ck, dh(si, sr_pub))
    enc_ts = msg[4 + 4 + 32 + 48:4 + 4 + 32 + 48 + 28]
    try:
        ts = aead_open(k, 0, enc_ts, h)
    except Exception:
        ts = b"\0" * 12
    c.eq("timestamp seconds (TAI64N)", struct.unpack(">Q", ts[:8])[0],
         0x400000000000000a + int(t["tai64n_seconds"]))
    h = blake_hash(h + enc_ts)
    body = b"\x01\0\0\0" + msg[4:8] + ei_pub + enc_static + enc_ts
    c.eq("initiation body", msg[:116], body)
    c.eq("initiation mac1", msg[116:132],
         mac(blake_hash(LABEL_MAC1 + sr_pub), msg[:116]))
    c.eq("initiation mac2 (no cookie)", msg[132:148], b"\0" * 16)
    ck_i, h_i = ck, h

    # --- Response (b -> a) ---
    msg = b["response"]
    er = b["b_ephemeral"]
    er_pub = dh_pub(er)
    ck, h = ck_i, h_i
    ck, = kdf(1, ck, er_pub)
    h = blake_hash(h + er_pub)
    ck, = kdf(1, ck, dh(er, ei_pub))
    ck, = kdf(1, ck, dh(er, si_pub))
    ck, tau, k = kdf(3, ck, psk)
    h = blake_hash(h + tau)
    enc_empty = aead(k, 0, b"", h)
    body = b"\x02\0\0\0" + msg[4:8] + b["initiation"][4:8] + er_pub + enc_empty
    c.eq("response body", msg[:60], body)
    c.eq("response mac1", msg[60:76],
         mac(blake_hash(LABEL_MAC1 + si_pub), msg[:60]))
    c.eq("response mac2 (no cookie)", msg[76:92], b"\0" * 16)

    # --- Transport keys ---
    t_send, t_recv = kdf(2, ck, b"")
    c.eq("initiator sending key", b["a_send"], t_send)
    c.eq("initiator receiving key", b["a_recv"], t_recv)

    # --- Cookie reply (b -> a) and mac2 ---
    reply = b["cookie_reply"]
    c.eq("cookie reply header", reply[:8], b"\x03\0\0\0" + b["initiation"][4:8])
    try:
        cookie = xaead_open(blake_hash(LABEL_COOKIE + sr_pub), reply[8:32],
                            reply[32:64], b["initiation"][116:132])
    except Exception:
        cookie = b""
    c.eq("cookie reply decrypts to 16 bytes", len(cookie), 16)
    msg = b["initiation2"]
    c.eq("initiation2 mac1", msg[116:132],
         mac(blake_hash(LABEL_MAC1 + sr_pub), msg[:116]))
    if len(cookie) == 16:
        c.eq("initiation2 mac2", msg[132:148], mac(cookie, msg[:132]))

    print("%d passed, %d failed" % (c.passed, c.failed))
    return 1 if c.failed else 0


if __name__ == "__main__":
    sys.exit(main())
