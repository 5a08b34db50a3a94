/*
 * Checkpoint of a whole context (vxdump --ctx XID, vxcr_checkpoint of a
 * context's init): the process tree rooted at its init, pids as its own
 * pid namespace numbers them, plus a CONTEXT record with what the record
 * and the namespaces hold (flags, caps, limits, uname, clocks).  Restore:
 * lib/restore/ctx.c.
 *
 * A context paused with SCHED_PAUSE stays frozen: its tasks are seized and
 * read frozen, and the group is thawed only around the injection windows
 * of each process, while every task is ptrace-stopped (only the injected
 * calls run).  A guardian (guard.c) freezes it again if we die meanwhile,
 * before the kernel lets go of the tasks, so not one instruction of the
 * context's own runs (NOTES: "A paused context's dump").  The image says
 * SCHED_PAUSE so the restore freezes it before its first instruction.
 * Unless leave_running, the context is killed once the image is complete,
 * and we wait until its supervisor has removed the record and groups, so
 * that a restore may follow at once.
 */
#define LOG_PREFIX "ctx/cr: "
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <linux/capability.h>

#include "log.h"
#include "ctx/ctx.h"
#include "dump/dump.h"

struct ctx_ckpt {
	CtxEntry ce;
	char nodename[80];
	char domainname[80];
	char limits[512];
};

/*
 * --root: the directory the init lives in (its root, as /proc sees it) must
 * be the one the record names, opened without symlinks; its identity goes
 * into the image (a restore into a copy of it checks files by contents'
 * size and mtime, lib/restore/open.c).  The restore makes the context's
 * mounts from its settings: a context that could mount (SYS_ADMIN in its
 * bcaps) is refused here, while it runs, not at the restore.
 */
static int root_identity(const struct vxctx_record *r, CtxEntry *ce)
{
	struct stat in, host;
	char path[64];
	int fd;

	if (r->bcaps & (1ULL << CAP_SYS_ADMIN)) {
		pr_err("context %u has its own root and SYS_ADMIN in its bcaps: its mounts may have "
		       "been changed from inside, which a restore does not make (checkpoint a "
		       "--root context with the default bcaps)\n",
		       r->xid);
		return -EOPNOTSUPP;
	}
	snprintf(path, sizeof(path), "/proc/%d/root", r->init_pid);
	if (stat(path, &in))
		return -errno;
	fd = vxctx_root_open(r->root);
	if (fd < 0)
		return fd;
	if (fstat(fd, &host))
		host.st_ino = 0;
	close(fd);
	if (host.st_dev != in.st_dev || host.st_ino != in.st_ino) {
		pr_err("context %u: its root is no longer %s (that path names another directory "
		       "now)\n",
		       r->xid, r->root);
		return -ESTALE;
	}
	ce->root = (char *)r->root;
	PB_SET(ce, root_dev, in.st_dev);
	PB_SET(ce, root_ino, in.st_ino);
	return 0;
}

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

/*
 * The CONTEXT record of live context r; *frozen: SCHED_PAUSE in force, as
 * cgroup.freeze says (cgroup.events may say "frozen 0" for a moment after
 * a dump of it let go of its tasks: they are on their way back).
 */
static int fill_entry(const char *rundir, const struct vxctx_record *r, struct ctx_ckpt *c,
		      bool *frozen)
{
	CtxEntry *ce = &c->ce;
	int ret;

	ctx_entry__init(ce);
	*frozen = vxctx_cg_freezing(r->cgroup) == 1;
	ret = vxctx_uname_get(rundir, r->xid, VXCTX_UN_NODENAME, c->nodename, sizeof(c->nodename));
	ret = ret   ?:
		      vxctx_uname_get(rundir, r->xid, VXCTX_UN_DOMAINNAME, c->domainname,
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
	if (r->net[0])
		ce->net = (char *)r->net;
	if (r->root[0]) {
		ret = root_identity(r, ce);
		if (ret)
			return ret;
	}
	if (!vxctx_limits_get(r->xid, r->cgroup, c->limits, sizeof(c->limits)) && c->limits[0])
		ce->limits = c->limits;
	PB_SET(ce, clone_flags,
	       CLONE_NEWPID | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNS |
		       ((r->flags & VXCTX_F_HIDE_NETIF) ? CLONE_NEWNET : 0) |
		       ((r->flags & VXCTX_F_VIRT_UPTIME) ? CLONE_NEWTIME : 0));
	return (r->flags & VXCTX_F_VIRT_UPTIME) ? read_clocks(r, ce) : 0;
}

static int thaw_group(void *cgroup)
{
	return vxctx_cg_freeze(cgroup, 0);
}

static int freeze_group(void *cgroup)
{
	return vxctx_cg_freeze(cgroup, 1);
}

/*
 * Dumps the tree of r's init; a frozen context under a guardian, thawed
 * only for the injection windows.  0 or -errno (logged).
 */
static int dump_ctx_tree(struct vxctx_record *r, int fd, const struct vxcr_dump_opts *o,
			 struct vxcr_dump_stats *st, struct ctx_ckpt *c, bool frozen)
{
	struct dump_freezer fz = { thaw_group, freeze_group, r->cgroup };
	struct vxctx_guard guard;
	int ret;

	if (!frozen)
		return dump_context(r->init_pid, fd, o, st, &c->ce, r->cgroup, NULL);
	ret = vxctx_guard_start(r->cgroup, &guard);
	if (ret)
		return ret;
	ret = dump_context(r->init_pid, fd, o, st, &c->ce, r->cgroup, &fz);
	if (ret && vxctx_cg_freezing(r->cgroup) != 1) /* failed to freeze it again? */
		freeze_group(r->cgroup);
	vxctx_guard_stop(&guard);
	return ret;
}

static int dump_whole_ctx(uint32_t xid, const char *rundir, int fd, const struct vxcr_dump_opts *o,
			  struct vxcr_dump_stats *st)
{
	struct vxcr_dump_opts defaults, implied;
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
	if ((r.flags & VXCTX_F_HIDE_NETIF) && !o->tcp_established) {
		/* its own network: its connections are its own (issue 13) */
		implied = *o;
		implied.tcp_established = true;
		o = &implied;
	}
	ret = fill_entry(rundir, &r, &c, &frozen);
	if (ret)
		return ret;
	ret = dump_ctx_tree(&r, fd, o, st, &c, frozen);
	if (ret || o->leave_running)
		return ret;
	/* killed: its supervisor removes the record and groups, wait for it */
	vxctx_wait(rundir, xid, &code, NULL);
	return 0;
}

int vxcr_dump_ctx(uint32_t xid, const char *rundir, int fd, const struct vxcr_dump_opts *o,
		  struct vxcr_dump_stats *st)
{
	err_op_begin();
	return err_op_end(dump_whole_ctx(xid, rundir, fd, o, st));
}
