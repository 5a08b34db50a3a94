/*
 * signalfds (fd kind "signalfd"): the signal mask, read from
 * /proc/PID/fdinfo/FD; O_NONBLOCK is in the common flags.  A signalfd has
 * no queue of its own: it reads the reading task's pending signals, which
 * the task's SIGNALS records keep (signals.c), so nothing else is needed.
 * Shared descriptions are folded by the common code (kcmp).
 *
 * What Linux 6.18 prints (fs/signalfd.c, signalfd_show_fdinfo):
 *   sigmask:	%016llx          the mask, bit N-1 for signal N (render_sigset_t)
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#define LOG_PREFIX "signalfd: "
#include "log.h"
#include "dump/dump.h"
#include "proc/proc.h"

/* SIGKILL and SIGSTOP: the kernel never puts them in a signalfd's mask */
#define SIGNALFD_NEVER ((1ULL << (SIGKILL - 1)) | (1ULL << (SIGSTOP - 1)))

static bool is_signalfd(const struct fd_probe *p)
{
	return !strcmp(p->link, "anon_inode:[signalfd]");
}

/* The mask of signalfd p.  0 or -errno (logged). */
static int dump_signalfd(struct dump_op *op, struct fd_probe *p, struct dump_file *df)
{
	SignalfdEntry *e;
	uint64_t mask;

	df->e.kind = FILE_KIND__FILE_SIGNALFD;
	if (proc_fdinfo_u64(p->fdinfo, "sigmask", 16, &mask) || (mask & SIGNALFD_NEVER)) {
		pr_err("pid %d fd %d: signalfd: malformed fdinfo (sigmask)\n", p->pid, p->fd);
		return -EINVAL;
	}
	e = malloc(sizeof(*e));
	if (!e)
		return -ENOMEM;
	signalfd_entry__init(e);
	PB_SET(e, sigmask, mask);
	df->sub = e;
	df->e.signalfd = e;
	return fd_set_path(df, p->link);
}

const struct dump_fd_kind dump_fd_signalfd = { "signalfd", is_signalfd, dump_signalfd, NULL };
