/*
 * libFuzzer harness: the image reader (lib/img).  Reads every record of the
 * input and unpacks each protobuf record with the record table's
 * descriptor, as restore and `vxcr img` do.  A compressed image is read
 * twice, on the caller's thread and with the decompression pool
 * (zread.c), and both reads must agree record for record on type, flags,
 * length, payload crc and the final result: the pool exists only to be
 * faster, never to read differently.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "img/img.h"
#include "img/records.h"
#include "lf/fuzz.h"


/* What one read of the image saw. */
struct seen {
	uint64_t n;
	uint32_t sum;		/* crc32c over type, flags, length, payload crc */
	int end;		/* 0 trailer, -errno */
	int open_err;
};

static void note(struct seen *s, const struct img_record *rec)
{
	uint32_t v[4] = { rec->type, rec->flags, (uint32_t)rec->length,
			  crc32c(0, rec->payload, rec->length) };

	s->sum = crc32c(s->sum, v, sizeof(v));
	s->n++;
}

/* Unpacks a protobuf record (the decoders are what the fuzzer is after). */
static void unpack(const struct img_record *rec)
{
	const struct img_rec_desc *d = img_rec_lookup(rec->type);
	ProtobufCMessage *m;

	if (d && d->pb && !img_unpack(rec, d->pb, &m))
		protobuf_c_message_free_unpacked(m, NULL);
}

/* Reads the whole image with the given decompression threads. */
static void read_all(const uint8_t *data, size_t size, int threads, struct seen *s)
{
	struct img_reader *r;
	struct img_record rec;
	int fd = fuzz_input_fd(data, size), ret;

	memset(s, 0, sizeof(*s));
	if (fd < 0)
		return;
	s->open_err = img_reader_open(fd, &r);
	if (s->open_err)
		return;
	if (img_reader_set_threads(r, threads))
		abort();
	while ((ret = img_read_record(r, &rec)) == 1) {
		if (threads == 1)
			unpack(&rec);
		note(s, &rec);
	}
	s->end = ret;
	/* a failed reader stays failed */
	if (ret < 0 && img_read_record(r, &rec) != ret)
		abort();
	img_reader_free(r);
}

int fuzz_reader(const uint8_t *data, size_t size)
{
	struct seen one, pool;

	read_all(data, size, 1, &one);
	if (one.open_err || size < 32 || data[size - 1] % 4)	/* pool: 1 input in 4 */
		return 0;
	read_all(data, size, 2, &pool);
	if (one.n != pool.n || one.sum != pool.sum || one.end != pool.end) {
		fprintf(stderr, "reader: pool read %llu records (end %d), caller's thread %llu "
			"(end %d)\n", (unsigned long long)pool.n, pool.end,
			(unsigned long long)one.n, one.end);
		abort();
	}
	return 0;
}
