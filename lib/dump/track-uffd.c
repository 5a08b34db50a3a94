/*
 * The dirty tracker's processes: the tree listed once at the start, a
 * userfaultfd made inside each process, and the reads of its memory.
 *
 * The uffd: one thread (the leader) is seized and interrupted, the
 * injected userfaultfd(O_CLOEXEC | O_NONBLOCK | UFFD_USER_MODE_ONLY) runs
 * in it (frame mode of util/inject.h when it can: a tracker killed
 * mid-call leaves the thread's registers as they were), the fd is taken
 * with pidfd_getfd, an injected close() drops the target's copy, and the
 * thread is detached: the process is stopped only for that.  UFFDIO_API
 * (WP_ASYNC | WP_UNPOPULATED) and the registrations are ours: the ioctls
 * act on the uffd's mm.  Our close of the uffd, or our death, unregisters
 * every area (the kernel clears the write-protect bits).  A process with
 * seccomp filters is tracked only if they let both calls run
 * (track-seccomp.c judges them first): a filter could fail userfaultfd,
 * or kill the process for it.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/seccomp.h>
#include <linux/userfaultfd.h>
#include <sys/ioctl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>

#define LOG_PREFIX "dump/track: "
#include "log.h"
#include "dump/dump.h"
#include "dump/pagemap.h"
#include "dump/track-int.h"
#include "util/inject.h"

#define TRACK_MAX_PROCS 65536
#define STOP_WAIT_MS 2000
#define INJECT_DATA 64

/* Appends the children of every thread of pid to *v. */
static int add_children(pid_t pid, pid_t **v, size_t *n)
{
	pid_t *tids = NULL, *kids, *nv;
	size_t nt = 0, nk, i;
	char name[64], *text = NULL;
	int ret;

	ret = dump_list_tids(pid, &tids, &nt);
	for (i = 0; !ret && i < nt; i++) {
		text = NULL;
		kids = NULL;
		nk = 0;
		snprintf(name, sizeof(name), "task/%d/children", tids[i]);
		if (proc_read_file(pid, name, &text, NULL))
			continue; /* the thread is gone */
		ret = dump_tree_parse_pids(text, &kids, &nk);
		free(text);
		/* no realloc for no children: it may move *v without *v knowing */
		nv = ret || !nk ? NULL : realloc(*v, (*n + nk) * sizeof(**v));
		if (!ret && nk && !nv)
			ret = -ENOMEM;
		if (!ret && nk) {
			memcpy(nv + *n, kids, nk * sizeof(*kids));
			*v = nv;
			*n += nk;
		}
		free(kids);
	}
	free(tids);
	return ret;
}

int trk_list_tree(pid_t root, pid_t **out, size_t *n)
{
	pid_t *v = malloc(sizeof(*v));
	size_t i;
	int ret = 0;

	if (!v)
		return -ENOMEM;
	v[0] = root;
	*n = 1;
	for (i = 0; !ret && i < *n && *n < TRACK_MAX_PROCS; i++) {
		ret = add_children(v[i], &v, n);
		if (ret == -ENOENT && i)
			ret = 0; /* exited meanwhile */
	}
	if (ret) {
		free(v);
		return ret;
	}
	*out = v;
	return 0;
}

/* Waits (polling) for the PTRACE_EVENT_STOP of tid; signals met go on.  0/-errno */
static int wait_stop(pid_t tid)
{
	struct timespec ts = { 0, 200000 };
	int status, i, ms = 0;
	pid_t r;

	for (i = 0; i < 64;) {
		r = waitpid(tid, &status, __WALL | WNOHANG);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0) {
			if (++ms / 5 > STOP_WAIT_MS)
				return -ETIMEDOUT;
			nanosleep(&ts, NULL);
			continue;
		}
		if (!WIFSTOPPED(status))
			return -ESRCH;
		if ((status >> 16) == PTRACE_EVENT_STOP)
			return 0;
		if (ptrace(PTRACE_CONT, tid, 0, (void *)(long)WSTOPSIG(status)))
			return -errno;
		i++;
	}
	return -EAGAIN;
}

/* Gadgets for frame-mode injection into pid, else a vdso syscall.  0/-errno */
static int prepare_inject(pid_t pid, struct inject *in, struct inject_gadgets *g)
{
	struct proc_vma_list vmas = { 0 };
	uint64_t vdso = 0;
	char *text = NULL;
	int ret;

	ret = proc_read_file(pid, "maps", &text, NULL);
	ret = ret ?: proc_parse_smaps(text, &vmas);
	free(text);
	if (ret)
		return ret;
	ret = inject_find_gadgets(pid, &vmas, g);
	if (!ret)
		ret = inject_init_frame(in, pid, g, &vmas, NULL, 0, INJECT_DATA);
	if (ret == -ENOENT || ret == -ENOSPC) {
		ret = inject_find_vdso_gadget(pid, &vdso);
		ret = ret ?: inject_init(in, pid, vdso);
	}
	proc_vma_list_free(&vmas);
	return ret;
}

/*
 * Does the seccomp filter of stopped pid let call nr(a0) from in's gadget
 * run?  0 yes; -EACCES (why set) if it would fail it, kill, trap, notify
 * or trace, or cannot be judged.
 */
static int filter_allows(pid_t pid, int nfilters, const struct inject *in, int nr, uint64_t a0,
			 const char **why)
{
	const uint64_t args[6] = { a0 };
	uint32_t act;

	if (!nfilters)
		return 0;
	act = (uint32_t)trk_seccomp_action(pid, nfilters, nr, args, in->gadget + 2);
	if (act == SECCOMP_RET_ALLOW || act == SECCOMP_RET_LOG)
		return 0;
	*why = (act & SECCOMP_RET_ACTION_FULL) == SECCOMP_RET_ERRNO ?
		       "its seccomp filter fails" :
		       "its seccomp filter would kill, trap, notify or trace (or cannot be judged) for";
	return -EACCES;
}

/*
 * userfaultfd() inside seized pid, nfilters seccomp filters judged first;
 * our copy of it in *uffd.  0/-errno (-EACCES: *why names the call).
 */
static int uffd_in(pid_t pid, int pidfd, int nfilters, int *uffd, const char **why)
{
	const unsigned long flags = O_CLOEXEC | O_NONBLOCK | UFFD_USER_MODE_ONLY;
	struct inject_gadgets g;
	struct inject in;
	long fd, r;
	int ret, ret2;

	memset(&g, 0, sizeof(g));
	ret = prepare_inject(pid, &in, &g);
	if (ret)
		return ret;
	ret = filter_allows(pid, nfilters, &in, SYS_userfaultfd, flags, why);
	ret = ret ?: filter_allows(pid, nfilters, &in, SYS_close, 3, why); /* the fd a guess */
	fd = ret ? ret : inject_call(&in, SYS_userfaultfd, flags, 0, 0, 0, 0, 0);
	if (!ret && fd >= 0 && filter_allows(pid, nfilters, &in, SYS_close, fd, why)) {
		pr_warn("pid %d: its seccomp filter would not let fd %ld be closed: it keeps it\n",
			pid, fd);
		ret = -EACCES;
	} else if (!ret && fd >= 0) {
		*uffd = (int)syscall(SYS_pidfd_getfd, pidfd, (int)fd, 0);
		if (*uffd < 0)
			ret = -errno;
		r = inject_call(&in, SYS_close, fd, 0, 0, 0, 0, 0);
		if (r && !ret)
			ret = r < 0 ? (int)r : -EIO;
	} else if (!ret) {
		ret = (int)fd;
	}
	ret2 = inject_fini(&in);
	return ret ?: ret2;
}

/* Seizes the leader of p, makes the uffd in it, detaches.  0/-errno */
static int make_uffd(struct trk_proc *p, int nfilters, const char **why)
{
	int pidfd, ret;

	pidfd = (int)syscall(SYS_pidfd_open, p->pid, 0);
	if (pidfd < 0)
		return -errno;
	ret = ptrace(PTRACE_SEIZE, p->pid, 0, 0) ? -errno : 0;
	if (!ret) {
		ret = ptrace(PTRACE_INTERRUPT, p->pid, 0, 0) ? -errno : 0;
		ret = ret ?: wait_stop(p->pid);
		ret = ret ?: uffd_in(p->pid, pidfd, nfilters, &p->uffd, why);
		if (ret == -ETIMEDOUT) /* not stopped (frozen, uninterruptible): detached later */
			p->detach_pending = true;
		else
			ptrace(PTRACE_DETACH, p->pid, 0, 0);
	}
	close(pidfd);
	return ret;
}

/*
 * Is pid's cgroup (v2) or one above it frozen?  A frozen task stops for
 * a ptrace interrupt but goes back to its freezer trap when resumed, so
 * an injected call would never run.
 */
static bool cgroup_frozen(pid_t pid)
{
	char mnt[256], path[768], *text = NULL, *cg, *end, *slash;
	bool frozen = false;
	int fd;

	if (proc_cgroup2_mount(mnt, sizeof(mnt)) || proc_read_file(pid, "cgroup", &text, NULL))
		return false;
	cg = strstr(text, "0::/");
	end = cg ? strchr(cg, '\n') : NULL;
	if (end)
		*end = '\0';
	while (cg && !frozen &&
	       snprintf(path, sizeof(path), "%s%s/cgroup.freeze", mnt, cg + 3) <
		       (int)sizeof(path)) {
		char c = '0';

		fd = open(path, O_RDONLY | O_CLOEXEC);
		frozen = fd >= 0 && read(fd, &c, 1) == 1 && c == '1';
		if (fd >= 0)
			close(fd);
		slash = strrchr(cg + 3, '/');
		if (!slash)
			break;
		*slash = '\0'; /* the parent ("0::" is the root) */
	}
	free(text);
	return frozen;
}

static int uffd_api(int uffd)
{
	struct uffdio_api api = { .api = UFFD_API,
				  .features = UFFD_FEATURE_WP_ASYNC_ |
					      UFFD_FEATURE_WP_UNPOPULATED_ };

	return ioctl(uffd, UFFDIO_API, &api) ? -errno : 0;
}

static int open_proc(pid_t pid, const char *name)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/%s", pid, name);
	return open(path, O_RDONLY | O_CLOEXEC);
}

void trk_proc_open(struct trk_proc *p)
{
	struct proc_status st;
	const char *why = NULL;
	int ret, nfilters = 0;

	p->uffd = -1;
	p->pagemap_fd = open_proc(p->pid, "pagemap");
	p->mem_fd = open_proc(p->pid, "mem");
	ret = p->pagemap_fd < 0 || p->mem_fd < 0 ? -errno : proc_read_status(p->pid, &st);
	if (!ret) {
		if (st.seccomp_mode == 1)
			why = "it runs in seccomp strict mode";
		else if (cgroup_frozen(p->pid))
			why = "its cgroup is frozen";
		nfilters = st.seccomp_mode == 2 ? (int)st.seccomp_filters : 0;
		if (st.seccomp_mode == 2 && !nfilters)
			why = "its seccomp filters cannot be counted";
		proc_status_free(&st);
	}
	ret = ret || why ? ret : make_uffd(p, nfilters, &why);
	if (ret == -EACCES && why) {
		pr_warn("pid %d is not tracked: %s userfaultfd or close; the dump stores its pages\n",
			p->pid, why);
		trk_proc_close(p);
		p->gone = true;
		return;
	}
	ret = ret || why ? ret : uffd_api(p->uffd);
	if (!ret && !why)
		return;
	if (why)
		pr_warn("pid %d is not tracked: %s; the dump stores its pages\n", p->pid, why);
	else
		pr_warn("pid %d is not tracked (no userfaultfd: %s); the dump stores its pages\n",
			p->pid, strerror(-ret));
	trk_proc_close(p);
	p->gone = true;
}

void trk_detach_pending(struct trk_proc *p)
{
	int status;

	if (!p->detach_pending)
		return;
	if (waitpid(p->pid, &status, __WALL | WNOHANG) == p->pid && WIFSTOPPED(status) &&
	    (status >> 16) != PTRACE_EVENT_STOP) { /* a signal on its way: let it through */
		ptrace(PTRACE_DETACH, p->pid, 0, (void *)(long)WSTOPSIG(status));
		p->detach_pending = false;
		return;
	}
	/* stopped for our interrupt (detached), gone (ESRCH), or still not stopped */
	if (!ptrace(PTRACE_DETACH, p->pid, 0, 0) || errno != ESRCH || !trk_mm_alive(p))
		p->detach_pending = false;
}

void trk_proc_close(struct trk_proc *p)
{
	if (p->uffd >= 0)
		close(p->uffd);
	if (p->pagemap_fd >= 0)
		close(p->pagemap_fd);
	if (p->mem_fd >= 0)
		close(p->mem_fd);
	p->uffd = p->pagemap_fd = p->mem_fd = -1;
}

bool trk_mm_alive(const struct trk_proc *p)
{
	uint64_t ent;

	return p->pagemap_fd >= 0 && pread(p->pagemap_fd, &ent, sizeof(ent), 0) == sizeof(ent);
}

bool trk_has_children(pid_t pid)
{
	char name[64], *text = NULL;
	bool any;

	snprintf(name, sizeof(name), "task/%d/children", pid);
	if (proc_read_file(pid, name, &text, NULL))
		return true; /* unknown: do not pin */
	any = text[strspn(text, " \n")] != '\0';
	free(text);
	return any;
}

#define WP_REGIONS 256

/*
 * Write-protects the pages of [s, e) that exist (present or swapped),
 * found with PAGEMAP_SCAN.  A hole is left alone: protecting it would
 * make a page table entry (a marker) for every page of it, gigabytes of
 * tables for a big sparse area (ASan's shadow: terabytes), and a hole
 * needs none: the page a first write makes has no protection, so the
 * next scan reports it written.  0 or -errno.
 */
static int protect_present(struct trk_proc *p, uint64_t s, uint64_t e)
{
	struct page_region reg[WP_REGIONS];
	struct pm_scan_arg a;
	long n, i;

	while (s < e) {
		memset(&a, 0, sizeof(a));
		a.category_anyof_mask = PAGE_IS_PRESENT | PAGE_IS_SWAPPED;
		a.return_mask = PAGE_IS_PRESENT | PAGE_IS_SWAPPED;
		n = pm_scan(p->pagemap_fd, &a, s, e, reg, WP_REGIONS);
		if (n < 0)
			return -errno;
		for (i = 0; i < n; i++) {
			struct uffdio_writeprotect w = {
				.range = { reg[i].start, reg[i].end - reg[i].start },
				.mode = UFFDIO_WRITEPROTECT_MODE_WP,
			};

			if (ioctl(p->uffd, UFFDIO_WRITEPROTECT, &w))
				return -errno;
		}
		if (n < WP_REGIONS) /* the end of the scan (not walk_end) */
			break;
		s = reg[n - 1].end;
	}
	return 0;
}

int trk_register(struct trk_proc *p, uint64_t s, uint64_t e)
{
	struct uffdio_register r = { .range = { s, e - s }, .mode = UFFDIO_REGISTER_MODE_WP };

	if (p->uffd < 0 || p->pagemap_fd < 0)
		return -EBADF;
	if (ioctl(p->uffd, UFFDIO_REGISTER, &r))
		return -errno;
	return protect_present(p, s, e);
}

/* Range iov through /proc/PID/mem (no pin).  true if read whole. */
static bool read_mem(struct trk_proc *p, uint8_t *buf, const struct iovec *iov, size_t from)
{
	uint64_t addr = (uintptr_t)iov->iov_base;
	ssize_t r;

	while (from < iov->iov_len) {
		r = pread(p->mem_fd, buf + from, iov->iov_len - from, addr + from);
		if (r <= 0)
			return false;
		from += r;
	}
	return true;
}

void trk_read(struct trk_proc *p, uint8_t *buf, const struct iovec *iov, size_t n, bool *ok)
{
	size_t i = 0, off = 0;
	struct iovec local;
	ssize_t r;

	for (; p->no_pin && i < n; i++) {
		ok[i] = read_mem(p, buf + off, &iov[i], 0);
		off += iov[i].iov_len;
	}
	while (i < n) {
		local.iov_base = buf + off;
		local.iov_len = TRK_BATCH_BYTES - off;
		r = process_vm_readv(p->pid, &local, 1, &iov[i], n - i, 0);
		if (r < 0)
			r = 0;
		for (; i < n && (size_t)r >= iov[i].iov_len; i++) {
			r -= iov[i].iov_len;
			off += iov[i].iov_len;
			ok[i] = true;
		}
		if (i == n)
			break;
		ok[i] = read_mem(p, buf + off, &iov[i], r); /* the rest of a short one */
		off += iov[i].iov_len;
		i++;
	}
}
