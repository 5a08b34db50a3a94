/*
 * The network lock of a restore (lib/net/netlock.h): the TCP connections
 * of the image are held (no packet in or out) from before the first of
 * their sockets is created until every one is back, so that a peer's
 * segment meets no half-built socket (it would get a reset).  The tcp kind
 * calls rst_net_lock() with the connections of its entries, from
 * vxrestore's own process (the lock lives as long as its netlink socket:
 * a killed vxrestore leaves no rule), before its sockets are created; the
 * end of a successful restore calls rst_net_unlock() once, which also
 * removes the lock vxdump --keep-net-lock kept for this image.  A failed
 * restore drops its own lock (rst_image_free) and leaves the kept one, so
 * the peers still see no reset when the restore is tried again.
 */
#include <errno.h>
#include <string.h>

#define LOG_PREFIX "restore/netlock: "
#include "log.h"
#include "net/netlock.h"
#include "restore/restore.h"

int rst_net_lock(struct rst_image *img, const struct net_conn *c, size_t n, int nsfd)
{
	struct net_lock *lk;
	int ret;

	if (img->net_lock) {
		pr_err("the network of the image is locked already\n");
		return -EALREADY;
	}
	ret = net_lock_conns(c, n, nsfd, &lk);
	if (ret)
		return ret;
	img->net_lock = lk;
	img->net_unlocked = false;
	return 0;
}

void rst_net_unlock(struct rst_image *img)
{
	const ImgHeader *h = img->hdr;
	int ret;

	if (img->net_unlocked)
		return;
	img->net_unlocked = true;
	if (img->in_place && !img->net_lock)
		return; /* vmad_undump: no connection of its own held, none asked for */
	net_unlock(img->net_lock);
	img->net_lock = NULL;
	if (!h || !h->has_image_id || !h->image_id.len)
		return;
	ret = net_unlock_image(h->image_id.data, h->image_id.len);
	if (!ret)
		pr_info("the network lock vxdump kept for this image is removed\n");
	else if (ret != -ENOENT)
		pr_warn("the network lock vxdump kept for this image stays (vxcr netlock drop)\n");
}
