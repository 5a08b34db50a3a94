/*
 * Creating a context.  Three processes of ours per context:
 *
 *   caller --fork--> (short-lived) --fork--> supervisor --clone3--> init
 *                                                                     |
 *                                                   main command <--fork
 *
 * The supervisor (setsid, outside every namespace and outside the cgroup)
 * clones the init straight into the cgroup (CLONE_INTO_CGROUP) and new pid,
 * uts, ipc and mount namespaces (net with HIDE_NETIF, time with VIRT_UPTIME:
 * unshared by the supervisor so that the offsets can be set first), writes
 * the record, lets the init go, then waits for it: when the init ends it
 * writes "<xid>.exit" with the init's exit code (128+signal if killed) and
 * removes the record and the cgroup.  The init is pid 1 of the context: it
 * mounts a /proc of its pid namespace, sets the virtual uname, starts the
 * main command (bounding caps and ccaps filter applied, then exec), reaps,
 * and exits with the main command's code once no task is left in its pid
 * namespace, unless the record says PERSISTENT.  A TERM/INT/HUP/QUIT/USR1/
 * USR2 sent to the init kills the whole context (exit 128+sig).
 *
 * INFO_NPROC: pids.max of the context's pids group (pids.c); on a hybrid
 * host the supervisor puts the init into the v1 pids group before letting
 * it go, so the main command and everything after it is counted.
 * REBOOT_KILL: reboot(2) by a task of the context's pid namespace makes the
 * kernel kill the init (reboot_pid_ns(): SIGKILL to the init, which is then
 * reported to its parent as killed by SIGHUP for RESTART/RESTART2, SIGINT
 * for POWER_OFF/HALT; other commands EINVAL).  The supervisor turns that
 * status into the reboot command, kills the rest of the cgroup and records
 * it in "<xid>.exit".  Without REBOOT_KILL the ccaps filter refuses reboot.
 * PROLIFIC: a caller inside a context may create one only if that context
 * has PROLIFIC (and the mount cap its init needs), else -EPERM.
 *
 * The caller learns the outcome through a pipe (close-on-exec): one report
 * from the supervisor, one from the main command only if its exec failed;
 * EOF means the command runs.
 */
#define LOG_PREFIX "ctx/create: "
#include <dirent.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "log.h"
#include "util/cleanup.h"
#include "util/report.h"
#include "util/timens.h"
#include "ctx/ctx.h"

#ifndef CLONE_INTO_CGROUP
#define CLONE_INTO_CGROUP 0x200000000ULL
#endif
#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

struct clone_args_v2 {
	uint64_t flags, pidfd, child_tid, parent_tid, exit_signal;
	uint64_t stack, stack_size, tls, set_tid, set_tid_size, cgroup;
};

static void send_report(int fd, int err, pid_t init, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Reports err (0: the init's pid) to the caller with util/report.h; the
 * message given replaces what was set (it holds it where it adds context). */
static void send_report(int fd, int err, pid_t init, const char *fmt, ...)
{
	char msg[sizeof(err_current()->msg)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	err_clear();
	if (err)
		err_set(err, "%s", msg);
	report_send(fd, err, &init, sizeof(init)); /* the caller may be gone: nobody to tell */
}

static void stdio_to_null(void)
{
	int fd = open("/dev/null", O_RDWR);

	if (fd < 0)
		return;
	dup2(fd, 0);
	dup2(fd, 1);
	dup2(fd, 2);
	if (fd > 2)
		close(fd);
}

/* Number of processes in our pid namespace besides us (its /proc), plus
 * members of the cgroup besides us (tasks that entered, whose children
 * are not born yet). */
static int others_in_ctx(const char *cgroup)
{
	struct dirent *e;
	DIR *d = opendir("/proc");
	int n = 0;

	if (!d)
		return 0;
	while ((e = readdir(d)))
		if (e->d_name[0] > '0' && e->d_name[0] <= '9' && strcmp(e->d_name, "1"))
			n++;
	closedir(d);
	return n + vxctx_cg_pids(cgroup, "cgroup.procs", NULL, 0) - 1;
}

static int persistent(const char *rundir, uint32_t xid)
{
	struct vxctx_record r;

	return !vxctx_record_read(rundir, xid, &r) && (r.flags & VXCTX_F_PERSISTENT);
}

static int loopback_up(void)
{
	struct ifreq ifr = { .ifr_name = "lo" };
	_cleanup_close_ int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (s < 0 || ioctl(s, SIOCGIFFLAGS, &ifr))
		return -errno;
	ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
	return ioctl(s, SIOCSIFFLAGS, &ifr) ? -errno : 0;
}

int vxctx_ns_setup(uint32_t xid, const char *rundir, const char *hostname, const char *domainname,
		   uint64_t flags, const char *root)
{
	int ret = vxctx_isolate(xid, rundir, flags, root);

	if (ret)
		return ret;
	if (hostname && sethostname(hostname, strlen(hostname))) {
		pr_perror("cannot set hostname '%s'", hostname);
		return -errno;
	}
	if (domainname && setdomainname(domainname, strlen(domainname))) {
		pr_perror("cannot set domainname '%s'", domainname);
		return -errno;
	}
	if ((flags & VXCTX_F_HIDE_NETIF) && (ret = loopback_up())) {
		pr_err("HIDE_NETIF: cannot bring up lo: %s\n", strerror(-ret));
		return ret;
	}
	return 0;
}

/* The init's setup inside its fresh namespaces; reports and returns -errno. */
static int init_setup(const struct vxctx_create_args *a, int rep)
{
	int ret = vxctx_ns_setup(a->xid, a->rundir, a->hostname, a->domainname, a->flags, a->root);

	if (ret)
		send_report(rep, ret, 0, "%s", vxcr_last_error());
	return ret;
}

/* Main command: caps, then exec.  Never returns. */
static void __attribute__((noreturn))
run_main(const struct vxctx_create_args *a, int rep, const sigset_t *oldmask)
{
	int i;

	for (i = 1; i < NSIG; i++)
		signal(i, SIG_DFL);
	sigprocmask(SIG_SETMASK, oldmask, NULL);
	if (vxctx_apply_caps(a->bcaps, a->ccaps, a->flags)) {
		send_report(rep, -EPERM, 0, "cannot apply the bounding/context caps: %s",
			    vxcr_last_error());
		_exit(127);
	}
	execvp(a->argv[0], a->argv);
	send_report(rep, -errno, 0, "cannot run '%s' in the context: %s", a->argv[0],
		    strerror(errno));
	_exit(127);
}

static int status_code(int st)
{
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* pid 1 of the context.  Never returns. */
static void __attribute__((noreturn))
run_init(const struct vxctx_create_args *a, const char *cgroup, int rep)
{
	static const int term[] = { SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2 };
	struct timespec tick = { 0, 200 * 1000000L };
	sigset_t set, old;
	pid_t main_pid, r;
	int st, sig, code = 0;
	size_t i;

	prctl(PR_SET_NAME, "vxcr-init", 0, 0, 0);
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	for (i = 0; i < ARRAY_SIZE(term); i++)
		sigaddset(&set, term[i]);
	sigprocmask(SIG_BLOCK, &set, &old);
	if (init_setup(a, rep))
		_exit(127);
	main_pid = a->argv ? fork() : -2;
	if (main_pid == 0)
		run_main(a, rep, &old);
	if (main_pid == -1) {
		send_report(rep, -errno, 0, "cannot fork the main command: %s", strerror(errno));
		_exit(127);
	}
	close(rep);
	stdio_to_null();
	for (;;) {
		while ((r = waitpid(-1, &st, WNOHANG | __WALL)) > 0)
			if (r == main_pid)
				code = status_code(st);
		if (r < 0 && others_in_ctx(cgroup) <= 0 && !persistent(a->rundir, a->xid))
			_exit(code);
		sig = sigtimedwait(&set, NULL, &tick);
		if (sig > 0 && sig != SIGCHLD) {
			kill(-1, SIGKILL);
			while (waitpid(-1, &st, __WALL) > 0 || errno == EINTR)
				;
			_exit(128 + sig);
		}
	}
}

int64_t vxctx_clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* VIRT_UPTIME: a time namespace for our children whose clocks start at ~0
 * (whole seconds: the clocks inside start between 0 and 1 s). */
static int new_timens(void)
{
	int64_t mono = vxctx_clock_ns(CLOCK_MONOTONIC), boot = vxctx_clock_ns(CLOCK_BOOTTIME);

	return vxctx_timens(-(mono - mono % 1000000000LL), -(boot - boot % 1000000000LL));
}

int vxctx_timens(int64_t mono_off_ns, int64_t boot_off_ns)
{
	return timens_unshare(mono_off_ns, boot_off_ns);
}

/* Writes rundir/<xid>.exit = "code reboot_cmd", atomically. */
static void write_exit(const char *rundir, uint32_t xid, int code, uint32_t reboot_cmd)
{
	char name[32], buf[32];
	int n;

	snprintf(name, sizeof(name), "%u.exit", xid);
	n = snprintf(buf, sizeof(buf), "%d %#x\n", code, reboot_cmd);
	vxctx_rundir_put(rundir, name, buf, (size_t)n);
}

/* Clones the init into the cgroup and namespaces; returns its pid or -errno. */
static pid_t clone_init(const struct vxctx_create_args *a, const char *cgroup, int rep, int go)
{
	struct clone_args_v2 ca = { .exit_signal = SIGCHLD };
	_cleanup_close_ int cgfd = open(cgroup, O_PATH | O_DIRECTORY | O_CLOEXEC);
	pid_t pid;
	char c;

	if (cgfd < 0)
		return -errno;
	ca.flags = CLONE_NEWPID | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNS | CLONE_INTO_CGROUP;
	if (a->flags & VXCTX_F_HIDE_NETIF)
		ca.flags |= CLONE_NEWNET;
	ca.cgroup = (uint64_t)cgfd;
	pid = (pid_t)syscall(SYS_clone3, &ca, sizeof(ca));
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		close(cgfd); /* the init holds nothing of ours (a checkpoint keeps it) */
		/* wait until the record is written, or the supervisor gives up */
		if (read(go, &c, 1) != 1)
			_exit(127);
		close(go);
		run_init(a, cgroup, rep);
	}
	return pid;
}

/* The reboot command that ended a REBOOT_KILL context (init status st). */
static uint32_t reboot_cmd_of(const struct vxctx_create_args *a, int st)
{
	if (!(a->flags & VXCTX_F_REBOOT_KILL) || !WIFSIGNALED(st))
		return 0;
	if (WTERMSIG(st) == SIGHUP)
		return VXCTX_REBOOT_RESTART;
	return WTERMSIG(st) == SIGINT ? VXCTX_REBOOT_POWER_OFF : 0;
}

/* Inode of pid's pid namespace, 0 if unknown. */
static uint64_t pidns_of(pid_t pid)
{
	char path[64];
	struct stat st;

	snprintf(path, sizeof(path), "/proc/%d/ns/pid", pid);
	return stat(path, &st) ? 0 : (uint64_t)st.st_ino;
}

int vxctx_record_fill(const struct vxctx_create_args *a, const struct vxctx_groups *g, pid_t init,
		      struct vxctx_record *r)
{
	memset(r, 0, sizeof(*r));
	r->xid = a->xid;
	r->flags = a->flags;
	r->bcaps = a->bcaps;
	r->ccaps = a->ccaps;
	r->nproc = a->nproc;
	r->init_pid = init;
	r->init_start = vxctx_starttime(init);
	r->super_pid = getpid();
	r->super_start = vxctx_starttime(r->super_pid);
	r->pidns = vxctx_own_pidns();
	r->own_pidns = pidns_of(init);
	snprintf(r->cgroup, sizeof(r->cgroup), "%s", g->cgroup);
	snprintf(r->pids_cgroup, sizeof(r->pids_cgroup), "%s", g->pids);
	snprintf(r->net, sizeof(r->net), "%s", a->net ? a->net : "");
	snprintf(r->root, sizeof(r->root), "%s", a->root ? a->root : "");
	return 0;
}

/* After the init: exit code, record and groups gone; so are contexts
 * created inside (their supervisors died with our pid ns).  Never returns. */
static void __attribute__((noreturn))
supervise_end(const struct vxctx_create_args *a, const struct vxctx_groups *g, pid_t init)
{
	struct vxctx_record r;
	int st, lock, ret;

	while (waitpid(init, &st, 0) < 0 && errno == EINTR)
		;
	if (reboot_cmd_of(a, st))
		vxctx_cg_kill(g->cgroup); /* tasks outside its pid ns too */
	write_exit(a->rundir, a->xid, status_code(st), reboot_cmd_of(a, st));
	lock = vxctx_lock(a->rundir);
	ret = vxctx_record_read(a->rundir, a->xid, &r);
	if (!ret && r.init_pid == init) {
		vxctx_record_clean(a->rundir, &r);
	} else if (ret == -ENOENT) { /* ours was removed (a dump): the groups are left */
		vxctx_groups_remove(g);
		vxctx_self_remove(a->rundir, a->xid);
	} /* else a record of another init: the xid (and its groups) are a new context's */
	if (lock >= 0)
		close(lock);
	_exit(status_code(st));
}

void vxctx_supervise(const struct vxctx_create_args *a, const struct vxctx_groups *g, pid_t init)
{
	prctl(PR_SET_NAME, "vxcr-ctx", 0, 0, 0);
	stdio_to_null();
	supervise_end(a, g, init);
}

/* Puts the init (and the caller to join, if any) into the context's groups. */
static int join_groups(const struct vxctx_create_args *a, const struct vxctx_groups *g, pid_t init,
		       int rep)
{
	if ((g->pids[0] && vxctx_cg_join(g->pids, init)) || vxctx_limits_join(a->xid, init)) {
		send_report(rep, -EPERM, 0, "cannot add the init to its pids or limit groups: %s",
			    vxcr_last_error());
		return -1;
	}
	if (!a->argv && a->join_pid > 0 &&
	    (vxctx_cg_join(g->cgroup, a->join_pid) ||
	     (g->pids[0] && vxctx_cg_join(g->pids, a->join_pid)) ||
	     vxctx_limits_join(a->xid, a->join_pid))) {
		send_report(rep, -EPERM, 0, "cannot add pid %d to the context's groups: %s",
			    a->join_pid, vxcr_last_error());
		return -1;
	}
	return 0;
}

/* The supervisor.  Never returns. */
static void __attribute__((noreturn))
supervise(const struct vxctx_create_args *a, const struct vxctx_groups *g, int rep)
{
	struct vxctx_record r;
	int go[2], st, ret;
	pid_t init;

	setsid();
	prctl(PR_SET_NAME, "vxcr-ctx", 0, 0, 0);
	signal(SIGHUP, SIG_IGN);
	signal(SIGINT, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	if ((a->flags & VXCTX_F_VIRT_UPTIME) && (ret = new_timens())) {
		send_report(rep, ret, 0, "VIRT_UPTIME: cannot make a time namespace: %s",
			    strerror(-ret));
		_exit(127);
	}
	if (pipe2(go, O_CLOEXEC)) {
		send_report(rep, -errno, 0, "pipe: %s", strerror(errno));
		_exit(127);
	}
	init = clone_init(a, g->cgroup, rep, go[0]);
	if (init < 0) {
		send_report(rep, init, 0, "cannot clone the context's init: %s", strerror(-init));
		_exit(127);
	}
	close(go[0]);
	vxctx_record_fill(a, g, init, &r);
	ret = join_groups(a, g, init, rep);
	if (!ret && a->net && (ret = vxctx_net_setup(a, init)))
		send_report(rep, ret, 0, "context %u: --net %s: %s", a->xid, a->net,
			    vxcr_last_error());
	if (!ret) {
		ret = vxctx_record_write(a->rundir, &r);
		if (ret)
			send_report(rep, ret, 0, "cannot write the record of context %u: %s",
				    a->xid, vxcr_last_error());
	}
	if (ret) {
		kill(init, SIGKILL);
		waitpid(init, &st, 0);
		_exit(127);
	}
	send_report(rep, 0, init, "ok");
	close(rep);
	if (write(go[1], "g", 1) != 1)
		kill(init, SIGKILL);
	close(go[1]);
	stdio_to_null();
	supervise_end(a, g, init);
}

/* Checks arguments; picks a free xid for VXCTX_XID_DYNAMIC. Under the lock. */
static int pick_xid(const char *rundir, uint32_t want, uint32_t *xid)
{
	struct vxctx_record r;
	uint32_t x;
	int ret, st;

	if (want != VXCTX_XID_DYNAMIC) {
		if (want < VXCTX_XID_MIN || want > VXCTX_XID_MAX) {
			pr_err("xid %u out of range (%d..%d)\n", want, VXCTX_XID_MIN,
			       VXCTX_XID_MAX);
			return -EINVAL;
		}
		ret = vxctx_record_read(rundir, want, &r);
		st = ret == -ENOENT ? VXCTX_REC_STALE :
		     ret	    ? VXCTX_REC_FORGED :
				      vxctx_record_state(&r);
		if (st == VXCTX_REC_LIVE) {
			pr_err("context %u already exists (init %d)\n", want, r.init_pid);
			return -EEXIST;
		}
		if (st == VXCTX_REC_FORGED) {
			pr_err("context %u: its record is not one we can trust (see above): "
			       "remove it by hand\n",
			       want);
			return -EBUSY;
		}
		if (!ret)
			vxctx_record_clean(rundir, &r);
		*xid = want;
		return 0;
	}
	for (x = 49152; x <= VXCTX_XID_MAX; x++) {
		ret = vxctx_record_read(rundir, x, &r);
		if (ret == -ENOENT)
			break;
		if (!ret && vxctx_record_state(&r) == VXCTX_REC_STALE) {
			vxctx_record_clean(rundir, &r);
			break;
		}
	}
	if (x > VXCTX_XID_MAX) {
		pr_err("no free dynamic xid\n");
		return -EAGAIN;
	}
	*xid = x;
	return 0;
}

int vxctx_xid_claim(const char *rundir, uint32_t xid)
{
	uint32_t x;

	return pick_xid(rundir, xid, &x);
}

static int check_args(const struct vxctx_create_args *a)
{
	char names[256];

	if (!a || (a->argv && !a->argv[0]) || (!a->argv && a->join_pid <= 0)) {
		pr_err("create: no command to run in the context\n");
		return -EINVAL;
	}
	if (a->flags & ~VXCTX_F_SUPPORTED) {
		vxctx_flag_format(a->flags & ~VXCTX_F_SUPPORTED, names, sizeof(names));
		pr_err("flags %s (0x%llx) not supported by the userspace engine\n", names,
		       (unsigned long long)(a->flags & ~VXCTX_F_SUPPORTED));
		return -ENOTTY;
	}
	if (a->ccaps & ~VXCTX_C_ALL) {
		pr_err("unknown context caps 0x%llx\n",
		       (unsigned long long)(a->ccaps & ~VXCTX_C_ALL));
		return -EINVAL;
	}
	if ((a->hostname && strlen(a->hostname) > 64) ||
	    (a->domainname && strlen(a->domainname) > 64)) {
		pr_err("hostname or domainname longer than 64 bytes\n");
		return -EINVAL;
	}
	if (a->net && vxctx_net_check(a))
		return -EINVAL;
	if (a->root && vxctx_root_check(a->root))
		return -EINVAL;
	if ((a->flags & VXCTX_F_INFO_NPROC) && !a->nproc) {
		pr_err("INFO_NPROC needs a task limit (vxcr ctx create --nproc N)\n");
		return -EINVAL;
	}
	if (!(a->flags & VXCTX_F_INFO_NPROC) && a->nproc) {
		pr_err("a task limit (nproc %llu) needs the INFO_NPROC flag\n",
		       (unsigned long long)a->nproc);
		return -EINVAL;
	}
	return 0;
}

/* PROLIFIC: a caller inside a context may create one only if that context
 * allows it, and lets the new init mount its /proc (and set its uname). */
static int check_nesting(const struct vxctx_create_args *a)
{
	struct vxctx_record parent;
	uint32_t px;
	int ret;

	if (vxctx_task_xid(a->rundir, 0, &px) || px == 0)
		return 0;
	ret = vxctx_record_read(a->rundir, px, &parent);
	if (ret) {
		pr_err("creating a context from inside context %u, whose record is not in %s: "
		       "cannot check PROLIFIC\n",
		       px, vxctx_rundir(a->rundir));
		return -EPERM;
	}
	if (!(parent.flags & VXCTX_F_PROLIFIC)) {
		pr_err("context %u may not create contexts: it lacks the PROLIFIC flag\n", px);
		return -EPERM;
	}
	if (!(parent.ccaps & (VXCTX_C_SECURE_MOUNT | VXCTX_C_BINARY_MOUNT))) {
		pr_err("context %u is PROLIFIC but lacks SECURE_MOUNT: a nested context's init "
		       "mounts its /proc\n",
		       px);
		return -EPERM;
	}
	if (!(parent.bcaps & (1ULL << 21))) {
		pr_err("context %u is PROLIFIC but lacks SYS_ADMIN in its bounding set: a nested "
		       "context needs namespaces (create it with --bcaps all)\n",
		       px);
		return -EPERM;
	}
	if ((a->hostname || a->domainname) && !(parent.ccaps & VXCTX_C_SET_UTSNAME)) {
		pr_err("context %u lacks SET_UTSNAME: a nested context cannot get a hostname\n",
		       px);
		return -EPERM;
	}
	return 0;
}

/* The context's groups: v2, plus the pids limit (INFO_NPROC). */
int vxctx_groups_make(const struct vxctx_create_args *a, struct vxctx_groups *g)
{
	int ret;

	g->pids[0] = 0;
	g->xid = a->xid;
	ret = vxctx_cg_create(a->xid, g->cgroup, sizeof(g->cgroup));
	if (ret)
		return ret;
	if (a->flags & VXCTX_F_INFO_NPROC)
		ret = vxctx_pids_setup(a->xid, g->cgroup, a->nproc, g->pids, sizeof(g->pids));
	ret = ret ?: vxctx_limits_setup(a->xid, g->cgroup, a->limits);
	if (ret)
		vxctx_groups_remove(g);
	return ret;
}

void vxctx_groups_remove(const struct vxctx_groups *g)
{
	vxctx_cg_remove(g->cgroup);
	if (g->pids[0])
		vxctx_cg_remove(g->pids);
	vxctx_limits_remove(g->xid);
}

/* Reads the reports until EOF; returns the first error (ours now) or 0. */
static int read_reports(int fd, uint32_t xid, pid_t *init)
{
	int ret = 0, r;
	pid_t pid;

	*init = 0;
	while ((r = report_recv(fd, &pid, sizeof(pid))) != 1) {
		if (r < 0 && !ret) {
			pr_err("context %u: %s\n", xid, err_current()->msg);
			err_wrap("context %u", xid);
			ret = r;
		} else if (!r) {
			*init = pid;
		}
	}
	if (!ret && !*init) {
		pr_err("context %u: the supervisor died before starting the init\n", xid);
		ret = -ECHILD;
	}
	return ret;
}

int vxctx_create(const struct vxctx_create_args *args, uint32_t *xid_out, pid_t *init_pid)
{
	struct vxctx_create_args a;
	struct vxctx_groups g;
	char path[PATH_MAX];
	int rep[2], lock, ret, st;
	pid_t mid, init = 0;

	ret = check_args(args);
	if (!ret)
		ret = check_nesting(args);
	if (ret)
		return ret;
	a = *args;
	lock = vxctx_lock(a.rundir);
	if (lock < 0)
		return lock;
	ret = pick_xid(a.rundir, args->xid, &a.xid);
	if (ret)
		goto out_unlock;
	snprintf(path, sizeof(path), "%u.exit", a.xid);
	vxctx_rundir_unlink(a.rundir, path);
	ret = vxctx_groups_make(&a, &g);
	if (ret)
		goto out_unlock;
	if (pipe2(rep, O_CLOEXEC)) {
		ret = -errno;
		goto out_rmcg;
	}
	fflush(NULL);
	mid = fork();
	if (mid == 0) {
		/* keep stdio and the report pipe (as fd 3): nothing else leaks in */
		if (dup2(rep[1], 3) != 3)
			_exit(1);
		fcntl(3, F_SETFD, FD_CLOEXEC);
		syscall(SYS_close_range, 4, ~0U, 0);
		if (fork() == 0)
			supervise(&a, &g, 3);
		_exit(0);
	}
	close(rep[1]);
	if (mid < 0) {
		ret = -errno;
		pr_perror("context %u: fork", a.xid);
		close(rep[0]);
		goto out_rmcg;
	}
	waitpid(mid, &st, 0);
	ret = read_reports(rep[0], a.xid, &init);
	close(rep[0]);
	if (ret && !init)
		goto out_rmcg; /* no init: nothing but the cgroup to undo */
	if (xid_out)
		*xid_out = a.xid;
	if (init_pid)
		*init_pid = init;
	goto out_unlock; /* exec failed: the context ends by itself */

out_rmcg:
	vxctx_groups_remove(&g);
out_unlock:
	close(lock);
	return ret;
}
