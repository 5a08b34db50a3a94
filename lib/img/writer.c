/*
 * Image stream writer (the reader is reader.c).  The format is
 * docs/image-format.md.
 *
 * Writer: records go into a 1 MiB output buffer; a large payload of an
 * uncompressed image is written straight from the caller's memory with one
 * writev (buffered bytes + payload) to the sink (stream.h: an fd, memory,
 * later a channel).  With compression on one thread every
 * body byte is fed to a ZSTD_CCtx from the caller's memory and the
 * compressed output collects in the same buffer; a frame is ended every
 * IMG_FRAME_BYTES of input so frames decode independently.  With more
 * threads a pool of workers compresses whole frames (zpool.c); by default
 * (adaptive) they decide per frame whether to compress it or store it as a
 * raw-block frame (zframe.h) and a writer thread writes them out.  An
 * uncompressed image with threads != 1 copies the body into chunks that one
 * thread writes out in order while the caller goes on (zpool.c, store mode).
 *
 * Signed images (sign.h): the body is hashed as stored, a segment per
 * frame: on the pool's threads when there is a pool, else here (the
 * compressor's output, or the uncompressed body in IMG_FRAME_BYTES
 * pieces); a SIGNATURE record goes before the first page record and
 * before the trailer, each at the start of a new frame (and segment).
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

#define LOG_PREFIX "img/writer: "
#include "log.h"
#include "img/img-internal.h"
#include "img/records.h"
#include "img/sign.h"
#include "img/stream.h"
#include "sign.pb-c.h"
#include "util/cleanup.h"
#include "vxcr/vxcr.h"

#define OBUF_SIZE (1u << 20)	/* writer output buffer */
#define DIRECT_MIN (64u << 10)	/* payloads this big bypass obuf */
#define PAYLOAD_MIN (64u << 10) /* first payload buffer size */

struct img_writer {
	struct img_sink *sink;
	bool own_sink; /* made by img_writer_open() */
	int err;       /* sticky */
	bool finished;
	ZSTD_CCtx *cctx;    /* compressing on the caller's thread */
	struct zpool *pool; /* compressing on workers, or writing
					 * on a thread (zpool.c) */
	bool pool_writes;   /* the pool writes the body on its thread */
	uint64_t frame_in;  /* input bytes in the current frame */
	uint8_t *obuf;
	size_t olen;
	uint64_t nrec;
	uint32_t sum_crc; /* crc32c over the record crcs */
	uint64_t page_bytes;
	uint8_t *msgbuf; /* packed protobuf, reused */
	size_t msgcap;
	ImgHeader hdr;
	uint64_t body_off;	    /* body bytes so far */
	const struct vxcr_key *key; /* signing, or NULL */
	struct img_sighash sh;
	bool plan_signed; /* SIGNATURE before the pages written */
	img_tap_fn tap;	  /* sees each record written, or NULL */
	void *tap_arg;
	char arch[65], release[65], host[65], version[16];
	uint8_t image_id[16], parent_id[16];
};

/* ---- writer ---- */

/* Writes the buffered bytes and, if data, data after them in one writev. */
static int out_flush(struct img_writer *w, const void *data, size_t dlen)
{
	struct iovec iov[2] = {
		{ w->obuf, w->olen },
		{ (void *)data, dlen },
	};
	int ret;

	ret = img_sink_writev_all(w->sink, w->olen ? iov : iov + 1, w->olen ? 2 : 1);
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
 * touches nothing of the writer but the sink. */
static int store_out(void *ctx, const void *buf, size_t len)
{
	const struct img_writer *w = ctx;

	return img_sink_write_all(w->sink, buf, len);
}

/* Writes a frame gathered by the adaptive pool; runs on its writer thread,
 * so it touches nothing of the writer but the sink. */
static int auto_out(void *ctx, struct iovec *iov, int cnt)
{
	const struct img_writer *w = ctx;

	return img_sink_writev_all(w->sink, iov, cnt);
}

/* Runs the compressor over src with mode until it is consumed (continue)
 * or the frame is complete (end).  Signing: hashes what it stores. */
static int z_run(struct img_writer *w, const void *src, size_t n, ZSTD_EndDirective mode)
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
		if (w->key)
			img_sighash_add(&w->sh, w->obuf + w->olen, out.pos - w->olen);
		w->olen = out.pos;
		if (ZSTD_isError(zr)) {
			pr_err("zstd compression: %s\n", ZSTD_getErrorName(zr));
			return -EIO;
		}
		if (mode == ZSTD_e_end && zr == 0 && w->key)
			img_sighash_cut(&w->sh); /* a frame is a segment */
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
static int body_put(struct img_writer *w, const void *buf, size_t len, uint32_t *crc)
{
	if (!len)
		return 0;
	w->body_off += len;
	if (w->pool)
		return zpool_put(w->pool, buf, len, crc);
	if (w->key && !w->cctx) /* stored as it is (z_run: compressed) */
		img_sighash_update(&w->sh, buf, len);
	if (crc)
		*crc = crc32c(*crc, buf, len);
	return w->cctx ? z_feed(w, buf, len) : out_put(w, buf, len);
}

/* Writes one record {type, flags, length, prefix+data, crc}. */
static int write_record(struct img_writer *w, uint32_t type, uint32_t flags, const void *prefix,
			size_t plen, const void *data, uint64_t dlen)
{
	uint8_t hdr[IMG_REC_HDR_LEN], tail[4];
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
		pr_err("%s record of %llu bytes exceeds the %llu byte limit\n", img_rec_name(type),
		       (unsigned long long)len, (unsigned long long)IMG_MAX_RECORD);
		return -E2BIG;
	}
	return 0;
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

/* Ends the frame and the signature segment being written, so that the
 * next record starts both. */
static int cut_segment(struct img_writer *w)
{
	int ret = 0;

	if (w->pool)
		return zpool_finish(w->pool);
	if (w->cctx && w->frame_in) {
		ret = z_run(w, NULL, 0, ZSTD_e_end);
		w->frame_in = 0;
	}
	img_sighash_cut(&w->sh);
	return ret;
}

/* Writes a SIGNATURE record of scope over everything before it. */
static int write_signature(struct img_writer *w, uint32_t scope)
{
	uint8_t digest[IMG_HASH_LEN], sig[crypto_sign_BYTES];
	SigEntry e = SIG_ENTRY__INIT;
	ssize_t len;
	int ret;

	ret = cut_segment(w);
	if (ret)
		return w->err = ret;
	img_sighash_digest(&w->sh, w->body_off, digest);
	ret = img_sign(w->key, digest, sig);
	if (ret)
		return ret;
	e.has_key_id = e.has_scope = e.has_digest = e.has_signature = true;
	e.has_scheme = true;
	e.scheme = IMG_SIG_SCHEME;
	e.key_id = (ProtobufCBinaryData){ IMG_KEY_ID_LEN, (uint8_t *)w->key->id };
	e.scope = scope;
	e.digest = (ProtobufCBinaryData){ sizeof(digest), digest };
	e.signature = (ProtobufCBinaryData){ sizeof(sig), sig };
	len = pack_msg(w, &e.base);
	if (len < 0)
		return len;
	ret = write_record(w, IMG_REC_SIGNATURE, IMG_RF_OPTIONAL, NULL, 0, w->msgbuf, len);
	if (!ret)
		w->nrec++;
	return ret;
}

/* Hands record number w->nrec, just written, to the tap; its error sticks. */
static int tap_record(struct img_writer *w, uint32_t type, uint32_t flags, const void *prefix,
		      size_t plen, const void *data, uint64_t dlen)
{
	struct img_record hdr = {
		.type = type,
		.flags = flags,
		.length = plen + dlen,
		.index = w->nrec,
	};
	int ret;

	if (!w->tap)
		return 0;
	ret = w->tap(w->tap_arg, &hdr, prefix, plen, data, dlen);
	if (ret)
		w->err = ret;
	return ret;
}

void img_writer_set_tap(struct img_writer *w, img_tap_fn fn, void *arg)
{
	w->tap = fn;
	w->tap_arg = arg;
}

/* A raw record whose payload is prefix followed by data.  Returns 0 or -errno. */
int img_write_raw2(struct img_writer *w, uint32_t type, uint32_t flags, const void *prefix,
		   size_t plen, const void *data, uint64_t dlen)
{
	const struct img_rec_desc *d = img_rec_lookup(type);
	int ret;

	ret = check_writable(w, type, plen + dlen);
	if (ret)
		return ret;
	if (d && (d->pb || plen + dlen < d->prefix_len)) {
		pr_err("%s record: %s\n", d->name,
		       d->pb ? "is not raw" : "shorter than its prefix");
		return -EINVAL;
	}
	if (d)
		flags |= d->flags;
	if (w->key && !w->plan_signed && (type == IMG_REC_PAGES || type == IMG_REC_SHMEM_PAGES)) {
		ret = write_signature(w, IMG_SIG_SCOPE_PLAN);
		if (ret)
			return ret;
		w->plan_signed = true;
	}
	ret = write_record(w, type, flags, prefix, plen, data, dlen);
	ret = ret ?: tap_record(w, type, flags, prefix, plen, data, dlen);
	if (ret)
		return ret;
	w->nrec++;
	if (type == IMG_REC_PAGES)
		w->page_bytes += plen + dlen - d->prefix_len;
	return 0;
}

/* A raw record.  Returns 0 or -errno. */
int img_write_raw(struct img_writer *w, uint32_t type, uint32_t flags, const void *payload,
		  uint64_t len)
{
	return img_write_raw2(w, type, flags, NULL, 0, payload, len);
}

/* A protobuf record of a known type whose descriptor matches msg. */
int img_write_msg(struct img_writer *w, uint32_t type, const ProtobufCMessage *msg)
{
	const struct img_rec_desc *d = img_rec_lookup(type);
	ssize_t len;
	int ret;

	if (!d || d->pb != msg->descriptor || type == IMG_REC_SIGNATURE) {
		pr_err("record type %u (%s) does not take a %s message\n", type, img_rec_name(type),
		       msg->descriptor->name);
		return -EINVAL;
	}
	len = pack_msg(w, msg);
	if (len < 0)
		return len;
	ret = check_writable(w, type, len);
	if (ret)
		return ret;
	ret = write_record(w, type, d->flags, NULL, 0, w->msgbuf, len);
	ret = ret ?: tap_record(w, type, d->flags, NULL, 0, w->msgbuf, len);
	if (!ret)
		w->nrec++;
	return ret;
}

/* Writes the trailer, ends compression, flushes; the sink stays open. */
int img_writer_finish(struct img_writer *w)
{
	ImgTrailer t = IMG_TRAILER__INIT;
	ssize_t len;
	int ret;

	if (w->err)
		return w->err;
	if (w->finished)
		return -EINVAL;
	if (w->key) {
		ret = write_signature(w, IMG_SIG_SCOPE_FINAL);
		if (ret)
			return ret;
	}
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

/* Takes the hash of a frame the pool hashed: the next signature segment. */
static void pool_seg(void *ctx, const uint8_t *hash)
{
	struct img_writer *w = ctx;

	img_sighash_fold(&w->sh, hash);
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
	if (w->key) {
		uint8_t pre[IMG_HASH_LEN];

		img_hash(pre, w->obuf, w->olen);
		img_sighash_start(&w->sh, pre);
	}
	return 0;
}

/* Sets up threads: compression on the caller's thread or on a pool of
 * workers, or an uncompressed body written on the caller's thread or on a
 * writer thread (threads 0: online CPUs, at most AUTO_THREADS_MAX). */
static int setup_threads(struct img_writer *w, const struct img_write_opts *o)
{
	long n = o->threads;
	zpool_seg_fn seg;

	if (n < 0 || n > THREADS_MAX) {
		pr_err("%ld writer threads: not in 0..%d\n", n, THREADS_MAX);
		return -EINVAL;
	}
	if (!n) {
		n = sysconf(_SC_NPROCESSORS_ONLN);
		n = n < 1 ? 1 : n > AUTO_THREADS_MAX ? AUTO_THREADS_MAX : n;
	}
	seg = o->sign_key ? pool_seg : NULL;
	if (!o->compress && n > 1 && seg) /* hashing needs more than one thread */
		return zpool_start_plain(n, pool_out, seg, w, &w->pool);
	w->pool_writes = n > 1 && (!o->compress || o->adaptive);
	if (!o->compress)
		return n == 1 ? 0 : zpool_start_store(store_out, seg, w, &w->pool);
	if (n == 1)
		return img_new_cctx(o->level, &w->cctx);
	if (o->adaptive)
		return zpool_start_auto(n, o->level, auto_out, seg, w, &w->pool);
	return zpool_start(n, o->level, pool_out, seg, w, &w->pool);
}

/* Starts an image on sink (borrowed: it must outlive the writer).  Returns
 * 0 or -errno; on success *out owns the writer. */
int img_writer_open_sink(struct img_sink *sink, const struct img_write_opts *opts,
			 struct img_writer **out)
{
	static const struct img_write_opts defaults = { .compress = true };
	const struct img_write_opts *o = opts ? opts : &defaults;
	struct img_writer *w;
	int ret = -ENOMEM;

	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->sink = sink;
	w->key = opts ? opts->sign_key : NULL;
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
	if (w->pool_writes) { /* before the body's writer starts */
		ret = out_flush(w, NULL, 0);
		if (ret)
			goto out_free;
	}
	*out = w;
	return 0;

out_free:
	img_writer_free(w);
	return ret;
}

/* Starts an image on fd (an fd sink, img_sink_fd()).  Returns 0 or -errno;
 * on success *out owns the writer. */
int img_writer_open(int fd, const struct img_write_opts *opts, struct img_writer **out)
{
	char name[IMG_STREAM_NAME_LEN];
	struct img_sink *sink;
	const char *kind;
	mode_t mode;
	int ret;

	kind = img_fd_kind(fd, &mode);
	snprintf(name, sizeof(name), "the image output (fd %d, %s%s)", fd, kind ? "a " : "",
		 kind ? kind : "unknown");
	ret = img_sink_fd(fd, name, &sink);
	if (ret)
		return ret;
	ret = img_writer_open_sink(sink, opts, out);
	if (ret) {
		img_sink_free(sink);
		return ret;
	}
	(*out)->own_sink = true;
	return 0;
}

void img_writer_free(struct img_writer *w)
{
	if (!w)
		return;
	zpool_free(w->pool);
	ZSTD_freeCCtx(w->cctx);
	if (w->own_sink)
		img_sink_free(w->sink);
	free(w->msgbuf);
	free(w->obuf);
	free(w);
}

struct img_sink *img_writer_sink(const struct img_writer *w)
{
	return w->sink;
}

/* The message of the writer's sticky error: the sink's when the sink
 * failed ("write to pipe (fd 1): Broken pipe"), else "". */
const char *img_writer_error(const struct img_writer *w)
{
	return w->sink->errmsg;
}

const ImgHeader *img_writer_header(const struct img_writer *w)
{
	return &w->hdr;
}
