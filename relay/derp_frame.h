/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * DERP frame codec: Tailscale's relay protocol on the wire, as pure
 * encode/decode over caller buffers.  No I/O, no allocation, no server or
 * client state: the server (derper.c) and, later, meshwgd's DERP client both
 * link this file.
 *
 * A frame is  type u8 | length u32 big-endian | payload[length].
 */
#ifndef MESHWG_DERP_FRAME_H
#define MESHWG_DERP_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DERP_MAGIC "DERP\xf0\x9f\x94\x91"	/* "DERP" + U+1F511, 8 bytes */
#define DERP_MAGIC_LEN 8
#define DERP_PROTOCOL_VERSION 2
#define DERP_HDR_LEN 5
#define DERP_KEY_LEN 32
#define DERP_NONCE_LEN 24
#define DERP_BOX_MAC_LEN 16
#define DERP_MAX_PACKET (64 * 1024)	/* packet bytes in Send/Recv/Forward */
#define DERP_MAX_INFO (1024 * 1024)	/* ServerInfo box, Health text */
#define DERP_MAX_CLIENT_INFO (256 * 1024) /* what a server reads before auth */
#define DERP_MAX_PING 1000		/* ping payload incl. future bytes */
#define DERP_PING_LEN 8
#define DERP_PEER_PRESENT_LEN (DERP_KEY_LEN + 16 + 2 + 1)
#define DERP_KEEPALIVE_SEC 60

enum derp_frame_type {
	DERP_FRAME_SERVER_KEY = 0x01,	/* magic[8] + server key[32] (+ future) */
	DERP_FRAME_CLIENT_INFO = 0x02,	/* client key[32] + nonce[24] + box(JSON) */
	DERP_FRAME_SERVER_INFO = 0x03,	/* nonce[24] + box(JSON) */
	DERP_FRAME_SEND_PACKET = 0x04,	/* dst key[32] + packet */
	DERP_FRAME_RECV_PACKET = 0x05,	/* src key[32] + packet */
	DERP_FRAME_KEEP_ALIVE = 0x06,	/* empty */
	DERP_FRAME_NOTE_PREFERRED = 0x07, /* 1 byte: 1 home, 0 not */
	DERP_FRAME_PEER_GONE = 0x08,	/* key[32] + reason u8 */
	DERP_FRAME_PEER_PRESENT = 0x09,	/* key[32] + ip[16] + port u16 + flags u8 */
	DERP_FRAME_FORWARD_PACKET = 0x0a, /* src key[32] + dst key[32] + packet */
	DERP_FRAME_WATCH_CONNS = 0x10,	/* empty, mesh key required */
	DERP_FRAME_CLOSE_PEER = 0x11,	/* key[32], mesh key required */
	DERP_FRAME_PING = 0x12,		/* 8 opaque bytes */
	DERP_FRAME_PONG = 0x13,		/* the 8 bytes of the ping */
	DERP_FRAME_HEALTH = 0x14,	/* UTF-8 text; empty clears */
	DERP_FRAME_RESTARTING = 0x15,	/* reconnect-in ms u32 + try-for ms u32 */
};

enum derp_peer_gone_reason {
	DERP_PEER_GONE_DISCONNECTED = 0x00,
	DERP_PEER_GONE_NOT_HERE = 0x01,
};

enum derp_peer_present_flags {
	DERP_PRESENT_REGULAR = 1 << 0,
	DERP_PRESENT_MESH_PEER = 1 << 1,
	DERP_PRESENT_PROBER = 1 << 2,
	DERP_PRESENT_NOT_IDEAL = 1 << 3,
};

/* A complete frame found in a buffer; payload points into that buffer. */
struct derp_frame {
	uint8_t type;
	uint32_t len;
	const uint8_t *payload;
};

enum derp_parse {
	DERP_PARSE_OK = 0,	/* *f is a complete frame, *used bytes consumed */
	DERP_PARSE_MORE = 1,	/* need more bytes (*used = 0) */
	DERP_PARSE_TOO_BIG = -1, /* length over the limit for its type: close */
};

/*
 * The largest payload a receiver accepts for a frame of this type; a longer
 * one closes the connection.  Packets: 64 KiB plus their keys; ClientInfo
 * 256 KiB (read before the peer is authenticated); Ping 1000 bytes; every
 * other type, unknown ones included (skipped, as Tailscale skips them), and
 * known ones with room for future bytes: 1 MiB.  Exact sizes (NotePreferred
 * 1, ClosePeer 32, ...) are the decoders' business.
 */
uint32_t derp_frame_max_len(uint8_t type);

/*
 * Looks for one frame at the start of buf[0..len).  Checks the header's
 * length against derp_frame_max_len() as soon as the 5-byte header is there,
 * before waiting for the payload.
 */
enum derp_parse derp_frame_parse(const uint8_t *buf, size_t len,
				 struct derp_frame *f, size_t *used);

/* Writes a frame header; returns DERP_HDR_LEN. */
size_t derp_put_header(uint8_t *out, uint8_t type, uint32_t len);

/*
 * Encoders.  Each writes a whole frame (header + payload) to out, which must
 * hold the returned number of bytes (derp_*_size() says how many before),
 * and returns that size.
 */
size_t derp_put_server_key(uint8_t *out, const uint8_t key[DERP_KEY_LEN]);
#define DERP_SERVER_KEY_SIZE (DERP_HDR_LEN + DERP_MAGIC_LEN + DERP_KEY_LEN)
/* box = nonce[24] + ciphertext, as crypto_box_easy() made it. */
size_t derp_put_client_info(uint8_t *out, const uint8_t key[DERP_KEY_LEN],
			    const uint8_t *box, size_t box_len);
size_t derp_put_server_info(uint8_t *out, const uint8_t *box, size_t box_len);
/* Header of a Send/RecvPacket; the len packet bytes follow at out + 37. */
size_t derp_put_packet_header(uint8_t *out, uint8_t type,
			      const uint8_t key[DERP_KEY_LEN], size_t len);
#define DERP_PACKET_HDR_SIZE (DERP_HDR_LEN + DERP_KEY_LEN)
size_t derp_put_forward_header(uint8_t *out, const uint8_t src[DERP_KEY_LEN],
			       const uint8_t dst[DERP_KEY_LEN], size_t len);
#define DERP_FORWARD_HDR_SIZE (DERP_HDR_LEN + 2 * DERP_KEY_LEN)
size_t derp_put_empty(uint8_t *out, uint8_t type); /* KeepAlive, WatchConns */
size_t derp_put_note_preferred(uint8_t *out, bool preferred);
size_t derp_put_peer_gone(uint8_t *out, const uint8_t key[DERP_KEY_LEN],
			  uint8_t reason);
#define DERP_PEER_GONE_SIZE (DERP_HDR_LEN + DERP_KEY_LEN + 1)
/* ip is 16 bytes (IPv4 as v4-mapped IPv6), port in host order. */
size_t derp_put_peer_present(uint8_t *out, const uint8_t key[DERP_KEY_LEN],
			     const uint8_t ip[16], uint16_t port,
			     uint8_t flags);
size_t derp_put_close_peer(uint8_t *out, const uint8_t key[DERP_KEY_LEN]);
/* type is DERP_FRAME_PING or DERP_FRAME_PONG. */
size_t derp_put_ping(uint8_t *out, uint8_t type,
		     const uint8_t data[DERP_PING_LEN]);
#define DERP_PING_SIZE (DERP_HDR_LEN + DERP_PING_LEN)
size_t derp_put_health(uint8_t *out, const char *text, size_t len);
size_t derp_put_restarting(uint8_t *out, uint32_t reconnect_ms,
			   uint32_t try_for_ms);

/*
 * Decoders of a frame's payload.  Each returns false when the payload is
 * malformed for its type (the receiver then closes the connection or, for
 * frames Tailscale's client merely skips, ignores it).  Pointers returned
 * point into f->payload.
 */
bool derp_get_server_key(const struct derp_frame *f, const uint8_t **key);
bool derp_get_client_info(const struct derp_frame *f, const uint8_t **key,
			  const uint8_t **box, size_t *box_len);
bool derp_get_server_info(const struct derp_frame *f, const uint8_t **box,
			  size_t *box_len);
/* SendPacket (key = destination) or RecvPacket (key = source). */
bool derp_get_packet(const struct derp_frame *f, const uint8_t **key,
		     const uint8_t **pkt, size_t *pkt_len);
bool derp_get_forward(const struct derp_frame *f, const uint8_t **src,
		      const uint8_t **dst, const uint8_t **pkt,
		      size_t *pkt_len);
bool derp_get_note_preferred(const struct derp_frame *f, bool *preferred);
/* A 32-byte PeerGone without a reason byte means Disconnected. */
bool derp_get_peer_gone(const struct derp_frame *f, const uint8_t **key,
			uint8_t *reason);
/* A 32-byte PeerPresent (old servers) leaves ip zero, port 0, flags 0. */
bool derp_get_peer_present(const struct derp_frame *f, const uint8_t **key,
			   uint8_t ip[16], uint16_t *port, uint8_t *flags);
bool derp_get_close_peer(const struct derp_frame *f, const uint8_t **key);
/* Ping or Pong: 8 bytes, extra bytes up to DERP_MAX_PING ignored. */
bool derp_get_ping(const struct derp_frame *f, const uint8_t **data);
bool derp_get_restarting(const struct derp_frame *f, uint32_t *reconnect_ms,
			 uint32_t *try_for_ms);

/* Tailscale's disco wrapper: "TS💬" + sender key[32] + nonce[24] + box. */
bool derp_looks_like_disco(const uint8_t *pkt, size_t len);

#endif
