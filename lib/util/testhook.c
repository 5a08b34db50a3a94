#define LOG_PREFIX ""

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
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
