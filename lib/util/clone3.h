/* clone3() with set_tid: the kernel ABI, our own copy (Debian 12 headers lack it). */
#ifndef VXCR_CLONE3_H
#define VXCR_CLONE3_H

#include <stdint.h>
#include <unistd.h>
#include <sys/syscall.h>

#ifndef SYS_clone3
#define SYS_clone3 435
#endif

#ifndef CLONE_INTO_CGROUP
#define CLONE_INTO_CGROUP 0x200000000ULL
#endif

/* struct clone_args up to cgroup (CLONE_ARGS_SIZE_VER2, 88 bytes, Linux 5.7). */
struct vxcr_clone_args {
	uint64_t flags;
	uint64_t pidfd;
	uint64_t child_tid;
	uint64_t parent_tid;
	uint64_t exit_signal;
	uint64_t stack;
	uint64_t stack_size;
	uint64_t tls;
	uint64_t set_tid;
	uint64_t set_tid_size;
	uint64_t cgroup; /* fd of a cgroup v2 directory, with CLONE_INTO_CGROUP */
};

/* fork-like clone3: 0 in the child, the child's pid, or -1 with errno. */
static inline long vxcr_clone3(struct vxcr_clone_args *a)
{
	return syscall(SYS_clone3, a, sizeof(*a));
}

#endif
