/*
 * tree-basic: a process tree of depth 3 (root -> 2 children -> 2
 * grandchildren each, 7 processes).  Every member has a heap buffer
 * (malloc, brk heap) and a 1 MiB mmap'ed buffer with contents of its own,
 * reads a 512 KiB buffer the root filled before forking (copy-on-write
 * shared, never written after), and counts.  Each parent has one pipe per
 * child; a child forwards its subtree's messages up, so the root hears from
 * all 6 descendants.
 *
 * On "go" (SIGUSR1 to the root, passed down by every parent to its
 * children) each member checks getpid()/getppid() against the values it
 * recorded before the dump (restore must give the same pids and
 * relations), its buffers, its /proc/self/exe and /proc/self/cmdline (the
 * mm fields of every member, forked ones too), and that its counter went on; the root writes
 * PASS only if all 7 passed.  The root also appends "count N" lines to
 * OUTFILE while it waits.
 */
#include <sys/mman.h>
#include "tree.h"

#define NKIDS 2
#define LEVELS 3
#define NMEMBERS 7
#define HEAP_LEN (64 * 1024)
#define MAP_LEN (1024 * 1024)
#define SHARED_LEN (512 * 1024)

static int my_index;		/* 0 root, 1-2 children, 3-6 grandchildren */
static int my_level;
static pid_t my_pid, my_ppid;
static pid_t kids[NKIDS];
static int kid_fds[NKIDS], nkids;
static int up_fd = -1;		/* write end towards the parent */
static uint64_t *heap_buf, *map_buf, *shared_buf;
static volatile uint64_t counter, shadow;
static uint64_t at_ready;
static char my_exe[4096], my_cmdline[4096];

/* The contents of /proc/self/cmdline into buf (NUL-separated, NUL-ended). */
static void read_cmdline(char *buf, size_t len)
{
	int fd = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, len - 1);

	if (fd >= 0)
		close(fd);
	memset(buf + (n > 0 ? n : 0), 0, len - (n > 0 ? n : 0));
}

static void member_setup(void)
{
	my_pid = getpid();
	my_ppid = getppid();
	if (readlink("/proc/self/exe", my_exe, sizeof(my_exe) - 1) < 0)
		prog_fail("member %d: readlink /proc/self/exe: %s", my_index, strerror(errno));
	read_cmdline(my_cmdline, sizeof(my_cmdline));
	heap_buf = malloc(HEAP_LEN);
	map_buf = mmap(NULL, MAP_LEN, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (!heap_buf || map_buf == MAP_FAILED)
		prog_fail("member %d: no memory", my_index);
	prog_fill(heap_buf, HEAP_LEN, 100 + my_index);
	prog_fill(map_buf, MAP_LEN, 200 + my_index);
}

static void member_check(void)
{
	char exe[4096] = "", cmdline[4096];
	long bad;

	CHECK(getpid() == my_pid, "member %d: pid %d, was %d", my_index, getpid(), my_pid);
	if (my_index)
		CHECK(getppid() == my_ppid, "member %d (pid %d): ppid %d, was %d", my_index,
		      my_pid, getppid(), my_ppid);
	if (readlink("/proc/self/exe", exe, sizeof(exe) - 1) < 0)
		snprintf(exe, sizeof(exe), "(%s)", strerror(errno));
	CHECK(!strcmp(exe, my_exe), "member %d (pid %d): exe %s, was %s", my_index, my_pid, exe,
	      my_exe);
	read_cmdline(cmdline, sizeof(cmdline));
	CHECK(!memcmp(cmdline, my_cmdline, sizeof(cmdline)),
	      "member %d (pid %d): /proc/self/cmdline differs from its value before the dump",
	      my_index, my_pid);
	bad = prog_verify(heap_buf, HEAP_LEN, 100 + my_index);
	CHECK(bad < 0, "member %d (pid %d): heap word %ld differs", my_index, my_pid, bad);
	bad = prog_verify(map_buf, MAP_LEN, 200 + my_index);
	CHECK(bad < 0, "member %d (pid %d): mmap word %ld differs", my_index, my_pid, bad);
	bad = prog_verify(shared_buf, SHARED_LEN, 7);
	CHECK(bad < 0, "member %d (pid %d): inherited word %ld differs", my_index, my_pid, bad);
	tree_check_counter(&counter, &shadow, at_ready, "counter");
}

static void run_member(void);

/* Forks this member's children (if any), each with a pipe back to us. */
static void spawn_kids(void)
{
	int k, p[2], i;
	pid_t parent = getpid();

	if (my_level == LEVELS - 1)
		return;
	for (k = 0; k < NKIDS; k++) {
		if (pipe2(p, O_CLOEXEC))
			prog_fail("pipe: %s", strerror(errno));
		kids[k] = fork();
		if (kids[k] < 0)
			prog_fail("fork: %s", strerror(errno));
		if (kids[k] == 0) {
			tree_die_with_parent(parent);
			for (i = 0; i < nkids; i++)
				close(kid_fds[i]);
			if (up_fd >= 0)
				close(up_fd);
			close(p[0]);
			up_fd = p[1];
			nkids = 0;
			my_index = my_index * NKIDS + 1 + k;
			my_level++;
			run_member();	/* never returns */
		}
		close(p[1]);
		kid_fds[nkids++] = p[0];
	}
}

/* Number of descendants of a member on level `level`. */
static int descendants(int level)
{
	int n = 0, width = 1, l;

	for (l = level + 1; l < LEVELS; l++) {
		width *= NKIDS;
		n += width;
	}
	return n;
}

static void pass_go_down(void)
{
	int k;

	for (k = 0; k < nkids; k++)
		kill(kids[k], SIGUSR1);
}

static void reap_kids(void)
{
	int k, st;

	for (k = 0; k < nkids; k++) {
		if (waitpid(kids[k], &st, 0) != kids[k])
			prog_record_failure("member %d: waitpid %d: %s", my_index, kids[k],
					    strerror(errno));
		else
			CHECK(WIFEXITED(st), "member %d: child %d status %#x", my_index, kids[k], st);
	}
}

/* A non-root member: set up, report ready, count, check, report, exit. */
static void run_member(void)
{
	int want;

	member_setup();
	spawn_kids();
	want = descendants(my_level);
	if (tree_collect(kid_fds, nkids, want, 0, 20000, up_fd, NULL) != want)
		prog_record_failure("member %d: subtree not ready", my_index);
	tree_send_ready(up_fd);
	at_ready = counter;
	tree_count_until_go(&counter, &shadow, 5, 0);
	pass_go_down();
	member_check();
	if (tree_collect(kid_fds, nkids, want, 1, 20000, up_fd, NULL) != want)
		prog_record_failure("member %d: not every descendant reported", my_index);
	reap_kids();
	tree_member_finish(up_fd);
}

int main(int argc, char **argv)
{
	pid_t ready_pids[NMEMBERS], done_pids[NMEMBERS];
	int want = NMEMBERS - 1, n, i, j;

	prog_init(argc, argv, "tree-basic");
	shared_buf = malloc(SHARED_LEN);
	if (!shared_buf)
		prog_fail("no memory");
	prog_fill(shared_buf, SHARED_LEN, 7);
	member_setup();
	spawn_kids();
	n = tree_collect(kid_fds, nkids, want, 0, 20000, -1, ready_pids);
	if (n != want)
		prog_fail("only %d of %d descendants ready: %s", n, want, prog_failure);
	prog_ready();
	at_ready = counter;
	tree_count_until_go(&counter, &shadow, 5, 20);
	pass_go_down();
	member_check();
	n = tree_collect(kid_fds, nkids, want, 1, 20000, -1, done_pids);
	CHECK(n == want, "%d of %d descendants reported", n, want);
	for (i = 0; i < n; i++) {
		for (j = 0; j < want && ready_pids[j] != done_pids[i]; j++)
			;
		CHECK(j < want, "result from pid %d, which was not a member", done_pids[i]);
	}
	reap_kids();
	prog_check_counts();
	prog_finish();
}
