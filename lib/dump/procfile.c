/*
 * Files below /proc/PID (fd kind "procfile"): /proc/PID/stat,
 * /proc/PID/status, /proc/PID/task/TID/..., the /proc/PID directory
 * itself, where PID is a process or thread of the tree.  Such a file is
 * bound to the task it was opened for, so it is recorded by the task
 * (proc_pid, the image's numbering) and the path below its directory
 * (proc_rest), and restore opens it again against the restored task
 * (lib/restore/procfile.c).  A /proc file of any other process, one seen
 * through another /proc mount (another pid namespace), an O_PATH one or
 * one in a thread's own fd table is refused.  /proc files that are no process's (/proc/meminfo,
 * /proc/sys/...) are regular files reopened by path ("reg").
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <linux/magic.h>

#define LOG_PREFIX "dump/procfile: "
#include "log.h"
#include "dump/dump.h"

/* The device of the /proc we read (0 if it cannot be stat'ed). */
static dev_t proc_dev(void)
{
	static dev_t dev;
	struct stat st;

	if (!dev && !stat("/proc", &st))
		dev = st.st_dev;
	return dev;
}

/* A /proc/NUMBER path on a procfs (ours, or another /proc mount). */
static bool is_procfile(const struct fd_probe *p)
{
	struct statfs sf;

	if (strncmp(p->link, "/proc/", 6) || !isdigit((unsigned char)p->link[6]))
		return false;
	if (p->st.st_dev == proc_dev())
		return true;
	return p->local >= 0 && !fstatfs(p->local, &sf) && sf.f_type == PROC_SUPER_MAGIC;
}

/* Is rest a plain relative path (no empty, "." or ".." component)? */
static bool plain_rest(const char *rest)
{
	const char *c = rest, *e;

	while (*c) {
		e = strchrnul(c, '/');
		if (e == c || (e - c == 1 && c[0] == '.') ||
		    (e - c == 2 && c[0] == '.' && c[1] == '.'))
			return false;
		c = *e ? e + 1 : e;
		if (!*c && *e)
			return false; /* trailing slash */
	}
	return true;
}

static int dump_procfile(struct dump_op *op, struct fd_probe *p, struct dump_file *df)
{
	const struct dump_task *t;
	char *end;
	long pid;
	pid_t v = 0;

	df->e.kind = FILE_KIND__FILE_PROC;
	if (p->st.st_dev != proc_dev()) {
		pr_err("pid %d fd %d: %s: a /proc file of another /proc mount (another pid "
		       "namespace): not supported\n",
		       p->pid, p->fd, p->link);
		return -EOPNOTSUPP;
	}
	pid = strtol(p->link + 6, &end, 10);
	if (*end && *end != '/') {
		pr_err("pid %d fd %d: %s: not a /proc/PID path\n", p->pid, p->fd, p->link);
		return -EOPNOTSUPP;
	}
	t = dump_tree_task(op, (pid_t)pid, &v);
	if (!t || v <= 0) {
		pr_err("pid %d fd %d: %s: a /proc file of pid %ld, which is not in the tree: "
		       "not supported\n",
		       p->pid, p->fd, p->link, pid);
		return -EOPNOTSUPP;
	}
	if (*end && (!end[1] || !plain_rest(end + 1))) {
		pr_err("pid %d fd %d: %s: not a plain path below /proc/%ld\n", p->pid, p->fd,
		       p->link, pid);
		return -EOPNOTSUPP;
	}
	if (p->fi.flags & O_PATH) {
		pr_err("pid %d fd %d: %s: an O_PATH fd on a /proc file: not supported\n", p->pid,
		       p->fd, p->link);
		return -EOPNOTSUPP;
	}
	if (op->tasks[p->index - 1]->pid != p->pid) {
		pr_err("pid %d fd %d: %s: a /proc file in a thread's own fd table: not "
		       "supported\n",
		       p->pid, p->fd, p->link);
		return -EOPNOTSUPP;
	}
	PB_SET(&df->e, proc_pid, (uint32_t)v);
	if (fd_set_path(df, p->link))
		return -ENOMEM;
	df->e.proc_rest = df->path + (end - p->link) + (*end ? 1 : 0);
	return 0;
}

/*
 * A description of kind "procfile" met again in another fd table: other
 * processes get it from the one that opens it (pidfd_getfd at restore),
 * a thread's own table is refused.  0 or -EOPNOTSUPP (logged).
 */
int procfile_check_holder(const struct dump_op *op, const struct dump_file *df,
			  const struct fd_probe *p)
{
	if (df->e.kind != FILE_KIND__FILE_PROC || op->tasks[p->index - 1]->pid == p->pid)
		return 0;
	pr_err("pid %d fd %d: %s: a /proc file in a thread's own fd table: not supported\n", p->pid,
	       p->fd, df->path);
	return -EOPNOTSUPP;
}

const struct dump_fd_kind dump_fd_procfile = { "procfile", is_procfile, dump_procfile, NULL };
