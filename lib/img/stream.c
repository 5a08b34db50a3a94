/*
 * Image sinks and sources (stream.h): on an fd (file, pipe, socket) and in
 * memory.  The writer (writer.c, zpool.c) and the reader (reader.c,
 * zread.c) reach their ends only through these.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>

#define LOG_PREFIX "img: "
#include "log.h"
#include "img/stream.h"
#include "util/cleanup.h"

#define MEM_SINK_MIN (1u << 20)	 /* first mapping of a memory sink */
#define MEM_SINK_HUGE (4u << 20) /* a mapping this big asks for huge pages */

/* ---- fds ---- */

struct fd_sink {
	struct img_sink s;
	int fd;
	bool regular;
};

struct fd_source {
	struct img_source s;
	int fd;
};

const char *img_fd_kind(int fd, mode_t *mode)
{
	struct stat st;

	*mode = 0;
	if (fstat(fd, &st))
		return NULL;
	*mode = st.st_mode;
	return S_ISREG(st.st_mode)  ? "file" :
	       S_ISFIFO(st.st_mode) ? "pipe" :
	       S_ISSOCK(st.st_mode) ? "socket" :
	       S_ISCHR(st.st_mode)  ? "device" :
				      NULL;
}

/* Names fd after what it is, or copies name. */
static void fd_name(char *dst, int fd, const char *name, mode_t *mode)
{
	const char *kind = img_fd_kind(fd, mode);

	if (name)
		snprintf(dst, IMG_STREAM_NAME_LEN, "%s", name);
	else if (kind)
		snprintf(dst, IMG_STREAM_NAME_LEN, "%s (fd %d)", kind, fd);
	else
		snprintf(dst, IMG_STREAM_NAME_LEN, "fd %d", fd);
}

/* Waits until fd is ready for events, or cancel_fd (if >= 0) is readable
 * (-ECANCELED).  Returns 0 or -errno. */
static int wait_fd(int fd, short events, int cancel_fd)
{
	struct pollfd p[2] = { { .fd = fd, .events = events },
			       { .fd = cancel_fd, .events = POLLIN } };

	for (;;) {
		if (poll(p, cancel_fd >= 0 ? 2 : 1, -1) >= 0)
			break;
		if (errno != EINTR)
			return -errno;
	}
	return cancel_fd >= 0 && p[1].revents ? -ECANCELED : 0;
}

static ssize_t fd_sink_writev(struct img_sink *s, const struct iovec *iov, int cnt)
{
	struct fd_sink *f = (struct fd_sink *)s;
	ssize_t n;
	int ret;

	for (;;) {
		n = writev(f->fd, iov, cnt);
		if (n >= 0)
			return n;
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN)
			return -errno;
		ret = wait_fd(f->fd, POLLOUT, -1);
		if (ret)
			return ret;
	}
}

/* A regular file is on disk (The output file of vxdump, NOTES); nothing
 * else can be synced. */
static int fd_sink_sync(struct img_sink *s)
{
	struct fd_sink *f = (struct fd_sink *)s;

	if (f->regular && fsync(f->fd))
		return -errno;
	return 0;
}

static const struct img_sink_ops fd_sink_ops = {
	.writev = fd_sink_writev,
	.sync = fd_sink_sync,
};

int img_sink_fd(int fd, const char *name, struct img_sink **out)
{
	struct fd_sink *f = calloc(1, sizeof(*f));
	mode_t mode;

	if (!f)
		return -ENOMEM;
	f->s.ops = &fd_sink_ops;
	f->fd = fd;
	fd_name(f->s.name, fd, name, &mode);
	f->regular = S_ISREG(mode);
	*out = &f->s;
	return 0;
}

static ssize_t fd_source_read(struct img_source *s, void *buf, size_t n, int cancel_fd)
{
	struct fd_source *f = (struct fd_source *)s;
	ssize_t got;
	int ret;

	for (;;) {
		if (cancel_fd >= 0 && (s->flags & IMG_SOURCE_BLOCKS)) {
			ret = wait_fd(f->fd, POLLIN, cancel_fd);
			if (ret)
				return ret;
		}
		got = read(f->fd, buf, n);
		if (got >= 0)
			return got;
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN)
			return -errno;
		ret = wait_fd(f->fd, POLLIN, cancel_fd);
		if (ret)
			return ret;
	}
}

/* Reads len bytes at off without moving the fd's offset: 0 or -errno. */
static int peek_pread(int fd, off_t off, void *buf, size_t len)
{
	size_t done = 0;
	ssize_t n;

	while (done < len) {
		n = pread(fd, (char *)buf + done, len - done, off + done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -ENODATA;
		done += n;
	}
	return 0;
}

/*
 * The first len bytes buffered in pipe fd, left in place (tee(2) into a
 * scratch pipe).  Waits until the writer has put len bytes in or gone.
 */
static int peek_pipe(int fd, void *buf, size_t len)
{
	_cleanup_close_ int rd = -1, wr = -1;
	struct timespec pause = { 0, 1000000 };
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	ssize_t n;
	int p[2];

	if (fcntl(fd, F_GETPIPE_SZ) < (int)len)
		return -ESPIPE; /* would never fit */
	if (pipe2(p, O_CLOEXEC))
		return -errno;
	rd = p[0];
	wr = p[1];
	if (fcntl(wr, F_SETPIPE_SZ, (int)len) < 0)
		return -errno;
	for (;;) {
		n = tee(fd, wr, len, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if ((size_t)n == len)
			return read(rd, buf, len) == (ssize_t)len ? 0 : -EIO;
		if (n == 0)
			return -ENODATA;
		/* short: drop the copy, and wait for more unless the writer is gone */
		if (read(rd, buf, len) != n)
			return -EIO;
		if (poll(&pfd, 1, 0) == 1 && (pfd.revents & POLLHUP))
			return -ENODATA;
		nanosleep(&pause, NULL);
	}
}

static int fd_source_peek(struct img_source *s, void *buf, size_t len)
{
	struct fd_source *f = (struct fd_source *)s;
	off_t off = lseek(f->fd, 0, SEEK_CUR);
	struct stat st;
	ssize_t n;

	if (off >= 0)
		return peek_pread(f->fd, off, buf, len);
	if (fstat(f->fd, &st))
		return -errno;
	if (S_ISFIFO(st.st_mode))
		return peek_pipe(f->fd, buf, len);
	if (!S_ISSOCK(st.st_mode))
		return -ESPIPE;
	do
		n = recv(f->fd, buf, len, MSG_PEEK | MSG_WAITALL);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -ENODATA;
}

static const struct img_source_ops fd_source_ops = {
	.read = fd_source_read,
	.peek = fd_source_peek,
};

int img_source_fd(int fd, const char *name, struct img_source **out)
{
	struct fd_source *f = calloc(1, sizeof(*f));
	mode_t mode;

	if (!f)
		return -ENOMEM;
	f->s.ops = &fd_source_ops;
	f->fd = fd;
	fd_name(f->s.name, fd, name, &mode);
	if (!S_ISREG(mode) && lseek(fd, 0, SEEK_CUR) < 0)
		f->s.flags = IMG_SOURCE_LIVE | IMG_SOURCE_BLOCKS;
	else if (!S_ISREG(mode))
		f->s.flags = IMG_SOURCE_BLOCKS; /* a device: poll anyway */
	*out = &f->s;
	return 0;
}

/* ---- memory ---- */

struct mem_sink {
	struct img_sink s;
	uint8_t *p;
	size_t len, cap, limit;
};

struct mem_source {
	struct img_source s;
	const uint8_t *p;
	size_t pos, len;
};

/* Grows the mapping to hold need bytes (mremap moves pages, not bytes). */
static int mem_sink_grow(struct mem_sink *m, size_t need)
{
	size_t cap = m->cap ? m->cap : MEM_SINK_MIN;
	void *p;

	while (cap < need)
		cap *= 2;
	if (m->p)
		p = mremap(m->p, m->cap, cap, MREMAP_MAYMOVE);
	else
		p = mmap(NULL, cap, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return -ENOMEM;
	/* huge pages where the kernel has them: a big spool's first touch
	 * (vxdump | vxrestore -) is 512 times fewer faults */
	if (cap >= MEM_SINK_HUGE)
		madvise(p, cap, MADV_HUGEPAGE);
	m->p = p;
	m->cap = cap;
	return 0;
}

static ssize_t mem_sink_writev(struct img_sink *s, const struct iovec *iov, int cnt)
{
	struct mem_sink *m = (struct mem_sink *)s;
	size_t want = 0, total, n;
	int i, ret;

	for (i = 0; i < cnt; i++)
		want += iov[i].iov_len;
	total = want;
	if (m->limit && total > m->limit - m->len)
		total = m->limit - m->len;
	if (!total)
		return want ? -ENOSPC : 0;
	if (m->len + total > m->cap) {
		ret = mem_sink_grow(m, m->len + total);
		if (ret)
			return ret;
	}
	for (i = 0, n = total; i < cnt && n; i++) {
		size_t c = iov[i].iov_len < n ? iov[i].iov_len : n;

		memcpy(m->p + m->len, iov[i].iov_base, c);
		m->len += c;
		n -= c;
	}
	return total;
}

static void mem_sink_release(struct img_sink *s)
{
	struct mem_sink *m = (struct mem_sink *)s;

	if (m->p)
		munmap(m->p, m->cap);
	free(m);
}

static const struct img_sink_ops mem_sink_ops = {
	.writev = mem_sink_writev,
	.release = mem_sink_release,
};

int img_sink_mem(size_t limit, struct img_sink **out)
{
	struct mem_sink *m = calloc(1, sizeof(*m));

	if (!m)
		return -ENOMEM;
	m->s.ops = &mem_sink_ops;
	m->limit = limit;
	snprintf(m->s.name, sizeof(m->s.name), "memory");
	*out = &m->s;
	return 0;
}

const void *img_sink_mem_data(const struct img_sink *s, size_t *len)
{
	const struct mem_sink *m = (const struct mem_sink *)s;

	if (s->ops != &mem_sink_ops) {
		*len = 0;
		return NULL;
	}
	*len = m->len;
	return m->p;
}

static ssize_t mem_source_read(struct img_source *s, void *buf, size_t n, int cancel_fd)
{
	struct mem_source *m = (struct mem_source *)s;

	if (n > m->len - m->pos)
		n = m->len - m->pos;
	memcpy(buf, m->p + m->pos, n);
	m->pos += n;
	return n;
}

static int mem_source_peek(struct img_source *s, void *buf, size_t n)
{
	struct mem_source *m = (struct mem_source *)s;

	if (n > m->len - m->pos)
		return -ENODATA;
	memcpy(buf, m->p + m->pos, n);
	return 0;
}

static const struct img_source_ops mem_source_ops = {
	.read = mem_source_read,
	.peek = mem_source_peek,
};

int img_source_mem(const void *data, size_t len, struct img_source **out)
{
	struct mem_source *m = calloc(1, sizeof(*m));

	if (!m)
		return -ENOMEM;
	m->s.ops = &mem_source_ops;
	m->p = data;
	m->len = len;
	snprintf(m->s.name, sizeof(m->s.name), "memory");
	*out = &m->s;
	return 0;
}

const void *img_source_mem_take(struct img_source *s, size_t n)
{
	struct mem_source *m = (struct mem_source *)s;
	const void *p;

	if (s->ops != &mem_source_ops || n > m->len - m->pos)
		return NULL;
	p = m->p + m->pos;
	m->pos += n;
	return p;
}

/* ---- common ---- */

/* Records the first error of s with a message naming it; logs it. */
static int sink_fail(struct img_sink *s, int err, const char *what)
{
	if (s->err)
		return s->err;
	s->err = err;
	snprintf(s->errmsg, sizeof(s->errmsg), "%s %s: %s", what, s->name, strerror(-err));
	pr_err("%s\n", s->errmsg);
	return err;
}

int img_sink_writev_all(struct img_sink *s, struct iovec *iov, int cnt)
{
	ssize_t n;

	if (s->err)
		return s->err;
	while (cnt && !iov->iov_len) {
		iov++;
		cnt--;
	}
	while (cnt) {
		n = s->ops->writev(s, iov, cnt);
		if (n <= 0)
			return sink_fail(s, n ? (int)n : -EIO, "cannot write to");
		s->bytes += n;
		while (cnt && (size_t)n >= iov->iov_len) {
			n -= iov->iov_len;
			iov++;
			cnt--;
		}
		if (cnt) {
			iov->iov_base = (char *)iov->iov_base + n;
			iov->iov_len -= n;
		}
	}
	return 0;
}

int img_sink_write_all(struct img_sink *s, const void *buf, size_t len)
{
	struct iovec iov = { (void *)buf, len };

	return img_sink_writev_all(s, &iov, 1);
}

int img_sink_sync(struct img_sink *s)
{
	int ret;

	if (s->err)
		return s->err;
	ret = s->ops->sync ? s->ops->sync(s) : 0;
	return ret ? sink_fail(s, ret, "sync of") : 0;
}

void img_sink_free(struct img_sink *s)
{
	if (!s)
		return;
	if (s->ops->release)
		s->ops->release(s);
	else
		free(s);
}

int img_source_read_all(struct img_source *s, void *buf, size_t len)
{
	uint8_t *p = buf;
	ssize_t n;

	while (len) {
		n = s->ops->read(s, p, len, -1);
		if (n < 0)
			return n;
		if (n == 0)
			return -ENODATA;
		p += n;
		len -= n;
	}
	return 0;
}

int img_source_peek(struct img_source *s, void *buf, size_t n)
{
	return s->ops->peek ? s->ops->peek(s, buf, n) : -ESPIPE;
}

void img_source_free(struct img_source *s)
{
	if (!s)
		return;
	if (s->ops->release)
		s->ops->release(s);
	else
		free(s);
}
