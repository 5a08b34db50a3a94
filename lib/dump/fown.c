/*
 * Owners of file descriptions (F_SETOWN / F_SETOWN_EX, F_SETSIG): who
 * gets SIGIO (or the F_SETSIG signal, with si_fd) when I/O is possible on
 * an O_ASYNC description, and who gets SIGURG.  The owner is per
 * description, so it is read with fcntl(F_GETOWN_EX, F_GETSIG) on the
 * dumper's pidfd_getfd copy, which shares the description.  An owner must
 * be a task (F_OWNER_TID), process (F_OWNER_PID) or process group
 * (F_OWNER_PGRP) of the tree: any other is refused, it would be signalled
 * after the restore (or not at all) instead of the one dumped.  Restore:
 * lib/restore/fown.c.  O_ASYNC itself is in file_entry.flags.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>

#define LOG_PREFIX "dump/fown: "
#include "log.h"
#include "dump/dump.h"

const struct dump_task *dump_tree_task(const struct dump_op *op, pid_t pid, pid_t *v)
{
	size_t i, j;

	for (i = 0; i < op->n_tasks; i++) {
		const struct dump_task *t = op->tasks[i];

		for (j = 1; j < t->n_threads; j++) {
			if (t->threads[j].tid != pid)
				continue;
			*v = dump_vpid(op, pid);
			return t;
		}
		if (t->pid == pid) {
			*v = dump_vpid(op, pid);
			return t;
		}
	}
	return NULL;
}

/*
 * Is pgrp a process group led by a process of the tree?  Only those come
 * back as the same group (the root's group when it does not lead it
 * becomes vxrestore's; a group whose leader exited is not an owner here).
 */
static bool tree_pgrp(const struct dump_op *op, pid_t pgrp)
{
	size_t i;

	for (i = 0; i < op->n_tasks; i++)
		if (!op->tasks[i]->gone && op->tasks[i]->pid == pgrp &&
		    op->tasks[i]->stat.pgrp == pgrp)
			return true;
	return false;
}

/* The owner of p's description (read on p->local) into df.  0 or -errno. */
int fown_dump(struct dump_op *op, const struct fd_probe *p, struct dump_file *df)
{
	struct f_owner_ex ox = { 0, 0 };
	pid_t v = 0;
	int sig;

	if (p->fi.flags & O_PATH)
		return 0; /* no owner: fcntl refuses F_GETOWN_EX on O_PATH */
	if (p->local < 0 || fcntl(p->local, F_GETOWN_EX, &ox) ||
	    (sig = fcntl(p->local, F_GETSIG)) < 0) {
		if (!(p->fi.flags & O_ASYNC))
			return 0; /* no copy of it (or no owner to read): signals nobody */
		pr_err("pid %d fd %d: %s: cannot read the owner of an O_ASYNC file\n", p->pid,
		       p->fd, p->link);
		return -EOPNOTSUPP;
	}
	if (sig < 0 || sig >= _NSIG) {
		pr_err("pid %d fd %d: F_GETSIG says %d\n", p->pid, p->fd, sig);
		return -EINVAL;
	}
	if (ox.pid > 0) {
		if (ox.type == F_OWNER_PGRP)
			v = tree_pgrp(op, ox.pid) ? dump_vpid(op, ox.pid) : 0;
		else if (ox.type == F_OWNER_TID || ox.type == F_OWNER_PID)
			dump_tree_task(op, ox.pid, &v);
		if (v <= 0) {
			pr_err("pid %d fd %d: %s: its owner (F_SETOWN %s %d) is not in the tree: "
			       "not supported\n",
			       p->pid, p->fd, p->link,
			       ox.type == F_OWNER_PGRP ? "process group" :
			       ox.type == F_OWNER_TID  ? "thread" :
							 "process",
			       ox.pid);
			return -EOPNOTSUPP;
		}
		PB_SET(&df->e, owner_type, (uint32_t)ox.type);
		PB_SET(&df->e, owner_pid, (uint32_t)v);
	}
	if (sig)
		PB_SET(&df->e, signum, (uint32_t)sig);
	return 0;
}
