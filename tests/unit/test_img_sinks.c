/*
 * Unit tests of image sinks and sources (lib/img/stream.h): an image written
 * into memory reads back through memory, through a pipe and through a
 * source of short reads, the same records as the fd writer's image, with
 * compression on and off; sinks that write short, fail with EPIPE or run
 * out of space, and sources that fail or end early, surface their errors
 * with the sink's or source's name.
 */
#include "img-test.h"
#include "task.pb-c.h"

static CredsEntry creds = CREDS_ENTRY__INIT;

/* A protobuf record, a big page record over two frames, a small raw one. */
static int write_body(struct img_writer *w, void *arg)
{
	size_t len = (5u << 20) + 123;
	uint8_t *data = malloc(len);
	struct img_pages_prefix pp = { .mm_id = 3, .addr = 0x10000 };
	int ret;

	if (!data)
		return -ENOMEM;
	fill_pattern(data, len, 9);
	creds.has_uid = true;
	creds.uid = 1000;
	ret = img_write_msg(w, IMG_REC_CREDS, &creds.base);
	ret = ret ?: img_write_raw2(w, IMG_REC_PAGES, 0, &pp, sizeof(pp), data, len);
	ret = ret ?: img_write_raw(w, IMG_REC_PIPE_DATA, 0, data, 777);
	ret = ret ?: img_write_msg(w, IMG_REC_CREDS, &creds.base);
	free(data);
	return ret;
}

static struct img_write_opts wopts(bool compress, int threads)
{
	return (struct img_write_opts){ .compress = compress, .threads = threads, .root_pid = 42 };
}

/* Writes the body to sink; returns the writer's result. */
static int write_to(struct img_sink *sink, bool compress, int threads)
{
	struct img_write_opts o = wopts(compress, threads);
	struct img_writer *w;
	int ret;

	ret = img_writer_open_sink(sink, &o, &w);
	if (ret)
		return ret;
	ret = write_body(w, NULL);
	ret = ret ?: img_writer_finish(w);
	img_writer_free(w);
	return ret;
}

/* What reading an image gave: records, a digest of them, the end. */
struct got {
	int ret;
	uint64_t n;
	uint32_t digest;
	char msg[256];
};

/* Reads every record from src with threads decompression threads. */
static struct got read_from(struct img_source *src, int threads)
{
	struct got g = { 0 };
	struct img_reader *r;
	struct img_record rec;

	g.ret = img_reader_open_source(src, &r);
	if (g.ret) {
		snprintf(g.msg, sizeof(g.msg), "%s", img_last_open_error());
		return g;
	}
	CU_ASSERT_FATAL(img_reader_set_threads(r, threads) == 0);
	while ((g.ret = img_read_record(r, &rec)) == 1) {
		g.digest = crc32c(g.digest, &rec.type, sizeof(rec.type));
		g.digest = crc32c(g.digest, rec.payload, rec.length);
		g.n++;
	}
	snprintf(g.msg, sizeof(g.msg), "%s", img_reader_error(r));
	img_reader_free(r);
	return g;
}

static struct got read_mem(const void *p, size_t len, int threads)
{
	struct img_source *src;
	struct got g;

	CU_ASSERT_FATAL(img_source_mem(p, len, &src) == 0);
	g = read_from(src, threads);
	img_source_free(src);
	return g;
}

/* Peeks at the header of an image in a pipe, then reads it through an fd
 * source: the peek left every byte in place. */
static struct got read_pipe(const void *p, size_t len, int threads, ImgHeader **hdr)
{
	struct feeder f = { .p = p, .len = len };
	struct img_source *src;
	pthread_t th;
	struct got g;
	int fds[2];

	CU_ASSERT_FATAL(pipe(fds) == 0);
	f.fd = fds[1];
	CU_ASSERT_FATAL(pthread_create(&th, NULL, feeder_main, &f) == 0);
	CU_ASSERT_FATAL(img_source_fd(fds[0], NULL, &src) == 0);
	CU_ASSERT(src->flags & IMG_SOURCE_LIVE);
	CU_ASSERT(!strncmp(src->name, "pipe (fd ", 9));
	CU_ASSERT_EQUAL(img_peek_header(src, hdr), 0);
	g = read_from(src, threads);
	img_source_free(src);
	close(fds[0]);
	pthread_join(th, NULL);
	return g;
}

/* Memory sink against the fd writer, then memory, pipe and memfd sources:
 * the same body bytes, the same records. */
static void round_trip(bool compress, int threads)
{
	struct img_sink *sink;
	struct img_write_opts o = wopts(compress, threads);
	struct img_writer *w;
	struct buf m, f;
	struct got a, b, c;
	ImgHeader *h = NULL;
	const void *data;
	int fd = memfd_with(NULL, 0);

	CU_ASSERT_FATAL(img_sink_mem(0, &sink) == 0);
	CU_ASSERT_EQUAL_FATAL(write_to(sink, compress, threads), 0);
	data = img_sink_mem_data(sink, &m.len);
	m.p = (uint8_t *)data;
	CU_ASSERT_EQUAL(sink->bytes, m.len);
	CU_ASSERT_FATAL(img_writer_open(fd, &o, &w) == 0);
	CU_ASSERT_FATAL(write_body(w, NULL) == 0 && img_writer_finish(w) == 0);
	img_writer_free(w);
	f = slurp(fd);
	close(fd);
	/* the header differs in image id and time only */
	CU_ASSERT_FATAL(m.len == f.len && body_start(&m) == body_start(&f));
	CU_ASSERT(!memcmp(m.p + body_start(&m), f.p + body_start(&f), m.len - body_start(&m)));
	a = read_mem(m.p, m.len, 1);
	b = read_mem(m.p, m.len, 2);
	c = read_pipe(m.p, m.len, threads, &h);
	CU_ASSERT_EQUAL(a.ret, 0);
	CU_ASSERT_EQUAL(a.n, 4);
	CU_ASSERT(a.ret == b.ret && a.n == b.n && a.digest == b.digest);
	CU_ASSERT(a.ret == c.ret && a.n == c.n && a.digest == c.digest);
	CU_ASSERT_EQUAL(read_image(f.p, f.len, NULL, NULL, 0), 0);
	CU_ASSERT(a.digest == last_digest);
	CU_ASSERT_FATAL(h != NULL);
	CU_ASSERT_EQUAL(h->root_pid, 42);
	CU_ASSERT_EQUAL(h->compression,
			compress ? IMG_COMPRESSION__COMP_ZSTD : IMG_COMPRESSION__COMP_NONE);
	img_header__free_unpacked(h, NULL);
	free(f.p);
	img_sink_free(sink);
}

static void test_round_trip_plain(void)
{
	round_trip(false, 1);
	round_trip(false, 2);
}

static void test_round_trip_zstd(void)
{
	round_trip(true, 1);
	round_trip(true, 2);
}

/* ---- an error-injecting sink ---- */

enum fault { FAULT_SHORT, FAULT_EPIPE, FAULT_ENOSPC, FAULT_ZERO };

struct fault_sink {
	struct img_sink s;
	struct img_sink *inner; /* a memory sink */
	enum fault fault;
	size_t budget; /* bytes before the fault */
	unsigned calls;
};

/* SHORT: at most 1..7 bytes a call, all written; else budget bytes, then
 * the fault (a write of 0 bytes for ZERO). */
static ssize_t fault_writev(struct img_sink *s, const struct iovec *iov, int cnt)
{
	struct fault_sink *f = (struct fault_sink *)s;
	size_t n = iov[0].iov_len, room;

	f->calls++;
	if (f->fault == FAULT_SHORT) {
		n = n < 1 + f->calls % 7 ? n : 1 + f->calls % 7;
	} else {
		room = f->budget - f->inner->bytes;
		if (!room)
			return f->fault == FAULT_EPIPE	? -EPIPE :
			       f->fault == FAULT_ENOSPC ? -ENOSPC :
							  0;
		n = n < room ? n : room;
	}
	return img_sink_write_all(f->inner, iov[0].iov_base, n) ?: (ssize_t)n;
}

static void fault_release(struct img_sink *s)
{
	struct fault_sink *f = (struct fault_sink *)s;

	img_sink_free(f->inner);
	free(f);
}

static const struct img_sink_ops fault_ops = {
	.writev = fault_writev,
	.release = fault_release,
};

static struct fault_sink *fault_sink_new(enum fault fault, size_t budget)
{
	struct fault_sink *f = calloc(1, sizeof(*f));

	CU_ASSERT_FATAL(f != NULL);
	f->s.ops = &fault_ops;
	snprintf(f->s.name, sizeof(f->s.name), "fault sink");
	f->fault = fault;
	f->budget = budget;
	CU_ASSERT_FATAL(img_sink_mem(0, &f->inner) == 0);
	return f;
}

/* Short writes of a few bytes each: the image is whole and reads back. */
static void test_short_writes(void)
{
	struct fault_sink *f;
	const void *data;
	struct got g;
	size_t len;
	int i;

	for (i = 0; i < 4; i++) {
		f = fault_sink_new(FAULT_SHORT, 0);
		CU_ASSERT_EQUAL(write_to(&f->s, i & 1, i < 2 ? 1 : 2), 0);
		CU_ASSERT(f->calls > 1000);
		CU_ASSERT_STRING_EQUAL(f->s.errmsg, "");
		data = img_sink_mem_data(f->inner, &len);
		CU_ASSERT_EQUAL(len, f->s.bytes);
		g = read_mem(data, len, 0);
		CU_ASSERT_EQUAL(g.ret, 0);
		CU_ASSERT_EQUAL(g.n, 4);
		img_sink_free(&f->s);
	}
}

/* One failing write: the writer returns it, sticky, named after the sink. */
static void check_fault(struct img_sink *s, bool compress, int threads, int want, const char *msg)
{
	struct img_write_opts o = wopts(compress, threads);
	struct img_writer *w;
	int ret;

	ret = img_writer_open_sink(s, &o, &w);
	if (ret) { /* the preamble did not fit */
		CU_ASSERT_EQUAL(ret, want);
	} else {
		ret = write_body(w, NULL);
		ret = ret ?: img_writer_finish(w);
		CU_ASSERT_EQUAL(ret, want);
		CU_ASSERT_EQUAL(img_write_raw(w, IMG_REC_PIPE_DATA, 0, "x", 1), want);
		CU_ASSERT_EQUAL(img_writer_finish(w), want);
		CU_ASSERT_STRING_EQUAL(img_writer_error(w), msg);
		img_writer_free(w);
	}
	CU_ASSERT_STRING_EQUAL(s->errmsg, msg);
	CU_ASSERT_EQUAL(img_sink_write_all(s, "y", 1), want); /* sticky */
}

static void test_write_faults(void)
{
	static const size_t budgets[] = { 10, 4096, 1u << 20, 2u << 20 };
	struct img_sink *mem;
	struct fault_sink *f;
	unsigned i, j;

	for (i = 0; i < 4; i++) {
		for (j = 0; j < 4; j++) {
			f = fault_sink_new(FAULT_EPIPE, budgets[j]);
			check_fault(&f->s, i & 1, i < 2 ? 1 : 2, -EPIPE,
				    "cannot write to fault sink: Broken pipe");
			img_sink_free(&f->s);
			f = fault_sink_new(FAULT_ZERO, budgets[j]);
			check_fault(&f->s, i & 1, i < 2 ? 1 : 2, -EIO,
				    "cannot write to fault sink: Input/output error");
			img_sink_free(&f->s);
			CU_ASSERT_FATAL(img_sink_mem(budgets[j], &mem) == 0);
			check_fault(mem, i & 1, i < 2 ? 1 : 2, -ENOSPC,
				    "cannot write to memory: No space left on device");
			img_sink_free(mem);
		}
	}
}

/* An fd sink on a pipe whose reader is gone: EPIPE, named after the pipe. */
static void test_fd_sink_epipe(void)
{
	struct img_sink *s;
	char want[128];
	int p[2];

	CU_ASSERT_FATAL(pipe(p) == 0);
	close(p[0]);
	CU_ASSERT_FATAL(img_sink_fd(p[1], NULL, &s) == 0);
	snprintf(want, sizeof(want), "cannot write to pipe (fd %d): Broken pipe", p[1]);
	check_fault(s, true, 2, -EPIPE, want);
	CU_ASSERT_EQUAL(img_sink_sync(s), -EPIPE);
	img_sink_free(s);
	close(p[1]);
}

/* ---- sources that fail ---- */

struct fault_source {
	struct img_source s;
	const uint8_t *p;
	size_t pos, len; /* len: where the fault is */
	int err;	 /* at len: this, or 0 for the end */
	unsigned calls;
};

/* 1..13 bytes a read, up to len; there, err (or the end). */
static ssize_t fault_read(struct img_source *s, void *buf, size_t n, int cancel_fd)
{
	struct fault_source *f = (struct fault_source *)s;
	size_t step = 1 + f->calls++ % 13;

	if (f->pos == f->len)
		return f->err;
	n = n < step ? n : step;
	n = n < f->len - f->pos ? n : f->len - f->pos;
	memcpy(buf, f->p + f->pos, n);
	f->pos += n;
	return n;
}

static const struct img_source_ops fault_source_ops = { .read = fault_read };

static struct got read_fault(const struct buf *img, size_t len, int err)
{
	struct fault_source f = { .s.ops = &fault_source_ops, .p = img->p, .len = len, .err = err };

	snprintf(f.s.name, sizeof(f.s.name), "fault source");
	f.s.flags = IMG_SOURCE_LIVE;
	return read_from(&f.s, 2);
}

/* Short reads everywhere, then the end or an error at several places. */
static void test_source_faults(void)
{
	struct img_sink *sink;
	struct buf img;
	struct got g;
	size_t cut;
	int c;

	for (c = 0; c < 2; c++) {
		CU_ASSERT_FATAL(img_sink_mem(0, &sink) == 0);
		CU_ASSERT_FATAL(write_to(sink, c, 1) == 0);
		img.p = (uint8_t *)img_sink_mem_data(sink, &img.len);
		g = read_fault(&img, img.len, 0);
		CU_ASSERT_EQUAL(g.ret, 0);
		CU_ASSERT_EQUAL(g.n, 4);
		g = read_fault(&img, 10, 0);
		CU_ASSERT_EQUAL(g.ret, -ENODATA);
		CU_ASSERT_STRING_EQUAL(g.msg, "truncated image (or not an image)");
		for (cut = body_start(&img) + 5; cut < img.len; cut += img.len / 5) {
			g = read_fault(&img, cut, 0);
			CU_ASSERT_EQUAL(g.ret, -ENODATA);
			CU_ASSERT(strstr(g.msg, "truncated") != NULL);
			g = read_fault(&img, cut, -EIO);
			CU_ASSERT_EQUAL(g.ret, -EIO);
			CU_ASSERT(strstr(g.msg, "read: Input/output error") != NULL);
		}
		g = read_mem(img.p, img.len - 1, 0);
		CU_ASSERT(g.ret == -ENODATA || g.ret == -EBADMSG);
		img_sink_free(sink);
	}
}

/* Peeking: memory and a memfd leave the bytes, bad magic and short
 * sources are told apart, a source without peek cannot be peeked. */
static void test_peek(void)
{
	struct fault_source nopeek = { .s.ops = &fault_source_ops };
	struct img_sink *sink;
	struct img_source *src;
	ImgHeader *h;
	struct buf img;
	uint8_t *bad;
	int fd;

	CU_ASSERT_FATAL(img_sink_mem(0, &sink) == 0);
	CU_ASSERT_FATAL(write_to(sink, true, 1) == 0);
	img.p = (uint8_t *)img_sink_mem_data(sink, &img.len);
	CU_ASSERT_FATAL(img_source_mem(img.p, img.len, &src) == 0);
	CU_ASSERT_EQUAL(img_peek_header(src, &h), 0);
	img_header__free_unpacked(h, NULL);
	CU_ASSERT_EQUAL(read_from(src, 1).ret, 0);
	img_source_free(src);
	fd = memfd_with(img.p, img.len);
	CU_ASSERT_FATAL(img_source_fd(fd, NULL, &src) == 0);
	CU_ASSERT(!(src->flags & IMG_SOURCE_LIVE));
	CU_ASSERT_EQUAL(img_peek_header(src, &h), 0);
	img_header__free_unpacked(h, NULL);
	CU_ASSERT_EQUAL(read_from(src, 1).n, 4);
	img_source_free(src);
	close(fd);
	CU_ASSERT_FATAL(img_source_mem(img.p, 30, &src) == 0);
	CU_ASSERT_EQUAL(img_peek_header(src, &h), -ENODATA);
	img_source_free(src);
	bad = malloc(img.len);
	memcpy(bad, img.p, img.len);
	bad[0] ^= 1;
	CU_ASSERT_FATAL(img_source_mem(bad, img.len, &src) == 0);
	CU_ASSERT_EQUAL(img_peek_header(src, &h), -EBADMSG);
	CU_ASSERT_STRING_EQUAL(img_last_open_error(), "memory: not a vxcr image (bad magic)");
	img_source_free(src);
	bad[0] ^= 1;
	bad[body_start(&img) - 1] ^= 1; /* the header's crc */
	CU_ASSERT_FATAL(img_source_mem(bad, img.len, &src) == 0);
	CU_ASSERT_EQUAL(img_peek_header(src, &h), -EBADMSG);
	img_source_free(src);
	free(bad);
	snprintf(nopeek.s.name, sizeof(nopeek.s.name), "no peek");
	CU_ASSERT_EQUAL(img_peek_header(&nopeek.s, &h), -ESPIPE);
	img_sink_free(sink);
}

int main(void)
{
	CU_pSuite s;
	unsigned fails;

	signal(SIGPIPE, SIG_IGN);
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	s = CU_add_suite("sinks and sources", NULL, NULL);
	CU_add_test(s, "memory, pipe and fd round trip, plain", test_round_trip_plain);
	CU_add_test(s, "memory, pipe and fd round trip, zstd", test_round_trip_zstd);
	CU_add_test(s, "short writes", test_short_writes);
	CU_add_test(s, "write faults: EPIPE, 0 bytes, ENOSPC", test_write_faults);
	CU_add_test(s, "fd sink on a closed pipe", test_fd_sink_epipe);
	CU_add_test(s, "short reads, early end, read errors", test_source_faults);
	CU_add_test(s, "header peek", test_peek);

	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	fails = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
	CU_cleanup_registry();
	return fails ? 1 : 0;
}
