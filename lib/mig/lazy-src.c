/*
 * Post-copy, the source's side (vxcr migrate --lazy; proto.h): the dump
 * wrote the private areas as IMG_PAGES_LAZY ranges and told us of them;
 * once the destination runs the tree (COMMIT sent) and ours is still
 * frozen inside the dump's commit step, its pages go out: a LAZY_REQ
 * (a fault there) is answered before the next background message, the
 * background stream walks every area and skips zero pages (the
 * destination's untouched pages read zeros once its uffds close).  Pages
 * are read through /proc/PID/mem: process_vm_readv would pin them and
 * unshare what the tree shares copy-on-write.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <endian.h>
#include <unistd.h>
#include <sys/uio.h>

#define LOG_PREFIX "mig/lazy-src: "
#include "log.h"
#include "error.h"
#include "img/chan.h"
#include "mig/proto.h"

#define CHUNK (MIG_PAGES_MAX * MIG_PAGE_SZ)

struct lazy_area {
	pid_t pid;
	uint32_t key;
	uint64_t start, end;
	int mem_fd; /* /proc/PID/mem, shared by the areas of one process */
};

struct lazy_src {
	struct lazy_area *a;
	size_t n;
	uint8_t *buf; /* CHUNK */
};

int lazy_src_new(struct lazy_src **out)
{
	struct lazy_src *ls = calloc(1, sizeof(*ls));

	if (!ls)
		return -ENOMEM;
	ls->buf = malloc(CHUNK);
	if (!ls->buf) {
		free(ls);
		return -ENOMEM;
	}
	*out = ls;
	return 0;
}

int lazy_src_add(void *arg, pid_t pid, uint32_t key, uint64_t start, uint64_t end)
{
	struct lazy_src *ls = arg;
	struct lazy_area *a;
	char path[64];
	size_t i;

	a = realloc(ls->a, (ls->n + 1) * sizeof(*a));
	if (!a)
		return -ENOMEM;
	ls->a = a;
	a = &ls->a[ls->n];
	*a = (struct lazy_area){ pid, key, start, end, -1 };
	for (i = 0; i < ls->n; i++)
		if (ls->a[i].pid == pid)
			a->mem_fd = dup(ls->a[i].mem_fd);
	if (a->mem_fd < 0) {
		snprintf(path, sizeof(path), "/proc/%d/mem", pid);
		a->mem_fd = open(path, O_RDONLY | O_CLOEXEC);
	}
	if (a->mem_fd < 0) {
		pr_perror("pid %d: cannot open its memory for post-copy", pid);
		return -errno;
	}
	ls->n++;
	return 0;
}

size_t lazy_src_areas(const struct lazy_src *ls)
{
	return ls ? ls->n : 0;
}

void lazy_src_free(struct lazy_src *ls)
{
	size_t i;

	if (!ls)
		return;
	for (i = 0; i < ls->n; i++)
		close(ls->a[i].mem_fd);
	free(ls->a);
	free(ls->buf);
	free(ls);
}

/* Reads len bytes at addr of area a into ls->buf. */
static int read_area(struct lazy_src *ls, const struct lazy_area *a, uint64_t addr, size_t len)
{
	size_t done = 0;
	ssize_t r;

	while (done < len) {
		r = pread(a->mem_fd, ls->buf + done, len - done, (off_t)(addr + done));
		if (r <= 0) {
			pr_err("pid %d: cannot read its memory at %#llx: %s\n", a->pid,
			       (unsigned long long)(addr + done), r ? strerror(errno) : "EOF");
			return r ? -errno : -EIO;
		}
		done += (size_t)r;
	}
	return 0;
}

static int send_run(struct chan *c, uint32_t key, uint64_t addr, const uint8_t *p, size_t len)
{
	struct mig_pages h = { htole64(addr), htole32(key), 0 };
	struct iovec iov[2] = { { &h, sizeof(h) }, { (void *)p, len } };

	return chan_sendv(c, MIG_PAGES, iov, 2);
}

static bool page_zero(const uint8_t *p)
{
	const uint64_t *w = (const uint64_t *)p;
	size_t i;

	for (i = 0; i < MIG_PAGE_SZ / 8; i++)
		if (w[i])
			return false;
	return true;
}

/* A LAZY_REQ: the pages asked for, zero or not, in one message. */
static int answer(struct lazy_src *ls, struct chan *c, const void *buf, size_t len,
		  struct lazy_src_stats *st)
{
	const struct mig_lazy_req *q = buf;
	uint64_t addr, n;
	uint32_t key;
	size_t i;
	int ret;

	if (len != sizeof(*q)) {
		pr_err("a LAZY_REQ of %zu bytes, not %zu\n", len, sizeof(*q));
		return -EPROTO;
	}
	addr = le64toh(q->addr);
	n = le64toh(q->len);
	key = le32toh(q->key);
	for (i = 0; i < ls->n; i++)
		if (ls->a[i].key == key && addr >= ls->a[i].start && addr < ls->a[i].end)
			break;
	if (i == ls->n || addr % MIG_PAGE_SZ || !n || n % MIG_PAGE_SZ || n > CHUNK ||
	    n > ls->a[i].end - addr) {
		pr_err("the destination asked for pages %#llx+%#llx of process %u: not lazy\n",
		       (unsigned long long)addr, (unsigned long long)n, key);
		return -EPROTO;
	}
	ret = read_area(ls, &ls->a[i], addr, n);
	ret = ret ?: send_run(c, key, addr, ls->buf, n);
	st->reqs++;
	st->req_pages += n / MIG_PAGE_SZ;
	return ret;
}

/* One background message's worth of area *ai from *pos on. */
static int stream_some(struct lazy_src *ls, struct chan *c, size_t *ai, uint64_t *pos,
		       struct lazy_src_stats *st)
{
	const struct lazy_area *a = &ls->a[*ai];
	size_t len = a->end - *pos < CHUNK ? a->end - *pos : CHUNK, p, run = 0;
	uint64_t addr = *pos;
	int ret;

	ret = read_area(ls, a, addr, len);
	for (p = 0; !ret && p <= len; p += MIG_PAGE_SZ) {
		if (p < len && !page_zero(ls->buf + p)) {
			run += MIG_PAGE_SZ;
			continue;
		}
		if (run) {
			ret = send_run(c, a->key, addr + p - run, ls->buf + p - run, run);
			st->bg_pages += run / MIG_PAGE_SZ;
		}
		run = 0;
	}
	*pos += len;
	if (*pos >= a->end && ++*ai < ls->n)
		*pos = ls->a[*ai].start;
	return ret;
}

/* Is a message waiting (its first byte here)?  Reads are exact. */
static bool msg_waiting(struct chan *c)
{
	struct pollfd p = { .fd = chan_fd(c), .events = POLLIN };

	return poll(&p, 1, 0) > 0;
}

int lazy_src_serve(struct lazy_src *ls, struct chan *c, struct mig_done *done,
		   struct lazy_src_stats *st)
{
	static const uint8_t want[] = { MIG_LAZY_REQ, MIG_DONE, 0 };
	uint64_t pos = ls->n ? ls->a[0].start : 0;
	bool sent_done = false;
	const void *buf;
	size_t ai = 0, len;
	uint8_t type;
	int ret = 0;

	memset(st, 0, sizeof(*st));
	while (!ret) {
		if (!sent_done && ai < ls->n && !msg_waiting(c)) {
			ret = stream_some(ls, c, &ai, &pos, st);
			continue;
		}
		if (!sent_done && ai >= ls->n) {
			ret = chan_send(c, MIG_LAZY_DONE, NULL, 0);
			sent_done = true;
			continue;
		}
		ret = mig_expect(c, "post-copy", want, &type, &buf, &len);
		if (ret)
			break;
		if (type == MIG_DONE) {
			if (!sent_done || len != sizeof(*done)) {
				pr_err("post-copy: a DONE %s\n",
				       sent_done ? "of the wrong size" : "before every page went");
				return -EPROTO;
			}
			memcpy(done, buf, sizeof(*done));
			return 0;
		}
		if (!sent_done) /* after LAZY_DONE a fault reads zeros there */
			ret = answer(ls, c, buf, len, st);
	}
	return ret;
}
