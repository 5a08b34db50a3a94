// SPDX-License-Identifier: GPL-2.0
/*
 * In-kernel restart of the caller, vmad_undump (PROCMIG/19): the calling
 * process is replaced by the single-process image read from fd, as exec
 * replaces it.  Runs in the caller's ioctl, in its own context.
 *
 * A seekable image is read twice: the first pass decodes and checks every
 * record, every crc and the trailer, and prepares everything that can
 * fail (files opened, credentials, FPU state: rst_plan); only then does
 * the second pass commit (rst_commit, the point of no return: the address
 * space is replaced) and write the pages as it reads them again.  A pipe
 * is read once: past the first page record, an error kills the caller
 * with SIGKILL, as a failed exec does past its point of no return.
 *
 * The value the caller's ioctl returns is the image's rax: a task_work
 * (TWA_SIGNAL) stores it into pt_regs on the way out, after the syscall's
 * own return value, and before any signal frame is built; orig_ax is -1
 * so no syscall restart applies.  The switch returns the handler's
 * negative value without touching user memory (switch.c), so nothing is
 * written into the new address space at the old ioctl struct's address.
 */
#include <linux/errno.h>
#include <linux/fdtable.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/sched/task_stack.h>
#include <linux/slab.h>
#include <linux/task_work.h>

#include "rst.h"
#include "vxcr.h"

#define RST_PARSE 0x1 /* decode and plan */
#define RST_WRITE 0x2 /* commit and write the pages */
#define RST_CHUNK (64u << 10)

struct rst_ret {
	struct callback_head cb;
	u64 ax;
};

struct rst_run {
	struct rst_image img;
	struct rst_ret *ret;
	u8 *buf; /* RST_CHUNK bytes: pages, or a record's payload up to there */
};

static void rst_ret_fn(struct callback_head *cb)
{
	struct rst_ret *r = container_of(cb, struct rst_ret, cb);

	task_pt_regs(current)->ax = r->ax;
	kfree(r);
}

/* The caller: a 64-bit process of one thread that owns its mm, fd table
 * and signal handlers alone.  0, -EBUSY or -ENOTTY. */
static int rst_caller_check(void)
{
	if (!current->mm || (current->flags & PF_KTHREAD) || test_thread_flag(TIF_ADDR32))
		return -ENOTTY;
	if (!thread_group_empty(current) || atomic_read(&current->mm->mm_users) != 1 ||
	    atomic_read(&current->files->count) != 1 ||
	    refcount_read(&current->sighand->count) != 1)
		return -EBUSY;
	return 0;
}

/* Whether the caller's open file f can stand for record fe: an end
 * outside the image or the terminal (any), a character device (the same
 * device, e.g. /dev/null). */
static bool rst_fd_same(const struct rst_file *fe, struct file *f)
{
	struct inode *inode = file_inode(f);

	if (fe->kind == RST_FILE_TTY || fe->external)
		return true;
	return fe->kind == RST_FILE_CHR && fe->has_rdev && S_ISCHR(inode->i_mode) &&
	       new_encode_dev(inode->i_rdev) == fe->rdev;
}

/* The fds of the image: 0-2 only, each the tree's terminal, a pipe or
 * socket end outside it (external) or a character device, kept as the
 * caller's own fd of that number, which must be open (and, for a device,
 * the same one: else -ENOTTY); anything else is a file the module does
 * not reopen.  0 or -errno. */
static int rst_fds_plan(struct rst_image *img)
{
	bool same;
	u32 i, j;

	if (img->task.files_id && img->files_id && img->task.files_id != img->files_id)
		return -EINVAL;
	for (i = 0; i < img->n_fds; i++) {
		const struct rst_file *fe = NULL;
		struct file *f;

		for (j = 0; j < img->n_files && !fe; j++)
			if (img->files[j].id == img->fds[i].file_id)
				fe = &img->files[j];
		if (!fe)
			return -EINVAL;
		if (img->fds[i].fd > 2)
			return -ENOTTY;
		f = fget_raw(img->fds[i].fd);
		if (!f)
			return -EBADF;
		same = rst_fd_same(fe, f);
		fput(f);
		if (!same)
			return -ENOTTY;
	}
	return 0;
}

static void rst_unplan(struct rst_run *run)
{
	rst_creds_unplan(&run->img);
	rst_cwd_unplan(&run->img);
	rst_task_unplan(&run->img);
	rst_mm_unplan(&run->img);
	kfree(run->ret);
	run->ret = NULL;
}

/* Everything checked, everything that can fail made.  0 or -errno. */
static int rst_plan(struct rst_run *run)
{
	struct rst_image *img = &run->img;
	const u32 need = RST_SEEN_TASK | RST_SEEN_CORE | RST_SEEN_CREDS | RST_SEEN_SIGNALS |
			 RST_SEEN_MM;
	int ret;

	if ((img->seen & need) != need)
		return -EINVAL;
	if (img->task.mm_id && img->mm.mm_id && img->task.mm_id != img->mm.mm_id)
		return -EINVAL;
	ret = rst_fds_plan(img);
	ret = ret ?: rst_mm_plan(img);
	ret = ret ?: rst_task_plan(img);
	ret = ret ?: rst_cwd_plan(img);
	ret = ret ?: rst_creds_plan(img);
	if (!ret) {
		run->ret = kzalloc(sizeof(*run->ret), GFP_KERNEL);
		if (!run->ret)
			ret = -ENOMEM;
	}
	if (ret)
		rst_unplan(run);
	return ret;
}

/* Closes every fd of the caller the image does not hold. */
static void rst_fds_commit(struct rst_image *img)
{
	unsigned int fd, max;
	u32 i;

	rcu_read_lock();
	max = files_fdtable(current->files)->max_fds;
	rcu_read_unlock();
	for (fd = 0; fd < max; fd++) {
		for (i = 0; i < img->n_fds && img->fds[i].fd != fd; i++)
			;
		if (i == img->n_fds)
			close_fd(fd);
	}
}

/* The point of no return: the caller's fds, address space and thread
 * state become the image's.  0 or -errno (the caller is then killed). */
static int rst_commit(struct rst_run *run)
{
	struct rst_image *img = &run->img;
	int ret;

	img->committed = true;
	rst_fds_commit(img);
	ret = rst_mm_commit(img);
	if (ret)
		return ret;
	rst_task_commit(img);
	rst_cwd_commit(img);
	return 0;
}

/* After the trailer of the committing pass: credentials last, then the
 * return value on the way out. */
static void rst_finish(struct rst_run *run)
{
	rst_creds_commit(&run->img);
	run->ret->ax = run->img.core.regs[RST_AX];
	init_task_work(&run->ret->cb, rst_ret_fn);
	if (task_work_add(current, &run->ret->cb, TWA_SIGNAL))
		kfree(run->ret); /* exiting: nobody returns */
	run->ret = NULL;
	if (run->img.task.state == TASK_STATE_STOPPED)
		send_sig(SIGSTOP, current, 1); /* stops once the registers are in */
}

/* Record types of format v1 (18 is another branch's) */
static bool rst_type_known(u32 type)
{
	return type >= IMG_REC_TRAILER && type <= IMG_REC_TMPFS_DATA && type != 18;
}

/* A record that is not PAGES or the trailer.  0 or -errno. */
static int rst_meta(struct rst_run *run, struct rst_stream *s, struct rst_rec *r, unsigned int mode,
		    bool planned)
{
	u8 *buf;
	int ret;

	if (!img_rec_vmad_restores(r->type)) {
		if (r->type == IMG_REC_SIGNATURE ||
		    (!rst_type_known(r->type) && (r->flags & IMG_RF_OPTIONAL)))
			return rst_rec_skip(s, r); /* signatures are not checked */
		return rst_type_known(r->type) ? -ENOTTY : -EPROTO;
	}
	if (planned)
		return -EINVAL; /* after the first page record */
	if (!(mode & RST_PARSE))
		return rst_rec_skip(s, r);
	if (r->length > RST_MAX_META)
		return -ENOTTY;
	buf = r->length <= RST_CHUNK ? run->buf : kvmalloc(r->length, GFP_KERNEL);
	if (!buf)
		return -ENOMEM;
	ret = rst_rec_read(s, r, buf, r->length);
	ret = ret ?: rst_decode(&run->img, r->type, buf, r->length);
	if (buf != run->buf)
		kvfree(buf);
	return ret;
}

/* A PAGES record: checked against the plan's areas; written with
 * RST_WRITE (through read-only private mappings too: FOLL_FORCE). */
static int rst_pages(struct rst_run *run, struct rst_stream *s, struct rst_rec *r,
		     unsigned int mode)
{
	struct rst_image *img = &run->img;
	struct img_pages_prefix pp;
	u64 addr, len;
	int ret;

	if (r->length < sizeof(pp))
		return -EBADMSG;
	ret = rst_rec_read(s, r, &pp, sizeof(pp));
	if (ret)
		return ret;
	if (le32_to_cpu(pp.flags) & ~IMG_PAGES_KNOWN)
		return -EBADMSG;
	if (le32_to_cpu(pp.flags))
		return -ENOTTY; /* zero, parent and lazy ranges */
	if (le32_to_cpu(pp.mm_id) != (img->mm.mm_id ?: 1))
		return -EINVAL;
	addr = le64_to_cpu(pp.addr);
	len = r->left;
	ret = rst_pages_check(img, addr, len);
	if (ret || !(mode & RST_WRITE))
		return ret ?: rst_rec_skip(s, r);
	while (r->left) {
		size_t n = min_t(u64, r->left, RST_CHUNK);

		ret = rst_rec_read(s, r, run->buf, n);
		if (ret)
			return ret;
		if (access_process_vm(current, addr, run->buf, n, FOLL_FORCE | FOLL_WRITE) != n)
			return -EFAULT;
		addr += n;
	}
	return 0;
}

/* At the first page record or the trailer: plan (RST_PARSE), commit
 * (RST_WRITE). */
static int rst_point(struct rst_run *run, unsigned int mode)
{
	int ret;

	if (mode & RST_PARSE) {
		ret = rst_plan(run);
		if (ret)
			return ret;
	}
	return mode & RST_WRITE ? rst_commit(run) : 0;
}

/* One pass over the image of file from pos.  0 or -errno. */
static int rst_pass(struct rst_run *run, struct file *file, loff_t pos, unsigned int mode)
{
	struct rst_stream s;
	struct rst_rec r;
	bool planned = false;
	int ret;

	ret = rst_stream_open(&s, file, pos);
	if (ret)
		return ret;
	for (;;) {
		ret = rst_rec_next(&s, &r);
		if (ret)
			break;
		if ((r.type == IMG_REC_PAGES || r.type == IMG_REC_TRAILER) && !planned) {
			planned = true;
			ret = rst_point(run, mode);
			if (ret)
				break;
		}
		if (r.type == IMG_REC_TRAILER) {
			ret = rst_trailer(&s, &r);
			break;
		}
		if (r.type == IMG_REC_PAGES)
			ret = rst_pages(run, &s, &r, mode);
		else
			ret = rst_meta(run, &s, &r, mode, planned);
		ret = ret ?: rst_rec_end(&s, &r);
		if (ret)
			break;
	}
	rst_stream_close(&s);
	return ret;
}

/*
 * Replaces the caller by the image of fd.  On success the caller is the
 * image's process and the value returned here is overwritten on the way
 * out (rst_ret_fn); -errno before the point of no return leaves the caller
 * as it was; after it the caller gets SIGKILL.
 */
static long rst_undump(int fd)
{
	struct rst_run *run;
	struct file *file;
	loff_t pos;
	bool seekable;
	int ret;

	ret = rst_caller_check();
	if (ret)
		return ret;
	file = fget(fd);
	if (!file)
		return -EBADF;
	ret = -EBADF;
	if (!(file->f_mode & FMODE_READ))
		goto out_fput;
	ret = -ENOMEM;
	run = kzalloc(sizeof(*run), GFP_KERNEL);
	if (!run)
		goto out_fput;
	run->buf = kvmalloc(RST_CHUNK, GFP_KERNEL);
	if (!run->buf)
		goto out_free;
	seekable = (file->f_mode & FMODE_PREAD) && !(file->f_mode & FMODE_STREAM);
	pos = seekable ? file->f_pos : 0;
	if (seekable) {
		ret = rst_pass(run, file, pos, RST_PARSE);
		ret = ret ?: rst_pass(run, file, pos, RST_WRITE);
	} else {
		ret = rst_pass(run, file, pos, RST_PARSE | RST_WRITE);
	}
	if (!ret && !run->img.committed)
		ret = -EINVAL;
	/* a signal while a pipe was read: never a restart of the call, which
	 * would read the stream again from where it stopped */
	if (ret == -ERESTARTSYS || ret == -ERESTARTNOINTR || ret == -ERESTARTNOHAND ||
	    ret == -ERESTART_RESTARTBLOCK)
		ret = -EINTR;
	if (ret && run->img.committed)
		force_sig(SIGKILL);
	if (!ret)
		rst_finish(run);
	rst_unplan(run);
	rst_image_free(&run->img);
out_free:
	kvfree(run->buf);
	kfree(run);
out_fput:
	fput(file);
	return ret ?: -EINTR; /* replaced by the image's rax on the way out */
}

long vx_restart_cmd(u32 cmd, u32 id, void *data)
{
	const struct vcmd_vmad_undump_v0 *a = data;

	if (cmd != VCMD_vmad_undump)
		return -ENOTTY;
	if (id || a->flags)
		return -EINVAL;
	return rst_undump(a->fd);
}
