/*
 * Freezing and releasing the target: checks that the pid can be dumped,
 * PTRACE_SEIZE + PTRACE_INTERRUPT, job-control stop handling, detach/kill.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ptrace.h>
#include <sys/wait.h>

#define LOG_PREFIX "seize: "
#include "log.h"
#include "dump/dump.h"

#define SEIZE_MAX_SIGNALS 64	/* signal-delivery stops let through while freezing */

static int read_stat(pid_t pid, struct proc_stat *st)
{
	char *text;
	int ret;

	ret = proc_read_file(pid, "stat", &text, NULL);
	if (ret)
		return ret;
	ret = proc_parse_stat(text, st);
	free(text);
	return ret;
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
		if (read_stat(p, &st))
			return false;
		p = st.ppid;
	}
	return false;
}

/*
 * Refuses a process with other threads or with children.  Called before
 * seizing (early, clear refusal) and once frozen (authoritative).
 */
static int check_alone(pid_t pid, const struct proc_status *s)
{
	char name[64], *text;
	int n;

	if (s->threads > 1) {
		pr_err("pid %d has %u threads: multi-threaded processes are not supported yet\n",
		       pid, s->threads);
		return -EOPNOTSUPP;
	}
	snprintf(name, sizeof(name), "task/%d/children", pid);
	if (proc_read_file(pid, name, &text, NULL))
		return 0;	/* no CONFIG_PROC_CHILDREN: nothing to check with */
	n = proc_count_pids(text);
	free(text);
	if (n > 0) {
		pr_err("pid %d has %d child process%s: process trees are not supported yet\n",
		       pid, n, n > 1 ? "es" : "");
		return -EOPNOTSUPP;
	}
	return 0;
}

static int read_status(pid_t pid, struct proc_status *s)
{
	char *text;
	int ret;

	ret = proc_read_file(pid, "status", &text, NULL);
	if (ret)
		return ret;
	ret = proc_parse_status(text, s);
	free(text);
	return ret;
}

/* Refuses pids that cannot be dumped.  Returns 0 or -errno (logged). */
int dump_check_target(pid_t pid)
{
	struct proc_status s;
	struct proc_stat st;
	int ret;

	if (pid <= 0 || read_stat(pid, &st) || read_status(pid, &s)) {
		pr_err("pid %d: no such process\n", pid);
		return -ESRCH;
	}
	ret = -EINVAL;
	if (s.tgid != pid)
		pr_err("pid %d is a thread of process %d: dump the process\n", pid, s.tgid);
	else if (s.kthread || (st.flags & PROC_PF_KTHREAD))
		pr_err("pid %d (%s) is a kernel thread\n", pid, st.comm);
	else if (st.state == 'Z' || st.state == 'X')
		pr_err("pid %d (%s) is a zombie\n", pid, st.comm);
	else if (is_self_or_ancestor(pid))
		pr_err("pid %d (%s) is the dumper itself or one of its ancestors\n",
		       pid, st.comm);
	else if (s.tracer_pid)
		pr_err("pid %d (%s) is already traced by pid %d\n", pid, st.comm, s.tracer_pid);
	else
		ret = check_alone(pid, &s);
	proc_status_free(&s);
	return ret;
}

static bool is_stop_signal(int sig)
{
	return sig == SIGSTOP || sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU;
}

/*
 * Waits for the PTRACE_EVENT_STOP of th.  Signals that arrive meanwhile
 * (signal-delivery-stops) are delivered, not lost.  A group-stop report
 * (stop signal instead of SIGTRAP) marks the thread job-control stopped.
 */
static int wait_event_stop(struct dump_thread *th, int wflags)
{
	int status, i, sig;
	pid_t r;

	for (i = 0; i < SEIZE_MAX_SIGNALS; i++) {
		r = waitpid(th->tid, &status, __WALL | wflags);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			pr_perror("pid %d: waitpid", th->tid);
			return -errno;
		}
		if (r == 0)
			return 1;	/* WNOHANG: nothing yet */
		if (!WIFSTOPPED(status)) {
			th->seized = false;
			pr_err("pid %d exited while being frozen\n", th->tid);
			return -ESRCH;
		}
		sig = WSTOPSIG(status);
		if ((status >> 16) == PTRACE_EVENT_STOP) {
			th->group_stopped = is_stop_signal(sig);
			return 0;
		}
		if (ptrace(PTRACE_CONT, th->tid, 0, (void *)(long)sig)) {
			pr_perror("pid %d: cannot resume to deliver signal %d", th->tid, sig);
			return -errno;
		}
		wflags = 0;
	}
	pr_err("pid %d: too many signals while freezing\n", th->tid);
	return -EAGAIN;
}

/*
 * Seizes and stops every thread of t (today: the leader).  A task already
 * in group-stop is trapped by PTRACE_SEIZE itself; it is not interrupted
 * again, so no second trap is left pending for the syscall injection.
 * Returns 0 or -errno (logged); on failure the caller releases.
 */
int seize_task(struct dump_task *t)
{
	struct dump_thread *th = &t->threads[0];
	int ret;

	if (ptrace(PTRACE_SEIZE, th->tid, 0, 0)) {
		ret = -errno;
		pr_perror("pid %d: cannot seize", th->tid);
		return ret;
	}
	th->seized = true;
	ret = wait_event_stop(th, WNOHANG);
	if (ret <= 0)
		return ret;
	if (ptrace(PTRACE_INTERRUPT, th->tid, 0, 0)) {
		ret = -errno;
		pr_perror("pid %d: cannot interrupt", th->tid);
		return ret;
	}
	return wait_event_stop(th, 0);
}

/* Once frozen: re-reads status and refuses threads/children for good. */
int seize_check_alone(struct dump_task *t)
{
	int ret;

	proc_status_free(&t->status);
	ret = read_status(t->pid, &t->status);
	if (ret) {
		pr_err("pid %d: cannot read status: %s\n", t->pid, strerror(-ret));
		return ret;
	}
	ret = read_stat(t->pid, &t->stat);
	if (ret) {
		pr_err("pid %d: cannot read stat: %s\n", t->pid, strerror(-ret));
		return ret;
	}
	t->state = t->threads[0].group_stopped ? TASK_STATE_STOPPED : TASK_STATE_ALIVE;
	return check_alone(t->pid, &t->status);
}

/*
 * Lets the task go exactly as it was.  Registers were already put back by
 * the injection code; a job-control stopped task stays stopped after the
 * detach (the kernel re-enters group-stop).
 */
void release_task(struct dump_task *t)
{
	size_t i;

	for (i = 0; i < t->n_threads; i++) {
		struct dump_thread *th = &t->threads[i];

		if (!th->seized)
			continue;
		if (ptrace(PTRACE_DETACH, th->tid, 0, 0))
			pr_warn("pid %d: detach: %s\n", th->tid, strerror(errno));
		th->seized = false;
	}
}

/* Kills the frozen task and reaps the tracer-side notification. */
int kill_task(struct dump_task *t)
{
	int status;
	pid_t r;

	if (kill(t->pid, SIGKILL)) {
		pr_perror("pid %d: cannot kill", t->pid);
		return -errno;
	}
	do {
		r = waitpid(t->pid, &status, __WALL);
	} while ((r < 0 && errno == EINTR) || (r > 0 && !WIFEXITED(status) &&
						!WIFSIGNALED(status)));
	t->threads[0].seized = false;
	return 0;
}
