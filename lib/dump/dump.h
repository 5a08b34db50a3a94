/*
 * Dump engine internals.  One struct dump_op holds all state of one dump and
 * is passed down; per-process state lives in struct dump_task, per-thread
 * state in struct dump_thread, per address space in struct dump_mm and per
 * fd table in struct dump_fdtable.  A dump covers the process tree rooted at
 * the given pid, every thread included; op->tasks lists the processes in
 * preorder and mm_id = the 1-based position (NOTES, issue 3); files_id and
 * fs_id too, unless the process shares its parent's (share.c), and a
 * thread with an fd table of its own gets an id above the process count.
 *
 * Stems: tree.c (finding and freezing the tree, refusals that need the
 * whole tree), share.c (who shares an mm, fd table or fs info with whom),
 * seize.c (freeze/release/kill of one thread), core.c
 * (per-thread registers, signal mask, pending), seccomp.c (filters),
 * task.c (task_entry),
 * creds.c, signals.c, timers.c (POSIX timers), remote.c (the
 * injected-syscall window), mem.c (VMAs, mm fields), shmem.c (shared
 * memory objects, SysV segments), pages.c (page contents, copy-on-write
 * against the parent), files.c
 * (fds, file table, the kinds reopened by path), fd-kinds.c (the fd kind
 * table), one stem per other fd kind (pipes.c, memfd.c), locks.c (file
 * locks), cgroup.c (cgroup membership), dump.c (orchestration, public API).
 */
#ifndef VXCR_DUMP_H
#define VXCR_DUMP_H

#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/user.h>

#include "vxcr/vxcr.h"
#include "proc/proc.h"
#include "img/records.h"
#include "img/vdso-digest.h"
#include "util/inject.h"

#include "task.pb-c.h"
#include "mm.pb-c.h"
#include "files.pb-c.h"
#include "ctx.pb-c.h"
#include "netns.pb-c.h"
#include "ipcns.pb-c.h"
#include "limits.pb-c.h"

#include "util/pb.h"

struct img_writer;
struct net_lock;

#define SIGINFO_RAW_SIZE 128
#define NSIG_KERNEL 64

struct siginfo_raw {
	uint8_t b[SIGINFO_RAW_SIZE];
};

struct siginfo_queue {
	struct siginfo_raw *v;
	size_t n;
};

/* What the injected syscalls told about a thread. */
struct remote_thread {
	uint64_t altstack_sp, altstack_size;
	uint32_t altstack_flags;
	uint64_t clear_child_tid;
	uint64_t robust_list, robust_list_len;
};

/* One seccomp filter of a thread (seccomp.c). */
struct dump_filter {
	uint32_t flags; /* SECCOMP_FILTER_FLAG_* (metadata: LOG only) */
	uint8_t *prog;	/* struct sock_filter[] */
	size_t len;	/* bytes */
};

struct dump_thread {
	pid_t tid;
	pid_t vtid; /* as the image records it (ns.c) */
	bool seized;
	bool stopped;		      /* in a ptrace-stop of ours (detachable) */
	bool gone;		      /* exited while being seized: dropped */
	bool group_stopped;	      /* was in job-control stop before seize */
	int stop_sig;		      /*   the signal that stopped its group */
	struct user_regs_struct regs; /* resume form */
	bool in_syscall_restart;
	uint8_t *xsave;
	size_t xsave_len;
	uint64_t xfeatures;
	uint64_t blocked;
	struct siginfo_queue pending;
	uint64_t rseq_addr;
	uint32_t rseq_len, rseq_sig;
	char comm[64];
	int sched_policy, sched_prio, nice;
	struct remote_thread rt;
	uint32_t files_id;	   /* an fd table of its own (no CLONE_FILES): its id, else 0 */
	struct dump_fdtable *fdt;  /* that table, NULL when it shares the leader's */
	bool own_fs;		   /* fs info of its own (no CLONE_FS): */
	char *cwd, *root;	   /*   its cwd and root (malloc'ed) */
	uint32_t cwd_file_id;	   /*   cwd removed: its FILE_DIR entry */
	uint32_t umask;		   /*   and umask */
	struct proc_status status; /* non-leaders: thread_status(), once */
	bool has_status;
	struct dump_filter *filters; /* seccomp filters, oldest first */
	uint32_t *filter_ids;	     /*   their ids in the SECCOMP record */
	size_t n_filters;
};

/* Kernel layout of struct sigaction as rt_sigaction returns it. */
struct ksigaction {
	uint64_t handler;
	uint64_t flags;
	uint64_t restorer;
	uint64_t mask;
};

struct kitimerval {
	int64_t interval_sec, interval_usec;
	int64_t value_sec, value_usec;
};

/* Per-process answers of the injected syscalls. */
struct remote_task {
	struct ksigaction act[NSIG_KERNEL + 1]; /* index = signo */
	bool act_valid[NSIG_KERNEL + 1];
	struct kitimerval itimers[3];
	uint64_t brk;
	uint32_t securebits;
	uint32_t pdeath_sig;
	uint32_t dumpable;
	bool child_subreaper;
	bool thp_disable;
	uint32_t mlockall;     /* VXCR_MCL_*: mlockall() flags that last */
	bool mlockall_unknown; /* MCL_FUTURE seen, MCL_ONFAULT not knowable */
	uint32_t membarrier;   /* MEMBARRIER_CMD_REGISTER_* bits of its mm */
};

struct dump_vma {
	struct proc_vma pv; /* as parsed (owns pv.name) */
	int kind;	    /* VMA_KIND__* */
	uint32_t flags;	    /* MAP_* */
	uint64_t madv;	    /* VXCR_MADV_* */
	uint32_t file_id;
	uint32_t shmem_id;
	bool sysv;	  /* a SysV segment (shmat): pv.ino is its shmid */
	uint8_t *cow;	  /* inherited area: enum cow_page per page, else NULL */
	uint64_t *guards; /* guard regions: start, end pairs (vma_entry.guards) */
	size_t n_guards;  /* entries in guards (twice the ranges) */
	bool whole;	  /* a file's area stored with its contents (whole.c) */
};

struct dump_mm {
	uint32_t mm_id;
	struct proc_vma_list raw; /* parsed smaps (names moved into vmas) */
	struct dump_vma *vmas;
	size_t n_vmas;
	uint64_t auxv[128];
	size_t n_auxv;
	uint32_t exe_file_id;
	uint8_t vdso_digest[IMG_VDSO_DIGEST_LEN]; /* img/vdso-digest.h */
	bool has_vdso;
	struct dump_whole *whole; /* while collected: the classes stored whole */
};

/* Object offsets [lo, hi) whose pages are in the image. */
struct shmem_range {
	uint64_t lo, hi;
};

/*
 * One shmem object of the image (shared anonymous, memfd, SysV, /dev/zero).
 * Objects held by an fd (memfd) and SysV segments are written whole, in the
 * page group of first_index; others as the union of their mapped ranges.
 */
struct dump_shmem {
	uint32_t id;
	uint32_t dev_major, dev_minor;
	uint64_t ino;	      /* SysV: the shmid */
	uint32_t first_index; /* first process (task order) holding it */
	bool sysv;
	bool has_file;		  /* some fd of the tree is this memfd */
	int fd;			  /* our read handle on it, -1 if none yet */
	uint64_t size;		  /* i_size (has_file) or segment size (sysv) */
	struct proc_sysv_shm seg; /* sysv: its line of /proc/sysvipc/shm */
	struct shmem_range *done; /* sorted, disjoint, not adjacent */
	size_t n_done;
};

/* One file description (or a MAPONLY reference) of the image. */
/* One data extent of a deleted file (SEEK_DATA to SEEK_HOLE), bytes. */
struct dump_extent {
	uint64_t off, len;
};

struct dump_file {
	FileEntry e;
	char *path;		    /* owned, e.path points here */
	int local_fd;		    /* our handle (pidfd_getfd/open), -1 if none */
	pid_t first_pid;	    /* first process seen holding it ... */
	int first_fd;		    /* ... and its lowest fd there */
	bool pipe_read, pipe_write; /* pipe ends held (this description) */
	uint8_t *pipe_data;	    /* bytes buffered, peeked (first end of a pipe) */
	size_t pipe_data_len;
	uint8_t *skq; /* unix socket: its queue, messages as [u32 len][bytes] */
	size_t skq_len;
	struct dump_scm *scm; /* unix socket: its queued messages with fds */
	size_t n_scm;
	UnixskScm **scm_v;	 /* e.unixsk->scm: points into scm */
	void *sub;		 /* its kind's sub-message of e, malloc'ed, or NULL */
	void *sub2;		 /* more of it (a listener's accept queue), or NULL */
	struct dump_extent *ext; /* deleted, holds the data: its extents */
	size_t n_ext;
	struct timespec ctime; /* deleted: st_ctim at the probe */
	char *dev_path;	       /* deleted device: e.dev_path, owned */
	bool renamed; /* a deleted name of a file with other names, on the tree's own tmpfs */
};

/* A queued message carrying fds: MSG_PEEK installed them in us (open). */
#define DUMP_SCM_MAX_FD 253 /* SCM_MAX_FD */
struct dump_scm {
	uint64_t offset; /* in the socket's queue */
	uint32_t n;
	bool n_seen;	  /* while peeking: fds were taken, later copies closed */
	bool has_cred;	  /* SCM_CREDENTIALS came with it */
	uint32_t cred[3]; /* pid (as we see it), uid, gid */
	int fds[DUMP_SCM_MAX_FD];
	uint32_t ids[DUMP_SCM_MAX_FD]; /* their file ids, once collected */
	UnixskScm msg;		       /* its part of the socket's entry */
};

struct dump_fd {
	uint32_t fd;
	uint32_t file_id;
	bool cloexec;
};

struct dump_fdtable {
	uint32_t files_id;
	struct dump_fd *fds;
	size_t n_fds;
};

struct inode_files;

/*
 * Image-wide table of file descriptions, ids from 1, with an index by
 * (dev, ino): the descriptions of each inode sorted in kcmp order.
 */
struct dump_files {
	struct dump_file *v;
	size_t n, cap;
	uint32_t next_pipe_id;
	struct inode_files **hash; /* n_hash buckets, chained */
	size_t n_hash, n_inodes;
	const struct dump_mntns *mntns; /* the tree's (mntns.c): deleted names on its tmpfs */
};

/* One POSIX timer: /proc/PID/timers plus the injected getters. */
struct dump_timer {
	struct proc_timer pt;
	uint64_t value_ns, interval_ns;
	uint32_t overrun;
};

struct dump_task {
	pid_t pid;
	pid_t vpid;		     /* as the image records it (ns.c) */
	uint32_t index;		     /* 1-based position in preorder = mm_id = files_id */
	struct dump_task *parent;    /* in the tree, NULL for the root */
	struct dump_task **children; /* sorted by pid once the tree is frozen */
	size_t n_children;
	bool zombie; /* state Z: recorded, not seized */
	bool gone;   /* vanished while being seized: dropped */
	int pidfd;
	int state; /* TASK_STATE_* */
	struct proc_stat stat;
	struct proc_status status;
	struct dump_thread *threads; /* leader first */
	size_t n_threads, cap_threads;
	struct dump_timer *timers;
	size_t n_timers;
	uint32_t personality;
	struct rlimit rlim[RLIM_NLIMITS];
	uint64_t timer_slack_ns;
	int32_t oom_score_adj;
	uint8_t affinity[128]; /* sched_getaffinity bytes */
	size_t affinity_len;
	char cwd[4096], root[4096];
	uint32_t cwd_file_id; /* cwd removed: its FILE_DIR entry */
	uint32_t last_cap;
	bool has_audit;		      /* CONFIG_AUDIT: */
	uint32_t loginuid, sessionid; /*   /proc/PID/loginuid, sessionid */
	struct siginfo_queue shared_pending;
	struct remote_task rt;
	struct dump_mm *mm;
	uint32_t files_id;	  /* index, or the parent's when sharing its fd table */
	uint32_t fs_id;		  /* index, or the parent's when sharing its fs info */
	struct dump_fdtable *fdt; /* NULL when the parent's is shared */
	uint32_t ctty;		  /* VXCR_CTTY_* (tty.c) */
	uint32_t ctty_pty_id;	  /* VXCR_CTTY_PTY: its pair's FILE_PTMX entry */
	uint32_t tty_fg_pgrp;	  /* its terminal's foreground group, if of the tree */
	struct {
		bool want; /* make a uffd in the injection window (cow.h) */
		bool made; /* uffd is ours: the one made inside t */
		int uffd;
	} cow;
};

/*
 * A target its cgroup holds frozen (a paused context, lib/ctx/cr.c): it is
 * seized and read frozen and thawed only around each process's injection
 * windows, while every task is ptrace-stopped.  thaw and freeze return 0
 * or -errno (logged); the caller makes sure a dumper that dies thawed
 * leaves it frozen (lib/ctx/guard.c).
 */
struct dump_freezer {
	int (*thaw)(void *arg);
	int (*freeze)(void *arg);
	void *arg;
};

struct dump_op {
	const struct vxcr_dump_opts *opts;
	struct vxcr_dump_stats *st;
	int out_fd;
	struct img_writer *w;
	struct rst_vet *vet;	  /* restore's checks on what w writes */
	struct dump_task *root;	  /* == tasks[0] */
	struct dump_task **tasks; /* every process, preorder (see NOTES) */
	size_t n_tasks, cap_tasks;
	struct dump_files files;
	struct dump_shmem *shmems; /* image-wide shmem objects, ids from 1 */
	size_t n_shmems;
	uint32_t n_fdtables; /* fd table ids handed out (processes + threads) */
	cpu_set_t cpus;	     /* our CPU mask while pinned (dump.c) */
	bool pinned;
	uint64_t t_start, t_seize;
	const CtxEntry *ctxe;		    /* a whole context: pids of its pid ns (ns.c) */
	const char *ctx_cgroup;		    /* its cgroup: every member must be in the tree */
	const struct dump_freezer *freezer; /* a frozen context's, else NULL */
	struct inject_gadgets gadgets;	    /* recovery code found so far (remote.c) */
	unsigned n_refused;		    /* objects refused so far (dump_refusal) */
	struct dump_lock *locks;	    /* file locks held by the tree (locks.c) */
	size_t n_locks;
	struct dump_cgroup *cgroup; /* cgroup membership (cgroup.c), NULL until collected */
	NetnsEntry *netns;	    /* the tree's network namespace (netns.c), or NULL */
	int netns_saved;	    /* our own, while the thread is in the tree's; else -1 */
	IpcnsEntry *ipcns;	    /* the tree's IPC namespace (ipcns.c), or NULL */
	int ipcns_saved;	    /* our own, while the thread is in the tree's; else -1 */
	dev_t ipcns_mq_dev;	    /* st_dev of its mqueue filesystem (FILE_MQUEUE) */
	struct dump_tcp *tcp;	    /* TCP sockets in repair mode (tcpsk-repair.c), or NULL */
	struct net_lock *net_lock;  /* the tree's network lock (netlock.c), or NULL */
	struct dump_mntns *mntns;   /* the tree's mount namespace (mntns.c), or NULL */
	LimitsEntry *timens;	    /* the tree's time namespace clocks (limits.c), or NULL */
	bool cow_want;		    /* a copy-on-write snapshot is tried (cow.h) */
	struct cow *cow;	    /* the snapshot the pages are read from, or NULL */
	struct vxcr_pstore *parent; /* the parent image's pages (parent.c), or NULL */
	struct vxcr_pstore *ids;    /* a live migration's vet: the store's id, no pages */
	uint64_t parent_pages;	    /* pages written as PARENT ranges */
};

/* parent.c: vxdump --parent */
/* Reads the parent image on opts->parent_fd (if any) into op->parent.
 * 0 or -errno (logged). */
int dump_parent_load(struct dump_op *op);
/* Whether the page of t at addr (4096 bytes at data) is the parent's. */
bool dump_parent_same(const struct dump_op *op, const struct dump_task *t, uint64_t addr,
		      const void *data);
void dump_parent_free(struct dump_op *op);

/* whole.c: file areas stored with their contents (opts->file_contents) */
struct dump_whole;
/* What t (pid, its smaps in raw) stores whole: *out, or NULL when the dump
 * stores no file's contents.  0 or -ENOMEM. */
int whole_prepare(const struct dump_op *op, pid_t pid, const struct proc_vma_list *raw,
		  struct dump_whole **out);
/* Whether a private area of the file st is stored whole (w may be NULL). */
bool whole_area(const struct dump_whole *w, const struct stat *st);
/* Whether the exe st is stored whole, so its link is not recorded. */
bool whole_exe(const struct dump_whole *w, const struct stat *st);
void whole_free(struct dump_whole *w);

/* dump.c */
uint64_t dump_now_ns(void);
/*
 * ret came from collecting an object of t: a refusal (-EOPNOTSUPP, its
 * one line already logged) is counted and handed to the caller's refused
 * callback, and 0 is returned so the collection goes on; other values are
 * returned as they are.  t may be NULL (an image-wide object).
 */
int dump_refusal(struct dump_op *op, const struct dump_task *t, int ret);

/* seize.c */
/*
 * Options of every seize.  PTRACE_O_TRACESYSGOOD makes a syscall stop's
 * code SIGTRAP|0x80, which the kernel cannot send: a tracee we leave (or
 * orphan by dying) at a syscall stop gets no SIGTRAP on its way out.
 */
#define DUMP_TRACE_OPTS PTRACE_O_TRACESYSGOOD
int dump_check_target(pid_t pid);
/* The status of frozen thread th of t, read once (the leader's is t's);
 * NULL if unreadable (logged). */
const struct proc_status *thread_status(struct dump_task *t, struct dump_thread *th);
int seize_thread(struct dump_task *t, struct dump_thread *th);
int seize_read_state(struct dump_task *t);
void release_task(struct dump_task *t);
void kill_task(struct dump_task *t);
void reap_task(struct dump_task *t);

/* pages.c: shared with the tracker and the copy-on-write snapshot */
/* True if the 4096 bytes at p are all zero. */
bool dump_page_zero(const uint8_t *p);
/* Opens /proc/PID/NAME read-only into *fd: 0 or -errno (logged). */
int dump_open_proc(pid_t pid, const char *name, int *fd);

/* tree.c */
int dump_tree_seize(struct dump_op *op, pid_t root);
int dump_tree_check(struct dump_op *op);
int dump_tree_check_vfork(pid_t pid, pid_t tid);
void dump_tree_release(struct dump_op *op);
int dump_tree_kill(struct dump_op *op);
void dump_tree_free(struct dump_op *op);
bool dump_tree_has_pid(const struct dump_op *op, pid_t pid); /* a process of the tree */
/* The tids of /proc/PID/task (*out malloc'ed).  -ENOENT when the process
 * is gone. */
int dump_list_tids(pid_t pid, pid_t **out, size_t *n);
/* Pids of a whitespace-separated list (children, cgroup.procs); *out malloc'ed. */
int dump_tree_parse_pids(const char *text, pid_t **out, size_t *n);

/* ns.c: a context's pids as its own pid namespace numbers them */
int ns_map_tree(struct dump_op *op);
pid_t dump_vpid(const struct dump_op *op, pid_t host);
int write_context(struct dump_op *op);
int dump_context(pid_t init, int fd, const struct vxcr_dump_opts *o, struct vxcr_dump_stats *st,
		 const CtxEntry *ce, const char *cgroup, const struct dump_freezer *fz);

/* share.c */
int dump_tree_check_sharing(struct dump_op *op);

/* core.c */
int collect_thread_core(struct dump_task *t, struct dump_thread *th);
int write_cores(struct dump_op *op, struct dump_task *t);
int siginfo_entries(const struct siginfo_queue *q, SiginfoEntry **ents, SiginfoEntry ***out);
void free_thread(struct dump_thread *th);

/* seccomp.c */
int collect_seccomp(struct dump_task *t, struct dump_thread *th);
int write_seccomp(struct dump_op *op);
void free_filters(struct dump_thread *th);

/* task.c */
int collect_task(struct dump_task *t);
int write_task(struct dump_op *op, struct dump_task *t);

/* creds.c */
int collect_creds(struct dump_task *t);
int write_creds(struct dump_op *op, struct dump_task *t);

/* timers.c */
struct inject;
int collect_timers(struct dump_task *t);
/* Bytes remote_timers() needs in the tracee for n timers. */
size_t timers_area_len(size_t n);
int remote_timers(struct inject *in, struct dump_task *t, uint64_t area, size_t area_len);
int timer_entries(const struct dump_task *t, PosixTimerEntry **ents, PosixTimerEntry ***out);

/* signals.c */
int peek_siginfo(pid_t tid, bool shared, struct siginfo_queue *q);
int collect_signals(struct dump_task *t);
int write_signals(struct dump_op *op, struct dump_task *t);

/* remote.c */
int collect_remote(struct dump_op *op, struct dump_task *t);

/* mem.c */
int collect_mm(struct dump_op *op, struct dump_task *t);
int write_mm(struct dump_op *op, struct dump_task *t);
void free_mm(struct dump_mm *mm);
void fill_vma_entry(VmaEntry *e, const struct dump_vma *v);

/* shmem.c */
struct dump_shmem *shmem_get(struct dump_op *op, uint32_t dev_major, uint32_t dev_minor,
			     uint64_t ino, bool sysv, uint32_t index);
struct dump_shmem *shmem_find(struct dump_op *op, uint32_t id);
bool shmem_whole(const struct dump_shmem *s);
uint64_t shmem_gap(const struct dump_shmem *s, uint64_t *lo, uint64_t hi);
int shmem_mark_done(struct dump_shmem *s, uint64_t lo, uint64_t hi);
int collect_sysv_shm(struct dump_op *op);
int write_sysv_shm(struct dump_op *op);
void shmem_free(struct dump_op *op);

/* pages.c */
int plan_pages(struct dump_task *t);
int dump_pages(struct dump_op *op, struct dump_task *t);
int collect_guards(pid_t pid, struct dump_vma *v);

/* files.c */
struct fd_probe;
int collect_fds(struct dump_op *op, struct dump_task *t);
/*
 * The tree task whose host pid or tid is pid, its image number in *v (0
 * if the image cannot name it); NULL if none (fown.c).
 */
const struct dump_task *dump_tree_task(const struct dump_op *op, pid_t pid, pid_t *v);
/* F_GETOWN_EX/F_GETSIG of p's description into df (fown.c).  0/-errno. */
int fown_dump(struct dump_op *op, const struct fd_probe *p, struct dump_file *df);
/* A /proc file description met again in a thread's own table: refused. */
int procfile_check_holder(const struct dump_op *op, const struct dump_file *df,
			  const struct fd_probe *p);
int write_fdtables(struct dump_op *op, struct dump_task *t);
int files_add_maponly(struct dump_files *f, const char *path, const struct stat *s,
		      const char *deleted_src, uint32_t *id);
int write_files(struct dump_op *op);
/* A description in flight that MSG_PEEK installed in us as fd (unixsk.c). */
int files_collect_inflight(struct dump_op *op, int fd, const char *who, uint32_t *id,
			   const char **kind);
int write_file_data(struct dump_op *op);
/* deleted.c: a deleted file's ghost fields, extents and FILE_DATA. */
int deleted_probe(struct dump_files *f, struct dump_file *df, const char *who,
		  const struct stat *st);
int collect_removed_cwds(struct dump_op *op, struct dump_task *t);
void free_files(struct dump_files *f);
void free_fdtable(struct dump_fdtable *fdt);
struct dump_file *files_new(struct dump_files *f);

/* locks.c: fdinfo is the text of /proc/PID/fdinfo/fd, files_id its fd table */
struct dump_lock;
int locks_note_fd(struct dump_op *op, pid_t pid, int fd, uint32_t files_id,
		  const struct dump_file *df, const char *fdinfo);
int locks_check(struct dump_op *op);
/* tty.c: pairs ptys, classifies controlling terminals (image collector) */
int tty_collect(struct dump_op *op);
int write_locks(struct dump_op *op);
void locks_free(struct dump_op *op);

/* epoll.c: every epoll item gets its target and readiness state (image collector). */
int epoll_resolve(struct dump_op *op);

/* cgroup.c: every thread's groups, relative to the root's (record CGROUP) */
struct dump_cgroup;
int collect_cgroup(struct dump_op *op, struct dump_task *t);
int write_cgroup(struct dump_op *op);
void cgroup_free(struct dump_op *op);
/* The controller settings of those groups (record LIMITS, limits.c). */
struct cg_settings {
	CgSettingEntry **e;
	size_t n;
};
int cgroup_settings(struct dump_op *op, struct cg_settings *v);
void cgroup_settings_free(struct cg_settings *v);

/* limits.c: record LIMITS, the groups' settings and the tree's time namespace */
int timens_collect(struct dump_op *op);
int write_limits(struct dump_op *op);
void timens_free(struct dump_op *op);

/*
 * netns.c: the tree's network namespace when it is not ours (record
 * NETNS): read, and the dumping thread moved into it until netns_leave.
 */
int netns_collect(struct dump_op *op);
int write_netns(struct dump_op *op);
void netns_leave(struct dump_op *op);
void netns_free(struct dump_op *op);

/*
 * ipcns.c: the tree's IPC namespace when it is not ours (record IPCNS):
 * read, and the dumping thread moved into it until ipcns_leave.
 */
int ipcns_collect(struct dump_op *op);
int write_ipcns(struct dump_op *op);
void ipcns_leave(struct dump_op *op);
void ipcns_free(struct dump_op *op);

/*
 * mntns.c: the tree's mount namespace when it is not ours (records MOUNTS,
 * TMPFS_DATA).  0, -EOPNOTSUPP (every mount that cannot be restored named)
 * or -errno (logged).
 */
int mntns_collect(struct dump_op *op);
int write_mntns(struct dump_op *op);
/* Refuses files, cwds and roots of the tree on its own mounts (their
 * inodes are made anew at restore).  0 or -EOPNOTSUPP (each one logged). */
int mntns_check_files(struct dump_op *op);
/* Is dev that of a tmpfs of m the restore makes anew (MNT_FRESH)? */
bool mntns_own_tmpfs_dev(const struct dump_mntns *m, dev_t dev);
void mntns_free(struct dump_op *op);

/*
 * netlock.c: the network lock, taken after the tree is frozen and before
 * any socket is read (dump_net_lock: its TCP connections, or the whole
 * namespace of a root in another one), kept past the dump with
 * keep_net_lock (dump_net_keep, once the tree is dead, before the unlock;
 * a failure to keep is a warning: the image stands), dropped once the
 * tree is killed or released (dump_net_unlock; ret != 0 also removes what
 * was kept).  0 or -errno (logged); a connection that cannot be locked is
 * a refusal.
 */
struct net_conn;
int dump_net_lock(struct dump_op *op);
void dump_net_keep(struct dump_op *op);
void dump_net_unlock(struct dump_op *op, int ret);
/* The TCP connections and listeners of the tree's fds (*out malloc'ed). */
int dump_tcp_conns(struct dump_op *op, struct net_conn **out, size_t *n);

/* pipes.c */
void pipes_mark_external(struct dump_files *f);
int write_pipe_data(struct dump_op *op);

/* unixsk.c: peers checked once every fd is collected; SK_QUEUE records
 * (of the TCP sockets too: tcpsk.c fills their skq) */
int unixsk_check_peers(struct dump_op *op);
/* the descriptions in flight in queued messages, collected (image collector) */
int unixsk_collect_inflight(struct dump_op *op);
int write_unixsk_queues(struct dump_op *op);

/*
 * fd kinds (fd-kinds.c holds the table, one row per kind; each kind lives
 * in its own stem: files.c for files reopened by path, pipes.c, memfd.c,
 * eventfd.c, ...).  collect_fd() probes an fd, takes the first kind whose
 * match() says yes and, for a description not seen before, fills the
 * common fields of its FILE entry and calls the kind's dump().
 */
struct fd_probe {
	pid_t pid;	/* the process, or the thread owning the table */
	uint32_t index; /* the holder's task index */
	int fd;
	char link[4096];
	struct proc_fdinfo fi;
	char *fdinfo; /* its text (a kind parses its own lines; hostile) */
	struct stat st;
	int local; /* our duplicate of it, -1 if none */
};

struct dump_fd_kind {
	const char *name;
	/* does this kind describe p?  Only the link, stat and fdinfo are read */
	bool (*match)(const struct fd_probe *p);
	/*
	 * Fills df->e's kind and kind fields (its sub-message in df->sub) for
	 * a description seen the first time.  0 or -errno (logged; a refusal
	 * is -EOPNOTSUPP).  NULL: the kind is refused with refuse.
	 */
	int (*dump)(struct dump_op *op, struct fd_probe *p, struct dump_file *df);
	const char *refuse; /* dump == NULL: why it is not supported */
};

/* fd-kinds.c: the kind describing p (the last row takes anything) */
const struct dump_fd_kind *dump_fd_kind_of(const struct fd_probe *p);
/* A socket's SOL_SOCKET option (SO_DOMAIN, SO_TYPE, SO_PROTOCOL) through
 * our copy of it; -1 if p is no socket or cannot be asked. */
int fd_probe_sock_opt(const struct fd_probe *p, int name);

/* files.c: helpers for the kinds */
bool fd_link_starts(const struct fd_probe *p, const char *prefix);
int fd_set_path(struct dump_file *df, const char *path);
int fd_reopen_ro(const struct fd_probe *p, int extra);

/*
 * inotify.c, for the fsnotify kinds (inotify, fanotify): the value of
 * " KEY:HEX" in the fdinfo line [line, end) into *v: 0, -ENOENT (no such
 * key) or -EINVAL (not one whole hex number below 2^64); and the len
 * (1..MAX_HANDLE_SZ) hex bytes after " f_handle:" into fh->data, which
 * has room for MAX_HANDLE_SZ: 0 or -EINVAL.
 */
int fsnotify_mark_value(const char *line, const char *end, const char *key, uint64_t *v);
int fsnotify_mark_handle(const char *line, const char *end, uint64_t len, ProtobufCBinaryData *fh);
/*
 * inotify.c: may p's process, with its credentials, read each of
 * fds[0..n) (the check restore makes with the image's)?  The first it may
 * not read in *bad (n: all).  0 or -errno (logged).
 */
#define FSNOTIFY_BATCH 256 /* inodes checked per child */
int fsnotify_dump_readable(const struct dump_op *op, const struct fd_probe *p, const int *fds,
			   size_t n, size_t *bad);

#endif
