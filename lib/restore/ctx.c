/*
 * Restore of a whole context: an image whose first record is CONTEXT
 * (vxdump --ctx, lib/ctx/cr.c).  Its first task is the context's init, pid
 * 1 of the context's pid namespace, and every pid of the image is a pid of
 * that namespace.
 *
 *   caller --fork--> (short-lived) --fork--> supervisor --clone3--> init
 *
 * As for vxcr ctx create, the supervisor (setsid, outside the namespaces
 * and the cgroup) is a grandchild of the caller, so the caller has nothing
 * to reap and may exit at once.  Under the run directory's lock it claims
 * the xid (a live context of that xid: refused; a stale record: cleaned),
 * makes the context's groups, unshares a time namespace whose clocks go on
 * from the dumped values (VIRT_UPTIME), and runs the ordinary tree restore
 * (restore_run) with one difference at the root: the init is cloned into
 * new pid/uts/ipc/mount (+net) namespaces and straight into the cgroup, so
 * it is pid 1 without set_tid; its C part joins the v1 pids group (if any),
 * mounts the namespace's /proc and sets the uname before it stops (the
 * seccomp ccaps filters of the tasks come back from the image).  Every other task is forked from inside by injected
 * clone3 with set_tid of one level, the innermost one, so it gets its
 * recorded pid there; we learn its pid here from the fork event
 * (PTRACE_GETEVENTMSG).  Then the record is written, the caller gets a
 * report, and the supervisor waits for the init as after a create.  On any
 * failure the tree is killed, the groups are removed and no record is
 * written; the image is only read.
 */
#define LOG_PREFIX "restore/ctx: "
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#include "log.h"
#include "util/report.h"
#include "ctx/ctx.h"
#include "restore/restore.h"

/* What the supervisor reports besides its result. */
struct ctx_report {
	pid_t init; /* its pid here */
	uint64_t total_ns;
	uint64_t pages;
};

uint64_t ctx_clone_flags(const CtxEntry *ce)
{
	uint64_t f = CLONE_NEWPID | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNS;

	if (ce->flags & VXCTX_F_HIDE_NETIF)
		f |= CLONE_NEWNET;
	return f;
}

/*
 * --root: the init's own files (vxcr and its libraries, outside_root) are
 * on the host's /, which its pivot leaves: an fd of it is kept, above the
 * fds the restore places, until its maps are open (files.c).
 */
static int hold_host_root(const struct rst_image *img)
{
	int fd, high;

	if (!img->ctxe->root)
		return 0;
	for (size_t i = 0; i < img->nr_files; i++) {
		if (!img->files[i].fe->outside_root)
			continue;
		fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
		high = fd < 0 ? -1 : fcntl(fd, F_DUPFD_CLOEXEC, img->temp_base);
		if (fd >= 0)
			close(fd);
		if (high < 0) {
			pr_perror("cannot keep the host's root for the init's own files");
			return -errno;
		}
		rst_open_outside_root(high);
		return 0;
	}
	return 0;
}

/*
 * The init's C part, in its new namespaces, before it stops: the v1 pids
 * group (INFO_NPROC on a hybrid host; clone3 put it into the v2 group only),
 * /proc, uname, lo.  Every task forked from it later inherits the group, as
 * the main command's descendants did.  The ccaps filter is not installed
 * here: each task's seccomp filters are in the image and come back per
 * thread at the end of the restore (seccomp.c); here it would be doubled.
 * 0 or -errno.
 */
int ctx_child_setup(const struct rst_image *img)
{
	const CtxEntry *ce = img->ctxe;
	int ret = 0;

	if (img->pids_cgroup)
		ret = vxctx_cg_join(img->pids_cgroup, 0); /* 0: ourselves */
	ret = ret ?: vxctx_limits_join(ce->xid, 0);
	ret = ret ?: hold_host_root(img);
	if (ret)
		return ret;
	return vxctx_ns_setup(ce->xid, img->opts->rundir, ce->nodename, ce->domainname, ce->flags, ce->root) ?:
		       ctx_mounts_restore(img, vxctx_rundir(img->opts->rundir));
}

int ctx_freeze(const struct rst_image *img)
{
	int ret = vxctx_cg_write(img->freeze_cgroup, "cgroup.freeze", "1");

	if (ret)
		pr_err("SCHED_PAUSE: cannot freeze %s: %s\n", img->freeze_cgroup, strerror(-ret));
	return ret;
}

/* VIRT_UPTIME: the context's clocks go on from where the dump saw them. */
static int ctx_timens(const CtxEntry *ce)
{
	int64_t mono = ce->has_monotonic_ns ? ce->monotonic_ns : 0;
	int64_t boot = ce->has_boottime_ns ? ce->boottime_ns : 0;
	int ret;

	if (mono < 0 || boot < 0) {
		pr_err("image: CONTEXT clocks are negative\n");
		return -EBADMSG;
	}
	ret = vxctx_timens(mono - vxctx_clock_ns(CLOCK_MONOTONIC),
			   boot - vxctx_clock_ns(CLOCK_BOOTTIME));
	if (ret)
		pr_err("VIRT_UPTIME: cannot make a time namespace: %s\n", strerror(-ret));
	return ret;
}

static void ctx_args(const struct rst_image *img, struct vxctx_create_args *a)
{
	const CtxEntry *ce = img->ctxe;

	memset(a, 0, sizeof(*a));
	a->xid = ce->xid;
	a->flags = ce->flags;
	a->bcaps = ce->has_bcaps ? ce->bcaps : VXCTX_BCAPS_ALL;
	a->ccaps = ce->ccaps;
	a->hostname = ce->nodename;
	a->domainname = ce->domainname;
	a->nproc = ce->nproc;
	a->rundir = img->opts->rundir;
	a->net = ce->net; /* informational: the NETNS record rebuilt the network */
	a->root = ce->root;
	a->limits = ce->limits;
}

/* The supervisor's part up to the record; 0 or -errno (logged). */
static int supervise_restore(struct rst_image *img, const struct vxctx_create_args *a,
			     struct vxctx_groups *g, struct ctx_report *rep)
{
	struct vxcr_restore_stats st = { 0 };
	struct vxctx_record r;
	char path[32];
	int ret;

	ret = vxctx_xid_claim(a->rundir, a->xid);
	if (ret)
		return ret;
	snprintf(path, sizeof(path), "%u.exit", a->xid);
	vxctx_rundir_unlink(a->rundir, path);
	ret = vxctx_self_make(a->rundir, a->xid, a->flags); /* the init binds it in */
	if (ret)
		return ret;
	ret = vxctx_groups_make(a, g);
	if (ret)
		return ret;
	if (a->flags & VXCTX_F_VIRT_UPTIME)
		ret = ctx_timens(img->ctxe);
	img->ns_cgroup_fd = ret ? -1 : open(g->cgroup, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (!ret && img->ns_cgroup_fd < 0) {
		pr_perror("cannot open %s", g->cgroup);
		ret = -errno;
	}
	if (a->flags & VXCTX_F_SCHED_PAUSE)
		img->freeze_cgroup = g->cgroup;
	if (g->pids[0])
		img->pids_cgroup = g->pids;
	ret = ret ?: restore_run(img, &rep->init, &st);
	if (ret)
		goto fail;
	vxctx_record_fill(a, g, rep->init, &r);
	ret = vxctx_record_write(a->rundir, &r);
	if (ret) {
		pr_err("cannot write the record of context %u: %s\n", a->xid, vxcr_last_error());
		err_wrap("cannot write the record of context %u", a->xid);
		kill(rep->init, SIGKILL);
		waitpid(rep->init, NULL, 0);
		goto fail;
	}
	rep->total_ns = st.total_ns;
	rep->pages = st.pages_restored;
	return 0;
fail:
	vxctx_groups_remove(g);
	return ret;
}

/*
 * vxrestore died before it heard of the restore (its end of the report
 * pipe is gone): a killed restore leaves nothing, so the context goes:
 * its init (and with it its pid namespace), every task of its groups, its
 * record and groups.  Never returns.
 */
static void __attribute__((noreturn))
undo(const struct vxctx_create_args *a, const struct vxctx_groups *g, pid_t init)
{
	struct vxctx_record r;
	int lock;

	kill(init, SIGKILL);
	vxctx_cg_kill(g->cgroup);
	while (waitpid(init, NULL, 0) < 0 && errno == EINTR)
		;
	lock = vxctx_lock(a->rundir);
	if (!vxctx_record_read(a->rundir, a->xid, &r) && r.init_pid == init)
		vxctx_record_clean(a->rundir, &r);
	else
		vxctx_groups_remove(g);
	if (lock >= 0)
		close(lock);
	_exit(1);
}

/* The supervisor: restores, reports on wr, then waits for the init. */
static void __attribute__((noreturn)) supervisor(struct rst_image *img, int wr)
{
	struct ctx_report rep = { 0 };
	struct vxctx_create_args a;
	struct vxctx_groups g = { { 0 }, { 0 }, 0 };
	int lock, ret;

	err_clear(); /* ours to report: what fails from here on */
	setsid();
	signal(SIGHUP, SIG_IGN);
	signal(SIGINT, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	ctx_args(img, &a);
	lock = vxctx_lock(a.rundir);
	ret = lock < 0 ? lock : supervise_restore(img, &a, &g, &rep);
	if (lock >= 0)
		close(lock);
	if (report_send(wr, ret, &rep, sizeof(rep)) && !ret)
		undo(&a, &g, rep.init); /* vxrestore was killed: nothing is left */
	if (ret)
		_exit(1);
	close(wr);
	if (img->ns_cgroup_fd >= 0)
		close(img->ns_cgroup_fd);
	if (img->netns_fd >= 0) /* the namespace is the init's now: it dies with it */
		close(img->netns_fd);
	vxctx_supervise(&a, &g, rep.init);
}

static int check_context(const struct rst_image *img)
{
	const CtxEntry *ce = img->ctxe;

	if (!ce->has_xid || ce->xid < VXCTX_XID_MIN || ce->xid > VXCTX_XID_MAX) {
		pr_err("image: CONTEXT without a valid xid\n");
		return -EBADMSG;
	}
	if (rst_root(img)->task->pid != 1) {
		pr_err("image: context %u: its first task is pid %u, not its init (pid 1)\n",
		       ce->xid, rst_root(img)->task->pid);
		return -EBADMSG;
	}
	if (ce->flags & ~VXCTX_F_SUPPORTED) {
		pr_err("image: context %u has flags 0x%llx this engine does not support\n", ce->xid,
		       (unsigned long long)(ce->flags & ~VXCTX_F_SUPPORTED));
		return -ENOTTY;
	}
	if (!!(ce->flags & VXCTX_F_INFO_NPROC) != !!ce->nproc) {
		pr_err("image: context %u: INFO_NPROC and its limit disagree\n", ce->xid);
		return -EBADMSG;
	}
	if ((ce->nodename && strlen(ce->nodename) > 64) ||
	    (ce->domainname && strlen(ce->domainname) > 64)) {
		pr_err("image: context %u: uname longer than 64 bytes\n", ce->xid);
		return -EBADMSG;
	}
	if (ce->net && (strlen(ce->net) >= 128 || strchr(ce->net, '\n'))) {
		pr_err("image: context %u: its --net text is too long or has a newline\n", ce->xid);
		return -EBADMSG;
	}
	if (ce->root && (vxctx_root_check(ce->root) || vxctx_root_ready(ce->root))) {
		pr_err("image: context %u: root %s refused (see above)\n", ce->xid, ce->root);
		return -EBADMSG;
	}
	if (ce->limits && (strlen(ce->limits) >= 512 || vxctx_limits_check(ce->limits))) {
		pr_err("image: context %u: its limits are not valid --limit text\n", ce->xid);
		return -EBADMSG;
	}
	if (restore_in_pidns()) { /* --pidns: we are its namespace's init */
		pr_err("context %u: a context image makes its own pid namespace (no --pidns)\n",
		       ce->xid);
		return -EINVAL;
	}
	return 0;
}

int restore_context(struct rst_image *img, pid_t *pid, struct vxcr_restore_stats *st)
{
	struct ctx_report rep;
	int p[2], ret;
	pid_t mid;

	ret = check_context(img) ?: ctx_mounts_prepare(img);
	if (ret)
		return ret;
	if (pipe2(p, O_CLOEXEC)) {
		pr_perror("pipe");
		return -errno;
	}
	fflush(NULL);
	mid = fork();
	if (mid == 0) {
		close(p[0]);
		if (fork() == 0) {
			/* its own reader threads from here on (plan.c: add_context) */
			img_reader_set_threads(img->stream.rd, 0);
			supervisor(img, p[1]);
		}
		_exit(0);
	}
	close(p[1]);
	if (mid < 0) {
		pr_perror("fork");
		close(p[0]);
		return -errno;
	}
	waitpid(mid, NULL, 0);
	ret = report_recv(p[0], &rep, sizeof(rep));
	close(p[0]);
	if (ret > 0) {
		pr_err("context %u: its supervisor died during the restore\n", img->ctxe->xid);
		return -ECHILD;
	}
	if (ret)
		return ret;
	*pid = rep.init;
	if (st) {
		st->total_ns = rep.total_ns;
		st->pages_restored = rep.pages;
		st->ctx_xid = img->ctxe->xid;
	}
	pr_info("context %u restored: init %d\n", img->ctxe->xid, rep.init);
	return 0;
}
