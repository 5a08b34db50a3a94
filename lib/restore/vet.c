/*
 * The dump's vet.  vxdump must not kill a process whose image vxrestore
 * would refuse: that process would be lost.  So the records the dump
 * writes are handed, as they are written (an image writer tap), to the
 * very code restore runs on an image: the planner (plan.c), the checks
 * that need only the image (check_plan_image(): records against each
 * other, sessions and helpers, fd and address layout, shared memory,
 * seccomp, locks, this CPU and vdso), and the checks of every page record
 * against the planned areas and objects (pages_owner(), pages_check()).
 * Nothing is created, opened or looked up on the host: the checks restore
 * makes against the host at restore time (files still there, pids free,
 * limits) can change after the dump and are not the dump's to judge.
 * The bytes of data and page records are not copied.
 */
#define LOG_PREFIX "restore/vet: "
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "restore/restore.h"
#include "restore/vet.h"

struct rst_vet {
	struct vxcr_restore_opts o;
	struct rst_image *img;
	bool planned; /* the plan is complete and checked */
	size_t cur;   /* procs[cur] takes the page records now */
	int err;
	char why[400]; /* restore's message for err */
};

struct rst_vet *rst_vet_new(const ImgHeader *hdr)
{
	struct rst_vet *v = calloc(1, sizeof(*v));

	if (!v)
		return NULL;
	vxcr_restore_opts_init(&v->o);
	v->img = rst_image_new(-1, &v->o);
	if (!v->img) {
		free(v);
		return NULL;
	}
	v->img->hdr = hdr;
	return v;
}

void rst_vet_set_pages(struct rst_vet *v, const struct vxcr_pstore *ps)
{
	v->o.pages = ps;
}

void rst_vet_set_lazy(struct rst_vet *v, const struct vxcr_lazy *lz)
{
	v->o.lazy = lz;
}

void rst_vet_free(struct rst_vet *v)
{
	if (!v)
		return;
	rst_image_free(v->img);
	free(v);
}

int rst_vet_error(const struct rst_vet *v)
{
	return v ? v->err : 0;
}

const char *rst_vet_why(const struct rst_vet *v)
{
	return v->why;
}

/* Keeps restore's reason before the dump's own messages follow it. */
static int vet_fail(struct rst_vet *v, int err)
{
	const char *e = vxcr_last_error();

	if (!err)
		return 0;
	snprintf(v->why, sizeof(v->why), "%s", *e ? e : strerror(-err));
	return v->err = err;
}

/* Every record before the pages is in: the plan and its image checks. */
static int vet_plan(struct rst_vet *v)
{
	int ret;

	v->planned = true;
	ret = plan_complete(v->img);
	return ret ? ret : check_plan_image(v->img);
}

/* Page record pr goes to the process restore would be filling then. */
static int vet_pages(struct rst_vet *v, const struct page_rec *pr)
{
	struct rst_image *img = v->img;
	int ret;

	while ((ret = pages_owner(img->procs[v->cur], pr)) == 0) {
		do /* pages_owner() found a later process with memory */
			v->cur++;
		while (!img->procs[v->cur]->mm ||
		       img->procs[v->cur]->task->state == TASK_STATE_DEAD);
	}
	return ret < 0 ? ret : pages_check(img->procs[v->cur], pr);
}

int rst_vet_tap(void *arg, const struct img_record *hdr, const void *prefix, size_t plen,
		const void *data, uint64_t dlen)
{
	struct rst_vet *v = arg;
	struct page_rec pr = { .rec = hdr, .p = prefix, .data = data, .len = dlen };
	int ret = 0;

	if (v->err)
		return v->err;
	if (!v->planned) {
		ret = plan_record_parts(v->img, hdr, prefix, plen, data, dlen);
		ret = ret == 1 ? vet_plan(v) : ret;
		if (ret || !v->planned)
			return vet_fail(v, ret);
	}
	if (hdr->type != IMG_REC_PAGES && hdr->type != IMG_REC_SHMEM_PAGES) {
		if (!(hdr->flags & IMG_RF_OPTIONAL)) {
			pr_err("image: record %llu (type %u) after the pages is not supported\n",
			       (unsigned long long)hdr->index, hdr->type);
			ret = -EPROTO;
		}
		return vet_fail(v, ret);
	}
	if (plen != sizeof(*pr.p)) {
		pr_err("image: record %llu: bad page record length\n",
		       (unsigned long long)hdr->index);
		return vet_fail(v, -EBADMSG);
	}
	return vet_fail(v, vet_pages(v, &pr));
}

int rst_vet_end(struct rst_vet *v)
{
	if (!v->err && !v->planned)
		vet_fail(v, vet_plan(v));
	return v->err;
}
