/*
 * Files, in the child: every open file description is opened once onto a
 * staging fd (above everything), then dup2'ed to each recorded fd number,
 * so dups share one description.  External pipes and terminals on fds 0-2
 * keep vxrestore's own fd of the same number when there is one.  Files
 * behind mappings and the exe link are opened onto the helper fds the
 * parent planned (mem.c maps from them; core.c closes them); deleted files,
 * behind fds or mappings, are recreated as unlinked ghost files.
 */
#define LOG_PREFIX "restore/files: "
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <linux/openat2.h>

#include "log.h"
#include "util/cleanup.h"
#include "restore/restore.h"

/* Descriptions are opened above the pool, then moved to pool_fd(). */
#define TEMP_BASE(img) ((img)->temp_base)
#define OPEN_FLAGS_DROP (O_CREAT | O_EXCL | O_TRUNC | O_CLOEXEC | O_TMPFILE)
#define SETFL_MASK (O_APPEND | O_NONBLOCK | O_ASYNC | O_DIRECT | O_NOATIME)

/* Moves fd onto the lowest free number >= base.  Returns it or -errno. */
static int stage_fd(int fd, int base)
{
	int nfd = fcntl(fd, F_DUPFD, base);

	if (nfd < 0) {
		pr_perror("cannot move fd %d above %d", fd, base);
		nfd = -errno;
	}
	close(fd);
	return nfd;
}

/* Writes every chunk of object id to fd (pwrite at offset if seekable). */
static int write_chunks(const struct rst_chunk *c, size_t n, uint32_t id, int fd,
			bool seekable, const char *what)
{
	size_t i, done;
	ssize_t w;

	for (i = 0; i < n; i++) {
		if (c[i].id != id)
			continue;
		for (done = 0; done < c[i].len; done += w) {
			if (seekable)
				w = pwrite(fd, c[i].buf + done, c[i].len - done, c[i].offset + done);
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

static int set_pipe_size(int fd, const FileEntry *fe)
{
	if (fe->has_pipe_size && fe->pipe_size &&
	    fcntl(fd, F_SETPIPE_SZ, fe->pipe_size) < 0 && errno != EPERM) {
		pr_perror("pipe %u: F_SETPIPE_SZ %u", fe->pipe_id, fe->pipe_size);
		return -errno;
	}
	return 0;
}

/* The other description of the same pipe, if it is in the image. */
static struct rst_file *pipe_peer(const struct rst_image *img, const struct rst_file *f)
{
	size_t i;

	for (i = 0; i < img->nr_files; i++) {
		struct rst_file *p = &img->files[i];

		if (p != f && p->fe->kind == FILE_KIND__FILE_PIPE &&
		    p->fe->pipe_id == f->fe->pipe_id)
			return p;
	}
	return NULL;
}

static int set_fl(int fd, uint32_t flags)
{
	if (fcntl(fd, F_SETFL, flags & SETFL_MASK)) {
		pr_perror("fd %d: F_SETFL %#x", fd, flags);
		return -errno;
	}
	return 0;
}

/* Recreates a pipe with its buffered data; stages the end(s) in the image. */
static int open_pipe(const struct rst_image *img, struct rst_file *f)
{
	struct rst_file *peer = pipe_peer(img, f), *rd, *wr;
	char what[32];
	int p[2], ret;

	if (pipe2(p, O_NONBLOCK)) {
		pr_perror("pipe2");
		return -errno;
	}
	snprintf(what, sizeof(what), "pipe %u", f->fe->pipe_id);
	ret = set_pipe_size(p[0], f->fe);
	if (!ret)
		ret = write_chunks(img->pdata, img->nr_pdata, f->fe->pipe_id, p[1], false, what);
	if (ret) {
		close(p[0]);
		close(p[1]);
		return ret;
	}
	rd = (f->fe->flags & O_ACCMODE) == O_WRONLY ? peer : f;
	wr = rd == f ? peer : f;
	p[0] = stage_fd(p[0], TEMP_BASE(img));
	p[1] = stage_fd(p[1], TEMP_BASE(img));
	if (p[0] < 0 || p[1] < 0)
		return -EMFILE;
	if (rd) {
		rd->stage_fd = p[0];
		ret = set_fl(p[0], rd->fe->flags);
	}
	if (wr && !ret) {
		wr->stage_fd = p[1];
		ret = set_fl(p[1], wr->fe->flags);
	}
	return ret;
}

/* Reopens a FIFO without blocking and refills it. */
static int open_fifo(const struct rst_image *img, struct rst_file *f)
{
	const FileEntry *fe = f->fe;
	uint32_t id = fe->has_pipe_id ? fe->pipe_id : fe->id;
	int rw, fd, ret;

	rw = rst_open_recorded(fe, O_RDWR | O_NONBLOCK);	/* checked: a FIFO */
	if (rw < 0)
		return rw;
	fd = rst_open_recorded(fe, (fe->flags & ~OPEN_FLAGS_DROP) | O_NONBLOCK);
	if (fd < 0) {
		ret = fd;
		goto out_close;
	}
	ret = set_pipe_size(fd, fe);
	if (!ret)
		ret = write_chunks(img->pdata, img->nr_pdata, id, rw, false, fe->path);
	if (!ret)
		ret = set_fl(fd, fe->flags);
	if (ret) {
		close(fd);
		goto out_close;
	}
	fd = stage_fd(fd, TEMP_BASE(img));
	f->stage_fd = fd;
	ret = fd < 0 ? fd : 0;
out_close:
	close(rw);
	return ret;
}

/*
 * An unnamed file (O_TMPFILE) in the directory of deleted file path, or in
 * /tmp when that directory is gone or cannot hold one.  Nothing is ever
 * linked: no name appears anywhere, not even for a moment, and a killed
 * restore leaves nothing behind.  fd or -errno.
 */
static int ghost_create(const char *path)
{
	struct open_how how = {
		.flags = O_RDWR | O_TMPFILE | O_CLOEXEC,
		.mode = 0600,
		.resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
	};
	char *dir = dirname(strdupa(path));
	long fd;

	fd = syscall(SYS_openat2, AT_FDCWD, dir, &how, sizeof(how));
	if (fd < 0)
		fd = open("/tmp", O_RDWR | O_TMPFILE | O_CLOEXEC, 0600);
	return fd < 0 ? -errno : (int)fd;
}

/*
 * Recreates a deleted file as a ghost (see ghost_create), fills it from the
 * FILE_DATA records, gives it its size and, last, its mode (set-id bits
 * only now: writes would clear them, and the file has no name), then
 * reopens it with flags.  Its fd link reads "DIR/#INODE (deleted)", not
 * the old name.  Serves deleted fds and deleted files behind mappings
 * alike.  Returns the fd or -errno (logged).
 */
static int ghost_open(const struct rst_image *img, const FileEntry *fe, int flags)
{
	char path[4096], proc[64];
	int cfd, fd = -1, ret;
	size_t l;

	snprintf(path, sizeof(path), "%s", fe->path ? fe->path : "/");
	l = strlen(path);
	if (l > 10 && !strcmp(path + l - 10, " (deleted)"))
		path[l - 10] = '\0';
	cfd = ghost_create(path);
	if (cfd < 0) {
		pr_err("cannot recreate deleted file %s: %s\n", path, strerror(-cfd));
		return cfd;
	}
	ret = write_chunks(img->fdata, img->nr_fdata, fe->id, cfd, true, path);
	if (!ret && ((fe->has_size && ftruncate(cfd, fe->size)) || fchmod(cfd, fe->mode & 07777)))
		ret = -errno;
	if (!ret) {
		snprintf(proc, sizeof(proc), "/proc/self/fd/%d", cfd);
		fd = open(proc, flags & ~(O_CREAT | O_EXCL | O_TRUNC | O_TMPFILE | O_NOFOLLOW));
		if (fd < 0)
			ret = -errno;
	}
	close(cfd);
	if (ret) {
		pr_err("cannot recreate deleted file %s: %s\n", path, strerror(-ret));
		return ret;
	}
	return fd;
}

/* A deleted-while-open fd: its ghost file, at the recorded offset. */
static int open_deleted(const struct rst_image *img, struct rst_file *f)
{
	const FileEntry *fe = f->fe;
	int fd;

	fd = ghost_open(img, fe, fe->flags & ~OPEN_FLAGS_DROP);
	if (fd < 0)
		return fd;
	if (fe->pos && lseek(fd, fe->pos, SEEK_SET) < 0)
		pr_warn("%s: cannot seek to %llu\n", fe->path, (unsigned long long)fe->pos);
	f->stage_fd = stage_fd(fd, TEMP_BASE(img));
	return f->stage_fd < 0 ? f->stage_fd : 0;
}

/* Reopens a file, directory, device or terminal by path. */
static int open_by_path(const struct rst_image *img, struct rst_file *f)
{
	const FileEntry *fe = f->fe;
	int fd;

	fd = rst_open_recorded(fe, fe->flags & ~OPEN_FLAGS_DROP);
	if (fd < 0)
		return fd;
	if (fe->pos && (fe->kind == FILE_KIND__FILE_REG || fe->kind == FILE_KIND__FILE_DIR) &&
	    lseek(fd, fe->pos, SEEK_SET) < 0) {
		pr_perror("%s: cannot seek to %llu", fe->path, (unsigned long long)fe->pos);
		close(fd);
		return -errno;
	}
	f->stage_fd = stage_fd(fd, TEMP_BASE(img));
	return f->stage_fd < 0 ? f->stage_fd : 0;
}

/* A memfd fd: a new description of its pooled object. */
static int open_memfd(const struct rst_image *img, struct rst_file *f)
{
	int fd = rshm_open_file(img, f->fe);

	if (fd < 0)
		return fd;
	f->stage_fd = stage_fd(fd, TEMP_BASE(img));
	return f->stage_fd < 0 ? f->stage_fd : set_fl(f->stage_fd, f->fe->flags);
}

static int open_file(const struct rst_image *img, struct rst_file *f)
{
	switch (f->fe->kind) {
	case FILE_KIND__FILE_MAPONLY:
		return 0;
	case FILE_KIND__FILE_MEMFD:
		return open_memfd(img, f);
	case FILE_KIND__FILE_PIPE:
		return open_pipe(img, f);
	case FILE_KIND__FILE_FIFO:
		return open_fifo(img, f);
	default:
		if (!f->fe->path) {
			pr_err("image: file id %u has no path\n", f->fe->id);
			return -EINVAL;
		}
		return f->fe->deleted ? open_deleted(img, f) : open_by_path(img, f);
	}
}

/* fd is an external pipe end or terminal on 0-2 that we can hand over. */
static bool fd_inherited(const struct rst_image *img, const FdEntry *e, const FileEntry *fe)
{
	if (e->fd > 2 || (int)e->fd == img->img_fd || !img->opts->inherit_stdio)
		return false;
	if (!fe->external && fe->kind != FILE_KIND__FILE_TTY)
		return false;
	return fcntl(e->fd, F_GETFD) >= 0;
}

/* Closes every fd except the inherited stdio ones and the report fd. */
static void close_others(const struct rst_image *img, const bool keep[3])
{
	int fd;

	for (fd = 0; fd < 3; fd++)
		if (!keep[fd])
			close(fd);
	if (img->ctl_fd > 3)
		syscall(SYS_close_range, 3, img->ctl_fd - 1, 0);
	syscall(SYS_close_range, img->ctl_fd + 1, ~0U, 0);
}

static int place_fds(struct rst_proc *proc, const bool keep[3])
{
	size_t i;

	for (i = 0; i < proc->fdt->n_fds; i++) {
		const FdEntry *e = proc->fdt->fds[i];
		struct rst_file *f = plan_file(proc->img, e->file_id);

		if (!(e->fd <= 2 && keep[e->fd])) {
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
	close_others(img, keep);
	if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	ret = rshm_create_pool(img);
	if (ret)
		return ret;
	for (i = 0; i < img->nr_files; i++) {
		struct rst_file *f = &img->files[i];

		if (f->stage_fd >= 0 || f->inherited)
			continue;
		ret = open_file(img, f);
		if (ret)
			return ret;
	}
	/* dups of an inherited description come from our fd of that number */
	for (i = 0; i < proc->fdt->n_fds; i++) {
		const FdEntry *e = proc->fdt->fds[i];
		struct rst_file *f = plan_file(img, e->file_id);

		if (f->inherited && f->stage_fd < 0 && e->fd <= 2 && keep[e->fd])
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
	return files_open_maps(img);
}

/*
 * Child: the file behind mappings or the exe link, by path (checked to be
 * the inode dumped) or, if it was deleted, as a ghost file.  fd or -errno.
 */
static int open_mapped(const struct rst_image *img, const struct rst_file *f)
{
	int flags = f->map_write ? O_RDWR : O_RDONLY;

	if (f->fe->deleted)
		return ghost_open(img, f->fe, flags);
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
			continue;	/* opened right where it belongs */
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
	if (f->fe->kind == FILE_KIND__FILE_MAPONLY)
		return -1;
	return img->stage_base + (int)(f - img->files);
}
