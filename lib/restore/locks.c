/*
 * File locks (LOCK records, see lib/dump/locks.c): each is taken again by
 * an injected call in the process whose fd table took it, through the
 * recorded fd, after that process's fds are final and the file pool is
 * closed (closing any fd of a file drops the POSIX locks its table holds
 * there) and before its credentials change (a lease needs the file's
 * owner or CAP_LEASE).  A lock someone else took meanwhile fails the
 * restore with one line naming pid, fd and path.
 */
#define LOG_PREFIX "restore/locks: "
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/file.h>
#include <sys/syscall.h>

#include "log.h"
#include "restore/restore.h"
#include "lock.pb-c.h"

static const char *const kind_names[] = { "POSIX", "OFD", "flock", "lease" };

/* The process that takes locks of table files_id: the first holding it. */
static bool takes_locks(const struct rst_proc *c, uint32_t files_id)
{
	return c->fdt && c->fdt->files_id == files_id && !(c->parent && c->parent->fdt == c->fdt);
}

/* fd's entry in c's table, if it is on description file_id. */
static bool fd_on(const struct rst_proc *c, uint32_t fd, uint32_t file_id)
{
	size_t i;

	for (i = 0; i < c->fdt->n_fds; i++)
		if (c->fdt->fds[i]->fd == fd)
			return c->fdt->fds[i]->file_id == file_id;
	return false;
}

/* A record's fields, before anything is created.  0 or -EBADMSG (logged). */
static int check_lock(const struct rst_image *img, const LockEntry *l, size_t idx)
{
	const struct rst_proc *c = NULL;
	size_t p;

	for (p = 0; !c && p < img->nr_procs; p++)
		if (img->procs[p]->task->state != TASK_STATE_DEAD &&
		    takes_locks(img->procs[p], l->files_id))
			c = img->procs[p];
	if ((unsigned)l->kind > LOCK_KIND__LOCK_LEASE ||
	    (unsigned)l->type > LOCK_TYPE__LOCK_WRITE || l->start > INT64_MAX ||
	    l->len > INT64_MAX - l->start) {
		pr_err("image: lock %zu: bad kind, type or range\n", idx);
		return -EBADMSG;
	}
	if (!c || !fd_on(c, l->fd, l->file_id)) {
		pr_err("image: lock %zu: fd %u of table %u is not on file %u\n", idx, l->fd,
		       l->files_id, l->file_id);
		return -EBADMSG;
	}
	return 0;
}

int locks_check_plan(const struct rst_image *img)
{
	size_t i;
	int ret = 0;

	for (i = 0; !ret && i < img->recs.n_locks; i++)
		ret = check_lock(img, img->recs.locks[i], i);
	return ret;
}

/* Takes lock l in c by one injected call.  0 or -errno (logged). */
static int take_lock(struct rst_proc *c, const LockEntry *l)
{
	struct flock fl = { .l_whence = SEEK_SET, .l_start = l->start, .l_len = l->len };
	uint64_t arg = c->img->scratch + RST_SCRATCH_DATA + RST_SCR_MISC;
	bool wr = l->type == LOCK_TYPE__LOCK_WRITE;
	const struct rst_file *f = plan_file(c->img, l->file_id);
	long r;

	fl.l_type = wr ? F_WRLCK : F_RDLCK;
	switch (l->kind) {
	case LOCK_KIND__LOCK_POSIX:
	case LOCK_KIND__LOCK_OFD:
		r = inject_write(c->pid, arg, &fl, sizeof(fl));
		r = r	  ?:
			    rst_inject(c, NULL, SYS_fcntl, l->fd,
				       l->kind == LOCK_KIND__LOCK_OFD ? F_OFD_SETLK : F_SETLK, arg,
				       0, 0, 0);
		break;
	case LOCK_KIND__LOCK_FLOCK:
		r = rst_inject(c, NULL, SYS_flock, l->fd, (wr ? LOCK_EX : LOCK_SH) | LOCK_NB, 0, 0,
			       0, 0);
		break;
	default:
		r = rst_inject(c, NULL, SYS_fcntl, l->fd, F_SETLEASE, fl.l_type, 0, 0, 0);
		break;
	}
	if (r >= 0)
		return 0;
	pr_err("pid %d fd %u (%s): cannot take its %s %s lock [%llu, +%llu]: %s\n", c->pid, l->fd,
	       f && f->fe->path ? f->fe->path : "?", kind_names[l->kind], wr ? "write" : "read",
	       (unsigned long long)l->start, (unsigned long long)l->len, strerror((int)-r));
	return (int)r;
}

int locks_restore(struct rst_proc *c)
{
	const struct rst_records *r = &c->img->recs;
	size_t i;
	int ret = 0;

	if (!c->fdt || !takes_locks(c, c->fdt->files_id))
		return 0;
	for (i = 0; !ret && i < r->n_locks; i++)
		if (r->locks[i]->files_id == c->fdt->files_id)
			ret = take_lock(c, r->locks[i]);
	return ret;
}
