/*
 * Helpers for the test programs made of several processes or threads
 * (tree-*.c, thread-*.c, shared-*.c, timers.c), on top of prog.h.
 *
 * Members of a process tree report to the root over pipes created before
 * the dump, with fixed-size messages (struct tree_msg, smaller than
 * PIPE_BUF, so writes from several members never interleave): READY once
 * their state is set up, then PASS or FAIL with a reason after "go".  The
 * root writes "ready" to OUTFILE only when every member is ready, and PASS
 * only if every member passed.  Members never write PASS/FAIL to OUTFILE.
 *
 * Note: the Makefile rebuilds a program when its .c or prog.h changes, not
 * when this file does; touch the programs after editing it.
 */
#ifndef VXCR_TEST_TREE_H
#define VXCR_TEST_TREE_H

#include <poll.h>
#include <time.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include "prog.h"

enum { TREE_READY = 1, TREE_PASS = 2, TREE_FAIL = 3 };

struct tree_msg {
	int32_t kind;
	int32_t pid;
	char why[248];
};

/* Milliseconds on CLOCK_MONOTONIC. */
static inline long long tree_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static inline void tree_sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/* Sends one message (kind, our pid, reason) on fd; returns 0 or -1. */
__attribute__((format(printf, 3, 4))) static inline int tree_send(int fd, int kind,
								     const char *fmt, ...)
{
	struct tree_msg m;
	va_list ap;

	memset(&m, 0, sizeof(m));
	m.kind = kind;
	m.pid = getpid();
	va_start(ap, fmt);
	vsnprintf(m.why, sizeof(m.why), fmt, ap);
	va_end(ap);
	return write(fd, &m, sizeof(m)) == (ssize_t)sizeof(m) ? 0 : -1;
}

/* Sends READY on fd or exits. */
static inline void tree_send_ready(int fd)
{
	if (tree_send(fd, TREE_READY, "ready"))
		_exit(3);
}

/*
 * Sends the member's verdict (PASS, or FAIL with its first failed check)
 * on fd and exits the member with 0 or 1.
 */
__attribute__((noreturn)) static inline void tree_member_finish(int fd)
{
	if (prog_failure[0])
		tree_send(fd, TREE_FAIL, "%s", prog_failure);
	else
		tree_send(fd, TREE_PASS, "ok");
	_exit(prog_failure[0] ? 1 : 0);
}

/*
 * Reads messages from fds[0..nfds) until `want` messages have arrived or
 * timeout_ms passed.  READY messages count when results == 0, PASS/FAIL
 * when results != 0; a FAIL is recorded as a failed check naming the pid.
 * Every message is also forwarded to fwd when fwd >= 0 (a middle node
 * passing its subtree's messages up).  Pids of the counted messages go to
 * pids[] when it is not NULL.  Returns the number of counted messages.
 */
static inline int tree_collect(const int *fds, int nfds, int want, int results,
			       int timeout_ms, int fwd, pid_t *pids)
{
	long long end = tree_now_ms() + timeout_ms;
	struct pollfd pfd[256];
	struct tree_msg m;
	int i, got = 0, open_fds = nfds;

	for (i = 0; i < nfds && i < 256; i++)
		pfd[i] = (struct pollfd){ .fd = fds[i], .events = POLLIN };
	while (got < want && open_fds > 0) {
		long long left = end - tree_now_ms();

		if (left <= 0)
			break;
		if (poll(pfd, nfds, (int)left) < 0) {
			if (errno == EINTR)
				continue;
			prog_fail("poll: %s", strerror(errno));
		}
		for (i = 0; i < nfds; i++) {
			ssize_t n;

			if (!(pfd[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			n = read(pfd[i].fd, &m, sizeof(m));
			if (n <= 0) {
				if (n < 0 && errno == EINTR)
					continue;
				pfd[i].fd = -1;	/* every writer gone */
				open_fds--;
				continue;
			}
			if (n != sizeof(m)) {
				prog_record_failure("short message (%zd bytes) from a member", n);
				continue;
			}
			if (fwd >= 0 && write(fwd, &m, sizeof(m)) != sizeof(m))
				prog_record_failure("forwarding message of %d: %s", m.pid,
						    strerror(errno));
			if (!results && m.kind != TREE_READY) {
				prog_record_failure("member %d: %s before ready", m.pid,
						    m.kind == TREE_FAIL ? m.why : "PASS");
				continue;
			}
			if (results && m.kind == TREE_READY)
				continue;
			if (m.kind == TREE_FAIL)
				prog_record_failure("member %d: %s", m.pid, m.why);
			if (pids && got < want)
				pids[got] = m.pid;
			got++;
		}
	}
	return got;
}

/*
 * Counts in *counter (and its complement in *shadow) every step_ms until
 * "go" (SIGUSR1, handled by prog.h) arrives, writing a "count N" line every
 * say_every counts if say_every > 0.  SIGUSR1 is unblocked only while
 * waiting and blocked again on return.
 */
static inline void tree_count_until_go(volatile uint64_t *counter, volatile uint64_t *shadow,
				       int step_ms, uint64_t say_every)
{
	struct timespec step = { 0, step_ms * 1000000L };
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
	while (!prog_go) {
		(*counter)++;
		*shadow = ~*counter;
		if (say_every && *counter % say_every == 0)
			prog_say("count %llu\n", (unsigned long long)*counter);
		nanosleep(&step, NULL);
	}
	sigprocmask(SIG_BLOCK, &set, NULL);
}

/*
 * After "go": checks the counter went past its value at ready time (it
 * counted across the dump), agrees with its shadow, and still counts.
 */
static inline void tree_check_counter(volatile uint64_t *counter, volatile uint64_t *shadow,
				      uint64_t at_ready, const char *who)
{
	uint64_t c = *counter;
	int i;

	CHECK(c > at_ready, "%s: counter %llu not above %llu at ready", who,
	      (unsigned long long)c, (unsigned long long)at_ready);
	CHECK(*shadow == ~c, "%s: counter %llu and shadow %#llx disagree", who,
	      (unsigned long long)c, (unsigned long long)*shadow);
	for (i = 0; i < 10; i++) {
		(*counter)++;
		*shadow = ~*counter;
		tree_sleep_ms(1);
	}
	CHECK(*counter == c + 10, "%s: counter %llu after 10 steps from %llu", who,
	      (unsigned long long)*counter, (unsigned long long)c);
}

/*
 * Reads /proc/PID/stat: state, ppid, pgid, sid (any may be NULL).
 * Returns 0 or -1 when the process does not exist.
 */
static inline int tree_proc_stat(pid_t pid, char *state, pid_t *ppid, pid_t *pgid, pid_t *sid)
{
	char path[64], buf[1024], *p;
	int pp, pg, se;
	char st;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	if (prog_read_file(path, buf, sizeof(buf)) <= 0)
		return -1;
	p = strrchr(buf, ')');
	if (!p || sscanf(p + 1, " %c %d %d %d", &st, &pp, &pg, &se) != 4)
		return -1;
	if (state)
		*state = st;
	if (ppid)
		*ppid = pp;
	if (pgid)
		*pgid = pg;
	if (sid)
		*sid = se;
	return 0;
}

/* The state letter of thread tid of process pid ('?' if none). */
static inline char tree_task_state(pid_t pid, pid_t tid)
{
	char path[96], buf[1024], *p, st;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/stat", pid, tid);
	if (prog_read_file(path, buf, sizeof(buf)) <= 0)
		return '?';
	p = strrchr(buf, ')');
	if (!p || sscanf(p + 1, " %c", &st) != 1)
		return '?';
	return st;
}

/* Makes the calling child die with its parent (helps cleanup after a FAIL). */
static inline void tree_die_with_parent(pid_t parent)
{
	prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	if (getppid() != parent)
		_exit(4);
}

/* Kills pid by pid and reaps it if it is our child (cleanup on failure). */
static inline void tree_kill_reap(pid_t pid)
{
	if (pid <= 0)
		return;
	kill(pid, SIGKILL);
	waitpid(pid, NULL, __WALL);
}

#endif
