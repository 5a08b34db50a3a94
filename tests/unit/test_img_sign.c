/*
 * Signed images (lib/img/sign.c, keys.c and the writer/reader parts): the
 * hash chain's segmentation, round trips in every writer mode (compressed
 * on the caller's thread or on workers, uncompressed on the caller's
 * thread or on hashing workers) read back with the decompression pool or
 * without, where the SIGNATURE records go, and refusals: a key that is not
 * trusted, an unsigned image, a payload byte changed with its crc and the
 * trailer repaired, the same records compressed again, a signature inside
 * a compressed frame, a signature of the retired scheme 1.
 */
#include <sys/stat.h>

#include "img-test.h"
#include "img/sign.h"
#include "sign.pb-c.h"
#include "util/cleanup.h"

/* The field sizes vxcr/image.h gives sig_entry agree with libsodium and the chain. */
_Static_assert(IMG_SIG_LEN == crypto_sign_BYTES, "Ed25519 signature size");
_Static_assert(IMG_SIG_DIGEST_LEN == IMG_HASH_LEN, "chain digest size");

static char keydir[] = "/tmp/vxcr-test-sign.XXXXXX";
static struct vxcr_key *alice;
static struct vxcr_keyring *trusted, *others;

/* keydir/alice.{key,pub} and mallory.{key,pub}; trusted: alice, others: mallory. */
static int setup_keys(void)
{
	char id[17], path[128], cmd[256];
	int fd;

	if (!mkdtemp(keydir))
		return -1;
	fd = open(keydir, O_RDONLY | O_DIRECTORY);
	if (fd < 0 || vxcr_key_new(fd, "alice", id) || vxcr_key_new(fd, "mallory", id))
		return -1;
	close(fd);
	snprintf(path, sizeof(path), "%s/alice.key", keydir);
	if (vxcr_key_load(path, &alice))
		return -1;
	snprintf(cmd, sizeof(cmd),
		 "cd %s && mkdir -m 700 t o && cp alice.pub t/ && "
		 "cp mallory.pub o/",
		 keydir);
	if (system(cmd))
		return -1;
	snprintf(path, sizeof(path), "%s/t", keydir);
	if (vxcr_keyring_load(path, &trusted))
		return -1;
	snprintf(path, sizeof(path), "%s/o", keydir);
	return vxcr_keyring_load(path, &others);
}

static int cleanup_keys(void)
{
	char cmd[128];

	vxcr_key_free(alice);
	vxcr_keyring_free(trusted);
	vxcr_keyring_free(others);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", keydir);
	return system(cmd) ? -1 : 0;
}

/* Segments end every IMG_FRAME_BYTES whatever the pieces; a cut ends one early. */
static void test_chain_segments(void)
{
	size_t len = IMG_FRAME_BYTES + 12345, off, n;
	uint8_t pre[IMG_HASH_LEN] = { 1 }, d1[IMG_HASH_LEN], d2[IMG_HASH_LEN];
	struct img_sighash a, b;
	uint8_t *data = malloc(len);

	CU_ASSERT_FATAL(data != NULL);
	fill_pattern(data, len, 7);
	img_sighash_start(&a, pre);
	img_sighash_start(&b, pre);
	img_sighash_update(&a, data, len);
	for (off = 0; off < len; off += n) {
		n = off % 3 ? 4097 : 65536 + 3;
		n = n < len - off ? n : len - off;
		img_sighash_update(&b, data + off, n);
	}
	CU_ASSERT_EQUAL(a.nseg, 1);
	CU_ASSERT_EQUAL(a.seg_len, 12345);
	img_sighash_cut(&a);
	img_sighash_cut(&b);
	img_sighash_cut(&b); /* nothing more to end */
	CU_ASSERT_EQUAL(b.nseg, 2);
	img_sighash_digest(&a, len, d1);
	img_sighash_digest(&b, len, d2);
	CU_ASSERT(!memcmp(d1, d2, sizeof(d1)));
	img_sighash_digest(&b, len + 1, d2); /* the offset is signed too */
	CU_ASSERT(memcmp(d1, d2, sizeof(d1)) != 0);
	free(data);
}

struct body_arg {
	size_t pages; /* bytes of page data, in records of up to 4 MiB */
};

/* A TASK, 5 MiB of FILE_DATA, then pages: every record kind of a dump. */
static int signed_body(struct img_writer *w, void *arg)
{
	const struct body_arg *a = arg;
	struct img_pages_prefix pp = { .addr = 0x10000, .mm_id = 1 };
	struct img_data_prefix dp = { .id = 1 };
	TaskEntry t = TASK_ENTRY__INIT;
	size_t big = 5u << 20, off, n;
	uint8_t *data = malloc(big > a->pages ? big : a->pages);
	int ret;

	if (!data)
		return -ENOMEM;
	fill_pattern(data, big > a->pages ? big : a->pages, 3);
	t.has_pid = true;
	t.pid = 42;
	ret = img_write_msg(w, IMG_REC_TASK, &t.base);
	if (!ret)
		ret = img_write_raw2(w, IMG_REC_FILE_DATA, 0, &dp, sizeof(dp), data, big);
	for (off = 0; !ret && off < a->pages; off += n) {
		n = a->pages - off < (4u << 20) ? a->pages - off : 4u << 20;
		pp.addr = 0x10000 + off;
		ret = img_write_raw2(w, IMG_REC_PAGES, 0, &pp, sizeof(pp), data + off, n);
	}
	free(data);
	return ret;
}

/* Writes a signed image (key NULL: unsigned) into memory. */
static bool sign_adaptive; /* make_signed(): the writer's adaptive mode */

static struct buf make_signed(bool compress, int threads, const struct vxcr_key *key, size_t pages)
{
	struct img_write_opts o = { .compress = compress,
				    .threads = threads,
				    .sign_key = key,
				    .adaptive = sign_adaptive };
	struct body_arg a = { pages };
	struct img_writer *w;
	int fd = memfd_with(NULL, 0);
	struct buf b;

	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_FATAL(img_writer_open(fd, &o, &w) == 0);
	CU_ASSERT_FATAL(signed_body(w, &a) == 0);
	CU_ASSERT_FATAL(img_writer_finish(w) == 0);
	img_writer_free(w);
	b = slurp(fd);
	close(fd);
	return b;
}

struct sig_seen {
	int sigs;	      /* SIGNATURE records */
	uint64_t first_pages; /* index of the first PAGES record */
	bool covered;	      /* img_reader_covered() there */
	const struct vxcr_key *signer;
	char msg[256];
};

/* Reads img with kr (NULL: no checking); returns 0 or the reader's error. */
static int read_signed(const struct buf *img, const struct vxcr_keyring *kr, int threads,
		       struct sig_seen *s)
{
	struct img_reader *r;
	struct img_record rec;
	int fd = memfd_with(img->p, img->len), ret;

	memset(s, 0, sizeof(*s));
	s->first_pages = UINT64_MAX;
	CU_ASSERT_FATAL(fd >= 0 && img_reader_open(fd, &r) == 0);
	CU_ASSERT_FATAL(img_reader_set_threads(r, threads) == 0);
	if (kr)
		CU_ASSERT_FATAL(img_reader_set_keys(r, kr) == 0);
	while ((ret = img_read_record(r, &rec)) == 1) {
		s->sigs += rec.type == IMG_REC_SIGNATURE;
		if (rec.type == IMG_REC_PAGES && s->first_pages == UINT64_MAX) {
			s->first_pages = rec.index;
			s->covered = img_reader_covered(r, rec.index);
		}
	}
	s->signer = img_reader_signer(r);
	snprintf(s->msg, sizeof(s->msg), "%s", img_reader_error(r));
	img_reader_free(r);
	close(fd);
	return ret;
}

/* Every writer mode against the reader with and without its pool. */
static void test_roundtrip_modes(void)
{
	static const struct {
		bool compress;
		int threads;
	} modes[] = {
		{ true, 1 }, { true, 2 }, { false, 1 }, { false, 0 }, { false, 3 },
	};
	struct sig_seen s;
	struct buf img;
	size_t i;
	int rt;

	for (i = 0; i < ARRAY_SIZE(modes); i++) {
		img = make_signed(modes[i].compress, modes[i].threads, alice, 11u << 20);
		for (rt = 1; rt <= 2; rt++) {
			CU_ASSERT_EQUAL(read_signed(&img, trusted, rt, &s), 0);
			CU_ASSERT_EQUAL(s.sigs, 2);
			CU_ASSERT_EQUAL(s.first_pages, 3); /* TASK, FILE_DATA, SIGNATURE */
			CU_ASSERT(s.covered);
			CU_ASSERT_PTR_EQUAL(s.signer, &trusted->keys[0]);
			if (s.sigs != 2 || !s.signer)
				fprintf(stderr, "mode %zu, %d reader threads: %s\n", i, rt, s.msg);
		}
		CU_ASSERT_EQUAL(read_signed(&img, NULL, 1, &s), 0); /* plain reader */
		CU_ASSERT_PTR_NULL(s.signer);
		free(img.p);
	}
}

/* The adaptive writer (frames raw or compressed, a writer thread): signed
 * as well, raw frames hashed as stored. */
static void test_roundtrip_adaptive(void)
{
	struct sig_seen s;
	struct buf img;
	int rt;

	sign_adaptive = true;
	img = make_signed(true, 2, alice, 11u << 20);
	sign_adaptive = false;
	for (rt = 1; rt <= 2; rt++) {
		CU_ASSERT_EQUAL(read_signed(&img, trusted, rt, &s), 0);
		CU_ASSERT_EQUAL(s.sigs, 2);
		CU_ASSERT(s.covered);
		CU_ASSERT_PTR_EQUAL(s.signer, &trusted->keys[0]);
	}
	img.p[img.len / 2] ^= 0x10; /* in a page record's frame */
	CU_ASSERT_NOT_EQUAL(read_signed(&img, trusted, 1, &s), 0);
	free(img.p);
}

/* A signature by a key that is not in the ring, and no signature at all. */
static void test_refusals(void)
{
	struct sig_seen s;
	struct buf img = make_signed(true, 2, alice, 1u << 20);

	CU_ASSERT_EQUAL(read_signed(&img, others, 1, &s), -EKEYREJECTED);
	CU_ASSERT_PTR_NOT_NULL(strstr(s.msg, "which is not in"));
	free(img.p);
	img = make_signed(true, 2, NULL, 1u << 20);
	CU_ASSERT_EQUAL(read_signed(&img, trusted, 1, &s), -EKEYREJECTED);
	CU_ASSERT_PTR_NOT_NULL(strstr(s.msg, "not signed"));
	CU_ASSERT_FALSE(s.covered);
	CU_ASSERT_EQUAL(read_signed(&img, NULL, 1, &s), 0);
	free(img.p);
}

/* Repacks the trailer at p (last record of an uncompressed body) with the
 * record crcs of body [start, p); returns the new image length. */
static size_t fix_trailer(uint8_t *img, size_t start, size_t p)
{
	uint32_t sum = 0, crc, len;
	uint8_t hdr[16];
	ImgTrailer *t;
	size_t q;

	for (q = start; q < p; q += 16 + len + 4) {
		memcpy(&len, img + q + 8, 4);
		sum = crc32c(sum, img + q + 16 + len, 4);
	}
	memcpy(&len, img + p + 8, 4);
	t = img_trailer__unpack(NULL, len, img + p + 16);
	CU_ASSERT_FATAL(t != NULL);
	t->checksum = sum;
	len = img_trailer__pack(t, img + p + 16);
	img_trailer__free_unpacked(t, NULL);
	memcpy(hdr, img + p, 16);
	memcpy(hdr + 8, &(uint64_t){ len }, 8);
	memcpy(img + p, hdr, 16);
	crc = crc32c(crc32c(0, hdr, 16), img + p + 16, len);
	memcpy(img + p + 16 + len, &crc, 4);
	return p + 16 + len + 4;
}

/* A byte of FILE_DATA changed and every checksum repaired: only the
 * signature can tell, at the SIGNATURE before the pages. */
static void test_changed_payload(void)
{
	struct buf img = make_signed(false, 1, alice, 64u << 10);
	size_t start = body_start(&img), p = start, victim = 0;
	struct sig_seen s;
	uint32_t type, len, crc;
	int rt;

	while (p < img.len) { /* records up to 256 MiB: u32 lengths */
		memcpy(&type, img.p + p, 4);
		memcpy(&len, img.p + p + 8, 4);
		if (type == IMG_REC_FILE_DATA)
			victim = p;
		if (type == IMG_REC_TRAILER)
			break;
		p += 16 + len + 4;
	}
	CU_ASSERT_FATAL(victim && p < img.len);
	memcpy(&len, img.p + victim + 8, 4);
	img.p[victim + 16 + 100] ^= 0x20;
	crc = crc32c(0, img.p + victim, 16 + len);
	memcpy(img.p + victim + 16 + len, &crc, 4);
	img.p = realloc(img.p, img.len + 64); /* the new trailer may be longer */
	CU_ASSERT_FATAL(img.p != NULL);
	img.len = fix_trailer(img.p, start, p);
	CU_ASSERT_EQUAL(read_signed(&img, NULL, 1, &s), 0); /* framing is fine */
	for (rt = 1; rt <= 2; rt++) {			    /* hashed here, on the hashing thread */
		CU_ASSERT_EQUAL(read_signed(&img, trusted, rt, &s), -EBADMSG);
		CU_ASSERT_PTR_NOT_NULL(strstr(s.msg, "changed since it was signed"));
		CU_ASSERT_PTR_NOT_NULL(strstr(s.msg, "SIGNATURE"));
	}
	free(img.p);
}

/* Appends src[0..len) to out as one zstd frame at level, with the frame
 * parameters the writer uses (window of IMG_FRAME_BYTES, size unknown). */
static void put_frame(struct buf *out, const uint8_t *src, size_t len, int level)
{
	ZSTD_CCtx *c = ZSTD_createCCtx();
	ZSTD_outBuffer o = { out->p + out->len, ZSTD_compressBound(len), 0 };
	ZSTD_inBuffer i = { src, len, 0 };

	CU_ASSERT_FATAL(c != NULL);
	ZSTD_CCtx_setParameter(c, ZSTD_c_compressionLevel, level);
	ZSTD_CCtx_setParameter(c, ZSTD_c_windowLog, IMG_ZSTD_WINDOW_LOG);
	CU_ASSERT_FATAL(ZSTD_compressStream2(c, &o, &i, ZSTD_e_end) == 0);
	out->len += o.pos;
	ZSTD_freeCCtx(c);
}

/*
 * img (compressed) with every frame of its body decoded and encoded again
 * at level: the same records in frames of other bytes.  With merge > 0,
 * frame merge is joined to the one before it.
 */
static struct buf reframe(const struct buf *img, int level, size_t merge)
{
	size_t pos = body_start(img), cap = 2 * IMG_FRAME_BYTES, plen = 0, k, fl, n;
	struct buf out = { malloc(2 * img->len + (1u << 20)), pos };
	uint8_t *plain = malloc(cap);

	CU_ASSERT_FATAL(out.p && plain);
	memcpy(out.p, img->p, pos);
	for (k = 0; pos < img->len; k++, pos += fl) {
		fl = ZSTD_findFrameCompressedSize(img->p + pos, img->len - pos);
		CU_ASSERT_FATAL(!ZSTD_isError(fl));
		n = ZSTD_decompress(plain + plen, cap - plen, img->p + pos, fl);
		CU_ASSERT_FATAL(!ZSTD_isError(n));
		plen += n;
		if (k + 1 == merge)
			continue; /* the next frame joins this one */
		put_frame(&out, plain, plen, level);
		plen = 0;
	}
	free(plain);
	return out;
}

/* The stored bytes are signed, not only what they decode to: the same
 * records compressed again are refused at the first signature, and a
 * signature inside a frame (whose stored bytes the chain cannot have
 * before it) is refused as such. */
static void test_reframed(void)
{
	struct buf img = make_signed(true, 2, alice, 6u << 20), re;
	struct sig_seen s;
	int rt;

	re = reframe(&img, 5, 0);
	CU_ASSERT(re.len != img.len || memcmp(re.p, img.p, img.len));
	CU_ASSERT_EQUAL(read_signed(&re, NULL, 1, &s), 0); /* same records */
	for (rt = 1; rt <= 2; rt++) {
		CU_ASSERT_EQUAL(read_signed(&re, trusted, rt, &s), -EBADMSG);
		CU_ASSERT_PTR_NOT_NULL(strstr(s.msg, "changed since it was signed"));
		CU_ASSERT_PTR_NOT_NULL(strstr(s.msg, "record 2 (SIGNATURE)"));
	}
	free(re.p);
	re = reframe(&img, 1, 2); /* FILE_DATA's end with SIGNATURE, PAGES */
	CU_ASSERT_EQUAL(read_signed(&re, NULL, 1, &s), 0);
	for (rt = 1; rt <= 2; rt++) {
		CU_ASSERT_EQUAL(read_signed(&re, trusted, rt, &s), -EBADMSG);
		CU_ASSERT_PTR_NOT_NULL(strstr(s.msg, "signature inside a compressed frame"));
	}
	free(re.p);
	free(img.p);
}

/* The body offset of the first record of type in an uncompressed image,
 * and of its trailer (*trailer); 0 if there is none. */
static size_t find_record(const struct buf *img, uint32_t type, size_t *trailer)
{
	size_t p = body_start(img), found = 0;
	uint32_t t, len;

	while (p < img->len) { /* records up to 256 MiB: u32 lengths */
		memcpy(&t, img->p + p, 4);
		memcpy(&len, img->p + p + 8, 4);
		if (t == type && !found)
			found = p;
		if (t == IMG_REC_TRAILER)
			break;
		p += 16 + len + 4;
	}
	*trailer = p;
	return found;
}

/* A signature of scheme 1 (BLAKE2b over the uncompressed body, before
 * scheme 2) is refused by name, not as a changed image. */
static void test_old_scheme(void)
{
	struct buf img = make_signed(false, 1, alice, 64u << 10);
	size_t trailer, at = find_record(&img, IMG_REC_SIGNATURE, &trailer);
	struct sig_seen s;
	uint32_t len, crc;
	SigEntry *e;

	CU_ASSERT_FATAL(at && trailer < img.len);
	memcpy(&len, img.p + at + 8, 4);
	e = sig_entry__unpack(NULL, len, img.p + at + 16);
	CU_ASSERT_FATAL(e && e->has_scheme && e->scheme == IMG_SIG_SCHEME);
	e->scheme = 1; /* packs to as many bytes */
	CU_ASSERT_EQUAL_FATAL(sig_entry__pack(e, img.p + at + 16), len);
	sig_entry__free_unpacked(e, NULL);
	crc = crc32c(0, img.p + at, 16 + len);
	memcpy(img.p + at + 16 + len, &crc, 4);
	img.p = realloc(img.p, img.len + 64); /* the new trailer may be longer */
	CU_ASSERT_FATAL(img.p != NULL);
	img.len = fix_trailer(img.p, body_start(&img), trailer);
	CU_ASSERT_EQUAL(read_signed(&img, NULL, 1, &s), 0);
	CU_ASSERT_EQUAL(read_signed(&img, trusted, 1, &s), -EKEYREJECTED);
	CU_ASSERT_PTR_NOT_NULL(strstr(s.msg, "signature scheme 1, this vxcr checks scheme 2"));
	free(img.p);
}

/* A secret key others may read is refused; a signature record round-trips. */
static void test_key_files(void)
{
	struct vxcr_key *k = NULL;
	char path[128];

	snprintf(path, sizeof(path), "%s/mallory.key", keydir);
	CU_ASSERT_EQUAL_FATAL(chmod(path, 0640), 0);
	CU_ASSERT_EQUAL(vxcr_key_load(path, &k), -EPERM);
	CU_ASSERT_EQUAL_FATAL(chmod(path, 0600), 0);
	CU_ASSERT_EQUAL(vxcr_key_load(path, &k), 0);
	CU_ASSERT_STRING_EQUAL(k->name, "mallory");
	CU_ASSERT(!memcmp(k->pk, others->keys[0].pk, sizeof(k->pk)));
	CU_ASSERT(!memcmp(k->id, others->keys[0].id, IMG_KEY_ID_LEN));
	vxcr_key_free(k);
	CU_ASSERT_PTR_NOT_NULL(img_rec_lookup(IMG_REC_SIGNATURE));
	CU_ASSERT_EQUAL(img_rec_lookup(IMG_REC_SIGNATURE)->flags, IMG_RF_OPTIONAL);
	CU_ASSERT_PTR_EQUAL(img_rec_lookup(IMG_REC_SIGNATURE)->pb, &sig_entry__descriptor);
}

int main(void)
{
	CU_pSuite s;
	unsigned fails;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	s = CU_add_suite("img-sign", setup_keys, cleanup_keys);
	CU_add_test(s, "chain segments", test_chain_segments);
	CU_add_test(s, "adaptive writer, signed", test_roundtrip_adaptive);
	CU_add_test(s, "round trip in every writer mode", test_roundtrip_modes);
	CU_add_test(s, "untrusted key, unsigned image", test_refusals);
	CU_add_test(s, "changed payload, checksums repaired", test_changed_payload);
	CU_add_test(s, "same records in other frames", test_reframed);
	CU_add_test(s, "scheme 1 signature", test_old_scheme);
	CU_add_test(s, "key files", test_key_files);

	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	fails = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
	CU_cleanup_registry();
	return fails ? 1 : 0;
}
