/*
 * Test hooks shared by dump and restore, driven by VXCR_TEST_* variables.
 * They exist only in the test build of the library (-DVXCR_TEST_HOOKS:
 * BUILD/lib-test, which `make check` runs the tools with); in the shipped
 * library (BUILD/lib, `make install`) they are empty inlines, so no
 * production path reads a VXCR_TEST_* variable.
 */
#ifndef VXCR_TESTHOOK_H
#define VXCR_TESTHOOK_H

#include <stdbool.h>

#ifdef VXCR_TEST_HOOKS
/*
 * If the environment variable VXCR_TEST_PAUSE names stage, logs "pausing at
 * STAGE" (info) and sleeps 60 s, so a test can SIGKILL the tool right there
 * and check what it leaves behind; VXCR_TEST_PAUSE_MS=N sleeps N ms instead
 * (a test watches the tool's state, then lets it go on).  Otherwise
 * returns at once.
 */
void test_pause(const char *stage);
/* VXCR_TEST_FAIL=STAGE: -EIO at that stage, as if a system call had failed
 * (tests of the clean-up paths); else 0. */
int test_fail(const char *stage);
/*
 * True if VXCR_TEST_SKIP names step: the engine leaves that optional step
 * out (tests of the paths taken when a kernel feature is missing).
 */
bool test_skip(const char *step);
#else
static inline void test_pause(const char *stage)
{
	(void)stage;
}
static inline int test_fail(const char *stage)
{
	(void)stage;
	return 0;
}
static inline bool test_skip(const char *step)
{
	(void)step;
	return false;
}
#endif

#endif
