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
#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#define LOG_PREFIX "signalfd: "
#include "log.h"
#include "dump/dump.h"

/* SIGKILL and SIGSTOP: the kernel never puts them in a signalfd's mask */
#define SIGNALFD_NEVER ((1ULL << (SIGKILL - 1)) | (1ULL << (SIGSTOP - 1)))

static bool is_signalfd(const struct fd_probe *p)
{
	return !strcmp(p->link, "anon_inode:[signalfd]");
}

/* The 16 hex digits of line "sigmask:" of fdinfo text.  0 or -EINVAL. */
static int parse_sigmask(const char *text, uint64_t *mask)
{
	const char *s = strstr(text, "\nsigmask:");
	char *end;
	int i;

	if (!s)
		return -EINVAL;
	s += strlen("\nsigmask:");
	while (*s == ' ' || *s == '\t')
		s++;
	for (i = 0; i < 16; i++)
		if (!isxdigit((unsigned char)s[i]))
			return -EINVAL;
	if (s[16] != '\n' && s[16])
		return -EINVAL;
	*mask = strtoull(s, &end, 16);
	return end == s + 16 ? 0 : -EINVAL;
}

/* The mask of signalfd p.  0 or -errno (logged). */
static int dump_signalfd(struct dump_op *op, struct fd_probe *p, struct dump_file *df)
{
	SignalfdEntry *e;
	uint64_t mask;

	df->e.kind = FILE_KIND__FILE_SIGNALFD;
	if (parse_sigmask(p->fdinfo, &mask) || (mask & SIGNALFD_NEVER)) {
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
