/*
 * The test hooks (util/testhook.h), compiled in only with -DVXCR_TEST_HOOKS.
 * vxcr_test_skip() is public (the tools' own steps) and always exists: in
 * the shipped library it answers false.
 */
#define LOG_PREFIX ""

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "vxcr/vxcr.h"
#include "util/testhook.h"

#ifdef VXCR_TEST_HOOKS
#define TEST_PAUSE_SECONDS 60

void test_pause(const char *stage)
{
	const char *want = getenv("VXCR_TEST_PAUSE");
	const char *ms = getenv("VXCR_TEST_PAUSE_MS");

	if (!want || strcmp(want, stage))
		return;
	pr_info("pausing at %s\n", stage);
	if (ms) /* a pause the tool goes on after (a test watches it meanwhile) */
		usleep((useconds_t)strtoul(ms, NULL, 10) * 1000);
	else
		sleep(TEST_PAUSE_SECONDS);
}

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
#endif

bool vxcr_test_skip(const char *step)
{
	return test_skip(step);
}
