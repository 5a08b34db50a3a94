/*
 * Seccomp filters of every thread: the mode from its status (thread_status()),
 * the programs with PTRACE_SECCOMP_GET_FILTER and their flags with
 * PTRACE_SECCOMP_GET_METADATA (both need CAP_SYS_ADMIN, a dumper that is
 * not under seccomp itself and a kernel with CONFIG_CHECKPOINT_RESTORE);
 * the SECCOMP record (each distinct program once) and the id lists of
 * core_entry.seccomp_filters.  Kernel facts this relies on:
 * - Filters are per thread: a thread's filters are a chain from the most
 *   recent one back to the oldest; fork and clone copy the creator's chain
 *   (shared, reference counted), seccomp() without TSYNC adds to the
 *   caller's only.
 * - PTRACE_SECCOMP_GET_FILTER's index counts from the OLDEST filter: index
 *   0 is the first one installed (kernel/seccomp.c get_nth_filter() walks
 *   back count - index - 1 steps from the newest; checked on 6.18).
 *   ptrace(2) says the opposite.  An index past the last one: ENOENT.
 * - The metadata flags only report SECCOMP_FILTER_FLAG_LOG; TSYNC,
 *   SPEC_ALLOW and the listener flags act at install time and leave no
 *   trace in the filter.
 * - PTRACE_O_SUSPEND_SECCOMP (same requirements) turns a tracee's filters
 *   off while we trace it, so the syscalls we inject are not filtered; the
 *   kernel drops the option with the ptrace link (detach, or our death),
 *   so the target is never left unfiltered.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <linux/filter.h>
#include <linux/seccomp.h>

#define LOG_PREFIX "dump/seccomp: "
#include "log.h"
#include "dump/dump.h"
#include "img/img.h"
#include "img/records.h"
#include "seccomp.pb-c.h"

#include "util/seccomp-compat.h"
#ifndef SECCOMP_RET_ACTION_FULL
#define SECCOMP_RET_ACTION_FULL 0xffff0000U
#endif

/* struct seccomp_metadata of <linux/ptrace.h>, which clashes with <sys/ptrace.h>. */
struct seccomp_md {
	uint64_t filter_off;
	uint64_t flags;
};

/* Why a seccomp ptrace request failed with err, for the one-line refusal. */
static const char *why(int err)
{
	switch (err) {
	case EIO:
	case EINVAL:
		return "the kernel lacks it (CONFIG_CHECKPOINT_RESTORE and CONFIG_SECCOMP_FILTER needed)";
	case EACCES:
	case EPERM:
		return "it needs CAP_SYS_ADMIN and a dumper that is not under seccomp itself";
	case EMEDIUMTYPE:
		return "the filter is not a classic BPF program";
	default:
		return strerror(err);
	}
}

/*
 * True if prog can hand a call to a user-space supervisor: a RET with
 * constant SECCOMP_RET_USER_NOTIF.  Its listener is an fd of another
 * process; a restored copy would have none and fail such calls with
 * ENOSYS.  (A RET of the accumulator cannot be judged; it is let through.)
 */
static bool notifies(const struct dump_filter *f)
{
	const struct sock_filter *insn = (const struct sock_filter *)f->prog;
	size_t i;

	for (i = 0; i < f->len / sizeof(*insn); i++)
		if (insn[i].code == (BPF_RET | BPF_K) &&
		    (insn[i].k & SECCOMP_RET_ACTION_FULL) == SECCOMP_RET_USER_NOTIF)
			return true;
	return false;
}

/*
 * Filter idx (0 = oldest) of stopped tid into f.  Returns 0, 1 when there
 * is no such filter, or -errno (logged).
 */
static int get_filter(pid_t tid, unsigned long idx, struct dump_filter *f)
{
	struct seccomp_md md = { .filter_off = idx };
	long n;

	n = ptrace(PTRACE_SECCOMP_GET_FILTER, tid, idx, NULL);
	if (n < 0 && errno == ENOENT)
		return 1;
	if (n <= 0 || n > BPF_MAXINSNS) {
		int err = n < 0 ? errno : EBADMSG;

		pr_err("tid %d: cannot read its seccomp filter %lu: PTRACE_SECCOMP_GET_FILTER: %s\n",
		       tid, idx + 1, why(err));
		return -err;
	}
	f->len = n * sizeof(struct sock_filter);
	f->prog = malloc(f->len);
	if (!f->prog)
		return -ENOMEM;
	if (ptrace(PTRACE_SECCOMP_GET_FILTER, tid, idx, f->prog) != n) {
		pr_err("tid %d: seccomp filter %lu changed while being read\n", tid, idx + 1);
		n = -EAGAIN;
	} else if (ptrace(PTRACE_SECCOMP_GET_METADATA, tid, sizeof(md), &md) != sizeof(md)) {
		n = -errno;
		pr_err("tid %d: cannot read the flags of its seccomp filter %lu: PTRACE_SECCOMP_GET_METADATA: %s\n",
		       tid, idx + 1, why(-n));
	}
	if (n < 0) {
		free(f->prog);
		f->prog = NULL;
		return n;
	}
	f->flags = md.flags;
	return 0;
}

/* Every filter of stopped th, oldest first.  0 or -errno (logged). */
static int get_filters(struct dump_task *t, struct dump_thread *th, uint32_t count)
{
	struct dump_filter *nf;
	unsigned long i;
	int ret;

	for (i = 0;; i++) {
		nf = realloc(th->filters, (i + 1) * sizeof(*nf));
		if (!nf)
			return -ENOMEM;
		th->filters = nf;
		memset(&nf[i], 0, sizeof(nf[i]));
		ret = get_filter(th->tid, i, &nf[i]);
		if (ret)
			break;
		th->n_filters = i + 1;
		if (notifies(&nf[i])) {
			pr_err("tid %d (pid %d): its seccomp filter %lu hands calls to a user-space supervisor (SECCOMP_RET_USER_NOTIF), which cannot be restored\n",
			       th->tid, t->pid, i + 1);
			return -EOPNOTSUPP;
		}
	}
	if (ret < 0)
		return ret;
	if (!th->n_filters || (count && count != th->n_filters)) {
		pr_err("tid %d (pid %d): %zu seccomp filters found, its status says %u\n", th->tid,
		       t->pid, th->n_filters, count);
		return -EAGAIN;
	}
	th->filter_ids = calloc(th->n_filters, sizeof(*th->filter_ids));
	return th->filter_ids ? 0 : -ENOMEM;
}

/*
 * Seccomp state of frozen thread th of t, before anything is injected into
 * t: strict mode is refused (a strict thread may only read, write, exit
 * and sigreturn, so an injected call would kill it); a thread with filters
 * gets them suspended for the rest of the dump (PTRACE_O_SUSPEND_SECCOMP:
 * the injected getters must not meet its filters, which may deny or kill)
 * and its filters recorded.  Returns 0 or -errno (logged, one line).
 */
int collect_seccomp(struct dump_task *t, struct dump_thread *th)
{
	const struct proc_status *st = thread_status(t, th);
	int ret;

	if (!st)
		return -ESRCH;
	if (st->seccomp_mode == SECCOMP_MODE_STRICT) {
		pr_err("tid %d (pid %d) is in seccomp strict mode (SECCOMP_MODE_STRICT), which cannot be checkpointed\n",
		       th->tid, t->pid);
		return -EOPNOTSUPP;
	}
	if (st->seccomp_mode != SECCOMP_MODE_FILTER)
		return 0;
	/* the seize options (seize.c) plus this one */
	if (ptrace(PTRACE_SETOPTIONS, th->tid, NULL, DUMP_TRACE_OPTS | PTRACE_O_SUSPEND_SECCOMP)) {
		ret = -errno;
		pr_err("tid %d (pid %d) has seccomp filters: cannot suspend them for the dump: PTRACE_O_SUSPEND_SECCOMP: %s\n",
		       th->tid, t->pid, why(-ret));
		return ret;
	}
	return get_filters(t, th, st->seccomp_filters);
}

void free_filters(struct dump_thread *th)
{
	size_t i;

	for (i = 0; i < th->n_filters; i++)
		free(th->filters[i].prog);
	free(th->filters);
	free(th->filter_ids);
	th->filters = NULL;
	th->filter_ids = NULL;
	th->n_filters = 0;
}

/* The distinct filters of the image, in the order ids are given. */
struct filter_set {
	const struct dump_filter **v;
	size_t n;
};

/* The id of f in s (1-based), added if new.  0 when out of memory. */
static uint32_t filter_id(struct filter_set *s, const struct dump_filter *f)
{
	const struct dump_filter **nv;
	size_t i;

	for (i = 0; i < s->n; i++)
		if (s->v[i]->flags == f->flags && s->v[i]->len == f->len &&
		    !memcmp(s->v[i]->prog, f->prog, f->len))
			return i + 1;
	nv = realloc(s->v, (s->n + 1) * sizeof(*nv));
	if (!nv)
		return 0;
	s->v = nv;
	s->v[s->n++] = f;
	return s->n;
}

/* Gives every filter of every live thread its id.  0 or -ENOMEM. */
static int number_filters(struct dump_op *op, struct filter_set *s)
{
	size_t i, j, k;

	for (i = 0; i < op->n_tasks; i++) {
		struct dump_task *t = op->tasks[i];

		for (j = 0; !t->zombie && j < t->n_threads; j++) {
			struct dump_thread *th = &t->threads[j];

			for (k = 0; k < th->n_filters; k++) {
				th->filter_ids[k] = filter_id(s, &th->filters[k]);
				if (!th->filter_ids[k])
					return -ENOMEM;
			}
		}
	}
	return 0;
}

/*
 * The SECCOMP record: every distinct filter (same flags and program = one
 * id, numbered from 1 in task and thread order) once; sets each thread's
 * filter_ids for its core_entry.  Written before the CORE records; nothing
 * is written when no thread has a filter.  The record is not optional: a
 * build that does not know it must refuse the image rather than restore
 * the tasks without their filters.  Returns 0 or -errno (logged).
 */
int write_seccomp(struct dump_op *op)
{
	SeccompEntry se = SECCOMP_ENTRY__INIT;
	SeccompFilter *fs = NULL, **pfs = NULL;
	struct filter_set s = { NULL, 0 };
	size_t i;
	int ret;

	ret = number_filters(op, &s);
	if (ret || !s.n)
		goto out;
	ret = -ENOMEM;
	fs = calloc(s.n, sizeof(*fs));
	pfs = calloc(s.n, sizeof(*pfs));
	if (!fs || !pfs)
		goto out;
	for (i = 0; i < s.n; i++) {
		seccomp_filter__init(&fs[i]);
		PB_SET(&fs[i], id, i + 1);
		PB_SET(&fs[i], flags, s.v[i]->flags);
		fs[i].has_prog = 1;
		fs[i].prog.data = s.v[i]->prog;
		fs[i].prog.len = s.v[i]->len;
		pfs[i] = &fs[i];
	}
	se.filters = pfs;
	se.n_filters = s.n;
	ret = img_write_msg(op->w, IMG_REC_SECCOMP, &se.base);
	if (ret)
		pr_err("cannot write the seccomp record: %s\n", strerror(-ret));
out:
	free(fs);
	free(pfs);
	free(s.v);
	return ret;
}
