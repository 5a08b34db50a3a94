/*
 * Files, in the child: every open file description is opened once onto a
 * staging fd (above everything), then dup2'ed to each recorded fd number,
 * so dups share one description.  External pipes and terminals on fds 0-2
 * keep vxrestore's own fd of the same number when there is one.  Files
 * behind mappings and the exe link are opened onto the helper fds the
 * parent planned (mem.c maps from them; core.c closes them); deleted files,
 * behind fds or mappings, are recreated as unlinked ghost files.  Each
 * description is opened by its kind (fd-kinds.c); the kinds reopened by
 * path (file, directory, device, mapped file) live here (terminals: tty.c), with
 * the helpers other kinds use (rst_stage_fd, rst_set_fl, rst_write_chunks).
 */
#define LOG_PREFIX "restore/files: "
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <linux/openat2.h>

#include "log.h"
#include "util/cleanup.h"
#include "restore/restore.h"

/* Descriptions are opened above the pool, then moved to pool_fd(). */
#define TEMP_BASE(img) ((img)->temp_base)
/* O_TMPFILE is __O_TMPFILE | O_DIRECTORY: drop only its own bit, a directory keeps O_DIRECTORY */
#define OPEN_FLAGS_DROP (O_CREAT | O_EXCL | O_TRUNC | O_CLOEXEC | (O_TMPFILE & ~O_DIRECTORY))
/* O_ASYNC is set by fown.c, through the fd whose number signals carry */
#define SETFL_MASK (O_APPEND | O_NONBLOCK | O_DIRECT | O_NOATIME)

/*
 * Moves fd (closed) onto the lowest free number above the pool, where a
 * kind's open() leaves a description.  Returns it or -errno (logged).
 */
int rst_stage_fd(const struct rst_image *img, int fd)
{
	int nfd = fcntl(fd, F_DUPFD, TEMP_BASE(img));

	if (nfd < 0) {
		pr_perror("cannot move fd %d above %d", fd, TEMP_BASE(img));
		nfd = -errno;
	}
	close(fd);
	return nfd;
}

/*
 * Writes every chunk of object id to fd (pwrite at offset if seekable).
 * what names the object.  0 or -errno (logged).
 */
int rst_write_chunks(const struct rst_chunk *c, size_t n, uint32_t id, int fd, bool seekable,
		     const char *what)
{
	size_t i, done;
	ssize_t w;

	for (i = 0; i < n; i++) {
		if (c[i].id != id)
			continue;
		for (done = 0; done < c[i].len; done += w) {
			if (seekable)
				w = pwrite(fd, c[i].buf + done, c[i].len - done,
					   c[i].offset + done);
			else
				w = write(fd, c[i].buf + done, c[i].len - done);
			if (w <= 0) {
				pr_perror("%s: cannot restore %zu buffered bytes", what, c[i].len);
				return w < 0 ? -errno : -EIO;
			}
		}
	}
	return 0;
}

/* F_SETFL with the flags it can change of flags.  0 or -errno (logged). */
int rst_set_fl(int fd, uint32_t flags)
{
	if (fcntl(fd, F_SETFL, flags & SETFL_MASK)) {
		pr_perror("fd %d: F_SETFL %#x", fd, flags);
		return -errno;
	}
	return 0;
}

/* A deleted-while-open fd: its ghost file, at the recorded offset. */
static int open_deleted(const struct rst_image *img, struct rst_file *f)
{
	const FileEntry *fe = f->fe;
	int fd;

	fd = ghost_open(img, f, fe->flags & ~OPEN_FLAGS_DROP);
	if (fd < 0)
		return fd;
	if (fe->pos && lseek(fd, fe->pos, SEEK_SET) < 0) {
		int ret = -errno;

		pr_perror("%s: cannot seek to %llu", fe->path, (unsigned long long)fe->pos);
		close(fd);
		return ret;
	}
	f->stage_fd = rst_stage_fd(img, fd);
	return f->stage_fd < 0 ? f->stage_fd : 0;
}

/*
 * Reopens a file, directory, device or terminal by path (seek: to its
 * offset), or its ghost if it was deleted.
 */
static int open_by_path(const struct rst_image *img, struct rst_file *f, bool seek)
{
	const FileEntry *fe = f->fe;
	int fd;

	if (!fe->path) {
		pr_err("image: file id %u has no path\n", fe->id);
		return -EINVAL;
	}
	if (fe->deleted)
		return open_deleted(img, f);
	fd = rst_open_recorded(fe, fe->flags & ~OPEN_FLAGS_DROP);
	if (fd < 0)
		return fd;
	if (seek && fe->pos && lseek(fd, fe->pos, SEEK_SET) < 0) {
		pr_perror("%s: cannot seek to %llu", fe->path, (unsigned long long)fe->pos);
		close(fd);
		return -errno;
	}
	f->stage_fd = rst_stage_fd(img, fd);
	return f->stage_fd < 0 ? f->stage_fd : 0;
}

static int open_seek(const struct rst_image *img, struct rst_file *f)
{
	return open_by_path(img, f, true);
}

static int open_noseek(const struct rst_image *img, struct rst_file *f)
{
	return open_by_path(img, f, false);
}

/* Is fd one of o->inherit_fds (the caller's, whatever the image holds)? */
static bool fd_listed(const struct vxcr_restore_opts *o, uint32_t fd)
{
	size_t i;

	for (i = 0; o->inherit_fds && i < o->n_inherit_fds; i++)
		if (o->inherit_fds[i] > 2 && (uint32_t)o->inherit_fds[i] == fd)
			return true;
	return false;
}

/*
 * fd is an external pipe end or terminal on 0-2 that we can hand over, or
 * one of the fds above 2 the caller hands over (o->inherit_fds).  A
 * FIFO whose other end is outside the tree is external too, but it has a
 * name: it is reopened by its path (psql reading commands from one).
 */
static bool fd_inherited(const struct rst_image *img, const FdEntry *e, const FileEntry *fe)
{
	if (e->fd > 2 && fd_listed(img->opts, e->fd))
		return (int)e->fd != img->img_fd && fcntl(e->fd, F_GETFD) >= 0;
	if (e->fd > 2 || (int)e->fd == img->img_fd || !img->opts->inherit_stdio)
		return false;
	if (fe->kind == FILE_KIND__FILE_FIFO)
		return false;
	if (!fe->external && !rst_fd_kind(fe->kind)->stdio)
		return false;
	return fcntl(e->fd, F_GETFD) >= 0;
}

/*
 * Closes every fd except the inherited stdio ones, the report fd and our
 * terminal kept for open_tty() (tty.c, above the report fd).
 */
/* Closes every fd above from, but for a and b (-1: none). */
static void close_above(int from, int a, int b)
{
	int lo = a < b ? a : b, hi = a < b ? b : a;

	if (lo <= from) /* one of them (or none) to keep */
		lo = hi;
	if (lo > from) {
		if (lo > from + 1)
			syscall(SYS_close_range, from + 1, lo - 1, 0);
		if (hi > lo + 1)
			syscall(SYS_close_range, lo + 1, hi - 1, 0);
		from = hi;
	}
	syscall(SYS_close_range, from + 1, ~0U, 0);
}

/* Closes every fd in [from, to] but those of hold[] (n, ascending). */
static void close_between(int from, int to, const int *hold, size_t n)
{
	size_t i;

	for (i = 0; i < n && from <= to; i++) {
		if (hold[i] < from || hold[i] > to)
			continue;
		if (hold[i] > from)
			syscall(SYS_close_range, from, hold[i] - 1, 0);
		from = hold[i] + 1;
	}
	if (from <= to)
		syscall(SYS_close_range, from, to, 0);
}

/*
 * Closes 0-2 but the kept ones, everything below ctl_fd but the inherited
 * fds above 2 (o->inherit_fds, all below it: image fds), and everything
 * above it but our terminal and the outside root.
 */
static void close_others(const struct rst_proc *proc, const bool keep[3])
{
	const struct rst_image *img = proc->img;
	int hold[RST_INHERIT_MAX], fd, j;
	size_t i, n = 0;

	for (fd = 0; fd < 3; fd++)
		if (!keep[fd])
			close(fd);
	for (i = 0; i < proc->fdt->n_fds && n < RST_INHERIT_MAX; i++) {
		const FdEntry *e = proc->fdt->fds[i];

		if (e->fd <= 2 || (int)e->fd >= img->ctl_fd || !fd_listed(img->opts, e->fd) ||
		    !plan_file(img, e->file_id)->inherited)
			continue;
		for (j = (int)n++; j > 0 && hold[j - 1] > (int)e->fd; j--)
			hold[j] = hold[j - 1];
		hold[j] = (int)e->fd;
	}
	if (img->ctl_fd > 3)
		close_between(3, img->ctl_fd - 1, hold, n);
	close_above(img->ctl_fd, img->host_tty, rst_open_outside_fd());
}

/* Is e's fd the caller's own, handed over (0-2 in keep[], or listed)? */
static bool fd_kept(const struct rst_image *img, const FdEntry *e, const bool keep[3])
{
	if (e->fd <= 2)
		return keep[e->fd];
	return fd_listed(img->opts, e->fd) && plan_file(img, e->file_id)->inherited;
}

static int place_fds(struct rst_proc *proc, const bool keep[3])
{
	size_t i;

	for (i = 0; i < proc->fdt->n_fds; i++) {
		const FdEntry *e = proc->fdt->fds[i];
		struct rst_file *f = plan_file(proc->img, e->file_id);

		if (rst_file_late(f))
			continue; /* opened in finish, by this process (procfile.c) */
		if (!fd_kept(proc->img, e, keep)) {
			if (f->stage_fd < 0) {
				pr_err("fd %u: pipe end missing from the image\n", e->fd);
				return -EINVAL;
			}
			if (dup2(f->stage_fd, e->fd) < 0) {
				pr_perror("dup2 to fd %u", e->fd);
				return -errno;
			}
		}
		if (fcntl(e->fd, F_SETFD, e->cloexec ? FD_CLOEXEC : 0)) {
			pr_perror("fd %u: F_SETFD", e->fd);
			return -errno;
		}
	}
	return 0;
}

/*
 * Child: rebuilds the fd table (and the mapping helper fds).
 * Returns 0/-errno.
 */
int files_restore(struct rst_proc *proc)
{
	const struct rst_image *img = proc->img;
	bool keep[3] = { false, false, false };
	struct rlimit rl;
	size_t i;
	int ret;

	for (i = 0; i < proc->fdt->n_fds; i++) {
		const FdEntry *e = proc->fdt->fds[i];
		struct rst_file *f = plan_file(img, e->file_id);

		if (fd_inherited(img, e, f->fe)) {
			keep[e->fd] = true;
			f->inherited = true;
		}
	}
	tty_keep_host(proc->img);
	close_others(proc, keep);
	if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	ret = rshm_create_pool(img);
	if (ret)
		return ret;
	ret = fd_kinds_open(img) ?: fd_kinds_post_open(img);
	tty_drop_host(proc->img);
	if (ret)
		return ret;
	/* dups of an inherited description come from our fd of that number */
	for (i = 0; i < proc->fdt->n_fds; i++) {
		const FdEntry *e = proc->fdt->fds[i];
		struct rst_file *f = plan_file(img, e->file_id);

		if (f->inherited && f->stage_fd < 0 && fd_kept(img, e, keep))
			f->stage_fd = e->fd;
	}
	ret = place_fds(proc, keep);
	if (ret)
		return ret;
	/*
	 * Every description stays open on its pool fd (file_pool_fd()), where
	 * the other processes of the tree dup it from; mem_restore_finish
	 * closes the pool.
	 */
	for (i = 0; i < img->nr_files; i++) {
		struct rst_file *f = &img->files[i];
		int want = img->stage_base + (int)i;

		if (f->stage_fd < 0)
			continue;
		if (dup2(f->stage_fd, want) < 0) {
			pr_perror("cannot keep file %u on fd %d", f->fe->id, want);
			return -errno;
		}
		if (f->stage_fd >= TEMP_BASE(img))
			close(f->stage_fd);
		f->stage_fd = want;
	}
	ret = files_open_maps(img);
	ghosts_close(img);
	rst_open_outside_root(-1); /* the host's root: not one step further */
	return ret;
}

/*
 * Child: the file behind mappings or the exe link, by path (checked to be
 * the inode dumped) or, if it was deleted, as a ghost file.  fd or -errno.
 */
static int open_mapped(const struct rst_image *img, const struct rst_file *f)
{
	int flags = f->map_write ? O_RDWR : O_RDONLY;

	if (f->fe->deleted)
		return ghost_open(img, f, flags);
	return rst_open_recorded(f->fe, flags);
}

/*
 * Child: opens the files behind mappings and the exe link on their helper
 * fds, one fd per file however many areas map it.  Returns 0/-errno.
 */
int files_open_maps(const struct rst_image *img)
{
	size_t i;
	int fd;

	for (i = 0; i < img->nr_files; i++) {
		const struct rst_file *f = &img->files[i];

		if (f->map_fd < 0)
			continue;
		fd = open_mapped(img, f);
		if (fd < 0)
			return fd;
		if (fd == f->map_fd)
			continue; /* opened right where it belongs */
		if (dup2(fd, f->map_fd) < 0) {
			pr_perror("dup2 to fd %d", f->map_fd);
			close(fd);
			return -errno;
		}
		close(fd);
	}
	return 0;
}

/* The fd the root keeps description f on for the rest of the tree, or -1. */
int file_pool_fd(const struct rst_image *img, const struct rst_file *f)
{
	if (!f->kind->open)
		return -1; /* not an fd: a file behind mappings */
	return img->stage_base + (int)(f - img->files);
}

/* A file behind a mapping or the exe link must be the very file dumped. */
static int check_mapped_file(const FileEntry *fe)
{
	struct stat st;

	if (!fe->path || stat(fe->path, &st)) {
		pr_err("file %s behind a mapping no longer exists\n", fe->path ? fe->path : "?");
		return -ENOENT;
	}
	return rst_file_same(fe, &st, false, true);
}

/*
 * An fd reopened by path needs its file (a deleted one is rebuilt from the
 * image, an external one may be handed over).  0 or -ENOENT (logged).
 */
int files_check_path(const struct rst_image *img, const struct rst_file *f)
{
	const FileEntry *fe = f->fe;
	struct stat st;

	if (fe->deleted && !fe->has_ghost_id &&
	    (fe->kind == FILE_KIND__FILE_CHR || fe->kind == FILE_KIND__FILE_BLK))
		return ghost_check_host(fe);
	if ((fe->external && fe->kind != FILE_KIND__FILE_FIFO) || fe->deleted ||
	    fe->has_tmpfs_node) /* an own tmpfs's: checked at open, inside (mntns-files.c) */
		return 0;
	if (!fe->path || stat(fe->path, &st)) {
		pr_err("file %s (file id %u) no longer exists\n", fe->path ? fe->path : "?",
		       fe->id);
		return -ENOENT;
	}
	return 0;
}

/* A file behind mappings: unchanged since the dump, unless rebuilt. */
/*
 * A mapped file is a regular file, or /dev/zero (a private mapping of it
 * is anonymous memory): never another device, whose mapping could reach
 * memory the process does not own.
 */
static int check_maponly(const struct rst_image *img, const struct rst_file *f)
{
	const FileEntry *fe = f->fe;

	if (fe->has_mode && S_ISCHR(fe->mode) && (!fe->has_rdev || fe->rdev != makedev(1, 5))) {
		pr_err("image: file id %u (%s): a mapped device other than /dev/zero\n", fe->id,
		       fe->path ? fe->path : "");
		return -EPERM;
	}
	if (fe->has_mode && !S_ISCHR(fe->mode) && !S_ISREG(fe->mode)) {
		pr_err("image: file id %u (%s): a mapped file that is not a regular file\n", fe->id,
		       fe->path ? fe->path : "");
		return -EPERM;
	}
	return fe->deleted || fe->has_tmpfs_node ? 0 : check_mapped_file(fe);
}

const struct rst_fd_kind rst_fd_reg = {
	.kind = FILE_KIND__FILE_REG,
	.name = "file",
	.check_image = ghost_check_image,
	.check_host = files_check_path,
	.open = open_seek,
};
const struct rst_fd_kind rst_fd_dir = {
	.kind = FILE_KIND__FILE_DIR,
	.name = "directory",
	.type = S_IFDIR,
	.check_image = ghost_check_image,
	.check_host = files_check_path,
	.open = open_seek,
};
const struct rst_fd_kind rst_fd_chr = {
	.kind = FILE_KIND__FILE_CHR,
	.name = "device",
	.type = S_IFCHR,
	.check_image = ghost_check_image,
	.check_host = files_check_path,
	.open = open_noseek,
};
const struct rst_fd_kind rst_fd_blk = {
	.kind = FILE_KIND__FILE_BLK,
	.name = "block device",
	.type = S_IFBLK,
	.check_image = ghost_check_image,
	.check_host = files_check_path,
	.open = open_seek,
};
const struct rst_fd_kind rst_fd_maponly = {
	.kind = FILE_KIND__FILE_MAPONLY,
	.name = "mapped file",
	.check_image = ghost_check_image,
	.check_host = check_maponly,
};
