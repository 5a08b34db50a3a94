/*
 * Page contents, streamed from the image straight into the new process.
 * Writable areas: gathered into 8 MiB buffers (up to IOV_MAX remote ranges
 * each) written by a second thread with process_vm_writev, so reading and
 * decompressing the image overlaps with faulting in the new memory.
 * Read-only private areas: pwrite on /proc/PID/mem (the kernel breaks COW
 * for the tracer), so no mprotect round trips are needed.
 */
#define LOG_PREFIX "restore: "
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/uio.h>

#include "log.h"
#include "restore/restore.h"

#define BATCH_BYTES	(8u << 20)
#define BATCH_IOV	IOV_MAX

/* One buffer of gathered pages and where they go. */
struct batch_buf {
	uint8_t *buf;
	size_t used;
	struct iovec remote[BATCH_IOV];
	int n;
};

/*
 * Double buffering: the main thread reads (and decompresses) records into
 * bufs[cur] while the writer thread pushes the other buffer into the
 * process with process_vm_writev.  The writer never logs (the last error
 * is per thread); it leaves errno and the address in err/bad_addr.
 */
struct page_batch {
	struct restore_ctx *rc;
	struct batch_buf bufs[2];
	int cur;
	int pending;		/* buffer handed to the writer, -1 if none */
	bool stop;
	int err;
	uint64_t bad_addr;
	pthread_t writer;
	pthread_mutex_t lock;
	pthread_cond_t cond;
};

/* process_vm_writev of a whole buffer.  Returns 0 or -errno (*bad set). */
static int vm_write(pid_t pid, struct batch_buf *bb, uint64_t *bad)
{
	struct iovec local = { bb->buf, bb->used }, *r = bb->remote;
	ssize_t w;
	int n = bb->n;

	w = process_vm_writev(pid, &local, 1, r, n, 0);
	if (w == (ssize_t)bb->used)
		return 0;
	*bad = (uintptr_t)r[0].iov_base;
	if (w < 0)
		return -errno;
	while (n > 0 && (size_t)w >= r[0].iov_len) {
		w -= r[0].iov_len;
		r++, n--;
	}
	*bad = (uintptr_t)r[0].iov_base + w;
	return -EFAULT;
}

static void *writer_main(void *arg)
{
	struct page_batch *b = arg;
	int idx, ret, skip;

	pthread_mutex_lock(&b->lock);
	for (;;) {
		while (b->pending < 0 && !b->stop)
			pthread_cond_wait(&b->cond, &b->lock);
		if (b->pending < 0)
			break;
		idx = b->pending;
		skip = b->err;
		pthread_mutex_unlock(&b->lock);
		ret = skip ? 0 : vm_write(b->rc->pid, &b->bufs[idx], &b->bad_addr);
		pthread_mutex_lock(&b->lock);
		if (ret && !b->err)
			b->err = ret;
		b->bufs[idx].used = 0;
		b->bufs[idx].n = 0;
		b->pending = -1;
		pthread_cond_broadcast(&b->cond);
	}
	pthread_mutex_unlock(&b->lock);
	return NULL;
}

/* Hands the current buffer to the writer once it is free.  0 or -errno. */
static int batch_flush(struct page_batch *b)
{
	int err;

	if (!b->bufs[b->cur].n)
		return 0;
	pthread_mutex_lock(&b->lock);
	while (b->pending >= 0)
		pthread_cond_wait(&b->cond, &b->lock);
	err = b->err;
	if (!err) {
		b->pending = b->cur;
		b->cur ^= 1;
		pthread_cond_broadcast(&b->cond);
	}
	pthread_mutex_unlock(&b->lock);
	return err;
}

static int batch_add(struct page_batch *b, uint64_t addr, const uint8_t *data, size_t len)
{
	while (len) {
		struct batch_buf *bb = &b->bufs[b->cur];
		struct iovec *last = bb->n ? &bb->remote[bb->n - 1] : NULL;
		size_t chunk = len;
		int ret;

		if (bb->used == BATCH_BYTES || bb->n == BATCH_IOV) {
			ret = batch_flush(b);
			if (ret)
				return ret;
			continue;
		}
		if (chunk > BATCH_BYTES - bb->used)
			chunk = BATCH_BYTES - bb->used;
		memcpy(bb->buf + bb->used, data, chunk);
		bb->used += chunk;
		if (last && (uintptr_t)last->iov_base + last->iov_len == addr) {
			last->iov_len += chunk;
		} else {
			bb->remote[bb->n].iov_base = (void *)(uintptr_t)addr;
			bb->remote[bb->n++].iov_len = chunk;
		}
		addr += chunk;
		data += chunk;
		len -= chunk;
	}
	return 0;
}

/* Starts the writer.  0 or -errno. */
static int batch_start(struct page_batch *b, struct restore_ctx *rc)
{
	int i;

	memset(b, 0, sizeof(*b));
	b->rc = rc;
	b->pending = -1;
	for (i = 0; i < 2; i++) {
		b->bufs[i].buf = malloc(BATCH_BYTES);
		if (!b->bufs[i].buf)
			goto out_free;
	}
	pthread_mutex_init(&b->lock, NULL);
	pthread_cond_init(&b->cond, NULL);
	if (pthread_create(&b->writer, NULL, writer_main, b))
		goto out_free;
	return 0;
out_free:
	free(b->bufs[0].buf);
	free(b->bufs[1].buf);
	return -ENOMEM;
}

/* Flushes (unless ret), stops the writer and reports its error.  0/-errno. */
static int batch_stop(struct page_batch *b, int ret)
{
	if (!ret)
		ret = batch_flush(b);
	pthread_mutex_lock(&b->lock);
	while (b->pending >= 0)
		pthread_cond_wait(&b->cond, &b->lock);
	b->stop = true;
	pthread_cond_broadcast(&b->cond);
	pthread_mutex_unlock(&b->lock);
	pthread_join(b->writer, NULL);
	if (!ret && b->err) {
		ret = b->err;
		pr_err("pid %d: cannot write pages at %#llx: %s\n", b->rc->pid,
		       (unsigned long long)b->bad_addr, strerror(-ret));
	}
	free(b->bufs[0].buf);
	free(b->bufs[1].buf);
	pthread_mutex_destroy(&b->lock);
	pthread_cond_destroy(&b->cond);
	return ret;
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
	int ret, more = rc->have_pending;

	b = malloc(sizeof(*b));
	if (!b)
		return -ENOMEM;
	ret = batch_start(b, rc);
	if (ret) {
		free(b);
		return ret;
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
		more = restore_next_record(rc, &rec);
		if (more < 0)
			ret = more;
	}
	ret = batch_stop(b, ret);
	free(b);
	return ret;
}
