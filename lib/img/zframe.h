/*
 * Frames of a compressed image body that the writer makes without calling
 * zstd (docs/image-format.md, section 5), and the compressibility probe
 * that decides, per frame, whether zstd is worth its time.
 *
 * A raw frame is a zstd frame made of Raw_Blocks (RFC 8878 3.1.1.2):
 *
 *   magic FD 2F B5 28 | FHD 00 | window descriptor 60 (4 MiB)
 *   then for each block: a 3-byte little-endian block header
 *   (bit 0 Last_Block, bits 1-2 Block_Type 0 = Raw, bits 3-23 size),
 *   then size bytes as they are.
 *
 * Every block but the last holds exactly ZF_BLOCK_MAX bytes; the last holds
 * the rest (0 for an empty frame, which is one empty last block).  Every
 * zstd decoder reads it; the restore recognises it by its header bytes and
 * block types and takes the bytes in place.
 */
#ifndef VXCR_IMG_ZFRAME_H
#define VXCR_IMG_ZFRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>
#include <zstd.h>

#define ZF_HDR_LEN 6 /* magic, FHD, window descriptor */
#define ZF_BLOCK_HDR_LEN 3
#define ZF_BLOCK_MAX (128u << 10) /* RFC 8878: min(window, 128 KiB) */
#define ZF_FHD 0x00		  /* no content size, no checksum, no dict */
#define ZF_WD 0x60		  /* window 2^22 (IMG_ZSTD_WINDOW_LOG) */

/* Blocks of a raw frame of len bytes (at least 1). */
static inline size_t zframe_raw_blocks(size_t len)
{
	return len ? (len + ZF_BLOCK_MAX - 1) / ZF_BLOCK_MAX : 1;
}

/* Bytes of a raw frame of len bytes of content. */
static inline size_t zframe_raw_len(size_t len)
{
	return ZF_HDR_LEN + ZF_BLOCK_HDR_LEN * zframe_raw_blocks(len) + len;
}

/* Bytes of the headers of a raw frame of len bytes (zframe_raw_iov()). */
static inline size_t zframe_raw_hdrs_len(size_t len)
{
	return ZF_HDR_LEN + ZF_BLOCK_HDR_LEN * zframe_raw_blocks(len);
}

/* iovecs zframe_raw_iov() fills for len bytes of content. */
static inline size_t zframe_raw_iovs(size_t len)
{
	return 2 * zframe_raw_blocks(len);
}

size_t zframe_raw_encode(uint8_t *dst, const uint8_t *src, size_t len);
size_t zframe_raw_iov(uint8_t *hdrs, const uint8_t *src, size_t len, struct iovec *iov);
bool zframe_is_raw_head(const uint8_t *p);
/* Writes the 3-byte header of a Raw_Block of n bytes (last: Last_Block). */
void zframe_block_head(uint8_t *p, size_t n, bool last);

/* ---- the probe ---- */

#define ZF_PROBE_SAMPLES 4
#define ZF_PROBE_SAMPLE (4u << 10)
#define ZF_PROBE_BYTES (ZF_PROBE_SAMPLES * ZF_PROBE_SAMPLE)
#define ZF_PROBE_SCRATCH (2 * ZF_PROBE_BYTES + 512)

unsigned zframe_probe(ZSTD_CCtx *cctx, const uint8_t *src, size_t len, uint8_t *scratch);

#endif
