/*
 * Restore: rebuild a process from an image without a restorer blob.
 *
 * vxcr_restore() (restore.c) reads every record before the first PAGES
 * record into a plan (plan.c): one struct rst_image for what is image-wide
 * and one struct rst_proc per process, validates it (check.c), picks the
 * scratch address and fd layout (layout.c), then clones the root process
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
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/socket.h>

#include "vxcr/vxcr.h"
#include "img/img.h"
#include "img/records.h"
#include "util/inject.h"
#include "task.pb-c.h"
#include "netns.pb-c.h"
#include "ipcns.pb-c.h"
#include "mounts.pb-c.h"
#include "mm.pb-c.h"
#include "files.pb-c.h"
#include "ctx.pb-c.h"
#include "seccomp.pb-c.h"
#include "lock.pb-c.h"
#include "cgroup.pb-c.h"
#include "limits.pb-c.h"

#define RST_PAGE 4096ULL
#define RST_INHERIT_MAX 16	       /* vxcr_restore_opts.n_inherit_fds */
#define RST_TASK_TOP 0x7ffffffff000ULL /* end of 47-bit user space */
#define RST_MAP_MIN 0x100000ULL	       /* lowest scratch address */
#define RST_SCRATCH_DATA RST_PAGE      /* data part of the scratch area */
/* Offsets inside the scratch data page(s). */
#define RST_SCR_MMMAP 0x000  /* struct prctl_mm_map */
#define RST_SCR_AUXV 0x100   /* saved auxv, up to 0x400 bytes */
#define RST_SCR_CAPS 0x500   /* capset header + data */
#define RST_SCR_MISC 0x600   /* small arguments */
#define RST_SCR_CLONE 0x700  /* clone_args + set_tid for fork/threads */
#define RST_SCR_GROUPS 0x800 /* setgroups list */
#define RST_SCR_SECCOMP \
	0x800 /* a seccomp filter program (the tail after
					 * 0x800 holds one thing at a time: groups,
					 * a path, a filter) */
#define RST_AUXV_MAX ((0x500 - RST_SCR_AUXV) / 8)
/* ptrace options of every task we restore (tree.c, fork.c, seccomp.c) */
#define RST_TRACE_OPTS \
	(PTRACE_O_EXITKILL | PTRACE_O_TRACESYSGOOD | PTRACE_O_TRACEFORK | PTRACE_O_TRACECLONE)

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

struct rst_image;
struct rst_file;
struct rst_proc;

/*
 * How one file kind (file_entry.kind) is restored.  fd-kinds.c holds the
 * table, one row per kind; each kind is a struct rst_fd_kind named
 * rst_fd_<row> in its own stem (files.c for what is reopened by path,
 * pipes.c, memfd.c, ...).  Every hook may be NULL; each returns 0 or
 * -errno (logged).  Stages, in order: check_image (the image alone, also
 * run by the dump's vet and the fuzzer: validate every kind field),
 * check_host (what the image names on this host), open (in the root's C
 * part: the description onto f->stage_fd; NULL: not an fd, e.g. a file
 * behind a mapping), post_open (once every description of the image is
 * open, before any fd is placed: what needs other descriptions open).
 */
struct rst_fd_kind {
	uint32_t kind; /* FILE_KIND__* */
	const char *name;
	mode_t type; /* S_IF* a path reopened must be; 0: as recorded */
	bool stdio;  /* may take vxrestore's own fd 0-2 (a terminal) */
	bool late;   /* no pool fd: opened by its holder in finish (procfile.c) */
	/* late kind: is f in the pool after all (opened by open)?  NULL: never */
	bool (*pooled)(const struct rst_file *f);
	/* late kind: opens f in its holder c (injected): the fd there or -errno */
	long (*open_late)(struct rst_proc *c, const struct rst_file *f);
	int (*check_image)(const struct rst_image *img, const struct rst_file *f);
	int (*check_host)(const struct rst_image *img, const struct rst_file *f);
	int (*open)(const struct rst_image *img, struct rst_file *f);
	int (*post_open)(const struct rst_image *img, struct rst_file *f);
};

/* One open file description of the image. */
struct rst_file {
	FileEntry *fe;
	const struct rst_fd_kind *kind; /* set by the plan: never NULL after it */
	int stage_fd;			/* child: where it was opened, -1 if not yet */
	int map_fd;			/* helper fd for mappings / exe, -1 if none */
	bool map_write;			/* a shared writable mapping needs O_RDWR */
	bool inherited;			/* external stdio: our fd of the same number */
	int ghost_fd;			/* child: the ghost this entry holds, or -1 */
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
	struct img_record pending;    /* next page record, not applied yet */
	bool have_pending;	      /* false: the trailer was already read */
	struct img_sink *spool;	      /* rest of a piped image (spool.c), or NULL */
	struct img_source *spool_src; /* replaying it, or NULL */
	uint64_t spool_index;
};

/* A shared memory object of the tree (see shmem.c). */
struct rst_shmem {
	uint32_t id;
	uint64_t size;
	bool memfd; /* a memfd (fd or /memfd: mapping) */
	bool sysv_mapped;
	bool private_mapped; /* some area maps it MAP_PRIVATE (a memfd's copies) */
	unsigned mappers;    /* independent mappings (not inherited) */
	bool pooled;	     /* a memfd on pool_fd, mapped from it */
	int pool_fd;
	const FileEntry *file;	  /* FILE_MEMFD entry, if any */
	const char *map_name;	  /* "/memfd:NAME (deleted)" of an area mapping it */
	const SysvShmEntry *sysv; /* SysV segment, if any */
	int shmid;		  /* its id here */
	bool created;		  /* by us: removed again if the restore fails */
	int our_fd;		  /* parent: our reopen of the pooled memfd */
	void *ours;		  /* parent: our attach of the SysV segment */
	bool verify;		  /* an existing segment: compared, never written */
	uint8_t *covered;	  /* verify: pages the image held (bitmap) */
};

/* One thread of a process being restored (threads[0] is the leader). */
struct rst_thread {
	pid_t tid;  /* as we number it (ptrace, /proc) */
	pid_t vtid; /* as the image and the task itself number it */
	CoreEntry *core;
	struct inject in;  /* threads[0] uses the process's proc->in */
	FdtableEntry *fdt; /* an fd table of its own (no CLONE_FILES), or NULL */
};

/*
 * The record types restore keeps as they are, decoded, in the order of the
 * image: one row per type (IMG_REC_<TYPE>, the field of struct rst_records,
 * the protobuf-c type).  plan.c stores, frees and counts them from this
 * list alone (the descriptor is the one of lib/img's record table); the
 * code that uses a type reads r->field[0 .. r->n_field).  Records handled
 * otherwise (CONTEXT, FILE, the data records, pages) are in plan.c's
 * reader table.
 */
#define RST_KEPT_RECORDS(R)               \
	R(TASK, task, TaskEntry)          \
	R(CREDS, creds, CredsEntry)       \
	R(SIGNALS, sigs, SignalsEntry)    \
	R(CORE, core, CoreEntry)          \
	R(MM, mm, MmEntry)                \
	R(FDTABLE, fdt, FdtableEntry)     \
	R(SYSV_SHM, sysv, SysvShmEntry)   \
	R(SECCOMP, seccomp, SeccompEntry) \
	R(LOCK, locks, LockEntry)         \
	R(CGROUP, cgroup, CgroupEntry)    \
	R(LIMITS, limits, LimitsEntry)    \
	/* one row per type, each ending in a backslash */

/* Every kept record of the image (owned by the image), by type. */
struct rst_records {
#define RST_REC_FIELDS(type, field, ctype) \
	ctype **field;                     \
	size_t n_##field;
	RST_KEPT_RECORDS(RST_REC_FIELDS)
#undef RST_REC_FIELDS
};

struct rst_proc;
struct net_lock;

/*
 * The image-wide state of one restore: what the image holds, what every
 * process of the tree shares (files, shared memory, the layout they must
 * agree on) and what vxrestore itself keeps while it rebuilds them.  The
 * processes are in procs[] (procs[0] is the root), helpers in helpers[];
 * each points back here.  Nothing of it is copied into a process.
 */
struct rst_image {
	const struct vxcr_restore_opts *opts;
	int img_fd;
	struct rst_stream stream;
	const ImgHeader *hdr;

	/* decoded records */
	struct rst_records recs;
	CtxEntry *ctxe;		/* a whole context (ctx.c), else NULL */
	NetnsEntry *netns;	/* its network namespace (netns.c), else NULL */
	int netns_fd;		/* that namespace, built: the root is cloned in it; -1 */
	IpcnsEntry *ipcns;	/* its IPC namespace (ipcns.c), else NULL */
	int ipcns_saved;	/* ours, while our thread is in the one built; else -1 */
	struct rst_file *files; /* every open file description */
	size_t nr_files;
	struct rst_chunk *fdata; /* deleted file contents */
	size_t nr_fdata;

	MountsEntry *mounts;	 /* its mount namespace (mntns.c), else NULL */
	int mntns_fd;		 /* that namespace, built: the root enters it; -1 */
	struct rst_chunk *tdata; /* tmpfs file contents (TMPFS_DATA) */
	size_t nr_tdata;
	struct rst_chunk *pdata; /* pipe contents */
	size_t nr_pdata;
	struct rst_chunk *skq; /* unix socket queues (SK_QUEUE), in image order */
	size_t nr_skq;
	struct rst_shmem *shm; /* shared memory objects (shmem.c) */
	size_t nr_shm;

	/* processes: the tree in image order, and session/group helpers */
	struct rst_proc **procs;
	size_t nr_procs;
	struct rst_proc **helpers;
	size_t nr_helpers;

	/* layout, fixed before the clone so every process and we agree */
	int max_fd;	  /* highest fd of any process, at least 2 */
	int ctl_fd;	  /* the root's C part reports on this fd */
	int stage_base;	  /* first pool fd (files, then shmem pool) */
	int temp_base;	  /* root's C part: opens files above this first */
	int host_tty;	  /* root's C part: our terminal, kept for open_tty(), -1 */
	pid_t job_pgrp;	  /* the tree's group made foreground of our terminal (tty.c) */
	uint64_t scratch; /* the scratch area, same in every process */
	uint64_t scratch_len;
	struct rst_range *busy;		   /* ours and every process's areas */
	size_t nr_busy;			   /* (the scratch address avoids them) */
	struct rst_vdso vdso[RST_NR_VDSO]; /* .ours only: our own vdso areas */

	/* a whole context (ctx.c) */
	int ns_cgroup_fd;	   /* its cgroup (clone3 into it), -1 */
	const char *freeze_cgroup; /* frozen before the tree is let go */
	const char *pids_cgroup;   /* v1 pids group the init joins */

	/* cgroup membership (cgroup.c): the groups, open once the root is cloned */
	struct rst_cgroup *cgroup;

	/* vxrestore itself */
	bool parents_given;	   /* opts->pages was built from parent images */
	struct net_lock *net_lock; /* the image's TCP connections held (netlock.c) */
	bool net_unlocked;	   /* rst_net_unlock ran (it runs once) */
	int janitor_fd;		   /* socket to the janitor (janitor.c), -1 */
	pid_t janitor_pid;
	uint64_t t0;	/* CLOCK_MONOTONIC ns at start, for stage timings */
	cpu_set_t cpus; /* our CPU mask before pinning (see restore.c) */
	bool cpus_saved;
	int pin_cpu;

	/*
	 * vmad_undump (lib/vmad/undump.c): the root is the caller itself, not
	 * a clone; it keeps its pid, parent, session and group, ran its C part
	 * (rst_root_prepare) and stops under our PTRACE_SEIZE (rst_tree_adopt).
	 */
	bool in_place;
};

/*
 * What a process is to the restore: the root (cloned by us, its C part
 * runs our code), a child (forked by injection from its restored parent or
 * a helper; a zombie is a child whose task is TASK_STATE_DEAD), or a
 * helper (a session or group placeholder that exits at the end).
 */
enum rst_role {
	RST_ROOT,
	RST_CHILD,
	RST_HELPER,
};

/* The per-process state of one process being restored. */
struct rst_proc {
	struct rst_image *img;
	enum rst_role role;
	struct rst_proc *parent; /* NULL for the root */
	struct rst_proc *forker; /* who forks it: parent, a helper, or the zombie
				  * that led its session (fork.c) */
	bool exit_late;		 /* a zombie that exits after the whole tree is built:
				  * a session leader that forks members first, or a
				  * member of a group led by a later process
				  * (rst_proc_zombies_exit) */

	/* its records (a helper's task is helper_task, the others are NULL) */
	TaskEntry *task;
	TaskEntry helper_task;
	CredsEntry *creds;
	SignalsEntry *sigs;
	CoreEntry *core; /* the leader's */
	MmEntry *mm;
	FdtableEntry *fdt;
	VmaEntry **vmas; /* sorted by start, vdso/vvar/vsyscall excluded */
	size_t nr_vmas;
	struct rst_thread *threads;
	size_t nr_threads;
	struct rst_vdso vdso[RST_NR_VDSO]; /* where they are in it, where they go */

	/* run time */
	pid_t pid;
	int ctl_rd; /* the root: our end of its report pipe, -1 */
	int ctl_wr;
	int mem_fd; /* /proc/PID/mem */
	struct inject in;
	struct inject *inp; /* the thread rst_inject() talks to */
	int uffd;	    /* our copy of its userfaultfd, -1 (uffd.c) */
	int uffd_child;	    /* its number in the process, -1 */
	bool *uffd_vma;	    /* per vmas[i]: registered */
	uint64_t *lazy;	    /* post-copy: start, end pairs of IMG_PAGES_LAZY ranges */
	size_t n_lazy;	    /* entries in lazy (twice the areas) */
	bool seccomp_on;    /* filters installed, not suspended (seccomp.c) */
	unsigned injected;  /* injected syscalls, for the stats */
	uint64_t pages;
};

/*
 * The pid (tid of thread i) of process c as it names itself in calls
 * injected into it: the image's (inside a context's pid namespace too),
 * but for vmad_undump (img->in_place) the caller's pid it kept.
 */
static inline pid_t rst_self_pid(const struct rst_proc *c)
{
	return c->img->in_place ? c->pid : (pid_t)c->task->pid;
}

static inline pid_t rst_self_tid(const struct rst_proc *c, size_t i)
{
	return c->img->in_place && !i ? c->pid : c->threads[i].vtid;
}

/* The root process (procs[0]); the plan must be complete. */
static inline struct rst_proc *rst_root(const struct rst_image *img)
{
	return img->procs[0];
}

/* plan.c */
int plan_read(struct rst_image *img);
int plan_record(struct rst_image *img, const struct img_record *rec);
int plan_record_parts(struct rst_image *img, const struct img_record *hdr, const void *prefix,
		      size_t plen, const void *data, uint64_t dlen);
int plan_complete(struct rst_image *img);
struct rst_proc *rst_proc_new(struct rst_image *img, enum rst_role role);
void rst_proc_free(struct rst_proc *proc);
void plan_free(struct rst_image *img);
struct rst_file *plan_file(const struct rst_image *img, uint32_t id);
const VmaEntry *plan_vma_at(const struct rst_proc *proc, uint64_t addr);

/* check.c */
int check_plan(struct rst_image *img);
int check_plan_image(struct rst_image *img);
pid_t rst_tree_busy_pid(const struct rst_image *img);
int check_rlimits(const RlimitEntry *const *rl, size_t n, const struct rlimit *ours, size_t nr_ours,
		  bool cap_sys_resource, char *why, size_t whylen);
const char *rlimit_name(unsigned res);

/* layout.c: pure address-space arithmetic */
uint64_t layout_find_free(const struct rst_range *busy, size_t n, uint64_t len, uint64_t min,
			  uint64_t max);
size_t layout_holes(const struct rst_range *keep, size_t n, uint64_t top, struct rst_range *holes,
		    size_t max);
int layout_vdso_moves(const struct rst_vdso *v, size_t n, const struct rst_range *busy,
		      size_t nbusy, struct rst_move *moves, size_t *nmoves);
int layout_plan(struct rst_image *img);
int layout_add_range(struct rst_range **r, size_t *n, uint64_t s, uint64_t e);

/* vdso.c */
int vdso_read_ours(struct rst_vdso *v, struct rst_range **maps, size_t *n);
int vdso_check(struct rst_proc *proc);
int vdso_move(struct rst_proc *proc, const struct rst_range *busy, size_t nbusy);

/* restore.c: clone and rebuild the tree whose plan img holds; 0 or -errno */
struct rst_image *rst_image_new(int fd, const struct vxcr_restore_opts *o);
/*
 * netlock.c: rst_net_lock holds the connections c[0..n) (every packet of
 * them dropped) in namespace nsfd (-1: ours) until rst_net_unlock or
 * rst_image_free; called by the tcp kind from vxrestore's own process
 * before the first of its sockets is created.  0 or -errno (logged).
 * rst_net_unlock, once every socket is back: drops it and the lock kept
 * for this image by vxdump --keep-net-lock.
 */
struct net_conn;
int rst_net_lock(struct rst_image *img, const struct net_conn *c, size_t n, int nsfd);
void rst_net_unlock(struct rst_image *img);
void rst_image_free(struct rst_image *img);
int restore_run(struct rst_image *img, pid_t *pid, struct vxcr_restore_stats *st);

/* netns.c: the tree's network namespace (record NETNS) */
int netns_plan_read(struct rst_image *img, const struct img_record *rec);
int netns_check_image(const struct rst_image *img);
/* tun.c: the image's tun queues against its NETNS links.  0 or -EBADMSG. */
int tun_check_links(const struct rst_image *img);
/* Builds it in a new namespace (img->netns_fd).  0 or -errno (logged). */
int rst_netns_build(struct rst_image *img);
void rst_netns_free(struct rst_image *img);

/* ipcns.c: the tree's IPC namespace (record IPCNS) */
int ipcns_plan_read(struct rst_image *img, const struct img_record *rec);
int ipcns_check_image(const struct rst_image *img);
/*
 * Unshares a new IPC namespace for our thread and makes everything of the
 * record in it; we stay in it until rst_ipcns_leave.  0 or -errno (logged).
 */
int rst_ipcns_build(struct rst_image *img);
void rst_ipcns_leave(struct rst_image *img);
void rst_ipcns_free(struct rst_image *img);
/* mntns.c: the tree's mount namespace (records MOUNTS, TMPFS_DATA) */
int mntns_plan_read(struct rst_image *img, const struct img_record *rec);
int mntns_check_image(const struct rst_image *img);
/* Builds it in a new namespace (img->mntns_fd), before any process of the
 * tree; the root enters it in its C part.  0 or -errno (logged). */
int rst_mntns_build(struct rst_image *img);
void rst_mntns_free(struct rst_image *img);

/* ctx.c: a whole context (image with a CONTEXT record) */
int restore_context(struct rst_image *img, pid_t *pid, struct vxcr_restore_stats *st);
uint64_t ctx_clone_flags(const CtxEntry *ce);
bool restore_in_pidns(void); /* pidns.c: we run inside --pidns's namespace */
int ctx_child_setup(const struct rst_image *img);
int ctx_freeze(const struct rst_image *img);
/* ctx-mounts.c: a --root context's namespace against the image (prepare:
 * in vxrestore, before the fork; restore: in the init, after its setup,
 * rundir the run directory its view is at), its tmpfs files, its root,
 * the files the image names.  0 or -errno. */
int ctx_mounts_prepare(const struct rst_image *img);
int ctx_mounts_restore(const struct rst_image *img, const char *rundir);

/*
 * cgroup.c: every process and thread back into its group (record CGROUP),
 * below the restored root's groups.  0 or -errno (logged).
 */
struct rst_cgroup;
int cgroup_check_image(const struct rst_image *img);
/* Record LIMITS: its settings against CGROUP (cgroup.c), written into groups we make. */
int cgroup_check_settings(const struct rst_image *img);
/* timens.c: record LIMITS by itself; the tree's time namespace, made before its root. */
int limits_check_image(const struct rst_image *img);
int rst_timens_enter(struct rst_image *img);
int cgroup_check_host(const struct rst_image *img);
int rst_cgroup_setup(struct rst_image *img);
int rst_cgroup_enter(struct rst_proc *c);
int rst_cgroup_threads(struct rst_proc *c);
void rst_cgroup_done(struct rst_image *img, bool keep);

/* tree.c: the root, cloned by us */
int rst_tree_clone(struct rst_image *img);
void rst_tree_kill(struct rst_image *img);
/* The root's part in C, run by the root on itself (the clone, or the caller
 * of vmad_undump): signals blocked, fds, attributes, dispositions, limits,
 * the scratch area.  0 or -errno (logged); the process is changed either way. */
int rst_root_prepare(struct rst_proc *root);
/* img->in_place: waits until the root (root->pid, seized by us with
 * RST_TRACE_OPTS, reporting on root->ctl_rd) stops after its C part. */
int rst_tree_adopt(struct rst_image *img);

/* fork.c: processes after the root and all threads, by injection */
int rst_proc_fork(struct rst_proc *c);
int rst_proc_prepare(struct rst_proc *c);
int threads_create(struct rst_proc *proc);
int threads_close_pool(struct rst_proc *proc);
int rst_proc_make_zombie(struct rst_proc *c);
int rst_proc_zombies_exit(struct rst_image *img);
int rst_proc_set_pgid(struct rst_proc *c);
int helpers_plan(struct rst_image *img);
int helpers_exit(struct rst_image *img);
struct rst_proc *rst_proc_of_pid(const struct rst_image *img, pid_t pid);

/* pstate.c: stop signal (issue 11) */
int pstate_check(const struct rst_proc *c);
int pstate_stop(struct rst_proc *c);
int pstate_finish(struct rst_proc *c);
int pstate_check_audit(const struct rst_image *img);
int pstate_audit_self(struct rst_proc *root);
int pstate_audit_child(struct rst_proc *c);

/* task.c, files.c, signals.c: run in the root's C part */
int task_restore_attrs(struct rst_proc *proc);
int task_restore_rlimits(struct rst_proc *proc);
int files_restore(struct rst_proc *proc);
/*
 * open.c: opens the host object fe names with flags, only if it is the
 * recorded one (type; device, inode and rdev where recorded), resolving
 * the path without following symlinks and never creating or truncating.
 * fd or -errno (logged).
 */
int rst_open_recorded(const FileEntry *fe, int flags);
int rst_check_recorded(const FileEntry *fe);
/*
 * open.c: files on device dev (a context's root, the dumped directory or
 * a copy of it) are the recorded ones when their type, size and mtime
 * are (rst_open_copied_root).  rst_file_same: is st the file fe recorded,
 * by inode (dev, ino; any_dev: the device may differ, a procfs of another
 * mount, whose files that are no process's keep their numbers) or on
 * such a root by size and mtime; contents: size and mtime must match in
 * any case (a mapped file).  0 or -ESTALE (logged).
 */
void rst_open_copied_root(dev_t dev);
int rst_file_same(const FileEntry *fe, const struct stat *st, bool any_dev, bool contents);
/*
 * open.c: a --root context's init holds an fd of the host's root from
 * before its pivot until its maps are open (fd; -1 closes it): files
 * marked outside_root are resolved below it.
 */
void rst_open_outside_root(int fd);
int rst_open_outside_fd(void);
/*
 * open.c: an O_PATH fd on the object fe names (a symlink itself too),
 * with fe's O_PATH flags, checked as rst_open_recorded does.  fd/-errno.
 */
int rst_open_opath(const FileEntry *fe);

/* fd-kinds.c: the kind table and the stages that run its hooks */
const struct rst_fd_kind *rst_fd_kind(uint32_t kind);
int fd_kinds_plan(struct rst_image *img);
int fd_kinds_check_image(const struct rst_image *img);
int rst_check_no_thread_table(const struct rst_image *img, const struct rst_file *f);
int fd_kinds_check_host(const struct rst_image *img);
/* Only the files outside a --root context's root (outside) or in it. */
int fd_kinds_check_host_of(const struct rst_image *img, bool outside);
int fd_kinds_open(const struct rst_image *img);
int fd_kinds_post_open(const struct rst_image *img);
/* The bytes of f's SK_QUEUE records into *len, checked contiguous from
 * offset 0.  0 or -EBADMSG (logged). */
int rst_skq_len(const struct rst_image *img, const struct rst_file *f, uint64_t *len);
/* fn(arg, piece, its length) over bytes [lo, hi) of f's SK_QUEUE records,
 * in order.  0, fn's non-zero, or -EBADMSG if they do not reach hi. */
int rst_skq_each(const struct rst_image *img, const struct rst_file *f, uint64_t lo, uint64_t hi,
		 int (*fn)(void *arg, const uint8_t *p, size_t len), void *arg);

/*
 * unixsk-scm.c: fds and credentials in flight on unix sockets: the checks of
 * unixsk_entry.scm, the carried descriptions opened before the sockets,
 * and the SCM_CREDENTIALS and SCM_RIGHTS of a queue record (room for a
 * ucred and SCM_MAX_FD ints in ctl).
 */
int unixsk_check_scm(const struct rst_image *img, const struct rst_file *f);
/* unixsk-name.c: a unix socket's recorded address, and binding it there. */
struct sockaddr_un;
void unixsk_addr(const UnixskEntry *e, struct sockaddr_un *sa, socklen_t *len);
int unixsk_bind_name(int fd, const struct rst_file *f);
int unixsk_open_carried(const struct rst_image *img);
int unixsk_scm_at(const struct rst_image *img, const struct rst_file *f, size_t *next,
		  uint64_t offset, void *ctl, size_t *len);

/* files.c: helpers for the kinds (opened above temp_base, then pooled) */
int rst_stage_fd(const struct rst_image *img, int fd);
int rst_set_fl(int fd, uint32_t flags);
int rst_write_chunks(const struct rst_chunk *c, size_t n, uint32_t id, int fd, bool seekable,
		     const char *what);
int files_check_path(const struct rst_image *img, const struct rst_file *f);

/* tty.c: terminals and controlling terminals */
void tty_keep_host(struct rst_image *img);
void tty_drop_host(struct rst_image *img);
int tty_check_tasks(const struct rst_image *img);
int tty_check_inherit(const struct rst_image *img);
int tty_check_host(const struct rst_image *img);
/*
 * tcpsk.c: the image's TCP connections and listeners locked (rst_net_lock)
 * from vxrestore's own process, the last host check, before any socket is
 * made; unlocked once the tree runs (restore_run).  0 or -errno (logged).
 */
int tcpsk_net_lock(struct rst_image *img);
/*
 * tcpsk.c, vxrestore, once the tree is built and before it runs: the lock
 * dropped (rst_net_unlock), then every connection out of repair mode (on
 * a pidfd_getfd copy) and its unsent bytes sent.  Until then a failed
 * restore closes them in repair mode, silently.  0 or -errno (logged).
 */
int tcpsk_resume(struct rst_image *img);
/*
 * tcpsk-acceptq.c: a listener's accept queue checked with the image
 * (queued: the bytes of its SK_QUEUE records), and put back into new
 * listener sk (lib/net/tcpq.h).  0 or -errno (logged; -EBADMSG a bad
 * image).
 */
int tcpsk_acceptq_check(const TcpskEntry *e, uint64_t queued, const char *who);
int tcpsk_acceptq_restore(const struct rst_image *img, const struct rst_file *f, int sk,
			  const char *who);
int tty_root_ctty(struct rst_proc *proc);
int tty_child_ctty(struct rst_proc *c);
int tty_restore_fg(struct rst_image *img);
int tty_handover(struct rst_image *img);

/* ghost.c: deleted regular files, rebuilt unnamed and shared per inode */
int ghost_open(const struct rst_image *img, const struct rst_file *f, int flags);
void ghosts_close(const struct rst_image *img);
size_t ghost_count(const struct rst_image *img);
int ghost_check_image(const struct rst_image *img, const struct rst_file *f);
int ghost_check_cwds(const struct rst_image *img);
/* ghost.c: the type of ghost a deleted entry of fe's kind is rebuilt as,
 * or 0 (a kind without ghosts). */
mode_t ghost_type(const FileEntry *fe);
int ghost_check_host(const FileEntry *fe);
int ghost_cwd_fd(const struct rst_image *img, uint32_t id);

/*
 * sysv.c: the segment of s, created at its id or, if one exists there,
 * taken read-only when it is provably the image's own (s->verify; page
 * records are then compared by rsysv_compare and the rest checked zero by
 * rsysv_check_rest).  The janitor removes what we created if we die.
 * 0 or -errno (logged).
 */
int rsysv_get(struct rst_image *img, struct rst_shmem *s);
int rsysv_compare(struct rst_shmem *s, uint64_t off, const void *data, uint64_t len);
int rsysv_check_rest(const struct rst_shmem *s);

/*
 * janitor.c: started (once) for a tree of several processes, with SysV
 * segments or a CGROUP record; kills the processes handed to it by
 * rst_janitor_watch() and removes the SysV segments and the cgroups
 * (rst_janitor_cgroup()) we created, if we die before
 * rst_janitor_commit(img, true).  0 or -errno (logged).
 */
int rst_janitor_start(struct rst_image *img);
int rst_janitor_watch(struct rst_image *img, pid_t pid);
/* A cgroup we created, name in the group open on dirfd: removed if we die. */
int rst_janitor_cgroup(const struct rst_image *img, int dirfd, const char *name);
void rst_janitor_commit(struct rst_image *img, bool committed);
int files_open_maps(const struct rst_image *img);
int file_pool_fd(const struct rst_image *img, const struct rst_file *f);
/* fd-kinds.c: is f opened by its holder in finish (not from the pool)? */
bool rst_file_late(const struct rst_file *f);
int signals_restore(struct rst_proc *proc);
bool itimer_value(const ItimerEntry *t, struct itimerval *v);
/*
 * inject_init() for thread tid of proc, without the int3 stop of the
 * scratch gadget when the image holds a SIGTRAP disposition or a pending
 * SIGTRAP (rst_needs_syscall_stops()).  0 or -errno.
 */
bool rst_needs_syscall_stops(const struct rst_proc *proc);
int rst_inject_init(struct rst_proc *proc, struct inject *in, pid_t tid);

/* mem.c, pages.c: parent, by injection */
long rst_inject(struct rst_proc *proc, const char *what, long nr, unsigned long a0,
		unsigned long a1, unsigned long a2, unsigned long a3, unsigned long a4,
		unsigned long a5);
int mem_restore_layout(struct rst_proc *proc);
int mem_restore_layout_child(struct rst_proc *c);
int mem_restore_mm(struct rst_proc *proc);
int mem_restore_finish(struct rst_proc *proc);
int mem_check_vma(const VmaEntry *v);
int mem_check_mm(const MmEntry *mm);
int pages_restore(struct rst_proc *proc);
/* One page record, its prefix apart from its bytes (the dump's vet has
 * them so, restore splits what it reads). */
struct page_rec {
	const struct img_record *rec; /* type, flags, index */
	const struct img_pages_prefix *p;
	const uint8_t *data;
	uint64_t len; /* of data */
};
int pages_owner(struct rst_proc *proc, const struct page_rec *pr);
int pages_check(struct rst_proc *proc, const struct page_rec *pr);

/* creds.c, core.c */
int creds_restore(struct rst_proc *proc);
int core_restore(struct rst_proc *proc);
int core_release(struct rst_proc *proc);

/* seccomp.c */
int seccomp_plan(const struct rst_image *img, size_t *max_prog);
bool seccomp_after_creds(const struct rst_proc *proc);
int seccomp_restore(struct rst_proc *proc, size_t i);
int seccomp_check_sigsys(struct rst_proc *proc, const char *what);

/* pidns.c */
int restore_pidns(int fd, const struct vxcr_restore_opts *o, pid_t *pid,
		  struct vxcr_restore_stats *st);

/* shmem.c */
struct rst_shmem *rshm_find(const struct rst_image *img, uint32_t id);
int rshm_plan(struct rst_image *img, int base);
int rshm_pool_count(const struct rst_image *img);
int rshm_create_pool(const struct rst_image *img);
int rshm_open_file(const struct rst_image *img, const FileEntry *fe);
int rshm_open_ours(struct rst_image *img);
bool rshm_written_by_us(const struct rst_shmem *s);
bool rshm_filled_by_us(const struct rst_shmem *s);
int rshm_write(struct rst_shmem *s, uint64_t off, const void *data, uint64_t len);
int rshm_check(const struct rst_shmem *s, uint64_t off, const void *data, uint64_t len);
int rshm_map(struct rst_proc *proc, const VmaEntry *v);
int rshm_finish(struct rst_image *img);
void rshm_free(struct rst_image *img);

/* locks.c: file locks, taken again by each process that held them */
int locks_check_plan(const struct rst_image *img);
int locks_restore(struct rst_proc *c);

/* procfile.c: /proc/PID files, opened by their holder in finish */
int procfile_restore(struct rst_proc *c);
/* fown.c: owners and signals of descriptions (F_SETOWN_EX, F_SETSIG, O_ASYNC) */
int fown_check_plan(const struct rst_image *img);
int fown_restore(struct rst_proc *c);
/* The process that holds description file_id first (image order), its
 * lowest fd there in *fd; NULL if no live process has it (fown.c). */
struct rst_proc *rst_file_holder(const struct rst_image *img, uint32_t file_id, uint32_t *fd);

/* fsnotify.c: may the holders of file_id watch fds[0..n)?  (inotify, fanotify) */
int fsnotify_check_holders(const struct rst_image *img, uint32_t file_id, const int *fds, size_t n,
			   uint64_t need_caps, size_t *bad, const struct rst_proc **who);

/* timers.c */
int timers_restore(struct rst_proc *proc);

/* uffd.c */
int uffd_setup(struct rst_proc *proc);
int uffd_lazy_range(struct rst_proc *proc, uint64_t start, uint64_t end);
int uffd_lazy(struct rst_proc *proc);
int uffd_copy(struct rst_proc *proc, const VmaEntry *v, uint64_t addr, const void *data,
	      uint64_t len);
int uffd_teardown(struct rst_proc *proc);

/* spool.c */
int spool_wait_pid(struct rst_image *img);
int restore_next_record(struct rst_image *img, struct img_record *rec);
void spool_free(struct rst_image *img);

#endif
