/*
 * Image stream reader (the writer is writer.c).  The format is
 * docs/image-format.md.
 *
 * Reader: one input buffer, filled from the source (stream.h: an fd,
 * memory, later a channel); body bytes are copied (or decompressed) straight
 * into the payload buffer, which grows only as data actually arrives, so a
 * hostile length never allocates more than about twice the bytes present.
 * Every error is sticky and described by img_reader_error().  Once a
 * compressed image shows more than one frame, the rest is decompressed
 * ahead on a pool of threads (zread.c); a payload inside one decoded frame
 * is then returned from the frame without a copy.
 *
 * Signed images (sign.h): with trusted keys set, the body is hashed as
 * stored (a compressed one frame by frame, on the pool's workers when it
 * runs, else as the decoder takes it; an uncompressed one record by record,
 * on a hashing thread, rhash.c) and each SIGNATURE record checked before
 * it is hashed itself.
 */
#include <endian.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/random.h>
#include <sys/uio.h>
#include <sys/utsname.h>
#include <zstd.h>

#define LOG_PREFIX "img/reader: "
#include "log.h"
#include "img/img-internal.h"
#include "img/records.h"
#include "img/sign.h"
#include "sign.pb-c.h"
#include "util/cleanup.h"
#include "vxcr/vxcr.h"

#define PAYLOAD_MIN (64u << 10) /* first payload buffer size */

static __thread char open_err[256];

/* Records err with a one-line message naming the current record. */
int img_rfail(struct img_reader *r, int err, const char *fmt, ...)
{
	char what[160];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (r->cur_known)
		snprintf(r->errmsg, sizeof(r->errmsg), "record %llu (%s) at body offset %llu: %s",
			 (unsigned long long)r->cur.index, img_rec_name(r->cur.type),
			 (unsigned long long)r->cur.offset, what);
	else
		snprintf(r->errmsg, sizeof(r->errmsg), "record %llu at body offset %llu: %s",
			 (unsigned long long)r->cur.index, (unsigned long long)r->cur.offset, what);
	pr_err("%s\n", r->errmsg);
	r->err = err;
	return err;
}

int img_reader_fail(struct img_reader *r, const struct img_record *rec, int err, const char *what)
{
	r->cur = *rec;
	r->cur_known = true;
	return img_rfail(r, err, "%s", what);
}

/* Reads once into dst; returns bytes, 0 at EOF, or -errno. */
static ssize_t read_some(struct img_reader *r, void *dst, size_t n)
{
	ssize_t got;

	if (r->rerr) /* met by the pool's reader thread */
		return r->rerr;
	got = r->src->ops->read(r->src, dst, n, -1);
	if (got < 0)
		return got;
	r->raw_bytes += got;
	if (!got)
		r->eof = true;
	return got;
}

/* Reads more into ibuf, keeping unconsumed bytes; returns bytes, 0 at EOF, -errno. */
static ssize_t fill(struct img_reader *r)
{
	ssize_t n;

	if (r->ipos == r->ilen) {
		r->ipos = r->ilen = 0;
	} else if (r->ilen == r->icap) {
		memmove(r->ibuf, r->ibuf + r->ipos, r->ilen - r->ipos);
		r->ilen -= r->ipos;
		r->ipos = 0;
	}
	if (r->ilen == r->icap) /* zstd took nothing from a full buffer */
		return -EIO;
	if (r->eof)
		return 0;
	n = read_some(r, r->ibuf + r->ilen, r->icap - r->ilen);
	if (n > 0)
		r->ilen += n;
	return n;
}

/* Ensures at least k unconsumed bytes in ibuf (k small); -ENODATA at EOF. */
static int fill_at_least(struct img_reader *r, size_t k)
{
	ssize_t n;

	if (r->ilen - r->ipos >= k)
		return 0;
	memmove(r->ibuf, r->ibuf + r->ipos, r->ilen - r->ipos);
	r->ilen -= r->ipos;
	r->ipos = 0;
	while (r->ilen < k) {
		n = fill(r);
		if (n <= 0)
			return n < 0 ? n : -ENODATA;
	}
	return 0;
}

/* Copies n bytes of the uncompressed stream to dst: 0, -ENODATA or -errno. */
static int raw_read(struct img_reader *r, void *dst, size_t n)
{
	uint8_t *d = dst;
	size_t c;
	ssize_t got;

	while (n) {
		if (r->ipos < r->ilen) {
			c = r->ilen - r->ipos < n ? r->ilen - r->ipos : n;
			memcpy(d, r->ibuf + r->ipos, c);
			r->ipos += c;
		} else if (n >= r->icap) { /* big: straight into dst */
			got = read_some(r, d, n);
			if (got <= 0)
				return got < 0 ? got : -ENODATA;
			c = got;
		} else {
			got = fill(r);
			if (got <= 0)
				return got < 0 ? got : -ENODATA;
			continue;
		}
		d += c;
		n -= c;
	}
	return 0;
}

/* Checks the first 6 bytes of a zstd frame (see img.h): NULL if it is one
 * the writer makes, else what is wrong. */
const char *img_frame_header_bad(const uint8_t *p)
{
	if (get_le32(p) != ZSTD_MAGIC)
		return "not a zstd frame";
	/* unused, reserved and dictionary id bits clear; window as written */
	if ((p[4] & 0x1b) || (!(p[4] & 0x20) && p[5] != (IMG_ZSTD_WINDOW_LOG - 10) << 3))
		return "unexpected zstd frame header";
	return NULL;
}

/* Checks the header of the zstd frame starting at ibuf[ipos]. */
static int check_frame(struct img_reader *r)
{
	const char *bad;
	int ret;

	ret = fill_at_least(r, 6);
	if (ret)
		return ret;
	bad = img_frame_header_bad(r->ibuf + r->ipos);
	if (bad)
		return img_rfail(r, -EBADMSG, "%s", bad);
	r->frame_start = false;
	return 0;
}

/* At a frame boundary: whether to hand the rest to the pool (zread.c),
 * from the first frame on with a fixed thread count, else from the second. */
static bool pool_wanted(const struct img_reader *r)
{
	return r->threads > 1 && !r->pool_tried && !r->err && (r->frames || r->threads_fixed);
}

/*
 * A compressed frame of the body has been consumed: when verifying, its
 * hash goes on the chain (hash NULL: its stored bytes were hashed here,
 * img_sighash_add()) and the next frame starts out body bytes later.
 */
void img_frame_end(struct img_reader *r, const uint8_t *hash, uint64_t out)
{
	r->frame_out = 0;
	if (!r->kr)
		return;
	if (hash)
		img_sighash_fold(&r->sh, hash);
	else
		img_sighash_cut(&r->sh);
	r->frame_off += out;
}

/* One step of the decoder on this thread from ibuf into out: 0 or -EBADMSG;
 * *moved: whether it took or gave any byte.  When verifying, the stored
 * bytes it took are hashed, and the end of a frame ends their segment. */
static int z_step(struct img_reader *r, ZSTD_outBuffer *out, bool *moved)
{
	ZSTD_inBuffer in = { r->ibuf, r->ilen, r->ipos };
	size_t zr, before = out->pos;

	zr = ZSTD_decompressStream(r->dctx, out, &in);
	if (ZSTD_isError(zr))
		return img_rfail(r, -EBADMSG, "zstd: %s", ZSTD_getErrorName(zr));
	if (r->kr)
		img_sighash_add(&r->sh, r->ibuf + r->ipos, in.pos - r->ipos);
	r->frame_out += out->pos - before;
	*moved = out->pos != before || in.pos != r->ipos;
	r->ipos = in.pos;
	if (zr == 0) {
		r->frame_start = true;
		r->frames++;
		img_frame_end(r, NULL, r->frame_out);
	}
	return 0;
}

/* Decompresses n body bytes into dst: 0, -ENODATA, -EBADMSG or -errno. */
static int z_read(struct img_reader *r, void *dst, size_t n)
{
	ZSTD_outBuffer out = { dst, n, 0 };
	ssize_t got;
	bool moved = false;
	int ret;

	while (out.pos < out.size) {
		if (r->frame_start && pool_wanted(r))
			zr_start(r, r->threads); /* on failure: read on here */
		if (r->zlive) {
			ret = zr_read(r, &out);
			if (ret)
				return ret;
			continue;
		}
		if (r->frame_start) {
			ret = check_frame(r);
			if (ret)
				return ret;
		}
		ret = z_step(r, &out, &moved);
		if (ret)
			return ret;
		if (!moved) {
			got = fill(r);
			if (got <= 0)
				return got < 0 ? got : -ENODATA;
		}
	}
	return 0;
}

/* Reads n bytes of the (decompressed) body. */
static int body_read(struct img_reader *r, void *dst, size_t n)
{
	int ret;

	ret = r->dctx ? z_read(r, dst, n) : raw_read(r, dst, n);
	if (!ret)
		r->body_off += n;
	return ret;
}

/* Reads a payload of len bytes, growing the buffer only as data arrives. */
static int read_payload(struct img_reader *r, uint64_t len)
{
	size_t got = 0, chunk, cap;
	uint8_t *p;
	int ret;

	while (got < len) {
		if (r->pcap == got) {
			cap = r->pcap ? 2 * r->pcap : PAYLOAD_MIN;
			cap = cap < len ? cap : len;
			p = realloc(r->payload, cap);
			if (!p)
				return -ENOMEM;
			r->payload = p;
			r->pcap = cap;
		}
		chunk = (r->pcap < len ? r->pcap : len) - got;
		ret = body_read(r, r->payload + got, chunk);
		if (ret)
			return ret;
		got += chunk;
	}
	return 0;
}

/* After the trailer: the frame must end and nothing may follow. */
static int check_end(struct img_reader *r)
{
	ZSTD_outBuffer out;
	ZSTD_inBuffer in;
	uint8_t b;
	size_t zr;
	ssize_t got;
	bool consumed;
	int ret;

	if (r->zlive) {
		ret = zr_check_end(r); /* then the rest as below */
		if (ret)
			return ret;
	}
	while (r->dctx && !r->frame_start) {
		out = (ZSTD_outBuffer){ &b, 1, 0 };
		in = (ZSTD_inBuffer){ r->ibuf, r->ilen, r->ipos };
		zr = ZSTD_decompressStream(r->dctx, &out, &in);
		if (ZSTD_isError(zr))
			return img_rfail(r, -EBADMSG, "zstd: %s", ZSTD_getErrorName(zr));
		if (out.pos)
			return img_rfail(r, -EBADMSG, "data after the trailer");
		if (zr == 0)
			r->frame_start = true;
		consumed = in.pos != r->ipos;
		r->ipos = in.pos;
		if (!consumed && !r->frame_start) {
			got = fill(r);
			if (got <= 0)
				return got < 0 ? got : -ENODATA;
		}
	}
	if (r->ipos == r->ilen) {
		got = fill(r);
		if (got < 0)
			return got;
	}
	if (r->ipos < r->ilen)
		return img_rfail(r, -EBADMSG, "data after the trailer");
	return 0;
}

/* Validates the trailer record in the payload buffer and the end of stream. */
static int read_trailer(struct img_reader *r, uint64_t len)
{
	ImgTrailer *t;
	int ret = 0;

	t = img_trailer__unpack(NULL, len, r->pdata);
	if (!t)
		return img_rfail(r, -EBADMSG, "malformed trailer");
	if (!t->has_records || t->records != r->nrec)
		ret = img_rfail(r, -EBADMSG, "trailer counts %llu records, image has %llu",
				(unsigned long long)t->records, (unsigned long long)r->nrec);
	else if (!t->has_checksum || t->checksum != r->sum_crc)
		ret = img_rfail(r, -EBADMSG, "trailer checksum mismatch");
	else if (t->has_page_bytes && t->page_bytes != r->page_bytes)
		ret = img_rfail(r, -EBADMSG, "trailer counts %llu page bytes, image has %llu",
				(unsigned long long)t->page_bytes,
				(unsigned long long)r->page_bytes);
	img_trailer__free_unpacked(t, NULL);
	if (ret)
		return ret;
	return check_end(r);
}

/* Maps a body read error to the sticky error with a message. */
static int read_error(struct img_reader *r, int err, const char *what)
{
	if (r->err) /* already described (zstd, frame header) */
		return r->err;
	if (err == -ENODATA)
		return img_rfail(r, err, "truncated %s", what);
	if (err == -ENOMEM)
		return img_rfail(r, err, "out of memory for %s", what);
	return img_rfail(r, err, "read: %s", strerror(-err));
}

/* Reads and checks one record's header, payload and crc into r->cur. */
static int read_one(struct img_reader *r)
{
	uint8_t hdr[IMG_REC_HDR_LEN], tail[4];
	uint32_t crc;
	int ret;

	ret = body_read(r, hdr, sizeof(hdr));
	if (ret)
		return read_error(r, ret,
				  r->body_off ? "image (no trailer)" : "image (no records)");
	r->cur.type = get_le32(hdr);
	r->cur.flags = get_le32(hdr + 4);
	r->cur.length = get_le64(hdr + 8);
	r->cur_known = true;
	r->cur_frame_off = r->frame_off;
	if (r->cur.length > IMG_MAX_RECORD)
		return img_rfail(r, -E2BIG, "length %llu exceeds the %llu byte limit",
				 (unsigned long long)r->cur.length,
				 (unsigned long long)IMG_MAX_RECORD);
	crc = crc32c(0, hdr, sizeof(hdr));
	if (r->zlive && zr_payload(r, r->cur.length)) {
		/* r->pdata points into the pool's frames, whose workers took
		 * the crc of their chunks */
		crc = zr_payload_crc(r, crc);
		ret = 0;
	} else {
		ret = read_payload(r, r->cur.length);
		r->pdata = r->payload;
		if (!ret)
			crc = crc32c(crc, r->pdata, r->cur.length);
	}
	if (!ret)
		ret = body_read(r, tail, sizeof(tail));
	if (ret)
		return read_error(r, ret, "record");
	if (crc != get_le32(tail))
		return img_rfail(r, -EBADMSG, "checksum mismatch");
	r->cur_crc = crc;
	return 0;
}

/*
 * The digest the SIGNATURE record e in r->cur must sign: the chain over
 * everything stored before it.  Returns 0 or the sticky error (a scheme
 * this reader does not compute, or a record that does not start a frame
 * of a compressed body, where the frames before it would not be all).
 */
static int sig_digest(struct img_reader *r, const SigEntry *e, uint8_t digest[IMG_HASH_LEN])
{
	uint32_t scheme = e->has_scheme ? e->scheme : 1;

	if (scheme != IMG_SIG_SCHEME)
		return img_rfail(r, -EKEYREJECTED,
				 "signature scheme %u, this vxcr "
				 "checks scheme %u (sign the image again)",
				 scheme, IMG_SIG_SCHEME);
	if (r->dctx && r->cur_frame_off != r->cur.offset)
		return img_rfail(r, -EBADMSG, "signature inside a compressed frame");
	if (r->hasher)
		rh_wait(r->hasher); /* the chain is ours again */
	if (!r->dctx)
		img_sighash_cut(&r->sh);
	img_sighash_digest(&r->sh, r->cur.offset, digest);
	return 0;
}

/*
 * A SIGNATURE record in r->cur: remembers its key id and, when verifying,
 * checks it against the chain so far.  Returns 0 or the sticky error.
 */
static int check_signature(struct img_reader *r)
{
	uint8_t digest[IMG_HASH_LEN];
	char hex[2 * IMG_KEY_ID_LEN + 1];
	const struct vxcr_key *k;
	SigEntry *e;
	int ret = 0;

	e = sig_entry__unpack(NULL, r->cur.length, r->pdata);
	if (!e || e->key_id.len != IMG_KEY_ID_LEN || e->digest.len != IMG_HASH_LEN ||
	    e->signature.len != crypto_sign_BYTES) {
		ret = r->kr ? img_rfail(r, -EBADMSG, "malformed signature") : 0;
		goto out;
	}
	memcpy(r->sig_id, e->key_id.data, IMG_KEY_ID_LEN);
	r->has_sig_id = true;
	if (!r->kr)
		goto out;
	ret = sig_digest(r, e, digest);
	if (ret)
		goto out;
	k = img_keyring_find(r->kr, r->sig_id);
	img_key_id_hex(r->sig_id, hex);
	if (memcmp(digest, e->digest.data, IMG_HASH_LEN))
		ret = img_rfail(r, -EBADMSG,
				"signature does not match the image "
				"(changed since it was signed)");
	else if (!k)
		ret = img_rfail(r, -EKEYREJECTED, "signed by key %s, which is not in %s", hex,
				r->kr->dir);
	else if (crypto_sign_verify_detached(e->signature.data, digest, IMG_HASH_LEN, k->pk))
		ret = img_rfail(r, -EKEYREJECTED, "bad signature by key %s (%s)", k->name, hex);
	if (!ret) {
		r->signer = k;
		r->sig_index = r->cur.index;
		r->sig_valid = true;
	}
out:
	if (e)
		sig_entry__free_unpacked(e, NULL);
	return ret;
}

/*
 * Adds the record in r->cur, as stored in an uncompressed body, to the
 * signature chain (a compressed body is hashed frame by frame as read).
 * Unless the reader has one thread only, a hashing thread does it while
 * the caller goes on with the record, and the next one is read into the
 * other payload buffer meanwhile (rhash.c).
 */
static void hash_record(struct img_reader *r)
{
	struct rh_rec rec = { .data = r->pdata, .len = r->cur.length };
	uint8_t *p;
	size_t cap;

	put_le32(rec.hdr, r->cur.type);
	put_le32(rec.hdr + 4, r->cur.flags);
	put_le64(rec.hdr + 8, r->cur.length);
	put_le32(rec.tail, r->cur_crc);
	/* not on the first record: a context's restore (CONTEXT first) has
	 * no thread before its fork (restore/plan.c: add_context) */
	if (!r->hasher_tried && r->threads > 1 && r->nrec) {
		r->hasher_tried = true;
		rh_start(&r->sh, &r->hasher); /* on failure: hash here */
	}
	if (!r->hasher) {
		rh_hash(&r->sh, &rec);
		return;
	}
	rh_submit(r->hasher, &rec);
	p = r->payload;
	r->payload = r->payload2;
	r->payload2 = p;
	cap = r->pcap;
	r->pcap = r->pcap2;
	r->pcap2 = cap;
}

/* At the trailer, when verifying: the last record must be a valid signature. */
static int check_signed_end(struct img_reader *r)
{
	if (!r->kr || (r->sig_valid && r->sig_index + 1 == r->nrec))
		return 0;
	if (!r->has_sig_id)
		return img_rfail(r, -EKEYREJECTED, "the image is not signed");
	return img_rfail(r, -EKEYREJECTED, "records after the last signature");
}

/*
 * The flags of a page record's prefix: PAGES with one of IMG_PAGES_ZERO,
 * IMG_PAGES_PARENT or IMG_PAGES_LAZY carries exactly a __le64 length, a
 * multiple of pages; other bits, two of them, and any on SHMEM_PAGES, are
 * refused.
 */
static const char *range_name(uint32_t flags)
{
	return flags == IMG_PAGES_ZERO ? "zero" : flags == IMG_PAGES_PARENT ? "parent" : "lazy";
}

static int check_pages_prefix(struct img_reader *r)
{
	const struct img_pages_prefix *p = r->cur.payload;
	uint32_t flags = le32toh(p->flags);
	uint64_t len;

	if (r->cur.type == IMG_REC_SHMEM_PAGES ?
		    flags != 0 :
		    (flags & ~IMG_PAGES_KNOWN) || (flags & (flags - 1)))
		return img_rfail(r, -EBADMSG, "page record flags %#x not known", flags);
	if (!flags)
		return 0;
	if (r->cur.length != sizeof(*p) + sizeof(len))
		return img_rfail(r, -EBADMSG, "%s range of %llu bytes, not 24", range_name(flags),
				 (unsigned long long)r->cur.length);
	memcpy(&len, p + 1, sizeof(len));
	len = le64toh(len);
	if (!len || len % 4096 || le64toh(p->addr) % 4096 || le64toh(p->addr) + len < len)
		return img_rfail(r, -EBADMSG, "%s range at %#llx of %#llx bytes: not whole pages",
				 range_name(flags), (unsigned long long)le64toh(p->addr),
				 (unsigned long long)len);
	return 0;
}

/* Next record: 1 with *rec filled, 0 after a valid trailer, or -errno. */
int img_read_record(struct img_reader *r, struct img_record *rec)
{
	const struct img_rec_desc *d;
	int ret;

	if (r->err)
		return r->err;
	if (r->done) {
		*rec = r->cur;
		return 0;
	}
	if (r->zpinned)
		zr_unpin(r);
	r->cur = (struct img_record){ .index = r->nrec, .offset = r->body_off };
	r->cur_known = false;
	ret = read_one(r);
	if (ret)
		return ret;
	r->cur.payload = r->pdata;
	d = img_rec_lookup(r->cur.type);
	if (!d && !(r->cur.flags & IMG_RF_OPTIONAL))
		return img_rfail(r, -EPROTO, "unknown required record type %u", r->cur.type);
	if (d && !d->pb && r->cur.length < d->prefix_len)
		return img_rfail(r, -EBADMSG, "%llu bytes, shorter than its %u byte prefix",
				 (unsigned long long)r->cur.length, d->prefix_len);
	if (d && (r->cur.type == IMG_REC_PAGES || r->cur.type == IMG_REC_SHMEM_PAGES)) {
		ret = check_pages_prefix(r);
		if (ret)
			return ret;
	}
	if (r->cur.type == IMG_REC_SIGNATURE) {
		ret = check_signature(r);
		if (ret)
			return ret;
	}
	if (r->cur.type == IMG_REC_TRAILER) {
		ret = check_signed_end(r);
		if (!ret)
			ret = read_trailer(r, r->cur.length);
		if (ret)
			return ret;
		r->done = true;
		*rec = r->cur;
		return 0;
	}
	if (r->kr && !r->dctx)
		hash_record(r);
	if (r->cur.type == IMG_REC_PAGES)
		r->page_bytes += r->cur.length - d->prefix_len;
	r->sum_crc = crc32c(r->sum_crc, &(uint32_t){ htole32(r->cur_crc) }, 4);
	r->nrec++;
	*rec = r->cur;
	return 1;
}

/* Records a header-level failure for img_last_open_error(). */
static int open_fail(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int open_fail(int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(open_err, sizeof(open_err), fmt, ap);
	va_end(ap);
	pr_err("%s\n", open_err);
	return err;
}

/* Reads magic, version and header length. */
static int read_preamble(struct img_reader *r, uint8_t *pre, uint32_t *hlen)
{
	int ret;

	ret = raw_read(r, pre, IMG_PREAMBLE_LEN);
	if (ret == -ENODATA)
		return open_fail(ret, "truncated image (or not an image)");
	if (!ret && memcmp(pre, IMG_MAGIC, IMG_MAGIC_LEN))
		return open_fail(-EBADMSG, "not a vxcr image (bad magic)");
	if (ret)
		return open_fail(ret, "read: %s", strerror(-ret));
	r->version = get_le32(pre + IMG_MAGIC_LEN);
	if (r->version > IMG_FORMAT_VERSION)
		return open_fail(-EPROTONOSUPPORT,
				 "image format version %u is newer than this vxcr (max %u)",
				 r->version, IMG_FORMAT_VERSION);
	if (r->version == 0)
		return open_fail(-EBADMSG, "image format version 0 is invalid");
	*hlen = get_le32(pre + IMG_MAGIC_LEN + 4);
	if (*hlen > IMG_MAX_HEADER)
		return open_fail(-E2BIG, "header length %u exceeds the %u byte limit", *hlen,
				 IMG_MAX_HEADER);
	return 0;
}

/* Reads and checks the header; sets up decompression.  The stored
 * preamble (up to the header's crc) is read into one buffer and hashed. */
static int read_header(struct img_reader *r)
{
	_cleanup_free_ uint8_t *pre = NULL;
	uint8_t magic[IMG_PREAMBLE_LEN], *buf;
	uint32_t hlen = 0;
	int ret;

	ret = read_preamble(r, magic, &hlen);
	if (ret)
		return ret;
	pre = malloc(IMG_PREAMBLE_LEN + hlen + 4);
	if (!pre)
		return -ENOMEM;
	memcpy(pre, magic, IMG_PREAMBLE_LEN);
	buf = pre + IMG_PREAMBLE_LEN;
	ret = raw_read(r, buf, hlen + 4);
	if (ret)
		return open_fail(ret, "header: %s", ret == -ENODATA ? "truncated" : strerror(-ret));
	if (crc32c(0, buf, hlen) != get_le32(buf + hlen))
		return open_fail(-EBADMSG, "header: checksum mismatch");
	img_hash(r->pre_hash, pre, IMG_PREAMBLE_LEN + hlen + 4);
	r->hdr = img_header__unpack(NULL, hlen, buf);
	if (!r->hdr)
		return open_fail(-EBADMSG, "header: malformed");
	if (r->hdr->compression == IMG_COMPRESSION__COMP_NONE)
		return 0;
	if (r->hdr->compression != IMG_COMPRESSION__COMP_ZSTD)
		return open_fail(-EPROTONOSUPPORT, "header: unknown compression %d",
				 r->hdr->compression);
	r->dctx = ZSTD_createDCtx();
	if (!r->dctx)
		return -ENOMEM;
	ZSTD_DCtx_setParameter(r->dctx, ZSTD_d_windowLogMax, IMG_ZSTD_WINDOW_LOG);
	r->frame_start = true;
	return 0;
}

/*
 * The header at the start of src, left in place: the preamble first (for
 * the length), then preamble, header and crc together, so that a pipe's
 * peek sees one contiguous prefix.  Returns 0 with *out, or -errno with
 * the message in img_last_open_error().
 */
int img_peek_header(struct img_source *src, ImgHeader **out)
{
	_cleanup_free_ uint8_t *buf = NULL;
	uint8_t pre[IMG_PREAMBLE_LEN];
	uint32_t hlen;
	ImgHeader *h;
	int ret;

	open_err[0] = '\0';
	ret = img_source_peek(src, pre, sizeof(pre));
	if (!ret && memcmp(pre, IMG_MAGIC, IMG_MAGIC_LEN))
		ret = -EBADMSG;
	hlen = ret ? 0 : get_le32(pre + IMG_MAGIC_LEN + 4);
	if (!ret && hlen > IMG_MAX_HEADER)
		return open_fail(-EBADMSG,
				 "%s: not a vxcr image (header length %u "
				 "exceeds the %u byte limit)",
				 src->name, hlen, IMG_MAX_HEADER);
	if (!ret && !(buf = malloc(sizeof(pre) + hlen + 4)))
		return -ENOMEM;
	if (!ret)
		ret = img_source_peek(src, buf, sizeof(pre) + hlen + 4);
	if (ret == -EBADMSG)
		return open_fail(ret, "%s: not a vxcr image (bad magic)", src->name);
	if (ret)
		return open_fail(ret, "%s: cannot peek at the image header: %s", src->name,
				 ret == -ENODATA ? "truncated" :
				 ret == -ESPIPE	 ? "cannot be peeked at" :
						   strerror(-ret));
	if (crc32c(0, buf + sizeof(pre), hlen) != get_le32(buf + sizeof(pre) + hlen))
		return open_fail(-EBADMSG, "%s: image header checksum mismatch", src->name);
	h = img_header__unpack(NULL, hlen, buf + sizeof(pre));
	if (!h)
		return open_fail(-EBADMSG, "%s: image header malformed", src->name);
	*out = h;
	return 0;
}

/*
 * The 16-byte image id of the image whose header src would return next,
 * peeked as img_peek_header() does.  Returns 0 with id filled, -EBADMSG
 * for a header without an id, or img_peek_header()'s errors.
 */
int img_peek_image_id(struct img_source *src, uint8_t id[16])
{
	ImgHeader *h;
	int ret;

	ret = img_peek_header(src, &h);
	if (ret)
		return ret;
	if (!h->has_image_id || h->image_id.len != 16) {
		pr_err("%s: image header without an image id\n", src->name);
		ret = -EBADMSG;
	} else {
		memcpy(id, h->image_id.data, 16);
	}
	img_header__free_unpacked(h, NULL);
	return ret;
}

/* Decompression workers by default: online CPUs, at most AUTO_THREADS_MAX. */
static unsigned auto_threads(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n < 1 ? 1 : n > AUTO_THREADS_MAX ? AUTO_THREADS_MAX : n;
}

/* Sets the decompression workers: 0 automatic, 1 none (the caller's thread
 * only), n: n workers from the first frame on.  Returns 0 or -EINVAL. */
int img_reader_set_threads(struct img_reader *r, int threads)
{
	if (threads < 0 || threads > THREADS_MAX)
		return -EINVAL;
	r->threads = threads ? (unsigned)threads : auto_threads();
	r->threads_fixed = threads > 1;
	return 0;
}

/* Opens an image on src (borrowed) and checks its header.  Returns 0 or
 * -errno (message in img_last_open_error()); on success *out owns the
 * reader. */
int img_reader_open_source(struct img_source *src, struct img_reader **out)
{
	struct img_reader *r;
	int ret = -ENOMEM;

	open_err[0] = '\0';
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->src = src;
	r->ibuf = malloc(IBUF_SIZE);
	if (!r->ibuf)
		goto out_free;
	r->icap = IBUF_SIZE;
	r->threads = auto_threads();
	r->sig_index = UINT64_MAX;
	ret = read_header(r);
	if (ret)
		goto out_free;
	*out = r;
	return 0;

out_free:
	if (ret == -ENOMEM && !open_err[0])
		open_fail(ret, "out of memory");
	img_reader_free(r);
	return ret;
}

/* Opens an image on fd (an fd source, img_source_fd()).  Returns 0 or
 * -errno (message in img_last_open_error()); on success *out owns the
 * reader. */
int img_reader_open(int fd, struct img_reader **out)
{
	struct img_source *src;
	int ret;

	ret = img_source_fd(fd, NULL, &src);
	if (ret) {
		open_err[0] = '\0';
		return open_fail(ret, "out of memory");
	}
	ret = img_reader_open_source(src, out);
	if (ret) {
		img_source_free(src);
		return ret;
	}
	(*out)->own_src = true;
	return 0;
}

void img_reader_free(struct img_reader *r)
{
	if (!r)
		return;
	zr_stop(r);
	rh_stop(r->hasher);
	if (r->hdr)
		img_header__free_unpacked(r->hdr, NULL);
	ZSTD_freeDCtx(r->dctx);
	if (r->own_src)
		img_source_free(r->src);
	free(r->payload);
	free(r->payload2);
	free(r->ibuf);
	free(r);
}

struct img_source *img_reader_source(const struct img_reader *r)
{
	return r->src;
}

const ImgHeader *img_reader_header(const struct img_reader *r)
{
	return r->hdr;
}

const char *img_reader_error(const struct img_reader *r)
{
	return r->errmsg;
}

uint32_t img_reader_version(const struct img_reader *r)
{
	return r->version;
}

uint64_t img_reader_raw_bytes(const struct img_reader *r)
{
	return __atomic_load_n(&r->raw_bytes, __ATOMIC_RELAXED);
}

const char *img_last_open_error(void)
{
	return open_err;
}

/* Verifies signatures against kr from now on; before the first record only.
 * Returns 0 or -EINVAL. */
int img_reader_set_keys(struct img_reader *r, const struct vxcr_keyring *kr)
{
	if (r->nrec || r->body_off || r->err)
		return -EINVAL;
	r->kr = kr;
	img_sighash_start(&r->sh, r->pre_hash);
	return 0;
}

/* Whether a signature verified so far covers every record before index. */
bool img_reader_covered(const struct img_reader *r, uint64_t index)
{
	return r->kr && r->sig_valid && r->sig_index + 1 >= index;
}

const struct vxcr_key *img_reader_signer(const struct img_reader *r)
{
	return r->signer;
}

const uint8_t *img_reader_sig_id(const struct img_reader *r)
{
	return r->has_sig_id ? r->sig_id : NULL;
}

/* Unpacks a protobuf record; free with protobuf_c_message_free_unpacked(). */
int img_unpack(const struct img_record *rec, const ProtobufCMessageDescriptor *d,
	       ProtobufCMessage **out)
{
	ProtobufCMessage *m;

	if (!d)
		return -EINVAL;
	m = protobuf_c_message_unpack(d, NULL, rec->length, rec->payload);
	if (!m)
		return -EBADMSG;
	*out = m;
	return 0;
}
