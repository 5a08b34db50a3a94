// SPDX-License-Identifier: GPL-2.0
/*
 * In-kernel checkpoint (issue 17), VMADump style: task_dump (PROCMIG/20)
 * writes the image of one stopped process to the caller's fd, vmad_dump
 * (PROCMIG/18) the caller's own, whose restored copy sees the call return
 * 0.  Both run in the caller's process context (the ioctl) and may sleep;
 * they only read the task: a failed dump leaves it as it was.  The image
 * is the userspace engine's format, uncompressed (ckpt-img.c), with the
 * records restore needs for one process (ckpt.h).
 *
 * Checks, in order: id 0 (-EINVAL), flags within VMAD_DUMP_ALL and
 * reserved 0 (-EINVAL), fd open for writing (-EBADF), the pid (-EINVAL if
 * not positive, -ESRCH if no such task in the caller's pid namespace),
 * ptrace_may_access ATTACH_REALCREDS (-EPERM; kernel threads too),
 * stopped (-EBUSY: neither group-stopped nor ptrace-stopped), every thread
 * of the process too, each sharing the leader's files and fs, and no
 * state the image cannot carry (-ENOTTY; ckpt-threads.c, ckpt-check.c).
 * vmad_dump: the caller must be its process's only thread (-ENOTTY).  A
 * process that runs while it is dumped (continued by someone else) fails
 * the dump with -EBUSY, found by its threads' states and context-switch
 * counts.
 */
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/limits.h>
#include <linux/pid.h>
#include <linux/pid_namespace.h>
#include <linux/sched.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/sched/task.h>
#include <linux/slab.h>

#include "vxcr/image.h"
#include "ckpt.h"
#include "vxcr.h"

#define VX_OFF_CPU_TRIES 100 /* ticks a stopped task may take to leave its CPU */

static void vx_dump_free(struct vx_dump *d)
{
	unsigned int i;

	for (i = 0; i < d->nr_mfiles; i++)
		fput(d->mfiles[i].file);
	kvfree(d->mfiles);
	kvfree(d->areas);
	kvfree(d->exec_inodes);
	vx_sig_free(&d->sig);
	pb_free(&d->pb);
	kfree(d->path_buf);
	if (d->img.pos_locked)
		mutex_unlock(&d->img.file->f_pos_lock);
	if (d->img.file)
		fput(d->img.file);
	if (d->mm)
		mmput(d->mm);
	vx_threads_put(d);
	put_task_struct(d->task);
	kfree(d);
}

/* A CORE per thread, leader first, each with its own mask and queue. */
static int vx_dump_cores(struct vx_dump *d)
{
	struct vx_sigsnap *s = &d->sig;
	unsigned int i;
	int ret = 0;

	for (i = 0; i < d->nr_threads && !ret; i++) {
		if (i) {
			s = &d->tsig;
			ret = vx_sig_snap(d->threads[i], s);
			if (ret)
				break;
		}
		ret = vx_dump_core(d, d->threads[i], s);
		if (i)
			vx_sig_free(s);
	}
	return ret;
}

/* The records, in the order of docs/image-format.md section 8. */
static int vx_dump_records(struct vx_dump *d)
{
	int ret;

	ret = vx_sig_snap(d->task, &d->sig);
	if (!ret)
		ret = vx_img_head(d);
	if (!ret)
		ret = vx_dump_task(d);
	if (!ret)
		ret = vx_dump_creds(d);
	if (!ret)
		ret = vx_dump_signals(d, &d->sig);
	if (!ret)
		ret = vx_dump_cores(d);
	if (!ret)
		ret = vx_dump_mm(d);
	if (!ret)
		ret = vx_dump_mfiles(d);
	if (!ret)
		ret = vx_dump_fdtable(d);
	if (!ret)
		ret = vx_dump_pages(d);
	if (!ret)
		ret = vx_img_trailer(d);
	return ret;
}

bool vx_stopped(struct task_struct *t)
{
	return READ_ONCE(t->__state) & (__TASK_STOPPED | __TASK_TRACED);
}

/* Dumps d->task into fd; d is freed.  Returns the bytes written or -errno. */
static long vx_dump_run(struct vx_dump *d, int fd)
{
	unsigned long sw = vx_threads_switches(d);
	long ret;

	ret = vx_crc32c_selftest();
	if (ret)
		goto out_free;
	d->img.file = fget(fd);
	if (!d->img.file || !(d->img.file->f_mode & FMODE_WRITE)) {
		ret = -EBADF;
		goto out_free;
	}
	/* the whole image is one write(2) to the file's position: its lock,
	 * as fdget_pos() (not exported) takes it; taken before mmap locks */
	if (d->img.file->f_mode & FMODE_ATOMIC_POS) {
		ret = mutex_lock_killable(&d->img.file->f_pos_lock);
		if (ret)
			goto out_free;
		d->img.pos_locked = true;
	}
	d->mm = get_task_mm(d->task);
	d->path_buf = kmalloc(PATH_MAX, GFP_KERNEL);
	if (!d->mm || !d->path_buf) {
		ret = d->mm ? -ENOMEM : -ESRCH;
		goto out_free;
	}
	pb_init(&d->pb, IMG_MAX_RECORD);
	d->ns = task_active_pid_ns(current);
	ret = vx_dump_records(d);
	if (!ret && !d->self && (!vx_threads_stopped(d) || vx_threads_switches(d) != sw))
		ret = -EBUSY; /* it ran while it was read: the image may mix states */
	if (!ret)
		ret = d->img.written;
out_free:
	vx_dump_free(d);
	return ret;
}

static struct vx_dump *vx_dump_new(struct task_struct *t, u32 flags, bool self)
{
	struct vx_dump *d = kzalloc(sizeof(*d), GFP_KERNEL);

	if (!d) {
		put_task_struct(t);
		return NULL;
	}
	d->task = t;
	d->flags = flags;
	d->self = self;
	return d;
}

/* 0 if fd is open for writing, else -EBADF (as write(2)). */
static int vx_fd_writable(int fd)
{
	struct file *f = fget(fd);
	fmode_t mode;

	if (!f)
		return -EBADF;
	mode = f->f_mode;
	fput(f);
	return (mode & FMODE_WRITE) ? 0 : -EBADF;
}

/*
 * The process (its leader) of the task pid names in the caller's pid
 * namespace (a thread's tid names its process), referenced, or NULL.
 */
static struct task_struct *vx_find_task(pid_t pid)
{
	struct task_struct *t;

	rcu_read_lock();
	t = pid_task(find_vpid(pid), PIDTYPE_PID);
	if (t)
		t = t->group_leader;
	if (t)
		get_task_struct(t);
	rcu_read_unlock();
	return t;
}

/*
 * A task that has just stopped may still be on its way off a CPU, its
 * registers and FPU state not saved yet: waits until it is off (its
 * on_cpu cleared after the switch, as wait_task_inactive(), which modules
 * cannot call, does).  0, or -EBUSY if it stays on a CPU.
 */
int vx_wait_off_cpu(struct task_struct *t)
{
	int i;

	for (i = 0; smp_load_acquire(&t->on_cpu); i++) {
		if (i == VX_OFF_CPU_TRIES)
			return -EBUSY;
		schedule_timeout_uninterruptible(1);
	}
	return vx_stopped(t) ? 0 : -EBUSY;
}

/* The checks task_dump makes before it reads anything (head comment). */
static int vx_task_dump_check(struct task_struct *t)
{
	int ret;

	if (t->flags & PF_KTHREAD)
		return -EPERM;
	ret = vx_may_ptrace(t);
	if (ret)
		return ret;
	if (t->flags & PF_EXITING)
		return -ESRCH;
	if (!vx_stopped(t))
		return -EBUSY;
	return 0;
}

static long vx_task_dump(const struct vcmd_task_dump_v0 *a)
{
	struct task_struct *t;
	struct vx_dump *d;
	int ret;

	if ((a->flags & ~VMAD_DUMP_ALL) || a->reserved)
		return -EINVAL;
	ret = vx_fd_writable(a->fd);
	if (ret)
		return ret;
	if (a->pid <= 0)
		return -EINVAL;
	t = vx_find_task(a->pid);
	if (!t)
		return -ESRCH;
	ret = vx_task_dump_check(t);
	if (ret) {
		put_task_struct(t);
		return ret;
	}
	d = vx_dump_new(t, a->flags, false);
	if (!d)
		return -ENOMEM;
	ret = vx_threads_take(d);
	if (!ret)
		ret = vx_threads_check(d);
	if (ret) {
		vx_dump_free(d);
		return ret;
	}
	return vx_dump_run(d, a->fd);
}

static long vx_vmad_dump(const struct vcmd_vmad_dump_v0 *a)
{
	struct vx_dump *d;
	int ret;

	if (a->flags & ~VMAD_DUMP_ALL)
		return -EINVAL;
	if (vx_fd_writable(a->fd))
		return -EBADF;
	if (get_nr_threads(current) > 1 || vx_dump_refused(current))
		return -ENOTTY;
	get_task_struct(current);
	d = vx_dump_new(current, a->flags, true);
	if (!d)
		return -ENOMEM;
	ret = vx_threads_take(d);
	if (ret) {
		vx_dump_free(d);
		return ret;
	}
	return vx_dump_run(d, a->fd);
}

long vx_ckpt_cmd(u32 cmd, u32 id, void *data)
{
	if (id)
		return -EINVAL;
	switch (cmd) {
	case VCMD_task_dump:
		return vx_task_dump(data);
	case VCMD_vmad_dump:
		return vx_vmad_dump(data);
	}
	return -ENOSYS;
}
