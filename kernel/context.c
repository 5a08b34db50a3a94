// SPDX-License-Identifier: GPL-2.0
/*
 * Contexts in the kernel (issue 17): the context commands of the switch.
 * Each runs in the caller's process context (the ioctl) and may sleep;
 * the shared state is described in ctx.h, membership in ctx-task.c, uname
 * in ctx-uts.c, ccaps in ctx-caps.c.
 *
 * Who may do what: a host task (xid 0) sees every context; a task of
 * context C sees C (queries only) and the contexts created inside C (all
 * commands); any other xid is -ESRCH to it, as if it did not exist, a
 * change of its own context -EPERM.
 * Commands that change a context, create and migrate also need
 * CAP_SYS_ADMIN (-EPERM).
 */
#include <linux/capability.h>
#include <linux/cred.h>
#include <linux/pid.h>
#include <linux/sched/signal.h>
#include <linux/timekeeping.h>
#include <linux/utsname.h>
#include <net/net_namespace.h>

#include "ctx.h"

/* Flags this module honours; any other defined VXF_* is -ENOTTY, an
 * undefined bit -EINVAL. */
#define VX_FLAGS_DONE                                                                         \
	(VXF_INFO_INIT | VXF_INFO_PRIVATE | VXF_PERSISTENT | VXF_PROLIFIC | VXF_REBOOT_KILL | \
	 VXF_SCHED_PAUSE | VXF_HIDE_NETIF)
/* Honoured, but chosen at create only (EINVAL after), as the userspace engine. */
#define VX_FLAGS_CREATE (VXF_HIDE_NETIF)
#define VX_FLAGS_KNOWN                                                                     \
	(0x000007ffULL | VXF_VIRT_MEM | VXF_VIRT_UPTIME | VXF_VIRT_CPU | VXF_VIRT_LOAD |   \
	 VXF_VIRT_TIME | VXF_HIDE_MOUNT | VXF_HIDE_NETIF | VXF_HIDE_VINFO | VXF_ONE_TIME | \
	 VXF_SC_HELPER | VXF_REBOOT_KILL | VXF_PERSISTENT | VXF_FORK_RSS | VXF_PROLIFIC |  \
	 VXF_IGNEG_NICE)
/* The ccaps enforced (ctx-caps.c): the userspace engine's set. */
#define VXC_DONE                                                                           \
	(VXC_SET_UTSNAME | VXC_SET_RLIMIT | VXC_RAW_ICMP | VXC_SYSLOG | VXC_SECURE_MOUNT | \
	 VXC_SECURE_REMOUNT | VXC_BINARY_MOUNT | VXC_QUOTA_CTL | VXC_ADMIN_MAPPER |        \
	 VXC_ADMIN_CLOOP)

static int vx_check_flags(u64 flags)
{
	if (flags & ~VX_FLAGS_KNOWN)
		return -EINVAL;
	if (flags & VXF_INFO_NPROC)
		return -EINVAL; /* the limit comes from nowhere, as the userspace engine */
	if (flags & ~VX_FLAGS_DONE)
		return -ENOTTY;
	return 0;
}

struct vx_info *vx_visible(u32 xid, bool change)
{
	struct vx_info *self = vx_task_vxi(current), *vxi;
	long err = 0;

	vxi = vx_lookup(xid);
	if (!vxi)
		err = -ESRCH;
	else if (self && vxi == self && change)
		err = -EPERM; /* its own context: queries only */
	else if (self && vxi != self && !vx_descends(vxi, self))
		err = -ESRCH;
	if (err && vxi)
		vx_put(vxi);
	if (self)
		vx_put(self);
	return err ? ERR_PTR(err) : vxi;
}

/* A live context for a command; -ESRCH for a dead or invisible one. */
static struct vx_info *vx_get_live(u32 xid, bool change)
{
	struct vx_info *vxi;

	if (change && !capable(CAP_SYS_ADMIN))
		return ERR_PTR(-EPERM);
	vxi = vx_visible(xid, change);
	if (IS_ERR(vxi))
		return vxi;
	if (READ_ONCE(vxi->state) != VX_LIVE) {
		vx_put(vxi);
		return ERR_PTR(-ESRCH);
	}
	return vxi;
}

/*
 * What entering a context changes in the caller, prepared so that nothing
 * changes unless all of it can: its nsproxy (the context's UTS namespace)
 * and its creds (the bounding set narrowed to bcaps).
 */
struct vx_entry {
	struct nsproxy *nsp;
	struct cred *cred;
};

static int vx_entry_prepare(struct vx_entry *e, struct uts_namespace *uts, struct net *net,
			    bool new_net, u64 bcaps)
{
	int cap;

	e->nsp = vx_nsp_new(uts, net, new_net);
	if (IS_ERR(e->nsp))
		return PTR_ERR(e->nsp);
	e->cred = prepare_creds();
	if (!e->cred) {
		vx_nsp_drop(e->nsp);
		return -ENOMEM;
	}
	for (cap = 0; cap <= CAP_LAST_CAP; cap++)
		if (!(bcaps & BIT_ULL(cap)))
			cap_lower(e->cred->cap_bset, cap);
	return 0;
}

static void vx_entry_abort(struct vx_entry *e)
{
	abort_creds(e->cred);
	vx_nsp_drop(e->nsp);
}

static void vx_entry_commit(struct vx_entry *e)
{
	vx_nsp_enter(e->nsp);
	commit_creds(e->cred);
}

/* create's checks: flags, CAP_SYS_ADMIN, PROLIFIC of the caller's context
 * (*parent: it, referenced), the xid's range. */
static long vx_create_check(u32 id, u64 flags, struct vx_info **parent)
{
	long ret;

	*parent = NULL;
	ret = vx_check_flags(flags);
	if (ret)
		return ret;
	if (!capable(CAP_SYS_ADMIN))
		return -EPERM;
	if (id != VX_DYNAMIC_ID && (id < VX_XID_MIN || id > VX_XID_MAX))
		return -EINVAL;
	*parent = vx_task_vxi(current);
	if (*parent && !(READ_ONCE((*parent)->flags) & VXF_PROLIFIC)) {
		vx_put(*parent);
		*parent = NULL;
		return -EPERM;
	}
	return 0;
}

/* The new context's namespaces from the prepared nsproxy, referenced; a
 * new network namespace gets lo up. */
static int vx_create_ns(struct vx_entry *e, bool new_net, struct uts_namespace **uts,
			struct net **net)
{
	int ret;

	*net = NULL;
	if (new_net) {
		ret = vx_net_lo_up(e->nsp->net_ns);
		if (ret)
			return ret;
		*net = get_net(e->nsp->net_ns);
	}
	*uts = e->nsp->uts_ns;
	get_uts_ns(*uts);
	return 0;
}

static long vx_cmd_create(u32 id, struct vcmd_ctx_create *d)
{
	bool new_net = d->flagword & VXF_HIDE_NETIF;
	struct uts_namespace *uts;
	struct vx_entry e;
	struct vx_info *vxi;
	struct net *net;
	struct vx_info *parent;
	long ret;

	ret = vx_create_check(id, d->flagword, &parent);
	if (ret)
		return ret;
	/* a new context keeps every bcap */
	ret = vx_entry_prepare(&e, NULL, NULL, new_net, ~0ULL);
	if (ret)
		goto out_parent;
	ret = vx_create_ns(&e, new_net, &uts, &net);
	if (ret)
		goto out_entry;
	/* a new context runs: SCHED_PAUSE is set_cflags' (as the engine's) */
	vxi = vx_create(id, parent, d->flagword & ~VXF_SCHED_PAUSE, uts, net);
	if (IS_ERR(vxi)) {
		ret = PTR_ERR(vxi);
		goto out_ns;
	}
	ret = vx_member_set(vxi);
	if (ret) {
		spin_lock(&vx_lock);
		vx_die_locked(vxi);
		spin_unlock(&vx_lock);
		vx_put(vxi);
		goto out_entry;
	}
	vx_entry_commit(&e);
	ret = vxi->xid;
	vx_put(vxi);
	goto out_parent;

out_ns:
	vx_uts_put(uts);
	if (net)
		put_net(net);
out_entry:
	vx_entry_abort(&e);
out_parent:
	if (parent)
		vx_put(parent);
	return ret;
}

/* The caller becomes vxi's init or a child subreaper (VXM_*). */
static void vx_migrate_roles(struct vx_info *vxi, u64 vxm)
{
	struct pid *old;

	if (vxm & VXM_SET_INIT) {
		spin_lock(&vx_lock);
		old = vxi->init;
		vxi->init = get_pid(task_tgid(current));
		spin_unlock(&vx_lock);
		put_pid(old);
	}
	if (vxm & VXM_SET_REAPER) {
		/* as prctl(PR_SET_CHILD_SUBREAPER); children forked later
		 * inherit has_child_subreaper */
		current->signal->is_child_subreaper = 1;
		current->signal->has_child_subreaper = 1;
	}
}

static long vx_cmd_migrate(u32 id, struct vcmd_ctx_migrate *d)
{
	struct uts_namespace *uts = NULL;
	struct net *net = NULL;
	struct vx_info *vxi;
	struct vx_entry e;
	u64 bcaps = 0;
	long ret;

	if (d->flagword & ~(u64)(VXM_SET_INIT | VXM_SET_REAPER))
		return -EINVAL;
	vxi = vx_get_live(id, true);
	if (IS_ERR(vxi))
		return PTR_ERR(vxi);
	spin_lock(&vx_lock);
	ret = (vxi->flags & VXF_INFO_PRIVATE) ? -EPERM : -ESRCH;
	if (vxi->state == VX_LIVE && vxi->uts && ret != -EPERM) {
		uts = vxi->uts;
		get_uts_ns(uts);
		net = vxi->net ? get_net(vxi->net) : NULL;
		bcaps = vxi->bcaps;
	}
	spin_unlock(&vx_lock);
	if (!uts)
		goto out;
	ret = vx_entry_prepare(&e, uts, net, false, bcaps);
	vx_uts_put(uts);
	if (net)
		put_net(net);
	if (ret)
		goto out;
	ret = vx_member_set(vxi);
	if (ret) {
		vx_entry_abort(&e);
		goto out;
	}
	vx_entry_commit(&e);
	vx_migrate_roles(vxi, d->flagword);
out:
	vx_put(vxi);
	return ret;
}

static long vx_cmd_task_xid(u32 id)
{
	struct task_struct *t;
	struct vx_info *vxi;
	long xid = 0;

	if ((int)id < 0)
		return -ESRCH;
	rcu_read_lock();
	t = id ? pid_task(find_vpid((int)id), PIDTYPE_PID) : current;
	if (!t) {
		rcu_read_unlock();
		return -ESRCH;
	}
	spin_lock(&vx_lock);
	vxi = vx_task_vxi_locked(t);
	if (vxi)
		xid = vxi->xid;
	spin_unlock(&vx_lock);
	rcu_read_unlock();
	return xid;
}

static long vx_cmd_info(u32 id, struct vcmd_vx_info_v0 *d)
{
	struct vx_info *vxi = vx_get_live(id, false);

	if (IS_ERR(vxi))
		return PTR_ERR(vxi);
	d->xid = vxi->xid;
	spin_lock(&vx_lock);
	d->initpid = vxi->init ? pid_vnr(vxi->init) : 0;
	spin_unlock(&vx_lock);
	vx_put(vxi);
	return 0;
}

void vx_count_task(struct task_struct *t, void *arg)
{
	struct vx_count *c = arg;
	unsigned int state = READ_ONCE(t->__state);

	if (state == TASK_RUNNING)
		c->running++;
	else if ((state & TASK_UNINTERRUPTIBLE) && !(state & TASK_NOLOAD))
		c->unintr++;
}

static long vx_cmd_stat(u32 cmd, u32 id, void *data)
{
	struct vx_info *vxi = vx_get_live(id, false);
	struct vcmd_virt_stat_v0 *v = data;
	struct vcmd_ctx_stat_v0 *s = data;
	struct vx_count c = { 0 };
	u32 threads, forks;
	u64 flags;

	if (IS_ERR(vxi))
		return PTR_ERR(vxi);
	spin_lock(&vx_lock);
	vx_members_each(vxi, vx_count_task, &c);
	c.tasks = vx_nr_procs_locked(vxi);
	threads = vxi->nr_threads;
	forks = vxi->nr_forks;
	flags = vxi->flags;
	spin_unlock(&vx_lock);
	if (cmd == VCMD_ctx_stat) {
		s->usecnt = c.tasks + 1; /* + the registry's hold, as the engine's record */
		s->tasks = c.tasks;
	} else {
		memset(v, 0, sizeof(*v));
		v->uptime = ktime_get_boottime_ns() - vxi->created_ns;
		v->nr_threads = threads;
		v->nr_running = c.running;
		v->nr_uninterruptible = c.unintr;
		v->nr_onhold = (flags & VXF_SCHED_PAUSE) ? threads : 0;
		v->nr_forks = forks;
	}
	vx_put(vxi);
	return 0;
}

static long vx_cmd_vhi(u32 cmd, u32 id, struct vcmd_vhi_name_v0 *d)
{
	struct uts_namespace *uts = NULL;
	struct vx_info *vxi;
	long ret;

	if (d->field > VHIN_DOMAINNAME)
		return -EINVAL;
	if (cmd == VCMD_set_vhi_name && d->field == VHIN_CONTEXT)
		return -ENOTTY; /* read-only, as from the userspace engine */
	vxi = vx_get_live(id, cmd == VCMD_set_vhi_name);
	if (IS_ERR(vxi))
		return PTR_ERR(vxi);
	if (d->field == VHIN_CONTEXT) {
		memset(d->name, 0, sizeof(d->name));
		snprintf(d->name, sizeof(d->name), "%u", vxi->xid);
		vx_put(vxi);
		return 0;
	}
	spin_lock(&vx_lock);
	if (vxi->uts) {
		uts = vxi->uts;
		get_uts_ns(uts);
	}
	spin_unlock(&vx_lock);
	vx_put(vxi);
	if (!uts)
		return -ESRCH;
	d->name[VHILEN - 1] = 0;
	if (cmd == VCMD_set_vhi_name)
		ret = vx_uts_set_field(uts, d->field, d->name);
	else
		ret = vx_uts_get_field(uts, d->field, d->name);
	vx_uts_put(uts);
	return ret;
}

/* Returns the signal a SCHED_PAUSE change needs (SIGSTOP to every member
 * process when set, SIGCONT when cleared), else 0. */
static int vx_set_flags_locked(struct vx_info *vxi, u64 nflags)
{
	u64 old = vxi->flags;

	vxi->flags = nflags;
	if (!vxi->nr_threads && !(nflags & VXF_PERSISTENT))
		vx_die_locked(vxi);
	if (!((old ^ nflags) & VXF_SCHED_PAUSE))
		return 0;
	return (nflags & VXF_SCHED_PAUSE) ? SIGSTOP : SIGCONT;
}

static long vx_cmd_flags(u32 cmd, u32 id, struct vcmd_ctx_flags_v0 *d)
{
	bool set = cmd == VCMD_set_cflags;
	struct vx_info *vxi = vx_get_live(id, set);
	long ret = 0;
	u64 nflags;
	int sig = 0;

	if (IS_ERR(vxi))
		return PTR_ERR(vxi);
	spin_lock(&vx_lock);
	if (!set) {
		d->flagword = vxi->flags;
		d->mask = ~0ULL;
	} else if (vxi->state != VX_LIVE) {
		ret = -ESRCH;
	} else {
		nflags = (vxi->flags & ~d->mask) | (d->flagword & d->mask);
		ret = vx_check_flags(nflags);
		if (!ret && ((nflags ^ vxi->flags) & VX_FLAGS_CREATE))
			ret = -EINVAL;
		if (!ret)
			sig = vx_set_flags_locked(vxi, nflags);
	}
	spin_unlock(&vx_lock);
	if (sig)
		ret = vx_signal_all(vxi, sig);
	vx_put(vxi);
	return ret;
}

static long vx_cmd_caps(u32 cmd, u32 id, void *data)
{
	bool set = cmd == VCMD_set_ccaps || cmd == VCMD_set_bcaps;
	struct vcmd_ctx_caps_v1 *c = data;
	struct vcmd_bcaps *b = data;
	struct vx_info *vxi;

	if (cmd == VCMD_set_ccaps && (c->ccaps & c->cmask & ~(u64)VXC_DONE))
		return -EINVAL;
	vxi = vx_get_live(id, set);
	if (IS_ERR(vxi))
		return PTR_ERR(vxi);
	spin_lock(&vx_lock);
	switch (cmd) {
	case VCMD_set_ccaps:
		vxi->ccaps = (vxi->ccaps & ~c->cmask) | (c->ccaps & c->cmask);
		break;
	case VCMD_set_bcaps:
		vxi->bcaps = (vxi->bcaps & ~b->bmask) | (b->bcaps & b->bmask);
		break;
	case VCMD_get_ccaps:
		c->ccaps = vxi->ccaps;
		c->cmask = ~0ULL;
		break;
	default:
		b->bcaps = vxi->bcaps;
		b->bmask = ~0ULL;
	}
	spin_unlock(&vx_lock);
	vx_put(vxi);
	return 0;
}

/* The struct pid of pid (the caller's namespace) if it is a member of vxi. */
static struct pid *vx_member_pid(struct vx_info *vxi, pid_t nr)
{
	struct task_struct *t;
	struct pid *pid = NULL;

	rcu_read_lock();
	t = nr > 0 ? pid_task(find_vpid(nr), PIDTYPE_PID) : NULL;
	spin_lock(&vx_lock);
	if (t && vx_task_vxi_locked(t) == vxi)
		pid = get_pid(task_pid(t));
	spin_unlock(&vx_lock);
	rcu_read_unlock();
	return pid;
}

static long vx_cmd_kill(u32 id, struct vcmd_ctx_kill_v0 *d)
{
	struct vx_info *vxi;
	struct pid *pid = NULL;
	long ret = 0;

	if (d->sig < 0 || d->sig > _NSIG)
		return -EINVAL;
	vxi = vx_get_live(id, true);
	if (IS_ERR(vxi))
		return PTR_ERR(vxi);
	if (d->pid == 0) {
		ret = d->sig ? vx_signal_all(vxi, d->sig) : 0;
		vx_put(vxi);
		return ret;
	}
	spin_lock(&vx_lock);
	if (d->pid == 1)
		pid = get_pid(vxi->init);
	spin_unlock(&vx_lock);
	if (d->pid > 1)
		pid = vx_member_pid(vxi, d->pid);
	if (d->pid && !pid)
		ret = -ESRCH;
	else if (pid)
		ret = kill_pid(pid, d->sig, 1);
	put_pid(pid);
	vx_put(vxi);
	return ret;
}

/* Sleeps (interruptibly) until the context is gone; a context that is
 * already gone answers at once, as the userspace engine's .exit file. */
static long vx_cmd_wait(u32 id, struct vcmd_wait_exit_v0 *d)
{
	struct vx_info *vxi = vx_visible(id, false), *self;
	long ret;

	if (IS_ERR(vxi))
		return PTR_ERR(vxi);
	self = vx_task_vxi(current);
	ret = self == vxi ? -EDEADLK : 0; /* it would wait for itself */
	if (self)
		vx_put(self);
	if (!ret)
		ret = wait_event_interruptible(vxi->wq, READ_ONCE(vxi->state) == VX_DEAD);
	if (!ret) {
		spin_lock(&vx_lock);
		d->exit_code = vxi->exit_code;
		d->reboot_cmd = (s32)vxi->reboot_cmd;
		spin_unlock(&vx_lock);
	}
	vx_put(vxi);
	return ret;
}

long vx_ctx_cmd(u32 cmd, u32 id, void *data)
{
	switch (cmd) {
	case VCMD_ctx_create:
		return vx_cmd_create(id, data);
	case VCMD_ctx_migrate:
		return vx_cmd_migrate(id, data);
	case VCMD_task_xid:
		return vx_cmd_task_xid(id);
	case VCMD_vx_info:
		return vx_cmd_info(id, data);
	case VCMD_ctx_stat:
	case VCMD_virt_stat:
		return vx_cmd_stat(cmd, id, data);
	case VCMD_get_vhi_name:
	case VCMD_set_vhi_name:
		return vx_cmd_vhi(cmd, id, data);
	case VCMD_get_cflags:
	case VCMD_set_cflags:
		return vx_cmd_flags(cmd, id, data);
	case VCMD_get_ccaps:
	case VCMD_set_ccaps:
	case VCMD_get_bcaps:
	case VCMD_set_bcaps:
		return vx_cmd_caps(cmd, id, data);
	case VCMD_ctx_kill:
		return vx_cmd_kill(id, data);
	case VCMD_wait_exit:
		return vx_cmd_wait(id, data);
	}
	return -ENOSYS;
}

int vx_ctx_init(void)
{
	int ret;

	ret = vx_reg_init();
	if (ret)
		return ret;
	ret = vx_uts_init();
	if (ret)
		goto out_reg;
	ret = vx_task_init();
	if (ret)
		goto out_reg;
	ret = vx_caps_init();
	if (ret)
		goto out_task;
	return 0;

out_task:
	vx_task_exit();
out_reg:
	vx_reg_exit();
	return ret;
}

/* Only once no context lives: each holds a reference on the module. */
void vx_ctx_exit(void)
{
	vx_caps_exit();
	vx_task_exit();
	vx_reg_exit();
}
