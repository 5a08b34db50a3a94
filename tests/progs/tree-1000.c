/*
 * tree-1000: a tree of N processes (default 1000; usage: tree-1000 OUTFILE
 * [N [FANOUT]]) shaped like a heap: member i forks members FANOUT*i+1 ..
 * FANOUT*i+FANOUT, so with the default fan-out of 10 it is four levels
 * deep.  Each member keeps a page of its own contents and a token made
 * from its index and pid, and reports READY with its index and parent
 * over one shared pipe.  On "go" (SIGUSR1 from the root to every member)
 * each checks its pid, its parent's pid, its page and its token, waits for
 * its own children, then reports; the root writes PASS only if every
 * member passed, each result came from a pid that was ready before the
 * dump, and each reported parent is the member the heap shape says.
 */
#include "tree.h"

#define MAXN 2000
#define PAGE_LEN 4096

static int n = 1000, fanout = 10;
static pid_t member_pid[MAXN];
static volatile uint64_t token;

static uint64_t token_of(int idx, pid_t pid)
{
	return (uint64_t)idx * 0x9e3779b97f4a7c15ull ^ (uint64_t)pid << 20;
}

__attribute__((noreturn)) static void member_main(int idx, int up);

/*
 * Forks the children of member idx (each dies with idx); fills kids[] and
 * returns how many there are.
 */
static int fork_children(int idx, int up, pid_t *kids)
{
	pid_t self = getpid();
	int k, c, got = 0;

	for (k = 1; k <= fanout; k++) {
		c = fanout * idx + k;
		if (c >= n)
			break;
		kids[got] = fork();
		if (kids[got] < 0)
			prog_fail("member %d: fork %d: %s", idx, c, strerror(errno));
		if (kids[got] == 0) {
			tree_die_with_parent(self);
			member_main(c, up);
		}
		got++;
	}
	return got;
}

/* Waits for each of kids[0..nkids) and checks it exited with 0. */
static void reap_children(int idx, pid_t *kids, int nkids)
{
	int i, st;

	for (i = 0; i < nkids; i++) {
		st = 0;
		CHECK(waitpid(kids[i], &st, 0) == kids[i] && WIFEXITED(st) && WEXITSTATUS(st) == 0,
		      "member %d: child %d: status %#x", idx, kids[i], st);
	}
}

/* A member other than the root: set up, report, wait for go, check. */
__attribute__((noreturn)) static void member_main(int idx, int up)
{
	pid_t pid = getpid(), parent = getppid(), kids[64];
	uint64_t *page = malloc(PAGE_LEN);
	int nkids;
	long bad;

	if (!page)
		prog_fail("member %d: no memory", idx);
	prog_fill(page, PAGE_LEN, 7000 + idx);
	token = token_of(idx, pid);
	nkids = fork_children(idx, up, kids);
	if (tree_send(up, TREE_READY, "%d %d", idx, parent))
		_exit(3);
	prog_wait_go();
	CHECK(getpid() == pid, "member %d: pid %d, was %d", idx, getpid(), pid);
	CHECK(getppid() == parent, "member %d (%d): ppid %d, was %d", idx, pid, getppid(), parent);
	bad = prog_verify(page, PAGE_LEN, 7000 + idx);
	CHECK(bad < 0, "member %d (%d): page word %ld differs", idx, pid, bad);
	CHECK(token == token_of(idx, pid), "member %d (%d): token %#llx", idx, pid,
	      (unsigned long long)token);
	reap_children(idx, kids, nkids);
	tree_member_finish(up);
}

/*
 * Reads the n-1 READY messages ("IDX PPID"), fills member_pid[] and checks
 * each member's parent is the one the heap shape gives.
 */
static void collect_ready(int fd)
{
	static pid_t ready[MAXN];
	struct tree_msg m;
	int i, got = 0, idx, ppid;

	member_pid[0] = getpid();
	for (i = 1; i < n; i++) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };

		if (poll(&pfd, 1, 30000) != 1)
			prog_fail("READY %d of %d: none within 30 s", i, n - 1);
		if (read(fd, &m, sizeof(m)) != sizeof(m) || m.kind != TREE_READY)
			prog_fail("READY %d of %d: short read or wrong kind", i, n - 1);
		if (sscanf(m.why, "%d %d", &idx, &ppid) != 2 || idx < 1 || idx >= n ||
		    member_pid[idx])
			prog_fail("READY from %d: bad or repeated index '%s'", m.pid, m.why);
		member_pid[idx] = m.pid;
		ready[got++] = ppid;
		ready[got++] = idx;
	}
	for (i = 0; i < got; i += 2) {
		idx = ready[i + 1];
		CHECK(member_pid[(idx - 1) / fanout] == ready[i],
		      "member %d: parent %d, expected member %d (%d)", idx, ready[i],
		      (idx - 1) / fanout, member_pid[(idx - 1) / fanout]);
	}
}

/* Sends go to every member and checks n-1 PASS results from known pids. */
static void go_and_collect(int fd)
{
	static pid_t done[MAXN];
	int i, j, got;

	for (i = 1; i < n; i++)
		CHECK(kill(member_pid[i], SIGUSR1) == 0, "member %d (%d): %s", i, member_pid[i],
		      strerror(errno));
	got = tree_collect(&fd, 1, n - 1, 1, 60000, -1, done);
	CHECK(got == n - 1, "%d of %d members reported", got, n - 1);
	for (i = 0; i < got; i++) {
		for (j = 1; j < n && member_pid[j] != done[i]; j++)
			;
		CHECK(j < n, "result from pid %d, not a member", done[i]);
	}
}

int main(int argc, char **argv)
{
	static volatile uint64_t counter, shadow;
	pid_t kids[64];
	uint64_t at_ready;
	int p[2], nkids;

	prog_init(argc, argv, "tree-1000");
	if (argc > 2)
		n = atoi(argv[2]);
	if (argc > 3)
		fanout = atoi(argv[3]);
	if (n < 2 || n > MAXN || fanout < 1 || fanout > 64)
		prog_fail("N must be 2..%d, FANOUT 1..64", MAXN);
	if (pipe2(p, O_CLOEXEC))
		prog_fail("pipe: %s", strerror(errno));
	nkids = fork_children(0, p[1], kids);
	close(p[1]);
	collect_ready(p[0]);
	prog_ready();
	at_ready = counter;
	tree_count_until_go(&counter, &shadow, 20, 0);
	tree_check_counter(&counter, &shadow, at_ready, "root counter");
	go_and_collect(p[0]);
	reap_children(0, kids, nkids);
	prog_finish();
}
