/*
 * memory: patterns in every kind of mapping, checked after restore for
 * contents, addresses and protections.
 *
 * Areas: private anon (small, and a big sparse one with present all-zero
 * pages), shared anon, private file mapping with COW-modified pages, shared
 * file mapping (still backed by its file), read-only, PROT_NONE (empty and
 * with contents), heap (malloc small and large, sbrk), .data/.bss, stack.
 */
#include <sys/mman.h>
#include <sys/prctl.h>
#include "prog.h"

#ifndef PR_SET_VMA
#define PR_SET_VMA 0x53564d41
#define PR_SET_VMA_ANON_NAME 0
#endif

#define BIG_LEN (128UL << 20)
#define FILE_PAGES 4

struct area {
	const char *name;
	char *addr;
	size_t len;
	const char *perms;	/* as in /proc/self/maps, e.g. "rw-p" */
};

static struct area areas[16];
static int nr_areas;
static long psz;

static uint64_t data_words[512] = { 1 };	/* .data */
static uint64_t bss_words[4096];		/* .bss */

static void add_area(const char *name, void *addr, size_t len, const char *perms)
{
	areas[nr_areas++] = (struct area){ name, addr, len, perms };
}

static char *map_or_die(size_t len, int prot, int flags, int fd, const char *what)
{
	char *p = mmap(NULL, len, prot, flags, fd, 0);

	if (p == MAP_FAILED)
		prog_fail("mmap %s: %s", what, strerror(errno));
	return p;
}

/* Every area must lie inside one line of /proc/self/maps with its perms. */
static void check_layout(void)
{
	static char maps[1 << 20];
	unsigned long s, e;
	char perms[8], *line;
	int i, found;

	if (prog_read_file("/proc/self/maps", maps, sizeof(maps)) < 0)
		prog_fail("read /proc/self/maps: %s", strerror(errno));
	for (i = 0; i < nr_areas; i++) {
		found = 0;
		for (line = maps; line && *line; line = strchr(line, '\n'), line = line ? line + 1 : NULL) {
			if (sscanf(line, "%lx-%lx %7s", &s, &e, perms) != 3)
				continue;
			if (s <= (unsigned long)areas[i].addr &&
			    (unsigned long)areas[i].addr + areas[i].len <= e) {
				found = 1;
				CHECK(!strcmp(perms, areas[i].perms), "%s at %p: perms %s, expected %s",
				      areas[i].name, (void *)areas[i].addr, perms, areas[i].perms);
				break;
			}
		}
		CHECK(found, "%s: no mapping at %p+%zu after restore", areas[i].name,
		      (void *)areas[i].addr, areas[i].len);
	}
}

/* Big sparse area: every 16th page written, every 64th then zeroed again. */
static void setup_big(char *big)
{
	size_t i, pages = BIG_LEN / psz;

	for (i = 0; i < pages; i += 16) {
		prog_fill(big + i * psz, psz, 1000 + i);
		if (i % 64 == 0)
			memset(big + i * psz, 0, psz);
	}
}

static void check_big(const char *big)
{
	static const char zero[65536];
	size_t i, pages = BIG_LEN / psz;
	long bad;

	for (i = 0; i < pages; i++) {
		if (i % 16 == 0 && i % 64 != 0) {
			bad = prog_verify(big + i * psz, psz, 1000 + i);
			CHECK(bad < 0, "big anon page %zu word %ld differs", i, bad);
		} else {
			CHECK(!memcmp(big + i * psz, zero, psz), "big anon page %zu not zero", i);
		}
	}
}

/* Creates a file of FILE_PAGES pages of pattern seed; returns an fd. */
static int make_file(const char *tag, uint64_t seed)
{
	char path[4200], *buf = malloc(FILE_PAGES * psz);
	int fd;

	snprintf(path, sizeof(path), "%s/memory-%s.%d", prog_dir(), tag, getpid());
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || !buf)
		prog_fail("create %s: %s", path, strerror(errno));
	prog_fill(buf, FILE_PAGES * psz, seed);
	if (pwrite(fd, buf, FILE_PAGES * psz, 0) != FILE_PAGES * psz)
		prog_fail("write %s: %s", path, strerror(errno));
	free(buf);
	return fd;
}

static int named_ok;	/* the kernel names anonymous areas */

struct maps {
	char *small, *big, *shanon, *privfile, *shfile, *ro, *none_empty, *none_full;
	char *heap_small, *heap_large, *brk_area, *named;
	int privfd, shfd;
};

static void setup(struct maps *m)
{
	int rw = PROT_READ | PROT_WRITE, pa = MAP_PRIVATE | MAP_ANONYMOUS;

	m->small = map_or_die(16 * psz, rw, pa, -1, "small");
	prog_fill(m->small, 16 * psz, 1);
	m->big = map_or_die(BIG_LEN, rw, pa | MAP_NORESERVE, -1, "big");
	setup_big(m->big);
	m->shanon = map_or_die(8 * psz, rw, MAP_SHARED | MAP_ANONYMOUS, -1, "shared anon");
	prog_fill(m->shanon, 8 * psz, 3);

	m->privfd = make_file("private", 4);
	m->privfile = map_or_die(FILE_PAGES * psz, rw, MAP_PRIVATE, m->privfd, "private file");
	prog_fill(m->privfile + 1 * psz, psz, 41);	/* COW pages 1 and 3 */
	prog_fill(m->privfile + 3 * psz, psz, 43);
	m->shfd = make_file("shared", 5);
	m->shfile = map_or_die(FILE_PAGES * psz, rw, MAP_SHARED, m->shfd, "shared file");
	prog_fill(m->shfile + 2 * psz, psz, 52);	/* written through to the file */

	m->ro = map_or_die(4 * psz, rw, pa, -1, "read-only");
	prog_fill(m->ro, 4 * psz, 6);
	mprotect(m->ro, 4 * psz, PROT_READ);
	m->none_empty = map_or_die(4 * psz, PROT_NONE, pa, -1, "prot-none");
	m->none_full = map_or_die(4 * psz, rw, pa, -1, "prot-none full");
	prog_fill(m->none_full, 4 * psz, 7);
	mprotect(m->none_full, 4 * psz, PROT_NONE);

	m->named = map_or_die(4 * psz, rw, pa, -1, "named anon");
	prog_fill(m->named, 4 * psz, 14);
	/* EINVAL: kernel without CONFIG_ANON_VMA_NAME; nothing to check then */
	named_ok = !prctl(PR_SET_VMA, PR_SET_VMA_ANON_NAME, m->named, 4 * psz, "vxcr-test");
	if (!named_ok && errno != EINVAL)
		prog_fail("PR_SET_VMA_ANON_NAME: %s", strerror(errno));

	m->heap_small = malloc(1000 * 8);
	m->heap_large = malloc(4 << 20);	/* mmap'ed by malloc */
	m->brk_area = sbrk(4 * psz);
	if (!m->heap_small || !m->heap_large || m->brk_area == (void *)-1)
		prog_fail("heap allocation failed");
	prog_fill(m->heap_small, 1000 * 8, 8);
	prog_fill(m->heap_large, 4 << 20, 9);
	prog_fill(m->brk_area, 4 * psz, 10);
	prog_fill(data_words, sizeof(data_words), 11);
	prog_fill(bss_words, sizeof(bss_words), 12);

	add_area("small anon", m->small, 16 * psz, "rw-p");
	add_area("big anon", m->big, BIG_LEN, "rw-p");
	add_area("shared anon", m->shanon, 8 * psz, "rw-s");
	add_area("private file", m->privfile, FILE_PAGES * psz, "rw-p");
	add_area("shared file", m->shfile, FILE_PAGES * psz, "rw-s");
	add_area("read-only", m->ro, 4 * psz, "r--p");
	add_area("prot-none", m->none_empty, 4 * psz, "---p");
	add_area("prot-none full", m->none_full, 4 * psz, "---p");
	add_area("brk", m->brk_area, 4 * psz, "rw-p");
	add_area("malloc large", m->heap_large, 4 << 20, "rw-p");
	add_area("named anon", m->named, 4 * psz, "rw-p");
}

#define VERIFY(p, len, seed, what)                                             \
	do {                                                                   \
		long bad_ = prog_verify(p, len, seed);                         \
		CHECK(bad_ < 0, "%s: word %ld differs", what, bad_);           \
	} while (0)

static void check_files(struct maps *m)
{
	char *buf = malloc(psz);

	VERIFY(m->privfile, psz, 4, "private file page 0");
	VERIFY(m->privfile + 1 * psz, psz, 41, "private file COW page 1");
	VERIFY(m->privfile + 3 * psz, psz, 43, "private file COW page 3");
	/* untouched page 2 must still equal the file */
	CHECK(pread(m->privfd, buf, psz, 2 * psz) == psz &&
	      !memcmp(buf, m->privfile + 2 * psz, psz), "private file page 2 differs from file");
	CHECK(pread(m->privfd, buf, psz, 1 * psz) == psz &&
	      memcmp(buf, m->privfile + 1 * psz, psz), "COW page 1 leaked into the file");

	VERIFY(m->shfile + 2 * psz, psz, 52, "shared file page 2");
	CHECK(pread(m->shfd, buf, psz, 2 * psz) == psz && !memcmp(buf, m->shfile + 2 * psz, psz),
	      "shared file page 2 differs from the file");
	m->shfile[3 * psz] = 0x5a;	/* still shared with the file? */
	CHECK(pread(m->shfd, buf, 1, 3 * psz) == 1 && buf[0] == 0x5a,
	      "shared file mapping no longer writes through to the file");
	free(buf);
}

/* The [anon:NAME] set with PR_SET_VMA_ANON_NAME is still on the area. */
static void check_anon_name(const void *addr)
{
	char line[512], want[64];
	int found = 0;
	FILE *f = fopen("/proc/self/maps", "r");

	snprintf(want, sizeof(want), "%lx-", (unsigned long)addr);
	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, want, strlen(want)))
			found = strstr(line, "[anon:vxcr-test]") != NULL;
	if (f)
		fclose(f);
	CHECK(found, "area %p lost its name [anon:vxcr-test]", addr);
}

/* brk() still extends the heap after a restore (mm fields came back). */
static void check_heap_grows(void)
{
	char *more = sbrk(8 * psz);

	CHECK(more != (void *)-1, "sbrk after restore: %s", strerror(errno));
	if (more != (void *)-1) {
		memset(more, 0x77, 8 * psz);
		CHECK(more[8 * psz - 1] == 0x77, "new heap pages not writable");
	}
}

static void check_all(struct maps *m, const uint64_t *stack_words, size_t n,
		      void *brk_before)
{
	check_layout();
	VERIFY(m->small, 16 * psz, 1, "small anon");
	check_big(m->big);
	VERIFY(m->shanon, 8 * psz, 3, "shared anon");
	check_files(m);
	VERIFY(m->ro, 4 * psz, 6, "read-only area");
	CHECK(mprotect(m->none_full, 4 * psz, PROT_READ) == 0, "mprotect prot-none: %s",
	      strerror(errno));
	VERIFY(m->none_full, 4 * psz, 7, "prot-none area contents");
	VERIFY(m->heap_small, 1000 * 8, 8, "malloc small");
	VERIFY(m->heap_large, 4 << 20, 9, "malloc large");
	VERIFY(m->brk_area, 4 * psz, 10, "sbrk area");
	CHECK(sbrk(0) == brk_before, "program break moved: %p, was %p", sbrk(0), brk_before);
	VERIFY(m->named, 4 * psz, 14, "named anon");
	if (named_ok)
		check_anon_name(m->named);
	check_heap_grows();
	VERIFY(data_words, sizeof(data_words), 11, ".data");
	VERIFY(bss_words, sizeof(bss_words), 12, ".bss");
	VERIFY(stack_words, n * 8, 13, "stack");
}

int main(int argc, char **argv)
{
	uint64_t stack_words[2048];
	struct maps m;
	void *brk_before;

	prog_init(argc, argv, "memory");
	psz = sysconf(_SC_PAGESIZE);
	memset(&m, 0, sizeof(m));
	setup(&m);
	prog_fill(stack_words, sizeof(stack_words), 13);
	brk_before = sbrk(0);
	prog_ready();
	prog_wait_go();
	check_all(&m, stack_words, 2048, brk_before);
	prog_finish();
}
