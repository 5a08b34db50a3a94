/*
 * Page contents, streamed from the image straight into the new process.
 * Writable areas: process_vm_writev, large records directly, small ones
 * gathered into a batch (one call for up to IOV_MAX remote ranges).
 * Read-only private areas: pwrite on /proc/PID/mem (the kernel breaks COW
 * for the tracer), so no mprotect round trips are needed.
 */
#define LOG_PREFIX "restore: "
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/uio.h>

#include "log.h"
#include "restore/restore.h"

#define BATCH_BYTES	(2u << 20)
#define BATCH_IOV	IOV_MAX
#define DIRECT_MIN	(256u << 10)	/* records this large skip the batch */

struct page_batch {
	struct restore_ctx *rc;
	uint8_t *buf;
	size_t used;
	struct iovec remote[BATCH_IOV];
	int n;
};

/* process_vm_writev of local[0..) to remote ranges, all of it or an error. */
static int vm_write(pid_t pid, const void *buf, size_t len, struct iovec *remote, int n)
{
	struct iovec local = { (void *)buf, len };
	ssize_t w;

	w = process_vm_writev(pid, &local, 1, remote, n, 0);
	if (w == (ssize_t)len)
		return 0;
	if (w < 0) {
		pr_perror("pid %d: cannot write pages at %p", pid, remote[0].iov_base);
		return -errno;
	}
	/* partial: a fault somewhere; finish range by range to name it */
	while (n > 0 && (size_t)w >= remote[0].iov_len) {
		w -= remote[0].iov_len;
		remote++, n--;
	}
	pr_err("pid %d: cannot write pages at %#llx: bad address\n", pid,
	       (unsigned long long)(uintptr_t)remote[0].iov_base + w);
	return -EFAULT;
}

static int batch_flush(struct page_batch *b)
{
	int ret;

	if (!b->n)
		return 0;
	ret = vm_write(b->rc->pid, b->buf, b->used, b->remote, b->n);
	b->used = 0;
	b->n = 0;
	return ret;
}

static int batch_add(struct page_batch *b, uint64_t addr, const void *data, size_t len)
{
	struct iovec *last = b->n ? &b->remote[b->n - 1] : NULL;
	int ret;

	if (len >= DIRECT_MIN) {
		struct iovec r = { (void *)(uintptr_t)addr, len };

		ret = batch_flush(b);
		return ret ? ret : vm_write(b->rc->pid, data, len, &r, 1);
	}
	if (b->used + len > BATCH_BYTES || b->n == BATCH_IOV) {
		ret = batch_flush(b);
		if (ret)
			return ret;
		last = NULL;
	}
	memcpy(b->buf + b->used, data, len);
	b->used += len;
	if (last && (uintptr_t)last->iov_base + last->iov_len == addr) {
		last->iov_len += len;
	} else {
		b->remote[b->n].iov_base = (void *)(uintptr_t)addr;
		b->remote[b->n++].iov_len = len;
	}
	return 0;
}

/* Read-only private area: through /proc/PID/mem. */
static int mem_write(struct restore_ctx *rc, uint64_t addr, const void *data, size_t len)
{
	char path[64];
	ssize_t w;

	if (rc->mem_fd < 0) {
		snprintf(path, sizeof(path), "/proc/%d/mem", rc->pid);
		rc->mem_fd = open(path, O_RDWR | O_CLOEXEC);
		if (rc->mem_fd < 0) {
			pr_perror("%s", path);
			return -errno;
		}
	}
	w = pwrite(rc->mem_fd, data, len, addr);
	if (w != (ssize_t)len) {
		pr_err("pid %d: cannot write pages at %#llx: %s\n", rc->pid,
		       (unsigned long long)addr, w < 0 ? strerror(errno) : "short write");
		return w < 0 ? -errno : -EFAULT;
	}
	return 0;
}

/* The address of offset off of shmem object id, or 0. */
static uint64_t shmem_addr(const struct restore_ctx *rc, uint32_t id, uint64_t off)
{
	size_t i;

	for (i = 0; i < rc->nr_vmas; i++) {
		const VmaEntry *v = rc->vmas[i];

		if (v->kind == VMA_KIND__VMA_SHMEM && v->shmem_id == id && off >= v->pgoff &&
		    off < v->pgoff + (v->end - v->start))
			return v->start + off - v->pgoff;
	}
	return 0;
}

static int apply_record(struct page_batch *b, const struct img_record *rec)
{
	struct restore_ctx *rc = b->rc;
	const struct img_pages_prefix *p = rec->payload;
	const uint8_t *data = (const uint8_t *)rec->payload + sizeof(*p);
	uint64_t len = rec->length - sizeof(*p), addr;
	const VmaEntry *v;

	if (rec->length < sizeof(*p) || len % RST_PAGE) {
		pr_err("image: record %llu: bad page record length\n",
		       (unsigned long long)rec->index);
		return -EBADMSG;
	}
	addr = rec->type == IMG_REC_PAGES ? p->addr : shmem_addr(rc, p->mm_id, p->addr);
	v = plan_vma_at(rc, addr);
	if (!v || addr % RST_PAGE || addr + len > v->end || addr + len < addr) {
		pr_err("image: record %llu: pages at %#llx-%#llx outside any memory area\n",
		       (unsigned long long)rec->index, (unsigned long long)addr,
		       (unsigned long long)(addr + len));
		return -EBADMSG;
	}
	rc->pages += len / RST_PAGE;
	if ((v->prot & PROT_WRITE) || v->kind == VMA_KIND__VMA_SHMEM)
		return batch_add(b, addr, data, len);
	return mem_write(rc, addr, data, len);
}

/*
 * Streams every page record (starting with rc->pending) into the process,
 * up to the trailer.  Returns 0 once the trailer validated, else -errno.
 */
int pages_restore(struct restore_ctx *rc)
{
	struct page_batch *b;
	struct img_record rec;
	int ret = 0, more = rc->have_pending;

	b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	b->rc = rc;
	b->buf = malloc(BATCH_BYTES);
	if (!b->buf) {
		free(b);
		return -ENOMEM;
	}
	rec = rc->pending;
	while (more > 0) {
		if (rec.type == IMG_REC_PAGES || rec.type == IMG_REC_SHMEM_PAGES) {
			ret = apply_record(b, &rec);
		} else if (!(rec.flags & IMG_RF_OPTIONAL)) {
			pr_err("image: record %llu (type %u) after the pages is not supported\n",
			       (unsigned long long)rec.index, rec.type);
			ret = -EPROTO;
		}
		if (ret)
			break;
		more = img_read_record(rc->rd, &rec);
		if (more < 0) {
			pr_err("image: %s\n", img_reader_error(rc->rd));
			ret = more;
		}
	}
	if (!ret)
		ret = batch_flush(b);
	free(b->buf);
	free(b);
	return ret;
}
