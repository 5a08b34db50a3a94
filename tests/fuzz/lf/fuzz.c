/*
 * libFuzzer entry points of one harness (FUZZ_ENTRY, see fuzz.h): logging,
 * and the repair / raw mutators.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vxcr/vxcr.h"
#include "img/records.h"
#include "lf/codec.h"
#include "lf/fuzz.h"

static bool raw_mode;

static void log_quiet(enum vxcr_log_level lvl, const char *msg, void *arg)
{
}

static void log_stderr(enum vxcr_log_level lvl, const char *msg, void *arg)
{
	size_t n = strlen(msg);

	fprintf(stderr, "vxcr: %s%s", msg, n && msg[n - 1] == '\n' ? "" : "\n");
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *mode = getenv("VXCR_FUZZ_MODE");
	const char *log = getenv("VXCR_FUZZ_LOG");

	raw_mode = mode && !strcmp(mode, "raw");
	vxcr_set_log(log && *log == '1' ? log_stderr : log_quiet, NULL);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return FUZZ_ENTRY(data, size);
}

/* xorshift64*: the mutator's choices, from libFuzzer's seed. */
static uint64_t rnd(uint64_t *s, uint64_t n)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return n ? (*s * 0x2545f4914f6cdd1dull) % n : 0;
}

/* Replaces the bytes at *p (*len of them) by a libFuzzer mutation of it (at most len * 2 + 64). */
static int mutate_bytes(uint8_t **p, size_t *len)
{
	size_t cap = *len * 2 + 64;
	uint8_t *n = malloc(cap);

	if (!n)
		return -1;
	memcpy(n, *p, *len);
	*len = LLVMFuzzerMutate(n, *len, cap);
	free(*p);
	*p = n;
	return 0;
}

/* A record payload, mostly not a page record's pages (their bytes are
 * opaque to vxcr): the prefix of raw records is what gets mutated there. */
static int mutate_record(struct fz_image *im, uint64_t *s)
{
	struct fz_rec *r = &im->recs[rnd(s, im->n)];
	size_t keep, pre = sizeof(struct img_pages_prefix);
	uint8_t *tail;
	int ret;

	for (int tries = 0; tries < 3 && r->type == IMG_REC_PAGES; tries++)
		r = &im->recs[rnd(s, im->n)];
	if (r->len <= 2 * pre || rnd(s, 4) == 0)
		return mutate_bytes(&r->p, &r->len);
	keep = r->len - pre;	/* mutate the prefix, keep the rest */
	tail = malloc(keep);
	if (!tail)
		return -1;
	memcpy(tail, r->p + pre, keep);
	r->len = pre;
	ret = mutate_bytes(&r->p, &r->len);
	if (!ret) {
		uint8_t *n = realloc(r->p, r->len + keep);

		ret = n ? 0 : -1;
		if (n) {
			memcpy(n + r->len, tail, keep);
			r->p = n;
			r->len += keep;
		}
	}
	free(tail);
	return ret;
}

/* Drops, duplicates or swaps records, or changes a type or the flags. */
static int mutate_list(struct fz_image *im, uint64_t *s)
{
	size_t i = rnd(s, im->n), j = rnd(s, im->n);
	struct fz_rec t;
	unsigned ntypes;

	switch (rnd(s, 5)) {
	case 0:
		free(im->recs[i].p);
		memmove(&im->recs[i], &im->recs[i + 1], (im->n - i - 1) * sizeof(t));
		im->n--;
		return 0;
	case 1:
		return fz_insert(im, j, &im->recs[i]);
	case 2:
		t = im->recs[i];
		im->recs[i] = im->recs[j];
		im->recs[j] = t;
		return 0;
	case 3:
		img_rec_table(&ntypes);	/* a known type mostly, any number else */
		im->recs[i].type = rnd(s, 8) ? 1 + rnd(s, ntypes) : (uint32_t)rnd(s, ~0u);
		return 0;
	default:
		im->recs[i].flags ^= 1u << rnd(s, rnd(s, 4) ? 1 : 32);
		return 0;
	}
}

/*
 * Repair mode: one mutation of the decoded image (header bytes 1/8, the
 * record list 1/8, a hostile field value 3/8, a record's bytes the rest),
 * framed again; 1 in 16, or when data is no image or the result too big,
 * a plain byte mutation of the whole file.
 */
size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max, unsigned int seed)
{
	uint64_t s = seed * 0x9e3779b97f4a7c15ull + 1, k;
	struct fz_image im;
	size_t len = 0;
	int ret;

	if (raw_mode || rnd(&s, 16) == 0 || fz_decode(data, size, &im))
		return LLVMFuzzerMutate(data, size, max);
	k = rnd(&s, 16);
	if (k < 2 || !im.n)
		ret = mutate_bytes(&im.hdr, &im.hdr_len);
	else if (k < 4)
		ret = mutate_list(&im, &s);
	else if (k < 10 && !fz_mutate_structured(&im, rnd(&s, ~0ull)))
		ret = 0;
	else
		ret = mutate_record(&im, &s);
	if (!ret)
		len = fz_encode(&im, data, max);
	fz_free(&im);
	return len ? len : LLVMFuzzerMutate(data, size, max);
}

/* Repair mode: data1's records with one record of data2 spliced in. */
size_t LLVMFuzzerCustomCrossOver(const uint8_t *data1, size_t size1, const uint8_t *data2,
				 size_t size2, uint8_t *out, size_t max, unsigned int seed)
{
	uint64_t s = seed * 0x9e3779b97f4a7c15ull + 1;
	struct fz_image a, b;
	size_t len = 0;

	if (raw_mode || fz_decode(data1, size1, &a))
		return 0;
	if (!fz_decode(data2, size2, &b) && b.n &&
	    !fz_insert(&a, rnd(&s, a.n + 1), &b.recs[rnd(&s, b.n)]))
		len = fz_encode(&a, out, max);
	fz_free(&b);
	fz_free(&a);
	return len;
}
