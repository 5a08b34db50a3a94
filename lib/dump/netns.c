/*
 * The tree's network namespace (record NETNS).  When the root is in
 * another network namespace than vxdump's (a tree started with unshare
 * --net, a context with HIDE_NETIF), every process of the tree must be in
 * that one; it is read through lib/net (netns.h) while the tree is frozen,
 * and the rest of the dump runs with vxdump's thread inside it: sock_diag
 * queries of the tree's sockets (unix_diag, inet_diag) and the netlink
 * kind's namespace check then see the tree's namespace, not the host's.
 * The thread goes back when the dump ends, whatever its outcome.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define LOG_PREFIX "dump/netns: "
#include "log.h"
#include "dump/dump.h"
#include "img/img.h"
#include "img/records.h"
#include "net/netns.h"

/* Every process of the tree in the root's network namespace (nsfd, or
 * ours when -1).  0 or -EOPNOTSUPP (logged). */
static int check_members(struct dump_op *op, int nsfd)
{
	for (size_t i = 1; i < op->n_tasks; i++) {
		const struct dump_task *t = op->tasks[i];
		int ret, fd = -1;

		if (t->zombie)
			continue;
		ret = nsfd >= 0 ? net_netns_same(t->pid, nsfd) : !net_netns_other(t->pid, &fd);
		if (fd >= 0)
			close(fd);
		if (ret < 0)
			return ret;
		if (!ret) {
			pr_err("pid %d is in another network namespace than the tree's root (pid %d): "
			       "not supported\n",
			       t->pid, op->root->pid);
			return -EOPNOTSUPP;
		}
	}
	return 0;
}

int netns_collect(struct dump_op *op)
{
	int nsfd, ret;
	uint64_t t0 = dump_now_ns();

	op->netns_saved = -1;
	ret = net_netns_other(op->root->pid, &nsfd);
	if (ret < 0)
		return ret;
	ret = check_members(op, ret ? nsfd : -1);
	if (ret || nsfd < 0)
		goto out;
	ret = net_netns_dump(nsfd, &op->netns);
	if (!ret)
		ret = net_ns_enter(nsfd, &op->netns_saved);
	pr_info("network namespace of pid %d read in %.2f ms: %zu links, %zu addresses, %zu "
		"routes\n",
		op->root->pid, (dump_now_ns() - t0) / 1e6, op->netns ? op->netns->n_links : 0,
		op->netns ? op->netns->n_addrs : 0, op->netns ? op->netns->n_routes : 0);
out:
	if (nsfd >= 0)
		close(nsfd);
	return ret;
}

int write_netns(struct dump_op *op)
{
	int ret;

	if (!op->netns)
		return 0;
	ret = img_write_msg(op->w, IMG_REC_NETNS, &op->netns->base);
	if (ret)
		pr_err("cannot write the NETNS record: %s\n", strerror(-ret));
	return ret;
}

void netns_leave(struct dump_op *op)
{
	if (op->netns_saved >= 0)
		net_ns_leave(op->netns_saved);
	op->netns_saved = -1;
}

void netns_free(struct dump_op *op)
{
	netns_leave(op);
	net_netns_free(op->netns);
	op->netns = NULL;
}
