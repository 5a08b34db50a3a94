// SPDX-License-Identifier: GPL-2.0
/*
 * The image stream of a restart (docs/image-format.md, sections 2-6): the
 * preamble and header, then records, each with its crc32c, the trailer
 * last and nothing after it.  Reads go through a read-ahead buffer with
 * kernel_read() at the stream's own position, so a seekable image can be
 * read twice (restart.c checks it whole before it changes anything).
 *
 * Errors: -EBADMSG for a stream that is not a well-formed image (bad
 * magic, crc, length, truncated, trailing bytes, a trailer that does not
 * match), -EPROTONOSUPPORT for a newer format version, -E2BIG for a header
 * over IMG_MAX_HEADER, -ENOTTY for what the module does not read (an
 * architecture other than x86_64, a page size other than 4096), or the
 * read's own error.  zstd bodies: rst-zstd.c.
 */
#include <linux/crc32.h>
#include <linux/fs.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "pbdec.h"
#include "rst.h"

#define RST_BUF (64u << 10)

/*
 * crc32c as docs/image-format.md defines it (initial value and final xor
 * 0xFFFFFFFF), continuing from crc: rst_crc32c(rst_crc32c(0, a), b) is
 * the crc of a then b.  The kernel's __crc32c_le neither inverts on entry
 * nor on exit (it is the raw register update), lib/img/crc32c.c does
 * both; so the state is inverted around it here.
 */
u32 rst_crc32c(u32 crc, const void *p, size_t len)
{
	return ~__crc32c_le(~crc, p, len);
}

/* Refills the read-ahead buffer: bytes read, 0 at the end, or -errno. */
static ssize_t rst_fill(struct rst_stream *s)
{
	ssize_t n;

	if (s->zstd)
		return rst_zstd_fill(s, RST_BUF);
	n = kernel_read(s->file, s->buf, RST_BUF, &s->pos);
	if (n < 0)
		return n;
	s->len = n;
	s->off = 0;
	return n;
}

/*
 * Takes len bytes of the body (or the head) into dst, or drops them when
 * dst is NULL.  crc: update s->crc with them.  0, -EBADMSG if the stream
 * ends first, or the read's error.
 */
static int rst_take(struct rst_stream *s, void *dst, size_t len, bool crc)
{
	while (len) {
		size_t n = min(len, s->len - s->off);
		ssize_t got;

		if (!n) {
			got = rst_fill(s);
			if (got < 0)
				return got;
			if (!got)
				return -EBADMSG;
			continue;
		}
		if (crc)
			s->crc = rst_crc32c(s->crc, s->buf + s->off, n);
		if (dst) {
			memcpy(dst, s->buf + s->off, n);
			dst = (u8 *)dst + n;
		}
		s->off += n;
		len -= n;
	}
	return 0;
}

/* The header's fields the restart depends on.  0 or -errno. */
static int rst_header(struct rst_stream *s, const u8 *buf, size_t len)
{
	char arch[16] = "";
	u32 comp = 0, psize = 4096;
	struct pbd_dec d;
	struct pbd_field f;
	int ret = 0;

	pbd_init(&d, buf, len);
	pbd_for_each_field(&d, &f, ret) {
		if (f.num == 1)
			ret = pbd_str(&f, arch, sizeof(arch));
		else if (f.num == 7)
			ret = pbd_u32(&f, &comp);
		else if (f.num == 8)
			ret = pbd_u32(&f, &psize);
	}
	if (ret)
		return ret == -E2BIG ? -EBADMSG : ret;
	if (strcmp(arch, "x86_64") || psize != 4096)
		return -ENOTTY;
	if (comp > 1)
		return -EBADMSG;
	s->compressed = comp == 1;
	return 0;
}

/*
 * Starts reading the image of file at pos: preamble, header and its crc.
 * 0 with s ready for rst_rec_next(), or -errno (s needs no close then).
 */
int rst_stream_open(struct rst_stream *s, struct file *file, loff_t pos)
{
	struct img_preamble pre;
	__le32 crc;
	u32 hlen;
	u8 *hdr;
	int ret;

	memset(s, 0, sizeof(*s));
	s->file = file;
	s->pos = pos;
	s->buf = kvmalloc(RST_BUF, GFP_KERNEL);
	if (!s->buf)
		return -ENOMEM;
	ret = rst_take(s, &pre, sizeof(pre), false);
	if (ret)
		goto out_free;
	ret = -EBADMSG;
	if (memcmp(pre.magic, IMG_MAGIC, IMG_MAGIC_LEN) || !le32_to_cpu(pre.version))
		goto out_free;
	ret = -EPROTONOSUPPORT;
	if (le32_to_cpu(pre.version) > IMG_FORMAT_VERSION)
		goto out_free;
	hlen = le32_to_cpu(pre.hdr_len);
	ret = -E2BIG;
	if (hlen > IMG_MAX_HEADER)
		goto out_free;
	ret = -ENOMEM;
	hdr = kvmalloc(hlen ? hlen : 1, GFP_KERNEL);
	if (!hdr)
		goto out_free;
	ret = rst_take(s, hdr, hlen, false);
	ret = ret ?: rst_take(s, &crc, sizeof(crc), false);
	if (!ret && rst_crc32c(0, hdr, hlen) != le32_to_cpu(crc))
		ret = -EBADMSG;
	ret = ret ?: rst_header(s, hdr, hlen);
	kvfree(hdr);
	if (ret)
		goto out_free;
	if (s->compressed) {
		ret = rst_zstd_init(s); /* takes the body bytes read with the head */
		if (ret)
			goto out_free;
	}
	return 0;

out_free:
	kvfree(s->buf);
	s->buf = NULL;
	return ret;
}

void rst_stream_close(struct rst_stream *s)
{
	rst_zstd_free(s);
	kvfree(s->buf);
	s->buf = NULL;
}

/* Bytes a regular file holds past what was taken (its payload and crc
 * must fit there); U64_MAX for other files, whose end is not known. */
static u64 rst_left(const struct rst_stream *s)
{
	struct inode *inode = file_inode(s->file);
	loff_t taken = s->pos - (s->len - s->off), size;

	if (s->zstd || !S_ISREG(inode->i_mode))
		return U64_MAX;
	size = i_size_read(inode);
	return size > taken + IMG_CRC_LEN ? size - taken - IMG_CRC_LEN : 0;
}

/*
 * Reads the head of the next record into r and starts its crc.  0, or
 * -EBADMSG: the stream ends (no trailer), a length over IMG_MAX_RECORD or
 * past the end of a regular file.
 */
int rst_rec_next(struct rst_stream *s, struct rst_rec *r)
{
	struct img_rec_hdr h;
	int ret;

	s->crc = 0;
	ret = rst_take(s, &h, sizeof(h), true);
	if (ret)
		return ret;
	r->type = le32_to_cpu(h.type);
	r->flags = le32_to_cpu(h.flags);
	r->length = le64_to_cpu(h.length);
	r->left = r->length;
	if (r->length > IMG_MAX_RECORD || r->length > rst_left(s))
		return -EBADMSG;
	if (r->type == IMG_REC_PAGES && r->length >= sizeof(struct img_pages_prefix))
		s->page_bytes += r->length - sizeof(struct img_pages_prefix);
	return 0;
}

/* The next len bytes of r's payload; -EBADMSG past its length or the end. */
int rst_rec_read(struct rst_stream *s, struct rst_rec *r, void *dst, size_t len)
{
	int ret;

	if (len > r->left)
		return -EBADMSG;
	ret = rst_take(s, dst, len, true);
	if (!ret)
		r->left -= len;
	return ret;
}

int rst_rec_skip(struct rst_stream *s, struct rst_rec *r)
{
	return rst_rec_read(s, r, NULL, r->left);
}

/*
 * Ends record r: every payload byte read, its stored crc matches.  Counts
 * it for the trailer.  0 or -EBADMSG.
 */
int rst_rec_end(struct rst_stream *s, struct rst_rec *r)
{
	__le32 crc;
	int ret;

	if (r->left)
		return -EBADMSG;
	ret = rst_take(s, &crc, sizeof(crc), false);
	if (ret)
		return ret;
	if (le32_to_cpu(crc) != s->crc)
		return -EBADMSG;
	s->records++;
	s->crcs = rst_crc32c(s->crcs, &crc, sizeof(crc));
	return 0;
}

/* The trailer's fields; 0 or -EBADMSG. */
static int rst_trailer_decode(const u8 *buf, size_t len, u64 *records, u32 *sum, u64 *pages,
			      bool *has_pages)
{
	bool has_rec = false, has_sum = false;
	struct pbd_dec d;
	struct pbd_field f;
	int ret = 0;

	pbd_init(&d, buf, len);
	pbd_for_each_field(&d, &f, ret) {
		if (f.num == 1) {
			ret = pbd_u64(&f, records);
			has_rec = true;
		} else if (f.num == 2) {
			ret = pbd_u32(&f, sum);
			has_sum = true;
		} else if (f.num == 3) {
			ret = pbd_u64(&f, pages);
			*has_pages = true;
		}
	}
	if (ret || !has_rec || !has_sum)
		return -EBADMSG;
	return 0;
}

/*
 * Reads trailer r (its head read by rst_rec_next) and checks it against
 * the records before it, then that nothing follows.  0 or -EBADMSG.
 */
int rst_trailer(struct rst_stream *s, struct rst_rec *r)
{
	u64 records = 0, pages = 0, page_bytes = s->page_bytes;
	bool has_pages = false;
	u8 buf[64];
	__le32 crc;
	u32 sum = 0;
	int ret;

	if (r->length > sizeof(buf))
		return -EBADMSG;
	ret = rst_rec_read(s, r, buf, r->length);
	ret = ret ?: rst_take(s, &crc, sizeof(crc), false);
	if (ret)
		return ret;
	if (le32_to_cpu(crc) != s->crc)
		return -EBADMSG;
	ret = rst_trailer_decode(buf, r->length, &records, &sum, &pages, &has_pages);
	if (ret)
		return ret;
	if (records != s->records || sum != s->crcs || (has_pages && pages != page_bytes))
		return -EBADMSG;
	if (s->off < s->len)
		return -EBADMSG;
	if (s->zstd)
		return rst_zstd_end(s);
	ret = rst_fill(s);
	if (ret)
		return ret < 0 ? ret : -EBADMSG;
	return 0;
}
