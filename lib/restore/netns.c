/*
 * The tree's network namespace (record NETNS): kept as read (one, before
 * every TASK), checked as hostile with the image's own checks, and built
 * by lib/net (netns.h) in a new namespace before the root is cloned: the
 * root is cloned with our thread inside it (setns there and back), so
 * every process and every socket the tree's C parts make is in it from
 * the start.  A context's init is then cloned without CLONE_NEWNET.
 * Failed or killed: the namespace's only holders are our fd and the
 * tree's processes, which die with the restore; its links (the host ends
 * of its veths too) go with it.  vxrestore --netns gives an image without
 * the record one with only its loopback (a copy of a tree beside the
 * original, its loopback ports its own).
 */
#define LOG_PREFIX "restore/netns: "
#include <errno.h>
#include <stdlib.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "img/img.h"
#include "img/records.h"
#include "net/netlock.h"
#include "net/netns.h"
#include "util/testhook.h"
#include "restore/restore.h"

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

int netns_plan_read(struct rst_image *img, const struct img_record *rec)
{
	ProtobufCMessage *m;
	int ret;

	if (img->netns || img->recs.n_task) {
		pr_err("image: record %llu: NETNS must come once, before every TASK\n",
		       (unsigned long long)rec->index);
		return -EBADMSG;
	}
	ret = img_unpack(rec, &netns_entry__descriptor, &m);
	if (ret) {
		pr_err("image: NETNS record %llu does not unpack\n",
		       (unsigned long long)rec->index);
		return ret;
	}
	img->netns = (NetnsEntry *)m;
	return 0;
}

int netns_check_image(const struct rst_image *img)
{
	return img->netns ? net_netns_check(img->netns) : 0;
}

/* Does the image hold a TCP socket? */
static bool has_tcp(const struct rst_image *img)
{
	for (size_t i = 0; i < img->nr_files; i++)
		if (img->files[i].fe->kind == FILE_KIND__FILE_TCPSK)
			return true;
	return false;
}

/*
 * The whole new namespace held (every packet but its loopback's dropped)
 * until every socket is back (rst_net_unlock at the end of the restore),
 * so a peer's segment meets no half-built connection: the host end is up
 * already.  Instead of the image's connections in our namespace
 * (tcpsk_net_lock leaves them to us).
 */
static int lock_netns(struct rst_image *img)
{
	struct net_lock *lk;
	int ret;

	if (img->net_lock) {
		pr_err("the network of the image is locked already\n");
		return -EALREADY;
	}
	ret = net_lock_netns(img->netns_fd, &lk);
	if (ret)
		return ret;
	img->net_lock = lk;
	return 0;
}

/*
 * vxrestore --netns of an image without a NETNS record: the record of a
 * namespace holding only its loopback, up, as img->netns (a heap copy,
 * freed as a read one).  0 or -ENOMEM.
 */
static int loopback_only(struct rst_image *img)
{
	NetnsLink lo = NETNS_LINK__INIT, *links[1] = { &lo };
	NetnsEntry e = NETNS_ENTRY__INIT;
	uint8_t *buf;
	size_t len;

	lo.has_ifindex = 1;
	lo.ifindex = 1;
	lo.name = "lo";
	lo.kind = "lo";
	lo.has_flags = 1;
	lo.flags = IFF_UP;
	e.n_links = 1;
	e.links = links;
	len = netns_entry__get_packed_size(&e);
	buf = malloc(len);
	if (!buf)
		return -ENOMEM;
	netns_entry__pack(&e, buf);
	img->netns = netns_entry__unpack(NULL, len, buf);
	free(buf);
	return img->netns ? 0 : -ENOMEM;
}

int rst_netns_build(struct rst_image *img)
{
	uint64_t t0 = mono_ns();
	int ret;

	if (!img->netns && img->opts->netns) {
		ret = loopback_only(img);
		if (ret)
			return ret;
	}
	if (!img->netns)
		return 0;
	ret = net_netns_build(img->netns, &img->netns_fd);
	if (!ret && has_tcp(img))
		ret = lock_netns(img);
	if (!ret) {
		test_pause("netns-built"); /* a kill here: the host ends go */
		ret = test_fail("netns-built");
	}
	if (!ret)
		pr_info("network namespace built in %.2f ms: %zu links, %zu addresses, %zu "
			"routes\n",
			(mono_ns() - t0) / 1e6, img->netns->n_links, img->netns->n_addrs,
			img->netns->n_routes);
	return ret;
}

void rst_netns_free(struct rst_image *img)
{
	if (img->netns_fd >= 0)
		close(img->netns_fd);
	img->netns_fd = -1;
	if (img->netns)
		netns_entry__free_unpacked(img->netns, NULL);
	img->netns = NULL;
}
