/* SPDX-License-Identifier: GPL-2.0 */
/*
 * meshwg: WireGuard wire formats and protocol constants.
 *
 * Every structure below is the exact on-the-wire layout of a WireGuard v1
 * message; multi-byte integers are little endian.
 */

#ifndef _MWG_MESSAGES_H
#define _MWG_MESSAGES_H

#include <crypto/curve25519.h>
#include <crypto/chacha20poly1305.h>
#include <crypto/blake2s.h>

#include <linux/kernel.h>
#include <linux/param.h>
#include <linux/skbuff.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/udp.h>

enum noise_lengths {
	NOISE_PUBLIC_KEY_LEN = CURVE25519_KEY_SIZE,
	NOISE_SYMMETRIC_KEY_LEN = CHACHA20POLY1305_KEY_SIZE,
	NOISE_TIMESTAMP_LEN = sizeof(u64) + sizeof(u32),
	NOISE_AUTHTAG_LEN = CHACHA20POLY1305_AUTHTAG_SIZE,
	NOISE_HASH_LEN = BLAKE2S_HASH_SIZE
};

#define noise_encrypted_len(plain_len) ((plain_len) + NOISE_AUTHTAG_LEN)

enum cookie_values {
	COOKIE_SECRET_MAX_AGE = 2 * 60,
	COOKIE_SECRET_LATENCY = 5,
	COOKIE_NONCE_LEN = XCHACHA20POLY1305_NONCE_SIZE,
	COOKIE_LEN = 16,
	COOKIE_KEY_LABEL_LEN = 8
};

enum counter_values {
	COUNTER_BITS_TOTAL = 8192,
	COUNTER_REDUNDANT_BITS = BITS_PER_LONG,
	COUNTER_WINDOW_SIZE = COUNTER_BITS_TOTAL - COUNTER_REDUNDANT_BITS
};

/*
 * Timer constants, in seconds. The four that tests want to shorten read a
 * module parameter; the variables are DEFINED BY main.c (K-dev) as
 *
 *	unsigned int mwg_rekey_after_time = 120;
 *	unsigned int mwg_reject_after_time = 180;
 *	unsigned int mwg_rekey_timeout = 5;
 *	unsigned int mwg_keepalive_timeout = 10;
 *	module_param_named(rekey_after_time, mwg_rekey_after_time, uint, 0444);
 *	... (likewise for the other three)
 *
 * and main.c must refuse to load unless
 *	1 <= rekey_timeout, 1 <= keepalive_timeout,
 *	rekey_timeout + keepalive_timeout < rekey_after_time < reject_after_time
 * so that the derived expressions below (and in timers.c/receive.c) never
 * divide by zero or underflow. Defaults are the values of the WireGuard
 * paper; every other constant stays fixed.
 */
extern unsigned int mwg_rekey_after_time;
extern unsigned int mwg_reject_after_time;
extern unsigned int mwg_rekey_timeout;
extern unsigned int mwg_keepalive_timeout;

#define REKEY_AFTER_TIME ((u64)READ_ONCE(mwg_rekey_after_time))
#define REJECT_AFTER_TIME ((u64)READ_ONCE(mwg_reject_after_time))
#define REKEY_TIMEOUT ((u64)READ_ONCE(mwg_rekey_timeout))
#define KEEPALIVE_TIMEOUT ((u64)READ_ONCE(mwg_keepalive_timeout))
/* Give up on handshaking after this many retries (90 s by default). */
#define MAX_TIMER_HANDSHAKES (90 / REKEY_TIMEOUT)

#define REKEY_AFTER_MESSAGES (1ULL << 60)
#define REJECT_AFTER_MESSAGES (U64_MAX - COUNTER_WINDOW_SIZE - 1)

enum limits {
	REKEY_TIMEOUT_JITTER_MAX_JIFFIES = HZ / 3,
	INITIATIONS_PER_SECOND = 50,
	MAX_PEERS_PER_DEVICE = 1U << 20,
	MAX_QUEUED_INCOMING_HANDSHAKES = 4096,
	MAX_STAGED_PACKETS = 128,
	MAX_QUEUED_PACKETS = 1024
};

enum message_type {
	MESSAGE_INVALID = 0,
	MESSAGE_HANDSHAKE_INITIATION = 1,
	MESSAGE_HANDSHAKE_RESPONSE = 2,
	MESSAGE_HANDSHAKE_COOKIE = 3,
	MESSAGE_DATA = 4
};

/*
 * On the wire the header is one type byte followed by three zero bytes; read
 * as a little-endian 32-bit word that is simply the type, so comparing the
 * word against cpu_to_le32(MESSAGE_*) checks both at once.
 */
struct message_header {
	__le32 type;
};

struct message_macs {
	u8 mac1[COOKIE_LEN];
	u8 mac2[COOKIE_LEN];
};

struct message_handshake_initiation {
	struct message_header header;
	__le32 sender_index;
	u8 unencrypted_ephemeral[NOISE_PUBLIC_KEY_LEN];
	u8 encrypted_static[noise_encrypted_len(NOISE_PUBLIC_KEY_LEN)];
	u8 encrypted_timestamp[noise_encrypted_len(NOISE_TIMESTAMP_LEN)];
	struct message_macs macs;
};

struct message_handshake_response {
	struct message_header header;
	__le32 sender_index;
	__le32 receiver_index;
	u8 unencrypted_ephemeral[NOISE_PUBLIC_KEY_LEN];
	u8 encrypted_nothing[noise_encrypted_len(0)];
	struct message_macs macs;
};

struct message_handshake_cookie {
	struct message_header header;
	__le32 receiver_index;
	u8 nonce[COOKIE_NONCE_LEN];
	u8 encrypted_cookie[noise_encrypted_len(COOKIE_LEN)];
};

struct message_data {
	struct message_header header;
	__le32 key_idx;
	__le64 counter;
	u8 encrypted_data[];
};

/* Size on the wire of a data message carrying plain_len (padded) bytes. */
#define message_data_len(plain_len) \
	(noise_encrypted_len(plain_len) + sizeof(struct message_data))

enum message_alignments {
	MESSAGE_PADDING_MULTIPLE = 16,
	MESSAGE_MINIMUM_LENGTH = message_data_len(0)
};

/* Wire sizes, checked at compile time in noise.c. */
enum message_sizes {
	MESSAGE_INITIATION_LEN = 148,
	MESSAGE_RESPONSE_LEN = 92,
	MESSAGE_COOKIE_LEN = 64,
	MESSAGE_DATA_HEADER_LEN = 16
};

/*
 * The header length of a WireGuard message of len bytes at data (the type
 * must be readable), or 0 if its type and length are not those of one:
 * handshake messages have exact sizes, data messages a minimum.
 */
static inline size_t mwg_message_header_len(const void *data, size_t len)
{
	__le32 type;

	if (unlikely(len < sizeof(struct message_header)))
		return 0;
	type = ((const struct message_header *)data)->type;
	if (type == cpu_to_le32(MESSAGE_DATA) && len >= MESSAGE_MINIMUM_LENGTH)
		return sizeof(struct message_data);
	if (type == cpu_to_le32(MESSAGE_HANDSHAKE_INITIATION) &&
	    len == sizeof(struct message_handshake_initiation))
		return sizeof(struct message_handshake_initiation);
	if (type == cpu_to_le32(MESSAGE_HANDSHAKE_RESPONSE) &&
	    len == sizeof(struct message_handshake_response))
		return sizeof(struct message_handshake_response);
	if (type == cpu_to_le32(MESSAGE_HANDSHAKE_COOKIE) &&
	    len == sizeof(struct message_handshake_cookie))
		return sizeof(struct message_handshake_cookie);
	return 0;
}

#define SKB_HEADER_LEN                                       \
	(max(sizeof(struct iphdr), sizeof(struct ipv6hdr)) + \
	 sizeof(struct udphdr) + NET_SKB_PAD)
#define DATA_PACKET_HEAD_ROOM \
	ALIGN(sizeof(struct message_data) + SKB_HEADER_LEN, 4)

enum { HANDSHAKE_DSCP = 0x88 /* AF41, plus 00 ECN */ };

#endif /* _MWG_MESSAGES_H */
