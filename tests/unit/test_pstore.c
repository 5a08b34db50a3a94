/*
 * Unit tests of the page store (lib/img/pstore.h): pages put read back,
 * a put of a held page overwrites it, keys and addresses are separate,
 * drop of a range and of a whole key frees slots that later puts reuse
 * (memory does not grow), bad alignment is refused, and a store of many
 * pages checked against a model after random puts and drops.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <CUnit/Basic.h>

#include "img/pstore.h"

#define PAGE 4096u

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

	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	fails = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
	CU_cleanup_registry();
	return fails ? 1 : 0;
}
