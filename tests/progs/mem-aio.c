/*
 * mem-aio: a process with an AIO context (io_setup; its ring is mapped as
 * "/[aio] (deleted)").  vxdump refuses it with one line (t-mem-aio.sh);
 * after "go" the program checks its context still works (the refused
 * dump left it alone).
 */
#include <time.h>
#include <sys/syscall.h>
#include <linux/aio_abi.h>
#include "prog.h"

int main(int argc, char **argv)
{
	aio_context_t ctx = 0;
	struct io_event ev;
	struct timespec zero = { 0, 0 };

	prog_init(argc, argv, "mem-aio");
	if (syscall(SYS_io_setup, 64, &ctx))
		prog_fail("io_setup: %s", strerror(errno));
	prog_ready();
	prog_wait_go();
	CHECK(syscall(SYS_io_getevents, ctx, 0, 1, &ev, &zero) == 0,
	      "io_getevents on the context: %s", strerror(errno));
	CHECK(syscall(SYS_io_destroy, ctx) == 0, "io_destroy: %s", strerror(errno));
	prog_finish();
}
