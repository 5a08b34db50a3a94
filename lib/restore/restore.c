/*
 * vxcr_restore(): the order of a restore.  Everything before the clone only
 * reads; after it, any failure kills and reaps the half-built process.
 */
#define LOG_PREFIX "restore: "
#include <errno.h>
#include <sched.h>
#include <sys/prctl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "util/testhook.h"
#include "net/netlock.h"
#include "img/pstore.h"
#include "restore/restore.h"

void vxcr_restore_opts_init(struct vxcr_restore_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->inherit_stdio = true;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/*
 * Every injected call is a ptrace round trip between us and the new
 * process; in a VM a wakeup on the other CPU costs an IPI, which made the
 * layout stage ~3x slower.  So both run on one CPU while calls ping-pong,
 * and we go back to all our CPUs while pages stream in (the image reader's
 * decompression threads inherit our mask).  The new process gets our
 * original mask back before it runs.
 */
static void pin_to_one_cpu(struct rst_image *img)
{
	cpu_set_t one;

	if (!img->cpus_saved) {
		img->pin_cpu = sched_getcpu();
		if (img->pin_cpu < 0 || sched_getaffinity(0, sizeof(img->cpus), &img->cpus))
			return;
		img->cpus_saved = true;
	}
	CPU_ZERO(&one);
	CPU_SET(img->pin_cpu, &one);
	sched_setaffinity(0, sizeof(one), &one);
}

static void unpin(struct rst_image *img)
{
	if (img->cpus_saved)
		sched_setaffinity(0, sizeof(img->cpus), &img->cpus);
}

/*
 * The CPU mask the process had when dumped, for each of its threads, limited
 * to the CPUs we may use here; if none of its CPUs is available, ours (with
 * a warning).
 */
static void restore_affinity(struct rst_proc *proc)
{
	const ProtobufCBinaryData *a = &proc->task->cpu_affinity;
	const struct rst_image *img = proc->img;
	cpu_set_t want;
	size_t i;

	if (!img->cpus_saved)
		return;
	CPU_ZERO(&want);
	for (i = 0; proc->task->has_cpu_affinity && i < a->len && i < sizeof(want); i++)
		((uint8_t *)&want)[i] = a->data[i];
	CPU_AND(&want, &want, &img->cpus);
	if (!CPU_COUNT(&want)) {
		if (proc->task->has_cpu_affinity)
			pr_warn("pid %d: none of its CPUs is available here; it may run on all of ours\n",
				proc->pid);
		want = img->cpus;
	}
	for (i = 0; i < proc->nr_threads; i++)
		if (sched_setaffinity(proc->threads[i].tid, sizeof(want), &want))
			pr_warn("tid %d: cannot set its CPU affinity: %s\n", proc->threads[i].tid,
				strerror(errno));
}

/* One process after the root: forked, prepared, its memory and threads. */
static int build_proc(struct rst_proc *c)
{
	int ret;

	ret = rst_proc_fork(c);
	if (ret)
		return ret;
	if (c->task->state == TASK_STATE_DEAD)
		return rst_proc_make_zombie(c);
	ret = rst_cgroup_enter(c); /* before its memory: charged there */
	if (!ret)
		ret = rst_proc_prepare(c);
	if (!ret)
		ret = mem_restore_layout_child(c);
	if (!ret)
		ret = pages_restore(c);
	if (!ret)
		ret = threads_create(c);
	if (!ret)
		ret = rst_cgroup_threads(c);
	return ret;
}

/*
 * The finish stage of each live process, in order, once the whole tree is
 * built (one row per step): what needs its memory and fds final; locks
 * once the pool is closed, credentials last but one (core_restore() is
 * last, for all processes together).
 */
static int (*const finish_steps[])(struct rst_proc *c) = {
	pstate_finish,	    timers_restore,   mem_restore_finish, uffd_lazy,
	threads_close_pool, procfile_restore, locks_restore, /* fds final, pool closed, creds not yet */
	fown_restore, /* after leases: F_SETLEASE makes its taker the owner */
	creds_restore,
};

/* Runs the finish steps on live process c.  0 or -errno. */
static int finish_proc(struct rst_proc *c)
{
	size_t i;
	int ret = 0;

	for (i = 0; !ret && i < sizeof(finish_steps) / sizeof(finish_steps[0]); i++)
		ret = finish_steps[i](c);
	return ret;
}

/*
 * The caller's commit (vxcr_restore_opts.commit): the whole tree is
 * restored and none of it has run; an error undoes the restore as any
 * failure here would.  0 or its -errno.
 */
static int commit_tree(struct rst_image *img)
{
	const struct vxcr_restore_opts *o = img->opts;
	int ret;

	if (!o->commit)
		return 0;
	ret = test_fail("restore-commit") ?: o->commit(o->commit_arg);
	if (ret > 0)
		ret = -ECANCELED;
	if (ret)
		pr_err("the restore was not committed: %s\n", strerror(-ret));
	return ret;
}

/* Last steps of every live process, then all of them are let go together. */
static int finish_tree(struct rst_image *img)
{
	size_t i;
	int ret = 0;

	for (i = 0; !ret && i < img->nr_procs; i++)
		if (img->procs[i]->task->state != TASK_STATE_DEAD)
			ret = rst_proc_set_pgid(img->procs[i]);
	if (!ret)
		ret = helpers_exit(img);
	if (!ret)
		ret = tty_restore_fg(img);	    /* every group exists */
	for (i = 0; !ret && i < img->nr_procs; i++) /* see mem_restore_mm */
		if (img->procs[i]->task->state != TASK_STATE_DEAD)
			ret = mem_restore_mm(img->procs[i]);
	for (i = 0; !ret && i < img->nr_procs; i++)
		if (img->procs[i]->task->state != TASK_STATE_DEAD)
			ret = finish_proc(img->procs[i]);
	if (!ret)
		test_pause("creds");
	for (i = 0; !ret && i < img->nr_procs; i++) {
		struct rst_proc *c = img->procs[i];

		if (c->task->state == TASK_STATE_DEAD)
			continue;
		restore_affinity(c);
		ret = core_restore(c);
	}
	if (!ret)
		ret = rshm_finish(img);
	if (!ret)
		ret = commit_tree(img); /* nothing of it has run yet */
	if (!ret && img->freeze_cgroup)
		ret = ctx_freeze(img); /* SCHED_PAUSE: frozen before its first instruction */
	if (!ret)
		ret = tty_handover(img); /* foreground before its first read */
	if (!ret)
		ret = tcpsk_resume(img); /* unlocked, out of repair mode, before it runs */
	for (i = 0; !ret && i < img->nr_procs; i++)
		if (img->procs[i]->task->state != TASK_STATE_DEAD)
			ret = core_release(img->procs[i]);
	return ret;
}

/* Parent: drives the stopped root, then the rest of the tree.  0/-errno. */
static int rebuild(struct rst_image *img)
{
	struct rst_proc *root = rst_root(img);
	size_t i;
	int ret;

	ret = rst_inject_init(root, &root->in, root->pid);
	if (ret) {
		pr_err("pid %d: cannot take control of the new process: %s\n", root->pid,
		       strerror(-ret));
		return ret;
	}
	ret = rst_cgroup_setup(img);
	if (!ret)
		ret = rshm_open_ours(img);
	if (!ret)
		ret = mem_restore_layout(root);
	pr_debug("stage layout done at %.3f ms\n", (now_ns() - img->t0) / 1e6);
	test_pause("layout");
	unpin(img);
	if (!ret)
		ret = pages_restore(root);
	pin_to_one_cpu(img);
	pr_debug("stage pages done at %.3f ms\n", (now_ns() - img->t0) / 1e6);
	test_pause("pages");
	if (!ret)
		ret = threads_create(root);
	if (!ret)
		ret = rst_cgroup_threads(root);
	for (i = 1; !ret && i < img->nr_procs; i++)
		ret = build_proc(img->procs[i]);
	if (!ret)
		ret = rst_proc_zombies_exit(img);
	if (!ret && img->stream.have_pending) {
		pr_err("image: record %llu: pages of no process (out of order)\n",
		       (unsigned long long)img->stream.pending.index);
		ret = -EBADMSG;
	}
	pr_debug("stage tree done at %.3f ms\n", (now_ns() - img->t0) / 1e6);
	if (!ret)
		test_pause("tree");
	if (!ret)
		ret = test_fail("tree");
	if (!ret)
		ret = finish_tree(img);
	return ret;
}

/* Frees img, its processes and everything its plan holds (nothing it
 * created on the host is undone here: see rst_tree_kill() and rshm_free()). */
void rst_image_free(struct rst_image *img)
{
	net_unlock(img->net_lock); /* a failed restore's own lock */
	rshm_free(img);
	rst_netns_free(img);
	rst_ipcns_free(img);
	rst_mntns_free(img);
	rst_cgroup_done(img, false);
	rst_janitor_commit(img, false);
	spool_free(img);
	plan_free(img);
	free(img);
}

/* The state of a restore of the image on fd, nothing read yet; NULL without memory. */
struct rst_image *rst_image_new(int fd, const struct vxcr_restore_opts *o)
{
	struct rst_image *img = calloc(1, sizeof(*img));

	if (!img)
		return NULL;
	img->opts = o;
	img->img_fd = fd;
	img->ns_cgroup_fd = -1;
	img->janitor_fd = -1;
	img->netns_fd = -1;
	img->ipcns_saved = -1;
	img->mntns_fd = -1;
	img->host_tty = -1;
	return img;
}

static int restore_image(int fd, const struct vxcr_restore_opts *o, pid_t *pid,
			 struct vxcr_restore_stats *st);

/*
 * An incremental image: its parents' pages read into one store first (the
 * restore's children, a PID namespace's init or a context's supervisor,
 * inherit it), then the restore with that store.  With both pages and
 * parent_fds set, pages is taken to be the parents' store.
 */
static int restore_with_parents(int fd, const struct vxcr_restore_opts *o, pid_t *pid,
				struct vxcr_restore_stats *st)
{
	struct vxcr_restore_opts inner = *o;
	struct vxcr_pstore *ps;
	int ret;

	if (!o->parent_fds) {
		pr_err("%zu parent images but no fds\n", o->n_parents);
		return -EINVAL;
	}
	ret = pstore_load_chain(o->parent_fds, o->n_parents, o->trusted_keys, &ps);
	if (ret)
		return ret;
	pr_info("%llu pages of %zu parent images in %.1f MiB\n",
		(unsigned long long)pstore_pages(ps), o->n_parents, pstore_mem(ps) / 1048576.0);
	inner.pages = ps;
	ret = restore_image(fd, &inner, pid, st);
	pstore_free(ps);
	return ret;
}

static int restore_image(int fd, const struct vxcr_restore_opts *o, pid_t *pid,
			 struct vxcr_restore_stats *st)
{
	struct vxcr_restore_opts defaults;
	struct rst_image *img;
	uint64_t t0 = now_ns();
	int ret;

	if (!o) {
		vxcr_restore_opts_init(&defaults);
		o = &defaults;
	}
	if (o->n_inherit_fds > RST_INHERIT_MAX) {
		pr_err("%zu fds to hand over, at most %d\n", o->n_inherit_fds, RST_INHERIT_MAX);
		return -EINVAL;
	}
	if (o->n_parents && !o->pages)
		return restore_with_parents(fd, o, pid, st);
	if (o->pidns)
		return restore_pidns(fd, o, pid, st);
	img = rst_image_new(fd, o);
	if (!img)
		return -ENOMEM;
	img->parents_given = o->n_parents > 0;
	img->t0 = t0;
	ret = plan_read(img);
	pr_debug("stage plan read at %.3f ms\n", (now_ns() - t0) / 1e6);
	if (!ret && img->ctxe && o->netns && !img->netns) {
		pr_err("a new network namespace (--netns) for a context image is not supported "
		       "(one with HIDE_NETIF brings its own)\n");
		ret = -EINVAL;
	}
	if (!ret)
		ret = check_plan(img);
	pr_debug("stage checks done at %.3f ms\n", (now_ns() - t0) / 1e6);
	if (!ret && img->ctxe) /* restore_run() runs in the context's supervisor */
		ret = restore_context(img, pid, st);
	else if (!ret)
		ret = restore_run(img, pid, st);
	rst_image_free(img);
	return ret;
}

int vxcr_restore(int fd, const struct vxcr_restore_opts *o, pid_t *pid,
		 struct vxcr_restore_stats *st)
{
	err_op_begin();
	return err_op_end(restore_image(fd, o, pid, st));
}

int restore_run(struct rst_image *img, pid_t *pid, struct vxcr_restore_stats *st)
{
	uint64_t pages = 0;
	unsigned injected = 0;
	int ret, was_subreaper = 0;

	if (img->nr_procs > 1) {
		/* orphans of a failed restore come back to us to be reaped */
		prctl(PR_GET_CHILD_SUBREAPER, &was_subreaper, 0, 0, 0);
		prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
	}
	pin_to_one_cpu(img);
	ret = img->nr_procs > 1 || img->recs.n_sysv ? rst_janitor_start(img) : 0;
	if (!ret && img->recs.n_cgroup) /* groups it may create */
		ret = rst_janitor_start(img);
	ret = ret ?: rst_netns_build(img); /* before any process of the tree */
	ret = ret ?: rst_ipcns_build(img); /* ours stays in it until the end */
	ret = ret ?: rst_mntns_build(img);
	ret = ret ?: rst_timens_enter(img);
	ret = ret ?: (img->in_place ? rst_tree_adopt(img) : rst_tree_clone(img));
	pr_debug("stage child ready at %.3f ms\n", (now_ns() - img->t0) / 1e6);
	test_pause("child");
	if (!ret)
		ret = rebuild(img);
	unpin(img);
	if (ret) {
		rst_tree_kill(img);
		rst_cgroup_done(img, false); /* the groups we made, empty now */
		goto out;
	}
	rst_cgroup_done(img, true);
	rst_net_unlock(img);	       /* every socket is back */
	rst_janitor_commit(img, true); /* the tree runs on its own */
	*pid = rst_root(img)->pid;
	for (size_t i = 0; i < img->nr_procs; i++) {
		pages += img->procs[i]->pages;
		injected += img->procs[i]->injected;
	}
	if (st) {
		st->total_ns = now_ns() - img->t0;
		st->pages_restored = pages;
		st->job_pgrp = img->job_pgrp;
	}
	pr_info("restored pid %d (%zu processes) in %.2f ms: %llu pages, %u injected syscalls\n",
		*pid, img->nr_procs, (now_ns() - img->t0) / 1e6, (unsigned long long)pages,
		injected);
out:
	rst_ipcns_leave(img);
	if (img->nr_procs > 1 && !was_subreaper)
		prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0);
	return ret;
}
