/*
 * Ghosts: deleted regular files (behind fds, mappings or the exe link)
 * rebuilt in the root's C part (issue 11).  A ghost is an unnamed
 * O_TMPFILE in the directory of the deleted file (resolved without
 * symlinks), else in /tmp: never linked, so no name appears even for a
 * moment and a killed restore leaves nothing.  Its data extents are
 * written at their offsets and nothing else, so holes stay holes; then
 * its size, owner, mode (set-id bits last but for the times: writes and
 * chown clear them) and atime/mtime (ctime cannot be set).  Every entry
 * of one inode reopens the one ghost of the entry named by ghost_id, so
 * an fd and a mapping (or two descriptions) of one deleted file still
 * share it.  The image is data: every field is checked first
 * (ghost_check_image).
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

#define NEVER_FLAGS (O_CREAT | O_EXCL | O_TRUNC | O_TMPFILE | O_NOFOLLOW | O_PATH)
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

/*
 * Builds the ghost of holder h (fills it from its FILE_DATA records, then
 * ghost_attrs) and keeps it on h->ghost_fd, above the staging base.  0 or
 * -errno (logged).
 */
static int ghost_build(const struct rst_image *img, struct rst_file *h)
{
	const FileEntry *fe = h->fe;
	char path[4096];
	int fd, ret;

	ghost_name(fe, path, sizeof(path));
	fd = ghost_create(path);
	if (fd < 0) {
		pr_err("cannot recreate deleted file %s: %s\n", path, strerror(-fd));
		return fd;
	}
	ret = rst_write_chunks(img->fdata, img->nr_fdata, fe->id, fd, true, path);
	if (!ret) {
		ret = ghost_attrs(fd, fe);
		if (ret)
			pr_err("cannot recreate deleted file %s: %s\n", path, strerror(-ret));
	}
	if (ret) {
		close(fd);
		return ret;
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
	    (h->fe->mode & S_IFMT) != S_IFREG || (fe->has_data_len && fe->data_len)) {
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

/*
 * The image alone, for a deleted regular file: a regular mode, owner ids
 * that name someone, a size that fits off_t, data records that make its
 * extents exactly (or the entry it shares a ghost with).  0 or -EBADMSG
 * (logged).
 */
int ghost_check_image(const struct rst_image *img, const struct rst_file *f)
{
	const FileEntry *fe = f->fe;

	if (!fe->deleted)
		return 0;
	if (!fe->has_mode || (fe->mode & S_IFMT) != S_IFREG || (fe->has_uid && fe->uid == NO_ID) ||
	    (fe->has_gid && fe->gid == NO_ID) || (fe->has_ghost_id && fe->ghost_id == fe->id)) {
		pr_err("image: deleted file id %u (%s): bad mode, owner or ghost_id\n", fe->id,
		       fe->path ? fe->path : "?");
		return -EBADMSG;
	}
	if (fe->has_ghost_id)
		return check_sharer(img, fe);
	if (!fe->has_size || fe->size > (uint64_t)INT64_MAX ||
	    (fe->has_data_len && fe->data_len > fe->size)) {
		pr_err("image: deleted file id %u (%s): bad size %llu\n", fe->id,
		       fe->path ? fe->path : "?", (unsigned long long)fe->size);
		return -EBADMSG;
	}
	return check_extents(img, fe);
}
