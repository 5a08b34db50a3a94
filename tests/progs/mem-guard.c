/*
 * mem-guard: guard regions (MADV_GUARD_INSTALL, Linux 6.13+) come back
 * where they were, and the pages around them keep their data.
 *
 * Parent: an anonymous area with two guard ranges between written pages,
 * a private file mapping with one guard, and an area whose guard was
 * removed again (VmFlags still say "gu").  Child (forked): inherits the
 * guards, removes one of the parent's, installs one of its own.  After
 * restore each checks, page by page, that a guard page faults (a read
 * through process_vm_readv fails with EFAULT, and a touch in a forked
 * helper dies of SIGSEGV), that every other page holds its pattern (or
 * zeros where a guard was removed), and the areas' VmFlags.
 */
#include <sys/mman.h>
#include <sys/uio.h>
#include "tree.h"
#include "mem-vmflags.h"

#ifndef MADV_GUARD_INSTALL
#define MADV_GUARD_INSTALL 102
#define MADV_GUARD_REMOVE 103
#endif

#define PAGES 16

static long psz;
static char *anon, *filemap, *removed;
static char vmf_before[3][256];

/* Page states: 'd' data (pattern seed 1 + area*100 + page), 'g' guard, 'z' zero, 'f' file. */
static char anon_pages[PAGES + 1] = "ddggddzdgdddddzd";
static char file_pages[9] = "fdfgffdf";
static char removed_pages[5] = "dzdd";

static int guard_install(char *p, long n)
{
	return madvise(p, n * psz, MADV_GUARD_INSTALL);
}

/* Does a read of the page fail with EFAULT (process_vm_readv on ourselves)? */
static int read_faults(const char *p)
{
	char buf[8];
	struct iovec l = { buf, sizeof(buf) }, r = { (void *)p, sizeof(buf) };

	return process_vm_readv(getpid(), &l, 1, &r, 1, 0) < 0 && errno == EFAULT;
}

/* Does touching the page kill a forked helper with SIGSEGV? */
static int touch_segv(const char *p)
{
	pid_t h = fork();
	int st;

	if (h == 0) {
		(void)*(volatile const char *)p;
		_exit(0);
	}
	return h > 0 && waitpid(h, &st, 0) == h && WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV;
}

static void check_area(const char *who, const char *name, char *a, const char *st, int seed)
{
	long i;

	for (i = 0; st[i]; i++) {
		char *p = a + i * psz;

		switch (st[i]) {
		case 'g':
			CHECK(read_faults(p), "%s: %s page %ld: not a guard (read works)", who,
			      name, i);
			CHECK(touch_segv(p), "%s: %s page %ld: touching it does not fault", who,
			      name, i);
			break;
		case 'd':
			CHECK(prog_verify(p, psz, seed + i) < 0, "%s: %s page %ld: data lost", who,
			      name, i);
			break;
		case 'z':
			CHECK(!read_faults(p) && !p[0] && !memcmp(p, p + 1, psz - 1),
			      "%s: %s page %ld: not a plain zero page", who, name, i);
			break;
		case 'f':
			CHECK(prog_verify(p, psz, 500 + i) < 0, "%s: %s page %ld: file bytes lost",
			      who, name, i);
			break;
		}
	}
}

static void fill_area(char *a, const char *st, int seed)
{
	long i;

	for (i = 0; st[i]; i++)
		if (st[i] == 'd')
			prog_fill(a + i * psz, psz, seed + i);
}

static void install_area(char *a, const char *st, const char *who)
{
	long i;

	for (i = 0; st[i]; i++)
		if (st[i] == 'g' && guard_install(a + i * psz, 1))
			prog_fail("%s: MADV_GUARD_INSTALL: %s", who, strerror(errno));
}

static void record(void)
{
	vmflags_of(anon, vmf_before[0], sizeof(vmf_before[0]));
	vmflags_of(filemap, vmf_before[1], sizeof(vmf_before[1]));
	vmflags_of(removed, vmf_before[2], sizeof(vmf_before[2]));
}

static void check_all(const char *who)
{
	char now[256];
	char *const a[3] = { anon, filemap, removed };
	int i;

	check_area(who, "anon", anon, anon_pages, 100);
	check_area(who, "file", filemap, file_pages, 200);
	check_area(who, "removed", removed, removed_pages, 300);
	for (i = 0; i < 3; i++) {
		vmflags_of(a[i], now, sizeof(now));
		CHECK(!strcmp(now, vmf_before[i]), "%s: area %d VmFlags '%s', were '%s'", who, i,
		      now, vmf_before[i]);
	}
}

/* A file of 8 pages, page i filled with seed 500 + i, mapped privately. */
static char *map_file(void)
{
	char path[8192];
	char *p;
	int fd, i;

	snprintf(path, sizeof(path), "%s/mem-guard-%d", prog_dir(), getpid());
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || ftruncate(fd, 8 * psz))
		prog_fail("create %s: %s", path, strerror(errno));
	p = mmap(NULL, 8 * psz, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		prog_fail("mmap %s: %s", path, strerror(errno));
	for (i = 0; i < 8; i++)
		prog_fill(p + i * psz, psz, 500 + i);
	munmap(p, 8 * psz);
	p = mmap(NULL, 8 * psz, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	if (p == MAP_FAILED)
		prog_fail("mmap %s: %s", path, strerror(errno));
	close(fd);
	unlink(path);
	return p;
}

__attribute__((noreturn)) static void child_main(int up)
{
	/* the parent's guard at page 2 goes, one at page 11 comes */
	if (madvise(anon + 2 * psz, psz, MADV_GUARD_REMOVE) || guard_install(anon + 11 * psz, 1))
		prog_fail("C: guard changes: %s", strerror(errno));
	anon_pages[2] = 'z';
	anon_pages[11] = 'g';
	record();
	tree_send_ready(up);
	prog_wait_go();
	check_all("C");
	tree_member_finish(up);
}

int main(int argc, char **argv)
{
	int c2p[2], st;
	pid_t c;

	prog_init(argc, argv, "mem-guard");
	psz = sysconf(_SC_PAGESIZE);
	anon = mmap(NULL, PAGES * psz, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	removed = mmap(NULL, 4 * psz, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (anon == MAP_FAILED || removed == MAP_FAILED)
		prog_fail("mmap: %s", strerror(errno));
	filemap = map_file();
	fill_area(anon, anon_pages, 100);
	fill_area(filemap, file_pages, 200);
	fill_area(removed, removed_pages, 300);
	install_area(anon, anon_pages, "P");
	install_area(filemap, file_pages, "P");
	if (guard_install(removed + psz, 1) || madvise(removed + psz, psz, MADV_GUARD_REMOVE))
		prog_fail("guard install/remove: %s", strerror(errno));
	record();
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
	check_all("P");
	CHECK(tree_collect(&c2p[0], 1, 1, 1, 20000, -1, NULL) == 1, "child did not report");
	CHECK(waitpid(c, &st, 0) == c && WIFEXITED(st), "child: status %#x", st);
	prog_finish();
}
