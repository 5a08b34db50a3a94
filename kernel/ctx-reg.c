// SPDX-License-Identifier: GPL-2.0
/*
 * The context registry: xid -> struct vx_info, under vx_lock.
 *
 * A context is live from vx_create until its last member leaves (unless
 * PERSISTENT keeps it); then it is dead: it stays in the registry with its
 * init's exit code, so a wait_exit that comes late still answers (as the
 * userspace engine's <xid>.exit file does), until a new context takes the
 * xid or the module goes.  Every live context holds a reference on the
 * module: vxcr.ko cannot be unloaded while a context lives.  What a dead
 * context still holds (its UTS namespace, the module reference) is dropped
 * by a work item, outside the tracepoint that saw the last exit.
 */
#include <linux/hashtable.h>
#include <linux/ktime.h>
#include <linux/module.h>
#include <linux/pid.h>
#include <linux/reboot.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/timekeeping.h>
#include <net/net_namespace.h>

#include "ctx.h"

DEFINE_SPINLOCK(vx_lock);
atomic_t vx_nr_live = ATOMIC_INIT(0);
static DEFINE_HASHTABLE(vx_reg, 8);
static struct workqueue_struct *vx_wq;

static struct vx_info *vx_find_locked(u32 xid)
{
	struct vx_info *vxi;

	hash_for_each_possible(vx_reg, vxi, node, xid) {
		if (vxi->xid == xid)
			return vxi;
	}
	return NULL;
}

struct vx_info *vx_lookup(u32 xid)
{
	struct vx_info *vxi;

	spin_lock(&vx_lock);
	vxi = vx_find_locked(xid);
	if (vxi)
		refcount_inc(&vxi->ref);
	spin_unlock(&vx_lock);
	return vxi;
}

bool vx_descends(const struct vx_info *vxi, const struct vx_info *anc)
{
	/* parents are set at create and referenced: no lock needed */
	for (vxi = vxi->parent; vxi; vxi = vxi->parent)
		if (vxi == anc)
			return true;
	return false;
}

void vx_get(struct vx_info *vxi)
{
	refcount_inc(&vxi->ref);
}

/* A freed context puts its parent: a loop, not a recursion (nesting has no
 * depth limit). */
void vx_put(struct vx_info *vxi)
{
	struct vx_info *parent;

	while (vxi && refcount_dec_and_test(&vxi->ref)) {
		parent = vxi->parent;
		put_pid(vxi->init);
		if (vxi->uts)
			vx_uts_put(vxi->uts);
		if (vxi->net)
			put_net(vxi->net);
		kfree(vxi);
		vxi = parent;
	}
}

static void vx_release(struct work_struct *work)
{
	struct vx_info *vxi = container_of(work, struct vx_info, release);
	struct uts_namespace *uts;
	struct net *net;

	spin_lock(&vx_lock);
	uts = vxi->uts;
	vxi->uts = NULL;
	net = vxi->net;
	vxi->net = NULL;
	spin_unlock(&vx_lock);
	if (uts)
		vx_uts_put(uts);
	if (net)
		put_net(net);
	vx_proc_del(vxi);
	vx_put(vxi);
	/* module exit destroys vx_wq first, which waits for this function */
	module_put(THIS_MODULE);
}

void vx_die_locked(struct vx_info *vxi)
{
	lockdep_assert_held(&vx_lock);
	if (vxi->state == VX_DEAD)
		return;
	vxi->state = VX_DEAD;
	if (vxi->reboot_cmd == LINUX_REBOOT_CMD_RESTART ||
	    vxi->reboot_cmd == LINUX_REBOOT_CMD_RESTART2)
		vxi->exit_code = 128 + SIGHUP; /* as a pid namespace's reboot */
	else if (vxi->reboot_cmd)
		vxi->exit_code = 128 + SIGINT;
	atomic_dec(&vx_nr_live);
	wake_up_all(&vxi->wq);
	refcount_inc(&vxi->ref); /* the work's */
	queue_work(vx_wq, &vxi->release);
}

/* A free xid at or above VX_XID_DYN_MIN (a dead one is free), or 0. */
static u32 vx_pick_locked(void)
{
	struct vx_info *old;
	u32 x;

	for (x = VX_XID_DYN_MIN; x <= VX_XID_MAX; x++) {
		old = vx_find_locked(x);
		if (!old || old->state == VX_DEAD)
			return x;
	}
	return 0;
}

static struct vx_info *vx_alloc(struct vx_info *parent, u64 flags, struct uts_namespace *uts,
				struct net *net)
{
	struct vx_info *vxi = kzalloc(sizeof(*vxi), GFP_KERNEL);

	if (!vxi)
		return NULL;
	refcount_set(&vxi->ref, 2); /* the registry's and the caller's */
	vxi->parent = parent;
	if (parent)
		vx_get(parent);
	vxi->state = VX_LIVE;
	vxi->flags = flags;
	vxi->bcaps = ~0ULL;
	vxi->init = get_pid(task_tgid(current));
	vxi->created_ns = ktime_get_boottime_ns();
	vxi->uts = uts;
	vxi->net = net;
	INIT_LIST_HEAD(&vxi->members);
	init_waitqueue_head(&vxi->wq);
	INIT_WORK(&vxi->release, vx_release);
	return vxi;
}

/* Puts vxi under xid (picked if dynamic); returns the dead context it
 * replaces (to put), NULL, or an ERR_PTR. */
static struct vx_info *vx_insert_locked(struct vx_info *vxi, u32 xid)
{
	struct vx_info *old;

	if (xid == VX_DYNAMIC_ID) {
		xid = vx_pick_locked();
		if (!xid)
			return ERR_PTR(-EAGAIN);
	}
	old = vx_find_locked(xid);
	if (old && old->state != VX_DEAD)
		return ERR_PTR(-EEXIST);
	if (old)
		hash_del(&old->node);
	vxi->xid = xid;
	hash_add(vx_reg, &vxi->node, xid);
	atomic_inc(&vx_nr_live);
	return old;
}

struct vx_info *vx_create(u32 xid, struct vx_info *parent, u64 flags, struct uts_namespace *uts,
			  struct net *net)
{
	struct vx_info *vxi, *old;

	if (xid != VX_DYNAMIC_ID && (xid < VX_XID_MIN || xid > VX_XID_MAX))
		return ERR_PTR(-EINVAL);
	if (!try_module_get(THIS_MODULE))
		return ERR_PTR(-ENODEV);
	vxi = vx_alloc(parent, flags, uts, net);
	if (!vxi)
		goto out_module;
	spin_lock(&vx_lock);
	old = vx_insert_locked(vxi, xid);
	spin_unlock(&vx_lock);
	if (IS_ERR(old))
		goto out_free;
	if (old)
		vx_put(old);
	vx_proc_add(vxi);
	return vxi;

out_free:
	if (vxi->parent)
		vx_put(vxi->parent);
	put_pid(vxi->init);
	kfree(vxi); /* uts and net stay the caller's */
	module_put(THIS_MODULE);
	return old;
out_module:
	module_put(THIS_MODULE);
	return ERR_PTR(-ENOMEM);
}

void vx_reg_each(void (*fn)(struct vx_info *vxi, void *arg), void *arg)
{
	struct vx_info *vxi;
	int bkt;

	spin_lock(&vx_lock);
	hash_for_each(vx_reg, bkt, vxi, node) {
		fn(vxi, arg);
	}
	spin_unlock(&vx_lock);
}

int vx_reg_init(void)
{
	vx_wq = alloc_workqueue("vxcr_ctx", 0, 0);
	if (!vx_wq)
		return -ENOMEM;
	/* /proc/virtual is a view: the module works without it */
	if (vx_proc_init())
		pr_warn(VX_MOD_NAME ": no /proc/virtual\n");
	return 0;
}

/* At unload no context lives (each holds the module): the dead ones go. */
void vx_reg_exit(void)
{
	struct hlist_node *tmp;
	struct vx_info *vxi;
	int bkt;

	destroy_workqueue(vx_wq);
	hash_for_each_safe(vx_reg, bkt, tmp, vxi, node) {
		hash_del(&vxi->node);
		vx_put(vxi);
	}
	vx_proc_exit();
}
