/*
 * Validation of a restore plan before anything is created: architecture,
 * CPU features, vdso, files behind mappings, the pid, resource limits.
 */
#define LOG_PREFIX "restore/check: "
#include <cpuid.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/capability.h>

#include "log.h"
#include "util/asuser.h"
#include "util/cleanup.h"
#include "img/pstore.h"
#include "restore/restore.h"
#include "restore/mntns.h"

static const char *const rlimit_names[] = {
	"RLIMIT_CPU",	   "RLIMIT_FSIZE", "RLIMIT_DATA",   "RLIMIT_STACK",
	"RLIMIT_CORE",	   "RLIMIT_RSS",   "RLIMIT_NPROC",  "RLIMIT_NOFILE",
	"RLIMIT_MEMLOCK",  "RLIMIT_AS",	   "RLIMIT_LOCKS",  "RLIMIT_SIGPENDING",
	"RLIMIT_MSGQUEUE", "RLIMIT_NICE",  "RLIMIT_RTPRIO", "RLIMIT_RTTIME",
};

const char *rlimit_name(unsigned res)
{
	return res < ARRAY_SIZE(rlimit_names) ? rlimit_names[res] : "RLIMIT_?";
}

/*
 * Checks that every recorded limit can be set by a process whose limits
 * are ours: raising a hard limit needs CAP_SYS_RESOURCE.  On failure writes
 * the reason to why and returns -EPERM (or -EINVAL for a bad record).
 */
int check_rlimits(const RlimitEntry *const *rl, size_t n, const struct rlimit *ours, size_t nr_ours,
		  bool cap_sys_resource, char *why, size_t whylen)
{
	size_t i;

	for (i = 0; i < n; i++) {
		const RlimitEntry *r = rl[i];

		if (r->resource >= nr_ours || r->cur > r->max) {
			snprintf(why, whylen, "image: bad resource limit %u (%llu/%llu)",
				 r->resource, (unsigned long long)r->cur,
				 (unsigned long long)r->max);
			return -EINVAL;
		}
		if (cap_sys_resource || r->max <= (uint64_t)ours[r->resource].rlim_max)
			continue;
		snprintf(why, whylen,
			 "cannot restore %s: hard limit %llu is above vxrestore's "
			 "own %llu and CAP_SYS_RESOURCE is missing",
			 rlimit_name(r->resource), (unsigned long long)r->max,
			 (unsigned long long)ours[r->resource].rlim_max);
		return -EPERM;
	}
	return 0;
}

static int check_limits(const struct rst_image *img)
{
	struct rlimit ours[RLIM_NLIMITS];
	char why[256];
	unsigned i;
	size_t p;
	int ret, need;

	for (i = 0; i < RLIM_NLIMITS; i++)
		getrlimit(i, &ours[i]);
	for (p = 0; p < img->nr_procs; p++) {
		const TaskEntry *t = img->procs[p]->task;

		if (t->state == TASK_STATE_DEAD)
			continue;
		ret = check_rlimits((const RlimitEntry *const *)t->rlimits, t->n_rlimits, ours,
				    RLIM_NLIMITS, util_have_cap(CAP_SYS_RESOURCE), why,
				    sizeof(why));
		if (ret) {
			if (img->nr_procs > 1)
				pr_err("pid %u: %s\n", t->pid, why);
			else
				pr_err("%s\n", why);
			return ret;
		}
	}
	/* every description staged above temp_base at once, and the ghosts */
	need = img->temp_base + (int)(img->nr_files + ghost_count(img));
	if (ours[RLIMIT_NOFILE].rlim_max <= (rlim_t)need) {
		pr_err("%d fds needed, vxrestore's RLIMIT_NOFILE hard limit is %llu\n", need,
		       (unsigned long long)ours[RLIMIT_NOFILE].rlim_max);
		return -EMFILE;
	}
	return 0;
}

static uint64_t our_xfeatures(void)
{
	unsigned a, b, c, d;
	uint32_t lo, hi;

	if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & (1u << 27)))
		return 0x3; /* no OSXSAVE: x87 + SSE */
	__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	return ((uint64_t)hi << 32) | lo;
}

static int check_cpu(const struct rst_image *img)
{
	const ImgHeader *h = img->hdr;
	uint64_t ours = our_xfeatures(), want = 0;
	size_t p, i;

	for (p = 0; p < img->nr_procs; p++)
		for (i = 0; i < img->procs[p]->nr_threads; i++)
			want |= img->procs[p]->threads[i].core->xfeatures;

	if (!h->arch || strcmp(h->arch, "x86_64")) {
		pr_err("image is for %s, this is x86_64\n", h->arch ? h->arch : "an unknown arch");
		return -EINVAL;
	}
	if (h->has_page_size && h->page_size != RST_PAGE) {
		pr_err("image page size %u differs from ours\n", h->page_size);
		return -EINVAL;
	}
	if (want & ~ours) {
		pr_err("image uses CPU state components %#llx this CPU lacks (xfeatures %#llx, ours %#llx)\n",
		       (unsigned long long)(want & ~ours), (unsigned long long)want,
		       (unsigned long long)ours);
		return -EINVAL;
	}
	return 0;
}

/* The fds, mappings and exe link of one process name known files. */
static int check_proc_files(const struct rst_proc *proc)
{
	size_t i;

	for (i = 0; i < proc->fdt->n_fds; i++) {
		if (!plan_file(proc->img, proc->fdt->fds[i]->file_id)) {
			pr_err("image: fd %u refers to unknown file id %u\n", proc->fdt->fds[i]->fd,
			       proc->fdt->fds[i]->file_id);
			return -EINVAL;
		}
	}
	for (i = 0; i < proc->nr_vmas; i++) {
		const VmaEntry *v = proc->vmas[i];

		if (v->kind != VMA_KIND__VMA_FILE_PRIVATE && v->kind != VMA_KIND__VMA_FILE_SHARED)
			continue;
		if (!plan_file(proc->img, v->file_id)) {
			pr_err("image: memory area %#llx refers to unknown file id %u\n",
			       (unsigned long long)v->start, v->file_id);
			return -EINVAL;
		}
	}
	if (proc->mm->has_exe_file_id && !plan_file(proc->img, proc->mm->exe_file_id)) {
		pr_err("image: unknown exe file id %u\n", proc->mm->exe_file_id);
		return -EINVAL;
	}
	return 0;
}

/* The first pid or tid of the tree that is in use here, or 0. */
pid_t rst_tree_busy_pid(const struct rst_image *img)
{
	size_t p, i;

	for (p = 0; p < img->nr_procs; p++) {
		const struct rst_proc *c = img->procs[p];

		if (kill(c->task->pid, 0) == 0 || errno != ESRCH)
			return c->task->pid;
		for (i = 1; i < c->nr_threads; i++)
			if (kill(c->threads[i].tid, 0) == 0 || errno != ESRCH)
				return c->threads[i].tid;
	}
	return 0;
}

static int check_pid(struct rst_image *img)
{
	if (img->ctxe || img->in_place)
		return 0; /* a new pid namespace's pids; vmad_undump: the caller's */
	return rst_tree_busy_pid(img) ? spool_wait_pid(img) : 0;
}

#define RST_MAX_FD (1u << 24) /* far above any nr_open; keeps fd arithmetic in int */

/* Refuses fd numbers no kernel hands out (and that would overflow ours). */
static int check_fd_numbers(const struct rst_image *img)
{
	size_t i, t;

	for (t = 0; t < img->recs.n_fdt; t++) {
		const FdtableEntry *fdt = img->recs.fdt[t];

		for (i = 0; i < fdt->n_fds; i++) {
			if (fdt->fds[i]->fd >= RST_MAX_FD) {
				pr_err("image: fd %u is out of range\n", fdt->fds[i]->fd);
				return -EBADMSG;
			}
			if (!plan_file(img, fdt->fds[i]->file_id)) {
				pr_err("image: fd %u refers to unknown file id %u\n",
				       fdt->fds[i]->fd, fdt->fds[i]->file_id);
				return -EINVAL;
			}
		}
	}
	return 0;
}

/* Our own vdso and areas, once: every clone starts with them. */
static int read_our_areas(struct rst_image *img)
{
	return vdso_read_ours(img->vdso, &img->busy, &img->nr_busy);
}

/* Each live process: its vdso against ours, its fds and areas name files. */
static int check_procs(struct rst_image *img)
{
	size_t p;
	int ret = 0;

	for (p = 0; !ret && p < img->nr_procs; p++) {
		struct rst_proc *c = img->procs[p];

		if (c->task->state == TASK_STATE_DEAD)
			continue;
		ret = vdso_check(c) ?: check_proc_files(c) ?: pstate_check(c);
	}
	return ret;
}

/* 16 bytes as 32 hex digits in buf (33 bytes). */
static const char *id_hex(const uint8_t *id, char *buf)
{
	int i;

	for (i = 0; i < 16; i++)
		snprintf(buf + 2 * i, 3, "%02x", id[i]);
	return buf;
}

/*
 * An incremental image (header parent_id) needs the page store of its
 * parent, and that store only: its id is the parent's image id.  Parent
 * images given for an image that has none are refused too.
 */
static int check_parent(const struct rst_image *img)
{
	const ImgHeader *h = img->hdr;
	const struct vxcr_pstore *ps = img->opts->pages;
	bool incr = h && h->has_parent_id;
	char a[33], b[33];

	if (incr && h->parent_id.len != 16) {
		pr_err("image: parent id of %zu bytes, not 16\n", h->parent_id.len);
		return -EBADMSG;
	}
	if (incr && !ps) {
		pr_err("image: incremental, its parent %s is needed (--parent)\n",
		       id_hex(h->parent_id.data, a));
		return -ENOENT;
	}
	if (incr && memcmp(pstore_id(ps), h->parent_id.data, 16)) {
		pr_err("image: its parent is %s, not %s (%s)\n", id_hex(h->parent_id.data, a),
		       id_hex(pstore_id(ps), b),
		       img->parents_given ? "parent 1" : "the pages given");
		return -EINVAL;
	}
	if (!incr && img->parents_given) {
		pr_err("image: not incremental, but parent images were given\n");
		return -EINVAL;
	}
	return 0;
}

/*
 * One check of the plan: ro only reads the image, rw also plans (fills in
 * the layout, helpers, our own areas).
 */
struct plan_check {
	int (*ro)(const struct rst_image *img);
	int (*rw)(struct rst_image *img);
};

/* Runs checks[0 .. n) in order.  0 or the first -errno. */
static int run_checks(struct rst_image *img, const struct plan_check *checks, size_t n)
{
	size_t i;
	int ret = 0;

	for (i = 0; !ret && i < n; i++)
		ret = checks[i].ro ? checks[i].ro(img) : checks[i].rw(img);
	return ret;
}

/* The checks of the image by itself, in order (one row per check). */
static const struct plan_check image_checks[] = {
	{ check_parent, NULL }, /* the page store of an incremental image */
	{ check_cpu, NULL },
	{ NULL, read_our_areas },
	{ NULL, check_procs },
	{ check_fd_numbers, NULL },
	{ ipcns_check_image, NULL }, /* the IPC namespace (ipcns-check.c), before mqueue fds */
	{ fd_kinds_check_image, NULL },
	{ locks_check_plan, NULL },
	{ ghost_check_cwds, NULL },
	{ fown_check_plan, NULL },
	{ NULL, helpers_plan }, /* sessions and groups (fork.c) */
	{ NULL, layout_plan },
	{ cgroup_check_image, NULL },
	{ netns_check_image, NULL }, /* the network namespace (netns.c) */
	{ tun_check_links, NULL },   /* tun queues against its links (tun.c) */
	{ mntns_check_image, NULL }, /* the mount namespace (mntns.c) */
	/* files held on its tmpfs (mntns-files.c) */
	{ mntns_files_check_image, NULL },
	{ tty_check_tasks, NULL },   /* controlling terminals (tty.c) */
	{ tty_check_inherit, NULL }, /* ... as forked tasks inherit them */
	{ limits_check_image, NULL },
};

/*
 * The checks of the image by itself: its records against each other, this
 * CPU and our own address space (vdso), and the restore layout.  Nothing
 * named by the image is opened or looked up, no process is signalled, so
 * the fuzzer runs this on hostile images (tests/fuzz/lf/fuzz-plan.c).
 * Returns 0/-errno.
 */
int check_plan_image(struct rst_image *img)
{
	return run_checks(img, image_checks, sizeof(image_checks) / sizeof(image_checks[0]));
}

/* Files named by the image: a --root context's are the guest's, checked
 * inside it by its init (ctx-mounts.c), but for the init's own (outside). */
static int files_check_host(const struct rst_image *img)
{
	if (img->ctxe && img->ctxe->root)
		return fd_kinds_check_host_of(img, true);
	return fd_kinds_check_host(img);
}

/* The checks against this host, after the image's (one row per check). */
static const struct plan_check host_checks[] = {
	{ files_check_host, NULL }, /* files named by the image */
	{ NULL, check_pid },	      { check_limits, NULL },
	{ pstate_check_audit, NULL }, /* audit session ids (pstate.c) */
	{ cgroup_check_host, NULL },  /* the groups exist, or --manage-cgroups */
	{ tty_check_host, NULL },     /* a ctty outside the tree: ours */
	{ NULL, tcpsk_net_lock },     /* last: TCP connections held (tcpsk.c) */
};

/*
 * Validates the plan; nothing has been created yet: the image checks, then
 * those against the host (files named by the image, pids, limits), so a bad
 * image is refused before a busy pid is waited for.  Returns 0/-errno.
 */
int check_plan(struct rst_image *img)
{
	return check_plan_image(img) ?:
		       run_checks(img, host_checks, sizeof(host_checks) / sizeof(host_checks[0]));
}
