/*
 * PAGEMAP_SCAN and userfaultfd write-protect names newer than the uapi
 * headers of the build host (Debian 12): linux/fs.h 6.7+ and
 * linux/userfaultfd.h 6.7+, with the kernel's values.  Used by the page
 * pass (pages.c, pages-plan.c) and the dirty tracker (track.c).
 */
#ifndef VXCR_DUMP_PAGEMAP_H
#define VXCR_DUMP_PAGEMAP_H

#include <stdint.h>
#include <sys/ioctl.h>

struct pm_scan_arg {
	uint64_t size, flags, start, end, walk_end, vec, vec_len, max_pages;
	uint64_t category_inverted, category_mask, category_anyof_mask, return_mask;
};

struct page_region {
	uint64_t start, end, categories;
};

#define PAGEMAP_SCAN_IOCTL _IOWR('f', 16, struct pm_scan_arg)
#define PAGE_IS_WPALLOWED (1ull << 0)
#define PAGE_IS_WRITTEN (1ull << 1)
#define PAGE_IS_FILE (1ull << 2)
#define PAGE_IS_PRESENT (1ull << 3)
#define PAGE_IS_SWAPPED (1ull << 4)
#define PAGE_IS_PFNZERO (1ull << 5)
#define PAGE_IS_GUARD (1ull << 8) /* 6.14+: a guard region (MADV_GUARD_INSTALL) */

#define PM_SCAN_WP_MATCHING (1ull << 0)	  /* write-protect the pages found */
#define PM_SCAN_CHECK_WPASYNC (1ull << 1) /* -EPERM unless every area is WP_ASYNC */

#define PM_PRESENT (1ull << 63)
#define PM_SWAPPED (1ull << 62)
#define PM_FILE (1ull << 61)
#define PM_GUARD (1ull << 58) /* 6.14+: a guard region marker (also PM_SWAPPED) */
#define PM_PFN_MASK ((1ull << 55) - 1)
#define PM_HAS (PM_PRESENT | PM_SWAPPED)

/* What a child's page at one address needs, compared with the parent's
 * (pages-plan.c classifies, pages.c reads). */
enum cow_page {
	COW_SAME, /* same frame, or both read the same (file) contents */
	COW_READ, /* read the child's page */
	COW_ZERO, /* the child reads zeros where the parent has a page */
};

/*
 * One PAGEMAP_SCAN of [start, end) of the pagemap fd with the masks and
 * flags already set in a (the rest of a is filled here), up to n regions
 * into reg: their number, or -1 with errno.  a->walk_end says where the
 * walk stopped (fewer than n regions: at end).
 */
static inline long pm_scan(int fd, struct pm_scan_arg *a, uint64_t start, uint64_t end,
			   struct page_region *reg, uint64_t n)
{
	a->size = sizeof(*a);
	a->start = start;
	a->end = end;
	a->vec = (uintptr_t)reg;
	a->vec_len = n;
	return ioctl(fd, PAGEMAP_SCAN_IOCTL, a);
}

#define UFFD_FEATURE_WP_UNPOPULATED_ (1ull << 13)
#define UFFD_FEATURE_WP_ASYNC_ (1ull << 15)

#endif
