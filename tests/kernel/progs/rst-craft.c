/*
 * rst-craft: makes a crafted copy of an uncompressed image, for the
 * refusal cases of k-rst-undump.sh.
 *
 * Usage: rst-craft MODE IN OUT
 *
 * MODE:  badcrc      a byte of the TASK payload flipped, crc kept
 *        truncate    the first half of the stream only
 *        lenpast     the TASK record's length past the end of the stream
 *        pblen       a protobuf field in TASK whose length runs past it
 *        kernelarea  an area in the kernel's half appended to MM
 *        twothreads  a second thread id appended to TASK
 *        seccomp     a SECCOMP record (not supported) after TASK
 *        unknown     a record of unknown type 99, required, after TASK
 *        optional    the same with IMG_RF_OPTIONAL (must be skipped)
 *        vdso        another vdso digest appended to MM (the last wins)
 *        fileino     another inode number appended to the first FILE
 *        same        the records as they are (crcs and trailer remade)
 *        zmagic      (a zstd image) the first frame's magic broken
 * Every mode but badcrc, truncate and lenpast recomputes the crcs and the
 * trailer, so only the change itself is wrong.  Exit 0, 1 on error.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vxcr/image.h"

static uint32_t crc32c(uint32_t crc, const uint8_t *p, size_t n)
{
	int k;

	crc = ~crc;
	while (n--) {
		crc ^= *p++;
		for (k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (0x82F63B78u & -(crc & 1));
	}
	return ~crc;
}

static FILE *out;
static uint64_t n_records, page_bytes;
static uint32_t crcs;

static size_t varint(uint8_t *p, uint64_t v)
{
	size_t n = 0;

	do {
		p[n++] = (v & 0x7f) | (v > 0x7f ? 0x80 : 0);
		v >>= 7;
	} while (v);
	return n;
}

/* Writes one record; crc: the stored crc to use, or 0 to compute it. */
static void emit(uint32_t type, uint32_t flags, const uint8_t *p, uint64_t len, const uint32_t *crc)
{
	struct img_rec_hdr h = { type, flags, len };
	uint32_t c = crc32c(crc32c(0, (uint8_t *)&h, sizeof(h)), p, len);

	if (crc)
		c = *crc;
	fwrite(&h, sizeof(h), 1, out);
	fwrite(p, 1, len, out);
	fwrite(&c, 4, 1, out);
	if (type == IMG_REC_TRAILER)
		return;
	n_records++;
	crcs = crc32c(crcs, (uint8_t *)&c, 4);
	if (type == IMG_REC_PAGES)
		page_bytes += len - sizeof(struct img_pages_prefix);
}

/* Emits rec with extra bytes appended to its payload. */
static void emit_plus(uint32_t type, uint32_t flags, const uint8_t *p, uint64_t len,
		      const uint8_t *extra, size_t n)
{
	uint8_t *b = malloc(len + n);

	memcpy(b, p, len);
	memcpy(b + len, extra, n);
	emit(type, flags, b, len + n, NULL);
	free(b);
}

static void emit_trailer(void)
{
	uint8_t t[40];
	size_t n = 0;

	t[n++] = 0x08;
	n += varint(t + n, n_records);
	t[n++] = 0x10;
	n += varint(t + n, crcs);
	t[n++] = 0x18;
	n += varint(t + n, page_bytes);
	emit(IMG_REC_TRAILER, 0, t, n, NULL);
}

static void one(const char *mode, uint32_t type, uint32_t flags, uint8_t *p, uint64_t len,
		uint32_t crc, int *first_task)
{
	static const uint8_t pblen[] = { 0x92, 0x03, 0x7f };
	static const uint8_t thread[] = { 0x98, 0x01, 0xb9, 0x60 };
	uint8_t area[48];
	size_t n = 0;

	if (type == IMG_REC_TASK && *first_task) {
		*first_task = 0;
		if (!strcmp(mode, "badcrc")) {
			p[len - 1] ^= 0x40;
			emit(type, flags, p, len, &crc);
		} else if (!strcmp(mode, "pblen")) {
			emit_plus(type, flags, p, len, pblen, sizeof(pblen));
		} else if (!strcmp(mode, "twothreads")) {
			emit_plus(type, flags, p, len, thread, sizeof(thread));
		} else {
			emit(type, flags, p, len, NULL);
		}
		if (!strcmp(mode, "seccomp"))
			emit(IMG_REC_SECCOMP, 0, (uint8_t *)"", 0, NULL);
		if (!strcmp(mode, "unknown"))
			emit(99, 0, (uint8_t *)"x", 1, NULL);
		if (!strcmp(mode, "optional"))
			emit(99, IMG_RF_OPTIONAL, (uint8_t *)"x", 1, NULL);
		return;
	}
	if (type == IMG_REC_MM && !strcmp(mode, "vdso")) {
		static const uint8_t digest[] = { 0x82, 0x01, 12, 1, 2, 3, 4, 5, 6,
						  7,	8,    9,  10, 11, 12 };

		emit_plus(type, flags, p, len, digest, sizeof(digest));
		return;
	}
	if (type == IMG_REC_FILE && !strcmp(mode, "fileino") && *first_task != 2) {
		static const uint8_t ino[] = { 0x40, 0x95, 0x9a, 0xef, 0x3a };

		*first_task = 2; /* the first FILE only */
		emit_plus(type, flags, p, len, ino, sizeof(ino));
		return;
	}
	if (type == IMG_REC_MM && !strcmp(mode, "kernelarea")) {
		uint8_t v[32];
		size_t m = 0;

		v[m++] = 0x08;
		m += varint(v + m, 0xffff800000000000ull);
		v[m++] = 0x10;
		m += varint(v + m, 0xffff800000001000ull);
		v[m++] = 0x18;
		v[m++] = 1;
		v[m++] = 0x20;
		v[m++] = 2;
		area[n++] = 0x7a; /* field 15, LEN */
		area[n++] = m;
		memcpy(area + n, v, m);
		emit_plus(type, flags, p, len, area, n + m);
		return;
	}
	emit(type, flags, p, len, NULL);
}

int main(int argc, char **argv)
{
	uint8_t *img;
	long size;
	size_t off;
	int first_task = 1;
	FILE *in;

	if (argc != 4 || !(in = fopen(argv[2], "rb")) || !(out = fopen(argv[3], "wb"))) {
		fprintf(stderr, "usage: rst-craft MODE IN OUT\n");
		return 1;
	}
	fseek(in, 0, SEEK_END);
	size = ftell(in);
	rewind(in);
	img = malloc(size);
	if (!img || fread(img, 1, size, in) != (size_t)size || size < 20)
		return 1;
	if (!strcmp(argv[1], "truncate")) {
		fwrite(img, 1, size / 2, out);
		return fclose(out) ? 1 : 0;
	}
	off = 20 + ((struct img_preamble *)img)->hdr_len;
	if (!strcmp(argv[1], "zmagic")) {
		if (off >= (size_t)size)
			return 1;
		img[off] ^= 0x01;
		fwrite(img, 1, size, out);
		return fclose(out) ? 1 : 0;
	}
	fwrite(img, 1, off, out);
	while (off + sizeof(struct img_rec_hdr) <= (size_t)size) {
		struct img_rec_hdr *h = (struct img_rec_hdr *)(img + off);
		uint8_t *p = img + off + sizeof(*h);
		uint32_t crc;

		if (h->length > (uint64_t)size - off - sizeof(*h) - 4)
			return 1;
		memcpy(&crc, p + h->length, 4);
		if (h->type == IMG_REC_TRAILER)
			break;
		if (h->type == IMG_REC_TASK && !strcmp(argv[1], "lenpast")) {
			h->length = size;
			fwrite(img + off, 1, size - off, out);
			return fclose(out) ? 1 : 0;
		}
		one(argv[1], h->type, h->flags, p, h->length, crc, &first_task);
		off += sizeof(*h) + h->length + 4;
	}
	emit_trailer();
	return fclose(out) ? 1 : 0;
}
