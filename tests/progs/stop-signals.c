/*
 * stop-signals: children stopped by each job-control signal.  The root R
 * forks, each in a process group of its own (so the group is not orphaned
 * and SIGTSTP/SIGTTIN/SIGTTOU can stop it):
 *
 *   T   counts, stopped by SIGTSTP (kill from R)
 *   I   3 threads counting, stopped by SIGTTIN (kill from R)
 *   O   stops itself with raise(SIGTTOU)
 *   S   counts, stopped by SIGSTOP
 *
 * R does not wait for their stop reports before "ready".  After "go", for
 * each child: /proc/PID/stat says 'T', its counter does not move, R's
 * waitid(WSTOPPED|WNOWAIT) reports CLD_STOPPED with the signal that
 * stopped it (before the fix every restored child was stopped by SIGSTOP),
 * and after SIGCONT it counts again (its own threads too).
 */
#include <pthread.h>
#include <sys/uio.h>
#include "tree.h"

#define NCHILD 4

static volatile uint64_t counter[4];

static void *count_thread(void *arg)
{
	volatile uint64_t *c = arg;

	for (;;)
		(*c)++;
	return NULL;
}

static pid_t spawn(int idx, int self_stop)
{
	pid_t pid = fork();
	pthread_t th;
	int i;

	if (pid < 0)
		prog_fail("fork: %s", strerror(errno));
	if (pid)
		return pid;
	if (setpgid(0, 0))
		_exit(2);
	for (i = 1; idx == 1 && i < 3; i++)
		pthread_create(&th, NULL, count_thread, (void *)&counter[i]);
	if (self_stop)
		raise(self_stop);
	for (;;)
		counter[0]++;
}

static uint64_t sum_of(pid_t pid)
{
	uint64_t v[4] = { 0 };
	struct iovec local = { v, sizeof(v) }, remote = { (void *)counter, sizeof(v) };

	if (process_vm_readv(pid, &local, 1, &remote, 1, 0) != sizeof(v))
		prog_record_failure("process_vm_readv of %d: %s", pid, strerror(errno));
	return v[0] + v[1] + v[2] + v[3];
}

static char state_of(pid_t pid)
{
	char st = '?';

	tree_proc_stat(pid, &st, NULL, NULL, NULL);
	return st;
}

static char wait_state(pid_t pid, char want)
{
	char st = '?';
	int i;

	for (i = 0; i < 1000 && (st = state_of(pid)) != want; i++)
		tree_sleep_ms(5);
	return st;
}

static void check_child(pid_t pid, int sig, const char *name)
{
	siginfo_t si;
	uint64_t a, b;
	int i;

	CHECK(state_of(pid) == 'T', "%s (%d): state '%c', expected 'T'", name, pid,
	      state_of(pid));
	memset(&si, 0, sizeof(si));
	if (waitid(P_PID, pid, &si, WSTOPPED | WNOWAIT | WNOHANG))
		prog_record_failure("%s: waitid: %s", name, strerror(errno));
	CHECK(si.si_pid == pid && si.si_code == CLD_STOPPED, "%s (%d): no stop report (code %d)",
	      name, pid, si.si_code);
	CHECK(si.si_status == sig, "%s (%d): stopped by signal %d, expected %d (%s)", name, pid,
	      si.si_status, sig, strsignal(sig));
	a = sum_of(pid);
	tree_sleep_ms(100);
	b = sum_of(pid);
	CHECK(a == b, "%s (%d) counted while stopped", name, pid);
	kill(pid, SIGCONT);
	for (i = 0; i < 300 && sum_of(pid) == b; i++)
		tree_sleep_ms(10);
	CHECK(sum_of(pid) != b, "%s (%d) does not count after SIGCONT", name, pid);
	if (sig == SIGTTIN) { /* every thread counts again */
		uint64_t v[4] = { 0 }, w[4] = { 0 };
		struct iovec l = { v, sizeof(v) }, r = { (void *)counter, sizeof(v) };

		process_vm_readv(pid, &l, 1, &r, 1, 0);
		tree_sleep_ms(100);
		l.iov_base = w;
		process_vm_readv(pid, &l, 1, &r, 1, 0);
		CHECK(w[0] > v[0] && w[1] > v[1] && w[2] > v[2],
		      "%s (%d): a thread does not count after SIGCONT", name, pid);
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

int main(int argc, char **argv)
{
	static const int sigs[NCHILD] = { SIGTSTP, SIGTTIN, SIGTTOU, SIGSTOP };
	static const char *const names[NCHILD] = { "T", "I", "O", "S" };
	pid_t kids[NCHILD];
	int i;

	prog_init(argc, argv, "stop-signals");
	for (i = 0; i < NCHILD; i++) {
		kids[i] = spawn(i, sigs[i] == SIGTTOU ? SIGTTOU : 0);
		setpgid(kids[i], kids[i]);
		tree_sleep_ms(20);
		if (sigs[i] != SIGTTOU)
			kill(kids[i], sigs[i]);
		if (wait_state(kids[i], 'T') != 'T')
			prog_fail("%s (%d) did not stop", names[i], kids[i]);
	}
	prog_ready();
	prog_wait_go();
	for (i = 0; i < NCHILD; i++)
		check_child(kids[i], sigs[i], names[i]);
	prog_finish();
}
