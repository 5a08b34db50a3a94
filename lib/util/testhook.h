/* Test hook shared by dump and restore: VXCR_TEST_PAUSE=STAGE. */
#ifndef VXCR_TESTHOOK_H
#define VXCR_TESTHOOK_H

#include <stdbool.h>

/*
 * If the environment variable VXCR_TEST_PAUSE names stage, logs "pausing at
 * STAGE" (info) and sleeps 60 s, so a test can SIGKILL the tool right there
 * and check what it leaves behind.  Otherwise returns at once.
 */
void test_pause(const char *stage);
int test_fail(const char *stage);
/*
 * True if VXCR_TEST_SKIP names step: the engine leaves that optional step
 * out (tests of the paths taken when a kernel feature is missing).
 */
bool test_skip(const char *step);

#endif
