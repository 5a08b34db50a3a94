/*
 * The vserver syscall switch and the libvserver context API.
 *
 * One entry point, vserver(cmd, id, data), multiplexes every context command
 * as in Linux-VServer 2.x: cmd packs a category (bits 24-29), a command
 * number (bits 16-23) and a version (bits 0-11).  Where a command exists in
 * Linux-VServer it keeps that category, number, version and data layout;
 * commands new in vxcr have numbers of their own, listed in the same table.
 * Numbers are never reused: a retired command stays in the table marked so.
 *
 * Command table (data = the struct vserver() reads/writes through data;
 * "-" = none, data is ignored and may be NULL):
 *
 *  name             cat         nr ver  data                       meaning
 *  ---------------- ----------- -- ---  -------------------------- ---------------------------
 *  get_version      VERSION  0   0   0  -                          the provider's version:
 *                                                                  VXCR_VCI_VERSION
 *  ctx_create_v0    VPROC    9   1   0  -                          create context id, flags 0
 *  ctx_create       VPROC    9   1   1  vcmd_ctx_create            create context id (VXF_*);
 *                                                                  the caller becomes its init
 *  ctx_migrate_v0   PROCMIG 11   1   0  -                          move the caller into id
 *  ctx_migrate      PROCMIG 11   1   1  vcmd_ctx_migrate           same, with VXM_* flags
 *  checkpoint       PROCMIG 11  16   0  vcmd_checkpoint_v0         vxcr: checkpoint the tree or
 *                                                                  context rooted at pid into fd;
 *                                                                  returns the checkpoint id
 *  checkpoint_v1    PROCMIG 11  16   1  vcmd_checkpoint_v1         vxcr: the same with every
 *                                                                  option of vxcr_dump(); id 0:
 *                                                                  the tree of pid, else
 *                                                                  context id (never guessed)
 *  restart          PROCMIG 11  17   0  vcmd_restart_v0            vxcr: restart the checkpoint
 *                                                                  read from fd; returns the
 *                                                                  restored root pid
 *  restart_v1       PROCMIG 11  17   1  vcmd_restart_v1            vxcr: the same with every
 *                                                                  option of vxcr_restore()
 *  vmad_dump        PROCMIG 11  18   0  vcmd_vmad_dump_v0          vxcr: the caller dumps itself
 *                                                                  to fd; returns the bytes, 0 in
 *                                                                  the restored process
 *  vmad_undump      PROCMIG 11  19   0  vcmd_vmad_undump_v0        vxcr: replace the caller by
 *                                                                  the image in fd (exec-like)
 *  task_dump        PROCMIG 11  20   0  vcmd_task_dump_v0          vxcr: checkpoint one stopped
 *                                                                  task in the kernel; returns
 *                                                                  the bytes written
 *  (reserved)       PROCMIG 11  21-23   -                          vxcr: cross-node moves (later)
 *  ctx_kill         PROCTRL 12   1   0  vcmd_ctx_kill_v0           signal pid 0 = all tasks,
 *                                                                  1 = init, else one task
 *  task_xid         VINFO   46   1   0  -                          id is a pid; returns its xid
 *  vx_info          VINFO   46   5   0  vcmd_vx_info_v0            xid and init pid of id
 *  ctx_stat         VSTAT   40   0   0  vcmd_ctx_stat_v0           use count, tasks
 *  virt_stat        VSTAT   40   3   0  vcmd_virt_stat_v0          uptime, threads, load
 *  set_vhi_name     VHOST    2   1   0  vcmd_vhi_name_v0           set a VHIN_* uname field
 *  get_vhi_name     VHOST    2   2   0  vcmd_vhi_name_v0           get a VHIN_* uname field
 *  get_cflags       FLAGS   52   1   0  vcmd_ctx_flags_v0          context flags (VXF_*)
 *  set_cflags       FLAGS   52   2   0  vcmd_ctx_flags_v0          set flags under mask
 *  get_ccaps        FLAGS   52   3   1  vcmd_ctx_caps_v1           context caps (VXC_*)
 *  set_ccaps        FLAGS   52   4   1  vcmd_ctx_caps_v1           set ccaps under cmask
 *  get_bcaps        FLAGS   52   9   0  vcmd_bcaps                 bounding caps (1 << CAP_*)
 *  set_bcaps        FLAGS   52  10   0  vcmd_bcaps                 set bcaps under bmask
 *  wait_exit        EVENT   48  99   0  vcmd_wait_exit_v0          wait until the context is gone
 *  (any)            SYSTEST 61   *   *                             reserved: experimental/test
 *                                                                  commands, none defined
 *
 * Return values of vserver(): >= 0 on success (0, or the value the command
 * returns: an xid, a checkpoint id, a pid), else a negative errno with the
 * Linux-VServer meanings:
 *   -ENOSYS  function not implemented: unknown category, or no command with
 *            that number in the category (including category 61 and the
 *            reserved numbers above), or the provider does not implement it
 *   -ENOTTY  not supported: the command exists but not in this version
 *            (e.g. get_ccaps version 0), or the provider cannot honour it
 *   -EINVAL  bad argument: bits outside category/command/version set
 *            (12-15, 30-31), NULL data for a command that takes data, or a
 *            bad value inside data (unknown flags, ...)
 *   -ESRCH   no such context (or no such task)
 *   -EPERM / -EACCES  not allowed
 * vserver() never touches errno.  The vx_* functions return -1 and set errno
 * (libvserver); vxcr_checkpoint/vxcr_restart return -errno and also set errno.
 *
 * Providers: the kernel module when /dev/vserver exists (the environment
 * variable VXCR_VSERVER_DEV names another device; set it empty to force the
 * userspace engine), otherwise the userspace engine in libvxcr.  Two
 * exceptions: get_version without the module is the switch's own answer
 * (the same VXCR_VCI_VERSION), and checkpoint/restart (all versions) of
 * whole trees always run in libvxcr (vxcr_dump/vxcr_restore, which may use
 * the module's task_dump); the module answers them -ENOTTY.  vmad_dump
 * without the module: the library's own (a helper process dumps the caller,
 * vxcr/vmadump.h); vmad_undump too (lib/vmad/undump.c: the caller becomes
 * the image in place).  task_dump without the module: -ENOTTY, "needs the
 * kernel module".
 */
#ifndef VXCR_VSERVER_H
#define VXCR_VSERVER_H

#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

#include "vxcr/vserver-abi.h"

/*
 * Capability numbers for bcaps (bit 1 << CAP_x), as libvserver's vserver.h;
 * each defined only if <linux/capability.h> or <sys/capability.h> has not.
 * CAP_CONTEXT is Linux-VServer's: on a stock kernel bit 31 is CAP_SETFCAP,
 * and bcaps use the running kernel's numbering for every bit.
 */
#ifndef CAP_CHOWN
#define CAP_CHOWN 0
#endif
#ifndef CAP_DAC_OVERRIDE
#define CAP_DAC_OVERRIDE 1
#endif
#ifndef CAP_DAC_READ_SEARCH
#define CAP_DAC_READ_SEARCH 2
#endif
#ifndef CAP_FOWNER
#define CAP_FOWNER 3
#endif
#ifndef CAP_FSETID
#define CAP_FSETID 4
#endif
#ifndef CAP_KILL
#define CAP_KILL 5
#endif
#ifndef CAP_SETGID
#define CAP_SETGID 6
#endif
#ifndef CAP_SETUID
#define CAP_SETUID 7
#endif
#ifndef CAP_SETPCAP
#define CAP_SETPCAP 8
#endif
#ifndef CAP_LINUX_IMMUTABLE
#define CAP_LINUX_IMMUTABLE 9
#endif
#ifndef CAP_NET_BIND_SERVICE
#define CAP_NET_BIND_SERVICE 10
#endif
#ifndef CAP_NET_BROADCAST
#define CAP_NET_BROADCAST 11
#endif
#ifndef CAP_NET_ADMIN
#define CAP_NET_ADMIN 12
#endif
#ifndef CAP_NET_RAW
#define CAP_NET_RAW 13
#endif
#ifndef CAP_IPC_LOCK
#define CAP_IPC_LOCK 14
#endif
#ifndef CAP_IPC_OWNER
#define CAP_IPC_OWNER 15
#endif
#ifndef CAP_SYS_MODULE
#define CAP_SYS_MODULE 16
#endif
#ifndef CAP_SYS_RAWIO
#define CAP_SYS_RAWIO 17
#endif
#ifndef CAP_SYS_CHROOT
#define CAP_SYS_CHROOT 18
#endif
#ifndef CAP_SYS_PTRACE
#define CAP_SYS_PTRACE 19
#endif
#ifndef CAP_SYS_PACCT
#define CAP_SYS_PACCT 20
#endif
#ifndef CAP_SYS_ADMIN
#define CAP_SYS_ADMIN 21
#endif
#ifndef CAP_SYS_BOOT
#define CAP_SYS_BOOT 22
#endif
#ifndef CAP_SYS_NICE
#define CAP_SYS_NICE 23
#endif
#ifndef CAP_SYS_RESOURCE
#define CAP_SYS_RESOURCE 24
#endif
#ifndef CAP_SYS_TIME
#define CAP_SYS_TIME 25
#endif
#ifndef CAP_SYS_TTY_CONFIG
#define CAP_SYS_TTY_CONFIG 26
#endif
#ifndef CAP_MKNOD
#define CAP_MKNOD 27
#endif
#ifndef CAP_LEASE
#define CAP_LEASE 28
#endif
#ifndef CAP_AUDIT_WRITE
#define CAP_AUDIT_WRITE 29
#endif
#ifndef CAP_AUDIT_CONTROL
#define CAP_AUDIT_CONTROL 30
#endif
#ifndef CAP_CONTEXT
#define CAP_CONTEXT 31
#endif

/* The switch: >= 0 or -errno (see the top of this file). */
long vserver(uint32_t cmd, uint32_t id, void *data);

/* libvserver context API: >= 0 on success, -1 with errno on failure. */
typedef uint32_t xid_t;

typedef struct _vx_info {
	xid_t xid;
	pid_t initpid;
} vx_info_t;

typedef struct _vx_stat {
	uint32_t usecnt;
	uint32_t tasks;
	uint32_t nr_threads;
	uint32_t nr_running;
	uint32_t nr_unintr;
	uint32_t nr_onhold;
	uint32_t nr_forks;
	uint32_t load[3];
	uint64_t offset;
	uint64_t uptime;
} vx_stat_t;

typedef struct _vx_flags {
	uint64_t flags;
	uint64_t mask;
} vx_flags_t;

typedef struct _vx_uname {
	uint32_t id; /* VHIN_* */
	char value[VHILEN];
} vx_uname_t;

typedef struct _vx_wait {
	int32_t reboot_cmd;
	int32_t exit_code;
} vx_wait_t;

/*
 * As libvserver: data NULL is allowed where it is only optional output or
 * optional input (create/migrate: flags 0; info, stat, wait: nothing copied
 * out), and EINVAL for the _set and _get functions, which need it.
 */
int vx_create(xid_t xid, vx_flags_t *data);  /* data->flags: VXF_* */
int vx_migrate(xid_t xid, vx_flags_t *data); /* data->flags: VXM_* */
int vx_task_xid(pid_t pid);		     /* returns the xid */
int vx_info(xid_t xid, vx_info_t *data);
int vx_stat(xid_t xid, vx_stat_t *data); /* ctx_stat + virt_stat */
int vx_bcaps_set(xid_t xid, vx_flags_t *data);
int vx_bcaps_get(xid_t xid, vx_flags_t *data);
int vx_ccaps_set(xid_t xid, vx_flags_t *data);
int vx_ccaps_get(xid_t xid, vx_flags_t *data);
int vx_flags_set(xid_t xid, vx_flags_t *data);
int vx_flags_get(xid_t xid, vx_flags_t *data);
int vx_uname_set(xid_t xid, vx_uname_t *data); /* value NUL-terminated */
int vx_uname_get(xid_t xid, vx_uname_t *data); /* data->id selects */
int vx_kill(xid_t xid, pid_t pid, int sig);
int vx_wait(xid_t xid, vx_wait_t *data);

/*
 * vxcr's additions to the context API, for what libvserver has no call for
 * (`vxcr ctx` is built on them and on the vx_* calls above).  They work on
 * the contexts of the userspace engine, recorded in a run directory; they
 * return 0 (or a count) or -errno, and vxcr_last_error() says why.
 */
#define VXCR_XID_MAX 65535
#define VXCR_XID_DYNAMIC ((xid_t)-1) /* create: pick a free xid */
#define VXCR_BCAPS_ALL (~0ULL)
/* create: Linux-VServer's guest set for the context's flags and ccaps
 * (vxcr_ctx_guest_bcaps), the default; bit 63 is no capability. */
#define VXCR_BCAPS_GUEST (1ULL << 63)

/* The run directory of this process's context calls (the vx_* calls too):
 * dir, copied; NULL or "" goes back to $VXCR_RUNDIR, else /run/vxcr. */
int vxcr_ctx_set_rundir(const char *dir);
/* The run directory in use. */
const char *vxcr_ctx_rundir(void);

struct vxcr_ctx_create_opts {
	xid_t xid;	      /* 2..VXCR_XID_MAX, or VXCR_XID_DYNAMIC */
	uint64_t flags;	      /* VXF_* */
	uint64_t bcaps;	      /* bounding set, bit n = CAP n kept (VXCR_BCAPS_ALL, _GUEST) */
	uint64_t ccaps;	      /* VXC_* */
	const char *hostname; /* NULL: the host's */
	uint64_t nproc;	      /* with VXF_INFO_NPROC: at most this many tasks, else 0 */
	char *const *argv;    /* the main command, run inside by the context's init */
	const char *net;      /* with VXF_HIDE_NETIF: "veth[:HOSTIF][,addr=A/P][,host-addr=B/P]",
			       * a veth to the host (vxcr-ctx(8)); NULL: only lo */
	const char *root;     /* pivot_root into this directory; NULL: the host's / */
	const char *limits;   /* "memory.max=B,cpu.max=QUOTA PERIOD,..." (vxcr-ctx(8)) or NULL */
};

/* Sets o to the defaults: xid 0, no flags, the guest bounding set
 * (VXCR_BCAPS_GUEST), no ccaps. */
void vxcr_ctx_create_opts_init(struct vxcr_ctx_create_opts *o);
/* Linux-VServer's default guest bounding set for a context with these
 * flags and ccaps (no SYS_ADMIN, SYS_MODULE, SYS_RAWIO, SYS_TIME, MKNOD,
 * NET_ADMIN, ...): what `vxcr ctx create` uses without --bcaps. */
uint64_t vxcr_ctx_guest_bcaps(uint64_t flags, uint64_t ccaps);
/*
 * Creates a context whose init (pid 1 inside) runs o->argv; returns once
 * the command runs.  *xid (may be NULL) gets the xid, *init (may be NULL)
 * the init's pid.  -EEXIST the xid is live, -EINVAL bad options, -EPERM
 * from inside a context without VXF_PROLIFIC.
 */
int vxcr_ctx_create(const struct vxcr_ctx_create_opts *o, xid_t *xid, pid_t *init);

struct vxcr_ctx_info {
	xid_t xid;
	pid_t init_pid;	 /* pid 1 inside, as we see it */
	pid_t super_pid; /* its supervisor, which records the exit code */
	uint64_t flags;	 /* VXF_* as recorded (vx_flags_get: the live state) */
	uint64_t bcaps;
	uint64_t ccaps;
	uint64_t nproc;	       /* VXF_INFO_NPROC: the task limit, else 0 */
	uint64_t nproc_cur;    /* VXF_INFO_NPROC: tasks counted against it, else 0 */
	char cgroup[512];      /* cgroup v2 directory */
	char pids_cgroup[512]; /* v1 pids group (VXF_INFO_NPROC on hybrid hosts) or "" */
	char net[128];	       /* --net as given at its creation, or "" */
	char root[512];	       /* its root directory, "" if it shares the host's / */
	char limits[512];      /* memory and cpu limits in force, as --limit text, or "" */
	char namespaces[128];  /* "own pid,uts,...; shared net,..." against the caller's, or "" */
};

/* The record of a live context: -ESRCH if there is none. */
int vxcr_ctx_info(xid_t xid, struct vxcr_ctx_info *info);
/* Fills up to max xids of live contexts, sorted; returns the count. */
int vxcr_ctx_list(xid_t *xids, int max);

/* Names as the command line spells them: the constants without prefix. */
enum vxcr_ctx_names {
	VXCR_CTX_FLAG_NAMES, /* VXF_* */
	VXCR_CTX_CCAP_NAMES, /* VXC_* */
	VXCR_CTX_BCAP_NAMES, /* CAP_* (bit n = capability n) */
};
/*
 * "A,B" -> bits.  Bounding caps: "A,B" keeps only those, "~A,~B" all but
 * those.  -EINVAL for an unknown name, -ENOTTY for a known one this engine
 * refuses (the reason in vxcr_last_error()).
 */
int vxcr_ctx_names_parse(enum vxcr_ctx_names what, const char *list, uint64_t *bits);
/* bits -> "A,B" ("-" for none; bounding caps: "ALL,~A" when shorter). */
void vxcr_ctx_names_format(enum vxcr_ctx_names what, uint64_t bits, char *buf, size_t len);
/* VHIN_* number of a uname field name ("NODENAME"), -1 if unknown. */
int vxcr_ctx_uname_field(const char *name);

/*
 * Checkpoint/restart with the semantics of the proposed sys_checkpoint /
 * sys_restart, through the switch (VCMD_checkpoint, VCMD_restart).
 */

/*
 * Checkpoints the tree rooted at pid into fd; if pid is the init of a
 * context (pid 1 inside it), the whole context, as vxdump --ctx.  Returns the
 * checkpoint id (> 0, derived from the image id; vxcr_image_crid()), or 0
 * when fd cannot be read back (pipe, socket) so the id is unknown; or
 * -errno (errno set too): -EINVAL unknown flags, -EBADF bad fd, else what
 * vxcr_dump() returns.
 */
long vxcr_checkpoint(pid_t pid, int fd, unsigned flags);

/*
 * Restarts the checkpoint read from fd; the restored root is our child,
 * running.  A context image recreates the context under a supervisor of its
 * own: the pid returned is its init, which is not our child.  crid 0 takes any image; otherwise the image's id must match,
 * else -EINVAL and nothing is read from fd (the header is peeked: fd must be
 * seekable, a pipe or a socket).  Returns the root's pid (> 0) or -errno
 * (errno set too): -EINVAL unknown flags or crid mismatch, -EBADMSG not a
 * vxcr image, -ESPIPE crid given and fd cannot be peeked, else what
 * vxcr_restore() returns.
 */
long vxcr_restart(uint64_t crid, int fd, unsigned flags);

/*
 * The same through checkpoint_v1 / restart_v1, with every option of
 * vxcr_dump() / vxcr_restore() (vxcr/vxcr.h; o NULL: the defaults) and
 * their statistics (st may be NULL).  vxcr_checkpoint2() checkpoints the
 * tree of pid when xid is 0 (also when pid is a context's init), else
 * context xid (pid 0; its record in rundir, NULL: the default).  Return
 * values and errno as vxcr_checkpoint() / vxcr_restart(); vxdump and
 * vxrestore are built on them.
 */
struct vxcr_dump_opts;
struct vxcr_dump_stats;
struct vxcr_restore_opts;
struct vxcr_restore_stats;
long vxcr_checkpoint2(pid_t pid, xid_t xid, const char *rundir, int fd,
		      const struct vxcr_dump_opts *o, struct vxcr_dump_stats *st);
long vxcr_restart2(uint64_t crid, int fd, const struct vxcr_restore_opts *o,
		   struct vxcr_restore_stats *st);

/* The checkpoint id of a 16-byte image id: its first 8 bytes little-endian,
 * top bit cleared (so it is a positive long), 0 mapped to 1. */
uint64_t vxcr_image_crid(const uint8_t *image_id, size_t len);

#ifdef __cplusplus
}
#endif
#endif
