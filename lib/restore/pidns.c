/*
 * vxrestore --pidns: the tree is restored inside a new PID namespace, where
 * every recorded pid is free.  We fork the namespace's init (clone3 with
 * CLONE_NEWPID | CLONE_NEWNS); it mounts a /proc of the new namespace on a
 * slave copy of our mounts (so /proc/PID means its pids), runs the whole
 * restore there (the root becomes its child, pid as recorded), reports the
 * outcome over a pipe and then stays as init: it reaps whatever the tree
 * leaves behind and exits with the root's status once the namespace is
 * empty.  If we die before the report, it dies with the namespace.
 */
#define LOG_PREFIX "restore/pidns: "
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "log.h"
#include "util/clone3.h"
#include "util/report.h"
#include "restore/restore.h"

/* What the init reports besides its result. */
struct ns_report {
	pid_t pid; /* root, as the namespace sees it */
	uint64_t total_ns;
	uint64_t pages;
};

static bool in_ns_child;

bool restore_in_pidns(void)
{
	return in_ns_child;
}

/* Init: waits for everything; exits with the root's status. */
static void __attribute__((noreturn)) be_init(pid_t root)
{
	int status, code = 0;
	pid_t r;

	syscall(SYS_close_range, 0, ~0U, 0);
	for (;;) {
		r = waitpid(-1, &status, __WALL);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			break;
		if (r == root)
			code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	}
	_exit(code);
}

static void __attribute__((noreturn)) ns_child(int fd, const struct vxcr_restore_opts *o, int wr)
{
	struct vxcr_restore_opts inner = *o;
	struct vxcr_restore_stats st = { 0 };
	struct ns_report rep = { 0 };
	int ret;

	/* our parent is outside the namespace: getppid() says 0 while it lives */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) || getppid() != 0)
		_exit(1);
	err_clear(); /* ours to report: what fails from here on */
	inner.pidns = false;
	in_ns_child = true;
	if (mount(NULL, "/", NULL, MS_SLAVE | MS_REC, NULL) ||
	    mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL)) {
		pr_perror("new PID namespace: cannot mount its /proc");
		ret = -errno;
	} else {
		ret = vxcr_restore(fd, &inner, &rep.pid, &st);
	}
	rep.total_ns = st.total_ns;
	rep.pages = st.pages_restored;
	if (!ret)
		prctl(PR_SET_PDEATHSIG, 0); /* before the report: our parent may exit at once */
	if (report_send(wr, ret, &rep, sizeof(rep)))
		_exit(1);
	be_init(rep.pid);
}

/* The only child of init: the restored root, by our pid numbering. */
static pid_t root_seen_from_here(pid_t init)
{
	char path[64];
	FILE *f;
	int pid = -1;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/children", init, init);
	f = fopen(path, "re");
	if (!f)
		return -1;
	if (fscanf(f, "%d", &pid) != 1)
		pid = -1;
	fclose(f);
	return pid;
}

int restore_pidns(int fd, const struct vxcr_restore_opts *o, pid_t *pid,
		  struct vxcr_restore_stats *st)
{
	struct vxcr_clone_args ca = { .flags = CLONE_NEWPID | CLONE_NEWNS, .exit_signal = SIGCHLD };
	struct ns_report rep;
	int p[2], ret;
	long r;

	if (pipe2(p, O_CLOEXEC)) {
		pr_perror("pipe");
		return -errno;
	}
	fflush(NULL);
	r = vxcr_clone3(&ca);
	if (r < 0) {
		ret = -errno;
		pr_err("cannot create a PID namespace: %s\n", strerror(errno));
		close(p[0]);
		close(p[1]);
		return ret;
	}
	if (r == 0) {
		close(p[0]);
		ns_child(fd, o, p[1]);
	}
	close(p[1]);
	ret = report_recv(p[0], &rep, sizeof(rep));
	close(p[0]);
	if (ret) {
		if (ret > 0)
			pr_err("the new PID namespace's init died during the restore\n");
		waitpid(r, NULL, 0);
		return ret > 0 ? -ECHILD : ret;
	}
	*pid = root_seen_from_here(r);
	if (*pid < 0) {
		pr_err("restored tree in the new PID namespace is gone already\n");
		*pid = r;
	}
	if (st) {
		st->total_ns = rep.total_ns;
		st->pages_restored = rep.pages;
		st->ns_init = r;
	}
	pr_info("pid %d of the new PID namespace is pid %d here (init %ld)\n", rep.pid, *pid, r);
	return 0;
}
