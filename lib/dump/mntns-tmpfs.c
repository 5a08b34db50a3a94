/*
 * The files of a tmpfs mount of the tree (tmpfs_node in MOUNTS, bytes in
 * TMPFS_DATA): walked through a detached clone of the mount (mntns.c), so
 * the directories under the mounts on top of it are seen as they are.
 * Regular files, directories, symlinks and FIFOs, with mode, owner, times
 * and hard links; a device node or socket is refused naming it, and so is
 * a mount holding more than MNTNS_TMPFS_MAX bytes.  Holes stay holes
 * (SEEK_DATA/SEEK_HOLE).  The tree is stopped: the files do not change.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/xattr.h>

#define LOG_PREFIX "dump/mntns: "
#include "log.h"
#include "dump/mntns.h"
#include "img/img.h"
#include "util/pb.h"

#define MAX_DEPTH 64
#define CHUNK (1u << 20)

struct walk {
	struct dump_mntns *m;
	const MountEntry *me;
	int mfd;
	uint64_t bytes;
	dev_t dev; /* the tmpfs's */
	unsigned dirs;
};

static int add_node(struct walk *w, uint32_t parent, const char *name, const char *rel,
		    const struct stat *st, TmpfsNode **out)
{
	struct dump_mntns *m = w->m;
	TmpfsNode *n;
	size_t k = m->e.n_nodes;

	if (k >= MNTNS_NODES_MAX) {
		pr_err("mount %s (tmpfs): more than %u files: not supported\n", w->me->point,
		       MNTNS_NODES_MAX);
		return -EOPNOTSUPP;
	}
	if (k == m->cap_nodes) {
		size_t cap = m->cap_nodes ? 2 * m->cap_nodes : 64;
		TmpfsNode **nv = realloc(m->e.nodes, cap * sizeof(*nv));
		char **rv = realloc(m->node_rel, cap * sizeof(*rv));
		int *fv = realloc(m->node_mfd, cap * sizeof(*fv));
		uint64_t *iv = realloc(m->node_ino, cap * sizeof(*iv));

		if (iv)
			m->node_ino = iv;
		if (nv)
			m->e.nodes = nv;
		if (rv)
			m->node_rel = rv;
		if (fv)
			m->node_mfd = fv;
		if (!nv || !rv || !fv || !iv)
			return -ENOMEM;
		m->cap_nodes = cap;
	}
	n = calloc(1, sizeof(*n));
	if (!n)
		return -ENOMEM;
	tmpfs_node__init(n);
	m->e.nodes[k] = n;
	m->node_rel[k] = strdup(rel);
	m->node_mfd[k] = w->mfd;
	m->node_ino[k] = st->st_ino;
	m->e.n_nodes++;
	n->name = strdup(name);
	if (!n->name || !m->node_rel[k])
		return -ENOMEM;
	PB_SET(n, id, ++m->next_id);
	PB_SET(n, mount, w->me->id);
	PB_SET(n, parent, parent);
	PB_SET(n, mode, st->st_mode);
	PB_SET(n, uid, st->st_uid);
	PB_SET(n, gid, st->st_gid);
	PB_SET(n, atime_sec, st->st_atim.tv_sec);
	PB_SET(n, atime_nsec, (uint32_t)st->st_atim.tv_nsec);
	PB_SET(n, mtime_sec, st->st_mtim.tv_sec);
	PB_SET(n, mtime_nsec, (uint32_t)st->st_mtim.tv_nsec);
	*out = n;
	return 0;
}

/* An earlier node of this mount with the same inode (a hard link), or 0. */
static uint32_t link_of(const struct walk *w, const struct stat *st, size_t first)
{
	for (size_t i = first; st->st_nlink > 1 && i + 1 < w->m->e.n_nodes; i++) {
		const TmpfsNode *n = w->m->e.nodes[i];

		if (S_ISREG(n->mode) && !n->link && w->m->node_ino[i] == st->st_ino)
			return n->id;
	}
	return 0;
}

static int walk_dir(struct walk *w, int dfd, uint32_t parent, const char *rel, int depth,
		    size_t first);

/* The user.* and trusted.* xattrs of name in dfd (not followed) into n;
 * other namespaces (security.*, system.* ACLs) refused naming the file. */
static int read_xattrs(struct walk *w, int dfd, const char *name, const char *rel, TmpfsNode *n)
{
	char path[4200], names[4096], value[65536];
	ssize_t len, vl;
	int ret = 0;

	snprintf(path, sizeof(path), "/proc/self/fd/%d/%s", dfd, name);
	len = llistxattr(path, names, sizeof(names));
	if (len < 0)
		return errno == ENOTSUP ? 0 : -errno;
	for (char *k = names; !ret && k < names + len; k += strlen(k) + 1) {
		TmpfsXattr *x, **nv;

		if ((strncmp(k, "user.", 5) && strncmp(k, "trusted.", 8)) || n->n_xattrs >= 64) {
			pr_err("mount %s (tmpfs): %s has xattr %s: not supported\n", w->me->point,
			       rel, k);
			return -EOPNOTSUPP;
		}
		vl = lgetxattr(path, k, value, sizeof(value));
		if (vl < 0)
			return -errno;
		nv = realloc(n->xattrs, (n->n_xattrs + 1) * sizeof(*nv));
		x = malloc(sizeof(*x));
		if (nv)
			n->xattrs = nv;
		if (!nv || !x) {
			free(x);
			return -ENOMEM;
		}
		tmpfs_xattr__init(x);
		n->xattrs[n->n_xattrs++] = x;
		x->name = strdup(k);
		x->value.data = malloc(vl ? (size_t)vl : 1);
		if (!x->name || !x->value.data)
			return -ENOMEM;
		memcpy(x->value.data, value, (size_t)vl);
		x->value.len = (size_t)vl;
		x->has_value = true;
	}
	return ret;
}

static int add_entry(struct walk *w, int dfd, uint32_t parent, const char *rel, const char *name,
		     int depth, size_t first)
{
	char path[4096], target[4096];
	struct stat st;
	TmpfsNode *n;
	ssize_t l;
	int ret, fd;

	if (snprintf(path, sizeof(path), "%s/%s", rel, name) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW))
		return -errno;
	if (st.st_dev != w->dev) { /* seen through an unbindable mount's root, not a clone */
		pr_err("mount %s (tmpfs): %s has a mount on it and the tmpfs is unbindable: not "
		       "supported\n",
		       w->me->point, path + 1);
		return -EOPNOTSUPP;
	}
	if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode) && !S_ISLNK(st.st_mode) &&
	    !S_ISFIFO(st.st_mode)) {
		pr_err("mount %s (tmpfs): %s is a device or socket: not supported\n", w->me->point,
		       path + 1);
		return -EOPNOTSUPP;
	}
	ret = add_node(w, parent, name, path, &st, &n);
	if (ret)
		return ret;
	if (S_ISREG(st.st_mode)) {
		uint32_t ln = link_of(w, &st, first);

		ret = ln ? 0 : read_xattrs(w, dfd, name, path + 1, n);
		if (ret)
			return ret;
		PB_SET(n, size, st.st_size);
		if (ln)
			PB_SET(n, link, ln);
		else
			w->bytes += st.st_size;
		if (w->bytes > MNTNS_TMPFS_MAX) {
			pr_err("mount %s (tmpfs): more than %llu MiB of files: not supported\n",
			       w->me->point, MNTNS_TMPFS_MAX >> 20);
			return -EOPNOTSUPP;
		}
	} else if ((ret = read_xattrs(w, dfd, name, path + 1, n))) {
		return ret;
	} else if (S_ISLNK(st.st_mode)) {
		l = readlinkat(dfd, name, target, sizeof(target) - 1);
		if (l < 0)
			return -errno;
		target[l] = '\0';
		n->target = strdup(target);
		if (!n->target)
			return -ENOMEM;
	} else if (S_ISDIR(st.st_mode)) {
		if (++w->dirs >= MNTNS_TMPFS_DIRS) {
			pr_err("mount %s (tmpfs): more than %u directories: not supported\n",
			       w->me->point, MNTNS_TMPFS_DIRS - 1);
			return -EOPNOTSUPP;
		}
		fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			return -errno;
		ret = walk_dir(w, fd, n->id, path, depth + 1, first);
		close(fd);
	}
	return ret;
}

static int walk_dir(struct walk *w, int dfd, uint32_t parent, const char *rel, int depth,
		    size_t first)
{
	struct dirent *d;
	DIR *dir;
	int fd, ret = 0;

	if (depth > MAX_DEPTH) {
		pr_err("mount %s (tmpfs): directories deeper than %d: not supported\n",
		       w->me->point, MAX_DEPTH);
		return -EOPNOTSUPP;
	}
	fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	dir = fd < 0 ? NULL : fdopendir(fd);
	if (!dir) {
		if (fd >= 0)
			close(fd);
		return -errno;
	}
	while (!ret && (errno = 0, d = readdir(dir))) {
		if (!strcmp(d->d_name, ".") || !strcmp(d->d_name, ".."))
			continue;
		ret = add_entry(w, dirfd(dir), parent, rel, d->d_name, depth, first);
	}
	if (!ret && errno)
		ret = -errno;
	closedir(dir);
	return ret;
}

int mntns_tmpfs_collect(struct dump_mntns *m, const MountEntry *me, int mfd)
{
	struct walk w = { m, me, mfd, 0, 0, 0 };
	size_t first = m->e.n_nodes;
	struct stat st;
	TmpfsNode *root;
	int ret;

	if (fstat(mfd, &st))
		return -errno;
	w.dev = st.st_dev;
	ret = add_node(&w, 0, "", ".", &st, &root);
	ret = ret ?: read_xattrs(&w, mfd, ".", "/", root);
	ret = ret ?: walk_dir(&w, mfd, root->id, ".", 0, first);
	if (ret == -ENOMEM || (ret && ret != -EOPNOTSUPP))
		pr_err("mount %s (tmpfs): cannot read its files: %s\n", me->point, strerror(-ret));
	return ret;
}

/* TMPFS_DATA records of one file: its data extents, CHUNK at most each. */
static int write_file(struct img_writer *w, const TmpfsNode *n, int fd, char *buf)
{
	struct img_data_prefix p = { .id = n->id };
	off_t off = 0, hole, end = (off_t)n->size;
	ssize_t r;
	size_t len;
	int ret;

	while (off < end) {
		off = lseek(fd, off, SEEK_DATA);
		if (off < 0)
			return errno == ENXIO ? 0 : -errno;
		hole = lseek(fd, off, SEEK_HOLE);
		if (hole < 0)
			return -errno;
		if (hole > end)
			hole = end;
		for (; off < hole; off += (off_t)len) {
			len = (size_t)(hole - off) < CHUNK ? (size_t)(hole - off) : CHUNK;
			r = pread(fd, buf, len, off);
			if (r != (ssize_t)len)
				return r < 0 ? -errno : -EIO;
			p.offset = (uint64_t)off;
			ret = img_write_raw2(w, IMG_REC_TMPFS_DATA, 0, &p, sizeof(p), buf, len);
			if (ret)
				return ret;
		}
	}
	return 0;
}

int mntns_tmpfs_write(struct dump_mntns *m, struct img_writer *w)
{
	char *buf = NULL;
	int ret = 0, fd;

	for (size_t i = 0; !ret && i < m->e.n_nodes; i++) {
		const TmpfsNode *n = m->e.nodes[i];

		if (!S_ISREG(n->mode) || n->link || !n->size)
			continue;
		if (!buf && !(buf = malloc(CHUNK)))
			return -ENOMEM;
		fd = openat(m->node_mfd[i], m->node_rel[i],
			    O_RDONLY | O_NOFOLLOW | O_NOATIME | O_CLOEXEC);
		if (fd < 0) {
			ret = -errno;
			break;
		}
		ret = write_file(w, n, fd, buf);
		close(fd);
	}
	free(buf);
	if (ret)
		pr_err("cannot write the tmpfs files: %s\n", strerror(-ret));
	return ret;
}

void mntns_tmpfs_free(struct dump_mntns *m)
{
	for (size_t i = 0; i < m->e.n_nodes; i++) {
		for (size_t j = 0; j < m->e.nodes[i]->n_xattrs; j++) {
			free(m->e.nodes[i]->xattrs[j]->name);
			free(m->e.nodes[i]->xattrs[j]->value.data);
			free(m->e.nodes[i]->xattrs[j]);
		}
		free(m->e.nodes[i]->xattrs);
		free(m->e.nodes[i]->name);
		free(m->e.nodes[i]->target);
		free(m->e.nodes[i]);
		free(m->node_rel[i]);
	}
	free(m->e.nodes);
	free(m->node_rel);
	free(m->node_mfd);
	free(m->node_ino);
}
