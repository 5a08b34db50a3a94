// SPDX-License-Identifier: GPL-2.0
/*
 * What an in-kernel dump refuses (-ENOTTY) rather than lose silently:
 * state the records it writes cannot carry, which the restored process
 * would otherwise come back without.  Each refusal is logged once per call
 * (rate limited) with the pid and the reason; the caller gets -ENOTTY.
 *
 * - a seccomp filter or strict mode (the SECCOMP record is not written);
 * - a namespace other than the caller's: pid (its pids would change),
 *   mount, network, IPC, time, user (records a tree dump writes: MOUNTS,
 *   NETNS, IPCNS, LIMITS), cgroup;
 * - POSIX timers and ITIMER_VIRTUAL / ITIMER_PROF (ITIMER_REAL is
 *   recorded, ckpt-sig.c).
 * Called with the task stopped (task_dump) or being the caller (vmad_dump).
 */
#include <linux/nsproxy.h>
#include <linux/pid_namespace.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/seccomp.h>
#include <linux/cred.h>

#include "ckpt.h"
#include "vxcr.h"

/* Which namespace of t is not the caller's, or NULL. */
static const char *foreign_ns(struct task_struct *t)
{
	struct nsproxy *mine = current->nsproxy, *its;
	const char *why = NULL;

	if (task_active_pid_ns(t) != task_active_pid_ns(current))
		return "a pid namespace other than the caller's";
	rcu_read_lock();
	if (__task_cred(t)->user_ns != current_user_ns())
		why = "a user namespace other than the caller's";
	rcu_read_unlock();
	if (why)
		return why;
	task_lock(t);
	its = t->nsproxy;
	if (!its)
		why = "no namespaces (exiting)";
	else if (its->mnt_ns != mine->mnt_ns)
		why = "a mount namespace other than the caller's";
	else if (its->net_ns != mine->net_ns)
		why = "a network namespace other than the caller's";
	else if (its->ipc_ns != mine->ipc_ns)
		why = "an IPC namespace other than the caller's";
	else if (its->time_ns != mine->time_ns)
		why = "a time namespace other than the caller's";
	else if (its->cgroup_ns != mine->cgroup_ns)
		why = "a cgroup namespace other than the caller's";
	task_unlock(t);
	return why;
}

static const char *foreign_state(struct task_struct *t)
{
	struct signal_struct *sig = t->signal;

	if (READ_ONCE(t->seccomp.mode) != SECCOMP_MODE_DISABLED)
		return "a seccomp filter or strict mode";
	if (!list_empty(&sig->posix_timers))
		return "POSIX timers";
	if (READ_ONCE(sig->it[0].expires) || READ_ONCE(sig->it[1].expires))
		return "ITIMER_PROF or ITIMER_VIRTUAL armed";
	return NULL;
}

/* 0, or -ENOTTY (logged) when t holds what the image cannot carry. */
int vx_dump_refused(struct task_struct *t)
{
	const char *why = foreign_state(t);

	if (!why)
		why = foreign_ns(t);
	if (!why)
		return 0;
	pr_info_ratelimited(VX_MOD_NAME ": dump of pid %d refused: %s is not supported\n",
			    task_tgid_nr_ns(t, task_active_pid_ns(current)), why);
	return -ENOTTY;
}
