/*
 * Checkpoint of a whole context (vxdump --ctx XID, vxcr_checkpoint of a
 * context's init): the process tree rooted at its init, pids as its own
 * pid namespace numbers them, plus a CONTEXT record with what the record
 * and the namespaces hold (flags, caps, limits, uname, clocks).  Restore:
 * lib/restore/ctx.c.
 *
 * A context paused with SCHED_PAUSE is thawed for the dump (a frozen task
 * cannot enter the ptrace stop the dump needs) and frozen again if it runs
 * on; the image says SCHED_PAUSE so the restore freezes it before its first
 * instruction.  Between the thaw and the seize its tasks run for a moment.
 * Unless leave_running, the context is killed once the image is complete,
 * and we wait until its supervisor has removed the record and groups, so
 * that a restore may follow at once.
 */
#define LOG_PREFIX "ctx: "
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "ctx/ctx.h"
#include "dump/dump.h"

struct ctx_ckpt {
	CtxEntry ce;
	char nodename[80];
	char domainname[80];
};

/* VIRT_UPTIME: the clocks inside = ours + the offsets of the init's time ns. */
static int read_clocks(const struct vxctx_record *r, CtxEntry *ce)
{
	char path[64], *text = NULL, *p;
	long long sec, nsec, mono = 0, boot = 0;
	int ret;

	snprintf(path, sizeof(path), "/proc/%d/timens_offsets", r->init_pid);
	ret = proc_read_path(path, &text, NULL);
	if (ret) {
		pr_err("context %u: cannot read %s: %s\n", r->xid, path, strerror(-ret));
		return ret;
	}
	/* "monotonic SEC NSEC\nboottime SEC NSEC\n" */
	if ((p = strstr(text, "monotonic")) && sscanf(p, "monotonic %lld %lld", &sec, &nsec) == 2)
		mono = sec * 1000000000LL + nsec;
	if ((p = strstr(text, "boottime")) && sscanf(p, "boottime %lld %lld", &sec, &nsec) == 2)
		boot = sec * 1000000000LL + nsec;
	free(text);
	ce->has_monotonic_ns = ce->has_boottime_ns = true;
	ce->monotonic_ns = vxctx_clock_ns(CLOCK_MONOTONIC) + mono;
	ce->boottime_ns = vxctx_clock_ns(CLOCK_BOOTTIME) + boot;
	return 0;
}

/* The CONTEXT record of live context r; *frozen: SCHED_PAUSE in force. */
static int fill_entry(const char *rundir, const struct vxctx_record *r, struct ctx_ckpt *c,
		      bool *frozen)
{
	CtxEntry *ce = &c->ce;
	int ret;

	ctx_entry__init(ce);
	*frozen = vxctx_cg_frozen(r->cgroup) == 1;
	ret = vxctx_uname_get(rundir, r->xid, VXCTX_UN_NODENAME, c->nodename,
			      sizeof(c->nodename));
	ret = ret ? : vxctx_uname_get(rundir, r->xid, VXCTX_UN_DOMAINNAME, c->domainname,
				      sizeof(c->domainname));
	if (ret)
		return ret;
	PB_SET(ce, xid, r->xid);
	PB_SET(ce, flags, (r->flags & ~VXCTX_F_SCHED_PAUSE) | (*frozen ? VXCTX_F_SCHED_PAUSE : 0));
	PB_SET(ce, bcaps, r->bcaps);
	PB_SET(ce, ccaps, r->ccaps);
	PB_SET(ce, nproc, r->nproc);
	ce->nodename = c->nodename;
	ce->domainname = c->domainname;
	ce->rundir = (char *)vxctx_rundir(rundir);
	PB_SET(ce, clone_flags, CLONE_NEWPID | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNS |
	       ((r->flags & VXCTX_F_HIDE_NETIF) ? CLONE_NEWNET : 0) |
	       ((r->flags & VXCTX_F_VIRT_UPTIME) ? CLONE_NEWTIME : 0));
	return (r->flags & VXCTX_F_VIRT_UPTIME) ? read_clocks(r, ce) : 0;
}

int vxcr_dump_ctx(uint32_t xid, const char *rundir, int fd, const struct vxcr_dump_opts *o,
		  struct vxcr_dump_stats *st)
{
	struct vxcr_dump_opts defaults;
	struct vxctx_record r;
	struct ctx_ckpt c;
	bool frozen;
	int ret, code;

	if (!o) {
		vxcr_dump_opts_init(&defaults);
		o = &defaults;
	}
	ret = vxctx_get(rundir, xid, &r);
	if (ret)
		return ret;
	if (vxctx_record_foreign(&r)) {
		pr_err("context %u: its init is not visible from this pid namespace\n", xid);
		return -ESRCH;
	}
	ret = fill_entry(rundir, &r, &c, &frozen);
	if (ret)
		return ret;
	if (frozen && (ret = vxctx_cg_freeze(r.cgroup, 0)))
		return ret;
	ret = dump_context(r.init_pid, fd, o, st, &c.ce, r.cgroup);
	if (frozen && (ret || o->leave_running))
		vxctx_cg_freeze(r.cgroup, 1);
	if (ret || o->leave_running)
		return ret;
	/* killed: its supervisor removes the record and groups, wait for it */
	vxctx_wait(rundir, xid, &code, NULL);
	return 0;
}
