/*
 * mem-madvise: the madvise state of areas comes back: VmFlags of each
 * area compared before the dump and after restore, for MADV_RANDOM (rr),
 * SEQUENTIAL (sr), DONTDUMP (dd), DONTFORK (dc), WIPEONFORK (wf), HUGEPAGE
 * (hg), NOHUGEPAGE (nh), MERGEABLE (mg, when KSM is there), a sealed area
 * (mseal, sl) with contents, and in a forked child an area whose RANDOM
 * and DONTDUMP it undid (MADV_NORMAL, MADV_DODUMP) after inheriting them.
 * A sealed area must still refuse munmap and mprotect after restore.  A
 * MAP_DROPPABLE area (Linux 6.11+, "dp") keeps its flags and contents (the
 * kernel may drop its pages under memory pressure; the test has none).
 */
#include <sys/mman.h>
#include <sys/syscall.h>
#include "tree.h"
#include "mem-vmflags.h"

#define NR_AREAS 10
#define SYS_MSEAL 462

static const struct {
	const char *name;
	int advice; /* -1: mseal */
	const char *flag;
} advs[NR_AREAS] = {
	{ "random", MADV_RANDOM, "rr" },
	{ "sequential", MADV_SEQUENTIAL, "sr" },
	{ "dontdump", MADV_DONTDUMP, "dd" },
	{ "dontfork", MADV_DONTFORK, "dc" },
	{ "wipeonfork", MADV_WIPEONFORK, "wf" },
	{ "hugepage", MADV_HUGEPAGE, "hg" },
	{ "nohugepage", MADV_NOHUGEPAGE, "nh" },
	{ "mergeable", MADV_MERGEABLE, "mg" },
	{ "sealed", -1, "sl" },
	{ "undone in the child", MADV_RANDOM, "rr" },
};

static long psz;
static char *areas[NR_AREAS];
static char before[NR_AREAS][256];
static int have[NR_AREAS];
static char *drop;
static char drop_before[256];

static void record(void)
{
	int i;

	for (i = 0; i < NR_AREAS; i++)
		vmflags_of(areas[i], before[i], sizeof(before[i]));
	if (drop)
		vmflags_of(drop, drop_before, sizeof(drop_before));
}

static void check(const char *who)
{
	char now[256];
	int i;

	for (i = 0; i < NR_AREAS; i++) {
		if (!areas[i] || (!strcmp(who, "C") && advs[i].advice == MADV_DONTFORK))
			continue;
		vmflags_of(areas[i], now, sizeof(now));
		CHECK(!strcmp(now, before[i]), "%s: %s area: VmFlags '%s', were '%s'", who,
		      advs[i].name, now, before[i]);
		CHECK(prog_verify(areas[i], 4 * psz, 10 + i) < 0 ||
			      (!strcmp(who, "C") && advs[i].advice == MADV_WIPEONFORK),
		      "%s: %s area: contents", who, advs[i].name);
	}
	if (drop && strcmp(who, "C")) {
		vmflags_of(drop, now, sizeof(now));
		CHECK(!strcmp(now, drop_before), "%s: droppable area: VmFlags '%s', were '%s'",
		      who, now, drop_before);
		CHECK(prog_verify(drop, 2 * psz, 30) < 0, "%s: droppable area: contents", who);
	}
	if (have[8]) {
		CHECK(mprotect(areas[8], psz, PROT_READ) != 0 && errno == EPERM,
		      "%s: a sealed area could be mprotect()ed", who);
		CHECK(munmap(areas[8], psz) != 0 && errno == EPERM,
		      "%s: a sealed area could be unmapped", who);
	}
}

__attribute__((noreturn)) static void child_main(int up)
{
	madvise(areas[9], 4 * psz, MADV_NORMAL);
	madvise(areas[9], 4 * psz, MADV_DODUMP);
	record();
	CHECK(!vmflags_has(before[9], "rr") && !vmflags_has(before[9], "dd"),
	      "C: advice not undone: %s", before[9]);
	tree_send_ready(up);
	prog_wait_go();
	check("C");
	tree_member_finish(up);
}

int main(int argc, char **argv)
{
	int c2p[2], st, i, r;
	pid_t c;

	prog_init(argc, argv, "mem-madvise");
	psz = sysconf(_SC_PAGESIZE);
	for (i = 0; i < NR_AREAS; i++) {
		/* a PROT_NONE page between areas keeps them apart */
		char *p = mmap(NULL, 5 * psz, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			       -1, 0);

		if (p == MAP_FAILED)
			prog_fail("mmap: %s", strerror(errno));
		mprotect(p + 4 * psz, psz, PROT_NONE);
		areas[i] = p;
		prog_fill(p, 4 * psz, 10 + i);
		if (advs[i].advice < 0)
			r = syscall(SYS_MSEAL, p, 4 * psz, 0);
		else
			r = madvise(p, 4 * psz, advs[i].advice);
		if (r && (errno == EINVAL || errno == ENOSYS)) {
			fprintf(stderr, "mem-madvise: %s not available: %s\n", advs[i].name,
				strerror(errno));
			continue;
		}
		if (r)
			prog_fail("%s: %s", advs[i].name, strerror(errno));
		have[i] = 1;
	}
	madvise(areas[9], 4 * psz, MADV_DONTDUMP);
	drop = mmap(NULL, 2 * psz, PROT_READ | PROT_WRITE, 0x08 /* MAP_DROPPABLE */ | MAP_ANONYMOUS,
		    -1, 0);
	if (drop == MAP_FAILED) {
		fprintf(stderr, "mem-madvise: MAP_DROPPABLE not available: %s\n", strerror(errno));
		drop = NULL;
	} else {
		prog_fill(drop, 2 * psz, 30);
	}
	record();
	CHECK(!drop || vmflags_has(drop_before, "dp"), "no dp in '%s'", drop_before);
	for (i = 0; i < NR_AREAS; i++)
		CHECK(!have[i] || vmflags_has(before[i], advs[i].flag), "%s: no %s in '%s'",
		      advs[i].name, advs[i].flag, before[i]);
	if (pipe2(c2p, O_CLOEXEC))
		prog_fail("pipe: %s", strerror(errno));
	c = fork();
	if (c < 0)
		prog_fail("fork: %s", strerror(errno));
	if (c == 0) {
		tree_die_with_parent(getppid());
		close(c2p[0]);
		child_main(c2p[1]);
	}
	close(c2p[1]);
	if (tree_collect(&c2p[0], 1, 1, 0, 20000, -1, NULL) != 1)
		prog_fail("child not ready: %s", prog_failure);
	prog_ready();
	prog_wait_go();
	kill(c, SIGUSR1);
	check("P");
	CHECK(tree_collect(&c2p[0], 1, 1, 1, 20000, -1, NULL) == 1, "child did not report");
	CHECK(waitpid(c, &st, 0) == c && WIFEXITED(st), "child: status %#x", st);
	prog_finish();
}
