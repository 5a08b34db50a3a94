/*
 * Restore: rebuild a process from an image without a restorer blob.
 *
 * vxcr_restore() (restore.c) reads every record before the first PAGES
 * record into a struct restore_ctx (plan.c), validates it (check.c), picks
 * the scratch address and fd layout (layout.c), then clones the new process
 * with the recorded pid (tree.c).  The child, still running our code,
 * rebuilds what plain C can (files.c, task.c, signals.c) and stops itself
 * under ptrace.  The parent then drives it by injected system calls: memory
 * (mem.c, vdso.c, pages.c), credentials (creds.c), seccomp filters
 * (seccomp.c) and finally registers and per-thread state (core.c) before
 * detaching.
 *
 * Every function returns 0 or -errno and logs once where the errno is known.
 */
#ifndef VXCR_RESTORE_H
#define VXCR_RESTORE_H

#include <stdint.h>
#include <stdbool.h>
#include <sched.h>
#include <stddef.h>
#include <sys/types.h>
#include <sys/resource.h>
#include <sys/time.h>

#include "vxcr/vxcr.h"
#include "img/img.h"
#include "img/records.h"
#include "util/inject.h"
#include "task.pb-c.h"
#include "mm.pb-c.h"
#include "files.pb-c.h"
#include "ctx.pb-c.h"
#include "seccomp.pb-c.h"
#include "lock.pb-c.h"

#define RST_PAGE		4096ULL
#define RST_TASK_TOP		0x7ffffffff000ULL	/* end of 47-bit user space */
#define RST_MAP_MIN		0x100000ULL		/* lowest scratch address */
#define RST_SCRATCH_DATA	RST_PAGE		/* data part of the scratch area */
/* Offsets inside the scratch data page(s). */
#define RST_SCR_MMMAP		0x000	/* struct prctl_mm_map */
#define RST_SCR_AUXV		0x100	/* saved auxv, up to 0x400 bytes */
#define RST_SCR_CAPS		0x500	/* capset header + data */
#define RST_SCR_MISC		0x600	/* small arguments */
#define RST_SCR_CLONE		0x700	/* clone_args + set_tid for fork/threads */
#define RST_SCR_GROUPS		0x800	/* setgroups list */
#define RST_SCR_SECCOMP		0x800	/* a seccomp filter program (the tail after
					 * 0x800 holds one thing at a time: groups,
					 * a path, a filter) */
#define RST_AUXV_MAX		((0x500 - RST_SCR_AUXV) / 8)
/* ptrace options of every task we restore (tree.c, fork.c, seccomp.c) */
#define RST_TRACE_OPTS		(PTRACE_O_EXITKILL | PTRACE_O_TRACESYSGOOD | \
				 PTRACE_O_TRACEFORK | PTRACE_O_TRACECLONE)


enum { RST_VVAR, RST_VVAR_VCLOCK, RST_VDSO, RST_NR_VDSO };

struct rst_range {
	uint64_t start;
	uint64_t end;
};

/* Bytes of one object (deleted file or pipe) from FILE_DATA / PIPE_DATA. */
struct rst_chunk {
	uint32_t id;
	uint64_t offset;
	size_t len;
	uint8_t *buf;
};

/* One open file description of the image. */
struct rst_file {
	FileEntry *fe;
	int stage_fd;		/* child: where it was opened, -1 if not yet */
	int map_fd;		/* helper fd for mappings / exe, -1 if none */
	bool map_write;		/* a shared writable mapping needs O_RDWR */
	bool inherited;		/* external stdio: our fd of the same number */
};

/* One of [vvar], [vvar_vclock], [vdso]: where it is in the clone, where it goes. */
struct rst_vdso {
	struct rst_range ours;
	struct rst_range target;
	bool have_ours;
	bool have_target;
};

/* One mremap: move len bytes at from to to. */
struct rst_move {
	uint64_t from;
	uint64_t len;
	uint64_t to;
};

/* The image stream after the plan, shared by every process of the tree. */
struct rst_stream {
	struct img_reader *rd;
	struct img_record pending;	/* next page record, not applied yet */
	bool have_pending;		/* false: the trailer was already read */
	int spool_fd;			/* rest of a piped image, see spool.c; -1 */
	void *spool_buf;
	size_t spool_cap;
	uint64_t spool_index;
};

/* A shared memory object of the tree (see shmem.c). */
struct rst_shmem {
	uint32_t id;
	uint64_t size;
	bool memfd;			/* a memfd (fd or /memfd: mapping) */
	bool sysv_mapped;
	unsigned mappers;		/* independent mappings (not inherited) */
	bool pooled;			/* a memfd on pool_fd, mapped from it */
	int pool_fd;
	const FileEntry *file;		/* FILE_MEMFD entry, if any */
	const SysvShmEntry *sysv;	/* SysV segment, if any */
	int shmid;			/* its id here */
	bool created;			/* by us: removed again if the restore fails */
	int our_fd;			/* parent: our reopen of the pooled memfd */
	void *ours;			/* parent: our attach of the SysV segment */
	bool verify;			/* an existing segment: compared, never written */
	uint8_t *covered;		/* verify: pages the image held (bitmap) */
};

/* One thread of a process being restored (threads[0] is the leader). */
struct rst_thread {
	pid_t tid;			/* as we number it (ptrace, /proc) */
	pid_t vtid;			/* as the image and the task itself number it */
	CoreEntry *core;
	struct inject in;		/* threads[0] uses the process's rc->in */
	FdtableEntry *fdt;		/* an fd table of its own (no CLONE_FILES), or NULL */
};

/* Every unpacked per-task record of the image (owned by the root's ctx). */
struct rst_records {
	TaskEntry **task;
	size_t n_task;
	CredsEntry **creds;
	size_t n_creds;
	SignalsEntry **sigs;
	size_t n_sigs;
	CoreEntry **core;
	size_t n_core;
	MmEntry **mm;
	size_t n_mm;
	FdtableEntry **fdt;
	size_t n_fdt;
	SysvShmEntry **sysv;
	size_t n_sysv;
	SeccompEntry **seccomp;
	size_t n_seccomp;
	LockEntry **locks;
	size_t n_locks;
};

/*
 * Everything one process's restore needs.  The root's is built by the
 * parent before the clone; every other process of the tree gets a copy of
 * the root's (image-wide fields: files, layout, stream) with its own
 * per-process fields.
 */
struct restore_ctx {
	const struct vxcr_restore_opts *opts;
	int img_fd;
	struct rst_stream *s;		/* shared by the tree */
	struct rst_stream stream;	/* the root's, s points here */
	struct restore_ctx *root;
	struct restore_ctx *parent;	/* NULL for the root */
	struct restore_ctx *forker;	/* who forks it: parent, or a helper (fork.c) */
	bool helper;			/* a session/group placeholder, exits at the end */
	TaskEntry helper_task;		/* helpers: task points here */
	struct restore_ctx **helpers;	/* root only */
	size_t nr_helpers;
	struct restore_ctx **procs;	/* root only: every process, image order */
	size_t nr_procs;
	struct rst_records recs;	/* root only */
	CtxEntry *ctxe;			/* root only: a whole context (ctx.c), else NULL */
	int ns_cgroup_fd;		/* root only, context: its cgroup (clone3), -1 */
	int janitor_fd;			/* root only: socket to the janitor, -1 */
	pid_t janitor_pid;
	const char *freeze_cgroup;	/* root only: frozen before the tree is let go */
	const char *pids_cgroup;	/* root only, context: v1 pids group the init joins */
	struct rst_thread *threads;
	size_t nr_threads;
	struct inject *inp;		/* the thread rst_inject() talks to */
	uint64_t t0;			/* CLOCK_MONOTONIC ns at start, for stage timings */
	cpu_set_t cpus;			/* our CPU mask before pinning (see restore.c) */
	bool cpus_saved;
	int pin_cpu;
	int uffd;			/* our copy of the child's userfaultfd, -1 */
	bool no_uffd;			/* forked children: COW areas, no uffd */
	int uffd_child;			/* its number in the child, -1 */
	bool *uffd_vma;			/* per rc->vmas[i]: registered */

	const ImgHeader *hdr;		/* root only: the image's header */
	TaskEntry *task;
	CredsEntry *creds;
	SignalsEntry *sigs;
	CoreEntry *core;		/* the leader's */
	MmEntry *mm;
	FdtableEntry *fdt;
	struct rst_file *files;
	size_t nr_files;
	struct rst_range *busy;		/* root only: ours and every process's areas */
	size_t nr_busy;			/* (the scratch address avoids them) */
	struct rst_shmem *shm;		/* root only: shared memory objects */
	size_t nr_shm;
	int temp_base;			/* child: files are opened above this first */
	struct rst_chunk *fdata;	/* deleted file contents */
	size_t nr_fdata;
	struct rst_chunk *pdata;	/* pipe contents */
	size_t nr_pdata;
	VmaEntry **vmas;		/* sorted by start, vdso/vvar/vsyscall excluded */
	size_t nr_vmas;

	/* layout, fixed before the clone so parent and child agree */
	int max_fd;			/* highest fd of the target, at least 2 */
	int ctl_fd;			/* child's report fd number */
	int stage_base;			/* child: first staging fd */
	uint64_t scratch;
	uint64_t scratch_len;
	struct rst_vdso vdso[RST_NR_VDSO];

	/* run time */
	pid_t pid;
	int ctl_rd;			/* parent's end of the report pipe */
	int ctl_wr;
	int mem_fd;			/* /proc/PID/mem */
	struct inject in;
	unsigned injected;		/* injected syscalls, for the stats */
	uint64_t pages;
	bool seccomp_on;		/* filters installed, not suspended (seccomp.c) */
};

/* plan.c */
int plan_read(struct restore_ctx *rc);
int plan_record(struct restore_ctx *rc, const struct img_record *rec);
int plan_record_parts(struct restore_ctx *rc, const struct img_record *hdr, const void *prefix,
		      size_t plen, const void *data, uint64_t dlen);
int plan_complete(struct restore_ctx *rc);
struct restore_ctx *plan_new_proc(struct restore_ctx *root, size_t idx);
void plan_free(struct restore_ctx *rc);
struct rst_file *plan_file(struct restore_ctx *rc, uint32_t id);
const VmaEntry *plan_vma_at(const struct restore_ctx *rc, uint64_t addr);

/* check.c */
int check_plan(struct restore_ctx *rc);
int check_plan_image(struct restore_ctx *rc);
pid_t tree_busy_pid(const struct restore_ctx *rc);
int check_rlimits(const RlimitEntry *const *rl, size_t n, const struct rlimit *ours,
		  size_t nr_ours, bool cap_sys_resource, char *why, size_t whylen);
const char *rlimit_name(unsigned res);

/* layout.c: pure address-space arithmetic */
uint64_t layout_find_free(const struct rst_range *busy, size_t n, uint64_t len,
			  uint64_t min, uint64_t max);
size_t layout_holes(const struct rst_range *keep, size_t n, uint64_t top,
		    struct rst_range *holes, size_t max);
int layout_vdso_moves(const struct rst_vdso *v, size_t n, const struct rst_range *busy,
		      size_t nbusy, struct rst_move *moves, size_t *nmoves);
int layout_plan(struct restore_ctx *rc);
int layout_add_range(struct rst_range **r, size_t *n, uint64_t s, uint64_t e);

/* vdso.c */
int vdso_read_ours(struct rst_vdso *v, struct rst_range **maps, size_t *n);
int vdso_check(struct restore_ctx *rc);
int vdso_move(struct restore_ctx *rc, const struct rst_range *busy, size_t nbusy);

/* restore.c: clone and rebuild the tree whose plan rc holds; 0 or -errno */
struct restore_ctx *restore_ctx_new(int fd, const struct vxcr_restore_opts *o);
void restore_ctx_free(struct restore_ctx *rc);
int restore_run(struct restore_ctx *rc, pid_t *pid, struct vxcr_restore_stats *st);

/* ctx.c: a whole context (image with a CONTEXT record) */
int restore_context(struct restore_ctx *rc, pid_t *pid, struct vxcr_restore_stats *st);
uint64_t ctx_clone_flags(const CtxEntry *ce);
bool restore_in_pidns(void);	/* pidns.c: we run inside --pidns's namespace */
int ctx_child_setup(struct restore_ctx *rc);
int ctx_freeze(struct restore_ctx *rc);

/* tree.c */
int tree_clone(struct restore_ctx *rc);
void rst_tree_kill(struct restore_ctx *rc);

/* fork.c: processes after the root and all threads, by injection */
int proc_fork(struct restore_ctx *c);
int proc_prepare(struct restore_ctx *c);
int threads_create(struct restore_ctx *rc);
int threads_close_pool(struct restore_ctx *rc);
int proc_make_zombie(struct restore_ctx *c);
int proc_set_pgid(struct restore_ctx *c);
int helpers_plan(struct restore_ctx *root);
int helpers_exit(struct restore_ctx *root);
struct restore_ctx *proc_of_pid(struct restore_ctx *root, pid_t pid);
int child_report(struct restore_ctx *rc, int err);

/* task.c, files.c, signals.c: run in the child */
int task_restore_attrs(struct restore_ctx *rc);
int task_restore_rlimits(struct restore_ctx *rc);
int files_restore(struct restore_ctx *rc);
/*
 * open.c: opens the host object fe names with flags, only if it is the
 * recorded one (type; device, inode and rdev where recorded), resolving
 * the path without following symlinks and never creating or truncating.
 * fd or -errno (logged).
 */
int rst_open_recorded(const FileEntry *fe, int flags);

/*
 * sysv.c: the segment of s, created at its id or, if one exists there,
 * taken read-only when it is provably the image's own (s->verify; page
 * records are then compared by rsysv_compare and the rest checked zero by
 * rsysv_check_rest).  The janitor removes what we created if we die.
 * 0 or -errno (logged).
 */
int rsysv_get(struct restore_ctx *root, struct rst_shmem *s);
int rsysv_compare(struct rst_shmem *s, uint64_t off, const void *data, uint64_t len);
int rsysv_check_rest(const struct rst_shmem *s);

/*
 * janitor.c: started (once) for a tree of several processes or with SysV
 * segments; kills the processes handed to it by rst_janitor_watch() and
 * removes the SysV segments we created, if we die before
 * rst_janitor_commit(root, true).  0 or -errno (logged).
 */
int rst_janitor_start(struct restore_ctx *root);
int rst_janitor_watch(struct restore_ctx *root, pid_t pid);
void rst_janitor_commit(struct restore_ctx *root, bool committed);
int files_open_maps(struct restore_ctx *rc);
int file_pool_fd(const struct restore_ctx *rc, const struct rst_file *f);
int signals_restore(struct restore_ctx *rc);
bool itimer_value(const ItimerEntry *t, struct itimerval *v);

/* mem.c, pages.c: parent, by injection */
long rst_inject(struct restore_ctx *rc, const char *what, long nr, unsigned long a0,
		unsigned long a1, unsigned long a2, unsigned long a3,
		unsigned long a4, unsigned long a5);
int mem_restore_layout(struct restore_ctx *rc);
int mem_restore_layout_child(struct restore_ctx *rc);
int mem_restore_finish(struct restore_ctx *rc);
int pages_restore(struct restore_ctx *rc);
/* One page record, its prefix apart from its bytes (the dump's vet has
 * them so, restore splits what it reads). */
struct page_rec {
	const struct img_record *rec;	/* type, flags, index */
	const struct img_pages_prefix *p;
	const uint8_t *data;
	uint64_t len;			/* of data */
};
int pages_owner(struct restore_ctx *rc, const struct page_rec *pr);
int pages_check(struct restore_ctx *rc, const struct page_rec *pr);

/* creds.c, core.c */
int creds_restore(struct restore_ctx *rc);
int core_restore(struct restore_ctx *rc);
int core_release(struct restore_ctx *rc);

/* seccomp.c */
int seccomp_plan(const struct restore_ctx *root, size_t *max_prog);
bool seccomp_after_creds(const struct restore_ctx *rc);
int seccomp_restore(struct restore_ctx *rc, size_t i);
int seccomp_check_sigsys(struct restore_ctx *rc, const char *what);

/* pidns.c */
int restore_pidns(int fd, const struct vxcr_restore_opts *o, pid_t *pid,
		  struct vxcr_restore_stats *st);

/* shmem.c */
struct rst_shmem *rshm_find(const struct restore_ctx *rc, uint32_t id);
int rshm_plan(struct restore_ctx *root, int base);
int rshm_pool_count(const struct restore_ctx *root);
int rshm_create_pool(struct restore_ctx *rc);
int rshm_open_file(struct restore_ctx *rc, const FileEntry *fe);
int rshm_open_ours(struct restore_ctx *rc);
bool rshm_written_by_us(const struct rst_shmem *s);
bool rshm_filled_by_us(const struct rst_shmem *s);
int rshm_write(struct rst_shmem *s, uint64_t off, const void *data, uint64_t len);
int rshm_check(const struct rst_shmem *s, uint64_t off, const void *data, uint64_t len);
int rshm_map(struct restore_ctx *rc, const VmaEntry *v);
int rshm_finish(struct restore_ctx *rc);
void rshm_free(struct restore_ctx *rc);

/* locks.c: file locks, taken again by each process that held them */
int locks_check_plan(const struct restore_ctx *root);
int locks_restore(struct restore_ctx *c);

/* timers.c */
int timers_restore(struct restore_ctx *rc);

/* uffd.c */
int uffd_setup(struct restore_ctx *rc);
int uffd_copy(struct restore_ctx *rc, const VmaEntry *v, uint64_t addr,
	      const void *data, uint64_t len);
int uffd_teardown(struct restore_ctx *rc);

/* spool.c */
int spool_wait_pid(struct restore_ctx *rc);
int restore_next_record(struct restore_ctx *rc, struct img_record *rec);
void spool_free(struct restore_ctx *rc);

#endif
