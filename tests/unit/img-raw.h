/*
 * Rewrites a compressed image so that each zstd frame of its body is a
 * frame of Raw_Blocks (RFC 8878 3.1.1.2, Block_Type 0), as the dump stores
 * a frame that does not pay for compression.  Used by test_img_raw.c to
 * make such images whatever the writer does, and in every shape a frame
 * header and its blocks may take.
 */
#ifndef VXCR_TEST_IMG_RAW_H
#define VXCR_TEST_IMG_RAW_H

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#include "vxcr/image.h"

struct raw_opts {
	size_t block; /* content bytes a block (last: the rest) */
	int fcs;      /* Frame_Content_Size field bytes: 0, 1 (single
			 * segment), 2, 4, 8 */
	bool single;  /* Single_Segment_Flag (fcs 1, 4 or 8) */
	bool rle;     /* a block of one repeated byte as an RLE_Block */
};

struct raw_out {
	uint8_t *p;
	size_t len, cap;
};

static inline void raw_put(struct raw_out *o, const void *b, size_t n)
{
	if (o->len + n > o->cap) {
		o->cap = 2 * (o->len + n);
		o->p = realloc(o->p, o->cap);
	}
	memcpy(o->p + o->len, b, n);
	o->len += n;
}

static inline void raw_put_le(struct raw_out *o, uint64_t v, int n)
{
	uint8_t b[8];
	int i;

	for (i = 0; i < n; i++)
		b[i] = v >> (8 * i);
	raw_put(o, b, n);
}

/* Whether buf[0..n) is one byte repeated. */
static inline bool raw_uniform(const uint8_t *buf, size_t n)
{
	return n > 1 && buf[0] == buf[n - 1] && !memcmp(buf, buf + 1, n - 1);
}

/* One frame of Raw_Blocks (or RLE_Blocks, opts->rle) holding buf[0..n). */
static inline void raw_frame(struct raw_out *o, const uint8_t *buf, size_t n,
			     const struct raw_opts *opts)
{
	static const uint8_t fcs_flag[9] = { 0, 0, 1, 0, 2, 0, 0, 0, 3 };
	int fcs = opts->fcs == 2 && n - 256 > 0xffff ? 4 : opts->fcs; /* 2: 256 + 16 bits */
	uint8_t fhd = fcs_flag[fcs] << 6 | (opts->single ? 0x20 : 0);
	size_t off = 0, b;
	uint32_t bh;

	raw_put_le(o, ZSTD_MAGICNUMBER, 4);
	raw_put(o, &fhd, 1);
	if (!opts->single)
		raw_put_le(o, (IMG_ZSTD_WINDOW_LOG - 10) << 3, 1);
	if (fcs)
		raw_put_le(o, fcs == 2 ? n - 256 : n, fcs);
	do {
		b = n - off < opts->block ? n - off : opts->block;
		bh = b << 3 | (off + b == n);
		if (opts->rle && raw_uniform(buf + off, b)) {
			raw_put_le(o, bh | 1 << 1, 3);
			raw_put(o, buf + off, 1);
		} else {
			raw_put_le(o, bh, 3);
			raw_put(o, buf + off, b);
		}
		off += b;
	} while (off < n);
}

/*
 * The image img[0..len) (compressed, its body starting at body) with each
 * frame decoded and stored again by raw_frame(): a new buffer, *out_len
 * its length; NULL if a frame does not decode.
 */
static inline uint8_t *rawify(const uint8_t *img, size_t len, size_t body,
			      const struct raw_opts *opts, size_t *out_len)
{
	struct raw_out o = { NULL, 0, 0 };
	uint8_t *dec = malloc(IMG_FRAME_BYTES);
	ZSTD_DCtx *d = ZSTD_createDCtx();
	size_t off = body, fl, n;

	raw_put(&o, img, body);
	while (off < len) {
		fl = ZSTD_findFrameCompressedSize(img + off, len - off);
		if (ZSTD_isError(fl))
			goto fail;
		n = ZSTD_decompressDCtx(d, dec, IMG_FRAME_BYTES, img + off, fl);
		if (ZSTD_isError(n))
			goto fail;
		raw_frame(&o, dec, n, opts);
		off += fl;
	}
	free(dec);
	ZSTD_freeDCtx(d);
	*out_len = o.len;
	return o.p;
fail:
	free(o.p);
	free(dec);
	ZSTD_freeDCtx(d);
	return NULL;
}

#endif
