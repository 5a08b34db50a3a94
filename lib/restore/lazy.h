/*
 * Post-copy (vxcr migrate --lazy): the restore of an image with
 * IMG_PAGES_LAZY ranges hands each process's userfaultfd, its lazy areas
 * registered (MISSING), to whoever serves the pages (lib/mig/lazy.c).
 */
#ifndef VXCR_RESTORE_LAZY_H
#define VXCR_RESTORE_LAZY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Pre-copy: a process's PARENT ranges past this many are copied, not lazy. */
#define VXCR_LAZY_PARENT_MAX 256

struct vxcr_lazy {
	/*
	 * Process key (its TASK pid), pid as we see it: uffd (ours from now
	 * on, also on failure) has the lazy areas (start, end pairs, n
	 * entries) registered; the process does not run yet.  Called in the
	 * process that restores it, after its pages.  0 or -errno (the
	 * restore fails).
	 */
	int (*take)(void *arg, uint32_t key, pid_t pid, int uffd, const uint64_t *ranges, size_t n);
	void *arg;
	/*
	 * Pre-copy (vxcr serve without --lazy): the IMG_PAGES_PARENT ranges of
	 * the areas post-copy would make lazy are registered too instead of
	 * copied (pages.c), and filled from the local page store after the
	 * commit (lib/mig/lazy-dst.c); IMG_PAGES_LAZY records are refused.
	 */
	bool parents;
};

#endif
