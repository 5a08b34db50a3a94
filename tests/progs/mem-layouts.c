/*
 * mem-layouts: many layouts of mappings, every page checksummed before
 * the dump and compared after restore, in a parent and in a child forked
 * from it (copy-on-write areas differing in both directions).
 *
 * Layouts: adjacent anonymous areas with different protections (split and
 * merged again), an area moved and grown by mremap, MAP_PRIVATE file
 * mappings with COW'd pages, pages written with zeros (the file's bytes
 * must not show through), untouched and read-only pages, a file mapping
 * beyond EOF, MAP_GROWSDOWN, MAP_FIXED over parts of other mappings,
 * areas of a deleted file (private and shared), private anonymous pages
 * never touched vs read (zero page) vs written with zeros, shared
 * anonymous memory written by the child, a THP-aligned area with
 * MADV_HUGEPAGE.
 */
#include <sys/mman.h>
#include <stdbool.h>
#include "tree.h"

#define MAX_AREAS 32

struct area {
	const char *name;
	char *addr;
	size_t len;
	uint64_t *sums; /* one per page */
};

static struct area areas[MAX_AREAS];
static int nr_areas;
static long psz;

static char *map_or_die(void *at, size_t len, int prot, int flags, int fd, off_t off,
			const char *what)
{
	char *p = mmap(at, len, prot, flags, fd, off);

	if (p == MAP_FAILED)
		prog_fail("mmap %s: %s", what, strerror(errno));
	return p;
}

static void add_area(const char *name, char *addr, size_t len)
{
	if (nr_areas == MAX_AREAS)
		prog_fail("too many areas");
	areas[nr_areas].name = name;
	areas[nr_areas].addr = addr;
	areas[nr_areas].len = len;
	areas[nr_areas].sums = calloc(len / psz, sizeof(uint64_t));
	if (!areas[nr_areas].sums)
		prog_fail("calloc");
	nr_areas++;
}

static uint64_t page_sum(const char *p)
{
	const uint64_t *w = (const uint64_t *)p;
	uint64_t h = 0xcbf29ce484222325ULL;
	long i;

	for (i = 0; i < psz / 8; i++)
		h = (h ^ w[i]) * 0x100000001b3ULL;
	return h;
}

/* Checksums every page of every area (record) or compares with the record. */
static void sum_all(bool compare, const char *who)
{
	int i;
	long p;

	for (i = 0; i < nr_areas; i++) {
		for (p = 0; p < (long)(areas[i].len / psz); p++) {
			uint64_t s = page_sum(areas[i].addr + p * psz);

			if (!compare)
				areas[i].sums[p] = s;
			else
				CHECK(areas[i].sums[p] == s, "%s: %s page %ld (%p) differs", who,
				      areas[i].name, p, (void *)(areas[i].addr + p * psz));
		}
	}
}

/* A file of npages pattern pages (seed) in prog_dir(); returns an O_RDWR fd. */
static int pattern_file(const char *name, long npages, uint64_t seed, size_t extra)
{
	char path[4096], *buf = malloc(npages * psz + extra);
	int fd;

	snprintf(path, sizeof(path), "%s/mem-layouts-%d-%s", prog_dir(), getpid(), name);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || !buf)
		prog_fail("create %s: %s", path, strerror(errno));
	prog_fill(buf, npages * psz + extra, seed);
	if (write(fd, buf, npages * psz + extra) != (ssize_t)(npages * psz + extra))
		prog_fail("write %s: %s", path, strerror(errno));
	free(buf);
	unlink(path);
	return fd;
}

/* Same, but the file stays (its name is needed to map it again). */
static int kept_file(const char *name, long npages, uint64_t seed, size_t extra, char *path,
		     size_t size)
{
	char *buf = malloc(npages * psz + extra);
	int fd;

	snprintf(path, size, "%s/mem-layouts-%d-%s", prog_dir(), getpid(), name);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || !buf)
		prog_fail("create %s: %s", path, strerror(errno));
	prog_fill(buf, npages * psz + extra, seed);
	if (write(fd, buf, npages * psz + extra) != (ssize_t)(npages * psz + extra))
		prog_fail("write %s: %s", path, strerror(errno));
	free(buf);
	return fd;
}

static char file_path[4096], eof_path[4096];
static char *anon_split, *moved, *fpriv, *eof_map, *grows, *fixed, *del_priv, *del_shared;
static char *touch, *shared, *thp;

static void setup_anon(void)
{
	char *p;

	anon_split = map_or_die(NULL, 8 * psz, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
				-1, 0, "split");
	prog_fill(anon_split, 8 * psz, 1);
	/* split into three, merge back, then split for good with other prot */
	mprotect(anon_split + 2 * psz, 2 * psz, PROT_READ);
	mprotect(anon_split + 2 * psz, 2 * psz, PROT_READ | PROT_WRITE);
	mprotect(anon_split + 5 * psz, psz, PROT_READ);
	mprotect(anon_split + 7 * psz, psz, PROT_READ | PROT_WRITE | PROT_EXEC);
	add_area("split anon", anon_split, 8 * psz);

	p = map_or_die(NULL, 4 * psz, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0,
		       "to move");
	prog_fill(p, 4 * psz, 2);
	moved = map_or_die(NULL, 16 * psz, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0,
			   "move target");
	moved = mremap(p, 4 * psz, 10 * psz, MREMAP_MAYMOVE | MREMAP_FIXED, moved + 3 * psz);
	if (moved == MAP_FAILED)
		prog_fail("mremap: %s", strerror(errno));
	prog_fill(moved + 7 * psz, psz, 3); /* a page of the grown part */
	add_area("moved anon", moved, 10 * psz);

	grows = map_or_die(NULL, 4 * psz, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS | MAP_GROWSDOWN, -1, 0, "growsdown");
	prog_fill(grows + psz, 3 * psz, 4);
	add_area("growsdown", grows + psz, 3 * psz);

	touch = map_or_die(NULL, 8 * psz, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1,
			   0, "touch");
	(void)*(volatile char *)(touch + psz); /* zero page */
	memset(touch + 2 * psz, 0, psz);	    /* a written zero page */
	prog_fill(touch + 3 * psz, psz, 5);
	prog_fill(touch + 5 * psz, 3 * psz, 6);
	add_area("touched anon", touch, 8 * psz);

	shared = map_or_die(NULL, 8 * psz, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1,
			    0, "shared anon");
	prog_fill(shared, 4 * psz, 7);
	add_area("shared anon", shared, 8 * psz);

	p = map_or_die(NULL, 8 << 20, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0, "thp");
	thp = (char *)(((uintptr_t)p + (2 << 20) - 1) & ~((uintptr_t)(2 << 20) - 1));
	thp = map_or_die(thp, 4 << 20, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0, "thp");
	madvise(thp, 4 << 20, MADV_HUGEPAGE);
	prog_fill(thp, 3 << 20, 8);
	add_area("thp", thp, 4 << 20);
}

static void setup_files(void)
{
	int fd, efd, dfd;

	fd = kept_file("priv", 8, 20, 0, file_path, sizeof(file_path));
	fpriv = map_or_die(NULL, 8 * psz, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0, "file");
	prog_fill(fpriv + psz, psz, 21);     /* COW'd */
	memset(fpriv + 3 * psz, 0, psz);     /* COW'd with zeros */
	memset(fpriv + 4 * psz, 0, 100);     /* COW'd, partly zero */
	(void)*(volatile char *)(fpriv + 6 * psz); /* read only */
	add_area("private file", fpriv, 8 * psz);

	/* 1.5 pages of file mapped as 4: only the first two pages can be read */
	efd = kept_file("eof", 1, 30, psz / 2, eof_path, sizeof(eof_path));
	eof_map = map_or_die(NULL, 4 * psz, PROT_READ | PROT_WRITE, MAP_PRIVATE, efd, 0, "eof");
	memset(eof_map + psz + psz / 2 + 8, 0x5a, 64); /* beyond EOF, inside the page */
	add_area("file beyond EOF", eof_map, 2 * psz);

	fixed = map_or_die(NULL, 8 * psz, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1,
			   0, "fixed base");
	prog_fill(fixed, 8 * psz, 40);
	map_or_die(fixed + 2 * psz, 2 * psz, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_FIXED, fd,
		   4 * psz, "fixed file");
	fixed[2 * psz + 5] = 'x';
	map_or_die(fixed + 6 * psz, psz, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0, "fixed anon");
	add_area("fixed over", fixed, 8 * psz);
	close(fd);
	close(efd);

	dfd = pattern_file("deleted", 6, 50, 0);
	del_priv = map_or_die(NULL, 6 * psz, PROT_READ | PROT_WRITE, MAP_PRIVATE, dfd, 0,
			      "deleted private");
	prog_fill(del_priv + 2 * psz, psz, 51);
	memset(del_priv + 4 * psz, 0, psz);
	add_area("deleted private", del_priv, 6 * psz);
	del_shared = map_or_die(NULL, 6 * psz, PROT_READ | PROT_WRITE, MAP_SHARED, dfd, 0,
				"deleted shared");
	prog_fill(del_shared + psz, psz, 52);
	add_area("deleted shared", del_shared, 6 * psz);
	close(dfd);
}

/* The child makes its copies differ from the parent's. */
static void child_changes(void)
{
	memset(fpriv + psz, 0, psz);	  /* parent: pattern; child: zeros */
	memset(fpriv + 5 * psz, 0, psz);  /* parent: file; child: zeros */
	prog_fill(fpriv + 7 * psz, psz, 60);
	memset(touch + 3 * psz, 0, psz);  /* parent: pattern; child: zeros */
	memset(del_priv + 2 * psz, 0, psz);
	prog_fill(shared + 5 * psz, psz, 61);
	memset(anon_split, 0, psz);
	prog_fill(thp + (1 << 20), psz, 62);
}

__attribute__((noreturn)) static void child_main(int up)
{
	child_changes();
	sum_all(false, "child");
	tree_send_ready(up);
	prog_wait_go();
	sum_all(true, "child");
	tree_member_finish(up);
}

int main(int argc, char **argv)
{
	int c2p[2], st;
	pid_t c;

	prog_init(argc, argv, "mem-layouts");
	psz = sysconf(_SC_PAGESIZE);
	setup_anon();
	setup_files();
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
	sum_all(false, "parent"); /* after the child wrote the shared area */
	prog_ready();
	prog_wait_go();
	kill(c, SIGUSR1);
	sum_all(true, "parent");
	CHECK(tree_collect(&c2p[0], 1, 1, 1, 20000, -1, NULL) == 1, "child did not report");
	CHECK(waitpid(c, &st, 0) == c && WIFEXITED(st), "child: status %#x", st);
	unlink(file_path);
	unlink(eof_path);
	prog_finish();
}
