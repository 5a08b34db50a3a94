/*
 * Pipes and FIFOs (fd kinds "pipe" and "fifo"), in the root's C part: a
 * pipe is made once for both of its ends when both are in the image (the
 * peer with the same pipe_id), refilled with its PIPE_DATA bytes; a FIFO
 * is reopened by path, checked to be the recorded one, and refilled.
 */
#define LOG_PREFIX "restore: "
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>
#include <sys/stat.h>

#include "log.h"
#include "restore/restore.h"

#define OPEN_FLAGS_DROP (O_CREAT | O_EXCL | O_TRUNC | O_CLOEXEC | (O_TMPFILE & ~O_DIRECTORY))

/*
 * F_SETPIPE_SZ as recorded, exactly: a size this host refuses (above
 * fs.pipe-max-size without CAP_SYS_RESOURCE) is refused in one line, not
 * left at the default.  0/-errno (logged).
 */
static int set_pipe_size(int fd, const FileEntry *fe)
{
	int got;

	if (!fe->has_pipe_size || !fe->pipe_size)
		return 0;
	if (fcntl(fd, F_SETPIPE_SZ, fe->pipe_size) < 0) {
		if (errno == EPERM)
			pr_err("pipe %u: its size %u is above this host's fs.pipe-max-size and "
			       "restore lacks CAP_SYS_RESOURCE\n",
			       fe->pipe_id, fe->pipe_size);
		else
			pr_perror("pipe %u: F_SETPIPE_SZ %u", fe->pipe_id, fe->pipe_size);
		return -errno;
	}
	got = fcntl(fd, F_GETPIPE_SZ);
	if (got != (int)fe->pipe_size) {
		pr_err("pipe %u: F_SETPIPE_SZ %u gave %d bytes\n", fe->pipe_id, fe->pipe_size, got);
		return -EINVAL;
	}
	return 0;
}

/*
 * The image alone: a size the kernel could have given (a power of two
 * number of pages up to 2^31) holding the recorded bytes.
 */
static int check_pipe(const struct rst_image *img, const struct rst_file *f)
{
	const FileEntry *fe = f->fe;
	uint32_t sz = fe->pipe_size;

	if (!fe->has_pipe_size || !sz)
		return 0; /* none recorded: the default (older images) */
	if (sz < 4096 || sz > (1U << 31) || (sz & (sz - 1)) || fe->data_len > sz) {
		pr_err("image: pipe %u (file id %u): size %u or %llu bytes buffered out of range\n",
		       fe->pipe_id, fe->id, sz, (unsigned long long)fe->data_len);
		return -EBADMSG;
	}
	return 0;
}

/* A FIFO: its pipe's size and bytes, and its ghost when it was removed. */
static int check_fifo(const struct rst_image *img, const struct rst_file *f)
{
	return check_pipe(img, f) ?: ghost_check_image(img, f);
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
		ret = rst_write_chunks(img->pdata, img->nr_pdata, f->fe->pipe_id, p[1], false,
				       what);
	if (ret) {
		close(p[0]);
		close(p[1]);
		return ret;
	}
	rd = (f->fe->flags & O_ACCMODE) == O_WRONLY ? peer : f;
	wr = rd == f ? peer : f;
	p[0] = rst_stage_fd(img, p[0]);
	p[1] = rst_stage_fd(img, p[1]);
	if (p[0] < 0 || p[1] < 0)
		return -EMFILE;
	if (rd) {
		rd->stage_fd = p[0];
		ret = rst_set_fl(p[0], rd->fe->flags);
	}
	if (wr && !ret) {
		wr->stage_fd = p[1];
		ret = rst_set_fl(p[1], wr->fe->flags);
	}
	return ret;
}

static uint32_t fifo_id(const FileEntry *fe)
{
	return fe->has_pipe_id ? fe->pipe_id : fe->id;
}

/* Is f the first description of its FIFO in the image (the one refilling it)? */
static bool fifo_first(const struct rst_image *img, const struct rst_file *f)
{
	size_t i;

	for (i = 0; &img->files[i] != f; i++)
		if (img->files[i].fe->kind == FILE_KIND__FILE_FIFO &&
		    fifo_id(img->files[i].fe) == fifo_id(f->fe))
			return false;
	return true;
}

/* The FIFO of f opened with flags: by its path, or its ghost if removed. */
static int fifo_open(const struct rst_image *img, const struct rst_file *f, int flags)
{
	if (f->fe->deleted)
		return ghost_open(img, f, flags);
	return rst_open_recorded(f->fe, flags); /* checked: a FIFO */
}

/*
 * Reopens a FIFO (a removed one: its ghost) without blocking; its first
 * description refills it (its bytes are the FIFO's, not each one's).
 */
static int open_fifo(const struct rst_image *img, struct rst_file *f)
{
	const FileEntry *fe = f->fe;
	int rw, fd, ret;

	rw = fifo_open(img, f, O_RDWR | O_NONBLOCK);
	if (rw < 0)
		return rw;
	fd = fifo_open(img, f, (fe->flags & ~OPEN_FLAGS_DROP) | O_NONBLOCK);
	if (fd < 0) {
		ret = fd;
		goto out_close;
	}
	ret = set_pipe_size(fd, fe);
	if (!ret && fifo_first(img, f))
		ret = rst_write_chunks(img->pdata, img->nr_pdata, fifo_id(fe), rw, false, fe->path);
	if (!ret)
		ret = rst_set_fl(fd, fe->flags);
	if (ret) {
		close(fd);
		goto out_close;
	}
	fd = rst_stage_fd(img, fd);
	f->stage_fd = fd;
	ret = fd < 0 ? fd : 0;
out_close:
	close(rw);
	return ret;
}

const struct rst_fd_kind rst_fd_pipe = {
	.kind = FILE_KIND__FILE_PIPE,
	.name = "pipe",
	.check_image = check_pipe,
	.open = open_pipe,
};
const struct rst_fd_kind rst_fd_fifo = {
	.kind = FILE_KIND__FILE_FIFO,
	.name = "FIFO",
	.type = S_IFIFO,
	.check_image = check_fifo,
	.check_host = files_check_path,
	.open = open_fifo,
};
