/*
 * subreaper: runs a test case as a child subreaper with a time limit.
 * Not a state-checking program like the others in this directory: it is the
 * small wrapper tests/run-all.sh and tests/integration/lib.sh run cases under,
 * because PID 1 on test machines may not reap orphans.
 *
 * Usage: subreaper [-t SECONDS] CMD [ARGS...]
 *
 * Reaps every orphan that lands on it.  When CMD exits (or the time limit
 * passes, after which CMD and its descendants are killed by pid), any
 * process still left on it is reported on stderr, killed by pid and reaped.
 * Exit status: CMD's (128+signal if killed), 124 on timeout.
 *
 * CMD gets fds 0-2 only: whatever else the caller holds (the shared build
 * lock of `flock LOCKFILE make check` on fd 3, say) would reach every
 * dumped target and be dumped with it (a flock shared with a process
 * outside the tree is refused).
 */
#include <dirent.h>
#include <stdbool.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include "prog.h"

static volatile sig_atomic_t timed_out;

static void on_alarm(int sig)
{
	(void)sig;
	timed_out = 1;
}

/* Reads the children of pid (all threads) into out; returns the count. */
static int children_of(pid_t pid, pid_t *out, int max)
{
	char path[320], buf[8192], *p, *end;
	struct dirent *e;
	int n = 0;
	DIR *dp;

	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	dp = opendir(path);
	if (!dp)
		return 0;
	while ((e = readdir(dp)) && n < max) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%s/children", pid, e->d_name);
		if (prog_read_file(path, buf, sizeof(buf)) <= 0)
			continue;
		for (p = buf; n < max; p = end) {
			long v = strtol(p, &end, 10);

			if (end == p)
				break;
			out[n++] = v;
		}
	}
	closedir(dp);
	return n;
}

/* Stops and kills pid and all its descendants, by pid, depth first. */
static void kill_tree(pid_t pid)
{
	pid_t kids[256];
	int i, n;

	kill(pid, SIGSTOP);
	n = children_of(pid, kids, 256);
	for (i = 0; i < n; i++)
		kill_tree(kids[i]);
	kill(pid, SIGKILL);
	kill(pid, SIGCONT);
}

static void describe(pid_t pid, char *comm, size_t len)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/comm", pid);
	if (prog_read_file(path, comm, len) <= 0)
		snprintf(comm, len, "?");
	comm[strcspn(comm, "\n")] = '\0';
}

/* "utime+stime" in clock ticks from the text after a stat line's ")". */
static const char *cpu_ticks(const char *after_comm)
{
	static char out[48];
	unsigned long ut, st;

	if (!after_comm ||
	    sscanf(after_comm, ") %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) !=
		    2)
		return "?";
	snprintf(out, sizeof(out), "%lu+%lu", ut, st);
	return out;
}

/* Prints where each thread of pid waits (state, wchan, kernel stack) on
 * stderr, so that a hang says where it hangs before it is killed. */
static void report_threads(pid_t pid)
{
	char path[320], buf[4096], wchan[128], comm[64];
	struct dirent *e;
	DIR *dp;

	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	dp = opendir(path);
	if (!dp)
		return;
	while ((e = readdir(dp))) {
		char *state;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%s/comm", pid, e->d_name);
		if (prog_read_file(path, comm, sizeof(comm)) <= 0)
			snprintf(comm, sizeof(comm), "?");
		comm[strcspn(comm, "\n")] = '\0';
		snprintf(path, sizeof(path), "/proc/%d/task/%s/wchan", pid, e->d_name);
		if (prog_read_file(path, wchan, sizeof(wchan)) <= 0)
			snprintf(wchan, sizeof(wchan), "?");
		snprintf(path, sizeof(path), "/proc/%d/task/%s/stat", pid, e->d_name);
		state = prog_read_file(path, buf, sizeof(buf)) > 0 ? strrchr(buf, ')') : NULL;
		fprintf(stderr, "subreaper:   %d/%s (%s) state %c wchan %s cpu %s\n", pid,
			e->d_name, comm, state && state[1] ? state[2] : '?', wchan,
			cpu_ticks(state));
		snprintf(path, sizeof(path), "/proc/%d/task/%s/syscall", pid, e->d_name);
		if (prog_read_file(path, buf, sizeof(buf)) > 0)
			fprintf(stderr, "subreaper:     syscall %s", buf);
		snprintf(path, sizeof(path), "/proc/%d/task/%s/stack", pid, e->d_name);
		if (prog_read_file(path, buf, sizeof(buf)) > 0)
			fprintf(stderr, "%s", buf);
	}
	closedir(dp);
}

/* Whether pid's main thread is running (R) or in uninterruptible sleep (D). */
static bool busy_or_stuck(pid_t pid)
{
	char path[64], buf[1024], *p;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	if (prog_read_file(path, buf, sizeof(buf)) <= 0)
		return false;
	p = strrchr(buf, ')');
	return p && p[1] && (p[2] == 'R' || p[2] == 'D');
}

/* The user-space backtraces of a vxcr process (comm vx*), or of one that
 * runs or sleeps uninterruptibly when the case timed out, by gdb if it is
 * installed: where our own code waits when a case hangs. */
static void report_backtrace(pid_t pid)
{
	char comm[64], spid[16];
	pid_t g;

	describe(pid, comm, sizeof(comm));
	if ((strncmp(comm, "vx", 2) && !busy_or_stuck(pid)) || access("/usr/bin/gdb", X_OK))
		return;
	snprintf(spid, sizeof(spid), "%d", pid);
	g = fork();
	if (g == 0) {
		dup2(STDERR_FILENO, STDOUT_FILENO);
		execl("/usr/bin/gdb", "gdb", "-batch", "-nx", "-p", spid, "-ex",
		      "thread apply all bt", (char *)NULL);
		_exit(127);
	}
	if (g > 0)
		waitpid(g, NULL, 0);
}

/* report_threads() of pid and all its descendants. */
static void report_tree(pid_t pid)
{
	pid_t kids[256];
	int i, n;

	report_threads(pid);
	report_backtrace(pid);
	n = children_of(pid, kids, 256);
	for (i = 0; i < n; i++)
		report_tree(kids[i]);
}

/* Kills whatever is still our child; returns how many there were. */
static int kill_leftovers(void)
{
	pid_t kids[256];
	char comm[64];
	int i, n, total = 0;

	while ((n = children_of(getpid(), kids, 256)) > 0) {
		for (i = 0; i < n; i++) {
			describe(kids[i], comm, sizeof(comm));
			fprintf(stderr, "subreaper: killing leftover process %d (%s)\n", kids[i],
				comm);
			report_tree(kids[i]);
			kill_tree(kids[i]);
		}
		while (waitpid(-1, NULL, __WALL) > 0)
			;
		total += n;
	}
	return total;
}

int main(int argc, char **argv)
{
	int opt, timeout = 0, status = 0, st;
	struct sigaction sa;
	pid_t cmd, pid;

	while ((opt = getopt(argc, argv, "+t:")) != -1) {
		if (opt != 't') {
			fprintf(stderr, "usage: subreaper [-t SECONDS] CMD [ARGS...]\n");
			return 2;
		}
		timeout = atoi(optarg);
	}
	if (optind >= argc) {
		fprintf(stderr, "usage: subreaper [-t SECONDS] CMD [ARGS...]\n");
		return 2;
	}
	if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)) {
		perror("subreaper: PR_SET_CHILD_SUBREAPER");
		return 1;
	}
	setenv("VX_SUBREAPER", "1", 1);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;
	sigaction(SIGALRM, &sa, NULL); /* no SA_RESTART: waitpid returns EINTR */

	cmd = fork();
	if (cmd < 0) {
		perror("subreaper: fork");
		return 1;
	}
	if (cmd == 0) {
		signal(SIGALRM, SIG_DFL);
		syscall(SYS_close_range, 3, ~0U, 0);
		execvp(argv[optind], argv + optind);
		fprintf(stderr, "subreaper: %s: %s\n", argv[optind], strerror(errno));
		_exit(127);
	}
	if (timeout > 0)
		alarm(timeout);
	for (;;) {
		pid = waitpid(-1, &st, __WALL);
		if (pid == cmd) {
			status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
			break;
		}
		if (pid < 0 && errno == EINTR && timed_out) {
			fprintf(stderr, "subreaper: %s: timed out after %d s\n", argv[optind],
				timeout);
			report_tree(cmd);
			kill_tree(cmd);
			waitpid(cmd, NULL, __WALL);
			status = 124;
			break;
		}
		if (pid < 0 && errno == ECHILD)
			break;
	}
	alarm(0);
	kill_leftovers();
	return status;
}
