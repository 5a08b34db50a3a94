// SPDX-License-Identifier: GPL-2.0
/*
 * Task membership: a stock task_struct has no field for an xid, so the
 * module keeps a map, task -> context, one entry per thread, fed by two
 * tracepoints found with for_each_kernel_tracepoint:
 *
 *   sched_process_fork (kernel_clone, after copy_process, before the child
 *	first runs): a child of a member becomes a member of the same context.
 *	The entry is allocated GFP_ATOMIC (the probe runs with preemption
 *	off); if that fails the child gets SIGKILL before it ever runs: a
 *	task never escapes its context (fail closed).
 *   sched_process_exit (do_exit, after exit_code is set): the entry goes;
 *	the init's exit code is kept when its last thread exits; the last
 *	member out ends the context unless it is PERSISTENT.
 *
 * Threads made by create_io_thread (io_uring workers) do not pass the fork
 * tracepoint: they are not members (and run no user code).
 */
#include <linux/hashtable.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/tracepoint.h>

#include "ctx.h"

struct vx_member {
	struct hlist_node node; /* in vx_members, by task */
	struct list_head list;	/* in vxi->members */
	struct task_struct *task;
	struct vx_info *vxi;
};

static DEFINE_HASHTABLE(vx_members, 10);
static struct kmem_cache *vx_member_cache;

static struct vx_member *vx_member_find(struct task_struct *t)
{
	struct vx_member *m;

	hash_for_each_possible(vx_members, m, node, (unsigned long)t) {
		if (m->task == t)
			return m;
	}
	return NULL;
}

struct vx_info *vx_task_vxi_locked(struct task_struct *t)
{
	struct vx_member *m;

	if (!atomic_read(&vx_nr_live))
		return NULL; /* members exist only in live contexts */
	m = vx_member_find(t);
	return m ? m->vxi : NULL;
}

struct vx_info *vx_task_vxi(struct task_struct *t)
{
	struct vx_info *vxi;

	spin_lock(&vx_lock);
	vxi = vx_task_vxi_locked(t);
	if (vxi)
		vx_get(vxi);
	spin_unlock(&vx_lock);
	return vxi;
}

static void vx_member_add_locked(struct vx_member *m, struct task_struct *t, struct vx_info *vxi)
{
	m->task = t;
	m->vxi = vxi;
	hash_add(vx_members, &m->node, (unsigned long)t);
	list_add_tail(&m->list, &vxi->members);
	vxi->nr_threads++;
}

/* m leaves its context, which ends if m was its last member. */
static void vx_member_leave_locked(struct vx_member *m)
{
	struct vx_info *vxi = m->vxi;

	list_del(&m->list);
	if (--vxi->nr_threads)
		return;
	vxi->killing = false;
	if (!(vxi->flags & VXF_PERSISTENT))
		vx_die_locked(vxi);
}

int vx_member_set(struct vx_info *vxi)
{
	struct vx_member *m, *fresh;
	int ret = 0;

	fresh = kmem_cache_alloc(vx_member_cache, GFP_KERNEL);
	if (!fresh)
		return -ENOMEM;
	spin_lock(&vx_lock);
	m = vx_member_find(current);
	if (vxi->state != VX_LIVE) {
		ret = -ESRCH;
	} else if (m && m->vxi != vxi) {
		vx_member_leave_locked(m);
		m->vxi = vxi;
		list_add_tail(&m->list, &vxi->members);
		vxi->nr_threads++;
	} else if (!m) {
		vx_member_add_locked(fresh, current, vxi);
		fresh = NULL;
	}
	spin_unlock(&vx_lock);
	if (fresh)
		kmem_cache_free(vx_member_cache, fresh);
	return ret;
}

void vx_members_each(struct vx_info *vxi, void (*fn)(struct task_struct *t, void *arg), void *arg)
{
	struct vx_member *m;

	lockdep_assert_held(&vx_lock);
	list_for_each_entry(m, &vxi->members, list) {
		fn(m->task, arg);
	}
}

/* True for one member thread of each process: its leader if a member,
 * else (the leader exited first) the first of its threads in the list. */
static bool vx_first_of_process(struct vx_info *vxi, struct vx_member *m)
{
	struct vx_member *o;

	if (thread_group_leader(m->task))
		return true;
	if (vx_member_find(m->task->group_leader))
		return false;
	list_for_each_entry(o, &vxi->members, list) {
		if (o == m)
			return true;
		if (o->task->tgid == m->task->tgid)
			return false;
	}
	return false;
}

u32 vx_nr_procs_locked(struct vx_info *vxi)
{
	struct vx_member *m;
	u32 n = 0;

	list_for_each_entry(m, &vxi->members, list) {
		n += vx_first_of_process(vxi, m);
	}
	return n;
}

/*
 * Sends sig to every member process once (vx_first_of_process), as
 * the kernel (SEND_SIG_PRIV).  The processes are collected under vx_lock
 * and signalled after it, so vx_lock never nests the signal locks.  A
 * SIGKILL also marks the context killing: the fork probe kills a child
 * forked meanwhile, so none escapes.  0 or -ENOMEM.
 */
int vx_signal_all(struct vx_info *vxi, int sig)
{
	struct vx_member *m;
	struct pid **pids;
	unsigned int i, n = 0;

	spin_lock(&vx_lock);
	pids = kmalloc_array(max(vxi->nr_threads, 1U), sizeof(*pids), GFP_ATOMIC | __GFP_NOWARN);
	if (pids) {
		if (sig == SIGKILL && vxi->nr_threads)
			vxi->killing = true;
		list_for_each_entry(m, &vxi->members, list) {
			if (vx_first_of_process(vxi, m))
				pids[n++] = get_pid(task_tgid(m->task));
		}
	}
	spin_unlock(&vx_lock);
	if (!pids)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		kill_pid(pids[i], sig, 1);
		put_pid(pids[i]);
	}
	kfree(pids);
	return 0;
}

static void vx_on_fork(void *data, struct task_struct *parent, struct task_struct *child)
{
	struct vx_member *pm, *m = NULL;
	bool kill = false, stop = false;

	if (!atomic_read(&vx_nr_live))
		return;
	spin_lock(&vx_lock);
	pm = vx_member_find(current);
	if (pm) {
		m = kmem_cache_alloc(vx_member_cache, GFP_ATOMIC | __GFP_NOWARN);
		if (m) {
			vx_member_add_locked(m, child, pm->vxi);
			pm->vxi->nr_forks++;
		}
		kill = !m || pm->vxi->killing;
		stop = pm->vxi->flags & VXF_SCHED_PAUSE;
	}
	spin_unlock(&vx_lock);
	if (kill)
		send_sig_info(SIGKILL, SEND_SIG_PRIV, child);
	else if (stop) /* forked while the pause went out: paused too */
		send_sig_info(SIGSTOP, SEND_SIG_PRIV, child);
}

/* The status as the userspace engine reports it: 128 + signal if killed. */
static int vx_status_code(int code)
{
	return (code & 0x7f) ? 128 + (code & 0x7f) : (code >> 8) & 0xff;
}

static void vx_on_exit(void *data, struct task_struct *p)
{
	struct vx_info *vxi;
	struct vx_member *m;
	struct pid *init = NULL;

	if (!atomic_read(&vx_nr_live))
		return;
	spin_lock(&vx_lock);
	m = vx_member_find(p);
	if (m) {
		hash_del(&m->node);
		vxi = m->vxi;
		/* the init's status: its last thread's (signal->live is
		 * already decremented here), as wait() would see it */
		if (vxi->init && task_tgid(p) == vxi->init && !atomic_read(&p->signal->live)) {
			vxi->exit_code = vx_status_code(p->exit_code);
			init = vxi->init;
			vxi->init = NULL;
		}
		vx_member_leave_locked(m);
	}
	spin_unlock(&vx_lock);
	put_pid(init);
	if (m)
		kmem_cache_free(vx_member_cache, m);
}

struct vx_tp {
	const char *name;
	void *probe;
	struct tracepoint *tp;
	bool on;
};

static struct vx_tp vx_tps[] = {
	{ .name = "sched_process_fork", .probe = vx_on_fork },
	{ .name = "sched_process_exit", .probe = vx_on_exit },
};

static void vx_tp_find(struct tracepoint *tp, void *priv)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(vx_tps); i++)
		if (!strcmp(tp->name, vx_tps[i].name))
			vx_tps[i].tp = tp;
}

static void vx_tp_off(void)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(vx_tps); i++) {
		if (vx_tps[i].on)
			tracepoint_probe_unregister(vx_tps[i].tp, vx_tps[i].probe, NULL);
		vx_tps[i].on = false;
	}
	tracepoint_synchronize_unregister();
}

int vx_task_init(void)
{
	size_t i;
	int ret;

	vx_member_cache = KMEM_CACHE(vx_member, 0);
	if (!vx_member_cache)
		return -ENOMEM;
	for_each_kernel_tracepoint(vx_tp_find, NULL);
	for (i = 0; i < ARRAY_SIZE(vx_tps); i++) {
		ret = -ENOENT;
		if (!vx_tps[i].tp)
			goto out_tps;
		ret = tracepoint_probe_register(vx_tps[i].tp, vx_tps[i].probe, NULL);
		if (ret)
			goto out_tps;
		vx_tps[i].on = true;
	}
	return 0;

out_tps:
	pr_err(VX_MOD_NAME ": tracepoint %s: %d\n", vx_tps[i].name, ret);
	vx_tp_off();
	kmem_cache_destroy(vx_member_cache);
	return ret;
}

/* At unload no context lives, so no member is left. */
void vx_task_exit(void)
{
	vx_tp_off();
	kmem_cache_destroy(vx_member_cache);
}
