/* Acting with another task's credentials (asuser.c). */
#ifndef VXCR_UTIL_ASUSER_H
#define VXCR_UTIL_ASUSER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A task's credentials: uid/gid real, effective, saved, fs. */
struct util_creds {
	uint32_t uid[4], gid[4];
	const uint32_t *groups;
	size_t n_groups;
	uint64_t cap_inh, cap_prm, cap_eff;
};

/*
 * May c read each of fds[0..n) (any fd on the inode, O_PATH too)?  The
 * index of the first it may not read in *bad (n: all).  0 or -errno
 * (logged).
 */
int util_readable_as(const struct util_creds *c, const int *fds, size_t n, size_t *bad);

/* True if capability cap is in the calling thread's effective set. */
bool util_have_cap(unsigned cap);

#endif
