/*
 * Lenient image decoder and repairing encoder of the libFuzzer harnesses
 * (see codec.h; the framing is docs/image-format.md).
 */
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#include "img/img-internal.h"
#include "img/records.h"
#include "lf/codec.h"

/* A growing byte buffer; ok goes false once an allocation fails. */
struct fz_buf {
	uint8_t *p;
	size_t len, cap;
	bool ok;
};

static void buf_put(struct fz_buf *b, const void *data, size_t len)
{
	size_t cap = b->cap ? b->cap : 4096;
	uint8_t *np;

	if (!b->ok || !len)
		return;
	while (cap < b->len + len)
		cap *= 2;
	if (cap != b->cap) {
		np = realloc(b->p, cap);
		if (!np) {
			b->ok = false;
			return;
		}
		b->p = np;
		b->cap = cap;
	}
	memcpy(b->p + b->len, data, len);
	b->len += len;
}

int fz_insert(struct fz_image *im, size_t at, const struct fz_rec *r)
{
	struct fz_rec c = *r, *nr;

	c.p = malloc(r->len ? r->len : 1);	/* r may point into im->recs */
	if (!c.p)
		return -1;
	memcpy(c.p, r->p, r->len);
	if (im->n == im->cap) {
		nr = realloc(im->recs, (im->cap ? im->cap * 2 : 16) * sizeof(*nr));
		if (!nr) {
			free(c.p);
			return -1;
		}
		im->recs = nr;
		im->cap = im->cap ? im->cap * 2 : 16;
	}
	memmove(&im->recs[at + 1], &im->recs[at], (im->n - at) * sizeof(c));
	im->recs[at] = c;
	im->n++;
	return 0;
}

/* Decompresses as much of a zstd body as decodes, at most FZ_MAX_BODY. */
static void unzstd(const uint8_t *in, size_t len, struct fz_buf *out)
{
	static ZSTD_DCtx *d;	/* kept: a new one per input costs more than the rest */
	ZSTD_inBuffer ib = { in, len, 0 };
	uint8_t tmp[64 << 10];
	size_t zr;

	if (!d)
		d = ZSTD_createDCtx();
	else
		ZSTD_DCtx_reset(d, ZSTD_reset_session_only);
	while (d && ib.pos < ib.size && out->ok && out->len < FZ_MAX_BODY) {
		ZSTD_outBuffer ob = { tmp, sizeof(tmp), 0 };

		zr = ZSTD_decompressStream(d, &ob, &ib);
		buf_put(out, tmp, ob.pos);
		if (ZSTD_isError(zr) || (!ob.pos && zr))
			break;	/* corrupt, or an incomplete frame at the end */
	}
}

/* Splits a plain body into records up to the trailer or the end. */
static int split_records(const uint8_t *b, size_t len, struct fz_image *im)
{
	size_t pos = 0;
	struct fz_rec r;
	uint64_t l;

	while (len - pos >= IMG_REC_HDR_LEN) {
		r.type = get_le32(b + pos);
		r.flags = get_le32(b + pos + 4);
		l = get_le64(b + pos + 8);
		pos += IMG_REC_HDR_LEN;
		if (r.type == IMG_REC_TRAILER)
			break;
		r.len = l < len - pos ? l : len - pos;	/* a cut one keeps what is there */
		r.p = (uint8_t *)b + pos;
		if (fz_insert(im, im->n, &r))
			return -1;
		pos += r.len;
		pos += len - pos < 4 ? len - pos : 4;
	}
	return 0;
}

/* 0, or -1 with nothing left allocated. */
int fz_decode(const uint8_t *data, size_t size, struct fz_image *im)
{
	struct fz_buf body = { .ok = true };
	const uint8_t *b;
	size_t hlen, blen;
	int ret;

	memset(im, 0, sizeof(*im));
	if (size < IMG_PREAMBLE_LEN || memcmp(data, IMG_MAGIC, IMG_MAGIC_LEN))
		return -1;
	im->version = get_le32(data + IMG_MAGIC_LEN);
	hlen = get_le32(data + IMG_MAGIC_LEN + 4);
	if (hlen > size - IMG_PREAMBLE_LEN)
		hlen = size - IMG_PREAMBLE_LEN;
	im->hdr = malloc(hlen ? hlen : 1);
	if (!im->hdr)
		return -1;
	memcpy(im->hdr, data + IMG_PREAMBLE_LEN, hlen);
	im->hdr_len = hlen;
	b = data + IMG_PREAMBLE_LEN + hlen;
	blen = size - IMG_PREAMBLE_LEN - hlen;
	blen -= blen < 4 ? blen : 4;	/* header crc */
	b += size - IMG_PREAMBLE_LEN - hlen - blen;
	im->zstd = blen >= 4 && get_le32(b) == ZSTD_MAGIC;
	if (im->zstd) {
		unzstd(b, blen, &body);
		ret = body.ok ? split_records(body.p, body.len, im) : -1;
		free(body.p);
	} else {
		ret = split_records(b, blen, im);
	}
	if (ret)
		fz_free(im);
	return ret;
}

void fz_free(struct fz_image *im)
{
	size_t i;

	for (i = 0; i < im->n; i++)
		free(im->recs[i].p);
	free(im->recs);
	free(im->hdr);
	memset(im, 0, sizeof(*im));
}

/* Appends one record with its crc; *sum chains the crcs as the trailer does. */
static void put_record(struct fz_buf *b, uint32_t type, uint32_t flags, const uint8_t *p,
		       size_t len, uint32_t *sum)
{
	uint8_t h[IMG_REC_HDR_LEN], tail[4];
	uint32_t crc;

	put_le32(h, type);
	put_le32(h + 4, flags);
	put_le64(h + 8, len);
	crc = crc32c(crc32c(0, h, sizeof(h)), p, len);
	put_le32(tail, crc);
	buf_put(b, h, sizeof(h));
	buf_put(b, p, len);
	buf_put(b, tail, sizeof(tail));
	if (sum)
		*sum = crc32c(*sum, tail, sizeof(tail));
}

/* The plain body: every record, then a trailer that matches them. */
static void plain_body(const struct fz_image *im, struct fz_buf *b)
{
	ImgTrailer t = IMG_TRAILER__INIT;
	uint8_t tb[64];
	uint32_t sum = 0;
	size_t i;

	t.has_records = t.has_checksum = t.has_page_bytes = true;
	for (i = 0; i < im->n; i++) {
		const struct fz_rec *r = &im->recs[i];

		put_record(b, r->type, r->flags, r->p, r->len, &sum);
		if (r->type == IMG_REC_PAGES && r->len >= sizeof(struct img_pages_prefix))
			t.page_bytes += r->len - sizeof(struct img_pages_prefix);
	}
	t.records = im->n;
	t.checksum = sum;
	put_record(b, IMG_REC_TRAILER, 0, tb, img_trailer__pack(&t, tb), NULL);
}

/* Compresses the plain body in independent frames as the writer does. */
static void zstd_body(const struct fz_buf *plain, struct fz_buf *out)
{
	static ZSTD_CCtx *c;	/* kept, as in unzstd() */
	static uint8_t *tmp;
	size_t pos, n, zr, cap = ZSTD_compressBound(IMG_FRAME_BYTES);

	if (!c && img_new_cctx(1, &c)) {
		out->ok = false;
		return;
	}
	if (!tmp)
		tmp = malloc(cap);
	for (pos = 0; tmp && pos < plain->len; pos += n) {
		n = plain->len - pos < IMG_FRAME_BYTES ? plain->len - pos : IMG_FRAME_BYTES;
		zr = ZSTD_compress2(c, tmp, cap, plain->p + pos, n);
		if (ZSTD_isError(zr))
			break;
		buf_put(out, tmp, zr);
	}
	if (!tmp || pos < plain->len)
		out->ok = false;
}

size_t fz_encode(const struct fz_image *im, uint8_t *out, size_t max)
{
	struct fz_buf img = { .ok = true }, plain = { .ok = true };
	uint8_t pre[IMG_PREAMBLE_LEN], crc[4];
	size_t len = 0;

	memcpy(pre, IMG_MAGIC, IMG_MAGIC_LEN);
	put_le32(pre + IMG_MAGIC_LEN, im->version);
	put_le32(pre + IMG_MAGIC_LEN + 4, im->hdr_len);
	put_le32(crc, crc32c(0, im->hdr, im->hdr_len));
	buf_put(&img, pre, sizeof(pre));
	buf_put(&img, im->hdr, im->hdr_len);
	buf_put(&img, crc, sizeof(crc));
	plain_body(im, &plain);
	if (im->zstd && plain.ok)
		zstd_body(&plain, &img);
	else
		buf_put(&img, plain.p, plain.len);
	if (img.ok && plain.ok && img.len <= max) {
		memcpy(out, img.p, img.len);
		len = img.len;
	}
	free(img.p);
	free(plain.p);
	return len;
}
