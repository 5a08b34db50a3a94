/*
 * Address-space and fd layout of a restore, decided by the parent before the
 * clone: the scratch area, the ranges to unmap in the clone, the vdso moves,
 * and the helper fd numbers.  The range arithmetic is pure (unit-tested).
 */
#define LOG_PREFIX "restore/layout: "
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "log.h"
#include "util/cleanup.h"
#include "restore/restore.h"

static uint64_t page_up(uint64_t x)
{
	return (x + RST_PAGE - 1) & ~(RST_PAGE - 1);
}

static bool overlaps(uint64_t s1, uint64_t e1, uint64_t s2, uint64_t e2)
{
	return s1 < e2 && s2 < e1;
}

/*
 * Lowest page-aligned address >= min where len bytes overlap none of busy
 * and end at or below max.  Returns 0 if there is none.
 */
uint64_t layout_find_free(const struct rst_range *busy, size_t n, uint64_t len, uint64_t min,
			  uint64_t max)
{
	uint64_t cand = page_up(min);
	bool moved = true;
	size_t i;

	while (moved) {
		moved = false;
		if (cand + len > max || cand + len < cand)
			return 0;
		for (i = 0; i < n; i++) {
			if (overlaps(cand, cand + len, busy[i].start, busy[i].end)) {
				cand = page_up(busy[i].end);
				moved = true;
			}
		}
	}
	return cand;
}

/*
 * Fills holes with the ranges of [0, top) not covered by keep (any order,
 * may overlap).  Returns the number of holes, at most max.
 */
size_t layout_holes(const struct rst_range *keep, size_t n, uint64_t top, struct rst_range *holes,
		    size_t max)
{
	struct rst_range k[8];
	uint64_t cur = 0;
	size_t i, j, nh = 0;

	if (n > ARRAY_SIZE(k))
		return 0;
	memcpy(k, keep, n * sizeof(*k));
	for (i = 1; i < n; i++) /* insertion sort, n is tiny */
		for (j = i; j > 0 && k[j].start < k[j - 1].start; j--) {
			struct rst_range t = k[j];

			k[j] = k[j - 1];
			k[j - 1] = t;
		}
	for (i = 0; i <= n && nh < max; i++) {
		uint64_t end = i < n ? k[i].start : top;

		if (end > cur)
			holes[nh++] = (struct rst_range){ cur, end };
		if (i < n && k[i].end > cur)
			cur = k[i].end;
	}
	return nh;
}

/*
 * Plans the mremaps that bring each of our vdso areas to its recorded
 * address.  If any destination overlaps an area still at its old place
 * (its own included), everything that moves goes through free temporary
 * addresses first (avoiding busy, e.g. the scratch area).
 * Returns 0 or -ENOMEM when no temporary address is free.
 */
int layout_vdso_moves(const struct rst_vdso *v, size_t n, const struct rst_range *busy,
		      size_t nbusy, struct rst_move *moves, size_t *nmoves)
{
	size_t i, j, na = 0, nm = 0, cap = nbusy + 3 * n;
	struct rst_range *avoid;
	bool temp = false;

	for (i = 0; i < n; i++) {
		if (!v[i].have_ours || !v[i].have_target || v[i].ours.start == v[i].target.start)
			continue;
		for (j = 0; j < n; j++)
			if (v[j].have_ours && overlaps(v[i].target.start, v[i].target.end,
						       v[j].ours.start, v[j].ours.end))
				temp = true;
	}
	avoid = malloc(cap * sizeof(*avoid));
	if (!avoid)
		return -ENOMEM;
	for (i = 0; i < nbusy; i++)
		avoid[na++] = busy[i];
	for (i = 0; i < n; i++) {
		if (v[i].have_ours)
			avoid[na++] = v[i].ours;
		if (v[i].have_target)
			avoid[na++] = v[i].target;
	}
	for (i = 0; i < n; i++) {
		uint64_t len = v[i].ours.end - v[i].ours.start, t;

		if (!v[i].have_ours || !v[i].have_target || v[i].ours.start == v[i].target.start)
			continue;
		if (!temp) {
			moves[nm++] = (struct rst_move){ v[i].ours.start, len, v[i].target.start };
			continue;
		}
		t = layout_find_free(avoid, na, len, RST_MAP_MIN, RST_TASK_TOP);
		if (!t || na >= cap) {
			free(avoid);
			return -ENOMEM;
		}
		avoid[na++] = (struct rst_range){ t, t + len };
		moves[nm++] = (struct rst_move){ v[i].ours.start, len, t };
	}
	if (temp) {
		size_t first = nm;

		for (i = 0; i < first; i++) {
			for (j = 0; j < n; j++)
				if (v[j].have_ours && v[j].ours.start == moves[i].from)
					break;
			moves[nm++] =
				(struct rst_move){ moves[i].to, moves[i].len, v[j].target.start };
		}
	}
	free(avoid);
	*nmoves = nm;
	return 0;
}

/*
 * Gives every file behind a mapping or the exe link, in any process, one
 * helper fd number above every process's fds.
 */
static void layout_fds(struct rst_image *img)
{
	size_t p, i;
	int next;

	img->max_fd = 2;
	for (p = 0; p < img->recs.n_fdt; p++) {
		const FdtableEntry *fdt = img->recs.fdt[p];

		for (i = 0; i < fdt->n_fds; i++)
			if ((int)fdt->fds[i]->fd > img->max_fd)
				img->max_fd = fdt->fds[i]->fd;
	}
	next = img->max_fd + 1;
	for (p = 0; p < img->nr_procs; p++) {
		const struct rst_proc *c = img->procs[p];

		for (i = 0; i < c->nr_vmas; i++) {
			const VmaEntry *v = c->vmas[i];
			struct rst_file *f;

			if (v->kind != VMA_KIND__VMA_FILE_PRIVATE &&
			    v->kind != VMA_KIND__VMA_FILE_SHARED)
				continue;
			f = plan_file(img, v->file_id);
			if (v->kind == VMA_KIND__VMA_FILE_SHARED && (v->prot & PROT_WRITE))
				f->map_write = true;
			if (f->map_fd < 0)
				f->map_fd = next++;
		}
		if (c->mm && c->mm->has_exe_file_id) {
			struct rst_file *f = plan_file(img, c->mm->exe_file_id);

			if (f && f->map_fd < 0)
				f->map_fd = next++;
		}
	}
	img->ctl_fd = next;
	img->stage_base = next + 1;
}

/* Appends [s, e) to the array *r of *n ranges.  0/-ENOMEM. */
int layout_add_range(struct rst_range **busy, size_t *n, uint64_t s, uint64_t e)
{
	struct rst_range *nb = realloc(*busy, (*n + 1) * sizeof(*nb));

	if (!nb)
		return -ENOMEM;
	*busy = nb;
	nb[(*n)++] = (struct rst_range){ s, e };
	return 0;
}

/*
 * Fixes fd numbers and the scratch address (free in every process's layout
 * and in ours, since children inherit it) for the whole tree.  Needs
 * vdso_read_ours() done (our own maps in img->busy).  Returns 0/-errno.
 */
int layout_plan(struct rst_image *img)
{
	size_t p, i, groups = 0, tail;
	int ret;

	layout_fds(img);
	ret = rshm_plan(img, img->stage_base + (int)img->nr_files);
	if (!ret)
		ret = seccomp_plan(img, &tail); /* tail: the largest filter program */
	if (ret)
		return ret;
	img->temp_base = img->stage_base + (int)img->nr_files + rshm_pool_count(img);
	for (p = 0; p < img->nr_procs; p++)
		if (img->procs[p]->creds && img->procs[p]->creds->n_groups > groups)
			groups = img->procs[p]->creds->n_groups;
	if (4 * groups > tail)
		tail = 4 * groups;
	img->scratch_len = RST_SCRATCH_DATA + page_up(RST_SCR_GROUPS + tail);
	for (p = 0; !ret && p < img->nr_procs; p++) {
		const MmEntry *mm = img->procs[p]->mm;

		for (i = 0; !ret && mm && i < mm->n_vmas; i++)
			ret = layout_add_range(&img->busy, &img->nr_busy, mm->vmas[i]->start,
					       mm->vmas[i]->end);
	}
	if (ret)
		return ret;
	img->scratch = layout_find_free(img->busy, img->nr_busy, img->scratch_len, RST_MAP_MIN,
					RST_TASK_TOP);
	if (!img->scratch) {
		pr_err("no free address for the %llu-byte scratch area\n",
		       (unsigned long long)img->scratch_len);
		ret = -ENOMEM;
	}
	return ret;
}
