/*
 * Ghosts: deleted files, directories and FIFOs (behind fds, mappings,
 * the exe link or a cwd) rebuilt in the root's C part (issue 11).
 * - A regular file is an unnamed O_TMPFILE in the directory of the
 *   deleted file (resolved without symlinks), else in /tmp: never linked,
 *   so no name appears even for a moment and a killed restore leaves
 *   nothing.  Its data extents are written at their offsets and nothing
 *   else, so holes stay holes.
 * - What O_TMPFILE cannot make (a directory, a FIFO) is made in a private
 *   directory restore creates itself (mkdtemp in /tmp, 0700, ours by
 *   construction, never a place the image names), under the old base
 *   name, opened by a handle relative to that directory with O_NOFOLLOW,
 *   then removed with the private directory at once.
 * Then size, owner, mode (set-id bits after chown and writes, which clear
 * them) and atime/mtime (ctime cannot be set).  Every entry of one inode
 * reopens the one ghost of the entry named by ghost_id, so an fd and a
 * mapping (or two descriptions, or an fd and a cwd) of one deleted object
 * still share it.  The image is data: every field is checked first
 * (ghost_check_image, ghost_check_cwds).
 */
#define LOG_PREFIX "restore/ghost: "
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <linux/openat2.h>

#include "log.h"
#include "restore/restore.h"

#define NEVER_FLAGS \
	(O_CREAT | O_EXCL | O_TRUNC | (O_TMPFILE & ~O_DIRECTORY) | O_NOFOLLOW | O_PATH | O_ASYNC)
#define NO_ID 0xffffffffu

/*
 * An unnamed file (O_TMPFILE) in the directory of deleted file path, or in
 * /tmp when that directory is gone or cannot hold one.  fd or -errno.
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

static struct timespec ns_ts(uint64_t ns)
{
	return (struct timespec){ (time_t)(ns / 1000000000ull), (long)(ns % 1000000000ull) };
}

/*
 * Gives ghost fd the attributes fe recorded: size, owner, mode, times,
 * in that order (chown and writes clear set-id bits; fchmod and fchown
 * do not touch atime/mtime).  0 or -errno.
 */
static int ghost_attrs(int fd, const FileEntry *fe)
{
	struct timespec ts[2] = { { 0, UTIME_OMIT }, { 0, UTIME_OMIT } };

	if (fe->has_size && ftruncate(fd, (off_t)fe->size))
		return -errno;
	if ((fe->has_uid || fe->has_gid) &&
	    fchown(fd, fe->has_uid ? fe->uid : NO_ID, fe->has_gid ? fe->gid : NO_ID))
		return -errno;
	if (fchmod(fd, fe->mode & 07777))
		return -errno;
	if (fe->has_atime_ns)
		ts[0] = ns_ts(fe->atime_ns);
	if (fe->has_mtime_ns)
		ts[1] = ns_ts(fe->mtime_ns);
	if ((fe->has_atime_ns || fe->has_mtime_ns) && futimens(fd, ts))
		return -errno;
	return 0;
}

/*
 * The same attributes for a ghost still named name in our private
 * directory dfd (a directory or FIFO), set through that name: nothing
 * follows a symlink, nothing else can be reached.  0 or -errno.
 */
static int ghost_attrs_at(int dfd, const char *name, const FileEntry *fe)
{
	struct timespec ts[2] = { { 0, UTIME_OMIT }, { 0, UTIME_OMIT } };

	if ((fe->has_uid || fe->has_gid) &&
	    fchownat(dfd, name, fe->has_uid ? fe->uid : NO_ID, fe->has_gid ? fe->gid : NO_ID,
		     AT_SYMLINK_NOFOLLOW))
		return -errno;
	if (fchmodat(dfd, name, fe->mode & 07777, 0))
		return -errno;
	if (fe->has_atime_ns)
		ts[0] = ns_ts(fe->atime_ns);
	if (fe->has_mtime_ns)
		ts[1] = ns_ts(fe->mtime_ns);
	if ((fe->has_atime_ns || fe->has_mtime_ns) && utimensat(dfd, name, ts, AT_SYMLINK_NOFOLLOW))
		return -errno;
	return 0;
}

/* fe->path without its " (deleted)" suffix, into buf. */
static const char *ghost_name(const FileEntry *fe, char *buf, size_t len)
{
	size_t l;

	snprintf(buf, len, "%s", fe->path ? fe->path : "/");
	l = strlen(buf);
	if (l > 10 && !strcmp(buf + l - 10, " (deleted)"))
		buf[l - 10] = '\0';
	return buf;
}

/* A regular ghost of fe (path: its old name), filled and sized.  fd or -errno. */
static int ghost_file(const struct rst_image *img, const FileEntry *fe, const char *path)
{
	int fd, ret;

	fd = ghost_create(path);
	if (fd < 0)
		return fd;
	ret = rst_write_chunks(img->fdata, img->nr_fdata, fe->id, fd, true, path);
	ret = ret ?: ghost_attrs(fd, fe);
	if (ret) {
		close(fd);
		return ret;
	}
	return fd;
}

/* Makes the object of type fe->mode named name in dfd.  0 or -errno. */
static int ghost_make_at(int dfd, const char *name, const FileEntry *fe)
{
	dev_t rdev = S_ISCHR(fe->mode) || S_ISBLK(fe->mode) ? (dev_t)fe->rdev : 0;

	if (S_ISDIR(fe->mode))
		return mkdirat(dfd, name, 0700) ? -errno : 0;
	return mknodat(dfd, name, (fe->mode & S_IFMT) | 0600, rdev) ? -errno : 0;
}

/*
 * How a private ghost is held: a FIFO read-write (never blocks, keeps its
 * buffer alive), a device node as O_PATH (its driver is opened only by the
 * descriptions reopening it, with their flags).
 */
static int ghost_hold_flags(const FileEntry *fe)
{
	if (S_ISDIR(fe->mode))
		return O_RDONLY | O_DIRECTORY;
	return S_ISCHR(fe->mode) || S_ISBLK(fe->mode) ? O_PATH : O_RDWR | O_NONBLOCK;
}

/*
 * Does this host have a node of removed device fe's very device at its
 * dev_path (under /dev, no symlink followed)?  0 or -errno (logged).
 */
int ghost_check_host(const FileEntry *fe)
{
	FileEntry dev = FILE_ENTRY__INIT;

	dev.id = fe->id;
	dev.path = fe->dev_path;
	dev.kind = fe->kind;
	dev.has_rdev = true;
	dev.rdev = fe->rdev;
	return rst_check_recorded(&dev);
}

/*
 * A directory, FIFO or device node ghost of fe, made in a private
 * directory of ours under path's base name, opened (ghost_hold_flags),
 * given its attributes, then removed with the private directory.  A
 * device node is made only after its dev_path proved that this host has a
 * node of that very device.  fd or -errno.
 */
static int ghost_private(const FileEntry *fe, const char *path)
{
	char priv[] = "/tmp/.vxcr-ghost-XXXXXX", *base = basename(strdupa(path));
	int dfd, fd = -1, ret, how = ghost_hold_flags(fe);

	if (S_ISCHR(fe->mode) || S_ISBLK(fe->mode)) {
		ret = ghost_check_host(fe);
		if (ret)
			return ret;
	}

	if (!*base || !strcmp(base, ".") || !strcmp(base, "..") || strlen(base) > 255)
		base = "ghost";
	if (!mkdtemp(priv))
		return -errno;
	dfd = open(priv, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	ret = dfd < 0 ? -errno : ghost_make_at(dfd, base, fe);
	if (!ret) {
		ret = ghost_attrs_at(dfd, base, fe);
		fd = ret ? -1 : openat(dfd, base, how | O_NOFOLLOW | O_CLOEXEC);
		if (!ret && fd < 0)
			ret = -errno;
		unlinkat(dfd, base, S_ISDIR(fe->mode) ? AT_REMOVEDIR : 0);
	}
	if (dfd >= 0)
		close(dfd);
	if (rmdir(priv) && !ret)
		ret = -errno;
	if (ret && fd >= 0)
		close(fd);
	return ret ? ret : fd;
}

/*
 * Builds the ghost of holder h and keeps it on h->ghost_fd, above the
 * staging base.  0 or -errno (logged).
 */
static int ghost_build(const struct rst_image *img, struct rst_file *h)
{
	const FileEntry *fe = h->fe;
	char path[4096];
	int fd;

	ghost_name(fe, path, sizeof(path));
	fd = S_ISREG(fe->mode) ? ghost_file(img, fe, path) : ghost_private(fe, path);
	if (fd < 0) {
		pr_err("cannot recreate deleted %s %s: %s\n",
		       S_ISDIR(fe->mode)		      ? "directory" :
		       S_ISFIFO(fe->mode)		      ? "FIFO" :
		       S_ISCHR(fe->mode) || S_ISBLK(fe->mode) ? "device node" :
								"file",
		       path, strerror(-fd));
		return fd;
	}
	h->ghost_fd = rst_stage_fd(img, fd);
	return h->ghost_fd < 0 ? h->ghost_fd : 0;
}

/*
 * The ghost of deleted file f (built on first use, shared by every entry
 * of its inode), reopened with flags: a description of its own.  fd or
 * -errno (logged).
 */
int ghost_open(const struct rst_image *img, const struct rst_file *f, int flags)
{
	struct rst_file *h = plan_file(img, f->fe->has_ghost_id ? f->fe->ghost_id : f->fe->id);
	char proc[40];
	int fd, ret;

	if (h->ghost_fd < 0) {
		ret = ghost_build(img, h);
		if (ret)
			return ret;
	}
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", h->ghost_fd);
	fd = open(proc, flags & ~NEVER_FLAGS);
	if (fd < 0) {
		pr_perror("cannot reopen the ghost of deleted file %s", f->fe->path);
		return -errno;
	}
	return fd;
}

/* How many ghosts the root holds at once at most (one per holder). */
size_t ghost_count(const struct rst_image *img)
{
	size_t i, n = 0;

	for (i = 0; i < img->nr_files; i++)
		n += img->files[i].fe->deleted && !img->files[i].fe->has_ghost_id;
	return n;
}

/* Closes every ghost kept for sharing: the descriptions hold them now. */
void ghosts_close(const struct rst_image *img)
{
	size_t i;

	for (i = 0; i < img->nr_files; i++) {
		if (img->files[i].ghost_fd >= 0)
			close(img->files[i].ghost_fd);
		img->files[i].ghost_fd = -1;
	}
}

static int cmp_chunk(const void *a, const void *b)
{
	const struct rst_chunk *x = *(const struct rst_chunk *const *)a;
	const struct rst_chunk *y = *(const struct rst_chunk *const *)b;

	return x->offset < y->offset ? -1 : x->offset > y->offset;
}

/*
 * The FILE_DATA records of holder fe: inside its size, not overlapping,
 * data_len bytes in all (the gaps are holes).  0 or -EBADMSG (logged).
 */
static int check_extents(const struct rst_image *img, const FileEntry *fe)
{
	const struct rst_chunk **v;
	uint64_t end = 0, sum = 0;
	size_t i, n = 0;
	int ret = 0;

	v = malloc((img->nr_fdata + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (i = 0; i < img->nr_fdata; i++)
		if (img->fdata[i].id == fe->id)
			v[n++] = &img->fdata[i];
	qsort(v, n, sizeof(*v), cmp_chunk);
	for (i = 0; i < n && !ret; i++) {
		if (v[i]->offset < end || v[i]->len > fe->size ||
		    v[i]->offset > fe->size - v[i]->len)
			ret = -EBADMSG;
		end = v[i]->offset + v[i]->len;
		sum += v[i]->len;
	}
	free(v);
	if (!ret && sum != fe->data_len)
		ret = -EBADMSG;
	if (ret)
		pr_err("image: deleted file %s (file id %u): its data records do not make %llu bytes inside its %llu\n",
		       fe->path ? fe->path : "?", fe->id, (unsigned long long)fe->data_len,
		       (unsigned long long)fe->size);
	return ret;
}

/* Does fe share its ghost with another entry?  Then that one must hold it. */
static int check_sharer(const struct rst_image *img, const FileEntry *fe)
{
	const struct rst_file *h = plan_file(img, fe->ghost_id);
	size_t i;

	if (!h || h->fe == fe || !h->fe->deleted || h->fe->has_ghost_id ||
	    (h->fe->mode & S_IFMT) != (fe->mode & S_IFMT) ||
	    (S_ISREG(fe->mode) && fe->has_data_len && fe->data_len)) {
		pr_err("image: deleted file id %u: ghost_id %u does not name the entry holding its contents\n",
		       fe->id, fe->ghost_id);
		return -EBADMSG;
	}
	for (i = 0; i < img->nr_fdata; i++) {
		if (img->fdata[i].id == fe->id) {
			pr_err("image: deleted file id %u shares file id %u's contents but has data records\n",
			       fe->id, fe->ghost_id);
			return -EBADMSG;
		}
	}
	return 0;
}

mode_t ghost_type(const FileEntry *fe)
{
	switch (fe->kind) {
	case FILE_KIND__FILE_REG:
	case FILE_KIND__FILE_MAPONLY:
		return S_IFREG;
	case FILE_KIND__FILE_DIR:
		return S_IFDIR;
	case FILE_KIND__FILE_FIFO:
		return S_IFIFO;
	case FILE_KIND__FILE_CHR:
		return S_IFCHR;
	case FILE_KIND__FILE_BLK:
		return S_IFBLK;
	default:
		return 0;
	}
}

/*
 * The image alone, for a deleted entry: a kind that has ghosts and a mode
 * of that type, owner ids that name someone, for a regular file a size
 * that fits off_t and data records that make its extents exactly (or the
 * entry it shares a ghost with).  0 or -EBADMSG (logged).
 */
int ghost_check_image(const struct rst_image *img, const struct rst_file *f)
{
	const FileEntry *fe = f->fe;
	size_t i;

	if (!fe->deleted)
		return 0;
	if (!ghost_type(fe) || !fe->has_mode || (fe->mode & S_IFMT) != ghost_type(fe) ||
	    (fe->has_uid && fe->uid == NO_ID) || (fe->has_gid && fe->gid == NO_ID) ||
	    (fe->has_ghost_id && fe->ghost_id == fe->id)) {
		pr_err("image: deleted file id %u (%s): bad mode, owner or ghost_id\n", fe->id,
		       fe->path ? fe->path : "?");
		return -EBADMSG;
	}
	if (fe->has_ghost_id)
		return check_sharer(img, fe);
	if ((S_ISCHR(fe->mode) || S_ISBLK(fe->mode)) &&
	    (!fe->has_rdev || !fe->dev_path || strncmp(fe->dev_path, "/dev/", 5) ||
	     strstr(fe->dev_path, "/.."))) {
		pr_err("image: removed device node id %u: no rdev, or no node under /dev to check it by\n",
		       fe->id);
		return -EBADMSG;
	}
	for (i = 0; !S_ISREG(fe->mode) && i < img->nr_fdata; i++) {
		if (img->fdata[i].id == fe->id) {
			pr_err("image: deleted file id %u is no regular file but has data records\n",
			       fe->id);
			return -EBADMSG;
		}
	}
	if (!S_ISREG(fe->mode))
		return 0;
	if (!fe->has_size || fe->size > (uint64_t)INT64_MAX ||
	    (fe->has_data_len && fe->data_len > fe->size)) {
		pr_err("image: deleted file id %u (%s): bad size %llu\n", fe->id,
		       fe->path ? fe->path : "?", (unsigned long long)fe->size);
		return -EBADMSG;
	}
	return check_extents(img, fe);
}

/* Does id name a deleted directory entry (a removed cwd's ghost)? */
static int check_cwd_id(const struct rst_image *img, uint32_t id, pid_t pid)
{
	const struct rst_file *f = plan_file(img, id);

	if (f && f->fe->kind == FILE_KIND__FILE_DIR && f->fe->deleted)
		return 0;
	pr_err("image: pid %d: cwd_file_id %u names no removed directory\n", pid, id);
	return -EBADMSG;
}

/* Every cwd_file_id (processes, own_fs threads) names a removed directory. */
int ghost_check_cwds(const struct rst_image *img)
{
	size_t p, i;
	int ret = 0;

	for (p = 0; !ret && p < img->nr_procs; p++) {
		const struct rst_proc *c = img->procs[p];

		if (c->task && c->task->has_cwd_file_id)
			ret = check_cwd_id(img, c->task->cwd_file_id, c->task->pid);
		for (i = 0; !ret && i < c->nr_threads; i++)
			if (c->threads[i].core && c->threads[i].core->has_cwd_file_id)
				ret = check_cwd_id(img, c->threads[i].core->cwd_file_id,
						   c->threads[i].vtid);
	}
	return ret;
}

/* The pool fd of removed cwd id (ghost_check_cwds checked it), or -1. */
int ghost_cwd_fd(const struct rst_image *img, uint32_t id)
{
	const struct rst_file *f = plan_file(img, id);

	return f ? file_pool_fd(img, f) : -1;
}
