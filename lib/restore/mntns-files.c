/*
 * Files held on a tmpfs of the image's own (issue 14): an fd, a mapping or
 * the exe link whose file is a node of a MNT_FRESH tmpfs (file_entry
 * tmpfs_node).  Restore makes that tmpfs anew and fills it from the image
 * (mntns-tmpfs.c), so the file is another inode: it is checked by the node
 * instead of the dumped device and inode.
 *  - By the image alone: the node exists, is in a tmpfs mount the restore
 *    makes (MNT_FRESH, tmpfs), has the type of the record's kind, and the
 *    record's path is that mount's point followed by the node's names
 *    (parents up to the mount's root): a record cannot name a node at
 *    another place, or a host file through a node.
 *  - At open (open.c, inside the restored namespace): the path, resolved
 *    without symlinks, must be on the mount the restore made for the
 *    node's mount (its device and mount id, set by the builder for a tree,
 *    mntns-build.c, and by the init for a --root context, ctx-mounts.c),
 *    with the node's type and, for a regular file, its size.
 * A MAP_SHARED mapping of such a file maps the new inode, whose bytes are
 * the file's at the dump (TMPFS_DATA): the image holds no pages for it.
 */
#define LOG_PREFIX "restore/mntns: "
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "log.h"
#include "restore/restore.h"
#include "restore/mntns.h"

/* The made tmpfs mounts of this process's restore, by image mount id. */
struct made_tmpfs {
	uint32_t id;
	dev_t dev;
	uint64_t mnt_id;
};

static const MountsEntry *made_ms;
static struct made_tmpfs *made;
static size_t nr_made;

int mntns_files_made(const MountsEntry *ms, uint32_t id, dev_t dev, uint64_t mnt_id)
{
	struct made_tmpfs *nv = realloc(made, (nr_made + 1) * sizeof(*nv));

	if (!nv)
		return -ENOMEM;
	made = nv;
	made[nr_made++] = (struct made_tmpfs){ id, dev, mnt_id };
	made_ms = ms;
	return 0;
}

void mntns_files_reset(void)
{
	free(made);
	made = NULL;
	nr_made = 0;
	made_ms = NULL;
}

static const struct made_tmpfs *made_of(uint32_t id)
{
	for (size_t i = 0; i < nr_made; i++)
		if (made[i].id == id)
			return &made[i];
	return NULL;
}

/* The path of node n: its mount's point and the names up to its root.
 * 0, or -EINVAL (too deep, too long, a broken chain). */
static int node_path(const MountsEntry *ms, const TmpfsNode *n, const MountEntry *e, char *out,
		     size_t size)
{
	const TmpfsNode *chain[MNTNS_FILES_DEPTH];
	size_t depth = 0, len;

	for (; n && n->parent; n = mntns_node(ms, n->parent)) {
		if (depth == MNTNS_FILES_DEPTH)
			return -EINVAL;
		chain[depth++] = n;
	}
	if (!n)
		return -EINVAL;
	len = strcmp(e->point, "/") ? strlen(e->point) : 0;
	if (len >= size)
		return -EINVAL;
	memcpy(out, e->point, len);
	out[len] = '\0';
	while (depth--) {
		size_t l = strlen(chain[depth]->name);

		if (len + 1 + l >= size)
			return -EINVAL;
		out[len++] = '/';
		memcpy(out + len, chain[depth]->name, l + 1);
		len += l;
	}
	if (!len)
		strcpy(out, "/");
	return 0;
}

/* The st_mode type a record of fe's kind must be on a tmpfs (that of its
 * ghost: no device node is on one), or 0. */
static mode_t tmpfs_kind_type(const FileEntry *fe)
{
	mode_t t = ghost_type(fe);

	return S_ISCHR(t) || S_ISBLK(t) ? 0 : t;
}

static int bad_file(const FileEntry *fe, const char *why)
{
	pr_err("image: file id %u (%s): tmpfs node %u %s\n", fe->id, fe->path ? fe->path : "",
	       fe->tmpfs_node, why);
	return -EBADMSG;
}

static int check_one(const MountsEntry *ms, const FileEntry *fe)
{
	mode_t type = tmpfs_kind_type(fe);
	const TmpfsNode *n;
	const MountEntry *e;
	char path[PATH_MAX];

	if (!ms)
		return bad_file(fe, "in an image without MOUNTS");
	n = mntns_node(ms, fe->tmpfs_node);
	if (!n)
		return bad_file(fe, "is not in the image");
	e = mntns_mount(ms, n->mount);
	if (!e || e->kind != MOUNT_KIND__MNT_FRESH || !e->fstype || strcmp(e->fstype, "tmpfs"))
		return bad_file(fe, "is not in a tmpfs the restore makes");
	if (!type || fe->deleted || fe->external || fe->outside_root)
		return bad_file(fe, "on a record of another kind");
	if ((n->mode & S_IFMT) != type || (fe->has_mode && (fe->mode & S_IFMT) != type))
		return bad_file(fe, "is of another type");
	if (!fe->path || node_path(ms, n, e, path, sizeof(path)) || strcmp(path, fe->path))
		return bad_file(fe, "is at another path");
	return 0;
}

int mntns_files_check_image(const struct rst_image *img)
{
	for (size_t i = 0; i < img->nr_files; i++) {
		const FileEntry *fe = img->files[i].fe;
		int ret;

		if (!fe->has_tmpfs_node)
			continue;
		ret = check_one(img->mounts, fe);
		if (ret)
			return ret;
	}
	return 0;
}

int mntns_files_check(const FileEntry *fe, int h, const struct stat *st)
{
	const TmpfsNode *n = made_ms ? mntns_node(made_ms, fe->tmpfs_node) : NULL;
	const struct made_tmpfs *m = n ? made_of(n->mount) : NULL;
	struct statx sx;

	if (!m) {
		pr_err("%s: tmpfs node %u is on no tmpfs this restore made\n", fe->path,
		       fe->tmpfs_node);
		return -EPERM;
	}
	if (statx(h, "", AT_EMPTY_PATH, STATX_MNT_ID, &sx) || !(sx.stx_mask & STATX_MNT_ID) ||
	    sx.stx_mnt_id != m->mnt_id || st->st_dev != m->dev) {
		pr_err("%s is not on the tmpfs this restore made for it\n", fe->path);
		return -EPERM;
	}
	if ((st->st_mode & S_IFMT) != (n->mode & S_IFMT) ||
	    (S_ISREG(n->mode) && (uint64_t)st->st_size != n->size)) {
		pr_err("%s is not tmpfs node %u as restored (type or size)\n", fe->path,
		       fe->tmpfs_node);
		return -ESTALE;
	}
	return 0;
}
