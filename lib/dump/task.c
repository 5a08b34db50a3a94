/*
 * Per-process attributes answered by /proc and prlimit: personality,
 * rlimits, timer slack, oom_score_adj, cwd/root; the task_entry record.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#define LOG_PREFIX "dump/task: "
#include "log.h"
#include "dump/dump.h"
#include "img/img.h"
#include "img/records.h"

static int read_num(struct dump_task *t, const char *name, int base, long long *v)
{
	int ret = proc_read_long(t->pid, name, base, v);

	if (ret)
		pr_err("pid %d: cannot read /proc/%d/%s: %s\n", t->pid, t->pid, name,
		       strerror(-ret));
	return ret;
}

static int read_link(struct dump_task *t, const char *name, char *buf, size_t size)
{
	int ret = proc_readlink(t->pid, name, buf, size);

	if (ret)
		pr_err("pid %d: cannot read /proc/%d/%s: %s\n", t->pid, t->pid, name,
		       strerror(-ret));
	return ret;
}

/*
 * Resource limits of t: prlimit(), or /proc/PID/limits when prlimit() is
 * refused (another uid, and we lack CAP_SYS_RESOURCE).  0 or -errno (logged).
 */
static int collect_rlimits(struct dump_task *t)
{
	char *text = NULL;
	int r, n;

	for (r = 0; r < RLIM_NLIMITS; r++)
		if (prlimit(t->pid, r, NULL, &t->rlim[r]))
			break;
	if (r == RLIM_NLIMITS)
		return 0;
	if (errno != EPERM) {
		pr_perror("pid %d: prlimit(%d)", t->pid, r);
		return -errno;
	}
	n = proc_read_file(t->pid, "limits", &text, NULL);
	if (n < 0) {
		pr_err("pid %d: cannot read /proc/%d/limits: %s", t->pid, t->pid, strerror(-n));
		return n;
	}
	n = proc_parse_limits(text, t->rlim, RLIM_NLIMITS);
	free(text);
	if (n != RLIM_NLIMITS) {
		pr_err("pid %d: cannot parse /proc/%d/limits", t->pid, t->pid);
		return -EINVAL;
	}
	return 0;
}

#define AUDIT_UNSET 4294967295u /* loginuid and sessionid not set */

/*
 * The audit login uid and session id of process pid (0: ours).  1 when
 * the kernel has no audit (no such files), 0, or -errno.
 */
static int read_audit(pid_t pid, uint32_t *loginuid, uint32_t *sessionid)
{
	long long l, s;
	int ret;

	ret = proc_read_long(pid, "loginuid", 10, &l);
	if (ret == -ENOENT)
		return 1;
	ret = ret ?: proc_read_long(pid, "sessionid", 10, &s);
	if (ret)
		return ret;
	*loginuid = (uint32_t)l;
	*sessionid = (uint32_t)s;
	return 0;
}

/*
 * The audit ids of t.  A session id cannot be chosen (the kernel gives a
 * new one whenever loginuid is set), so restore can give back only one
 * that a process inherits: the restorer's own (here: ours, vxrestore is
 * expected to run where vxdump runs) for the root, the parent's for the
 * others, or none (loginuid unset).  Anything else is refused: 0,
 * -EOPNOTSUPP (logged) or -errno (logged).
 */
static int collect_audit(struct dump_task *t)
{
	uint32_t l0, s0;
	int ret;

	ret = read_audit(t->pid, &t->loginuid, &t->sessionid);
	if (ret == 0 && !t->parent)
		ret = read_audit(0, &l0, &s0);
	if (ret < 0) {
		pr_err("pid %d: cannot read its audit loginuid: %s\n", t->pid, strerror(-ret));
		return ret;
	}
	t->has_audit = ret == 0;
	if (!t->has_audit || t->sessionid == AUDIT_UNSET)
		return 0;
	if (t->parent) {
		l0 = t->parent->loginuid;
		s0 = t->parent->sessionid;
	}
	if (t->loginuid == l0 && t->sessionid == s0)
		return 0;
	pr_err("pid %d: audit session %u (loginuid %u) cannot be restored: the kernel gives a "
	       "new session id when loginuid is set, and it is not %s's (%u)\n",
	       t->pid, t->sessionid, t->loginuid, t->parent ? "its parent" : "vxdump", s0);
	return -EOPNOTSUPP;
}

/* Collects the per-process attributes of frozen t.  0 or -errno (logged). */
int collect_task(struct dump_task *t)
{
	long long v;
	int ret;

	ret = collect_rlimits(t);
	ret = ret ?: collect_audit(t);
	if (ret)
		return ret;
	ret = read_num(t, "personality", 16, &v);
	if (ret)
		return ret;
	t->personality = v;
	ret = read_num(t, "timerslack_ns", 10, &v);
	if (ret)
		return ret;
	t->timer_slack_ns = v;
	ret = read_num(t, "oom_score_adj", 10, &v);
	if (ret)
		return ret;
	t->oom_score_adj = v;
	v = syscall(SYS_sched_getaffinity, t->pid, sizeof(t->affinity), t->affinity);
	if (v < 0) {
		pr_perror("pid %d: sched_getaffinity", t->pid);
		return -errno;
	}
	t->affinity_len = (size_t)v;
	ret = read_link(t, "cwd", t->cwd, sizeof(t->cwd));
	if (ret)
		return ret;
	return read_link(t, "root", t->root, sizeof(t->root));
}

/* The task_entry of a zombie: identity and exit status, nothing else. */
static int write_zombie(struct dump_op *op, struct dump_task *t)
{
	TaskEntry te = TASK_ENTRY__INIT;
	int ret;

	PB_SET(&te, pid, t->vpid);
	PB_SET(&te, ppid, dump_vpid(op, t->stat.ppid));
	PB_SET(&te, pgid, dump_vpid(op, t->stat.pgrp));
	PB_SET(&te, sid, dump_vpid(op, t->stat.session));
	te.comm = t->stat.comm;
	PB_SET(&te, mm_id, 0);
	PB_SET(&te, files_id, 0);
	PB_SET(&te, state, TASK_STATE_DEAD);
	PB_SET(&te, exit_code, t->stat.exit_code);
	PB_SET(&te, exit_signal, t->stat.exit_signal);
	ret = img_write_msg(op->w, IMG_REC_TASK, &te.base);
	if (ret)
		pr_err("pid %d: cannot write the task record: %s\n", t->pid, strerror(-ret));
	return ret;
}

static void fill_rlimits(const struct dump_task *t, RlimitEntry *rl, RlimitEntry **prl)
{
	int r;

	for (r = 0; r < RLIM_NLIMITS; r++) {
		rlimit_entry__init(&rl[r]);
		PB_SET(&rl[r], resource, r);
		PB_SET(&rl[r], cur, t->rlim[r].rlim_cur);
		PB_SET(&rl[r], max, t->rlim[r].rlim_max);
		prl[r] = &rl[r];
	}
}

/* The task_entry of live t; tids leader first.  0 or -errno (logged). */
static int write_live(struct dump_op *op, struct dump_task *t)
{
	TaskEntry te = TASK_ENTRY__INIT;
	RlimitEntry rl[RLIM_NLIMITS], *prl[RLIM_NLIMITS];
	uint32_t *tids;
	size_t i;
	int ret;

	tids = calloc(t->n_threads, sizeof(*tids));
	if (!tids)
		return -ENOMEM;
	for (i = 0; i < t->n_threads; i++)
		tids[i] = t->threads[i].vtid;
	fill_rlimits(t, rl, prl);
	PB_SET(&te, pid, t->vpid);
	PB_SET(&te, ppid, dump_vpid(op, t->stat.ppid));
	PB_SET(&te, pgid, dump_vpid(op, t->stat.pgrp));
	PB_SET(&te, sid, dump_vpid(op, t->stat.session));
	te.comm = t->threads[0].comm;
	PB_SET(&te, mm_id, t->index);
	PB_SET(&te, files_id, t->files_id);
	PB_SET(&te, fs_id, t->fs_id);
	PB_SET(&te, personality, t->personality);
	if (t->status.has_umask)
		PB_SET(&te, umask, t->status.umask);
	te.rlimits = prl;
	te.n_rlimits = RLIM_NLIMITS;
	PB_SET(&te, timer_slack_ns, t->timer_slack_ns);
	PB_SET(&te, oom_score_adj, t->oom_score_adj);
	te.has_cpu_affinity = t->affinity_len > 0;
	te.cpu_affinity.data = t->affinity;
	te.cpu_affinity.len = t->affinity_len;
	PB_SET(&te, dumpable, t->rt.dumpable);
	PB_SET(&te, pdeath_sig, t->rt.pdeath_sig);
	PB_SET(&te, child_subreaper, t->rt.child_subreaper);
	PB_SET(&te, thp_disable, t->rt.thp_disable);
	if (t->rt.membarrier)
		PB_SET(&te, membarrier, t->rt.membarrier);
	if (t->has_audit) {
		PB_SET(&te, loginuid, t->loginuid);
		PB_SET(&te, sessionid, t->sessionid);
	}
	te.cwd = t->cwd;
	if (t->cwd_file_id)
		PB_SET(&te, cwd_file_id, t->cwd_file_id);
	te.root = t->root;
	te.threads = tids;
	te.n_threads = t->n_threads;
	PB_SET(&te, state, t->state);
	if (t->state == TASK_STATE_STOPPED)
		PB_SET(&te, stop_signal, t->threads[0].stop_sig);
	PB_SET(&te, exit_signal, t->stat.exit_signal);
	if (t->ctty) {
		PB_SET(&te, ctty, t->ctty);
		if (t->ctty_pty_id)
			PB_SET(&te, ctty_pty_id, t->ctty_pty_id);
		if (t->tty_fg_pgrp)
			PB_SET(&te, tty_fg_pgrp, t->tty_fg_pgrp);
	}
	ret = img_write_msg(op->w, IMG_REC_TASK, &te.base);
	if (ret)
		pr_err("pid %d: cannot write the task record: %s\n", t->pid, strerror(-ret));
	free(tids);
	return ret;
}

/* The task_entry of t.  0 or -errno (logged). */
int write_task(struct dump_op *op, struct dump_task *t)
{
	return t->zombie ? write_zombie(op, t) : write_live(op, t);
}
