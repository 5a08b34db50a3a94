/*
 * The cgroup v2 group of a context: <cgroup2 mount>/vxcr/<xid>, the mount
 * found in /proc/self/mountinfo.  It freezes (cgroup.freeze, confirmed by
 * cgroup.events "frozen"), kills (cgroup.kill) and lists the context's tasks.
 */
#define LOG_PREFIX "ctx/cgroup: "
#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>

#include "log.h"
#include "util/cleanup.h"
#include "ctx/ctx.h"
#include "proc/proc.h"

int vxctx_cg_root(char *buf, size_t len)
{
	int ret = proc_cgroup2_mount(buf, len);

	if (ret == -ENOENT)
		pr_err("no cgroup2 hierarchy in /proc/self/mountinfo\n");
	return ret;
}

const char *vxctx_cg_base(void)
{
	static const char *base;
	const char *e, *p;

	if (base)
		return base;
	e = getenv("VXCR_CGROUP");
	base = "vxcr";
	if (!e || !*e)
		return base;
	for (p = e; *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr("._-", *p))
			break;
	if (*p || !strcmp(e, ".") || !strcmp(e, "..") || p - e > 64)
		pr_warn("VXCR_CGROUP=%s is not one plain name: using vxcr\n", e);
	else
		base = e;
	return base;
}

/* Writes val to dir/file; 0 or -errno (callers log). */
int vxctx_cg_write(const char *dir, const char *file, const char *val)
{
	char path[PATH_MAX];
	ssize_t n;
	int fd, ret = 0;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = write(fd, val, strlen(val));
	if (n < 0)
		ret = -errno;
	close(fd);
	return ret;
}

int vxctx_cg_create(uint32_t xid, char *path, size_t len)
{
	char root[PATH_MAX];
	int ret;

	ret = vxctx_cg_root(root, sizeof(root));
	if (ret)
		return ret;
	return vxctx_cg_mkdir(root, xid, path, len);
}

/* Also used for the v1 pids hierarchy (pids.c): same layout there. */
int vxctx_cg_mkdir(const char *root, uint32_t xid, char *path, size_t len)
{
	int ret;

	snprintf(path, len, "%s/%s", root, vxctx_cg_base());
	if (mkdir(path, 0755) && errno != EEXIST) {
		ret = -errno;
		pr_perror("cgroup %s", path);
		return ret;
	}
	snprintf(path, len, "%s/%s/%u", root, vxctx_cg_base(), xid);
	if (mkdir(path, 0755) == 0)
		return 0;
	ret = -errno;
	if (ret == -EEXIST && vxctx_cg_pids(path, "cgroup.procs", NULL, 0) == 0)
		return 0; /* left over, empty: reuse */
	pr_err("cgroup %s: %s\n", path, ret == -EEXIST ? "exists and has tasks" : strerror(-ret));
	return ret == -EEXIST ? -EBUSY : ret;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/*
 * Removes the groups below path, children first (a group with sub-groups
 * cannot be removed: those an admin or a vxrestore --manage-cgroups of the
 * context made).  cgroupfs holds no symlinks; depth is bounded by
 * cgroup.max.depth.  Failures are left to the caller's rmdir of path.
 */
static void remove_children(const char *path)
{
	char sub[PATH_MAX];
	struct dirent *de;
	DIR *d = opendir(path);

	if (!d)
		return;
	while ((de = readdir(d))) {
		if (de->d_type != DT_DIR || !strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if ((size_t)snprintf(sub, sizeof(sub), "%s/%s", path, de->d_name) >= sizeof(sub))
			continue;
		remove_children(sub);
		rmdir(sub);
	}
	closedir(d);
}

/* Removes the group and its sub-groups; thaws and kills what is left in it first. */
void vxctx_cg_remove(const char *path)
{
	int i;

	remove_children(path);
	if (rmdir(path) == 0 || errno == ENOENT)
		return;
	vxctx_cg_write(path, "cgroup.freeze", "0");
	vxctx_cg_kill(path);
	for (i = 0; i < 100; i++) {
		remove_children(path);
		if (rmdir(path) == 0 || errno == ENOENT)
			return;
		sleep_ms(20);
	}
	pr_warn("cgroup %s: cannot remove: %s\n", path, strerror(errno));
}

/* The value of key in cgroup.events, -errno if unreadable. */
static int cg_event(const char *path, const char *key)
{
	char p[PATH_MAX], line[128];
	_cleanup_fclose_ FILE *f = NULL;
	size_t kl = strlen(key);

	snprintf(p, sizeof(p), "%s/cgroup.events", path);
	f = fopen(p, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, kl) && line[kl] == ' ')
			return atoi(line + kl + 1);
	return -ENOENT;
}

int vxctx_cg_frozen(const char *path)
{
	return cg_event(path, "frozen");
}

/*
 * cgroup.freeze: 1 once a freeze was asked for, even while tasks are still
 * on their way into the freezer or, having left a ptrace stop, on their
 * way back (cgroup.events says "frozen 0" then).  -errno if unreadable.
 */
int vxctx_cg_freezing(const char *path)
{
	char p[PATH_MAX], line[16];
	bool got;
	FILE *f;

	snprintf(p, sizeof(p), "%s/cgroup.freeze", path);
	f = fopen(p, "re");
	if (!f)
		return -errno;
	got = fgets(line, sizeof(line), f) != NULL;
	fclose(f);
	return got ? atoi(line) : -EIO;
}

/* Writes cgroup.freeze and waits (up to 5 s) until cgroup.events agrees. */
int vxctx_cg_freeze(const char *path, int on)
{
	int i, ret;

	ret = vxctx_cg_write(path, "cgroup.freeze", on ? "1" : "0");
	if (ret) {
		pr_err("cgroup %s: cannot %s: %s\n", path, on ? "freeze" : "thaw", strerror(-ret));
		return ret;
	}
	for (i = 0; i < 500; i++) {
		if (vxctx_cg_frozen(path) == on)
			return 0;
		sleep_ms(10);
	}
	pr_err("cgroup %s: not %s after 5 s\n", path, on ? "frozen" : "thawed");
	return -ETIMEDOUT;
}

/* Kills every task: cgroup.kill, else SIGKILL to each member. */
int vxctx_cg_kill(const char *path)
{
	pid_t pids[4096];
	int i, n;

	if (vxctx_cg_write(path, "cgroup.kill", "1") == 0)
		return 0;
	n = vxctx_cg_pids(path, "cgroup.procs", pids, (int)ARRAY_SIZE(pids));
	for (i = 0; i < n; i++)
		kill(pids[i], SIGKILL);
	return n < 0 ? n : 0;
}

int vxctx_cg_join(const char *path, pid_t pid)
{
	char buf[32];
	int ret;

	snprintf(buf, sizeof(buf), "%d", pid);
	ret = vxctx_cg_write(path, "cgroup.procs", buf);
	if (ret)
		pr_err("cgroup %s: cannot add pid %d: %s\n", path, pid, strerror(-ret));
	return ret;
}

int vxctx_cg_pids(const char *path, const char *file, pid_t *pids, int max)
{
	_cleanup_fclose_ FILE *f = NULL;
	char p[PATH_MAX];
	int n = 0, v;

	snprintf(p, sizeof(p), "%s/%s", path, file);
	f = fopen(p, "re");
	if (!f)
		return -errno;
	while (fscanf(f, "%d", &v) == 1) {
		if (n < max && pids)
			pids[n] = v;
		n++;
	}
	return pids && n > max ? max : n;
}
