/*
 * Opening a host object that an image names by path.  The image is data,
 * possibly hostile: a record saying "FIFO /etc/passwd" or "reopen this
 * path for writing" must not make a root restore open, create, truncate
 * or write anything but the very object dumped.  So every path is
 * resolved without following any symlink (and without creating), first as
 * an O_PATH handle, which has no effect on the object; its type must be
 * the recorded one, and so must its device and inode numbers (and rdev
 * for devices) where the record has them; only that inode is then opened
 * with the wanted flags, through /proc/self/fd, so no second lookup can
 * land elsewhere.
 */
#define LOG_PREFIX "restore/open: "
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <linux/openat2.h>

#include "log.h"
#include "restore/restore.h"

#define NEVER_FLAGS (O_CREAT | O_EXCL | O_TRUNC | O_TMPFILE | O_PATH | O_NOFOLLOW)

/* The st_mode type a record of this kind must find. */
static mode_t kind_type(const FileEntry *fe)
{
	const struct rst_fd_kind *k = rst_fd_kind(fe->kind);

	if (k && k->type)
		return k->type;
	return fe->has_mode ? fe->mode & S_IFMT : S_IFREG; /* as dumped */
}

static const char *type_name(mode_t type)
{
	switch (type & S_IFMT) {
	case S_IFIFO:
		return "a FIFO";
	case S_IFCHR:
		return "a character device";
	case S_IFBLK:
		return "a block device";
	case S_IFDIR:
		return "a directory";
	case S_IFREG:
		return "a regular file";
	case S_IFLNK:
		return "a symlink";
	case S_IFSOCK:
		return "a socket";
	default:
		return "an unknown kind of file";
	}
}

/* O_PATH handle on path, no symlink followed anywhere.  fd or -errno. */
static int open_path_handle(const char *path)
{
	struct open_how how = {
		.flags = O_PATH | O_NOFOLLOW | O_CLOEXEC,
		.resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
	};
	long fd;

	fd = syscall(SYS_openat2, AT_FDCWD, path, &how, sizeof(how));
	if (fd < 0 && errno == ENOSYS)
		fd = open(path, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	return fd < 0 ? -errno : (int)fd;
}

/* Does st match what fe recorded?  0, or -ESTALE/-EPERM (logged). */
static int check_recorded(const FileEntry *fe, const struct stat *st)
{
	mode_t want = kind_type(fe);

	if (fe->has_mode && (fe->mode & S_IFMT) != want) {
		pr_err("image: file id %u (%s): kind and mode disagree\n", fe->id, fe->path);
		return -EPERM;
	}
	if ((st->st_mode & S_IFMT) != want) {
		pr_err("%s is %s, the image says %s: not opening it\n", fe->path,
		       type_name(st->st_mode), type_name(want));
		return -EPERM;
	}
	if ((fe->has_ino && fe->ino != st->st_ino) || (fe->has_dev && fe->dev != st->st_dev)) {
		pr_err("%s was replaced since the dump (inode %llu, was %llu)\n", fe->path,
		       (unsigned long long)st->st_ino, (unsigned long long)fe->ino);
		return -ESTALE;
	}
	if ((S_ISCHR(want) || S_ISBLK(want)) && fe->has_rdev && fe->rdev != st->st_rdev) {
		pr_err("%s is device %u:%u, the image says %u:%u: not opening it\n", fe->path,
		       major(st->st_rdev), minor(st->st_rdev), major(fe->rdev), minor(fe->rdev));
		return -EPERM;
	}
	return 0;
}

/*
 * Is fe->path (no symlink followed) the object fe recorded (type; device,
 * inode and rdev where recorded)?  Nothing is opened but an O_PATH
 * handle.  0 or -errno (logged).
 */
int rst_check_recorded(const FileEntry *fe)
{
	struct stat st;
	int h, ret;

	if (!fe->path || fe->path[0] != '/') {
		pr_err("image: file id %u: no absolute path to check\n", fe->id);
		return -EINVAL;
	}
	h = open_path_handle(fe->path);
	if (h < 0) {
		pr_err("cannot find %s: %s\n", fe->path,
		       h == -ELOOP ? "a symlink on the way (not followed)" : strerror(-h));
		return h;
	}
	ret = fstat(h, &st) ? -errno : check_recorded(fe, &st);
	if (ret && ret != -EPERM && ret != -ESTALE)
		pr_err("cannot stat %s: %s\n", fe->path, strerror(-ret));
	close(h);
	return ret;
}

int rst_open_recorded(const FileEntry *fe, int flags)
{
	char self[40];
	struct stat st;
	int h, fd, ret;

	if (!fe->path || fe->path[0] != '/') {
		pr_err("image: file id %u: no absolute path to open\n", fe->id);
		return -EINVAL;
	}
	h = open_path_handle(fe->path);
	if (h < 0) {
		pr_err("cannot open %s: %s\n", fe->path,
		       h == -ELOOP ? "a symlink on the way (not followed)" : strerror(-h));
		return h;
	}
	ret = fstat(h, &st) ? -errno : check_recorded(fe, &st);
	if (ret) {
		if (ret != -EPERM && ret != -ESTALE)
			pr_err("cannot stat %s: %s\n", fe->path, strerror(-ret));
		close(h);
		return ret;
	}
	snprintf(self, sizeof(self), "/proc/self/fd/%d", h);
	fd = open(self, (flags & ~NEVER_FLAGS) | O_NOCTTY);
	ret = fd < 0 ? -errno : fd;
	if (fd < 0)
		pr_err("cannot open %s: %s\n", fe->path, strerror(errno));
	close(h);
	return ret;
}
