/*
 * Files below /proc/PID of a tree task (file kind FILE_PROC,
 * lib/dump/procfile.c).  Such a file is bound to the task it was opened
 * for, which exists only once the whole tree is built, so it has no pool
 * fd: in finish (procfile_restore(), before locks and credentials) the
 * one process holding it opens /proc/PID/REST itself by an injected
 * openat2 (no symlink, no magic link followed), seeks to the recorded
 * offset and dup3s it onto each of its fds on that description; other
 * processes holding it (inherited over fork) take it from that one by an
 * injected pidfd_open + pidfd_getfd (image order is preorder: the holder
 * is done first; the taker still has our credentials, root).  PID
 * must be a process or thread of the image (checked with the image
 * alone, so /proc/1/mem of the host is never opened; with --pidns pid 1
 * is the restored root) and REST a plain relative path.  Offsets: lseek
 * to the recorded position; procfs seq files (stat, status, maps ...)
 * reach it by generating the text up to there, so a read continues where
 * the text of the restored task is at that offset.
 */
#define LOG_PREFIX "restore/procfile: "
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <linux/openat2.h>

#include "log.h"
#include "restore/restore.h"

/* the kernel's O_LARGEFILE, which fdinfo shows (glibc defines it as 0 here) */
#define KERNEL_O_LARGEFILE 0100000

#define PROCFILE_FLAGS                                                                       \
	(O_ACCMODE | O_APPEND | O_NONBLOCK | KERNEL_O_LARGEFILE | O_DIRECTORY | O_NOFOLLOW | \
	 O_NOATIME | O_ASYNC | O_DIRECT | O_CLOEXEC | O_SYNC)
#define PROC_PATH_MAX 1024 /* fits the scratch tail (RST_SCR_SECCOMP) */

/* Is pid a live or dead process, or a thread, of the image? */
static bool image_task(const struct rst_image *img, uint32_t pid)
{
	size_t i, j;

	for (i = 0; i < img->nr_procs; i++) {
		const struct rst_proc *c = img->procs[i];

		if (c->task && c->task->pid == pid)
			return true;
		for (j = 0; j < c->nr_threads; j++)
			if ((uint32_t)c->threads[j].vtid == pid)
				return true;
	}
	return false;
}

/* Is rest a plain relative path (no empty, "." or ".." component)? */
static bool plain_rest(const char *rest)
{
	const char *c = rest, *e;

	if (strlen(rest) > PROC_PATH_MAX - 32)
		return false;
	while (*c) {
		e = strchrnul(c, '/');
		if (e == c || (e - c == 1 && c[0] == '.') ||
		    (e - c == 2 && c[0] == '.' && c[1] == '.'))
			return false;
		if (*e && !e[1])
			return false; /* trailing slash */
		c = *e ? e + 1 : e;
	}
	return true;
}

/* The image alone: a task of the image, a plain path, sane flags. */
static int check_procfile(const struct rst_image *img, const struct rst_file *f)
{
	const FileEntry *fe = f->fe;

	if (!fe->has_proc_pid || !fe->proc_rest || !plain_rest(fe->proc_rest) ||
	    (fe->flags & ~(uint32_t)PROCFILE_FLAGS) || fe->deleted || fe->pos > INT64_MAX) {
		pr_err("image: /proc file id %u: bad pid, path, flags %#o or offset\n", fe->id,
		       fe->flags);
		return -EBADMSG;
	}
	if (!image_task(img, fe->proc_pid)) {
		pr_err("image: /proc file id %u: /proc/%u/%s is not a file of a task of the "
		       "image: not opening it\n",
		       fe->id, fe->proc_pid, fe->proc_rest);
		return -EPERM;
	}
	return rst_check_no_thread_table(img, f);
}

/*
 * Puts description fd of c (a temporary number) onto each of c's fds on
 * f, then closes fd unless it is one of them.  0 or -errno (logged).
 */
static int place_in(struct rst_proc *c, const struct rst_file *f, long fd)
{
	bool kept = false;
	size_t i;
	long r;

	for (i = 0; i < c->fdt->n_fds; i++) {
		const FdEntry *e = c->fdt->fds[i];

		if (e->file_id != f->fe->id)
			continue;
		if (e->fd == fd)
			r = rst_inject(c, NULL, SYS_fcntl, fd, F_SETFD, e->cloexec ? FD_CLOEXEC : 0,
				       0, 0, 0);
		else
			r = rst_inject(c, NULL, SYS_dup3, fd, e->fd, e->cloexec ? O_CLOEXEC : 0, 0,
				       0, 0);
		kept |= e->fd == fd;
		if (r < 0) {
			pr_err("pid %d: %s onto fd %u: %s\n", c->pid, f->fe->path, e->fd,
			       strerror((int)-r));
			return (int)r;
		}
	}
	r = kept ? 0 : rst_inject(c, NULL, SYS_close, fd, 0, 0, 0, 0, 0);
	return r < 0 ? (int)r : 0;
}

/*
 * c shares f with its first holder h (inherited over fork, passed on):
 * c takes h's description by pidfd_open + pidfd_getfd (h is ours, c still
 * has our credentials).  0 or -errno (logged).
 */
static int get_from(struct rst_proc *c, const struct rst_file *f, const struct rst_proc *h,
		    uint32_t hfd)
{
	long pfd, fd;

	pfd = rst_inject(c, NULL, SYS_pidfd_open, h->task->pid, 0, 0, 0, 0, 0);
	fd = pfd < 0 ? pfd : rst_inject(c, NULL, SYS_pidfd_getfd, pfd, hfd, 0, 0, 0, 0);
	if (pfd >= 0)
		rst_inject(c, NULL, SYS_close, pfd, 0, 0, 0, 0, 0);
	if (fd < 0) {
		pr_err("pid %d: cannot take %s from pid %d: %s\n", c->pid, f->fe->path, h->pid,
		       strerror((int)-fd));
		return (int)fd;
	}
	return place_in(c, f, fd);
}

/* Opens f in c (its holder): the fd there, or -errno (logged). */
static long open_in(struct rst_proc *c, const struct rst_file *f)
{
	const FileEntry *fe = f->fe;
	uint64_t how_at = c->img->scratch + RST_SCRATCH_DATA + RST_SCR_MISC;
	uint64_t path_at = c->img->scratch + RST_SCRATCH_DATA + RST_SCR_SECCOMP;
	struct open_how how = {
		.flags = (fe->flags & ~(uint32_t)(O_ASYNC | O_CLOEXEC)) |
			 O_CLOEXEC, /* resolve: no symlink */
		.resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
	};
	char path[PROC_PATH_MAX];
	long fd, r;

	snprintf(path, sizeof(path), "/proc/%u%s%s", fe->proc_pid, fe->proc_rest[0] ? "/" : "",
		 fe->proc_rest);
	r = inject_write(c->pid, how_at, &how, sizeof(how));
	r = r ?: inject_write(c->pid, path_at, path, strlen(path) + 1);
	fd = r ?: rst_inject(c, NULL, SYS_openat2, AT_FDCWD, path_at, how_at, sizeof(how), 0, 0);
	if (fd < 0) {
		pr_err("pid %d: cannot open %s again: %s\n", c->pid, path, strerror((int)-fd));
		return fd;
	}
	r = fe->pos ? rst_inject(c, NULL, SYS_lseek, fd, fe->pos, SEEK_SET, 0, 0, 0) : 0;
	if (fe->pos && r != (long)fe->pos) {
		pr_err("pid %d: %s: cannot seek to %llu: %s\n", c->pid, path,
		       (unsigned long long)fe->pos, r < 0 ? strerror((int)-r) : "short");
		rst_inject(c, NULL, SYS_close, fd, 0, 0, 0, 0, 0);
		return r < 0 ? r : -EIO;
	}
	return fd;
}

/* Opens late file f in c (its holder) onto each of c's fds on it. */
static int late_open(struct rst_proc *c, const struct rst_file *f)
{
	long fd = f->kind->open_late(c, f);

	return fd < 0 ? (int)fd : place_in(c, f, fd);
}

/* Does c's own fd table (not its parent's) hold f? */
static bool holds(const struct rst_proc *c, const struct rst_file *f)
{
	size_t i;

	if (!c->fdt || (c->parent && c->parent->fdt == c->fdt))
		return false;
	for (i = 0; i < c->fdt->n_fds; i++)
		if (c->fdt->fds[i]->file_id == f->fe->id)
			return true;
	return false;
}

int procfile_restore(struct rst_proc *c)
{
	const struct rst_image *img = c->img;
	const struct rst_proc *h;
	uint32_t fd = 0;
	size_t i;
	int ret = 0;

	for (i = 0; !ret && i < img->nr_files; i++) {
		const struct rst_file *f = &img->files[i];

		if (!rst_file_late(f) || !holds(c, f))
			continue;
		h = rst_file_holder(img, f->fe->id, &fd);
		ret = h == c ? late_open(c, f) : h ? get_from(c, f, h, fd) : -EINVAL;
	}
	return ret;
}

const struct rst_fd_kind rst_fd_procfile = {
	.kind = FILE_KIND__FILE_PROC,
	.name = "/proc file",
	.late = true,
	.open_late = open_in,
	.check_image = check_procfile,
};
