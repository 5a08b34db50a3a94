/*
 * The files of a tmpfs mount of the image (tmpfs_node, TMPFS_DATA), written
 * into the new tmpfs while it is a detached mount (fsmount's fd): nothing
 * but this restore can reach it, every name was checked (one component,
 * no "." or ".."), each node is made in its parent's directory fd with
 * O_EXCL / mkdirat / symlinkat / mknodat, never through a path, so no
 * symlink is followed.  Xattrs (user.*, trusted.*), owners, modes and
 * times are set last (directories' times after their contents), through
 * /proc/self/fd/DIRFD/NAME with the l*() calls: the name is not followed.
 */
#define LOG_PREFIX "restore/mntns: "
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdbool.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/xattr.h>

#include "log.h"
#include "restore/restore.h"
#include "restore/mntns.h"

struct fill {
	const struct rst_image *img;
	const MountEntry *e;
	size_t first, last; /* the nodes of e: [first, last) */
	int *dfd;	    /* per node: an fd of it when it is a directory, else -1 */
	bool merge;	    /* into a tmpfs holding nodes already (a context's /dev) */
	bool *had;	    /* merge: per node, there already (left as it is) */
	dev_t dev;	    /* merge: the tmpfs's device */
};

static int write_data(const struct fill *f, const TmpfsNode *n, int fd)
{
	for (size_t i = 0; i < f->img->nr_tdata; i++) {
		const struct rst_chunk *c = &f->img->tdata[i];
		size_t done = 0;
		ssize_t w;

		if (c->id != n->id)
			continue;
		while (done < c->len) {
			w = pwrite(fd, c->buf + done, c->len - done, (off_t)(c->offset + done));
			if (w <= 0)
				return w < 0 ? -errno : -EIO;
			done += (size_t)w;
		}
	}
	return ftruncate(fd, (off_t)n->size) ? -errno : 0;
}

/*
 * Merge: node k is there already (made by the context's settings, such as
 * /dev/null's mount point): the same type, or refused; left as it is (a
 * mount on it may be a host object: no attribute is set through it), and
 * a directory is entered only when no mount covers it.  1: there, 0: not,
 * or -errno.
 */
static int merge_existing(struct fill *f, size_t k, int pfd)
{
	const TmpfsNode *n = f->img->mounts->nodes[k];
	struct stat st;

	if (fstatat(pfd, n->name, &st, AT_SYMLINK_NOFOLLOW))
		return errno == ENOENT ? 0 : -errno;
	f->had[k - f->first] = true;
	if (st.st_dev != f->dev)
		return 1; /* a mount covers it (stat saw that mount's root) */
	if ((st.st_mode & S_IFMT) != (n->mode & S_IFMT)) {
		pr_err("mount %s (tmpfs): %s is there already as another type\n", f->e->point,
		       n->name);
		return -EEXIST;
	}
	if (S_ISDIR(st.st_mode))
		f->dfd[k - f->first] =
			openat(pfd, n->name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	return 1;
}

/* Makes node k (not the root) in its parent directory. */
static int make_node(struct fill *f, size_t k)
{
	const MountsEntry *ms = f->img->mounts;
	const TmpfsNode *n = ms->nodes[k];
	int pfd = f->dfd[mntns_node_idx(ms, n->parent) - (ssize_t)f->first], fd, ret = 0;
	const TmpfsNode *l;

	if (pfd < 0)
		return -EBADMSG; /* under a node left as it was (merge) */
	if (f->merge && (ret = merge_existing(f, k, pfd)))
		return ret < 0 ? ret : 0;

	switch (n->mode & S_IFMT) {
	case S_IFDIR:
		if (mkdirat(pfd, n->name, 0700))
			return -errno;
		f->dfd[k - f->first] =
			openat(pfd, n->name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		return f->dfd[k - f->first] < 0 ? -errno : 0;
	case S_IFLNK:
		return symlinkat(n->target, pfd, n->name) ? -errno : 0;
	case S_IFIFO:
		return mknodat(pfd, n->name, S_IFIFO | 0600, 0) ? -errno : 0;
	}
	if (n->link) { /* a hard link of an earlier file, made already */
		l = mntns_node(ms, n->link);
		return linkat(f->dfd[mntns_node_idx(ms, l->parent) - (ssize_t)f->first], l->name,
			      pfd, n->name, 0) ?
			       -errno :
			       0;
	}
	fd = openat(pfd, n->name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	ret = write_data(f, n, fd);
	close(fd);
	return ret;
}

/* Owner, mode and times of node k, through its parent (the root: itself). */
static int set_attrs(struct fill *f, size_t k)
{
	const MountsEntry *ms = f->img->mounts;
	const TmpfsNode *n = ms->nodes[k];
	struct timespec ts[2] = { { n->atime_sec, n->atime_nsec },
				  { n->mtime_sec, n->mtime_nsec } };
	int pfd = n->parent ? f->dfd[mntns_node_idx(ms, n->parent) - (ssize_t)f->first] : f->dfd[0];
	const char *name = n->parent ? n->name : ".";
	char path[300];

	if (n->atime_nsec >= 1000000000u || n->mtime_nsec >= 1000000000u)
		return -EINVAL;
	snprintf(path, sizeof(path), "/proc/self/fd/%d/%s", pfd, name);
	for (size_t i = 0; i < n->n_xattrs; i++)
		if (lsetxattr(path, n->xattrs[i]->name, n->xattrs[i]->value.data,
			      n->xattrs[i]->value.len, XATTR_CREATE))
			return -errno;
	if (fchownat(pfd, name, n->uid, n->gid, AT_SYMLINK_NOFOLLOW))
		return -errno;
	if (!S_ISLNK(n->mode) && fchmodat(pfd, name, n->mode & 07777, 0))
		return -errno;
	return utimensat(pfd, name, ts, AT_SYMLINK_NOFOLLOW) ? -errno : 0;
}

int mntns_tmpfs_fill(const struct rst_image *img, const MountEntry *e, int mfd, bool merge)
{
	const MountsEntry *ms = img->mounts;
	struct fill f = { img, e, 0, 0, NULL, merge, NULL, 0 };
	struct stat st;
	size_t k;
	int ret = 0;

	while (f.first < ms->n_nodes && ms->nodes[f.first]->mount != e->id)
		f.first++;
	for (f.last = f.first; f.last < ms->n_nodes && ms->nodes[f.last]->mount == e->id;)
		f.last++;
	if (f.first == f.last)
		return 0; /* dumped with no node: an empty tmpfs */
	f.dfd = malloc((f.last - f.first) * sizeof(*f.dfd));
	f.had = calloc(f.last - f.first, sizeof(*f.had));
	if (!f.dfd || !f.had || fstat(mfd, &st)) {
		free(f.dfd);
		free(f.had);
		return -ENOMEM;
	}
	f.dev = st.st_dev;
	for (k = 0; k < f.last - f.first; k++)
		f.dfd[k] = -1;
	f.dfd[0] = openat(mfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (f.dfd[0] < 0)
		ret = -errno;
	for (k = f.first + 1; !ret && k < f.last; k++) {
		if (ms->nodes[k]->mount != e->id) {
			ret = -EBADMSG; /* the nodes of one mount come together */
			break;
		}
		ret = make_node(&f, k);
	}
	for (k = f.last; !ret && k > f.first; k--)
		if (!f.had[k - 1 - f.first])
			ret = set_attrs(&f, k - 1);
	if (ret)
		pr_err("mount %s (tmpfs): cannot write its files: %s\n", e->point, strerror(-ret));
	for (k = 0; k < f.last - f.first; k++)
		if (f.dfd[k] >= 0)
			close(f.dfd[k]);
	free(f.dfd);
	free(f.had);
	return ret;
}
