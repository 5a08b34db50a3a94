/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Contexts in the kernel: what context.c and the ctx-*.c files share.
 *
 * One spinlock, vx_lock, guards the registry (xid -> struct vx_info) and
 * the member map (task -> vx_info); it is taken from the ioctl (process
 * context), from the fork and exit tracepoints and from the kprobes on
 * the syscalls (atomic context), never with another of our locks held;
 * under it: GFP_ATOMIC allocations, wake_up, queue_work, nothing else
 * (signals are sent after it is dropped).
 * A vx_info lives while it is in the registry (the registry's reference)
 * and while a command or a waiter holds one (vx_get/vx_put).  Members hold
 * no reference: a live context keeps its registry entry, and a context
 * leaves the registry only once it has no member left.
 */
#ifndef _VXCR_CTX_H
#define _VXCR_CTX_H

#include <linux/hashtable.h>
#include <linux/refcount.h>
#include <linux/sched.h>
#include <linux/spinlock.h>
#include <linux/types.h>
#include <linux/wait.h>
#include <linux/workqueue.h>

#include "vxcr.h"

#define VX_XID_MIN 2 /* 0 is the host, 1 the spectator */
#define VX_XID_MAX 65535
#define VX_XID_DYN_MIN 49152 /* dynamic xids, as the userspace engine */
#define VX_DYNAMIC_ID ((u32)-1)

enum vx_state {
	VX_LIVE, /* has members, or none and PERSISTENT */
	VX_DEAD, /* gone: only its exit code is kept, for wait_exit */
};

struct uts_namespace;
struct nsproxy;
struct net;

struct vx_info {
	struct hlist_node node; /* in the registry */
	refcount_t ref;
	u32 xid;
	struct vx_info *parent; /* the context it was created in (a reference), or NULL */
	enum vx_state state;
	u64 flags;		  /* VXF_* (guarded by vx_lock) */
	u64 ccaps;		  /* VXC_* */
	u64 bcaps;		  /* bit n: capability n kept on entry */
	struct pid *init;	  /* the init's thread group; NULL once it exited */
	struct list_head members; /* struct vx_member, under vx_lock */
	u32 nr_threads;		  /* members */
	u32 nr_forks;
	bool killing;		    /* SIGKILL to all sent: children forked meanwhile get it too */
	u64 created_ns;		    /* boottime */
	int exit_code;		    /* the init's: its status, 128 + signal if killed */
	u32 reboot_cmd;		    /* reboot(2) command that ended it (REBOOT_KILL), else 0 */
	struct uts_namespace *uts;  /* its own UTS namespace (NULL once dead) */
	struct net *net;	    /* HIDE_NETIF: its own network namespace, else NULL */
	wait_queue_head_t wq;	    /* wait_exit sleeps here until VX_DEAD */
	struct work_struct release; /* drops uts and the module reference */
};

extern spinlock_t vx_lock;
extern atomic_t vx_nr_live; /* live contexts: fast path of the probes */

/* ctx-reg.c: the registry */
struct vx_info *vx_lookup(u32 xid); /* live or dead, with a reference, or NULL */
void vx_get(struct vx_info *vxi);
void vx_put(struct vx_info *vxi);
/* Creates xid (VX_DYNAMIC_ID: a free one) with the caller as its only
 * member and init; -EEXIST, -EINVAL, -EAGAIN, -ENOMEM. */
struct vx_info *vx_create(u32 xid, struct vx_info *parent, u64 flags, struct uts_namespace *uts,
			  struct net *net);
/* Under vx_lock: the last member left (or PERSISTENT was cleared with none
 * left): the context becomes VX_DEAD and its waiters wake. */
void vx_die_locked(struct vx_info *vxi);
int vx_reg_init(void);
/* true if vxi was created inside anc, at any depth */
bool vx_descends(const struct vx_info *vxi, const struct vx_info *anc);
/* Calls fn on every registered context (live or dead) under vx_lock; fn
 * must not sleep. */
void vx_reg_each(void (*fn)(struct vx_info *vxi, void *arg), void *arg);
int vx_reg_init(void);
void vx_reg_exit(void);

/* ctx-task.c: the member map and the tracepoints feeding it */
struct vx_info *vx_task_vxi_locked(struct task_struct *t);
/* The context of t, with a reference (NULL: the host). */
struct vx_info *vx_task_vxi(struct task_struct *t);
/* Makes current a member of vxi (leaving its old context); -ENOMEM. */
int vx_member_set(struct vx_info *vxi);
/* Calls fn on every member thread of vxi under vx_lock; fn must not sleep. */
void vx_members_each(struct vx_info *vxi, void (*fn)(struct task_struct *t, void *arg), void *arg);

/* Context xid as current may use it, with a reference: -ESRCH if there
 * is none or current cannot see it (a context sees itself and the ones
 * below it), -EPERM for a change (change true) of current's own. */
struct vx_info *vx_visible(u32 xid, bool change);

/* What vx_count_task() adds up over a context's members (vx_lock held). */
struct vx_count {
	u32 tasks, running, unintr;
};

/* vx_members_each() callback: counts t as running or uninterruptible
 * (the load average's rules) into the struct vx_count at arg. */
void vx_count_task(struct task_struct *t, void *arg);
/* Member processes of vxi (thread groups), under vx_lock. */
u32 vx_nr_procs_locked(struct vx_info *vxi);
/* Signals every member process of vxi (takes vx_lock); 0 or -ENOMEM. */
int vx_signal_all(struct vx_info *vxi, int sig);
int vx_task_init(void);
void vx_task_exit(void);

/* ctx-uts.c: one UTS namespace per context */
int vx_uts_init(void);
/* A copy of current's nsproxy with uts as its UTS namespace (NULL: a new
 * copy of current's) and net as its network namespace (NULL: current's, or
 * a new one if new_net), or an ERR_PTR; then dropped or entered. */
struct nsproxy *vx_nsp_new(struct uts_namespace *uts, struct net *net, bool new_net);
void vx_nsp_drop(struct nsproxy *nsp);
void vx_nsp_enter(struct nsproxy *nsp);
void vx_uts_put(struct uts_namespace *uts);
int vx_uts_get_field(struct uts_namespace *uts, u32 field, char *buf);
int vx_uts_set_field(struct uts_namespace *uts, u32 field, const char *val);

/* ctx-net.c: lo of a new network namespace up; 0 or -errno */
int vx_net_lo_up(struct net *net);

/* ctx-caps.c: ccaps and the reboot of a context, checked by kprobes */
int vx_caps_init(void);
void vx_caps_exit(void);

/* proc.c: /proc/virtual (process context: they sleep) */
int vx_proc_init(void);
void vx_proc_exit(void);
void vx_proc_add(struct vx_info *vxi); /* at create */
void vx_proc_del(struct vx_info *vxi); /* at release */

#endif
