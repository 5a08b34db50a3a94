/*
 * A context's network (vxcr ctx create --net): with HIDE_NETIF its init
 * gets a new network namespace (lo up, create.c); --net adds a veth to the
 * host, made by the supervisor once the init exists and before it runs
 * anything (lib/net/netns-veth.c).  A checkpoint records the whole
 * namespace (record NETNS) and a restore rebuilds it, the host end
 * included, so nothing here runs at restore; the spec is kept in the
 * context's record and image (ctx_entry.net) for `vxcr ctx info`.
 */
#define LOG_PREFIX "ctx/net: "
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "ctx/ctx.h"
#include "net/netns.h"

int vxctx_net_check(const struct vxctx_create_args *a)
{
	struct net_veth_spec s;

	if (!(a->flags & VXCTX_F_HIDE_NETIF)) {
		pr_err("--net %s needs the HIDE_NETIF flag (a network namespace of its own)\n",
		       a->net);
		return -EINVAL;
	}
	if (strlen(a->net) >= sizeof(((struct vxctx_record *)0)->net)) {
		pr_err("--net: too long\n");
		return -EINVAL;
	}
	return net_veth_spec_parse(a->net, a->xid, &s);
}

int vxctx_net_setup(const struct vxctx_create_args *a, pid_t init)
{
	struct net_veth_spec s;
	char path[64];
	int nsfd, ret;

	ret = net_veth_spec_parse(a->net, a->xid, &s);
	if (ret)
		return ret;
	snprintf(path, sizeof(path), "/proc/%d/ns/net", init);
	nsfd = open(path, O_RDONLY | O_CLOEXEC);
	if (nsfd < 0) {
		pr_perror("cannot open %s", path);
		return -errno;
	}
	ret = net_veth_make(&s, nsfd);
	close(nsfd);
	return ret;
}
