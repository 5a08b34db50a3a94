/*
 * Image sinks and sources: where the writer puts an image's bytes and where
 * the reader takes them from (a file, pipe or socket fd, a memory buffer;
 * later a migration channel or a page server).  The writer and the reader
 * know nothing else of their ends, so a new kind of end is one more ops
 * table here, not a change to dump.c, restore.c, writer.c or reader.c.
 *
 * Threads: the writer calls its sink from one thread at a time (the caller,
 * or its writer thread while the caller fills the next chunk); the reader
 * calls its source from one thread at a time (the caller, or the
 * decompression pool's reader thread).  An implementation needs no lock.
 */
#ifndef VXCR_IMG_STREAM_H
#define VXCR_IMG_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#define IMG_STREAM_NAME_LEN 64
#define IMG_STREAM_MSG_LEN 192

struct img_sink;
struct img_source;

struct img_sink_ops {
	/*
	 * Writes some of iov[0..cnt) in order: bytes written (may be short,
	 * but not 0 for a non-empty iov), or -errno.  Blocks until it can
	 * write (a non-blocking fd is polled).  Required.
	 */
	ssize_t (*writev)(struct img_sink *s, const struct iovec *iov, int cnt);
	/*
	 * Makes what was written durable at its destination (a regular file:
	 * fsync; a channel: the peer has it): 0 or -errno.  NULL: nothing to
	 * do.
	 */
	int (*sync)(struct img_sink *s);
	/* Frees what the sink owns (never a borrowed fd).  NULL: free(s). */
	void (*release)(struct img_sink *s);
};

/* An end the image is written to.  Embed it first in an implementation. */
struct img_sink {
	const struct img_sink_ops *ops;
	char name[IMG_STREAM_NAME_LEN];	 /* in messages: "pipe (fd 4)" */
	uint64_t bytes;			 /* written so far */
	int err;			 /* first write error, sticky */
	char errmsg[IMG_STREAM_MSG_LEN]; /* "write to NAME: why", or "" */
};

/* Where a source's bytes come from, for the restore of a busy pid. */
#define IMG_SOURCE_LIVE \
	(1u << 0) /* still being written (pipe,
						 * socket, channel): the rest
						 * comes later, never rewound */
#define IMG_SOURCE_BLOCKS \
	(1u << 1) /* a read may wait: the pool's
						 * reader passes a cancel fd */

struct img_source_ops {
	/*
	 * Reads up to n bytes: count, 0 at the end, or -errno.  Blocks until
	 * at least one byte or the end; with cancel_fd >= 0 it gives up with
	 * -ECANCELED once cancel_fd is readable (an eventfd of the reader's
	 * pool, which stops).  Required.
	 */
	ssize_t (*read)(struct img_source *s, void *buf, size_t n, int cancel_fd);
	/*
	 * The next n bytes, left for the next read (also of another reader of
	 * the same fd): 0, -ENODATA (the source ends first), -ESPIPE (cannot
	 * peek), or -errno.  NULL: -ESPIPE.
	 */
	int (*peek)(struct img_source *s, void *buf, size_t n);
	/* Frees what the source owns (never a borrowed fd).  NULL: free(s). */
	void (*release)(struct img_source *s);
};

/* An end the image is read from.  Embed it first in an implementation. */
struct img_source {
	const struct img_source_ops *ops;
	char name[IMG_STREAM_NAME_LEN]; /* in messages: "pipe (fd 0)" */
	unsigned flags;			/* IMG_SOURCE_* */
};

/* ---- sinks ---- */

/*
 * A sink on fd (borrowed: never closed).  name NULL: named after what fd
 * is, "file (fd 3)", "pipe (fd 1)", "socket (fd 5)", "fd 7".  sync fsyncs
 * a regular file.  Returns 0 or -ENOMEM; on success *out owns the sink.
 */
int img_sink_fd(int fd, const char *name, struct img_sink **out);
/* What fd is, for names: "file", "pipe", "socket", "device", or NULL
 * (unknown, or fstat failed); *mode receives its st_mode (0 on failure). */
const char *img_fd_kind(int fd, mode_t *mode);
/*
 * A sink into a growing memory buffer (mremap: no copy as it grows), up to
 * limit bytes (0: no limit; past it writes fail with -ENOSPC).  Returns 0
 * or -ENOMEM; on success *out owns the sink.
 */
int img_sink_mem(size_t limit, struct img_sink **out);
/* The bytes of a memory sink so far, valid until the next write or free. */
const void *img_sink_mem_data(const struct img_sink *s, size_t *len);

/* Writes all of iov[0..cnt) (modified) across short writes: 0 or -errno,
 * which sticks and is described in s->errmsg.  Logged once. */
int img_sink_writev_all(struct img_sink *s, struct iovec *iov, int cnt);
int img_sink_write_all(struct img_sink *s, const void *buf, size_t len);
/* s->ops->sync, if any: 0 or -errno (described in s->errmsg, logged). */
int img_sink_sync(struct img_sink *s);
void img_sink_free(struct img_sink *s);

/* ---- sources ---- */

/*
 * A source on fd (borrowed: never closed), named as img_sink_fd() names.
 * A regular file is read without poll; a pipe or socket (or anything that
 * cannot seek) is IMG_SOURCE_LIVE and IMG_SOURCE_BLOCKS; peek is pread at
 * the offset, tee(2) for a pipe, MSG_PEEK for a socket.  Returns 0 or
 * -ENOMEM; on success *out owns the source.
 */
int img_source_fd(int fd, const char *name, struct img_source **out);
/* A source over len bytes at data (borrowed: they must outlive it).
 * Returns 0 or -ENOMEM; on success *out owns the source. */
int img_source_mem(const void *data, size_t len, struct img_source **out);
/*
 * A memory source's next n bytes in place, consumed (no copy): NULL if
 * fewer remain, or s is not a memory source.
 */
const void *img_source_mem_take(struct img_source *s, size_t n);

/* Reads exactly len bytes: 0, -ENODATA (the source ended first), -errno. */
int img_source_read_all(struct img_source *s, void *buf, size_t len);
/* s->ops->peek, or -ESPIPE without one. */
int img_source_peek(struct img_source *s, void *buf, size_t n);
void img_source_free(struct img_source *s);

#endif
