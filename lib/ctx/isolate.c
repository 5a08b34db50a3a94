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
 * A PROLIFIC context creates contexts, which needs the host's run
 * directory and cgroup hierarchies: it keeps both (and no cgroup
 * namespace); everything else applies.  PROLIFIC is chosen at creation.
 */
#define LOG_PREFIX "ctx/isolate: "
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/mount.h>
#include <sys/stat.h>

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

int vxctx_isolate(uint32_t xid, const char *rundir, uint64_t flags)
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
	ret = setup_proc();
	if (!ret && !trusted)
		ret = each_cgroup_mount(replace_cgroup_mount);
	if (!ret && !trusted)
		ret = hide_rundir(xid, rundir);
	if (!ret)
		ret = sys_ro();
	if (!ret && trusted)
		ret = each_cgroup_mount(cgroup_mount_rw);
	return ret;
}
