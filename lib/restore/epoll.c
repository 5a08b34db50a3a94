/*
 * epoll instances (fd kind "epoll"), in the root's C part: open() makes
 * an empty epoll; post_open(), once every description of the image is
 * open and none is placed yet, adds its items.
 *
 * An item's key is (file, fd number at EPOLL_CTL_ADD), and the program
 * later names it by that number (EPOLL_CTL_MOD/DEL).  So each item is
 * added under its recorded number: the target's description is dup'ed
 * onto that number in the root for the EPOLL_CTL_ADD (what held the
 * number is moved aside and put back), then the number is closed again.
 * An item lives as long as its file, not its fd, so it stays; every
 * holder gets the epoll (and each target) from the pool afterwards.
 *
 * Readiness: EPOLL_CTL_ADD polls the target and queues a ready item, so
 * level-triggered items and pending edges come back by themselves.  Items
 * whose readiness was already reported (EPOLL_ITEM_CONSUMED: an EPOLLET
 * edge; EPOLL_ITEM_DISARMED: a fired EPOLLONESHOT) are added first, alone,
 * and reported once with epoll_wait(0) by us, which leaves them exactly
 * as the dump found them; the others follow.  An epoll watched by another
 * is filled first.  Last, the epoll's own fdinfo must show every recorded
 * (tfd, events, data): EPOLLWAKEUP, say, is dropped silently by a kernel
 * without CAP_BLOCK_SUSPEND, and that is refused, not ignored.
 */
#define LOG_PREFIX "restore/epoll: "
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/epoll.h>

#include "log.h"
#include "restore/restore.h"

#define EP_PRIVATE (EPOLLWAKEUP | EPOLLONESHOT | EPOLLET | EPOLLEXCLUSIVE)
#define EP_POLL_BITS                                                                       \
	(EPOLLIN | EPOLLPRI | EPOLLOUT | EPOLLERR | EPOLLHUP | EPOLLRDNORM | EPOLLRDBAND | \
	 EPOLLWRNORM | EPOLLWRBAND | EPOLLMSG | EPOLLRDHUP)
/* what EPOLL_CTL_ADD takes with EPOLLEXCLUSIVE (fs/eventpoll.c) */
#define EP_EXCLUSIVE_OK \
	(EPOLLIN | EPOLLOUT | EPOLLERR | EPOLLHUP | EPOLLWAKEUP | EPOLLET | EPOLLEXCLUSIVE)
/* the kernel's EP_MAX_NESTS: deeper chains of epolls are refused */
#define EP_MAX_DEPTH 4
#define EP_MAX_ITEMS (1u << 20)

static int cmp_file_id(const void *a, const void *b)
{
	uint32_t x = (*(struct rst_file *const *)a)->fe->id;
	uint32_t y = (*(struct rst_file *const *)b)->fe->id;

	if (x != y)
		return x < y ? -1 : 1;
	a = *(struct rst_file *const *)a;
	b = *(struct rst_file *const *)b;
	return a < b ? -1 : a > b;
}

/* One (tfd, events, data) triple, as recorded or as fdinfo shows it. */
struct ep_key {
	uint64_t data;
	uint32_t tfd, events;
};

/*
 * The entry of file id: at its position where ids are positions (as the
 * dump writes them), else through the sorted index *ix (made at the first
 * miss, freed by the caller) so a crafted image costs n log n, not n^2.
 */
static struct rst_file *file_of(const struct rst_image *img, uint32_t id, struct rst_file ***ix)
{
	struct rst_file **v;
	size_t lo = 0, hi = img->nr_files, mid, i;

	if (id >= 1 && id <= img->nr_files && img->files[id - 1].fe->id == id)
		return &img->files[id - 1];
	if (!ix)
		return plan_file(img, id);
	if (!*ix) {
		*ix = malloc((img->nr_files + 1) * sizeof(**ix));
		if (!*ix)
			return plan_file(img, id);
		for (i = 0; i < img->nr_files; i++)
			(*ix)[i] = &img->files[i];
		qsort(*ix, img->nr_files, sizeof(**ix), cmp_file_id);
	}
	v = *ix;
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (v[mid]->fe->id == id) {
			while (mid > 0 && v[mid - 1]->fe->id == id)
				mid--; /* the first in the image, as plan_file() */
			return v[mid];
		}
		if (v[mid]->fe->id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* Checks one item of epoll f against the image.  0 or -EBADMSG (logged). */
static int check_item(const struct rst_image *img, const struct rst_file *f, const EpollItem *it,
		      struct rst_file ***ix)
{
	const struct rst_file *t = file_of(img, it->target_id, ix);
	uint32_t ev = it->events;
	const char *why = NULL;

	if (!it->has_tfd || it->tfd > INT32_MAX)
		why = "fd number out of range";
	else if (!t || t == f || !t->kind || !t->kind->open || t->kind->late)
		why = "its target is not another open file of the image";
	else if (ev & ~(uint32_t)(EP_POLL_BITS | EP_PRIVATE))
		why = "unknown event bits";
	else if ((ev & EPOLLEXCLUSIVE) &&
		 ((ev & ~(uint32_t)EP_EXCLUSIVE_OK) || t->fe->kind == FILE_KIND__FILE_EPOLL))
		why = "EPOLLEXCLUSIVE with bits or a target it does not allow";
	else if (it->state == EPOLL_ITEM_STATE__EPOLL_ITEM_DISARMED &&
		 (!(ev & EPOLLONESHOT) || (ev & ~(uint32_t)EP_PRIVATE)))
		why = "a fired EPOLLONESHOT item with events armed";
	else if (it->state == EPOLL_ITEM_STATE__EPOLL_ITEM_CONSUMED &&
		 (ev & (EPOLLET | EPOLLONESHOT)) != EPOLLET)
		why = "a reported edge on an item that is not EPOLLET";
	else if (it->state != EPOLL_ITEM_STATE__EPOLL_ITEM_PLAIN &&
		 it->state != EPOLL_ITEM_STATE__EPOLL_ITEM_CONSUMED &&
		 it->state != EPOLL_ITEM_STATE__EPOLL_ITEM_DISARMED)
		why = "unknown state";
	if (why) {
		pr_err("image: epoll (file id %u): item on fd %u, target %u: %s\n", f->fe->id,
		       it->tfd, it->target_id, why);
		return -EBADMSG;
	}
	return 0;
}

/* The image alone: the epoll's part is there, every item in range. */
static int check_epoll(const struct rst_image *img, const struct rst_file *f)
{
	const EpollEntry *e = f->fe->epoll;
	struct rst_file **ix = NULL;
	size_t k;
	int ret;

	if (!e) {
		pr_err("image: epoll (file id %u) has no epoll entry\n", f->fe->id);
		return -EBADMSG;
	}
	if (e->n_items > EP_MAX_ITEMS) {
		pr_err("image: epoll (file id %u): %zu items, more than %u\n", f->fe->id,
		       e->n_items, EP_MAX_ITEMS);
		return -EBADMSG;
	}
	for (k = 0, ret = 0; !ret && k < e->n_items; k++)
		ret = check_item(img, f, e->items[k], &ix);
	free(ix);
	return ret;
}

/* A new, empty epoll; its items come in post_open. */
static int open_epoll(const struct rst_image *img, struct rst_file *f)
{
	int fd = epoll_create1(EPOLL_CLOEXEC);

	if (fd < 0) {
		pr_perror("epoll (file id %u)", f->fe->id);
		return -errno;
	}
	f->stage_fd = rst_stage_fd(img, fd);
	return f->stage_fd < 0 ? f->stage_fd : rst_set_fl(f->stage_fd, f->fe->flags);
}

/* Where the root holds description t now (staged, or our own stdio), or -1. */
static int current_fd(const struct rst_image *img, const struct rst_file *t)
{
	const FdtableEntry *fdt = rst_root(img)->fdt;
	size_t i;

	if (t->stage_fd >= 0)
		return t->stage_fd;
	if (!t->inherited || !fdt)
		return -1;
	for (i = 0; i < fdt->n_fds; i++)
		if (fdt->fds[i]->file_id == t->fe->id && fdt->fds[i]->fd <= 2)
			return (int)fdt->fds[i]->fd;
	return -1;
}

/* Logs a failed add of the item on fd tfd (errno err).  Returns -err. */
static int add_failed(const struct rst_file *f, int tfd, uint32_t ev, int err)
{
	pr_err("epoll (file id %u): cannot add its item on fd %d (events %#x): %s\n", f->fe->id,
	       tfd, ev, strerror(err));
	return -err;
}

/*
 * Adds item it to the epoll on ep with events ev, under its recorded fd
 * number: the target is dup'ed there for the call; whatever held that
 * number (even our stderr) is put back before anything is logged.
 * 0 or -errno (logged).
 */
static int add_item(const struct rst_image *img, const struct rst_file *f, int ep,
		    const EpollItem *it, uint32_t ev)
{
	struct epoll_event e = { .events = ev, .data.u64 = it->data };
	int tfd = (int)it->tfd, cur, saved = -1, fdfl, err = 0;

	cur = current_fd(img, file_of(img, it->target_id, NULL));
	if (cur < 0) {
		pr_err("epoll (file id %u): the target of its item on fd %d is not open\n",
		       f->fe->id, tfd);
		return -EINVAL;
	}
	if (cur == tfd)
		return epoll_ctl(ep, EPOLL_CTL_ADD, tfd, &e) ? add_failed(f, tfd, ev, errno) : 0;
	fdfl = fcntl(tfd, F_GETFD);
	if (fdfl >= 0) {
		saved = fcntl(tfd, F_DUPFD_CLOEXEC, img->temp_base);
		if (saved < 0)
			return add_failed(f, tfd, ev, errno);
	}
	if (dup2(cur, tfd) < 0) { /* tfd untouched */
		err = errno;
		if (saved >= 0)
			close(saved);
		return add_failed(f, tfd, ev, err);
	}
	if (epoll_ctl(ep == tfd ? saved : ep, EPOLL_CTL_ADD, tfd, &e))
		err = errno;
	if (saved < 0) {
		close(tfd);
		return err ? add_failed(f, tfd, ev, err) : 0;
	}
	if (dup2(saved, tfd) < 0 || fcntl(tfd, F_SETFD, fdfl))
		err = err ?: errno;
	close(saved);
	return err ? add_failed(f, tfd, ev, err) : 0;
}

/*
 * Reads the (tfd, events, data) of every item of our epoll fd into *out
 * (malloc'ed), *n of them.  0 or -errno (logged).
 */
static int read_own_items(int fd, struct ep_key **out, size_t *n)
{
	char path[64], line[256];
	struct ep_key *v = NULL, *nv;
	size_t cap = 0;
	unsigned long long data;
	unsigned int ev;
	int tfd;
	FILE *fp;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	fp = fopen(path, "re");
	if (!fp) {
		pr_perror("%s", path);
		return -errno;
	}
	*n = 0;
	while (fgets(line, sizeof(line), fp)) {
		if (sscanf(line, "tfd: %d events: %x data: %llx", &tfd, &ev, &data) != 3)
			continue;
		if (*n == cap) {
			cap = cap ? cap * 2 : 16;
			nv = realloc(v, cap * sizeof(*v));
			if (!nv) {
				free(v);
				fclose(fp);
				return -ENOMEM;
			}
			v = nv;
		}
		v[(*n)++] = (struct ep_key){ data, (uint32_t)tfd, ev };
	}
	fclose(fp);
	*out = v;
	return 0;
}

static int cmp_key(const void *a, const void *b)
{
	const struct ep_key *x = a, *y = b;

	if (x->tfd != y->tfd)
		return x->tfd < y->tfd ? -1 : 1;
	if (x->events != y->events)
		return x->events < y->events ? -1 : 1;
	return x->data < y->data ? -1 : x->data > y->data;
}

/* The epoll on fd must hold exactly the recorded items.  0 or -EIO (logged). */
static int verify_items(const struct rst_file *f, int fd)
{
	const EpollEntry *e = f->fe->epoll;
	struct ep_key *have = NULL, *want;
	size_t n = 0, k;
	int ret;

	ret = read_own_items(fd, &have, &n);
	if (ret)
		return ret;
	want = calloc(e->n_items + 1, sizeof(*want));
	if (!want) {
		free(have);
		return -ENOMEM;
	}
	for (k = 0; k < e->n_items; k++)
		want[k] =
			(struct ep_key){ e->items[k]->data, e->items[k]->tfd, e->items[k]->events };
	qsort(have, n, sizeof(*have), cmp_key);
	qsort(want, e->n_items, sizeof(*want), cmp_key);
	for (k = 0; k < e->n_items; k++)
		if (k >= n || cmp_key(&have[k], &want[k]))
			break;
	if (k < e->n_items) {
		pr_err("epoll (file id %u): its item on fd %u (events %#x) is not as dumped after "
		       "restore%s\n",
		       f->fe->id, want[k].tfd, want[k].events,
		       (want[k].events & EPOLLWAKEUP) ? " (EPOLLWAKEUP needs CAP_BLOCK_SUSPEND)" :
							"");
		ret = -EIO;
	} else if (n != e->n_items) {
		pr_err("epoll (file id %u) holds %zu items after restore, %zu dumped\n", f->fe->id,
		       n, e->n_items);
		ret = -EIO;
	}
	free(have);
	free(want);
	return ret;
}

/* Does our epoll on fd hold any item yet? */
static bool filled(int fd)
{
	struct ep_key *v = NULL;
	size_t n = 0;

	if (read_own_items(fd, &v, &n))
		return false;
	free(v);
	return n > 0;
}

static int fill(const struct rst_image *img, const struct rst_file *f, int depth);

/* The items whose readiness was reported, added and reported once. */
static int add_reported(const struct rst_image *img, const struct rst_file *f)
{
	const EpollEntry *e = f->fe->epoll;
	struct epoll_event *evs;
	size_t k, n = 0;
	uint32_t ev;
	int ret = 0, got;

	for (k = 0; !ret && k < e->n_items; k++) {
		const EpollItem *it = e->items[k];

		if (it->state == EPOLL_ITEM_STATE__EPOLL_ITEM_PLAIN)
			continue;
		ev = it->events;
		if (it->state == EPOLL_ITEM_STATE__EPOLL_ITEM_DISARMED)
			ev |= EP_POLL_BITS; /* fires now, then keeps only its flags */
		ret = add_item(img, f, f->stage_fd, it, ev);
		n++;
	}
	if (ret || !n)
		return ret;
	evs = calloc(n + 1, sizeof(*evs));
	if (!evs)
		return -ENOMEM;
	got = epoll_wait(f->stage_fd, evs, (int)n + 1, 0);
	free(evs);
	if (got != (int)n) {
		pr_err("epoll (file id %u): %zu of its items were reported before the dump but "
		       "only %d are ready now: cannot restore them as reported\n",
		       f->fe->id, n, got);
		return -EIO;
	}
	return 0;
}

/* Adds every item of epoll f (epolls it watches first).  0 or -errno. */
static int fill(const struct rst_image *img, const struct rst_file *f, int depth)
{
	const EpollEntry *e = f->fe->epoll;
	size_t k;
	int ret;

	if (!e->n_items || filled(f->stage_fd))
		return 0;
	if (depth > EP_MAX_DEPTH) {
		pr_err("epoll (file id %u): epolls nested deeper than %d\n", f->fe->id,
		       EP_MAX_DEPTH);
		return -ELOOP;
	}
	for (k = 0; k < e->n_items; k++) {
		const struct rst_file *t = file_of(img, e->items[k]->target_id, NULL);

		if (t->fe->kind == FILE_KIND__FILE_EPOLL && t->stage_fd >= 0) {
			ret = fill(img, t, depth + 1);
			if (ret)
				return ret;
		}
	}
	ret = add_reported(img, f);
	for (k = 0; !ret && k < e->n_items; k++)
		if (e->items[k]->state == EPOLL_ITEM_STATE__EPOLL_ITEM_PLAIN)
			ret = add_item(img, f, f->stage_fd, e->items[k], e->items[k]->events);
	return ret ?: verify_items(f, f->stage_fd);
}

/* Every description open, none placed: the items. */
static int post_open_epoll(const struct rst_image *img, struct rst_file *f)
{
	return fill(img, f, 0);
}

const struct rst_fd_kind rst_fd_epoll = {
	.kind = FILE_KIND__FILE_EPOLL,
	.name = "epoll",
	.check_image = check_epoll,
	.open = open_epoll,
	.post_open = post_open_epoll,
};
