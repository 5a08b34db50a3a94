/*
 * The mount namespace of a context with a root of its own (--root), at
 * restore.  Its init made the namespace from the context's settings, with
 * the same code as at creation (lib/ctx/isolate.c): the image's MOUNTS
 * record is not built from, it is what the result must be.  In the init,
 * right after that setup:
 *  1. its mountinfo is matched with the image's mounts (parents first:
 *     the same point on the matched parent) and compared: the count, type,
 *     per-mount options and propagation of each, and for the mounts the
 *     dump saw as the context's own superblocks (MNT_FRESH) their source,
 *     root and superblock options too.  A difference (a mount the guest
 *     made with --bcaps all, another size of its /dev/shm) is a refusal
 *     naming the mount and both values;
 *  2. the files of each of its own writable tmpfs (/dev, /dev/shm) are
 *     written back, merged with the nodes the setup made (a device's mount
 *     point is left as it is).  The tmpfs must be one the setup made: a
 *     superblock no mount of vxrestore's namespace has (ctx_mounts_prepare
 *     keeps their devices before the fork), so no host tmpfs is written;
 *  3. the guest's root: the same directory as at the dump (device and
 *     inode), or a copy of it (the tree recreated, another host), whose
 *     files are then checked by type, size and mtime (open.c);
 *  4. the files the image names are checked here, inside the guest (the
 *     host checks of vxrestore skip them: its paths are the guest's).
 */
#define LOG_PREFIX "restore/ctx: "
#include <errno.h>
#include <stdint.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <linux/openat2.h>

#include "log.h"
#include "proc/mountinfo.h"
#include "restore/restore.h"
#include "restore/mntns.h"

/* Devices of vxrestore's mounts, read before the init was forked. */
static struct proc_mount_list host_mounts;

int ctx_mounts_prepare(const struct rst_image *img)
{
	int ret;

	if (!img->mounts)
		return 0;
	ret = proc_read_mountinfo(0, &host_mounts);
	if (ret)
		pr_err("cannot read our own mountinfo: %s\n", strerror(-ret));
	return ret;
}

static bool host_dev(uint32_t major, uint32_t minor)
{
	for (size_t i = 0; i < host_mounts.n; i++)
		if (host_mounts.v[i].major == major && host_mounts.v[i].minor == minor)
			return true;
	return false;
}

/* The first unused mount of cur at point on parent (0: the root). */
static ssize_t match(const struct proc_mount_list *cur, const bool *used, const char *point,
		     uint32_t parent)
{
	for (size_t j = 0; j < cur->n; j++) {
		const struct proc_mount *c = &cur->v[j];
		bool root = c->parent == c->id || !proc_mount_by_id(cur, c->parent);

		if (!used[j] && !strcmp(c->point, point) && (parent ? c->parent == parent : root))
			return (ssize_t)j;
	}
	return -1;
}

static bool same(const struct proc_mount *c, const MountEntry *e)
{
	bool fresh = e->kind == MOUNT_KIND__MNT_FRESH;

	return !strcmp(c->fstype, e->fstype) && !strcmp(c->opts, e->opts) &&
	       !c->shared == !e->shared && !c->master == !e->master &&
	       c->unbindable == e->unbindable &&
	       (!fresh || (!strcmp(c->super, e->super) && !strcmp(c->source, e->source) &&
			   !strcmp(c->root, e->root)));
}

/*
 * A mount of the settings that is the restoring host's layout, not the
 * guest's state: below /sys (the host's sysfs mounts, its v1 cgroup
 * hierarchies replaced by empty tmpfs) and the run directory's view (at
 * the run directory of the dump, or of this restore).  Not compared, so a
 * context moves to a host with other hierarchies or run directory.
 */
static bool host_layout(const char *point, const char *rundir)
{
	return !strncmp(point, "/sys/", 5) || (rundir && !strcmp(point, rundir));
}

/* Step 1: cur[at[i]] is image mount i (SIZE_MAX: not compared).  0 or
 * -EINVAL (logged). */
static int compare(const struct rst_image *img, const char *ours, const struct proc_mount_list *cur,
		   size_t *at)
{
	const MountsEntry *ms = img->mounts;
	bool *used = calloc(cur->n ? cur->n : 1, sizeof(*used));
	size_t n_cur = 0, n_img = 0;
	int ret = used ? 0 : -ENOMEM;

	for (size_t i = 0; !ret && i < ms->n_mounts; i++) {
		const MountEntry *e = ms->mounts[i];
		ssize_t pi = e->parent ? mntns_mount_idx(ms, e->parent) : -1;
		ssize_t j;
		const struct proc_mount *c;

		at[i] = SIZE_MAX;
		if (host_layout(e->point, img->ctxe->rundir) ||
		    (pi >= 0 && at[pi] == SIZE_MAX)) /* below one not compared */
			continue;
		n_img++;
		j = match(cur, used, e->point, pi >= 0 ? cur->v[at[pi]].id : 0);
		c = j >= 0 ? &cur->v[j] : NULL;

		if (c && same(c, e)) {
			if (e->kind == MOUNT_KIND__MNT_FRESH && host_dev(c->major, c->minor)) {
				pr_err("mount %s (%s) of the context is a filesystem of the host, "
				       "the image says one of its own: not restored\n",
				       e->point, e->fstype);
				ret = -EINVAL;
				continue;
			}
			used[j] = true;
			at[i] = (size_t)j;
			continue;
		}
		pr_err("mount %s (%s) of the context is \"%s\" \"%s\" %s, the image says \"%s\" \"%s\" "
		       "%s: not restored (only what its settings make)\n",
		       e->point, e->fstype, c ? c->opts : "missing", c ? c->super : "",
		       c ? c->fstype : "", e->opts, e->super, e->fstype);
		ret = -EINVAL;
	}
	for (size_t j = 0; j < cur->n; j++)
		n_cur += !host_layout(cur->v[j].point, ours);
	if (!ret && n_cur != n_img) {
		for (size_t j = 0; j < cur->n; j++)
			if (!used[j] && !host_layout(cur->v[j].point, ours))
				pr_err("mount %s (%s) of the context is not in the image\n",
				       cur->v[j].point, cur->v[j].fstype);
		ret = -EINVAL;
	}
	free(used);
	return ret;
}

/* Does image mount e hold nodes besides its root? */
static bool has_files(const MountsEntry *ms, const MountEntry *e)
{
	for (size_t k = 0; k < ms->n_nodes; k++)
		if (ms->nodes[k]->mount == e->id && ms->nodes[k]->parent)
			return true;
	return false;
}

static int bad_layout(const MountEntry *e)
{
	pr_err("image: mount %s (%s) of the host's layout holds files\n", e->point, e->fstype);
	return -EBADMSG;
}

/* Step 2: the files of own tmpfs mount e, which is c here. */
static int fill(const struct rst_image *img, const MountEntry *e, const struct proc_mount *c)
{
	struct open_how how = { .flags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC,
				.resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS };
	struct statx sx;
	int fd, ret;

	if (proc_mount_has_opt(c->opts, "ro")) {
		if (!has_files(img->mounts, e))
			return 0; /* an empty read-only tmpfs of the settings (a mask) */
		pr_err("mount %s (tmpfs): read-only with files: not restored\n", e->point);
		return -EOPNOTSUPP;
	}
	fd = (int)syscall(SYS_openat2, AT_FDCWD, e->point, &how, sizeof(how));
	if (fd < 0) {
		pr_perror("cannot open the context's %s", e->point);
		return -errno;
	}
	if (statx(fd, "", AT_EMPTY_PATH, STATX_MNT_ID, &sx) || !(sx.stx_mask & STATX_MNT_ID) ||
	    sx.stx_mnt_id != c->id) {
		pr_err("the context's %s is not the mount it should be\n", e->point);
		close(fd);
		return -EINVAL;
	}
	ret = mntns_tmpfs_fill(img, e, fd, true);
	close(fd);
	/* files the guest holds on it are checked against this mount */
	return ret ?: mntns_files_made(img->mounts, e->id, makedev(c->major, c->minor), c->id);
}

/*
 * Step 3: the root as dumped, or a copy (open.c checks its files by
 * contents).  The same inode number is no proof that it is the dumped
 * directory: ext4 gives a directory made after that one was deleted its
 * number again (rm -rf G; mkdir G; cp -a COPY/. G/ does, every time here),
 * whose files have other numbers.  So the files on the root's filesystem
 * are let in by type, size and mtime in both cases; the inode only says
 * which case is reported.
 */
static int root_identity(const CtxEntry *ce)
{
	struct stat st;

	if (stat("/", &st))
		return -errno;
	rst_open_copied_root(st.st_dev);
	if (ce->has_root_dev && ce->has_root_ino && st.st_dev == ce->root_dev &&
	    st.st_ino == ce->root_ino)
		return 0;
	pr_info("context %u: its root %s is a copy of the dumped one (inode %llu, was %llu): "
		"its files are checked by type, size and mtime\n",
		ce->xid, ce->root, (unsigned long long)st.st_ino, (unsigned long long)ce->root_ino);
	return 0;
}

int ctx_mounts_restore(const struct rst_image *img, const char *rundir)
{
	const MountsEntry *ms = img->mounts;
	struct proc_mount_list cur = { 0 };
	size_t *at = NULL;
	int ret;

	mntns_files_reset(); /* what vxrestore noted of an earlier restore is not ours */
	if (!img->ctxe->root)
		return 0;
	if (!ms) {
		pr_err("image: context %u has a root of its own but no MOUNTS\n", img->ctxe->xid);
		return -EBADMSG;
	}
	ret = proc_read_mountinfo(0, &cur);
	at = calloc(ms->n_mounts, sizeof(*at));
	ret = ret ?: at ? compare(img, rundir, &cur, at) : -ENOMEM;
	for (size_t i = 0; !ret && i < ms->n_mounts; i++) {
		const MountEntry *e = ms->mounts[i];

		if (e->kind == MOUNT_KIND__MNT_FRESH && !strcmp(e->fstype, "tmpfs") &&
		    at[i] != SIZE_MAX)
			ret = fill(img, e, &cur.v[at[i]]);
		else if (at[i] == SIZE_MAX && has_files(ms, e))
			ret = bad_layout(e);
	}
	free(at);
	proc_mount_list_free(&cur);
	ret = ret ?: root_identity(img->ctxe);
	return ret ?: fd_kinds_check_host_of(img, false);
}
