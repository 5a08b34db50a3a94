/*
 * Unit tests of frames made of Raw_Blocks (the dump's frames that do not
 * pay for compression), which the decompression pool takes in place
 * without a decoder (lib/img/zread.c): every shape of frame header and
 * block size reads back the records of the compressed original, through a
 * memfd and a pipe, and every bad block header, cut and flipped byte gives
 * through the pool exactly what the caller's thread alone (zstd) gives.
 */
#include "img-test.h"
#include "img-raw.h"
#include "task.pb-c.h"

#define MIB (1u << 20)

static size_t nrec_big = 5; /* 4 MiB page records: 5 frames and more */

/* Page records of 4 MiB; the second MiB of each is zeros (RLE blocks). */
static int write_pages(struct img_writer *w, void *arg)
{
	size_t len = 4 * MIB, i, nrec = *(size_t *)arg;
	uint8_t *data = malloc(len);
	struct img_pages_prefix pp = { .mm_id = 7 };
	CredsEntry creds = CREDS_ENTRY__INIT;
	int ret = 0;

	if (!data)
		return -ENOMEM;
	creds.has_uid = true;
	creds.uid = 1000;
	for (i = 0; i < nrec && !ret; i++) {
		fill_pattern(data, len, i);
		memset(data + MIB, 0, MIB);
		pp.addr = i * len;
		ret = img_write_msg(w, IMG_REC_CREDS, &creds.base);
		if (!ret)
			ret = img_write_raw2(w, IMG_REC_PAGES, 0, &pp, sizeof(pp), data, len);
	}
	free(data);
	return ret;
}

/* Result of reading an image with some decompression threads. */
struct read_result {
	int ret;
	uint64_t n;
	uint32_t digest;
	char msg[256];
};

static struct read_result read_with(const uint8_t *p, size_t len, int threads)
{
	struct read_result res;

	read_threads = threads;
	res.ret = read_image(p, len, &res.n, res.msg, sizeof(res.msg));
	res.digest = last_digest;
	read_threads = 0;
	return res;
}

/* Reading through the pool (2 workers from the first frame) gives what
 * the caller's thread alone gives. */
static bool same_result(const uint8_t *p, size_t len)
{
	struct read_result one = read_with(p, len, 1), many = read_with(p, len, 2);

	if (one.ret == many.ret && one.n == many.n && one.digest == many.digest &&
	    !strcmp(one.msg, many.msg))
		return true;
	fprintf(stderr, "\n%zu bytes: %d %llu \"%s\" vs pool: %d %llu \"%s\"\n", len, one.ret,
		(unsigned long long)one.n, one.msg, many.ret, (unsigned long long)many.n, many.msg);
	return false;
}

static struct buf zimage;	 /* the compressed original */
static struct read_result zwant; /* what it reads as */

/* Makes the compressed original once, in the first test. */
static void setup(void)
{
	if (zimage.p)
		return;
	zimage = make_image(true, 2, write_pages, &nrec_big);
	zwant = read_with(zimage.p, zimage.len, 1);
	CU_ASSERT_FATAL(zwant.ret == 0 && zwant.n == 2 * nrec_big);
}

static struct buf raw_image(const struct raw_opts *o)
{
	struct buf b;

	setup();
	b.p = rawify(zimage.p, zimage.len, body_start(&zimage), o, &b.len);
	CU_ASSERT_FATAL(b.p != NULL);
	return b;
}

/* Offsets of the frames of a raw image's body, up to max; their count. */
static int raw_frames(const struct buf *img, size_t *offs, int max)
{
	size_t off = body_start(img), fl;
	int n = 0;

	while (off < img->len && n < max) {
		fl = ZSTD_findFrameCompressedSize(img->p + off, img->len - off);
		if (ZSTD_isError(fl))
			break;
		offs[n++] = off;
		off += fl;
	}
	return n;
}

/* Every shape of raw frame reads back the original's records, with the
 * caller's thread alone, automatic threads and 2 workers from frame 0. */
static void test_raw_good(void)
{
	static const struct raw_opts shapes[] = {
		{ 128 << 10, 4, false, false }, { 128 << 10, 0, false, false },
		{ 128 << 10, 8, false, false }, { 128 << 10, 2, false, false },
		{ 128 << 10, 4, true, false },	{ 128 << 10, 8, true, false },
		{ 4097, 4, false, false }, /* 1024 blocks: the most taken in place */
		{ 4000, 4, false, false }, /* 1049 blocks: decoded */
		{ 65536, 4, false, true }, /* RLE blocks among raw ones */
		{ 1, 4, false, false },	   /* 4 Mi blocks of one byte: decoded */
	};
	struct read_result got;
	struct buf img;
	size_t i;
	int t;

	for (i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++) {
		img = raw_image(&shapes[i]);
		for (t = 0; t <= 2; t++) {
			got = read_with(img.p, img.len, t);
			CU_ASSERT_EQUAL(got.ret, 0);
			CU_ASSERT_EQUAL(got.n, zwant.n);
			CU_ASSERT_EQUAL(got.digest, zwant.digest);
			if (got.ret)
				fprintf(stderr, "\nshape %zu, threads %d: %s\n", i, t, got.msg);
		}
		free(img.p);
	}
}

/* Sets the 3-byte block header at p. */
static void set_bh(uint8_t *p, uint32_t bh)
{
	p[0] = bh;
	p[1] = bh >> 8;
	p[2] = bh >> 16;
}

/* Every bad header of a frame the pool reads (frames 1 and 3; frame 1
 * has a 4-byte content size, block headers at 10, 10 + 3 + 128 KiB, ...):
 * the pool refuses exactly what zstd refuses, with the same message. */
static void test_raw_bad_headers(void)
{
	static const struct raw_opts o = { 128 << 10, 4, false, false };
	struct buf img = raw_image(&o);
	uint8_t *save = malloc(img.len);
	size_t offs[8], f, bh1, bh2, last;
	uint32_t fcs, k;
	int nf, bad = 0, refused = 0, i, cases;

	nf = raw_frames(&img, offs, 8);
	CU_ASSERT_FATAL(nf >= 4);
	memcpy(save, img.p, img.len);
	for (i = 1; i <= 3; i += 2) {
		f = offs[i];
		memcpy(&fcs, img.p + f + 6, 4);
		bh1 = f + 10;
		bh2 = bh1 + 3 + (128 << 10);
		last = bh1 + (fcs - 1) / (128 << 10) * (3 + (128 << 10));
		for (cases = 0;; cases++) {
			memcpy(img.p, save, img.len);
			switch (cases) {
			case 0:
				set_bh(img.p + bh1, (128 << 10) << 3 | 1 << 1);
				break; /* RLE */
			case 1:
				set_bh(img.p + bh1, (128 << 10) << 3 | 2 << 1);
				break; /* compressed */
			case 2:
				set_bh(img.p + bh1, (128 << 10) << 3 | 3 << 1);
				break; /* reserved */
			case 3:
				set_bh(img.p + bh1, ((128 << 10) + 1) << 3);
				break; /* too big */
			case 4:
				set_bh(img.p + bh1, (128 << 10) << 3 | 1);
				break; /* last too early */
			case 5:
				set_bh(img.p + bh2, ((128 << 10) - 1) << 3);
				break; /* short */
			case 6:
				set_bh(img.p + bh2, (2 * MIB - 1) << 3);
				break; /* huge */
			case 7:
				img.p[last] &= ~1;
				break; /* no last block */
			case 8:
				set_bh(img.p + last, (img.p[last] | img.p[last + 1] << 8 |
						      img.p[last + 2] << 16) +
							     (1 << 3));
				break;
			case 9:
				k = fcs + 1;
				memcpy(img.p + f + 6, &k, 4);
				break; /* content size */
			case 10:
				k = fcs - 1;
				memcpy(img.p + f + 6, &k, 4);
				break;
			case 11:
				img.p[f + 4] |= 0x04;
				break; /* content checksum */
			case 12:
				img.p[f + 5] = 11 << 3;
				break; /* window 2 MiB */
			case 13:
				img.p[f + 4] |= 0x20;
				break; /* single segment */
			case 14:
				set_bh(img.p + bh1, 0);
				break; /* empty block */
			default:
				goto next;
			}
			/* 10: a whole frame with a content size too small is a
			 * "Destination buffer is too small" to zstd's one-pass
			 * decode, which the caller's retry of a frame a worker
			 * failed takes, and "Data corruption" streamed: the
			 * same for a compressed frame before raw frames */
			if (cases == 10 ? read_with(img.p, img.len, 1).ret !=
						  read_with(img.p, img.len, 2).ret :
					  !same_result(img.p, img.len)) {
				fprintf(stderr, "frame %d, case %d\n", i, cases);
				bad++;
			}
			refused += read_with(img.p, img.len, 2).ret != 0;
		}
next:;
	}
	CU_ASSERT_EQUAL(bad, 0);
	CU_ASSERT(refused >= 2 * 12);
	free(save);
	free(img.p);
}

/* Cuts around each frame's and block's header and inside blocks, and
 * flipped bytes: through the pool what the caller's thread alone gives. */
static void test_raw_cuts_flips(void)
{
	static const struct raw_opts o = { 128 << 10, 4, false, false };
	struct buf img = raw_image(&o);
	size_t offs[16], cut, i, end;
	int nf, k, bad = 0;

	nf = raw_frames(&img, offs, 16);
	CU_ASSERT_FATAL(nf >= 4);
	for (k = 0; k < nf && k < 3; k++) {
		end = k + 1 < nf ? offs[k + 1] : img.len;
		for (cut = offs[k] > 4 ? offs[k] - 4 : 0; cut < offs[k] + 16; cut++)
			bad += !same_result(img.p, cut);
		for (i = offs[k] + 10 + 3 + (128 << 10); i < end; i += 9 * (3 + (128 << 10)))
			for (cut = i - 2; cut < i + 5; cut++)
				bad += !same_result(img.p, cut);
		for (i = 1; i < 6; i++)
			bad += !same_result(img.p, offs[k] + (end - offs[k]) * i / 6);
	}
	for (i = body_start(&img); i < img.len; i += img.len / 61) {
		img.p[i] ^= 0x5a;
		bad += !same_result(img.p, img.len);
		img.p[i] ^= 0x5a;
	}
	CU_ASSERT_EQUAL(bad, 0);
	free(img.p);
}

/* A raw image through a pipe (short reads) with 2 workers. */
static void test_raw_pipe(void)
{
	static const struct raw_opts o = { 128 << 10, 4, false, false };
	struct buf img = raw_image(&o);
	struct feeder fe = { .p = img.p, .len = img.len, .piece = 77777 }; /* odd sizes */
	struct img_reader *r;
	struct img_record rec;
	uint32_t digest = 0;
	uint64_t n = 0;
	pthread_t th;
	int p[2], ret;

	CU_ASSERT_FATAL(pipe(p) == 0);
	fe.fd = p[1];
	CU_ASSERT_FATAL(pthread_create(&th, NULL, feeder_main, &fe) == 0);
	ret = img_reader_open(p[0], &r);
	CU_ASSERT_FATAL(ret == 0);
	CU_ASSERT_FATAL(img_reader_set_threads(r, 2) == 0);
	while ((ret = img_read_record(r, &rec)) == 1) {
		digest = crc32c(digest, &rec.type, sizeof(rec.type));
		digest = crc32c(digest, rec.payload, rec.length);
		n++;
	}
	CU_ASSERT_EQUAL(ret, 0);
	CU_ASSERT_EQUAL(n, zwant.n);
	CU_ASSERT_EQUAL(digest, zwant.digest);
	CU_ASSERT_EQUAL(img_reader_raw_bytes(r), img.len);
	img_reader_free(r);
	close(p[0]);
	pthread_join(th, NULL);
	free(img.p);
}

int main(void)
{
	CU_pSuite s;
	unsigned fails;

	signal(SIGPIPE, SIG_IGN);
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	s = CU_add_suite("raw frames", NULL, NULL);
	CU_add_test(s, "raw frames of every shape read back", test_raw_good);
	CU_add_test(s, "bad block headers: pool equals zstd", test_raw_bad_headers);
	CU_add_test(s, "cuts and flips: pool equals zstd", test_raw_cuts_flips);
	CU_add_test(s, "raw frames through a pipe", test_raw_pipe);
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	fails = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
	CU_cleanup_registry();
	free(zimage.p);
	return fails ? 1 : 0;
}
