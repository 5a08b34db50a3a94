/*
 * pidfds (fd kind "pidfd"): the process (or thread, PIDFD_THREAD) it
 * refers to, in image numbering, or the exit status of a dead and reaped
 * one; O_NONBLOCK and PIDFD_THREAD (O_EXCL) are in the common flags.
 *
 * What Linux 6.18 prints (fs/pidfs.c, pidfd_show_fdinfo), in the pid
 * namespace of the /proc we read:
 *   Pid:	%d      the pid (tid with PIDFD_THREAD); -1 once reaped; 0 when
 *                  not in that namespace
 *   NSpid:	...     the same in each nested namespace
 * The link reads "anon_inode:[pidfd]" (pidfs keeps the old name).  A
 * zombie still shows its pid.  A reaped one keeps its wait status in
 * pidfs, which PIDFD_GET_INFO with PIDFD_INFO_EXIT (6.15) reads on our
 * copy; restore gives its dead pidfd the same status.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#define LOG_PREFIX "pidfd: "
#include "log.h"
#include "dump/dump.h"
#include "proc/proc.h"

/* the 6.15+ layout of struct pidfd_info (linux/pidfd.h, not in our headers) */
struct pidfd_info_v1 {
	uint64_t mask, cgroupid;
	uint32_t pid, tgid, ppid, ruid, rgid, euid, egid, suid, sgid, fsuid, fsgid;
	int32_t exit_code;
	uint32_t coredump_mask, spare;
};
#define PIDFD_GET_INFO_V1 _IOWR(0xFF, 11, struct pidfd_info_v1)
#define PIDFD_INFO_EXIT (1ULL << 3)
#define WAIT_CORE 0x80

static bool is_pidfd(const struct fd_probe *p)
{
	return !strcmp(p->link, "anon_inode:[pidfd]");
}

/* The "Pid:" of fdinfo text: -1 (reaped) or a pid.  0 or -EINVAL (hostile text). */
static int parse_pid(const char *text, long *pid)
{
	const char *s, *end;
	uint64_t v;

	if (proc_fdinfo_field(text, "Pid", &s, &end))
		return -EINVAL;
	if (end - s == 2 && !strncmp(s, "-1", 2)) {
		*pid = -1;
		return 0;
	}
	if (proc_fdinfo_u64(text, "Pid", 10, &v) || v > INT32_MAX)
		return -EINVAL;
	*pid = (long)v;
	return 0;
}

/* The wait status a reaped process left in our copy fd.  0 or -errno. */
static int dead_status(const struct fd_probe *p, int fd, int32_t *status)
{
	struct pidfd_info_v1 info;

	memset(&info, 0, sizeof(info));
	info.mask = PIDFD_INFO_EXIT;
	if (fd < 0 || ioctl(fd, PIDFD_GET_INFO_V1, &info) || !(info.mask & PIDFD_INFO_EXIT)) {
		pr_err("pid %d fd %d: pidfd of a reaped process whose exit status this kernel "
		       "does not give (PIDFD_INFO_EXIT): not supported\n",
		       p->pid, p->fd);
		return -EOPNOTSUPP;
	}
	if (info.exit_code & WAIT_CORE || (info.exit_code & 0x7f) == 0x7f) {
		pr_err("pid %d fd %d: pidfd of a process that dumped core (status %#x): a core "
		       "dump cannot be made again: not supported\n",
		       p->pid, p->fd, info.exit_code);
		return -EOPNOTSUPP;
	}
	*status = info.exit_code;
	return 0;
}

/* The process of pidfd p (image numbering) or its exit.  0 or -errno. */
static int dump_pidfd(struct dump_op *op, struct fd_probe *p, struct dump_file *df)
{
	int32_t status = -1;
	PidfdEntry *e;
	pid_t v = 0;
	long pid;
	int ret;

	df->e.kind = FILE_KIND__FILE_PIDFD;
	if (parse_pid(p->fdinfo, &pid)) {
		pr_err("pid %d fd %d: pidfd: malformed fdinfo (Pid)\n", p->pid, p->fd);
		return -EINVAL;
	}
	if (!pid) {
		pr_err("pid %d fd %d: pidfd of a process in another pid namespace: not "
		       "supported\n",
		       p->pid, p->fd);
		return -EOPNOTSUPP;
	}
	if (pid > 0 && (!dump_tree_task(op, (pid_t)pid, &v) || v <= 0)) {
		pr_err("pid %d fd %d: pidfd of %s %ld, which is not in the tree: not supported\n",
		       p->pid, p->fd, p->fi.flags & O_EXCL ? "thread" : "process", pid);
		return -EOPNOTSUPP;
	}
	if (pid < 0) {
		ret = dead_status(p, df->local_fd, &status);
		if (ret)
			return ret;
	}
	e = malloc(sizeof(*e));
	if (!e)
		return -ENOMEM;
	pidfd_entry__init(e);
	PB_SET(e, pid, (uint32_t)v);
	if (pid < 0)
		PB_SET(e, exit_status, status);
	df->sub = e;
	df->e.pidfd = e;
	return fd_set_path(df, p->link);
}

const struct dump_fd_kind dump_fd_pidfd = { "pidfd", is_pidfd, dump_pidfd, NULL };
