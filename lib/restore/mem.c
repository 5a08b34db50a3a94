/*
 * Address space of the new process, by injected syscalls: unmap the clone's
 * memory (a few large ranges around the scratch area and the vdso), move
 * the vdso, map every recorded area at its address with its final
 * protection (pages of read-only private areas go in through /proc/PID/mem,
 * see pages.c; only read-only shared areas get PROT_WRITE until the end),
 * apply madvise flags; at the end set the mm fields with PR_SET_MM_MAP.
 */
#define LOG_PREFIX "restore/mem: "
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/capability.h>
#include <linux/prctl.h>

#include "log.h"
#include "util/cleanup.h"
#include "restore/restore.h"

/*
 * Runs one syscall in the new process.  Returns its result or -errno; logs
 * "what" on failure unless what is NULL.
 */
long rst_inject(struct rst_proc *proc, const char *what, long nr, unsigned long a0,
		unsigned long a1, unsigned long a2, unsigned long a3, unsigned long a4,
		unsigned long a5)
{
	long r = inject_call(proc->inp ? proc->inp : &proc->in, nr, a0, a1, a2, a3, a4, a5);

	proc->injected++;
	if (r < 0 && what)
		pr_err("pid %d: %s: %s%s\n", proc->pid, what, strerror(-r),
		       proc->seccomp_on ? " (its restored seccomp filters may refuse it)" : "");
	return r;
}

/* Unmaps everything of the clone except the scratch area and kept vdso areas. */
static int unmap_clone(struct rst_proc *proc)
{
	const struct rst_image *img = proc->img;
	struct rst_range keep[1 + RST_NR_VDSO], holes[1 + RST_NR_VDSO + 1];
	size_t i, nk = 0, nh;
	long r;

	keep[nk++] = (struct rst_range){ img->scratch, img->scratch + img->scratch_len };
	for (i = 0; i < RST_NR_VDSO; i++)
		if (proc->vdso[i].have_ours && proc->vdso[i].have_target)
			keep[nk++] = proc->vdso[i].ours;
	nh = layout_holes(keep, nk, RST_TASK_TOP, holes, ARRAY_SIZE(holes));
	for (i = 0; i < nh; i++) {
		r = rst_inject(proc, "munmap", SYS_munmap, holes[i].start,
			       holes[i].end - holes[i].start, 0, 0, 0, 0);
		if (r < 0)
			return r;
	}
	return 0;
}

/*
 * Protection an area is mapped with: shared ones whose pages go in through
 * the mapping get write for now (objects we fill ourselves do not).
 */
static unsigned long map_prot(const struct rst_proc *proc, const VmaEntry *v)
{
	if (v->kind == VMA_KIND__VMA_SHMEM &&
	    !(v->has_shmem_id && rshm_written_by_us(rshm_find(proc->img, v->shmem_id))))
		return v->prot | PROT_WRITE;
	return v->prot;
}

static int map_one(struct rst_proc *proc, const VmaEntry *v)
{
	unsigned long flags = MAP_FIXED_NOREPLACE | (v->flags & (MAP_GROWSDOWN | MAP_NORESERVE));
	long fd = -1, r;

	if (v->kind == VMA_KIND__VMA_SHMEM) {
		int ret = rshm_map(proc, v);

		if (ret != 1)
			return ret;
	}

	switch (v->kind) {
	case VMA_KIND__VMA_ANON:
		flags |= (v->flags & VXCR_MAP_DROPPABLE ? VXCR_MAP_DROPPABLE : MAP_PRIVATE) |
			 MAP_ANONYMOUS;
		break;
	case VMA_KIND__VMA_SHMEM:
		flags |= MAP_SHARED | MAP_ANONYMOUS;
		break;
	case VMA_KIND__VMA_FILE_PRIVATE:
	case VMA_KIND__VMA_FILE_SHARED:
		flags |= v->kind == VMA_KIND__VMA_FILE_SHARED ? MAP_SHARED : MAP_PRIVATE;
		fd = plan_file(proc->img, v->file_id)->map_fd;
		break;
	default:
		return 0;
	}
	r = rst_inject(proc, NULL, SYS_mmap, v->start, v->end - v->start, map_prot(proc, v), flags,
		       fd, fd < 0 ? 0 : v->pgoff);
	if (r != (long)v->start) {
		pr_err("pid %d: cannot map %#llx-%#llx %s: %s\n", proc->pid,
		       (unsigned long long)v->start, (unsigned long long)v->end,
		       v->name ? v->name : "", r < 0 ? strerror(-r) : "mapped elsewhere");
		return r < 0 ? r : -EFAULT;
	}
	return 0;
}

#define PR_SET_VMA_VXCR 0x53564d41 /* PR_SET_VMA */
#define PR_SET_VMA_ANON_NAME_VXCR 0

static const struct {
	uint64_t bit;
	int advice;
} madv_map[] = {
	{ VXCR_MADV_DONTFORK, MADV_DONTFORK },	   { VXCR_MADV_DONTDUMP, MADV_DONTDUMP },
	{ VXCR_MADV_HUGEPAGE, MADV_HUGEPAGE },	   { VXCR_MADV_NOHUGEPAGE, MADV_NOHUGEPAGE },
	{ VXCR_MADV_WIPEONFORK, MADV_WIPEONFORK }, { VXCR_MADV_MERGEABLE, MADV_MERGEABLE },
	{ VXCR_MADV_RANDOM, MADV_RANDOM },	   { VXCR_MADV_SEQUENTIAL, MADV_SEQUENTIAL },
};

#define MADV_GUARD_INSTALL_VXCR 102 /* Linux 6.13+ */
#define MADV_GUARD_REMOVE_VXCR 103
#define SYS_mseal_VXCR 462 /* Linux 6.10+ */

/*
 * Checks what restore applies of one area from the image: madvise bits it
 * knows, lock-on-fault only with lock, and guard ranges (only with
 * VXCR_MADV_GUARD, page-aligned pairs, ascending, disjoint, inside the
 * area).  Returns 0 or -EINVAL (logged).
 */
int mem_check_vma(const VmaEntry *v)
{
	uint64_t prev = v->start;
	const char *why = NULL;
	size_t i;

	if (v->madv & ~(uint64_t)VXCR_MADV_KNOWN)
		why = "unknown madvise bits";
	else if ((v->madv & VXCR_MADV_LOCKONFAULT) && !(v->madv & VXCR_MADV_LOCKED))
		why = "lock on fault without lock";
	else if ((v->madv & VXCR_MADV_RANDOM) && (v->madv & VXCR_MADV_SEQUENTIAL))
		why = "both random and sequential";
	else if (v->n_guards && !(v->madv & VXCR_MADV_GUARD))
		why = "guard regions without the guard flag";
	else if (v->n_guards % 2)
		why = "an odd number of guard bounds";
	else if ((v->flags & VXCR_MAP_DROPPABLE) &&
		 (v->kind != VMA_KIND__VMA_ANON || (v->flags & (MAP_SHARED | MAP_PRIVATE))))
		why = "a droppable area that is not anonymous and private";
	for (i = 0; !why && i < v->n_guards; i += 2) {
		if ((v->guards[i] | v->guards[i + 1]) & (RST_PAGE - 1) || v->guards[i] < prev ||
		    v->guards[i] >= v->guards[i + 1] || v->guards[i + 1] > v->end)
			why = "a guard region out of place";
		prev = v->guards[i + 1];
	}
	if (why) {
		pr_err("image: memory area %#llx-%#llx: %s\n", (unsigned long long)v->start,
		       (unsigned long long)v->end, why);
		return -EINVAL;
	}
	return 0;
}

/* mm_entry.mlockall: MCL_FUTURE, with or without MCL_ONFAULT.  0 or -EINVAL. */
int mem_check_mm(const MmEntry *mm)
{
	if (!mm->mlockall || mm->mlockall == VXCR_MCL_FUTURE ||
	    mm->mlockall == (VXCR_MCL_FUTURE | VXCR_MCL_ONFAULT))
		return 0;
	pr_err("image: mm %u: bad mlockall flags %#x\n", mm->mm_id, mm->mlockall);
	return -EINVAL;
}

/*
 * Guard regions of v, before its pages: what an inherited area brought
 * from the parent is removed (the child may have written where the
 * parent has a guard); a fresh area flagged "gu" without guards gets one
 * installed and removed on its first page (nothing is there yet) so its
 * VmFlags match.  The recorded guards come at the end (guard_install()).
 * 0 or -errno.
 */
static int guard_prepare(struct rst_proc *proc, const VmaEntry *v, const VmaEntry *parent)
{
	long r = 0;

	if (parent && (parent->madv & VXCR_MADV_GUARD))
		r = rst_inject(proc, "madvise(MADV_GUARD_REMOVE)", SYS_madvise, v->start,
			       v->end - v->start, MADV_GUARD_REMOVE_VXCR, 0, 0, 0);
	if (!r && !parent && (v->madv & VXCR_MADV_GUARD) && !v->n_guards) {
		r = rst_inject(proc, "madvise(MADV_GUARD_INSTALL)", SYS_madvise, v->start, RST_PAGE,
			       MADV_GUARD_INSTALL_VXCR, 0, 0, 0);
		r = r	  ?:
			    rst_inject(proc, "madvise(MADV_GUARD_REMOVE)", SYS_madvise, v->start,
				       RST_PAGE, MADV_GUARD_REMOVE_VXCR, 0, 0, 0);
	}
	return r < 0 ? (int)r : 0;
}

/*
 * The recorded guard regions of v, once its pages are in (pages of a
 * shared object may go in through this mapping; the image holds none in
 * a guard) and before any lock.  0 or -errno.
 */
static int guard_install(struct rst_proc *proc, const VmaEntry *v)
{
	size_t i;
	long r = 0;

	for (i = 0; r >= 0 && i < v->n_guards; i += 2)
		r = rst_inject(proc, "madvise(MADV_GUARD_INSTALL)", SYS_madvise, v->guards[i],
			       v->guards[i + 1] - v->guards[i], MADV_GUARD_INSTALL_VXCR, 0, 0, 0);
	return r < 0 ? (int)r : 0;
}

/* Advice that undoes a bit an inherited area brought from the parent. */
static const struct {
	uint64_t bit;
	int advice;
} unadvise_map[] = {
	{ VXCR_MADV_DONTDUMP, MADV_DODUMP },
	{ VXCR_MADV_MERGEABLE, MADV_UNMERGEABLE },
	{ VXCR_MADV_RANDOM, MADV_NORMAL },
	{ VXCR_MADV_SEQUENTIAL, MADV_NORMAL },
};

/*
 * An area a forked child inherits keeps the parent's advice: what the
 * child's record lacks is undone (HUGEPAGE/NOHUGEPAGE only by the other
 * one, which advise_one() applies).  0 or -errno.
 */
static int unadvise_one(struct rst_proc *proc, const VmaEntry *v, const VmaEntry *parent)
{
	uint64_t extra = parent->madv & ~v->madv;
	size_t i;
	long r;

	for (i = 0; extra && i < ARRAY_SIZE(unadvise_map); i++) {
		if (!(extra & unadvise_map[i].bit))
			continue;
		r = rst_inject(proc, "madvise", SYS_madvise, v->start, v->end - v->start,
			       unadvise_map[i].advice, 0, 0, 0);
		if (r < 0)
			return r;
	}
	return 0;
}

static int advise_one(struct rst_proc *proc, const VmaEntry *v)
{
	size_t i;
	long r;

	for (i = 0; i < ARRAY_SIZE(madv_map); i++) {
		if (!(v->madv & madv_map[i].bit))
			continue;
		r = rst_inject(proc, "madvise", SYS_madvise, v->start, v->end - v->start,
			       madv_map[i].advice, 0, 0, 0);
		if (r < 0)
			return r;
	}
	return 0;
}

/*
 * Names an anonymous area as it was ("[anon:NAME]" in maps, set by the
 * program with PR_SET_VMA_ANON_NAME).  0 or -errno.
 */
static int name_one(struct rst_proc *proc, const VmaEntry *v)
{
	uint64_t misc = proc->img->scratch + RST_SCRATCH_DATA + RST_SCR_MISC;
	char name[96];
	size_t n;
	long r;
	int ret;

	if (v->kind != VMA_KIND__VMA_ANON || !v->name || strncmp(v->name, "[anon:", 6))
		return 0;
	n = strlen(v->name + 6);
	if (n < 2 || n > sizeof(name) || v->name[6 + n - 1] != ']')
		return 0;
	memcpy(name, v->name + 6, n - 1);
	name[n - 1] = '\0';
	ret = inject_write(proc->pid, misc, name, n);
	if (ret)
		return ret;
	r = rst_inject(proc, "prctl(PR_SET_VMA_ANON_NAME)", SYS_prctl, PR_SET_VMA_VXCR,
		       PR_SET_VMA_ANON_NAME_VXCR, v->start, v->end - v->start, misc, 0);
	if (r == -EINVAL) {
		pr_warn("pid %d: area %#llx keeps no name %s: kernel without CONFIG_ANON_VMA_NAME\n",
			proc->pid, (unsigned long long)v->start, v->name);
		return 0;
	}
	return r < 0 ? (int)r : 0;
}

/* Refuses a shmem object mapped by two areas (needs one shared object). */
static int check_shmem_ids(const struct rst_proc *proc)
{
	size_t i, j;

	for (i = 0; i < proc->nr_vmas; i++) {
		const VmaEntry *v = proc->vmas[i];

		if (v->kind != VMA_KIND__VMA_SHMEM || !v->has_shmem_id ||
		    rshm_written_by_us(rshm_find(proc->img, v->shmem_id)))
			continue;
		for (j = i + 1; j < proc->nr_vmas; j++)
			if (proc->vmas[j]->kind == VMA_KIND__VMA_SHMEM &&
			    proc->vmas[j]->shmem_id == v->shmem_id) {
				pr_err("shared memory object %u is mapped at %#llx and %#llx: "
				       "not supported yet\n",
				       v->shmem_id, (unsigned long long)v->start,
				       (unsigned long long)proc->vmas[j]->start);
				return -ENOTSUP;
			}
	}
	return 0;
}

/* Parent: builds the target's address space (without page contents). */
int mem_restore_layout(struct rst_proc *proc)
{
	const struct rst_image *img = proc->img;
	size_t i;
	int ret;

	ret = check_shmem_ids(proc);
	if (!ret)
		ret = unmap_clone(proc);
	if (!ret) {
		struct rst_range busy = { img->scratch, img->scratch + img->scratch_len };

		ret = vdso_move(proc, &busy, 1);
	}
	for (i = 0; !ret && i < proc->nr_vmas; i++)
		ret = map_one(proc, proc->vmas[i]);
	for (i = 0; !ret && i < proc->nr_vmas; i++)
		ret = proc->vmas[i]->madv ? advise_one(proc, proc->vmas[i]) : 0;
	for (i = 0; !ret && i < proc->nr_vmas; i++)
		ret = guard_prepare(proc, proc->vmas[i], NULL);
	for (i = 0; !ret && i < proc->nr_vmas; i++)
		ret = name_one(proc, proc->vmas[i]);
	return ret;
}

/* The parent's area child area v inherits, or NULL. */
static const VmaEntry *inherited_from(const struct rst_proc *c, const VmaEntry *v)
{
	const VmaEntry *pv = plan_vma_at(c->parent, v->start);

	return pv && img_vma_inherits(pv, v) ? pv : NULL;
}

/* Unmaps what of the parent's area pv no inherited area of c keeps. */
static int unmap_rest(struct rst_proc *c, const VmaEntry *pv)
{
	uint64_t cur = pv->start;
	size_t i;
	long r;

	for (i = 0; i <= c->nr_vmas; i++) {
		const VmaEntry *v = i < c->nr_vmas ? c->vmas[i] : NULL;
		uint64_t end = v ? v->start : pv->end;

		if (v && (v->end <= pv->start || v->start >= pv->end || inherited_from(c, v) != pv))
			continue;
		if (end > cur) {
			r = rst_inject(c, "munmap", SYS_munmap, cur, end - cur, 0, 0, 0, 0);
			if (r < 0)
				return r;
		}
		if (v)
			cur = v->end;
	}
	return 0;
}

/*
 * The address space of a process forked from its restored parent: areas it
 * inherits stay (their pages shared copy-on-write, protection adjusted),
 * the rest of the parent's is unmapped, its own areas mapped, the vdso
 * moved from the parent's place to its own.
 */
int mem_restore_layout_child(struct rst_proc *c)
{
	const struct rst_proc *p = c->parent;
	struct rst_range *busy;
	size_t i, nb = 0;
	int ret = check_shmem_ids(c);
	long r;

	for (i = 0; !ret && i < p->nr_vmas; i++)
		ret = unmap_rest(c, p->vmas[i]);
	for (i = 0; i < RST_NR_VDSO; i++) {
		c->vdso[i].ours = p->vdso[i].target;
		c->vdso[i].have_ours = p->vdso[i].have_target;
		if (!ret && c->vdso[i].have_ours && !c->vdso[i].have_target) {
			r = rst_inject(c, "munmap vdso", SYS_munmap, c->vdso[i].ours.start,
				       c->vdso[i].ours.end - c->vdso[i].ours.start, 0, 0, 0, 0);
			ret = r < 0 ? r : 0;
			c->vdso[i].have_ours = false;
		}
	}
	busy = calloc(c->nr_vmas + 1, sizeof(*busy));
	if (!busy)
		return -ENOMEM;
	busy[nb++] = (struct rst_range){ c->img->scratch, c->img->scratch + c->img->scratch_len };
	for (i = 0; i < c->nr_vmas; i++)
		if (inherited_from(c, c->vmas[i]))
			busy[nb++] = (struct rst_range){ c->vmas[i]->start, c->vmas[i]->end };
	if (!ret)
		ret = vdso_move(c, busy, nb);
	free(busy);
	for (i = 0; !ret && i < c->nr_vmas; i++) {
		const VmaEntry *v = c->vmas[i], *pv = inherited_from(c, v);

		if (!pv) {
			ret = map_one(c, v);
		} else if (map_prot(c, pv) != map_prot(c, v)) {
			r = rst_inject(c, "mprotect", SYS_mprotect, v->start, v->end - v->start,
				       map_prot(c, v), 0, 0, 0);
			ret = r < 0 ? r : 0;
		}
		if (!ret && pv)
			ret = unadvise_one(c, v, pv);
		if (!ret && v->madv)
			ret = advise_one(c, v);
		if (!ret)
			ret = guard_prepare(c, v, pv);
		if (!ret && !pv)
			ret = name_one(c, v);
	}
	return ret;
}

/* auxv bytes up to and including the AT_NULL pair, at most RST_AUXV_MAX words. */
static size_t auxv_words(const MmEntry *mm)
{
	size_t n;

	for (n = 0; n + 1 < mm->n_auxv && n + 2 <= RST_AUXV_MAX; n += 2)
		if (mm->auxv[n] == 0)
			return n + 2;
	return n;
}

/*
 * Can we (the same credentials as the process we restore) set its exe link:
 * CAP_CHECKPOINT_RESTORE or CAP_SYS_ADMIN.  vmad_undump by an unprivileged
 * caller keeps the caller's exe link, as the kernel module's does.
 */
static bool may_set_exe(void)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2];

	if (syscall(SYS_capget, &h, d))
		return false;
	return (d[CAP_CHECKPOINT_RESTORE / 32].effective >> (CAP_CHECKPOINT_RESTORE % 32) & 1) ||
	       (d[CAP_SYS_ADMIN / 32].effective >> (CAP_SYS_ADMIN % 32) & 1);
}

/*
 * Is the exe link already the file on helper fd map_fd?  The kernel refuses
 * to replace the exe file while the old one is still mapped (EBUSY), which
 * is the case when the process restored runs the restorer's own binary.
 */
static bool exe_already(const struct rst_proc *proc, int map_fd)
{
	char exe[64], fd[64];
	struct stat a, b;

	snprintf(exe, sizeof(exe), "/proc/%d/exe", proc->pid);
	snprintf(fd, sizeof(fd), "/proc/%d/fd/%d", proc->pid, map_fd);
	return !stat(exe, &a) && !stat(fd, &b) && a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

static int set_mm_map(struct rst_proc *proc)
{
	const MmEntry *mm = proc->mm;
	uint64_t data = proc->img->scratch + RST_SCRATCH_DATA;
	struct prctl_mm_map map = {
		.start_code = mm->start_code,
		.end_code = mm->end_code,
		.start_data = mm->start_data,
		.end_data = mm->end_data,
		.start_brk = mm->start_brk,
		.brk = mm->brk,
		.start_stack = mm->start_stack,
		.arg_start = mm->arg_start,
		.arg_end = mm->arg_end,
		.env_start = mm->env_start,
		.env_end = mm->env_end,
		.auxv = (__u64 *)(uintptr_t)(data + RST_SCR_AUXV),
		.auxv_size = auxv_words(mm) * 8,
		.exe_fd = (uint32_t)-1,
	};
	long r;
	int ret;

	if (mm->has_exe_file_id &&
	    !exe_already(proc, plan_file(proc->img, mm->exe_file_id)->map_fd) &&
	    (!proc->img->in_place || may_set_exe()))
		map.exe_fd = plan_file(proc->img, mm->exe_file_id)->map_fd;
	if (!map.auxv_size)
		map.auxv = NULL;
	ret = inject_write(proc->pid, data + RST_SCR_AUXV, mm->auxv, map.auxv_size);
	if (!ret)
		ret = inject_write(proc->pid, data + RST_SCR_MMMAP, &map, sizeof(map));
	if (ret) {
		pr_err("pid %d: cannot write to the scratch area: %s\n", proc->pid, strerror(-ret));
		return ret;
	}
	r = rst_inject(proc, "prctl(PR_SET_MM_MAP)", SYS_prctl, PR_SET_MM, PR_SET_MM_MAP,
		       data + RST_SCR_MMMAP, sizeof(map), 0, 0);
	return r < 0 ? r : 0;
}

/*
 * Parent, once the whole tree is built, for every live process before any
 * of them finishes: the mm fields (PR_SET_MM_MAP).  Forked processes too:
 * a child is forked while its parent still has vxrestore's mm fields (the
 * parent's are set only now), so it inherits vxrestore's exe, cmdline and
 * auxv, not the dumped ones.  Before any finish step because those close
 * the helper fds (the exe's among them), and a process sharing its fd
 * table with one already finished would have lost them.  0/-errno.
 */
int mem_restore_mm(struct rst_proc *proc)
{
	return set_mm_map(proc);
}

/*
 * Guards, locks and seals, once the whole tree is built and its pages are in
 * (a lock populates, a seal forbids the munmap/mprotect restore still
 * does), and before the credentials: mlock2() runs while the process has
 * our CAP_IPC_LOCK, so RLIMIT_MEMLOCK and a later change of uid do not
 * matter (the kernel keeps the pages locked).  mlockall(MCL_FUTURE) comes
 * after every area restore maps, seals last.  0 or -errno.
 */
static int lock_and_seal(struct rst_proc *proc)
{
	size_t i;
	long r = 0;

	for (i = 0; r >= 0 && i < proc->nr_vmas; i++)
		r = guard_install(proc, proc->vmas[i]);
	for (i = 0; r >= 0 && i < proc->nr_vmas; i++) {
		const VmaEntry *v = proc->vmas[i];

		if (v->madv & VXCR_MADV_LOCKED)
			r = rst_inject(proc, "mlock2", SYS_mlock2, v->start, v->end - v->start,
				       v->madv & VXCR_MADV_LOCKONFAULT ? MLOCK_ONFAULT : 0, 0, 0,
				       0);
	}
	if (r >= 0 && proc->mm->mlockall)
		r = rst_inject(proc, "mlockall", SYS_mlockall,
			       (proc->mm->mlockall & VXCR_MCL_FUTURE ? MCL_FUTURE : 0) |
				       (proc->mm->mlockall & VXCR_MCL_ONFAULT ? MCL_ONFAULT : 0),
			       0, 0, 0, 0, 0);
	for (i = 0; r >= 0 && i < proc->nr_vmas; i++) {
		const VmaEntry *v = proc->vmas[i];

		if (v->madv & VXCR_MADV_SEALED)
			r = rst_inject(proc, "mseal", SYS_mseal_VXCR, v->start, v->end - v->start,
				       0, 0, 0, 0);
	}
	return r < 0 ? (int)r : 0;
}

/*
 * Parent, after the pages: final protection of shared read-only areas and
 * the helper fds closed (mm fields: mem_restore_mm), then guards, locks
 * and seals.  Returns 0/-errno.
 */
int mem_restore_finish(struct rst_proc *proc)
{
	size_t i;
	long r;

	for (i = 0; i < proc->nr_vmas; i++) {
		const VmaEntry *v = proc->vmas[i];

		if (map_prot(proc, v) == v->prot)
			continue;
		r = rst_inject(proc, "mprotect", SYS_mprotect, v->start, v->end - v->start, v->prot,
			       0, 0, 0);
		if (r < 0)
			return r;
	}
	r = rst_inject(proc, "close_range", SYS_close_range, proc->img->max_fd + 1, ~0U, 0, 0, 0,
		       0);
	return r < 0 ? r : lock_and_seal(proc);
}
