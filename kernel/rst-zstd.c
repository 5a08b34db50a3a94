// SPDX-License-Identifier: GPL-2.0
/*
 * zstd bodies of a restart (docs/image-format.md, section 5): independent
 * frames, each checked before it is decoded (magic, no dictionary, no
 * unused or reserved bit, a 2^22 window unless single-segment), at most
 * IMG_FRAME_BYTES of content each, decoded with the kernel's zstd stream
 * decoder (its window limited to 2^22).  Raw_Block frames are ordinary
 * zstd frames to it.  After the trailer the frame must end and nothing
 * may follow.
 */
#include <linux/fs.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/zstd.h>
#include <asm/unaligned.h>

#include "rst.h"

#define RST_RAW (128u << 10)
#define RST_ZSTD_MAGIC 0xFD2FB528u

struct rst_zstd {
	zstd_dstream *ds;
	void *ws;
	u8 *raw; /* RST_RAW bytes read from the file */
	size_t raw_len, raw_off;
	bool in_frame;
	u64 frame_out; /* content bytes of the current frame */
};

int rst_zstd_init(struct rst_stream *s)
{
	size_t wsize = zstd_dstream_workspace_bound(1u << IMG_ZSTD_WINDOW_LOG);
	struct rst_zstd *z;

	z = kzalloc(sizeof(*z), GFP_KERNEL);
	if (!z)
		return -ENOMEM;
	z->ws = kvmalloc(wsize, GFP_KERNEL);
	z->raw = kvmalloc(RST_RAW, GFP_KERNEL);
	if (z->ws && z->raw)
		z->ds = zstd_init_dstream(1u << IMG_ZSTD_WINDOW_LOG, z->ws, wsize);
	if (!z->ds) {
		kvfree(z->raw);
		kvfree(z->ws);
		kfree(z);
		return -ENOMEM;
	}
	/* the read-ahead of the head holds the first raw bytes of the body */
	z->raw_len = s->len - s->off;
	memcpy(z->raw, s->buf + s->off, z->raw_len);
	s->len = 0;
	s->off = 0;
	s->zstd = z;
	return 0;
}

void rst_zstd_free(struct rst_stream *s)
{
	struct rst_zstd *z = s->zstd;

	if (!z)
		return;
	kvfree(z->raw);
	kvfree(z->ws);
	kfree(z);
	s->zstd = NULL;
}

/* At least want bytes of raw input buffered, unless the file ends: bytes
 * buffered, or -errno. */
static ssize_t rst_raw_want(struct rst_stream *s, size_t want)
{
	struct rst_zstd *z = s->zstd;
	ssize_t n;

	if (z->raw_off) {
		memmove(z->raw, z->raw + z->raw_off, z->raw_len - z->raw_off);
		z->raw_len -= z->raw_off;
		z->raw_off = 0;
	}
	while (z->raw_len < want) {
		n = kernel_read(s->file, z->raw + z->raw_len, RST_RAW - z->raw_len, &s->pos);
		if (n < 0)
			return n;
		if (!n)
			break;
		z->raw_len += n;
	}
	return z->raw_len;
}

/* The first bytes of a frame, as the format allows them.  0 or -EBADMSG. */
static int rst_frame_head(const u8 *b)
{
	u8 fhd = b[4];

	if (get_unaligned_le32(b) != RST_ZSTD_MAGIC || (fhd & 0x1b))
		return -EBADMSG;
	if (!(fhd & 0x20) && b[5] != 0x60)
		return -EBADMSG;
	return 0;
}

/* One call of the decoder on what is buffered; 0 or -EBADMSG. */
static int rst_zstd_step(struct rst_zstd *z, zstd_out_buffer *out)
{
	zstd_in_buffer in = { z->raw + z->raw_off, z->raw_len - z->raw_off, 0 };
	size_t before = out->pos, r;

	r = zstd_decompress_stream(z->ds, out, &in);
	z->raw_off += in.pos;
	if (zstd_is_error(r))
		return -EBADMSG;
	z->frame_out += out->pos - before;
	if (z->frame_out > IMG_FRAME_BYTES)
		return -EBADMSG;
	if (!r)
		z->in_frame = false;
	return 0;
}

/*
 * Decodes the next bytes of the body into s->buf (size bytes at most).
 * Returns the bytes decoded, 0 at the end of the file between frames, or
 * -errno (-EBADMSG: a bad frame, or the file ends inside one).
 */
ssize_t rst_zstd_fill(struct rst_stream *s, size_t size)
{
	struct rst_zstd *z = s->zstd;
	zstd_out_buffer out = { s->buf, size, 0 };
	ssize_t n;
	int ret;

	while (!out.pos) {
		n = rst_raw_want(s, z->in_frame ? 1 : 6);
		if (n < 0)
			return n;
		if (!n && !z->in_frame)
			return 0;
		if (!z->in_frame) {
			if (n < 6 || rst_frame_head(z->raw))
				return -EBADMSG;
			z->in_frame = true;
			z->frame_out = 0;
		} else if (!n) {
			return -EBADMSG;
		}
		ret = rst_zstd_step(z, &out);
		if (ret)
			return ret;
	}
	s->len = out.pos;
	s->off = 0;
	return out.pos;
}

/* After the trailer: its frame ends there, nothing follows.  0 or
 * -EBADMSG. */
int rst_zstd_end(struct rst_stream *s)
{
	struct rst_zstd *z = s->zstd;
	zstd_out_buffer out = { s->buf, 1, 0 };
	ssize_t n;
	int ret;

	while (z->in_frame) {
		n = rst_raw_want(s, 1);
		if (n <= 0)
			return n ?: -EBADMSG;
		ret = rst_zstd_step(z, &out);
		if (ret)
			return ret;
		if (out.pos)
			return -EBADMSG; /* a byte after the trailer */
	}
	n = rst_raw_want(s, 1);
	if (n)
		return n < 0 ? n : -EBADMSG;
	return 0;
}
