/*
 * fanotify groups (fd kind "fanotify"): the fanotify_init() flags and
 * event_f_flags and every mark (on an inode, a mount or a filesystem)
 * with its flags, mask and ignore mask, read from /proc/PID/fdinfo/FD.
 * As for inotify: an inode mark's file handle must still open the
 * recorded, linked inode, and a group with events queued and not read
 * (FIONREAD on our pidfd_getfd copy) is refused.  A permission-class
 * group (FAN_CLASS_CONTENT, FAN_CLASS_PRE_CONTENT) is refused: events it
 * has read and not answered yet are invisible (fdinfo shows none), and a
 * process of the host may be blocked on them.  A mount mark's mount must
 * be one of ours (the dumper's mount namespace), which restore looks up
 * again by its id.
 *
 * What Linux 6.18 prints (fs/notify/fdinfo.c):
 *   fanotify flags:%x event-flags:%x
 *   fanotify ino:%lx sdev:%x mflags:%x mask:%x ignored_mask:%x
 *            fhandle-bytes:%x fhandle-type:%x f_handle:%02x...
 *   fanotify mnt_id:%x mflags:%x mask:%x ignored_mask:%x
 *   fanotify sdev:%x mflags:%x mask:%x ignored_mask:%x
 * Any other "fanotify" line (a mark of a newer kind) is refused.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/fanotify.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#define LOG_PREFIX "fanotify: "
#include "log.h"
#include "dump/dump.h"
#include "proc/proc.h"
#include "fanotify.pb-c.h"

#define FAN_CLASSES (FAN_CLASS_CONTENT | FAN_CLASS_PRE_CONTENT)
#define FAN_MFLAGS_KNOWN (FAN_MARK_IGNORED_SURV_MODIFY | FAN_MARK_EVICTABLE | FAN_MARK_IGNORE)
/* events and event flags of a FAN_CLASS_NOTIF group's marks */
#define FAN_MASK_KNOWN (0x1fffu | FAN_FS_ERROR | FAN_EVENT_ON_CHILD | FAN_RENAME | FAN_ONDIR)

static bool is_fanotify(const struct fd_probe *p)
{
	return !strcmp(p->link, "anon_inode:[fanotify]");
}

/* An entry for n marks in one block, freed by one free() (dump_file.sub). */
static FanotifyEntry *alloc_entry(size_t n)
{
	FanotifyEntry *e;
	FanotifyMark *m;
	uint8_t *fh;
	size_t i;

	e = calloc(1, sizeof(*e) + n * (sizeof(*e->marks) + sizeof(*m) + MAX_HANDLE_SZ));
	if (!e)
		return NULL;
	fanotify_entry__init(e);
	e->marks = (FanotifyMark **)(e + 1);
	m = (FanotifyMark *)(e->marks + n);
	fh = (uint8_t *)(m + n);
	for (i = 0; i < n; i++) {
		fanotify_mark__init(&m[i]);
		m[i].fh.data = fh + i * MAX_HANDLE_SZ;
		e->marks[i] = &m[i];
	}
	return e;
}

/* mflags, mask and ignored_mask of line [line, end) into m.  0/-EINVAL. */
static int parse_masks(const char *line, const char *end, FanotifyMark *m)
{
	uint64_t mflags, mask, ign;

	if (fsnotify_mark_value(line, end, "mflags", &mflags) ||
	    fsnotify_mark_value(line, end, "mask", &mask) ||
	    fsnotify_mark_value(line, end, "ignored_mask", &ign) || mflags > UINT32_MAX ||
	    mask > UINT32_MAX || ign > UINT32_MAX)
		return -EINVAL;
	PB_SET(m, mflags, mflags);
	PB_SET(m, mask, mask);
	PB_SET(m, ignored_mask, ign);
	return 0;
}

/* An inode mark's own fields (after "fanotify").  0, -EINVAL, -ENOENT (no handle). */
static int parse_inode(const char *line, const char *end, FanotifyMark *m)
{
	uint64_t ino, sdev, len, type;
	int ret;

	if (fsnotify_mark_value(line, end, "ino", &ino) ||
	    fsnotify_mark_value(line, end, "sdev", &sdev) || sdev > UINT32_MAX)
		return -EINVAL;
	PB_SET(m, type, FANOTIFY_MARK_TYPE__FANOTIFY_MARK_INODE);
	PB_SET(m, ino, ino);
	PB_SET(m, dev, makedev(sdev >> 20, sdev & 0xfffff));
	ret = fsnotify_mark_value(line, end, "fhandle-bytes", &len);
	if (ret)
		return ret;
	if (fsnotify_mark_value(line, end, "fhandle-type", &type) || type > UINT32_MAX)
		return -EINVAL;
	PB_SET(m, fh_type, (int32_t)(uint32_t)type);
	m->has_fh = 1;
	return fsnotify_mark_handle(line, end, len, &m->fh);
}

/* A mount or filesystem mark's own fields.  0 or -EINVAL. */
static int parse_mount_or_fs(const char *line, const char *end, FanotifyMark *m)
{
	uint64_t v;

	if (!fsnotify_mark_value(line, end, "mnt_id", &v)) {
		if (v > UINT32_MAX)
			return -EINVAL;
		PB_SET(m, type, FANOTIFY_MARK_TYPE__FANOTIFY_MARK_MOUNT);
		PB_SET(m, mnt_id, v);
		return 0;
	}
	if (fsnotify_mark_value(line, end, "sdev", &v) || v > UINT32_MAX)
		return -EINVAL;
	PB_SET(m, type, FANOTIFY_MARK_TYPE__FANOTIFY_MARK_FILESYSTEM);
	PB_SET(m, dev, makedev(v >> 20, v & 0xfffff));
	return 0;
}

/* The object of mark m can be found again: an fd on it, or -EOPNOTSUPP (logged). */
static int check_object(const struct fd_probe *p, FanotifyMark *m)
{
	const char *why = NULL;
	struct stat st;
	dev_t dev;
	int fd;

	if (m->type == FANOTIFY_MARK_TYPE__FANOTIFY_MARK_MOUNT) {
		fd = proc_mount_fd_by_id(m->mnt_id, &dev);
		why = fd < 0 ? "this mount is not one vxcr sees (its mount namespace)" : NULL;
		PB_SET(m, dev, dev);
	} else if (m->type == FANOTIFY_MARK_TYPE__FANOTIFY_MARK_FILESYSTEM) {
		fd = proc_fs_mount_fd(m->dev);
		why = fd < 0 ? "no mount of this filesystem is visible here" : NULL;
	} else {
		fd = proc_open_handle(m->dev, m->ino, m->fh_type, m->fh.data, m->fh.len, O_PATH);
		why = fd == -ENODEV ? "no mount of its filesystem is visible here" :
		      fd == -EXDEV  ? "its handle opens another inode" :
		      fd < 0	    ? "its file handle no longer resolves (the file was deleted?)" :
		      fstat(fd, &st) || !st.st_nlink ?
			       "its file was deleted (unlinked while marked)" :
			       NULL;
	}
	if (!why)
		return fd;
	if (fd >= 0)
		close(fd);
	pr_err("pid %d fd %d: fanotify mark on %s %llu (dev %u:%u): %s: not supported\n", p->pid,
	       p->fd,
	       m->type == FANOTIFY_MARK_TYPE__FANOTIFY_MARK_MOUNT      ? "mount" :
	       m->type == FANOTIFY_MARK_TYPE__FANOTIFY_MARK_FILESYSTEM ? "filesystem" :
									 "inode",
	       (unsigned long long)(m->type == FANOTIFY_MARK_TYPE__FANOTIFY_MARK_MOUNT ? m->mnt_id :
											 m->ino),
	       major(m->dev), minor(m->dev), why);
	return -EOPNOTSUPP;
}

/* One mark line [line, end) (after "fanotify") into m.  An fd on its object, or -errno (logged). */
static int parse_mark(const struct fd_probe *p, const char *line, const char *end, FanotifyMark *m)
{
	int ret;

	if (!strncmp(line, " ino:", 5))
		ret = parse_inode(line, end, m);
	else if (!strncmp(line, " mnt_id:", 8) || !strncmp(line, " sdev:", 6))
		ret = parse_mount_or_fs(line, end, m);
	else
		ret = -EPROTO;
	ret = ret ?: parse_masks(line, end, m);
	if (ret == -EPROTO || ret == -ENOENT) {
		pr_err("pid %d fd %d: fanotify: a mark %s: not supported\n", p->pid, p->fd,
		       ret == -ENOENT ? "on a filesystem that gives no file handle" :
					"of a kind this version does not know");
		return -EOPNOTSUPP;
	}
	if (ret) {
		pr_err("pid %d fd %d: fanotify: malformed fdinfo line\n", p->pid, p->fd);
		return -EINVAL;
	}
	if ((m->mflags & ~FAN_MFLAGS_KNOWN) || ((m->mask | m->ignored_mask) & ~FAN_MASK_KNOWN)) {
		pr_err("pid %d fd %d: fanotify: a mark with flags %#x, mask %#x, ignore mask %#x "
		       "this version does not know\n",
		       p->pid, p->fd, m->mflags, m->mask, m->ignored_mask);
		return -EOPNOTSUPP;
	}
	return check_object(p, m);
}

/* Only a FAN_CLASS_NOTIF group is restored.  0 or -EOPNOTSUPP (logged). */
static int check_class(const struct fd_probe *p, const FanotifyEntry *e)
{
	if (e->flags & FAN_CLASSES) {
		pr_err("pid %d fd %d: fanotify: a permission-class group (%s): events it read and "
		       "did not answer are invisible and cannot be restored: not supported\n",
		       p->pid, p->fd,
		       (e->flags & FAN_CLASSES) == FAN_CLASS_CONTENT ? "FAN_CLASS_CONTENT" :
								       "FAN_CLASS_PRE_CONTENT");
		return -EOPNOTSUPP;
	}
	return 0;
}

/*
 * May p's process still make what e needs (as restore will ask with its
 * image credentials): read the objects of marks fds[0..*n) (indexes at[]),
 * CAP_SYS_ADMIN unless the group is one an unprivileged task may create?
 * Closes the fds.  0 or -errno (logged).
 */
static int check_batch(const struct dump_op *op, const struct fd_probe *p, const FanotifyEntry *e,
		       int *fds, const size_t *at, size_t *n)
{
	const struct proc_status *s = &op->tasks[p->index - 1]->status;
	size_t bad = *n;
	int ret = fsnotify_dump_readable(op, p, fds, *n, &bad);

	if (!ret && bad < *n) {
		pr_err("pid %d fd %d: fanotify mark %zu: the process (fsuid %u) may no longer read "
		       "what it marks, so restore could not mark it again: not supported\n",
		       p->pid, p->fd, at[bad], s->uid[3]);
		ret = -EOPNOTSUPP;
	}
	while (*n)
		close(fds[--*n]);
	return ret;
}

/* Does e need CAP_SYS_ADMIN (restore/fanotify.c asks the same)? */
static bool needs_admin(const FanotifyEntry *e)
{
	size_t i;

	if (!fanotify_init_unpriv(e->flags))
		return true;
	for (i = 0; i < e->n_marks; i++)
		if (e->marks[i]->type != FANOTIFY_MARK_TYPE__FANOTIFY_MARK_INODE)
			return true;
	return false;
}

/* The flags line [line, nl) into e.  0 or -errno (logged). */
static int parse_flags(const struct fd_probe *p, const char *line, const char *nl, FanotifyEntry *e)
{
	uint64_t flags, ef;

	if (fsnotify_mark_value(line + 8, nl, "flags", &flags) ||
	    fsnotify_mark_value(line + 8, nl, "event-flags", &ef) || flags > UINT32_MAX ||
	    ef > UINT32_MAX) {
		pr_err("pid %d fd %d: fanotify: malformed flags line\n", p->pid, p->fd);
		return -EINVAL;
	}
	PB_SET(e, flags, flags);
	PB_SET(e, event_flags, ef);
	return check_class(p, e);
}

/* The group's flags and every mark of p into e.  0 or -errno (logged). */
static int parse_group(const struct dump_op *op, const struct fd_probe *p, FanotifyEntry *e)
{
	int fds[FSNOTIFY_BATCH], ret = 0;
	size_t at[FSNOTIFY_BATCH], n = 0;
	const char *line, *nl;

	for (line = p->fdinfo; !ret && *line; line = *nl ? nl + 1 : nl) {
		nl = strchrnul(line, '\n');
		if (strncmp(line, "fanotify ", 9))
			continue;
		if (!strncmp(line, "fanotify flags:", 15)) {
			ret = parse_flags(p, line, nl, e);
			continue;
		}
		at[n] = e->n_marks;
		fds[n] = parse_mark(p, line + 8, nl, e->marks[e->n_marks++]);
		ret = fds[n] < 0 ? fds[n] : 0;
		n += !ret;
		if (!ret && n == FSNOTIFY_BATCH)
			ret = check_batch(op, p, e, fds, at, &n);
	}
	if (!ret && !e->has_flags) {
		pr_err("pid %d fd %d: fanotify: no flags line in fdinfo\n", p->pid, p->fd);
		ret = -EINVAL;
	}
	if (ret) {
		while (n)
			close(fds[--n]);
		return ret;
	}
	ret = check_batch(op, p, e, fds, at, &n);
	if (!ret && needs_admin(e) && !(op->tasks[p->index - 1]->status.cap_eff & (1ull << 21))) {
		pr_err("pid %d fd %d: fanotify: the process no longer has CAP_SYS_ADMIN, which "
		       "restore requires for this group and its marks: not supported\n",
		       p->pid, p->fd);
		ret = -EOPNOTSUPP;
	}
	return ret;
}

/* No events may wait in p's queue; local is our copy of it.  0/-errno. */
static int check_queue(const struct fd_probe *p, int local)
{
	int n = 0;

	if (local < 0) {
		pr_err("pid %d fd %d: fanotify: cannot look at its event queue (no copy of the fd)\n",
		       p->pid, p->fd);
		return -EOPNOTSUPP;
	}
	if (ioctl(local, FIONREAD, &n)) {
		pr_perror("pid %d fd %d: fanotify: FIONREAD", p->pid, p->fd);
		return -errno;
	}
	if (n > 0) {
		pr_err("pid %d fd %d: fanotify: %d bytes of events queued and not read yet: not "
		       "supported (reading them would take them from the program)\n",
		       p->pid, p->fd, n);
		return -EOPNOTSUPP;
	}
	return 0;
}

/* The flags and marks of fanotify group p.  0 or -errno (logged). */
static int dump_fanotify(struct dump_op *op, struct fd_probe *p, struct dump_file *df)
{
	FanotifyEntry *e;
	int ret;

	df->e.kind = FILE_KIND__FILE_FANOTIFY;
	e = alloc_entry(proc_fdinfo_count(p->fdinfo, "fanotify "));
	if (!e)
		return -ENOMEM;
	df->sub = e;
	df->e.fanotify = e;
	ret = parse_group(op, p, e);
	ret = ret ?: check_queue(p, df->local_fd);
	return ret ?: fd_set_path(df, p->link);
}

const struct dump_fd_kind dump_fd_fanotify = { "fanotify", is_fanotify, dump_fanotify, NULL };
