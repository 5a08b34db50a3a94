/*
 * tree-sessions: sessions, process groups, a stopped member and zombies.
 * The root R is a child subreaper (PR_SET_CHILD_SUBREAPER) and forks:
 *
 *   A   setsid(): leads session A;  A1 (child of A) leads its own group in
 *       session A;  A2 (child of A) stays in group A
 *   B   setpgid(0,0): leads group B in R's session;  B1 (child of B) in
 *       group B;  C (child of R) joins group B (group spans two parents)
 *   D   setsid(), forks D1 (stays in group D) and D2 (own group in session
 *       D), then exits: D1/D2 are reparented to R, session D and group D
 *       have no leader any more (D is reaped before "ready")
 *   S   counts; R stops it with SIGSTOP before "ready" (job-control stop)
 *   Z1  exits with status 42, Z2 is killed by SIGTERM: zombies, reaped by
 *       R only after "go"
 *
 * Every live member records pid, ppid, pgid and sid before "ready" and
 * checks them after "go" (pgid/sid inherited from R are compared with R's
 * current ones: restore leaves R in vxrestore's session), plus its counter;
 * members report over one shared pipe.  R checks S is still stopped
 * ('T' in /proc/S/stat) and does not count, sends SIGCONT and sees it count
 * again (reading S's counter with process_vm_readv), and reaps Z1
 * (WEXITSTATUS 42) and Z2 (WTERMSIG SIGTERM).
 */
#include <sys/uio.h>
#include "tree.h"

#define NLIVE 9		/* A A1 A2 B B1 C D1 D2 S */

struct ident {
	pid_t pid, ppid, pgid, sid;
	int pgid_root, sid_root;	/* inherited from R: compare with R's */
};

static pid_t root_pid;
static int rep_r = -1, rep_w = -1;
static struct ident me;
static const char *me_name = "root";
static volatile uint64_t counter, shadow;
static uint64_t at_ready;

static void record_ident(int pgid_root, int sid_root)
{
	me.pid = getpid();
	me.ppid = getppid();
	me.pgid = getpgid(0);
	me.sid = getsid(0);
	me.pgid_root = pgid_root;
	me.sid_root = sid_root;
}

static void check_ident(void)
{
	pid_t want_pgid = me.pgid_root ? getpgid(root_pid) : me.pgid;
	pid_t want_sid = me.sid_root ? getsid(root_pid) : me.sid;

	CHECK(getpid() == me.pid, "%s: pid %d, was %d", me_name, getpid(), me.pid);
	CHECK(getppid() == me.ppid, "%s (%d): ppid %d, was %d", me_name, me.pid, getppid(),
	      me.ppid);
	CHECK(getpgid(0) == want_pgid, "%s (%d): pgid %d, expected %d", me_name, me.pid,
	      getpgid(0), want_pgid);
	CHECK(getsid(0) == want_sid, "%s (%d): sid %d, expected %d", me_name, me.pid, getsid(0),
	      want_sid);
}

/* A live member: report ready, count until go, check, report, reap kids. */
__attribute__((noreturn)) static void member_run(const char *name, int pgid_root, int sid_root)
{
	me_name = name;
	record_ident(pgid_root, sid_root);
	tree_send_ready(rep_w);
	at_ready = counter;
	tree_count_until_go(&counter, &shadow, 5, 0);
	check_ident();
	tree_check_counter(&counter, &shadow, at_ready, name);
	if (prog_failure[0])
		tree_send(rep_w, TREE_FAIL, "%s", prog_failure);
	else
		tree_send(rep_w, TREE_PASS, "%s ok", name);
	while (waitpid(-1, NULL, 0) > 0)	/* A reaps A1 and A2, B reaps B1 */
		;
	_exit(prog_failure[0] ? 1 : 0);
}

/* Forks a child that runs fn(); returns its pid in the parent. */
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

static void run_a1(void)
{
	if (setpgid(0, 0))
		prog_fail("A1 setpgid: %s", strerror(errno));
	member_run("A1", 0, 0);
}

static void run_a2(void)
{
	member_run("A2", 0, 0);
}

static void run_a(void)
{
	if (setsid() < 0)
		prog_fail("A setsid: %s", strerror(errno));
	spawn(run_a1);
	spawn(run_a2);
	member_run("A", 0, 0);
}

static void run_b1(void)
{
	member_run("B1", 0, 1);
}

static void run_b(void)
{
	setpgid(0, 0);
	spawn(run_b1);
	member_run("B", 0, 1);
}

static pid_t b_pid;

static void run_c(void)
{
	if (setpgid(0, b_pid))
		prog_fail("C setpgid to group %d: %s", b_pid, strerror(errno));
	member_run("C", 0, 1);
}

static void wait_orphaned(void)
{
	int i;

	for (i = 0; i < 2000 && getppid() != root_pid; i++)
		tree_sleep_ms(5);
	if (getppid() != root_pid)
		prog_fail("D's child not reparented to the subreaper root (ppid %d)", getppid());
}

static void run_d1(void)
{
	wait_orphaned();
	member_run("D1", 0, 0);
}

static void run_d2(void)
{
	if (setpgid(0, 0))
		prog_fail("D2 setpgid: %s", strerror(errno));
	wait_orphaned();
	member_run("D2", 0, 0);
}

static void run_d(void)
{
	if (setsid() < 0)
		prog_fail("D setsid: %s", strerror(errno));
	spawn(run_d1);
	spawn(run_d2);
	_exit(0);
}

static void run_s(void)
{
	member_run("S", 1, 1);
}

static void run_z1(void)
{
	_exit(42);
}

static void run_z2(void)
{
	signal(SIGTERM, SIG_DFL);
	raise(SIGTERM);
	_exit(3);
}

/* Waits until pid's state is `want` (up to ms); returns the last state. */
static char wait_state(pid_t pid, char want, int ms)
{
	char st = '?';
	long long end = tree_now_ms() + ms;

	do {
		if (tree_proc_stat(pid, &st, NULL, NULL, NULL))
			st = '?';
		if (st == want)
			break;
		tree_sleep_ms(5);
	} while (tree_now_ms() < end);
	return st;
}

static uint64_t read_counter_of(pid_t pid)
{
	uint64_t v = 0;
	struct iovec local = { &v, sizeof(v) }, remote = { (void *)&counter, sizeof(v) };

	if (process_vm_readv(pid, &local, 1, &remote, 1, 0) != sizeof(v))
		prog_record_failure("process_vm_readv of S (%d): %s", pid, strerror(errno));
	return v;
}

/* After go: S must still be stopped and still; after SIGCONT it counts. */
static void check_stopped(pid_t s)
{
	uint64_t c1, c2, c3 = 0;
	char st;
	int i;

	st = wait_state(s, 'T', 0);
	CHECK(st == 'T', "S (%d) state '%c' after restore, expected 'T' (stopped)", s, st);
	c1 = read_counter_of(s);
	tree_sleep_ms(200);
	c2 = read_counter_of(s);
	CHECK(c1 == c2, "S (%d) counted from %llu to %llu while stopped", s,
	      (unsigned long long)c1, (unsigned long long)c2);
	kill(s, SIGCONT);
	for (i = 0; i < 300; i++) {
		c3 = read_counter_of(s);
		if (c3 > c2)
			break;
		tree_sleep_ms(10);
	}
	CHECK(c3 > c2, "S (%d) does not count after SIGCONT (stuck at %llu)", s,
	      (unsigned long long)c2);
}

static void check_zombie(pid_t z, const char *name, int want_code, int want_sig)
{
	pid_t ppid = 0;
	char st = '?';
	int status = 0;

	tree_proc_stat(z, &st, &ppid, NULL, NULL);
	CHECK(st == 'Z', "%s (%d) state '%c', expected 'Z'", name, z, st);
	CHECK(ppid == root_pid, "%s (%d) ppid %d, expected %d", name, z, ppid, root_pid);
	if (waitpid(z, &status, WNOHANG) != z) {
		prog_record_failure("%s (%d): waitpid: %s", name, z, strerror(errno));
		return;
	}
	if (want_sig)
		CHECK(WIFSIGNALED(status) && WTERMSIG(status) == want_sig && !WCOREDUMP(status),
		      "%s (%d): status %#x, expected killed by signal %d", name, z, status,
		      want_sig);
	else
		CHECK(WIFEXITED(status) && WEXITSTATUS(status) == want_code,
		      "%s (%d): status %#x, expected exit %d", name, z, status, want_code);
}

/* Reaps every remaining child (members exit after reporting), up to 10 s. */
static void reap_all(void)
{
	long long end = tree_now_ms() + 10000;
	pid_t pid;

	while (tree_now_ms() < end) {
		pid = waitpid(-1, NULL, WNOHANG);
		if (pid < 0)
			return;
		if (pid == 0)
			tree_sleep_ms(10);
	}
	prog_record_failure("members still running 10 s after reporting");
}

int main(int argc, char **argv)
{
	pid_t s, z1, z2, d, live[NLIVE];
	int p[2], n, i, st;
	char zs;

	prog_init(argc, argv, "tree-sessions");
	root_pid = getpid();
	if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0))
		prog_fail("PR_SET_CHILD_SUBREAPER: %s", strerror(errno));
	if (pipe2(p, O_CLOEXEC))
		prog_fail("pipe: %s", strerror(errno));
	rep_r = p[0];
	rep_w = p[1];
	spawn(run_a);
	b_pid = spawn(run_b);
	setpgid(b_pid, b_pid);	/* both sides, so C can join at once */
	spawn(run_c);
	d = spawn(run_d);
	s = spawn(run_s);
	z1 = spawn(run_z1);
	z2 = spawn(run_z2);
	if (waitpid(d, &st, 0) != d || !WIFEXITED(st) || WEXITSTATUS(st))
		prog_fail("D: status %#x", st);
	close(rep_w);
	rep_w = -1;
	n = tree_collect(&rep_r, 1, NLIVE, 0, 20000, -1, live);
	if (n != NLIVE)
		prog_fail("only %d of %d members ready: %s", n, NLIVE, prog_failure);
	if ((zs = wait_state(z1, 'Z', 5000)) != 'Z' || (zs = wait_state(z2, 'Z', 5000)) != 'Z')
		prog_fail("a zombie-to-be is in state '%c'", zs);
	kill(s, SIGSTOP);
	if ((zs = wait_state(s, 'T', 5000)) != 'T')
		prog_fail("S (%d) did not stop (state '%c')", s, zs);
	prog_say("members S %d Z1 %d Z2 %d\n", s, z1, z2);
	prog_ready();
	at_ready = counter;
	tree_count_until_go(&counter, &shadow, 5, 20);

	check_stopped(s);
	check_zombie(z1, "Z1", 42, 0);
	check_zombie(z2, "Z2", 0, SIGTERM);
	for (i = 0; i < NLIVE; i++)
		kill(live[i], SIGUSR1);
	n = tree_collect(&rep_r, 1, NLIVE, 1, 20000, -1, NULL);
	CHECK(n == NLIVE, "%d of %d members reported", n, NLIVE);
	reap_all();
	tree_check_counter(&counter, &shadow, at_ready, "root");
	prog_check_counts();
	prog_finish();
}
