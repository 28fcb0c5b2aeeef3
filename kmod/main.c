// SPDX-License-Identifier: GPL-2.0
/*
 * meshwg: a WireGuard-compatible mesh VPN datapath with an agent channel.
 * Module entry points and parameters.
 */
#define MESHWG_VERSION "0.1.0"

#include "device.h"
#include "noise.h"
#include "peer.h"
#include "queueing.h"
#include "ratelimiter.h"
#include "netlink.h"
#include "allowedips.h"
#include "agent.h"

#include <uapi/linux/meshwg.h>

#include <linux/init.h>
#include <linux/module.h>
#include <net/rtnetlink.h>
#include <net/genetlink.h>

/* Timer constants (messages.h); tests shorten them. */
unsigned int mwg_rekey_after_time = 120;
unsigned int mwg_reject_after_time = 180;
unsigned int mwg_rekey_timeout = 5;
unsigned int mwg_keepalive_timeout = 10;
module_param_named(rekey_after_time, mwg_rekey_after_time, uint, 0444);
MODULE_PARM_DESC(rekey_after_time, "Seconds before a session is renewed (120)");
module_param_named(reject_after_time, mwg_reject_after_time, uint, 0444);
MODULE_PARM_DESC(reject_after_time, "Seconds after which a session is refused (180)");
module_param_named(rekey_timeout, mwg_rekey_timeout, uint, 0444);
MODULE_PARM_DESC(rekey_timeout, "Seconds between handshake retries (5)");
module_param_named(keepalive_timeout, mwg_keepalive_timeout, uint, 0444);
MODULE_PARM_DESC(keepalive_timeout, "Seconds before a passive keepalive (10)");

/* Agent channel limits (agent.c). */
unsigned int mwg_agent_rx_rate = 100, mwg_agent_rx_burst = 32;
unsigned int mwg_relay_rate = 50000, mwg_relay_burst = 4096;
unsigned int mwg_inject_rate = 50000, mwg_inject_burst = 4096;
module_param_named(agent_rx_rate, mwg_agent_rx_rate, uint, 0644);
MODULE_PARM_DESC(agent_rx_rate, "STUN/disco datagrams per second passed to the agent, per device and source address (100)");
module_param_named(agent_rx_burst, mwg_agent_rx_burst, uint, 0644);
MODULE_PARM_DESC(agent_rx_burst, "Burst of STUN/disco datagrams per source address (32)");
module_param_named(relay_rate, mwg_relay_rate, uint, 0644);
MODULE_PARM_DESC(relay_rate, "Relay datagrams per second passed to the agent, per device (50000)");
module_param_named(relay_burst, mwg_relay_burst, uint, 0644);
MODULE_PARM_DESC(relay_burst, "Burst of relay datagrams (4096)");
module_param_named(inject_rate, mwg_inject_rate, uint, 0644);
MODULE_PARM_DESC(inject_rate, "INJECT_DATAGRAM datagrams per second taken, per device and relay (50000)");
module_param_named(inject_burst, mwg_inject_burst, uint, 0644);
MODULE_PARM_DESC(inject_burst, "Burst of INJECT_DATAGRAM datagrams per relay (4096)");

static bool __init timer_params_valid(void)
{
	return mwg_rekey_timeout >= 1 && mwg_keepalive_timeout >= 1 &&
	       mwg_rekey_timeout <= 90 &&
	       mwg_rekey_timeout + mwg_keepalive_timeout < mwg_rekey_after_time &&
	       mwg_rekey_after_time < mwg_reject_after_time &&
	       mwg_reject_after_time <= 24 * 60 * 60;
}

static int __init mwg_mod_init(void)
{
	int ret;

	if (!timer_params_valid()) {
		pr_err("invalid timer parameters: need 1 <= rekey_timeout <= 90, 1 <= keepalive_timeout, rekey_timeout + keepalive_timeout < rekey_after_time < reject_after_time <= 86400\n");
		return -EINVAL;
	}

	ret = mwg_allowedips_slab_init();
	if (ret < 0)
		goto err_allowedips;
	ret = mwg_peer_init();
	if (ret < 0)
		goto err_peer;
	mwg_noise_init();
	ret = mwg_device_init();
	if (ret < 0)
		goto err_device;
	ret = mwg_genetlink_init();
	if (ret < 0)
		goto err_netlink;

	pr_info("meshwg " MESHWG_VERSION " loaded\n");
	return 0;

err_netlink:
	mwg_device_uninit();
err_device:
	mwg_peer_uninit();
err_peer:
	mwg_allowedips_slab_uninit();
err_allowedips:
	return ret;
}

static void __exit mwg_mod_exit(void)
{
	/* Devices first: their datapath may still multicast on the family. */
	mwg_device_uninit();
	mwg_genetlink_uninit();
	mwg_peer_uninit();
	mwg_allowedips_slab_uninit();
}

module_init(mwg_mod_init);
module_exit(mwg_mod_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("meshwg: WireGuard-compatible mesh VPN datapath");
MODULE_VERSION(MESHWG_VERSION);
MODULE_ALIAS_RTNL_LINK("meshwg");
MODULE_ALIAS_GENL_FAMILY(MESHWG_GENL_NAME);
