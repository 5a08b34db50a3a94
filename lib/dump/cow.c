/*
 * The copy-on-write snapshot of a --leave-running dump (cow.h).
 *
 * Per process, per area the dump reads from, one state byte per page:
 * NONE (not read by the dump), PROT (read from the process, still
 * write-protected since the freeze), SAVED (our copy: written since, or
 * an area that cannot be protected, copied while frozen), DONE (read into
 * the image), LOST (changed without our copy: the dump fails).  The fault
 * thread and the page writer change states under one lock; a page is
 * unprotected only after it left PROT, so a page found PROT with its
 * write-protect bit still set (pagemap bit 57) after it was read was read
 * as it was at the freeze.
 */
#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/userfaultfd.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>

#define LOG_PREFIX "dump/cow: "
#include "log.h"
#include "util/testhook.h"
#include "dump/dump.h"
#include "dump/cow.h"
#include "dump/pagemap.h"

#define PAGE_SZ 4096ul
#define PM_CHUNK 4096 /* pagemap entries read at once */
#define SCAN_REGIONS 512
#define MSGS 64 /* uffd messages read at once */

#define PM_UFFD_WP (1ull << 57)

enum { ST_NONE, ST_PROT, ST_SAVED, ST_DONE, ST_LOST };

struct cow_area {
	uint64_t start, end;
	uint8_t *st;	 /* per page: ST_* */
	uint8_t **saved; /* per page: our copy (ST_SAVED) */
	bool wp;	 /* registered and protected */
};

struct cow_proc {
	const struct dump_task *t;
	int uffd, mem_fd, pagemap_fd;
	struct cow_area *areas;
	size_t n_areas;
};

struct cow {
	pthread_mutex_t lock;
	struct cow_proc *procs;
	size_t n_procs;
	pthread_t thread;
	bool thread_on;
	int stop_fd; /* eventfd: the fault thread ends */
	bool paused; /* the test stage passed */
	/* tests of the checks: VXCR_TEST_SKIP=cow-save (faults let through
	 * uncopied), cow-check (that, and pages not checked either) */
	bool skip_save, skip_check;
	uint64_t faults, copied, held, held_max;
};

/*
 * Whether this kernel has PAGEMAP_SCAN (Linux 6.7), which the snapshot
 * needs to find the pages it protects (scan_pages); asked once, on a page
 * of our own stack.  Without it a --leave-running dump takes the frozen
 * path, as --no-cow does (the 6.1 guest of make check-kernel).
 */
static bool have_pagemap_scan(void)
{
	static int known = -1;
	struct page_region reg;
	struct pm_scan_arg a;
	uint64_t page = (uintptr_t)&reg & ~(uint64_t)(PAGE_SZ - 1);
	int fd;

	if (known >= 0)
		return known;
	fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	memset(&a, 0, sizeof(a));
	a.category_anyof_mask = PAGE_IS_PRESENT;
	a.return_mask = PAGE_IS_PRESENT;
	known = pm_scan(fd, &a, page, page + PAGE_SZ, &reg, 1) >= 0 ||
		(errno != ENOTTY && errno != EINVAL);
	close(fd);
	if (!known)
		pr_debug(
			"no PAGEMAP_SCAN: --leave-running keeps the tree frozen until its pages are read\n");
	return known;
}

bool cow_wanted(const struct dump_op *op)
{
	const struct vxcr_dump_opts *o = op->opts;

	/* a context's freezer, a migration's last round and an incremental
	 * image keep the frozen path (not combined yet) */
	return o->leave_running && !o->no_cow && !op->freezer && !o->mig && o->parent_fd < 0 &&
	       !test_skip("cow") && have_pagemap_scan();
}

/*
 * A vxdump killed between the injected userfaultfd() and close() leaves
 * that fd in the target, where the next dump would refuse it.  So a note
 * "PID-STARTTIME" holding the fd number it will get (the lowest free one:
 * the tree is frozen) is written under the run directory before, and
 * removed after; the next dump of that process closes the fd if it is
 * still a userfaultfd nobody initialized (fdinfo "API:\taa:0:", no
 * UFFDIO_API: the target never learnt its number, nothing can use it).
 */
/* Field 22 of /proc/PID/stat (its start time), 0 if none. */
static unsigned long long start_time(pid_t pid)
{
	char *text = NULL, *p;
	unsigned long long start = 0;
	int i;

	if (proc_read_file(pid, "stat", &text, NULL))
		return 0;
	p = strrchr(text, ')');
	for (i = 0; p && i < 20; i++) /* the 20th field after ") " */
		p = strchr(p + 1, ' ');
	if (p)
		start = strtoull(p + 1, NULL, 10);
	free(text);
	return start;
}

/* Removes the notes of processes gone (or pids reused) from dir. */
static void prune_notes(const char *dir)
{
	unsigned long long start;
	struct dirent *de;
	char path[512];
	DIR *d = opendir(dir);
	int pid;

	while (d && (de = readdir(d))) {
		if (sscanf(de->d_name, "%d-%llu", &pid, &start) != 2 || pid <= 0)
			continue;
		if (start_time(pid) == start)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		unlink(path);
	}
	if (d)
		closedir(d);
}

static int note_path(const struct dump_task *t, char *path, size_t len, bool mk)
{
	const char *dir = getenv("VXCR_RUNDIR");
	unsigned long long start = start_time(t->pid);

	if (!dir || !*dir)
		dir = "/run/vxcr";
	if (mk && mkdir(dir, 0700) && errno != EEXIST)
		return -errno;
	snprintf(path, len, "%s/cow-uffd", dir);
	if (mk && mkdir(path, 0700) && errno != EEXIST)
		return -errno;
	if (mk)
		prune_notes(path);
	snprintf(path, len, "%s/cow-uffd/%d-%llu", dir, t->pid, start);
	return start ? 0 : -ESRCH;
}

/* The lowest fd number t does not use (the one a new fd gets). */
static long lowest_free_fd(pid_t pid)
{
	char path[64];
	long n;

	for (n = 0; n < 1 << 20; n++) {
		snprintf(path, sizeof(path), "/proc/%d/fd/%ld", pid, n);
		if (access(path, F_OK) && errno == ENOENT)
			return n;
	}
	return -EMFILE;
}

/* Is fd n of pid a userfaultfd nobody initialized? */
static bool stray_uffd(pid_t pid, long n)
{
	char path[64], link[64], *text = NULL;
	bool ret = false;
	ssize_t r;

	snprintf(path, sizeof(path), "/proc/%d/fd/%ld", pid, n);
	r = readlink(path, link, sizeof(link) - 1);
	if (r <= 0)
		return false;
	link[r] = '\0';
	snprintf(path, sizeof(path), "fdinfo/%ld", n);
	if (strcmp(link, "anon_inode:[userfaultfd]") || proc_read_file(pid, path, &text, NULL))
		return false;
	ret = strstr(text, "\nAPI:\taa:0:") != NULL;
	free(text);
	return ret;
}

int cow_clean_stray(struct inject *in, struct dump_task *t)
{
	char path[512], buf[32];
	long n = -1, res;
	FILE *f;
	int fd;

	if (note_path(t, path, sizeof(path), false))
		return 0;
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	f = fd >= 0 ? fdopen(fd, "r") : NULL;
	if (!f) {
		if (fd >= 0)
			close(fd);
		return 0;
	}
	if (fgets(buf, sizeof(buf), f))
		n = strtol(buf, NULL, 10);
	fclose(f);
	if (n >= 0 && stray_uffd(t->pid, n)) {
		res = inject_call(in, SYS_close, n, 0, 0, 0, 0, 0);
		if (res <= -4096)
			return (int)res;
		pr_info("pid %d: closed fd %ld, a userfaultfd a killed vxdump left\n", t->pid, n);
	}
	unlink(path);
	return 0;
}

/* Writes the note for the fd about to be made; 0 or -errno (then no snapshot). */
static int note_write(struct dump_task *t, char *path, size_t len)
{
	long n = lowest_free_fd(t->pid);
	FILE *f;
	int fd, ret;

	if (n < 0)
		return (int)n;
	ret = note_path(t, path, len, true);
	if (ret)
		return ret;
	unlink(path); /* ours alone: never through what someone put there */
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	f = fd >= 0 ? fdopen(fd, "w") : NULL;
	if (!f) {
		ret = -errno;
		if (fd >= 0)
			close(fd);
		return ret;
	}
	fprintf(f, "%ld\n", n);
	ret = fflush(f) ? -errno : 0;
	fclose(f);
	return ret;
}

int cow_inject_uffd(struct inject *in, struct dump_task *t)
{
	char note[512];
	long fd, res;
	int ours, ret;

	ret = note_write(t, note, sizeof(note));
	if (ret) {
		pr_info("pid %d: no note for its userfaultfd (%s): its pages are read frozen\n",
			t->pid, strerror(-ret));
		return 0;
	}
	fd = inject_call(in, SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK, 0, 0, 0, 0, 0);
	if (fd < 0 && fd > -4096) {
		pr_info("pid %d: no userfaultfd (%s): its pages are read frozen\n", t->pid,
			strerror((int)-fd));
		unlink(note);
		return 0;
	}
	if (fd < 0)
		return (int)fd;
	test_pause("cow-uffd"); /* made, not closed yet: a kill here leaves it */
	ours = (int)syscall(SYS_pidfd_getfd, t->pidfd, (int)fd, 0);
	if (ours < 0)
		pr_warn("pid %d: cannot take its userfaultfd: %s\n", t->pid, strerror(errno));
	res = inject_call(in, SYS_close, fd, 0, 0, 0, 0, 0);
	if (res < 0 && res > -4096)
		pr_warn("pid %d: close of its userfaultfd %ld: %s\n", t->pid, fd,
			strerror((int)-res));
	if (res == 0)
		unlink(note);
	if (ours >= 0) {
		t->cow.uffd = ours;
		t->cow.made = true;
	}
	return res < 0 && res <= -4096 ? (int)res : 0;
}

/* The area of p holding addr, or NULL. */
static struct cow_area *area_of(struct cow_proc *p, uint64_t addr)
{
	size_t i;

	for (i = 0; i < p->n_areas; i++)
		if (addr >= p->areas[i].start && addr < p->areas[i].end)
			return &p->areas[i];
	return NULL;
}

static struct cow_proc *proc_of(struct cow *c, const struct dump_task *t)
{
	size_t i;

	for (i = 0; i < c->n_procs; i++)
		if (c->procs[i].t == t)
			return &c->procs[i];
	return NULL;
}

static int wp_range(int uffd, uint64_t start, uint64_t len, bool on)
{
	struct uffdio_writeprotect wp = { { start, len }, on ? UFFDIO_WRITEPROTECT_MODE_WP : 0 };

	return ioctl(uffd, UFFDIO_WRITEPROTECT, &wp) ? -errno : 0;
}

static int read_pm(int fd, uint64_t *ent, uint64_t addr, size_t n)
{
	ssize_t r = pread(fd, ent, n * 8, addr / PAGE_SZ * 8);

	return r == (ssize_t)(n * 8) ? 0 : -EIO;
}

/*
 * Copies page addr of p (ST_PROT, lock held) while it is still protected:
 * ST_SAVED, or ST_LOST when it no longer is (or no memory).
 */
static void save_page(struct cow *c, struct cow_proc *p, struct cow_area *a, uint64_t addr)
{
	size_t i = (addr - a->start) / PAGE_SZ;
	uint64_t ent = 0;
	uint8_t *copy = malloc(PAGE_SZ);

	if (copy && pread(p->mem_fd, copy, PAGE_SZ, addr) == (ssize_t)PAGE_SZ &&
	    !read_pm(p->pagemap_fd, &ent, addr, 1) && (ent & PM_UFFD_WP)) {
		a->saved[i] = copy;
		a->st[i] = ST_SAVED;
		c->copied++;
		if (++c->held > c->held_max)
			c->held_max = c->held;
		return;
	}
	free(copy);
	a->st[i] = ST_LOST;
}

/* One write fault of p at addr: copy if still needed, then let it through. */
static void take_fault(struct cow *c, struct cow_proc *p, uint64_t addr)
{
	struct cow_area *a;

	addr &= ~(PAGE_SZ - 1);
	pthread_mutex_lock(&c->lock);
	c->faults++;
	a = area_of(p, addr);
	if (a && a->st[(addr - a->start) / PAGE_SZ] == ST_PROT && !c->skip_save)
		save_page(c, p, a, addr);
	pthread_mutex_unlock(&c->lock);
	/* whatever happened: a writer is never left blocked */
	if (wp_range(p->uffd, addr, PAGE_SZ, false) && errno != ENOENT)
		pr_debug("pid %d: unprotect %#lx: %s\n", p->t->pid, (unsigned long)addr,
			 strerror(errno));
}

/* Reads and takes every pending message of p's uffd. */
static void drain(struct cow *c, struct cow_proc *p)
{
	struct uffd_msg msg[MSGS];
	ssize_t r, i;

	for (;;) {
		r = read(p->uffd, msg, sizeof(msg));
		if (r <= 0)
			return;
		for (i = 0; i < r / (ssize_t)sizeof(msg[0]); i++)
			if (msg[i].event == UFFD_EVENT_PAGEFAULT)
				take_fault(c, p, msg[i].arg.pagefault.address);
	}
}

/* The fault thread: every process's uffd until stop_fd. */
static void *fault_thread(void *arg)
{
	struct cow *c = arg;
	struct pollfd *pfd = calloc(c->n_procs + 1, sizeof(*pfd));
	size_t i;

	if (!pfd)
		return NULL; /* cow_start checked: never here */
	pfd[0].fd = c->stop_fd;
	pfd[0].events = POLLIN;
	for (i = 0; i < c->n_procs; i++) {
		pfd[i + 1].fd = c->procs[i].uffd;
		pfd[i + 1].events = POLLIN;
	}
	while (!pfd[0].revents) {
		if (poll(pfd, c->n_procs + 1, -1) < 0)
			continue;
		for (i = 0; i < c->n_procs; i++)
			if (pfd[i + 1].revents)
				drain(c, &c->procs[i]);
	}
	free(pfd);
	return NULL;
}

/*
 * Marks the pages of a in [s, e) (st ST_PROT, or copied now when the area
 * is not protected).  0 or -errno (logged).
 */
static int mark_run(struct cow_proc *p, struct cow_area *a, uint64_t s, uint64_t e)
{
	size_t i;

	for (; s < e; s += PAGE_SZ) {
		i = (s - a->start) / PAGE_SZ;
		a->st[i] = ST_PROT;
		if (a->wp)
			continue;
		a->saved[i] = malloc(PAGE_SZ);
		if (!a->saved[i])
			return -ENOMEM;
		if (pread(p->mem_fd, a->saved[i], PAGE_SZ, s) != (ssize_t)PAGE_SZ) {
			pr_perror("pid %d: cannot read memory at %#lx", p->t->pid,
				  (unsigned long)s);
			return -EIO;
		}
		a->st[i] = ST_SAVED;
	}
	return 0;
}

/* The pages a frozen dump reads of a (not inherited), as pages.c scans them. */
static int scan_pages(struct cow_proc *p, struct cow_area *a, bool guards)
{
	uint64_t skip = PAGE_IS_FILE | PAGE_IS_PFNZERO | (guards ? PAGE_IS_GUARD : 0);
	struct page_region reg[SCAN_REGIONS];
	struct pm_scan_arg s;
	uint64_t start = a->start;
	long n, i;
	int ret = 0;

	while (!ret && start < a->end) {
		memset(&s, 0, sizeof(s));
		s.category_inverted = skip;
		s.category_mask = skip;
		s.category_anyof_mask = PAGE_IS_PRESENT | PAGE_IS_SWAPPED;
		s.return_mask = PAGE_IS_PRESENT | PAGE_IS_SWAPPED;
		n = pm_scan(p->pagemap_fd, &s, start, a->end, reg, SCAN_REGIONS);
		if (n < 0) {
			pr_perror("pid %d: PAGEMAP_SCAN of %#lx-%#lx", p->t->pid,
				  (unsigned long)start, (unsigned long)a->end);
			return -errno;
		}
		for (i = 0; !ret && i < n; i++)
			ret = mark_run(p, a, reg[i].start, reg[i].end);
		if (n < SCAN_REGIONS || s.walk_end <= start)
			break;
		start = s.walk_end;
	}
	return ret;
}

/* Which pages of v a dump reads; protects them or copies them now. */
static int add_area(struct cow_proc *p, const struct dump_vma *v)
{
	struct cow_area *a = &p->areas[p->n_areas];
	size_t n = (v->pv.end - v->pv.start) / PAGE_SZ, i;
	struct uffdio_register reg;
	int ret = 0;

	memset(&reg, 0, sizeof(reg));
	reg.range.start = v->pv.start;
	reg.range.len = v->pv.end - v->pv.start;
	reg.mode = UFFDIO_REGISTER_MODE_WP;
	a->start = v->pv.start;
	a->end = v->pv.end;
	a->st = calloc(n, 1);
	a->saved = calloc(n, sizeof(*a->saved));
	p->n_areas++;
	if (!a->st || !a->saved)
		return -ENOMEM;
	/* sync write-protect: anonymous memory only (private file areas: copied now) */
	a->wp = v->kind == VMA_KIND__VMA_ANON && !ioctl(p->uffd, UFFDIO_REGISTER, &reg);
	if (v->kind == VMA_KIND__VMA_ANON && !a->wp)
		pr_info("pid %d: %lx-%lx cannot be write-protected (%s): copied now\n", p->t->pid,
			(unsigned long)a->start, (unsigned long)a->end, strerror(errno));
	if (!v->cow)
		ret = scan_pages(p, a, v->pv.vmflags & PROC_VMF_GU);
	for (i = 0; !ret && v->cow && i < n; i++)
		if (plan_reads(v, i))
			ret = mark_run(p, a, a->start + i * PAGE_SZ, a->start + (i + 1) * PAGE_SZ);
	if (!ret && a->wp) {
		ret = wp_range(p->uffd, a->start, a->end - a->start, true);
		if (ret)
			pr_err("pid %d: cannot write-protect %lx-%lx: %s\n", p->t->pid,
			       (unsigned long)a->start, (unsigned long)a->end, strerror(-ret));
	}
	return ret;
}

/* Does the dump read pages of v (a private area with pages of its own)? */
static bool area_read(const struct dump_vma *v)
{
	if (v->kind != VMA_KIND__VMA_ANON && v->kind != VMA_KIND__VMA_FILE_PRIVATE)
		return false;
	return v->cow || v->kind == VMA_KIND__VMA_ANON || v->pv.anon_kb || v->pv.swap_kb;
}

/* Sets up p for live t: fds, areas, protection.  0 or -errno. */
static int add_proc(struct cow_proc *p, struct dump_task *t)
{
	struct uffdio_api api = { UFFD_API, 0, 0 };
	size_t i;
	int ret;

	p->t = t;
	p->uffd = t->cow.uffd;
	p->mem_fd = p->pagemap_fd = -1;
	t->cow.made = false; /* p owns it now */
	ret = dump_open_proc(t->pid, "mem", &p->mem_fd);
	ret = ret ?: dump_open_proc(t->pid, "pagemap", &p->pagemap_fd);
	if (ret)
		return ret;
	if (ioctl(p->uffd, UFFDIO_API, &api)) {
		pr_perror("pid %d: UFFDIO_API", t->pid);
		return -errno;
	}
	p->areas = calloc(t->mm->n_vmas ? t->mm->n_vmas : 1, sizeof(*p->areas));
	if (!p->areas)
		return -ENOMEM;
	for (i = 0; !ret && i < t->mm->n_vmas; i++)
		if (area_read(&t->mm->vmas[i]))
			ret = add_area(p, &t->mm->vmas[i]);
	return ret;
}

/* Can every live process of the tree be snapshotted? */
static bool tree_fits(const struct dump_op *op)
{
	size_t i;

	if (op->n_shmems) {
		pr_info("shared memory: the tree stays frozen until its pages are read\n");
		return false;
	}
	for (i = 0; i < op->n_tasks; i++)
		if (!op->tasks[i]->zombie && !op->tasks[i]->cow.made)
			return false;
	return true;
}

static void free_proc(struct cow *c, struct cow_proc *p)
{
	size_t i, j;

	for (i = 0; i < p->n_areas; i++) {
		struct cow_area *a = &p->areas[i];

		for (j = 0; a->saved && j < (a->end - a->start) / PAGE_SZ; j++)
			free(a->saved[j]);
		free(a->saved);
		free(a->st);
	}
	free(p->areas);
	if (p->uffd >= 0)
		close(p->uffd); /* unregisters, unprotects, wakes every writer */
	if (p->mem_fd >= 0)
		close(p->mem_fd);
	if (p->pagemap_fd >= 0)
		close(p->pagemap_fd);
	(void)c;
}

static int start_thread(struct cow *c)
{
	int ret;

	c->stop_fd = eventfd(0, EFD_CLOEXEC);
	if (c->stop_fd < 0)
		return -errno;
	ret = pthread_create(&c->thread, NULL, fault_thread, c);
	if (ret)
		return -ret;
	c->thread_on = true;
	return 0;
}

int cow_start(struct dump_op *op)
{
	struct cow *c;
	size_t i;
	uint64_t t0 = dump_now_ns();
	int ret = 0;

	if (!op->cow_want || !tree_fits(op))
		return 0;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	pthread_mutex_init(&c->lock, NULL);
	c->stop_fd = -1;
	c->skip_check = test_skip("cow-check");
	c->skip_save = c->skip_check || test_skip("cow-save");
	op->cow = c;
	c->procs = calloc(op->n_tasks, sizeof(*c->procs));
	if (!c->procs)
		return -ENOMEM;
	for (i = 0; !ret && i < op->n_tasks; i++)
		if (!op->tasks[i]->zombie)
			ret = add_proc(&c->procs[c->n_procs++], op->tasks[i]);
	ret = ret ?: start_thread(c);
	if (ret)
		pr_err("cannot set up the copy-on-write snapshot: %s\n", strerror(-ret));
	else
		pr_info("snapshot of %zu process%s set up in %.1f ms\n", c->n_procs,
			c->n_procs == 1 ? "" : "es", (dump_now_ns() - t0) / 1e6);
	return ret;
}

int cow_proc_fds(struct cow *c, const struct dump_task *t, int *pagemap_fd, int *mem_fd)
{
	struct cow_proc *p = proc_of(c, t);

	if (!p)
		return -ENOENT;
	*pagemap_fd = fcntl(p->pagemap_fd, F_DUPFD_CLOEXEC, 0);
	*mem_fd = fcntl(p->mem_fd, F_DUPFD_CLOEXEC, 0);
	return *pagemap_fd < 0 || *mem_fd < 0 ? -errno : 0;
}

bool cow_next_pages(struct cow *c, const struct dump_task *t, uint64_t *pos, uint64_t end,
		    uint64_t *s, uint64_t *e)
{
	struct cow_proc *p = proc_of(c, t);
	struct cow_area *a = p ? area_of(p, *pos) : NULL;
	uint64_t addr;

	if (!a)
		return false;
	if (end > a->end)
		end = a->end;
	for (addr = *pos; addr < end && a->st[(addr - a->start) / PAGE_SZ] == ST_NONE;)
		addr += PAGE_SZ;
	if (addr >= end)
		return false;
	*s = addr;
	while (addr < end && a->st[(addr - a->start) / PAGE_SZ] != ST_NONE)
		addr += PAGE_SZ;
	*e = *pos = addr;
	return true;
}

/* Are the pages of process pid (any of its threads) in the snapshot? */
bool cow_has_proc(struct cow *c, pid_t pid)
{
	size_t i;

	for (i = 0; i < c->n_procs; i++)
		if (c->procs[i].t->pid == pid)
			return true;
	return false;
}

void cow_save_range(struct cow *c, pid_t pid, uint64_t start, uint64_t end)
{
	struct cow_proc *p = NULL;
	struct cow_area *a;
	uint64_t addr;
	size_t i, j;

	for (i = 0; i < c->n_procs; i++)
		if (c->procs[i].t->pid == pid)
			p = &c->procs[i];
	if (!p)
		return;
	start &= ~(PAGE_SZ - 1);
	pthread_mutex_lock(&c->lock);
	for (i = 0; i < p->n_areas; i++) {
		a = &p->areas[i];
		if (!a->wp || a->end <= start || a->start >= end)
			continue;
		addr = start > a->start ? start : a->start;
		for (; addr < end && addr < a->end; addr += PAGE_SZ) {
			j = (addr - a->start) / PAGE_SZ;
			if (a->st[j] == ST_PROT)
				save_page(c, p, a, addr);
		}
	}
	pthread_mutex_unlock(&c->lock);
}

/* Page i of a (at addr) read into page: right, or -EAGAIN (lock held). */
static int fix_page(struct cow *c, struct cow_area *a, uint64_t addr, uint8_t *page, uint64_t ent)
{
	size_t i = (addr - a->start) / PAGE_SZ;

	switch (a->st[i]) {
	case ST_SAVED:
		memcpy(page, a->saved[i], PAGE_SZ);
		free(a->saved[i]);
		a->saved[i] = NULL;
		c->held -= a->wp;
		break;
	case ST_PROT:
		if (a->wp && ((ent & PM_UFFD_WP) || c->skip_check))
			break;
		/* fall through */
	default:
		a->st[i] = ST_LOST;
		return -EAGAIN;
	}
	a->st[i] = ST_DONE;
	return 0;
}

/* One range of an area, read into buf.  0 or -errno (logged). */
static int fix_range(struct cow *c, struct cow_proc *p, uint8_t *buf, uint64_t addr, size_t len)
{
	struct cow_area *a = area_of(p, addr);
	uint64_t ent[PM_CHUNK], end = addr + len, lost = 0;
	size_t n, i;
	int ret = 0;

	if (!a || end > a->end) {
		pr_err("pid %d: pages at %#lx are not in the snapshot\n", p->t->pid,
		       (unsigned long)addr);
		return -EIO;
	}
	for (; addr < end; addr += n * PAGE_SZ, buf += n * PAGE_SZ) {
		n = (end - addr) / PAGE_SZ > PM_CHUNK ? PM_CHUNK : (end - addr) / PAGE_SZ;
		if (a->wp && read_pm(p->pagemap_fd, ent, addr, n))
			memset(ent, 0, n * sizeof(ent[0])); /* gone: every page lost */
		pthread_mutex_lock(&c->lock);
		for (i = 0; i < n; i++)
			if (fix_page(c, a, addr + i * PAGE_SZ, buf + i * PAGE_SZ,
				     a->wp ? ent[i] : 0) &&
			    !lost)
				lost = addr + i * PAGE_SZ;
		pthread_mutex_unlock(&c->lock);
	}
	if (a->wp)
		wp_range(p->uffd, end - len, len, false);
	if (lost) {
		pr_err("pid %d: its memory at %#lx was unmapped or discarded before the dump "
		       "copied it: no image, the process runs on\n",
		       p->t->pid, (unsigned long)lost);
		ret = -EAGAIN;
	}
	return ret;
}

int cow_fix_batch(struct cow *c, const struct dump_task *t, uint8_t *buf, const struct iovec *iov,
		  size_t n)
{
	struct cow_proc *p = proc_of(c, t);
	size_t i, off = 0;
	int ret = p ? 0 : -ENOENT;

	for (i = 0; !ret && i < n; i++) {
		ret = fix_range(c, p, buf + off, (uintptr_t)iov[i].iov_base, iov[i].iov_len);
		off += iov[i].iov_len;
	}
	if (!ret && !c->paused) {
		c->paused = true;
		test_pause("cow-copy");
	}
	return ret;
}

void cow_end(struct dump_op *op)
{
	struct cow *c = op->cow;
	uint64_t one = 1;
	size_t i;

	for (i = 0; i < op->n_tasks; i++) {
		if (op->tasks[i]->cow.made)
			close(op->tasks[i]->cow.uffd);
		op->tasks[i]->cow.made = false;
	}
	if (!c)
		return;
	if (c->thread_on) {
		if (write(c->stop_fd, &one, sizeof(one)) != sizeof(one))
			pr_warn("cannot stop the fault thread: %s\n", strerror(errno));
		pthread_join(c->thread, NULL);
	}
	if (c->stop_fd >= 0)
		close(c->stop_fd);
	pr_info("snapshot: %llu write faults, %llu pages copied for them (at most %llu held)\n",
		(unsigned long long)c->faults, (unsigned long long)c->copied,
		(unsigned long long)c->held_max);
	for (i = 0; i < c->n_procs; i++)
		free_proc(c, &c->procs[i]);
	free(c->procs);
	pthread_mutex_destroy(&c->lock);
	free(c);
	op->cow = NULL;
}
