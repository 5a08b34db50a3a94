// SPDX-License-Identifier: GPL-2.0
/*
 * HIDE_NETIF: a context created with it gets a network namespace of its
 * own (CLONE_NEWNET in the same unshare_nsproxy_namespaces call that makes
 * its UTS namespace, ctx-uts.c), with only lo, brought up here as the
 * userspace engine's init does; tasks that migrate in enter it.  Sockets
 * the creator opened before stay in the host's namespace.
 */
#include <linux/if.h>
#include <linux/netdevice.h>
#include <linux/rtnetlink.h>
#include <net/net_namespace.h>

#include "ctx.h"

int vx_net_lo_up(struct net *net)
{
	struct net_device *lo = net->loopback_dev;
	int ret;

	if (!lo)
		return -ENODEV;
	rtnl_lock();
	ret = dev_change_flags(lo, lo->flags | IFF_UP, NULL);
	rtnl_unlock();
	return ret;
}
