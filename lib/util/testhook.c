#define LOG_PREFIX ""

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "vxcr/vxcr.h"
#include "util/testhook.h"

#define TEST_PAUSE_SECONDS 60

void test_pause(const char *stage)
{
	const char *want = getenv("VXCR_TEST_PAUSE");

	if (!want || strcmp(want, stage))
		return;
	pr_info("pausing at %s\n", stage);
	sleep(TEST_PAUSE_SECONDS);
}

/*
 * VXCR_TEST_FAIL=STAGE makes the engine fail at that stage as if a system
 * call had failed (tests of the clean-up paths).  -EIO there, else 0.
 */
int test_fail(const char *stage)
{
	const char *want = getenv("VXCR_TEST_FAIL");

	if (!want || strcmp(want, stage))
		return 0;
	pr_err("failing at %s (VXCR_TEST_FAIL)\n", stage);
	return -EIO;
}

bool test_skip(const char *step)
{
	const char *want = getenv("VXCR_TEST_SKIP");

	return want && !strcmp(want, step);
}

bool vxcr_test_skip(const char *step)
{
	return test_skip(step);
}
