/*
 * The vserver switch's ABI: command numbers, the data structs and the flag
 * values, shared by libvxcr (vxcr/vserver.h includes it) and the kernel
 * module (kernel/).  It needs nothing but <linux/types.h>, which both have.
 * vxcr/vserver.h holds the command table for humans and the C API.
 */
#ifndef VXCR_VSERVER_ABI_H
#define VXCR_VSERVER_ABI_H

#include <linux/types.h>

/* cmd encoding.  Unlike Linux-VServer's VC_CMD, c is a number, not a name. */
#define VC_CATEGORY(c) (((c) >> 24) & 0x3F)
#define VC_COMMAND(c) (((c) >> 16) & 0xFF)
#define VC_VERSION(c) ((c)&0xFFF)
#define VC_CMD(c, i, v) ((__u32)((((c)&0x3F) << 24) | (((i)&0xFF) << 16) | ((v)&0xFFF)))
/* bits that are none of category, command, version: must be zero */
#define VC_RESERVED_BITS 0xC000F000u

/* get_version's answer: Linux-VServer's 2.3 API (0x0002030x) grown by vxcr's
 * commands; both providers give the same value. */
#define VXCR_VCI_VERSION 0x00020400

/* Categories of the Linux-VServer 2.x syscall matrix. */
#define VC_CAT_VERSION 0
#define VC_CAT_VSETUP 1
#define VC_CAT_VHOST 2
#define VC_CAT_DEVICE 6
#define VC_CAT_VPROC 9
#define VC_CAT_PROCALT 10
#define VC_CAT_PROCMIG 11
#define VC_CAT_PROCTRL 12
#define VC_CAT_SCHED 14
#define VC_CAT_MEMCTRL 20
#define VC_CAT_VNET 25
#define VC_CAT_NETALT 26
#define VC_CAT_NETMIG 27
#define VC_CAT_NETCTRL 28
#define VC_CAT_TAGMIG 35
#define VC_CAT_DLIMIT 36
#define VC_CAT_INODE 38
#define VC_CAT_VSTAT 40
#define VC_CAT_VINFO 46
#define VC_CAT_EVENT 48
#define VC_CAT_FLAGS 52
#define VC_CAT_VSPACE 54
#define VC_CAT_DEBUG 56
#define VC_CAT_RLIMIT 60
#define VC_CAT_SYSTEST 61 /* experimental/test commands */
#define VC_CAT_COMPAT 63

/* Commands (see the table above). */
#define VCMD_get_version VC_CMD(VC_CAT_VERSION, 0, 0)
#define VCMD_ctx_create_v0 VC_CMD(VC_CAT_VPROC, 1, 0)
#define VCMD_ctx_create VC_CMD(VC_CAT_VPROC, 1, 1)
#define VCMD_ctx_migrate_v0 VC_CMD(VC_CAT_PROCMIG, 1, 0)
#define VCMD_ctx_migrate VC_CMD(VC_CAT_PROCMIG, 1, 1)
#define VCMD_checkpoint VC_CMD(VC_CAT_PROCMIG, 16, 0)
#define VCMD_restart VC_CMD(VC_CAT_PROCMIG, 17, 0)
#define VCMD_checkpoint_v1 VC_CMD(VC_CAT_PROCMIG, 16, 1)
#define VCMD_restart_v1 VC_CMD(VC_CAT_PROCMIG, 17, 1)
#define VCMD_vmad_dump VC_CMD(VC_CAT_PROCMIG, 18, 0)
#define VCMD_vmad_undump VC_CMD(VC_CAT_PROCMIG, 19, 0)
#define VCMD_task_dump VC_CMD(VC_CAT_PROCMIG, 20, 0)
#define VCMD_ctx_kill VC_CMD(VC_CAT_PROCTRL, 1, 0)
#define VCMD_task_xid VC_CMD(VC_CAT_VINFO, 1, 0)
#define VCMD_vx_info VC_CMD(VC_CAT_VINFO, 5, 0)
#define VCMD_ctx_stat VC_CMD(VC_CAT_VSTAT, 0, 0)
#define VCMD_virt_stat VC_CMD(VC_CAT_VSTAT, 3, 0)
#define VCMD_set_vhi_name VC_CMD(VC_CAT_VHOST, 1, 0)
#define VCMD_get_vhi_name VC_CMD(VC_CAT_VHOST, 2, 0)
#define VCMD_get_cflags VC_CMD(VC_CAT_FLAGS, 1, 0)
#define VCMD_set_cflags VC_CMD(VC_CAT_FLAGS, 2, 0)
#define VCMD_get_ccaps VC_CMD(VC_CAT_FLAGS, 3, 1)
#define VCMD_set_ccaps VC_CMD(VC_CAT_FLAGS, 4, 1)
#define VCMD_get_bcaps VC_CMD(VC_CAT_FLAGS, 9, 0)
#define VCMD_set_bcaps VC_CMD(VC_CAT_FLAGS, 10, 0)
#define VCMD_wait_exit VC_CMD(VC_CAT_EVENT, 99, 0)

/* Data of the commands (fixed-width fields, no implicit padding). */
struct vcmd_ctx_create {
	__u64 flagword; /* VXF_* */
};

struct vcmd_ctx_migrate {
	__u64 flagword; /* VXM_* */
};

struct vcmd_vx_info_v0 {
	__u32 xid;
	__u32 initpid;
};

struct vcmd_ctx_stat_v0 {
	__u32 usecnt;
	__u32 tasks;
};

struct vcmd_virt_stat_v0 {
	__u64 offset; /* ns the context's clocks are ahead of the host's */
	__u64 uptime; /* ns since the context was created */
	__u32 nr_threads;
	__u32 nr_running;
	__u32 nr_uninterruptible;
	__u32 nr_onhold;
	__u32 nr_forks;
	__u32 load[3];
};

struct vcmd_ctx_flags_v0 {
	__u64 flagword;
	__u64 mask;
};

struct vcmd_ctx_caps_v1 {
	__u64 ccaps;
	__u64 cmask;
};

struct vcmd_bcaps {
	__u64 bcaps;
	__u64 bmask;
};

#define VHILEN 65
struct vcmd_vhi_name_v0 {
	__u32 field; /* VHIN_* */
	char name[VHILEN];
};

struct vcmd_ctx_kill_v0 {
	__s32 pid;
	__s32 sig;
};

struct vcmd_wait_exit_v0 {
	__s32 reboot_cmd;
	__s32 exit_code;
};

/* vxcr: checkpoint (PROCMIG/16/0).  vserver's id: 0, the tree of pid (the
 * whole context if pid is a context's init); else context id (pid 0 or its
 * init). */
struct vcmd_checkpoint_v0 {
	__s32 pid;   /* root task of the tree or context */
	__s32 fd;    /* image goes here */
	__u32 flags; /* VXCR_CKPT_* */
};

/* vxcr: restart (PROCMIG/17/0).  vserver's id must be 0. */
struct vcmd_restart_v0 {
	__u64 crid;  /* 0 = any image, else must match the image's */
	__s32 fd;    /* image is read from here */
	__u32 flags; /* VXCR_RESTART_* */
};

/* vxcr: VMADump self-checkpoint (PROCMIG/18/0), id 0.  The caller writes
 * its own image to fd and goes on; returns the bytes written.  In a process
 * restored from that image the same call returns 0. */
struct vcmd_vmad_dump_v0 {
	__s32 fd;    /* image goes here */
	__u32 flags; /* VMAD_DUMP_*: file-backed areas stored with contents */
};

/* vxcr: VMADump undump (PROCMIG/19/0), id 0.  Replaces the calling
 * process by the image read from fd, as exec does; returns only on error. */
struct vcmd_vmad_undump_v0 {
	__s32 fd;    /* image is read from here */
	__u32 flags; /* none defined: 0 */
};

/* vxcr: checkpoint of one stopped task by the kernel module (PROCMIG/20/0),
 * id 0.  Returns the bytes written. */
struct vcmd_task_dump_v0 {
	__s32 pid;	/* the task: ptrace-stopped or group-stopped */
	__s32 fd;	/* image goes here */
	__u32 flags;	/* VMAD_DUMP_* */
	__u32 reserved; /* 0 */
};

/* What a VMADump image stores with contents besides anonymous memory;
 * other file-backed areas are stored as references (path and identity),
 * as BProc's VMAD_DUMP_* classes. */
#define VMAD_DUMP_LIBS 0x1u  /* every other file mapped executable somewhere (all its areas) */
#define VMAD_DUMP_EXEC 0x2u  /* the main executable's areas */
#define VMAD_DUMP_OTHER 0x4u /* every other file-backed area */
#define VMAD_DUMP_ALL (VMAD_DUMP_LIBS | VMAD_DUMP_EXEC | VMAD_DUMP_OTHER)

/*
 * vxcr: checkpoint with options (PROCMIG/16/1).  vserver's id: 0, the tree
 * of pid (also when pid is a context's init); else context id (pid 0).
 * opts and stats are user pointers (as __u64) to a struct vxcr_dump_opts
 * and a struct vxcr_dump_stats (vxcr/vxcr.h), 0 for none; a provider that
 * cannot honour a field of opts (the kernel module cannot call back into
 * the caller) refuses with -ENOTTY.  rundir: const char *, where a
 * context's record is (0: the default).
 */
struct vcmd_checkpoint_v1 {
	__u32 size;   /* sizeof(struct vcmd_checkpoint_v1) */
	__s32 pid;    /* root task of the tree, or 0 with a context id */
	__s32 fd;     /* image goes here */
	__u32 flags;  /* VXCR_CKPT_*; 0 when opts is given */
	__u64 opts;   /* const struct vxcr_dump_opts *, or 0: from flags */
	__u64 stats;  /* struct vxcr_dump_stats *, or 0 */
	__u64 rundir; /* const char *, or 0 */
};

/* vxcr: restart with options (PROCMIG/17/1).  vserver's id must be 0. */
struct vcmd_restart_v1 {
	__u32 size;	/* sizeof(struct vcmd_restart_v1) */
	__s32 fd;	/* image is read from here */
	__u64 crid;	/* 0 = any image, else must match the image's */
	__u32 flags;	/* VXCR_RESTART_*; 0 when opts is given */
	__u32 reserved; /* 0 */
	__u64 opts;	/* const struct vxcr_restore_opts *, or 0: from flags */
	__u64 stats;	/* struct vxcr_restore_stats *, or 0 */
};

/* Context flags (VXF_*), Linux-VServer values. */
#define VXF_INFO_LOCK 0x00000001
#define VXF_INFO_SCHED 0x00000002
#define VXF_INFO_NPROC 0x00000004
#define VXF_INFO_PRIVATE 0x00000008
#define VXF_INFO_INIT 0x00000010
#define VXF_INFO_HIDE 0x00000020
#define VXF_INFO_ULIMIT 0x00000040
#define VXF_INFO_NSPACE 0x00000080
#define VXF_SCHED_HARD 0x00000100
#define VXF_SCHED_PRIO 0x00000200
#define VXF_SCHED_PAUSE 0x00000400
#define VXF_VIRT_MEM 0x00010000
#define VXF_VIRT_UPTIME 0x00020000
#define VXF_VIRT_CPU 0x00040000
#define VXF_VIRT_LOAD 0x00080000
#define VXF_VIRT_TIME 0x00100000
#define VXF_HIDE_MOUNT 0x01000000
#define VXF_HIDE_NETIF 0x02000000
#define VXF_HIDE_VINFO 0x04000000
#define VXF_STATE_SETUP (1ULL << 32)
#define VXF_STATE_INIT (1ULL << 33)
#define VXF_STATE_ADMIN (1ULL << 34)
#define VXF_SC_HELPER (1ULL << 36)
#define VXF_REBOOT_KILL (1ULL << 37)
#define VXF_PERSISTENT (1ULL << 38)
#define VXF_FORK_RSS (1ULL << 48)
#define VXF_PROLIFIC (1ULL << 49)
#define VXF_IGNEG_NICE (1ULL << 52)
#define VXF_ONE_TIME (0x0007ULL << 32)
#define VXF_INIT_SET (VXF_STATE_SETUP | VXF_STATE_INIT | VXF_STATE_ADMIN)

/* Migration flags (ctx_migrate). */
#define VXM_SET_INIT 0x00000001
#define VXM_SET_REAPER 0x00000002

/* Context capabilities (VXC_*). */
#define VXC_SET_UTSNAME 0x00000001
#define VXC_SET_RLIMIT 0x00000002
#define VXC_FS_SECURITY 0x00000004
#define VXC_FS_TRUSTED 0x00000008
#define VXC_TIOCSTI 0x00000010
#define VXC_RAW_ICMP 0x00000100
#define VXC_SYSLOG 0x00001000
#define VXC_OOM_ADJUST 0x00002000
#define VXC_AUDIT_CONTROL 0x00004000
#define VXC_SECURE_MOUNT 0x00010000
#define VXC_SECURE_REMOUNT 0x00020000
#define VXC_BINARY_MOUNT 0x00040000
#define VXC_QUOTA_CTL 0x00100000
#define VXC_ADMIN_MAPPER 0x00200000
#define VXC_ADMIN_CLOOP 0x00400000
#define VXC_KTHREAD 0x01000000
#define VXC_NAMESPACE 0x02000000

/* Virtual uname fields (vhi_name). */
#define VHIN_CONTEXT 0
#define VHIN_SYSNAME 1
#define VHIN_NODENAME 2
#define VHIN_RELEASE 3
#define VHIN_VERSION 4
#define VHIN_MACHINE 5
#define VHIN_DOMAINNAME 6

#define VXCR_CKPT_LEAVE_RUNNING 0x1u /* default: kill the tree once the image is complete */
#define VXCR_CKPT_NO_COMPRESS 0x2u   /* default: zstd */
#define VXCR_CKPT_ALL (VXCR_CKPT_LEAVE_RUNNING | VXCR_CKPT_NO_COMPRESS)

#define VXCR_RESTART_PIDNS 0x1u /* restore inside a new pid namespace */
#define VXCR_RESTART_ALL (VXCR_RESTART_PIDNS)

#endif
