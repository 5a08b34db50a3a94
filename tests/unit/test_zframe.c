/*
 * Unit tests of the raw-block zstd frames the writer makes without zstd
 * (lib/img/zframe.c): libzstd decodes them to the same bytes, block
 * boundaries at 128 KiB, empty and 1-byte frames, the iovec form equal to
 * the buffer form, the reader's frame header check; and the
 * compressibility probe (noise, zeros, half-compressible pages).
 */
#include <stdlib.h>
#include <string.h>
#include <CUnit/Basic.h>
#include <zstd.h>

#include "img/img.h"
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

	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	fails = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
	CU_cleanup_registry();
	return fails ? 1 : 0;
}
