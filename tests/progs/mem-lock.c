/*
 * mem-lock: locked memory comes back locked.
 *
 * Parent: half of an area mlock()ed (the kernel splits it), an area
 * mlock2(MLOCK_ONFAULT)ed with two pages touched, then
 * mlockall(MCL_FUTURE | MCL_ONFAULT) (only areas mapped later are locked,
 * on fault).  Child: mlockall(MCL_CURRENT | MCL_FUTURE) as root, then
 * RLIMIT_MEMLOCK 0 and uid/gid 1 (it could lock nothing itself now).
 * After restore each checks the VmFlags of its areas and VmLck against
 * what they were, and that an area mapped now is locked as before.
 */
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include "tree.h"
#include "mem-vmflags.h"

#ifndef MLOCK_ONFAULT
#define MLOCK_ONFAULT 1
#endif
#ifndef MCL_ONFAULT
#define MCL_ONFAULT 4
#endif

#define NR_AREAS 5

static long psz;
static char *addrs[NR_AREAS];
static char flags_before[NR_AREAS][256];
static long lck_before;
static int over; /* C1 has no room under RLIMIT_MEMLOCK (the dump refuses it) */

static char *map_rw(size_t len)
{
	char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		prog_fail("mmap: %s", strerror(errno));
	return p;
}

static void record(void)
{
	int i;

	for (i = 0; i < NR_AREAS; i++)
		if (addrs[i])
			vmflags_of(addrs[i], flags_before[i], sizeof(flags_before[i]));
	lck_before = vm_locked_kb();
}

/* Areas, VmLck, and an area mapped now: locked iff want_lo, on fault iff want_lf. */
static void check(const char *who, int want_lo, int want_lf)
{
	char now[256];
	char *fresh;
	int i;

	for (i = 0; i < NR_AREAS; i++) {
		if (!addrs[i])
			continue;
		vmflags_of(addrs[i], now, sizeof(now));
		CHECK(!strcmp(now, flags_before[i]), "%s: area %d VmFlags '%s', were '%s'", who,
		      i, now, flags_before[i]);
	}
	CHECK(vm_locked_kb() == lck_before, "%s: VmLck %ld kB, was %ld kB", who, vm_locked_kb(),
	      lck_before);
	fresh = mmap(NULL, psz, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (fresh == MAP_FAILED && errno == EAGAIN && over && !strcmp(who, "C1"))
		return; /* a locked area would be over its limit: locked indeed */
	CHECK(fresh != MAP_FAILED, "%s: mmap after restore: %s", who, strerror(errno));
	if (fresh == MAP_FAILED)
		return;
	vmflags_of(fresh, now, sizeof(now));
	CHECK(vmflags_has(now, "lo") == want_lo && vmflags_has(now, "lf") == want_lf,
	      "%s: a new area has VmFlags '%s' (mlockall(MCL_FUTURE) lost or wrong)", who, now);
	munmap(fresh, psz);
}

/* Gives up root: RLIMIT_MEMLOCK of limit bytes, uid and gid 1. */
static void drop_privileges(const char *who, rlim_t limit)
{
	struct rlimit rl = { limit, limit };

	if (setrlimit(RLIMIT_MEMLOCK, &rl) || setresgid(1, 1, 1) || setresuid(1, 1, 1))
		prog_fail("%s: drop privileges: %s", who, strerror(errno));
}

/*
 * C1: everything locked, and new areas, by mlockall as root; then uid 1
 * with room for one more page under RLIMIT_MEMLOCK (over: none, which the
 * dump refuses: it cannot tell MCL_ONFAULT then).
 */
__attribute__((noreturn)) static void child_all(int up)
{
	if (mlockall(MCL_CURRENT | MCL_FUTURE))
		prog_fail("C1: mlockall: %s", strerror(errno));
	addrs[3] = map_rw(4 * psz); /* locked by MCL_FUTURE, populated */
	drop_privileges("C1", over ? 0 : vm_locked_kb() * 1024 + 16 * psz);
	record();
	CHECK(vmflags_has(flags_before[3], "lo"), "C1: area not locked before the dump: %s",
	      flags_before[3]);
	tree_send_ready(up);
	prog_wait_go();
	check("C1", 1, 0);
	tree_member_finish(up);
}

/* C2: one area locked as root, then uid 1 and RLIMIT_MEMLOCK 0: over its limit. */
__attribute__((noreturn)) static void child_over(int up)
{
	addrs[3] = map_rw(4 * psz);
	prog_fill(addrs[3], 4 * psz, 2);
	if (mlock(addrs[3], 4 * psz))
		prog_fail("C2: mlock: %s", strerror(errno));
	drop_privileges("C2", 0);
	CHECK(mlock(addrs[0], psz) != 0, "C2: could still lock");
	record();
	tree_send_ready(up);
	prog_wait_go();
	check("C2", 0, 0);
	CHECK(prog_verify(addrs[3], 4 * psz, 2) < 0, "C2: contents of the locked area");
	tree_member_finish(up);
}

static pid_t start_child(int up_rd, int up, int which)
{
	pid_t c = fork();

	if (c < 0)
		prog_fail("fork: %s", strerror(errno));
	if (c == 0) {
		tree_die_with_parent(getppid());
		close(up_rd);
		if (which == 1)
			child_all(up);
		child_over(up);
	}
	return c;
}

int main(int argc, char **argv)
{
	int c2p[2], st;
	pid_t c[2];

	prog_init(argc, argv, "mem-lock");
	over = argc > 2 && !strcmp(argv[2], "over");
	psz = sysconf(_SC_PAGESIZE);
	addrs[0] = map_rw(8 * psz);
	prog_fill(addrs[0], 8 * psz, 1);
	if (mlock(addrs[0] + 4 * psz, 4 * psz))
		prog_fail("mlock: %s", strerror(errno));
	addrs[1] = addrs[0] + 4 * psz;
	addrs[2] = map_rw(8 * psz);
	if (syscall(SYS_mlock2, addrs[2], 8 * psz, MLOCK_ONFAULT))
		prog_fail("mlock2: %s", strerror(errno));
	addrs[2][0] = 1;
	addrs[2][5 * psz] = 2;
	if (pipe2(c2p, O_CLOEXEC))
		prog_fail("pipe: %s", strerror(errno));
	c[0] = start_child(c2p[0], c2p[1], 1);
	c[1] = start_child(c2p[0], c2p[1], 2);
	close(c2p[1]);
	if (tree_collect(&c2p[0], 1, 2, 0, 20000, -1, NULL) != 2)
		prog_fail("children not ready: %s", prog_failure);
	if (mlockall(MCL_FUTURE | MCL_ONFAULT))
		prog_fail("mlockall: %s", strerror(errno));
	addrs[4] = map_rw(2 * psz); /* locked on fault by MCL_FUTURE | MCL_ONFAULT */
	addrs[4][0] = 3;
	record();
	CHECK(vmflags_has(flags_before[1], "lo") && !vmflags_has(flags_before[0], "lo") &&
		      vmflags_has(flags_before[2], "lf") && vmflags_has(flags_before[4], "lf"),
	      "not locked as set up before the dump");
	prog_ready();
	prog_wait_go();
	kill(c[0], SIGUSR1);
	kill(c[1], SIGUSR1);
	check("P", 1, 1);
	CHECK(prog_verify(addrs[0], 8 * psz, 1) < 0, "P: contents of the half-locked area");
	CHECK(tree_collect(&c2p[0], 1, 2, 1, 20000, -1, NULL) == 2, "children did not report");
	CHECK(waitpid(c[0], &st, 0) == c[0] && WIFEXITED(st), "C1: status %#x", st);
	CHECK(waitpid(c[1], &st, 0) == c[1] && WIFEXITED(st), "C2: status %#x", st);
	prog_finish();
}
