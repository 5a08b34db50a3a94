/*
 * epoll instances (fd kind "epoll"): every item, read from
 * /proc/PID/fdinfo/FD, one line per item (fs/eventpoll.c, ep_show_fdinfo):
 *   tfd: %8d events: %8x data: %16llx  pos:%lli ino:%lx sdev:%x
 * tfd is the fd number the item was added under (with the file, the key
 * of the item: EPOLL_CTL_MOD/DEL name it), events the mask the kernel
 * holds (EPOLLERR|EPOLLHUP added by EPOLL_CTL_ADD; a EPOLLONESHOT item
 * that fired keeps only its flag bits), data the user's u64.
 *
 * The target of an item is not "fd tfd of the holder": the holder may
 * have closed it or reused the number.  Once every fd of the tree is
 * collected (epoll_resolve, an image collector), each item's file is found
 * with kcmp(KCMP_EPOLL_TFD) among the descriptions of the tree; one that
 * is in no fd table is refused.  Then the hidden part of its readiness
 * that restore must rebuild (epoll_item_state): an EPOLLET item whose
 * target is ready may have had its edge reported already (CONSUMED) or
 * not; poll() on the epoll itself tells, when that item is its only ready
 * one (see NOTES "epoll (issue 12)").  Nothing of the target is changed:
 * poll() only looks.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <linux/kcmp.h>

#define LOG_PREFIX "dump/epoll: "
#include "log.h"
#include "dump/dump.h"
#include "proc/proc.h"

/* the bits epoll keeps for itself (fs/eventpoll.c EP_PRIVATE_BITS) */
#define EP_PRIVATE (EPOLLWAKEUP | EPOLLONESHOT | EPOLLET | EPOLLEXCLUSIVE)
/* every readiness bit poll() can be asked for */
#define POLL_ALL                                                                          \
	(POLLIN | POLLPRI | POLLOUT | POLLRDNORM | POLLRDBAND | POLLWRNORM | POLLWRBAND | \
	 POLLMSG | POLLRDHUP)

/* An epoll's sub-message and what the resolution needs, in one block. */
struct epoll_dump {
	EpollEntry e; /* first: df->sub is freed as one block */
	EpollItem **pitems;
	uint64_t *ino;	/* target inode of each item (fdinfo ino:) */
	uint32_t *toff; /* index among the items of the same tfd */
};

static bool is_epoll(const struct fd_probe *p)
{
	return !strcmp(p->link, "anon_inode:[eventpoll]");
}

/* Parses one "tfd:" line (up to its newline) into it.  0 or -EINVAL. */
static int parse_item(const char *line, EpollItem *it, uint64_t *ino)
{
	unsigned long long data, i;
	unsigned int events, sdev;
	long long pos;
	int tfd, end = -1;

	if (sscanf(line, "tfd: %d events: %x data: %llx pos:%lld ino:%llx sdev:%x%n", &tfd, &events,
		   &data, &pos, &i, &sdev, &end) != 6 ||
	    end < 0 || (line[end] != '\n' && line[end] != '\0') || tfd < 0)
		return -EINVAL;
	epoll_item__init(it);
	PB_SET(it, tfd, (uint32_t)tfd);
	PB_SET(it, events, events);
	PB_SET(it, data, data);
	*ino = i;
	return 0;
}

/* (tfd, position) of an item, to rank the items of one tfd. */
struct tfd_pos {
	uint32_t tfd, k;
};

static int cmp_tfd_pos(const void *a, const void *b)
{
	const struct tfd_pos *x = a, *y = b;

	if (x->tfd != y->tfd)
		return x->tfd < y->tfd ? -1 : 1;
	return x->k < y->k ? -1 : x->k > y->k;
}

/*
 * d->toff[k]: how many items before k (fdinfo order, the kernel's tree
 * order) have k's tfd: kcmp's toff.  n log n.  0 or -ENOMEM.
 */
static int rank_items(struct epoll_dump *d)
{
	size_t n = d->e.n_items, i;
	struct tfd_pos *v;

	v = malloc((n + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (i = 0; i < n; i++)
		v[i] = (struct tfd_pos){ d->pitems[i]->tfd, (uint32_t)i };
	qsort(v, n, sizeof(*v), cmp_tfd_pos);
	for (i = 1; i < n; i++)
		if (v[i].tfd == v[i - 1].tfd)
			d->toff[v[i].k] = d->toff[v[i - 1].k] + 1;
	free(v);
	return 0;
}

/* The items of epoll p, unresolved.  0 or -errno (logged). */
static int dump_epoll(struct dump_op *op, struct fd_probe *p, struct dump_file *df)
{
	size_t n = proc_fdinfo_count(p->fdinfo, "tfd:"), k = 0;
	struct epoll_dump *d;
	EpollItem *items;
	const char *s;

	df->e.kind = FILE_KIND__FILE_EPOLL;
	d = calloc(1, sizeof(*d) + n * (sizeof(EpollItem) + sizeof(EpollItem *) + sizeof(uint64_t) +
					sizeof(uint32_t)));
	if (!d)
		return -ENOMEM;
	df->sub = d;
	epoll_entry__init(&d->e);
	items = (EpollItem *)(d + 1);
	d->pitems = (EpollItem **)(items + n);
	d->ino = (uint64_t *)(d->pitems + n);
	d->toff = (uint32_t *)(d->ino + n);
	for (s = p->fdinfo; s && *s && k < n; s = strchr(s, '\n'), s = s ? s + 1 : NULL) {
		if (strncmp(s, "tfd:", 4))
			continue;
		if (parse_item(s, &items[k], &d->ino[k])) {
			pr_err("pid %d fd %d: epoll: malformed fdinfo line \"%.60s\"\n", p->pid,
			       p->fd, s);
			return -EINVAL;
		}
		d->pitems[k] = &items[k];
		k++;
	}
	d->e.items = d->pitems;
	d->e.n_items = k;
	df->e.epoll = &d->e;
	return rank_items(d) ?: fd_set_path(df, p->link);
}

const struct dump_fd_kind dump_fd_epoll = { "epoll", is_epoll, dump_epoll, NULL };

/* The fd table pid (a process, or a thread with its own) reads, or NULL. */
static const struct dump_fdtable *table_of(const struct dump_op *op, pid_t pid)
{
	size_t i, j;

	for (i = 0; i < op->n_tasks; i++) {
		const struct dump_task *t = op->tasks[i];

		if (t->pid == pid)
			return t->fdt;
		for (j = 1; j < t->n_threads; j++)
			if (t->threads[j].tid == pid)
				return t->threads[j].fdt;
	}
	return NULL;
}

/* The description of fd of table fdt (sorted by fd), or NULL. */
static struct dump_file *file_at(struct dump_files *files, const struct dump_fdtable *fdt, int fd)
{
	size_t lo = 0, hi = fdt ? fdt->n_fds : 0, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if ((int)fdt->fds[mid].fd == fd) {
			if (fdt->fds[mid].file_id < 1 || fdt->fds[mid].file_id > files->n)
				return NULL;
			return &files->v[fdt->fds[mid].file_id - 1];
		}
		if ((int)fdt->fds[mid].fd < fd)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/*
 * The description of the tree that item k of epoll ep is on, or NULL:
 * kcmp(KCMP_EPOLL_TFD) of the holder's fd tfd first (the usual case),
 * then of every fd description with the item's inode.
 */
static struct dump_file *find_target(struct dump_op *op, const struct dump_file *ep,
				     const struct epoll_dump *d, size_t k)
{
	struct kcmp_epoll_slot slot = { .efd = (uint32_t)ep->first_fd,
					.tfd = d->pitems[k]->tfd,
					.toff = d->toff[k] };
	struct dump_files *files = &op->files;
	struct dump_file *t;
	size_t i;

	t = file_at(files, table_of(op, ep->first_pid), (int)d->pitems[k]->tfd);
	if (t && t->first_fd >= 0 &&
	    syscall(SYS_kcmp, t->first_pid, ep->first_pid, KCMP_EPOLL_TFD, t->first_fd, &slot) == 0)
		return t;
	for (i = 0; i < files->n; i++) {
		t = &files->v[i];
		if (t->first_fd < 0 || t->first_pid <= 0 || t->e.ino != d->ino[k])
			continue;
		if (syscall(SYS_kcmp, t->first_pid, ep->first_pid, KCMP_EPOLL_TFD, t->first_fd,
			    &slot) == 0)
			return t;
	}
	return NULL;
}

/* What poll() says of our handle on df now (POLL_ALL asked), or -errno. */
static int ready_now(const struct dump_file *df)
{
	struct pollfd pf = { .fd = df->local_fd, .events = POLL_ALL };

	if (df->local_fd < 0)
		return -EBADF;
	if (poll(&pf, 1, 0) < 0)
		return -errno;
	return pf.revents & ~POLLNVAL;
}

/*
 * Sets the state of the EPOLLET items of ep that are ready (rev[k]: what
 * their target is ready for, masked by the item's events): each such
 * item's edge is pending or reported.  poll() on the epoll tells whether
 * any item of its ready list is ready; that answers for one item only
 * when no other item is ready.  0, or -EOPNOTSUPP (logged) if it cannot
 * be told.
 */
static int edge_states(const struct dump_file *ep, struct epoll_dump *d, const uint32_t *rev)
{
	size_t k, n_et = 0, n_other = 0, first = 0;
	int pe;

	for (k = 0; k < d->e.n_items; k++) {
		if (!rev[k])
			continue;
		if ((d->pitems[k]->events & (EPOLLET | EPOLLONESHOT)) != EPOLLET)
			n_other++;
		else if (!n_et++)
			first = k;
	}
	if (!n_et)
		return 0;
	pe = ready_now(ep);
	if (pe < 0) {
		pr_err("pid %d fd %d: epoll: cannot poll it: %s\n", ep->first_pid, ep->first_fd,
		       strerror(-pe));
		return -EOPNOTSUPP;
	}
	if (pe && (n_et > 1 || n_other)) {
		pr_err("pid %d fd %d: epoll: edge-triggered item on fd %u is ready while other "
		       "items are ready too (%zu): whether its edge was reported cannot be "
		       "told: not supported\n",
		       ep->first_pid, ep->first_fd, d->pitems[first]->tfd, n_et + n_other - 1);
		return -EOPNOTSUPP;
	}
	for (k = 0; k < d->e.n_items; k++)
		if (rev[k] && (d->pitems[k]->events & (EPOLLET | EPOLLONESHOT)) == EPOLLET && !pe)
			PB_SET(d->pitems[k], state, EPOLL_ITEM_STATE__EPOLL_ITEM_CONSUMED);
	return 0;
}

/*
 * Item k of ep, on target t: its target id, whether it is a fired
 * EPOLLONESHOT, and in rev[k] what it is ready for.  The target is polled
 * only when that matters: a fired EPOLLONESHOT item, or poll_all (ep has
 * a plain EPOLLET item, whose state depends on every item's readiness);
 * an epoll of level items only is not looked into.  0 or -EOPNOTSUPP
 * (logged).
 */
static int item_state(const struct dump_file *ep, struct epoll_dump *d, size_t k,
		      const struct dump_file *t, uint32_t *rev, bool poll_all)
{
	EpollItem *it = d->pitems[k];
	bool fired = (it->events & EPOLLONESHOT) && !(it->events & ~(uint32_t)EP_PRIVATE);
	int r;

	PB_SET(it, target_id, t->e.id);
	if (t->e.kind == FILE_KIND__FILE_PROC) {
		pr_err("pid %d fd %d: epoll item on fd %u: a /proc file as target: not "
		       "supported\n",
		       ep->first_pid, ep->first_fd, it->tfd);
		return -EOPNOTSUPP;
	}
	if (!poll_all && !fired)
		return 0; /* readiness recomputed by the kernel: not even looked at */
	r = ready_now(t);
	if (r < 0) {
		pr_err("pid %d fd %d: epoll item on fd %u: cannot poll its target: %s\n",
		       ep->first_pid, ep->first_fd, it->tfd, strerror(-r));
		return -EOPNOTSUPP;
	}
	rev[k] = (uint32_t)r & it->events & ~(uint32_t)EP_PRIVATE;
	if (!fired)
		return 0;
	if (!r) {
		pr_err("pid %d fd %d: epoll item on fd %u: a fired EPOLLONESHOT item whose "
		       "target is ready for nothing cannot be rebuilt fired: not supported\n",
		       ep->first_pid, ep->first_fd, it->tfd);
		return -EOPNOTSUPP;
	}
	PB_SET(it, state, EPOLL_ITEM_STATE__EPOLL_ITEM_DISARMED);
	return 0;
}

/*
 * Resolves every item of epoll ep.  0, -EOPNOTSUPP (each logged, counted).
 * An item whose target is not found after another fd was refused says
 * nothing: its target may be that fd (a socket), and nothing is written.
 */
static int resolve_one(struct dump_op *op, struct dump_file *ep)
{
	struct epoll_dump *d = ep->sub;
	bool poll_all = false;
	struct dump_file *t;
	uint32_t *rev;
	size_t k;
	int ret = 0, r;

	rev = calloc(d->e.n_items + 1, sizeof(*rev));
	if (!rev)
		return -ENOMEM;
	for (k = 0; k < d->e.n_items; k++) /* any plain EPOLLET item: every target is polled */
		poll_all |= (d->pitems[k]->events & (EPOLLET | EPOLLONESHOT)) == EPOLLET;
	for (k = 0; k < d->e.n_items; k++) {
		t = find_target(op, ep, d, k);
		if (!t && op->n_refused) {
			/* maybe on a refused fd: the dump is refused already */
			continue;
		} else if (!t) {
			pr_err("pid %d fd %d: epoll item on fd %u (inode %llu): its target is "
			       "open in no fd table of the tree: not supported\n",
			       ep->first_pid, ep->first_fd, d->pitems[k]->tfd,
			       (unsigned long long)d->ino[k]);
			r = -EOPNOTSUPP;
		} else {
			r = item_state(ep, d, k, t, rev, poll_all);
		}
		r = dump_refusal(op, NULL, r);
		if (r)
			ret = r;
	}
	r = ret ? ret : dump_refusal(op, NULL, edge_states(ep, d, rev));
	free(rev);
	return r;
}

/* Image collector: every epoll's items get their targets and states. */
int epoll_resolve(struct dump_op *op)
{
	size_t i;
	int ret;

	for (i = 0; i < op->files.n; i++) {
		if (op->files.v[i].e.kind != FILE_KIND__FILE_EPOLL || !op->files.v[i].sub)
			continue;
		ret = resolve_one(op, &op->files.v[i]);
		if (ret)
			return ret;
	}
	return 0;
}
