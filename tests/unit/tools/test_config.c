// SPDX-License-Identifier: GPL-2.0 OR MIT
/* Configuration files, `set` arguments and value parsing (tools/config.c). */

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <fcntl.h>
#include <unistd.h>

#include "helpers.h"
#include "config.h"
#include "key.h"

#define K1 "KAnen7aM8lI0rM8gLbFXbtegu033kUgQuk3FyfAJJkQ="
#define K2 "OLITw1kb5+VbozPYp4fuYQ5aBGJbTDwS5WCr6sMamVQ="
#define K3 "QPX1YM7+RaHzRRQR8QD/6qswbMKT4phDkdPKgCNZIHI="

static struct mw_device *parse(const char *text, char *err)
{
	err[0] = '\0';
	return config_parse(text, strlen(text), "t.conf", true, err, ERR_LEN);
}

static void expect_error(const char *text, const char *needle)
{
	char err[ERR_LEN];
	struct mw_device *dev = parse(text, err);

	assert_null(dev);
	if (!strstr(err, needle))
		fail_msg("error `%s' does not contain `%s'", err, needle);
}

static void test_full_config(void **state)
{
	const char *text =
		"# a comment line\n"
		"[Interface]\n"
		"PrivateKey = " K1 "   # trailing comment\n"
		"  ListenPort=51820\n"
		"fwmark = 0x2a\n"
		"\n"
		"[Peer]\n"
		"PublicKey = " K2 "\n"
		"PresharedKey = " K3 "\n"
		"AllowedIPs = 10.0.0.2/32, 10.1.0.0/16\n"
		"AllowedIPs = fd00::/64\n"
		"Endpoint = [::1]:51820\n"
		"PersistentKeepalive = 25\n"
		"[peer]\n"
		"publickey = " K3 "\n"
		"endpoint = 192.0.2.1:1234\n"
		"[Peer]\n"
		"PublicKey = " K1 "\n"
		"Endpoint = relay:7\n"
		"AllowedIPs =\n";
	char err[ERR_LEN], b64[KEY_B64_LEN], addr[INET6_ADDRSTRLEN];
	struct mw_device *dev = parse(text, err);
	struct mw_peer *p;
	struct mw_allowedip *ip;

	(void)state;
	assert_non_null(dev);
	assert_true(dev->flags & DEV_REPLACE_PEERS);
	assert_true(dev->flags & DEV_HAS_PRIVATE_KEY);
	key_to_base64(b64, dev->private_key);
	assert_string_equal(b64, K1);
	assert_int_equal(dev->listen_port, 51820);
	assert_int_equal(dev->fwmark, 42);
	assert_int_equal(count_peers(dev), 3);

	p = dev->first_peer;
	key_to_base64(b64, p->public_key);
	assert_string_equal(b64, K2);
	assert_true(p->flags & PEER_HAS_PRESHARED_KEY);
	assert_true(p->flags & PEER_REPLACE_ALLOWEDIPS);
	assert_int_equal(count_ips(p), 3);
	ip = p->first_allowedip;
	assert_int_equal(ip->family, AF_INET);
	assert_int_equal(ip->cidr, 32);
	inet_ntop(AF_INET, &ip->ip4, addr, sizeof(addr));
	assert_string_equal(addr, "10.0.0.2");
	ip = ip->next->next;
	assert_int_equal(ip->family, AF_INET6);
	assert_int_equal(ip->cidr, 64);
	assert_true(p->flags & PEER_HAS_ENDPOINT);
	assert_int_equal(p->endpoint.addr.sa_family, AF_INET6);
	assert_int_equal(ntohs(p->endpoint.addr6.sin6_port), 51820);
	assert_true(IN6_IS_ADDR_LOOPBACK(&p->endpoint.addr6.sin6_addr));
	assert_true(p->flags & PEER_HAS_KEEPALIVE);
	assert_int_equal(p->persistent_keepalive_interval, 25);

	p = p->next;
	assert_int_equal(p->endpoint.addr.sa_family, AF_INET);
	assert_int_equal(ntohs(p->endpoint.addr4.sin_port), 1234);
	assert_int_equal(count_ips(p), 0);

	p = p->next;
	assert_true(p->flags & PEER_HAS_RELAY);
	assert_false(p->flags & PEER_HAS_ENDPOINT);
	assert_int_equal(p->relay_id, 7);
	assert_int_equal(count_ips(p), 0);
	free_device(dev);
}

static void test_addconf_no_replace(void **state)
{
	const char *text = "[Peer]\nPublicKey=" K2 "\n";
	char err[ERR_LEN];
	struct mw_device *dev = config_parse(text, strlen(text), "x", false, err, sizeof(err));

	(void)state;
	assert_non_null(dev);
	assert_false(dev->flags & DEV_REPLACE_PEERS);
	assert_false(dev->flags & DEV_HAS_PRIVATE_KEY);
	assert_false(dev->flags & DEV_HAS_LISTEN_PORT);
	free_device(dev);
}

static void test_empty_and_comment_only(void **state)
{
	char err[ERR_LEN];
	struct mw_device *dev = parse("# nothing\n\n   \n\t# more\n", err);

	(void)state;
	assert_non_null(dev);
	assert_null(dev->first_peer);
	assert_int_equal(dev->flags, DEV_REPLACE_PEERS);
	free_device(dev);
	dev = parse("", err);
	assert_non_null(dev);
	free_device(dev);
}

static void test_crlf_lines(void **state)
{
	char err[ERR_LEN];
	struct mw_device *dev = parse("[Interface]\r\nListenPort = 7\r\n", err);

	(void)state;
	assert_non_null(dev);
	assert_int_equal(dev->listen_port, 7);
	free_device(dev);
}

static void test_bad_lines(void **state)
{
	(void)state;
	expect_error("[Interface]\nListenPort = 70000\n", "t.conf:2: ListenPort: Invalid port");
	expect_error("[Interface]\nAddress = 10.0.0.1/24\n", "t.conf:2: unknown key `Address'");
	expect_error("ListenPort = 1\n", "t.conf:1: `ListenPort' outside of");
	expect_error("[Interface]\nthis is not a line\n", "t.conf:2: expected `Key = Value'");
	expect_error("[Interface]\n= value\n", "t.conf:2: expected");
	expect_error("[Wat]\n", "t.conf:1: unknown section `[Wat]'");
	expect_error("\n\n[Peer]\nAllowedIPs = 10.0.0.0/8\n", "t.conf:3: [Peer] section has no PublicKey");
	expect_error("[Peer]\nPublicKey = " K1 "\n[Peer]\nEndpoint = 1.2.3.4:5\n[Interface]\n",
		     "t.conf:3: [Peer] section has no PublicKey");
	expect_error("[Peer]\nPublicKey = abc\n", "t.conf:2: PublicKey: Key is not the correct length");
	expect_error("[Peer]\nPublicKey = " K1 "\nAllowedIPs = 10.0.0.0/33\n",
		     "t.conf:3: AllowedIPs: Invalid allowed IP `10.0.0.0/33': mask must be a number from 0 to 32");
	expect_error("[Peer]\nPublicKey = " K1 "\nAllowedIPs = 10.0.0.0/8,,10.1.0.0/16\n",
		     "empty entry");
	expect_error("[Peer]\nPublicKey = " K1 "\nPersistentKeepalive = 65536\n",
		     "t.conf:3: PersistentKeepalive: Invalid persistent keepalive");
	expect_error("[Peer]\nPublicKey = " K1 "\nEndpoint = ::1:51820\n", "need brackets");
	expect_error("[Peer]\nPublicKey = " K1 "\nListenPort = 1\n", "unknown key `ListenPort' in [Peer]");
	expect_error("[Interface]\nPrivateKey =\n", "t.conf:2: PrivateKey");
}

static void test_nul_byte_refused(void **state)
{
	static const char text[] = "[Interface]\nListen\0Port = 1\n";
	char err[ERR_LEN];

	(void)state;
	assert_null(config_parse(text, sizeof(text) - 1, "n", true, err, sizeof(err)));
	assert_non_null(strstr(err, "n:2: NUL byte"));
}

static void test_allowedip_edges(void **state)
{
	struct mw_allowedip ip;
	char err[ERR_LEN];
	static const char *const bad[] = {
		"10.0.0.0/33", "::/129", "10.0.0.0/", "/8", "10.0.0.0/-1", "10.0.0.0/+8",
		"10.0.0.0/8x", "10.0.0.0/ 8", "10.0.0.256/8", "hello", "", "1.2.3.4/0x10",
		"10.0.0.0/99999999999999999999", NULL
	};
	size_t i;

	(void)state;
	assert_true(parse_allowedip(&ip, "0.0.0.0/0", err, sizeof(err)));
	assert_int_equal(ip.cidr, 0);
	assert_true(parse_allowedip(&ip, "192.0.2.1/32", err, sizeof(err)));
	assert_int_equal(ip.cidr, 32);
	assert_true(parse_allowedip(&ip, "::/0", err, sizeof(err)));
	assert_int_equal(ip.family, AF_INET6);
	assert_int_equal(ip.cidr, 0);
	assert_true(parse_allowedip(&ip, "2001:db8::1/128", err, sizeof(err)));
	assert_int_equal(ip.cidr, 128);
	assert_true(parse_allowedip(&ip, "2001:db8::1", err, sizeof(err)));
	assert_int_equal(ip.cidr, 128);
	assert_true(parse_allowedip(&ip, "10.1.2.3", err, sizeof(err)));
	assert_int_equal(ip.cidr, 32);
	for (i = 0; bad[i]; ++i) {
		memset(&ip, 0xaa, sizeof(ip));
		if (parse_allowedip(&ip, bad[i], err, sizeof(err)))
			fail_msg("`%s' was accepted", bad[i]);
		assert_int_equal(ip.cidr, 0xaa); /* untouched */
	}
}

static void test_allowedips_list(void **state)
{
	struct mw_peer peer = { 0 };
	char err[ERR_LEN];

	(void)state;
	assert_true(parse_allowedips(&peer, " 10.0.0.1/32 ,\t10.0.0.2 ", err, sizeof(err)));
	assert_int_equal(count_ips(&peer), 2);
	/* a bad entry adds nothing, not even the good ones before it */
	assert_false(parse_allowedips(&peer, "10.0.0.3/32,10.0.0.4/40", err, sizeof(err)));
	assert_int_equal(count_ips(&peer), 2);
	assert_false(parse_allowedips(&peer, ",", err, sizeof(err)));
	assert_true(parse_allowedips(&peer, "", err, sizeof(err)));
	assert_int_equal(count_ips(&peer), 2);
	while (peer.first_allowedip) {
		struct mw_allowedip *n = peer.first_allowedip->next;

		free(peer.first_allowedip);
		peer.first_allowedip = n;
	}
}

static void test_endpoints(void **state)
{
	struct mw_peer peer = { 0 };
	char err[ERR_LEN];
	static const char *const bad[] = {
		"1.2.3.4", "1.2.3.4:", "1.2.3.4:0", "1.2.3.4:65536", "1.2.3.4:x", "[::1]", "[::1]51820",
		"[::1:51820", "::1:51820", ":51820", "[]:1", "relay:0", "relay:", "relay:x",
		"relay:4294967296", "[1.2.3.4]:5", NULL
	};
	size_t i;

	(void)state;
	assert_true(parse_endpoint(&peer, "[fe80::1%lo]:5", err, sizeof(err)));
	assert_int_equal(peer.endpoint.addr.sa_family, AF_INET6);
	assert_int_not_equal(peer.endpoint.addr6.sin6_scope_id, 0);
	assert_true(parse_endpoint(&peer, "relay:4294967295", err, sizeof(err)));
	assert_int_equal(peer.relay_id, 4294967295u);
	assert_true(peer.flags & PEER_HAS_RELAY);
	assert_true(parse_endpoint(&peer, "203.0.113.9:65535", err, sizeof(err)));
	assert_false(peer.flags & PEER_HAS_RELAY);
	assert_true(peer.flags & PEER_HAS_ENDPOINT);
	assert_int_equal(peer.relay_id, 0);
	assert_int_equal(ntohs(peer.endpoint.addr4.sin_port), 65535);
	for (i = 0; bad[i]; ++i) {
		struct mw_peer before = peer;

		if (parse_endpoint(&peer, bad[i], err, sizeof(err)))
			fail_msg("endpoint `%s' was accepted", bad[i]);
		assert_memory_equal(&before, &peer, sizeof(peer));
		assert_true(strlen(err) > 0);
	}
}

static void test_keepalive_range(void **state)
{
	uint16_t v = 7;
	char err[ERR_LEN];

	(void)state;
	assert_true(parse_keepalive(&v, "off", err, sizeof(err)));
	assert_int_equal(v, 0);
	assert_true(parse_keepalive(&v, "0", err, sizeof(err)));
	assert_int_equal(v, 0);
	assert_true(parse_keepalive(&v, "1", err, sizeof(err)));
	assert_int_equal(v, 1);
	assert_true(parse_keepalive(&v, "65535", err, sizeof(err)));
	assert_int_equal(v, 65535);
	assert_false(parse_keepalive(&v, "65536", err, sizeof(err)));
	assert_false(parse_keepalive(&v, "-1", err, sizeof(err)));
	assert_false(parse_keepalive(&v, "25s", err, sizeof(err)));
	assert_false(parse_keepalive(&v, "", err, sizeof(err)));
	assert_int_equal(v, 65535);
}

static void test_port_fwmark(void **state)
{
	uint16_t port = 1;
	uint32_t mark = 1;
	char err[ERR_LEN];

	(void)state;
	assert_true(parse_port(&port, "0", err, sizeof(err)));
	assert_int_equal(port, 0);
	assert_false(parse_port(&port, "65536", err, sizeof(err)));
	assert_false(parse_port(&port, "-5", err, sizeof(err)));
	assert_true(parse_fwmark(&mark, "0xffffffff", err, sizeof(err)));
	assert_int_equal(mark, 0xffffffffu);
	assert_true(parse_fwmark(&mark, "off", err, sizeof(err)));
	assert_int_equal(mark, 0);
	assert_false(parse_fwmark(&mark, "0x100000000", err, sizeof(err)));
	assert_false(parse_fwmark(&mark, "0x", err, sizeof(err)));
}

static void test_set_args(void **state)
{
	char keyfile[] = "/tmp/meshwg-test-keyXXXXXX", err[ERR_LEN], b64[KEY_B64_LEN];
	int fd = mkstemp(keyfile);
	char *args[] = { "listen-port", "1234", "private-key", keyfile, "peer", K2, "endpoint",
			 "10.0.0.1:5", "allowed-ips", "10.9.0.0/16,fd00::1", "persistent-keepalive",
			 "off", "peer", K3, "remove", NULL };
	struct mw_device *dev;

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(write(fd, K1 "\n", strlen(K1) + 1), (ssize_t)strlen(K1) + 1);
	close(fd);
	dev = config_parse_args(15, args, err, sizeof(err));
	assert_non_null(dev);
	assert_int_equal(dev->listen_port, 1234);
	key_to_base64(b64, dev->private_key);
	assert_string_equal(b64, K1);
	assert_int_equal(count_peers(dev), 2);
	assert_true(dev->first_peer->flags & PEER_REPLACE_ALLOWEDIPS);
	assert_true(dev->first_peer->flags & PEER_HAS_KEEPALIVE);
	assert_int_equal(count_ips(dev->first_peer), 2);
	assert_true(dev->last_peer->flags & PEER_REMOVE_ME);
	free_device(dev);

	/* an empty key file means "remove the key" */
	fd = open(keyfile, O_WRONLY | O_TRUNC);
	close(fd);
	{
		char *a[] = { "private-key", keyfile, NULL };

		dev = config_parse_args(2, a, err, sizeof(err));
		assert_non_null(dev);
		assert_true(dev->flags & DEV_HAS_PRIVATE_KEY);
		assert_true(key_is_zero(dev->private_key));
		free_device(dev);
	}
	unlink(keyfile);
	{
		char *a[] = { "private-key", keyfile, NULL };

		assert_null(config_parse_args(2, a, err, sizeof(err)));
		assert_non_null(strstr(err, "Unable to read key file"));
	}
	{
		char *a[] = { "endpoint", "1.2.3.4:5", NULL };

		assert_null(config_parse_args(2, a, err, sizeof(err)));
		assert_string_equal(err, "Invalid argument: endpoint");
	}
	{
		char *a[] = { "peer", K1, "allowed-ips", NULL };

		assert_null(config_parse_args(3, a, err, sizeof(err)));
		assert_string_equal(err, "Option `allowed-ips' needs a value");
	}
	{
		char *a[] = { "peer", K1, "listen-port", "5", NULL };

		assert_null(config_parse_args(4, a, err, sizeof(err)));
		assert_string_equal(err, "Invalid argument: listen-port");
	}
}

static void test_config_file(void **state)
{
	char path[] = "/tmp/meshwg-test-confXXXXXX", err[ERR_LEN];
	int fd = mkstemp(path);
	const char *text = "[Interface]\nListenPort = 9\n";
	struct mw_device *dev;

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	dev = config_read_file(path, false, err, sizeof(err));
	assert_non_null(dev);
	assert_int_equal(dev->listen_port, 9);
	free_device(dev);
	unlink(path);
	assert_null(config_read_file(path, false, err, sizeof(err)));
	assert_non_null(strstr(err, "Unable to open configuration file"));
}

static void test_sync_removals(void **state)
{
	const char *want_text = "[Peer]\nPublicKey=" K1 "\n[Peer]\nPublicKey=" K3 "\n";
	const char *have_text = "[Peer]\nPublicKey=" K2 "\n[Peer]\nPublicKey=" K3
				"\n[Peer]\nPublicKey=" K1 "\n";
	char err[ERR_LEN], b64[KEY_B64_LEN];
	struct mw_device *want = config_parse(want_text, strlen(want_text), "w", false, err, sizeof(err));
	struct mw_device *have = config_parse(have_text, strlen(have_text), "h", false, err, sizeof(err));
	struct mw_device *empty = calloc(1, sizeof(*empty));

	(void)state;
	assert_non_null(want);
	assert_non_null(have);
	assert_int_equal(config_add_removals(want, have), 0);
	assert_int_equal(count_peers(want), 3);
	assert_true(want->last_peer->flags & PEER_REMOVE_ME);
	key_to_base64(b64, want->last_peer->public_key);
	assert_string_equal(b64, K2);
	assert_false(want->first_peer->flags & PEER_REMOVE_ME);
	/* an empty configuration removes everything */
	assert_int_equal(config_add_removals(empty, have), 0);
	assert_int_equal(count_peers(empty), 3);
	free_device(empty);
	free_device(want);
	free_device(have);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full_config),
		cmocka_unit_test(test_addconf_no_replace),
		cmocka_unit_test(test_empty_and_comment_only),
		cmocka_unit_test(test_crlf_lines),
		cmocka_unit_test(test_bad_lines),
		cmocka_unit_test(test_nul_byte_refused),
		cmocka_unit_test(test_allowedip_edges),
		cmocka_unit_test(test_allowedips_list),
		cmocka_unit_test(test_endpoints),
		cmocka_unit_test(test_keepalive_range),
		cmocka_unit_test(test_port_fwmark),
		cmocka_unit_test(test_set_args),
		cmocka_unit_test(test_config_file),
		cmocka_unit_test(test_sync_removals),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
