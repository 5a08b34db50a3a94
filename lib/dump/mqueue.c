/*
 * POSIX message queue fds (fd kind "mqueue", FILE_MQUEUE): an fd of
 * mq_open, whose queue is one of the tree's IPC namespace (its messages
 * and attributes are in IPCNS, ipcns-mq.c); the fd is its name and
 * flags (O_NONBLOCK, access mode: the common flags).  A queue of
 * vxdump's own namespace, of another one, or unlinked while open is
 * refused.  A notification registration (mq_notify) is refused with the
 * queue (ipcns-mq.c).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>

#define LOG_PREFIX "dump/mqueue: "
#include "log.h"
#include "dump/dump.h"

#define MQUEUE_MAGIC 0x19800202

static bool is_mqueue(const struct fd_probe *p)
{
	struct statfs sf;
	char path[64];

	if (!S_ISREG(p->st.st_mode))
		return false;
	snprintf(path, sizeof(path), "/proc/%d/fd/%d", p->pid, p->fd);
	return !statfs(path, &sf) && sf.f_type == MQUEUE_MAGIC;
}

static int dump_mqueue(struct dump_op *op, struct fd_probe *p, struct dump_file *df)
{
	const char *name = p->link[0] == '/' ? p->link + 1 : "";
	size_t i;
	int ret;

	df->e.kind = FILE_KIND__FILE_MQUEUE;
	if (!op->ipcns || p->st.st_dev != op->ipcns_mq_dev) {
		pr_err("pid %d fd %d: POSIX queue %s is not one of an IPC namespace of the tree's "
		       "own: not supported\n",
		       p->pid, p->fd, p->link);
		return -EOPNOTSUPP;
	}
	for (i = 0; i < op->ipcns->n_mqs && strcmp(op->ipcns->mqs[i]->name, name); i++)
		;
	if (i == op->ipcns->n_mqs) {
		pr_err("pid %d fd %d: POSIX queue %s was unlinked while open: not supported\n",
		       p->pid, p->fd, p->link);
		return -EOPNOTSUPP;
	}
	ret = fd_set_path(df, p->link);
	if (!ret)
		df->e.mq_name = df->path + 1; /* freed with the path */
	return ret;
}

const struct dump_fd_kind dump_fd_mqueue = { "mqueue", is_mqueue, dump_mqueue, NULL };
