/*
 * libFuzzer harness: the restore planner.  plan_read() reads the records
 * up to the first PAGES record into a plan (lib/restore/plan.c) and
 * check_plan_image() runs every check that needs only the image: records
 * against each other, this CPU, our own vdso, sessions and helpers, fd and
 * address layout, shared memory objects, seccomp filters
 * (lib/restore/check.c, layout.c, shmem.c, seccomp.c, fork.c).
 *
 * Stopped there on purpose: check_plan()'s host checks stat() paths named
 * by the image and look up (and may wait for) its pids, and restore_run()
 * creates processes.  Nothing here opens a file named by the image,
 * signals a process or creates anything.
 *
 * A plan that passes must be one restore can carry out without harming
 * the process it builds: every memory area it will map or move (vdso and
 * vvar included, only vsyscall is the kernel's) page-aligned, inside the
 * user address space and disjoint from the others, and the scratch area
 * free in every process.  plan_ok() aborts otherwise.
 */
#include <stdio.h>
#include <stdlib.h>

#include "restore/restore.h"
#include "lf/fuzz.h"

static void broken(const char *what, uint64_t a, uint64_t b)
{
	fprintf(stderr, "plan: accepted %s (%#llx, %#llx)\n", what, (unsigned long long)a,
		(unsigned long long)b);
	abort();
}

/* Areas of one process that restore maps or moves: valid and disjoint. */
static void areas_ok(const struct restore_ctx *root, const MmEntry *mm)
{
	size_t i, j;

	for (i = 0; i < mm->n_vmas; i++) {
		const VmaEntry *v = mm->vmas[i];

		if (v->kind == VMA_KIND__VMA_VSYSCALL)
			continue;
		if (v->start >= v->end || (v->start | v->end) & (RST_PAGE - 1) ||
		    v->end > RST_TASK_TOP)
			broken("a bad memory area", v->start, v->end);
		if (root->scratch < v->end && v->start < root->scratch + root->scratch_len)
			broken("a scratch area over a memory area", root->scratch, v->start);
		for (j = 0; j < i; j++) {
			const VmaEntry *w = mm->vmas[j];

			if (w->kind != VMA_KIND__VMA_VSYSCALL && w->start < v->end &&
			    v->start < w->end)
				broken("overlapping memory areas", w->start, v->start);
		}
	}
}

static void plan_ok(const struct restore_ctx *rc)
{
	size_t p;

	if (!rc->scratch || rc->scratch & (RST_PAGE - 1) || rc->scratch < RST_MAP_MIN ||
	    rc->scratch + rc->scratch_len > RST_TASK_TOP)
		broken("a bad scratch area", rc->scratch, rc->scratch_len);
	for (p = 0; p < rc->nr_procs; p++) {
		const struct restore_ctx *c = rc->procs[p];

		if (c->task->state == TASK_STATE_DEAD)
			continue;
		if (!c->mm || !c->nr_threads || !c->core)
			broken("a process without mm or threads", c->task->pid, p);
		areas_ok(rc, c->mm);
	}
}

int fuzz_plan(const uint8_t *data, size_t size)
{
	struct vxcr_restore_opts o;
	struct restore_ctx *rc;
	int fd = fuzz_input_fd(data, size);

	if (fd < 0)
		return 0;
	vxcr_restore_opts_init(&o);
	rc = restore_ctx_new(fd, &o);
	if (!rc)
		return 0;
	if (!plan_read(rc) && !check_plan_image(rc))
		plan_ok(rc);
	restore_ctx_free(rc);
	return 0;
}
