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
 *
 * The dump's vet (lib/restore/vet.c) runs the same planner and checks on
 * records handed over as the writer has them (prefix and data apart):
 * on every input whose records read cleanly, it must reach restore's
 * verdict, or a dump could kill a process whose image restore refuses
 * (or refuse one restore takes).  same_verdict() aborts otherwise.
 */
#include <stdio.h>
#include <stdlib.h>

#include "restore/restore.h"
#include "restore/vet.h"
#include "lf/fuzz.h"

static void broken(const char *what, uint64_t a, uint64_t b)
{
	fprintf(stderr, "plan: accepted %s (%#llx, %#llx)\n", what, (unsigned long long)a,
		(unsigned long long)b);
	abort();
}

/* Areas of one process that restore maps or moves: valid and disjoint. */
static void areas_ok(const struct rst_image *img, const MmEntry *mm)
{
	size_t i, j;

	for (i = 0; i < mm->n_vmas; i++) {
		const VmaEntry *v = mm->vmas[i];

		if (v->kind == VMA_KIND__VMA_VSYSCALL)
			continue;
		if (v->start >= v->end || (v->start | v->end) & (RST_PAGE - 1) ||
		    v->end > RST_TASK_TOP)
			broken("a bad memory area", v->start, v->end);
		if (img->scratch < v->end && v->start < img->scratch + img->scratch_len)
			broken("a scratch area over a memory area", img->scratch, v->start);
		for (j = 0; j < i; j++) {
			const VmaEntry *w = mm->vmas[j];

			if (w->kind != VMA_KIND__VMA_VSYSCALL && w->start < v->end &&
			    v->start < w->end)
				broken("overlapping memory areas", w->start, v->start);
		}
	}
}

static void plan_ok(const struct rst_image *img)
{
	size_t p;

	if (!img->scratch || img->scratch & (RST_PAGE - 1) || img->scratch < RST_MAP_MIN ||
	    img->scratch + img->scratch_len > RST_TASK_TOP)
		broken("a bad scratch area", img->scratch, img->scratch_len);
	for (p = 0; p < img->nr_procs; p++) {
		const struct rst_proc *c = img->procs[p];

		if (c->task->state == TASK_STATE_DEAD)
			continue;
		if (!c->mm || !c->nr_threads || !c->core)
			broken("a process without mm or threads", c->task->pid, p);
		areas_ok(img, c->mm);
	}
}

/* Data records carry their prefix apart, as dump writes them. */
static size_t prefix_len(const struct img_record *rec)
{
	const struct img_rec_desc *d = img_rec_lookup(rec->type);

	/* a raw record with a prefix (FILE_DATA, PIPE_DATA, SK_QUEUE ...),
	 * handed over in two parts as the writer does */
	if (!d || !d->prefix_len)
		return 0;
	return rec->length < d->prefix_len ? rec->length : d->prefix_len;
}

/*
 * The vet's verdict on the records before the first page record: 1
 * accepted, 0 refused, -1 none (a record did not read).
 */
static int vet_verdict(const uint8_t *data, size_t size)
{
	int fd = fuzz_input_fd(data, size), ret, verdict = -1;
	struct img_reader *r;
	struct img_record rec;
	struct rst_vet *v;
	const uint8_t *p;
	size_t pl;

	if (fd < 0 || img_reader_open(fd, &r))
		return -1;
	v = rst_vet_new(img_reader_header(r));
	while (v && !rst_vet_error(v)) {
		ret = img_read_record(r, &rec);
		if (ret < 0)
			goto out;
		if (!ret || rec.type == IMG_REC_PAGES || rec.type == IMG_REC_SHMEM_PAGES)
			break;
		pl = prefix_len(&rec);
		p = rec.payload;
		rst_vet_tap(v, &rec, p, pl, p ? p + pl : NULL, rec.length - pl);
	}
	if (v)
		verdict = rst_vet_end(v) == 0;
out:
	rst_vet_free(v);
	img_reader_free(r);
	return verdict;
}

static void same_verdict(int restore_ok, const uint8_t *data, size_t size)
{
	int vet = vet_verdict(data, size);

	if (vet >= 0 && vet != restore_ok) {
		fprintf(stderr, "plan: restore %s the plan, the dump's vet %s it\n",
			restore_ok ? "accepts" : "refuses", vet ? "accepts" : "refuses");
		abort();
	}
}

int fuzz_plan(const uint8_t *data, size_t size)
{
	struct vxcr_restore_opts o;
	struct rst_image *img;
	int fd = fuzz_input_fd(data, size), ok;

	if (fd < 0)
		return 0;
	vxcr_restore_opts_init(&o);
	img = rst_image_new(fd, &o);
	if (!img)
		return 0;
	ok = !plan_read(img) && !check_plan_image(img);
	if (ok)
		plan_ok(img);
	rst_image_free(img);
	same_verdict(ok, data, size);
	return 0;
}
