// SPDX-License-Identifier: GPL-2.0
/*
 * The threads of a dumped process: task_dump takes every thread of the
 * group (leader first, then in the group's list order), each must be
 * stopped (a group stop stops them all; a tracer stops each) and off its
 * CPU, be no io_uring worker, share the leader's fd table and fs info
 * (else -ENOTTY: the module
 * writes neither a thread's own FDTABLE nor own_fs), and carry nothing the
 * image cannot (ckpt-check.c).  vmad_dump's caller is its only thread.
 * References are taken under RCU and dropped by vx_threads_put().
 */
#include <linux/rcupdate.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/sched/task.h>
#include <linux/slab.h>

#include "ckpt.h"
#include "vxcr.h"

#define VX_THREADS_MAX 4096

/* Fills d->threads from d->task, the leader.  0, -ENOTTY, -EBUSY, -ENOMEM. */
int vx_threads_take(struct vx_dump *d)
{
	struct task_struct *leader = d->task, *t;
	unsigned int n = get_nr_threads(leader);
	int ret = 0;

	if (n > VX_THREADS_MAX)
		return -ENOTTY;
	d->threads = kcalloc(n, sizeof(*d->threads), GFP_KERNEL);
	if (!d->threads)
		return -ENOMEM;
	get_task_struct(leader);
	d->threads[d->nr_threads++] = leader;
	rcu_read_lock();
	for_each_thread(leader, t) {
		if (t == leader)
			continue;
		if (d->nr_threads == n) {
			ret = -EBUSY; /* a thread came: it was not stopped */
			break;
		}
		get_task_struct(t);
		d->threads[d->nr_threads++] = t;
	}
	rcu_read_unlock();
	return ret;
}

void vx_threads_put(struct vx_dump *d)
{
	unsigned int i;

	for (i = 0; i < d->nr_threads; i++)
		put_task_struct(d->threads[i]);
	kfree(d->threads);
	d->threads = NULL;
	d->nr_threads = 0;
}

/* What a thread shares with its leader: files and fs, or -ENOTTY. */
static int vx_thread_shares(struct task_struct *leader, struct task_struct *t)
{
	int ret = 0;

	if (t == leader)
		return 0;
	task_lock(t);
	if (t->files != leader->files || t->fs != leader->fs)
		ret = -ENOTTY;
	task_unlock(t);
	return ret;
}

/*
 * Every thread ptrace-able by the caller (a thread may have credentials of
 * its own), stopped (waited off its CPU) and dumpable.  0 or -errno.
 */
int vx_threads_check(struct vx_dump *d)
{
	struct task_struct *t;
	unsigned int i;
	int ret;

	for (i = 0; i < d->nr_threads; i++) {
		t = d->threads[i];
		if (t->exit_state || (t->flags & (PF_EXITING | PF_IO_WORKER)))
			return -ENOTTY; /* an exited leader, a dying or io_uring thread */
		ret = t == d->task ? 0 : vx_may_ptrace(t); /* a thread's own creds */
		if (!ret)
			ret = vx_wait_off_cpu(t);
		if (!ret)
			ret = vx_thread_shares(d->task, t);
		if (!ret)
			ret = vx_dump_refused(t);
		if (ret)
			return ret;
	}
	return 0;
}

/* Context switches of all the threads: a change means one of them ran. */
unsigned long vx_threads_switches(struct vx_dump *d)
{
	unsigned long sw = 0;
	unsigned int i;

	for (i = 0; i < d->nr_threads; i++)
		sw += READ_ONCE(d->threads[i]->nvcsw) + READ_ONCE(d->threads[i]->nivcsw);
	return sw;
}

bool vx_threads_stopped(struct vx_dump *d)
{
	unsigned int i;

	for (i = 0; i < d->nr_threads; i++)
		if (!vx_stopped(d->threads[i]))
			return false;
	return true;
}
