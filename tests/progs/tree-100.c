/*
 * tree-100: a root with N children (default 100; usage: tree-100 OUTFILE
 * [N]), each with a 16 KiB heap buffer of its own contents and a counter;
 * all report over one shared pipe.  On "go" (passed by the root to every
 * child) each child checks getpid()/getppid() against the values recorded
 * before the dump, its buffer and its counter; the root writes PASS only if
 * every child passed, and checks the results came from the same pids.
 */
#include "tree.h"

#define MAXKIDS 1000
#define BUF_LEN (16 * 1024)

static pid_t kids[MAXKIDS];
static volatile uint64_t counter, shadow;

__attribute__((noreturn)) static void child_main(int idx, pid_t root, int up)
{
	pid_t pid = getpid();
	uint64_t at_ready, *buf = malloc(BUF_LEN);
	long bad;

	if (!buf)
		prog_fail("child %d: no memory", idx);
	prog_fill(buf, BUF_LEN, 1000 + idx);
	tree_send_ready(up);
	at_ready = counter;
	tree_count_until_go(&counter, &shadow, 20, 0);
	CHECK(getpid() == pid, "child %d: pid %d, was %d", idx, getpid(), pid);
	CHECK(getppid() == root, "child %d (%d): ppid %d, was %d", idx, pid, getppid(), root);
	bad = prog_verify(buf, BUF_LEN, 1000 + idx);
	CHECK(bad < 0, "child %d (%d): buffer word %ld differs", idx, pid, bad);
	tree_check_counter(&counter, &shadow, at_ready, "counter");
	tree_member_finish(up);
}

int main(int argc, char **argv)
{
	static pid_t ready[MAXKIDS], done[MAXKIDS];
	int n = argc > 2 ? atoi(argv[2]) : 100, p[2], i, j, got;
	pid_t root = getpid();
	uint64_t at_ready;

	prog_init(argc, argv, "tree-100");
	if (n < 1 || n > MAXKIDS)
		prog_fail("N must be 1..%d", MAXKIDS);
	if (pipe2(p, O_CLOEXEC))
		prog_fail("pipe: %s", strerror(errno));
	for (i = 0; i < n; i++) {
		kids[i] = fork();
		if (kids[i] < 0)
			prog_fail("fork %d: %s", i, strerror(errno));
		if (kids[i] == 0) {
			tree_die_with_parent(root);
			close(p[0]);
			child_main(i, root, p[1]);
		}
	}
	close(p[1]);
	got = tree_collect(&p[0], 1, n, 0, 30000, -1, ready);
	if (got != n)
		prog_fail("only %d of %d children ready: %s", got, n, prog_failure);
	prog_ready();
	at_ready = counter;
	tree_count_until_go(&counter, &shadow, 5, 0);
	for (i = 0; i < n; i++)
		CHECK(kill(kids[i], SIGUSR1) == 0, "child %d (%d): %s", i, kids[i], strerror(errno));
	tree_check_counter(&counter, &shadow, at_ready, "root counter");
	got = tree_collect(&p[0], 1, n, 1, 30000, -1, done);
	CHECK(got == n, "%d of %d children reported", got, n);
	for (i = 0; i < got; i++) {
		for (j = 0; j < n && kids[j] != done[i]; j++)
			;
		CHECK(j < n, "result from pid %d, not a child", done[i]);
	}
	for (i = 0; i < n; i++) {
		int st = 0;

		CHECK(waitpid(kids[i], &st, 0) == kids[i] && WIFEXITED(st),
		      "child %d (%d): status %#x", i, kids[i], st);
	}
	prog_finish();
}
