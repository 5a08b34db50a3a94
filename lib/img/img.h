/*
 * Image stream: framing, records, compression, checksums.
 *
 * The format is specified in docs/image-format.md; its numbers and fixed
 * layouts (magic, version, record head, record types, raw prefixes, limits)
 * are in vxcr/image.h, which a kernel writer includes too.  This is the
 * library's reader and writer of it.
 */
#ifndef VXCR_IMG_H
#define VXCR_IMG_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include <protobuf-c/protobuf-c.h>

#include "header.pb-c.h"
#include "vxcr/image.h"
#include "img/stream.h"

struct img_writer;
struct img_reader;
struct vxcr_key;
struct vxcr_keyring;

struct img_write_opts {
	bool compress; /* zstd on */
	int level;     /* zstd level, 0 = library default fast level */
	bool adaptive; /* with compress and threads != 1: per frame,
				 * compressed or stored raw (zpool.c) */
	int threads;   /* compression threads: 0 = online CPUs, at
				 * most 4; 1 = the caller's thread */
	/* uncompressed: 1 = write on the caller's
				 * thread; otherwise (0: with 2+ online
				 * CPUs) one writer thread writes while the
				 * caller goes on */
	uint32_t root_pid;
	const uint8_t *parent_id;	 /* 16 bytes or NULL */
	const struct vxcr_key *sign_key; /* sign (sign.h), or NULL */
};

/* One record as returned by img_read_record(); payload valid until next call. */
struct img_record {
	uint32_t type;
	uint32_t flags;
	uint64_t length;
	const void *payload;
	uint64_t index;	 /* 0-based position in the stream */
	uint64_t offset; /* offset of the record in the (decompressed) body */
};

/* Writer.  All return 0 or -errno.  The writer puts its bytes into a sink
 * (stream.h; borrowed, it must outlive the writer); img_writer_open() makes
 * an fd sink the writer owns. */
int img_writer_open_sink(struct img_sink *sink, const struct img_write_opts *opts,
			 struct img_writer **out);
int img_writer_open(int fd, const struct img_write_opts *opts, struct img_writer **out);
int img_write_raw(struct img_writer *w, uint32_t type, uint32_t flags, const void *payload,
		  uint64_t len);
/* A raw record whose payload is prefix followed by data (avoids a copy). */
int img_write_raw2(struct img_writer *w, uint32_t type, uint32_t flags, const void *prefix,
		   size_t plen, const void *data, uint64_t dlen);
int img_write_msg(struct img_writer *w, uint32_t type, const ProtobufCMessage *msg);
/* Writes the trailer, ends compression, flushes; the sink stays open (an fd
 * is not closed, nor synced: img_sink_sync()). */
int img_writer_finish(struct img_writer *w);
/* The writer's sink; the message of a failed write ("write to pipe (fd 1):
 * Broken pipe"), or "". */
struct img_sink *img_writer_sink(const struct img_writer *w);
const char *img_writer_error(const struct img_writer *w);
/*
 * A tap sees every record the caller writes, right after it is written:
 * hdr has its type, flags, length and index (payload NULL), the payload
 * comes in its two parts.  An error it returns fails that write and
 * every later one (dump's vet: lib/restore/vet.c).
 */
typedef int (*img_tap_fn)(void *arg, const struct img_record *hdr, const void *prefix, size_t plen,
			  const void *data, uint64_t dlen);
void img_writer_set_tap(struct img_writer *w, img_tap_fn fn, void *arg);
void img_writer_free(struct img_writer *w);
const ImgHeader *img_writer_header(const struct img_writer *w);

/* Reader.  img_read_record() returns 1 with *rec filled, 0 after a valid
 * trailer (end of image; *rec then describes the trailer record), or -errno (-EBADMSG corrupt, -EPROTO unknown
 * required record, -E2BIG absurd length, -ENODATA truncated, -EPROTONOSUPPORT
 * newer format).  Optional unknown records are returned too (callers skip
 * them); img_reader_error() gives a one-line description of the last error.
 */
int img_reader_open(int fd, struct img_reader **out);
/* The same over a source (stream.h; borrowed, it must outlive the reader);
 * img_reader_open() makes an fd source the reader owns. */
int img_reader_open_source(struct img_source *src, struct img_reader **out);
struct img_source *img_reader_source(const struct img_reader *r);
int img_read_record(struct img_reader *r, struct img_record *rec);
const ImgHeader *img_reader_header(const struct img_reader *r);
const char *img_reader_error(const struct img_reader *r);
uint32_t img_reader_version(const struct img_reader *r);
void img_reader_free(struct img_reader *r);
/* Decompression threads of a compressed image: 0 (the default) online CPUs,
 * at most 4, once the image has more than one frame; 1 the caller's thread
 * only; n > 1 n threads from the first frame on.  Verifying a signed
 * uncompressed image, one hashing thread unless 1 (or, 0, one CPU).  Call
 * before the first img_read_record().  Returns 0 or -EINVAL. */
int img_reader_set_threads(struct img_reader *r, int threads);

/*
 * Signed images (sign.h).  img_reader_set_keys(), before the first record:
 * every SIGNATURE record is checked against kr as it is read (a bad one
 * fails the read: -EBADMSG changed since signed, -EKEYREJECTED untrusted
 * key or bad signature), and the trailer is accepted only right after a
 * valid final SIGNATURE (-EKEYREJECTED unsigned).  img_reader_covered():
 * whether a valid signature read so far covers every record before index.
 * img_reader_signer(): the key of the last valid signature, or NULL;
 * img_reader_sig_id(): the key id of the last SIGNATURE read (checked or
 * not), NULL if none.
 */
int img_reader_set_keys(struct img_reader *r, const struct vxcr_keyring *kr);
bool img_reader_covered(const struct img_reader *r, uint64_t index);
const struct vxcr_key *img_reader_signer(const struct img_reader *r);
const uint8_t *img_reader_sig_id(const struct img_reader *r);

/* Unpacks a protobuf record with the descriptor from the record table. */
int img_unpack(const struct img_record *rec, const ProtobufCMessageDescriptor *d,
	       ProtobufCMessage **out);

/*
 * The header of the image at the start of src, left in place for the next
 * reader (img_source_peek(): a file, pipe, socket or memory), its crc
 * checked.  Returns 0 with *out (free with img_header__free_unpacked()),
 * or -EBADMSG (not an image, absurd length, bad crc, malformed), -ENODATA
 * (truncated), -ESPIPE (cannot be peeked), -errno; the message is in
 * img_last_open_error().
 */
int img_peek_header(struct img_source *src, ImgHeader **out);
/* The image id of that header (16 bytes): 0, -EBADMSG if it has none, or
 * img_peek_header()'s errors. */
int img_peek_image_id(struct img_source *src, uint8_t id[16]);

/* Bytes taken from the source so far (compressed size of what was read). */
uint64_t img_reader_raw_bytes(const struct img_reader *r);
/* Message of the last failed img_reader_open() of this thread ("" if none). */
const char *img_last_open_error(void);
/* Records a failure found by the caller in rec (e.g. a payload that does not
 * parse): img_reader_error() then names the record; the error is sticky and
 * logged.  Returns err. */
int img_reader_fail(struct img_reader *r, const struct img_record *rec, int err, const char *what);

/* crc32c continuing from crc (0 to start); chains over concatenation.
 * crc32c_hw/_sw force an implementation (hw falls back to sw without SSE4.2). */
uint32_t crc32c(uint32_t crc, const void *buf, size_t len);
uint32_t crc32c_sw(uint32_t crc, const void *buf, size_t len);
uint32_t crc32c_hw(uint32_t crc, const void *buf, size_t len);
bool crc32c_hw_available(void);

#endif
