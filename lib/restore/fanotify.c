/*
 * fanotify groups (fd kind "fanotify"), in the root's C part: a new group
 * from the recorded fanotify_init() flags and event_f_flags, given every
 * mark with its flags, mask and ignore mask; then the recorded
 * O_NONBLOCK.  A mark's object is found as the dump recorded it and
 * nowhere else: an inode by its file handle on a mount of its filesystem
 * (it must be inode (dev, ino)), a mount by its id among the mounts of
 * the tree's own mount namespace (its mount point, no symlink followed,
 * must show that very mount and device), a filesystem by a mount of its
 * device there.  Only FAN_CLASS_NOTIF groups (the dump refuses others).
 *
 * A crafted image must not make root watch what the task could not:
 * check_host asks, with every holder's image credentials, whether it may
 * read each object (what fanotify_mark() checks), and requires
 * CAP_SYS_ADMIN in its effective set unless the group is one an
 * unprivileged task may create (FAN_REPORT_FID family, inode marks only).
 */
#define LOG_PREFIX "restore: "
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/fanotify.h>
#include <sys/sysmacros.h>

#include "log.h"
#include "proc/proc.h"
#include "restore/restore.h"
#include "util/cleanup.h"

#define FAN_CLASSES (FAN_CLASS_CONTENT | FAN_CLASS_PRE_CONTENT)
#define FAN_INIT_KNOWN 0x3ff3u /* FAN_CLOEXEC .. FAN_REPORT_MNT, no class bits */
#define FAN_EVENT_F_KNOWN                                                                   \
	(O_ACCMODE | O_APPEND | O_NONBLOCK | O_DSYNC | O_SYNC | 0100000 /* O_LARGEFILE */ | \
	 O_NOATIME | O_CLOEXEC)
#define FAN_MFLAGS_KNOWN (FAN_MARK_IGNORED_SURV_MODIFY | FAN_MARK_EVICTABLE | FAN_MARK_IGNORE)
#define FAN_MASK_KNOWN (0x1fffu | FAN_FS_ERROR | FAN_EVENT_ON_CHILD | FAN_RENAME | FAN_ONDIR)
#define FAN_MARKS_MAX (1u << 20)
#define CAP_SYS_ADMIN_BIT (1ull << 21)
#define CHECK_BATCH 256

static const char *const type_names[] = { "inode", "mount", "filesystem" };

/* The object a mark names: its kind, and (dev, ino) or mnt_id. */
struct mark_key {
	uint32_t type;
	uint64_t dev, id;
};

static int cmp_key(const void *a, const void *b)
{
	const struct mark_key *x = a, *y = b;

	if (x->type != y->type)
		return x->type < y->type ? -1 : 1;
	if (x->dev != y->dev)
		return x->dev < y->dev ? -1 : 1;
	return x->id < y->id ? -1 : x->id > y->id;
}

/* One mark of file id alone: its fields for its type, known bits.  0/-EBADMSG. */
static int check_mark(uint32_t id, const FanotifyMark *m)
{
	bool ok = m->has_type && m->has_mflags && m->has_mask && m->has_ignored_mask && m->has_dev;

	if (ok && m->type == FANOTIFY_MARK_TYPE__FANOTIFY_MARK_INODE)
		ok = m->has_ino && m->has_fh_type && m->has_fh && m->fh.len &&
		     m->fh.len <= MAX_HANDLE_SZ;
	else if (ok && m->type == FANOTIFY_MARK_TYPE__FANOTIFY_MARK_MOUNT)
		ok = m->has_mnt_id;
	else if (ok)
		ok = m->type == FANOTIFY_MARK_TYPE__FANOTIFY_MARK_FILESYSTEM;
	if (!ok) {
		pr_err("image: fanotify (file id %u): a mark of type %d lacks a field or has a "
		       "file handle of %zu bytes (1..%d)\n",
		       id, (int)m->type, m->has_fh ? m->fh.len : 0, MAX_HANDLE_SZ);
		return -EBADMSG;
	}
	if ((m->mflags & ~FAN_MFLAGS_KNOWN) || ((m->mask | m->ignored_mask) & ~FAN_MASK_KNOWN)) {
		pr_err("image: fanotify (file id %u): a mark with unknown flags or mask bits "
		       "(%#x, %#x, %#x)\n",
		       id, m->mflags, m->mask, m->ignored_mask);
		return -EBADMSG;
	}
	return 0;
}

/* No object marked twice in e.  0, -EBADMSG or -ENOMEM (logged). */
static int check_unique(uint32_t id, const FanotifyEntry *e)
{
	_cleanup_free_ struct mark_key *k = NULL;
	size_t i, n = e->n_marks;

	k = calloc(n ? n : 1, sizeof(*k));
	if (!k)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		const FanotifyMark *m = e->marks[i];

		k[i] = (struct mark_key){ m->type, m->dev,
					  m->type == FANOTIFY_MARK_TYPE__FANOTIFY_MARK_MOUNT ?
						  m->mnt_id :
						  m->ino };
	}
	qsort(k, n, sizeof(*k), cmp_key);
	for (i = 1; i < n; i++)
		if (!cmp_key(&k[i], &k[i - 1])) {
			pr_err("image: fanotify (file id %u): one %s marked twice\n", id,
			       type_names[k[i].type]);
			return -EBADMSG;
		}
	return 0;
}

/* The image alone: the group's flags and marks are there and in range. */
static int check_fanotify(const struct rst_image *img, const struct rst_file *f)
{
	const FanotifyEntry *e = f->fe->fanotify;
	uint32_t id = f->fe->id;
	size_t i;
	int ret;

	if (!e || !e->has_flags || !e->has_event_flags) {
		pr_err("image: fanotify (file id %u) has no fanotify entry or flags\n", id);
		return -EBADMSG;
	}
	if (e->flags & FAN_CLASSES) {
		pr_err("image: fanotify (file id %u): a permission-class group is not restored\n",
		       id);
		return -EBADMSG;
	}
	if ((e->flags & ~FAN_INIT_KNOWN) || (e->event_flags & ~FAN_EVENT_F_KNOWN)) {
		pr_err("image: fanotify (file id %u): unknown init flags %#x or event flags %#x\n",
		       id, e->flags & ~FAN_INIT_KNOWN, e->event_flags & ~FAN_EVENT_F_KNOWN);
		return -EBADMSG;
	}
	if (e->n_marks > FAN_MARKS_MAX) {
		pr_err("image: fanotify (file id %u): %zu marks (at most %u)\n", id, e->n_marks,
		       FAN_MARKS_MAX);
		return -EBADMSG;
	}
	for (i = 0; i < e->n_marks; i++) {
		ret = check_mark(id, e->marks[i]);
		if (ret)
			return ret;
	}
	return check_unique(id, e);
}

/*
 * A directory or O_PATH fd on the object of mark m (in our own mount
 * namespace), or -errno logged with what failed.
 */
static int open_object(uint32_t id, const FanotifyMark *m)
{
	const char *why;
	dev_t dev = 0;
	int fd;

	if (m->type == FANOTIFY_MARK_TYPE__FANOTIFY_MARK_MOUNT) {
		fd = proc_mount_fd_by_id(m->mnt_id, &dev);
		if (fd >= 0 && dev != m->dev) {
			close(fd);
			fd = -EXDEV;
		}
		why = fd == -EXDEV ? "that mount is of another device" :
				     "no such mount here (the tree's mount namespace)";
	} else if (m->type == FANOTIFY_MARK_TYPE__FANOTIFY_MARK_FILESYSTEM) {
		fd = proc_fs_mount_fd(m->dev);
		why = "no mount of that filesystem here";
	} else {
		fd = proc_open_handle(m->dev, m->ino, m->fh_type, m->fh.data, m->fh.len, O_PATH);
		why = fd == -ENODEV ?
			      "no mount of its filesystem here" :
		      fd == -EXDEV ?
			      "its handle opens another inode (not restored on another file)" :
		      fd == -ESTALE ? "its file handle no longer resolves (the file is gone)" :
				      strerror(-fd);
	}
	if (fd >= 0)
		return fd;
	pr_err("fanotify (file id %u): mark on %s %llu (dev %u:%u): %s\n", id, type_names[m->type],
	       (unsigned long long)(m->type == FANOTIFY_MARK_TYPE__FANOTIFY_MARK_MOUNT ? m->mnt_id :
											 m->ino),
	       major(m->dev), minor(m->dev), why);
	return fd == -ENOMEM ? fd : -ENOENT;
}

/* Does restoring e need CAP_SYS_ADMIN (as fanotify_init/mark would)? */
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

/* Marks [from, to) of f, as every holder.  0 or -errno (logged). */
static int check_batch(const struct rst_image *img, const struct rst_file *f, size_t from,
		       size_t to)
{
	const FanotifyEntry *e = f->fe->fanotify;
	const struct rst_proc *who = NULL;
	int fds[CHECK_BATCH], ret = 0;
	size_t i, n = 0, bad = 0;

	for (i = from; i < to && !ret; i++) {
		fds[n] = open_object(f->fe->id, e->marks[i]);
		ret = fds[n] < 0 ? fds[n] : 0;
		n += !ret;
	}
	if (!ret) {
		ret = fsnotify_check_holders(img, f->fe->id, fds, n,
					     needs_admin(e) ? CAP_SYS_ADMIN_BIT : 0, &bad, &who);
		if (ret == -EACCES && bad == n)
			pr_err("fanotify (file id %u): pid %u (uid %u) lacks CAP_SYS_ADMIN, which "
			       "this group and its marks need\n",
			       f->fe->id, who->task->pid, who->creds->fsuid);
		else if (ret == -EACCES)
			pr_err("fanotify (file id %u): pid %u (uid %u) may not read the %s of mark "
			       "%zu, so it could not mark it\n",
			       f->fe->id, who->task->pid, who->creds->fsuid,
			       type_names[e->marks[from + bad]->type], from + bad);
	}
	while (n)
		close(fds[--n]);
	return ret;
}

/* What the image names on this host: each object there, allowed to its holders. */
static int check_host_fanotify(const struct rst_image *img, const struct rst_file *f)
{
	size_t i, n = f->fe->fanotify->n_marks;
	int ret;

	if (!n)
		return check_batch(img, f, 0, 0);
	for (i = 0; i < n; i += CHECK_BATCH) {
		ret = check_batch(img, f, i, i + CHECK_BATCH < n ? i + CHECK_BATCH : n);
		if (ret)
			return ret;
	}
	return 0;
}

/* Mark m onto group gfd: its mask, then its ignore mask.  0 or -errno (logged). */
static int add_mark(int gfd, uint32_t id, const FanotifyMark *m)
{
	static const unsigned type_flag[] = { FAN_MARK_INODE, FAN_MARK_MOUNT, FAN_MARK_FILESYSTEM };
	_cleanup_close_ int fd = -1;
	unsigned base, ign;
	char path[64];

	fd = open_object(id, m);
	if (fd < 0)
		return fd;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	base = FAN_MARK_ADD | type_flag[m->type] | (m->mflags & FAN_MARK_EVICTABLE);
	ign = (m->mflags & FAN_MARK_IGNORE ? FAN_MARK_IGNORE : FAN_MARK_IGNORED_MASK) |
	      (m->mflags & FAN_MARK_IGNORED_SURV_MODIFY);
	if (m->mask && fanotify_mark(gfd, base, m->mask, AT_FDCWD, path))
		goto out_err;
	if ((m->ignored_mask || (m->mflags & ~FAN_MARK_EVICTABLE)) &&
	    fanotify_mark(gfd, base | ign, m->ignored_mask, AT_FDCWD, path))
		goto out_err;
	return 0;
out_err:
	pr_perror("fanotify (file id %u): mark on %s %llu (mask %#x, ignore mask %#x, flags %#x)",
		  id, type_names[m->type],
		  (unsigned long long)(m->type == FANOTIFY_MARK_TYPE__FANOTIFY_MARK_MOUNT ?
					       m->mnt_id :
					       m->ino),
		  m->mask, m->ignored_mask, m->mflags);
	return -errno;
}

/* A new fanotify group with the recorded flags, marks and file flags. */
static int open_fanotify(const struct rst_image *img, struct rst_file *f)
{
	const FanotifyEntry *e = f->fe->fanotify;
	size_t i;
	int gfd, ret = 0;

	gfd = fanotify_init(e->flags, e->event_flags);
	if (gfd < 0) {
		pr_perror("fanotify (file id %u): fanotify_init(%#x, %#x)", f->fe->id, e->flags,
			  e->event_flags);
		return -errno;
	}
	/* fdinfo lists the newest mark first: the oldest is added first again */
	for (i = e->n_marks; !ret && i > 0; i--)
		ret = add_mark(gfd, f->fe->id, e->marks[i - 1]);
	if (ret) {
		close(gfd);
		return ret;
	}
	f->stage_fd = rst_stage_fd(img, gfd);
	return f->stage_fd < 0 ? f->stage_fd : rst_set_fl(f->stage_fd, f->fe->flags);
}

const struct rst_fd_kind rst_fd_fanotify = {
	.kind = FILE_KIND__FILE_FANOTIFY,
	.name = "fanotify",
	.check_image = check_fanotify,
	.check_host = check_host_fanotify,
	.open = open_fanotify,
};
