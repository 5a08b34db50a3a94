/*
 * Operations on a live context: task_xid, stat, flags, caps, kill, wait,
 * uname.  Each reads the context's record first (vxctx_get), so an unknown
 * or stale xid gives -ESRCH with one message naming it.
 */
#define LOG_PREFIX "ctx/ops: "
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <sys/utsname.h>

#include "log.h"
#include "util/cleanup.h"
#include "ctx/ctx.h"

int vxctx_task_xid(const char *rundir, pid_t pid, uint32_t *xid)
{
	_cleanup_fclose_ FILE *f = NULL;
	char path[64], pat[80], line[4096], *p;
	unsigned long x;

	snprintf(pat, sizeof(pat), "/%s/", vxctx_cg_base());
	snprintf(path, sizeof(path), "/proc/%d/cgroup", pid ? pid : getpid());
	f = fopen(path, "re");
	if (!f) {
		pr_err("pid %d: no such process\n", pid);
		return -ESRCH;
	}
	*xid = 0;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "0::", 3))
			continue;
		p = strstr(line, pat);
		if (p && sscanf(p + strlen(pat), "%lu", &x) == 1 && x <= VXCTX_XID_MAX)
			*xid = (uint32_t)x;
	}
	/* inside an isolated context its cgroup namespace hides the path */
	if (!*xid && !pid)
		vxctx_self_xid(rundir, xid);
	return 0;
}

/* Counts threads of the cgroup by state (/proc/TID/stat field 3). */
static void count_threads(const char *cgroup, struct vxctx_stat *st)
{
	pid_t tids[8192];
	char path[64], buf[512], *p;
	int i, n, fd;
	ssize_t len;

	n = vxctx_cg_pids(cgroup, "cgroup.threads", tids, (int)ARRAY_SIZE(tids));
	for (i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "/proc/%d/stat", tids[i]);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		len = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (len <= 0)
			continue;
		buf[len] = 0;
		p = strrchr(buf, ')');
		if (!p || !p[1])
			continue;
		st->nr_threads++;
		if (p[2] == 'R')
			st->nr_running++;
		else if (p[2] == 'D')
			st->nr_unintr++;
	}
}

int vxctx_stat(const char *rundir, uint32_t xid, struct vxctx_stat *st)
{
	struct vxctx_record r;
	struct timespec now;
	long hz = sysconf(_SC_CLK_TCK);
	int ret, n;

	ret = vxctx_get(rundir, xid, &r);
	if (ret)
		return ret;
	memset(st, 0, sizeof(*st));
	n = vxctx_cg_pids(r.cgroup, "cgroup.procs", NULL, 0);
	st->tasks = n > 0 ? (uint32_t)n : 0;
	st->usecnt = st->tasks + 1;
	count_threads(r.cgroup, st);
	if (vxctx_cg_frozen(r.cgroup) == 1)
		st->nr_onhold = st->nr_threads;
	if (r.flags & VXCTX_F_INFO_NPROC) {
		int64_t cur = vxctx_pids_current(&r);

		st->nproc_max = r.nproc;
		st->nproc_cur = cur > 0 ? (uint64_t)cur : 0;
	}
	clock_gettime(CLOCK_BOOTTIME, &now);
	if (hz > 0) {
		uint64_t t = (uint64_t)now.tv_sec * 1000000000ULL + (uint64_t)now.tv_nsec;
		uint64_t s = r.init_start * (1000000000ULL / (uint64_t)hz);

		st->uptime_ns = t > s ? t - s : 0;
	}
	return 0;
}

int vxctx_flags_get(const char *rundir, uint32_t xid, uint64_t *flags)
{
	struct vxctx_record r;
	int ret = vxctx_get(rundir, xid, &r);

	if (ret)
		return ret;
	*flags = r.flags & ~VXCTX_F_SCHED_PAUSE;
	if (vxctx_cg_frozen(r.cgroup) == 1)
		*flags |= VXCTX_F_SCHED_PAUSE;
	return 0;
}

static int check_flag_change(uint32_t xid, uint64_t old, uint64_t new)
{
	uint64_t changed = old ^ new;
	char names[256];

	if (new & ~VXCTX_F_SUPPORTED) {
		vxctx_flag_format(new & ~VXCTX_F_SUPPORTED, names, sizeof(names));
		pr_err("context %u: flags %s not supported by the userspace engine\n", xid, names);
		return -ENOTTY;
	}
	if (changed & VXCTX_F_CREATE_ONLY) {
		vxctx_flag_format(changed & VXCTX_F_CREATE_ONLY, names, sizeof(names));
		pr_err("context %u: %s can only be chosen when the context is created\n", xid,
		       names);
		return -EINVAL;
	}
	return 0;
}

int vxctx_flags_set(const char *rundir, uint32_t xid, uint64_t value, uint64_t mask)
{
	struct vxctx_record r;
	uint64_t nflags;
	int ret, lock;

	lock = vxctx_lock(rundir);
	if (lock < 0)
		return lock;
	ret = vxctx_get(rundir, xid, &r);
	if (ret)
		goto out;
	if (vxctx_cg_frozen(r.cgroup) == 1)
		r.flags |= VXCTX_F_SCHED_PAUSE;
	else
		r.flags &= ~VXCTX_F_SCHED_PAUSE;
	nflags = (r.flags & ~mask) | (value & mask);
	ret = check_flag_change(xid, r.flags, nflags);
	if (ret)
		goto out;
	if ((nflags ^ r.flags) & VXCTX_F_SCHED_PAUSE) {
		ret = vxctx_cg_freeze(r.cgroup, !!(nflags & VXCTX_F_SCHED_PAUSE));
		if (ret)
			goto out;
	}
	r.flags = nflags;
	ret = vxctx_record_write(rundir, &r);
out:
	close(lock);
	return ret;
}

int vxctx_caps_get(const char *rundir, uint32_t xid, uint64_t *bcaps, uint64_t *ccaps)
{
	struct vxctx_record r;
	int ret = vxctx_get(rundir, xid, &r);

	if (ret)
		return ret;
	if (bcaps)
		*bcaps = r.bcaps;
	if (ccaps)
		*ccaps = r.ccaps;
	return 0;
}

int vxctx_caps_set(const char *rundir, uint32_t xid, uint64_t bcaps, uint64_t bmask, uint64_t ccaps,
		   uint64_t cmask)
{
	struct vxctx_record r;
	int ret, lock;

	if ((ccaps & cmask) & ~VXCTX_C_ALL) {
		pr_err("unknown context caps 0x%llx\n",
		       (unsigned long long)((ccaps & cmask) & ~VXCTX_C_ALL));
		return -EINVAL;
	}
	lock = vxctx_lock(rundir);
	if (lock < 0)
		return lock;
	ret = vxctx_get(rundir, xid, &r);
	if (!ret) {
		r.bcaps = (r.bcaps & ~bmask) | (bcaps & bmask);
		r.ccaps = (r.ccaps & ~cmask) | (ccaps & cmask);
		ret = vxctx_record_write(rundir, &r);
	}
	close(lock);
	return ret;
}

/* Sends sig to every member of the cgroup; returns how many got it. */
static int signal_members(const char *cgroup, int sig)
{
	pid_t pids[8192];
	int i, n, sent = 0;

	n = vxctx_cg_pids(cgroup, "cgroup.procs", pids, (int)ARRAY_SIZE(pids));
	for (i = 0; i < n; i++)
		if (kill(pids[i], sig) == 0)
			sent++;
	return n < 0 ? n : sent;
}

int vxctx_kill(const char *rundir, uint32_t xid, pid_t pid, int sig)
{
	struct vxctx_record r;
	uint32_t px;
	int ret;

	if (sig < 0 || sig >= NSIG) {
		pr_err("bad signal %d\n", sig);
		return -EINVAL;
	}
	ret = vxctx_get(rundir, xid, &r);
	if (ret)
		return ret;
	if (pid == 0) {
		if (sig == SIGKILL && !vxctx_cg_kill(r.cgroup))
			return 0;
		ret = signal_members(r.cgroup, sig);
		return ret < 0 ? ret : 0;
	}
	if (pid == 1 && vxctx_record_foreign(&r)) {
		pr_err("context %u: its init is not visible from this pid namespace\n", xid);
		return -ESRCH;
	}
	if (pid == 1)
		pid = r.init_pid;
	else if (pid < 0 || vxctx_task_xid(rundir, pid, &px) || px != xid) {
		pr_err("pid %d is not a task of context %u\n", pid, xid);
		return -ESRCH;
	}
	if (kill(pid, sig)) {
		ret = -errno;
		pr_perror("context %u: kill %d", xid, pid);
		return ret;
	}
	return 0;
}

/* Reads "<xid>.exit": "code reboot_cmd" (reboot_cmd absent in old files). */
static int read_exit(const char *rundir, uint32_t xid, int *exit_code, uint32_t *reboot_cmd)
{
	_cleanup_fclose_ FILE *f = NULL;
	unsigned int rc = 0;
	char name[32];

	snprintf(name, sizeof(name), "%u.exit", xid);
	f = vxctx_rundir_fopen(rundir, name);
	if (!f || fscanf(f, "%d", exit_code) != 1)
		return -ENOENT;
	if (fscanf(f, "%x", &rc) != 1) /* written as %#x */
		rc = 0;
	if (reboot_cmd)
		*reboot_cmd = rc;
	return 0;
}

/* 1 if rundir/name exists (a file of ours). */
static int rundir_has(const char *rundir, uint32_t xid, const char *ext)
{
	_cleanup_fclose_ FILE *f = NULL;
	char name[32];

	snprintf(name, sizeof(name), "%u.%s", xid, ext);
	f = vxctx_rundir_fopen(rundir, name);
	return f != NULL;
}

/* A context of another pid namespace that just ended: its record stays
 * until its supervisor (not visible from here) writes the exit code. */
static void wait_foreign_exit(const char *rundir, uint32_t xid)
{
	int i;

	for (i = 0; i < 100 && !rundir_has(rundir, xid, "exit") && rundir_has(rundir, xid, "ctx");
	     i++)
		usleep(20000);
}

int vxctx_wait(const char *rundir, uint32_t xid, int *exit_code, uint32_t *reboot_cmd)
{
	_cleanup_close_ int pfd = -1;
	struct vxctx_record r;
	struct pollfd p;
	int ret;

	ret = vxctx_get(rundir, xid, &r);
	if (ret == -ESRCH)
		wait_foreign_exit(rundir, xid);
	if (ret == -ESRCH && !read_exit(rundir, xid, exit_code, reboot_cmd)) {
		vxcr_log(VXCR_LOG_DEBUG, "context %u already gone\n", xid);
		return 0; /* ended before we looked: its code is still there */
	}
	if (ret)
		return ret;
	if (r.super_pid > 0 && !vxctx_record_foreign(&r))
		pfd = (int)syscall(SYS_pidfd_open, r.super_pid, 0);
	if (pfd >= 0 && vxctx_starttime(r.super_pid) == r.super_start) {
		p.fd = pfd;
		p.events = POLLIN;
		while (poll(&p, 1, -1) < 0 && errno == EINTR)
			;
	} else {
		/* no supervisor (killed?): wait for the init itself */
		while (vxctx_record_live(&r))
			usleep(50000);
	}
	/* the init is gone; the supervisor may still be writing the code */
	for (ret = 0;
	     pfd < 0 && vxctx_record_foreign(&r) && ret < 100 && !rundir_has(rundir, xid, "exit");
	     ret++)
		usleep(20000);
	if (read_exit(rundir, xid, exit_code, reboot_cmd)) {
		pr_err("context %u ended without recording its exit code (supervisor %d gone)\n",
		       xid, r.super_pid);
		return -ECHILD;
	}
	return 0;
}

/* Runs fn in the UTS namespace of xid's init, then returns to ours. */
static int in_uts(const char *rundir, uint32_t xid, int field, char *buf, size_t len,
		  const char *value)
{
	_cleanup_close_ int self = open("/proc/self/ns/uts", O_RDONLY | O_CLOEXEC);
	_cleanup_close_ int pfd = -1;
	struct vxctx_record r;
	struct utsname u;
	int ret = 0;

	ret = vxctx_get(rundir, xid, &r);
	if (ret)
		return ret;
	pfd = vxctx_init_pidfd(&r);
	if (pfd < 0)
		return pfd;
	if (self < 0 || setns(pfd, CLONE_NEWUTS)) {
		ret = -errno;
		pr_perror("context %u: cannot enter its UTS namespace", xid);
		return ret;
	}
	if (value && field == VXCTX_UN_NODENAME)
		ret = sethostname(value, strlen(value)) ? -errno : 0;
	else if (value)
		ret = setdomainname(value, strlen(value)) ? -errno : 0;
	else if (uname(&u))
		ret = -errno;
	if (!value && !ret)
		snprintf(buf, len, "%s", field == VXCTX_UN_NODENAME ? u.nodename : u.domainname);
	if (setns(self, CLONE_NEWUTS))
		pr_warn("cannot return to our UTS namespace: %s\n", strerror(errno));
	if (ret)
		pr_err("context %u: cannot set %s to '%s': %s\n", xid,
		       field == VXCTX_UN_NODENAME ? "NODENAME" : "DOMAINNAME", value,
		       strerror(-ret));
	return ret;
}

int vxctx_uname_get(const char *rundir, uint32_t xid, int field, char *buf, size_t len)
{
	struct vxctx_record r;
	struct utsname u;
	int ret;

	if (!buf || !len)
		return -EINVAL;
	if (field == VXCTX_UN_NODENAME || field == VXCTX_UN_DOMAINNAME)
		return in_uts(rundir, xid, field, buf, len, NULL);
	ret = vxctx_get(rundir, xid, &r);
	if (ret)
		return ret;
	uname(&u);
	switch (field) {
	case VXCTX_UN_CONTEXT:
		snprintf(buf, len, "%u", xid);
		break;
	case VXCTX_UN_SYSNAME:
		snprintf(buf, len, "%s", u.sysname);
		break;
	case VXCTX_UN_RELEASE:
		snprintf(buf, len, "%s", u.release);
		break;
	case VXCTX_UN_VERSION:
		snprintf(buf, len, "%s", u.version);
		break;
	case VXCTX_UN_MACHINE:
		snprintf(buf, len, "%s", u.machine);
		break;
	default:
		pr_err("unknown uname field %d\n", field);
		return -EINVAL;
	}
	return 0;
}

int vxctx_uname_set(const char *rundir, uint32_t xid, int field, const char *value)
{
	static const char *const names[] = { "CONTEXT", "SYSNAME", "NODENAME",	"RELEASE",
					     "VERSION", "MACHINE", "DOMAINNAME" };

	if (!value)
		return -EINVAL;
	if (field < 0 || field > VXCTX_UN_DOMAINNAME) {
		pr_err("unknown uname field %d\n", field);
		return -EINVAL;
	}
	if (field != VXCTX_UN_NODENAME && field != VXCTX_UN_DOMAINNAME) {
		pr_err("uname field %s cannot be virtualised on a stock kernel: needs the kernel module\n",
		       names[field]);
		return -ENOTTY;
	}
	if (strlen(value) > 64) {
		pr_err("uname %s: '%s' is longer than 64 bytes\n", names[field], value);
		return -EINVAL;
	}
	return in_uts(rundir, xid, field, NULL, 0, value);
}
