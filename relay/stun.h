/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * STUN binding (RFC 5389) as Tailscale's STUN servers answer it: only
 * binding requests carrying SOFTWARE "tailnode" and ending in a valid
 * FINGERPRINT; the answer is a success response with XOR-MAPPED-ADDRESS.
 * Pure functions over buffers.
 */
#ifndef MESHWG_RELAY_STUN_H
#define MESHWG_RELAY_STUN_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define STUN_HDR_LEN 20
#define STUN_TXID_LEN 12
#define STUN_MAX_RESPONSE (STUN_HDR_LEN + 4 + 4 + 16)

enum stun_result {
	STUN_OK = 0,
	STUN_NOT_STUN = -1,		/* no magic cookie, short, top bits */
	STUN_NOT_BINDING = -2,		/* another method or class */
	STUN_BAD_ATTRS = -3,		/* an attribute overruns the packet */
	STUN_WRONG_SOFTWARE = -4,	/* no SOFTWARE "tailnode" */
	STUN_NO_FINGERPRINT = -5,	/* FINGERPRINT is not the last attribute */
	STUN_BAD_FINGERPRINT = -6,
};

/* Checks a binding request; on STUN_OK, txid holds its transaction id. */
enum stun_result stun_parse_request(const uint8_t *b, size_t len,
				    uint8_t txid[STUN_TXID_LEN]);

/*
 * Writes the success response for txid telling the client its address sa
 * (AF_INET, or AF_INET6; v4-mapped IPv6 is answered as IPv4).  out holds
 * STUN_MAX_RESPONSE bytes.  Returns the length, 0 for another family.
 */
size_t stun_response(uint8_t *out, const uint8_t txid[STUN_TXID_LEN],
		     const struct sockaddr *sa);

/* CRC-32 (IEEE 802.3), as FINGERPRINT uses before its XOR. */
uint32_t stun_crc32(const uint8_t *p, size_t len);

#endif
