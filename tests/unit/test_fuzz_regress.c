/*
 * Replays every input under tests/fuzz/regress/ (what the libFuzzer
 * harnesses found, see NOTES "Fuzzing") through all three harness bodies:
 * the image reader, `vxcr img show/json/verify/size` and the restore
 * planner.  A harness aborts when a property breaks; under `make asan` the
 * sanitizers watch the rest.  Each file must still be read to its end
 * (the test counts them, so an empty or missing directory fails).
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <CUnit/Basic.h>

#include "vxcr/vxcr.h"
#include "lf/fuzz.h"

#define REGRESS_DIR	"tests/fuzz/regress"

static void quiet(enum vxcr_log_level lvl, const char *msg, void *arg)
{
}

/* Reads a whole file; NULL if it cannot. */
static uint8_t *slurp_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *p = NULL;
	long n;

	if (!f)
		return NULL;
	if (!fseek(f, 0, SEEK_END) && (n = ftell(f)) >= 0 && !fseek(f, 0, SEEK_SET)) {
		p = malloc(n ? n : 1);
		if (p && fread(p, 1, n, f) != (size_t)n) {
			free(p);
			p = NULL;
		}
		*len = n;
	}
	fclose(f);
	return p;
}

static void test_replay(void)
{
	DIR *d = opendir(REGRESS_DIR);
	struct dirent *e;
	char path[512];
	unsigned n = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	while ((e = readdir(d))) {
		uint8_t *data;
		size_t len;

		if (e->d_name[0] == '.' || !strcmp(e->d_name, "README"))
			continue;
		snprintf(path, sizeof(path), "%s/%s", REGRESS_DIR, e->d_name);
		data = slurp_file(path, &len);
		CU_ASSERT_PTR_NOT_NULL(data);
		if (!data)
			continue;
		printf("\n      %s", e->d_name);
		fflush(stdout);
		fuzz_reader(data, len);
		fuzz_img_text(data, len);
		fuzz_plan(data, len);
		free(data);
		n++;
	}
	closedir(d);
	CU_ASSERT(n > 0);
}

int main(void)
{
	CU_pSuite s;
	unsigned fails;

	vxcr_set_log(quiet, NULL);
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	s = CU_add_suite("fuzz_regress", NULL, NULL);
	CU_add_test(s, "replay tests/fuzz/regress", test_replay);
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	fails = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
	CU_cleanup_registry();
	return fails ? 1 : 0;
}
