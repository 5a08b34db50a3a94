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
#include <sys/statfs.h>
#include <linux/magic.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <linux/openat2.h>

#include "log.h"
#include "restore/restore.h"
#include "restore/mntns.h"

/* O_ASYNC: set later by fown.c (an open with it would make that a no-op) */
#define NEVER_FLAGS \
	(O_CREAT | O_EXCL | O_TRUNC | (O_TMPFILE & ~O_DIRECTORY) | O_PATH | O_NOFOLLOW | O_ASYNC)

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

static int outside_root = -1; /* rst_open_outside_root */

void rst_open_outside_root(int fd)
{
	if (outside_root >= 0)
		close(outside_root);
	outside_root = fd;
}

int rst_open_outside_fd(void)
{
	return outside_root;
}

/*
 * O_PATH handle on fe's path, no symlink followed anywhere; a file
 * outside a context's root: below the host's root (rst_open_outside_root).
 * fd or -errno.
 */
static int open_path_handle(const FileEntry *fe, int extra)
{
	struct open_how how = {
		.flags = O_PATH | O_NOFOLLOW | O_CLOEXEC | extra,
		.resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
	};
	const char *path = fe->path;
	int dfd = AT_FDCWD;
	long fd;

	if (fe->outside_root && outside_root >= 0) {
		dfd = outside_root;
		how.resolve |= RESOLVE_IN_ROOT;
	}
	fd = syscall(SYS_openat2, dfd, path, &how, sizeof(how));
	if (fd < 0 && errno == ENOSYS && dfd == AT_FDCWD)
		fd = open(path, O_PATH | O_NOFOLLOW | O_CLOEXEC | extra);
	return fd < 0 ? -errno : (int)fd;
}

static dev_t copied_root; /* 0: none (rst_open_copied_root) */

void rst_open_copied_root(dev_t dev)
{
	copied_root = dev;
}

int rst_file_same(const FileEntry *fe, const struct stat *st, bool any_dev, bool contents)
{
	uint64_t mt = (uint64_t)st->st_mtim.tv_sec * 1000000000ull + (uint64_t)st->st_mtim.tv_nsec;
	bool copy = copied_root && st->st_dev == copied_root && !fe->outside_root;

	if (!copy && ((fe->has_ino && fe->ino != st->st_ino) ||
		      (fe->has_dev && fe->dev != st->st_dev && !any_dev))) {
		pr_err("%s was replaced since the dump (inode %llu, was %llu)\n", fe->path,
		       (unsigned long long)st->st_ino, (unsigned long long)fe->ino);
		return -ESTALE;
	}
	if (!contents && !(copy && S_ISREG(st->st_mode)))
		return 0;
	if (fe->has_size && fe->size != (uint64_t)st->st_size) {
		pr_err("%s changed since the dump (size %llu, was %llu)\n", fe->path,
		       (unsigned long long)st->st_size, (unsigned long long)fe->size);
		return -ESTALE;
	}
	if (fe->has_mtime_ns && fe->mtime_ns != mt) {
		pr_err("%s changed since the dump (modified after it)\n", fe->path);
		return -ESTALE;
	}
	return 0;
}

/*
 * Does st match what fe recorded (type, identity, rdev)?  any_dev: see
 * rst_file_same.  0, or -ESTALE/-EPERM (logged).
 */
static int check_recorded(const FileEntry *fe, int h, const struct stat *st, bool any_dev)
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
	if (fe->has_tmpfs_node)
		return mntns_files_check(fe, h, st); /* a file of a tmpfs made anew */
	if (rst_file_same(fe, st, any_dev, false))
		return -ESTALE;
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
	h = open_path_handle(fe, 0);
	if (h < 0) {
		pr_err("cannot find %s: %s\n", fe->path,
		       h == -ELOOP ? "a symlink on the way (not followed)" : strerror(-h));
		return h;
	}
	ret = fstat(h, &st) ? -errno : check_recorded(fe, h, &st, false);
	if (ret && ret != -EPERM && ret != -ESTALE)
		pr_err("cannot stat %s: %s\n", fe->path, strerror(-ret));
	close(h);
	return ret;
}

/*
 * A handle h on procfs may only be a file that belongs to no process: a
 * path "/proc/NAME/..." written plainly, NAME not a number (a process's
 * directory: those are FILE_PROC records, opened against the restored
 * task, procfile.c), so that no record can reach /proc/1/mem or a host
 * process's files.  0 or -EPERM (logged).
 */
static int check_procfs(const FileEntry *fe, int h, bool *on_proc)
{
	const char *p = fe->path;
	struct statfs sf;

	*on_proc = !fstatfs(h, &sf) && sf.f_type == PROC_SUPER_MAGIC;
	if (!*on_proc)
		return 0;
	if (!strncmp(p, "/proc/", 6) && p[6] >= 'a' && p[6] <= 'z' && !strstr(p, "//") &&
	    !strstr(p, "/./") && !strstr(p, "/../"))
		return 0;
	pr_err("image: file id %u: %s is a /proc file of a process, not a plain file: not "
	       "opening it\n",
	       fe->id, p);
	return -EPERM;
}

/*
 * The recorded object of fe as an O_PATH handle (extra: more open flags),
 * checked.  fd or -errno (logged).
 */
static int open_checked_handle(const FileEntry *fe, int extra)
{
	bool on_proc = false;
	struct stat st;
	int h, ret;

	if (!fe->path || fe->path[0] != '/') {
		pr_err("image: file id %u: no absolute path to open\n", fe->id);
		return -EINVAL;
	}
	h = open_path_handle(fe, extra);
	if (h < 0) {
		pr_err("cannot open %s: %s\n", fe->path,
		       h == -ELOOP ? "a symlink on the way (not followed)" : strerror(-h));
		return h;
	}
	ret = check_procfs(fe, h, &on_proc);
	if (!ret && fstat(h, &st)) {
		ret = -errno;
		pr_err("cannot stat %s: %s\n", fe->path, strerror(-ret));
	}
	ret = ret ?: check_recorded(fe, h, &st, on_proc);
	if (ret) {
		close(h);
		return ret;
	}
	return h;
}

int rst_open_recorded(const FileEntry *fe, int flags)
{
	char self[40];
	int h, fd, ret;

	h = open_checked_handle(fe, 0);
	if (h < 0)
		return h;
	snprintf(self, sizeof(self), "/proc/self/fd/%d", h);
	fd = open(self, (flags & ~NEVER_FLAGS) | O_NOCTTY);
	ret = fd < 0 ? -errno : fd;
	if (fd < 0)
		pr_err("cannot open %s: %s\n", fe->path, strerror(errno));
	close(h);
	return ret;
}

/*
 * The kernel keeps only O_PATH, O_NOFOLLOW and O_DIRECTORY of an O_PATH
 * open.  With O_NOFOLLOW recorded the handle itself is the fd (a symlink
 * stays the symlink); without it (an fd that followed its path) the
 * checked handle is reopened through /proc/self/fd with O_PATH, which
 * gives the same object (the kernel does not follow a symlink reached
 * through that magic link) without O_NOFOLLOW in its flags.
 */
int rst_open_opath(const FileEntry *fe)
{
	int dir = fe->flags & O_DIRECTORY, h, fd;
	char self[40];

	h = open_checked_handle(fe, dir);
	if (h < 0 || (fe->flags & O_NOFOLLOW))
		return h;
	snprintf(self, sizeof(self), "/proc/self/fd/%d", h);
	fd = open(self, O_PATH | O_CLOEXEC | dir);
	if (fd < 0) {
		fd = -errno;
		pr_err("cannot open %s: %s\n", fe->path, strerror(-fd));
	}
	close(h);
	return fd;
}
