/*
 * seccomp-filters TID...: prints every seccomp filter of each thread as the
 * kernel hands it to a tracer, one line per filter, oldest first:
 *
 *   tid T filter I flags F insns N <hex of the struct sock_filter array>
 *
 * (PTRACE_SEIZE + PTRACE_INTERRUPT, PTRACE_SECCOMP_GET_FILTER and
 * PTRACE_SECCOMP_GET_METADATA, then PTRACE_DETACH; the thread goes on.)
 * t-seccomp.sh compares this output before the dump and after the restore.
 * Exit status 0, or 1 with a message on stderr.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <linux/filter.h>

#include "../../lib/util/seccomp-compat.h"

struct seccomp_md {
	uint64_t filter_off;
	uint64_t flags;
};

/* Prints the filters of stopped tid.  0 or -1. */
static int print_filters(pid_t tid)
{
	struct sock_filter prog[BPF_MAXINSNS];
	unsigned long i;
	long n, k;

	for (i = 0;; i++) {
		struct seccomp_md md = { i, 0 };

		n = ptrace(PTRACE_SECCOMP_GET_FILTER, tid, i, NULL);
		if (n < 0 && errno == ENOENT)
			return 0;
		if (n <= 0 || n > BPF_MAXINSNS ||
		    ptrace(PTRACE_SECCOMP_GET_FILTER, tid, i, prog) != n ||
		    ptrace(PTRACE_SECCOMP_GET_METADATA, tid, sizeof(md), &md) != sizeof(md)) {
			fprintf(stderr, "seccomp-filters: tid %d filter %lu: %s\n", tid, i,
				strerror(errno));
			return -1;
		}
		printf("tid %d filter %lu flags %#llx insns %ld ", tid, i,
		       (unsigned long long)md.flags, n);
		for (k = 0; k < n * (long)sizeof(prog[0]); k++)
			printf("%02x", ((const uint8_t *)prog)[k]);
		printf("\n");
	}
}

int main(int argc, char **argv)
{
	int i, st, ret = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: seccomp-filters TID...\n");
		return 2;
	}
	for (i = 1; i < argc; i++) {
		pid_t tid = atoi(argv[i]);

		if (ptrace(PTRACE_SEIZE, tid, 0, 0) || ptrace(PTRACE_INTERRUPT, tid, 0, 0) ||
		    waitpid(tid, &st, __WALL) != tid) {
			fprintf(stderr, "seccomp-filters: tid %d: %s\n", tid, strerror(errno));
			return 1;
		}
		if (print_filters(tid))
			ret = 1;
		if (ptrace(PTRACE_DETACH, tid, 0, 0)) {
			fprintf(stderr, "seccomp-filters: detach %d: %s\n", tid, strerror(errno));
			ret = 1;
		}
	}
	return ret;
}
