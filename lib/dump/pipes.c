/*
 * Pipes and FIFOs (fd kinds "pipe" and "fifo"): ids shared by the ends of
 * one pipe, which ends are external, and the buffered bytes, peeked
 * without consuming them (tee() into a private pipe of the same size, then
 * read from that).
 */
#include <errno.h>
#include <stdio.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <linux/capability.h>
#include <sys/stat.h>

#define LOG_PREFIX "dump/pipes: "
#include "log.h"
#include "dump/dump.h"
#include "img/img.h"
#include "img/records.h"

#define PIPE_CHUNK (4ul << 20)

static int read_all(int fd, uint8_t *buf, size_t len)
{
	size_t done = 0;
	ssize_t r;

	while (done < len) {
		r = read(fd, buf + done, len - done);
		if (r <= 0)
			return r < 0 ? -errno : -EIO;
		done += r;
	}
	return 0;
}

/* Copies the bytes buffered in the pipe read through rfd into df. */
static int pipe_peek(struct dump_file *df, int rfd, pid_t pid, int fd)
{
	int avail = 0, tmp[2], ret;
	ssize_t r;

	if (ioctl(rfd, FIONREAD, &avail)) {
		pr_perror("pid %d fd %d: FIONREAD on %s", pid, fd, df->path);
		return -errno;
	}
	PB_SET(&df->e, data_len, avail);
	if (!avail)
		return 0;
	if (pipe2(tmp, O_CLOEXEC | O_NONBLOCK)) {
		pr_perror("pid %d fd %d: cannot create a pipe", pid, fd);
		return -errno;
	}
	ret = -ENOMEM;
	df->pipe_data = malloc(avail);
	if (!df->pipe_data)
		goto out_close;
	if (fcntl(tmp[1], F_SETPIPE_SZ, df->e.pipe_size) < 0) {
		ret = -errno;
		pr_perror("pid %d fd %d: %s: cannot size a peek pipe to %u bytes", pid, fd,
			  df->path, df->e.pipe_size);
		goto out_close;
	}
	r = tee(rfd, tmp[1], avail, SPLICE_F_NONBLOCK);
	if (r != avail) {
		ret = r < 0 ? -errno : -EIO;
		pr_err("pid %d fd %d: %s: cannot peek its %d buffered bytes (got %zd)\n", pid, fd,
		       df->path, avail, r);
		goto out_close;
	}
	ret = read_all(tmp[0], df->pipe_data, avail);
	if (ret)
		pr_err("pid %d fd %d: %s: cannot read peeked bytes\n", pid, fd, df->path);
	else
		df->pipe_data_len = avail;
out_close:
	close(tmp[0]);
	close(tmp[1]);
	return ret;
}

/* Do we have CAP_SYS_RESOURCE (pipes above fs.pipe-max-size)? */
static bool have_sys_resource(void)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2];

	memset(d, 0, sizeof(d));
	return !syscall(SYS_capget, &h, d) && (d[0].effective & (1u << CAP_SYS_RESOURCE));
}

/*
 * A pipe size restore cannot give (F_SETPIPE_SZ above fs.pipe-max-size
 * needs CAP_SYS_RESOURCE, which we lack): refused here, not found out at
 * restore.  Within it root's restore is never refused (CAP_SYS_ADMIN
 * lifts the pipe-user-pages limits).  0 or -EOPNOTSUPP (logged).
 */
static int check_pipe_size(const struct dump_file *df, int size, pid_t pid, int fd)
{
	unsigned long max = 0;
	char *text;

	if (size <= 65536 || proc_read_file(0, "sys/fs/pipe-max-size", &text, NULL))
		return 0;
	max = strtoul(text, NULL, 10);
	free(text);
	if ((unsigned long)size <= max || have_sys_resource())
		return 0;
	pr_err("pid %d fd %d: %s: its size %d is above fs.pipe-max-size (%lu) and restore "
	       "lacks CAP_SYS_RESOURCE: not supported\n",
	       pid, fd, df->path, size, max);
	return -EOPNOTSUPP;
}

/*
 * Gives df (a pipe or FIFO end, already in f) the pipe id of its inode; the
 * first end seen of a pipe also records its size and buffered bytes.
 * 0 or -errno (logged).
 */
static int pipe_assign_id(struct dump_files *f, struct dump_file *df, int rfd, pid_t pid, int fd)
{
	size_t i;
	int size;

	for (i = 0; i < f->n; i++) {
		const struct dump_file *g = &f->v[i];

		if (g == df || !g->e.has_pipe_id || g->e.dev != df->e.dev || g->e.ino != df->e.ino)
			continue;
		PB_SET(&df->e, pipe_id, g->e.pipe_id);
		PB_SET(&df->e, pipe_size, g->e.pipe_size);
		PB_SET(&df->e, data_len, g->e.data_len);
		return 0;
	}
	PB_SET(&df->e, pipe_id, ++f->next_pipe_id);
	size = fcntl(rfd, F_GETPIPE_SZ);
	if (size < 0) {
		pr_perror("pid %d fd %d: F_GETPIPE_SZ on %s", pid, fd, df->path);
		return -errno;
	}
	PB_SET(&df->e, pipe_size, size);
	return check_pipe_size(df, size, pid, fd) ?: pipe_peek(df, rfd, pid, fd);
}

static bool is_pipe(const struct fd_probe *p)
{
	return S_ISFIFO(p->st.st_mode) && fd_link_starts(p, "pipe:");
}

static bool is_fifo(const struct fd_probe *p)
{
	return S_ISFIFO(p->st.st_mode);
}

/*
 * A pipe or FIFO end: which ends it holds, its pipe id, size and (first
 * end seen) buffered bytes.  0 or -errno (logged).
 */
static int dump_pipe(struct dump_op *op, struct fd_probe *p, struct dump_file *df)
{
	int acc = p->fi.flags & O_ACCMODE;
	bool deleted;
	char who[48];
	int rfd, ret;

	df->e.kind = is_pipe(p) ? FILE_KIND__FILE_PIPE : FILE_KIND__FILE_FIFO;
	df->pipe_read = acc != O_WRONLY;
	df->pipe_write = acc != O_RDONLY;
	deleted = !is_pipe(p) && proc_strip_deleted(p->link);
	ret = fd_set_path(df, p->link);
	if (!ret && deleted) { /* a removed FIFO: a ghost (deleted.c) */
		snprintf(who, sizeof(who), "pid %d fd %d", p->pid, p->fd);
		ret = deleted_probe(&op->files, df, who, &p->st);
	}
	if (ret)
		return ret;
	/* tee() needs a read end: the target's own, or one opened through /proc */
	if (df->pipe_read && df->local_fd >= 0)
		rfd = fcntl(df->local_fd, F_DUPFD_CLOEXEC, 0);
	else
		rfd = fd_reopen_ro(p, O_NONBLOCK);
	if (rfd < 0) {
		pr_perror("pid %d fd %d: cannot open %s for reading", p->pid, p->fd, p->link);
		return -errno;
	}
	ret = pipe_assign_id(&op->files, df, rfd, p->pid, p->fd);
	close(rfd);
	return ret;
}

const struct dump_fd_kind dump_fd_pipe = { "pipe", is_pipe, dump_pipe, NULL };
const struct dump_fd_kind dump_fd_fifo = { "fifo", is_fifo, dump_pipe, NULL };

/* A pipe is external when the dump does not hold both of its ends. */
void pipes_mark_external(struct dump_files *f)
{
	size_t i, j;

	for (i = 0; i < f->n; i++) {
		struct dump_file *df = &f->v[i];
		bool r = false, w = false;

		if (!df->e.has_pipe_id)
			continue;
		for (j = 0; j < f->n; j++) {
			if (f->v[j].e.has_pipe_id && f->v[j].e.pipe_id == df->e.pipe_id) {
				r |= f->v[j].pipe_read;
				w |= f->v[j].pipe_write;
			}
		}
		PB_SET(&df->e, external, !(r && w));
	}
}

/* PIPE_DATA records, once per pipe id.  0 or -errno (logged). */
int write_pipe_data(struct dump_op *op)
{
	struct img_data_prefix pfx = { 0, 0, 0 };
	size_t i, len;
	int ret;

	for (i = 0; i < op->files.n; i++) {
		const struct dump_file *df = &op->files.v[i];

		if (!df->pipe_data_len)
			continue;
		pfx.id = df->e.pipe_id;
		for (pfx.offset = 0; pfx.offset < df->pipe_data_len; pfx.offset += len) {
			len = df->pipe_data_len - pfx.offset;
			if (len > PIPE_CHUNK)
				len = PIPE_CHUNK;
			ret = img_write_raw2(op->w, IMG_REC_PIPE_DATA, 0, &pfx, sizeof(pfx),
					     df->pipe_data + pfx.offset, len);
			if (ret) {
				pr_err("pipe %u: cannot write its data: %s\n", pfx.id,
				       strerror(-ret));
				return ret;
			}
		}
	}
	return 0;
}
