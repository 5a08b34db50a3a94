/*
 * Context records under the run directory: "<xid>.ctx", one small
 * key=value file per context, replaced atomically (write a temp file, then
 * rename) so that every tool sees a whole record or none.  A record whose
 * init is gone (or whose pid now belongs to another process: the start
 * time differs) is stale and removed, with its cgroup, by whoever sees it.
 *
 * The pids of a record are those of the pid namespace it names (pidns=, the
 * supervisor's: a nested context's record, written inside its PROLIFIC
 * parent, holds the parent's numbers).  A reader in another pid namespace
 * re-derives them (localize()): the init is the task of the context's
 * cgroup whose innermost pid is 1, the supervisor the init's parent.  If
 * the init is not visible from the reader (a sibling or nested namespace),
 * the context is judged by its cgroup alone: live while the cgroup has
 * tasks, and then left to its supervisor (or a create of the same xid)
 * to remove, since we cannot see whether the supervisor is still at work.
 */
#define LOG_PREFIX "ctx/record: "
#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "util/cleanup.h"
#include "vxcr/vserver.h"
#include "ctx/ctx.h"

/* The process's run directory, set by vxcr_ctx_set_rundir() (NULL: none). */
static char *chosen_rundir;

int vxcr_ctx_set_rundir(const char *dir)
{
	char *copy = NULL;

	if (dir && *dir) {
		copy = strdup(dir);
		if (!copy)
			return -ENOMEM;
	}
	free(chosen_rundir);
	chosen_rundir = copy;
	return 0;
}

const char *vxcr_ctx_rundir(void)
{
	return vxctx_rundir(NULL);
}

/* The run directory to use: rundir, the one vxcr_ctx_set_rundir() chose,
 * $VXCR_RUNDIR, or /run/vxcr. */
const char *vxctx_rundir(const char *rundir)
{
	const char *e = getenv("VXCR_RUNDIR");

	if (rundir && *rundir)
		return rundir;
	if (chosen_rundir)
		return chosen_rundir;
	return e && *e ? e : "/run/vxcr";
}

/* Start time of pid in clock ticks (field 22 of /proc/PID/stat), 0 if gone
 * or a zombie. */
uint64_t vxctx_starttime(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long long v = 0;
	char state;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	p = strrchr(buf, ')');
	if (!p || sscanf(p + 2,
			 "%c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u "
			 "%*d %*d %*d %*d %*d %*d %llu",
			 &state, &v) != 2)
		return 0;
	return (state == 'Z' || state == 'X') ? 0 : v;
}

uint64_t vxctx_own_pidns(void)
{
	struct stat st;

	return stat("/proc/self/ns/pid", &st) ? 0 : (uint64_t)st.st_ino;
}

/* Parent pid of pid (field 4 of /proc/PID/stat), 0 if unknown. */
static pid_t parent_of(pid_t pid)
{
	_cleanup_fclose_ FILE *f = NULL;
	char path[64], buf[1024], *p;
	int ppid = 0;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	f = fopen(path, "re");
	if (!f || !fgets(buf, sizeof(buf), f) || !(p = strrchr(buf, ')')) ||
	    sscanf(p + 2, "%*c %d", &ppid) != 1)
		return 0;
	return ppid;
}

/* 1 if pid's innermost pid (last NSpid field) is 1. */
static int is_ns_init(pid_t pid)
{
	_cleanup_fclose_ FILE *f = NULL;
	char path[64], line[256], *last;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	f = fopen(path, "re");
	while (f && fgets(line, sizeof(line), f)) {
		if (strncmp(line, "NSpid:", 6))
			continue;
		line[strcspn(line, "\n")] = 0;
		last = strrchr(line, '\t');
		return last && !strcmp(last + 1, "1");
	}
	return 0;
}

/* A record from another pid namespace: its pids in ours, if visible. */
static void localize(struct vxctx_record *r, uint64_t own)
{
	pid_t pids[4096];
	int i, n;

	n = vxctx_cg_pids(r->cgroup, "cgroup.procs", pids, (int)ARRAY_SIZE(pids));
	for (i = 0; i < n; i++) {
		if (pids[i] <= 0 || !is_ns_init(pids[i]))
			continue;
		r->init_pid = pids[i];
		r->init_start = vxctx_starttime(pids[i]);
		r->super_pid = parent_of(pids[i]);
		r->super_start = r->super_pid > 0 ? vxctx_starttime(r->super_pid) : 0;
		r->pidns = own;
		return;
	}
}

static int mkdir_p(const char *dir)
{
	char tmp[PATH_MAX], *p;

	snprintf(tmp, sizeof(tmp), "%s", dir);
	for (p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		if (mkdir(tmp, 0755) && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(tmp, 0755) && errno != EEXIST)
		return -errno;
	return 0;
}

int vxctx_lock(const char *rundir)
{
	const char *dir = vxctx_rundir(rundir);
	char path[PATH_MAX];
	int fd, ret;

	ret = mkdir_p(dir);
	if (ret) {
		pr_err("run directory %s: %s\n", dir, strerror(-ret));
		return ret;
	}
	snprintf(path, sizeof(path), "%s/.lock", dir);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		ret = -errno;
		pr_perror("%s", path);
		return ret;
	}
	while (flock(fd, LOCK_EX) && errno == EINTR)
		;
	return fd;
}

int vxctx_record_read(const char *rundir, uint32_t xid, struct vxctx_record *r)
{
	_cleanup_fclose_ FILE *f = NULL;
	char path[PATH_MAX], line[1024], *eq;
	unsigned long long v;

	snprintf(path, sizeof(path), "%s/%u.ctx", vxctx_rundir(rundir), xid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	memset(r, 0, sizeof(*r));
	r->xid = xid;
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = 0;
		if (!strncmp(line, "cgroup=", 7)) {
			if (strlen(line + 7) >= sizeof(r->cgroup))
				return -ENAMETOOLONG;
			memcpy(r->cgroup, line + 7, strlen(line + 7) + 1);
			continue;
		}
		if (!strncmp(line, "net=", 4)) {
			if (strlen(line + 4) >= sizeof(r->net))
				return -ENAMETOOLONG;
			memcpy(r->net, line + 4, strlen(line + 4) + 1);
			continue;
		}
		if (!strncmp(line, "pids_cgroup=", 12)) {
			if (strlen(line + 12) >= sizeof(r->pids_cgroup))
				return -ENAMETOOLONG;
			memcpy(r->pids_cgroup, line + 12, strlen(line + 12) + 1);
			continue;
		}
		eq = strchr(line, '=');
		if (!eq || eq[1] < '0' || eq[1] > '9')
			continue;
		v = strtoull(eq + 1, NULL, 0);
		if (!strncmp(line, "init=", 5))
			r->init_pid = (pid_t)v;
		else if (!strncmp(line, "init_start=", 11))
			r->init_start = v;
		else if (!strncmp(line, "super=", 6))
			r->super_pid = (pid_t)v;
		else if (!strncmp(line, "super_start=", 12))
			r->super_start = v;
		else if (!strncmp(line, "flags=", 6))
			r->flags = v;
		else if (!strncmp(line, "bcaps=", 6))
			r->bcaps = v;
		else if (!strncmp(line, "ccaps=", 6))
			r->ccaps = v;
		else if (!strncmp(line, "nproc=", 6))
			r->nproc = v;
		else if (!strncmp(line, "pidns=", 6))
			r->pidns = v;
		else if (!strncmp(line, "own_pidns=", 10))
			r->own_pidns = v;
	}
	if (r->init_pid <= 0 || !r->cgroup[0]) {
		pr_err("%s: not a context record\n", path);
		return -EINVAL;
	}
	if (r->pidns && vxctx_own_pidns() && r->pidns != vxctx_own_pidns())
		localize(r, vxctx_own_pidns());
	return 0;
}

int vxctx_record_write(const char *rundir, const struct vxctx_record *r)
{
	const char *dir = vxctx_rundir(rundir);
	char tmp[PATH_MAX], path[PATH_MAX];
	FILE *f;
	int ret = 0;

	snprintf(path, sizeof(path), "%s/%u.ctx", dir, r->xid);
	snprintf(tmp, sizeof(tmp), "%s/.%u.ctx.%d", dir, r->xid, getpid());
	f = fopen(tmp, "we");
	if (!f) {
		ret = -errno;
		pr_perror("%s", tmp);
		return ret;
	}
	fprintf(f,
		"xid=%u\ninit=%d\ninit_start=%" PRIu64 "\nsuper=%d\nsuper_start=%" PRIu64
		"\nflags=0x%" PRIx64 "\nbcaps=0x%" PRIx64 "\nccaps=0x%" PRIx64 "\nnproc=%" PRIu64
		"\npidns=%" PRIu64 "\nown_pidns=%" PRIu64 "\ncgroup=%s\n",
		r->xid, r->init_pid, r->init_start, r->super_pid, r->super_start, r->flags,
		r->bcaps, r->ccaps, r->nproc, r->pidns, r->own_pidns, r->cgroup);
	if (r->pids_cgroup[0])
		fprintf(f, "pids_cgroup=%s\n", r->pids_cgroup);
	if (r->net[0])
		fprintf(f, "net=%s\n", r->net);
	if (fflush(f) || fsync(fileno(f)))
		ret = -errno;
	if (fclose(f) && !ret)
		ret = -errno;
	if (!ret && rename(tmp, path))
		ret = -errno;
	if (ret) {
		pr_err("%s: %s\n", path, strerror(-ret));
		unlink(tmp);
	}
	return ret;
}

/* 1 if the record's pids are not in our numbering (init not visible). */
int vxctx_record_foreign(const struct vxctx_record *r)
{
	uint64_t own = vxctx_own_pidns();

	return r->pidns && own && r->pidns != own;
}

int vxctx_record_live(const struct vxctx_record *r)
{
	if (vxctx_record_foreign(r))
		return vxctx_cg_pids(r->cgroup, "cgroup.procs", NULL, 0) > 0;
	return r->init_pid > 0 && vxctx_starttime(r->init_pid) == r->init_start;
}

static void clean_one(const char *rundir, const struct vxctx_record *r)
{
	char path[PATH_MAX];

	pr_debug("context %u: init %d gone, removing its record\n", r->xid, r->init_pid);
	if (r->cgroup[0])
		vxctx_cg_remove(r->cgroup);
	if (r->pids_cgroup[0])
		vxctx_cg_remove(r->pids_cgroup);
	vxctx_limits_remove(r->xid);
	snprintf(path, sizeof(path), "%s/%u.ctx", vxctx_rundir(rundir), r->xid);
	unlink(path);
}

/* Contexts created inside the pid ns own_pidns (records written there). */
static void clean_nested(const char *rundir, uint64_t own_pidns, int depth)
{
	struct vxctx_record r;
	struct dirent *e;
	unsigned long x;
	char *end;
	DIR *d;

	if (!own_pidns || depth > 32 || !(d = opendir(vxctx_rundir(rundir))))
		return;
	while ((e = readdir(d))) {
		x = strtoul(e->d_name, &end, 10);
		if (end == e->d_name || strcmp(end, ".ctx") || x > VXCTX_XID_MAX)
			continue;
		if (vxctx_record_read(rundir, (uint32_t)x, &r) || r.pidns != own_pidns ||
		    vxctx_record_live(&r))
			continue;
		clean_one(rundir, &r);
		clean_nested(rundir, r.own_pidns, depth + 1);
	}
	closedir(d);
}

void vxctx_record_clean(const char *rundir, const struct vxctx_record *r)
{
	clean_one(rundir, r);
	clean_nested(rundir, r->own_pidns, 0);
}

/* Reads xid's record; a stale one is cleaned and reported as -ESRCH,
 * without logging (callers decide what "no such context" means). */
static int record_get_quiet(const char *rundir, uint32_t xid, struct vxctx_record *r)
{
	int ret, lock;

	ret = vxctx_record_read(rundir, xid, r);
	if (ret == -ENOENT)
		return -ESRCH;
	if (ret)
		return ret;
	if (vxctx_record_live(r))
		return 0;
	lock = vxctx_lock(rundir);
	if (lock < 0)
		return lock;
	/* re-read under the lock: a create may have replaced it meanwhile.
	 * A foreign one is left to its supervisor (which we cannot see) or
	 * to the next create of that xid. */
	if (!vxctx_record_read(rundir, xid, r) && !vxctx_record_live(r) && !vxctx_record_foreign(r))
		vxctx_record_clean(rundir, r);
	ret = vxctx_record_live(r) ? 0 : -ESRCH;
	close(lock);
	return ret;
}

int vxctx_get(const char *rundir, uint32_t xid, struct vxctx_record *r)
{
	int ret = record_get_quiet(rundir, xid, r);

	if (ret == -ESRCH)
		pr_err("context %u does not exist\n", xid);
	else if (ret)
		pr_err("context %u: cannot read its record: %s\n", xid, strerror(-ret));
	return ret;
}

int vxctx_info(const char *rundir, uint32_t xid, struct vxctx_record *r)
{
	return vxctx_get(rundir, xid, r);
}

static int cmp_xid(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

int vxctx_list(const char *rundir, uint32_t *xids, int max)
{
	struct vxctx_record r;
	struct dirent *e;
	unsigned long x;
	char *end;
	int n = 0;
	DIR *d;

	d = opendir(vxctx_rundir(rundir));
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((e = readdir(d)) && n < max) {
		x = strtoul(e->d_name, &end, 10);
		if (end == e->d_name || strcmp(end, ".ctx") || x > UINT32_MAX)
			continue;
		if (record_get_quiet(rundir, (uint32_t)x, &r) == 0)
			xids[n++] = (uint32_t)x;
	}
	closedir(d);
	qsort(xids, n, sizeof(*xids), cmp_xid);
	return n;
}

uint32_t vxctx_xid_of_init(const char *rundir, pid_t pid)
{
	struct vxctx_record r;
	uint32_t xid;

	if (pid <= 0 || vxctx_task_xid(rundir, pid, &xid) || !xid ||
	    vxctx_record_read(rundir, xid, &r) || r.init_pid != pid || vxctx_record_foreign(&r))
		return 0;
	return xid;
}
