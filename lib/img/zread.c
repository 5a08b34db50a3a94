/*
 * Decompression pool of the image reader.
 *
 * A reader thread takes the compressed body from the source (stream.h) and
 * splits it at frame boundaries: it checks each frame header as the caller's
 * thread would (img_frame_header_bad()), then walks the block headers, reading
 * exactly up to the next one, so that no read goes past the end of a
 * frame.  Whole frames go to the workers, each with its own ZSTD_DCtx,
 * which decode them into IMG_FRAME_BYTES buffers; the caller consumes the
 * frames strictly in order.  At most 2 x workers frames are in flight.
 *
 * A frame made only of Raw_Blocks (how the dump stores a frame that does
 * not pay for compression) is not decoded: the reader thread reads each
 * block's content straight into the frame's output buffer, reading the
 * next block header with it, so its bytes go from the source to the
 * caller with one read and no copy.  Each header is checked against every
 * limit of the decoder first (type, Block_Maximum_Size, the frame's
 * content size, IMG_FRAME_BYTES); a header outside them, a content
 * checksum or more than ZR_RAW_BLOCKS blocks put the blocks read so far
 * back as stored and the frame goes to a worker's decoder, which judges it
 * as before.
 *
 * Anything unusual ends the pool's part at a frame boundary: an incomplete
 * frame at the end of the source, a read error, a header the writer does not
 * make, a reserved block type, a frame bigger than any the writer makes.
 * The reader thread then stops reading and hands the bytes it has to the
 * caller, which reads on from there on its own thread exactly as without
 * the pool, so every error is found with the same code and message.  A
 * complete frame that a worker cannot decode is decoded again, streaming,
 * on the caller's thread, for the same reason.
 *
 * Verifying a signed image (sign.h), the worker hashes each frame as
 * stored before decoding it, and the caller puts the hash on the chain
 * when it has consumed the frame.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <zstd_errors.h>

#define LOG_PREFIX "img/zread: "
#include "log.h"
#include "img/img-internal.h"
#include "img/zframe.h"

#define ZR_BLOCK_MAX (128u << 10) /* RFC 8878's Block_Maximum_Size */
#define ZR_RAW_BLOCKS 1024	  /* a raw frame of more blocks is decoded */

struct zrworker {
	struct zrpool *pool;
	ZSTD_DCtx *dctx;
	pthread_t tid;
};

/*
 * Frame k is frames[k % nframes].  filled, taken, released, stop and each
 * frame's decoded and handover are under lock.  The caller holds frames
 * [released, cur]: cur is the one it reads, and the one before it stays
 * until the next record when the payload returned last points into it.
 */
struct zrpool {
	pthread_mutex_t lock;
	pthread_cond_t work;  /* a frame was read, or stop */
	pthread_cond_t done;  /* a frame was decoded or handed over */
	pthread_cond_t space; /* a frame was released, or stop */
	struct zrframe *frames;
	unsigned nframes;
	uint64_t filled;   /* frames read by the reader thread */
	uint64_t taken;	   /* frames taken by a worker */
	uint64_t released; /* frames given back by the caller */
	uint64_t cur;	   /* the caller's frame */
	bool stop;
	bool joined;
	bool hash; /* workers hash the frames they decode */
	/* the reader thread's */
	struct img_source *src;
	int stopfd;    /* eventfd: wakes the reader thread */
	uint8_t *pend; /* bytes the caller had read ahead */
	size_t ppos, plen;
	uint64_t *raw_bytes;
	bool eof;
	int rerr;
	pthread_t reader;
	bool reader_started;
	struct vxcr_error *err; /* the operation's: the threads fail into it */
	struct zrworker *workers;
	unsigned nworkers; /* started */
	uint8_t *ring;	   /* frame outputs, mapped twice in a row */
	size_t ring_len;   /* one mapping, 0 if none */
};

/* Reads from the bytes read ahead, then from the source, waking up on
 * stop.  Returns bytes, 0 at EOF, or -errno (-ECANCELED on stop). */
static ssize_t zr_read_src(struct zrpool *p, uint8_t *dst, size_t n)
{
	ssize_t got;

	if (p->ppos < p->plen) {
		got = p->plen - p->ppos < n ? p->plen - p->ppos : n;
		memcpy(dst, p->pend + p->ppos, got);
		p->ppos += got;
		return got;
	}
	if (p->eof)
		return 0;
	got = p->src->ops->read(p->src, dst, n, p->stopfd);
	if (got < 0)
		return got;
	__atomic_fetch_add(p->raw_bytes, got, __ATOMIC_RELAXED);
	if (!got)
		p->eof = true;
	return got;
}

/* Reads until f->in holds want bytes: false at EOF, on an error (in
 * p->rerr) or if want exceeds the buffer. */
static bool zr_fill_to(struct zrpool *p, struct zrframe *f, size_t want)
{
	ssize_t got;

	if (want > f->in_cap)
		return false;
	while (f->in_len < want) {
		got = zr_read_src(p, f->in + f->in_len, want - f->in_len);
		if (got <= 0) {
			p->rerr = got;
			return false;
		}
		f->in_len += got;
	}
	return true;
}

/* Size of a frame header whose descriptor byte is fhd (no dictionary id). */
static size_t frame_header_len(uint8_t fhd)
{
	static const uint8_t fcs_len[4] = { 0, 2, 4, 8 };
	bool single = fhd & 0x20;

	return 5 + !single + ((fhd >> 6) ? fcs_len[fhd >> 6] : single);
}

/* The content size a frame header declares, or UINT64_MAX without one
 * (the header passed img_frame_header_bad(): no dictionary id). */
static uint64_t frame_content_size(const uint8_t *p)
{
	uint8_t fhd = p[4];
	const uint8_t *q = p + 5 + !(fhd & 0x20); /* past the window byte */

	switch (fhd >> 6) {
	case 0:
		return (fhd & 0x20) ? q[0] : UINT64_MAX;
	case 1:
		return (uint64_t)(q[0] | q[1] << 8) + 256;
	case 2:
		return get_le32(q);
	default:
		return get_le64(q);
	}
}

/* Reads n bytes into dst: how many arrived (fewer at EOF or on an error,
 * in p->rerr). */
static size_t zr_read_exact(struct zrpool *p, uint8_t *dst, size_t n)
{
	size_t done = 0;
	ssize_t got;

	while (done < n) {
		got = zr_read_src(p, dst + done, n - done);
		if (got <= 0) {
			p->rerr = got;
			break;
		}
		done += got;
	}
	return done;
}

/*
 * Puts the Raw_Blocks of f read so far back into f->in as they were
 * stored (each header is size << 3: raw, not last), then a[0..alen) and
 * b[0..blen), the bytes after them.  Returns the offset of a in f->in.
 */
static size_t zr_unraw(struct zrframe *f, size_t hlen, const uint8_t *a, size_t alen,
		       const uint8_t *b, size_t blen)
{
	size_t o = hlen, src = 0, cur;
	unsigned i;

	for (i = 0; i < f->nblocks; i++) {
		f->in[o] = f->bsize[i] << 3;
		f->in[o + 1] = f->bsize[i] >> 5;
		f->in[o + 2] = f->bsize[i] >> 13;
		memcpy(f->in + o + 3, f->out + src, f->bsize[i]);
		o += 3 + f->bsize[i];
		src += f->bsize[i];
	}
	cur = o;
	memcpy(f->in + o, a, alen);
	if (blen)
		memcpy(f->in + o + alen, b, blen);
	f->in_len = o + alen + blen;
	f->nblocks = 0;
	return cur;
}

/* Whether the Raw_Block with header bh may be taken in place at content
 * offset pos of a frame declaring fcs (UINT64_MAX: none): every limit the
 * decoder has, and ours; anything else is the decoder's to judge. */
static bool zr_raw_block_ok(uint32_t bh, size_t pos, uint64_t fcs, unsigned nblocks)
{
	uint32_t size = bh >> 3;

	if ((bh >> 1) & 3 || size > ZR_BLOCK_MAX || nblocks == ZR_RAW_BLOCKS ||
	    pos + size > IMG_FRAME_BYTES || pos + size > fcs)
		return false;
	return !(bh & 1) || fcs == UINT64_MAX || pos + size == fcs;
}

enum { ZR_RAW, ZR_WALK, ZR_END };

/*
 * A frame made only of Raw_Blocks (the dump stores a frame that does not
 * pay for compression so): their contents are read straight into f->out,
 * where the caller takes them as a decoded frame's, with no decoder and no
 * copy.  The frame header and the first block header are in f->in, hlen
 * = *off bytes into it.  Returns ZR_RAW (f->raw, f->out_len), ZR_WALK when
 * a header is not one to take so (the bytes so far back in f->in, *off at
 * that header: the caller reads the frame as stored), or ZR_END when the
 * source ended or failed (the bytes so far in f->in).
 */
static int zr_read_raw(struct zrpool *p, struct zrframe *f, size_t *off)
{
	uint64_t fcs = frame_content_size(f->in);
	size_t hlen = *off, pos = 0, need, got;
	uint8_t hdr[3];
	uint32_t bh;
	bool joined;

	f->nblocks = 0;
	if (f->in[4] & 0x04) /* content checksum: decoded */
		return ZR_WALK;
	memcpy(hdr, f->in + hlen, 3);
	for (;;) {
		bh = hdr[0] | hdr[1] << 8 | (uint32_t)hdr[2] << 16;
		if (!zr_raw_block_ok(bh, pos, fcs, f->nblocks)) {
			*off = zr_unraw(f, hlen, hdr, 3, NULL, 0);
			return ZR_WALK;
		}
		/* the next block header comes with the content when it fits */
		joined = !(bh & 1) && pos + (bh >> 3) + 3 <= IMG_FRAME_BYTES;
		need = (bh >> 3) + (joined ? 3 : 0);
		got = zr_read_exact(p, f->out + pos, need);
		if (got < need) {
			zr_unraw(f, hlen, hdr, 3, f->out + pos, got);
			return ZR_END;
		}
		f->bsize[f->nblocks++] = bh >> 3;
		pos += bh >> 3;
		if (bh & 1)
			break;
		if (joined) {
			memcpy(hdr, f->out + pos, 3);
		} else if ((got = zr_read_exact(p, hdr, 3)) < 3) {
			zr_unraw(f, hlen, hdr, got, NULL, 0);
			return ZR_END;
		}
	}
	f->in_len = hlen;
	f->out_len = pos;
	f->raw = true;
	return ZR_RAW;
}

/* Reads the rest of a frame as stored into f->in, walking the block
 * headers from the one at off: true, or false at the handover. */
static bool zr_walk_blocks(struct zrpool *p, struct zrframe *f, size_t off)
{
	uint32_t bh;

	do {
		if (!zr_fill_to(p, f, off + 3))
			return false;
		bh = f->in[off] | f->in[off + 1] << 8 | (uint32_t)f->in[off + 2] << 16;
		if (((bh >> 1) & 3) == 3) /* reserved block type */
			return false;
		off += 3 + (((bh >> 1) & 3) == 1 ? 1 : bh >> 3);
	} while (!(bh & 1));
	if (f->in[4] & 0x04) /* content checksum */
		off += 4;
	return zr_fill_to(p, f, off);
}

/* Reads one whole frame into f: true, or false with the bytes read so far
 * in f when the pool's part ends here (see the head comment). */
static bool zr_read_frame(struct zrpool *p, struct zrframe *f)
{
	size_t off;

	f->in_len = 0;
	f->raw = false;
	if (!zr_fill_to(p, f, 6) || img_frame_header_bad(f->in))
		return false;
	off = frame_header_len(f->in[4]);
	if (!zr_fill_to(p, f, off + 3))
		return false;
	switch (zr_read_raw(p, f, &off)) {
	case ZR_RAW:
		return true;
	case ZR_END:
		return false;
	default:
		return zr_walk_blocks(p, f, off);
	}
}

/* Puts the bytes read ahead but not used behind f->in for the caller. */
static void zr_prepare_handover(struct zrpool *p, struct zrframe *f)
{
	size_t rest = p->plen - p->ppos, cap;
	uint8_t *buf;

	if (!rest)
		return;
	cap = f->in_len + rest > IBUF_SIZE ? f->in_len + rest : IBUF_SIZE;
	buf = malloc(cap);
	if (!buf) { /* the caller reports it at its next read */
		p->rerr = -ENOMEM;
		return;
	}
	memcpy(buf, f->in, f->in_len);
	memcpy(buf + f->in_len, p->pend + p->ppos, rest);
	free(f->in);
	f->in = buf;
	f->in_len += rest;
	f->in_cap = cap;
	p->ppos = p->plen;
}

/* Reader thread: splits the stream into frames until the handover. */
static void *zr_reader_main(void *arg)
{
	struct zrpool *p = arg;
	struct zrframe *f;
	bool whole;

	err_attach(p->err);
	pthread_mutex_lock(&p->lock);
	for (;;) {
		while (!p->stop && p->filled - p->released == p->nframes)
			pthread_cond_wait(&p->space, &p->lock);
		if (p->stop)
			break;
		f = &p->frames[p->filled % p->nframes];
		pthread_mutex_unlock(&p->lock);
		whole = zr_read_frame(p, f);
		if (!whole)
			zr_prepare_handover(p, f);
		pthread_mutex_lock(&p->lock);
		f->decoded = !whole;
		f->handover = !whole;
		f->eof = p->eof;
		f->rerr = p->rerr;
		p->filled++;
		if (!whole) {
			pthread_cond_signal(&p->done);
			break;
		}
		pthread_cond_signal(&p->work);
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

/*
 * One whole frame into f->out with the streaming decoder the caller's
 * thread uses (reader.c), so that a frame decodes here exactly when it
 * decodes there: ZSTD_decompressDCtx accepted frames the streaming
 * decoder rejects at their first byte (and ignores windowLogMax), and a
 * pooled read then gave records a single-threaded one did not (fuzz-reader).
 * With the whole frame in and room for its content size, the decoder
 * writes into f->out directly.  Its length or a zstd error code.
 */
static size_t zr_decode(ZSTD_DCtx *dctx, const struct zrframe *f)
{
	ZSTD_inBuffer in = { f->in, f->in_len, 0 };
	ZSTD_outBuffer out = { f->out, IMG_FRAME_BYTES, 0 };
	size_t zr;

	ZSTD_DCtx_reset(dctx, ZSTD_reset_session_only);
	zr = ZSTD_decompressStream(dctx, &out, &in);
	if (ZSTD_isError(zr))
		return zr;
	if (zr != 0 || in.pos != in.size) /* more output than a frame holds, or a tail */
		return (size_t)-ZSTD_error_corruption_detected;
	return out.pos;
}

/* The hash of a raw frame as stored: its header, then each block's header
 * and content (the last block's header has Last_Block set). */
static void zr_hash_raw(struct zrframe *f)
{
	union img_sha256 c;
	size_t src = 0;
	uint8_t bh[3];
	unsigned i;

	img_sha256_init(&c);
	img_sha256_update(&c, f->in_len, f->in);
	for (i = 0; i < f->nblocks; i++) {
		zframe_block_head(bh, f->bsize[i], i + 1 == f->nblocks);
		img_sha256_update(&c, 3, bh);
		img_sha256_update(&c, f->bsize[i], f->out + src);
		src += f->bsize[i];
	}
	img_sha256_digest(&c, f->hash);
}

/* ---- crc32c of a frame's output by chunks ---- */

#define CRC32C_POLY 0x82f63b78u /* reflected */

/* a * b modulo the crc32c polynomial, bit 31 the coefficient of x^0. */
static uint32_t gf2_mul(uint32_t a, uint32_t b)
{
	uint32_t prod = 0, bit;

	for (bit = 1u << 31; bit; bit >>= 1) {
		if (a & bit)
			prod ^= b;
		b = (b >> 1) ^ (b & 1 ? CRC32C_POLY : 0);
	}
	return prod;
}

/* x^(8 * n) modulo the polynomial: what a crc is multiplied by when n more
 * bytes follow, since crc32c(c, B) = c * x^(8|B|) ^ crc32c(0, B). */
static uint32_t gf2_x8n(uint64_t n)
{
	uint32_t sq = 1u << 23, p = 1u << 31; /* x^8, x^0 */

	for (; n; n >>= 1) {
		if (n & 1)
			p = gf2_mul(p, sq);
		sq = gf2_mul(sq, sq);
	}
	return p;
}

/* The crc32c of each ZR_CRC_CHUNK of f's output (the last may be short). */
static void zr_chunk_crcs(struct zrframe *f)
{
	size_t off, n;

	for (off = 0; off < f->out_len; off += n) {
		n = f->out_len - off < ZR_CRC_CHUNK ? f->out_len - off : ZR_CRC_CHUNK;
		f->ccrc[off / ZR_CRC_CHUNK] = crc32c(0, f->out + off, n);
	}
}

/* crc continued over f->out[off, off + len), whole chunks from their crcs. */
static uint32_t zr_crc_span(const struct zrframe *f, uint32_t crc, size_t off, size_t len)
{
	static uint32_t x8chunk;
	size_t end = off + len, next, n;

	if (!x8chunk)
		x8chunk = gf2_x8n(ZR_CRC_CHUNK);
	next = (off + ZR_CRC_CHUNK - 1) / ZR_CRC_CHUNK * ZR_CRC_CHUNK;
	if (next > end)
		next = end;
	crc = crc32c(crc, f->out + off, next - off);
	for (off = next; off < end; off += n) {
		n = f->out_len - off < ZR_CRC_CHUNK ? f->out_len - off : ZR_CRC_CHUNK;
		if (off + n > end)
			break;
		crc = gf2_mul(crc, n == ZR_CRC_CHUNK ? x8chunk : gf2_x8n(n)) ^
		      f->ccrc[off / ZR_CRC_CHUNK];
	}
	return crc32c(crc, f->out + off, end - off);
}

/* The crc32c continued from crc over the payload zr_payload() returned last. */
uint32_t zr_payload_crc(const struct img_reader *r, uint32_t crc)
{
	crc = zr_crc_span(r->zspan[0], crc, r->zspan_off, r->zspan_len[0]);
	if (r->zspan[1])
		crc = zr_crc_span(r->zspan[1], crc, 0, r->zspan_len[1]);
	return crc;
}

/* Worker: decodes frames in turn until stopped. */
static void *zr_worker_main(void *arg)
{
	struct zrworker *wk = arg;
	struct zrpool *p = wk->pool;
	struct zrframe *f;
	size_t zr;

	err_attach(p->err);
	pthread_mutex_lock(&p->lock);
	for (;;) {
		while (!p->stop &&
		       (p->taken == p->filled || p->frames[p->taken % p->nframes].handover))
			pthread_cond_wait(&p->work, &p->lock);
		if (p->stop)
			break;
		f = &p->frames[p->taken++ % p->nframes];
		pthread_mutex_unlock(&p->lock);
		if (f->raw) { /* read in place: only hashed */
			if (p->hash)
				zr_hash_raw(f);
			zr = f->out_len;
		} else {
			if (p->hash)
				img_hash(f->hash, f->in, f->in_len);
			zr = zr_decode(wk->dctx, f);
			f->out_len = ZSTD_isError(zr) ? 0 : zr;
		}
		zr_chunk_crcs(f);
		pthread_mutex_lock(&p->lock);
		f->zerr = ZSTD_isError(zr) ? zr : 0;
		f->out_len = ZSTD_isError(zr) ? 0 : zr;
		f->decoded = true;
		pthread_cond_signal(&p->done);
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

/* Stops and joins the threads (once). */
static void zr_join(struct zrpool *p)
{
	unsigned i;

	if (p->joined)
		return;
	pthread_mutex_lock(&p->lock);
	p->stop = true;
	pthread_cond_broadcast(&p->work);
	pthread_cond_broadcast(&p->space);
	pthread_mutex_unlock(&p->lock);
	if (p->stopfd >= 0 && eventfd_write(p->stopfd, 1) < 0)
		pr_perror("waking the image reader thread");
	if (p->reader_started)
		pthread_join(p->reader, NULL);
	for (i = 0; i < p->nworkers; i++)
		pthread_join(p->workers[i].tid, NULL);
	p->joined = true;
}

/* Joins the threads and frees the pool. */
static void zr_free(struct zrpool *p)
{
	unsigned i;

	zr_join(p);
	for (i = 0; p->workers && i < p->nframes / 2; i++) /* 2 a worker */
		ZSTD_freeDCtx(p->workers[i].dctx);
	for (i = 0; p->frames && i < p->nframes; i++) {
		free(p->frames[i].in);
		free(p->frames[i].bsize);
		if (!p->ring_len)
			free(p->frames[i].out);
	}
	if (p->ring_len)
		munmap(p->ring, 2 * p->ring_len);
	if (p->stopfd >= 0)
		close(p->stopfd);
	free(p->pend);
	free(p->workers);
	free(p->frames);
	pthread_cond_destroy(&p->space);
	pthread_cond_destroy(&p->done);
	pthread_cond_destroy(&p->work);
	pthread_mutex_destroy(&p->lock);
	free(p);
}

/*
 * Maps the frame outputs as a ring that follows itself in memory, so that a
 * payload running from a full frame into the next one is contiguous and
 * can be returned without a copy.  Without it (no memfd) payloads that span
 * frames are copied.
 */
static void zr_map_ring(struct zrpool *p)
{
	size_t len = (size_t)p->nframes * IMG_FRAME_BYTES;
	uint8_t *base;
	int fd;

	fd = memfd_create("vxcr-img-ring", MFD_CLOEXEC);
	if (fd < 0)
		return;
	if (ftruncate(fd, len) < 0)
		goto out_close;
	base = mmap(NULL, 2 * len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (base == MAP_FAILED)
		goto out_close;
	if (mmap(base, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd, 0) == MAP_FAILED ||
	    mmap(base + len, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd, 0) ==
		    MAP_FAILED) {
		munmap(base, 2 * len);
		goto out_close;
	}
	p->ring = base;
	p->ring_len = len;
out_close:
	close(fd);
}

/* Allocates the frames and worker contexts of a pool of n workers. */
static int zr_alloc(struct zrpool *p, unsigned n)
{
	size_t cap = ZSTD_compressBound(IMG_FRAME_BYTES);
	unsigned i;

	p->stopfd = eventfd(0, EFD_CLOEXEC);
	if (p->stopfd < 0)
		return -errno;
	p->nframes = 2 * n;
	p->frames = calloc(p->nframes, sizeof(*p->frames));
	p->workers = calloc(n, sizeof(*p->workers));
	if (!p->frames || !p->workers)
		return -ENOMEM;
	zr_map_ring(p);
	for (i = 0; i < p->nframes; i++) {
		p->frames[i].in = malloc(cap);
		p->frames[i].in_cap = cap;
		p->frames[i].bsize = malloc(ZR_RAW_BLOCKS * sizeof(uint32_t));
		p->frames[i].out = p->ring_len ? p->ring + (size_t)i * IMG_FRAME_BYTES :
						 malloc(IMG_FRAME_BYTES);
		if (!p->frames[i].in || !p->frames[i].out || !p->frames[i].bsize)
			return -ENOMEM;
	}
	for (i = 0; i < n; i++) {
		p->workers[i].pool = p;
		p->workers[i].dctx = ZSTD_createDCtx();
		if (!p->workers[i].dctx)
			return -ENOMEM;
		ZSTD_DCtx_setParameter(p->workers[i].dctx, ZSTD_d_windowLogMax,
				       IMG_ZSTD_WINDOW_LOG);
	}
	return 0;
}

/* Starts up to n workers, then the reader thread, all signals blocked;
 * fails only if no worker or the reader thread (which takes the first
 * byte) could not start. */
static int zr_start_threads(struct zrpool *p, unsigned n)
{
	sigset_t all, old;
	int ret = 0;

	p->err = err_current();
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	for (; p->nworkers < n; p->nworkers++) {
		ret = -pthread_create(&p->workers[p->nworkers].tid, NULL, zr_worker_main,
				      &p->workers[p->nworkers]);
		if (ret)
			break;
	}
	if (p->nworkers)
		ret = -pthread_create(&p->reader, NULL, zr_reader_main, p);
	p->reader_started = !ret;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return ret;
}

/*
 * At a frame boundary of a compressed image: hands the rest of the body to
 * a pool of n workers, with the bytes already in r->ibuf.  Returns 0 or
 * -errno (a warning: the caller then reads on by itself).
 */
int zr_start(struct img_reader *r, unsigned n)
{
	struct zrpool *p;
	int ret;

	r->pool_tried = true;
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->work, NULL);
	pthread_cond_init(&p->done, NULL);
	pthread_cond_init(&p->space, NULL);
	p->src = r->src;
	p->eof = r->eof;
	p->raw_bytes = &r->raw_bytes;
	p->hash = r->kr;
	ret = zr_alloc(p, n);
	if (!ret) {
		p->pend = r->ibuf; /* read before the caller's next byte */
		p->ppos = r->ipos;
		p->plen = r->ilen;
		ret = zr_start_threads(p, n);
	}
	if (ret) {
		pr_warn("starting %u decompression threads: %s\n", n, strerror(-ret));
		p->pend = NULL;
		zr_free(p);
		return ret;
	}
	r->ibuf = NULL;
	r->ipos = r->ilen = r->icap = 0;
	r->pool = p;
	r->zlive = true;
	r->zf = NULL;
	return 0;
}

/* The caller reads on by itself from the bytes of the handover frame f. */
static void zr_handover(struct img_reader *r, struct zrframe *f)
{
	zr_join(r->pool);
	free(r->ibuf);
	r->ibuf = f->in;
	r->icap = f->in_cap;
	r->ilen = f->in_len;
	r->ipos = 0;
	f->in = NULL;
	r->eof = f->eof;
	r->rerr = f->rerr;
	r->frame_start = true;
	r->zlive = false;
	r->zf = NULL;
}

/* Moves on to the next frame, waiting for it; gives back the current one
 * unless the returned payload points into it.  The current one, consumed,
 * ends its signature segment. */
static void zr_next(struct img_reader *r)
{
	struct zrpool *p = r->pool;
	struct zrframe *f;

	if (r->zf)
		img_frame_end(r, r->zf->hash, r->zf->zerr ? r->frame_out : r->zf->out_len);
	pthread_mutex_lock(&p->lock);
	if (r->zf)
		p->cur++;
	if (!r->zpinned && p->released != p->cur) {
		p->released = p->cur;
		pthread_cond_signal(&p->space);
	}
	f = &p->frames[p->cur % p->nframes];
	while (p->cur >= p->filled || !f->decoded)
		pthread_cond_wait(&p->done, &p->lock);
	f->decoded = false; /* for its next use */
	pthread_mutex_unlock(&p->lock);
	if (f->handover) {
		zr_handover(r, f);
		return;
	}
	r->zf = f;
	r->zpos = 0;
	r->zended = false;
	if (f->zerr)
		ZSTD_DCtx_reset(r->dctx, ZSTD_reset_session_only);
}

/* Gives back the frame the last payload pointed into. */
void zr_unpin(struct img_reader *r)
{
	struct zrpool *p = r->pool;

	r->zpinned = false;
	if (!r->zlive)
		return;
	pthread_mutex_lock(&p->lock);
	if (p->released != p->cur) {
		p->released = p->cur;
		pthread_cond_signal(&p->space);
	}
	pthread_mutex_unlock(&p->lock);
}

/* Whether the current frame has no more output. */
static bool zr_exhausted(const struct img_reader *r)
{
	const struct zrframe *f = r->zf;

	return !f || (f->zerr ? r->zended : r->zpos == f->out_len);
}

/* Decodes the current frame, which a worker could not, on the caller's
 * thread into out, as far as it goes: 0 or -EBADMSG. */
static int zr_stream(struct img_reader *r, ZSTD_outBuffer *out)
{
	struct zrframe *f = r->zf;
	ZSTD_inBuffer in = { f->in, f->in_len, r->zpos };
	size_t zr, before = out->pos;

	zr = ZSTD_decompressStream(r->dctx, out, &in);
	if (ZSTD_isError(zr))
		return img_rfail(r, -EBADMSG, "zstd: %s", ZSTD_getErrorName(zr));
	r->frame_out += out->pos - before;
	r->zpos = in.pos;
	r->zended = zr == 0;
	if (r->zended ? in.pos != in.size : in.pos == in.size && out->pos == before)
		return img_rfail(r, -EBADMSG, "zstd: frame ends elsewhere");
	return 0;
}

/* Takes body bytes into out from the pool, at most to the end of the
 * current frame: 0 (r->zlive false if the caller now reads on by itself)
 * or -errno. */
int zr_read(struct img_reader *r, ZSTD_outBuffer *out)
{
	struct zrframe *f;
	size_t n;

	if (zr_exhausted(r)) {
		zr_next(r);
		return 0;
	}
	f = r->zf;
	if (f->zerr)
		return zr_stream(r, out);
	n = f->out_len - r->zpos;
	n = n < out->size - out->pos ? n : out->size - out->pos;
	memcpy((uint8_t *)out->dst + out->pos, f->out + r->zpos, n);
	r->zpos += n;
	out->pos += n;
	return 0;
}

/* Waits for the frame after the current one to be decoded (or to be the
 * handover) and returns it. */
static const struct zrframe *zr_peek_next(struct zrpool *p)
{
	const struct zrframe *f = &p->frames[(p->cur + 1) % p->nframes];

	pthread_mutex_lock(&p->lock);
	while (p->cur + 1 >= p->filled || !f->decoded)
		pthread_cond_wait(&p->done, &p->lock);
	pthread_mutex_unlock(&p->lock);
	return f;
}

/*
 * A payload of len bytes inside the current frame, or running from a full
 * frame into the next (contiguous in the ring), is returned from there:
 * true with r->pdata set and the frames kept until the next record.  Else
 * false: the caller copies it.
 */
bool zr_payload(struct img_reader *r, uint64_t len)
{
	const struct zrframe *f, *next;
	uint64_t rest;

	if (!len || r->zpinned)
		return false;
	if (zr_exhausted(r))
		zr_next(r);
	f = r->zf;
	if (!r->zlive || f->zerr)
		return false;
	r->pdata = f->out + r->zpos;
	r->zspan[0] = f;
	r->zspan[1] = NULL;
	r->zspan_off = r->zpos;
	if (f->out_len - r->zpos >= len) {
		r->zspan_len[0] = len;
		r->zpos += len;
	} else {
		rest = len - (f->out_len - r->zpos);
		if (!r->pool->ring_len || f->out_len != IMG_FRAME_BYTES || rest > IMG_FRAME_BYTES)
			return false;
		next = zr_peek_next(r->pool);
		if (next->handover || next->zerr || next->out_len < rest)
			return false;
		r->zpinned = true;
		zr_next(r);
		r->zspan_len[0] = len - rest;
		r->zspan[1] = r->zf;
		r->zspan_len[1] = rest;
		r->zpos = rest;
	}
	r->body_off += len;
	r->zpinned = true;
	return true;
}

/* After the trailer: the current frame must end there and no frame may
 * follow.  Returns 0 (r->zlive false: the caller checks the end of the
 * stream by itself) or -EBADMSG. */
int zr_check_end(struct img_reader *r)
{
	ZSTD_outBuffer out;
	uint8_t b;
	int ret;

	while (r->zf && r->zf->zerr && !r->zended) {
		out = (ZSTD_outBuffer){ &b, 1, 0 };
		ret = zr_stream(r, &out);
		if (ret)
			return ret;
		if (out.pos)
			break;
	}
	if (!zr_exhausted(r))
		return img_rfail(r, -EBADMSG, "data after the trailer");
	zr_next(r);
	if (r->zlive)
		return img_rfail(r, -EBADMSG, "data after the trailer");
	return 0;
}

/* Stops the pool's threads and frees it (img_reader_free()). */
void zr_stop(struct img_reader *r)
{
	if (!r->pool)
		return;
	zr_free(r->pool);
	r->pool = NULL;
	r->zlive = false;
	r->zf = NULL;
}
