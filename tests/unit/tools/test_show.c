// SPDX-License-Identifier: GPL-2.0 OR MIT
/* `meshwg wg show' output (tools/show.c): wg's layout plus meshwg's counters. */

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "helpers.h"
#include "show.h"

const char *PROG_NAME = "meshwg wg";
bool is_help(const char *arg)
{
	return !strcmp(arg, "--help");
}

#define PUB_A "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE="	/* 32 x 0x01 */
#define PUB_B "AgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI="	/* 32 x 0x02 */
#define DEV_PRIV "BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc="	/* 32 x 0x07 */
#define DEV_PUB "CAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAg="	/* 32 x 0x08 */

/* Runs fn with stdout sent to a file; returns what it printed. */
static char *capture(void (*fn)(void *), void *arg)
{
	FILE *tmp = tmpfile();
	int saved = dup(STDOUT_FILENO);
	long len;
	char *out;

	assert_non_null(tmp);
	fflush(stdout);
	dup2(fileno(tmp), STDOUT_FILENO);
	fn(arg);
	fflush(stdout);
	dup2(saved, STDOUT_FILENO);
	close(saved);
	len = lseek(fileno(tmp), 0, SEEK_END);
	assert_true(len >= 0);
	out = calloc(1, (size_t)len + 1);
	assert_non_null(out);
	assert_int_equal(pread(fileno(tmp), out, (size_t)len, 0), len);
	fclose(tmp);
	return out;
}

static void add_ip(struct mw_peer *p, int family, const char *addr, uint8_t cidr)
{
	struct mw_allowedip *ip = calloc(1, sizeof(*ip));

	assert_non_null(ip);
	ip->family = (uint16_t)family;
	assert_int_equal(inet_pton(family, addr, family == AF_INET ? (void *)&ip->ip4 : (void *)&ip->ip6), 1);
	ip->cidr = cidr;
	peer_append_allowedip(p, ip);
}

static struct mw_device *sample(void)
{
	struct mw_device *dev = calloc(1, sizeof(*dev));
	struct mw_peer *a = calloc(1, sizeof(*a)), *b = calloc(1, sizeof(*b));

	assert_non_null(dev);
	assert_non_null(a);
	assert_non_null(b);
	snprintf(dev->name, sizeof(dev->name), "meshwg0");
	dev->flags = DEV_HAS_PRIVATE_KEY | DEV_HAS_PUBLIC_KEY | DEV_HAS_LISTEN_PORT;
	memset(dev->private_key, 7, KEY_LEN);
	memset(dev->public_key, 8, KEY_LEN);
	dev->listen_port = 51820;
	dev->fwmark = 0x2a;

	/* a: relay endpoint, no handshake, counters present */
	memset(a->public_key, 1, KEY_LEN);
	a->flags = PEER_HAS_PUBLIC_KEY | PEER_HAS_RELAY | PEER_HAS_PACKETS | PEER_HAS_DROPS |
		   PEER_HAS_ATTEMPTS;
	a->relay_id = 7;
	a->rx_packets = 3;
	a->tx_packets = 4;
	a->drops_no_key = 1;
	a->drops_replay = 2;
	a->drops_allowedips = 5;
	a->drops_invalid = 6;
	a->handshake_attempts = 9;
	a->drops_acl = 8;
	device_append_peer(dev, a);

	/* b: IPv6 endpoint, psk, handshake, transfer, keepalive */
	memset(b->public_key, 2, KEY_LEN);
	memset(b->preshared_key, 3, KEY_LEN);
	b->flags = PEER_HAS_PUBLIC_KEY | PEER_HAS_PRESHARED_KEY | PEER_HAS_ENDPOINT | PEER_HAS_KEEPALIVE;
	b->endpoint.addr6.sin6_family = AF_INET6;
	b->endpoint.addr6.sin6_port = htons(51821);
	inet_pton(AF_INET6, "2001:db8::2", &b->endpoint.addr6.sin6_addr);
	b->last_handshake_time.tv_sec = time(NULL) - 3661;
	b->rx_bytes = 1536;
	b->tx_bytes = 100;
	b->persistent_keepalive_interval = 25;
	add_ip(b, AF_INET, "10.0.0.2", 32);
	add_ip(b, AF_INET6, "fd00::", 64);
	device_append_peer(dev, b);
	return dev;
}

static void run_dump(void *dev)
{
	show_dump(dev, false);
}

static void run_dump_all(void *dev)
{
	show_dump(dev, true);
}

static void run_pretty(void *dev)
{
	show_pretty(dev);
}

struct field_arg {
	struct mw_device *dev;
	const char *field;
};

static void run_field(void *arg)
{
	struct field_arg *f = arg;

	show_field(f->dev, f->field, false);
}

static char *field(struct mw_device *dev, const char *name)
{
	struct field_arg f = { dev, name };

	return capture(run_field, &f);
}

static void test_dump(void **state)
{
	struct mw_device *dev = sample();
	char *out = capture(run_dump, dev), *line;
	char want[1024];

	(void)state;
	snprintf(want, sizeof(want),
		 DEV_PRIV "\t" DEV_PUB "\t51820\t0x2a\n"
		 PUB_A "\t(none)\trelay:7\t(none)\t0\t0\t0\toff\t3\t4\t1\t2\t5\t6\t9\t8\n"
		 PUB_B "\tAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwM=\t[2001:db8::2]:51821\t"
		 "10.0.0.2/32,fd00::/64\t%lld\t1536\t100\t25\t0\t0\t0\t0\t0\t0\t0\t0\n",
		 (long long)dev->last_peer->last_handshake_time.tv_sec);
	assert_string_equal(out, want);
	free(out);

	out = capture(run_dump_all, dev);
	/* every line starts with the interface; wg's 8 peer columns + 8 of ours */
	for (line = strtok(out, "\n"); line; line = strtok(NULL, "\n")) {
		size_t tabs = 0;
		const char *c;

		assert_int_equal(strncmp(line, "meshwg0\t", 8), 0);
		for (c = line; *c; ++c)
			tabs += *c == '\t';
		assert_true(tabs == 4 || tabs == 16);
	}
	free(out);
	free_device(dev);
}

static void test_pretty(void **state)
{
	struct mw_device *dev = sample();
	char *out = capture(run_pretty, dev);
	const char *hs;

	(void)state;
	/* the peer with a handshake comes first, as in wg */
	assert_non_null(strstr(out,
		"interface: meshwg0\n"
		"  public key: " DEV_PUB "\n"
		"  private key: (hidden)\n"
		"  listening port: 51820\n"
		"  fwmark: 0x2a\n"
		"\n"
		"peer: " PUB_B "\n"
		"  preshared key: (hidden)\n"
		"  endpoint: [2001:db8::2]:51821\n"
		"  allowed ips: 10.0.0.2/32, fd00::/64\n"
		"  latest handshake: 1 hour, 1 minute, "));
	hs = strstr(out, "  latest handshake: ");
	assert_non_null(strstr(hs, " ago\n"
		"  transfer: 1.50 KiB received, 100 B sent\n"
		"  persistent keepalive: every 25 seconds\n"
		"\n"
		"peer: " PUB_A "\n"
		"  endpoint: relay:7\n"
		"  allowed ips: (none)\n"
		"  packets: 3 received, 4 sent\n"
		"  drops: 1 no-key, 2 replay, 5 allowed-ips, 6 invalid, 8 acl\n"
		"  handshake attempts: 9\n"));
	assert_null(strchr(out, '\x1b')); /* no colours when not a terminal */
	free(out);
	free_device(dev);
}

static void test_fields(void **state)
{
	struct mw_device *dev = sample();
	char *out;

	(void)state;
	out = field(dev, "endpoints");
	assert_string_equal(out, PUB_A "\trelay:7\n" PUB_B "\t[2001:db8::2]:51821\n");
	free(out);
	out = field(dev, "allowed-ips");
	assert_string_equal(out, PUB_A "\t(none)\n" PUB_B "\t10.0.0.2/32 fd00::/64\n");
	free(out);
	out = field(dev, "packets");
	assert_string_equal(out, PUB_A "\t3\t4\n" PUB_B "\t0\t0\n");
	free(out);
	out = field(dev, "drops");
	assert_string_equal(out, PUB_A "\t1\t2\t5\t6\t8\n" PUB_B "\t0\t0\t0\t0\t0\n");
	free(out);
	out = field(dev, "persistent-keepalive");
	assert_string_equal(out, PUB_A "\toff\n" PUB_B "\t25\n");
	free(out);
	out = field(dev, "fwmark");
	assert_string_equal(out, "0x2a\n");
	free(out);
	out = field(dev, "listen-port");
	assert_string_equal(out, "51820\n");
	free(out);
	out = field(dev, "private-key");
	assert_string_equal(out, DEV_PRIV "\n");
	free(out);
	out = field(dev, "preshared-keys");
	assert_string_equal(out, PUB_A "\t(none)\n" PUB_B "\tAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwM=\n");
	free(out);
	out = field(dev, "transfer");
	assert_string_equal(out, PUB_A "\t0\t0\n" PUB_B "\t1536\t100\n");
	free(out);
	assert_true(show_valid_field("dump"));
	assert_true(show_valid_field("drops"));
	assert_false(show_valid_field("bogus"));
	assert_false(show_valid_field(""));
	free_device(dev);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dump),
		cmocka_unit_test(test_pretty),
		cmocka_unit_test(test_fields),
	};

	setenv("MESHWG_COLOR_MODE", "never", 1);
	unsetenv("WG_HIDE_KEYS");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
