/*
 * libFuzzer harness: the restore planner.  plan_read() reads the records
 * up to the first PAGES record into a plan (lib/restore/plan.c) and
 * check_plan_image() runs every check that needs only the image: records
 * against each other, this CPU, our own vdso, sessions and helpers, fd and
 * address layout, shared memory objects, seccomp filters
 * (lib/restore/check.c, layout.c, shmem.c, seccomp.c, fork.c).
 *
 * Stopped there on purpose: check_plan()'s host checks stat() paths named
 * by the image and look up (and may wait for) its pids, and restore_run()
 * creates processes.  Nothing here opens a file named by the image,
 * signals a process or creates anything.
 */
#include <stdlib.h>

#include "restore/restore.h"
#include "lf/fuzz.h"

int fuzz_plan(const uint8_t *data, size_t size)
{
	struct vxcr_restore_opts o;
	struct restore_ctx *rc;
	int fd = fuzz_input_fd(data, size);

	if (fd < 0)
		return 0;
	vxcr_restore_opts_init(&o);
	rc = restore_ctx_new(fd, &o);
	if (!rc)
		return 0;
	if (!plan_read(rc))
		check_plan_image(rc);
	restore_ctx_free(rc);
	return 0;
}
