/*
 * Builds the tree's mount namespace (record MOUNTS) before any process of
 * the tree exists.  A child of ours unshares a new mount namespace, a copy
 * of ours, and changes it to match the image:
 *  1. everything is made a slave (MS_REC): nothing done in it from here
 *     on propagates to our namespace, the host's;
 *  2. each MNT_HOST mount of the image is matched to the copy's mount of
 *     the same point, device, root, type and source on the matched parent
 *     (missing: refused); MNT_BIND_HOST sources are opened (openat2 without
 *     symlinks) and their st_dev/st_ino checked against the image;
 *  3. every mount of the copy the image does not hold is detached;
 *  4. each other mount is made in image order (parents first) with the
 *     new mount API: fsopen/fsconfig/fsmount for a fresh superblock (a
 *     tmpfs filled while still detached), open_tree(OPEN_TREE_CLONE) for
 *     a bind; per-mount flags with mount_setattr; attached by move_mount
 *     onto its point, which must lie on the restored parent mount (statx
 *     mount id); a missing point is made only in a tmpfs the restore made,
 *     else refused naming it.  A mount a peer's propagation made already is
 *     taken as is;
 *  5. propagation as the image says (peer groups mapped), then the whole
 *     new mountinfo is read back and compared with the image.
 * Then we take an fd of the namespace (the root enters it, tree.c) and the
 * child exits.  Failed or killed: the namespace's holders are that child,
 * our fd and the root, all gone with the restore: nothing is left.
 */
#define LOG_PREFIX "restore/mntns: "
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/openat2.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "log.h"
#include "error.h"
#include "proc/mountinfo.h"
#include "util/report.h"
#include "util/testhook.h"
#include "restore/restore.h"
#include "restore/mntns.h"

/* A tmpfs the builder made, told to vxrestore (files held on it). */
struct made {
	uint64_t dev;
	uint64_t mnt_id;
};

struct build {
	const struct rst_image *img;
	const MountsEntry *ms;
	struct proc_mount_list cur; /* the new namespace's mountinfo, as last read */
	uint32_t *new_id;	    /* per image mount: its id in the new namespace */
	int *mfd;		    /* per image mount: an fd of its root, or -1 */
	int *src;		    /* per image mount: MNT_BIND_HOST source, or -1 */
	uint32_t *gmap;		    /* image peer group -> new one, pairs */
	size_t n_gmap;
	struct made *made; /* per image mount: shared with our parent */
};

static int reread(struct build *b)
{
	proc_mount_list_free(&b->cur);
	return proc_read_mountinfo(0, &b->cur);
}

static const struct proc_mount *cur_of(const struct build *b, uint32_t id)
{
	return proc_mount_by_id(&b->cur, id);
}

static int open_nofollow(int dfd, const char *path, int flags, uint64_t resolve)
{
	struct open_how how = { .flags = (uint64_t)(flags | O_NOFOLLOW | O_CLOEXEC),
				.resolve = resolve | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS };
	int fd = (int)syscall(SYS_openat2, dfd, path, &how, sizeof(how));

	return fd < 0 ? -errno : fd;
}

static uint32_t mnt_id_of(int fd)
{
	struct statx sx;

	if (statx(fd, "", AT_EMPTY_PATH, STATX_MNT_ID, &sx) || !(sx.stx_mask & STATX_MNT_ID))
		return 0;
	return (uint32_t)sx.stx_mnt_id;
}

static bool same_host_mount(const struct proc_mount *c, const MountEntry *e)
{
	return c->major == e->dev_major && c->minor == e->dev_minor && !strcmp(c->root, e->root) &&
	       !strcmp(c->point, e->point) && !strcmp(c->fstype, e->fstype) &&
	       !strcmp(c->source, e->source);
}

/* Step 2: MNT_HOST mounts matched, bind sources opened and checked. */
static int match_host(struct build *b)
{
	bool *used = calloc(b->cur.n ? b->cur.n : 1, sizeof(*used));
	int ret = used ? 0 : -ENOMEM;

	for (size_t i = 0; !ret && i < b->ms->n_mounts; i++) {
		const MountEntry *e = b->ms->mounts[i];
		uint32_t want_parent = e->parent ? b->new_id[mntns_mount_idx(b->ms, e->parent)] : 0;
		size_t j;

		if (e->kind != MOUNT_KIND__MNT_HOST)
			continue;
		for (j = 0; j < b->cur.n; j++) {
			const struct proc_mount *c = &b->cur.v[j];

			if (!used[j] && same_host_mount(c, e) &&
			    (e->parent ? c->parent == want_parent : !cur_of(b, c->parent)))
				break;
		}
		if (j == b->cur.n) {
			pr_err("mount %s (%s, %s) of the image is not in vxrestore's mount "
			       "namespace\n",
			       e->point, e->fstype, e->source);
			ret = -ENOENT;
			break;
		}
		used[j] = true;
		b->new_id[i] = b->cur.v[j].id;
	}
	free(used);
	return ret;
}

static int open_sources(struct build *b)
{
	for (size_t i = 0; i < b->ms->n_mounts; i++) {
		const MountEntry *e = b->ms->mounts[i];
		struct stat st;
		int fd;

		if (e->kind != MOUNT_KIND__MNT_BIND_HOST)
			continue;
		fd = open_nofollow(AT_FDCWD, e->bind_path, O_PATH, 0);
		if (fd < 0 || fstat(fd, &st) || st.st_dev != e->bind_dev ||
		    st.st_ino != e->bind_ino || (st.st_mode & S_IFMT) != e->bind_mode) {
			if (fd >= 0)
				close(fd);
			pr_err("mount %s (%s): its source %s is not the one of the dump (moved, "
			       "replaced or behind a symlink)\n",
			       e->point, e->fstype, e->bind_path);
			return -ESTALE;
		}
		b->src[i] = fd;
	}
	return 0;
}

/* Step 3: the copy's mounts the image does not hold, detached (top first). */
static int detach_extra(struct build *b)
{
	for (size_t j = b->cur.n; j > 0; j--) {
		const struct proc_mount *c = &b->cur.v[j - 1];
		bool held = false;

		for (size_t i = 0; !held && i < b->ms->n_mounts; i++)
			held = b->new_id[i] == c->id;
		if (!held && umount2(c->point, MNT_DETACH) && errno != EINVAL && errno != ENOENT) {
			pr_perror("cannot detach %s in the new mount namespace", c->point);
			return -errno;
		}
	}
	return reread(b);
}

/* Per-mount flags of opts (mountinfo words) on fd. */
static int set_flags(int fd, const char *opts)
{
	struct mount_attr a = { 0 };

	a.attr_clr = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC |
		     MOUNT_ATTR_NOSYMFOLLOW | MOUNT_ATTR_NODIRATIME | MOUNT_ATTR__ATIME;
	a.attr_set |= proc_mount_has_opt(opts, "ro") ? MOUNT_ATTR_RDONLY : 0;
	a.attr_set |= proc_mount_has_opt(opts, "nosuid") ? MOUNT_ATTR_NOSUID : 0;
	a.attr_set |= proc_mount_has_opt(opts, "nodev") ? MOUNT_ATTR_NODEV : 0;
	a.attr_set |= proc_mount_has_opt(opts, "noexec") ? MOUNT_ATTR_NOEXEC : 0;
	a.attr_set |= proc_mount_has_opt(opts, "nosymfollow") ? MOUNT_ATTR_NOSYMFOLLOW : 0;
	a.attr_set |= proc_mount_has_opt(opts, "nodiratime") ? MOUNT_ATTR_NODIRATIME : 0;
	if (proc_mount_has_opt(opts, "noatime"))
		a.attr_set |= MOUNT_ATTR_NOATIME;
	else if (proc_mount_has_opt(opts, "relatime"))
		a.attr_set |= MOUNT_ATTR_RELATIME;
	else
		a.attr_set |= MOUNT_ATTR_STRICTATIME;
	return mount_setattr(fd, "", AT_EMPTY_PATH, &a, sizeof(a)) ? -errno : 0;
}

static int set_propagation(int fd, uint64_t how)
{
	struct mount_attr a = { .propagation = how };

	return mount_setattr(fd, "", AT_EMPTY_PATH, &a, sizeof(a)) ? -errno : 0;
}

static uint32_t group_of(const struct build *b, uint32_t img_group)
{
	for (size_t i = 0; i < b->n_gmap; i++)
		if (b->gmap[2 * i] == img_group)
			return b->gmap[2 * i + 1];
	return 0;
}

static bool image_group(const MountsEntry *ms, uint32_t g)
{
	for (size_t i = 0; i < ms->n_mounts; i++)
		if (ms->mounts[i]->shared == g)
			return true;
	return false;
}

/* The propagation of image mount i (fd on it) as the image says. */
static int propagate(struct build *b, size_t i, int fd)
{
	const MountEntry *e = b->ms->mounts[i];
	const struct proc_mount *c;
	uint32_t peer = e->shared ? group_of(b, e->shared) : 0;
	int ret = reread(b);

	c = ret ? NULL : cur_of(b, b->new_id[i]);
	if (!c)
		return ret ?: -ENOENT;
	if (e->master && image_group(b->ms, e->master)) {
		if (c->shared != group_of(b, e->master))
			goto cannot;
		ret = set_propagation(fd, MS_SLAVE);
	} else if (e->master) {
		if (!c->master) /* a slave of a host group: the copy was one */
			goto cannot;
		ret = c->shared ? set_propagation(fd, MS_SLAVE) : 0;
	} else if (!(peer && c->shared == peer)) {
		ret = set_propagation(fd, MS_PRIVATE);
	}
	if (!ret && e->shared && !peer) {
		ret = set_propagation(fd, MS_SHARED) ?: reread(b);
		c = ret ? NULL : cur_of(b, b->new_id[i]);
		if (!c || !c->shared)
			return ret ?: -EIO;
		b->gmap[2 * b->n_gmap] = e->shared;
		b->gmap[2 * b->n_gmap++ + 1] = c->shared;
	}
	if (!ret && e->unbindable)
		ret = set_propagation(fd, MS_UNBINDABLE);
	if (ret)
		pr_err("mount %s: cannot set its propagation: %s\n", e->point, strerror(-ret));
	return ret;
cannot:
	pr_err("mount %s: cannot make it a slave of peer group %u as the image says\n", e->point,
	       e->master);
	return -EINVAL;
}

/* Is the copy of MNT_HOST mount i as the image says already (flags, propagation)? */
static bool host_as_is(const struct build *b, size_t i)
{
	const MountEntry *e = b->ms->mounts[i];
	const struct proc_mount *c = cur_of(b, b->new_id[i]);

	return c && !strcmp(c->opts, e->opts) && !c->shared && !e->shared &&
	       !c->master == !e->master && c->unbindable == e->unbindable;
}

/* Step 2 and a half: MNT_HOST flags and propagation. */
static int host_attrs(struct build *b)
{
	int ret = 0, fd;

	for (size_t i = 0; !ret && i < b->ms->n_mounts; i++) {
		const MountEntry *e = b->ms->mounts[i];

		if (e->kind != MOUNT_KIND__MNT_HOST)
			continue;
		if (host_as_is(b, i))
			continue; /* nothing to change (a hidden one included) */
		fd = open_nofollow(AT_FDCWD, e->point, O_PATH, 0);
		if (fd < 0 || mnt_id_of(fd) != b->new_id[i]) {
			pr_err("mount %s (%s): hidden under another mount in vxrestore's mount "
			       "namespace\n",
			       e->point, e->fstype);
			ret = -EBUSY;
		} else {
			ret = set_flags(fd, e->opts) ?: propagate(b, i, fd);
		}
		if (fd >= 0)
			close(fd);
	}
	return ret;
}

/*
 * An overlay's layers, each opened without symlinks and checked, then
 * given by path: a layer given by fd shows as "lowerdir+=" in mountinfo,
 * not as the dump's "lowerdir=a:b".  The path was just resolved without a
 * symlink to the dumped inode, in a namespace only we change.
 */
static int overlay_layers(const MountEntry *e, int fs)
{
	char lower[PATH_MAX * 2] = "";
	struct stat st;
	int fd, ret = 0;

	for (size_t i = 0; !ret && i < e->n_layers; i++) {
		const OverlayLayer *l = e->layers[i];

		fd = open_nofollow(AT_FDCWD, l->path, O_PATH | O_DIRECTORY, 0);
		if (fd < 0 || fstat(fd, &st) || st.st_dev != l->dev || st.st_ino != l->ino) {
			pr_err("mount %s (overlay): layer %s is not the one of the dump (moved, "
			       "replaced or behind a symlink)\n",
			       e->point, l->path);
			ret = -ESTALE;
		} else if (!strcmp(l->key, "lowerdir+")) {
			if (strlen(lower) + strlen(l->path) + 2 > sizeof(lower))
				ret = -ENAMETOOLONG;
			else
				strcat(strcat(lower, *lower ? ":" : ""), l->path);
		} else if (fsconfig(fs, FSCONFIG_SET_STRING, l->key, l->path, 0)) {
			ret = -errno;
		}
		if (fd >= 0)
			close(fd);
	}
	if (!ret && *lower && fsconfig(fs, FSCONFIG_SET_STRING, "lowerdir", lower, 0))
		ret = -errno;
	return ret;
}

/* A superblock option make_fresh passes on (not rw/ro, not an overlay layer). */
static bool passed_on(const char *item)
{
	return strcmp(item, "rw") && strcmp(item, "ro") && strncmp(item, "lowerdir=", 9) &&
	       strncmp(item, "upperdir=", 9) && strncmp(item, "workdir=", 8);
}

/* A fresh superblock of e's type with its options; the detached mount's fd. */
static int make_fresh(const MountEntry *e)
{
	char item[128], *eq;
	const char *p = e->super, *c;
	int fs, mfd, ret = 0;
	size_t l;

	fs = fsopen(e->fstype, FSOPEN_CLOEXEC);
	if (fs < 0)
		return -errno;
	if (fsconfig(fs, FSCONFIG_SET_STRING, "source", e->source, 0))
		ret = -errno;
	for (; !ret && p; p = c ? c + 1 : NULL) {
		c = strchr(p, ',');
		l = c ? (size_t)(c - p) : strlen(p);
		if (l >= sizeof(item))
			ret = -EINVAL;
		memcpy(item, p, l < sizeof(item) ? l : 0);
		item[l < sizeof(item) ? l : 0] = '\0';
		if (ret || !passed_on(item))
			continue; /* ro: once the files are written (sb_readonly) */
		eq = strchr(item, '=');
		if (eq)
			*eq = '\0';
		if (eq ? fsconfig(fs, FSCONFIG_SET_STRING, item, eq + 1, 0) :
			 fsconfig(fs, FSCONFIG_SET_FLAG, item, NULL, 0))
			ret = -errno;
	}
	if (!ret && e->n_layers)
		ret = overlay_layers(e, fs);
	if (!ret && fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0))
		ret = -errno;
	mfd = ret ? -1 : fsmount(fs, FSMOUNT_CLOEXEC, 0);
	if (!ret && mfd < 0)
		ret = -errno;
	close(fs);
	return ret ?: mfd;
}

/* A read-only superblock made so after its files were written. */
static int sb_readonly(int mfd)
{
	int fs = fspick(mfd, "", FSPICK_EMPTY_PATH | FSPICK_CLOEXEC), ret = 0;

	if (fs < 0)
		return -errno;
	if (fsconfig(fs, FSCONFIG_SET_FLAG, "ro", NULL, 0) ||
	    fsconfig(fs, FSCONFIG_CMD_RECONFIGURE, NULL, NULL, 0))
		ret = -errno;
	close(fs);
	return ret;
}

/* A detached clone of the bind source of image mount i. */
static int make_bind(struct build *b, size_t i)
{
	const MountEntry *e = b->ms->mounts[i];
	int src = b->src[i], own = -1, fd;

	if (e->kind == MOUNT_KIND__MNT_BIND_OWN) {
		own = open_nofollow(b->mfd[mntns_mount_idx(b->ms, e->bind_from)],
				    *e->bind_sub ? e->bind_sub + 1 : ".", O_PATH,
				    RESOLVE_BENEATH | RESOLVE_NO_XDEV);
		if (own < 0)
			return own;
		src = own;
	}
	fd = open_tree(src, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);
	if (fd < 0)
		fd = -errno;
	if (own >= 0)
		close(own);
	return fd;
}

/* Is dir (an fd) in a tmpfs this restore made? */
static bool in_own_tmpfs(const struct build *b, int dir)
{
	struct stat ds, ms;

	if (fstat(dir, &ds))
		return false;
	for (size_t i = 0; i < b->ms->n_mounts; i++) {
		const MountEntry *e = b->ms->mounts[i];

		if (e->kind == MOUNT_KIND__MNT_FRESH && !strcmp(e->fstype, "tmpfs") &&
		    b->mfd[i] >= 0 && !fstat(b->mfd[i], &ms) && ms.st_dev == ds.st_dev)
			return true;
	}
	return false;
}

/* The mount point of e, made in a tmpfs of ours if missing; O_PATH fd. */
static int open_point(struct build *b, const MountEntry *e, bool dir)
{
	char parent[PATH_MAX], *slash;
	int pfd, fd;

	fd = open_nofollow(AT_FDCWD, e->point, O_PATH, 0);
	if (fd != -ENOENT)
		return fd;
	snprintf(parent, sizeof(parent), "%s", e->point);
	slash = strrchr(parent, '/');
	*slash = '\0';
	pfd = open_nofollow(AT_FDCWD, *parent ? parent : "/", O_PATH | O_DIRECTORY, 0);
	if (pfd < 0 || !in_own_tmpfs(b, pfd)) {
		if (pfd >= 0)
			close(pfd);
		pr_err("mount point %s does not exist and is not in a tmpfs of the image: "
		       "not created\n",
		       e->point);
		return -ENOENT;
	}
	fd = dir ? mkdirat(pfd, slash + 1, 0755) :
		   openat(pfd, slash + 1, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
			  0644);
	if (fd < 0) {
		close(pfd);
		return -errno;
	}
	if (!dir)
		close(fd);
	fd = open_nofollow(pfd, slash + 1, O_PATH, RESOLVE_BENEATH);
	close(pfd);
	return fd;
}

/* A mount a peer's propagation made at e's point on its parent already, or 0. */
static uint32_t propagated(const struct build *b, const MountEntry *e, uint32_t parent)
{
	for (size_t j = 0; j < b->cur.n; j++) {
		const struct proc_mount *c = &b->cur.v[j];
		bool held = false;

		for (size_t i = 0; !held && i < b->ms->n_mounts; i++)
			held = b->new_id[i] == c->id;
		if (!held && c->parent == parent && !strcmp(c->point, e->point) &&
		    !strcmp(c->fstype, e->fstype) && !strcmp(c->root, e->root))
			return c->id;
	}
	return 0;
}

/* Step 4 for image mount i. */
static int make_mount(struct build *b, size_t i)
{
	const MountEntry *e = b->ms->mounts[i];
	uint32_t parent = b->new_id[mntns_mount_idx(b->ms, e->parent)];
	bool dir = e->kind == MOUNT_KIND__MNT_FRESH || e->bind_mode == S_IFDIR;
	int fd, pt = -1, ret;

	b->new_id[i] = propagated(b, e, parent);
	if (b->new_id[i]) {
		fd = open_nofollow(AT_FDCWD, e->point, O_PATH, 0);
		if (fd >= 0 && mnt_id_of(fd) != b->new_id[i]) {
			close(fd);
			fd = -EBUSY;
		}
		b->mfd[i] = fd;
		return fd < 0 ? fd : set_flags(fd, e->opts) ?: propagate(b, i, fd);
	}
	fd = e->kind == MOUNT_KIND__MNT_FRESH ? make_fresh(e) : make_bind(b, i);
	if (fd < 0) {
		pr_err("mount %s (%s): cannot make it: %s\n", e->point, e->fstype, strerror(-fd));
		return fd;
	}
	b->mfd[i] = fd;
	ret = e->kind == MOUNT_KIND__MNT_FRESH && !strcmp(e->fstype, "tmpfs") ?
		      mntns_tmpfs_fill(b->img, e, fd, false) :
		      0;
	if (!ret && e->kind == MOUNT_KIND__MNT_FRESH && proc_mount_has_opt(e->super, "ro"))
		ret = sb_readonly(fd);
	ret = ret ?: set_flags(fd, e->opts);
	pt = ret ? -1 : open_point(b, e, dir);
	if (!ret && pt < 0)
		ret = pt;
	if (!ret && mnt_id_of(pt) != parent) {
		pr_err("mount point %s is not on the mount the image puts it on\n", e->point);
		ret = -EINVAL;
	}
	if (!ret && move_mount(fd, "", pt, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH))
		ret = -errno;
	if (pt >= 0)
		close(pt);
	if (ret) {
		if (ret != -EINVAL && ret != -ENOENT)
			pr_err("mount %s (%s): cannot attach it: %s\n", e->point, e->fstype,
			       strerror(-ret));
		return ret;
	}
	b->new_id[i] = mnt_id_of(fd);
	return propagate(b, i, fd);
}

/* Step 5: the new mountinfo against the image. */
static int verify(struct build *b)
{
	int ret = reread(b);

	if (!ret && b->cur.n != b->ms->n_mounts) {
		pr_err("the new mount namespace has %zu mounts, the image %zu\n", b->cur.n,
		       b->ms->n_mounts);
		return -EINVAL;
	}
	for (size_t i = 0; !ret && i < b->ms->n_mounts; i++) {
		const MountEntry *e = b->ms->mounts[i];
		const struct proc_mount *c = cur_of(b, b->new_id[i]);
		bool fresh = e->kind == MOUNT_KIND__MNT_FRESH;

		if (c && !strcmp(c->opts, e->opts) && !strcmp(c->fstype, e->fstype) &&
		    !strcmp(c->source, e->source) && !strcmp(c->point, e->point) &&
		    (!fresh || !strcmp(c->super, e->super)) && !c->shared == !e->shared &&
		    !c->master == !e->master && c->unbindable == e->unbindable &&
		    (!e->shared || c->shared == group_of(b, e->shared)) &&
		    (!e->master || !image_group(b->ms, e->master) ||
		     c->master == group_of(b, e->master)))
			continue;
		pr_err("mount %s (%s) restored as \"%s\" \"%s\" shared %u master %u, the image says "
		       "\"%s\" \"%s\" shared %u master %u\n",
		       e->point, e->fstype, c ? c->opts : "?", c ? c->super : "?",
		       c ? c->shared : 0, c ? c->master : 0, e->opts, e->super, e->shared,
		       e->master);
		ret = -EINVAL;
	}
	return ret;
}

static int build(struct build *b)
{
	int ret;

	if (mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL)) {
		pr_perror("new mount namespace: cannot cut it from ours");
		return -errno;
	}
	ret = reread(b) ?: match_host(b) ?: open_sources(b) ?: detach_extra(b) ?: host_attrs(b);
	for (size_t i = 0; !ret && i < b->ms->n_mounts; i++) {
		if (b->ms->mounts[i]->kind != MOUNT_KIND__MNT_HOST)
			ret = reread(b) ?: make_mount(b, i);
	}
	if (!ret)
		test_pause("mounts-built"); /* a kill here must leave nothing */
	ret = ret ?: test_fail("mounts-built") ?: verify(b);
	for (size_t i = 0; !ret && i < b->ms->n_mounts; i++) {
		const MountEntry *e = b->ms->mounts[i];
		struct stat st;

		if (e->kind == MOUNT_KIND__MNT_FRESH && !strcmp(e->fstype, "tmpfs") &&
		    b->mfd[i] >= 0 && !fstat(b->mfd[i], &st))
			b->made[i] = (struct made){ st.st_dev, b->new_id[i] };
	}
	return ret;
}

/* The tmpfs mounts the builder made (in made[], per image mount), kept
 * for the checks of the files held on them.  0 or -ENOMEM. */
static int keep_made(const struct rst_image *img, const struct made *made)
{
	int ret = 0;

	for (size_t i = 0; !ret && i < img->mounts->n_mounts; i++)
		if (made[i].dev)
			ret = mntns_files_made(img->mounts, img->mounts->mounts[i]->id,
					       (dev_t)made[i].dev, made[i].mnt_id);
	return ret;
}

static void __attribute__((noreturn))
builder(const struct rst_image *img, pid_t parent, int wr, int hold, struct made *made)
{
	size_t n = img->mounts->n_mounts;
	struct build b = { .img = img, .ms = img->mounts, .made = made };
	char c;
	int ret;

	if (prctl(PR_SET_PDEATHSIG, SIGKILL) || getppid() != parent)
		_exit(1);
	err_clear();
	b.new_id = calloc(n, sizeof(*b.new_id));
	b.mfd = malloc(n * sizeof(*b.mfd));
	b.src = malloc(n * sizeof(*b.src));
	b.gmap = calloc(2 * n, sizeof(*b.gmap));
	for (size_t i = 0; b.mfd && b.src && i < n; i++)
		b.mfd[i] = b.src[i] = -1;
	if (!b.new_id || !b.mfd || !b.src || !b.gmap)
		ret = -ENOMEM;
	else if (unshare(CLONE_NEWNS))
		ret = -errno;
	else
		ret = build(&b);
	if (report_send(wr, ret, NULL, 0) || ret)
		_exit(1);
	/* the namespace is held until our parent has an fd of it */
	while (read(hold, &c, 1) < 0 && errno == EINTR)
		;
	_exit(0);
}

int rst_mntns_build(struct rst_image *img)
{
	size_t msize = img->mounts ? img->mounts->n_mounts * sizeof(struct made) : 0;
	int rep[2], hold[2], ret;
	pid_t c, parent = getpid();
	struct timespec t0, t1;
	struct made *made;
	char path[64];

	mntns_files_reset();
	if (!img->mounts || img->ctxe)
		return 0; /* a context's init makes its own from its settings (ctx.c) */
	made = mmap(NULL, msize, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (made == MAP_FAILED)
		return -errno;
	if (pipe2(rep, O_CLOEXEC)) {
		munmap(made, msize);
		return -errno;
	}
	if (pipe2(hold, O_CLOEXEC)) {
		munmap(made, msize);
		close(rep[0]);
		close(rep[1]);
		return -errno;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	fflush(NULL);
	c = fork();
	if (c == 0) {
		close(rep[0]);
		close(hold[1]);
		builder(img, parent, rep[1], hold[0], made);
	}
	close(rep[1]);
	close(hold[0]);
	ret = c < 0 ? -errno : report_recv(rep[0], NULL, 0);
	if (ret > 0) {
		pr_err("the mount namespace builder died\n");
		ret = -ECHILD;
	}
	if (!ret) {
		snprintf(path, sizeof(path), "/proc/%d/ns/mnt", c);
		img->mntns_fd = open(path, O_RDONLY | O_CLOEXEC);
		if (img->mntns_fd < 0)
			ret = -errno;
	}
	ret = ret ?: keep_made(img, made);
	munmap(made, msize);
	close(rep[0]);
	close(hold[1]);
	if (c > 0)
		waitpid(c, NULL, 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (!ret)
		pr_info("mount namespace built in %.2f ms: %zu mounts, %zu tmpfs nodes, %zu data "
			"records\n",
			(t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6,
			img->mounts->n_mounts, img->mounts->n_nodes, img->nr_tdata);
	return ret;
}
