/*
 * The page pass's plan, made before any page is read: which pages of an
 * area a child inherits from its parent differ from the parent's
 * (plan_pages(), through both pagemaps; pages.c reads only those), and
 * the guard regions of an area (collect_guards()), recorded and never
 * read.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>

#define LOG_PREFIX "dump/pages: "
#include "log.h"
#include "dump/dump.h"
#include "dump/cow.h"
#include "dump/pagemap.h"
#include "img/img.h"

#define PAGE_SZ 4096ul
#define SCAN_REGIONS 512
#define PAGEMAP_CHUNK 4096 /* pagemap entries read at once */

static enum cow_page cow_classify(uint64_t c, uint64_t p, bool file)
{
	bool p_anon;

	if (c & PM_GUARD)
		return COW_SAME; /* a guard of the child's: reinstalled, never read */
	if (p & PM_GUARD)
		p = 0; /* the child removed the guard: as if never there */
	p_anon = (p & PM_HAS) && !(p & PM_FILE);

	if ((c & PM_PRESENT) && (p & PM_PRESENT) && (c & PM_PFN_MASK) &&
	    (c & PM_PFN_MASK) == (p & PM_PFN_MASK))
		return COW_SAME;
	if (!file) {
		if (c & PM_HAS)
			return COW_READ;
		return (p & PM_HAS) ? COW_ZERO : COW_SAME;
	}
	/* private file area: absent or file pages read the file's contents */
	if ((c & PM_HAS) && !(c & PM_FILE))
		return COW_READ;
	return p_anon ? COW_READ : COW_SAME;
}

bool plan_reads(const struct dump_vma *v, size_t i)
{
	return v->cow && v->cow[i] == COW_READ;
}

/* The parent's area child area v inherits from, if any. */
static bool inherits(const struct dump_task *t, const struct dump_vma *v)
{
	const struct dump_mm *pm = t->parent ? t->parent->mm : NULL;
	VmaEntry pe, ce;
	size_t i;

	if (!pm || (v->kind != VMA_KIND__VMA_ANON && v->kind != VMA_KIND__VMA_FILE_PRIVATE &&
		    !(v->kind == VMA_KIND__VMA_SHMEM && !v->pv.shared)))
		return false;
	for (i = 0; i < pm->n_vmas; i++) {
		const struct dump_vma *p = &pm->vmas[i];

		if (p->pv.start > v->pv.start || p->pv.end <= v->pv.start)
			continue;
		fill_vma_entry(&pe, p);
		fill_vma_entry(&ce, v);
		return img_vma_inherits(&pe, &ce);
	}
	return false;
}

static int read_pagemap(pid_t pid, int fd, uint64_t *ent, uint64_t addr, size_t n)
{
	ssize_t r = pread(fd, ent, n * 8, addr / PAGE_SZ * 8);

	if (r != (ssize_t)(n * 8)) {
		pr_err("pid %d: cannot read pagemap at %lx\n", pid, (unsigned long)addr);
		return -EIO;
	}
	return 0;
}

/* Classifies every page of inherited area v of t against t's parent. */
static int plan_area(const struct dump_task *t, struct dump_vma *v, int fd, int pfd, uint64_t *pm)
{
	bool file = v->kind != VMA_KIND__VMA_ANON; /* private file or memfd mapping */
	size_t total = (v->pv.end - v->pv.start) / PAGE_SZ, done, n, i;
	uint64_t addr;
	int ret = 0;

	v->cow = malloc(total ? total : 1);
	if (!v->cow)
		return -ENOMEM;
	for (done = 0; !ret && done < total; done += n) {
		n = total - done > PAGEMAP_CHUNK ? PAGEMAP_CHUNK : total - done;
		addr = v->pv.start + done * PAGE_SZ;
		ret = read_pagemap(t->pid, fd, pm, addr, n);
		ret = ret ?: read_pagemap(t->parent->pid, pfd, pm + PAGEMAP_CHUNK, addr, n);
		for (i = 0; !ret && i < n; i++)
			v->cow[done + i] = cow_classify(pm[i], pm[PAGEMAP_CHUNK + i], file);
	}
	return ret;
}

/*
 * Before any page of the tree is read (process_vm_readv pins pages, and a
 * pin makes the kernel unshare a copy-on-write page, so the frames would
 * no longer match): compares the pagemaps of every area live t inherits
 * from its parent.  0 or -errno (logged).
 */
int plan_pages(struct dump_task *t)
{
	uint64_t *pm;
	int fd = -1, pfd = -1, ret;
	size_t i;

	if (!t->parent)
		return 0;
	pm = malloc(2 * PAGEMAP_CHUNK * sizeof(*pm));
	if (!pm)
		return -ENOMEM;
	ret = dump_open_proc(t->pid, "pagemap", &fd);
	ret = ret ?: dump_open_proc(t->parent->pid, "pagemap", &pfd);
	for (i = 0; !ret && i < t->mm->n_vmas; i++)
		if (inherits(t, &t->mm->vmas[i]))
			ret = plan_area(t, &t->mm->vmas[i], fd, pfd, pm);
	if (fd >= 0)
		close(fd);
	if (pfd >= 0)
		close(pfd);
	free(pm);
	return ret;
}

/* Appends guard range [s, e) to v->guards, merging with the last one. */
static int guard_add(struct dump_vma *v, uint64_t s, uint64_t e)
{
	uint64_t *ng;

	if (v->n_guards && v->guards[v->n_guards - 1] == s) {
		v->guards[v->n_guards - 1] = e;
		return 0;
	}
	ng = realloc(v->guards, (v->n_guards + 2) * sizeof(*ng));
	if (!ng)
		return -ENOMEM;
	v->guards = ng;
	v->guards[v->n_guards++] = s;
	v->guards[v->n_guards++] = e;
	return 0;
}

/* Guard ranges of v from /proc/PID/pagemap entries (PM_GUARD). */
static int guards_from_pagemap(pid_t pid, int fd, struct dump_vma *v)
{
	uint64_t ent[PAGEMAP_CHUNK], addr;
	size_t n, i;
	int ret = 0;

	for (addr = v->pv.start; !ret && addr < v->pv.end; addr += n * PAGE_SZ) {
		n = (v->pv.end - addr) / PAGE_SZ;
		if (n > PAGEMAP_CHUNK)
			n = PAGEMAP_CHUNK;
		ret = read_pagemap(pid, fd, ent, addr, n);
		for (i = 0; !ret && i < n; i++)
			if (ent[i] & PM_GUARD)
				ret = guard_add(v, addr + i * PAGE_SZ, addr + (i + 1) * PAGE_SZ);
	}
	return ret;
}

/*
 * The guard regions (MADV_GUARD_INSTALL) of area v of frozen pid, which
 * smaps marks "gu": PAGEMAP_SCAN for PAGE_IS_GUARD, or pagemap's PM_GUARD
 * bit.  They are recorded, never read (reading one fails with EIO), and
 * reinstalled at restore.  0 or -errno (logged).
 */
int collect_guards(pid_t pid, struct dump_vma *v)
{
	struct page_region reg[SCAN_REGIONS];
	uint64_t start = v->pv.start;
	struct pm_scan_arg a;
	long n, i;
	int fd, ret = 0;

	ret = dump_open_proc(pid, "pagemap", &fd);
	while (!ret && start < v->pv.end) {
		memset(&a, 0, sizeof(a));
		a.category_mask = PAGE_IS_GUARD;
		a.return_mask = PAGE_IS_GUARD;
		n = pm_scan(fd, &a, start, v->pv.end, reg, SCAN_REGIONS);
		if (n < 0) {
			ret = guards_from_pagemap(pid, fd, v);
			break;
		}
		for (i = 0; !ret && i < n; i++)
			ret = guard_add(v, reg[i].start, reg[i].end);
		if (a.walk_end <= start)
			break;
		start = a.walk_end;
	}
	if (fd >= 0)
		close(fd);
	if (ret)
		pr_err("pid %d: cannot list the guard regions of %lx-%lx: %s\n", pid,
		       (unsigned long)v->pv.start, (unsigned long)v->pv.end, strerror(-ret));
	return ret;
}
