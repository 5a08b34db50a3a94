/*
 * Parsers for /proc/PID files.  The proc_parse_*() functions take the text
 * (or bytes) of one file and fill a struct; they never touch the file
 * system, so tests feed them literal text.  proc_read_*() are the thin
 * helpers that fetch the text.  All return 0 or -errno (-EINVAL: text not
 * in the expected format).
 */
#ifndef VXCR_PROC_H
#define VXCR_PROC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/fanotify.h>
#include <sys/resource.h>
#include <sys/types.h>

/* VmFlags of smaps (two-letter codes), the ones the dumper cares about. */
#define PROC_VMF_GD (1u << 0)  /* grows down (stack) */
#define PROC_VMF_DD (1u << 1)  /* MADV_DONTDUMP */
#define PROC_VMF_DC (1u << 2)  /* MADV_DONTFORK */
#define PROC_VMF_HG (1u << 3)  /* MADV_HUGEPAGE */
#define PROC_VMF_NH (1u << 4)  /* MADV_NOHUGEPAGE */
#define PROC_VMF_WF (1u << 5)  /* MADV_WIPEONFORK */
#define PROC_VMF_MG (1u << 6)  /* MADV_MERGEABLE */
#define PROC_VMF_IO (1u << 7)  /* VM_IO */
#define PROC_VMF_PF (1u << 8)  /* VM_PFNMAP */
#define PROC_VMF_UM (1u << 9)  /* userfaultfd missing */
#define PROC_VMF_UW (1u << 10) /* userfaultfd wp */
#define PROC_VMF_LO (1u << 11) /* mlocked */
#define PROC_VMF_SS (1u << 12) /* shadow stack */
#define PROC_VMF_NR (1u << 13) /* VM_NORESERVE: no swap space reserved */
#define PROC_VMF_LF (1u << 14) /* VM_LOCKONFAULT (mlock2 MLOCK_ONFAULT) */
#define PROC_VMF_RR (1u << 15) /* MADV_RANDOM */
#define PROC_VMF_SR (1u << 16) /* MADV_SEQUENTIAL */
#define PROC_VMF_SL (1u << 17) /* mseal()ed */
#define PROC_VMF_GU (1u << 18) /* may hold guard regions (MADV_GUARD_INSTALL) */
#define PROC_VMF_DE (1u << 19) /* VM_DONTEXPAND (kernel's or a driver's mapping) */
#define PROC_VMF_HT (1u << 20) /* hugetlb */
#define PROC_VMF_UI (1u << 21) /* userfaultfd minor */
#define PROC_VMF_MM (1u << 22) /* VM_MIXEDMAP (device) */
#define PROC_VMF_DP (1u << 23) /* VM_DROPPABLE (MAP_DROPPABLE, Linux 6.11+) */

/* One memory area of /proc/PID/smaps. */
struct proc_vma {
	uint64_t start, end;
	uint64_t pgoff; /* bytes */
	uint32_t prot;	/* PROT_* */
	bool shared;	/* 's' in the permissions */
	bool deleted;	/* name ended in " (deleted)"; stripped from name */
	uint32_t dev_major, dev_minor;
	uint64_t ino;
	char *name;	    /* path, [heap], [anon:x] ... or "" (malloc'ed) */
	uint32_t vmflags;   /* PROC_VMF_* */
	char other_flag[3]; /* first VmFlag neither known nor derived, or "" */
	uint32_t pkey;	    /* ProtectionKey (0 where the CPU has none) */
	uint64_t rss_kb, anon_kb, swap_kb;
};

struct proc_vma_list {
	struct proc_vma *v;
	size_t n;
};

int proc_parse_smaps(const char *text, struct proc_vma_list *out);
void proc_vma_list_free(struct proc_vma_list *l);

/* Selected lines of /proc/PID/status. */
struct proc_status {
	char state; /* first letter of State: */
	pid_t tgid, pid, ppid, tracer_pid;
	uint32_t uid[4], gid[4]; /* real, effective, saved, fs */
	uint32_t *groups;	 /* malloc'ed */
	size_t n_groups;
	uint64_t cap_inh, cap_prm, cap_eff, cap_bnd, cap_amb;
	uint32_t umask;
	bool has_umask;
	uint64_t sig_ign, sig_cgt; /* SigIgn / SigCgt: bit n-1 = signal n */
	bool has_sig_masks;	   /* both lines were there */
	bool no_new_privs;
	bool kthread;
	uint32_t threads;
	bool has_seccomp;	  /* a "Seccomp:" line (CONFIG_SECCOMP) */
	int seccomp_mode;	  /* SECCOMP_MODE_DISABLED/STRICT/FILTER: 0/1/2 */
	uint32_t seccomp_filters; /* "Seccomp_filters:", 0 if absent */
	pid_t nspid;		  /* last "NSpid:" field: the pid in its own pid ns */
	uint32_t ns_levels;	  /* "NSpid:" fields: pid namespaces it is in */
};

int proc_parse_status(const char *text, struct proc_status *st);
/* proc_parse_status of /proc/PID/status.  0 or -errno. */
int proc_read_status(pid_t pid, struct proc_status *st);
void proc_status_free(struct proc_status *st);

/* /proc/PID/stat: identity, scheduling and the mm fields PR_SET_MM_MAP needs. */
struct proc_stat {
	pid_t pid;
	char comm[64];
	char state;
	pid_t ppid, pgrp, session;
	uint32_t tty_nr; /* controlling terminal: its device number, 0 none */
	pid_t tpgid;	 /* its foreground process group, -1 none */
	uint64_t flags;	 /* PF_* */
	long nice;
	uint32_t num_threads;
	uint64_t start_code, end_code, start_stack;
	uint64_t start_data, end_data, start_brk;
	uint64_t arg_start, arg_end, env_start, env_end;
	int exit_signal; /* field 38: signal sent to the parent on exit */
	int exit_code;	 /* field 52: waitpid status of a zombie */
};

#define PROC_PF_KTHREAD 0x00200000u
#define PROC_PF_IO_WORKER 0x00000010u /* an io_uring kernel thread of the process */

int proc_parse_stat(const char *text, struct proc_stat *st);
/* proc_parse_stat of /proc/PID/stat.  0 or -errno. */
int proc_read_stat(pid_t pid, struct proc_stat *st);

/* /proc/PID/fdinfo/N */
struct proc_fdinfo {
	uint64_t pos;
	uint32_t flags; /* octal in the file */
	uint32_t mnt_id;
	uint64_t ino;
	bool has_ino;
};

int proc_parse_fdinfo(const char *text, struct proc_fdinfo *fi);
int proc_fdinfo_field(const char *text, const char *key, const char **val, const char **end);
int proc_fdinfo_u64(const char *text, const char *key, int base, uint64_t *v);
size_t proc_fdinfo_count(const char *text, const char *prefix);

/*
 * One lock line of /proc/locks or of a "lock:" line of /proc/PID/fdinfo/N
 * (fs/locks.c lock_get_status()):
 *   "5: POSIX  ADVISORY  WRITE 1234 fe:00:10953015 10 14"
 *   "5: -> POSIX  ADVISORY  WRITE 1240 fe:00:10953015 10 10"  (a waiter)
 * Device numbers are hex, start and end decimal and inclusive, end "EOF".
 */
enum proc_lock_class {
	PROC_LOCK_POSIX,  /* POSIX: owned by a process's fd table */
	PROC_LOCK_OFD,	  /* OFDLCK: owned by the open file description */
	PROC_LOCK_FLOCK,  /* FLOCK: owned by the open file description */
	PROC_LOCK_LEASE,  /* LEASE */
	PROC_LOCK_DELEG,  /* DELEG: an NFS server's delegation */
	PROC_LOCK_ACCESS, /* ACCESS: a transient in-kernel check */
};

#define PROC_LOCK_EOF UINT64_MAX /* proc_lock.end of a lock to the end of file */

struct proc_lock {
	int cls;	/* PROC_LOCK_* */
	bool waiter;	/* "->": a blocked request, not a held lock */
	bool mandatory; /* MANDATORY instead of ADVISORY (before 5.15) */
	bool breaking;	/* lease being broken (BREAKING) or a BREAKER */
	bool no_inode;	/* "*NOINODE*" / "<none>:0": not on an inode */
	int type;	/* F_RDLCK, F_WRLCK, F_UNLCK */
	pid_t pid;	/* -1 for OFD locks */
	uint32_t dev_major, dev_minor;
	uint64_t ino;
	uint64_t start, end; /* inclusive; end PROC_LOCK_EOF: to the end of file */
};

int proc_parse_lock(const char *line, struct proc_lock *l);
/*
 * Every line of text that starts with prefix ("" for /proc/locks, where
 * every line must be a lock; "lock:\t" for fdinfo, where other lines are
 * skipped) into *v (malloc'ed, *n entries).  -EINVAL at the first bad line.
 */
int proc_parse_locks(const char *text, const char *prefix, struct proc_lock **v, size_t *n);
/* The class as /proc/locks spells it ("POSIX", "OFDLCK", ...). */
const char *proc_lock_class_name(int cls);

/*
 * /proc/PID/auxv: copies (type, value) words up to and including the AT_NULL
 * pair into out (max words); *n gets the number of words.
 */
/* /proc/PID/limits text -> lim[0..max) in RLIMIT order; count or -EINVAL. */
int proc_parse_limits(const char *text, struct rlimit *lim, int max);

int proc_parse_auxv(const void *buf, size_t len, uint64_t *out, size_t max, size_t *n);

/* One POSIX timer of /proc/PID/timers. */
struct proc_timer {
	int32_t id; /* timer_t as the process knows it */
	int32_t signo;
	uint64_t sigval;  /* sigev_value */
	uint32_t notify;  /* SIGEV_SIGNAL/NONE/THREAD, | SIGEV_THREAD_ID (4) if "tid" */
	pid_t notify_pid; /* the pid or tid after "pid." / "tid." */
	int32_t clock_id; /* CLOCK_*, negative for CPU clocks */
};

/*
 * /proc/PID/timers: blocks of "ID: n", "signal: signo/sigval (hex)",
 * "notify: signal|none|thread/pid|tid.N", "ClockID: n".  *out (malloc'ed,
 * NULL when there are none) gets *n timers in file order.
 */
int proc_parse_timers(const char *text, struct proc_timer **out, size_t *n);

/* /proc/PID/children or /proc/PID/task/TID/children: count of pids listed. */
int proc_count_pids(const char *text);

/* One SysV shared memory segment, a line of /proc/sysvipc/shm. */
struct proc_sysv_shm {
	int32_t key, shmid;
	uint32_t perms; /* octal in the file: mode bits, SHM_DEST (01000) ... */
	uint64_t size;
	pid_t cpid, lpid;
	uint64_t nattch;
	uint32_t uid, gid, cuid, cgid;
};

#define PROC_SHM_DEST 01000u /* IPC_RMID done, goes with the last detach */

/*
 * /proc/sysvipc/shm: a header line ("key shmid perms size cpid lpid nattch
 * uid gid cuid cgid ..."), then one line per segment; columns after cgid
 * (times, rss, swap) are ignored.  *out (malloc'ed, NULL when there are
 * none) gets *n segments in file order.
 */
int proc_parse_sysv_shm(const char *text, struct proc_sysv_shm **out, size_t *n);

/*
 * The sysctls of an IPC namespace that an image may carry (relative to
 * /proc/sys), NULL-terminated; the *_next_id ones are not among them.
 * Each is written inside the namespace it belongs to.
 */
extern const char *const proc_ipc_sysctls[];
/* Is name one of proc_ipc_sysctls? */
bool proc_ipc_sysctl_known(const char *name);
/* A value such a sysctl may take: 1 to 4 decimal integers (>= 0) with
 * single spaces or tabs between them, at most 63 characters. */
bool proc_ipc_sysctl_value_ok(const char *v);

/* cgroup.c: one line of /proc/PID/cgroup, its mount, its directory */
struct proc_cgroup_line {
	char controllers[128]; /* "" for cgroup v2, "pids", "cpu,cpuacct", "name=systemd" */
	char path[4096];       /* "/a/b", as the reader's cgroup namespace shows it */
};
int proc_parse_cgroup(const char *text, struct proc_cgroup_line *out, int max);
int proc_cgroup_mount(const char *controllers, char *mnt, size_t mlen, char *root, size_t rlen);
int proc_cgroup_dir(const char *mnt, const char *root, const char *path, char *out, size_t len);

/* cglimit.c: controller files of a group an image may set (record LIMITS) */
enum cglimit_kind {
	CGL_MAX_NUM = 1, /* "max" or a number in [min, max] */
	CGL_NUM,	 /* a number in [min, max] */
	CGL_QUOTA,	 /* -1 or a number in [min, max] (v1 limits) */
	CGL_CPUMAX,	 /* "max PERIOD" or "QUOTA PERIOD" (cpu.max) */
	CGL_CPULIST,	 /* "" or "0-3,5" (cpuset) */
	CGL_CTRLS,	 /* "cpu memory pids" (cgroup.subtree_control) */
	CGL_IOMAX,	 /* lines "MAJ:MIN rbps=N|max wbps= riops= wiops=" (io.max) */
	CGL_IODEV,	 /* lines "MAJ:MIN N" (blkio.throttle.*_device) */
	CGL_IOWEIGHT,	 /* "default N" and lines "MAJ:MIN N" (io.weight) */
};
struct cglimit_file {
	const char *name;	/* "memory.max" */
	const char *controller; /* "memory"; "" for a v2 core file */
	bool v2;		/* a cgroup v2 file, else one of a v1 hierarchy */
	enum cglimit_kind kind;
	int64_t min, max;
};
/* The known files in the order a restore writes them; *n their count. */
const struct cglimit_file *cglimit_table(size_t *n);
/* A decimal s[0 .. len) in [min, max]: digits only, no leading zero, "-1"
 * only if allow_m1.  0 or -EINVAL. */
int cglimit_parse_num(const char *s, size_t len, int64_t min, int64_t max, bool allow_m1,
		      int64_t *out);
const struct cglimit_file *cglimit_lookup(const char *name, bool v2);
/* Does a hierarchy with these controllers ("" v2) carry file f? */
bool cglimit_in_hierarchy(const struct cglimit_file *f, const char *controllers);
/* value (no newline) as the kernel prints it for f: 0 or -EINVAL. */
int cglimit_check(const struct cglimit_file *f, const char *value);
int cglimit_write_text(const struct cglimit_file *f, const char *value, char *out, size_t len);
/* Is f's value one line per device (an io file, cgio.c)? */
bool cglimit_multiline(const struct cglimit_file *f);

/* cgio.c: values of the io controller's files, one line per device */
#define CGIO_LINES 64	   /* lines of one value at most */
#define CGIO_TEXT_MAX 4096 /* bytes of one value at most */
#define CGIO_KEYS 4	   /* io.max: rbps wbps riops wiops */
#define CGIO_NOLIMIT UINT64_MAX
struct cgio_line {
	unsigned maj, min;     /* the device (0:0 with dflt) */
	bool dflt;	       /* io.weight's "default N" */
	uint64_t v[CGIO_KEYS]; /* io.max: the keys' values (CGIO_NOLIMIT: max); else v[0] */
};
/* One line s[0 .. len) of f's value into l, strictly.  0 or -EINVAL. */
int cgio_parse_line(const struct cglimit_file *f, const char *s, size_t len, struct cgio_line *l);
/* The lines of value into lines: their count, or -EINVAL (a device twice too). */
int cgio_parse(const struct cglimit_file *f, const char *value, struct cgio_line *lines, int max);
int cgio_check(const struct cglimit_file *f, const char *value);
/* l as the kernel prints it (io.max: all four keys).  0 or -ENOSPC. */
int cgio_format_line(const struct cglimit_file *f, const struct cgio_line *l, char *out,
		     size_t len);
bool cgio_line_limits(const struct cglimit_file *f, const struct cgio_line *l);
/* value in normal form: sorted, formatted, lines without a limit dropped. */
int cgio_normalise(const struct cglimit_file *f, const char *value, char *out, size_t len);
/* Every device of value a block device here, else -ENODEV and bad "MAJ:MIN". */
int cgio_devices(const struct cglimit_file *f, const char *value, char *bad, size_t len);

/* Readers.  pid 0 means "self".  proc_read_file() NUL-terminates *out. */
/* sock-diag.c: one AF_UNIX socket as unix_diag shows it (sock_diag) */
struct proc_unix_diag {
	uint32_t ino;
	uint8_t type, state, shutdown; /* SOCK_*, TCP_* state, RCV|SEND_SHUTDOWN */
	bool has_name;		       /* bound: name[0 .. name_len) is sun_path */
	char name[108];
	size_t name_len;
	bool has_vfs; /* bound to a path: the socket file's inode and device */
	uint32_t vfs_ino, vfs_dev;
	uint32_t peer;		 /* the peer's inode, 0 if none */
	uint32_t rqueue, wqueue; /* bytes queued; a listener: backlog used and max */
	uint32_t *icons;	 /* a listener: inodes of unaccepted connections */
	size_t n_icons;
	bool has_uid;
	uint32_t uid;
};
int proc_unix_diag(uint32_t ino, struct proc_unix_diag *out);
/* Sends the sock_diag dump request req (len bytes) on a socket of its
 * own and hands each SOCK_DIAG_BY_FAMILY answer to take (0: go on) until
 * the dump is done.  0, take's -errno, or -errno (an NLMSG_ERROR's). */
struct nlmsghdr;
int proc_sock_diag_dump(const void *req, size_t len,
			int (*take)(const struct nlmsghdr *h, void *arg), void *arg);

int proc_read_file(pid_t pid, const char *name, char **out, size_t *len);
/* The first cgroup2 mount point in /proc/self/mountinfo: 0, or -ENOENT. */
int proc_cgroup2_mount(char *out, size_t len);
int proc_read_path(const char *path, char **out, size_t *len);
int proc_readlink(pid_t pid, const char *name, char *buf, size_t size);
/* Reads a single integer from /proc/PID/name in base (0 = auto). */
int proc_read_long(pid_t pid, const char *name, int base, long long *out);
/* Strips a trailing " (deleted)" in place; true if there was one. */
bool proc_strip_deleted(char *path);

/*
 * fhandle.c: a directory fd on a mount point of filesystem dev (st_dev)
 * among our own mounts, no symlink followed: fd or -ENOENT/-EIO.
 */
int proc_fs_mount_fd(dev_t dev);
/*
 * fhandle.c: open_by_handle_at() of handle (type, bytes[len]) on a mount
 * of dev with flags, only if it is inode ino of dev.  fd, or -EINVAL (bad
 * length), -ENODEV (no mount of dev), -ESTALE (does not resolve), -EXDEV
 * (another inode), or the -errno of open_by_handle_at().  Nothing is
 * logged.
 */
int proc_open_handle(dev_t dev, uint64_t ino, int type, const uint8_t *bytes, size_t len,
		     int flags);
/*
 * fhandle.c: a directory fd on the root of mount mnt_id (mountinfo's
 * first field, fanotify's mnt_id) among our own mounts, its st_dev in
 * *dev: fd or -ENOENT (none, or its mount point shows another mount).
 */
int proc_mount_fd_by_id(uint32_t mnt_id, dev_t *dev);
/*
 * The highest inotify wd vxcr restores: the kernel hands wds out
 * cyclically, so restore reaches wd N by N - 1 add/remove pairs at most
 * (lib/restore/inotify.c); the dump refuses a higher one.
 */
#define INOTIFY_WD_MAX (1u << 20)
/*
 * May a task without CAP_SYS_ADMIN make a fanotify group of these
 * fanotify_init() flags (it must report fids, and may then only mark
 * inodes)?  The dump asks it with the holder's live capabilities, restore
 * with its image credentials.
 */
static inline bool fanotify_init_unpriv(uint32_t flags)
{
	const uint32_t unpriv = FAN_CLOEXEC | FAN_NONBLOCK | FAN_REPORT_TID | FAN_REPORT_FID |
				FAN_REPORT_DIR_FID | FAN_REPORT_NAME | FAN_REPORT_TARGET_FID;

	return !(flags & ~unpriv) && (flags & FAN_REPORT_FID);
}

#endif
