// SPDX-License-Identifier: GPL-2.0
/*
 * The fd table of an in-kernel dump: only fds 0, 1 and 2.  The module does
 * not dump open files (no FILE kinds besides the mapped ones); what a
 * restored process least expects is to come back with no stdin, stdout or
 * stderr, so each of fds 0-2 the task has open is recorded as an external
 * stdio end (FILE_PIPE, external, its path for the reader): vxrestore
 * hands over its own fd of that number (shell-job style, restore's
 * inherit_stdio, the default), or, when it has none open, gives a new pipe
 * end.  Every other fd is left out: the restored process does not have it.
 * fds sharing one description share one FILE record, as in a userspace dump.
 */
#include <linux/fcntl.h>
#include <linux/fdtable.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/rcupdate.h>
#include <linux/sched/task.h>

#include "vxcr/image.h"
#include "ckpt.h"
#include "vxcr.h"

#define FILE_PIPE 2 /* file_kind */
#define VX_STDIO 3

struct vx_stdfd {
	struct file *file; /* referenced, or NULL: not open */
	bool cloexec;
	u32 id;
};

/* The task's file at fd (referenced) as fget_task() does, or NULL. */
static struct file *task_fd(struct task_struct *t, unsigned int fd, bool *cloexec)
{
	struct file *f = NULL;

	task_lock(t);
	if (t->files) {
		rcu_read_lock();
		f = files_lookup_fd_rcu(t->files, fd);
		if (f && !get_file_rcu(f))
			f = NULL;
		if (f)
			*cloexec = close_on_exec(fd, files_fdtable(t->files));
		rcu_read_unlock();
	}
	task_unlock(t);
	return f;
}

static int put_stdio_file(struct vx_dump *d, const struct vx_stdfd *s, unsigned int fd)
{
	struct pb_buf *b = &d->pb;

	pb_u64(b, 1, s->id);
	pb_u64(b, 2, FILE_PIPE);
	pb_str(b, 3, vx_file_path(d, s->file));
	pb_u64(b, 4, fd ? O_WRONLY : O_RDONLY);
	pb_u64(b, 13, s->id);
	pb_bool(b, 16, true);
	return vx_img_pb_record(d, IMG_REC_FILE);
}

static int put_fdtable(struct vx_dump *d, const struct vx_stdfd *s)
{
	struct pb_buf *b = &d->pb;
	unsigned int fd;
	size_t m;

	pb_u64(b, 1, 1);
	for (fd = 0; fd < VX_STDIO; fd++) {
		if (!s[fd].file)
			continue;
		m = pb_nest_begin(b, 2);
		pb_u64(b, 1, fd);
		pb_u64(b, 2, s[fd].id);
		pb_bool(b, 3, s[fd].cloexec);
		pb_nest_end(b, m);
	}
	return vx_img_pb_record(d, IMG_REC_FDTABLE);
}

/* FILE records of fds 0-2 (ids after the mapped files'), then FDTABLE. */
int vx_dump_fdtable(struct vx_dump *d)
{
	struct vx_stdfd s[VX_STDIO] = { 0 };
	u32 next = d->nr_mfiles + 1;
	unsigned int fd, j;
	int ret = 0;

	for (fd = 0; fd < VX_STDIO; fd++) {
		s[fd].file = task_fd(d->task, fd, &s[fd].cloexec);
		if (!s[fd].file)
			continue;
		for (j = 0; j < fd; j++)
			if (s[j].file == s[fd].file)
				s[fd].id = s[j].id;
		if (s[fd].id)
			continue;
		s[fd].id = next++;
		ret = put_stdio_file(d, &s[fd], fd);
		if (ret)
			goto out_put;
	}
	ret = put_fdtable(d, s);
out_put:
	for (fd = 0; fd < VX_STDIO; fd++)
		if (s[fd].file)
			fput(s[fd].file);
	return ret;
}
