/*
 * Filling large anonymous areas with UFFDIO_COPY.
 *
 * process_vm_writev into fresh memory faults every page in: the kernel
 * allocates a zeroed page, then we copy over it.  UFFDIO_COPY allocates the
 * page and copies into it directly, with no zeroing and no fault: about 30%
 * faster per GiB here (0.27 s vs 0.38 s).  The new process creates the
 * userfaultfd (an injected call; the descriptor is bound to its mm), we take
 * a copy with pidfd_getfd, register the big private anonymous areas in
 * "missing" mode, copy pages in, then unregister and close both copies
 * before the process ever runs, so no fault can wait on us later.
 * Anything unusual (no userfaultfd, a refused register) falls back to
 * process_vm_writev silently: this is only a speed-up.
 *
 * Post-copy (vxcr migrate --lazy) is the other use: IMG_PAGES_LAZY areas
 * get a userfaultfd of their own once the tree is built (uffd_lazy()),
 * which stays registered and goes to the page server.
 */
#define LOG_PREFIX "restore/uffd: "

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <linux/userfaultfd.h>

#include "log.h"
#include "restore/lazy.h"
#include "restore/restore.h"

#ifndef UFFD_USER_MODE_ONLY
#define UFFD_USER_MODE_ONLY 1
#endif

#define UFFD_MIN_AREA (2ull << 20)   /* smaller areas: not worth an ioctl */
#define UFFD_MIN_TOTAL (16ull << 20) /* smaller images: not worth the setup */

/* Areas worth registering: big, private anonymous, written by us, no THP wish. */
static bool uffd_wanted(const VmaEntry *v)
{
	return v->kind == VMA_KIND__VMA_ANON && (v->prot & PROT_WRITE) &&
	       !(v->flags & VXCR_MAP_DROPPABLE) && !(v->flags & MAP_GROWSDOWN) &&
	       !(v->madv & (VXCR_MADV_HUGEPAGE | VXCR_MADV_GUARD)) &&
	       v->end - v->start >= UFFD_MIN_AREA;
}

/* Takes a copy of the child's fd; -errno on failure. */
static int grab_fd(struct rst_proc *proc, int child_fd)
{
	int pidfd, fd;

	pidfd = syscall(SYS_pidfd_open, proc->pid, 0);
	if (pidfd < 0)
		return -errno;
	fd = syscall(SYS_pidfd_getfd, pidfd, child_fd, 0);
	if (fd < 0)
		fd = -errno;
	close(pidfd);
	return fd;
}

static int register_areas(struct rst_proc *proc)
{
	struct uffdio_api api = { .api = UFFD_API };
	size_t i;

	if (ioctl(proc->uffd, UFFDIO_API, &api))
		return -errno;
	for (i = 0; i < proc->nr_vmas; i++) {
		const VmaEntry *v = proc->vmas[i];
		struct uffdio_register reg = {
			.range = { v->start, v->end - v->start },
			.mode = UFFDIO_REGISTER_MODE_MISSING,
		};

		if (!uffd_wanted(v))
			continue;
		if (ioctl(proc->uffd, UFFDIO_REGISTER, &reg))
			return -errno;
		proc->uffd_vma[i] = true;
	}
	return 0;
}

/*
 * Sets up UFFDIO_COPY for the big anonymous areas, if there are enough of
 * them and the kernel lets us.  Never fails the restore: returns 0, or a
 * negative errno only when the child itself is gone.
 */
int uffd_setup(struct rst_proc *proc)
{
	uint64_t total = 0;
	size_t i;
	long fd;
	int ret;

	proc->uffd = proc->uffd_child = -1;
	for (i = 0; i < proc->nr_vmas; i++)
		if (uffd_wanted(proc->vmas[i]))
			total += proc->vmas[i]->end - proc->vmas[i]->start;
	if (total < UFFD_MIN_TOTAL)
		return 0;
	proc->uffd_vma = calloc(proc->nr_vmas, sizeof(*proc->uffd_vma));
	if (!proc->uffd_vma)
		return 0;
	fd = rst_inject(proc, NULL, SYS_userfaultfd, O_CLOEXEC | UFFD_USER_MODE_ONLY, 0, 0, 0, 0,
			0);
	if (fd == -ESRCH)
		return -ESRCH;
	if (fd < 0) {
		pr_debug("no userfaultfd (%s): pages go in with process_vm_writev\n",
			 strerror((int)-fd));
		return 0;
	}
	proc->uffd_child = (int)fd;
	proc->uffd = grab_fd(proc, proc->uffd_child);
	ret = proc->uffd < 0 ? proc->uffd : register_areas(proc);
	if (ret) {
		pr_debug("userfaultfd not usable (%s): using process_vm_writev\n", strerror(-ret));
		return uffd_teardown(proc);
	}
	pr_debug("userfaultfd: %llu MiB of anonymous areas filled with UFFDIO_COPY\n",
		 (unsigned long long)(total >> 20));
	return 0;
}

/* Index of v in proc->vmas (sorted by start), or proc->nr_vmas. */
static size_t vma_index(const struct rst_proc *proc, const VmaEntry *v)
{
	size_t lo = 0, hi = proc->nr_vmas, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (proc->vmas[mid]->start < v->start)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < proc->nr_vmas && proc->vmas[lo] == v ? lo : proc->nr_vmas;
}

/*
 * Copies len bytes to addr if addr lies in a registered area.  Returns 0
 * when done, 1 when the area is not registered (caller writes otherwise),
 * or -errno (logged).
 */
int uffd_copy(struct rst_proc *proc, const VmaEntry *v, uint64_t addr, const void *data,
	      uint64_t len)
{
	struct uffdio_copy c;
	int stalls = 0;
	size_t idx;

	if (proc->uffd < 0 || !proc->uffd_vma)
		return 1;
	idx = vma_index(proc, v);
	if (idx == proc->nr_vmas || !proc->uffd_vma[idx])
		return 1;
	while (len) {
		memset(&c, 0, sizeof(c));
		c.dst = addr;
		c.src = (uintptr_t)data;
		c.len = len;
		if (ioctl(proc->uffd, UFFDIO_COPY, &c) && errno != EAGAIN) {
			pr_err("pid %d: cannot copy pages to %#llx: %s\n", proc->pid,
			       (unsigned long long)addr, strerror(errno));
			return -errno;
		}
		if (c.copy <= 0) {
			if (++stalls > 1000) {
				pr_err("pid %d: cannot copy pages to %#llx: no progress\n",
				       proc->pid, (unsigned long long)addr);
				return -EAGAIN;
			}
			continue; /* -EAGAIN: retry the rest */
		}
		addr += (uint64_t)c.copy;
		data = (const uint8_t *)data + c.copy;
		len -= (uint64_t)c.copy;
	}
	return 0;
}

/* Unregisters and closes both copies.  0, or -errno if the child is gone. */
int uffd_teardown(struct rst_proc *proc)
{
	long r = 0;
	size_t i;

	for (i = 0; proc->uffd >= 0 && proc->uffd_vma && i < proc->nr_vmas; i++) {
		struct uffdio_range rg = { proc->vmas[i]->start,
					   proc->vmas[i]->end - proc->vmas[i]->start };

		if (proc->uffd_vma[i])
			ioctl(proc->uffd, UFFDIO_UNREGISTER, &rg);
	}
	if (proc->uffd >= 0)
		close(proc->uffd);
	if (proc->uffd_child >= 0)
		r = rst_inject(proc, "close(userfaultfd)", SYS_close, proc->uffd_child, 0, 0, 0, 0,
			       0);
	proc->uffd = proc->uffd_child = -1;
	free(proc->uffd_vma);
	proc->uffd_vma = NULL;
	return r < 0 ? (int)r : 0;
}

/* An IMG_PAGES_LAZY range (checked by the caller): noted for uffd_lazy(). */
int uffd_lazy_range(struct rst_proc *proc, uint64_t start, uint64_t end)
{
	uint64_t *l = realloc(proc->lazy, (proc->n_lazy + 2) * sizeof(*l));

	if (!l)
		return -ENOMEM;
	l[proc->n_lazy++] = start;
	l[proc->n_lazy++] = end;
	proc->lazy = l;
	return 0;
}

/* Post-copy: the events that change what the page server may copy. */
#define LAZY_FEATURES                                                                     \
	(UFFD_FEATURE_EVENT_FORK | UFFD_FEATURE_EVENT_REMOVE | UFFD_FEATURE_EVENT_UNMAP | \
	 UFFD_FEATURE_EVENT_REMAP)

/*
 * Post-copy, once the whole tree is built (its forks done: a fork with
 * EVENT_FORK waits for a reader, and none runs yet): a userfaultfd made in
 * the process WITHOUT UFFD_USER_MODE_ONLY (the kernel's own accesses to a
 * lazy page wait too instead of failing with EFAULT), its lazy areas
 * registered MISSING, handed to the page server's take().  0 or -errno
 * (logged).
 */
int uffd_lazy(struct rst_proc *proc)
{
	const struct vxcr_lazy *lz = proc->img->opts->lazy;
	struct uffdio_api api = { .api = UFFD_API, .features = LAZY_FEATURES };
	int uffd = -1, ret = 0;
	long child;
	size_t i;

	if (!proc->n_lazy)
		return 0;
	child = rst_inject(proc, "userfaultfd", SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK, 0, 0, 0, 0,
			   0);
	if (child < 0) {
		pr_err("pid %d: cannot make a userfaultfd for its lazy pages (post-copy needs one "
		       "that takes the kernel's faults too): %s\n",
		       proc->pid, strerror((int)-child));
		return (int)child;
	}
	uffd = grab_fd(proc, (int)child);
	if (uffd < 0)
		ret = uffd;
	else if (ioctl(uffd, UFFDIO_API, &api))
		ret = -errno;
	for (i = 0; !ret && i < proc->n_lazy; i += 2) {
		struct uffdio_register reg = {
			.range = { proc->lazy[i], proc->lazy[i + 1] - proc->lazy[i] },
			.mode = UFFDIO_REGISTER_MODE_MISSING,
		};

		if (ioctl(uffd, UFFDIO_REGISTER, &reg))
			ret = -errno;
	}
	if (ret)
		pr_err("pid %d: cannot register its lazy pages with a userfaultfd: %s\n", proc->pid,
		       strerror(-ret));
	if (rst_inject(proc, "close(userfaultfd)", SYS_close, child, 0, 0, 0, 0, 0) < 0 && !ret)
		ret = -ESRCH;
	if (ret) {
		if (uffd >= 0)
			close(uffd);
		return ret;
	}
	return lz->take(lz->arg, (uint32_t)proc->task->pid, proc->pid, uffd, proc->lazy,
			proc->n_lazy);
}
