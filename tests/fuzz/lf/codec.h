/*
 * The libFuzzer harnesses' view of an image (tests/fuzz/lf/): a lenient
 * decoder that splits any image-like bytes into header and record payloads
 * (ignoring every checksum, decompressing what zstd can), and an encoder
 * that frames them again with correct record crcs, trailer, header crc and
 * zstd frames.  The repair mode of the harnesses mutates in between, so a
 * mutation reaches the protobuf decoders and the planner instead of
 * stopping at a checksum.
 *
 * The library's writer is not used for the records: it refuses, on
 * purpose, exactly what the fuzzer must produce (protobuf-typed records
 * with arbitrary bytes, raw records shorter than their prefix, any flags).
 * Compression settings come from the writer (img_new_cctx), crc32c and the
 * framing constants from lib/img.
 */
#ifndef VXCR_FUZZ_CODEC_H
#define VXCR_FUZZ_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FZ_MAX_BODY	(64u << 20)	/* decoded body bytes kept at most */

/* One record: type, flags and payload (owned). */
struct fz_rec {
	uint32_t type;
	uint32_t flags;
	uint8_t *p;
	size_t len;
};

struct fz_image {
	uint32_t version;
	uint8_t *hdr;		/* header payload (protobuf img_header), owned */
	size_t hdr_len;
	bool zstd;		/* the header says the body is compressed */
	struct fz_rec *recs;	/* without the trailer */
	size_t n;
	size_t cap;
};

/* Splits data into im; 0, or -1 if it does not even start like an image. */
int fz_decode(const uint8_t *data, size_t size, struct fz_image *im);
/* Frames im into out (at most max bytes); returns the length, or 0 if it
 * does not fit. */
size_t fz_encode(const struct fz_image *im, uint8_t *out, size_t max);
void fz_free(struct fz_image *im);
/* structured.c: one field of one protobuf record gets a hostile value; 0,
 * or -1 if no protobuf record unpacks. */
int fz_mutate_structured(struct fz_image *im, uint64_t seed);
/* Inserts a copy of r at index at (0..n); 0 or -1 (out of memory). */
int fz_insert(struct fz_image *im, size_t at, const struct fz_rec *r);

#endif
