/*
 * Opening a file that decides what root does (an image to restore, a
 * trusted-keys directory) only if nobody but root, or the caller, can have
 * written or replaced it, judged as ssh and sudo judge their files: the
 * file and every directory above it owned by root or the caller and not
 * writable by group or others (a sticky directory such as /tmp may be).
 * The walk starts at / and opens each directory with O_PATH|O_NOFOLLOW
 * relative to the one before, checking the open fd (fstat), so no path is
 * resolved twice and no symlink is followed.  NOTES: "Trust of images".
 */
#define LOG_PREFIX "util/trust: "
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "log.h"
#include "util/cleanup.h"
#include "vxcr/vxcr.h"

struct trust_walk {
	const char *what; /* "image" */
	const char *path; /* as the caller gave it */
	const char *hint; /* how to make it trusted */
};

/* Logs the one-line refusal and returns err. */
static int refuse(const struct trust_walk *tw, int err, const char *why)
{
	pr_err("%s %s: %s: refusing (%s)\n", tw->what, tw->path, why, tw->hint);
	return err;
}

/*
 * Whether st may be trusted: owned by root or us, not writable by group or
 * others; dirname set: a directory above the object, which may be
 * writable if sticky (nobody can replace another's file there).  NULL if
 * trusted, else why not, in buf.
 */
static const char *untrusted(const struct stat *st, const char *dirname, char *buf, size_t len)
{
	bool sticky = dirname && (st->st_mode & S_ISVTX);
	char owner[32];
	const char *why;

	if (st->st_uid != 0 && st->st_uid != geteuid()) {
		snprintf(owner, sizeof(owner), "owned by uid %u", (unsigned)st->st_uid);
		why = owner;
	} else if ((st->st_mode & S_IWOTH) && !sticky) {
		why = "writable by others";
	} else if ((st->st_mode & S_IWGRP) && !sticky) {
		why = "writable by group";
	} else {
		return NULL;
	}
	if (dirname)
		snprintf(buf, len, "directory %s %s", dirname, why);
	else
		snprintf(buf, len, "%s", why);
	return buf;
}

/* Opens component c under dirfd as a directory to walk through, checked. */
static int walk_dir(const struct trust_walk *tw, int dirfd, const char *c, const char *sofar)
{
	char why[PATH_MAX + 64];
	struct stat st;
	int fd;

	fd = openat(dirfd, c, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		snprintf(why, sizeof(why), "%s: %s", sofar, strerror(errno));
		return refuse(tw, -errno, why);
	}
	if (fstat(fd, &st)) {
		snprintf(why, sizeof(why), "%s: %s", sofar, strerror(errno));
		close(fd);
		return refuse(tw, -EIO, why);
	}
	if (!S_ISDIR(st.st_mode)) {
		snprintf(why, sizeof(why), "%s is %s", sofar,
			 S_ISLNK(st.st_mode) ? "a symlink" : "not a directory");
		close(fd);
		return refuse(tw, S_ISLNK(st.st_mode) ? -ELOOP : -ENOTDIR, why);
	}
	if (untrusted(&st, sofar, why, sizeof(why))) {
		close(fd);
		return refuse(tw, -EPERM, why);
	}
	return fd;
}

/* Opens the last component under dirfd with flags and checks the file. */
static int open_last(const struct trust_walk *tw, int dirfd, const char *c, int flags)
{
	char why[PATH_MAX + 64];
	struct stat st;
	int fd;

	fd = openat(dirfd, c, flags | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && errno == ELOOP)
		return refuse(tw, -ELOOP, "a symlink");
	if (fd < 0) {
		pr_err("%s %s: %s\n", tw->what, tw->path, strerror(errno));
		return -errno;
	}
	if (fstat(fd, &st)) {
		close(fd);
		return -errno;
	}
	if (untrusted(&st, NULL, why, sizeof(why))) {
		close(fd);
		return refuse(tw, -EPERM, why);
	}
	return fd;
}

/* The absolute form of path in buf (relative: under the current directory). */
static int absolute(const char *path, char *buf, size_t len)
{
	size_t n;

	if (path[0] == '/') {
		n = snprintf(buf, len, "%s", path);
	} else {
		if (!getcwd(buf, len))
			return -errno;
		n = strlen(buf);
		n += snprintf(buf + n, len - n, "/%s", path);
	}
	return n >= len ? -ENAMETOOLONG : 0;
}

/*
 * Opens path with flags (O_NOFOLLOW and O_CLOEXEC added) only if it is
 * trusted (see the top of this file).  what names the object in the
 * refusal, hint says how to make it trusted.  Returns the fd, or -errno
 * after one log line ("image /x: writable by group: refusing (hint)").
 */
static int open_trusted(const char *path, int flags, const char *what, const char *hint)
{
	const struct trust_walk tw = { what, path, hint };
	char abs[PATH_MAX], *c, *next;
	int dirfd, fd, ret;

	ret = absolute(path, abs, sizeof(abs));
	if (ret)
		return refuse(&tw, ret, strerror(-ret));
	dirfd = walk_dir(&tw, AT_FDCWD, "/", "/");
	for (c = abs + 1; dirfd >= 0; c = next) {
		next = strchr(c, '/');
		if (!next)
			break;
		*next++ = '\0';
		if (!*c || !strcmp(c, "."))
			continue;
		fd = walk_dir(&tw, dirfd, c, abs);
		next[-1] = '/';
		close(dirfd);
		dirfd = fd;
	}
	if (dirfd < 0)
		return dirfd;
	fd = *c ? open_last(&tw, dirfd, c, flags) : -EISDIR;
	if (fd == -EISDIR && !*c)
		pr_err("%s %s: names a directory\n", what, path);
	close(dirfd);
	return fd;
}

int vxcr_open_trusted(const char *path, int flags, const char *what, const char *hint)
{
	err_op_begin();
	return err_op_end(open_trusted(path, flags, what, hint));
}
