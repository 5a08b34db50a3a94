/*
 * shared-mem: memory shared between a parent P and its child C.
 *
 *   anon   1 MiB MAP_SHARED|MAP_ANONYMOUS, mapped before fork
 *   memfd  1 MiB memfd mapped MAP_SHARED by P before fork (C inherits it)
 *          and mapped a second time by C on its own
 *   sysv   1 MiB SysV shm segment attached by P before fork (C inherits the
 *          attachment), IPC_RMID at once so nothing leaks
 *   big    64 MiB MAP_PRIVATE anonymous, written by P before fork and never
 *          written after: its pages are shared copy-on-write
 *
 * Each shared area holds 4 quarters: [0] written by P before fork, [1] by C
 * before "ready", [2] by P after "go", [3] by C after "go" (after P's write,
 * in sequence over a pipe); both check every quarter they expect to see,
 * C through both of its memfd mappings.  Then each reads its own Rss and
 * Pss of `big` from /proc/self/smaps (and the totals from smaps_rollup,
 * written to OUTFILE as "smaps ..." lines) and FAILS unless Pss is clearly
 * below Rss (Pss <= 3/4 Rss; 1/2 when the pages are shared by the two):
 * if restore duplicated the buffer, Pss equals Rss.
 */
#include <sys/mman.h>
#include <sys/shm.h>
#include "tree.h"

#define AREA_LEN (1024 * 1024)
#define Q (AREA_LEN / 4)
#define BIG_LEN (64UL * 1024 * 1024)
#define NAREAS 3

static char *area[NAREAS];	/* anon, memfd, sysv (in P; C's inherited views) */
static char *memfd_own;		/* C's own second mapping of the memfd */
static uint64_t *big;
static const char *area_name[NAREAS] = { "shared anon", "memfd", "sysv shm" };
static int memfd;

static void fill_quarter(int q, uint64_t seed_base)
{
	int a;

	for (a = 0; a < NAREAS; a++)
		prog_fill(area[a] + q * Q, Q, seed_base + a);
}

static void check_quarter(const char *who, int q, uint64_t seed_base)
{
	long bad;
	int a;

	for (a = 0; a < NAREAS; a++) {
		bad = prog_verify(area[a] + q * Q, Q, seed_base + a);
		CHECK(bad < 0, "%s: %s quarter %d word %ld differs", who, area_name[a], q, bad);
	}
	if (memfd_own) {
		bad = prog_verify(memfd_own + q * Q, Q, seed_base + 1);
		CHECK(bad < 0, "%s: own memfd mapping quarter %d word %ld differs", who, q, bad);
	}
}

static void setup_areas(void)
{
	int id;

	area[0] = mmap(NULL, AREA_LEN, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	memfd = memfd_create("vx-shared-mem", MFD_CLOEXEC);
	if (memfd < 0 || ftruncate(memfd, AREA_LEN))
		prog_fail("memfd: %s", strerror(errno));
	area[1] = mmap(NULL, AREA_LEN, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
	id = shmget(IPC_PRIVATE, AREA_LEN, IPC_CREAT | 0600);
	if (id < 0)
		prog_fail("shmget: %s", strerror(errno));
	area[2] = shmat(id, NULL, 0);
	shmctl(id, IPC_RMID, NULL);
	big = mmap(NULL, BIG_LEN, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (area[0] == MAP_FAILED || area[1] == MAP_FAILED || area[2] == (void *)-1 ||
	    big == MAP_FAILED)
		prog_fail("mmap/shmat: %s", strerror(errno));
	fill_quarter(0, 10);
	prog_fill(big, BIG_LEN, 14);
}

/* Rss and Pss (kB) of the mapping starting at addr, from /proc/self/smaps. */
static int smaps_of(void *addr, unsigned long *rss, unsigned long *pss)
{
	char line[512], head[32];
	int in = 0, found = 0;
	FILE *f = fopen("/proc/self/smaps", "re");

	if (!f)
		return -1;
	snprintf(head, sizeof(head), "%lx-", (unsigned long)addr);
	while (fgets(line, sizeof(line), f)) {
		if ((line[0] >= '0' && line[0] <= '9') || (line[0] >= 'a' && line[0] <= 'f')) {
			in = !strncmp(line, head, strlen(head));
			found |= in;
			continue;
		}
		if (!in)
			continue;
		sscanf(line, "Rss: %lu kB", rss);
		sscanf(line, "Pss: %lu kB", pss);
	}
	fclose(f);
	return found ? 0 : -1;
}

static void rollup(unsigned long *rss, unsigned long *pss)
{
	char line[256];
	FILE *f = fopen("/proc/self/smaps_rollup", "re");

	*rss = *pss = 0;
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		sscanf(line, "Rss: %lu kB", rss);
		sscanf(line, "Pss: %lu kB", pss);
	}
	fclose(f);
}

/* Checks big is intact and still shared copy-on-write (Pss well below Rss). */
static void check_big(const char *who)
{
	unsigned long rss = 0, pss = 0, trss, tpss;
	long bad = prog_verify(big, BIG_LEN, 14);

	CHECK(bad < 0, "%s: 64 MiB buffer word %ld differs", who, bad);
	if (smaps_of(big, &rss, &pss)) {
		prog_record_failure("%s: 64 MiB buffer not found in smaps", who);
		return;
	}
	rollup(&trss, &tpss);
	prog_say("smaps %s pid %d: buffer Rss %lu kB Pss %lu kB; total Rss %lu kB Pss %lu kB\n",
		 who, getpid(), rss, pss, trss, tpss);
	CHECK(rss >= BIG_LEN / 1024 * 9 / 10, "%s: buffer Rss %lu kB, expected ~%lu", who, rss,
	      BIG_LEN / 1024);
	CHECK(pss * 4 <= rss * 3,
	      "%s: buffer Pss %lu kB not clearly below Rss %lu kB: copy-on-write sharing lost",
	      who, pss, rss);
}

static char read_byte(int fd)
{
	char c = 0;

	if (read(fd, &c, 1) != 1)
		prog_record_failure("C: pipe from P: %s", strerror(errno));
	return c;
}

__attribute__((noreturn)) static void child_main(int p2c, int up)
{
	memfd_own = mmap(NULL, AREA_LEN, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
	if (memfd_own == MAP_FAILED)
		prog_fail("C: mmap memfd: %s", strerror(errno));
	check_quarter("C before ready", 0, 10);
	fill_quarter(1, 20);
	tree_send_ready(up);
	prog_wait_go();
	check_quarter("C", 0, 10);
	check_quarter("C", 1, 20);
	CHECK(read_byte(p2c) == 'w', "C: no 'written' from P");
	check_quarter("C", 2, 30);
	fill_quarter(3, 40);
	tree_send(up, TREE_READY, "wrote");
	check_big("C");
	CHECK(read_byte(p2c) == 'd', "C: no 'done' from P");
	tree_member_finish(up);
}

int main(int argc, char **argv)
{
	int p2c[2], c2p[2], st;
	pid_t c;

	prog_init(argc, argv, "shared-mem");
	setup_areas();
	if (pipe2(p2c, O_CLOEXEC) || pipe2(c2p, O_CLOEXEC))
		prog_fail("pipe: %s", strerror(errno));
	c = fork();
	if (c < 0)
		prog_fail("fork: %s", strerror(errno));
	if (c == 0) {
		tree_die_with_parent(getppid());
		close(p2c[1]);
		close(c2p[0]);
		child_main(p2c[0], c2p[1]);
	}
	close(p2c[0]);
	close(c2p[1]);
	if (tree_collect(&c2p[0], 1, 1, 0, 20000, -1, NULL) != 1)
		prog_fail("child not ready: %s", prog_failure);
	check_quarter("P before ready", 1, 20);
	prog_ready();
	prog_wait_go();

	kill(c, SIGUSR1);
	check_quarter("P", 0, 10);
	check_quarter("P", 1, 20);
	fill_quarter(2, 30);
	if (write(p2c[1], "w", 1) != 1)
		prog_record_failure("P: pipe to C: %s", strerror(errno));
	CHECK(tree_collect(&c2p[0], 1, 1, 0, 20000, -1, NULL) == 1, "C did not write");
	check_quarter("P", 3, 40);
	check_big("P");
	if (write(p2c[1], "d", 1) != 1)
		prog_record_failure("P: pipe to C: %s", strerror(errno));
	CHECK(tree_collect(&c2p[0], 1, 1, 1, 20000, -1, NULL) == 1, "C did not report");
	CHECK(waitpid(c, &st, 0) == c && WIFEXITED(st), "C: status %#x", st);
	prog_finish();
}
