/*
 * Page contents.  Candidate pages come from PAGEMAP_SCAN (present or
 * swapped, not backed by the file, not the zero page), with a fallback to
 * reading /proc/PID/pagemap.  They are read with process_vm_readv in large
 * batches (up to IOV_MAX ranges into one multi-MiB buffer; /proc/PID/mem for
 * what it cannot read), all-zero pages are dropped, and the rest goes out as
 * PAGES records of contiguous pages inside one area, straight from the
 * buffer.  Shared memory objects are read through our handle on them (an
 * fd's copy or a map_files entry), holes skipped with SEEK_DATA/SEEK_HOLE,
 * and every non-zero page goes out once image-wide as SHMEM_PAGES (offsets
 * in the object, id = shmem id): memfds held by an fd and SysV segments
 * whole, in the group of their first holder; other objects as the union
 * of their mapped ranges, each part in the group of its first mapper.
 *
 * Copy-on-write: an area a child inherits from its parent (img_vma_inherits)
 * is compared page by page with the parent's through both pagemaps; only
 * pages whose frame differs are read, and where the child reads zeros but
 * the parent's copy would show through, an IMG_PAGES_ZERO range is written.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/uio.h>

#define LOG_PREFIX "dump/pages: "
#include "log.h"
#include "util/testhook.h"
#include "dump/dump.h"
#include "dump/cow.h"
#include "dump/pagemap.h"
#include "dump/track.h"
#include "img/img.h"
#include "img/records.h"

#define PAGE_SZ 4096ul
#define BATCH_BYTES (4ul << 20)
#define HUGE_SZ (2ul << 20)
#define BATCH_IOVS 1024	    /* IOV_MAX */
#define RUN_MAX (4ul << 20) /* bytes per PAGES record */
#define SCAN_REGIONS 512
#define PAGEMAP_CHUNK 4096 /* pagemap entries read at once */

/* State of the page pass: the batch being filled and the open run. */
struct page_ctx {
	struct dump_op *op;
	const struct dump_task *t;
	pid_t pid;
	uint32_t mm_id;
	int pagemap_fd, mem_fd;
	bool have_scan;
	bool no_pin; /* read through /proc/PID/mem only */
	uint8_t *buf;
	size_t used;
	struct iovec iov[BATCH_IOVS];
	uint32_t iov_area[BATCH_IOVS]; /* area index of each range */
	size_t n_iov;
	uint32_t area;				/* area being queued */
	bool cur_parent;			/* pages being queued: the parent's would show */
	bool parent_has[BATCH_BYTES / PAGE_SZ]; /* per page of buf */
	uint32_t run_area;
	uint64_t run_addr;	 /* open run: target address ... */
	size_t run_off, run_len; /* ... and its bytes in buf */
	uint32_t shmem_id;	 /* runs are SHMEM_PAGES of this object ... */
	uint64_t shmem_delta;	 /* ... at offset addr + delta */
	uint32_t zrun_area;
	uint64_t zrun_addr, zrun_len; /* open IMG_PAGES_ZERO range */
	uint32_t prun_area;
	uint64_t prun_addr, prun_len; /* open IMG_PAGES_PARENT range (vxdump --parent) */
	bool paused;
	const struct track *track; /* live migration: what the store holds, or NULL */
	uint32_t key;		   /* this process's key in it */
	struct track_round *held;  /* counts the PARENT pages (or NULL) */
};

/* Word-wise zero test with an early exit every 256 bytes. */
bool dump_page_zero(const uint8_t *p)
{
	const uint64_t *w = (const uint64_t *)p;
	size_t i, j;

	for (i = 0; i < PAGE_SZ / 8; i += 32) {
		uint64_t acc = 0;

		for (j = 0; j < 32; j++)
			acc |= w[i + j];
		if (acc)
			return false;
	}
	return true;
}

static int close_run(struct page_ctx *pc)
{
	struct img_pages_prefix pfx = { pc->run_addr, pc->mm_id, 0 };
	uint32_t type = IMG_REC_PAGES;
	int ret;

	if (!pc->run_len)
		return 0;
	if (pc->shmem_id) {
		type = IMG_REC_SHMEM_PAGES;
		pfx.addr = pc->run_addr + pc->shmem_delta;
		pfx.mm_id = pc->shmem_id;
	}
	ret = img_write_raw2(pc->op->w, type, 0, &pfx, sizeof(pfx), pc->buf + pc->run_off,
			     pc->run_len);
	if (ret)
		pr_err("pid %d: cannot write the image (pages at %#lx): %s\n", pc->pid,
		       (unsigned long)pc->run_addr, strerror(-ret));
	pc->op->st->pages_written += pc->run_len / PAGE_SZ;
	pc->run_len = 0;
	return ret;
}

/* Writes the open IMG_PAGES_ZERO range: prefix, then its u64 length. */
static int close_zero_run(struct page_ctx *pc)
{
	struct img_pages_prefix pfx = { pc->zrun_addr, pc->mm_id, IMG_PAGES_ZERO };
	uint64_t len = pc->zrun_len;
	int ret;

	if (!pc->zrun_len)
		return 0;
	ret = img_write_raw2(pc->op->w, IMG_REC_PAGES, 0, &pfx, sizeof(pfx), &len, sizeof(len));
	if (ret)
		pr_err("pid %d: cannot write the image (zero range at %#lx): %s\n", pc->pid,
		       (unsigned long)pc->zrun_addr, strerror(-ret));
	pc->zrun_len = 0;
	return ret;
}

/* [addr, addr + len) of area must read as zeros in the child. */
static int zero_add(struct page_ctx *pc, uint64_t addr, uint64_t len, uint32_t area)
{
	int ret;

	pc->op->st->pages_zero += len / PAGE_SZ;
	if (pc->zrun_len && pc->zrun_area == area && pc->zrun_addr + pc->zrun_len == addr) {
		pc->zrun_len += len;
		return 0;
	}
	ret = close_zero_run(pc);
	pc->zrun_area = area;
	pc->zrun_addr = addr;
	pc->zrun_len = len;
	return ret;
}

/* An IMG_PAGES_PARENT record of [addr, addr + len): prefix, then its u64 length. */
static int parent_record(struct page_ctx *pc, uint64_t addr, uint64_t len)
{
	struct img_pages_prefix pfx = { addr, pc->mm_id, IMG_PAGES_PARENT };
	int ret;

	ret = img_write_raw2(pc->op->w, IMG_REC_PAGES, 0, &pfx, sizeof(pfx), &len, sizeof(len));
	if (ret)
		pr_err("pid %d: cannot write the image (parent range at %#lx): %s\n", pc->pid,
		       (unsigned long)addr, strerror(-ret));
	return ret;
}

/* Writes the open IMG_PAGES_PARENT range. */
static int close_parent_run(struct page_ctx *pc)
{
	int ret;

	if (!pc->prun_len)
		return 0;
	ret = parent_record(pc, pc->prun_addr, pc->prun_len);
	pc->op->parent_pages += pc->prun_len / PAGE_SZ;
	pc->prun_len = 0;
	return ret;
}

/*
 * The page at addr (bytes at buf offset off) is the parent image's: it
 * joins the open parent range.  1 if so, 0 if not, -errno.
 */
static int parent_page(struct page_ctx *pc, size_t off, uint64_t addr, uint32_t area)
{
	int ret;

	if (pc->shmem_id || !dump_parent_same(pc->op, pc->t, addr, pc->buf + off))
		return 0;
	ret = close_run(pc);
	if (ret)
		return ret;
	if (pc->prun_len && pc->prun_area == area && pc->prun_addr + pc->prun_len == addr &&
	    pc->prun_len < RUN_MAX * 64) {
		pc->prun_len += PAGE_SZ;
		return 1;
	}
	ret = close_parent_run(pc);
	pc->prun_area = area;
	pc->prun_addr = addr;
	pc->prun_len = PAGE_SZ;
	return ret ? ret : 1;
}

/*
 * A zero page of a private file area (or private memfd mapping) is data:
 * dropping it, or a zero range (MADV_DONTNEED at restore), would let the
 * file's bytes show through.
 */
static bool zero_is_data(const struct page_ctx *pc, uint32_t area)
{
	const struct dump_vma *v = area < pc->t->mm->n_vmas ? &pc->t->mm->vmas[area] : NULL;

	return !pc->shmem_id && v &&
	       (v->kind == VMA_KIND__VMA_FILE_PRIVATE ||
		(v->kind == VMA_KIND__VMA_SHMEM && !v->pv.shared));
}

/*
 * Adds the non-zero pages of a block (buf offset off, address addr) to
 * runs; a zero page where the parent's copy would show becomes a zero range.
 */
static int emit_block(struct page_ctx *pc, size_t off, uint64_t addr, size_t len, uint32_t area)
{
	bool keep_zero = zero_is_data(pc, area);
	size_t p;
	int ret;

	if (pc->run_len && pc->run_area != area) {
		ret = close_run(pc);
		if (ret)
			return ret;
	}
	pc->run_area = area;
	for (p = 0; p < len; p += PAGE_SZ) {
		if (!keep_zero && dump_page_zero(pc->buf + off + p)) {
			ret = close_run(pc);
			if (!ret && pc->parent_has[(off + p) / PAGE_SZ])
				ret = zero_add(pc, addr + p, PAGE_SZ, area);
			else
				pc->op->st->pages_zero++;
			if (ret)
				return ret;
			continue;
		}
		ret = pc->op->parent ? parent_page(pc, off + p, addr + p, area) : 0;
		if (ret < 0)
			return ret;
		if (ret)
			continue;
		if (pc->run_len &&
		    (pc->run_addr + pc->run_len != addr + p || pc->run_len >= RUN_MAX)) {
			ret = close_run(pc);
			if (ret)
				return ret;
		}
		if (!pc->run_len) {
			pc->run_addr = addr + p;
			pc->run_off = off + p;
		}
		pc->run_len += PAGE_SZ;
	}
	return 0;
}

/* Reads iov[i] from byte from on into buf + off through /proc/PID/mem. */
static int read_mem_fallback(struct page_ctx *pc, size_t i, size_t from, size_t off)
{
	size_t len = pc->iov[i].iov_len - from, done = 0;
	uint64_t addr = (uintptr_t)pc->iov[i].iov_base + from;
	ssize_t r;

	while (done < len) {
		r = pread(pc->mem_fd, pc->buf + off + done, len - done, addr + done);
		if (r <= 0 && pc->op->cow) { /* gone since the freeze: the snapshot decides */
			r = PAGE_SZ - (done & (PAGE_SZ - 1));
			memset(pc->buf + off + done, 0, r);
		}
		if (r <= 0) {
			pr_err("pid %d: cannot read memory at %lx: %s\n", pc->pid,
			       (unsigned long)(addr + done), r ? strerror(errno) : "EOF");
			return r ? -errno : -EIO;
		}
		done += r;
	}
	return 0;
}

/*
 * Fills buf from the batch's ranges with process_vm_readv; a range it
 * stops at (PROT_NONE and the like) is finished through /proc/PID/mem and
 * the vectored read resumes after it.  In a tree (no_pin) everything goes
 * through /proc/PID/mem: process_vm_readv pins pages, and pinning a page
 * shared copy-on-write with another process makes the kernel give the
 * pinner its own copy, so a dump would unshare (double) the tree's memory.
 */
static int read_batch(struct page_ctx *pc)
{
	size_t i = 0, off = 0;
	struct iovec local;
	ssize_t r;
	int ret;

	for (; pc->no_pin && i < pc->n_iov; i++) {
		ret = read_mem_fallback(pc, i, 0, off);
		if (ret)
			return ret;
		off += pc->iov[i].iov_len;
	}
	while (i < pc->n_iov) {
		local.iov_base = pc->buf + off;
		local.iov_len = pc->used - off;
		r = process_vm_readv(pc->pid, &local, 1, &pc->iov[i], pc->n_iov - i, 0);
		if (r < 0)
			r = 0;
		while (i < pc->n_iov && (size_t)r >= pc->iov[i].iov_len) {
			r -= pc->iov[i].iov_len;
			off += pc->iov[i].iov_len;
			i++;
		}
		if (i == pc->n_iov)
			break;
		ret = read_mem_fallback(pc, i, r, off + r);
		if (ret)
			return ret;
		off += pc->iov[i].iov_len;
		i++;
	}
	return 0;
}

/* Reads the batch, turns it into records and empties it. */
static int flush_batch(struct page_ctx *pc)
{
	size_t i, off = 0;
	int ret;

	if (!pc->n_iov)
		return 0;
	ret = read_batch(pc);
	if (!ret && pc->op->cow) /* read from a running tree: the snapshot's pages */
		ret = cow_fix_batch(pc->op->cow, pc->t, pc->buf, pc->iov, pc->n_iov);
	for (i = 0; !ret && i < pc->n_iov; i++) {
		ret = emit_block(pc, off, (uintptr_t)pc->iov[i].iov_base, pc->iov[i].iov_len,
				 pc->iov_area[i]);
		off += pc->iov[i].iov_len;
	}
	ret = ret ?: close_run(pc);
	pc->n_iov = 0;
	pc->used = 0;
	if (!ret && !pc->paused) {
		pc->paused = true;
		test_pause("pages");
	}
	return ret;
}

/*
 * Queues [start, end) of the current area (pc->area) for reading, in
 * address order; a range continuing the previous one of the same area is
 * merged.  Runs (records) never cross areas: emit_block() closes them when
 * the area changes.
 */
static int batch_add(struct page_ctx *pc, uint64_t start, uint64_t end)
{
	struct iovec *last;
	size_t len;
	int ret;

	pc->op->st->pages_scanned += (end - start) / PAGE_SZ;
	while (start < end) {
		if (pc->used == BATCH_BYTES || pc->n_iov == BATCH_IOVS) {
			ret = flush_batch(pc);
			if (ret)
				return ret;
		}
		len = end - start;
		if (len > BATCH_BYTES - pc->used)
			len = BATCH_BYTES - pc->used;
		last = pc->n_iov ? &pc->iov[pc->n_iov - 1] : NULL;
		memset(pc->parent_has + pc->used / PAGE_SZ, pc->cur_parent, len / PAGE_SZ);
		if (last && pc->iov_area[pc->n_iov - 1] == pc->area &&
		    (uintptr_t)last->iov_base + last->iov_len == start) {
			last->iov_len += len;
		} else {
			pc->iov[pc->n_iov].iov_base = (void *)(uintptr_t)start;
			pc->iov[pc->n_iov].iov_len = len;
			pc->iov_area[pc->n_iov] = pc->area;
			pc->n_iov++;
		}
		pc->used += len;
		start += len;
	}
	return 0;
}

/* A live migration's store holds [start, end) as it is now: a PARENT range. */
static int parent_range(struct page_ctx *pc, uint64_t start, uint64_t end)
{
	pc->op->st->pages_scanned += (end - start) / PAGE_SZ;
	if (pc->held)
		pc->held->pages_held += (end - start) / PAGE_SZ;
	return parent_record(pc, start, end - start);
}

/*
 * Candidate pages [start, end) of a private area: what a live migration's
 * store holds as it is now (track_held) becomes PARENT ranges, the rest
 * is queued for reading.
 */
static int private_add(struct page_ctx *pc, uint64_t start, uint64_t end)
{
	uint64_t s, e;
	int ret = 0;

	while (!ret && pc->track && start < end &&
	       track_held(pc->track, pc->key, start, end, &s, &e)) {
		ret = s > start ? batch_add(pc, start, s) : 0;
		ret = ret ?: parent_range(pc, s, e);
		start = e;
	}
	return ret ?: (start < end ? batch_add(pc, start, end) : 0);
}

/*
 * The store of a live migration, for t: only when the tracker knows t
 * under the pid its TASK record carries (the key the store uses).
 */
static void track_setup(struct page_ctx *pc, const struct dump_task *t)
{
	const struct vxcr_dump_mig *mig = pc->op->opts->mig;
	bool tracked = false;
	uint32_t key;

	if (!mig || !mig->track)
		return;
	key = track_key_of(mig->track, t->pid, &tracked);
	if (tracked && key != (uint32_t)t->vpid) {
		pr_warn("pid %d: tracked as %u, recorded as %d: its pages are written whole\n",
			t->pid, key, t->vpid);
		return;
	}
	pc->track = tracked ? mig->track : NULL;
	pc->key = key;
	pc->held = mig->final;
}

/*
 * PAGEMAP_SCAN over one area.  Returns 0, -errno (logged), or -ENOTTY /
 * -EINVAL (not logged) when the kernel lacks the ioctl.
 */
static int scan_area(struct page_ctx *pc, uint64_t start, uint64_t end, bool guards)
{
	uint64_t skip = PAGE_IS_FILE | PAGE_IS_PFNZERO | (guards ? PAGE_IS_GUARD : 0);
	struct page_region reg[SCAN_REGIONS];
	struct pm_scan_arg a;
	long n, i;
	int ret;

	while (start < end) {
		memset(&a, 0, sizeof(a));
		a.category_inverted = skip;
		a.category_mask = skip;
		a.category_anyof_mask = PAGE_IS_PRESENT | PAGE_IS_SWAPPED;
		a.return_mask = PAGE_IS_PRESENT | PAGE_IS_SWAPPED;
		n = pm_scan(pc->pagemap_fd, &a, start, end, reg, SCAN_REGIONS);
		if (n < 0 && (errno == ENOTTY || errno == EINVAL))
			return -errno; /* not logged: the caller falls back */
		if (n < 0) {
			pr_perror("pid %d: PAGEMAP_SCAN of %lx-%lx", pc->pid, (unsigned long)start,
				  (unsigned long)end);
			return -errno;
		}
		for (i = 0; i < n; i++) {
			ret = private_add(pc, reg[i].start, reg[i].end);
			if (ret)
				return ret;
		}
		if (a.walk_end <= start)
			break;
		start = a.walk_end;
	}
	return 0;
}

/* Fallback: /proc/PID/pagemap entries, private non-file pages only. */
static int scan_area_pagemap(struct page_ctx *pc, uint64_t start, uint64_t end)
{
	uint64_t ent[PAGEMAP_CHUNK], addr, run = 0;
	size_t n, i;
	ssize_t r;
	int ret;

	for (addr = start; addr < end; addr += n * PAGE_SZ) {
		n = (end - addr) / PAGE_SZ;
		if (n > PAGEMAP_CHUNK)
			n = PAGEMAP_CHUNK;
		r = pread(pc->pagemap_fd, ent, n * 8, addr / PAGE_SZ * 8);
		if (r != (ssize_t)(n * 8)) {
			pr_err("pid %d: cannot read pagemap at %lx\n", pc->pid,
			       (unsigned long)addr);
			return -EIO;
		}
		for (i = 0; i < n; i++) {
			bool want = (ent[i] & (PM_PRESENT | PM_SWAPPED)) &&
				    !(ent[i] & (PM_FILE | PM_GUARD));
			uint64_t a = addr + i * PAGE_SZ;

			if (want && !run)
				run = a;
			if (!want && run) {
				ret = private_add(pc, run, a);
				if (ret)
					return ret;
				run = 0;
			}
		}
		if (run) {
			ret = private_add(pc, run, addr + n * PAGE_SZ);
			if (ret)
				return ret;
			run = 0;
		}
	}
	return 0;
}

/* With a snapshot (cow.h): the pages v had at the freeze, not those it has now. */
static int snapshot_area_pages(struct page_ctx *pc, const struct dump_vma *v)
{
	uint64_t pos = v->pv.start, s, e;
	int ret = 0;

	while (!ret && cow_next_pages(pc->op->cow, pc->t, &pos, v->pv.end, &s, &e))
		ret = batch_add(pc, s, e);
	return ret;
}

static int private_area_pages(struct page_ctx *pc, const struct dump_vma *v)
{
	int ret = -ENOTTY;

	if ((v->kind == VMA_KIND__VMA_FILE_PRIVATE || v->kind == VMA_KIND__VMA_SHMEM) &&
	    !v->pv.anon_kb && !v->pv.swap_kb)
		return 0; /* nothing but file pages (smaps read while frozen) */
	if (pc->op->cow)
		return snapshot_area_pages(pc, v);
	if (pc->have_scan) {
		ret = scan_area(pc, v->pv.start, v->pv.end, v->pv.vmflags & PROC_VMF_GU);
		if (ret == -ENOTTY || ret == -EINVAL) {
			pr_debug("PAGEMAP_SCAN unusable (%s): reading pagemap\n", strerror(-ret));
			pc->have_scan = false;
		}
	}
	if (!pc->have_scan)
		ret = scan_area_pagemap(pc, v->pv.start, v->pv.end);
	return ret;
}

/* Our handle on the object behind shmem area v (map_files), or -1. */
static int open_map_file(pid_t pid, const struct dump_vma *v)
{
	char path[96];

	snprintf(path, sizeof(path), "/proc/%d/map_files/%lx-%lx", pid, (unsigned long)v->pv.start,
		 (unsigned long)v->pv.end);
	return open(path, O_RDONLY | O_CLOEXEC);
}

/*
 * Object bytes [off, end) (pages) read through fd into SHMEM_PAGES of
 * pc->shmem_id; zero pages dropped, reads past i_size are zeros.  The
 * batch must be empty: this uses its buffer.
 */
static int shmem_read_data(struct page_ctx *pc, int fd, uint64_t off, uint64_t end)
{
	size_t len;
	ssize_t r;
	int ret = 0;

	for (; !ret && off < end; off += len) {
		len = end - off < BATCH_BYTES ? end - off : BATCH_BYTES;
		r = pread(fd, pc->buf, len, off);
		if (r < 0) {
			pr_perror("pid %d: cannot read shared memory object %u at %#llx", pc->pid,
				  pc->shmem_id, (unsigned long long)off);
			return -errno;
		}
		if ((size_t)r < len)
			memset(pc->buf + r, 0, len - r);
		pc->op->st->pages_scanned += len / PAGE_SZ;
		memset(pc->parent_has, 0, len / PAGE_SZ);
		ret = emit_block(pc, 0, off, len, pc->area);
		ret = ret ?: close_run(pc);
	}
	return ret;
}

/*
 * Object range [lo, hi) through fd: only what SEEK_DATA/SEEK_HOLE call
 * data (everything where the file system cannot tell).  0 or -errno.
 */
static int shmem_read_range(struct page_ctx *pc, int fd, uint64_t lo, uint64_t hi)
{
	off_t d, h;
	int ret = 0;

	while (!ret && lo < hi) {
		d = lseek(fd, lo, SEEK_DATA);
		if (d < 0 && errno == ENXIO)
			break; /* holes up to i_size */
		h = d < 0 ? (off_t)hi : lseek(fd, d, SEEK_HOLE);
		d = d < 0 ? (off_t)lo : (off_t)(d / PAGE_SZ * PAGE_SZ);
		h = h < 0 ? (off_t)hi : (off_t)((h + PAGE_SZ - 1) / PAGE_SZ * PAGE_SZ);
		if ((uint64_t)d >= hi)
			break;
		if (h <= d)
			h = d + PAGE_SZ;
		if ((uint64_t)h > hi)
			h = hi;
		ret = shmem_read_data(pc, fd, d, h);
		lo = h;
	}
	return ret;
}

/*
 * Shared memory area v: the parts of its object range not in the image
 * yet (written by this or an earlier process in task order, or whole),
 * read through map_files (holes skipped), or through the mapping if that
 * cannot be opened.  Non-zero pages become SHMEM_PAGES of the object.
 */
static int shmem_area_pages(struct page_ctx *pc, const struct dump_vma *v)
{
	struct dump_shmem *sh = shmem_find(pc->op, v->shmem_id);
	uint64_t lo = v->pv.pgoff, hi = lo + (v->pv.end - v->pv.start), end;
	int fd = -1, ret = 0;

	if (!sh)
		return -EINVAL;
	pc->shmem_id = sh->id;
	while (!ret) {
		end = shmem_gap(sh, &lo, hi);
		if (lo >= hi)
			break;
		if (fd < 0)
			fd = open_map_file(pc->pid, v);
		if (fd >= 0) {
			pc->shmem_delta = 0;
			ret = shmem_read_range(pc, fd, lo, end);
		} else if (!v->pv.shared) { /* the mapping shows its own copies */
			pr_perror("pid %d: cannot open the memfd behind %lx-%lx", pc->pid,
				  (unsigned long)v->pv.start, (unsigned long)v->pv.end);
			ret = -EIO;
		} else { /* through the mapping (may populate holes) */
			pc->shmem_delta = v->pv.pgoff - v->pv.start;
			ret = batch_add(pc, v->pv.start + (lo - v->pv.pgoff),
					v->pv.start + (end - v->pv.pgoff));
			ret = ret ?: flush_batch(pc);
		}
		ret = ret ?: shmem_mark_done(sh, lo, end);
	}
	if (fd >= 0)
		close(fd);
	pc->shmem_id = 0;
	return ret;
}

/*
 * An object written whole (shmem_whole(): a memfd held by an fd, a SysV
 * segment) goes out in the page group of its first holder, up to its
 * size, through our handle from the fd or one opened through t's first
 * mapping of it.  Without a handle its mappings are written as areas.
 */
static int shmem_whole_pages(struct page_ctx *pc, const struct dump_task *t, struct dump_shmem *sh)
{
	uint64_t hi = (sh->size + PAGE_SZ - 1) / PAGE_SZ * PAGE_SZ;
	int fd = sh->fd, ret;
	size_t i;

	for (i = 0; fd < 0 && i < t->mm->n_vmas; i++)
		if (t->mm->vmas[i].shmem_id == sh->id)
			fd = open_map_file(t->pid, &t->mm->vmas[i]);
	if (fd < 0) {
		pr_debug("pid %d: no handle on shared memory object %u: writing its areas\n",
			 t->pid, sh->id);
		return 0;
	}
	pc->shmem_id = sh->id;
	pc->shmem_delta = 0;
	ret = shmem_read_range(pc, fd, 0, hi);
	pc->shmem_id = 0;
	if (fd != sh->fd)
		close(fd);
	return ret ?: shmem_mark_done(sh, 0, hi);
}

/* Queues or zeroes [start, end) of one class (COW_SAME: nothing). */
static int cow_emit(struct page_ctx *pc, enum cow_page k, uint64_t start, uint64_t end)
{
	if (k == COW_ZERO)
		return zero_add(pc, start, end - start, pc->area);
	if (k == COW_READ)
		return batch_add(pc, start, end);
	pc->op->st->pages_scanned += (end - start) / PAGE_SZ;
	return 0;
}

/* An area the child inherits: only what plan_pages() found different. */
static int cow_area_pages(struct page_ctx *pc, const struct dump_vma *v)
{
	size_t n = (v->pv.end - v->pv.start) / PAGE_SZ, i, run = 0;
	int ret = 0;

	pc->cur_parent = true;
	for (i = 1; !ret && i <= n; i++) {
		if (i < n && v->cow[i] == v->cow[run])
			continue;
		ret = cow_emit(pc, v->cow[run], v->pv.start + run * PAGE_SZ,
			       v->pv.start + i * PAGE_SZ);
		run = i;
	}
	pc->cur_parent = false;
	return ret;
}

int dump_open_proc(pid_t pid, const char *name, int *fd)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/%s", pid, name);
	*fd = open(path, O_RDONLY | O_CLOEXEC);
	if (*fd < 0) {
		pr_perror("pid %d: cannot open %s", pid, path);
		return -errno;
	}
	return 0;
}

/*
 * Post-copy: an area whose pages may come later (the destination's restore
 * registers it with a userfaultfd): big, private anonymous, writable, not
 * inherited and not inherited by another process (a child's copy-on-write
 * share is written against the parent's pages), nothing that makes the kernel touch it before the process
 * runs (mlock) or that a userfaultfd cannot take (hugetlb, droppable,
 * guards, a stack that grows).
 */
#define LAZY_MIN_AREA (1ul << 20)
/* Does another process of the tree share v copy-on-write (inherit it)? */
static bool inherited_elsewhere(const struct page_ctx *pc, const struct dump_vma *v)
{
	const struct dump_op *op = pc->op;
	size_t i, k;

	for (i = 0; i < op->n_tasks; i++) {
		const struct dump_mm *mm = op->tasks[i]->mm;

		for (k = 0; mm && mm != pc->t->mm && k < mm->n_vmas; k++)
			if (mm->vmas[k].cow && mm->vmas[k].pv.start < v->pv.end &&
			    mm->vmas[k].pv.end > v->pv.start)
				return true;
	}
	return false;
}

static bool lazy_area(const struct page_ctx *pc, const struct dump_vma *v)
{
	const struct vxcr_dump_mig *mig = pc->op->opts->mig;

	return mig && mig->lazy && !inherited_elsewhere(pc, v) && !pc->op->cow &&
	       v->kind == VMA_KIND__VMA_ANON && !v->cow && (v->pv.prot & PROT_WRITE) &&
	       !v->pv.shared &&
	       !(v->pv.vmflags &
		 (PROC_VMF_GD | PROC_VMF_LO | PROC_VMF_LF | PROC_VMF_HT | PROC_VMF_DP |
		  PROC_VMF_GU | PROC_VMF_HG | PROC_VMF_UM | PROC_VMF_UW | PROC_VMF_UI)) &&
	       !(v->madv & (VXCR_MADV_HUGEPAGE | VXCR_MADV_GUARD)) && !v->n_guards &&
	       v->pv.end - v->pv.start >= LAZY_MIN_AREA;
}

/*
 * Does the page at addr hold a thread's rseq area?  The kernel writes it on
 * every return to user space, the restore's injected calls too, before
 * any page server runs: such a page goes in the image.
 */
static bool rseq_page(const struct page_ctx *pc, uint64_t addr)
{
	const struct dump_thread *th;
	size_t k;

	for (k = 0; k < pc->t->n_threads; k++) {
		th = &pc->t->threads[k];
		if (th->rseq_addr && th->rseq_addr < addr + PAGE_SZ &&
		    th->rseq_addr + (th->rseq_len ? th->rseq_len : 32) > addr)
			return true;
	}
	return false;
}

/* An IMG_PAGES_LAZY record of [s, e); the caller is told of it. */
static int lazy_record(struct page_ctx *pc, uint64_t s, uint64_t e)
{
	const struct vxcr_dump_mig *mig = pc->op->opts->mig;
	struct img_pages_prefix pfx = { s, pc->mm_id, IMG_PAGES_LAZY };
	uint64_t len = e - s;
	int ret;

	ret = img_write_raw2(pc->op->w, IMG_REC_PAGES, 0, &pfx, sizeof(pfx), &len, sizeof(len));
	return ret ?: mig->lazy(mig->lazy_arg, pc->pid, (uint32_t)pc->t->vpid, s, e);
}

/* The area as IMG_PAGES_LAZY ranges, but for its rseq pages (read now). */
static int lazy_pages(struct page_ctx *pc, const struct dump_vma *v)
{
	uint64_t a = v->pv.start, b;
	bool eager;
	int ret = flush_batch(pc);

	while (!ret && a < v->pv.end) {
		eager = rseq_page(pc, a);
		for (b = a + PAGE_SZ; b < v->pv.end && rseq_page(pc, b) == eager; b += PAGE_SZ)
			;
		ret = eager ? batch_add(pc, a, b) : lazy_record(pc, a, b);
		a = b;
	}
	return ret;
}

static int dump_vma_pages(struct page_ctx *pc, const struct dump_task *t, const struct dump_vma *v)
{
	int ret;

	if (lazy_area(pc, v))
		return lazy_pages(pc, v);
	if (v->whole && !v->cow) /* a file's area stored whole: every page, zeros dropped */
		return batch_add(pc, v->pv.start, v->pv.end);
	switch (v->kind) {
	case VMA_KIND__VMA_ANON:
	case VMA_KIND__VMA_FILE_PRIVATE:
		if (v->cow)
			ret = cow_area_pages(pc, v);
		else
			ret = private_area_pages(pc, v);
		break;
	case VMA_KIND__VMA_SHMEM:
		ret = flush_batch(pc);
		ret = ret ?: shmem_area_pages(pc, v);
		if (!ret && !v->pv.shared) /* a private memfd mapping: its own copies too */
			ret = v->cow ? cow_area_pages(pc, v) : private_area_pages(pc, v);
		break;
	default:
		return 0; /* file-shared, vdso, vvar, vsyscall: never stored */
	}
	return ret;
}

/*
 * Writes the page records of live t's address space (its group of the
 * image: PAGES, zero ranges, and the SHMEM_PAGES of objects it holds
 * first).  0 or -errno (logged).
 */
int dump_pages(struct dump_op *op, struct dump_task *t)
{
	struct page_ctx *pc;
	size_t i;
	int ret;

	pc = calloc(1, sizeof(*pc));
	if (!pc)
		return -ENOMEM;
	pc->op = op;
	pc->t = t;
	pc->pid = t->pid;
	pc->mm_id = t->mm->mm_id;
	pc->have_scan = true;
	pc->no_pin = op->n_tasks > 1 || op->cow; /* running: by the fds of the freeze */
	pc->pagemap_fd = pc->mem_fd = -1;
	track_setup(pc, t);
	pc->buf = aligned_alloc(HUGE_SZ, BATCH_BYTES);
	if (pc->buf) /* its first touch, in the freeze: 2 MiB a fault */
		madvise(pc->buf, BATCH_BYTES, MADV_HUGEPAGE);
	ret = pc->buf ? 0 : -ENOMEM;
	if (!ret && op->cow)
		ret = cow_proc_fds(op->cow, t, &pc->pagemap_fd, &pc->mem_fd);
	ret = ret ?: (pc->pagemap_fd < 0 ? dump_open_proc(t->pid, "pagemap", &pc->pagemap_fd) : 0);
	ret = ret ?: (pc->mem_fd < 0 ? dump_open_proc(t->pid, "mem", &pc->mem_fd) : 0);
	for (i = 0; !ret && i < op->n_shmems; i++)
		if (op->shmems[i].first_index == t->index && shmem_whole(&op->shmems[i]))
			ret = shmem_whole_pages(pc, t, &op->shmems[i]);
	for (i = 0; !ret && i < t->mm->n_vmas; i++) {
		pc->area = i;
		ret = dump_vma_pages(pc, t, &t->mm->vmas[i]);
	}
	ret = ret ?: flush_batch(pc);
	ret = ret ?: close_zero_run(pc);
	ret = ret ?: close_parent_run(pc);
	if (pc->pagemap_fd >= 0)
		close(pc->pagemap_fd);
	if (pc->mem_fd >= 0)
		close(pc->mem_fd);
	free(pc->buf);
	free(pc);
	return ret;
}
