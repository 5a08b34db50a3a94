/*
 * vxcr_restore(): the order of a restore.  Everything before the clone only
 * reads; after it, any failure kills and reaps the half-built process.
 */
#define LOG_PREFIX "restore: "
#include <errno.h>
#include <sched.h>
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
 * The CPU mask the process had when dumped, limited to the CPUs we may use
 * here; if none of its CPUs is available, ours (with a warning).
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
	if (sched_setaffinity(rc->pid, sizeof(want), &want))
		pr_warn("pid %d: cannot set its CPU affinity: %s\n", rc->pid, strerror(errno));
}

/* Parent: drives the stopped child to the end.  Returns 0/-errno. */
static int rebuild(struct restore_ctx *rc)
{
	int ret;

	ret = inject_init(&rc->in, rc->pid, rc->scratch);
	if (ret) {
		pr_err("pid %d: cannot take control of the new process: %s\n", rc->pid,
		       strerror(-ret));
		return ret;
	}
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
		ret = mem_restore_finish(rc);
	if (!ret)
		ret = creds_restore(rc);
	if (!ret)
		test_pause("creds");
	if (!ret)
		restore_affinity(rc);
	if (!ret)
		ret = core_restore(rc);
	return ret;
}

static void ctx_free(struct restore_ctx *rc)
{
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
	rc = calloc(1, sizeof(*rc));
	if (!rc)
		return -ENOMEM;
	rc->opts = o;
	rc->img_fd = fd;
	rc->ctl_rd = rc->ctl_wr = rc->mem_fd = rc->spool_fd = -1;
	rc->uffd = rc->uffd_child = -1;
	rc->pid = -1;

	rc->t0 = t0;
	ret = plan_read(rc);
	pr_debug("stage plan read at %.3f ms\n", (now_ns() - t0) / 1e6);
	if (!ret)
		ret = check_plan(rc);
	pr_debug("stage checks done at %.3f ms\n", (now_ns() - t0) / 1e6);
	if (!ret) {
		pin_to_one_cpu(rc);
		ret = tree_clone(rc);
	}
	pr_debug("stage child ready at %.3f ms\n", (now_ns() - t0) / 1e6);
	test_pause("child");
	if (!ret)
		ret = rebuild(rc);
	unpin(rc);
	if (ret) {
		tree_kill(rc);
		goto out;
	}
	*pid = rc->pid;
	if (st) {
		st->total_ns = now_ns() - t0;
		st->pages_restored = rc->pages;
	}
	pr_info("restored pid %d in %.2f ms: %llu pages, %u injected syscalls\n", rc->pid,
		(now_ns() - t0) / 1e6, (unsigned long long)rc->pages, rc->injected);
out:
	ctx_free(rc);
	return ret;
}
