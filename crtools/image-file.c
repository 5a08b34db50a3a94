/*
 * Image files named on the command line.
 *
 * Output (vxdump -o PATH): PATH must be absent or a regular file, never a
 * symlink.  The image goes into a new unnamed file (O_TMPFILE, 0600) in
 * PATH's directory, opened once as a dirfd; only after a complete, synced
 * image is it linked under a temporary name and renamed over PATH.  A
 * failed or killed dump leaves nothing and PATH as it was.  Where the file
 * system has no O_TMPFILE, a named temporary file (O_EXCL, O_NOFOLLOW,
 * 0600) takes its place and is removed on failure.  NOTES: "The output
 * file of vxdump".
 *
 * Input (vxrestore FILE, vxcr img CMD FILE): opened without blocking; a
 * FIFO waits at most IMAGE_FIFO_WAIT seconds for a writer.  vxrestore
 * opens it through vxcr_open_trusted() unless the image is to be checked
 * by its signature or the user trusts it (NOTES: "Trust of images").
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/random.h>
#include <sys/stat.h>

#include "vxcr/vxcr.h"
#include "cmd.h"

#define IMAGE_FIFO_WAIT 10 /* seconds a FIFO image may wait for its writer */
#define TMP_TRIES 16	   /* random temporary names tried before giving up */
#define IMAGE_TRUST_HINT                                 \
	"chown root and chmod go-w, or sign it and use " \
	"--trusted-keys, or --trust-image"

/* Formats the one line that says why into of->err. */
static int out_error(struct out_file *of, int err, const char *fmt, ...)
{
	va_list ap;
	int n;

	n = snprintf(of->err, sizeof(of->err), "dump: ");
	va_start(ap, fmt);
	vsnprintf(of->err + n, sizeof(of->err) - n, fmt, ap);
	va_end(ap);
	return err;
}

/* Splits path into of->dirpath and of->base; -EINVAL if it names no file. */
static int split_path(struct out_file *of, const char *path)
{
	const char *slash = strrchr(path, '/');
	const char *base = slash ? slash + 1 : path;
	size_t dlen = slash ? (size_t)(slash - path) : 0;

	if (!*base || !strcmp(base, ".") || !strcmp(base, "..") ||
	    strlen(base) >= sizeof(of->base) || dlen >= sizeof(of->dirpath))
		return -EINVAL;
	strcpy(of->base, base);
	if (!slash)
		strcpy(of->dirpath, ".");
	else if (!dlen)
		strcpy(of->dirpath, "/");
	else
		memcpy(of->dirpath, path, dlen), of->dirpath[dlen] = '\0';
	return 0;
}

/* 0 if of->base is absent or a regular file; else -errno (of->err says why). */
static int check_target(struct out_file *of)
{
	struct stat st;

	if (fstatat(of->dirfd, of->base, &st, AT_SYMLINK_NOFOLLOW))
		return errno == ENOENT ? 0 :
					 out_error(of, -errno, "%s: %s", of->path, strerror(errno));
	if (S_ISLNK(st.st_mode))
		return out_error(of, -ELOOP, "%s is a symlink: refusing to write through it",
				 of->path);
	if (!S_ISREG(st.st_mode))
		return out_error(of, -EEXIST,
				 "%s exists and is not a regular file: "
				 "refusing to replace it",
				 of->path);
	return 0;
}

/* A fresh name ".BASE.XXXXXX" in of->tmp (BASE shortened to fit NAME_MAX). */
static void make_tmp_name(struct out_file *of)
{
	static const char digits[] = "abcdefghijklmnopqrstuvwxyz0123456789";
	unsigned long r;
	int i, n;

	if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != sizeof(r))
		r = (unsigned long)time(NULL) ^ ((unsigned long)getpid() << 16) ^ (uintptr_t)of;

	n = snprintf(of->tmp, sizeof(of->tmp), ".%.200s.", of->base);
	for (i = 0; i < 6; i++, r /= sizeof(digits) - 1)
		of->tmp[n + i] = digits[r % (sizeof(digits) - 1)];
	of->tmp[n + i] = '\0';
}

/* The named fallback: a new 0600 file of->tmp; returns its fd or -errno. */
static int open_named_tmp(struct out_file *of)
{
	int i, fd = -EEXIST;

	for (i = 0; i < TMP_TRIES && fd == -EEXIST; i++) {
		make_tmp_name(of);
		fd = openat(of->dirfd, of->tmp,
			    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd < 0)
			fd = -errno;
	}
	if (fd < 0)
		of->tmp[0] = '\0';
	return fd;
}

/*
 * Checks path and opens the file the image is written to (of->fd).
 * Returns 0, or -errno with of->err saying why; nothing is created then.
 */
int out_file_open(struct out_file *of, const char *path)
{
	int ret;

	memset(of, 0, sizeof(*of));
	of->path = path;
	of->fd = of->dirfd = -1;
	if (split_path(of, path))
		return out_error(of, -EINVAL, "%s does not name a file", path);
	of->dirfd = open(of->dirpath, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (of->dirfd < 0)
		return out_error(of, -errno, "directory %s: %s", of->dirpath, strerror(errno));
	ret = check_target(of);
	if (ret)
		goto out_close_dir;
	of->fd = vxcr_test_skip("tmpfile") ?
			 (errno = EOPNOTSUPP, -1) :
			 openat(of->dirfd, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);
	if (of->fd < 0 && (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL))
		of->fd = open_named_tmp(of); /* no O_TMPFILE on this file system */
	else if (of->fd < 0)
		of->fd = -errno;
	if (of->fd >= 0)
		return 0;
	ret = out_error(of, of->fd, "cannot create a file in %s: %s", of->dirpath,
			strerror(-of->fd));
out_close_dir:
	close(of->dirfd);
	of->dirfd = -1;
	return ret;
}

/* Gives the unnamed file of->fd the name of->tmp. */
static int link_tmpfile(struct out_file *of)
{
	char proc[64];
	int i, ret = -EEXIST;

	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", of->fd);
	for (i = 0; i < TMP_TRIES && ret == -EEXIST; i++) {
		make_tmp_name(of);
		ret = linkat(AT_FDCWD, proc, of->dirfd, of->tmp, AT_SYMLINK_FOLLOW) ? -errno : 0;
	}
	if (ret)
		of->tmp[0] = '\0';
	return ret;
}

/*
 * Puts the complete image in place: renames it over of->path, then (sync)
 * fsyncs the directory.  The image itself is synced by the library.
 * Returns 0 or -errno with of->err saying why.
 */
int out_file_commit(struct out_file *of, bool sync)
{
	int ret;

	ret = check_target(of); /* replaced since we looked? never replace that */
	if (ret)
		return ret;
	ret = of->tmp[0] ? 0 : link_tmpfile(of);
	if (!ret && renameat(of->dirfd, of->tmp, of->dirfd, of->base))
		ret = -errno;
	if (!ret) {
		of->tmp[0] = '\0'; /* it is PATH now */
		if (sync && fsync(of->dirfd))
			ret = -errno;
	}
	if (ret)
		out_error(of, ret, "cannot put the image at %s: %s", of->path, strerror(-ret));
	return ret;
}

/* Closes the image file; removes what we created unless it was committed. */
int out_file_close(struct out_file *of)
{
	int ret = 0;

	if (of->tmp[0])
		unlinkat(of->dirfd, of->tmp, 0);
	of->tmp[0] = '\0';
	if (of->fd >= 0 && close(of->fd))
		ret = -errno;
	if (of->dirfd >= 0)
		close(of->dirfd);
	of->fd = of->dirfd = -1;
	return ret;
}

static void on_alarm(int sig)
{
	(void)sig; /* only interrupts the open() */
}

/* fd is a FIFO opened without blocking: waits for a writer, returns a new fd. */
static int wait_fifo_writer(const char *what, const char *path, int fd)
{
	struct sigaction sa = { .sa_handler = on_alarm }, old;
	char proc[64];
	int nfd, err;

	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	sigaction(SIGALRM, &sa, &old); /* no SA_RESTART: open() returns EINTR */
	alarm(IMAGE_FIFO_WAIT);
	nfd = open(proc, O_RDONLY | O_CLOEXEC);
	err = errno;
	alarm(0);
	sigaction(SIGALRM, &old, NULL);
	close(fd);
	if (nfd >= 0)
		return nfd;
	if (err == EINTR)
		cli_error("%s: %s is a FIFO with no writer after %d s", what, path,
			  IMAGE_FIFO_WAIT);
	else
		cli_error("%s: %s: %s", what, path, strerror(err));
	return -1;
}

/*
 * Opens the image path for reading (NULL or "-": stdin, trusted as the
 * caller chose it); trusted: only a file nobody but root or the caller can
 * have written or replaced.  Never blocks for long: a FIFO gets
 * IMAGE_FIFO_WAIT seconds to find a writer.  Returns the fd, or -1 after
 * one line on stderr naming what (the command) and path.
 */
int image_open_input(const char *what, const char *path, bool trusted)
{
	const int flags = O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY;
	struct stat st;
	int fd;

	if (!path || !strcmp(path, "-"))
		return STDIN_FILENO;
	if (trusted) {
		fd = vxcr_open_trusted(path, flags, "image", IMAGE_TRUST_HINT);
		if (fd < 0) {
			cli_error("%s: %s", what, vxcr_last_error());
			return -1;
		}
	} else {
		fd = open(path, flags);
	}
	if (fd < 0 || fstat(fd, &st)) {
		cli_error("%s: %s: %s", what, path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (S_ISFIFO(st.st_mode))
		return wait_fifo_writer(what, path, fd);
	if (S_ISDIR(st.st_mode)) {
		cli_error("%s: %s is a directory", what, path);
		close(fd);
		return -1;
	}
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	return fd;
}
