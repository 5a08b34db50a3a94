/*
 * Per-process attributes, set by the child on itself: session and process
 * group, cwd and root, umask, personality, name, timer slack, scheduling,
 * oom_score_adj, prctl flags and resource limits.
 *
 * Session/pgid: a task that led its session gets a new session (setsid), one
 * that led its process group a new group (setpgid(0, 0)); otherwise it stays
 * in vxrestore's session and group, since the recorded ones do not exist
 * any more (single-process images).  Its controlling terminal: tty.c.
 */
#define LOG_PREFIX "restore/task: "
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "log.h"
#include "restore/restore.h"

static int restore_session(struct rst_proc *proc)
{
	const TaskEntry *t = proc->task;

	if (proc->img->in_place)
		return 0; /* vmad_undump: the caller's session, group and terminal, as exec */
	if (t->sid == t->pid) {
		if (setsid() < 0) {
			pr_perror("setsid");
			return -errno;
		}
	} else if (t->pgid == t->pid) {
		if (setpgid(0, 0)) {
			pr_perror("setpgid");
			return -errno;
		}
	}
	return tty_root_ctty(proc);
}

static int restore_fs(struct rst_proc *proc)
{
	const TaskEntry *t = proc->task;

	if (t->has_cwd_file_id) {
		if (fchdir(ghost_cwd_fd(proc->img, t->cwd_file_id))) {
			pr_perror("cannot chdir to the ghost of removed %s", t->cwd);
			return -errno;
		}
	} else if (t->cwd && chdir(t->cwd)) {
		pr_perror("cannot chdir to %s", t->cwd);
		return -errno;
	}
	if (t->root && strcmp(t->root, "/") && chroot(t->root)) {
		pr_perror("cannot chroot to %s", t->root);
		return -errno;
	}
	if (t->has_umask)
		umask(t->umask);
	return 0;
}

static int restore_oom(int adj)
{
	char buf[16];
	int fd, n, ret = 0;

	fd = open("/proc/self/oom_score_adj", O_WRONLY);
	if (fd < 0)
		return -errno;
	n = snprintf(buf, sizeof(buf), "%d", adj);
	if (write(fd, buf, n) != n) {
		pr_perror("oom_score_adj %d", adj);
		ret = -errno;
	}
	close(fd);
	return ret;
}

static int restore_sched(struct rst_proc *proc)
{
	const CoreEntry *c = proc->core;
	struct sched_param sp = { .sched_priority = c->sched_prio };

	if (c->has_sched_policy && sched_setscheduler(0, c->sched_policy, &sp)) {
		pr_perror("sched_setscheduler(%u, %u)", c->sched_policy, c->sched_prio);
		return -errno;
	}
	if (c->has_nice && setpriority(PRIO_PROCESS, 0, c->nice)) {
		pr_perror("nice %d", c->nice);
		return -errno;
	}
	return 0;
}

static int restore_prctls(struct rst_proc *proc)
{
	const TaskEntry *t = proc->task;
	const char *comm = proc->core->comm ? proc->core->comm : t->comm;

	if (comm && prctl(PR_SET_NAME, comm, 0, 0, 0))
		return -errno;
	if (t->has_timer_slack_ns && t->timer_slack_ns &&
	    prctl(PR_SET_TIMERSLACK, t->timer_slack_ns, 0, 0, 0))
		return -errno;
	if (prctl(PR_SET_CHILD_SUBREAPER, t->child_subreaper ? 1 : 0, 0, 0, 0))
		return -errno;
	if (t->thp_disable && prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0))
		return -errno;
	if (t->has_dumpable && prctl(PR_SET_DUMPABLE, t->dumpable, 0, 0, 0))
		return -errno;
	return 0;
}

/* Child: everything above except limits.  Returns 0/-errno. */
int task_restore_attrs(struct rst_proc *proc)
{
	const TaskEntry *t = proc->task;
	int ret;

	ret = restore_session(proc);
	if (!ret)
		ret = restore_fs(proc);
	if (ret)
		return ret;
	if (t->has_personality && personality(t->personality) < 0) {
		pr_perror("personality %#x", t->personality);
		return -errno;
	}
	ret = restore_prctls(proc);
	if (ret) {
		pr_err("prctl: %s\n", strerror(-ret));
		return ret;
	}
	ret = restore_sched(proc);
	if (!ret && t->has_oom_score_adj)
		ret = restore_oom(t->oom_score_adj);
	return ret;
}

/* Child: resource limits, last of the in-process steps. */
int task_restore_rlimits(struct rst_proc *proc)
{
	size_t i;

	for (i = 0; i < proc->task->n_rlimits; i++) {
		const RlimitEntry *r = proc->task->rlimits[i];
		struct rlimit rl = { r->cur, r->max };

		if (setrlimit(r->resource, &rl)) {
			pr_perror("cannot set %s to %llu/%llu", rlimit_name(r->resource),
				  (unsigned long long)r->cur, (unsigned long long)r->max);
			return -errno;
		}
	}
	return 0;
}
