/*
 * inotify instances (fd kind "inotify"), in the root's C part: a new
 * instance given every watch at its recorded wd, on the inode its file
 * handle opens (on a mount of that filesystem in the tree's own mount
 * namespace), only if that is the recorded inode (device, inode); then
 * the recorded O_NONBLOCK.
 *
 * The kernel hands wds out cyclically (idr_alloc_cyclic from the last
 * one given + 1, starting at 1), never by request.  So the watches are
 * added in wd order and each gap below a wd is stepped over by adding a
 * watch on a pipe of our own and removing it again, one number each; the
 * IN_IGNORED events of those removals are read away before the instance
 * is placed.  That is why wds above INOTIFY_WD_MAX are refused.
 *
 * A crafted image must not make root watch what the task could not:
 * check_host opens every handle (as root) and, in a child that takes the
 * credentials every holder of the instance has in the image (uids, gids,
 * groups, capabilities), asks the kernel whether they may read that
 * inode (faccessat2 AT_EACCESS on the opened fd: the permission check
 * inotify_add_watch makes, ACLs and LSMs included).
 */
#define LOG_PREFIX "restore: "
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/inotify.h>
#include <sys/sysmacros.h>

#include "log.h"
#include "proc/proc.h"
#include "restore/restore.h"
#include "util/cleanup.h"

#define INOTIFY_MASK_KNOWN (IN_ALL_EVENTS | IN_ONESHOT | IN_EXCL_UNLINK)
#define CHECK_BATCH 256 /* handles opened at once for the permission check */

/* A watch, for sorting by wd or by inode: at is its index in the entry. */
struct wd_key {
	uint32_t wd;
	uint64_t dev, ino;
	size_t at;
};

static int cmp_wd(const void *a, const void *b)
{
	const struct wd_key *x = a, *y = b;

	return x->wd < y->wd ? -1 : x->wd > y->wd;
}

static int cmp_inode(const void *a, const void *b)
{
	const struct wd_key *x = a, *y = b;

	if (x->dev != y->dev)
		return x->dev < y->dev ? -1 : 1;
	return x->ino < y->ino ? -1 : x->ino > y->ino;
}

/* One watch of file id alone: present, in range.  0/-EBADMSG (logged). */
static int check_watch(uint32_t id, const InotifyWatch *w)
{
	if (!w->has_wd || !w->wd || w->wd > INOTIFY_WD_MAX) {
		pr_err("image: inotify (file id %u): wd %u is out of range (1..%u)\n", id, w->wd,
		       INOTIFY_WD_MAX);
		return -EBADMSG;
	}
	if (!w->has_dev || !w->has_ino || !w->has_fh_type || !w->has_mask) {
		pr_err("image: inotify (file id %u): watch wd %u lacks a field\n", id, w->wd);
		return -EBADMSG;
	}
	if (w->mask & ~INOTIFY_MASK_KNOWN) {
		pr_err("image: inotify (file id %u): watch wd %u has unknown mask bits %#x\n", id,
		       w->wd, w->mask & ~INOTIFY_MASK_KNOWN);
		return -EBADMSG;
	}
	if (!w->has_fh || !w->fh.len || w->fh.len > MAX_HANDLE_SZ) {
		pr_err("image: inotify (file id %u): watch wd %u: file handle of %zu bytes "
		       "(1..%d)\n",
		       id, w->wd, w->has_fh ? w->fh.len : 0, MAX_HANDLE_SZ);
		return -EBADMSG;
	}
	return 0;
}

/* No wd and no inode twice in e.  0/-EBADMSG/-ENOMEM (logged). */
static int check_unique(uint32_t id, const InotifyEntry *e)
{
	_cleanup_free_ struct wd_key *k = NULL;
	size_t i, n = e->n_watches;

	k = calloc(n ? n : 1, sizeof(*k));
	if (!k)
		return -ENOMEM;
	for (i = 0; i < n; i++)
		k[i] = (struct wd_key){ e->watches[i]->wd, e->watches[i]->dev, e->watches[i]->ino,
					i };
	qsort(k, n, sizeof(*k), cmp_wd);
	for (i = 1; i < n; i++)
		if (k[i].wd == k[i - 1].wd) {
			pr_err("image: inotify (file id %u): wd %u twice\n", id, k[i].wd);
			return -EBADMSG;
		}
	qsort(k, n, sizeof(*k), cmp_inode);
	for (i = 1; i < n; i++)
		if (!cmp_inode(&k[i], &k[i - 1])) {
			pr_err("image: inotify (file id %u): inode %llu watched twice (wd %u, %u)\n",
			       id, (unsigned long long)k[i].ino, k[i - 1].wd, k[i].wd);
			return -EBADMSG;
		}
	return 0;
}

/* The image alone: the instance's watches are there, in range, distinct. */
static int check_inotify(const struct rst_image *img, const struct rst_file *f)
{
	const InotifyEntry *e = f->fe->inotify;
	size_t i;
	int ret;

	if (!e) {
		pr_err("image: inotify (file id %u) has no inotify entry\n", f->fe->id);
		return -EBADMSG;
	}
	if (e->n_watches > INOTIFY_WD_MAX) {
		pr_err("image: inotify (file id %u): %zu watches (at most %u)\n", f->fe->id,
		       e->n_watches, INOTIFY_WD_MAX);
		return -EBADMSG;
	}
	for (i = 0; i < e->n_watches; i++) {
		ret = check_watch(f->fe->id, e->watches[i]);
		if (ret)
			return ret;
	}
	return check_unique(f->fe->id, e);
}

/* Opens watch w's inode (O_PATH) or logs why not.  fd or -errno. */
static int open_watch(uint32_t id, const InotifyWatch *w)
{
	int fd = proc_open_handle(w->dev, w->ino, w->fh_type, w->fh.data, w->fh.len, O_PATH);

	if (fd >= 0)
		return fd;
	pr_err("inotify (file id %u): watch wd %u on inode %llu of dev %u:%u: %s\n", id, w->wd,
	       (unsigned long long)w->ino, major(w->dev), minor(w->dev),
	       fd == -ENODEV ? "no mount of its filesystem here" :
	       fd == -EXDEV  ? "its handle opens another inode (not restored on another file)" :
	       fd == -ESTALE ? "its file handle no longer resolves (the file is gone)" :
			       strerror(-fd));
	return fd == -ENOMEM ? fd : -ENOENT;
}

/* Watches [from, to) of f, as every holder's credentials.  0/-errno (logged). */
static int check_batch(const struct rst_image *img, const struct rst_file *f, size_t from,
		       size_t to)
{
	const InotifyEntry *e = f->fe->inotify;
	const struct rst_proc *who = NULL;
	int fds[CHECK_BATCH], ret = 0;
	size_t i, n = 0, bad = 0;

	for (i = from; i < to && !ret; i++) {
		fds[n] = open_watch(f->fe->id, e->watches[i]);
		ret = fds[n] < 0 ? fds[n] : 0;
		n += !ret;
	}
	if (!ret) {
		ret = fsnotify_check_holders(img, f->fe->id, fds, n, 0, &bad, &who);
		if (ret == -EACCES)
			pr_err("inotify (file id %u): watch wd %u: pid %u (uid %u) may not read the "
			       "watched inode, so it could not watch it\n",
			       f->fe->id, e->watches[from + bad]->wd, who->task->pid,
			       who->creds->fsuid);
	}
	while (n)
		close(fds[--n]);
	return ret;
}

/* What the image names on this host: each watched inode, readable by its holders. */
static int check_host_inotify(const struct rst_image *img, const struct rst_file *f)
{
	size_t i, n = f->fe->inotify->n_watches;
	int ret;

	for (i = 0; i < n; i += CHECK_BATCH) {
		ret = check_batch(img, f, i, i + CHECK_BATCH < n ? i + CHECK_BATCH : n);
		if (ret)
			return ret;
	}
	return 0;
}

/* Reads every queued event of ifd away (ours: IN_IGNORED of the steps). */
static void drain(int ifd)
{
	char buf[65536];

	while (read(ifd, buf, sizeof(buf)) > 0)
		;
}

/*
 * Steps ifd's next wd from *next up to wd by adding and removing a watch
 * on dummy (a /proc/self/fd path).  0 or -errno (logged).
 */
static int step_to(int ifd, const char *dummy, uint32_t *next, uint32_t wd, uint32_t id)
{
	int got;

	for (; *next < wd; (*next)++) {
		got = inotify_add_watch(ifd, dummy, IN_MODIFY | IN_MASK_CREATE);
		if (got != (int)*next || inotify_rm_watch(ifd, got)) {
			pr_err("inotify (file id %u): stepping to wd %u, the kernel gave wd %d "
			       "for %u (%s)\n",
			       id, wd, got, *next, got < 0 ? strerror(errno) : "out of order");
			return -EIO;
		}
		if (!(*next & 1023))
			drain(ifd);
	}
	return 0;
}

/* Adds watch w to ifd at its wd, *next being the next wd.  0/-errno. */
static int add_watch(int ifd, const char *dummy, uint32_t *next, const InotifyWatch *w, uint32_t id)
{
	_cleanup_close_ int fd = -1;
	char path[64];
	int ret, got;

	ret = step_to(ifd, dummy, next, w->wd, id);
	if (ret)
		return ret;
	fd = open_watch(id, w);
	if (fd < 0)
		return fd;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	got = inotify_add_watch(ifd, path, w->mask);
	if (got != (int)w->wd) {
		pr_err("inotify (file id %u): watch wd %u: the kernel gave wd %d (%s)\n", id, w->wd,
		       got, got < 0 ? strerror(errno) : "out of order");
		return -EIO;
	}
	*next = w->wd + 1;
	return 0;
}

/* Every watch of e onto ifd, in wd order.  0 or -errno (logged). */
static int add_watches(int ifd, const InotifyEntry *e, uint32_t id)
{
	_cleanup_free_ struct wd_key *k = NULL;
	_cleanup_close_ int rd = -1, wr = -1;
	char dummy[64];
	uint32_t next = 1;
	size_t i;
	int p[2], ret = 0;

	if (pipe2(p, O_CLOEXEC)) {
		pr_perror("inotify (file id %u): a pipe to step wds on", id);
		return -errno;
	}
	rd = p[0];
	wr = p[1];
	k = calloc(e->n_watches ? e->n_watches : 1, sizeof(*k));
	if (!k)
		return -ENOMEM;
	snprintf(dummy, sizeof(dummy), "/proc/self/fd/%d", rd);
	for (i = 0; i < e->n_watches; i++)
		k[i] = (struct wd_key){ .wd = e->watches[i]->wd, .at = i };
	qsort(k, e->n_watches, sizeof(*k), cmp_wd);
	for (i = 0; !ret && i < e->n_watches; i++)
		ret = add_watch(ifd, dummy, &next, e->watches[k[i].at], id);
	drain(ifd);
	return ret;
}

/* A new inotify instance with the recorded watches and flags. */
static int open_inotify(const struct rst_image *img, struct rst_file *f)
{
	int ifd, ret;

	ifd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
	if (ifd < 0) {
		pr_perror("inotify (file id %u)", f->fe->id);
		return -errno;
	}
	ret = add_watches(ifd, f->fe->inotify, f->fe->id);
	if (ret) {
		close(ifd);
		return ret;
	}
	f->stage_fd = rst_stage_fd(img, ifd);
	return f->stage_fd < 0 ? f->stage_fd : rst_set_fl(f->stage_fd, f->fe->flags);
}

const struct rst_fd_kind rst_fd_inotify = {
	.kind = FILE_KIND__FILE_INOTIFY,
	.name = "inotify",
	.check_image = check_inotify,
	.check_host = check_host_inotify,
	.open = open_inotify,
};
