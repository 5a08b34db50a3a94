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
static void pin_to_one_cpu(struct restore_ctx *rc)
{
	cpu_set_t one;

	if (!rc->cpus_saved) {
		rc->pin_cpu = sched_getcpu();
		if (rc->pin_cpu < 0 || sched_getaffinity(0, sizeof(rc->cpus), &rc->cpus))
			return;
		rc->cpus_saved = true;
	}
	CPU_ZERO(&one);
	CPU_SET(rc->pin_cpu, &one);
	sched_setaffinity(0, sizeof(one), &one);
}

static void unpin(struct restore_ctx *rc)
{
	if (rc->cpus_saved)
		sched_setaffinity(0, sizeof(rc->cpus), &rc->cpus);
}

/*
 * The CPU mask the process had when dumped, for each of its threads, limited
 * to the CPUs we may use here; if none of its CPUs is available, ours (with
 * a warning).
 */
static void restore_affinity(struct restore_ctx *rc)
{
	const ProtobufCBinaryData *a = &rc->task->cpu_affinity;
	cpu_set_t want;
	size_t i;

	if (!rc->cpus_saved)
		return;
	CPU_ZERO(&want);
	for (i = 0; rc->task->has_cpu_affinity && i < a->len && i < sizeof(want); i++)
		((uint8_t *)&want)[i] = a->data[i];
	CPU_AND(&want, &want, &rc->cpus);
	if (!CPU_COUNT(&want)) {
		if (rc->task->has_cpu_affinity)
			pr_warn("pid %d: none of its CPUs is available here; it may run on all of ours\n",
				rc->pid);
		want = rc->cpus;
	}
	for (i = 0; i < rc->nr_threads; i++)
		if (sched_setaffinity(rc->threads[i].tid, sizeof(want), &want))
			pr_warn("tid %d: cannot set its CPU affinity: %s\n", rc->threads[i].tid,
				strerror(errno));
}

/* One process after the root: forked, prepared, its memory and threads. */
static int build_proc(struct restore_ctx *c)
{
	int ret;

	c->cpus = c->root->cpus;
	c->cpus_saved = c->root->cpus_saved;
	ret = proc_fork(c);
	if (ret)
		return ret;
	if (c->task->state == TASK_STATE_DEAD)
		return proc_make_zombie(c);
	ret = proc_prepare(c);
	if (!ret)
		ret = mem_restore_layout_child(c);
	if (!ret)
		ret = pages_restore(c);
	if (!ret)
		ret = threads_create(c);
	return ret;
}

/* Last steps of every live process, then all of them are let go together. */
static int finish_tree(struct restore_ctx *rc)
{
	size_t i;
	int ret = 0;

	for (i = 1; !ret && i < rc->nr_procs; i++)
		if (rc->procs[i]->task->state != TASK_STATE_DEAD)
			ret = proc_set_pgid(rc->procs[i]);
	if (!ret)
		ret = helpers_exit(rc);
	for (i = 0; !ret && i < rc->nr_procs; i++) {
		struct restore_ctx *c = rc->procs[i];

		if (c->task->state == TASK_STATE_DEAD)
			continue;
		ret = timers_restore(c);
		if (!ret)
			ret = mem_restore_finish(c);
		if (!ret)
			ret = threads_close_pool(c);
		if (!ret)
			ret = locks_restore(c);	/* fds final, pool closed, creds not yet */
		if (!ret)
			ret = creds_restore(c);
	}
	if (!ret)
		test_pause("creds");
	for (i = 0; !ret && i < rc->nr_procs; i++) {
		struct restore_ctx *c = rc->procs[i];

		if (c->task->state == TASK_STATE_DEAD)
			continue;
		restore_affinity(c);
		ret = core_restore(c);
	}
	if (!ret)
		ret = rshm_finish(rc);
	if (!ret && rc->freeze_cgroup)
		ret = ctx_freeze(rc);	/* SCHED_PAUSE: frozen before its first instruction */
	for (i = 0; !ret && i < rc->nr_procs; i++)
		if (rc->procs[i]->task->state != TASK_STATE_DEAD)
			ret = core_release(rc->procs[i]);
	return ret;
}

/* Parent: drives the stopped root, then the rest of the tree.  0/-errno. */
static int rebuild(struct restore_ctx *rc)
{
	size_t i;
	int ret;

	ret = inject_init(&rc->in, rc->pid, rc->scratch);
	if (ret) {
		pr_err("pid %d: cannot take control of the new process: %s\n", rc->pid,
		       strerror(-ret));
		return ret;
	}
	ret = rshm_open_ours(rc);
	if (!ret)
		ret = mem_restore_layout(rc);
	pr_debug("stage layout done at %.3f ms\n", (now_ns() - rc->t0) / 1e6);
	test_pause("layout");
	unpin(rc);
	if (!ret)
		ret = pages_restore(rc);
	pin_to_one_cpu(rc);
	pr_debug("stage pages done at %.3f ms\n", (now_ns() - rc->t0) / 1e6);
	test_pause("pages");
	if (!ret)
		ret = threads_create(rc);
	for (i = 1; !ret && i < rc->nr_procs; i++)
		ret = build_proc(rc->procs[i]);
	if (!ret && rc->s->have_pending) {
		pr_err("image: record %llu: pages of no process (out of order)\n",
		       (unsigned long long)rc->s->pending.index);
		ret = -EBADMSG;
	}
	pr_debug("stage tree done at %.3f ms\n", (now_ns() - rc->t0) / 1e6);
	if (!ret)
		test_pause("tree");
	if (!ret)
		ret = test_fail("tree");
	if (!ret)
		ret = finish_tree(rc);
	return ret;
}

/* Frees rc and everything its plan holds (nothing it created on the host
 * is undone here: see rst_tree_kill() and rshm_free()). */
void restore_ctx_free(struct restore_ctx *rc)
{
	rshm_free(rc);
	rst_janitor_commit(rc, false);
	spool_free(rc);
	if (rc->ctl_rd >= 0)
		close(rc->ctl_rd);
	if (rc->ctl_wr >= 0)
		close(rc->ctl_wr);
	if (rc->mem_fd >= 0)
		close(rc->mem_fd);
	plan_free(rc);
	free(rc);
}

/* A restore context for the image on fd, nothing read yet; NULL without memory. */
struct restore_ctx *restore_ctx_new(int fd, const struct vxcr_restore_opts *o)
{
	struct restore_ctx *rc = calloc(1, sizeof(*rc));

	if (!rc)
		return NULL;
	rc->opts = o;
	rc->img_fd = fd;
	rc->s = &rc->stream;
	rc->ctl_rd = rc->ctl_wr = rc->mem_fd = rc->s->spool_fd = -1;
	rc->uffd = rc->uffd_child = -1;
	rc->pid = -1;
	rc->ns_cgroup_fd = -1;
	rc->janitor_fd = -1;
	return rc;
}

int vxcr_restore(int fd, const struct vxcr_restore_opts *o, pid_t *pid,
		 struct vxcr_restore_stats *st)
{
	struct vxcr_restore_opts defaults;
	struct restore_ctx *rc;
	uint64_t t0 = now_ns();
	int ret;

	if (!o) {
		vxcr_restore_opts_init(&defaults);
		o = &defaults;
	}
	if (o->pidns)
		return restore_pidns(fd, o, pid, st);
	rc = restore_ctx_new(fd, o);
	if (!rc)
		return -ENOMEM;
	rc->t0 = t0;
	ret = plan_read(rc);
	pr_debug("stage plan read at %.3f ms\n", (now_ns() - t0) / 1e6);
	if (!ret)
		ret = check_plan(rc);
	pr_debug("stage checks done at %.3f ms\n", (now_ns() - t0) / 1e6);
	if (!ret && rc->ctxe)
		ret = restore_context(rc, pid, st);	/* runs restore_run() in its supervisor */
	else if (!ret)
		ret = restore_run(rc, pid, st);
	restore_ctx_free(rc);
	return ret;
}

int restore_run(struct restore_ctx *rc, pid_t *pid, struct vxcr_restore_stats *st)
{
	int ret, was_subreaper = 0;

	if (rc->nr_procs > 1) {
		/* orphans of a failed restore come back to us to be reaped */
		prctl(PR_GET_CHILD_SUBREAPER, &was_subreaper, 0, 0, 0);
		prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
	}
	pin_to_one_cpu(rc);
	ret = rc->nr_procs > 1 || rc->recs.n_sysv ? rst_janitor_start(rc) : 0;
	ret = ret ? : tree_clone(rc);
	pr_debug("stage child ready at %.3f ms\n", (now_ns() - rc->t0) / 1e6);
	test_pause("child");
	if (!ret)
		ret = rebuild(rc);
	unpin(rc);
	if (ret) {
		rst_tree_kill(rc);
		goto out;
	}
	rst_janitor_commit(rc, true);	/* the tree runs on its own */
	*pid = rc->pid;
	for (size_t i = 1; i < rc->nr_procs; i++) {
		rc->pages += rc->procs[i]->pages;
		rc->injected += rc->procs[i]->injected;
	}
	if (st) {
		st->total_ns = now_ns() - rc->t0;
		st->pages_restored = rc->pages;
	}
	pr_info("restored pid %d (%zu processes) in %.2f ms: %llu pages, %u injected syscalls\n",
		rc->pid, rc->nr_procs, (now_ns() - rc->t0) / 1e6, (unsigned long long)rc->pages,
		rc->injected);
out:
	if (rc->nr_procs > 1 && !was_subreaper)
		prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0);
	return ret;
}
