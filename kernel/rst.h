/* SPDX-License-Identifier: GPL-2.0 */
/*
 * In-kernel restart of the caller (vmad_undump): what restart.c and the
 * rst-*.c files share.  One struct rst_image holds everything read from an
 * image; it lives for one call, on the caller's stack of calls only.
 *
 * Phases: rst-img.c reads the stream (preamble, header, records with their
 * crc32c, the trailer); rst-rec.c decodes the records the module honours
 * into struct rst_image; rst_plan() (restart.c) checks the whole plan and
 * takes every reference it will need (files, credentials, FPU state)
 * before anything of the caller changes; rst_commit() is the point of no
 * return: rst-mm.c replaces the address space, rst-task.c the registers,
 * FPU, signal state and credentials; the pages are then written as they
 * stream in.
 */
#ifndef _VXCR_RST_H
#define _VXCR_RST_H

#include <linux/types.h>

#include "vxcr/image.h"

struct file;
struct cred;
struct path;

#define RST_MAX_META (4u << 20)	  /* largest payload of a non-page record */
#define RST_MAX_VMAS 8192	  /* areas of one MM record */
#define RST_MAX_FILES 4096	  /* FILE records */
#define RST_MAX_FDS 3		  /* fds honoured: 0-2, the caller's own */
#define RST_MAX_AUXV 128	  /* u64 words of mm_entry.auxv */
#define RST_MAX_GROUPS 256	  /* supplementary groups of CREDS */
#define RST_MAX_XSAVE (64u << 10) /* bytes of core_entry.xsave */
#define RST_NSIG 64
#define RST_NRLIMITS 16 /* RLIM_NLIMITS of 6.1 */
#define RST_NREGS 28	/* x86_regs field numbers 1..27 */
#define RST_PATH_MAX 4096

/* x86_regs field numbers (images/task.proto) */
enum rst_reg {
	RST_R15 = 1,
	RST_R14,
	RST_R13,
	RST_R12,
	RST_BP,
	RST_BX,
	RST_R11,
	RST_R10,
	RST_R9,
	RST_R8,
	RST_AX,
	RST_CX,
	RST_DX,
	RST_SI,
	RST_DI,
	RST_ORIG_AX,
	RST_IP,
	RST_CS,
	RST_FLAGS,
	RST_SP,
	RST_SS,
	RST_FS_BASE,
	RST_GS_BASE,
	RST_DS,
	RST_ES,
	RST_FS,
	RST_GS,
};

/* vma_entry.kind (images/mm.proto) */
enum rst_vma_kind {
	RST_VMA_ANON = 0,
	RST_VMA_FILE_PRIVATE,
	RST_VMA_FILE_SHARED,
	RST_VMA_SHMEM,
	RST_VMA_VDSO,
	RST_VMA_VVAR,
	RST_VMA_VVAR_VCLOCK,
	RST_VMA_VSYSCALL,
};

/* file_entry.kind values the module looks at (images/files.proto) */
#define RST_FILE_REG 0
#define RST_FILE_CHR 1
#define RST_FILE_PIPE 2
#define RST_FILE_TTY 4
#define RST_FILE_MAPONLY 6

struct rst_vma {
	u64 start, end, pgoff, madv;
	u32 prot, flags, kind, file_id;
	struct rst_file *file; /* set by rst_plan for file areas */
};

struct rst_file {
	u32 id, kind, flags, mode;
	u64 dev, ino, size, mtime_ns, rdev;
	bool has_dev, has_ino, has_size, has_mtime, has_mode, has_rdev;
	bool deleted, external, other; /* other: a field the module ignores that matters */
	char *path;		       /* kmalloc'd, NUL-terminated */
	struct file *filp;	       /* opened by rst_plan when an area maps it */
	bool writable;		       /* a shared writable area maps it */
	bool exec;		       /* an executable area maps it */
};

struct rst_sigaction {
	u64 handler, flags, restorer, mask;
	bool set;
};

struct rst_fd {
	u32 fd, file_id;
	bool cloexec;
};

/* Which records were read (rst_image.seen) */
#define RST_SEEN_TASK 0x1
#define RST_SEEN_CORE 0x2
#define RST_SEEN_CREDS 0x4
#define RST_SEEN_SIGNALS 0x8
#define RST_SEEN_MM 0x10
#define RST_SEEN_FDTABLE 0x20

struct rst_task {
	u32 pid, state, mm_id, files_id, n_threads, thread0, ctty;
	u32 personality, umask, pdeath_sig, stop_signal;
	u64 timer_slack_ns;
	bool has_personality, has_umask, has_timer_slack, thp_disable;
	char comm[16];
	bool has_comm;
	char *cwd, *root; /* kmalloc'd */
	struct rst_rlimit {
		u64 cur, max;
		bool set;
	} rlim[RST_NRLIMITS];
};

struct rst_core {
	u32 tid;
	u64 regs[RST_NREGS];
	u32 regs_set; /* bit n: field n present */
	bool has_regs;
	u8 *xsave; /* kvmalloc'd */
	u32 xsave_len;
	u64 xfeatures, blocked, clear_child_tid;
	u64 rseq_addr, robust_list, robust_list_len;
	u32 rseq_len, rseq_sig, nice;
	u64 ss_sp, ss_size;
	u32 ss_flags;
	bool has_altstack;
	char comm[16];
	bool has_comm;
};

struct rst_creds {
	u32 pid;
	u32 uid, euid, suid, fsuid, gid, egid, sgid, fsgid;
	u64 cap_inh, cap_prm, cap_eff, cap_bnd, cap_amb;
	u32 securebits, last_cap;
	bool no_new_privs;
	u32 n_groups;
	u32 groups[RST_MAX_GROUPS];
};

struct rst_mm {
	u32 mm_id, exe_file_id;
	u64 start_code, end_code, start_data, end_data, start_brk, brk;
	u64 start_stack, arg_start, arg_end, env_start, env_end;
	u64 auxv[RST_MAX_AUXV];
	size_t n_auxv;
	u8 vdso_digest[IMG_VDSO_DIGEST_LEN];
	bool has_vdso_digest;
	struct rst_vma *vmas; /* kvmalloc'd, ascending */
	u32 n_vmas;
};

struct rst_image {
	u32 seen;
	u32 n_files, n_fds, files_id;
	struct rst_task task;
	struct rst_core core;
	struct rst_creds creds;
	struct rst_sigaction act[RST_NSIG + 1];
	u32 sig_pid;
	struct rst_mm mm;
	struct rst_file *files; /* kvmalloc'd, RST_MAX_FILES */
	struct rst_fd fds[RST_MAX_FDS];

	/* made by rst_plan, used by rst_commit */
	const void *vdso_image;	  /* the caller's struct vdso_image */
	void *map_vdso;		  /* map_vdso_once() */
	unsigned long vvar_start; /* where the image's vvar goes, 0: none */
	struct cred *new_cred;	  /* prepared, committed at the end */
	struct path *cwd;	  /* the image's cwd, looked up as the caller */
	void *fpstate;		  /* scratch struct fpstate holding the image's */
	bool committed;		  /* past the point of no return */
};

/* rst-img.c: the stream */
struct rst_stream {
	struct file *file;
	loff_t pos;
	u8 *buf; /* RST_BUF bytes of read-ahead */
	size_t len, off;
	bool compressed;
	u32 crc;     /* running crc of the record being read */
	u64 records; /* records before the trailer */
	u32 crcs;    /* crc32c state over their crcs */
	u64 page_bytes;
	void *zstd; /* struct rst_zstd when compressed */
};

struct rst_rec {
	u32 type, flags;
	u64 length, left; /* payload bytes, and those not read yet */
};

u32 rst_crc32c(u32 crc, const void *p, size_t len);
int rst_stream_open(struct rst_stream *s, struct file *file, loff_t pos);
void rst_stream_close(struct rst_stream *s);
int rst_rec_next(struct rst_stream *s, struct rst_rec *r);
int rst_rec_read(struct rst_stream *s, struct rst_rec *r, void *dst, size_t len);
int rst_rec_skip(struct rst_stream *s, struct rst_rec *r);
int rst_rec_end(struct rst_stream *s, struct rst_rec *r);
int rst_trailer(struct rst_stream *s, struct rst_rec *r);

/* rst-zstd.c: zstd frames of a compressed body */
int rst_zstd_init(struct rst_stream *s);
void rst_zstd_free(struct rst_stream *s);
ssize_t rst_zstd_fill(struct rst_stream *s, size_t size);
int rst_zstd_end(struct rst_stream *s);

/* rst-rec.c: record decoders into img */
int rst_decode(struct rst_image *img, u32 type, const u8 *buf, size_t len);
void rst_image_free(struct rst_image *img);

/* rst-mm.c */
int rst_mm_plan(struct rst_image *img);
int rst_mm_commit(struct rst_image *img);
int rst_pages_check(struct rst_image *img, u64 addr, u64 len);
void rst_mm_unplan(struct rst_image *img);

/* rst-creds.c */
int rst_creds_plan(struct rst_image *img);
void rst_creds_commit(struct rst_image *img);
void rst_creds_unplan(struct rst_image *img);

/* rst-task.c, rst-cwd.c */
int rst_cwd_plan(struct rst_image *img);
void rst_cwd_commit(struct rst_image *img);
void rst_cwd_unplan(struct rst_image *img);
int rst_task_plan(struct rst_image *img);
void rst_task_commit(struct rst_image *img);
void rst_task_unplan(struct rst_image *img);

#endif
