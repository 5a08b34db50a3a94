/*
 * The guardian of a paused context's dump: what a SIGKILLed vxdump cannot
 * do itself, freeze the context again before its tasks are let go.
 *
 * A paused (SCHED_PAUSE) context stays frozen while it is seized and read
 * (PTRACE_SEIZE + PTRACE_INTERRUPT stop tasks of a frozen cgroup v2 group,
 * and a ptrace-stopped task counts as frozen); it is thawed only around the
 * injection windows of each process, since an injected call must return
 * to user mode, which a frozen task never does.  If the dumper died in such
 * a window, the kernel would let go of its tracees into a thawed group:
 * they would run.  So before the first thaw a guardian is forked that
 * traces the dumping thread with PTRACE_O_TRACEEXIT: the kernel stops a
 * dying tracee, SIGKILLed or not, at PTRACE_EVENT_EXIT, early in do_exit()
 * and long before exit_notify() detaches the dumper's own tracees.  There
 * the guardian writes cgroup.freeze = 1 and lets it die: the tracees are
 * let go into a frozen group and do not run one instruction of their own
 * (measured on 6.18, NOTES "A paused context's dump").  The guardian only
 * forwards any other stop of the dumper (signals, group-stop) unchanged.
 *
 * The dumping thread blocks SIGCHLD while it is traced: its tracees' stops
 * would otherwise each stop it too (a traced task's signals are never
 * ignored).  When the dump is over the guardian is SIGKILLed and reaped;
 * its death detaches it.  If it cannot trace us (we are already traced by
 * a debugger), it freezes the group when its socket ends instead: late,
 * after the tracees were let go, so they may run for a moment (warned).
 */
#define LOG_PREFIX "ctx/guard: "
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "log.h"
#include "ctx/ctx.h"
#include "util/keeper.h"

#define GUARD_TRACED 't'
#define GUARD_UNTRACED 'u'

static bool is_stop_signal(int sig)
{
	return sig == SIGSTOP || sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU;
}

/* Freezes the group again; nothing to report to. */
static void guard_freeze(const char *cgroup)
{
	vxctx_cg_write(cgroup, "cgroup.freeze", "1");
}

/*
 * Follows traced thread tid until it is gone: at its exit stop the group
 * is frozen, every other stop is passed on as it came.
 */
static void guard_traced(pid_t tid, const char *cgroup)
{
	int status, sig;
	pid_t r;

	for (;;) {
		r = waitpid(tid, &status, __WALL);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 || !WIFSTOPPED(status))
			break;
		sig = WSTOPSIG(status);
		if ((status >> 16) == PTRACE_EVENT_EXIT) {
			guard_freeze(cgroup);
			sig = 0;
		} else if ((status >> 16) == PTRACE_EVENT_STOP) {
			if (is_stop_signal(sig)) { /* group-stop: stay stopped */
				ptrace(PTRACE_LISTEN, tid, 0, 0);
				continue;
			}
			sig = 0;
		}
		ptrace(PTRACE_CONT, tid, 0, (void *)(long)sig);
	}
	guard_freeze(cgroup); /* gone without an exit stop: be sure */
}

/* The guardian process.  Never returns. */
static void guard_main(int sk, pid_t tid, const char *cgroup)
{
	char c, reply;

	keeper_detach(sk);
	signal(SIGQUIT, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	reply = ptrace(PTRACE_SEIZE, tid, 0, PTRACE_O_TRACEEXIT) ? GUARD_UNTRACED : GUARD_TRACED;
	if (write(sk, &reply, 1) != 1)
		_exit(1);
	if (reply == GUARD_TRACED) {
		close(sk);
		guard_traced(tid, cgroup);
		_exit(0);
	}
	while (read(sk, &c, 1) < 0 && errno == EINTR)
		;
	guard_freeze(cgroup);
	_exit(0);
}

int vxctx_guard_start(const char *cgroup, struct vxctx_guard *g)
{
	pid_t tid = (pid_t)syscall(SYS_gettid);
	sigset_t chld;
	int sk[2], ret;
	char reply = 0;

	memset(g, 0, sizeof(*g));
	g->sk = -1;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sk)) {
		pr_perror("guardian socket");
		return -errno;
	}
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	pthread_sigmask(SIG_BLOCK, &chld, &g->mask);
	g->pid = fork();
	if (g->pid < 0) {
		ret = -errno;
		pr_perror("cannot start the guardian of the paused context");
		close(sk[0]);
		goto out_unblock;
	}
	if (g->pid == 0)
		guard_main(sk[0], tid, cgroup);
	close(sk[0]);
	while (read(sk[1], &reply, 1) < 0 && errno == EINTR)
		;
	if (reply != GUARD_TRACED && reply != GUARD_UNTRACED) {
		ret = -ECHILD;
		pr_err("the guardian of the paused context died before it started\n");
		waitpid(g->pid, NULL, 0);
		goto out_unblock;
	}
	if (reply == GUARD_UNTRACED)
		pr_warn("the guardian cannot trace us (already traced?): if we die while the "
			"paused context is thawed, it may run for a moment\n");
	g->sk = sk[1];
	return 0;

out_unblock:
	close(sk[1]);
	pthread_sigmask(SIG_SETMASK, &g->mask, NULL);
	g->pid = 0;
	return ret;
}

void vxctx_guard_stop(struct vxctx_guard *g)
{
	if (g->pid <= 0)
		return;
	kill(g->pid, SIGKILL);
	while (waitpid(g->pid, NULL, 0) < 0 && errno == EINTR)
		;
	close(g->sk);
	pthread_sigmask(SIG_SETMASK, &g->mask, NULL);
	g->pid = 0;
	g->sk = -1;
}
