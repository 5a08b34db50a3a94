/*
 * Page contents, streamed from the image straight into the new process.
 * Writable areas: process_vm_writev straight from each record's payload;
 * the image reader decompresses the next frames on its own threads
 * meanwhile, so no copy and no writer thread are needed here.
 * Read-only private areas: pwrite on /proc/PID/mem (the kernel breaks COW
 * for the tracer), so no mprotect round trips are needed.
 */
#define LOG_PREFIX "restore/pages: "
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>

#include "log.h"
#include "img/pstore.h"
#include "restore/lazy.h"
#include "restore/restore.h"

#define PARENT_CHUNK (1u << 20)	       /* a PARENT range goes out in runs of this */
#define PARENT_DIRECT (64u * RST_PAGE) /* a run this long in the store: no copy */

/*
 * Writable area: process_vm_writev straight from the record payload (one
 * contiguous run of up to 4 MiB).  Returns 0 or -errno (logged).
 */
static int vm_write(struct rst_proc *proc, uint64_t addr, const void *data, size_t len)
{
	struct iovec local = { (void *)data, len };
	struct iovec remote = { (void *)(uintptr_t)addr, len };
	ssize_t w;

	while (remote.iov_len) {
		w = process_vm_writev(proc->pid, &local, 1, &remote, 1, 0);
		if (w <= 0) {
			pr_err("pid %d: cannot write pages at %#llx: %s\n", proc->pid,
			       (unsigned long long)(uintptr_t)remote.iov_base,
			       w < 0 ? strerror(errno) : "short write");
			return w < 0 ? -errno : -EFAULT;
		}
		local.iov_base = (char *)local.iov_base + w;
		local.iov_len -= (size_t)w;
		remote.iov_base = (char *)remote.iov_base + w;
		remote.iov_len -= (size_t)w;
	}
	return 0;
}

/* Read-only private area: through /proc/PID/mem. */
static int mem_write(struct rst_proc *proc, uint64_t addr, const void *data, size_t len)
{
	char path[64];
	ssize_t w;

	if (proc->mem_fd < 0) {
		snprintf(path, sizeof(path), "/proc/%d/mem", proc->pid);
		proc->mem_fd = open(path, O_RDWR | O_CLOEXEC);
		if (proc->mem_fd < 0) {
			pr_perror("%s", path);
			return -errno;
		}
	}
	w = pwrite(proc->mem_fd, data, len, addr);
	if (w != (ssize_t)len) {
		pr_err("pid %d: cannot write pages at %#llx: %s\n", proc->pid,
		       (unsigned long long)addr, w < 0 ? strerror(errno) : "short write");
		return w < 0 ? -errno : -EFAULT;
	}
	return 0;
}

/* The address of offset off of shmem object id, or 0. */
static uint64_t shmem_addr(const struct rst_proc *proc, uint32_t id, uint64_t off)
{
	size_t i;

	for (i = 0; i < proc->nr_vmas; i++) {
		const VmaEntry *v = proc->vmas[i];

		if (v->kind == VMA_KIND__VMA_SHMEM && v->shmem_id == id && off >= v->pgoff &&
		    off < v->pgoff + (v->end - v->start))
			return v->start + off - v->pgoff;
	}
	return 0;
}

static uint32_t mm_id_of(const struct rst_proc *c)
{
	return c->mm && c->mm->has_mm_id ? c->mm->mm_id : 1;
}

/*
 * Whose is this page record: 1 proc's, 0 a process restored after proc (the
 * record stays pending for it), -errno if none left can take it.
 */
int pages_owner(struct rst_proc *proc, const struct page_rec *pr)
{
	const struct img_record *rec = pr->rec;
	const struct img_pages_prefix *p = pr->p;
	const struct rst_image *img = proc->img;
	size_t i, me;

	if (rec->type == IMG_REC_PAGES ? p->mm_id == mm_id_of(proc) :
					 shmem_addr(proc, p->mm_id, p->addr) != 0 ||
						 rshm_filled_by_us(rshm_find(img, p->mm_id)))
		return 1;
	for (me = 0; me < img->nr_procs && img->procs[me] != proc; me++)
		;
	for (i = me + 1; i < img->nr_procs; i++) {
		const struct rst_proc *c = img->procs[i];

		if (!c->mm)
			continue;
		if (rec->type == IMG_REC_PAGES ? p->mm_id == mm_id_of(c) :
						 shmem_addr(c, p->mm_id, p->addr) != 0)
			return 0;
	}
	pr_err("image: record %llu: pages of %s %u %s\n", (unsigned long long)rec->index,
	       rec->type == IMG_REC_PAGES ? "address space" : "shared memory object", p->mm_id,
	       "out of order or not in the image");
	return -EBADMSG;
}

/*
 * Pages of a shared file mapping live in the file, which the image never
 * holds: writing them would write into a host file.  -EPERM (logged).
 */
static int file_shared_pages(const struct img_record *rec, const VmaEntry *v)
{
	pr_err("image: record %llu: pages for the shared file mapping at %#llx: "
	       "refusing to write into a file\n",
	       (unsigned long long)rec->index, (unsigned long long)v->start);
	return -EPERM;
}

/* An IMG_PAGES_ZERO record: the range reads as untouched memory again. */
static int zero_range(struct rst_proc *proc, const struct page_rec *pr, bool dry)
{
	const struct img_pages_prefix *p = pr->p;
	uint64_t len;
	const VmaEntry *v;
	long r;

	if (pr->len != sizeof(len)) {
		pr_err("image: record %llu: bad zero-range record\n",
		       (unsigned long long)pr->rec->index);
		return -EBADMSG;
	}
	memcpy(&len, pr->data, sizeof(len));
	v = plan_vma_at(proc, p->addr);
	if (!v || len % RST_PAGE || p->addr % RST_PAGE || p->addr + len > v->end ||
	    p->addr + len < p->addr) {
		pr_err("image: record %llu: zero range at %#llx outside any memory area\n",
		       (unsigned long long)pr->rec->index, (unsigned long long)p->addr);
		return -EBADMSG;
	}
	if (v->kind == VMA_KIND__VMA_FILE_SHARED)
		return file_shared_pages(pr->rec, v);
	if (dry)
		return 0;
	r = rst_inject(proc, "madvise(MADV_DONTNEED)", SYS_madvise, p->addr, len, MADV_DONTNEED, 0,
		       0, 0);
	return r < 0 ? r : 0;
}

/* Writes len bytes at addr of v in proc, by the path of v's kind. */
static int write_pages(struct rst_proc *proc, const VmaEntry *v, uint64_t addr, const void *data,
		       uint64_t len)
{
	proc->pages += len / RST_PAGE;
	if ((v->prot & PROT_WRITE) || (v->kind == VMA_KIND__VMA_SHMEM && (v->flags & MAP_SHARED))) {
		int ret = uffd_copy(proc, v, addr, data, len);

		return ret == 1 ? vm_write(proc, addr, data, len) : ret;
	}
	return mem_write(proc, addr, data, len);
}

/*
 * The store's pages [addr, addr + len) of key into v of proc, gathered
 * into runs and written as a record's bytes would be (checked by the
 * caller: all in the store).
 */
static int parent_copy(struct rst_proc *proc, const VmaEntry *v, const struct vxcr_pstore *ps,
		       uint32_t key, uint64_t addr, uint64_t len)
{
	uint8_t *buf = NULL;
	uint64_t off, n;
	int ret = 0;

	for (off = 0; !ret && off < len; off += n) {
		const uint8_t *run = pstore_get(ps, key, addr + off);

		/* pages put in address order sit side by side in the store:
		 * such a run goes straight from it, no copy */
		for (n = RST_PAGE; n < PARENT_CHUNK && off + n < len &&
				   pstore_get(ps, key, addr + off + n) == run + n;
		     n += RST_PAGE)
			;
		if (n >= PARENT_DIRECT) {
			ret = write_pages(proc, v, addr + off, run, n);
			continue;
		}
		if (!buf && !(buf = malloc(PARENT_CHUNK))) /* scattered: gathered */
			return -ENOMEM;
		for (n = 0; n < PARENT_CHUNK && off + n < len; n += RST_PAGE)
			memcpy(buf + n, pstore_get(ps, key, addr + off + n), RST_PAGE);
		ret = write_pages(proc, v, addr + off, buf, n);
	}
	free(buf);
	return ret;
}

/* An area a userfaultfd may fill once the process runs (post-copy's kind). */
static bool lazy_vma(const VmaEntry *v)
{
	return v->kind == VMA_KIND__VMA_ANON && (v->prot & PROT_WRITE) &&
	       !(v->flags & (MAP_SHARED | MAP_GROWSDOWN | VXCR_MAP_DROPPABLE)) &&
	       !(v->madv & (VXCR_MADV_HUGEPAGE | VXCR_MADV_GUARD)) && !v->n_guards;
}

#define PARENT_LAZY_MIN_AREA (1ull << 20) /* as the dump's post-copy areas */

/*
 * Pre-copy into vxcr serve (lazy.h's parents): may v's PARENT pages stay
 * in the store until the process runs?  The areas post-copy makes lazy,
 * of 1 MiB or more, not locked (mlock would fault them in before the
 * registration), in the only process of the image with memory: a child is
 * forked from its restored parent and shares its pages copy-on-write, so
 * a tree keeps copying.
 */
static bool parent_lazy(const struct rst_proc *proc, const VmaEntry *v)
{
	const struct vxcr_lazy *lz = proc->img->opts->lazy;
	size_t i;

	if (!lz || !lz->parents || proc->role != RST_ROOT || !lazy_vma(v) ||
	    v->end - v->start < PARENT_LAZY_MIN_AREA || (v->madv & VXCR_MADV_LOCKED) ||
	    (proc->mm && proc->mm->mlockall))
		return false;
	for (i = 0; i < proc->img->nr_procs; i++)
		if (proc->img->procs[i] != proc && proc->img->procs[i]->mm)
			return false;
	return true;
}

/* Does the page at addr hold a thread's rseq area (the kernel writes it early)? */
static bool rseq_page(const struct rst_proc *proc, uint64_t addr)
{
	const CoreEntry *c;
	size_t i;

	for (i = 0; i < proc->nr_threads; i++) {
		c = proc->threads[i].core;
		if (c && c->rseq_addr && c->rseq_addr < addr + RST_PAGE &&
		    c->rseq_addr + (c->rseq_len ? c->rseq_len : 32) > addr)
			return true;
	}
	return false;
}

/*
 * A PARENT range left in the store: noted as lazy (uffd_lazy() registers
 * it, the serve's fault server fills it from the store after the commit),
 * but for the rseq pages, copied now.  Past VXCR_LAZY_PARENT_MAX ranges
 * (a range not adjoining the last one) or out of address order: copied.
 */
static int parent_lazy_range(struct rst_proc *proc, const VmaEntry *v, const struct vxcr_pstore *ps,
			     uint32_t key, uint64_t addr, uint64_t len)
{
	uint64_t a = addr, b, end = addr + len;
	bool eager;
	int ret = 0;

	while (!ret && a < end) {
		eager = rseq_page(proc, a);
		for (b = a + RST_PAGE; b < end && rseq_page(proc, b) == eager; b += RST_PAGE)
			;
		if (!eager && proc->n_lazy &&
		    (proc->lazy[proc->n_lazy - 1] > a ||
		     (proc->lazy[proc->n_lazy - 1] != a &&
		      proc->n_lazy / 2 >= VXCR_LAZY_PARENT_MAX)))
			eager = true;
		if (eager)
			ret = parent_copy(proc, v, ps, key, a, b - a);
		else if (proc->n_lazy && proc->lazy[proc->n_lazy - 1] == a)
			proc->lazy[proc->n_lazy - 1] = b; /* adjoins the last: one range */
		else
			ret = uffd_lazy_range(proc, a, b);
		a = b;
	}
	return ret;
}

/*
 * An IMG_PAGES_PARENT record: the range's pages from the parent store
 * (key: proc's TASK pid), gathered into runs and written as a record's
 * bytes would be.  Refused if the store lacks one of them.
 */
static int parent_range(struct rst_proc *proc, const struct page_rec *pr, bool dry)
{
	const ImgHeader *h = proc->img->hdr;
	/* check_parent(): the store is the one the header names, if it names one */
	const struct vxcr_pstore *ps = h && h->has_parent_id ? proc->img->opts->pages : NULL;
	const struct img_pages_prefix *p = pr->p;
	uint32_t key = proc->task->pid;
	const VmaEntry *v;
	uint64_t len;

	if (pr->len != sizeof(len)) {
		pr_err("image: record %llu: bad parent range record\n",
		       (unsigned long long)pr->rec->index);
		return -EBADMSG;
	}
	memcpy(&len, pr->data, sizeof(len));
	v = plan_vma_at(proc, p->addr);
	if (!v || !len || len % RST_PAGE || p->addr % RST_PAGE || p->addr + len > v->end ||
	    p->addr + len < p->addr) {
		pr_err("image: record %llu: parent range at %#llx outside any memory area\n",
		       (unsigned long long)pr->rec->index, (unsigned long long)p->addr);
		return -EBADMSG;
	}
	if (v->kind == VMA_KIND__VMA_FILE_SHARED)
		return file_shared_pages(pr->rec, v);
	if (!ps || !pstore_has(ps, key, p->addr, len)) {
		pr_err("image: record %llu: pages %#llx-%#llx of pid %u are not in %s\n",
		       (unsigned long long)pr->rec->index, (unsigned long long)p->addr,
		       (unsigned long long)(p->addr + len), key,
		       ps ? "the parent images" : "the image (it has no parent)");
		return ps ? -ENOENT : -EBADMSG;
	}
	if (dry)
		return 0;
	if (parent_lazy(proc, v))
		return parent_lazy_range(proc, v, ps, key, p->addr, len);
	return parent_copy(proc, v, ps, key, p->addr, len);
}

/*
 * An IMG_PAGES_LAZY record (post-copy): a range of a private anonymous
 * writable area whose pages the migration's page server sends later; noted, and
 * registered with a userfaultfd once the tree is built (uffd_lazy()).
 * Refused by a restore without a server.
 */
static int lazy_range(struct rst_proc *proc, const struct page_rec *pr, bool dry)
{
	const struct img_pages_prefix *p = pr->p;
	const VmaEntry *v;
	uint64_t len;

	if (pr->len != sizeof(len)) {
		pr_err("image: record %llu: bad lazy range record\n",
		       (unsigned long long)pr->rec->index);
		return -EBADMSG;
	}
	memcpy(&len, pr->data, sizeof(len));
	v = plan_vma_at(proc, p->addr);
	if (!v || p->addr + len > v->end || p->addr + len < p->addr || !lazy_vma(v)) {
		pr_err("image: record %llu: lazy range at %#llx is not inside a private anonymous "
		       "writable area\n",
		       (unsigned long long)pr->rec->index, (unsigned long long)p->addr);
		return -EBADMSG;
	}
	if (!proc->img->opts->lazy || proc->img->opts->lazy->parents) {
		pr_err("image: record %llu: the pages at %#llx come later from a migration's page "
		       "server (vxcr migrate --lazy): only vxcr serve restores this image\n",
		       (unsigned long long)pr->rec->index, (unsigned long long)p->addr);
		return -ENOTSUP;
	}
	if (dry)
		return 0;
	return uffd_lazy_range(proc, p->addr, p->addr + len);
}

static int bad_length(const struct page_rec *pr)
{
	pr_err("image: record %llu: bad page record length\n", (unsigned long long)pr->rec->index);
	return -EBADMSG;
}

/*
 * Checks page record pr of proc against the plan and, unless dry, writes
 * it: into the process, or into a shared memory object restore made.
 */
static int apply_record(struct rst_proc *proc, const struct page_rec *pr, bool dry)
{
	const struct img_pages_prefix *p = pr->p;
	uint64_t len = pr->len, addr;
	const VmaEntry *v;

	if (pr->rec->type == IMG_REC_PAGES && (p->flags & IMG_PAGES_ZERO))
		return zero_range(proc, pr, dry);
	if (pr->rec->type == IMG_REC_PAGES && (p->flags & IMG_PAGES_PARENT))
		return parent_range(proc, pr, dry);
	if (pr->rec->type == IMG_REC_PAGES && (p->flags & IMG_PAGES_LAZY))
		return lazy_range(proc, pr, dry);
	if (pr->rec->type == IMG_REC_SHMEM_PAGES) {
		struct rst_shmem *s = rshm_find(proc->img, p->mm_id);

		if (rshm_filled_by_us(s)) {
			if (len % RST_PAGE || p->addr % RST_PAGE)
				return bad_length(pr);
			if (dry)
				return rshm_check(s, p->addr, pr->data, len);
			proc->pages += len / RST_PAGE;
			return rshm_write(s, p->addr, pr->data, len);
		}
	}
	if (len % RST_PAGE)
		return bad_length(pr);
	addr = pr->rec->type == IMG_REC_PAGES ? p->addr : shmem_addr(proc, p->mm_id, p->addr);
	v = plan_vma_at(proc, addr);
	if (!v || addr % RST_PAGE || addr + len > v->end || addr + len < addr) {
		pr_err("image: record %llu: pages at %#llx-%#llx outside any memory area\n",
		       (unsigned long long)pr->rec->index, (unsigned long long)addr,
		       (unsigned long long)(addr + len));
		return -EBADMSG;
	}
	if (v->kind == VMA_KIND__VMA_FILE_SHARED)
		return file_shared_pages(pr->rec, v);
	if (dry)
		return 0;
	return write_pages(proc, v, addr, pr->data, len);
}

/* Everything restore checks of page record pr of proc, nothing written. */
int pages_check(struct rst_proc *proc, const struct page_rec *pr)
{
	return apply_record(proc, pr, true);
}

/* Splits a page record read from the image into its parts. */
static int page_parts(const struct img_record *rec, struct page_rec *pr)
{
	pr->rec = rec;
	pr->p = rec->payload;
	if (rec->length < sizeof(*pr->p))
		return bad_length(pr);
	pr->data = (const uint8_t *)rec->payload + sizeof(*pr->p);
	pr->len = rec->length - sizeof(*pr->p);
	return 0;
}

/*
 * Streams the page records of proc (starting with the pending one) into the
 * process.  Stops at the first record of a later process (left pending) or
 * at the trailer.  Returns 0 or -errno.
 */
int pages_restore(struct rst_proc *proc)
{
	struct rst_stream *st = &proc->img->stream;
	struct img_record rec = st->pending;
	int ret = 0, err, more = st->have_pending;
	bool uffd = proc->role == RST_ROOT; /* children: COW areas, no uffd */

	if (uffd)
		ret = uffd_setup(proc);
	while (more > 0 && !ret) {
		if (rec.type == IMG_REC_PAGES || rec.type == IMG_REC_SHMEM_PAGES) {
			struct page_rec pr;

			ret = page_parts(&rec, &pr) ?: pages_owner(proc, &pr);
			if (ret == 0)
				break;
			ret = ret < 0 ? ret : apply_record(proc, &pr, false);
		} else if (!(rec.flags & IMG_RF_OPTIONAL)) {
			pr_err("image: record %llu (type %u) after the pages is not supported\n",
			       (unsigned long long)rec.index, rec.type);
			ret = -EPROTO;
		}
		if (ret)
			break;
		more = restore_next_record(proc->img, &rec);
		if (more < 0)
			ret = more;
	}
	st->pending = rec;
	st->have_pending = more > 0;
	err = uffd ? uffd_teardown(proc) : 0;
	return ret ? ret : err;
}
