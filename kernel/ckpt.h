/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The in-kernel checkpoint's parts (ckpt*.c): one dump is one struct
 * vx_dump, built in the caller's process context (the ioctl), and written
 * to the caller's fd as an uncompressed vxcr image (docs/image-format.md):
 * TASK, CREDS, SIGNALS, CORE per thread, MM, FILE..., FDTABLE, PAGES...,
 * TRAILER.
 */
#ifndef _VXCR_CKPT_H
#define _VXCR_CKPT_H

#include <linux/types.h>

#include "ckpt-sig.h"
#include "pb.h"

struct file;
struct mm_struct;
struct pid_namespace;
struct task_struct;

/* The image stream on the caller's fd (ckpt-img.c). */
struct vx_img {
	struct file *file;
	u64 written;	 /* bytes written so far */
	u64 records;	 /* records before the trailer */
	u32 crcs;	 /* running crc32c (raw) over the records' stored crcs */
	u64 page_bytes;	 /* sum of (length - 16) of the PAGES records */
	bool pos_locked; /* file->f_pos_lock held for the whole image */
};

/* The file behind mappings (and the exe link): one FILE_MAPONLY each. */
struct vx_mfile {
	struct file *file; /* a reference, put by vx_dump_free() */
	u32 id;
};

#define VX_MFILES_MAX 1024 /* distinct mapped files of one process */

/* An area whose pages are stored (ckpt-mm.c fills it, ckpt-pages.c reads). */
struct vx_area {
	unsigned long start, end;
	bool anon_only; /* a private file area: only its copied (anon) pages,
			 * zero ones too (a zero range would show the file) */
};

struct vx_dump {
	struct task_struct *task; /* referenced */
	struct mm_struct *mm;	  /* referenced (mmget) */
	struct pid_namespace *ns; /* the caller's: pids are numbered there */
	bool self;		  /* vmad_dump: the caller itself */
	u32 flags;		  /* VMAD_DUMP_* */
	struct vx_img img;
	struct pb_buf pb; /* the record being built */
	struct vx_mfile *mfiles;
	unsigned int nr_mfiles;
	u32 exe_file_id;
	struct inode *exe_inode;     /* compared only, never dereferenced */
	struct inode **exec_inodes;  /* files mapped executable (VMAD_DUMP_LIBS), */
	unsigned int nr_exec_inodes; /* compared only; with flags only */
	struct vx_area *areas;
	unsigned int nr_areas;
	struct task_struct **threads; /* referenced, the leader (task) first */
	unsigned int nr_threads;
	char *path_buf;		/* PATH_MAX scratch for d_path() */
	struct vx_sigsnap sig;	/* the leader's: SIGNALS and its CORE */
	struct vx_sigsnap tsig; /* another thread's, while its CORE is built */
};

/* ckpt-img.c */
int vx_img_write(struct vx_img *img, const void *p, size_t n);
int vx_img_head(struct vx_dump *d);
int vx_img_record(struct vx_img *img, u32 type, const void *prefix, size_t plen, const void *p,
		  size_t n);
int vx_img_pb_record(struct vx_dump *d, u32 type);
int vx_img_trailer(struct vx_dump *d);
int vx_crc32c_selftest(void);

/* ckpt-task.c: TASK, CREDS, CORE; ckpt-sig.c (ckpt-sig.h): SIGNALS */
int vx_dump_task(struct vx_dump *d);
int vx_dump_creds(struct vx_dump *d);

/* ckpt-mm.c: MM, the FILE_MAPONLY records; ckpt-pages.c: PAGES */
int vx_dump_mm(struct vx_dump *d);
int vx_dump_mfiles(struct vx_dump *d);
int vx_dump_pages(struct vx_dump *d);

/* ckpt-files.c: fds 0-2 (handed over by the restorer) and FDTABLE */
int vx_dump_fdtable(struct vx_dump *d);

/* ckpt-threads.c */
int vx_threads_take(struct vx_dump *d);
void vx_threads_put(struct vx_dump *d);
int vx_threads_check(struct vx_dump *d);
unsigned long vx_threads_switches(struct vx_dump *d);
bool vx_threads_stopped(struct vx_dump *d);

/* ckpt.c: stopped (TASK_STOPPED or TASK_TRACED); waited off its CPU */
bool vx_stopped(struct task_struct *t);
int vx_wait_off_cpu(struct task_struct *t);

/* ckpt-check.c: 0, or -ENOTTY for state the image cannot carry */
int vx_dump_refused(struct task_struct *t);

/* ckpt-sym.c: ptrace_may_access(ATTACH_REALCREDS): 0, -EPERM, -ENOSYS */
int vx_may_ptrace(struct task_struct *t);

/* d_path of f into d->path_buf, or NULL */
const char *vx_file_path(struct vx_dump *d, struct file *f);

#endif
