/*
 * Unit tests of the raw-block zstd frames the writer makes without zstd
 * (lib/img/zframe.c): libzstd decodes them to the same bytes, block
 * boundaries at 128 KiB, empty and 1-byte frames, the iovec form equal to
 * the buffer form, the reader's frame header check; the
 * compressibility probe (noise, zeros, half-compressible pages); and the
 * writer's adaptive mode: noise stored raw, zeros compressed, a
 * half-compressible frame compressed when the sink is slow, the images
 * read back to the same records.
 */
#include "img-test.h"
#include "img/img-internal.h"
#include "img/zframe.h"

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint64_t xorshift(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static void fill_noise(uint8_t *p, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		p[i] = (uint8_t)xorshift();
}

/* Encodes len bytes both ways, checks the layout and decodes with libzstd. */
static void check_len(size_t len)
{
	size_t flen = zframe_raw_len(len), n, k, i, off, blk;
	uint8_t *src = malloc(len + 1), *f = malloc(flen), *g = malloc(flen);
	uint8_t *out = malloc(len + 1), *hdrs = malloc(zframe_raw_hdrs_len(len));
	struct iovec *iov = calloc(zframe_raw_iovs(len), sizeof(*iov));
	unsigned long long csize;

	CU_ASSERT_FATAL(src && f && g && out && hdrs && iov);
	fill_noise(src, len);
	CU_ASSERT_EQUAL(zframe_raw_encode(f, src, len), flen);
	CU_ASSERT_PTR_NULL(img_frame_header_bad(f));
	CU_ASSERT(zframe_is_raw_head(f));
	CU_ASSERT_EQUAL(ZSTD_findFrameCompressedSize(f, flen), flen);
	csize = ZSTD_getFrameContentSize(f, flen);
	CU_ASSERT_EQUAL(csize, ZSTD_CONTENTSIZE_UNKNOWN);
	n = ZSTD_decompress(out, len + 1, f, flen);
	CU_ASSERT_FATAL(!ZSTD_isError(n));
	CU_ASSERT_EQUAL(n, len);
	CU_ASSERT(!memcmp(out, src, len));

	/* every block but the last full, the last marked */
	for (off = ZF_HDR_LEN, i = 0; off < flen; i++) {
		uint32_t h = f[off] | f[off + 1] << 8 | (uint32_t)f[off + 2] << 16;

		blk = h >> 3;
		CU_ASSERT_EQUAL((h >> 1) & 3, 0);
		CU_ASSERT_EQUAL(h & 1, off + 3 + blk == flen);
		if (off + 3 + blk != flen)
			CU_ASSERT_EQUAL(blk, ZF_BLOCK_MAX);
		off += 3 + blk;
	}
	CU_ASSERT_EQUAL(off, flen);
	CU_ASSERT_EQUAL(i, zframe_raw_blocks(len));

	/* the iovec form gathers to the same bytes */
	k = zframe_raw_iov(hdrs, src, len, iov);
	CU_ASSERT(k <= zframe_raw_iovs(len));
	for (off = 0, i = 0; i < k; i++) {
		CU_ASSERT_FATAL(off + iov[i].iov_len <= flen);
		memcpy(g + off, iov[i].iov_base, iov[i].iov_len);
		off += iov[i].iov_len;
	}
	CU_ASSERT_EQUAL(off, flen);
	CU_ASSERT(!memcmp(f, g, flen));
	free(iov);
	free(hdrs);
	free(out);
	free(g);
	free(f);
	free(src);
}

static void test_raw_sizes(void)
{
	static const size_t lens[] = {
		0,
		1,
		4095,
		ZF_BLOCK_MAX - 1,
		ZF_BLOCK_MAX,
		ZF_BLOCK_MAX + 1,
		2 * ZF_BLOCK_MAX,
		IMG_FRAME_BYTES - 1,
		IMG_FRAME_BYTES,
	};
	size_t i;

	for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++)
		check_len(lens[i]);
}

/* Two raw frames back to back, then a zstd frame: one stream decoder. */
static void test_raw_stream(void)
{
	size_t a = 300000, b = 1, c = 70000, cap, pos, zl;
	uint8_t *src = malloc(a + b + c), *img, *out = malloc(a + b + c);
	ZSTD_DCtx *d = ZSTD_createDCtx();
	ZSTD_inBuffer in;
	ZSTD_outBuffer o = { out, a + b + c, 0 };
	size_t zr;

	CU_ASSERT_FATAL(src && out && d);
	fill_noise(src, a + b);
	memset(src + a + b, 7, c);
	cap = zframe_raw_len(a) + zframe_raw_len(b) + ZSTD_compressBound(c);
	img = malloc(cap);
	CU_ASSERT_FATAL(img != NULL);
	pos = zframe_raw_encode(img, src, a);
	pos += zframe_raw_encode(img + pos, src + a, b);
	zl = ZSTD_compress(img + pos, cap - pos, src + a + b, c, 1);
	CU_ASSERT_FATAL(!ZSTD_isError(zl));
	CU_ASSERT(!zframe_is_raw_head(img + pos));
	pos += zl;
	in = (ZSTD_inBuffer){ img, pos, 0 };
	do {
		zr = ZSTD_decompressStream(d, &o, &in);
		CU_ASSERT_FATAL(!ZSTD_isError(zr));
	} while (in.pos < in.size || (zr && o.pos < o.size));
	CU_ASSERT_EQUAL(o.pos, a + b + c);
	CU_ASSERT(!memcmp(out, src, a + b + c));
	ZSTD_freeDCtx(d);
	free(img);
	free(out);
	free(src);
}

/* The probe: noise does not shrink, zeros do a lot, half-noise pages in between. */
static void test_probe(void)
{
	size_t len = IMG_FRAME_BYTES, i;
	uint8_t *p = malloc(len), *scratch = malloc(ZF_PROBE_SCRATCH);
	ZSTD_CCtx *cctx;
	unsigned r;

	CU_ASSERT_FATAL(p && scratch);
	CU_ASSERT_FATAL(img_new_cctx(1, &cctx) == 0);
	fill_noise(p, len);
	r = zframe_probe(cctx, p, len, scratch);
	CU_ASSERT(r < 105);
	memset(p, 0, len);
	r = zframe_probe(cctx, p, len, scratch);
	CU_ASSERT(r > 1000);
	for (i = 0; i < len; i += 4096) { /* bench/workload.c's pages */
		uint64_t *w = (uint64_t *)(p + i);
		size_t k;

		for (k = 0; k < 256; k++)
			w[k] = i / 4096 * 256 + k;
		fill_noise(p + i + 2048, 2048);
	}
	r = zframe_probe(cctx, p, len, scratch);
	CU_ASSERT(r > 130 && r < 400);
	r = zframe_probe(cctx, p, 100, scratch); /* shorter than the samples */
	CU_ASSERT(r >= 100);
	CU_ASSERT_EQUAL(zframe_probe(cctx, p, 0, scratch), 100);
	ZSTD_freeCCtx(cctx);
	free(scratch);
	free(p);
}

/* ---- the writer's adaptive mode ---- */

enum fill { FILL_NOISE, FILL_ZERO, FILL_HALF };

struct auto_body {
	enum fill fill;
	size_t frames; /* 4 MiB page records */
};

/* bench/workload.c's pages: counters, then noise. */
static void fill_half(uint8_t *p, size_t len, size_t seed)
{
	size_t i, k;

	for (i = 0; i < len; i += 4096) {
		uint64_t *w = (uint64_t *)(p + i);

		for (k = 0; k < 256; k++)
			w[k] = (seed + i) / 4096 * 256 + k;
		fill_noise(p + i + 2048, 2048);
	}
}

static int auto_write(struct img_writer *w, void *arg)
{
	const struct auto_body *b = arg;
	size_t len = IMG_FRAME_BYTES, i;
	struct img_pages_prefix pp = { .mm_id = 3 };
	uint8_t *data = malloc(len);
	int ret = 0;

	if (!data)
		return -ENOMEM;
	if (b->fill == FILL_NOISE)
		fill_noise(data, len);
	else if (b->fill == FILL_ZERO)
		memset(data, 0, len);
	else
		fill_half(data, len, 0);
	for (i = 0; !ret && i < b->frames; i++) { /* faster than the slow sink */
		pp.addr = 0x100000000ull + i * len;
		ret = img_write_raw2(w, IMG_REC_PAGES, 0, &pp, sizeof(pp), data, len);
	}
	free(data);
	return ret;
}

/* A sink that waits 20 ms before each write into its memfd: a slow disk. */
struct slow_sink {
	struct img_sink base;
	int fd;
};

static ssize_t slow_writev(struct img_sink *s, const struct iovec *iov, int cnt)
{
	usleep(20000);
	return writev(((struct slow_sink *)s)->fd, iov, cnt);
}

static const struct img_sink_ops slow_ops = { .writev = slow_writev, .release = NULL };

/* Writes an adaptive image (2 workers) of body b, to a slow sink if slow. */
static struct buf auto_image(const struct auto_body *b, bool slow)
{
	struct img_write_opts o = { .compress = true, .adaptive = true, .threads = 2 };
	struct slow_sink *ss = NULL;
	struct img_writer *w;
	struct buf img;
	int fd = memfd_with(NULL, 0);

	CU_ASSERT_FATAL(fd >= 0);
	if (slow) {
		ss = calloc(1, sizeof(*ss));
		CU_ASSERT_FATAL(ss != NULL);
		ss->base.ops = &slow_ops;
		snprintf(ss->base.name, sizeof(ss->base.name), "slow sink");
		ss->fd = fd;
		CU_ASSERT_FATAL(img_writer_open_sink(&ss->base, &o, &w) == 0);
	} else {
		CU_ASSERT_FATAL(img_writer_open(fd, &o, &w) == 0);
	}
	CU_ASSERT_FATAL(auto_write(w, (void *)b) == 0);
	CU_ASSERT_FATAL(img_writer_finish(w) == 0);
	img_writer_free(w);
	free(ss);
	img = slurp(fd);
	close(fd);
	return img;
}

/* Counts the frames of 1 MiB or more of content in an image's body. */
static void count_frames(const struct buf *img, size_t *raw, size_t *z)
{
	size_t off = body_start(img), n, c;
	uint8_t *out = malloc(IMG_FRAME_BYTES);

	CU_ASSERT_FATAL(out != NULL);
	*raw = *z = 0;
	while (off < img->len) {
		n = ZSTD_findFrameCompressedSize(img->p + off, img->len - off);
		CU_ASSERT_FATAL(!ZSTD_isError(n));
		c = ZSTD_decompress(out, IMG_FRAME_BYTES, img->p + off, n);
		CU_ASSERT_FATAL(!ZSTD_isError(c));
		if (c >= (1u << 20) && zframe_is_raw_head(img->p + off))
			(*raw)++;
		else if (c >= (1u << 20))
			(*z)++;
		off += n;
	}
	free(out);
}

/* The image reads back: every record, their crcs right. */
static void check_reads(const struct buf *img, size_t frames)
{
	uint64_t n;
	char msg[256];

	CU_ASSERT_EQUAL(read_image(img->p, img->len, &n, msg, sizeof(msg)), 0);
	CU_ASSERT_EQUAL(n, frames);
}

static void test_auto_noise_raw(void)
{
	struct auto_body b = { FILL_NOISE, 6 };
	struct buf img = auto_image(&b, false);
	size_t raw, z;

	count_frames(&img, &raw, &z);
	CU_ASSERT(raw >= 5);
	CU_ASSERT_EQUAL(z, 0);
	CU_ASSERT(img.len < b.frames * IMG_FRAME_BYTES * 1001 / 1000);
	check_reads(&img, b.frames);
	free(img.p);
	img = auto_image(&b, true); /* noise is raw even on a slow sink */
	count_frames(&img, &raw, &z);
	CU_ASSERT_EQUAL(z, 0);
	check_reads(&img, b.frames);
	free(img.p);
}

static void test_auto_zero_compressed(void)
{
	struct auto_body b = { FILL_ZERO, 6 };
	struct buf img = auto_image(&b, false);

	CU_ASSERT(img.len < (1u << 20));
	check_reads(&img, b.frames);
	free(img.p);
}

static void test_auto_half_slow_sink(void)
{
	struct auto_body b = { FILL_HALF, 12 };
	struct buf img = auto_image(&b, true);
	size_t raw, z;

	count_frames(&img, &raw, &z);
	CU_ASSERT(z >= 1);
	CU_ASSERT(img.len < b.frames * IMG_FRAME_BYTES);
	check_reads(&img, b.frames);
	free(img.p);
	img = auto_image(&b, false); /* either way, it reads back */
	check_reads(&img, b.frames);
	free(img.p);
}

/* A sink that fails with ENOSPC once 6 MiB are written. */
static ssize_t full_writev(struct img_sink *s, const struct iovec *iov, int cnt)
{
	size_t n = 0;
	int i;

	if (s->bytes >= (6u << 20))
		return -ENOSPC;
	for (i = 0; i < cnt; i++)
		n += iov[i].iov_len;
	return n;
}

static const struct img_sink_ops full_ops = { .writev = full_writev, .release = NULL };

/* A write error on the writer thread fails the writes after it and the
 * finish; nothing hangs, the writer frees. */
static void test_auto_write_error(void)
{
	struct img_write_opts o = { .compress = true, .adaptive = true, .threads = 2 };
	struct img_sink sink = { .ops = &full_ops, .name = "full sink" };
	struct auto_body b = { FILL_NOISE, 1 };
	struct img_writer *w;
	int ret = 0, i;

	CU_ASSERT_FATAL(img_writer_open_sink(&sink, &o, &w) == 0);
	for (i = 0; !ret && i < 16; i++)
		ret = auto_write(w, &b);
	ret = ret ?: img_writer_finish(w);
	CU_ASSERT_EQUAL(ret, -ENOSPC);
	CU_ASSERT_PTR_NOT_NULL(strstr(img_writer_error(w), "full sink"));
	CU_ASSERT(sink.bytes <= (6u << 20) + IMG_FRAME_BYTES + 4096);
	img_writer_free(w);
}

int main(void)
{
	CU_pSuite s;
	unsigned fails;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	s = CU_add_suite("zframe", NULL, NULL);
	CU_add_test(s, "raw frames of every size decode with libzstd", test_raw_sizes);
	CU_add_test(s, "raw frames and a zstd frame in one stream", test_raw_stream);
	CU_add_test(s, "compressibility probe", test_probe);
	CU_add_test(s, "adaptive: noise stored raw", test_auto_noise_raw);
	CU_add_test(s, "adaptive: zeros compressed", test_auto_zero_compressed);
	CU_add_test(s, "adaptive: compressible frames compressed on a slow sink",
		    test_auto_half_slow_sink);
	CU_add_test(s, "adaptive: a write error stops the image", test_auto_write_error);

	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	fails = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
	CU_cleanup_registry();
	return fails ? 1 : 0;
}
