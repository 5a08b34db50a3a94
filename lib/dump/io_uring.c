/*
 * io_uring instances (fd kind "io_uring"): refused, with one line naming
 * the fd.  A ring's state is mostly the kernel's alone: submissions not
 * yet consumed and completions not yet reaped in the shared rings,
 * requests in flight (a read blocked on a pipe, a timeout), registered
 * files, buffers and buffer rings, personalities (credentials), an SQPOLL
 * thread, io-wq workers and the restrictions of a registered ring; none
 * of that can be read back or recreated from user space (NOTES: "signalfd,
 * timerfd, pidfd, pipe sizes, io_uring (issue 12)").  The rings' mappings
 * are refused by mem.c (a process may hold them without the fd).
 */
#include <string.h>

#include "dump/dump.h"

static bool is_io_uring(const struct fd_probe *p)
{
	return !strcmp(p->link, "anon_inode:[io_uring]");
}

const struct dump_fd_kind dump_fd_io_uring = {
	"io_uring", is_io_uring, NULL,
	"io_uring instances are not supported (requests in flight, registered files and "
	"buffers cannot be checkpointed)"
};
