// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * Netlink errors and extended acks (lib/nlerr.c), on synthetic messages
 * and through lib/ipc.c's error path against the running kernel's own
 * generic netlink controller (no meshwg module needed).
 */

#include <errno.h>
#include <stdlib.h>
#include <linux/genetlink.h>
#include <netlink/attr.h>
#include <netlink/genl/genl.h>

#include "helpers.h"
#include "ipc.h"
#include "nlerr.h"

/* An NLMSG_ERROR for a request with req_payload bytes; TLV msg if given. */
static size_t build_error(uint8_t *buf, int error, bool capped, size_t req_payload, const char *msg)
{
	struct nlmsghdr *nlh = (struct nlmsghdr *)buf;
	struct nlmsgerr *e = (struct nlmsgerr *)(buf + NLMSG_HDRLEN);
	size_t off = NLMSG_HDRLEN + sizeof(*e);
	struct nlattr *a;

	memset(buf, 0, 1024);
	nlh->nlmsg_type = NLMSG_ERROR;
	e->error = error;
	e->msg.nlmsg_len = (uint32_t)(NLMSG_HDRLEN + req_payload);
	if (capped)
		nlh->nlmsg_flags |= NLM_F_CAPPED;
	else
		off += req_payload;
	off = NLMSG_ALIGN(off);
	if (msg) {
		nlh->nlmsg_flags |= NLM_F_ACK_TLVS;
		a = (struct nlattr *)(buf + off);
		a->nla_type = NLMSGERR_ATTR_MSG;
		a->nla_len = (uint16_t)(NLA_HDRLEN + strlen(msg) + 1);
		memcpy(buf + off + NLA_HDRLEN, msg, strlen(msg) + 1);
		off += NLA_ALIGN(a->nla_len);
		a = (struct nlattr *)(buf + off);
		a->nla_type = NLMSGERR_ATTR_OFFS;
		a->nla_len = NLA_HDRLEN + 4;
		off += 8;
	}
	nlh->nlmsg_len = (uint32_t)off;
	return off;
}

static void test_synthetic(void **state)
{
	uint8_t buf[1024];
	char extack[64];

	(void)state;
	build_error(buf, -EINVAL, true, 40, "peer has no public key");
	assert_int_equal(nlerr_parse((struct nlmsghdr *)buf, extack, sizeof(extack)), -EINVAL);
	assert_string_equal(extack, "peer has no public key");

	build_error(buf, -ENODEV, false, 37, "no such meshwg device");
	assert_int_equal(nlerr_parse((struct nlmsghdr *)buf, extack, sizeof(extack)), -ENODEV);
	assert_string_equal(extack, "no such meshwg device");

	build_error(buf, -EPERM, true, 0, NULL);
	assert_int_equal(nlerr_parse((struct nlmsghdr *)buf, extack, sizeof(extack)), -EPERM);
	assert_string_equal(extack, "");

	build_error(buf, 0, true, 0, NULL);
	assert_int_equal(nlerr_parse((struct nlmsghdr *)buf, extack, sizeof(extack)), 0);

	/* truncated to the buffer */
	build_error(buf, -EINVAL, true, 0, "a message longer than eight");
	assert_int_equal(nlerr_parse((struct nlmsghdr *)buf, extack, 8), -EINVAL);
	assert_string_equal(extack, "a messa");

	/* too short to hold an nlmsgerr */
	((struct nlmsghdr *)buf)->nlmsg_len = NLMSG_HDRLEN + 2;
	assert_int_equal(nlerr_parse((struct nlmsghdr *)buf, extack, sizeof(extack)), -EBADMSG);
	/* claims an echoed payload longer than the message */
	build_error(buf, -EINVAL, false, 600, "x");
	((struct nlmsghdr *)buf)->nlmsg_len = NLMSG_HDRLEN + sizeof(struct nlmsgerr) + 8;
	assert_int_equal(nlerr_parse((struct nlmsghdr *)buf, extack, sizeof(extack)), -EINVAL);
	assert_string_equal(extack, "");
}

/* What the error callbacks of lib/ipc.c and meshwgd's route socket store. */
static void test_from_cb(void **state)
{
	uint8_t buf[1024];
	struct nlmsgerr *e = (struct nlmsgerr *)(buf + NLMSG_HDRLEN);
	char extack[64];

	(void)state;
	build_error(buf, -EEXIST, true, 40, "route exists");
	assert_int_equal(nlerr_from_cb(e, extack, sizeof(extack)), -EEXIST);
	assert_string_equal(extack, "route exists");
	/* malformed TLVs: the message's own error, no text */
	build_error(buf, -EINVAL, false, 600, "x");
	((struct nlmsghdr *)buf)->nlmsg_len = NLMSG_HDRLEN + 2;
	assert_int_equal(nlerr_from_cb(e, extack, sizeof(extack)), -EINVAL);
	assert_string_equal(extack, "");
	/* an ack or a positive "error" in the error path is still an error */
	build_error(buf, 0, true, 0, NULL);
	assert_int_equal(nlerr_from_cb(e, extack, sizeof(extack)), -EIO);
	build_error(buf, 5, true, 0, NULL);
	assert_int_equal(nlerr_from_cb(e, extack, sizeof(extack)), -EIO);
}

static void test_done(void **state)
{
	uint8_t buf[256] = { 0 };
	struct nlmsghdr *nlh = (struct nlmsghdr *)buf;
	struct nlattr *a;
	char extack[64];
	int err = -ENOBUFS;

	(void)state;
	/* an empty DONE (old kernels) and a DONE with 0 */
	nlh->nlmsg_type = NLMSG_DONE;
	nlh->nlmsg_len = NLMSG_HDRLEN;
	assert_int_equal(nlerr_parse_done(nlh, extack, sizeof(extack)), 0);
	nlh->nlmsg_len = NLMSG_HDRLEN + 4;
	assert_int_equal(nlerr_parse_done(nlh, extack, sizeof(extack)), 0);
	/* an error with an extack message */
	memcpy(buf + NLMSG_HDRLEN, &err, sizeof(err));
	a = (struct nlattr *)(buf + NLMSG_HDRLEN + 4);
	a->nla_type = NLMSGERR_ATTR_MSG;
	a->nla_len = NLA_HDRLEN + 14;
	memcpy(buf + NLMSG_HDRLEN + 4 + NLA_HDRLEN, "dump too big\n", 14);
	nlh->nlmsg_flags = NLM_F_MULTI | NLM_F_ACK_TLVS;
	nlh->nlmsg_len = NLMSG_HDRLEN + 4 + NLA_ALIGN(a->nla_len);
	assert_int_equal(nlerr_parse_done(nlh, extack, sizeof(extack)), -ENOBUFS);
	assert_string_equal(extack, "dump too big");
	/* a positive error is not a netlink error */
	err = 5;
	memcpy(buf + NLMSG_HDRLEN, &err, sizeof(err));
	assert_int_equal(nlerr_parse_done(nlh, extack, sizeof(extack)), -EBADMSG);
}

/* The kernel's nlctrl refuses an over-long family name with an extack. */
static void test_kernel_extack(void **state)
{
	char name[64];
	struct ipc ipc;
	struct nl_msg *msg;
	int ret;

	(void)state;
	assert_int_equal(ipc_open_family(&ipc, "nlctrl"), 0);
	assert_int_equal(ipc.family, GENL_ID_CTRL);

	msg = nlmsg_alloc();
	assert_non_null(msg);
	assert_non_null(genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, GENL_ID_CTRL, 0, 0,
				    CTRL_CMD_GETFAMILY, 1));
	memset(name, 'x', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	assert_int_equal(nla_put_string(msg, CTRL_ATTR_FAMILY_NAME, name), 0);
	ret = ipc_request(&ipc, msg);
	nlmsg_free(msg);
	assert_int_equal(ret, -EINVAL);
	assert_true(strlen(ipc.extack) > 0);
	print_message("kernel said: %s\n", ipc.extack);

	/* a good request afterwards succeeds and clears the old error */
	msg = nlmsg_alloc();
	genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, GENL_ID_CTRL, 0, 0, CTRL_CMD_GETFAMILY, 1);
	nla_put_string(msg, CTRL_ATTR_FAMILY_NAME, "nlctrl");
	assert_int_equal(ipc_request(&ipc, msg), 0);
	assert_string_equal(ipc.extack, "");
	nlmsg_free(msg);

	/* an unknown family: ENOENT */
	msg = nlmsg_alloc();
	genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, GENL_ID_CTRL, 0, 0, CTRL_CMD_GETFAMILY, 1);
	nla_put_string(msg, CTRL_ATTR_FAMILY_NAME, "no-such-family");
	assert_int_equal(ipc_request(&ipc, msg), -ENOENT);
	nlmsg_free(msg);
	ipc_close(&ipc);
}

struct seen {
	int messages;
	int nlctrl;	/* messages describing the family "nlctrl" */
	int fail_at;	/* the callback fails on this message (1-based), 0: never */
};

static int count_family(struct nlmsghdr *nlh, void *arg)
{
	struct nlattr *tb[CTRL_ATTR_MAX + 1];
	struct seen *s = arg;

	if (++s->messages == s->fail_at)
		return -E2BIG;
	if (genlmsg_parse(nlh, 0, tb, CTRL_ATTR_MAX, NULL) < 0)
		return -EBADMSG;
	if (tb[CTRL_ATTR_FAMILY_NAME] && !strcmp(nla_get_string(tb[CTRL_ATTR_FAMILY_NAME]), "nlctrl"))
		s->nlctrl++;
	return 0;
}

/* ipc_dump against the kernel's nlctrl, which dumps every family. */
static void test_dump(void **state)
{
	struct seen s = { 0 };
	struct ipc ipc;
	int all;

	(void)state;
	assert_int_equal(ipc_open_family(&ipc, "nlctrl"), 0);
	assert_int_equal(ipc_dump(&ipc, CTRL_CMD_GETFAMILY, CTRL_ATTR_FAMILY_NAME, "nlctrl",
				  count_family, &s), 0);
	assert_true(s.messages >= 1);
	assert_int_equal(s.nlctrl, 1);
	all = s.messages;

	/* the callback's error ends the dump and is its result... */
	s = (struct seen){ .fail_at = 1 };
	assert_int_equal(ipc_dump(&ipc, CTRL_CMD_GETFAMILY, CTRL_ATTR_FAMILY_NAME, "nlctrl",
				  count_family, &s), -E2BIG);
	assert_int_equal(s.messages, 1);
	/* ...and leaves the socket clean: the next dump reads a whole reply */
	s = (struct seen){ 0 };
	assert_int_equal(ipc_dump(&ipc, CTRL_CMD_GETFAMILY, CTRL_ATTR_FAMILY_NAME, "nlctrl",
				  count_family, &s), 0);
	assert_int_equal(s.nlctrl, 1);
	assert_int_equal(s.messages, all);

	/* the kernel's refusal (a command nlctrl does not have) */
	s = (struct seen){ 0 };
	assert_int_equal(ipc_dump(&ipc, 250, CTRL_ATTR_FAMILY_NAME, "nlctrl", count_family, &s),
			 -EOPNOTSUPP);
	assert_int_equal(s.messages, 0);

	/* a name too long for an interface is refused before anything is sent */
	assert_int_equal(ipc_dump(&ipc, CTRL_CMD_GETFAMILY, CTRL_ATTR_FAMILY_NAME,
				  "0123456789abcdef", count_family, &s), -ENAMETOOLONG);
	assert_int_equal(s.messages, 0);
	ipc_close(&ipc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_synthetic),
		cmocka_unit_test(test_from_cb),
		cmocka_unit_test(test_done),
		cmocka_unit_test(test_kernel_extack),
		cmocka_unit_test(test_dump),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
