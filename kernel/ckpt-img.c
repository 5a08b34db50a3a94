// SPDX-License-Identifier: GPL-2.0
/*
 * The image stream of an in-kernel dump: preamble, header, records, trailer,
 * uncompressed (img_header.compression = COMP_NONE), as docs/image-format.md
 * sections 2, 3 and 6 say.  crc32c is the standard CRC-32C (initial value
 * and final xor 0xFFFFFFFF); the kernel's __crc32c_le() is the raw update
 * without either, so a crc is ~__crc32c_le(~0, ...) and a running crc is
 * kept raw and inverted when stored.
 */
#include <linux/crc32.h>
#include <linux/fs.h>
#include <linux/random.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/string.h>
#include <linux/timekeeping.h>
#include <linux/utsname.h>
#include <linux/nsproxy.h>

#include "vxcr/image.h"
#include "ckpt.h"
#include "vxcr.h"

#define VX_TOOL_VERSION "vxcr.ko 0.1"
#define VX_IMAGE_ID_LEN 16

static u32 crc32c_of(const void *p, size_t n)
{
	return ~__crc32c_le(~0u, p, n);
}

/* The format's check value (section 1): 0 or -EIO when the kernel's differs. */
int vx_crc32c_selftest(void)
{
	return crc32c_of("123456789", 9) == 0xE3069283u ? 0 : -EIO;
}

/*
 * Writes all n bytes at the file's position and moves it on, as write(2)
 * would; a short write is retried, a write that makes no progress fails.
 * 0 or -errno (-EBADF for an fd not open for writing, the file's own error).
 */
int vx_img_write(struct vx_img *img, const void *p, size_t n)
{
	struct file *f = img->file;
	ssize_t ret;
	loff_t pos;

	while (n) {
		if (fatal_signal_pending(current))
			return -EINTR;
		pos = f->f_pos;
		ret = kernel_write(f, p, n, &pos);
		if (ret < 0)
			return ret == -ERESTARTSYS ? -EINTR : (int)ret;
		if (!ret)
			return -EIO;
		if (!(f->f_mode & FMODE_STREAM))
			f->f_pos = pos;
		img->written += ret;
		p += ret;
		n -= ret;
	}
	return 0;
}

/*
 * One record: head, prefix and payload (prefix + payload = the record's
 * payload), crc32c over the head and both.  0 or -errno.
 */
int vx_img_record(struct vx_img *img, u32 type, const void *prefix, size_t plen, const void *p,
		  size_t n)
{
	struct img_rec_hdr h = {
		.type = cpu_to_le32(type),
		.flags = 0,
		.length = cpu_to_le64(plen + n),
	};
	__le32 crc_le;
	u32 crc;
	int ret;

	if (plen + n > IMG_MAX_RECORD)
		return -E2BIG;
	crc = __crc32c_le(~0u, (const u8 *)&h, sizeof(h));
	crc = __crc32c_le(crc, prefix, plen);
	crc = ~__crc32c_le(crc, p, n);
	crc_le = cpu_to_le32(crc);
	ret = vx_img_write(img, &h, sizeof(h));
	if (!ret && plen)
		ret = vx_img_write(img, prefix, plen);
	if (!ret && n)
		ret = vx_img_write(img, p, n);
	if (!ret)
		ret = vx_img_write(img, &crc_le, sizeof(crc_le));
	if (ret)
		return ret;
	img->records++;
	img->crcs = __crc32c_le(img->crcs, (const u8 *)&crc_le, sizeof(crc_le));
	return 0;
}

/* The record built in d->pb, which is emptied for the next.  0 or -errno. */
int vx_img_pb_record(struct vx_dump *d, u32 type)
{
	int ret = pb_err(&d->pb);

	if (!ret)
		ret = vx_img_record(&d->img, type, NULL, 0, d->pb.data, d->pb.len);
	pb_reset(&d->pb);
	return ret;
}

/* img_header: the dumped task's uname (its UTS namespace), no compression. */
static void build_header(struct vx_dump *d, struct pb_buf *b)
{
	u8 id[VX_IMAGE_ID_LEN];
	struct new_utsname *u;
	char rel[sizeof(u->release)], host[sizeof(u->nodename)];

	task_lock(d->task);
	u = d->task->nsproxy ? &d->task->nsproxy->uts_ns->name : utsname();
	strscpy(rel, u->release, sizeof(rel));
	strscpy(host, u->nodename, sizeof(host));
	task_unlock(d->task);
	get_random_bytes(id, sizeof(id));

	pb_str(b, 1, "x86_64");
	pb_str(b, 2, rel);
	pb_str(b, 3, host);
	pb_u64(b, 4, ktime_get_real_ns());
	pb_bytes(b, 5, id, sizeof(id));
	pb_u64(b, 7, 0); /* COMP_NONE */
	pb_u64(b, 8, PAGE_SIZE);
	pb_str(b, 9, VX_TOOL_VERSION);
	pb_u64(b, 10, task_tgid_nr_ns(d->task, d->ns));
}

/* Preamble, header and its crc.  0 or -errno. */
int vx_img_head(struct vx_dump *d)
{
	struct img_preamble pre;
	__le32 crc;
	int ret;

	build_header(d, &d->pb);
	ret = pb_err(&d->pb);
	if (ret)
		goto out_reset;
	if (d->pb.len > IMG_MAX_HEADER) {
		ret = -E2BIG;
		goto out_reset;
	}
	memcpy(pre.magic, IMG_MAGIC, IMG_MAGIC_LEN);
	pre.version = cpu_to_le32(IMG_FORMAT_VERSION);
	pre.hdr_len = cpu_to_le32(d->pb.len);
	crc = cpu_to_le32(crc32c_of(d->pb.data, d->pb.len));
	ret = vx_img_write(&d->img, &pre, sizeof(pre));
	if (!ret)
		ret = vx_img_write(&d->img, d->pb.data, d->pb.len);
	if (!ret)
		ret = vx_img_write(&d->img, &crc, sizeof(crc));
	d->img.crcs = ~0u;
out_reset:
	pb_reset(&d->pb);
	return ret;
}

/* img_trailer: the record count, the crc of their crcs, the page bytes. */
int vx_img_trailer(struct vx_dump *d)
{
	pb_u64(&d->pb, 1, d->img.records);
	pb_u64(&d->pb, 2, ~d->img.crcs);
	pb_u64(&d->pb, 3, d->img.page_bytes);
	return vx_img_pb_record(d, IMG_REC_TRAILER);
}
