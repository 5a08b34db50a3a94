/*
 * Deleted regular files (behind fds, mappings or the exe link): what the
 * image needs to rebuild them exactly as ghosts (issue 11).  Only the data
 * extents go into FILE_DATA (SEEK_DATA/SEEK_HOLE on our own description,
 * never on the target's: its file position must not move), so a sparse
 * file keeps its holes and the size limit counts stored bytes, not
 * st_size.  Every entry of one inode (several descriptions, a mapping)
 * names the first one (ghost_id): restore makes one ghost for all, so the
 * inode is not split.  A file that still has other names (a deleted hard
 * link) is refused: a ghost copy would split it from those names.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#define LOG_PREFIX "dump/deleted: "
#include "log.h"
#include "dump/dump.h"
#include "img/img.h"
#include "img/records.h"

#define DELETED_MAX (1ull << 30)
#define CHUNK (4ul << 20)

static uint64_t ts_ns(const struct timespec *ts)
{
	return (uint64_t)ts->tv_sec * 1000000000ull + ts->tv_nsec;
}

/* Appends extent [off, off + len) to *v.  0 or -ENOMEM. */
static int add_extent(struct dump_extent **v, size_t *n, uint64_t off, uint64_t len)
{
	struct dump_extent *nv;

	if (!(*n & (*n - 1)) || !*n) {
		nv = realloc(*v, (*n ? *n * 2 : 8) * sizeof(*nv));
		if (!nv)
			return -ENOMEM;
		*v = nv;
	}
	(*v)[(*n)++] = (struct dump_extent){ off, len };
	return 0;
}

/*
 * The data extents of fd's first size bytes into *v, *n (malloc'ed) and
 * their byte count into *bytes; stops with -EFBIG past DELETED_MAX bytes.
 * A filesystem without SEEK_DATA reports the whole file as data.  0 or
 * -errno.
 */
static int probe_extents(int fd, uint64_t size, struct dump_extent **v, size_t *n, uint64_t *bytes)
{
	off_t pos = 0, data, hole;
	int ret;

	*v = NULL;
	*n = 0;
	*bytes = 0;
	while ((uint64_t)pos < size) {
		data = lseek(fd, pos, SEEK_DATA);
		if (data < 0 && errno == ENXIO)
			break;
		hole = data < 0 ? -1 : lseek(fd, data, SEEK_HOLE);
		if (hole < 0)
			return -errno;
		if ((uint64_t)hole > size)
			hole = size;
		if (hole <= data)
			break;
		ret = add_extent(v, n, data, hole - data);
		if (ret)
			return ret;
		*bytes += hole - data;
		if (*bytes > DELETED_MAX)
			return -EFBIG;
		pos = hole;
	}
	return 0;
}

/* An earlier entry holding the contents of inode (dev, ino), or NULL. */
static struct dump_file *ghost_holder(struct dump_files *f, const struct dump_file *df,
				      const struct stat *st)
{
	size_t i;

	for (i = 0; i < f->n; i++) {
		struct dump_file *g = &f->v[i];

		if (g != df && g->e.deleted && !g->e.has_ghost_id && g->e.dev == st->st_dev &&
		    g->e.ino == st->st_ino && (g->e.mode & S_IFMT) == (st->st_mode & S_IFMT))
			return g;
	}
	return NULL;
}

/*
 * A device node of type (S_IFCHR or S_IFBLK) and rdev under dir (and its
 * subdirectories down to depth), no symlink followed, into buf.  true if
 * found.
 */
static bool find_dev_node(const char *dir, mode_t type, dev_t rdev, int depth, char *buf,
			  size_t len)
{
	struct dirent *de;
	struct stat st;
	bool found = false;
	DIR *d = opendir(dir);

	if (!d)
		return false;
	while (!found && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		if ((size_t)snprintf(buf, len, "%s/%s", dir, de->d_name) >= len ||
		    fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW))
			continue;
		if ((st.st_mode & S_IFMT) == type && st.st_rdev == rdev)
			found = true;
		else if (S_ISDIR(st.st_mode) && depth > 0)
			found = find_dev_node(strdupa(buf), type, rdev, depth - 1, buf, len);
	}
	closedir(d);
	return found;
}

/*
 * A removed device node (character or block): restore makes a ghost node of the
 * same rdev only where the host still has a node of that device under
 * /dev (dev_path, checked again at restore), so an image gives no device
 * that the host does not expose already.  0 or -EOPNOTSUPP (logged).
 */
static int device_elsewhere(struct dump_file *df, const char *who, const struct stat *st)
{
	char buf[4096];

	if (!find_dev_node("/dev", st->st_mode & S_IFMT, st->st_rdev, 2, buf, sizeof(buf))) {
		pr_err("%s: removed device node %s (%u:%u): no node of that device under /dev: not supported\n",
		       who, df->path, major(st->st_rdev), minor(st->st_rdev));
		return -EOPNOTSUPP;
	}
	df->dev_path = strdup(buf);
	if (!df->dev_path)
		return -ENOMEM;
	df->e.dev_path = df->dev_path;
	return 0;
}

/*
 * df is deleted file st (who names its holder; a regular file is read
 * through df->local_fd, our own description): records owner, times, then
 * either the earlier entry of the same inode whose ghost it shares, or
 * (a regular file) its data extents (at most DELETED_MAX bytes of data).  0, -EOPNOTSUPP (a file
 * with other names left, or too much data: a refusal, logged) or -errno
 * (logged).
 */
int deleted_probe(struct dump_files *f, struct dump_file *df, const char *who,
		  const struct stat *st)
{
	struct dump_file *g;
	uint64_t bytes;
	int ret;

	if (st->st_nlink && f->mntns && mntns_own_tmpfs_dev(f->mntns, st->st_dev)) {
		df->renamed = true; /* its inode is a node of the tmpfs: mntns.c */
		return 0;
	}
	if (st->st_nlink) {
		pr_err("%s: %s: deleted name of a file that still has %lu other name(s): not supported (a copy would split the file)\n",
		       who, df->path, (unsigned long)st->st_nlink);
		return -EOPNOTSUPP;
	}
	PB_SET(&df->e, deleted, true);
	PB_SET(&df->e, uid, st->st_uid);
	PB_SET(&df->e, gid, st->st_gid);
	PB_SET(&df->e, atime_ns, ts_ns(&st->st_atim));
	PB_SET(&df->e, mtime_ns, ts_ns(&st->st_mtim));
	g = ghost_holder(f, df, st);
	if (g) {
		PB_SET(&df->e, ghost_id, g->e.id);
		PB_SET(&df->e, data_len, 0);
		return 0;
	}
	if (S_ISCHR(st->st_mode) || S_ISBLK(st->st_mode))
		return device_elsewhere(df, who, st);
	if (!S_ISREG(st->st_mode))
		return 0;
	df->ctime = st->st_ctim;
	ret = probe_extents(df->local_fd, st->st_size, &df->ext, &df->n_ext, &bytes);
	if (ret == -EFBIG) {
		pr_err("%s: deleted file %s holds more than %llu MiB of data: not supported\n", who,
		       df->path, DELETED_MAX >> 20);
		return -EOPNOTSUPP;
	}
	if (ret) {
		pr_err("%s: deleted file %s: cannot find its data: %s\n", who, df->path,
		       strerror(-ret));
		return ret;
	}
	PB_SET(&df->e, data_len, bytes);
	return 0;
}

/*
 * Did df's file change since deleted_probe() (a writer outside the frozen
 * tree, or a mapping of it)?  Compares size, ctime and the extents.  0 or
 * -EAGAIN (logged: the image would not hold what the file holds).
 */
static int check_unchanged(const struct dump_file *df)
{
	struct dump_extent *v = NULL;
	struct stat st;
	uint64_t bytes;
	size_t n = 0;
	int ret;

	ret = fstat(df->local_fd, &st) ? -errno : 0;
	if (!ret && ((uint64_t)st.st_size != df->e.size || st.st_ctim.tv_sec != df->ctime.tv_sec ||
		     st.st_ctim.tv_nsec != df->ctime.tv_nsec))
		ret = -EAGAIN;
	if (!ret)
		ret = probe_extents(df->local_fd, df->e.size, &v, &n, &bytes);
	if (!ret && (n != df->n_ext || (n && memcmp(v, df->ext, n * sizeof(*v)))))
		ret = -EAGAIN;
	free(v);
	if (ret)
		pr_err("deleted file %s changed during the dump (written by a process outside the tree?): dump again\n",
		       df->path);
	return ret ? -EAGAIN : 0;
}

/* FILE_DATA records of extent x of df, read in CHUNK pieces.  0 or -errno. */
static int write_extent(struct dump_op *op, const struct dump_file *df, const struct dump_extent *x,
			uint8_t *buf)
{
	struct img_data_prefix pfx = { df->e.id, 0, 0 };
	uint64_t done;
	size_t want;
	ssize_t r;
	int ret;

	for (done = 0; done < x->len; done += r) {
		want = x->len - done < CHUNK ? x->len - done : CHUNK;
		pfx.offset = x->off + done;
		r = pread(df->local_fd, buf, want, pfx.offset);
		if (r <= 0) {
			pr_err("file %s: cannot read deleted contents at %llu\n", df->path,
			       (unsigned long long)pfx.offset);
			return r < 0 ? -errno : -EIO;
		}
		ret = img_write_raw2(op->w, IMG_REC_FILE_DATA, 0, &pfx, sizeof(pfx), buf, r);
		if (ret) {
			pr_err("file %s: cannot write its data: %s\n", df->path, strerror(-ret));
			return ret;
		}
	}
	return 0;
}

/*
 * FILE_DATA records: the data extents of every deleted file that holds
 * its inode's contents (fds and mappings); a file that changed since its
 * probe fails the dump.  0 or -errno (logged).
 */
int write_file_data(struct dump_op *op)
{
	uint8_t *buf;
	size_t i, x;
	int ret = 0;

	buf = malloc(CHUNK);
	if (!buf)
		return -ENOMEM;
	for (i = 0; !ret && i < op->files.n; i++) {
		const struct dump_file *df = &op->files.v[i];

		if (!df->e.deleted || df->e.has_ghost_id || !S_ISREG(df->e.mode))
			continue;
		for (x = 0; !ret && x < df->n_ext; x++)
			ret = write_extent(op, df, &df->ext[x], buf);
		ret = ret ?: check_unchanged(df);
	}
	free(buf);
	return ret;
}

/*
 * The FILE_DIR entry of removed directory proc_path (a /proc cwd link
 * reading link): an earlier deleted entry of that inode, or a new one
 * (opened by restore like an fd's, in no fd table).  *id gets it.  0 or
 * -errno (logged).
 */
static int removed_dir_entry(struct dump_op *op, const char *proc_path, const char *link,
			     const char *who, uint32_t *id)
{
	struct dump_file *df;
	struct stat st;
	size_t i;
	int ret;

	if (stat(proc_path, &st)) {
		pr_perror("%s: cannot stat its removed cwd %s", who, link);
		return -errno;
	}
	for (i = 0; i < op->files.n; i++) {
		df = &op->files.v[i];
		if (df->e.deleted && S_ISDIR(df->e.mode) && df->e.dev == st.st_dev &&
		    df->e.ino == st.st_ino) {
			*id = df->e.id;
			return 0;
		}
	}
	df = files_new(&op->files);
	if (!df)
		return -ENOMEM;
	PB_SET(&df->e, kind, FILE_KIND__FILE_DIR);
	PB_SET(&df->e, flags, O_RDONLY | O_DIRECTORY);
	PB_SET(&df->e, pos, 0);
	PB_SET(&df->e, mode, st.st_mode);
	PB_SET(&df->e, dev, st.st_dev);
	PB_SET(&df->e, ino, st.st_ino);
	PB_SET(&df->e, size, st.st_size);
	*id = df->e.id;
	ret = fd_set_path(df, link);
	return ret ?: deleted_probe(&op->files, df, who, &st);
}

/*
 * A removed cwd of live t (the process's, and each own_fs thread's)
 * becomes a deleted FILE_DIR entry, rebuilt as a ghost directory; a
 * removed root is refused.  0, -EOPNOTSUPP (logged) or -errno (logged).
 */
int collect_removed_cwds(struct dump_op *op, struct dump_task *t)
{
	char path[96], link[4096], who[64];
	size_t i;
	int ret = 0;

	snprintf(who, sizeof(who), "pid %d", t->pid);
	snprintf(link, sizeof(link), "%s", t->root);
	if (proc_strip_deleted(link)) {
		pr_err("pid %d: its root directory %s was removed: not supported\n", t->pid, link);
		return -EOPNOTSUPP;
	}
	snprintf(link, sizeof(link), "%s", t->cwd);
	if (proc_strip_deleted(link)) {
		snprintf(path, sizeof(path), "/proc/%d/cwd", t->pid);
		ret = removed_dir_entry(op, path, link, who, &t->cwd_file_id);
	}
	for (i = 1; !ret && i < t->n_threads; i++) {
		struct dump_thread *th = &t->threads[i];

		if (!th->own_fs || !th->cwd)
			continue;
		snprintf(link, sizeof(link), "%s", th->root ? th->root : "/");
		if (proc_strip_deleted(link)) {
			pr_err("pid %d (thread %d): its root directory %s was removed: not supported\n",
			       t->pid, th->tid, link);
			return -EOPNOTSUPP;
		}
		snprintf(link, sizeof(link), "%s", th->cwd);
		if (!proc_strip_deleted(link))
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%d/cwd", t->pid, th->tid);
		snprintf(who, sizeof(who), "pid %d (thread %d)", t->pid, th->tid);
		ret = removed_dir_entry(op, path, link, who, &th->cwd_file_id);
	}
	return ret;
}
