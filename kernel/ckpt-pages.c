// SPDX-License-Identifier: GPL-2.0
/*
 * PAGES records of the dumped address space.  Which pages: in an anonymous
 * area every page that is present or swapped and not all zero; in a
 * private file area only its copied pages (anonymous ones), zero ones
 * included; in a file area dumped whole (VMAD_DUMP_*, made anonymous) the
 * file's pages too.  A page is looked up with get_user_pages_remote() and
 * FOLL_DUMP, as a core dump does (get_dump_page()): an untouched page (no
 * page table, or the shared zero page) is a hole without being faulted in,
 * so no memory is allocated for it.  FOLL_FORCE reads PROT_NONE areas.
 *
 * Locking: the mmap read lock is taken for one page's lookup and copy and
 * dropped before anything is written, so a write to the image that faults
 * or needs the same mm (the caller's own, in vmad_dump) never waits for
 * it.  Pages go out in runs of at most VX_RUN_PAGES contiguous pages of one
 * area, each run one record.  An area is walked page by page (the page
 * table walkers are not exported): a huge sparse area costs one lookup per
 * page of it, which a fatal signal interrupts.
 */
#include <linux/highmem.h>
#include <linux/mm.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "vxcr/image.h"
#include "ckpt.h"
#include "vxcr.h"

#define VX_RUN_PAGES 64 /* 256 KiB per PAGES record */
/* every 256 pages a task_dump checks its target is still stopped */
#define VX_RECHECK_MASK ((256UL << PAGE_SHIFT) - 1)

struct vx_run {
	u8 *buf;	    /* VX_RUN_PAGES pages */
	unsigned long addr; /* of the first page */
	unsigned int nr;
};

/*
 * Copies the page at addr into dst if it is stored.  1 stored, 0 a hole or
 * not stored, -errno (the mm's own failure, a fatal signal).
 */
static int copy_page_at(struct vx_dump *d, unsigned long addr, bool anon_only, void *dst)
{
	struct page *page;
	void *src;
	long got;
	int ret = 0;

	if (mmap_read_lock_killable(d->mm))
		return -EINTR;
	got = get_user_pages_remote(d->mm, addr, 1, FOLL_DUMP | FOLL_FORCE, &page, NULL, NULL);
	if (got == 1) {
		if (!anon_only || PageAnon(page)) {
			src = kmap_local_page(page);
			memcpy(dst, src, PAGE_SIZE);
			kunmap_local(src);
			ret = anon_only || memchr_inv(dst, 0, PAGE_SIZE) ? 1 : 0;
		}
		put_page(page);
	} else if (got != -EFAULT && got != 0) {
		ret = got < 0 ? (int)got : -EIO;
	}
	mmap_read_unlock(d->mm);
	return ret;
}

/* The run as one PAGES record; the run is empty afterwards. */
static int run_flush(struct vx_dump *d, struct vx_run *r)
{
	struct img_pages_prefix pre = {
		.addr = cpu_to_le64(r->addr),
		.mm_id = cpu_to_le32(1),
		.flags = 0,
	};
	size_t n = (size_t)r->nr << PAGE_SHIFT;
	int ret;

	if (!r->nr)
		return 0;
	ret = vx_img_record(&d->img, IMG_REC_PAGES, &pre, sizeof(pre), r->buf, n);
	if (!ret)
		d->img.page_bytes += n;
	r->nr = 0;
	return ret;
}

static int dump_area(struct vx_dump *d, const struct vx_area *a, struct vx_run *r)
{
	unsigned long addr;
	int ret;

	for (addr = a->start; addr < a->end; addr += PAGE_SIZE) {
		if (r->nr == VX_RUN_PAGES || (r->nr && addr != r->addr + (r->nr << PAGE_SHIFT))) {
			ret = run_flush(d, r);
			if (ret)
				return ret;
		}
		if (fatal_signal_pending(current))
			return -EINTR; /* an uncontended lock does not look */
		if (!d->self && !(addr & VX_RECHECK_MASK) && !vx_threads_stopped(d))
			return -EBUSY; /* continued: the image would mix states */
		ret = copy_page_at(d, addr, a->anon_only, r->buf + (r->nr << PAGE_SHIFT));
		if (ret < 0)
			return ret;
		if (ret) {
			if (!r->nr)
				r->addr = addr;
			r->nr++;
		}
		cond_resched();
	}
	return run_flush(d, r);
}

/* Every stored page of d->areas, in address order.  0 or -errno. */
int vx_dump_pages(struct vx_dump *d)
{
	struct vx_run r = { 0 };
	unsigned int i;
	int ret = 0;

	r.buf = kvmalloc(VX_RUN_PAGES << PAGE_SHIFT, GFP_KERNEL);
	if (!r.buf)
		return -ENOMEM;
	for (i = 0; i < d->nr_areas && !ret; i++)
		ret = dump_area(d, &d->areas[i], &r);
	kvfree(r.buf);
	return ret;
}
