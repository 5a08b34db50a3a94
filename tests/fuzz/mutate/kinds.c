/*
 * Kind-aware mutations of the fd kinds (issue 12): one row per file kind,
 * each giving its sub-message of file_entry the values its restore checks
 * care about and cross-references to ids of the same image (file ids,
 * unix socket inodes, pids of live, zombie and non-leader tasks), which
 * the generic walk of msg.c finds only by chance: an epoll item naming
 * itself, another epoll or an absent id, tfd collisions; unix peers and
 * queued connections naming each other or nothing; pidfds of threads and
 * zombies; handles of odd lengths; clocks and times at their edges; pty
 * slaves naming slaves.  A twin hook wires a copy of the file (a fresh id)
 * to the original: epolls watching each other, sockets paired crosswise,
 * two masters of one slave.  The values are the edges of the format
 * (docs/image-format.md), not a copy of restore's checks.
 */
#include "mutate/mutate.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* One of the n values of v. */
static uint64_t one_of(struct rng *g, const uint64_t *v, size_t n)
{
	return v[rnd(g, n)];
}

/* An id of list l (n of them), or one absent from it (0 or max + 1). */
static uint32_t ref(struct rng *g, const uint32_t *l, size_t n)
{
	uint32_t max = 0;
	size_t i;

	if (n && rnd(g, 4))
		return l[rnd(g, n)];
	for (i = 0; i < n; i++)
		max = l[i] > max ? l[i] : max;
	return rnd(g, 2) ? max + 1 : 0;
}

/* A file id of the image of kind k (any kind if k < 0), or an absent one. */
static uint32_t ref_file(struct rng *g, const struct kind_refs *r, int32_t k)
{
	uint32_t pick[64];
	size_t i, n = 0;

	for (i = 0; i < r->nf && n < N(pick); i++)
		if (k < 0 || r->kinds[i] == k)
			pick[n++] = r->files[i];
	return ref(g, pick, n);
}

/* Bytes of length n: a copy of b's (zero-padded), or garbage. */
static void set_len(struct rng *g, ProtobufCBinaryData *b, size_t n)
{
	uint8_t *p = xmalloc(n);
	size_t i;

	for (i = 0; i < n; i++)
		p[i] = i < b->len && rnd(g, 4) ? b->data[i] : (uint8_t)rnd64(g);
	b->data = p;
	b->len = n;
}

/* A file handle of an edge length, or with an edge type. */
static void mutate_fh(struct rng *g, ProtobufCBinaryData *fh, protobuf_c_boolean *has_fh,
		      int32_t *fh_type)
{
	static const uint64_t lens[] = { 0, 1, 2, 7, 8, 127, 128, 129, 4096 };
	static const uint64_t types[] = { 0, 1, 0xff, 0x7fffffff, 0x80000000, 0xffffffff };

	if (rnd(g, 2)) {
		*fh_type = (int32_t)one_of(g, types, N(types));
		return;
	}
	*has_fh = 1;
	set_len(g, fh, one_of(g, lens, N(lens)));
}

/* ---- rows --------------------------------------------------------------- */

static EpollItem *epoll_item(struct rng *g, EpollEntry *e)
{
	EpollItem **n;

	if (e->n_items && rnd(g, 4))
		return e->items[rnd(g, e->n_items)];
	n = xmalloc((e->n_items + 1) * sizeof(*n));
	if (e->n_items) /* none: items may be NULL */
		memcpy(n, e->items, e->n_items * sizeof(*n));
	n[e->n_items] = (void *)new_msg(&epoll_item__descriptor);
	if (e->n_items) /* a copy: scalars only */
		*n[e->n_items] = *e->items[rnd(g, e->n_items)];
	e->items = n;
	return n[e->n_items++];
}

static void mutate_epoll(struct rng *g, FileEntry *fe, const struct kind_refs *r)
{
	static const uint64_t ev[] = {
		0,	    0x18,  1u << 28, 1u << 29, 1u << 30, 1u << 31, (1u << 28) | (1u << 30),
		0xffffffff, 0x2000
	};
	static const uint64_t tfds[] = { 0, 1, 0x7fffffff, 0x80000000, 0xffffffff, 1024, 1 << 20 };
	EpollEntry *e = fe->epoll ? fe->epoll :
				    (fe->epoll = (void *)new_msg(&epoll_entry__descriptor));
	EpollItem *it = epoll_item(g, e), *o = e->items[rnd(g, e->n_items)];

	it->has_target_id = it->has_tfd = 1;
	switch (rnd(g, 7)) {
	case 0:
		it->target_id = rnd(g, 2) ? fe->id : ref_file(g, r, FILE_KIND__FILE_EPOLL);
		say("epoll: item targets %u (itself or an epoll)", it->target_id);
		break;
	case 1:
		it->target_id = ref_file(g, r, -1);
		say("epoll: item targets file %u", it->target_id);
		break;
	case 2: /* the same key twice, or the same target under another tfd */
		it->tfd = o->tfd;
		it->target_id = rnd(g, 2) ? o->target_id : ref_file(g, r, -1);
		say("epoll: tfd %u collides", it->tfd);
		break;
	case 3:
		it->tfd = (uint32_t)one_of(g, tfds, N(tfds));
		say("epoll: tfd %u", it->tfd);
		break;
	case 4:
		it->has_state = 1;
		it->state = (EpollItemState)(rnd(g, 4) ? (int32_t)rnd(g, 3) : hostile_i32(g));
		it->events = rnd(g, 2) ? it->events : (uint32_t)one_of(g, ev, N(ev));
		say("epoll: state %d, events %#x", it->state, it->events);
		break;
	default:
		it->has_events = 1;
		it->events = (uint32_t)one_of(g, ev, N(ev)) | (rnd(g, 2) ? it->events : 0);
		say("epoll: events %#x", it->events);
		break;
	}
}

/* Two epolls watching each other. */
static void twin_epoll(struct rng *g, FileEntry *fe, FileEntry *copy)
{
	EpollItem *a, *b;

	copy->epoll = (void *)new_msg(&epoll_entry__descriptor);
	fe->epoll = fe->epoll ? fe->epoll : (void *)new_msg(&epoll_entry__descriptor);
	a = epoll_item(g, fe->epoll);
	b = epoll_item(g, copy->epoll);
	a->has_target_id = b->has_target_id = a->has_tfd = b->has_tfd = 1;
	a->has_events = b->has_events = 1;
	a->target_id = copy->id;
	b->target_id = fe->id;
	a->tfd = 1000 + copy->id % 1000; /* under the fd numbers of the tests */
	b->tfd = 1000 + fe->id % 1000;
	a->events = b->events = 0x1; /* EPOLLIN */
	say("epoll: %u and %u watch each other", fe->id, copy->id);
}

static void mutate_watches(struct rng *g, InotifyWatch **w, size_t n)
{
	static const uint64_t wds[] = {
		0, 1, 2, (1 << 20) - 1, 1 << 20, (1 << 20) + 1, 0x7fffffff, 0x80000000, 0xffffffff
	};
	static const uint64_t masks[] = { 0,	      0xfff,	  0x20000000,
					  0x80000000, 0xffffffff, 0x04000000 | 0x1 };
	InotifyWatch *x = w[rnd(g, n)], *y = w[rnd(g, n)], *t;
	size_t i = rnd(g, n), j = rnd(g, n);

	switch (rnd(g, 5)) {
	case 0:
		x->has_wd = 1;
		x->wd = rnd(g, 2) ? y->wd : (uint32_t)one_of(g, wds, N(wds));
		say("inotify: wd %u", x->wd);
		break;
	case 1: /* fdinfo order broken */
		t = w[i];
		w[i] = w[j];
		w[j] = t;
		say("inotify: watches %zu and %zu swapped", i, j);
		break;
	case 2:
		x->has_mask = 1;
		x->mask = (uint32_t)one_of(g, masks, N(masks));
		say("inotify: mask %#x", x->mask);
		break;
	case 3:
		x->has_dev = x->has_ino = 1;
		x->dev = rnd(g, 2) ? y->dev : hostile_u64(g, x->dev);
		x->ino = rnd(g, 2) ? y->ino : hostile_u64(g, x->ino);
		say("inotify: inode %#llx:%llu", (unsigned long long)x->dev,
		    (unsigned long long)x->ino);
		break;
	default:
		x->has_fh_type = 1;
		mutate_fh(g, &x->fh, &x->has_fh, &x->fh_type);
		say("inotify: handle type %d, %zu bytes", x->fh_type, x->fh.len);
		break;
	}
}

static void mutate_inotify(struct rng *g, FileEntry *fe, const struct kind_refs *r)
{
	InotifyEntry *e = fe->inotify ? fe->inotify :
					(fe->inotify = (void *)new_msg(&inotify_entry__descriptor));
	InotifyWatch **n;

	if (!e->n_watches || rnd(g, 8) == 0) { /* one more: a copy, same wd */
		n = xmalloc((e->n_watches + 1) * sizeof(*n));
		if (e->n_watches)
			memcpy(n, e->watches, e->n_watches * sizeof(*n));
		n[e->n_watches] = (void *)new_msg(&inotify_watch__descriptor);
		if (e->n_watches) /* a copy, its handle shared */
			*n[e->n_watches] = *e->watches[0];
		e->watches = n;
		e->n_watches++;
	}
	mutate_watches(g, e->watches, e->n_watches);
}

static void mutate_fanotify(struct rng *g, FileEntry *fe, const struct kind_refs *r)
{
	static const uint64_t fl[] = { 0,     0x1,    0x4,    0x8,	  0x10,	      0x200, 0x400,
				       0x800, 0x1000, 0x2000, 0xffffffff, 0x80000000, 0xe00 };
	static const uint64_t masks[] = { 0,	      0x1,	  0x10000,    0x20000,
					  0x40000000, 0x08000000, 0xffffffff, 0x1000 };
	FanotifyEntry *e = fe->fanotify ?
				   fe->fanotify :
				   (fe->fanotify = (void *)new_msg(&fanotify_entry__descriptor));
	FanotifyMark *m;

	if (!e->n_marks || rnd(g, 3) == 0) {
		e->has_flags = e->has_event_flags = 1;
		if (rnd(g, 2))
			e->flags = (uint32_t)one_of(g, fl, N(fl)) | (rnd(g, 2) ? e->flags : 0);
		else
			e->event_flags = (uint32_t)one_of(g, fl, N(fl));
		say("fanotify: flags %#x, event flags %#x", e->flags, e->event_flags);
		return;
	}
	m = e->marks[rnd(g, e->n_marks)];
	switch (rnd(g, 4)) {
	case 0:
		m->has_type = 1;
		m->type = (FanotifyMarkType)(rnd(g, 4) ? (int32_t)rnd(g, 3) : hostile_i32(g));
		say("fanotify: mark type %d", m->type);
		break;
	case 1:
		m->has_mask = m->has_ignored_mask = m->has_mflags = 1;
		m->mask = (uint32_t)one_of(g, masks, N(masks));
		m->ignored_mask = (uint32_t)one_of(g, masks, N(masks));
		m->mflags = (uint32_t)one_of(g, fl, N(fl));
		say("fanotify: mask %#x ignored %#x mflags %#x", m->mask, m->ignored_mask,
		    m->mflags);
		break;
	case 2:
		m->has_mnt_id = m->has_dev = 1;
		m->mnt_id = hostile_u32(g, m->mnt_id);
		m->dev = hostile_u64(g, m->dev);
		say("fanotify: mount %u dev %#llx", m->mnt_id, (unsigned long long)m->dev);
		break;
	default:
		m->has_fh_type = 1;
		mutate_fh(g, &m->fh, &m->has_fh, &m->fh_type);
		say("fanotify: handle type %d, %zu bytes", m->fh_type, m->fh.len);
		break;
	}
}

static void mutate_unixsk_name(struct rng *g, UnixskEntry *e)
{
	static const char *const paths[] = { "/",   "/a/../b",		"/a//b", "/a/.", "rel",
					     "/x/", "/tmp/vxcr-fuzz-sk" };
	static const uint64_t lens[] = { 0, 1, 2, 107, 108, 109 };
	const char *p;

	e->has_name = 1;
	switch (rnd(g, 3)) {
	case 0: /* abstract or path of an edge length */
		set_len(g, &e->name, one_of(g, lens, N(lens)));
		if (e->name.len && rnd(g, 2))
			e->name.data[0] = 0;
		break;
	case 1:
		p = paths[rnd(g, N(paths))];
		e->name.data = (uint8_t *)p;
		e->name.len = strlen(p) + rnd(g, 2); /* with or without its NUL */
		break;
	default:
		e->has_name_removed = 1;
		e->name_removed = !e->name_removed;
		break;
	}
	say("unixsk: name of %zu bytes%s", e->name.len, e->name_removed ? ", removed" : "");
}

static void mutate_unixsk(struct rng *g, FileEntry *fe, const struct kind_refs *r)
{
	static const uint64_t st[] = { 0, 1, 2, 7, 10, 11, 0xffffffff };
	static const uint64_t ty[] = { 0, 1, 2, 3, 4, 5, 6, 10 };
	static const uint64_t big[] = { 0,
					1,
					2303,
					2304,
					4607,
					4608,
					0x7ffffffe,
					0x7fffffff,
					0xffffffff,
					1ull << 53,
					(1ull << 53) + 1,
					~0ull };
	UnixskEntry *e = fe->unixsk ? fe->unixsk :
				      (fe->unixsk = (void *)new_msg(&unixsk_entry__descriptor));
	uint32_t *ic;
	size_t i, n;

	switch (rnd(g, 8)) {
	case 0:
		e->has_peer_ino = 1;
		e->peer_ino = rnd(g, 3) ? ref(g, r->inos, r->ni) : e->ino;
		say("unixsk: peer %u", e->peer_ino);
		break;
	case 1: /* queued connections: itself, others, twice, too many */
		n = rnd(g, 4) ? 1 + rnd(g, 3) : 64 + rnd(g, 1024);
		ic = xmalloc(n * sizeof(*ic));
		for (i = 0; i < n; i++)
			ic[i] = rnd(g, 4) ? ref(g, r->inos, r->ni) : e->ino;
		e->icons = ic;
		e->n_icons = n;
		say("unixsk: %zu queued connections", n);
		break;
	case 2:
		e->has_ino = 1;
		e->ino = ref(g, r->inos, r->ni);
		say("unixsk: ino %u", e->ino);
		break;
	case 3:
		e->has_state = e->has_type = 1;
		if (rnd(g, 2))
			e->state = (uint32_t)one_of(g, st, N(st));
		else
			e->type = (uint32_t)one_of(g, ty, N(ty));
		say("unixsk: state %u type %u", e->state, e->type);
		break;
	case 4:
		e->has_queued = 1;
		e->queued = rnd(g, 2) ? e->queued + (rnd(g, 2) ? 1 : -1) : one_of(g, big, N(big));
		say("unixsk: queued %llu", (unsigned long long)e->queued);
		break;
	case 5:
		mutate_unixsk_name(g, e);
		break;
	case 6:
		e->has_backlog = e->has_peek_off = e->has_shutdown = 1;
		e->backlog = (uint32_t)one_of(g, big, N(big));
		e->peek_off = hostile_i32(g);
		e->shutdown = (uint32_t)rnd(g, 5);
		say("unixsk: backlog %u peek_off %d shutdown %u", e->backlog, e->peek_off,
		    e->shutdown);
		break;
	default:
		e->has_sndbuf = e->has_rcvbuf = e->has_rcvtimeo_us = e->has_sndtimeo_us = 1;
		e->sndbuf = (uint32_t)one_of(g, big, N(big));
		e->rcvbuf = (uint32_t)one_of(g, big, N(big));
		e->rcvtimeo_us = one_of(g, big, N(big));
		e->sndtimeo_us = one_of(g, big, N(big));
		say("unixsk: buffers %u/%u", e->sndbuf, e->rcvbuf);
		break;
	}
}

/* A second socket connected crosswise: the pair, a one-way peer, or queued. */
static void twin_unixsk(struct rng *g, FileEntry *fe, FileEntry *copy)
{
	UnixskEntry *a = fe->unixsk, *b = copy->unixsk;

	if (!a || !b)
		return;
	b->has_ino = 1;
	b->ino = copy->id + 0x40000000u;
	switch (rnd(g, 3)) {
	case 0:
		a->has_peer_ino = b->has_peer_ino = 1;
		a->peer_ino = b->ino;
		b->peer_ino = a->ino;
		break;
	case 1:
		b->has_peer_ino = 1;
		b->peer_ino = a->ino;
		break;
	default:
		a->icons = xmalloc(sizeof(*a->icons));
		a->icons[0] = b->ino;
		a->n_icons = 1;
		break;
	}
	say("unixsk: %u and %u cross-connected", a->ino, b->ino);
}

static void mutate_netlinksk(struct rng *g, FileEntry *fe, const struct kind_refs *r)
{
	static const uint64_t v[] = { 0,  1,	2,    3,    4,		15,	    31,	       32,
				      33, 1023, 1024, 1025, 0x7fffffff, 0x80000000, 0xffffffff };
	static const uint64_t flen[] = { 0, 1, 7, 8, 16, 4096 * 8, 4097 * 8, 9 };
	NetlinkskEntry *e = fe->netlinksk ?
				    fe->netlinksk :
				    (fe->netlinksk = (void *)new_msg(&netlinksk_entry__descriptor));
	uint32_t *gr;
	size_t i, n;

	switch (rnd(g, 5)) {
	case 0:
		e->has_protocol = e->has_type = 1;
		e->protocol = (uint32_t)one_of(g, v, N(v));
		e->type = (uint32_t)rnd(g, 6);
		say("netlinksk: protocol %u type %u", e->protocol, e->type);
		break;
	case 1: /* unsorted, twice, out of range, many */
		n = rnd(g, 4) ? 1 + rnd(g, 4) : 1025 + rnd(g, 64);
		gr = xmalloc(n * sizeof(*gr));
		for (i = 0; i < n; i++)
			gr[i] = rnd(g, 2) ? (uint32_t)one_of(g, v, N(v)) : (uint32_t)(n - i);
		e->groups = gr;
		e->n_groups = n;
		say("netlinksk: %zu groups", n);
		break;
	case 2:
		e->has_portid = e->has_dst_portid = e->has_dst_group = e->has_connected = 1;
		e->portid = rnd(g, 2) ? (uint32_t)getpid() : (uint32_t)one_of(g, v, N(v));
		e->dst_portid = (uint32_t)one_of(g, v, N(v));
		e->dst_group = (uint32_t)one_of(g, v, N(v));
		e->connected = (protobuf_c_boolean)rnd(g, 2);
		say("netlinksk: port %u -> %u group %u", e->portid, e->dst_portid, e->dst_group);
		break;
	case 3:
		e->has_filter = 1;
		set_len(g, &e->filter, one_of(g, flen, N(flen)));
		say("netlinksk: filter of %zu bytes", e->filter.len);
		break;
	default:
		e->has_rcvbuf = e->has_sndbuf = e->has_rcvlowat = e->has_uid = 1;
		e->rcvbuf = (uint32_t)one_of(g, v, N(v));
		e->sndbuf = (uint32_t)one_of(g, v, N(v));
		e->rcvlowat = (uint32_t)one_of(g, v, N(v));
		e->uid = (uint32_t)one_of(g, v, N(v));
		say("netlinksk: rcvbuf %u sndbuf %u", e->rcvbuf, e->sndbuf);
		break;
	}
}

static void mutate_tcpsk(struct rng *g, FileEntry *fe, const struct kind_refs *r)
{
	static const uint64_t v[] = { 0,     1,	       2,	   4,	       10,
				      11,    14,       15,	   88,	       65535,
				      65536, 1u << 28, 0x7fffffff, 0x80000000, 0xffffffff };
	TcpskEntry *e = fe->tcpsk ? fe->tcpsk :
				    (fe->tcpsk = (void *)new_msg(&tcpsk_entry__descriptor));
	TcpskConn *c = e->conn;

	switch (rnd(g, 5)) {
	case 0: /* a state, a family that does not fit the rest */
		e->has_state = e->has_family = 1;
		e->state = (uint32_t)rnd(g, 13);
		e->family = rnd(g, 2) ? (uint32_t)one_of(g, v, N(v)) : (rnd(g, 2) ? 2 : 10);
		say("tcpsk: state %u family %u", e->state, e->family);
		break;
	case 1: /* addresses dropped or of the other family's length */
		if (e->local && rnd(g, 2))
			set_len(g, &e->local->ip, rnd(g, 2) ? 16 : 5);
		else
			e->peer = NULL;
		say("tcpsk: addresses changed");
		break;
	case 2: /* the connection's lengths against its SK_QUEUE records */
		if (!c)
			c = e->conn = (void *)new_msg(&tcpsk_conn__descriptor);
		c->has_inq_len = c->has_outq_len = c->has_unsent_len = 1;
		c->inq_len = (uint32_t)one_of(g, v, N(v));
		c->outq_len = (uint32_t)one_of(g, v, N(v));
		c->unsent_len = (uint32_t)one_of(g, v, N(v));
		say("tcpsk: queues %u/%u/%u", c->inq_len, c->outq_len, c->unsent_len);
		break;
	case 3: /* options at and past their edges */
		if (!c)
			c = e->conn = (void *)new_msg(&tcpsk_conn__descriptor);
		c->has_mss = c->has_snd_wscale = c->has_rcv_wscale = c->has_wscale = 1;
		c->mss = (uint32_t)one_of(g, v, N(v));
		c->snd_wscale = (uint32_t)one_of(g, v, N(v));
		c->rcv_wscale = (uint32_t)one_of(g, v, N(v));
		c->wscale = (protobuf_c_boolean)rnd(g, 2);
		say("tcpsk: mss %u wscale %u/%u", c->mss, c->snd_wscale, c->rcv_wscale);
		break;
	default:
		e->has_backlog = e->has_keepcnt = e->has_maxseg = e->has_ttl = 1;
		e->backlog = (uint32_t)one_of(g, v, N(v));
		e->keepcnt = (uint32_t)one_of(g, v, N(v));
		e->maxseg = (uint32_t)one_of(g, v, N(v));
		e->ttl = (uint32_t)one_of(g, v, N(v));
		say("tcpsk: backlog %u keepcnt %u maxseg %u ttl %u", e->backlog, e->keepcnt,
		    e->maxseg, e->ttl);
		break;
	}
}

/* An inet_addr of 0-17 bytes with an edge port, scope and flow label. */
static InetAddr *edge_addr(struct rng *g)
{
	static const uint64_t port[] = { 0, 1, 53, 65535, 65536, 0xffffffff };
	static const uint64_t ilen[] = { 0, 3, 4, 5, 15, 16, 17 };
	InetAddr *a = (void *)new_msg(&inet_addr__descriptor);

	a->has_ip = a->has_port = 1;
	set_len(g, &a->ip, one_of(g, ilen, N(ilen)));
	if (a->ip.len >= 4 && rnd(g, 2))
		memcpy(a->ip.data, rnd(g, 2) ? "\x7f\0\0\x01" : "\xe0\0\0\x01", 4);
	a->port = (uint32_t)one_of(g, port, N(port));
	a->has_scope_id = a->has_flowinfo = (protobuf_c_boolean)rnd(g, 2);
	a->scope_id = (uint32_t)rnd64(g);
	a->flowinfo = (uint32_t)one_of(g, port, N(port));
	return a;
}

static void mutate_inetdg(struct rng *g, FileEntry *fe, const struct kind_refs *r)
{
	static const uint64_t v[] = { 0,  1,   2,   3,	 10,   17,	   41,
				      58, 136, 255, 256, 9999, 0x7fffffff, 0xffffffff };
	static const uint64_t dlen[] = { 0, 1, 7, 65487, 65488, 65489, 1 << 20 };
	InetdgEntry *e = fe->inetdg ? fe->inetdg :
				      (fe->inetdg = (void *)new_msg(&inetdg_entry__descriptor));
	InetdgOpt *o;
	InetdgDgram *d;
	InetdgGroup *gr;

	switch (rnd(g, 6)) {
	case 0:
		e->has_family = e->has_type = e->has_protocol = 1;
		e->family = (uint32_t)one_of(g, v, N(v));
		e->type = (uint32_t)rnd(g, 6);
		e->protocol = (uint32_t)one_of(g, v, N(v));
		say("inetdg: family %u type %u protocol %u", e->family, e->type, e->protocol);
		break;
	case 1:
		e->local = edge_addr(g);
		if (rnd(g, 2))
			e->peer = edge_addr(g);
		say("inetdg: local address of %zu bytes", e->local->ip.len);
		break;
	case 2: /* an option: a real row, another level's, or none */
		o = (void *)new_msg(&inetdg_opt__descriptor);
		o->has_level = o->has_name = o->has_value = 1;
		o->level = (uint32_t)one_of(g, v, N(v));
		o->name = (uint32_t)rnd(g, 2) ? (uint32_t)rnd(g, 80) : (uint32_t)one_of(g, v, N(v));
		o->value = (int32_t)one_of(g, v, N(v));
		if (rnd(g, 3) == 0)
			o->ifname = rnd(g, 2) ? "lo" : "../x";
		e->ipopts = xmalloc(sizeof(*e->ipopts));
		e->ipopts[0] = o;
		e->n_ipopts = 1;
		say("inetdg: option %u/%u = %d", o->level, o->name, o->value);
		break;
	case 3: /* a datagram whose meta and records may disagree */
		d = (void *)new_msg(&inetdg_dgram__descriptor);
		d->src = edge_addr(g);
		if (rnd(g, 2))
			d->dst = edge_addr(g);
		d->has_len = d->has_ttl = d->has_tos = 1;
		d->len = (uint32_t)one_of(g, dlen, N(dlen));
		d->ttl = (uint32_t)one_of(g, v, N(v));
		d->tos = (uint32_t)one_of(g, v, N(v));
		e->queue = xmalloc(sizeof(*e->queue));
		e->queue[0] = d;
		e->n_queue = 1;
		say("inetdg: a datagram of %u bytes", d->len);
		break;
	case 4:
		gr = (void *)new_msg(&inetdg_group__descriptor);
		gr->has_group = 1;
		set_len(g, &gr->group, rnd(g, 2) ? 4 : rnd(g, 18));
		gr->ifname = rnd(g, 2) ? "lo" : rnd(g, 2) ? "" : "0123456789abcdefg";
		e->groups = xmalloc(sizeof(*e->groups));
		e->groups[0] = gr;
		e->n_groups = 1;
		say("inetdg: a group of %zu bytes on %s", gr->group.len, gr->ifname);
		break;
	default:
		e->has_icmp_filter = e->has_uid = e->has_gid = 1;
		set_len(g, &e->icmp_filter, rnd(g, 40));
		e->uid = (uint32_t)one_of(g, v, N(v));
		e->gid = (uint32_t)one_of(g, v, N(v));
		say("inetdg: ICMP filter of %zu bytes, owner %u", e->icmp_filter.len, e->uid);
		break;
	}
	(void)r;
}

static void mutate_packetsk(struct rng *g, FileEntry *fe, const struct kind_refs *r)
{
	static const uint64_t v[] = {
		0, 1, 2, 3, 8, 0x0008, 0xffff, 0x10000, 0x7fffffff, 0xffffffff
	};
	PacketskEntry *e = fe->packetsk ?
				   fe->packetsk :
				   (fe->packetsk = (void *)new_msg(&packetsk_entry__descriptor));

	e->has_type = e->has_protocol = e->has_version = e->has_reserve = 1;
	e->type = (uint32_t)rnd(g, 6);
	e->protocol = (uint32_t)one_of(g, v, N(v));
	e->version = (uint32_t)one_of(g, v, N(v));
	e->reserve = (uint32_t)one_of(g, v, N(v));
	e->ifname = rnd(g, 2) ? "lo" : rnd(g, 2) ? "vxnone0" : "a/b";
	say("packetsk: type %u protocol %#x version %u on %s", e->type, e->protocol, e->version,
	    e->ifname);
	(void)r;
}

static void mutate_mqueue(struct rng *g, FileEntry *fe, const struct kind_refs *r)
{
	static const char *const names[] = { "vxq", "a/b", "..", ".", "", "q" };

	fe->mq_name = (char *)names[rnd(g, N(names))];
	say("mqueue: name '%s'", fe->mq_name);
	(void)r;
}

static void mutate_tun(struct rng *g, FileEntry *fe, const struct kind_refs *r)
{
	static const uint64_t v[] = { 0,      1,      2,      3,	  9,	     10,
				      0x1001, 0x1102, 0x8001, 0x7fffffff, 0xffffffff };
	static const char *const names[] = { "vxtun0", "lo", "a/b", "vx%d", "", "0123456789abcdef" };
	TunEntry *e = fe->tun ? fe->tun : (fe->tun = (void *)new_msg(&tun_entry__descriptor));

	e->has_flags = e->has_sndbuf = e->has_vnet_hdr_sz = e->has_owner = 1;
	e->flags = (uint32_t)one_of(g, v, N(v));
	e->sndbuf = (uint32_t)one_of(g, v, N(v));
	e->vnet_hdr_sz = (uint32_t)one_of(g, v, N(v));
	e->owner = rnd(g, 2) ? -1 : (int64_t)one_of(g, v, N(v)) - (int64_t)rnd(g, 3);
	e->name = (char *)names[rnd(g, N(names))];
	say("tun: %s flags %#x sndbuf %u hdr %u owner %lld", e->name, e->flags, e->sndbuf,
	    e->vnet_hdr_sz, (long long)e->owner);
	(void)r;
}

static void mutate_tty(struct rng *g, FileEntry *fe, const struct kind_refs *r)
{
	static const uint64_t lens[] = { 0, 1, 18, 19, 20, 32 };
	static const uint64_t v[] = { 0, 1, 65535, 65536, 0x7fffffff, 0xffffffff };
	TtyEntry *e = fe->tty ? fe->tty : (fe->tty = (void *)new_msg(&tty_entry__descriptor));

	switch (rnd(g, 5)) {
	case 0: /* a slave of a slave, of itself, of a non-master, of nothing */
		e->has_pty_id = 1;
		e->pty_id = rnd(g, 3) ? ref_file(g, r, rnd(g, 2) ? FILE_KIND__FILE_PTS : -1) :
					fe->id;
		say("tty: pty_id %u", e->pty_id);
		break;
	case 1: /* master and slave swapped */
		fe->kind = fe->kind == FILE_KIND__FILE_PTS ? FILE_KIND__FILE_PTMX :
							     FILE_KIND__FILE_PTS;
		say("tty: kind %d", fe->kind);
		break;
	case 2:
		e->has_cc = 1;
		set_len(g, &e->cc, one_of(g, lens, N(lens)));
		say("tty: cc of %zu bytes", e->cc.len);
		break;
	case 3:
		e->has_ws_row = e->has_ws_col = e->has_line = e->has_index = 1;
		e->ws_row = (uint32_t)one_of(g, v, N(v));
		e->ws_col = (uint32_t)one_of(g, v, N(v));
		e->line = (uint32_t)rnd(g, 3);
		e->index = (uint32_t)one_of(g, v, N(v));
		say("tty: %ux%u line %u", e->ws_row, e->ws_col, e->line);
		break;
	default:
		e->has_cflag = e->has_ispeed = e->has_ospeed = 1;
		e->cflag = hostile_u32(g, e->cflag);
		e->ispeed = (uint32_t)one_of(g, v, N(v));
		e->ospeed = (uint32_t)one_of(g, v, N(v));
		say("tty: cflag %#x", e->cflag);
		break;
	}
}

/* Two masters of one slave, or a slave of each other. */
static void twin_tty(struct rng *g, FileEntry *fe, FileEntry *copy)
{
	if (!copy->tty)
		copy->tty = (void *)new_msg(&tty_entry__descriptor);
	copy->tty->has_pty_id = 1;
	copy->tty->pty_id = fe->tty && fe->tty->has_pty_id && rnd(g, 2) ? fe->tty->pty_id : fe->id;
	say("tty: %u's pty is %u", copy->id, copy->tty->pty_id);
}

static void mutate_pidfd(struct rng *g, FileEntry *fe, const struct kind_refs *r)
{
	PidfdEntry *e = fe->pidfd ? fe->pidfd :
				    (fe->pidfd = (void *)new_msg(&pidfd_entry__descriptor));

	e->has_pid = 1;
	switch (rnd(g, 5)) {
	case 0:
		e->pid = ref(g, r->tids, r->nt);
		break;
	case 1:
		e->pid = ref(g, r->zombies, r->nz);
		break;
	case 2:
		e->pid = ref(g, r->pids, r->np);
		break;
	case 3:
		e->pid = rnd(g, 2) ? (uint32_t)getppid() : 0;
		break;
	default:
		e->has_exit_status = 1;
		e->exit_status = hostile_i32(g);
		break;
	}
	say("pidfd: pid %u exit %d", e->pid, e->exit_status);
}

static void mutate_timerfd(struct rng *g, FileEntry *fe, const struct kind_refs *r)
{
	static const uint64_t t[] = { 0,	  1,	      999999999,
				      1000000000, 1ull << 62, (1ull << 63) - 1,
				      1ull << 63, ~0ull,      0x7fffffffffffffffull - 999999999 };
	TimerfdEntry *e = fe->timerfd ? fe->timerfd :
					(fe->timerfd = (void *)new_msg(&timerfd_entry__descriptor));

	switch (rnd(g, 4)) {
	case 0:
		e->has_clockid = 1;
		e->clockid = rnd(g, 8) ? (uint32_t)rnd(g, 16) : hostile_u32(g, e->clockid);
		break;
	case 1:
		e->has_settime_flags = 1;
		e->settime_flags = rnd(g, 8) ? (uint32_t)rnd(g, 8) : hostile_u32(g, 0);
		break;
	case 2:
		e->has_value_ns = e->has_interval_ns = 1;
		e->value_ns = one_of(g, t, N(t));
		e->interval_ns = rnd(g, 2) ? e->interval_ns : one_of(g, t, N(t));
		break;
	default:
		e->has_ticks = 1;
		e->ticks = one_of(g, t, N(t));
		break;
	}
	say("timerfd: clock %u flags %#x value %llu interval %llu ticks %llu", e->clockid,
	    e->settime_flags, (unsigned long long)e->value_ns, (unsigned long long)e->interval_ns,
	    (unsigned long long)e->ticks);
}

static void mutate_signalfd(struct rng *g, FileEntry *fe, const struct kind_refs *r)
{
	static const uint64_t m[] = { 0,     1ull << 8,	 1ull << 18, 1ull << 63,
				      ~0ull, 1ull << 31, 1ull << 32, 1ull << 33 };
	SignalfdEntry *e = fe->signalfd ?
				   fe->signalfd :
				   (fe->signalfd = (void *)new_msg(&signalfd_entry__descriptor));

	e->has_sigmask = 1;
	e->sigmask = one_of(g, m, N(m)) | (rnd(g, 2) ? e->sigmask : 0);
	say("signalfd: mask %#llx", (unsigned long long)e->sigmask);
}

static void mutate_eventfd(struct rng *g, FileEntry *fe, const struct kind_refs *r)
{
	static const uint64_t c[] = { 0, 1, ~0ull, ~0ull - 1, 1ull << 63 };
	EventfdEntry *e = fe->eventfd ? fe->eventfd :
					(fe->eventfd = (void *)new_msg(&eventfd_entry__descriptor));

	e->has_count = e->has_semaphore = 1;
	e->count = one_of(g, c, N(c));
	e->semaphore = (protobuf_c_boolean)rnd(g, 2);
	say("eventfd: count %llu", (unsigned long long)e->count);
}

static const struct kind_row {
	int32_t kind;
	void (*mutate)(struct rng *g, FileEntry *fe, const struct kind_refs *r);
	void (*twin)(struct rng *g, FileEntry *fe, FileEntry *copy);
} rows[] = {
	{ FILE_KIND__FILE_EPOLL, mutate_epoll, twin_epoll },
	{ FILE_KIND__FILE_INOTIFY, mutate_inotify, NULL },
	{ FILE_KIND__FILE_FANOTIFY, mutate_fanotify, NULL },
	{ FILE_KIND__FILE_UNIXSK, mutate_unixsk, twin_unixsk },
	{ FILE_KIND__FILE_NETLINKSK, mutate_netlinksk, NULL },
	{ FILE_KIND__FILE_TCPSK, mutate_tcpsk, NULL },
	{ FILE_KIND__FILE_INETDG, mutate_inetdg, NULL },
	{ FILE_KIND__FILE_PACKETSK, mutate_packetsk, NULL },
	{ FILE_KIND__FILE_TUN, mutate_tun, NULL },
	{ FILE_KIND__FILE_MQUEUE, mutate_mqueue, NULL },
	{ FILE_KIND__FILE_PTMX, mutate_tty, twin_tty },
	{ FILE_KIND__FILE_PTS, mutate_tty, twin_tty },
	{ FILE_KIND__FILE_TTY, mutate_tty, NULL },
	{ FILE_KIND__FILE_PIDFD, mutate_pidfd, NULL },
	{ FILE_KIND__FILE_TIMERFD, mutate_timerfd, NULL },
	{ FILE_KIND__FILE_SIGNALFD, mutate_signalfd, NULL },
	{ FILE_KIND__FILE_EVENTFD, mutate_eventfd, NULL },
};

static const struct kind_row *row_of(int32_t kind)
{
	size_t i;

	for (i = 0; i < N(rows); i++)
		if (rows[i].kind == kind)
			return &rows[i];
	return NULL;
}

bool kind_known(int32_t kind)
{
	return row_of(kind) != NULL;
}

/*
 * Mutates fe's kind sub-message; 1 in 16 the kind itself becomes another
 * of the table's (its sub-message then absent or another kind's).
 */
void mutate_kind(struct rng *g, FileEntry *fe, const struct kind_refs *r)
{
	const struct kind_row *k = row_of(fe->kind);

	if (!k || rnd(g, 16) == 0) {
		fe->kind = rows[rnd(g, N(rows))].kind;
		say("file %u: kind %d", fe->id, fe->kind);
		return;
	}
	k->mutate(g, fe, r);
}

bool kind_twin(struct rng *g, FileEntry *fe, FileEntry *copy)
{
	const struct kind_row *k = row_of(fe->kind);

	if (!k || !k->twin)
		return false;
	k->twin(g, fe, copy);
	return true;
}

/* An SK_QUEUE prefix naming a socket, a non-socket or nothing, at an edge offset. */
void mutate_skq(struct rng *g, uint32_t *id, uint64_t *offset, const struct kind_refs *r)
{
	static const uint64_t off[] = { 0, 1, 4095, 4096, 1ull << 32, 1ull << 63, ~0ull };

	if (rnd(g, 2)) {
		*id = ref_file(g, r, rnd(g, 2) ? FILE_KIND__FILE_UNIXSK : -1);
		say("sk_queue: id %u", *id);
	} else {
		*offset = rnd(g, 2) ? one_of(g, off, N(off)) : *offset + (rnd(g, 2) ? 1 : -1);
		say("sk_queue: offset %llu", (unsigned long long)*offset);
	}
}
