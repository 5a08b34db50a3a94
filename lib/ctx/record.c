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
#include <stddef.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/openat2.h>

#include "log.h"
#include "util/cleanup.h"
#include "vxcr/vserver.h"
#include "ctx/ctx.h"
#include "proc/proc.h"

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
	if (mkdir(tmp, 0700) && errno != EEXIST)
		return -errno;
	return 0;
}

/* open(dir) following no symlink on the way (openat2 RESOLVE_NO_SYMLINKS;
 * O_NOFOLLOW on the last component where openat2 is missing). */
static int open_nofollow_dir(const char *dir)
{
	struct open_how how = {
		.flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW,
		.resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
	};
	int fd = (int)syscall(SYS_openat2, AT_FDCWD, dir, &how, sizeof(how));

	if (fd < 0 && errno == ENOSYS)
		fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	return fd < 0 ? -errno : fd;
}

/*
 * The run directory, checked: a directory reached without a symlink, owned
 * by us, that nobody else may write.  One made by an older vxcr (0755) is
 * tightened to 0700.  Returns an fd of it or -errno (logged); create: make
 * it (0700) if missing.
 */
int vxctx_rundir_open(const char *rundir, int create)
{
	const char *dir = vxctx_rundir(rundir);
	struct stat st;
	int fd, ret;

	if (create && (ret = mkdir_p(dir))) {
		pr_err("run directory %s: %s\n", dir, strerror(-ret));
		return ret;
	}
	fd = open_nofollow_dir(dir);
	if (fd < 0) {
		if (fd != -ENOENT || create)
			pr_err("run directory %s: %s\n", dir,
			       fd == -ELOOP ? "a symlink on the way (refused)" : strerror(-fd));
		return fd;
	}
	if (fstat(fd, &st) || st.st_uid != geteuid() || (st.st_mode & 022)) {
		pr_err("run directory %s: not ours (owner %u, mode %03o): refused\n", dir,
		       (unsigned)st.st_uid, (unsigned)(st.st_mode & 07777));
		close(fd);
		return -EPERM;
	}
	if ((st.st_mode & 077) && fchmod(fd, st.st_mode & 0700)) {
		ret = -errno;
		pr_perror("run directory %s: chmod 0700", dir);
		close(fd);
		return ret;
	}
	return fd;
}

int vxctx_lock(const char *rundir)
{
	_cleanup_close_ int dfd = vxctx_rundir_open(rundir, 1);
	int fd, ret;

	if (dfd < 0)
		return dfd;
	fd = openat(dfd, ".lock", O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		ret = -errno;
		pr_perror("%s/.lock", vxctx_rundir(rundir));
		return ret;
	}
	while (flock(fd, LOCK_EX) && errno == EINTR)
		;
	return fd;
}

/* Opens name in the checked run directory for reading: a regular file of
 * ours, no symlink.  Returns a stream or NULL with errno set. */
FILE *vxctx_rundir_fopen(const char *rundir, const char *name)
{
	_cleanup_close_ int dfd = vxctx_rundir_open(rundir, 0);
	struct stat st;
	FILE *f;
	int fd;

	if (dfd < 0) {
		errno = -dfd;
		return NULL;
	}
	fd = openat(dfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_uid != geteuid()) {
		close(fd);
		errno = EPERM;
		return NULL;
	}
	f = fdopen(fd, "r");
	if (!f)
		close(fd);
	return f;
}

/* Writes len bytes as name in directory dfd (shown: its path, for logs),
 * atomically: temp file 0600, then rename.  0 or -errno, logged. */
static int put_at(int dfd, const char *shown, const char *name, const char *buf, size_t len)
{
	char tmp[NAME_MAX + 1];
	int fd, ret = 0;

	snprintf(tmp, sizeof(tmp), ".%s.%d", name, getpid());
	unlinkat(dfd, tmp, 0);
	fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		ret = -errno;
		pr_perror("%s/%s", shown, tmp);
		return ret;
	}
	errno = 0;
	if (write(fd, buf, len) != (ssize_t)len || fsync(fd))
		ret = errno ? -errno : -EIO;
	if (close(fd) && !ret)
		ret = -errno;
	if (!ret && renameat(dfd, tmp, dfd, name))
		ret = -errno;
	if (ret) {
		pr_err("%s/%s: %s\n", shown, name, strerror(-ret));
		unlinkat(dfd, tmp, 0);
	}
	return ret;
}

int vxctx_rundir_put(const char *rundir, const char *name, const char *buf, size_t len)
{
	_cleanup_close_ int dfd = vxctx_rundir_open(rundir, 1);

	return dfd < 0 ? dfd : put_at(dfd, vxctx_rundir(rundir), name, buf, len);
}

/* Removes name from the run directory (no symlink followed: unlinkat). */
void vxctx_rundir_unlink(const char *rundir, const char *name)
{
	_cleanup_close_ int dfd = vxctx_rundir_open(rundir, 0);

	if (dfd >= 0)
		unlinkat(dfd, name, 0);
}

/* A number field of a record: value of "key=N", range-checked. */
static int parse_num(const char *line, unsigned long long max, unsigned long long *v)
{
	const char *eq = strchr(line, '=');
	char *end;

	if (!eq || eq[1] < '0' || eq[1] > '9')
		return -EINVAL;
	errno = 0;
	*v = strtoull(eq + 1, &end, 0);
	return (errno || *end || *v > max) ? -EINVAL : 0;
}

/* One line of a record into r; -EINVAL for a bad value. */
static int parse_line(const char *line, struct vxctx_record *r)
{
	static const struct {
		const char *key;
		unsigned long long max;
		size_t off, size;
	} keys[] = {
#define K(k, f, m) \
	{ k "=", m, offsetof(struct vxctx_record, f), sizeof(((struct vxctx_record *)0)->f) }
		K("xid", xid, VXCTX_XID_MAX),
		K("init", init_pid, 4194304),
		K("init_start", init_start, ~0ULL),
		K("super", super_pid, 4194304),
		K("super_start", super_start, ~0ULL),
		K("flags", flags, ~0ULL),
		K("bcaps", bcaps, ~0ULL),
		K("ccaps", ccaps, ~0ULL),
		K("nproc", nproc, ~0ULL),
		K("pidns", pidns, ~0ULL),
		K("own_pidns", own_pidns, ~0ULL),
#undef K
	};
	unsigned long long v;
	uint32_t v32;
	size_t i;

	if (!strncmp(line, "net=", 4)) {
		if (strlen(line + 4) >= sizeof(r->net))
			return -EINVAL;
		memcpy(r->net, line + 4, strlen(line + 4) + 1);
		return 0;
	}
	if (!strncmp(line, "root=", 5)) { /* shown by ctx info, kept by a checkpoint */
		if (strlen(line + 5) >= sizeof(r->root) || line[5] != '/')
			return -EINVAL;
		memcpy(r->root, line + 5, strlen(line + 5) + 1);
		return 0;
	}
	for (i = 0; i < ARRAY_SIZE(keys); i++) {
		if (strncmp(line, keys[i].key, strlen(keys[i].key)))
			continue;
		if (parse_num(line, keys[i].max, &v))
			return -EINVAL;
		if (keys[i].size == sizeof(uint64_t)) {
			memcpy((char *)r + keys[i].off, &v, sizeof(uint64_t));
		} else {
			v32 = (uint32_t)v;
			memcpy((char *)r + keys[i].off, &v32, sizeof(v32));
		}
		return 0;
	}
	return 0; /* cgroup=, pids_cgroup= and unknown keys: not trusted, not read */
}

/*
 * The groups of context xid, derived from the xid alone (a record's
 * cgroup= lines are never read: a forged one could name any group of the
 * host).  pids: the v1 pids group of INFO_NPROC on a hybrid host, or "".
 */
int vxctx_groups_of(uint32_t xid, uint64_t flags, struct vxctx_groups *g)
{
	char root[PATH_MAX];
	int ret = proc_cgroup2_mount(root, sizeof(root));

	g->cgroup[0] = g->pids[0] = 0;
	if (ret)
		return ret;
	if ((size_t)snprintf(g->cgroup, sizeof(g->cgroup), "%s/%s/%u", root, vxctx_cg_base(),
			     xid) >= sizeof(g->cgroup))
		return -ENAMETOOLONG;
	return (flags & VXCTX_F_INFO_NPROC) ? vxctx_pids_path(xid, g->pids, sizeof(g->pids)) : 0;
}

int vxctx_record_read(const char *rundir, uint32_t xid, struct vxctx_record *r)
{
	_cleanup_fclose_ FILE *f = NULL;
	struct vxctx_groups g;
	char name[32], line[1024];
	int bad = 0;

	snprintf(name, sizeof(name), "%u.ctx", xid);
	f = vxctx_rundir_fopen(rundir, name);
	if (!f)
		return -errno;
	memset(r, 0, sizeof(*r));
	r->xid = xid;
	while (!bad && fgets(line, sizeof(line), f)) {
		if (!strchr(line, '\n') && !feof(f))
			bad = 1;
		line[strcspn(line, "\n")] = 0;
		bad = bad || parse_line(line, r);
	}
	if (bad || r->xid != xid || r->init_pid <= 0) {
		pr_err("%s/%s: not a valid context record (corrupt or forged): left alone\n",
		       vxctx_rundir(rundir), name);
		return -EINVAL;
	}
	if (!vxctx_groups_of(xid, r->flags, &g)) {
		memcpy(r->cgroup, g.cgroup, sizeof(r->cgroup));
		memcpy(r->pids_cgroup, g.pids, sizeof(r->pids_cgroup));
	}
	if (r->pidns && vxctx_own_pidns() && r->pidns != vxctx_own_pidns())
		localize(r, vxctx_own_pidns());
	return 0;
}

/* The text of a record. */
static int record_format(const struct vxctx_record *r, char *buf, size_t len)
{
	int n;

	n = snprintf(buf, len,
		     "xid=%u\ninit=%d\ninit_start=%" PRIu64 "\nsuper=%d\nsuper_start=%" PRIu64
		     "\nflags=0x%" PRIx64 "\nbcaps=0x%" PRIx64 "\nccaps=0x%" PRIx64
		     "\nnproc=%" PRIu64 "\npidns=%" PRIu64 "\nown_pidns=%" PRIu64 "\ncgroup=%s\n",
		     r->xid, r->init_pid, r->init_start, r->super_pid, r->super_start, r->flags,
		     r->bcaps, r->ccaps, r->nproc, r->pidns, r->own_pidns, r->cgroup);
	if (r->pids_cgroup[0] && n >= 0 && (size_t)n < len)
		n += snprintf(buf + n, len - n, "pids_cgroup=%s\n", r->pids_cgroup);
	if (r->net[0] && n >= 0 && (size_t)n < len)
		n += snprintf(buf + n, len - n, "net=%s\n", r->net);
	if (r->root[0] && n >= 0 && (size_t)n < len)
		n += snprintf(buf + n, len - n, "root=%s\n", r->root);
	return (n < 0 || (size_t)n >= len) ? -ENAMETOOLONG : n;
}

/*
 * What an isolated context sees at the run directory's place (create.c
 * binds it there, read-only): "<xid>.self/" holding its own record and
 * "self.xid", so that tools inside know which context they are in (its
 * cgroup namespace hides the path) and its init reads PERSISTENT.
 */
static int self_put(int dfd, const struct vxctx_record *r, const char *buf, size_t len)
{
	char dir[32], shown[PATH_MAX], name[32], x[16];
	_cleanup_close_ int sfd = -1;
	int ret;

	snprintf(dir, sizeof(dir), "%u.self", r->xid);
	if (mkdirat(dfd, dir, 0700) && errno != EEXIST)
		return -errno;
	sfd = openat(dfd, dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (sfd < 0)
		return -errno;
	snprintf(shown, sizeof(shown), "run directory's %s", dir);
	snprintf(name, sizeof(name), "%u.ctx", r->xid);
	snprintf(x, sizeof(x), "%u\n", r->xid);
	ret = len ? put_at(sfd, shown, name, buf, len) : 0;
	return ret ? ret : put_at(sfd, shown, "self.xid", x, strlen(x));
}

int vxctx_self_make(const char *rundir, uint32_t xid, uint64_t flags)
{
	_cleanup_close_ int dfd = -1;
	struct vxctx_record r = { .xid = xid, .flags = flags };
	char x[16];

	if (flags & VXCTX_F_PROLIFIC)
		return 0;
	dfd = vxctx_rundir_open(rundir, 1);
	if (dfd < 0)
		return dfd;
	snprintf(x, sizeof(x), "%u\n", xid);
	return self_put(dfd, &r, x, 0);
}

int vxctx_self_dir(const char *rundir, uint32_t xid, char *buf, size_t len)
{
	int n = snprintf(buf, len, "%s/%u.self", vxctx_rundir(rundir), xid);

	return (n < 0 || (size_t)n >= len) ? -ENAMETOOLONG : 0;
}

void vxctx_self_remove(const char *rundir, uint32_t xid)
{
	_cleanup_close_ int dfd = vxctx_rundir_open(rundir, 0);
	_cleanup_close_ int sfd = -1;
	char dir[32], name[32];

	if (dfd < 0)
		return;
	snprintf(dir, sizeof(dir), "%u.self", xid);
	sfd = openat(dfd, dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (sfd < 0)
		return;
	snprintf(name, sizeof(name), "%u.ctx", xid);
	unlinkat(sfd, name, 0);
	unlinkat(sfd, "self.xid", 0);
	unlinkat(dfd, dir, AT_REMOVEDIR);
}

int vxctx_self_xid(const char *rundir, uint32_t *xid)
{
	_cleanup_fclose_ FILE *f = vxctx_rundir_fopen(rundir, "self.xid");
	unsigned int x;

	if (!f || fscanf(f, "%u", &x) != 1 || x < VXCTX_XID_MIN || x > VXCTX_XID_MAX)
		return -ENOENT;
	*xid = x;
	return 0;
}

int vxctx_record_write(const char *rundir, const struct vxctx_record *r)
{
	_cleanup_close_ int dfd = -1;
	char name[32], buf[2048];
	int ret, n = record_format(r, buf, sizeof(buf));

	if (n < 0)
		return n;
	dfd = vxctx_rundir_open(rundir, 1);
	if (dfd < 0)
		return dfd;
	if (!(r->flags & VXCTX_F_PROLIFIC) && (ret = self_put(dfd, r, buf, (size_t)n))) {
		pr_err("context %u: cannot write its own view of the record: %s\n", r->xid,
		       strerror(-ret));
		return ret;
	}
	snprintf(name, sizeof(name), "%u.ctx", r->xid);
	return put_at(dfd, vxctx_rundir(rundir), name, buf, (size_t)n);
}

/* 1 if the record's pids are not in our numbering (init not visible). */
int vxctx_record_foreign(const struct vxctx_record *r)
{
	uint64_t own = vxctx_own_pidns();

	return r->pidns && own && r->pidns != own;
}

/* 1 if pid is on its way out (PF_EXITING in /proc/PID/stat's flags): it
 * has left its cgroup already but is not a zombie yet. */
static int exiting(pid_t pid)
{
	struct proc_stat st;

	return proc_read_stat(pid, &st) ? 1 : !!(st.flags & 0x4); /* PF_EXITING */
}

/* 1 if pid is a member of the cgroup v2 group path. */
static int in_group(const char *path, pid_t pid)
{
	pid_t pids[4096];
	int i, n = vxctx_cg_pids(path, "cgroup.procs", pids, (int)ARRAY_SIZE(pids));

	for (i = 0; i < n; i++)
		if (pids[i] == pid)
			return 1;
	return 0;
}

/*
 * VXCTX_REC_LIVE: the record's init runs (same start time) and is in the
 * group derived from the xid; a record whose init is not visible from our
 * pid ns: while that group has tasks.  VXCTX_REC_STALE: its init is gone.
 * VXCTX_REC_FORGED: the pid runs, with that start time, outside the
 * context's group: not a context's init (logged once per call).
 */
int vxctx_record_state(const struct vxctx_record *r)
{
	if (vxctx_record_foreign(r))
		return vxctx_cg_pids(r->cgroup, "cgroup.procs", NULL, 0) > 0 ? VXCTX_REC_LIVE :
									       VXCTX_REC_STALE;
	if (r->init_pid <= 0 || vxctx_starttime(r->init_pid) != r->init_start)
		return VXCTX_REC_STALE;
	if (in_group(r->cgroup, r->init_pid))
		return VXCTX_REC_LIVE;
	if (exiting(r->init_pid) || vxctx_starttime(r->init_pid) != r->init_start)
		return VXCTX_REC_STALE;
	pr_warn("context %u: its record names pid %d, which is not in %s: forged or corrupt "
		"record, left alone\n",
		r->xid, r->init_pid, r->cgroup);
	return VXCTX_REC_FORGED;
}

int vxctx_record_live(const struct vxctx_record *r)
{
	return vxctx_record_state(r) == VXCTX_REC_LIVE;
}

static void clean_one(const char *rundir, const struct vxctx_record *r)
{
	struct vxctx_groups g;
	char name[32];

	pr_debug("context %u: init %d gone, removing its record\n", r->xid, r->init_pid);
	if (!vxctx_groups_of(r->xid, r->flags, &g)) { /* never the record's words */
		vxctx_cg_remove(g.cgroup);
		if (g.pids[0])
			vxctx_cg_remove(g.pids);
	}
	vxctx_limits_remove(r->xid);
	snprintf(name, sizeof(name), "%u.ctx", r->xid);
	vxctx_rundir_unlink(rundir, name);
	vxctx_self_remove(rundir, r->xid);
}

/* The checked run directory as a DIR stream, NULL with errno. */
static DIR *rundir_opendir(const char *rundir)
{
	int fd = vxctx_rundir_open(rundir, 0);
	DIR *d;

	if (fd < 0) {
		errno = -fd;
		return NULL;
	}
	d = fdopendir(fd);
	if (!d)
		close(fd);
	return d;
}

/* Contexts created inside the pid ns own_pidns (records written there). */
static void clean_nested(const char *rundir, uint64_t own_pidns, int depth)
{
	struct vxctx_record r;
	struct dirent *e;
	unsigned long x;
	char *end;
	DIR *d;

	if (!own_pidns || depth > 32 || !(d = rundir_opendir(rundir)))
		return;
	while ((e = readdir(d))) {
		x = strtoul(e->d_name, &end, 10);
		if (end == e->d_name || strcmp(end, ".ctx") || x > VXCTX_XID_MAX)
			continue;
		if (vxctx_record_read(rundir, (uint32_t)x, &r) || r.pidns != own_pidns ||
		    vxctx_record_state(&r) != VXCTX_REC_STALE)
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
	int ret, lock, st;

	ret = vxctx_record_read(rundir, xid, r);
	if (ret == -ENOENT)
		return -ESRCH;
	if (ret)
		return ret;
	st = vxctx_record_state(r);
	if (st != VXCTX_REC_STALE)
		return st == VXCTX_REC_LIVE ? 0 : -ESRCH; /* forged: reported, left alone */
	lock = vxctx_lock(rundir);
	if (lock < 0)
		return lock;
	/* re-read under the lock: a create may have replaced it meanwhile.
	 * A foreign one is left to its supervisor (which we cannot see) or
	 * to the next create of that xid. */
	ret = vxctx_record_read(rundir, xid, r);
	st = ret ? VXCTX_REC_FORGED : vxctx_record_state(r);
	if (st == VXCTX_REC_STALE && !vxctx_record_foreign(r))
		vxctx_record_clean(rundir, r);
	close(lock);
	return st == VXCTX_REC_LIVE ? 0 : -ESRCH;
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

	d = rundir_opendir(rundir);
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
