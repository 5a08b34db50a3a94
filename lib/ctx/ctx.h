/*
 * lib/ctx: Linux-VServer style contexts on a stock kernel (the userspace
 * engine behind the switch).  A context is an xid plus an init process
 * holding its namespaces (pid, uts, ipc, mount; net with HIDE_NETIF, time
 * with VIRT_UPTIME), a cgroup v2 group <cgroup2 mount>/vxcr/<xid>, flags,
 * bounding caps, context caps (a seccomp filter installed on entry) and a
 * virtual uname (nodename/domainname of its UTS namespace).
 *
 * Every context is recorded under a run directory (rundir NULL means
 * $VXCR_RUNDIR, else /run/vxcr) as one file "<xid>.ctx" written atomically;
 * when the context ends its supervisor writes "<xid>.exit" (the exit code).
 *
 * Plain C types only: the switch (lib/switch) converts to and from the
 * vserver.h structures.  Every function returns 0 (or a count) or -errno and
 * logs the reason once (pr_err); none exits or prints.
 */
#ifndef VXCR_CTX_H
#define VXCR_CTX_H

#include <limits.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>
#include <sys/types.h>

/* Context flags: the values of VXF_* in vserver.h. */
#define VXCTX_F_INFO_NPROC 0x00000004ULL
#define VXCTX_F_INFO_PRIVATE 0x00000008ULL
#define VXCTX_F_INFO_INIT 0x00000010ULL
#define VXCTX_F_SCHED_PAUSE 0x00000400ULL
#define VXCTX_F_VIRT_UPTIME 0x00020000ULL
#define VXCTX_F_HIDE_NETIF 0x02000000ULL
#define VXCTX_F_REBOOT_KILL (1ULL << 37)
#define VXCTX_F_PERSISTENT (1ULL << 38)
#define VXCTX_F_PROLIFIC (1ULL << 49)
/* The flags this engine honours; vxctx_flags_set refuses any other bit. */
#define VXCTX_F_SUPPORTED                                                                      \
	(VXCTX_F_INFO_NPROC | VXCTX_F_INFO_PRIVATE | VXCTX_F_INFO_INIT | VXCTX_F_SCHED_PAUSE | \
	 VXCTX_F_VIRT_UPTIME | VXCTX_F_HIDE_NETIF | VXCTX_F_REBOOT_KILL | VXCTX_F_PERSISTENT | \
	 VXCTX_F_PROLIFIC)
/* Honoured, but only when given to vxctx_create (namespaces, the pids
 * group and the reboot filter are made then). */
#define VXCTX_F_CREATE_ONLY                                                                    \
	(VXCTX_F_VIRT_UPTIME | VXCTX_F_HIDE_NETIF | VXCTX_F_INFO_NPROC | VXCTX_F_REBOOT_KILL | \
	 VXCTX_F_PROLIFIC)

/* reboot(2) commands (linux/reboot.h), as vx_wait reports them. */
#define VXCTX_REBOOT_RESTART 0x01234567U
#define VXCTX_REBOOT_POWER_OFF 0x4321FEDCU

/* Context caps: the values of VXC_* in vserver.h (all enforced). */
#define VXCTX_C_SET_UTSNAME 0x00000001ULL
#define VXCTX_C_SET_RLIMIT 0x00000002ULL
#define VXCTX_C_RAW_ICMP 0x00000100ULL
#define VXCTX_C_SYSLOG 0x00001000ULL
#define VXCTX_C_SECURE_MOUNT 0x00010000ULL
#define VXCTX_C_SECURE_REMOUNT 0x00020000ULL
#define VXCTX_C_BINARY_MOUNT 0x00040000ULL
#define VXCTX_C_QUOTA_CTL 0x00100000ULL
#define VXCTX_C_ADMIN_MAPPER 0x00200000ULL
#define VXCTX_C_ADMIN_CLOOP 0x00400000ULL
#define VXCTX_C_ALL 0x00771103ULL

/* uname fields: the values of VHIN_* in vserver.h. */
enum {
	VXCTX_UN_CONTEXT = 0,
	VXCTX_UN_SYSNAME,
	VXCTX_UN_NODENAME,
	VXCTX_UN_RELEASE,
	VXCTX_UN_VERSION,
	VXCTX_UN_MACHINE,
	VXCTX_UN_DOMAINNAME
};

#define VXCTX_XID_MIN 2 /* 0 is the host, 1 the spectator */
#define VXCTX_XID_MAX 65535
#define VXCTX_XID_DYNAMIC ((uint32_t)-1) /* create: pick a free xid >= 49152 */
#define VXCTX_BCAPS_ALL (~0ULL)

struct vxctx_create_args {
	uint32_t xid;		/* or VXCTX_XID_DYNAMIC */
	uint64_t flags;		/* VXCTX_F_* (only VXCTX_F_SUPPORTED) */
	uint64_t bcaps;		/* capability bounding set, bit n = CAP n kept */
	uint64_t ccaps;		/* VXCTX_C_* allowed */
	const char *hostname;	/* NULL: keep the host's */
	const char *domainname; /* NULL: keep the host's */
	uint64_t nproc;		/* INFO_NPROC: task limit (pids.max), else 0 */
	char *const *argv;	/* main command, run inside; NULL: none, then */
	pid_t join_pid;		/* this task joins the cgroup before the init runs */
	const char *rundir;	/* NULL: default */
	const char *net;	/* HIDE_NETIF: "veth[:HOSTIF][,addr=A/P][,host-addr=B/P]" or NULL */
	const char *root;	/* pivot_root into it (absolute, a directory); NULL: host's / */
	const char *limits;	/* --limit "memory.max=B,cpu.max=Q P" (limits.c) or NULL */
};

/* The record of a context, as stored in the run directory. */
struct vxctx_record {
	uint32_t xid;
	pid_t init_pid;	     /* host pid of the init (pid 1 inside) */
	uint64_t init_start; /* its start time (clock ticks), against pid reuse */
	pid_t super_pid;     /* supervisor: the init's parent, writes the exit code */
	uint64_t super_start;
	uint64_t flags;
	uint64_t bcaps;
	uint64_t ccaps;
	uint64_t nproc;	       /* INFO_NPROC task limit, 0: none */
	uint64_t pidns;	       /* inode of the pid ns the pids above are in */
	uint64_t own_pidns;    /* inode of the context's own pid ns (its init's) */
	char cgroup[512];      /* absolute path of the cgroup v2 directory */
	char pids_cgroup[512]; /* v1 pids group (INFO_NPROC on hybrid hosts) or "" */
	char net[128];	       /* --net as given at creation (informational) or "" */
	char root[512];	       /* --root (absolute) or "": the host's / */
};

struct vxctx_stat {
	uint32_t usecnt; /* tasks + 1 (the record) */
	uint32_t tasks;	 /* processes in the cgroup */
	uint32_t nr_threads;
	uint32_t nr_running; /* threads in state R */
	uint32_t nr_unintr;  /* threads in state D */
	uint32_t nr_onhold;  /* threads held by SCHED_PAUSE */
	uint64_t uptime_ns;  /* since the init started */
	uint64_t nproc_max;  /* INFO_NPROC: the limit, else 0 */
	uint64_t nproc_cur;  /* INFO_NPROC: pids.current */
};

/* Creates the context and starts argv inside; returns once argv runs
 * (exec succeeded).  *xid_out (may be NULL) gets the xid, *init_pid the
 * init's host pid.  -EEXIST if the xid is live, -EINVAL for bad args,
 * -EPERM when called from inside a context without PROLIFIC. */
int vxctx_create(const struct vxctx_create_args *a, uint32_t *xid_out, pid_t *init_pid);
/* Moves the caller into context xid: cgroup, namespaces (children of the
 * caller are born in its pid namespace), bounding caps, ccaps filter.
 * -EPERM for an INFO_PRIVATE context.  Call it single-threaded. */
int vxctx_migrate(const char *rundir, uint32_t xid);
/* *xid = the context of pid (0: the host). */
int vxctx_task_xid(const char *rundir, pid_t pid, uint32_t *xid);
/* The xid of the context whose init (as we see it) is pid, else 0. */
uint32_t vxctx_xid_of_init(const char *rundir, pid_t pid);
/* Reads the live record of xid (stale ones are cleaned: -ESRCH). */
int vxctx_info(const char *rundir, uint32_t xid, struct vxctx_record *r);
int vxctx_stat(const char *rundir, uint32_t xid, struct vxctx_stat *st);
/* Fills up to max live xids (sorted), cleans stale records; returns the count. */
int vxctx_list(const char *rundir, uint32_t *xids, int max);
int vxctx_flags_get(const char *rundir, uint32_t xid, uint64_t *flags);
/* flags = (flags & ~mask) | (value & mask); unsupported bits -EINVAL. */
int vxctx_flags_set(const char *rundir, uint32_t xid, uint64_t value, uint64_t mask);
/* Caps apply to tasks entering (or started) after the change. */
int vxctx_caps_get(const char *rundir, uint32_t xid, uint64_t *bcaps, uint64_t *ccaps);
int vxctx_caps_set(const char *rundir, uint32_t xid, uint64_t bcaps, uint64_t bmask, uint64_t ccaps,
		   uint64_t cmask);
/* pid 0: every task; 1: the init; else that host pid (-ESRCH unless in xid). */
int vxctx_kill(const char *rundir, uint32_t xid, pid_t pid, int sig);
/* Waits until xid is gone; *exit_code = its init's (128+sig if killed),
 * *reboot_cmd (may be NULL) the reboot(2) command that ended a REBOOT_KILL
 * context, else 0. */
int vxctx_wait(const char *rundir, uint32_t xid, int *exit_code, uint32_t *reboot_cmd);
/* NODENAME/DOMAINNAME through the UTS namespace; other fields read the
 * kernel's values and refuse to be set (-ENOTTY, needs the kernel module). */
int vxctx_uname_get(const char *rundir, uint32_t xid, int field, char *buf, size_t len);
int vxctx_uname_set(const char *rundir, uint32_t xid, int field, const char *value);

/* Names (constants without prefix), for the CLI and logs. */
int vxctx_flag_parse(const char *list, uint64_t *bits); /* "A,B" */
int vxctx_ccap_parse(const char *list, uint64_t *bits);
/* "NAME,..." keeps those caps, "~NAME,..." drops them from *bits. */
int vxctx_bcap_parse(const char *list, uint64_t *bits);
void vxctx_flag_format(uint64_t bits, char *buf, size_t len);
void vxctx_ccap_format(uint64_t bits, char *buf, size_t len);
void vxctx_bcap_format(uint64_t bits, char *buf, size_t len);
int vxctx_uname_field(const char *name); /* NODENAME -> 2, -1 if unknown */

/* ---- for a restore of a whole context (lib/restore/ctx.c) ---- */
/* The groups of a context: v2, and the v1 pids group on hybrid hosts. */
struct vxctx_groups {
	char cgroup[512];
	char pids[512]; /* "" unless INFO_NPROC on a v1 pids hierarchy */
	uint32_t xid;	/* its v1 limit groups (limits.c) are derived from it */
};
/* Under the rundir lock: xid must be free (a stale record is cleaned);
 * -EEXIST if it is live. */
int vxctx_xid_claim(const char *rundir, uint32_t xid);
int vxctx_groups_make(const struct vxctx_create_args *a, struct vxctx_groups *g);
void vxctx_groups_remove(const struct vxctx_groups *g);
/* clock id in ns (CLOCK_MONOTONIC, CLOCK_BOOTTIME: the VIRT_UPTIME clocks). */
int64_t vxctx_clock_ns(clockid_t id);
/* Our children get a new time namespace with these clock offsets. */
int vxctx_timens(int64_t mono_off_ns, int64_t boot_off_ns);
/* net.c: --net (a veth to the host).  The spec, checked (0 or -EINVAL,
 * logged); made for init's network namespace (0 or -errno, logged). */
int vxctx_net_check(const struct vxctx_create_args *a);
int vxctx_net_setup(const struct vxctx_create_args *a, pid_t init);
/* In a new init: the isolation (isolate.c), uname, lo up (HIDE_NETIF). */
int vxctx_ns_setup(uint32_t xid, const char *rundir, const char *hostname, const char *domainname,
		   uint64_t flags, const char *root);
/* isolate.c: the init's mount and cgroup namespaces made a boundary;
 * root (NULL: keep the host's /) is pivoted into. */
int vxctx_isolate(uint32_t xid, const char *rundir, uint64_t flags, const char *root);
/* --root: an absolute path of a directory, no symlink on the way; 0 or
 * -EINVAL (logged). */
int vxctx_root_check(const char *root);
/* The same check, and the directory opened (O_DIRECTORY); fd or -EINVAL. */
int vxctx_root_open(const char *root);
/* A root named by an image: proc, sys and dev there already (directories,
 * not symlinks); 0 or -EINVAL (logged). */
int vxctx_root_ready(const char *root);
/* Becomes the supervisor of init (our child): waits for it, writes the
 * exit code, removes the record and groups.  Never returns. */
void vxctx_supervise(const struct vxctx_create_args *a, const struct vxctx_groups *g, pid_t init)
	__attribute__((noreturn));
/* The record of a context whose init (our child) runs in groups g. */
int vxctx_record_fill(const struct vxctx_create_args *a, const struct vxctx_groups *g, pid_t init,
		      struct vxctx_record *r);

/* ---- inside lib/ctx ---- */
const char *vxctx_rundir(const char *rundir);
int vxctx_record_read(const char *rundir, uint32_t xid, struct vxctx_record *r);
int vxctx_record_write(const char *rundir, const struct vxctx_record *r);
/* Opens rundir/.lock and flocks it; returns the fd or -errno. */
int vxctx_lock(const char *rundir);
/* 1 if the record's init is alive (same start time) and in the group
 * derived from the xid, else 0; a record whose init is not visible from
 * our pid ns: 1 while that group has tasks. */
int vxctx_record_live(const struct vxctx_record *r);
enum { VXCTX_REC_LIVE, VXCTX_REC_STALE, VXCTX_REC_FORGED };
/* VXCTX_REC_*: live, stale (init gone: clean it), forged (a pid that runs
 * outside the context's group: reported once, never acted on). */
int vxctx_record_state(const struct vxctx_record *r);
/* The context's groups from its xid (and INFO_NPROC in flags) alone. */
int vxctx_groups_of(uint32_t xid, uint64_t flags, struct vxctx_groups *g);
/* The run directory, checked (no symlink on the way, ours, 0700): its fd
 * or -errno (logged); create: made if missing. */
int vxctx_rundir_open(const char *rundir, int create);
/* A regular file of ours in it (no symlink), or NULL with errno. */
FILE *vxctx_rundir_fopen(const char *rundir, const char *name);
/* name = buf, atomically (0600); 0 or -errno, logged. */
int vxctx_rundir_put(const char *rundir, const char *name, const char *buf, size_t len);
void vxctx_rundir_unlink(const char *rundir, const char *name);
/* An isolated context's view of the run directory: "<xid>.self" (its own
 * record and self.xid), bound read-only over the run directory inside. */
int vxctx_self_dir(const char *rundir, uint32_t xid, char *buf, size_t len);
void vxctx_self_remove(const char *rundir, uint32_t xid);
/* Makes that view before the record exists (a restore's init binds it). */
int vxctx_self_make(const char *rundir, uint32_t xid, uint64_t flags);
/* Inside an isolated context: its xid, from that view.  0 or -ENOENT. */
int vxctx_self_xid(const char *rundir, uint32_t *xid);
/* 1 if the record's pids are of a pid namespace not visible from ours. */
int vxctx_record_foreign(const struct vxctx_record *r);
/* Removes a stale record and its groups, and those of the contexts that
 * were created inside it (their supervisors died with its pid ns). */
void vxctx_record_clean(const char *rundir, const struct vxctx_record *r);
/* Reads the live record or logs "context N does not exist": -ESRCH. */
int vxctx_get(const char *rundir, uint32_t xid, struct vxctx_record *r);
uint64_t vxctx_starttime(pid_t pid);
/* pidfd of the record's init, checked against pid reuse, or -ESRCH. */
int vxctx_init_pidfd(const struct vxctx_record *r);

int vxctx_cg_root(char *buf, size_t len); /* cgroup2 mount point */
/*
 * The folder below each hierarchy's root that holds the contexts' groups
 * (BASE/XID): $VXCR_CGROUP (one name of letters, digits, '.', '_', '-'),
 * else "vxcr".  Two vxcr instances on one host (two run directories, as
 * the migration tests' two "hosts") keep their contexts apart with it.
 */
const char *vxctx_cg_base(void);
int vxctx_cg_create(uint32_t xid, char *path, size_t len);
/* Makes <root>/vxcr/<xid> (an empty leftover is reused). */
int vxctx_cg_mkdir(const char *root, uint32_t xid, char *path, size_t len);
void vxctx_cg_remove(const char *path);
int vxctx_cg_freeze(const char *path, int on);
int vxctx_cg_frozen(const char *path);
int vxctx_cg_freezing(const char *path); /* cgroup.freeze: 1 asked, 0 not */
int vxctx_cg_kill(const char *path);
int vxctx_cg_join(const char *path, pid_t pid);
/* Writes val to dir/file; returns 0 or -errno, logs nothing. */
int vxctx_cg_write(const char *dir, const char *file, const char *val);
/* Fills up to max pids from cgroup.procs (or .threads); returns the count. */
int vxctx_cg_pids(const char *path, const char *file, pid_t *pids, int max);

/*
 * The guardian of a paused context's dump (guard.c): a process that
 * traces the calling thread and freezes cgroup again if that thread dies
 * before vxctx_guard_stop(), before the kernel lets go of its tracees.
 * SIGCHLD is blocked in the calling thread meanwhile.  0 or -errno.
 */
struct vxctx_guard {
	pid_t pid;
	int sk;
	sigset_t mask; /* the caller's, put back by stop */
};
int vxctx_guard_start(const char *cgroup, struct vxctx_guard *g);
void vxctx_guard_stop(struct vxctx_guard *g);

/* INFO_NPROC (pids.c): limits the context's group to nproc tasks, in v2 if
 * its hierarchy has the pids controller, else in a v1 group of the same name
 * whose path goes to v1path (v1path[0] = 0 when v2 is used). */
int vxctx_pids_setup(uint32_t xid, const char *cgroup, uint64_t nproc, char *v1path, size_t len);
/* The v1 pids group xid has on a hybrid host, "" where v2 has pids. */
int vxctx_pids_path(uint32_t xid, char *buf, size_t len);
/* pids.current of the context's pids group, or -errno. */
int64_t vxctx_pids_current(const struct vxctx_record *r);
/* limits.c: --limit (memory, cpu); v1 groups derived from the xid. */
int vxctx_limits_check(const char *spec);
int vxctx_limits_setup(uint32_t xid, const char *cgroup, const char *spec);
void vxctx_limits_remove(uint32_t xid);
int vxctx_limits_join(uint32_t xid, pid_t pid);
int vxctx_limits_get(uint32_t xid, const char *cgroup, char *spec, size_t len);

/* The default bounding set of a context (Linux-VServer's guest set). */
uint64_t vxctx_guest_bcaps(uint64_t flags, uint64_t ccaps);
/* Drops bounding caps not in bcaps and installs the ccaps filter (which
 * also refuses reboot(2) unless flags has REBOOT_KILL). */
int vxctx_apply_caps(uint64_t bcaps, uint64_t ccaps, uint64_t flags);
/* Inode of our pid namespace, 0 if unknown. */
uint64_t vxctx_own_pidns(void);

#endif
