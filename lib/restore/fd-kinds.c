/*
 * The fd kinds of restore: one row per kind (file_entry.kind), each a
 * struct rst_fd_kind named rst_fd_<row> in its own stem (files.c for what
 * is reopened by path, pipes.c, memfd.c, ...), and the stages that run
 * their hooks over every description of the image: plan (every FILE entry
 * has a kind this build knows), check_image, check_host, open, post_open.
 */
#define LOG_PREFIX "restore: "
#include <errno.h>

#include "log.h"
#include "restore/restore.h"

#define RST_FD_KINDS(K) \
	K(reg)          \
	K(chr)          \
	K(pipe)         \
	K(fifo)         \
	K(tty)          \
	K(dir)          \
	K(maponly)      \
	K(memfd)        \
	K(eventfd)      \
	K(epoll)        \
	K(inotify)      \
	K(fanotify)     \
	K(blk)          \
	K(opath)        \
	K(procfile)     \
	K(nsfile)       \
	K(signalfd)     \
	K(timerfd)      \
	K(pidfd)        \
	K(unixsk)       \
	K(netlinksk)    \
	K(tcpsk)        \
	K(inetdg)       \
	K(packetsk)     \
	K(tun)          \
	K(ptmx)         \
	K(pts)          \
	K(mqueue)       \
	/* one row per kind, each ending in a backslash */

#define DECLARE(k) extern const struct rst_fd_kind rst_fd_##k;
#define ROW(k) &rst_fd_##k,

RST_FD_KINDS(DECLARE)

static const struct rst_fd_kind *const rst_fd_kinds[] = { RST_FD_KINDS(ROW) };

/* The row of file kind kind, or NULL if this build does not know it. */
const struct rst_fd_kind *rst_fd_kind(uint32_t kind)
{
	size_t i;

	for (i = 0; i < sizeof(rst_fd_kinds) / sizeof(rst_fd_kinds[0]); i++)
		if (rst_fd_kinds[i]->kind == kind)
			return rst_fd_kinds[i];
	return NULL;
}

/* Is f opened by its holder in finish (procfile.c), not from the pool? */
bool rst_file_late(const struct rst_file *f)
{
	return f->kind->late && !(f->kind->pooled && f->kind->pooled(f));
}

/* Gives every file its kind; refuses one this build lacks.  0/-EBADMSG. */
int fd_kinds_plan(struct rst_image *img)
{
	size_t i;

	for (i = 0; i < img->nr_files; i++) {
		struct rst_file *f = &img->files[i];

		f->kind = rst_fd_kind(f->fe->kind);
		if (!f->kind) {
			pr_err("image: file id %u has unknown kind %d\n", f->fe->id, f->fe->kind);
			return -EBADMSG;
		}
	}
	return 0;
}

/*
 * A description opened by its holder in finish (a late kind) must be in
 * no thread's own fd table: only processes' tables are set up there.
 * 0 or -EBADMSG (logged).
 */
int rst_check_no_thread_table(const struct rst_image *img, const struct rst_file *f)
{
	size_t i, j, k;

	for (i = 0; i < img->nr_procs; i++) {
		const struct rst_proc *c = img->procs[i];

		for (j = 1; j < c->nr_threads; j++)
			for (k = 0; c->threads[j].fdt && k < c->threads[j].fdt->n_fds; k++)
				if (c->threads[j].fdt->fds[k]->file_id == f->fe->id) {
					pr_err("image: %s (file id %u) in a thread's own fd table\n",
					       f->kind->name, f->fe->id);
					return -EBADMSG;
				}
	}
	return 0;
}

int rst_skq_len(const struct rst_image *img, const struct rst_file *f, uint64_t *len)
{
	uint64_t at = 0;
	size_t i;

	for (i = 0; i < img->nr_skq; i++) {
		if (img->skq[i].id != f->fe->id)
			continue;
		if (img->skq[i].offset != at) {
			pr_err("image: %s (file id %u): queued data at %llu, expected %llu\n",
			       f->kind->name, f->fe->id, (unsigned long long)img->skq[i].offset,
			       (unsigned long long)at);
			return -EBADMSG;
		}
		at += img->skq[i].len;
	}
	*len = at;
	return 0;
}

int rst_skq_each(const struct rst_image *img, const struct rst_file *f, uint64_t lo, uint64_t hi,
		 int (*fn)(void *arg, const uint8_t *p, size_t len), void *arg)
{
	uint64_t a, b;
	size_t i;
	int ret;

	for (i = 0; i < img->nr_skq && lo < hi; i++) {
		const struct rst_chunk *c = &img->skq[i];

		if (c->id != f->fe->id || c->offset + c->len <= lo || c->offset >= hi)
			continue;
		a = lo - c->offset;
		b = (hi < c->offset + c->len ? hi : c->offset + c->len) - c->offset;
		ret = fn(arg, c->buf + a, b - a);
		if (ret)
			return ret;
		lo = c->offset + b;
	}
	return lo < hi ? -EBADMSG : 0;
}

/* Every kind's checks of the image alone (the vet and fuzzer run them). */
/* Every SK_QUEUE record names a socket of a kind with a queue: unix, TCP
 * or inet datagram (the kinds check their lengths).  0 or -EBADMSG. */
static int check_queue_owners(const struct rst_image *img)
{
	const struct rst_file *f;
	size_t i;

	for (i = 0; i < img->nr_skq; i++) {
		f = plan_file(img, img->skq[i].id);
		if (!f || (f->fe->kind != FILE_KIND__FILE_UNIXSK &&
			   f->fe->kind != FILE_KIND__FILE_TCPSK &&
			   f->fe->kind != FILE_KIND__FILE_INETDG)) {
			pr_err("image: queued data for file id %u, which is no unix, TCP or UDP "
			       "socket\n",
			       img->skq[i].id);
			return -EBADMSG;
		}
	}
	return 0;
}

int fd_kinds_check_image(const struct rst_image *img)
{
	size_t i;
	int ret;

	for (i = 0; i < img->nr_files; i++) {
		const struct rst_file *f = &img->files[i];

		if (f->fe->outside_root && !(img->ctxe && img->ctxe->root)) {
			pr_err("image: file id %u: outside a context's root, in the image of no "
			       "context with one\n",
			       f->fe->id);
			return -EBADMSG;
		}
		if (f->kind->check_image) {
			ret = f->kind->check_image(img, f);
			if (ret)
				return ret;
		}
	}
	return check_queue_owners(img);
}

/* outside: -1 every file, else those whose outside_root is that. */
static int check_host(const struct rst_image *img, int outside)
{
	size_t i;
	int ret;

	for (i = 0; i < img->nr_files; i++) {
		const struct rst_file *f = &img->files[i];

		if (outside >= 0 && !!f->fe->outside_root != outside)
			continue;
		if (f->kind->check_host) {
			ret = f->kind->check_host(img, f);
			if (ret)
				return ret;
		}
	}
	return 0;
}

/* Every kind's checks of what the image names on this host. */
int fd_kinds_check_host(const struct rst_image *img)
{
	return check_host(img, -1);
}

int fd_kinds_check_host_of(const struct rst_image *img, bool outside)
{
	return check_host(img, outside);
}

/*
 * Root's C part: opens every description not open yet (a pipe's open
 * stages its peer too) and not handed over from our own stdio.
 */
int fd_kinds_open(const struct rst_image *img)
{
	size_t i;
	int ret;

	for (i = 0; i < img->nr_files; i++) {
		struct rst_file *f = &img->files[i];

		if (f->stage_fd >= 0 || f->inherited || !f->kind->open)
			continue;
		ret = f->kind->open(img, f);
		if (ret)
			return ret;
	}
	return 0;
}

/* Root's C part, every description open: each opened one's post_open. */
int fd_kinds_post_open(const struct rst_image *img)
{
	size_t i;
	int ret;

	for (i = 0; i < img->nr_files; i++) {
		struct rst_file *f = &img->files[i];

		if (f->stage_fd < 0 || f->inherited || !f->kind->post_open)
			continue;
		ret = f->kind->post_open(img, f);
		if (ret)
			return ret;
	}
	return 0;
}
