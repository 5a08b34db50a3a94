/*
 * deleted-map: maps a file of its temp dir twice, the first half
 * MAP_PRIVATE (pages 1 and 3 written, so COWed) and the second half
 * MAP_SHARED (page 2 written through to the file), then unlinks the file.
 * After restore it checks both mappings byte for byte, that both are backed
 * by one unlinked file of the right size, that the shared mapping still
 * writes through to that file, and that /proc/self/maps shows the old
 * directory with " (deleted)" (a restored ghost file has no name).
 */
#include <stdbool.h>
#include <sys/mman.h>
#include "prog.h"

#define HALF_PAGES	8
#define FILE_SEED	1
#define PRIV_SEED	2
#define SHARED_SEED	3
#define LATE_SEED	4

static size_t psz;
static char path[4200];

/* Expected word i of page pg (0..2*HALF_PAGES-1) of the file itself. */
static uint64_t file_word(size_t pg, size_t i)
{
	return prog_pattern(FILE_SEED, pg * (psz / 8) + i);
}

/*
 * First mismatching word of a mapped page, or -1: the pattern of seed if
 * the page was written, else file page pg (seed 0).
 */
static long page_mismatch(const uint8_t *page, size_t pg, uint64_t seed)
{
	const uint64_t *q = (const uint64_t *)page;
	size_t i;

	if (seed)
		return prog_verify(page, psz, seed);
	for (i = 0; i < psz / 8; i++)
		if (q[i] != file_word(pg, i))
			return (long)i;
	return -1;
}

static int map_fd_of(void *addr, size_t len, int flags)
{
	char p[128];

	snprintf(p, sizeof(p), "/proc/self/map_files/%lx-%lx", (unsigned long)addr,
		 (unsigned long)addr + len);
	return open(p, flags | O_CLOEXEC);
}

static void check_maps_line(void *addr)
{
	static char buf[1 << 16];
	char want[4300], start[32], *line;
	bool found = false;

	if (prog_read_file("/proc/self/maps", buf, sizeof(buf)) < 0)
		prog_fail("read /proc/self/maps: %s", strerror(errno));
	snprintf(start, sizeof(start), "%lx-", (unsigned long)addr);
	/* a ghost has no name of its own: DIR/#INODE (deleted) */
	snprintf(want, sizeof(want), "%s", path);
	*strrchr(want, '/') = '\0';
	for (line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
		if (strncmp(line, start, strlen(start)))
			continue;
		found = true;
		CHECK(strstr(line, want) && strstr(line, " (deleted)"),
		      "maps line %s lacks \"%s/... (deleted)\"", line, want);
	}
	CHECK(found, "no maps line for %p", addr);
}

static void check_contents(const uint8_t *priv, const uint8_t *shr)
{
	size_t pg;
	long w;

	for (pg = 0; pg < HALF_PAGES; pg++) {
		w = page_mismatch(priv + pg * psz, pg, pg == 1 || pg == 3 ? PRIV_SEED + pg : 0);
		CHECK(w < 0, "private page %zu differs at word %ld", pg, w);
		w = page_mismatch(shr + pg * psz, HALF_PAGES + pg, pg == 2 ? SHARED_SEED + pg : 0);
		CHECK(w < 0, "shared page %zu differs at word %ld", pg, w);
	}
}

/* Both mappings are backed by one unlinked file; shared writes reach it. */
static void check_file(uint8_t *priv, uint8_t *shr)
{
	size_t len = HALF_PAGES * psz;
	struct stat sp, ss;
	uint8_t *buf;
	int pfd, sfd;

	pfd = map_fd_of(priv, len, O_RDONLY);
	sfd = map_fd_of(shr, len, O_RDONLY);
	if (pfd < 0 || sfd < 0 || fstat(pfd, &sp) || fstat(sfd, &ss))
		prog_fail("open map_files: %s", strerror(errno));
	CHECK(sp.st_ino == ss.st_ino && sp.st_dev == ss.st_dev,
	      "private and shared mappings are backed by different files");
	CHECK(ss.st_nlink == 0, "backing file has %lu links", (unsigned long)ss.st_nlink);
	CHECK(ss.st_size == (off_t)(2 * len), "backing file size %lld", (long long)ss.st_size);
	buf = malloc(psz);
	if (!buf)
		prog_fail("malloc");
	prog_fill(shr + 5 * psz, psz, LATE_SEED + 5);
	CHECK(pread(sfd, buf, psz, (HALF_PAGES + 5) * psz) == (ssize_t)psz &&
	      prog_verify(buf, psz, LATE_SEED + 5) < 0,
	      "write to the shared mapping did not reach the file");
	CHECK(pread(sfd, buf, psz, (HALF_PAGES + 2) * psz) == (ssize_t)psz &&
	      prog_verify(buf, psz, SHARED_SEED + 2) < 0,
	      "file lacks the page written through the shared mapping before the dump");
	free(buf);
	close(pfd);
	close(sfd);
}

/* Creates the file, maps it twice, dirties some pages, unlinks it. */
static void setup(uint8_t **priv, uint8_t **shr)
{
	size_t len = HALF_PAGES * psz, i;
	uint64_t *data;
	int fd;

	snprintf(path, sizeof(path), "%s/deleted-map.%d", prog_dir(), getpid());
	data = malloc(2 * len);
	fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
	if (!data || fd < 0)
		prog_fail("create %s: %s", path, strerror(errno));
	for (i = 0; i < 2 * len / 8; i++)
		data[i] = prog_pattern(FILE_SEED, i);
	if (write(fd, data, 2 * len) != (ssize_t)(2 * len))
		prog_fail("write %s: %s", path, strerror(errno));
	free(data);
	*priv = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	*shr = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, len);
	if (*priv == MAP_FAILED || *shr == MAP_FAILED)
		prog_fail("mmap %s: %s", path, strerror(errno));
	prog_fill(*priv + psz, psz, PRIV_SEED + 1);
	prog_fill(*priv + 3 * psz, psz, PRIV_SEED + 3);
	prog_fill(*shr + 2 * psz, psz, SHARED_SEED + 2);
	close(fd);
	if (unlink(path))
		prog_fail("unlink %s: %s", path, strerror(errno));
}

int main(int argc, char **argv)
{
	uint8_t *priv, *shr;

	prog_init(argc, argv, "deleted-map");
	psz = sysconf(_SC_PAGESIZE);
	setup(&priv, &shr);
	check_contents(priv, shr);
	if (prog_failure[0])
		prog_finish();
	prog_ready();
	prog_wait_go();
	check_contents(priv, shr);
	check_maps_line(priv);
	check_maps_line(shr);
	check_file(priv, shr);
	prog_finish();
}
