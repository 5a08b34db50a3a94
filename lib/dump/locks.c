/*
 * File locks held by the tree: POSIX (owned by an fd table), OFD and flock
 * (owned by an open file description) and leases, one LOCK record each.
 *
 * Source of truth per fd: the "lock:" lines of /proc/PID/fdinfo/N, which
 * list the locks set through that description whose owner is that
 * description (OFD, flock, lease) or the reader's fd table (POSIX).  So
 * each line names the owner, and the fd it is re-taken through.  Then
 * /proc/locks is read once: a lock of a process of the tree that no fd
 * showed (held through a mapping, a description passed away, ...) is a
 * refusal, as is every lock restore cannot take again (see refuse_why()).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <linux/kcmp.h>

#define LOG_PREFIX "dump/locks: "
#include "log.h"
#include "dump/dump.h"
#include "img/img.h"
#include "img/records.h"
#include "lock.pb-c.h"

/* One held lock and where restore takes it again. */
struct dump_lock {
	struct proc_lock pl;
	uint32_t file_id;  /* the description */
	uint32_t files_id; /* the fd table that takes it (POSIX: owns it) */
	pid_t pid;	   /* the task holding that table */
	int fd;		   /* its fd on file_id */
	bool refused;	   /* refused (said once): not written, not checked */
};

/* Why restore cannot take l again, or NULL. */
static const char *refuse_why(const struct dump_op *op, const struct proc_lock *l,
			      uint32_t files_id)
{
	if (l->mandatory)
		return "mandatory locks cannot be restored";
	if (l->no_inode)
		return "not on an inode";
	if (l->waiter || l->type == F_UNLCK)
		return "not a held lock";
	switch (l->cls) {
	case PROC_LOCK_POSIX:
		if (files_id > op->n_tasks)
			return "held through a thread's own fd table: not supported";
		return NULL;
	case PROC_LOCK_OFD:
	case PROC_LOCK_FLOCK:
		return NULL;
	case PROC_LOCK_LEASE:
		return l->breaking ? "a lease being broken cannot be restored" : NULL;
	case PROC_LOCK_DELEG:
		return "an NFS delegation cannot be restored";
	default:
		return "a transient kernel lock";
	}
}

static bool same_lock(const struct proc_lock *a, const struct proc_lock *b)
{
	return a->cls == b->cls && a->type == b->type && a->start == b->start && a->end == b->end &&
	       a->dev_major == b->dev_major && a->dev_minor == b->dev_minor && a->ino == b->ino;
}

/* The recorded lock l is, by owner; NULL if new. */
static struct dump_lock *find_lock(struct dump_op *op, const struct proc_lock *l, uint32_t file_id,
				   uint32_t files_id)
{
	size_t i;

	for (i = 0; i < op->n_locks; i++) {
		struct dump_lock *d = &op->locks[i];

		if (!same_lock(&d->pl, l))
			continue;
		if (l->cls == PROC_LOCK_POSIX ? d->files_id == files_id : d->file_id == file_id)
			return d;
	}
	return NULL;
}

static void lock_text(const struct proc_lock *l, char *buf, size_t len)
{
	char end[24] = "EOF";

	if (l->end != PROC_LOCK_EOF)
		snprintf(end, sizeof(end), "%llu", (unsigned long long)l->end);
	snprintf(buf, len, "%s %s lock on %02x:%02x:%llu [%llu, %s]", proc_lock_class_name(l->cls),
		 l->type == F_WRLCK ? "WRITE" :
		 l->type == F_RDLCK ? "READ" :
				      "UNLCK",
		 l->dev_major, l->dev_minor, (unsigned long long)l->ino,
		 (unsigned long long)l->start, end);
}

/* Records one lock seen on fd of pid (table files_id).  0/-errno (logged). */
static int note_lock(struct dump_op *op, const struct proc_lock *l, pid_t pid, int fd,
		     uint32_t files_id, const struct dump_file *df)
{
	const char *why = refuse_why(op, l, files_id);
	struct dump_lock *d, *nv;
	char text[128];

	d = find_lock(op, l, df->e.id, files_id);
	if (d && d->refused)
		return 0; /* said once, for the first fd showing it */
	if (why) {
		lock_text(l, text, sizeof(text));
		pr_err("pid %d fd %d (%s): %s: %s\n", pid, fd, df->path, text, why);
	}
	if (d && why)
		return -EOPNOTSUPP;
	if (d) { /* a lease is taken again by the process that took it */
		if (l->cls == PROC_LOCK_LEASE && d->pid != l->pid && pid == l->pid)
			goto out_holder;
		return 0;
	}
	nv = realloc(op->locks, (op->n_locks + 1) * sizeof(*nv));
	if (!nv)
		return -ENOMEM;
	op->locks = nv;
	d = &nv[op->n_locks++];
	d->pl = *l;
	d->file_id = df->e.id;
	d->refused = why != NULL;
	if (why)
		return -EOPNOTSUPP;
out_holder:
	d->files_id = files_id;
	d->pid = pid;
	d->fd = fd;
	return 0;
}

int locks_note_fd(struct dump_op *op, pid_t pid, int fd, uint32_t files_id,
		  const struct dump_file *df, const char *fdinfo)
{
	struct proc_lock *v;
	size_t n, i;
	int ret;

	if (!strstr(fdinfo, "\nlock:"))
		return 0;
	ret = proc_parse_locks(fdinfo, "lock:\t", &v, &n);
	if (ret) {
		pr_err("pid %d fd %d: malformed lock line in fdinfo\n", pid, fd);
		return ret;
	}
	for (i = 0; !ret && i < n; i++)
		ret = note_lock(op, &v[i], pid, fd, files_id, df);
	free(v);
	return ret;
}

/* Does process out hold the description of fd of pid (inode st)?  kcmp. */
static bool holds_description(pid_t out, pid_t pid, int fd, const FileEntry *e)
{
	char path[300];
	struct dirent *de;
	struct stat st;
	bool found = false;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/fd", out);
	d = opendir(path);
	if (!d)
		return false; /* gone, or a kernel thread: holds nothing */
	while (!found && (de = readdir(d))) {
		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%d/fd/%s", out, de->d_name);
		if (stat(path, &st) || st.st_dev != e->dev || st.st_ino != e->ino)
			continue;
		found = syscall(SYS_kcmp, out, pid, KCMP_FILE, atoi(de->d_name), fd) == 0;
	}
	closedir(d);
	return found;
}

/* A process outside the tree (and not us) holding d's description, or 0. */
static pid_t outside_holder(const struct dump_op *op, const struct dump_lock *d)
{
	const FileEntry *e = &op->files.v[d->file_id - 1].e;
	struct dirent *de;
	pid_t pid = 0, p;
	DIR *dir;

	dir = opendir("/proc");
	if (!dir)
		return 0;
	while (!pid && (de = readdir(dir))) {
		p = atoi(de->d_name);
		if (p <= 0 || p == getpid() || dump_tree_has_pid(op, p))
			continue;
		if (holds_description(p, d->pid, d->fd, e))
			pid = p;
	}
	closedir(dir);
	return pid;
}

/*
 * A lock owned by a description (OFD, flock, lease) is the tree's only if
 * no process outside it holds that description too: such a lock would
 * outlive the dumped tree and block its restore.  A lease must also have
 * been taken inside the tree (its break is signalled to the taker).  Each
 * such lock costs a walk over every fd of the system.  0 or -EOPNOTSUPP
 * (logged).
 */
static int check_owner(struct dump_op *op, const struct dump_lock *d)
{
	char text[128];
	pid_t out;

	if (d->pl.cls == PROC_LOCK_POSIX)
		return 0;
	if (d->pl.cls == PROC_LOCK_LEASE && d->pid != d->pl.pid)
		out = d->pl.pid;
	else
		out = outside_holder(op, d);
	if (!out)
		return 0;
	lock_text(&d->pl, text, sizeof(text));
	pr_err("pid %d fd %d (%s): %s: shared with pid %d, outside the dumped tree\n", d->pid,
	       d->fd, op->files.v[d->file_id - 1].path, text, out);
	return -EOPNOTSUPP;
}

/* Is l (a line of /proc/locks) one of the recorded locks? */
static bool recorded(const struct dump_op *op, const struct proc_lock *l)
{
	size_t i;

	for (i = 0; i < op->n_locks; i++)
		if (same_lock(&op->locks[i].pl, l))
			return true;
	return false;
}

/*
 * After every fd table is collected: the recorded locks' owners, and every
 * lock /proc/locks gives to a process of the tree must be a recorded one.
 * 0 or -errno (logged): -EOPNOTSUPP for a lock restore could not take.
 */
int locks_check(struct dump_op *op)
{
	struct proc_lock *v;
	char *text, what[128];
	size_t n, i;
	int ret;

	for (i = 0; i < op->n_locks; i++) {
		if (op->locks[i].refused)
			continue;
		ret = check_owner(op, &op->locks[i]);
		if (ret)
			return ret;
	}
	ret = proc_read_path("/proc/locks", &text, NULL);
	if (ret) {
		pr_err("cannot read /proc/locks: %s\n", strerror(-ret));
		return ret;
	}
	ret = proc_parse_locks(text, "", &v, &n);
	free(text);
	if (ret) {
		pr_err("/proc/locks: a line not in the expected format\n");
		return ret;
	}
	for (i = 0; !ret && i < n; i++) {
		if (v[i].waiter || v[i].pid <= 0 || !dump_tree_has_pid(op, v[i].pid) ||
		    recorded(op, &v[i]))
			continue;
		lock_text(&v[i], what, sizeof(what));
		pr_err("pid %d: %s: held through no fd of the dump (a mapping, or a description "
		       "passed on): cannot be restored\n",
		       v[i].pid, what);
		ret = -EOPNOTSUPP;
	}
	free(v);
	return ret;
}

/* One LOCK record per recorded lock.  0 or -errno (logged). */
int write_locks(struct dump_op *op)
{
	size_t i;
	int ret = 0;

	for (i = 0; !ret && i < op->n_locks; i++) {
		const struct dump_lock *d = &op->locks[i];
		static const int kinds[] = {
			[PROC_LOCK_POSIX] = LOCK_KIND__LOCK_POSIX,
			[PROC_LOCK_OFD] = LOCK_KIND__LOCK_OFD,
			[PROC_LOCK_FLOCK] = LOCK_KIND__LOCK_FLOCK,
			[PROC_LOCK_LEASE] = LOCK_KIND__LOCK_LEASE,
		};
		LockEntry e = LOCK_ENTRY__INIT;

		PB_SET(&e, kind, kinds[d->pl.cls]);
		PB_SET(&e, type,
		       d->pl.type == F_WRLCK ? LOCK_TYPE__LOCK_WRITE : LOCK_TYPE__LOCK_READ);
		PB_SET(&e, start, d->pl.start);
		PB_SET(&e, len, d->pl.end == PROC_LOCK_EOF ? 0 : d->pl.end - d->pl.start + 1);
		PB_SET(&e, files_id, d->files_id);
		PB_SET(&e, fd, d->fd);
		PB_SET(&e, file_id, d->file_id);
		PB_SET(&e, pid, dump_vpid(op, d->pid));
		ret = img_write_msg(op->w, IMG_REC_LOCK, &e.base);
		if (ret)
			pr_err("pid %d fd %d: cannot write its lock: %s\n", d->pid, d->fd,
			       strerror(-ret));
	}
	return ret;
}

void locks_free(struct dump_op *op)
{
	free(op->locks);
	op->locks = NULL;
	op->n_locks = 0;
}
