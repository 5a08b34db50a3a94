/*
 * eventfds (fd kind "eventfd"): the counter and the semaphore mode, read
 * from /proc/PID/fdinfo/FD (nothing is read from the eventfd itself: a
 * read would consume the count); O_NONBLOCK is in the common flags.
 * Descriptions shared by several fds or processes are folded by the
 * common code (kcmp), like every other kind.  fdinfo is parsed as hostile
 * text: each value must be a whole, well-formed number in range.
 *
 * What Linux 6.18 prints (fs/eventfd.c, eventfd_show_fdinfo):
 *   eventfd-count: %16llx      the counter, in hex, padded with spaces
 *   eventfd-id: %d             an ida number (not kept: kcmp tells sharing)
 *   eventfd-semaphore: %d      0 or 1 (since 6.6; refused when missing)
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define LOG_PREFIX "eventfd: "
#include "log.h"
#include "dump/dump.h"
#include "proc/proc.h"

static bool is_eventfd(const struct fd_probe *p)
{
	return !strcmp(p->link, "anon_inode:[eventfd]");
}

/* The counter and mode of eventfd p.  0 or -errno (logged). */
static int dump_eventfd(struct dump_op *op, struct fd_probe *p, struct dump_file *df)
{
	uint64_t count, sem;
	EventfdEntry *e;
	int ret;

	df->e.kind = FILE_KIND__FILE_EVENTFD;
	ret = proc_fdinfo_u64(p->fdinfo, "eventfd-count", 16, &count);
	if (ret || count == UINT64_MAX) {
		pr_err("pid %d fd %d: eventfd: malformed fdinfo (eventfd-count)\n", p->pid, p->fd);
		return -EINVAL;
	}
	ret = proc_fdinfo_u64(p->fdinfo, "eventfd-semaphore", 10, &sem);
	if (ret == -ENOENT) {
		pr_err("pid %d fd %d: eventfd: this kernel does not say whether it is a semaphore "
		       "(no eventfd-semaphore in fdinfo): not supported\n",
		       p->pid, p->fd);
		return -EOPNOTSUPP;
	}
	if (ret || sem > 1) {
		pr_err("pid %d fd %d: eventfd: malformed fdinfo (eventfd-semaphore)\n", p->pid,
		       p->fd);
		return -EINVAL;
	}
	e = malloc(sizeof(*e));
	if (!e)
		return -ENOMEM;
	eventfd_entry__init(e);
	PB_SET(e, count, count);
	PB_SET(e, semaphore, sem);
	df->sub = e;
	df->e.eventfd = e;
	return fd_set_path(df, p->link);
}

const struct dump_fd_kind dump_fd_eventfd = { "eventfd", is_eventfd, dump_eventfd, NULL };
