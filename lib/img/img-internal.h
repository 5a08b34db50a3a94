/*
 * Private to lib/img: the reader state shared by reader.c and zread.c, the
 * writer's compression pool (zpool.c) and the reader's decompression pool
 * (zread.c).
 */
#ifndef VXCR_IMG_INTERNAL_H
#define VXCR_IMG_INTERNAL_H

#include <endian.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/uio.h>
#include <zstd.h>

#include "img/img.h"
#include "img/sign.h"

#define IBUF_SIZE (1u << 20) /* reader input buffer */
#define ZSTD_MAGIC 0xFD2FB528u
#define AUTO_THREADS_MAX 4 /* threads 0: online CPUs, at most this */
#define THREADS_MAX 64

static inline void put_le32(uint8_t *p, uint32_t v)
{
	v = htole32(v);
	memcpy(p, &v, 4);
}

static inline void put_le64(uint8_t *p, uint64_t v)
{
	v = htole64(v);
	memcpy(p, &v, 8);
}

static inline uint32_t get_le32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return le32toh(v);
}

static inline uint64_t get_le64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return le64toh(v);
}

/* ---- writer: compression pool, or writer thread (zpool.c) ---- */

struct zpool;
/* Writes one finished frame to the image: 0 or -errno. */
typedef int (*zpool_out_fn)(void *ctx, const void *buf, size_t len);
/* Writes one finished frame, gathered, to the image: 0 or -errno. */
typedef int (*zpool_outv_fn)(void *ctx, struct iovec *iov, int cnt);
/* Takes the hash of one frame input (signed images), in order. */
typedef void (*zpool_seg_fn)(void *ctx, const uint8_t *hash);

int img_new_cctx(int level, ZSTD_CCtx **out);
int zpool_start(unsigned n, int level, zpool_out_fn out, zpool_seg_fn seg, void *ctx,
		struct zpool **pp);
/* Uncompressed body: one thread writes it out in order, in chunks. */
int zpool_start_store(zpool_out_fn out, zpool_seg_fn seg, void *ctx, struct zpool **pp);
/* Adaptive: raw or compressed per frame, a writer thread (zpool.c). */
int zpool_start_auto(unsigned n, int level, zpool_outv_fn outv, zpool_seg_fn seg, void *ctx,
		     struct zpool **pp);
/* Signed uncompressed body: n threads hash it, the caller writes it. */
int zpool_start_plain(unsigned n, zpool_out_fn out, zpool_seg_fn seg, void *ctx, struct zpool **pp);

int zpool_put(struct zpool *p, const uint8_t *buf, size_t len, uint32_t *crc);
int zpool_finish(struct zpool *p);
void zpool_free(struct zpool *p);

/* ---- reader ---- */

struct zrpool;
struct zrframe;

/* The pool's workers take the crc32c of each frame's output in chunks of
 * this, so that the caller has a record's crc from them (zr_payload_crc). */
#define ZR_CRC_CHUNK (64u << 10)

struct img_reader {
	struct img_source *src;
	bool own_src; /* made by img_reader_open() */
	int err;      /* sticky */
	bool done;    /* valid trailer seen */
	bool eof;
	int rerr; /* read error to report at the next read */
	uint32_t version;
	ImgHeader *hdr;
	ZSTD_DCtx *dctx;    /* NULL: uncompressed */
	bool frame_start;   /* next compressed byte starts a frame */
	uint64_t frames;    /* frames ended on the caller's thread */
	unsigned threads;   /* decompression workers, 1: none */
	bool threads_fixed; /* set by the caller: pool from frame 0 */
	bool pool_tried;    /* the pool ran (or failed to start) */
	uint8_t *ibuf;
	size_t ipos, ilen, icap;
	uint64_t raw_bytes;		/* atomic while the pool runs */
	struct zrpool *pool;		/* decompressing on workers */
	bool zlive;			/* the pool supplies the body */
	struct zrframe *zf;		/* frame being consumed (pool) */
	size_t zpos;			/* in its output, or input if streamed */
	bool zended;			/* a streamed frame has ended */
	bool zpinned;			/* the returned payload points into zf */
	const struct zrframe *zspan[2]; /* and these frames hold it: */
	size_t zspan_off, zspan_len[2]; /* from zspan_off in the first */
	const uint8_t *pdata;		/* payload of the record just read */
	uint8_t *payload;
	size_t pcap;
	uint64_t body_off;
	uint64_t nrec;
	uint32_t sum_crc;
	uint64_t page_bytes;
	uint32_t cur_crc;		/* crc of the record just read */
	struct img_record cur;		/* record being read, for messages */
	bool cur_known;			/* cur.type is valid */
	uint8_t pre_hash[IMG_HASH_LEN]; /* of the stored preamble (sign.h) */
	const struct vxcr_keyring *kr;	/* verifying signatures, or NULL */
	struct img_sighash sh;		/* the chain, when verifying */
	uint64_t frame_off;		/* verifying: body offset where the
					 * compressed frame being read starts */
	uint64_t frame_out;		/* its body bytes decoded here so far */
	uint64_t cur_frame_off;		/* frame_off after the record header */
	struct rhasher *hasher;		/* verifying an uncompressed body */
	bool hasher_tried;		/* it ran (or failed to start) */
	uint8_t *payload2;		/* the other payload buffer, while the */
	size_t pcap2;			/* hasher has the last record */
	bool sig_valid;			/* a signature was verified ... */
	uint64_t sig_index;		/* ... the last one at this record */
	const struct vxcr_key *signer;	/* its key */
	bool has_sig_id;		/* a SIGNATURE record was read */
	uint8_t sig_id[IMG_KEY_ID_LEN]; /* the last one's key id */
	char errmsg[256];
};

int img_rfail(struct img_reader *r, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void img_frame_end(struct img_reader *r, const uint8_t *hash, uint64_t out);
const char *img_frame_header_bad(const uint8_t *p);

/* ---- reader: hashing thread (rhash.c) ---- */

/* One record of an uncompressed body as stored: header, payload, crc. */
struct rh_rec {
	uint8_t hdr[IMG_REC_HDR_LEN];
	const uint8_t *data;
	uint64_t len;
	uint8_t tail[4];
};

struct rhasher;

void rh_hash(struct img_sighash *sh, const struct rh_rec *rec);
int rh_start(struct img_sighash *sh, struct rhasher **out);
void rh_submit(struct rhasher *h, const struct rh_rec *rec);
void rh_wait(struct rhasher *h);
void rh_stop(struct rhasher *h);

/* ---- reader: decompression pool (zread.c) ---- */

/*
 * One frame as the pool hands it to the caller, in stream order.  A decoded
 * frame has out[0..out_len); a frame the worker could not decode (corrupt,
 * or more than IMG_FRAME_BYTES of content) has zerr set and is decoded again
 * on the caller's thread from in[0..in_len), so that the caller sees the
 * same bytes and the same error as without the pool.  The last frame has
 * handover set: in[0..in_len) are the next bytes of the stream (an
 * incomplete or unexpected frame, or nothing at the end of the source), eof
 * and rerr say how reading stopped, and the caller reads on by itself.
 * A frame of Raw_Blocks read in place has raw set, its header in
 * in[0..in_len) and its blocks' sizes in bsize[0..nblocks) (for its hash).
 */
struct zrframe {
	uint8_t *in;
	size_t in_len, in_cap;
	uint8_t *out; /* IMG_FRAME_BYTES */
	size_t out_len;
	size_t zerr;	 /* zstd error of the worker, 0 if none */
	uint32_t *bsize; /* raw: its blocks' sizes, as stored */
	unsigned nblocks;
	uint32_t ccrc[IMG_FRAME_BYTES / ZR_CRC_CHUNK]; /* crc32c of out by chunk */
	uint8_t hash[IMG_HASH_LEN];		       /* of in[0..in_len), when verifying */
	bool decoded;				       /* under the pool lock */
	bool raw;				       /* out holds a frame of Raw_Blocks */
	bool handover;
	bool eof;
	int rerr;
};

int zr_start(struct img_reader *r, unsigned n);
int zr_read(struct img_reader *r, ZSTD_outBuffer *out);
bool zr_payload(struct img_reader *r, uint64_t len);
uint32_t zr_payload_crc(const struct img_reader *r, uint32_t crc);
int zr_check_end(struct img_reader *r);
void zr_unpin(struct img_reader *r);
void zr_stop(struct img_reader *r);

#endif
