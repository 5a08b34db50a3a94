/*
 * A context as an isolation boundary: what its init sets up in its fresh
 * mount namespace before anything of the context runs (create.c, and the
 * init of a restored context, lib/restore/ctx.c, from the same config).
 *
 *   - / becomes a slave of the host's (host mounts still show up inside,
 *     nothing made inside leaks out);
 *   - a cgroup namespace rooted at the context's own group (the init was
 *     cloned into it), and every cgroup mount replaced: the v2 one by a
 *     fresh read-only cgroup2 mount, which shows only that group; the v1
 *     ones (found in mountinfo: the host is hybrid) by empty read-only
 *     tmpfs, since the context has no group of its own there;
 *   - a fresh /proc of its pid namespace with OCI's masked paths (a file:
 *     /dev/null bound over it; a directory: an empty read-only tmpfs) and
 *     read-only paths, /sys read-only (recursively);
 *   - the run directory (and /run/vxcr) hidden: the context's own view
 *     "<xid>.self" (its record, self.xid) bound read-only in its place.
 *
 * With --root DIR the init pivots into DIR (private mounts, the old root
 * detached) and builds the rest there: /sys (the host's, cloned before
 * the pivot, read-only), /proc as above, a minimal /dev (tmpfs: null, zero,
 * full, random, urandom, tty bound from the host, a devpts newinstance with
 * ptmx, a tmpfs shm) and its view of the run directory at the same path.
 * Every path inside DIR is made or mounted on after the pivot, so that a
 * symlink a previous guest left there resolves inside DIR, never on the
 * host.
 *
 * A PROLIFIC context creates contexts, which needs the host's run
 * directory and cgroup hierarchies: it keeps both (and no cgroup
 * namespace); everything else applies.  PROLIFIC is chosen at creation.
 */
#define LOG_PREFIX "ctx/isolate: "
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <linux/openat2.h>

#include "log.h"
#include "util/cleanup.h"
#include "ctx/ctx.h"

#ifndef CLONE_NEWCGROUP
#define CLONE_NEWCGROUP 0x02000000
#endif

#define MNT_SAFE (MS_NOSUID | MS_NODEV | MS_NOEXEC)

/* OCI's default masked paths. */
static const char *const masked[] = {
	"/proc/acpi",
	"/proc/asound",
	"/proc/kcore",
	"/proc/keys",
	"/proc/latency_stats",
	"/proc/timer_list",
	"/proc/timer_stats",
	"/proc/sched_debug",
	"/proc/scsi",
	"/sys/firmware",
	"/sys/devices/virtual/powercap",
};

/* OCI's default read-only paths. */
static const char *const readonly[] = {
	"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
};

/* An empty read-only tmpfs over dir. */
static int empty_ro(const char *dir)
{
	if (mount("tmpfs", dir, "tmpfs", MS_RDONLY | MNT_SAFE, "size=4k,mode=0555")) {
		pr_perror("cannot hide %s", dir);
		return -errno;
	}
	return 0;
}

/* Hides path: missing is fine (the kernel lacks it). */
static int mask_path(const char *path)
{
	struct stat st;

	if (lstat(path, &st))
		return errno == ENOENT ? 0 : -errno;
	if (S_ISDIR(st.st_mode))
		return empty_ro(path);
	if (mount("/dev/null", path, NULL, MS_BIND, NULL)) {
		pr_perror("cannot mask %s", path);
		return -errno;
	}
	return 0;
}

/* Binds from over to, read-only (mount_setattr, not a remount: a nested
 * context's init runs under its parent's ccaps filter, which may refuse
 * remounts). */
static int bind_ro(const char *from, const char *to)
{
	struct mount_attr attr = { .attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID |
					       MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC };

	if (mount(from, to, NULL, MS_BIND | MS_REC, NULL) ||
	    mount_setattr(AT_FDCWD, to, AT_RECURSIVE, &attr, sizeof(attr))) {
		pr_perror("cannot bind %s read-only over %s", from, to);
		return -errno;
	}
	return 0;
}

/* Binds path over itself, read-only (missing is fine). */
static int ro_path(const char *path)
{
	return access(path, F_OK) ? 0 : bind_ro(path, path);
}

/* Every mount under /sys read-only, in this namespace only. */
static int sys_ro(void)
{
	struct mount_attr attr = { .attr_set = MOUNT_ATTR_RDONLY };

	if (access("/sys", F_OK))
		return 0;
	if (mount_setattr(AT_FDCWD, "/sys", AT_RECURSIVE, &attr, sizeof(attr))) {
		pr_perror("cannot make /sys read-only");
		return -errno;
	}
	return 0;
}

/* PROLIFIC: the host's cgroup mounts stay writable under a read-only /sys
 * (a nested context makes its groups there). */
static int cgroup_mount_rw(const char *mnt, int v2)
{
	struct mount_attr attr = { .attr_clr = MOUNT_ATTR_RDONLY };

	(void)v2;
	if (mount_setattr(AT_FDCWD, mnt, 0, &attr, sizeof(attr))) {
		pr_perror("cannot leave %s writable for a PROLIFIC context", mnt);
		return -errno;
	}
	return 0;
}

/* One cgroup mount of mountinfo: v2 -> a fresh one (shows the cgroup
 * namespace's root only), v1 -> an empty tmpfs.  Both read-only. */
static int replace_cgroup_mount(const char *mnt, int v2)
{
	if (umount2(mnt, MNT_DETACH)) {
		pr_perror("cannot unmount the host's cgroup hierarchy %s", mnt);
		return -errno;
	}
	if (!v2)
		return empty_ro(mnt);
	if (mount("cgroup2", mnt, "cgroup2", MS_RDONLY | MNT_SAFE, NULL)) {
		pr_perror("cannot mount the context's cgroup2 at %s", mnt);
		return -errno;
	}
	return 0;
}

/* fn on each cgroup mount of our mount namespace (mountinfo).  They are
 * collected first: fn may change mountinfo. */
static int each_cgroup_mount(int (*fn)(const char *mnt, int v2))
{
	char mnts[32][256], line[4096], mnt[256], *sep;
	_cleanup_fclose_ FILE *f = fopen("/proc/self/mountinfo", "re");
	int v2[32], n = 0, i, ret;

	if (!f)
		return -errno;
	while (n < 32 && fgets(line, sizeof(line), f)) {
		sep = strstr(line, " - ");
		if (!sep || (strncmp(sep, " - cgroup ", 10) && strncmp(sep, " - cgroup2 ", 11)))
			continue;
		if (sscanf(line, "%*s %*s %*s %*s %255s", mnt) != 1 || strchr(mnt, '\\'))
			continue;
		memcpy(mnts[n], mnt, sizeof(mnt));
		v2[n++] = !strncmp(sep, " - cgroup2 ", 11);
	}
	for (i = 0; i < n; i++)
		if ((ret = fn(mnts[i], v2[i])))
			return ret;
	return 0;
}

/* The run directory (and /run/vxcr) hidden: the context's own view in its
 * place, or an empty tmpfs where there is no view. */
static int hide_rundir(uint32_t xid, const char *rundir)
{
	const char *dir = vxctx_rundir(rundir);
	char self[PATH_MAX];
	int ret;

	/* /run/vxcr is hidden even where it does not exist yet: made (0700,
	 * on the host: / is shared) so that nothing inside can make it */
	if (strcmp(dir, "/run/vxcr") && !access("/run", F_OK)) {
		if (mkdir("/run/vxcr", 0700) && errno != EEXIST) {
			pr_perror("cannot make /run/vxcr to hide it");
			return -errno;
		}
		ret = empty_ro("/run/vxcr");
		if (ret)
			return ret;
	}
	if (access(dir, F_OK))
		return 0;
	ret = vxctx_self_dir(rundir, xid, self, sizeof(self));
	if (ret)
		return ret;
	if (access(self, F_OK))
		return empty_ro(dir);
	return bind_ro(self, dir);
}

/* The /proc of our pid namespace, masked. */
static int setup_proc(void)
{
	size_t i;
	int ret;

	if (mount("proc", "/proc", "proc", MNT_SAFE, NULL)) {
		pr_perror("cannot mount /proc for the context");
		return -errno;
	}
	for (i = 0; i < ARRAY_SIZE(masked); i++)
		if ((ret = mask_path(masked[i])))
			return ret;
	for (i = 0; i < ARRAY_SIZE(readonly); i++)
		if ((ret = ro_path(readonly[i])))
			return ret;
	return 0;
}

/* "/a/b": no ".", ".." or empty component, not "/" itself. */
static bool clean_path(const char *p)
{
	const char *c = p;

	while (*c == '/') {
		const char *e = strchrnul(c + 1, '/');
		size_t n = (size_t)(e - c - 1);

		if (!n || (n == 1 && c[1] == '.') || (n == 2 && c[1] == '.' && c[2] == '.'))
			return false;
		c = e;
	}
	return !*c;
}

int vxctx_root_open(const char *root)
{
	struct open_how how = {
		.flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW,
		.resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
	};
	int fd;

	struct stat st, host;

	if (root[0] != '/' || strlen(root) >= sizeof(((struct vxctx_record *)0)->root) ||
	    !clean_path(root)) {
		pr_err("--root %s: not a clean absolute path of a directory other than / "
		       "(at most 511 bytes, no \".\", \"..\" or empty component)\n",
		       root);
		return -EINVAL;
	}
	fd = (int)syscall(SYS_openat2, AT_FDCWD, root, &how, sizeof(how));
	if (fd < 0) {
		pr_err("--root %s: %s\n", root,
		       errno == ELOOP ? "a symlink on the way (refused)" : strerror(errno));
		return -EINVAL;
	}
	if (fstat(fd, &st) || stat("/", &host) ||
	    (st.st_dev == host.st_dev && st.st_ino == host.st_ino)) {
		pr_err("--root %s: the host's / itself (refused)\n", root);
		close(fd);
		return -EINVAL;
	}
	return fd;
}

int vxctx_root_check(const char *root)
{
	int fd = vxctx_root_open(root);

	if (fd < 0)
		return fd;
	close(fd);
	return 0;
}

int vxctx_root_ready(const char *root)
{
	static const char *const need[] = { "proc", "sys", "dev" };
	_cleanup_close_ int fd = open(root, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	struct stat st;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(need); i++) {
		if (fd < 0 || fstatat(fd, need[i], &st, AT_SYMLINK_NOFOLLOW) ||
		    !S_ISDIR(st.st_mode)) {
			pr_err("root %s: no directory %s in it\n", root, need[i]);
			return -EINVAL;
		}
	}
	return 0;
}

/* mkdir -p path in our (new) root; 0 or -errno. */
static int mkdir_in(const char *path, mode_t mode)
{
	char tmp[PATH_MAX], *p;

	snprintf(tmp, sizeof(tmp), "%s", path);
	for (p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		if (mkdir(tmp, 0755) && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	return mkdir(tmp, mode) && errno != EEXIST ? -errno : 0;
}

/* Attaches the detached mount fd (open_tree) at path; closes fd. */
static int attach(int fd, const char *path)
{
	int ret = 0;

	if (move_mount(fd, "", AT_FDCWD, path, MOVE_MOUNT_F_EMPTY_PATH)) {
		ret = -errno;
		pr_perror("cannot mount the host's copy at %s inside the root", path);
	}
	close(fd);
	return ret;
}

/* What the guest gets from the host, taken before the pivot. */
struct host_parts {
	int sys, run; /* -1: none */
	int dev[6];
};

static const char *const devices[] = { "null", "zero", "full", "random", "urandom", "tty" };

static void host_parts_close(struct host_parts *h)
{
	size_t i;

	if (h->sys >= 0)
		close(h->sys);
	if (h->run >= 0)
		close(h->run);
	for (i = 0; i < ARRAY_SIZE(devices); i++)
		if (h->dev[i] >= 0)
			close(h->dev[i]);
}

static int host_parts_take(struct host_parts *h, const char *run)
{
	char path[64];
	size_t i;

	h->sys = open_tree(AT_FDCWD, "/sys", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
	h->run = run ? open_tree(AT_FDCWD, run, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC) : -1;
	for (i = 0; i < ARRAY_SIZE(devices); i++) {
		snprintf(path, sizeof(path), "/dev/%s", devices[i]);
		h->dev[i] = open_tree(AT_FDCWD, path, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
		if (h->dev[i] < 0)
			break;
	}
	if (h->sys < 0 || (run && h->run < 0) || i < ARRAY_SIZE(devices)) {
		pr_perror("cannot take /sys, /dev or the run directory into the root");
		return -errno;
	}
	return 0;
}

/* pivot_root into root; the old root detached. */
static int pivot(const char *root)
{
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) ||
	    mount(root, root, NULL, MS_BIND | MS_REC, NULL) || chdir(root) ||
	    syscall(SYS_pivot_root, ".", ".") || umount2(".", MNT_DETACH) || chdir("/")) {
		pr_perror("cannot pivot_root into %s", root);
		return -errno;
	}
	return 0;
}

/* The minimal /dev inside the root. */
static int setup_dev(struct host_parts *h)
{
	char path[64];
	size_t i;
	int fd, ret;

	if ((ret = mkdir_in("/dev", 0755)))
		return ret;
	if (mount("tmpfs", "/dev", "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=0755,size=64k")) {
		pr_perror("cannot mount /dev in the root");
		return -errno;
	}
	for (i = 0; i < ARRAY_SIZE(devices); i++) {
		snprintf(path, sizeof(path), "/dev/%s", devices[i]);
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
		if (fd < 0)
			return -errno;
		close(fd);
		ret = attach(h->dev[i], path);
		h->dev[i] = -1;
		if (ret)
			return ret;
	}
	if (mkdir("/dev/pts", 0755) || mkdir("/dev/shm", 01777) ||
	    mount("devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC,
		  "newinstance,ptmxmode=0666,mode=0620") ||
	    symlink("pts/ptmx", "/dev/ptmx") ||
	    mount("shm", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777") ||
	    symlink("/proc/self/fd", "/dev/fd")) {
		pr_perror("cannot make /dev/pts, /dev/ptmx or /dev/shm in the root");
		return -errno;
	}
	return 0;
}

/* The context's view of the run directory at the same path inside. */
static int root_rundir(struct host_parts *h, const char *rundir, int trusted)
{
	struct mount_attr attr = { .attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID |
					       MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC };
	const char *dir = vxctx_rundir(rundir);
	int ret;

	if (h->run < 0)
		return 0;
	ret = mkdir_in(dir, 0700);
	if (!ret)
		ret = attach(h->run, dir);
	h->run = -1;
	if (!ret && !trusted && mount_setattr(AT_FDCWD, dir, 0, &attr, sizeof(attr)))
		ret = -errno;
	return ret;
}

/* --root: into the root, with /sys, /dev, the run directory. */
static int enter_root(uint32_t xid, const char *rundir, int trusted, const char *root)
{
	struct host_parts h = { .sys = -1, .run = -1, .dev = { -1, -1, -1, -1, -1, -1 } };
	char self[PATH_MAX];
	const char *run = NULL;
	int ret;

	ret = vxctx_self_dir(rundir, xid, self, sizeof(self));
	if (ret)
		return ret;
	if (trusted)
		run = vxctx_rundir(rundir);
	else if (!access(self, F_OK))
		run = self;
	ret = host_parts_take(&h, run);
	if (!ret)
		ret = pivot(root);
	if (!ret)
		ret = mkdir_in("/sys", 0555) ?: mkdir_in("/proc", 0555);
	if (!ret) {
		ret = attach(h.sys, "/sys");
		h.sys = -1;
	}
	if (!ret)
		ret = setup_dev(&h);
	if (!ret)
		ret = root_rundir(&h, rundir, trusted);
	host_parts_close(&h);
	return ret;
}

int vxctx_isolate(uint32_t xid, const char *rundir, uint64_t flags, const char *root)
{
	int trusted = !!(flags & VXCTX_F_PROLIFIC), ret;

	if (mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL)) {
		pr_perror("cannot make / a slave for the context");
		return -errno;
	}
	if (!trusted && unshare(CLONE_NEWCGROUP)) {
		pr_perror("cannot make a cgroup namespace for the context");
		return -errno;
	}
	if (root && root[0] && (ret = enter_root(xid, rundir, trusted, root)))
		return ret;
	ret = setup_proc();
	if (!ret && !trusted)
		ret = each_cgroup_mount(replace_cgroup_mount);
	if (!ret && !trusted && !(root && root[0]))
		ret = hide_rundir(xid, rundir);
	if (!ret)
		ret = sys_ro();
	if (!ret && trusted)
		ret = each_cgroup_mount(cgroup_mount_rw);
	return ret;
}
