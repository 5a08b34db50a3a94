/*
 * Unit tests of the image stream beyond one frame: multi-frame images, the
 * compression and decompression pools and the uncompressed writer thread
 * against the single-threaded paths, write errors and early stops with
 * threads running, and images through pipes.
 */
#include "img-test.h"
#include "task.pb-c.h"

/* A small protobuf record interleaved with the page records. */
static uint32_t groups[2] = { 4, 27 };
static CredsEntry creds = CREDS_ENTRY__INIT;

static void build_creds(void)
{
	creds.has_uid = creds.has_gid = creds.has_cap_eff = true;
	creds.uid = 1000;
	creds.gid = 1000;
	creds.cap_eff = 0x3fffffffffull;
	creds.groups = groups;
	creds.n_groups = 2;
}

/* More than 2 frames of pages; arg: number of 4 MiB page records. */
static int write_big(struct img_writer *w, void *arg)
{
	size_t len = 4u << 20, i, nrec = *(size_t *)arg;
	uint8_t *data = malloc(len);
	struct img_pages_prefix pp = { .mm_id = 7 };
	int ret = 0;

	if (!data)
		return -ENOMEM;
	for (i = 0; i < nrec && !ret; i++) {
		fill_pattern(data, len, i);
		pp.addr = i * len;
		ret = img_write_msg(w, IMG_REC_CREDS, &creds.base);
		if (!ret)
			ret = img_write_raw2(w, IMG_REC_PAGES, 0, &pp, sizeof(pp), data, len);
	}
	free(data);
	return ret;
}

/* Counts the zstd frames of a compressed image's body. */
static int count_frames(const struct buf *img)
{
	size_t off = body_start(img), fl;
	int n = 0;

	while (off < img->len) {
		fl = ZSTD_findFrameCompressedSize(img->p + off, img->len - off);
		if (ZSTD_isError(fl))
			return -1;
		off += fl;
		n++;
	}
	return n;
}

/* Writes a multi-frame image with threads and checks it reads back. */
static struct buf multiframe(int threads)
{
	size_t nrec = 3, got = 0;
	struct buf img = make_image(true, threads, write_big, &nrec);
	uint8_t *want = malloc(4u << 20);
	struct img_reader *r;
	struct img_record rec;
	int fd, ret;

	CU_ASSERT(count_frames(&img) >= 3);
	fd = memfd_with(img.p, img.len);
	CU_ASSERT_FATAL(img_reader_open(fd, &r) == 0);
	while ((ret = img_read_record(r, &rec)) == 1) {
		if (rec.type != IMG_REC_PAGES)
			continue;
		fill_pattern(want, 4u << 20, got);
		CU_ASSERT_EQUAL(rec.length, 16 + (4u << 20));
		CU_ASSERT(!memcmp((uint8_t *)rec.payload + 16, want, 4u << 20));
		got++;
	}
	CU_ASSERT_EQUAL(ret, 0);
	CU_ASSERT_EQUAL(got, nrec);
	CU_ASSERT_EQUAL(img_reader_raw_bytes(r), img.len);
	img_reader_free(r);
	close(fd);
	free(want);
	return img;
}

/* Caller's thread and two workers: same frames, byte for byte. */
static void test_multiframe(void)
{
	struct buf one = multiframe(1), two = multiframe(2);
	size_t off = body_start(&one);

	CU_ASSERT_EQUAL(count_frames(&one), count_frames(&two));
	CU_ASSERT_EQUAL(off, body_start(&two));
	CU_ASSERT_FATAL(one.len == two.len);
	CU_ASSERT(!memcmp(one.p + off, two.p + off, one.len - off));
	free(one.p);
	free(two.p);
}

/* Uncompressed, caller's thread and writer thread: the same bytes after
 * the header (which differs in id and time), over more chunks than are in
 * flight, and the image reads back. */
static void test_store_equals_sync(void)
{
	size_t nrec = 6;
	struct buf one = make_image(false, 1, write_big, &nrec);
	struct buf two = make_image(false, 2, write_big, &nrec);
	size_t off = body_start(&one);
	uint64_t n;

	CU_ASSERT(one.len > nrec * (4u << 20));
	CU_ASSERT_EQUAL(off, body_start(&two));
	CU_ASSERT_FATAL(one.len == two.len);
	CU_ASSERT(!memcmp(one.p, two.p, IMG_MAGIC_LEN + 8));
	CU_ASSERT(!memcmp(one.p + off, two.p + off, one.len - off));
	CU_ASSERT_EQUAL(read_image(two.p, two.len, &n, NULL, 0), 0);
	CU_ASSERT_EQUAL(n, 2 * nrec);
	free(one.p);
	free(two.p);
}

/* Result of reading an image with some decompression threads. */
struct read_result {
	int ret;
	uint64_t n;
	uint32_t digest;
	char msg[256];
};

static struct read_result read_with(const struct buf *img, size_t len, int threads)
{
	struct read_result res;

	read_threads = threads;
	res.ret = read_image(img->p, len, &res.n, res.msg, sizeof(res.msg));
	res.digest = last_digest;
	read_threads = 0;
	return res;
}

/* Reading through the pool gives what the caller's thread alone gives. */
static bool same_result(const struct buf *img, size_t len, int threads)
{
	struct read_result one = read_with(img, len, 1), many;

	many = read_with(img, len, threads);
	if (one.ret == many.ret && one.n == many.n && one.digest == many.digest &&
	    !strcmp(one.msg, many.msg))
		return true;
	fprintf(stderr, "\n%zu of %zu bytes: %d %llu \"%s\" vs %d threads: %d %llu \"%s\"\n",
		len, img->len, one.ret, (unsigned long long)one.n, one.msg, threads,
		many.ret, (unsigned long long)many.n, many.msg);
	return false;
}

/* Cuts and flips of a multi-frame image: through the pool exactly the
 * records, errors and messages of the caller's thread alone. */
static void test_pool_equals_sync(void)
{
	size_t nrec = 3, body, cut, off, fl, i;
	struct buf img = make_image(true, 2, write_big, &nrec);
	struct read_result ok;
	int bad = 0;

	CU_ASSERT_FATAL(count_frames(&img) >= 3);
	ok = read_with(&img, img.len, 2);
	CU_ASSERT_EQUAL(ok.ret, 0);
	CU_ASSERT_EQUAL(ok.n, 2 * nrec);
	bad += !same_result(&img, img.len, 0);	/* automatic */
	bad += !same_result(&img, img.len, 2);
	bad += !same_result(&img, img.len, 3);
	/* cuts around each frame boundary and inside frames */
	body = body_start(&img);
	for (off = body; off < img.len; off += fl) {
		fl = ZSTD_findFrameCompressedSize(img.p + off, img.len - off);
		CU_ASSERT_FATAL(!ZSTD_isError(fl));
		for (cut = off > 8 ? off - 8 : 0; cut < off + 8 && cut <= img.len; cut++)
			bad += !same_result(&img, cut, 2);
		for (i = 1; i < 8; i++)
			bad += !same_result(&img, off + fl * i / 8, 2);
	}
	/* flips in block headers and data, the last frame's end */
	for (i = body; i < img.len; i += img.len / 97) {
		img.p[i] ^= 0x5a;
		bad += !same_result(&img, img.len, 2);
		img.p[i] ^= 0x5a;
	}
	for (i = img.len - 12; i < img.len; i++) {
		img.p[i] ^= 0x01;
		bad += !same_result(&img, img.len, 2);
		img.p[i] ^= 0x01;
	}
	CU_ASSERT_EQUAL(bad, 0);
	free(img.p);
}

struct part_writer {
	int fd;
	const uint8_t *data;
	size_t len;
};

/* Writes part of an image to a pipe and leaves it open. */
static void *part_writer_main(void *arg)
{
	struct part_writer *pw = arg;
	size_t off = 0;
	ssize_t n;

	while (off < pw->len && (n = write(pw->fd, pw->data + off, pw->len - off)) > 0)
		off += n;
	return NULL;
}

/* The consumer stops early: freeing the reader stops the pool, also while
 * its reader thread waits on a pipe that stays open. */
static void test_pool_stop_early(void)
{
	size_t nrec = 4;
	struct buf img = make_image(true, 2, write_big, &nrec);
	struct img_reader *r;
	struct img_record rec;
	struct part_writer pw;
	pthread_t th;
	int fd, p[2], i;

	alarm(60);		/* a hang kills the test run */
	for (i = 0; i < 4; i++) {
		fd = memfd_with(img.p, img.len);
		CU_ASSERT_FATAL(img_reader_open(fd, &r) == 0);
		CU_ASSERT_EQUAL(img_reader_set_threads(r, i ? i + 1 : 0), 0);
		CU_ASSERT_EQUAL(img_read_record(r, &rec), 1);
		if (i)
			CU_ASSERT_EQUAL(img_read_record(r, &rec), 1);
		CU_ASSERT_EQUAL(rec.type, i ? IMG_REC_PAGES : IMG_REC_CREDS);
		img_reader_free(r);
		close(fd);
	}
	/* the first frame and a half in a pipe whose write end stays open */
	CU_ASSERT_FATAL(pipe(p) == 0);
	pw.fd = p[1];
	pw.data = img.p;
	pw.len = body_start(&img);
	pw.len += ZSTD_findFrameCompressedSize(img.p + pw.len, img.len - pw.len);
	pw.len += 100000;
	CU_ASSERT_FATAL(pthread_create(&th, NULL, part_writer_main, &pw) == 0);
	CU_ASSERT_FATAL(img_reader_open(p[0], &r) == 0);
	CU_ASSERT_EQUAL(img_reader_set_threads(r, 2), 0);
	CU_ASSERT_EQUAL(img_read_record(r, &rec), 1);
	pthread_join(th, NULL);
	usleep(10000);		/* the reader thread now waits for more */
	img_reader_free(r);
	alarm(0);
	close(p[0]);
	close(p[1]);
	free(img.p);
}

/* Reads a little of the image, then closes the read end. */
static void *early_closer_main(void *arg)
{
	int fd = *(int *)arg;
	static char buf[64 << 10];
	size_t total = 0;
	ssize_t n;

	while (total < (256u << 10) && (n = read(fd, buf, sizeof(buf))) > 0)
		total += n;
	close(fd);
	return NULL;
}

/* The reader goes away midway: the error comes back, sticky, no hang;
 * compressing on workers, or uncompressed through the writer thread. */
static void write_error_threads(bool compress)
{
	struct img_write_opts o = { .compress = compress, .threads = 2, .level = -5 };
	struct img_writer *w;
	size_t nrec = 16;
	pthread_t th;
	int p[2], ret;

	CU_ASSERT_FATAL(pipe(p) == 0);
	CU_ASSERT_FATAL(pthread_create(&th, NULL, early_closer_main, &p[0]) == 0);
	alarm(60);		/* a hang kills the test run */
	CU_ASSERT_FATAL(img_writer_open(p[1], &o, &w) == 0);
	ret = write_big(w, &nrec);
	if (!ret)
		ret = img_writer_finish(w);
	CU_ASSERT_EQUAL(ret, -EPIPE);
	CU_ASSERT_EQUAL(img_write_raw(w, IMG_REC_PIPE_DATA, 0, "x", 1), -EPIPE);
	CU_ASSERT_EQUAL(img_writer_finish(w), -EPIPE);
	img_writer_free(w);
	alarm(0);
	pthread_join(th, NULL);
	close(p[1]);
}

static void test_write_error_threads(void)
{
	write_error_threads(true);
}

static void test_write_error_store(void)
{
	write_error_threads(false);
}

/* Freeing a threaded writer before finish stops its workers. */
static void test_free_unfinished(void)
{
	struct img_write_opts o = { .compress = true, .threads = 3 };
	struct img_writer *w;
	size_t nrec = 5;
	int fd = memfd_with(NULL, 0);

	CU_ASSERT_FATAL(img_writer_open(fd, &o, &w) == 0);
	CU_ASSERT_EQUAL(write_big(w, &nrec), 0);
	img_writer_free(w);
	o.compress = false;	/* the writer thread of an uncompressed image */
	CU_ASSERT_FATAL(img_writer_open(fd, &o, &w) == 0);
	CU_ASSERT_EQUAL(write_big(w, &nrec), 0);
	img_writer_free(w);
	o.threads = -1;
	CU_ASSERT_EQUAL(img_writer_open(fd, &o, &w), -EINVAL);
	close(fd);
}

struct pipe_writer {
	int fd;
	bool compress;
	int ret;
};

static void *pipe_writer_main(void *arg)
{
	struct pipe_writer *pw = arg;
	struct img_write_opts o = { .compress = pw->compress };
	struct img_writer *w;
	size_t nrec = 2;

	pw->ret = img_writer_open(pw->fd, &o, &w);
	if (!pw->ret)
		pw->ret = write_big(w, &nrec);
	if (!pw->ret)
		pw->ret = img_writer_finish(w);
	img_writer_free(w);
	close(pw->fd);
	return NULL;
}

/* Writer and reader on the two ends of a pipe: no seeking, short reads. */
static void through_pipe(bool compress)
{
	struct pipe_writer pw = { .compress = compress };
	struct img_reader *r = NULL;
	struct img_record rec;
	pthread_t th;
	int p[2], ret, pages = 0;

	CU_ASSERT_FATAL(pipe(p) == 0);
	pw.fd = p[1];
	CU_ASSERT_FATAL(pthread_create(&th, NULL, pipe_writer_main, &pw) == 0);
	ret = img_reader_open(p[0], &r);
	CU_ASSERT_EQUAL(ret, 0);
	while (!ret && (ret = img_read_record(r, &rec)) == 1) {
		pages += rec.type == IMG_REC_PAGES;
		ret = 0;
	}
	CU_ASSERT_EQUAL(ret, 0);
	if (ret)
		fprintf(stderr, "\nret %d: %s\n", ret, !r ? img_last_open_error() :
			img_reader_error(r));
	CU_ASSERT_EQUAL(pages, 2);
	close(p[0]);	/* unblocks the writer if reading failed */
	pthread_join(th, NULL);
	CU_ASSERT_EQUAL(pw.ret, 0);
	img_reader_free(r);
}

static void test_pipe_plain(void)
{
	through_pipe(false);
}

static void test_pipe_zstd(void)
{
	through_pipe(true);
}

int main(void)
{
	CU_pSuite s;
	unsigned fails;

	signal(SIGPIPE, SIG_IGN);
	build_creds();
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	s = CU_add_suite("streams", NULL, NULL);
	CU_add_test(s, "multi-frame zstd", test_multiframe);
	CU_add_test(s, "decompression pool equals one thread", test_pool_equals_sync);
	CU_add_test(s, "decompression pool, consumer stops early", test_pool_stop_early);
	CU_add_test(s, "uncompressed writer thread equals one thread",
		    test_store_equals_sync);
	CU_add_test(s, "write error with workers", test_write_error_threads);
	CU_add_test(s, "write error with the writer thread", test_write_error_store);
	CU_add_test(s, "free before finish", test_free_unfinished);
	CU_add_test(s, "pipe plain", test_pipe_plain);
	CU_add_test(s, "pipe zstd", test_pipe_zstd);

	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	fails = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
	CU_cleanup_registry();
	return fails ? 1 : 0;
}
