// SPDX-License-Identifier: GPL-2.0 OR MIT
/* DERP frame codec (derp_frame.h): pure functions over caller buffers. */
#include "derp_frame.h"

#include <string.h>

static void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = v >> 24;
	p[1] = v >> 16;
	p[2] = v >> 8;
	p[3] = v;
}

static uint32_t get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

uint32_t derp_frame_max_len(uint8_t type)
{
	switch (type) {
	case DERP_FRAME_CLIENT_INFO:
		return DERP_MAX_CLIENT_INFO;
	case DERP_FRAME_SERVER_INFO:
		return DERP_NONCE_LEN + DERP_MAX_INFO;
	case DERP_FRAME_SEND_PACKET:
	case DERP_FRAME_RECV_PACKET:
		return DERP_KEY_LEN + DERP_MAX_PACKET;
	case DERP_FRAME_FORWARD_PACKET:
		return 2 * DERP_KEY_LEN + DERP_MAX_PACKET;
	case DERP_FRAME_PING:
		return DERP_MAX_PING;
	default:
		/* Room for future bytes, as Tailscale's readers allow. */
		return DERP_MAX_INFO;
	}
}

enum derp_parse derp_frame_parse(const uint8_t *buf, size_t len,
				 struct derp_frame *f, size_t *used)
{
	uint32_t flen;

	*used = 0;
	if (len < DERP_HDR_LEN)
		return DERP_PARSE_MORE;
	flen = get_be32(buf + 1);
	if (flen > derp_frame_max_len(buf[0]))
		return DERP_PARSE_TOO_BIG;
	if (len - DERP_HDR_LEN < flen)
		return DERP_PARSE_MORE;
	f->type = buf[0];
	f->len = flen;
	f->payload = buf + DERP_HDR_LEN;
	*used = DERP_HDR_LEN + (size_t)flen;
	return DERP_PARSE_OK;
}

size_t derp_put_header(uint8_t *out, uint8_t type, uint32_t len)
{
	out[0] = type;
	put_be32(out + 1, len);
	return DERP_HDR_LEN;
}

size_t derp_put_server_key(uint8_t *out, const uint8_t key[DERP_KEY_LEN])
{
	derp_put_header(out, DERP_FRAME_SERVER_KEY,
			DERP_MAGIC_LEN + DERP_KEY_LEN);
	memcpy(out + DERP_HDR_LEN, DERP_MAGIC, DERP_MAGIC_LEN);
	memcpy(out + DERP_HDR_LEN + DERP_MAGIC_LEN, key, DERP_KEY_LEN);
	return DERP_SERVER_KEY_SIZE;
}

size_t derp_put_client_info(uint8_t *out, const uint8_t key[DERP_KEY_LEN],
			    const uint8_t *box, size_t box_len)
{
	derp_put_header(out, DERP_FRAME_CLIENT_INFO, DERP_KEY_LEN + box_len);
	memcpy(out + DERP_HDR_LEN, key, DERP_KEY_LEN);
	memcpy(out + DERP_HDR_LEN + DERP_KEY_LEN, box, box_len);
	return DERP_HDR_LEN + DERP_KEY_LEN + box_len;
}

size_t derp_put_server_info(uint8_t *out, const uint8_t *box, size_t box_len)
{
	derp_put_header(out, DERP_FRAME_SERVER_INFO, box_len);
	memcpy(out + DERP_HDR_LEN, box, box_len);
	return DERP_HDR_LEN + box_len;
}

size_t derp_put_packet_header(uint8_t *out, uint8_t type,
			      const uint8_t key[DERP_KEY_LEN], size_t len)
{
	derp_put_header(out, type, DERP_KEY_LEN + len);
	memcpy(out + DERP_HDR_LEN, key, DERP_KEY_LEN);
	return DERP_PACKET_HDR_SIZE;
}

size_t derp_put_forward_header(uint8_t *out, const uint8_t src[DERP_KEY_LEN],
			       const uint8_t dst[DERP_KEY_LEN], size_t len)
{
	derp_put_header(out, DERP_FRAME_FORWARD_PACKET, 2 * DERP_KEY_LEN + len);
	memcpy(out + DERP_HDR_LEN, src, DERP_KEY_LEN);
	memcpy(out + DERP_HDR_LEN + DERP_KEY_LEN, dst, DERP_KEY_LEN);
	return DERP_FORWARD_HDR_SIZE;
}

size_t derp_put_empty(uint8_t *out, uint8_t type)
{
	return derp_put_header(out, type, 0);
}

size_t derp_put_note_preferred(uint8_t *out, bool preferred)
{
	derp_put_header(out, DERP_FRAME_NOTE_PREFERRED, 1);
	out[DERP_HDR_LEN] = preferred ? 1 : 0;
	return DERP_HDR_LEN + 1;
}

size_t derp_put_peer_gone(uint8_t *out, const uint8_t key[DERP_KEY_LEN],
			  uint8_t reason)
{
	derp_put_header(out, DERP_FRAME_PEER_GONE, DERP_KEY_LEN + 1);
	memcpy(out + DERP_HDR_LEN, key, DERP_KEY_LEN);
	out[DERP_HDR_LEN + DERP_KEY_LEN] = reason;
	return DERP_PEER_GONE_SIZE;
}

size_t derp_put_peer_present(uint8_t *out, const uint8_t key[DERP_KEY_LEN],
			     const uint8_t ip[16], uint16_t port,
			     uint8_t flags)
{
	uint8_t *p = out + DERP_HDR_LEN;

	derp_put_header(out, DERP_FRAME_PEER_PRESENT, DERP_PEER_PRESENT_LEN);
	memcpy(p, key, DERP_KEY_LEN);
	memcpy(p + DERP_KEY_LEN, ip, 16);
	p[DERP_KEY_LEN + 16] = port >> 8;
	p[DERP_KEY_LEN + 17] = port & 0xff;
	p[DERP_KEY_LEN + 18] = flags;
	return DERP_HDR_LEN + DERP_PEER_PRESENT_LEN;
}

size_t derp_put_close_peer(uint8_t *out, const uint8_t key[DERP_KEY_LEN])
{
	derp_put_header(out, DERP_FRAME_CLOSE_PEER, DERP_KEY_LEN);
	memcpy(out + DERP_HDR_LEN, key, DERP_KEY_LEN);
	return DERP_HDR_LEN + DERP_KEY_LEN;
}

size_t derp_put_ping(uint8_t *out, uint8_t type,
		     const uint8_t data[DERP_PING_LEN])
{
	derp_put_header(out, type, DERP_PING_LEN);
	memcpy(out + DERP_HDR_LEN, data, DERP_PING_LEN);
	return DERP_PING_SIZE;
}

size_t derp_put_health(uint8_t *out, const char *text, size_t len)
{
	derp_put_header(out, DERP_FRAME_HEALTH, len);
	if (len)
		memcpy(out + DERP_HDR_LEN, text, len);
	return DERP_HDR_LEN + len;
}

size_t derp_put_restarting(uint8_t *out, uint32_t reconnect_ms,
			   uint32_t try_for_ms)
{
	derp_put_header(out, DERP_FRAME_RESTARTING, 8);
	put_be32(out + DERP_HDR_LEN, reconnect_ms);
	put_be32(out + DERP_HDR_LEN + 4, try_for_ms);
	return DERP_HDR_LEN + 8;
}

bool derp_get_server_key(const struct derp_frame *f, const uint8_t **key)
{
	if (f->type != DERP_FRAME_SERVER_KEY ||
	    f->len < DERP_MAGIC_LEN + DERP_KEY_LEN ||
	    memcmp(f->payload, DERP_MAGIC, DERP_MAGIC_LEN))
		return false;
	*key = f->payload + DERP_MAGIC_LEN;
	return true;
}

bool derp_get_client_info(const struct derp_frame *f, const uint8_t **key,
			  const uint8_t **box, size_t *box_len)
{
	if (f->type != DERP_FRAME_CLIENT_INFO ||
	    f->len < DERP_KEY_LEN + DERP_NONCE_LEN + DERP_BOX_MAC_LEN)
		return false;
	*key = f->payload;
	*box = f->payload + DERP_KEY_LEN;
	*box_len = f->len - DERP_KEY_LEN;
	return true;
}

bool derp_get_server_info(const struct derp_frame *f, const uint8_t **box,
			  size_t *box_len)
{
	if (f->type != DERP_FRAME_SERVER_INFO ||
	    f->len < DERP_NONCE_LEN + DERP_BOX_MAC_LEN)
		return false;
	*box = f->payload;
	*box_len = f->len;
	return true;
}

bool derp_get_packet(const struct derp_frame *f, const uint8_t **key,
		     const uint8_t **pkt, size_t *pkt_len)
{
	if ((f->type != DERP_FRAME_SEND_PACKET &&
	     f->type != DERP_FRAME_RECV_PACKET) ||
	    f->len < DERP_KEY_LEN || f->len - DERP_KEY_LEN > DERP_MAX_PACKET)
		return false;
	*key = f->payload;
	*pkt = f->payload + DERP_KEY_LEN;
	*pkt_len = f->len - DERP_KEY_LEN;
	return true;
}

bool derp_get_forward(const struct derp_frame *f, const uint8_t **src,
		      const uint8_t **dst, const uint8_t **pkt,
		      size_t *pkt_len)
{
	if (f->type != DERP_FRAME_FORWARD_PACKET ||
	    f->len < 2 * DERP_KEY_LEN ||
	    f->len - 2 * DERP_KEY_LEN > DERP_MAX_PACKET)
		return false;
	*src = f->payload;
	*dst = f->payload + DERP_KEY_LEN;
	*pkt = f->payload + 2 * DERP_KEY_LEN;
	*pkt_len = f->len - 2 * DERP_KEY_LEN;
	return true;
}

bool derp_get_note_preferred(const struct derp_frame *f, bool *preferred)
{
	if (f->type != DERP_FRAME_NOTE_PREFERRED || f->len != 1)
		return false;
	*preferred = f->payload[0] != 0;
	return true;
}

bool derp_get_peer_gone(const struct derp_frame *f, const uint8_t **key,
			uint8_t *reason)
{
	if (f->type != DERP_FRAME_PEER_GONE || f->len < DERP_KEY_LEN)
		return false;
	*key = f->payload;
	*reason = f->len > DERP_KEY_LEN ? f->payload[DERP_KEY_LEN] :
					  DERP_PEER_GONE_DISCONNECTED;
	return true;
}

bool derp_get_peer_present(const struct derp_frame *f, const uint8_t **key,
			   uint8_t ip[16], uint16_t *port, uint8_t *flags)
{
	const uint8_t *p = f->payload;

	if (f->type != DERP_FRAME_PEER_PRESENT || f->len < DERP_KEY_LEN)
		return false;
	*key = p;
	memset(ip, 0, 16);
	*port = 0;
	*flags = 0;
	if (f->len >= DERP_KEY_LEN + 18) {
		memcpy(ip, p + DERP_KEY_LEN, 16);
		*port = (uint16_t)(p[DERP_KEY_LEN + 16] << 8 |
				   p[DERP_KEY_LEN + 17]);
	}
	if (f->len >= DERP_PEER_PRESENT_LEN)
		*flags = p[DERP_KEY_LEN + 18];
	return true;
}

bool derp_get_close_peer(const struct derp_frame *f, const uint8_t **key)
{
	if (f->type != DERP_FRAME_CLOSE_PEER || f->len != DERP_KEY_LEN)
		return false;
	*key = f->payload;
	return true;
}

bool derp_get_ping(const struct derp_frame *f, const uint8_t **data)
{
	if ((f->type != DERP_FRAME_PING && f->type != DERP_FRAME_PONG) ||
	    f->len < DERP_PING_LEN || f->len > DERP_MAX_PING)
		return false;
	*data = f->payload;
	return true;
}

bool derp_get_restarting(const struct derp_frame *f, uint32_t *reconnect_ms,
			 uint32_t *try_for_ms)
{
	if (f->type != DERP_FRAME_RESTARTING || f->len < 8)
		return false;
	*reconnect_ms = get_be32(f->payload);
	*try_for_ms = get_be32(f->payload + 4);
	return true;
}

bool derp_looks_like_disco(const uint8_t *pkt, size_t len)
{
	static const uint8_t magic[6] = { 'T', 'S', 0xf0, 0x9f, 0x92, 0xac };

	return len >= sizeof(magic) + DERP_KEY_LEN + DERP_NONCE_LEN &&
	       !memcmp(pkt, magic, sizeof(magic));
}
