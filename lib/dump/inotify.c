/*
 * inotify instances (fd kind "inotify"): every watch with its wd, mask
 * and the file handle of its inode, read from /proc/PID/fdinfo/FD.
 * IN_NONBLOCK is O_NONBLOCK in the common flags.  Events queued and not
 * read yet cannot be read without taking them from the program (an
 * inotify fd has no peek), so an instance with any is refused, with the
 * byte count FIONREAD gives on our pidfd_getfd copy.  Every watch's
 * handle is opened here once (on a mount of its filesystem that we see)
 * and must still be the recorded inode: a watch whose file was deleted
 * no longer resolves and is refused.  fdinfo is parsed as hostile text.
 *
 * What Linux 6.18 prints (fs/notify/fdinfo.c), one line per watch:
 *   inotify wd:%x ino:%lx sdev:%x mask:%x ignored_mask:0
 *           fhandle-bytes:%x fhandle-type:%x f_handle:%02x...
 * sdev is the kernel's dev_t (major << 20 | minor); mask is the events
 * with IN_ONESHOT and IN_EXCL_UNLINK.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#define LOG_PREFIX "inotify: "
#include "log.h"
#include "dump/dump.h"
#include "proc/proc.h"
#include "util/asuser.h"
#include "inotify.pb-c.h"

#define INOTIFY_MASK_KNOWN (IN_ALL_EVENTS | IN_ONESHOT | IN_EXCL_UNLINK)

static bool is_inotify(const struct fd_probe *p)
{
	return !strcmp(p->link, "anon_inode:inotify");
}

int fsnotify_mark_value(const char *line, const char *end, const char *key, uint64_t *v)
{
	size_t klen = strlen(key);
	const char *s;
	char *e;

	for (s = line; s + klen < end; s++) {
		if ((s != line && s[-1] != ' ') || strncmp(s, key, klen) || s[klen] != ':')
			continue;
		s += klen + 1;
		if (!isxdigit((unsigned char)*s))
			return -EINVAL;
		errno = 0;
		*v = strtoull(s, &e, 16);
		return errno || e > end || (e != end && *e != ' ') ? -EINVAL : 0;
	}
	return -ENOENT;
}

int fsnotify_mark_handle(const char *line, const char *end, uint64_t len, ProtobufCBinaryData *fh)
{
	const char *s = memmem(line, end - line, " f_handle:", 10);
	size_t i;

	if (!s || !len || len > MAX_HANDLE_SZ)
		return -EINVAL;
	s += 10;
	if ((size_t)(end - s) != 2 * len)
		return -EINVAL;
	fh->len = len;
	for (i = 0; i < len; i++) {
		char hex[3] = { s[2 * i], s[2 * i + 1], 0 };

		if (!isxdigit((unsigned char)hex[0]) || !isxdigit((unsigned char)hex[1]))
			return -EINVAL;
		fh->data[i] = (uint8_t)strtoul(hex, NULL, 16);
	}
	return 0;
}

/* One "inotify wd:" line [line, end) into w.  0, -EINVAL or -ENOENT (no handle). */
static int parse_watch(const char *line, const char *end, InotifyWatch *w)
{
	uint64_t wd, ino, sdev, mask, ign, len, type;
	int ret;

	ret = fsnotify_mark_value(line, end, "wd", &wd)		    ?:
		      fsnotify_mark_value(line, end, "ino", &ino)   ?:
		      fsnotify_mark_value(line, end, "sdev", &sdev) ?:
		      fsnotify_mark_value(line, end, "mask", &mask) ?:
		      fsnotify_mark_value(line, end, "ignored_mask", &ign);
	if (ret || !wd || wd > INT32_MAX || sdev > UINT32_MAX || mask > UINT32_MAX || ign)
		return -EINVAL;
	PB_SET(w, wd, wd);
	PB_SET(w, ino, ino);
	PB_SET(w, dev, makedev(sdev >> 20, sdev & 0xfffff));
	PB_SET(w, mask, mask);
	ret = fsnotify_mark_value(line, end, "fhandle-bytes", &len);
	if (ret == -ENOENT)
		return -ENOENT;
	ret = ret ?: fsnotify_mark_value(line, end, "fhandle-type", &type);
	if (ret || type > UINT32_MAX)
		return -EINVAL;
	PB_SET(w, fh_type, (int32_t)(uint32_t)type);
	w->has_fh = 1;
	return fsnotify_mark_handle(line, end, len, &w->fh);
}

/*
 * Watch w of p as the dump can keep it: a wd restore reaches, known mask
 * bits, a handle that still opens the recorded, linked inode.  An O_PATH
 * fd on that inode, or -EOPNOTSUPP (logged).
 */
static int check_watch(const struct fd_probe *p, const InotifyWatch *w)
{
	struct stat st;
	int fd;

	if (w->wd > INOTIFY_WD_MAX) {
		pr_err("pid %d fd %d: inotify watch wd %u: above %u, not supported "
		       "(restore reaches a wd by one add/remove per lower number)\n",
		       p->pid, p->fd, w->wd, INOTIFY_WD_MAX);
		return -EOPNOTSUPP;
	}
	if (w->mask & ~INOTIFY_MASK_KNOWN) {
		pr_err("pid %d fd %d: inotify watch wd %u: mask %#x has bits this version does "
		       "not know\n",
		       p->pid, p->fd, w->wd, w->mask);
		return -EOPNOTSUPP;
	}
	fd = proc_open_handle(w->dev, w->ino, w->fh_type, w->fh.data, w->fh.len, O_PATH);
	if (fd >= 0) {
		if (!fstat(fd, &st) && st.st_nlink)
			return fd;
		close(fd);
		pr_err("pid %d fd %d: inotify watch wd %u on inode %llu: its file was deleted "
		       "(unlinked while watched): not supported\n",
		       p->pid, p->fd, w->wd, (unsigned long long)w->ino);
		return -EOPNOTSUPP;
	}
	pr_err("pid %d fd %d: inotify watch wd %u on inode %llu of dev %u:%u: %s: not "
	       "supported\n",
	       p->pid, p->fd, w->wd, (unsigned long long)w->ino, major(w->dev), minor(w->dev),
	       fd == -ENODEV ? "no mount of its filesystem is visible here" :
	       fd == -EXDEV  ? "its handle opens another inode" :
	       fd == -ESTALE ? "its file handle no longer resolves (the file was deleted?)" :
			       strerror(-fd));
	return -EOPNOTSUPP;
}

int fsnotify_dump_readable(const struct dump_op *op, const struct fd_probe *p, const int *fds,
			   size_t n, size_t *bad)
{
	const struct proc_status *s = &op->tasks[p->index - 1]->status;
	const struct util_creds c = {
		.uid = { s->uid[0], s->uid[1], s->uid[2], s->uid[3] },
		.gid = { s->gid[0], s->gid[1], s->gid[2], s->gid[3] },
		.groups = s->groups,
		.n_groups = s->n_groups,
		.cap_inh = s->cap_inh,
		.cap_prm = s->cap_prm,
		.cap_eff = s->cap_eff,
	};

	return util_readable_as(&c, fds, n, bad);
}

/*
 * The watches of e whose fds[0..n) are open (indexes at[]): may p read
 * them with its credentials, as restore will ask?  Closes the fds.
 * 0 or -errno (logged).
 */
static int check_batch(const struct dump_op *op, const struct fd_probe *p, const InotifyEntry *e,
		       int *fds, const size_t *at, size_t *n)
{
	size_t bad = *n;
	int ret = fsnotify_dump_readable(op, p, fds, *n, &bad);

	if (!ret && bad < *n) {
		pr_err("pid %d fd %d: inotify watch wd %u: the process (fsuid %u) may no longer "
		       "read the watched inode, so restore could not watch it again: not "
		       "supported\n",
		       p->pid, p->fd, e->watches[at[bad]]->wd,
		       op->tasks[p->index - 1]->status.uid[3]);
		ret = -EOPNOTSUPP;
	}
	while (*n)
		close(fds[--*n]);
	return ret;
}

/*
 * An entry for n watches in one block (pointers, watches and handle
 * buffers after it), so that free() of dump_file.sub frees all of it.
 */
static InotifyEntry *alloc_entry(size_t n)
{
	InotifyEntry *e;
	InotifyWatch *w;
	uint8_t *fh;
	size_t i;

	e = calloc(1, sizeof(*e) + n * (sizeof(*e->watches) + sizeof(*w) + MAX_HANDLE_SZ));
	if (!e)
		return NULL;
	inotify_entry__init(e);
	e->watches = (InotifyWatch **)(e + 1);
	w = (InotifyWatch *)(e->watches + n);
	fh = (uint8_t *)(w + n);
	for (i = 0; i < n; i++) {
		inotify_watch__init(&w[i]);
		w[i].fh.data = fh + i * MAX_HANDLE_SZ;
		e->watches[i] = &w[i];
	}
	return e;
}

/* Every "inotify wd:" line of p's fdinfo into e (room for each).  0/-errno (logged). */
static int parse_watches(const struct dump_op *op, const struct fd_probe *p, InotifyEntry *e)
{
	const char *line, *nl;
	int fds[FSNOTIFY_BATCH], ret = 0;
	size_t at[FSNOTIFY_BATCH], n = 0;
	InotifyWatch *w;

	for (line = p->fdinfo; !ret && *line; line = *nl ? nl + 1 : nl) {
		nl = strchrnul(line, '\n');
		if (strncmp(line, "inotify ", 8))
			continue;
		w = e->watches[e->n_watches++];
		ret = parse_watch(line + 7, nl, w);
		if (ret == -ENOENT) {
			pr_err("pid %d fd %d: inotify watch wd %u: its filesystem gives no file "
			       "handle: not supported\n",
			       p->pid, p->fd, w->wd);
			ret = -EOPNOTSUPP;
		} else if (ret) {
			pr_err("pid %d fd %d: inotify: malformed fdinfo line\n", p->pid, p->fd);
			ret = -EINVAL;
		}
		fds[n] = ret ? -1 : check_watch(p, w);
		ret = ret ?: fds[n] < 0 ? fds[n] : 0;
		at[n] = e->n_watches - 1;
		n += !ret;
		if (!ret && n == FSNOTIFY_BATCH)
			ret = check_batch(op, p, e, fds, at, &n);
	}
	if (!ret)
		return check_batch(op, p, e, fds, at, &n);
	while (n)
		close(fds[--n]);
	return ret;
}

/*
 * No events may wait in p's queue (reading them would take them); local
 * is our copy of it.  0/-errno (logged).
 */
static int check_queue(const struct fd_probe *p, int local)
{
	int n = 0;

	if (local < 0) {
		pr_err("pid %d fd %d: inotify: cannot look at its event queue (no copy of the fd)\n",
		       p->pid, p->fd);
		return -EOPNOTSUPP;
	}
	if (ioctl(local, FIONREAD, &n)) {
		pr_perror("pid %d fd %d: inotify: FIONREAD", p->pid, p->fd);
		return -errno;
	}
	if (n > 0) {
		pr_err("pid %d fd %d: inotify: %d bytes of events queued and not read yet: not "
		       "supported (reading them would take them from the program)\n",
		       p->pid, p->fd, n);
		return -EOPNOTSUPP;
	}
	return 0;
}

/* The watches of inotify instance p.  0 or -errno (logged). */
static int dump_inotify(struct dump_op *op, struct fd_probe *p, struct dump_file *df)
{
	InotifyEntry *e;
	int ret;

	df->e.kind = FILE_KIND__FILE_INOTIFY;
	ret = check_queue(p, df->local_fd);
	if (ret)
		return ret;
	e = alloc_entry(proc_fdinfo_count(p->fdinfo, "inotify "));
	if (!e)
		return -ENOMEM;
	df->sub = e;
	df->e.inotify = e;
	ret = parse_watches(op, p, e);
	return ret ?: fd_set_path(df, p->link);
}

const struct dump_fd_kind dump_fd_inotify = { "inotify", is_inotify, dump_inotify, NULL };
