/*
 * A listener's accept queue at restore (tcpsk_entry.accept_queue): each
 * connection checked as hostile with the image, then put into the new
 * listener's queue in order by a handshake forged on loopback
 * (lib/net/tcpq.h), right after listen() and under the restore's network
 * lock (the listener's port is locked: its answers go nowhere), and all
 * of them checked through inet_diag.  The connection's four-tuple must be
 * free: a local address of this host (net_bind refuses any other) with
 * the listener's port, so nothing but the listener's own queue is
 * touched.
 */
#define LOG_PREFIX "restore/tcpsk: "
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include "log.h"
#include "net/inet.h"
#include "net/tcpq.h"
#include "restore/restore.h"
#include "tcpsk.pb-c.h"

#define ACCEPTQ_MAX 65536u /* as the dump (lib/dump/tcpsk-acceptq.c) */
#define TCP_MAX_WSCALE 14

/* One connection of the queue in range.  0 or -EBADMSG (logged). */
static int check_child(const TcpskEntry *e, const TcpskChild *ch, const struct net_addr *lst,
		       size_t i, const char *who)
{
	const TcpskConn *c = ch->conn;
	struct net_addr l, p;
	int ret;

	if (!ch->local || !ch->peer || !c || !c->has_snd_seq || !c->has_rcv_seq || !c->has_mss) {
		pr_err("image: %s: connection %zu of its accept queue lacks its addresses or "
		       "state\n",
		       who, i);
		return -EBADMSG;
	}
	ret = net_addr_from_pb(ch->local, e->family, &l, who, "accept queue local") ?:
		      net_addr_from_pb(ch->peer, e->family, &p, who, "accept queue peer");
	if (ret)
		return ret;
	if (l.port != lst->port ||
	    (!net_addr_is_any(lst) && memcmp(l.ip, lst->ip, e->family == AF_INET ? 4 : 16)) ||
	    !p.port || c->mss < 2 || c->mss > 65535 || c->outq_len || c->unsent_len ||
	    (c->wscale && c->snd_wscale > TCP_MAX_WSCALE) || c->inq_len > (64u << 20)) {
		pr_err("image: %s: connection %zu of its accept queue does not fit the "
		       "listener or is out of range\n",
		       who, i);
		return -EBADMSG;
	}
	return 0;
}

int tcpsk_acceptq_check(const TcpskEntry *e, uint64_t queued, const char *who)
{
	struct net_addr lst;
	uint64_t total = 0;
	size_t i;
	int ret;

	if (!e->n_accept_queue)
		return queued ? -EBADMSG : 0;
	if (e->state != TCP_LISTEN || e->n_accept_queue > ACCEPTQ_MAX || !e->local) {
		pr_err("image: %s: an accept queue on a socket that is not listening, or too "
		       "long\n",
		       who);
		return -EBADMSG;
	}
	ret = net_addr_from_pb(e->local, e->family, &lst, who, "local");
	for (i = 0; !ret && i < e->n_accept_queue; i++) {
		ret = check_child(e, e->accept_queue[i], &lst, i, who);
		if (!ret)
			total += e->accept_queue[i]->conn->inq_len;
	}
	if (!ret && total != queued) {
		pr_err("image: %s: %llu bytes queued, its accept queue says %llu\n", who,
		       (unsigned long long)queued, (unsigned long long)total);
		return -EBADMSG;
	}
	return ret;
}

/* Appends a piece of queued bytes at *(uint8_t **)arg. */
static int copy_piece(void *arg, const uint8_t *p, size_t len)
{
	uint8_t **at = arg;

	memcpy(*at, p, len);
	*at += len;
	return 0;
}

/* Connection ch of the image as tcpq.h takes it (data: its bytes). */
static void child_of(const TcpskEntry *e, const TcpskChild *ch, const uint8_t *data,
		     struct net_tcp_child *c)
{
	const TcpskConn *k = ch->conn;

	memset(c, 0, sizeof(*c));
	net_addr_from_pb(ch->local, e->family, &c->local, "", "");
	net_addr_from_pb(ch->peer, e->family, &c->peer, "", "");
	c->iss = k->snd_seq - 1;
	c->irs = k->rcv_seq - 1;
	c->snd_wnd = k->snd_wnd;
	c->mss = (uint16_t)k->mss;
	c->snd_wscale = (uint8_t)k->snd_wscale;
	c->wscale = k->wscale;
	c->sack = k->sack;
	c->ts = k->timestamps;
	c->ecn = ch->ecn;
	c->fin = ch->fin;
	c->data = data;
	c->len = k->inq_len;
}

int tcpsk_acceptq_restore(const struct rst_image *img, const struct rst_file *f, int sk,
			  const char *who)
{
	const TcpskEntry *e = f->fe->tcpsk;
	struct net_forge fg = { -1, -1, "" };
	size_t n = e->n_accept_queue, i;
	struct net_tcp_child *v;
	uint8_t **bufs;
	uint64_t at = 0;
	int ret = 0;

	if (!n)
		return 0;
	v = calloc(n, sizeof(*v));
	bufs = calloc(n, sizeof(*bufs));
	if (!v || !bufs) {
		free(v);
		free(bufs);
		return -ENOMEM;
	}
	for (i = 0; !ret && i < n; i++) {
		const TcpskChild *ch = e->accept_queue[i];
		uint32_t len = ch->conn->inq_len;

		uint8_t *to = bufs[i] = malloc(len + 1);

		ret = to ? rst_skq_each(img, f, at, at + len, copy_piece, &to) : -ENOMEM;
		at += len;
		if (ret)
			break;
		child_of(e, ch, bufs[i], &v[i]);
		ret = net_tcp_requeue(&fg, sk, &v[i], who);
	}
	ret = ret ?: net_tcp_requeue_check(e->family, v, n, who);
	if (!ret)
		pr_info("%s: %zu connection%s back in its accept queue\n", who, n,
			n > 1 ? "s" : "");
	net_forge_close(&fg);
	for (i = 0; i < n; i++)
		free(bufs[i]);
	free(bufs);
	free(v);
	return ret;
}
