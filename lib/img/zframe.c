/*
 * Raw-block zstd frames and the compressibility probe (zframe.h).
 *
 * A frame that does not pay for compression is still a zstd frame, so the
 * format, every reader, the fuzzers and the signature segments stay as
 * they are: it is made of Raw_Blocks, written here without zstd, either
 * into one buffer (zframe_raw_encode()) or as iovecs that point at the
 * content where it lies (zframe_raw_iov(): no copy before the sink).
 */
#include <string.h>

#include "img/img-internal.h"
#include "img/zframe.h"

/* The 6 bytes every raw frame starts with. */
static void put_frame_head(uint8_t *p)
{
	put_le32(p, ZSTD_MAGIC);
	p[4] = ZF_FHD;
	p[5] = ZF_WD;
}

/* A Raw_Block header for n bytes, the last block of its frame if last. */
void zframe_block_head(uint8_t *p, size_t n, bool last)
{
	uint32_t v = (uint32_t)n << 3 | (last ? 1 : 0); /* Block_Type 0: raw */

	p[0] = v;
	p[1] = v >> 8;
	p[2] = v >> 16;
}

/* Writes src[0..len) as a raw frame to dst (zframe_raw_len(len) bytes).
 * Returns the frame's length. */
size_t zframe_raw_encode(uint8_t *dst, const uint8_t *src, size_t len)
{
	uint8_t *p = dst + ZF_HDR_LEN;
	size_t n;

	put_frame_head(dst);
	do {
		n = len < ZF_BLOCK_MAX ? len : ZF_BLOCK_MAX;
		zframe_block_head(p, n, n == len);
		memcpy(p + ZF_BLOCK_HDR_LEN, src, n);
		p += ZF_BLOCK_HDR_LEN + n;
		src += n;
		len -= n;
	} while (len);
	return p - dst;
}

/*
 * The raw frame of src[0..len) as iovecs: headers go to hdrs
 * (zframe_raw_hdrs_len(len) bytes), the content is pointed at where it
 * lies.  iov takes zframe_raw_iovs(len) entries.  Returns the number
 * filled (an empty frame: 1, its headers only).
 */
size_t zframe_raw_iov(uint8_t *hdrs, const uint8_t *src, size_t len, struct iovec *iov)
{
	uint8_t *h = hdrs + ZF_HDR_LEN;
	size_t k = 0, n;

	put_frame_head(hdrs);
	iov[0].iov_base = hdrs;
	iov[0].iov_len = ZF_HDR_LEN;
	do {
		n = len < ZF_BLOCK_MAX ? len : ZF_BLOCK_MAX;
		zframe_block_head(h, n, n == len);
		if (k) {
			iov[k].iov_base = h;
			iov[k].iov_len = ZF_BLOCK_HDR_LEN;
		} else {
			iov[0].iov_len += ZF_BLOCK_HDR_LEN; /* h follows the frame header */
		}
		k++;
		if (n) {
			iov[k].iov_base = (void *)src;
			iov[k].iov_len = n;
			k++;
		}
		h += ZF_BLOCK_HDR_LEN;
		src += n;
		len -= n;
	} while (len);
	return k;
}

/* Whether the 7 bytes at p start a frame as zframe_raw_*() write them:
 * our header and a first block that is raw. */
bool zframe_is_raw_head(const uint8_t *p)
{
	return get_le32(p) == ZSTD_MAGIC && p[4] == ZF_FHD && p[5] == ZF_WD &&
	       ((p[6] >> 1) & 3) == 0;
}

/*
 * How well src[0..len) compresses, guessed from ZF_PROBE_SAMPLES pieces of
 * ZF_PROBE_SAMPLE bytes spread over it (all of it if shorter), put side by
 * side in scratch (ZF_PROBE_SCRATCH bytes) and compressed with cctx (its
 * level; the session is reset).  Returns the ratio in percent (input /
 * output x 100; 100 when the samples do not shrink or zstd fails).
 */
unsigned zframe_probe(ZSTD_CCtx *cctx, const uint8_t *src, size_t len, uint8_t *scratch)
{
	uint8_t *in = scratch, *out = scratch + ZF_PROBE_BYTES;
	size_t n = 0, step, i, zr;

	if (len <= ZF_PROBE_BYTES) {
		memcpy(in, src, len);
		n = len;
	} else {
		step = (len - ZF_PROBE_SAMPLE) / (ZF_PROBE_SAMPLES - 1);
		for (i = 0; i < ZF_PROBE_SAMPLES; i++, n += ZF_PROBE_SAMPLE)
			memcpy(in + n, src + i * step, ZF_PROBE_SAMPLE);
	}
	if (!n)
		return 100;
	zr = ZSTD_compress2(cctx, out, ZF_PROBE_SCRATCH - ZF_PROBE_BYTES, in, n);
	if (ZSTD_isError(zr) || zr >= n)
		return 100;
	return (unsigned)(n * 100 / zr);
}
