/*
 * Image stream writer and reader.  The framing is documented in img.h.
 *
 * Writer: records go into a 1 MiB output buffer; a large payload of an
 * uncompressed image is written straight from the caller's memory with one
 * writev (buffered bytes + payload).  With compression on one thread every
 * body byte is fed to a ZSTD_CCtx from the caller's memory and the
 * compressed output collects in the same buffer; a frame is ended every
 * IMG_FRAME_BYTES of input so frames decode independently.  With more
 * threads a pool of workers compresses whole frames (zpool.c).  An
 * uncompressed image with threads != 1 copies the body into chunks that one
 * thread writes out in order while the caller goes on (zpool.c, store mode).
 *
 * Reader: one input buffer; body bytes are copied (or decompressed) straight
 * into the payload buffer, which grows only as data actually arrives, so a
 * hostile length never allocates more than about twice the bytes present.
 * Every error is sticky and described by img_reader_error().  Once a
 * compressed image shows more than one frame, the rest is decompressed
 * ahead on a pool of threads (zread.c); a payload inside one decoded frame
 * is then returned from the frame without a copy.
 */
#include <endian.h>
#include <errno.h>
#include <poll.h>
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

#define LOG_PREFIX "img: "
#include "log.h"
#include "img/img-internal.h"
#include "img/records.h"
#include "util/cleanup.h"
#include "vxcr/vxcr.h"

#define OBUF_SIZE	(1u << 20)	/* writer output buffer */
#define DIRECT_MIN	(64u << 10)	/* payloads this big bypass obuf */
#define REC_HDR_LEN	16
#define PAYLOAD_MIN	(64u << 10)	/* first payload buffer size */

struct img_writer {
	int fd;
	int err;			/* sticky */
	bool finished;
	ZSTD_CCtx *cctx;		/* compressing on the caller's thread */
	struct zpool *pool;		/* compressing on workers, or writing
					 * on a thread (zpool.c) */
	uint64_t frame_in;		/* input bytes in the current frame */
	uint8_t *obuf;
	size_t olen;
	uint64_t nrec;
	uint32_t sum_crc;		/* crc32c over the record crcs */
	uint64_t page_bytes;
	uint8_t *msgbuf;		/* packed protobuf, reused */
	size_t msgcap;
	ImgHeader hdr;
	char arch[65], release[65], host[65], version[16];
	uint8_t image_id[16], parent_id[16];
};

static __thread char open_err[256];

/* Waits until fd is ready for events (non-blocking fds). */
static int wait_fd(int fd, short events)
{
	struct pollfd p = { .fd = fd, .events = events };

	while (poll(&p, 1, -1) < 0)
		if (errno != EINTR)
			return -errno;
	return 0;
}

/* Writes all of iov[0..cnt) to fd, across short writes and EINTR.  Modifies iov. */
static int writev_all(int fd, struct iovec *iov, int cnt)
{
	ssize_t n;
	int ret;

	while (cnt) {
		n = writev(fd, iov, cnt);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN)
				return -errno;
			ret = wait_fd(fd, POLLOUT);
			if (ret)
				return ret;
			continue;
		}
		while (cnt && (size_t)n >= iov->iov_len) {
			n -= iov->iov_len;
			iov++;
			cnt--;
		}
		if (cnt) {
			iov->iov_base = (char *)iov->iov_base + n;
			iov->iov_len -= n;
		}
	}
	return 0;
}

/* ---- writer ---- */

/* writev_all() to the image fd, logging a failure. */
static int out_writev(int fd, struct iovec *iov, int cnt)
{
	int ret = writev_all(fd, iov, cnt);

	if (ret)
		pr_err("write to fd %d: %s\n", fd, strerror(-ret));
	return ret;
}

/* Writes the buffered bytes and, if data, data after them in one writev. */
static int out_flush(struct img_writer *w, const void *data, size_t dlen)
{
	struct iovec iov[2] = {
		{ w->obuf, w->olen },
		{ (void *)data, dlen },
	};
	int ret;

	ret = out_writev(w->fd, w->olen ? iov : iov + 1, w->olen ? 2 : 1);
	if (ret)
		return ret;
	w->olen = 0;
	return 0;
}

/* Appends to the uncompressed output; big pieces go out directly. */
static int out_put(struct img_writer *w, const void *buf, size_t len)
{
	int ret;

	if (len >= DIRECT_MIN)
		return out_flush(w, buf, len);
	if (len > OBUF_SIZE - w->olen) {
		ret = out_flush(w, NULL, 0);
		if (ret)
			return ret;
	}
	memcpy(w->obuf + w->olen, buf, len);
	w->olen += len;
	return 0;
}

/* Writes a frame finished by the compression pool. */
static int pool_out(void *ctx, const void *buf, size_t len)
{
	return out_flush(ctx, buf, len);
}

/* Writes a chunk of an uncompressed body; runs on the writer thread, so it
 * reads nothing of the writer but the fd. */
static int store_out(void *ctx, const void *buf, size_t len)
{
	const struct img_writer *w = ctx;
	struct iovec iov = { (void *)buf, len };

	return out_writev(w->fd, &iov, 1);
}

/* Runs the compressor over src with mode until it is consumed (continue)
 * or the frame is complete (end). */
static int z_run(struct img_writer *w, const void *src, size_t n,
		 ZSTD_EndDirective mode)
{
	ZSTD_inBuffer in = { src, n, 0 };
	ZSTD_outBuffer out;
	size_t zr;
	int ret;

	for (;;) {
		if (w->olen == OBUF_SIZE) {
			ret = out_flush(w, NULL, 0);
			if (ret)
				return ret;
		}
		out = (ZSTD_outBuffer){ w->obuf, OBUF_SIZE, w->olen };
		zr = ZSTD_compressStream2(w->cctx, &out, &in, mode);
		w->olen = out.pos;
		if (ZSTD_isError(zr)) {
			pr_err("zstd compression: %s\n", ZSTD_getErrorName(zr));
			return -EIO;
		}
		if (mode == ZSTD_e_continue ? in.pos == in.size : zr == 0)
			return 0;
	}
}

/* Feeds body bytes to zstd, ending a frame at each IMG_FRAME_BYTES. */
static int z_feed(struct img_writer *w, const uint8_t *buf, size_t len)
{
	size_t n;
	int ret;

	while (len) {
		n = IMG_FRAME_BYTES - w->frame_in;
		if (n > len)
			n = len;
		ret = z_run(w, buf, n, ZSTD_e_continue);
		if (ret)
			return ret;
		w->frame_in += n;
		buf += n;
		len -= n;
		if (w->frame_in == IMG_FRAME_BYTES) {
			ret = z_run(w, NULL, 0, ZSTD_e_end);
			if (ret)
				return ret;
			w->frame_in = 0;
		}
	}
	return 0;
}

/* Puts body bytes into the image, continuing *crc over them if crc. */
static int body_put(struct img_writer *w, const void *buf, size_t len,
		    uint32_t *crc)
{
	if (!len)
		return 0;
	if (w->pool)
		return zpool_put(w->pool, buf, len, crc);
	if (crc)
		*crc = crc32c(*crc, buf, len);
	return w->cctx ? z_feed(w, buf, len) : out_put(w, buf, len);
}

/* Writes one record {type, flags, length, prefix+data, crc}. */
static int write_record(struct img_writer *w, uint32_t type, uint32_t flags,
			const void *prefix, size_t plen, const void *data, uint64_t dlen)
{
	uint8_t hdr[REC_HDR_LEN], tail[4];
	uint32_t crc = 0;
	int ret;

	put_le32(hdr, type);
	put_le32(hdr + 4, flags);
	put_le64(hdr + 8, plen + dlen);

	ret = body_put(w, hdr, sizeof(hdr), &crc);
	if (!ret)
		ret = body_put(w, prefix, plen, &crc);
	if (!ret)
		ret = body_put(w, data, dlen, &crc);
	put_le32(tail, crc);
	if (!ret)
		ret = body_put(w, tail, sizeof(tail), NULL);
	if (ret) {
		w->err = ret;
		return ret;
	}
	w->sum_crc = crc32c(w->sum_crc, tail, sizeof(tail));
	return 0;
}

/* Checks that a record may be written now; returns 0 or -errno. */
static int check_writable(struct img_writer *w, uint32_t type, uint64_t len)
{
	if (w->err)
		return w->err;
	if (w->finished || type == IMG_REC_TRAILER) {
		pr_err("record %s written %s\n", img_rec_name(type),
		       w->finished ? "after finish" : "by the caller");
		return -EINVAL;
	}
	if (len > IMG_MAX_RECORD) {
		pr_err("%s record of %llu bytes exceeds the %llu byte limit\n",
		       img_rec_name(type), (unsigned long long)len,
		       (unsigned long long)IMG_MAX_RECORD);
		return -E2BIG;
	}
	return 0;
}

/* A raw record whose payload is prefix followed by data.  Returns 0 or -errno. */
int img_write_raw2(struct img_writer *w, uint32_t type, uint32_t flags,
		   const void *prefix, size_t plen, const void *data, uint64_t dlen)
{
	const struct img_rec_desc *d = img_rec_lookup(type);
	int ret;

	ret = check_writable(w, type, plen + dlen);
	if (ret)
		return ret;
	if (d && (d->pb || plen + dlen < d->prefix_len)) {
		pr_err("%s record: %s\n", d->name, d->pb ? "is not raw" :
		       "shorter than its prefix");
		return -EINVAL;
	}
	if (d)
		flags |= d->flags;
	ret = write_record(w, type, flags, prefix, plen, data, dlen);
	if (ret)
		return ret;
	w->nrec++;
	if (type == IMG_REC_PAGES)
		w->page_bytes += plen + dlen - d->prefix_len;
	return 0;
}

/* A raw record.  Returns 0 or -errno. */
int img_write_raw(struct img_writer *w, uint32_t type, uint32_t flags,
		  const void *payload, uint64_t len)
{
	return img_write_raw2(w, type, flags, NULL, 0, payload, len);
}

/* Packs msg into the reusable buffer; returns its length or -errno. */
static ssize_t pack_msg(struct img_writer *w, const ProtobufCMessage *msg)
{
	size_t len = protobuf_c_message_get_packed_size(msg);
	uint8_t *p;

	if (len > w->msgcap) {
		p = realloc(w->msgbuf, len);
		if (!p)
			return -ENOMEM;
		w->msgbuf = p;
		w->msgcap = len;
	}
	return protobuf_c_message_pack(msg, w->msgbuf);
}

/* A protobuf record of a known type whose descriptor matches msg. */
int img_write_msg(struct img_writer *w, uint32_t type, const ProtobufCMessage *msg)
{
	const struct img_rec_desc *d = img_rec_lookup(type);
	ssize_t len;
	int ret;

	if (!d || d->pb != msg->descriptor) {
		pr_err("record type %u (%s) does not take a %s message\n", type,
		       img_rec_name(type), msg->descriptor->name);
		return -EINVAL;
	}
	len = pack_msg(w, msg);
	if (len < 0)
		return len;
	ret = check_writable(w, type, len);
	if (ret)
		return ret;
	ret = write_record(w, type, d->flags, NULL, 0, w->msgbuf, len);
	if (!ret)
		w->nrec++;
	return ret;
}

/* Writes the trailer, ends compression, flushes; does not close fd. */
int img_writer_finish(struct img_writer *w)
{
	ImgTrailer t = IMG_TRAILER__INIT;
	ssize_t len;
	int ret;

	if (w->err)
		return w->err;
	if (w->finished)
		return -EINVAL;
	t.has_records = t.has_checksum = t.has_page_bytes = true;
	t.records = w->nrec;
	t.checksum = w->sum_crc;
	t.page_bytes = w->page_bytes;
	len = pack_msg(w, &t.base);
	if (len < 0)
		return len;
	ret = write_record(w, IMG_REC_TRAILER, 0, NULL, 0, w->msgbuf, len);
	if (!ret && w->cctx)
		ret = z_run(w, NULL, 0, ZSTD_e_end);
	if (!ret && w->pool)
		ret = zpool_finish(w->pool);
	if (!ret && w->olen)
		ret = out_flush(w, NULL, 0);
	if (ret) {
		w->err = ret;
		return ret;
	}
	w->finished = true;
	return 0;
}

/* Fills the header from the host and opts. */
static int fill_header(struct img_writer *w, const struct img_write_opts *o)
{
	ImgHeader *h = &w->hdr;
	struct utsname u;
	struct timespec ts;
	ssize_t n;

	img_header__init(h);
	if (uname(&u) == 0) {
		snprintf(w->arch, sizeof(w->arch), "%s", u.machine);
		snprintf(w->release, sizeof(w->release), "%s", u.release);
		snprintf(w->host, sizeof(w->host), "%s", u.nodename);
	}
	snprintf(w->version, sizeof(w->version), "%s", VXCR_VERSION);
	h->arch = w->arch;
	h->kernel_release = w->release;
	h->hostname = w->host;
	h->tool_version = w->version;
	clock_gettime(CLOCK_REALTIME, &ts);
	h->has_ctime_ns = true;
	h->ctime_ns = (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
	do
		n = getrandom(w->image_id, sizeof(w->image_id), 0);
	while (n < 0 && errno == EINTR);
	if (n != (ssize_t)sizeof(w->image_id)) {
		pr_perror("getrandom for the image id");
		return n < 0 ? -errno : -EIO;
	}
	h->has_image_id = true;
	h->image_id = (ProtobufCBinaryData){ sizeof(w->image_id), w->image_id };
	if (o->parent_id) {
		memcpy(w->parent_id, o->parent_id, sizeof(w->parent_id));
		h->has_parent_id = true;
		h->parent_id = (ProtobufCBinaryData){ sizeof(w->parent_id), w->parent_id };
	}
	h->has_compression = true;
	h->compression = o->compress ? IMG_COMPRESSION__COMP_ZSTD : IMG_COMPRESSION__COMP_NONE;
	h->has_page_size = true;
	h->page_size = sysconf(_SC_PAGESIZE);
	h->has_root_pid = true;
	h->root_pid = o->root_pid;
	return 0;
}

/* Buffers magic, version, header and its crc. */
static int put_preamble(struct img_writer *w)
{
	size_t len = img_header__get_packed_size(&w->hdr);
	uint8_t *p = w->obuf;

	if (len > IMG_MAX_HEADER)
		return -E2BIG;
	memcpy(p, IMG_MAGIC, IMG_MAGIC_LEN);
	p += IMG_MAGIC_LEN;
	put_le32(p, IMG_FORMAT_VERSION);
	put_le32(p + 4, len);
	p += 8;
	img_header__pack(&w->hdr, p);
	put_le32(p + len, crc32c(0, p, len));
	w->olen = p + len + 4 - w->obuf;
	return 0;
}

/* Sets up threads: compression on the caller's thread or on a pool of
 * workers, or an uncompressed body written on the caller's thread or on a
 * writer thread (threads 0: online CPUs, at most AUTO_THREADS_MAX). */
static int setup_threads(struct img_writer *w, const struct img_write_opts *o)
{
	long n = o->threads;

	if (n < 0 || n > THREADS_MAX) {
		pr_err("%ld writer threads: not in 0..%d\n", n, THREADS_MAX);
		return -EINVAL;
	}
	if (!n) {
		n = sysconf(_SC_NPROCESSORS_ONLN);
		n = n < 1 ? 1 : n > AUTO_THREADS_MAX ? AUTO_THREADS_MAX : n;
	}
	if (!o->compress)
		return n == 1 ? 0 : zpool_start_store(store_out, w, &w->pool);
	if (n == 1)
		return img_new_cctx(o->level, &w->cctx);
	return zpool_start(n, o->level, pool_out, w, &w->pool);
}

/* Starts an image on fd.  Returns 0 or -errno; on success *out owns the writer. */
int img_writer_open(int fd, const struct img_write_opts *opts, struct img_writer **out)
{
	static const struct img_write_opts defaults = { .compress = true };
	const struct img_write_opts *o = opts ? opts : &defaults;
	struct img_writer *w;
	int ret = -ENOMEM;

	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->fd = fd;
	w->obuf = malloc(OBUF_SIZE);
	if (!w->obuf)
		goto out_free;
	ret = fill_header(w, o);
	if (ret)
		goto out_free;
	ret = setup_threads(w, o);
	if (ret)
		goto out_free;
	ret = put_preamble(w);
	if (ret)
		goto out_free;
	if (w->pool && !o->compress) {	/* the body's writer writes it too */
		ret = zpool_put(w->pool, w->obuf, w->olen, NULL);
		if (ret)
			goto out_free;
		w->olen = 0;
	}
	*out = w;
	return 0;

out_free:
	img_writer_free(w);
	return ret;
}

void img_writer_free(struct img_writer *w)
{
	if (!w)
		return;
	zpool_free(w->pool);
	ZSTD_freeCCtx(w->cctx);
	free(w->msgbuf);
	free(w->obuf);
	free(w);
}

const ImgHeader *img_writer_header(const struct img_writer *w)
{
	return &w->hdr;
}

/* ---- reader ---- */

/* Records err with a one-line message naming the current record. */
int img_rfail(struct img_reader *r, int err, const char *fmt, ...)
{
	char what[160];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (r->cur_known)
		snprintf(r->errmsg, sizeof(r->errmsg),
			 "record %llu (%s) at body offset %llu: %s",
			 (unsigned long long)r->cur.index, img_rec_name(r->cur.type),
			 (unsigned long long)r->cur.offset, what);
	else
		snprintf(r->errmsg, sizeof(r->errmsg),
			 "record %llu at body offset %llu: %s",
			 (unsigned long long)r->cur.index,
			 (unsigned long long)r->cur.offset, what);
	pr_err("%s\n", r->errmsg);
	r->err = err;
	return err;
}

int img_reader_fail(struct img_reader *r, const struct img_record *rec, int err,
		    const char *what)
{
	r->cur = *rec;
	r->cur_known = true;
	return img_rfail(r, err, "%s", what);
}

/* Reads once into dst; returns bytes, 0 at EOF, or -errno. */
static ssize_t read_some(struct img_reader *r, void *dst, size_t n)
{
	ssize_t got;
	int ret;

	if (r->rerr)		/* met by the pool's reader thread */
		return r->rerr;
	for (;;) {
		got = read(r->fd, dst, n);
		if (got >= 0)
			break;
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN)
			return -errno;
		ret = wait_fd(r->fd, POLLIN);
		if (ret)
			return ret;
	}
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
	if (r->ilen == r->icap)	/* zstd took nothing from a full buffer */
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
		} else if (n >= r->icap) {	/* big: straight into dst */
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
	if ((p[4] & 0x1b) ||
	    (!(p[4] & 0x20) && p[5] != (IMG_ZSTD_WINDOW_LOG - 10) << 3))
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
	return r->threads > 1 && !r->pool_tried && !r->err &&
	       (r->frames || r->threads_fixed);
}

/* Decompresses n body bytes into dst: 0, -ENODATA, -EBADMSG or -errno. */
static int z_read(struct img_reader *r, void *dst, size_t n)
{
	ZSTD_outBuffer out = { dst, n, 0 };
	ZSTD_inBuffer in;
	size_t zr, before;
	ssize_t got;
	int ret;

	while (out.pos < out.size) {
		if (r->frame_start && pool_wanted(r))
			zr_start(r, r->threads);	/* on failure: read on here */
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
		in = (ZSTD_inBuffer){ r->ibuf, r->ilen, r->ipos };
		before = out.pos;
		zr = ZSTD_decompressStream(r->dctx, &out, &in);
		if (ZSTD_isError(zr))
			return img_rfail(r, -EBADMSG, "zstd: %s", ZSTD_getErrorName(zr));
		if (zr == 0) {
			r->frame_start = true;
			r->frames++;
		}
		if (out.pos == before && in.pos == r->ipos) {
			got = fill(r);
			if (got <= 0)
				return got < 0 ? got : -ENODATA;
		} else {
			r->ipos = in.pos;
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
		ret = zr_check_end(r);	/* then the rest as below */
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
	if (r->err)	/* already described (zstd, frame header) */
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
	uint8_t hdr[REC_HDR_LEN], tail[4];
	uint32_t crc;
	int ret;

	ret = body_read(r, hdr, sizeof(hdr));
	if (ret)
		return read_error(r, ret, r->body_off ? "image (no trailer)" :
				  "image (no records)");
	r->cur.type = get_le32(hdr);
	r->cur.flags = get_le32(hdr + 4);
	r->cur.length = get_le64(hdr + 8);
	r->cur_known = true;
	if (r->cur.length > IMG_MAX_RECORD)
		return img_rfail(r, -E2BIG, "length %llu exceeds the %llu byte limit",
			     (unsigned long long)r->cur.length,
			     (unsigned long long)IMG_MAX_RECORD);
	if (r->zlive && zr_payload(r, r->cur.length)) {
		ret = 0;	/* r->pdata points into the pool's frame */
	} else {
		ret = read_payload(r, r->cur.length);
		r->pdata = r->payload;
	}
	if (!ret)
		ret = body_read(r, tail, sizeof(tail));
	if (ret)
		return read_error(r, ret, "record");
	crc = crc32c(0, hdr, sizeof(hdr));
	crc = crc32c(crc, r->pdata, r->cur.length);
	if (crc != get_le32(tail))
		return img_rfail(r, -EBADMSG, "checksum mismatch");
	r->cur_crc = crc;
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
	if (r->cur.type == IMG_REC_TRAILER) {
		ret = read_trailer(r, r->cur.length);
		if (ret)
			return ret;
		r->done = true;
		*rec = r->cur;
		return 0;
	}
	if (r->cur.type == IMG_REC_PAGES)
		r->page_bytes += r->cur.length - d->prefix_len;
	r->sum_crc = crc32c(r->sum_crc, &(uint32_t){ htole32(r->cur_crc) }, 4);
	r->nrec++;
	*rec = r->cur;
	return 1;
}

/* Records a header-level failure for img_last_open_error(). */
static int open_fail(int err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

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
static int read_preamble(struct img_reader *r, uint32_t *hlen)
{
	uint8_t pre[IMG_MAGIC_LEN + 8];
	int ret;

	ret = raw_read(r, pre, sizeof(pre));
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
		return open_fail(-E2BIG, "header length %u exceeds the %u byte limit",
				 *hlen, IMG_MAX_HEADER);
	return 0;
}

/* Reads and checks the header; sets up decompression. */
static int read_header(struct img_reader *r)
{
	_cleanup_free_ uint8_t *buf = NULL;
	uint32_t hlen = 0;
	uint8_t tail[4];
	int ret;

	ret = read_preamble(r, &hlen);
	if (ret)
		return ret;
	buf = malloc(hlen + 1);
	if (!buf)
		return -ENOMEM;
	ret = raw_read(r, buf, hlen);
	if (!ret)
		ret = raw_read(r, tail, sizeof(tail));
	if (ret)
		return open_fail(ret, "header: %s", ret == -ENODATA ? "truncated" :
				 strerror(-ret));
	if (crc32c(0, buf, hlen) != get_le32(tail))
		return open_fail(-EBADMSG, "header: checksum mismatch");
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

/* Opens an image on fd and checks its header.  Returns 0 or -errno
 * (message in img_last_open_error()); on success *out owns the reader. */
int img_reader_open(int fd, struct img_reader **out)
{
	struct img_reader *r;
	int ret = -ENOMEM;

	open_err[0] = '\0';
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->fd = fd;
	r->ibuf = malloc(IBUF_SIZE);
	if (!r->ibuf)
		goto out_free;
	r->icap = IBUF_SIZE;
	r->threads = auto_threads();
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

void img_reader_free(struct img_reader *r)
{
	if (!r)
		return;
	zr_stop(r);
	if (r->hdr)
		img_header__free_unpacked(r->hdr, NULL);
	ZSTD_freeDCtx(r->dctx);
	free(r->payload);
	free(r->ibuf);
	free(r);
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
