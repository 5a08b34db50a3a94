/*
 * Freezing and releasing one thread: checks that the root pid can be
 * dumped, PTRACE_SEIZE + PTRACE_INTERRUPT, job-control stop handling,
 * detach/kill.  tree.c drives these over every thread of the tree.
 */
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ptrace.h>
#include <sys/wait.h>

#define LOG_PREFIX "dump/seize: "
#include "log.h"
#include "dump/dump.h"

#define SEIZE_MAX_SIGNALS 64   /* signal-delivery stops let through while freezing */
#define STOP_VFORK_CHECK_MS 50 /* not stopped by then: look for a vfork child */
#define STOP_TIMEOUT_MS 10000  /* not stopped by then: refuse */

const struct proc_status *thread_status(struct dump_task *t, struct dump_thread *th)
{
	int ret;

	if (th == &t->threads[0])
		return &t->status; /* read once the tree was frozen */
	if (!th->has_status) {
		ret = proc_read_status(th->tid, &th->status);
		if (ret) {
			pr_err("tid %d (pid %d): cannot read its status: %s\n", th->tid, t->pid,
			       strerror(-ret));
			return NULL;
		}
		th->has_status = true;
	}
	return &th->status;
}

/* True if pid is the caller or one of its ancestors. */
static bool is_self_or_ancestor(pid_t pid)
{
	struct proc_stat st;
	pid_t p = getpid();
	int depth;

	for (depth = 0; p > 0 && depth < 4096; depth++) {
		if (p == pid)
			return true;
		if (proc_read_stat(p, &st))
			return false;
		p = st.ppid;
	}
	return false;
}

/* Refuses a root pid that cannot be dumped.  Returns 0 or -errno (logged). */
int dump_check_target(pid_t pid)
{
	struct proc_status s;
	struct proc_stat st;
	int ret;

	if (pid <= 0 || proc_read_stat(pid, &st) || proc_read_status(pid, &s)) {
		pr_err("pid %d: no such process\n", pid);
		return -ESRCH;
	}
	ret = -EINVAL;
	if (s.tgid != pid)
		pr_err("pid %d is a thread of process %d: dump the process\n", pid, s.tgid);
	else if (s.kthread || (st.flags & PROC_PF_KTHREAD))
		pr_err("pid %d (%s) is a kernel thread\n", pid, st.comm);
	else if ((st.state == 'Z' || st.state == 'X') && s.threads > 1)
		pr_err("pid %d (%s): the thread group leader exited while other threads run: not supported\n",
		       pid, st.comm);
	else if (st.state == 'Z' || st.state == 'X')
		pr_err("pid %d (%s) is a zombie\n", pid, st.comm);
	else if (is_self_or_ancestor(pid))
		pr_err("pid %d (%s) is the dumper itself or one of its ancestors\n", pid, st.comm);
	else if (s.tracer_pid)
		pr_err("pid %d (%s) is already traced by pid %d\n", pid, st.comm, s.tracer_pid);
	else
		ret = 0;
	proc_status_free(&s);
	return ret;
}

static bool is_stop_signal(int sig)
{
	return sig == SIGSTOP || sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU;
}

static void sleep_us(long us)
{
	struct timespec ts = { 0, us * 1000 };

	nanosleep(&ts, NULL);
}

/*
 * One waitpid for th: blocking, or polling until the deadline.  Returns the
 * pid, 0 when nothing came yet (wflags WNOHANG), or -errno (logged).
 */
static pid_t wait_once(struct dump_thread *th, int *status, int wflags)
{
	pid_t r;

	do {
		r = waitpid(th->tid, status, __WALL | wflags);
	} while (r < 0 && errno == EINTR);
	if (r < 0) {
		pr_perror("pid %d: waitpid", th->tid);
		return -errno;
	}
	return r;
}

/*
 * Polls for the next ptrace report of th for up to STOP_TIMEOUT_MS; a
 * thread that does not stop quickly may be a vfork parent (it sleeps
 * uninterruptibly until its child execs or exits), which is refused.
 * Returns as wait_once(), -ETIMEDOUT (logged) when nothing came.
 */
static pid_t wait_polling(struct dump_task *t, struct dump_thread *th, int *status)
{
	uint64_t start = dump_now_ns(), ms;
	bool vfork_checked = false;
	unsigned spins = 0;
	pid_t r;
	int ret;

	for (;;) {
		r = wait_once(th, status, WNOHANG);
		if (r)
			return r;
		ms = (dump_now_ns() - start) / 1000000;
		if (ms >= STOP_VFORK_CHECK_MS && !vfork_checked) {
			vfork_checked = true;
			ret = dump_tree_check_vfork(t->pid, th->tid);
			if (ret)
				return ret;
		}
		if (ms >= STOP_TIMEOUT_MS) {
			pr_err("pid %d (thread %d) did not stop within %d s (uninterruptible sleep?)\n",
			       t->pid, th->tid, STOP_TIMEOUT_MS / 1000);
			return -ETIMEDOUT;
		}
		if (++spins < 64)
			sched_yield();
		else
			sleep_us(spins < 1000 ? 100 : 1000);
	}
}

/*
 * Waits for the PTRACE_EVENT_STOP of th.  Signals that arrive meanwhile
 * (signal-delivery-stops) are delivered, not lost.  A group-stop report
 * (stop signal instead of SIGTRAP) marks the thread job-control stopped.
 * Returns 0 stopped, 1 nothing yet (first_nohang), 2 the thread exited,
 * or -errno (logged).
 */
static int wait_event_stop(struct dump_task *t, struct dump_thread *th, bool first_nohang)
{
	int status, i, sig;
	pid_t r;

	for (i = 0; i < SEIZE_MAX_SIGNALS; i++) {
		r = first_nohang ? wait_once(th, &status, WNOHANG) : wait_polling(t, th, &status);
		if (r < 0)
			return r;
		if (r == 0)
			return 1;
		if (!WIFSTOPPED(status)) {
			th->seized = false; /* gone: the kernel detached it */
			return 2;
		}
		sig = WSTOPSIG(status);
		if ((status >> 16) == PTRACE_EVENT_STOP) {
			th->group_stopped = is_stop_signal(sig);
			th->stop_sig = th->group_stopped ? sig : 0;
			th->stopped = true;
			return 0;
		}
		if (ptrace(PTRACE_CONT, th->tid, 0, (void *)(long)sig)) {
			if (errno == ESRCH)
				continue; /* killed meanwhile: its exit is next */
			pr_perror("pid %d: cannot resume to deliver signal %d", th->tid, sig);
			return -errno;
		}
		/* polling (first_nohang) goes on: nothing yet means interrupt */
	}
	pr_err("pid %d: too many signals while freezing\n", th->tid);
	return -EAGAIN;
}

/* Why PTRACE_SEIZE failed: 1 if the thread is gone or exiting, else -errno. */
static int seize_failed(struct dump_task *t, struct dump_thread *th, int err)
{
	struct proc_status s;
	char name[48], *text;
	int ret;

	snprintf(name, sizeof(name), "task/%d/status", th->tid);
	if (err == ESRCH || proc_read_file(t->pid, name, &text, NULL))
		return 1;
	ret = proc_parse_status(text, &s);
	free(text);
	if (ret)
		return 1;
	ret = -err;
	if (s.state == 'Z' || s.state == 'X')
		ret = 1;
	else if (s.tracer_pid)
		pr_err("pid %d (thread %d) is already traced by pid %d\n", t->pid, th->tid,
		       s.tracer_pid);
	else
		pr_err("pid %d (thread %d): cannot seize: %s\n", t->pid, th->tid, strerror(err));
	proc_status_free(&s);
	return ret;
}

/*
 * A vfork parent sleeps (state D) until its child execs or exits and would
 * not stop: refuse it before seizing.  0 or -EOPNOTSUPP (logged).
 */
static int check_vfork_parent(struct dump_task *t, struct dump_thread *th)
{
	char name[48], *text, *p;
	int ret;

	snprintf(name, sizeof(name), "task/%d/stat", th->tid);
	if (proc_read_file(t->pid, name, &text, NULL))
		return 0;
	p = strrchr(text, ')');
	ret = p && p[1] == ' ' && p[2] == 'D' ? dump_tree_check_vfork(t->pid, th->tid) : 0;
	free(text);
	return ret;
}

/*
 * An io_uring kernel thread (PF_IO_WORKER: an SQPOLL thread "iou-sqp-PID"
 * or an io-wq worker "iou-wrk-PID") is a thread of its process that never
 * stops for ptrace: seizing it would wait forever.  It is there even when
 * the ring's fd is closed (a registered ring fd).  Refused before seizing
 * (NOTES "signalfd, timerfd, pidfd, pipe sizes, io_uring").  0/-EOPNOTSUPP.
 */
static int check_io_thread(struct dump_task *t, struct dump_thread *th)
{
	unsigned long long flags = 0;
	char name[48], *text, *p;
	int n = 0;

	snprintf(name, sizeof(name), "task/%d/stat", th->tid);
	if (proc_read_file(t->pid, name, &text, NULL))
		return 0;
	p = strrchr(text, ')');
	if (p)
		n = sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %llu", &flags);
	free(text);
	if (n != 1 || !(flags & PROC_PF_IO_WORKER))
		return 0;
	pr_err("pid %d (thread %d): an io_uring kernel thread (SQPOLL or io-wq worker): io_uring "
	       "instances are not supported\n",
	       t->pid, th->tid);
	return -EOPNOTSUPP;
}

/*
 * Seizes and stops thread th of t.  A thread already in group-stop is
 * trapped by PTRACE_SEIZE itself; it is not interrupted again, so no second
 * trap is left pending for the syscall injection.  Returns 0 (stopped),
 * 1 (the thread exited meanwhile: th->gone, nothing logged) or -errno
 * (logged); on failure the caller releases the whole tree.
 */
int seize_thread(struct dump_task *t, struct dump_thread *th)
{
	int ret;

	ret = check_vfork_parent(t, th) ?: check_io_thread(t, th);
	if (ret)
		return ret;
	if (ptrace(PTRACE_SEIZE, th->tid, 0, DUMP_TRACE_OPTS)) {
		ret = seize_failed(t, th, errno);
		th->gone = ret == 1;
		return ret;
	}
	th->seized = true;
	ret = wait_event_stop(t, th, true);
	if (ret == 1) {
		if (ptrace(PTRACE_INTERRUPT, th->tid, 0, 0) && errno != ESRCH) {
			ret = -errno;
			pr_perror("pid %d (thread %d): cannot interrupt", t->pid, th->tid);
			return ret;
		}
		ret = wait_event_stop(t, th, false);
	}
	if (ret == 2) {
		th->gone = true;
		return 1;
	}
	return ret;
}

/* Once the tree is frozen: stat, status and state of live t.  0 or -errno. */
int seize_read_state(struct dump_task *t)
{
	int ret;

	proc_status_free(&t->status);
	ret = proc_read_status(t->pid, &t->status);
	if (ret) {
		pr_err("pid %d: cannot read status: %s\n", t->pid, strerror(-ret));
		return ret;
	}
	ret = proc_read_stat(t->pid, &t->stat);
	if (ret) {
		pr_err("pid %d: cannot read stat: %s\n", t->pid, strerror(-ret));
		return ret;
	}
	t->state = t->threads[0].group_stopped ? TASK_STATE_STOPPED : TASK_STATE_ALIVE;
	return 0;
}

/*
 * Lets every thread of t go exactly as it was.  Registers were already put
 * back by the injection code; a job-control stopped task stays stopped
 * after the detach (the kernel re-enters group-stop).
 */
void release_task(struct dump_task *t)
{
	size_t i;

	for (i = 0; i < t->n_threads; i++) {
		struct dump_thread *th = &t->threads[i];

		if (!th->seized)
			continue;
		/*
		 * One that never stopped (refused while waiting) cannot be
		 * detached yet: the kernel does it when we exit.
		 */
		if (ptrace(PTRACE_DETACH, th->tid, 0, 0) && th->stopped)
			pr_warn("pid %d: detach: %s\n", th->tid, strerror(errno));
		th->seized = false;
		th->stopped = false;
	}
}

/* Sends SIGKILL to frozen t (its threads die with it); reap_task() follows. */
void kill_task(struct dump_task *t)
{
	if (!t->zombie && kill(t->pid, SIGKILL))
		pr_warn("pid %d: cannot kill: %s\n", t->pid, strerror(errno));
}

/* Collects the tracer-side exit of every seized thread of killed t. */
void reap_task(struct dump_task *t)
{
	size_t i;
	int status;
	pid_t r;

	for (i = t->n_threads; i-- > 0;) { /* the leader reports last */
		struct dump_thread *th = &t->threads[i];

		if (!th->seized)
			continue;
		do {
			r = waitpid(th->tid, &status, __WALL);
		} while ((r < 0 && errno == EINTR) ||
			 (r > 0 && !WIFEXITED(status) && !WIFSIGNALED(status)));
		th->seized = false;
	}
}
