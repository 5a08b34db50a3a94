/*
 * Unit tests of the page store (lib/img/pstore.h): pages put read back,
 * a put of a held page overwrites it, keys and addresses are separate,
 * drop of a range and of a whole key frees slots that later puts reuse
 * (memory does not grow), bad alignment is refused, and a store of many
 * pages checked against a model after random puts and drops.  Stores
 * loaded from images: a chain of parents (nearer pages win, PARENT ranges
 * resolve through farther ones), and its refusals (wrong order, a link
 * that does not match, a missing parent, a range no parent holds); the
 * reader's checks of page prefix flags.
 */
#include "img-test.h"
#include "img/pstore.h"

static const uint8_t id1[16] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 };

/* Page contents that name (key, addr, gen). */
static void fill(uint8_t *p, uint32_t key, uint64_t addr, uint32_t gen)
{
	uint32_t i;

	for (i = 0; i < PAGE; i += 16) {
		memcpy(p + i, &key, 4);
		memcpy(p + i + 4, &addr, 8);
		memcpy(p + i + 12, &gen, 4);
	}
}

static bool holds(const struct vxcr_pstore *ps, uint32_t key, uint64_t addr, uint32_t gen)
{
	uint8_t want[PAGE];
	const void *got = pstore_get(ps, key, addr);

	fill(want, key, addr, gen);
	return got && !memcmp(got, want, PAGE);
}

static void test_basic(void)
{
	struct vxcr_pstore *ps;
	uint8_t buf[4 * PAGE];
	int i;

	CU_ASSERT_FATAL(pstore_new(id1, &ps) == 0);
	CU_ASSERT(!memcmp(pstore_id(ps), id1, 16));
	CU_ASSERT(pstore_pages(ps) == 0);
	CU_ASSERT(pstore_get(ps, 1, 0x1000) == NULL);
	for (i = 0; i < 4; i++)
		fill(buf + i * PAGE, 7, 0x10000 + i * PAGE, 1);
	CU_ASSERT(pstore_put(ps, 7, 0x10000, buf, sizeof(buf)) == 0);
	CU_ASSERT(pstore_pages(ps) == 4);
	for (i = 0; i < 4; i++)
		CU_ASSERT(holds(ps, 7, 0x10000 + i * PAGE, 1));
	CU_ASSERT(pstore_get(ps, 8, 0x10000) == NULL);
	CU_ASSERT(pstore_get(ps, 7, 0x14000) == NULL);
	CU_ASSERT(pstore_get(ps, 7, 0x10001) == NULL);
	CU_ASSERT(pstore_has(ps, 7, 0x10000, 4 * PAGE));
	CU_ASSERT(!pstore_has(ps, 7, 0x10000, 5 * PAGE));
	CU_ASSERT(!pstore_has(ps, 7, 0xf000, 2 * PAGE));
	CU_ASSERT(pstore_has(ps, 7, 0x11000, 0));

	/* overwrite in place: no new page */
	fill(buf, 7, 0x11000, 2);
	CU_ASSERT(pstore_put(ps, 7, 0x11000, buf, PAGE) == 0);
	CU_ASSERT(pstore_pages(ps) == 4);
	CU_ASSERT(holds(ps, 7, 0x11000, 2));
	CU_ASSERT(holds(ps, 7, 0x10000, 1));

	CU_ASSERT(pstore_put(ps, 7, 0x10001, buf, PAGE) == -EINVAL);
	CU_ASSERT(pstore_put(ps, 7, 0x10000, buf, 100) == -EINVAL);
	CU_ASSERT(pstore_put(ps, 7, UINT64_MAX & ~0xfffull, buf, 2 * PAGE) == -EINVAL);
	CU_ASSERT(pstore_drop(ps, 7, 0x10, PAGE) == -EINVAL);

	/* drop a range: the neighbours stay */
	CU_ASSERT(pstore_drop(ps, 7, 0x11000, 2 * PAGE) == 0);
	CU_ASSERT(pstore_pages(ps) == 2);
	CU_ASSERT(holds(ps, 7, 0x10000, 1));
	CU_ASSERT(holds(ps, 7, 0x13000, 1));
	CU_ASSERT(pstore_get(ps, 7, 0x12000) == NULL);
	/* every page of a key */
	fill(buf, 9, 0x10000, 1);
	CU_ASSERT(pstore_put(ps, 9, 0x10000, buf, PAGE) == 0);
	CU_ASSERT(pstore_drop(ps, 7, 0, UINT64_MAX) == 0);
	CU_ASSERT(pstore_pages(ps) == 1);
	CU_ASSERT(holds(ps, 9, 0x10000, 1));
	pstore_free(ps);
}

/* Slots of dropped pages are reused: memory stays that of the peak. */
static void test_reuse(void)
{
	struct vxcr_pstore *ps;
	uint8_t buf[PAGE];
	uint64_t a, mem;
	const uint64_t n = 4096;

	CU_ASSERT_FATAL(pstore_new(id1, &ps) == 0);
	for (a = 0; a < n; a++) {
		fill(buf, 1, a * PAGE, 0);
		CU_ASSERT_FATAL(pstore_put(ps, 1, a * PAGE, buf, PAGE) == 0);
	}
	mem = pstore_mem(ps);
	/* bounded by the pages held: their bytes plus the index */
	CU_ASSERT(mem >= n * PAGE);
	CU_ASSERT(mem <= n * PAGE + n * 72 + 4096);
	CU_ASSERT(pstore_drop(ps, 1, 0, UINT64_MAX) == 0);
	CU_ASSERT(pstore_pages(ps) == 0);
	for (a = 0; a < n; a++) {
		fill(buf, 2, (a + n) * PAGE, 3);
		CU_ASSERT_FATAL(pstore_put(ps, 2, (a + n) * PAGE, buf, PAGE) == 0);
	}
	CU_ASSERT(pstore_mem(ps) == mem);
	CU_ASSERT(pstore_pages(ps) == n);
	for (a = 0; a < n; a++)
		CU_ASSERT(holds(ps, 2, (a + n) * PAGE, 3));
	pstore_free(ps);
}

/* Random puts and drops against a model of 3 keys x 2048 pages. */
static void test_model(void)
{
	enum { KEYS = 3, PAGES = 2048 };
	static uint32_t model[KEYS][PAGES]; /* gen + 1, 0: absent */
	struct vxcr_pstore *ps;
	uint8_t buf[PAGE];
	uint64_t held = 0, peak = 0;
	unsigned i, k, p, len, j;
	bool ok = true;

	srandom(15);
	CU_ASSERT_FATAL(pstore_new(id1, &ps) == 0);
	for (i = 0; i < 60000; i++) {
		k = (unsigned)random() % KEYS;
		p = (unsigned)random() % PAGES;
		if (random() % 3) {
			fill(buf, k, (uint64_t)p * PAGE, i);
			CU_ASSERT_FATAL(pstore_put(ps, k, (uint64_t)p * PAGE, buf, PAGE) == 0);
			held += !model[k][p];
			model[k][p] = i + 1;
		} else {
			len = 1 + (unsigned)random() % 16;
			if (p + len > PAGES)
				len = PAGES - p;
			CU_ASSERT_FATAL(
				pstore_drop(ps, k, (uint64_t)p * PAGE, (uint64_t)len * PAGE) == 0);
			for (j = p; j < p + len; j++) {
				held -= !!model[k][j];
				model[k][j] = 0;
			}
		}
		peak = held > peak ? held : peak;
	}
	CU_ASSERT(pstore_pages(ps) == held);
	for (k = 0; k < KEYS; k++)
		for (p = 0; p < PAGES; p++)
			if (model[k][p] ? !holds(ps, k, (uint64_t)p * PAGE, model[k][p] - 1) :
					  pstore_get(ps, k, (uint64_t)p * PAGE) != NULL)
				ok = false;
	CU_ASSERT(ok);
	CU_ASSERT(pstore_mem(ps) <= peak * PAGE + peak * 72 + 8192);
	pstore_free(ps);
}

/* One image: TASK pid 10 (mm 1), then each page record of recs. */
struct pg {
	uint32_t type, flags;
	uint64_t addr, len; /* len: pages' bytes, or the range's length */
	uint32_t gen;
};

static struct buf write_img(const uint8_t *parent, const struct pg *recs, size_t n, uint8_t *id)
{
	struct img_write_opts o = { .root_pid = 10, .parent_id = parent };
	TaskEntry t = TASK_ENTRY__INIT;
	struct img_writer *w;
	struct img_pages_prefix pp;
	struct buf b;
	uint8_t *data;
	size_t i, off;
	int fd = memfd_with(NULL, 0);

	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_FATAL(img_writer_open(fd, &o, &w) == 0);
	memcpy(id, img_writer_header(w)->image_id.data, 16);
	t.has_pid = t.has_mm_id = true;
	t.pid = 10;
	t.mm_id = 1;
	CU_ASSERT_FATAL(img_write_msg(w, IMG_REC_TASK, &t.base) == 0);
	for (i = 0; i < n; i++) {
		pp = (struct img_pages_prefix){ recs[i].addr, 1, recs[i].flags };
		if (recs[i].flags) {
			CU_ASSERT_FATAL(img_write_raw2(w, recs[i].type, 0, &pp, sizeof(pp),
						       &recs[i].len, 8) == 0);
			continue;
		}
		data = malloc(recs[i].len);
		for (off = 0; off < recs[i].len; off += PAGE)
			fill(data + off, 10, recs[i].addr + off, recs[i].gen);
		CU_ASSERT_FATAL(img_write_raw2(w, recs[i].type, 0, &pp, sizeof(pp), data,
					       recs[i].len) == 0);
		free(data);
	}
	CU_ASSERT_FATAL(img_writer_finish(w) == 0);
	img_writer_free(w);
	b = slurp(fd);
	close(fd);
	return b;
}

/* pstore_load_chain() over memfds of the images, nearest first. */
static int load(const struct buf *imgs, size_t n, struct vxcr_pstore **ps)
{
	int fds[4] = { -1, -1, -1, -1 }, ret;
	size_t i;

	for (i = 0; i < n; i++)
		fds[i] = memfd_with(imgs[i].p, imgs[i].len);
	ret = pstore_load_chain(fds, n, NULL, ps);
	for (i = 0; i < n; i++)
		close(fds[i]);
	return ret;
}

static void test_chain(void)
{
	const struct pg a[] = { { IMG_REC_PAGES, 0, 0x10000, 3 * PAGE, 1 } };
	const struct pg b[] = {
		{ IMG_REC_PAGES, 0, 0x10000, PAGE, 2 },
		{ IMG_REC_PAGES, IMG_PAGES_PARENT, 0x11000, PAGE, 0 },
		{ IMG_REC_PAGES, IMG_PAGES_ZERO, 0x12000, PAGE, 0 },
	};
	const struct pg c[] = { { IMG_REC_PAGES, IMG_PAGES_PARENT, 0x10000, 2 * PAGE, 0 } };
	const struct pg bad[] = { { IMG_REC_PAGES, IMG_PAGES_PARENT, 0x20000, PAGE, 0 } };
	uint8_t ida[16], idb[16], idc[16], idx[16], idbad[16];
	struct buf imgs[3], other, badimg;
	struct vxcr_pstore *ps = NULL;

	imgs[2] = write_img(NULL, a, 1, ida);
	imgs[1] = write_img(ida, b, 3, idb);
	imgs[0] = write_img(idb, c, 1, idc);
	other = write_img(NULL, a, 1, idx);
	badimg = write_img(ida, bad, 1, idbad);

	/* the chain of c: b, then a */
	CU_ASSERT_FATAL(load(imgs + 1, 2, &ps) == 0);
	CU_ASSERT(!memcmp(pstore_id(ps), idb, 16));
	CU_ASSERT(holds(ps, 10, 0x10000, 2));		/* b's own page wins */
	CU_ASSERT(holds(ps, 10, 0x11000, 1));		/* b's PARENT range: a's */
	CU_ASSERT(pstore_get(ps, 10, 0x12000) == NULL); /* b's ZERO range */
	CU_ASSERT(pstore_pages(ps) == 2);
	pstore_free(ps);
	/* a full image alone */
	CU_ASSERT_FATAL(load(imgs + 2, 1, &ps) == 0);
	CU_ASSERT(!memcmp(pstore_id(ps), ida, 16) && pstore_pages(ps) == 3);
	pstore_free(ps);

	/* refusals: an incremental last, wrong order, a link that does not match */
	CU_ASSERT(load(imgs + 1, 1, &ps) == -ENOENT);
	CU_ASSERT(load(imgs, 2, &ps) == -ENOENT);
	{
		struct buf wrong[2] = { imgs[2], imgs[1] };
		struct buf mism[2] = { imgs[1], other };

		CU_ASSERT(load(wrong, 2, &ps) == -ENOENT);
		CU_ASSERT(load(mism, 2, &ps) == -EINVAL);
	}
	/* a PARENT range its parent does not hold */
	{
		struct buf chain[2] = { badimg, imgs[2] };

		CU_ASSERT(load(chain, 2, &ps) == -ENOENT);
	}
	free(imgs[0].p);
	free(imgs[1].p);
	free(imgs[2].p);
	free(other.p);
	free(badimg.p);
}

/* The reader refuses page records with bad flags or range lengths. */
static void test_prefix_flags(void)
{
	const struct pg cases[][1] = {
		{ { IMG_REC_PAGES, 0x8, 0x10000, PAGE, 0 } },
		{ { IMG_REC_PAGES, IMG_PAGES_ZERO | IMG_PAGES_PARENT, 0x10000, PAGE, 0 } },
		{ { IMG_REC_PAGES, IMG_PAGES_LAZY | IMG_PAGES_PARENT, 0x10000, PAGE, 0 } },
		{ { IMG_REC_PAGES, IMG_PAGES_LAZY, 0x10000, 100, 0 } },
		{ { IMG_REC_PAGES, IMG_PAGES_PARENT, 0x10000, 100, 0 } },
		{ { IMG_REC_PAGES, IMG_PAGES_PARENT, 0x10800, PAGE, 0 } },
		{ { IMG_REC_PAGES, IMG_PAGES_PARENT, 0x10000, 0, 0 } },
		{ { IMG_REC_PAGES, IMG_PAGES_PARENT, ~0xfffull, 2 * PAGE, 0 } },
		{ { IMG_REC_SHMEM_PAGES, IMG_PAGES_ZERO, 0, PAGE, 0 } },
	};
	const struct pg good[] = { { IMG_REC_PAGES, IMG_PAGES_PARENT, 0x10000, 4 * PAGE, 0 } };
	static const uint8_t parent[16] = { 7 };
	uint8_t id[16];
	char msg[256];
	struct buf b;
	size_t i;

	const struct pg lazy[] = { { IMG_REC_PAGES, IMG_PAGES_LAZY, 0x10000, 4 * PAGE, 0 } };
	struct vxcr_pstore *ps = NULL;

	b = write_img(parent, good, 1, id);
	CU_ASSERT(read_image(b.p, b.len, NULL, msg, sizeof(msg)) == 0);
	free(b.p);
	/* a post-copy migration's lazy range: read, but never a parent image */
	b = write_img(NULL, lazy, 1, id);
	CU_ASSERT(read_image(b.p, b.len, NULL, msg, sizeof(msg)) == 0);
	CU_ASSERT(load(&b, 1, &ps) == -EBADMSG);
	free(b.p);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		b = write_img(NULL, cases[i], 1, id);
		CU_ASSERT(read_image(b.p, b.len, NULL, msg, sizeof(msg)) == -EBADMSG);
		free(b.p);
	}
}

int main(void)
{
	CU_pSuite s;
	unsigned fails;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	s = CU_add_suite("page store", NULL, NULL);
	CU_add_test(s, "put, get, overwrite, drop, refusals", test_basic);
	CU_add_test(s, "dropped slots reused", test_reuse);
	CU_add_test(s, "random puts and drops against a model", test_model);
	CU_add_test(s, "a chain of parent images, and its refusals", test_chain);
	CU_add_test(s, "page prefix flags checked by the reader", test_prefix_flags);

	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	fails = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
	CU_cleanup_registry();
	return fails ? 1 : 0;
}
