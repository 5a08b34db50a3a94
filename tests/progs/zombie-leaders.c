/*
 * zombie-leaders: zombies that lead a process group or a session whose
 * other members still run.  The root R is a child subreaper and forks:
 *
 *   G   setpgid(0,0), forks G1 (stays in group G), exits 7: a zombie
 *       leading group G; G1 is reparented to R
 *   H   joins group G (a member that is R's own child)
 *   R   itself joins group G too (mode "both": the root's group is led by
 *       a zombie of the tree)
 *   L   setsid(), forks L1 (group and session L), is killed by SIGTERM: a
 *       zombie leading session L; L1 is reparented to R  (mode "session")
 *   Y   a zombie member of group K, led by a live sibling K forked after
 *       it (mode "member": Y comes first in the image)
 *   E   setpgid(0,0), forks E1 (stays in group E), exits and is reaped by
 *       R: group E has no leader at all (mode "gone"; before the fix the
 *       restore failed with "setpgid: Operation not permitted")
 *
 * R reaps nobody before "go".  After "go" every live member checks its pid,
 * ppid, pgid and sid and its counter; R checks the zombies' state, parent,
 * group and session (/proc/PID/stat) and then reaps them with the recorded
 * status.  Arguments: OUTFILE [group|session|gone|both] (default both:
 * all of them).
 */
#include <stdbool.h>
#include "tree.h"

#define MAXLIVE 4

struct ident {
	pid_t pid, ppid, pgid, sid;
};

static pid_t root_pid, g_pid;
static int rep_r = -1, rep_w = -1;
static volatile uint64_t counter, shadow;
static uint64_t at_ready;

/* A live member: report ready, count until go, check ids, report. */
__attribute__((noreturn)) static void member_run(const char *name, bool orphan)
{
	struct ident me;
	int i;

	for (i = 0; orphan && i < 2000 && getppid() != root_pid; i++)
		tree_sleep_ms(5);
	if (getppid() != root_pid)
		prog_fail("%s: parent %d, not the root %d", name, getppid(), root_pid);
	me = (struct ident){ getpid(), getppid(), getpgid(0), getsid(0) };
	tree_send_ready(rep_w);
	at_ready = counter;
	tree_count_until_go(&counter, &shadow, 5, 0);
	CHECK(getpid() == me.pid, "%s: pid %d, was %d", name, getpid(), me.pid);
	CHECK(getppid() == me.ppid, "%s (%d): ppid %d, was %d", name, me.pid, getppid(), me.ppid);
	CHECK(getpgid(0) == me.pgid, "%s (%d): pgid %d, was %d", name, me.pid, getpgid(0), me.pgid);
	CHECK(getsid(0) == me.sid, "%s (%d): sid %d, was %d", name, me.pid, getsid(0), me.sid);
	tree_check_counter(&counter, &shadow, at_ready, name);
	tree_member_finish(rep_w);
}

static pid_t spawn(void (*fn)(void))
{
	pid_t pid = fork();

	if (pid < 0)
		prog_fail("fork: %s", strerror(errno));
	if (pid == 0) {
		if (rep_r >= 0)
			close(rep_r);
		rep_r = -1;
		fn();
		_exit(0);
	}
	return pid;
}

static void run_g1(void)
{
	member_run("G1", true);
}

static void run_g(void)
{
	if (setpgid(0, 0))
		prog_fail("G setpgid: %s", strerror(errno));
	spawn(run_g1);
	_exit(7);
}

static void run_h(void)
{
	if (setpgid(0, g_pid))
		prog_fail("H setpgid to group %d: %s", g_pid, strerror(errno));
	member_run("H", false);
}

static void run_e1(void)
{
	member_run("E1", true);
}

static void run_e(void)
{
	if (setpgid(0, 0))
		prog_fail("E setpgid: %s", strerror(errno));
	spawn(run_e1);
	_exit(0);
}

static int y_pipe[2];

static void run_y(void)
{
	pid_t k;

	if (read(y_pipe[0], &k, sizeof(k)) != sizeof(k) || setpgid(0, k))
		prog_fail("Y setpgid: %s", strerror(errno));
	_exit(5);
}

static void run_k(void)
{
	if (setpgid(0, 0))
		prog_fail("K setpgid: %s", strerror(errno));
	member_run("K", false);
}

static void run_l1(void)
{
	member_run("L1", true);
}

static void run_l(void)
{
	if (setsid() < 0)
		prog_fail("L setsid: %s", strerror(errno));
	spawn(run_l1);
	tree_sleep_ms(50); /* L1 runs in session L before L dies */
	signal(SIGTERM, SIG_DFL);
	raise(SIGTERM);
	_exit(3);
}

/* Waits until pid's state is want (up to ms). */
static char wait_state(pid_t pid, char want, int ms)
{
	long long end = tree_now_ms() + ms;
	char st = '?';

	do {
		if (tree_proc_stat(pid, &st, NULL, NULL, NULL))
			st = '?';
		if (st == want)
			break;
		tree_sleep_ms(5);
	} while (tree_now_ms() < end);
	return st;
}

/* After go: zombie z (leader of its group, or of its session) as it was. */
static void check_zombie(pid_t z, const char *name, bool session, int code, int sig)
{
	pid_t ppid = 0, pgid = 0, sid = 0;
	char st = '?';
	int status = 0;

	tree_proc_stat(z, &st, &ppid, &pgid, &sid);
	CHECK(st == 'Z', "%s (%d) state '%c', expected 'Z'", name, z, st);
	CHECK(ppid == root_pid, "%s (%d) ppid %d, expected %d", name, z, ppid, root_pid);
	CHECK(pgid == z, "%s (%d) pgid %d, expected its own", name, z, pgid);
	CHECK(sid == (session ? z : getsid(0)), "%s (%d) sid %d, expected %d", name, z, sid,
	      session ? z : getsid(0));
	if (waitpid(z, &status, WNOHANG) != z) {
		prog_record_failure("%s (%d): waitpid: %s", name, z, strerror(errno));
		return;
	}
	if (sig)
		CHECK(WIFSIGNALED(status) && WTERMSIG(status) == sig, "%s: status %#x", name,
		      status);
	else
		CHECK(WIFEXITED(status) && WEXITSTATUS(status) == code, "%s: status %#x", name,
		      status);
}

int main(int argc, char **argv)
{
	const char *mode = argc > 2 ? argv[2] : "both";
	bool both = !strcmp(mode, "both"), group = both || !strcmp(mode, "group");
	bool session = both || !strcmp(mode, "session"), gone = both || !strcmp(mode, "gone");
	bool zmember = both || !strcmp(mode, "member");
	pid_t y_pid = 0, k_pid;
	pid_t l_pid = 0, live[MAXLIVE];
	int p[2], n, i, nlive = 0;

	prog_init(argc, argv, "zombie-leaders");
	root_pid = getpid();
	if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0))
		prog_fail("PR_SET_CHILD_SUBREAPER: %s", strerror(errno));
	if (pipe2(p, O_CLOEXEC))
		prog_fail("pipe: %s", strerror(errno));
	rep_r = p[0];
	rep_w = p[1];
	if (group) {
		g_pid = spawn(run_g);
		setpgid(g_pid, g_pid); /* both sides, so H can join at once */
		spawn(run_h);
		nlive += 2;
		if (both && setpgid(0, g_pid))
			prog_fail("R setpgid to group %d: %s", g_pid, strerror(errno));
	}
	if (session) {
		l_pid = spawn(run_l);
		nlive += 1;
	}
	if (zmember) {
		if (pipe(y_pipe))
			prog_fail("pipe: %s", strerror(errno));
		y_pid = spawn(run_y);
		k_pid = spawn(run_k);
		setpgid(k_pid, k_pid);
		if (write(y_pipe[1], &k_pid, sizeof(k_pid)) != sizeof(k_pid))
			prog_fail("write: %s", strerror(errno));
		nlive += 1;
	}
	if (gone) {
		pid_t e = spawn(run_e);

		if (waitpid(e, NULL, 0) != e)
			prog_fail("waitpid E: %s", strerror(errno));
		nlive += 1;
	}
	close(rep_w);
	rep_w = -1;
	n = tree_collect(&rep_r, 1, nlive, 0, 20000, -1, live);
	if (n != nlive)
		prog_fail("only %d of %d members ready: %s", n, nlive, prog_failure);
	if (group && wait_state(g_pid, 'Z', 5000) != 'Z')
		prog_fail("G (%d) is not a zombie", g_pid);
	if (zmember && wait_state(y_pid, 'Z', 5000) != 'Z')
		prog_fail("Y (%d) is not a zombie", y_pid);
	if (session && wait_state(l_pid, 'Z', 5000) != 'Z')
		prog_fail("L (%d) is not a zombie", l_pid);
	prog_ready();
	at_ready = counter;
	tree_count_until_go(&counter, &shadow, 5, 20);

	if (both)
		CHECK(getpgid(0) == g_pid, "R: pgid %d, expected G's group %d", getpgid(0), g_pid);
	if (group)
		check_zombie(g_pid, "G", false, 7, 0);
	if (session)
		check_zombie(l_pid, "L", true, 0, SIGTERM);
	if (zmember) {
		pid_t pg = 0;

		tree_proc_stat(y_pid, NULL, NULL, &pg, NULL);
		CHECK(pg == k_pid, "Y (%d): pgid %d, expected K's group %d", y_pid, pg, k_pid);
		CHECK(waitpid(y_pid, NULL, 0) == y_pid, "waitpid Y: %s", strerror(errno));
	}
	for (i = 0; i < nlive; i++)
		kill(live[i], SIGUSR1);
	n = tree_collect(&rep_r, 1, nlive, 1, 20000, -1, NULL);
	CHECK(n == nlive, "%d of %d members reported", n, nlive);
	while (waitpid(-1, NULL, 0) > 0)
		;
	tree_check_counter(&counter, &shadow, at_ready, "root");
	prog_finish();
}
