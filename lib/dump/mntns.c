/*
 * The tree's mount namespace (record MOUNTS).  When the root is in another
 * mount namespace than vxdump's (a tree started with `unshare -m`), every
 * process of the tree must be in that one; its mountinfo is read (strictly,
 * lib/proc/mountinfo.c) and each mount is classified by how restore can
 * make it again:
 *   MNT_HOST       the same mount is in vxdump's namespace (same point,
 *                  device, root, type and source, on a parent that is one
 *                  too): the copy the namespace started from;
 *   MNT_BIND_HOST  a bind of a host path (its device is mounted in vxdump's
 *                  namespace): the path and its st_dev/st_ino;
 *   MNT_BIND_OWN   a bind of a path in an earlier own mount (a tmpfs);
 *   MNT_FRESH      a new tmpfs, proc, sysfs, devpts, mqueue, cgroup2 or overlay,
 *                  with its superblock options (tmpfs: with its files; overlay:
 *                  its layers, host directories checked by inode).
 * Anything else (a disk filesystem, nfs or fuse mounted inside)
 * is refused naming the mount point and type.  The mounts are read through
 * detached clones (open_tree, made by a child that enters the namespace),
 * so nothing is added to the tree's namespace and a tmpfs is seen without
 * the mounts on top of it.  Contexts keep their mounts unrecorded (NOTES).
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/openat2.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#define LOG_PREFIX "dump/mntns: "
#include "log.h"
#include "util/cleanup.h"
#include "dump/dump.h"
#include "dump/mntns.h"
#include "img/img.h"
#include "img/records.h"
#include "proc/mountinfo.h"

static const char *const fresh_types[] = { "tmpfs",  "proc",	"sysfs",  "devpts",
					   "mqueue", "cgroup2", "overlay" };

static bool is_fresh_type(const char *t)
{
	for (size_t i = 0; i < sizeof(fresh_types) / sizeof(fresh_types[0]); i++)
		if (!strcmp(t, fresh_types[i]))
			return true;
	return false;
}

/* Is the mount namespace of pid the same as that of /proc/self?  1, 0 or -errno. */
static int same_mntns(pid_t pid, const struct stat *ref)
{
	char path[64];
	struct stat st;

	snprintf(path, sizeof(path), "/proc/%d/ns/mnt", pid);
	if (stat(path, &st))
		return -errno;
	return st.st_dev == ref->st_dev && st.st_ino == ref->st_ino;
}

/* Is root a path prefix of path ("/" is of everything)? */
static const char *below(const char *root, const char *path)
{
	size_t l = strlen(root);

	if (!strcmp(root, "/"))
		return path;
	if (strncmp(root, path, l) || (path[l] && path[l] != '/'))
		return NULL;
	return path + l;
}

/* The host mount (in ours) of the same device whose root holds m's root, longest root. */
static const struct proc_mount *host_of_dev(const struct proc_mount_list *host,
					    const struct proc_mount *m)
{
	const struct proc_mount *best = NULL;

	for (size_t i = 0; i < host->n; i++) {
		const struct proc_mount *h = &host->v[i];

		if (h->major != m->major || h->minor != m->minor || !below(h->root, m->root))
			continue;
		if (!best || strlen(h->root) > strlen(best->root))
			best = h;
	}
	return best;
}

/* The host mount that is m itself (the namespace's copy of it), unused so far. */
static const struct proc_mount *host_same(const struct proc_mount_list *host, bool *used,
					  const struct proc_mount *m)
{
	for (size_t i = 0; i < host->n; i++) {
		const struct proc_mount *h = &host->v[i];

		if (!used[i] && h->major == m->major && h->minor == m->minor &&
		    !strcmp(h->root, m->root) && !strcmp(h->point, m->point) &&
		    !strcmp(h->fstype, m->fstype) && !strcmp(h->source, m->source)) {
			used[i] = true;
			return h;
		}
	}
	return NULL;
}

static MountEntry *entry_by_id(struct dump_mntns *m, uint32_t id)
{
	for (size_t i = 0; i < m->e.n_mounts; i++)
		if (m->e.mounts[i]->id == id)
			return m->e.mounts[i];
	return NULL;
}

/* An earlier own mount (FRESH or a bind of one) of m's device holding m's root. */
static MountEntry *own_of_dev(struct dump_mntns *m, const struct proc_mount_list *tl,
			      const struct proc_mount *pm)
{
	for (size_t i = 0; i < m->e.n_mounts; i++) {
		MountEntry *e = m->e.mounts[i];
		const struct proc_mount *o = proc_mount_by_id(tl, e->id);

		if ((e->kind == MOUNT_KIND__MNT_FRESH || e->kind == MOUNT_KIND__MNT_BIND_OWN) &&
		    o->major == pm->major && o->minor == pm->minor && below(o->root, pm->root))
			return e;
	}
	return NULL;
}

static int refuse(const struct proc_mount *pm, const char *why)
{
	pr_err("mount %s (%s, %s): %s: not supported\n", pm->point, pm->fstype, pm->source, why);
	return -EOPNOTSUPP;
}

static int add_layer(MountEntry *e, const char *key, const char *path, size_t len)
{
	OverlayLayer *l, **nv;

	nv = realloc(e->layers, (e->n_layers + 1) * sizeof(*nv));
	if (!nv)
		return -ENOMEM;
	e->layers = nv;
	l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	overlay_layer__init(l);
	e->layers[e->n_layers++] = l;
	l->key = strdup(key);
	l->path = strndup(path, len);
	return l->key && l->path ? 0 : -ENOMEM;
}

/* The layers of an overlay from its superblock options (lowerdir=a:b,
 * upperdir=c, workdir=d); escaped ':' or ',' in a path refused. */
static int overlay_layers(MountEntry *e, const struct proc_mount *pm)
{
	static const char *const keys[] = { "lowerdir=", "upperdir=", "workdir=" };
	const char *p = pm->super, *end, *c;
	int ret = 0;

	if (strchr(p, '\\'))
		return refuse(pm, "an overlay layer path with an escaped ':' or ','");
	for (; !ret && p; p = end ? end + 1 : NULL) {
		end = strchr(p, ',');
		for (size_t k = 0; !ret && k < 3; k++) {
			size_t kl = strlen(keys[k]);

			if (strncmp(p, keys[k], kl))
				continue;
			for (p += kl; !ret; p = c + 1) {
				c = strchr(p, ':');
				if (!c || (end && c > end))
					c = end ? end : p + strlen(p);
				ret = add_layer(e,
						k ? (k == 1 ? "upperdir" : "workdir") : "lowerdir+",
						p, (size_t)(c - p));
				if (!*c || c == end)
					break;
			}
		}
	}
	if (!ret && !e->n_layers)
		return refuse(pm, "an overlay without layers");
	return ret;
}

/* Fills e's kind and what its kind needs.  0, -EOPNOTSUPP (logged), -ENOMEM. */
static int classify(struct dump_mntns *m, const struct proc_mount_list *tl,
		    const struct proc_mount_list *host, bool *used, const struct proc_mount *pm,
		    MountEntry *e)
{
	const MountEntry *parent = entry_by_id(m, pm->parent);
	const struct proc_mount *h;
	const char *sub;
	MountEntry *own;

	if (m->ctx) { /* the restore remakes it from the context's settings */
		if (is_fresh_type(pm->fstype) && !strcmp(pm->root, "/") && !host_of_dev(host, pm))
			PB_SET(e, kind, MOUNT_KIND__MNT_FRESH);
		else
			PB_SET(e, kind, MOUNT_KIND__MNT_CTX);
		return 0;
	}
	if ((!parent || parent->kind == MOUNT_KIND__MNT_HOST) && host_same(host, used, pm)) {
		PB_SET(e, kind, MOUNT_KIND__MNT_HOST);
		PB_SET(e, dev_major, pm->major);
		PB_SET(e, dev_minor, pm->minor);
		return 0;
	}
	if (!parent)
		return refuse(pm, "the namespace's root is not vxdump's");
	h = host_of_dev(host, pm);
	if (h) {
		const char *rest = below(h->root, pm->root);
		size_t l = strlen(h->point) + strlen(rest) + 2;

		PB_SET(e, kind, MOUNT_KIND__MNT_BIND_HOST);
		e->bind_path = malloc(l);
		if (!e->bind_path)
			return -ENOMEM;
		snprintf(e->bind_path, l, "%s%s", strcmp(h->point, "/") || !*rest ? h->point : "",
			 rest);
		return 0;
	}
	own = own_of_dev(m, tl, pm);
	if (own) {
		PB_SET(e, kind, MOUNT_KIND__MNT_BIND_OWN);
		PB_SET(e, bind_from, own->id);
		sub = below(proc_mount_by_id(tl, own->id)->root, pm->root);
		e->bind_sub = strdup(strcmp(sub, "/") ? sub : "");
		return e->bind_sub ? 0 : -ENOMEM;
	}
	if (!is_fresh_type(pm->fstype))
		return refuse(pm, "a filesystem of its own inside the tree's mount namespace");
	if (strcmp(pm->root, "/"))
		return refuse(pm, "a new mount of a subdirectory of its filesystem");
	PB_SET(e, kind, MOUNT_KIND__MNT_FRESH);
	return strcmp(pm->fstype, "overlay") ? 0 : overlay_layers(e, pm);
}

/* The mounts of tl in an order where every parent comes before its children. */
static int topo_order(const struct proc_mount_list *tl, size_t *order)
{
	bool *done = calloc(tl->n ? tl->n : 1, sizeof(*done));
	size_t n = 0, i, pass;

	if (!done)
		return -ENOMEM;
	for (pass = 0; pass < tl->n && n < tl->n; pass++) {
		for (i = 0; i < tl->n; i++) {
			const struct proc_mount *p = proc_mount_by_id(tl, tl->v[i].parent);

			if (done[i] || (p && p != &tl->v[i] && !done[p - tl->v]))
				continue;
			done[i] = true;
			order[n++] = i;
		}
	}
	free(done);
	if (n != tl->n) {
		pr_err("the tree's mountinfo has a loop of parents\n");
		return -EINVAL;
	}
	return 0;
}

static int fill_entry(MountEntry *e, const struct proc_mount *pm)
{
	PB_SET(e, id, pm->id);
	PB_SET(e, parent, pm->parent);
	e->point = strdup(pm->point);
	e->fstype = strdup(pm->fstype);
	e->source = strdup(pm->source);
	e->root = strdup(pm->root);
	e->opts = strdup(pm->opts);
	e->super = strdup(pm->super);
	if (pm->shared)
		PB_SET(e, shared, pm->shared);
	if (pm->master)
		PB_SET(e, master, pm->master);
	if (pm->unbindable)
		PB_SET(e, unbindable, true);
	return e->point && e->fstype && e->source && e->root && e->opts && e->super ? 0 : -ENOMEM;
}

/* Shared with a peer group of vxdump's namespace: mounts made at restore would show on the host. */
static bool shared_with_host(const struct proc_mount_list *host, const struct proc_mount *pm)
{
	for (size_t i = 0; pm->shared && i < host->n; i++)
		if (host->v[i].shared == pm->shared)
			return true;
	return false;
}

static int classify_all(struct dump_mntns *m, const struct proc_mount_list *tl,
			const struct proc_mount_list *host)
{
	size_t *order = calloc(tl->n ? tl->n : 1, sizeof(*order));
	bool *used = calloc(host->n ? host->n : 1, sizeof(*used));
	int ret = order && used ? topo_order(tl, order) : -ENOMEM, r;
	bool refused = false;

	m->e.mounts = calloc(tl->n ? tl->n : 1, sizeof(*m->e.mounts));
	for (size_t i = 0; !ret && i < tl->n; i++) {
		const struct proc_mount *pm = &tl->v[order[i]];
		MountEntry *e = malloc(sizeof(*e));

		if (!e || !m->e.mounts) {
			free(e);
			ret = -ENOMEM;
			break;
		}
		mount_entry__init(e);
		m->e.mounts[m->e.n_mounts++] = e;
		ret = fill_entry(e, pm);
		if (!proc_mount_by_id(tl, pm->parent) || pm->parent == pm->id)
			e->parent = 0; /* the namespace's root (its parent is not shown) */
		r = ret ?: classify(m, tl, host, used, pm, e);
		if (!r && shared_with_host(host, pm))
			r = refuse(pm, "shared with vxdump's mount namespace (make it private or "
				       "slave)");
		if (r == -EOPNOTSUPP) /* every refused mount is named */
			refused = true, e->has_kind = false, r = 0;
		ret = r;
	}
	if (!ret && refused)
		ret = -EOPNOTSUPP;
	free(order);
	free(used);
	return ret;
}

static int send_fd(int sk, int status, int fd)
{
	char cbuf[CMSG_SPACE(sizeof(int))] = { 0 };
	struct iovec iov = { &status, sizeof(status) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *c;

	if (fd >= 0) {
		mh.msg_control = cbuf;
		mh.msg_controllen = sizeof(cbuf);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(int));
	}
	return sendmsg(sk, &mh, 0) == sizeof(status) ? 0 : -1;
}

static int recv_fd(int sk, int *fd)
{
	char cbuf[CMSG_SPACE(sizeof(int))];
	int status = -EIO;
	struct iovec iov = { &status, sizeof(status) };
	struct msghdr mh = { .msg_iov = &iov,
			     .msg_iovlen = 1,
			     .msg_control = cbuf,
			     .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *c;

	*fd = -1;
	if (recvmsg(sk, &mh, MSG_CMSG_CLOEXEC) != sizeof(status))
		return -EIO;
	c = CMSG_FIRSTHDR(&mh);
	if (c && c->cmsg_type == SCM_RIGHTS && c->cmsg_len == CMSG_LEN(sizeof(int)))
		memcpy(fd, CMSG_DATA(c), sizeof(int));
	if (!status && *fd < 0)
		return -EIO;
	return status;
}

/* In the child, inside the namespace: a detached clone of the mount at e's
 * point if it is the one on top there (else -EBUSY: hidden). */
static int clone_one(const MountEntry *e, int *out)
{
	struct open_how how = { .flags = O_PATH | O_NOFOLLOW | O_CLOEXEC,
				.resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS };
	struct statx sx;
	int fd, c;

	fd = syscall(SYS_openat2, AT_FDCWD, e->point, &how, sizeof(how));
	if (fd < 0)
		return -errno;
	if (statx(fd, "", AT_EMPTY_PATH, STATX_MNT_ID, &sx) || !(sx.stx_mask & STATX_MNT_ID) ||
	    sx.stx_mnt_id != e->id) {
		close(fd);
		return -EBUSY;
	}
	c = open_tree(fd, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);
	if (c < 0 && errno == EINVAL && e->unbindable) {
		*out = fd; /* cannot be cloned: its root as is (mounts on it refused) */
		return 0;
	}
	close(fd);
	if (c < 0)
		return -errno;
	*out = c;
	return 0;
}

/* Read through a clone: the mounts restore makes from the image. */
static bool cloned(const MountEntry *e)
{
	return e->kind != MOUNT_KIND__MNT_HOST && e->kind != MOUNT_KIND__MNT_CTX;
}

static void __attribute__((noreturn))
clone_child(struct dump_mntns *m, int nsfd, int rootfd, int sk)
{
	int fd, st;

	if (setns(nsfd, CLONE_NEWNS) || fchdir(rootfd) || chroot("."))
		_exit(1);
	for (size_t i = 0; i < m->e.n_mounts; i++) {
		if (!cloned(m->e.mounts[i]))
			continue;
		fd = -1;
		st = clone_one(m->e.mounts[i], &fd);
		if (send_fd(sk, st, fd))
			_exit(1);
		if (fd >= 0)
			close(fd);
	}
	_exit(0);
}

/* m->clone_fds[] of every mount cloned().  0 or -errno (logged). */
static int clone_mounts(struct dump_mntns *m, pid_t root)
{
	int sk[2], nsfd, rootfd, ret = 0, st;
	char path[64];
	pid_t c;

	snprintf(path, sizeof(path), "/proc/%d/ns/mnt", root);
	nsfd = open(path, O_RDONLY | O_CLOEXEC);
	snprintf(path, sizeof(path), "/proc/%d/root", root);
	rootfd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (nsfd < 0 || rootfd < 0 || socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sk)) {
		ret = -errno;
		pr_perror("pid %d: cannot open its mount namespace", root);
		goto out;
	}
	c = fork();
	if (c == 0) {
		close(sk[0]);
		clone_child(m, nsfd, rootfd, sk[1]);
	}
	close(sk[1]);
	for (size_t i = 0; c > 0 && !ret && i < m->e.n_mounts; i++) {
		const MountEntry *e = m->e.mounts[i];

		if (!cloned(e))
			continue;
		st = recv_fd(sk[0], &m->clone_fds[i]);
		if (st == -EBUSY) {
			pr_err("mount %s (%s): hidden under another mount: not supported\n",
			       e->point, e->fstype);
			ret = -EOPNOTSUPP;
		} else if (st) {
			pr_err("mount %s (%s): cannot read it: %s\n", e->point, e->fstype,
			       strerror(-st));
			ret = st;
		}
	}
	close(sk[0]);
	if (c < 0)
		ret = -errno;
	else
		waitpid(c, &st, 0);
out:
	if (nsfd >= 0)
		close(nsfd);
	if (rootfd >= 0)
		close(rootfd);
	return ret;
}

/* The host path of a MNT_BIND_HOST must be the mount's root: st_dev/st_ino. */
static int check_bind_host(MountEntry *e, int cfd)
{
	struct open_how how = { .flags = O_PATH | O_NOFOLLOW | O_CLOEXEC,
				.resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS };
	struct stat hs, ms;
	int fd;

	fd = syscall(SYS_openat2, AT_FDCWD, e->bind_path, &how, sizeof(how));
	if (fd < 0 || fstat(fd, &hs) || fstat(cfd, &ms) || hs.st_dev != ms.st_dev ||
	    hs.st_ino != ms.st_ino) {
		if (fd >= 0)
			close(fd);
		pr_err("mount %s (%s): a bind whose source is not %s on the host (or a symlink "
		       "on the way): not supported\n",
		       e->point, e->fstype, e->bind_path);
		return -EOPNOTSUPP;
	}
	close(fd);
	PB_SET(e, bind_dev, hs.st_dev);
	PB_SET(e, bind_ino, hs.st_ino);
	PB_SET(e, bind_mode, hs.st_mode & S_IFMT);
	return 0;
}

/* Each overlay layer: the host path and the tree's view of it the same
 * directory (no symlink on either way); its st_dev/st_ino kept. */
static int check_layers(MountEntry *e, pid_t root)
{
	struct open_how how = { .flags = O_PATH | O_NOFOLLOW | O_CLOEXEC,
				.resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS };
	struct stat hs, ts;
	char path[64];
	int rootfd, h, t, ret = 0;

	snprintf(path, sizeof(path), "/proc/%d/root", root);
	rootfd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return -errno;
	for (size_t i = 0; !ret && i < e->n_layers; i++) {
		OverlayLayer *l = e->layers[i];

		h = syscall(SYS_openat2, AT_FDCWD, l->path, &how, sizeof(how));
		how.resolve |= RESOLVE_IN_ROOT;
		t = syscall(SYS_openat2, rootfd, l->path, &how, sizeof(how));
		how.resolve &= ~(uint64_t)RESOLVE_IN_ROOT;
		if (h < 0 || t < 0 || fstat(h, &hs) || fstat(t, &ts) || hs.st_dev != ts.st_dev ||
		    hs.st_ino != ts.st_ino || !S_ISDIR(hs.st_mode)) {
			pr_err("mount %s (overlay): layer %s is not the same directory on the host "
			       "(or has a symlink on the way): not supported\n",
			       e->point, l->path);
			ret = -EOPNOTSUPP;
		} else {
			PB_SET(l, dev, hs.st_dev);
			PB_SET(l, ino, hs.st_ino);
		}
		if (h >= 0)
			close(h);
		if (t >= 0)
			close(t);
	}
	close(rootfd);
	return ret;
}

static int read_mounts(struct dump_mntns *m, pid_t root)
{
	int ret = 0;

	for (size_t i = 0; i < m->e.n_mounts; i++)
		m->clone_fds[i] = -1;
	ret = clone_mounts(m, root);
	for (size_t i = 0; !ret && i < m->e.n_mounts; i++) {
		MountEntry *e = m->e.mounts[i];
		struct stat st;

		if (e->kind == MOUNT_KIND__MNT_BIND_HOST)
			ret = check_bind_host(e, m->clone_fds[i]);
		else if (e->kind == MOUNT_KIND__MNT_BIND_OWN && !fstat(m->clone_fds[i], &st))
			PB_SET(e, bind_mode, st.st_mode & S_IFMT);
		else if (e->kind == MOUNT_KIND__MNT_FRESH && !strcmp(e->fstype, "tmpfs"))
			ret = mntns_tmpfs_collect(m, e, m->clone_fds[i]);
		else if (e->kind == MOUNT_KIND__MNT_FRESH && !strcmp(e->fstype, "overlay"))
			ret = check_layers(e, root);
	}
	return ret;
}

/* Every process of the tree in the root's mount namespace. */
static int check_members(struct dump_op *op, const struct stat *rootns)
{
	char path[64];
	struct stat st;

	for (size_t i = 1; i < op->n_tasks; i++) {
		const struct dump_task *t = op->tasks[i];

		if (t->zombie)
			continue;
		snprintf(path, sizeof(path), "/proc/%d/ns/mnt", t->pid);
		if (stat(path, &st))
			return -errno;
		if (st.st_dev != rootns->st_dev || st.st_ino != rootns->st_ino) {
			pr_err("pid %d is in another mount namespace than the tree's root (pid %d): "
			       "not supported\n",
			       t->pid, op->root->pid);
			return -EOPNOTSUPP;
		}
	}
	return 0;
}

int mntns_collect(struct dump_op *op)
{
	struct proc_mount_list tl = { 0 }, host = { 0 };
	struct stat ours, rootns;
	char path[64];
	struct dump_mntns *m;
	uint64_t t0 = dump_now_ns();
	int ret;

	if (op->ctxe && !op->ctxe->root)
		return 0; /* a context on the host's /: made anew from its settings (NOTES) */
	snprintf(path, sizeof(path), "/proc/%d/ns/mnt", op->root->pid);
	if (stat("/proc/self/ns/mnt", &ours) || stat(path, &rootns))
		return -errno;
	ret = same_mntns(op->root->pid, &ours);
	if (ret)
		return ret < 0 ? ret : check_members(op, &ours);
	ret = check_members(op, &rootns);
	if (ret)
		return ret;
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	mounts_entry__init(&m->e);
	m->ctx = op->ctxe != NULL;
	op->mntns = m;
	op->files.mntns = m;
	ret = proc_read_mountinfo(op->root->pid, &tl) ?: proc_read_mountinfo(0, &host);
	if (ret) {
		pr_err("cannot read the mounts of pid %d: %s\n", op->root->pid, strerror(-ret));
		goto out;
	}
	ret = classify_all(m, &tl, &host);
	m->clone_fds = calloc(m->e.n_mounts ? m->e.n_mounts : 1, sizeof(int));
	if (!m->clone_fds)
		ret = ret ?: -ENOMEM;
	ret = ret ?: read_mounts(m, op->root->pid);
	pr_info("mount namespace of pid %d read in %.2f ms: %zu mounts, %zu tmpfs nodes\n",
		op->root->pid, (dump_now_ns() - t0) / 1e6, m->e.n_mounts, m->e.n_nodes);
out:
	proc_mount_list_free(&tl);
	proc_mount_list_free(&host);
	return ret;
}

int write_mntns(struct dump_op *op)
{
	int ret;

	if (!op->mntns)
		return 0;
	ret = img_write_msg(op->w, IMG_REC_MOUNTS, &op->mntns->e.base);
	if (ret)
		pr_err("cannot write the MOUNTS record: %s\n", strerror(-ret));
	return ret ?: mntns_tmpfs_write(op->mntns, op->w);
}

void mntns_free(struct dump_op *op)
{
	struct dump_mntns *m = op->mntns;

	if (!m)
		return;
	mntns_tmpfs_free(m);
	for (size_t i = 0; i < m->e.n_mounts; i++) {
		MountEntry *e = m->e.mounts[i];

		if (m->clone_fds && m->clone_fds[i] >= 0)
			close(m->clone_fds[i]);
		free(e->point);
		free(e->fstype);
		free(e->source);
		free(e->root);
		free(e->opts);
		free(e->super);
		free(e->bind_path);
		free(e->bind_sub);
		for (size_t j = 0; j < e->n_layers; j++) {
			free(e->layers[j]->key);
			free(e->layers[j]->path);
			free(e->layers[j]);
		}
		free(e->layers);
		free(e);
	}
	free(m->e.mounts);
	free(m->clone_fds);
	free(m);
	op->mntns = NULL;
	op->files.mntns = NULL;
}

/* Is dev that of a mount the restore makes anew (its files get new inodes)? */
static const MountEntry *own_mount_of_dev(const struct dump_mntns *m, dev_t dev)
{
	struct stat st;

	for (size_t i = 0; i < m->e.n_mounts; i++) {
		const MountEntry *e = m->e.mounts[i];

		if ((e->kind == MOUNT_KIND__MNT_FRESH || e->kind == MOUNT_KIND__MNT_BIND_OWN) &&
		    m->clone_fds[i] >= 0 && !fstat(m->clone_fds[i], &st) && st.st_dev == dev)
			return e;
	}
	return NULL;
}

static int refuse_held(const MountEntry *e, const char *what, const char *path, pid_t pid)
{
	pr_err("%s %s of pid %d is on mount %s (%s) of the tree's own: files held on them are "
	       "not restored yet\n",
	       what, path, pid, e->point, e->fstype);
	return -EOPNOTSUPP;
}

/* Is e a tmpfs the restore makes and fills from the image? */
static bool own_tmpfs(const MountEntry *e)
{
	return e->kind == MOUNT_KIND__MNT_FRESH && !strcmp(e->fstype, "tmpfs");
}

/* Does path name node k of mount e (its point, then the node's place)? */
static bool node_path_is(const struct dump_mntns *m, size_t k, const MountEntry *e,
			 const char *path)
{
	const char *rel = m->node_rel[k] + 1; /* "./a/b" -> "/a/b", "." -> "" */
	size_t pl = strcmp(e->point, "/") ? strlen(e->point) : 0;

	if (strncmp(path, e->point, pl))
		return false;
	if (!pl && !*rel)
		return !strcmp(path, "/");
	return !strcmp(path + pl, rel);
}

/* The own tmpfs (MNT_FRESH) of device dev, or NULL. */
static const MountEntry *own_tmpfs_of_dev(const struct dump_mntns *m, dev_t dev)
{
	struct stat st;

	for (size_t i = 0; i < m->e.n_mounts; i++) {
		const MountEntry *e = m->e.mounts[i];

		if (own_tmpfs(e) && m->clone_fds[i] >= 0 && !fstat(m->clone_fds[i], &st) &&
		    st.st_dev == dev)
			return e;
	}
	return NULL;
}

bool mntns_own_tmpfs_dev(const struct dump_mntns *m, dev_t dev)
{
	return own_tmpfs_of_dev(m, dev) != NULL;
}

/* f, a deleted name of node k's inode (sem_open maps a temporary name it
 * then links and removes), now named by node k's path. */
static int rename_to_node(struct dump_mntns *m, struct dump_file *f, size_t k, const MountEntry *e)
{
	const char *rel = m->node_rel[k] + 1;
	char *p;

	if (asprintf(&p, "%s%s", strcmp(e->point, "/") || !*rel ? e->point : "", rel) < 0)
		return -ENOMEM;
	free(f->path);
	f->path = p;
	f->e.path = p;
	PB_SET(&f->e, tmpfs_node, m->e.nodes[k]->id);
	return 0;
}

/*
 * File f on own tmpfs e: the node of the same inode at the same path (a
 * hard link has several nodes: the one of its path) becomes f's
 * tmpfs_node; restore checks the file by it.  A deleted file keeps its
 * ghost (FILE_DATA, made in the restored directory); a deleted name of a
 * file with other names takes the first of them.  0 or -EOPNOTSUPP
 * (logged): held through another path (a bind of the tmpfs).
 */
static int held_on_tmpfs(struct dump_mntns *m, struct dump_file *f, const MountEntry *e)
{
	if (f->e.deleted)
		return 0;
	for (size_t k = 0; f->path && k < m->e.n_nodes; k++) {
		if (m->e.nodes[k]->mount != e->id || m->node_ino[k] != f->e.ino)
			continue;
		if (f->renamed)
			return rename_to_node(m, f, k, e);
		if (node_path_is(m, k, e, f->path)) {
			PB_SET(&f->e, tmpfs_node, m->e.nodes[k]->id);
			return 0;
		}
	}
	pr_err("file %s of pid %d is on mount %s (tmpfs) of the tree's own through another "
	       "path (a bind of it): not supported\n",
	       f->path ? f->path : "?", f->first_pid, e->point);
	return -EOPNOTSUPP;
}

static bool by_path(const FileEntry *e)
{
	switch (e->kind) {
	case FILE_KIND__FILE_REG:
	case FILE_KIND__FILE_MAPONLY:
	case FILE_KIND__FILE_CHR:
	case FILE_KIND__FILE_FIFO:
	case FILE_KIND__FILE_DIR:
	case FILE_KIND__FILE_BLK:
		return !e->deleted && e->has_dev && e->has_ino;
	default:
		return false;
	}
}

/*
 * A --root context: is each file the tasks hold the one at its path in
 * the guest's root (openat2 RESOLVE_IN_ROOT from the init's root)?  Those
 * that are not are host files: the init's own (vxcr and its libraries,
 * mapped before the pivot), the stdio `ctx create` was given.  Marked
 * outside_root: restore opens them through the host's root, checked
 * as any host file (a guest cannot name one: its paths never reach it).
 */
static int ctx_outside(struct dump_op *op)
{
	struct open_how how = { .flags = O_PATH | O_NOFOLLOW | O_CLOEXEC,
				.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS |
					   RESOLVE_NO_MAGICLINKS };
	_cleanup_close_ int rootfd = -1;
	char path[64];
	struct stat st;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/root", op->root->pid);
	rootfd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return -errno;
	for (size_t i = 0; i < op->files.n; i++) {
		struct dump_file *f = &op->files.v[i];
		bool inside;

		if (!by_path(&f->e) || !f->path || f->path[0] != '/')
			continue;
		fd = (int)syscall(SYS_openat2, rootfd, f->path, &how, sizeof(how));
		inside = fd >= 0 && !fstat(fd, &st) && st.st_dev == f->e.dev &&
			 st.st_ino == f->e.ino;
		if (fd >= 0)
			close(fd);
		if (inside)
			continue;
		PB_SET(&f->e, outside_root, true);
	}
	return 0;
}

/*
 * A cwd or root (link text text) of t on an own mount: on an own tmpfs it
 * is restored by path (chdir/chroot inside the restored namespace, where
 * the tmpfs holds the same directories), elsewhere refused.
 */
static int check_fs_dir(const struct dump_mntns *m, const struct dump_task *t, const char *link,
			const char *what, const char *text)
{
	const MountEntry *e;
	char path[64];
	struct stat st;

	snprintf(path, sizeof(path), "/proc/%d/%s", t->pid, link);
	e = stat(path, &st) ? NULL : own_mount_of_dev(m, st.st_dev);
	if (!e || own_tmpfs_of_dev(m, st.st_dev))
		return 0;
	return refuse_held(e, what, text, t->pid);
}

int mntns_check_files(struct dump_op *op)
{
	struct dump_mntns *m = op->mntns;
	const MountEntry *e, *tm;
	int ret = 0, r;

	if (!m)
		return 0;
	for (size_t i = 0; i < op->files.n; i++) {
		struct dump_file *f = &op->files.v[i];

		if (f->e.kind == FILE_KIND__FILE_PROC || !f->e.has_dev)
			continue;
		e = own_mount_of_dev(m, (dev_t)f->e.dev);
		if (!e)
			continue;
		tm = by_path(&f->e) || f->e.deleted ? own_tmpfs_of_dev(m, (dev_t)f->e.dev) : NULL;
		r = tm ? held_on_tmpfs(m, f, tm) :
			 refuse_held(e, "file", f->path ? f->path : "?", f->first_pid);
		ret = ret ?: r;
	}
	for (size_t i = 0; i < op->n_tasks; i++) {
		const struct dump_task *t = op->tasks[i];

		if (t->zombie)
			continue;
		r = check_fs_dir(m, t, "cwd", "working directory", t->cwd);
		ret = ret ?: r;
		r = check_fs_dir(m, t, "root", "root directory", t->root);
		ret = ret ?: r;
	}
	/* after the tmpfs files took their nodes' paths (a renamed one) */
	if (m->ctx && !ret)
		ret = ctx_outside(op);
	return ret;
}
