// SPDX-License-Identifier: GPL-2.0 OR MIT
/* Parsing of NLMSG_ERROR and its extended ack; see nlerr.h. */

#include <errno.h>
#include <string.h>
#include <netlink/attr.h>

#include "nlerr.h"

int nlerr_parse(const struct nlmsghdr *nlh, char *extack, size_t len)
{
	const struct nlmsgerr *e;
	struct nlattr *tb[NLMSGERR_ATTR_MAX + 1];
	size_t payload = sizeof(*e), tlv_len;

	if (len)
		extack[0] = '\0';
	if (nlh->nlmsg_len < NLMSG_HDRLEN + sizeof(*e))
		return -EBADMSG;
	e = (const struct nlmsgerr *)((const char *)nlh + NLMSG_HDRLEN);
	if (e->error > 0)
		return -EBADMSG;
	if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS))
		return e->error;
	/* Without NLM_F_CAPPED the request's payload is echoed before the TLVs. */
	if (!(nlh->nlmsg_flags & NLM_F_CAPPED)) {
		if (e->msg.nlmsg_len < NLMSG_HDRLEN)
			return e->error;
		payload += e->msg.nlmsg_len - NLMSG_HDRLEN;
	}
	if (nlh->nlmsg_len < NLMSG_HDRLEN + NLMSG_ALIGN(payload))
		return e->error;
	tlv_len = nlh->nlmsg_len - NLMSG_HDRLEN - NLMSG_ALIGN(payload);
	if (!tlv_len || nla_parse(tb, NLMSGERR_ATTR_MAX,
				  (struct nlattr *)((char *)e + NLMSG_ALIGN(payload)), (int)tlv_len, NULL))
		return e->error;
	if (tb[NLMSGERR_ATTR_MSG] && len && nla_len(tb[NLMSGERR_ATTR_MSG]) > 0) {
		size_t n = (size_t)nla_len(tb[NLMSGERR_ATTR_MSG]);
		const char *s = nla_data(tb[NLMSGERR_ATTR_MSG]);

		if (n >= len)
			n = len - 1;
		memcpy(extack, s, n);
		extack[n] = '\0';
		n = strnlen(extack, n);
		/* drop a trailing newline some messages carry */
		while (n && extack[n - 1] == '\n')
			extack[--n] = '\0';
	}
	return e->error;
}

int nlerr_parse_done(const struct nlmsghdr *nlh, char *extack, size_t len)
{
	struct nlattr *tb[NLMSGERR_ATTR_MAX + 1];
	const char *data = (const char *)nlh + NLMSG_HDRLEN;
	int error;

	if (len)
		extack[0] = '\0';
	if (nlh->nlmsg_len < NLMSG_HDRLEN + sizeof(int))
		return 0; /* old kernels: an empty DONE */
	memcpy(&error, data, sizeof(error));
	if (error > 0)
		return -EBADMSG;
	if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS) ||
	    nlh->nlmsg_len <= NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(int)))
		return error;
	if (nla_parse(tb, NLMSGERR_ATTR_MAX, (struct nlattr *)(data + NLMSG_ALIGN(sizeof(int))),
		      (int)(nlh->nlmsg_len - NLMSG_HDRLEN - NLMSG_ALIGN(sizeof(int))), NULL))
		return error;
	if (tb[NLMSGERR_ATTR_MSG] && len && nla_len(tb[NLMSGERR_ATTR_MSG]) > 0) {
		size_t n = (size_t)nla_len(tb[NLMSGERR_ATTR_MSG]);

		if (n >= len)
			n = len - 1;
		memcpy(extack, nla_data(tb[NLMSGERR_ATTR_MSG]), n);
		extack[n] = '\0';
		n = strnlen(extack, n);
		while (n && extack[n - 1] == '\n')
			extack[--n] = '\0';
	}
	return error;
}

int nlerr_from_cb(const struct nlmsgerr *e, char *extack, size_t len)
{
	const struct nlmsghdr *nlh = (const struct nlmsghdr *)((const char *)e - NLMSG_HDRLEN);
	int ret = nlerr_parse(nlh, extack, len);

	if (ret == -EBADMSG)
		ret = e->error;
	return ret >= 0 ? -EIO : ret;
}
