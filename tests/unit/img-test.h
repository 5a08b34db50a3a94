/*
 * Helpers shared by the image unit tests (test_img.c, test_img_streams.c):
 * images written into and read back from memfds.
 */
#ifndef VXCR_TEST_IMG_H
#define VXCR_TEST_IMG_H

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <CUnit/Basic.h>
#include <zstd.h>

#include "vxcr/vxcr.h"
#include "img/img.h"
#include "img/records.h"
#include "img/text.h"
#include "task.pb-c.h"
#include "mm.pb-c.h"
#include "files.pb-c.h"

#define PAGE 4096

struct buf {
	uint8_t *p;
	size_t len;
};

static inline int memfd_with(const void *data, size_t len)
{
	int fd = memfd_create("img", MFD_CLOEXEC);

	if (fd < 0)
		return -1;
	if (len && write(fd, data, len) != (ssize_t)len) {
		close(fd);
		return -1;
	}
	lseek(fd, 0, SEEK_SET);
	return fd;
}

static inline struct buf slurp(int fd)
{
	struct buf b = { NULL, 0 };
	off_t end = lseek(fd, 0, SEEK_END);

	b.p = malloc(end ? end : 1);
	b.len = end;
	if (pread(fd, b.p, end, 0) != end)
		b.len = 0;
	return b;
}

typedef int (*body_fn)(struct img_writer *w, void *arg);

/* Writes an image with body() into memory. */
static inline struct buf make_image(bool compress, int threads, body_fn body, void *arg)
{
	struct img_write_opts o = { .compress = compress, .threads = threads, .root_pid = 42 };
	struct img_writer *w;
	struct buf b = { NULL, 0 };
	int fd = memfd_with(NULL, 0);

	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_FATAL(img_writer_open(fd, &o, &w) == 0);
	CU_ASSERT_FATAL(body(w, arg) == 0);
	CU_ASSERT_FATAL(img_writer_finish(w) == 0);
	img_writer_free(w);
	b = slurp(fd);
	close(fd);
	return b;
}

/* Offset of the body in an image (after magic, version, header, crc). */
static inline size_t body_start(const struct buf *img)
{
	uint32_t hlen;

	memcpy(&hlen, img->p + IMG_MAGIC_LEN + 4, 4);
	return IMG_MAGIC_LEN + 8 + hlen + 4;
}

static uint32_t last_digest __attribute__((unused)); /* crc32c over the records read_image() read */
static int read_threads __attribute__((unused));     /* img_reader_set_threads() of read_image() */

/* Reads a whole image; returns 0, or the first error.  *n counts records. */
static inline int read_image(const void *data, size_t len, uint64_t *n, char *msg, size_t msglen)
{
	struct img_reader *r;
	struct img_record rec;
	int fd = memfd_with(data, len), ret;

	if (n)
		*n = 0;
	CU_ASSERT_FATAL(fd >= 0);
	ret = img_reader_open(fd, &r);
	if (ret) {
		if (msg)
			snprintf(msg, msglen, "%s", img_last_open_error());
		close(fd);
		return ret;
	}
	if (read_threads)
		CU_ASSERT_FATAL(img_reader_set_threads(r, read_threads) == 0);
	last_digest = 0;
	while ((ret = img_read_record(r, &rec)) == 1) {
		last_digest = crc32c(last_digest, &rec.type, sizeof(rec.type));
		last_digest = crc32c(last_digest, rec.payload, rec.length);
		if (n)
			(*n)++;
	}
	if (msg)
		snprintf(msg, msglen, "%s", img_reader_error(r));
	img_reader_free(r);
	close(fd);
	return ret;
}

static inline void fill_pattern(uint8_t *p, size_t len, uint32_t seed)
{
	size_t i;

	for (i = 0; i < len; i++) {
		seed = seed * 1103515245u + 12345u;
		p[i] = (i & 0x100) ? (uint8_t)(seed >> 16) : (uint8_t)(i * 7);
	}
}

/* A thread's job: write len bytes of p into the pipe fd, piece bytes a
 * write at most (0: as much as the pipe takes), then close fd. */
struct feeder {
	int fd;
	const uint8_t *p;
	size_t len;
	size_t piece;
};

static inline void *feeder_main(void *arg)
{
	struct feeder *f = arg;
	size_t off = 0, n;
	ssize_t w;

	while (off < f->len) {
		n = f->len - off;
		if (f->piece && n > f->piece)
			n = f->piece;
		w = write(f->fd, f->p + off, n);
		if (w <= 0)
			break;
		off += w;
	}
	close(f->fd);
	return NULL;
}

#endif
