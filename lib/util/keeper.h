/*
 * Keeper processes: a child forked to outlive vxdump or vxrestore and
 * undo what they leave half done if they die (the restore janitor, the
 * context-dump guardian).  It holds one socket to its creator and nothing
 * else, and a ^C or hangup of the creator's terminal must not end it.
 */
#ifndef VXCR_UTIL_KEEPER_H
#define VXCR_UTIL_KEEPER_H

#include <signal.h>
#include <unistd.h>
#include <sys/syscall.h>

/* In the keeper, first thing: every fd but sk closed, terminal signals ignored. */
static inline void keeper_detach(int sk)
{
	syscall(SYS_close_range, 0, sk - 1, 0);
	syscall(SYS_close_range, sk + 1, ~0u, 0);
	signal(SIGINT, SIG_IGN);
	signal(SIGTERM, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
}

#endif
