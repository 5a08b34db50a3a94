/*
 * The helper process of vmad_dump and vmad_execdump (vmad/dump.h).  A
 * process cannot ptrace itself, so a helper does: the caller forks an
 * intermediate child, which forks the helper and exits; the caller reaps
 * the intermediate and the helper, orphaned, belongs to the nearest
 * subreaper (or init), which reaps it.  So the helper is never the caller's
 * child, never its zombie, never an ancestor of it (the dump refuses to
 * seize its own ancestors), and a dump of the caller alone never sees it.
 */
#define LOG_PREFIX "vmad: "
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <dirent.h>
#include <string.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#include "log.h"
#include "error.h"
#include "vmad/dump.h"

int vmadump_above_stdio(int fd)
{
	int nfd;

	if (fd > 2)
		return fd;
	nfd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	close(fd);
	return nfd;
}

int vmadump_self_threads(void)
{
	struct dirent *de;
	DIR *d = opendir("/proc/self/task");
	int n = 0;

	if (!d)
		return 1;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n ? n : 1;
}

static int open_pipe(int p[2])
{
	if (pipe2(p, O_CLOEXEC))
		return -errno;
	p[0] = vmadump_above_stdio(p[0]);
	p[1] = vmadump_above_stdio(p[1]);
	if (p[0] < 0 || p[1] < 0) {
		if (p[0] >= 0)
			close(p[0]);
		if (p[1] >= 0)
			close(p[1]);
		p[0] = p[1] = -1;
		return -EMFILE;
	}
	return 0;
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

void vmadump_helper_close(struct vmad_helper *h)
{
	close_fd(&h->res[0]);
	close_fd(&h->res[1]);
	close_fd(&h->go[0]);
	close_fd(&h->go[1]);
}

/* The intermediate child: forks the helper and exits (0, or the errno). */
static void __attribute__((noreturn)) intermediate(struct vmad_helper *h)
{
	pid_t pid = fork();

	if (pid == 0) {
		close(h->res[0]);
		close(h->go[1]);
		h->run(h->arg, h);
		_exit(0);
	}
	_exit(pid < 0 ? (errno & 0xff) : 0);
}

/* Reaps the intermediate child pid: 0, or -errno of its failed fork. */
static int reap_intermediate(pid_t pid)
{
	int status;
	pid_t r;

	do
		r = waitpid(pid, &status, 0);
	while (r < 0 && errno == EINTR);
	if (r < 0) /* SIGCHLD ignored: reaped by the kernel; the report tells */
		return 0;
	if (WIFEXITED(status) && !WEXITSTATUS(status))
		return 0;
	return WIFEXITED(status) ? -WEXITSTATUS(status) : -ECHILD;
}

/*
 * Takes back a signal sig that the caller's own action raised (the
 * intermediate's SIGCHLD, a write's SIGPIPE) unless one was pending before:
 * call with sig blocked, was_pending read before the action.
 */
static void take_back(int sig, bool was_pending)
{
	struct timespec zero = { 0, 0 };
	sigset_t one;

	if (was_pending)
		return;
	sigemptyset(&one);
	sigaddset(&one, sig);
	sigtimedwait(&one, NULL, &zero);
}

/* Whether sig is pending for the calling thread or its process. */
static bool pending(int sig)
{
	sigset_t set;

	sigpending(&set);
	return sigismember(&set, sig);
}

int vmadump_helper_start(struct vmad_helper *h)
{
	sigset_t chld, old;
	bool was_pending;
	pid_t pid;
	int ret;

	h->res[0] = h->res[1] = h->go[0] = h->go[1] = -1;
	ret = open_pipe(h->res) ?: open_pipe(h->go);
	if (ret) {
		vmadump_helper_close(h);
		err_set(ret, "vmad: cannot make the helper's pipes: %s", strerror(-ret));
		return ret;
	}
	/* the intermediate's SIGCHLD is ours to take back, not the program's */
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	sigprocmask(SIG_BLOCK, &chld, &old);
	was_pending = pending(SIGCHLD);
	pid = fork();
	if (pid == 0)
		intermediate(h);
	ret = pid < 0 ? -errno : reap_intermediate(pid);
	if (pid > 0)
		take_back(SIGCHLD, was_pending);
	sigprocmask(SIG_SETMASK, &old, NULL);
	close_fd(&h->res[1]);
	close_fd(&h->go[0]);
	if (ret) {
		vmadump_helper_close(h);
		err_set(ret, "vmad: cannot fork the helper process: %s", strerror(-ret));
	}
	return ret;
}

int vmadump_helper_go(struct vmad_helper *h)
{
	sigset_t pipe_set, old;
	bool was_pending;
	ssize_t n;

	/* a helper gone already: EPIPE, and no SIGPIPE left for the caller */
	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	sigprocmask(SIG_BLOCK, &pipe_set, &old);
	was_pending = pending(SIGPIPE);
	do
		n = write(h->go[1], "g", 1);
	while (n < 0 && errno == EINTR);
	if (n != 1)
		take_back(SIGPIPE, was_pending);
	sigprocmask(SIG_SETMASK, &old, NULL);
	if (n == 1)
		return 0;
	err_set(-EPIPE, "vmad: the helper process is gone before it started");
	return -EPIPE;
}

int vmadump_helper_wait_go(const struct vmad_helper *h)
{
	struct sigaction dfl;
	sigset_t none;
	ssize_t n;
	char c;
	int sig;

	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	for (sig = 1; sig < NSIG; sig++)
		sigaction(sig, &dfl, NULL); /* no handler of the caller's runs here */
	signal(SIGPIPE, SIG_IGN);	    /* a closed image pipe is an error, not death */
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	prctl(PR_SET_NAME, "vmad-dump");
	err_clear();
	do
		n = read(h->go[0], &c, 1);
	while (n < 0 && errno == EINTR);
	return n == 1;
}

/* The first object the dump refuses, kept as its one line (opts.refused). */
static void keep_first_refusal(const char *line, void *arg)
{
	char *buf = arg;

	if (!buf[0])
		snprintf(buf, VMAD_REFUSAL_LEN, "%s", line);
}

int vmadump_target(pid_t pid, int fd, struct vxcr_dump_opts *o, struct vxcr_dump_stats *st)
{
	char refusal[VMAD_REFUSAL_LEN] = "";
	int ret;

	o->refused = keep_first_refusal;
	o->refused_arg = refusal;
	ret = vxcr_dump(pid, fd, o, st);
	if (ret == -EOPNOTSUPP && refusal[0]) { /* the object, not the summary */
		err_clear();
		err_set(ret, "%s", refusal);
	}
	return ret;
}
