/*
 * mem-memfd: private mappings of memfds and mappings of /dev/zero.
 *
 * Parent: memfd A (fd kept, 8 pages of pattern) mapped MAP_PRIVATE: pages
 * 1 and 3 copied (pattern, zeros), page 5 written later through the fd
 * (still shared: the mapping shows it), the rest untouched; a read-only
 * private mapping of A with one copied page; memfd B mapped privately
 * only (fd closed) with one copied page; a MAP_SHARED mapping of /dev/zero
 * (shmem, "/dev/zero (deleted)") shared with the child; a MAP_PRIVATE
 * mapping of /dev/zero with data.  After restore: every page as before,
 * and pages not copied still follow A (a write through the fd shows in
 * the mapping, copied pages do not change); the child sees the parent's
 * new writes to the shared /dev/zero area and the parent the child's.
 */
#include <sys/mman.h>
#include "tree.h"

static long psz;
static int fd_a;
static char *priv_a, *ro_a, *priv_b, *zshared, *zpriv;

static char *map_or_die(size_t len, int prot, int flags, int fd, const char *what)
{
	char *p = mmap(NULL, len, prot, flags, fd, 0);

	if (p == MAP_FAILED)
		prog_fail("mmap %s: %s", what, strerror(errno));
	return p;
}

static int memfd_with(const char *name, long pages, uint64_t seed)
{
	char *buf = malloc(pages * psz);
	int fd = memfd_create(name, MFD_CLOEXEC);

	if (fd < 0 || !buf)
		prog_fail("memfd_create: %s", strerror(errno));
	prog_fill(buf, pages * psz, seed);
	if (pwrite(fd, buf, pages * psz, 0) != pages * psz)
		prog_fail("pwrite memfd: %s", strerror(errno));
	free(buf);
	return fd;
}

static void write_page(int fd, long page, uint64_t seed)
{
	char *buf = malloc(psz);

	if (!buf)
		prog_fail("malloc");
	prog_fill(buf, psz, seed);
	if (pwrite(fd, buf, psz, page * psz) != psz)
		prog_fail("pwrite: %s", strerror(errno));
	free(buf);
}

/* Page i of A as the parent's private mapping must show it. */
static void check_a_page(const char *who, char *m, long i, uint64_t want_seed, int zero)
{
	char *p = m + i * psz;

	if (zero)
		CHECK(!p[0] && !memcmp(p, p + 1, psz - 1), "%s: page %ld not zero", who, i);
	else
		CHECK(prog_verify(p, psz, want_seed) < 0, "%s: page %ld differs", who, i);
}

static void setup(void)
{
	int fd_b, z;

	fd_a = memfd_with("vxcr-a", 8, 100);
	/* page i of A holds the pattern of seed 100 for the whole file: use offsets */
	priv_a = map_or_die(8 * psz, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd_a, "private A");
	prog_fill(priv_a + psz, psz, 2);
	memset(priv_a + 3 * psz, 0, psz);
	ro_a = map_or_die(4 * psz, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd_a, "read-only A");
	prog_fill(ro_a + 2 * psz, psz, 4);
	mprotect(ro_a, 4 * psz, PROT_READ);
	write_page(fd_a, 5, 3); /* after the mappings: they show it */

	fd_b = memfd_with("vxcr-b", 4, 200);
	priv_b = map_or_die(4 * psz, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd_b, "private B");
	prog_fill(priv_b + 3 * psz, psz, 5);
	close(fd_b);

	z = open("/dev/zero", O_RDWR | O_CLOEXEC);
	if (z < 0)
		prog_fail("open /dev/zero: %s", strerror(errno));
	zshared = map_or_die(4 * psz, PROT_READ | PROT_WRITE, MAP_SHARED, z, "shared /dev/zero");
	prog_fill(zshared, 2 * psz, 6);
	zpriv = map_or_die(4 * psz, PROT_READ | PROT_WRITE, MAP_PRIVATE, z, "private /dev/zero");
	prog_fill(zpriv + psz, psz, 7);
	close(z);
}

/* The pattern of seed 100 over the whole file, at page i. */
static long verify_file_page(const char *p, long i)
{
	const uint64_t *w = (const uint64_t *)p;
	long k;

	for (k = 0; k < psz / 8; k++)
		if (w[k] != prog_pattern(100, i * psz / 8 + k))
			return k;
	return -1;
}

/* The name maps shows for the area at addr ("" if none). */
static void maps_name(const void *addr, char *out, size_t size)
{
	static char maps[1 << 20];
	char *line, *save = NULL;
	unsigned long s, e;
	int name_at;

	out[0] = '\0';
	if (prog_read_file("/proc/self/maps", maps, sizeof(maps)) < 0)
		return;
	for (line = strtok_r(maps, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		name_at = 0;
		if (sscanf(line, "%lx-%lx %*s %*s %*s %*s %n", &s, &e, &name_at) >= 2 &&
		    s == (unsigned long)addr) {
			snprintf(out, size, "%s", name_at ? line + name_at : "");
			return;
		}
	}
}

static void check_parent(void)
{
	char name[256];

	long i;

	for (i = 0; i < 8; i++) {
		if (i == 1)
			check_a_page("P: private A", priv_a, i, 2, 0);
		else if (i == 3)
			check_a_page("P: private A", priv_a, i, 0, 1);
		else if (i == 5)
			check_a_page("P: private A", priv_a, i, 3, 0);
		else
			CHECK(verify_file_page(priv_a + i * psz, i) < 0, "P: private A page %ld", i);
	}
	for (i = 0; i < 4; i++)
		CHECK(i == 2 ? prog_verify(ro_a + i * psz, psz, 4) < 0 :
			       verify_file_page(ro_a + i * psz, i) < 0,
		      "P: read-only A page %ld", i);
	/* still shared with A where not copied; copies stay */
	write_page(fd_a, 6, 8);
	write_page(fd_a, 1, 9);
	check_a_page("P: private A after writing A", priv_a, 6, 8, 0);
	check_a_page("P: private A after writing A", priv_a, 1, 2, 0);
	CHECK(mprotect(ro_a, psz, PROT_READ | PROT_WRITE) == 0, "P: mprotect: %s", strerror(errno));
	for (i = 0; i < 4; i++) {
		uint64_t seed = 200;
		const uint64_t *w = (const uint64_t *)(priv_b + i * psz);

		if (i == 3)
			CHECK(prog_verify(priv_b + i * psz, psz, 5) < 0, "P: private B page 3");
		else
			CHECK(w[0] == prog_pattern(seed, i * psz / 8), "P: private B page %ld", i);
	}
	CHECK(prog_verify(zshared, 2 * psz, 6) < 0, "P: shared /dev/zero");
	CHECK(prog_verify(zpriv + psz, psz, 7) < 0 && !zpriv[0], "P: private /dev/zero");
	maps_name(zpriv, name, sizeof(name));
	CHECK(!strcmp(name, "/dev/zero"), "P: private /dev/zero area shows as '%s'", name);
	maps_name(zshared, name, sizeof(name));
	CHECK(!strcmp(name, "/dev/zero (deleted)"), "P: shared /dev/zero area shows as '%s'",
	      name);
}

/* The child's private A: page 1 zeroed and page 2 copied by it, page 3 the parent's zero copy. */
static void check_child_a(void)
{
	static const long pages[] = { 0, 1, 2, 3, 4, 5, 7 };
	size_t k;

	for (k = 0; k < sizeof(pages) / sizeof(pages[0]); k++) {
		long i = pages[k];

		if (i == 1 || i == 3)
			check_a_page("C: private A", priv_a, i, 0, 1);
		else if (i == 2)
			check_a_page("C: private A", priv_a, i, 20, 0);
		else if (i == 5)
			check_a_page("C: private A", priv_a, i, 3, 0);
		else
			CHECK(verify_file_page(priv_a + i * psz, i) < 0, "C: private A page %ld", i);
	}
}

__attribute__((noreturn)) static void child_main(int up, int down)
{
	char c;

	memset(priv_a + psz, 0, psz);
	prog_fill(priv_a + 2 * psz, psz, 20);
	tree_send_ready(up);
	prog_wait_go();
	check_child_a();
	CHECK(prog_verify(zshared, 2 * psz, 6) < 0, "C: shared /dev/zero");
	CHECK(prog_verify(zpriv + psz, psz, 7) < 0, "C: private /dev/zero");
	prog_fill(zshared + 3 * psz, psz, 11); /* for the parent */
	tree_send(up, TREE_READY, "wrote");
	CHECK(read(down, &c, 1) == 1, "C: pipe: %s", strerror(errno));
	CHECK(prog_verify(zshared + 2 * psz, psz, 10) < 0, "C: parent's write not seen");
	tree_member_finish(up);
}

int main(int argc, char **argv)
{
	int c2p[2], p2c[2], st;
	pid_t c;

	prog_init(argc, argv, "mem-memfd");
	psz = sysconf(_SC_PAGESIZE);
	setup();
	if (pipe2(c2p, O_CLOEXEC) || pipe2(p2c, O_CLOEXEC))
		prog_fail("pipe: %s", strerror(errno));
	c = fork();
	if (c < 0)
		prog_fail("fork: %s", strerror(errno));
	if (c == 0) {
		tree_die_with_parent(getppid());
		close(c2p[0]);
		close(p2c[1]);
		child_main(c2p[1], p2c[0]);
	}
	close(c2p[1]);
	close(p2c[0]);
	if (tree_collect(&c2p[0], 1, 1, 0, 20000, -1, NULL) != 1)
		prog_fail("child not ready: %s", prog_failure);
	prog_ready();
	prog_wait_go();
	kill(c, SIGUSR1);
	check_parent();
	CHECK(tree_collect(&c2p[0], 1, 1, 0, 20000, -1, NULL) == 1, "child did not write");
	CHECK(prog_verify(zshared + 3 * psz, psz, 11) < 0, "P: child's write not seen");
	prog_fill(zshared + 2 * psz, psz, 10);
	CHECK(write(p2c[1], "w", 1) == 1, "P: pipe: %s", strerror(errno));
	CHECK(tree_collect(&c2p[0], 1, 1, 1, 20000, -1, NULL) == 1, "child did not report");
	CHECK(waitpid(c, &st, 0) == c && WIFEXITED(st), "child: status %#x", st);
	prog_finish();
}
