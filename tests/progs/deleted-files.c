/*
 * deleted-files: regular files of its temp dir deleted while open, each
 * checked exactly after restore (issue 11):
 * - sparse: 100 GiB with 832 KiB of data in three extents, the last one
 *   far beyond holes; its SEEK_DATA/SEEK_HOLE layout and every data byte;
 * - tail: a hole, then data up to an odd size;
 * - rewritten: unlinked, then written again through its fd (appended past
 *   the old end and overwritten in the middle): contents and offset;
 * - shared: one inode open twice (two descriptions) and mapped MAP_SHARED:
 *   after restore a write through one fd shows through the other and the
 *   mapping (one inode, not three copies), and both fds have one st_ino;
 * - attrs: owned by uid 1 / gid 2, mode 04751, atime and mtime set to
 *   nanosecond values: all of them after restore (ctime cannot be set).
 * Argument "hardlink": one file with two names, one removed while open:
 * the dump must refuse it (a copy would split it from its other name).
 * Argument "one": only one deleted file, on fd 3 (a test writes to it from
 * outside the tree during the dump, which must then fail).
 */
#include <stdbool.h>
#include <sys/mman.h>
#include "prog.h"

#define GIB (1ull << 30)
#define MAX_EXT 16

struct ext {
	off_t off, end;
};

static char dir[4096];
static struct ext sparse_want[MAX_EXT];
static int sparse_n;

/* The data extents of fd, up to MAX_EXT. */
static int layout(int fd, struct ext *v)
{
	off_t pos = 0, d, h, size = lseek(fd, 0, SEEK_END);
	int n = 0;

	while (pos < size && n < MAX_EXT) {
		d = lseek(fd, pos, SEEK_DATA);
		if (d < 0)
			break;
		h = lseek(fd, d, SEEK_HOLE);
		v[n++] = (struct ext){ d, h };
		pos = h;
	}
	return n;
}

static int make_file(const char *name, int flags)
{
	char p[4200];
	int fd;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	fd = open(p, O_RDWR | O_CREAT | O_TRUNC | flags, 0644);
	if (fd < 0)
		prog_fail("create %s: %s", p, strerror(errno));
	return fd;
}

static void gone(const char *name)
{
	char p[4200];

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	if (unlink(p))
		prog_fail("unlink %s: %s", p, strerror(errno));
}

static void put(int fd, off_t off, size_t len, uint64_t seed)
{
	uint8_t *b = malloc(len);

	prog_fill(b, len, seed);
	if (pwrite(fd, b, len, off) != (ssize_t)len)
		prog_fail("pwrite %zu at %lld: %s", len, (long long)off, strerror(errno));
	free(b);
}

/* Does [off, off + len) of fd hold the pattern of seed? */
static bool holds(int fd, off_t off, size_t len, uint64_t seed)
{
	uint8_t *b = malloc(len);
	bool ok = pread(fd, b, len, off) == (ssize_t)len && prog_verify(b, len, seed) < 0;

	free(b);
	return ok;
}

static bool zero_at(int fd, off_t off)
{
	uint64_t v = 1;

	return pread(fd, &v, sizeof(v), off) == sizeof(v) && v == 0;
}

static const struct {
	off_t off;
	size_t len;
} sparse_data[] = { { 1 << 20, 256 << 10 }, { GIB, 512 << 10 }, { 50 * GIB, 64 << 10 } };

static int setup_sparse(void)
{
	int fd = make_file("sparse", 0);
	size_t i;

	for (i = 0; i < 3; i++)
		put(fd, sparse_data[i].off, sparse_data[i].len, 10 + i);
	if (ftruncate(fd, 100 * GIB))
		prog_fail("ftruncate 100 GiB: %s", strerror(errno));
	gone("sparse");
	sparse_n = layout(fd, sparse_want);
	if (sparse_n < 3)
		prog_fail("this filesystem does not keep holes (%d extents)", sparse_n);
	lseek(fd, 12345, SEEK_SET);
	return fd;
}

static void check_sparse(int fd)
{
	struct ext got[MAX_EXT];
	struct stat st;
	size_t i;
	int n;

	CHECK(lseek(fd, 0, SEEK_CUR) == 12345, "sparse: offset %lld",
	      (long long)lseek(fd, 0, SEEK_CUR));
	CHECK(!fstat(fd, &st) && st.st_size == (off_t)(100 * GIB) && st.st_nlink == 0,
	      "sparse: size %lld nlink %lu", (long long)st.st_size, (unsigned long)st.st_nlink);
	CHECK(st.st_blocks * 512 < 4 << 20, "sparse: %lld bytes allocated: came back dense",
	      (long long)st.st_blocks * 512);
	n = layout(fd, got);
	CHECK(n == sparse_n && !memcmp(got, sparse_want, n * sizeof(*got)),
	      "sparse: %d extents, first at %lld-%lld (was %d, %lld-%lld)", n,
	      (long long)got[0].off, (long long)got[0].end, sparse_n, (long long)sparse_want[0].off,
	      (long long)sparse_want[0].end);
	for (i = 0; i < 3; i++)
		CHECK(holds(fd, sparse_data[i].off, sparse_data[i].len, 10 + i),
		      "sparse: extent %zu differs", i);
	CHECK(zero_at(fd, 0) && zero_at(fd, 2 * GIB) && zero_at(fd, 100 * GIB - 8),
	      "sparse: a hole reads non-zero");
}

#define TAIL_SIZE ((3 << 20) + 100)

static int setup_tail(void)
{
	int fd = make_file("tail", 0);
	uint8_t b[4200];

	memset(b, 0x5a, sizeof(b));
	if (pwrite(fd, b, TAIL_SIZE - (3 << 20), 3 << 20) != TAIL_SIZE - (3 << 20))
		prog_fail("tail: pwrite: %s", strerror(errno));
	gone("tail");
	return fd;
}

static void check_tail(int fd)
{
	uint8_t b[100];
	struct stat st;
	size_t i;
	bool ok;

	CHECK(!fstat(fd, &st) && st.st_size == TAIL_SIZE, "tail: size %lld", (long long)st.st_size);
	ok = pread(fd, b, 100, 3 << 20) == 100;
	for (i = 0; ok && i < 100; i++)
		ok = b[i] == 0x5a;
	CHECK(ok, "tail: data after the hole differs");
	CHECK(zero_at(fd, 4096) && lseek(fd, 0, SEEK_DATA) >= 3 << 20,
	      "tail: the leading hole is gone (data at %lld)", (long long)lseek(fd, 0, SEEK_DATA));
}

static int setup_rewritten(void)
{
	int fd = make_file("rewritten", 0);

	put(fd, 0, 16384, 20);
	gone("rewritten");
	put(fd, 16384, 8192, 21); /* past the old end */
	put(fd, 4096, 4096, 22);  /* over the middle */
	if (lseek(fd, 20000, SEEK_SET) != 20000 || write(fd, "tailbyte", 8) != 8)
		prog_fail("rewritten: write: %s", strerror(errno));
	return fd;
}

static void check_rewritten(int fd)
{
	char t[8];

	CHECK(lseek(fd, 0, SEEK_CUR) == 20008, "rewritten: offset %lld",
	      (long long)lseek(fd, 0, SEEK_CUR));
	CHECK(lseek(fd, 0, SEEK_END) == 24576, "rewritten: size %lld",
	      (long long)lseek(fd, 0, SEEK_END));
	CHECK(holds(fd, 0, 4096, 20) && holds(fd, 4096, 4096, 22), "rewritten: first pages differ");
	CHECK(pread(fd, t, 8, 20000) == 8 && !memcmp(t, "tailbyte", 8),
	      "rewritten: late write lost");
	CHECK(holds(fd, 16384, 3616, 21), "rewritten: the appended part differs");
}

static int shared_fd[2];
static uint8_t *shared_map;

static void setup_shared(void)
{
	char p[4200];

	shared_fd[0] = make_file("shared", 0);
	put(shared_fd[0], 0, 8192, 30);
	snprintf(p, sizeof(p), "%s/shared", dir);
	shared_fd[1] = open(p, O_RDONLY);
	shared_map = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, shared_fd[0], 0);
	if (shared_fd[1] < 0 || shared_map == MAP_FAILED)
		prog_fail("shared: open/mmap: %s", strerror(errno));
	gone("shared");
}

static void check_shared(void)
{
	struct stat a, b;
	uint64_t v = 0x1122334455667788ull, r = 0;

	CHECK(!fstat(shared_fd[0], &a) && !fstat(shared_fd[1], &b) && a.st_ino == b.st_ino,
	      "shared: the two fds are different files (ino %lu, %lu)", (unsigned long)a.st_ino,
	      (unsigned long)b.st_ino);
	CHECK(holds(shared_fd[1], 0, 8192, 30), "shared: contents differ");
	if (pwrite(shared_fd[0], &v, 8, 4096) != 8)
		prog_fail("shared: pwrite: %s", strerror(errno));
	CHECK(pread(shared_fd[1], &r, 8, 4096) == 8 && r == v,
	      "shared: a write through one fd does not show through the other");
	CHECK(!memcmp(shared_map + 4096, &v, 8),
	      "shared: a write through the fd misses the mapping");
	shared_map[100] = 0x77;
	CHECK(pread(shared_fd[1], &r, 1, 100) == 1 && (r & 0xff) == 0x77,
	      "shared: a store into the mapping misses the fds");
}

static const struct timespec attr_times[2] = { { 1000000000, 123456789 },
					       { 1200000000, 987654321 } };

static int setup_attrs(void)
{
	int fd = make_file("attrs", 0);

	put(fd, 0, 4096, 40);
	if (fchown(fd, 1, 2) || fchmod(fd, 04751) || futimens(fd, attr_times))
		prog_fail("attrs: %s", strerror(errno));
	gone("attrs");
	return fd;
}

/* Before any read: a read may move atime. */
static void check_attrs(int fd)
{
	struct stat st;

	if (fstat(fd, &st))
		prog_fail("attrs: fstat: %s", strerror(errno));
	CHECK(st.st_uid == 1 && st.st_gid == 2, "attrs: owner %u:%u", st.st_uid, st.st_gid);
	CHECK((st.st_mode & 07777) == 04751 && S_ISREG(st.st_mode), "attrs: mode %o", st.st_mode);
	CHECK(st.st_atim.tv_sec == attr_times[0].tv_sec &&
		      st.st_atim.tv_nsec == attr_times[0].tv_nsec,
	      "attrs: atime %lld.%09ld", (long long)st.st_atim.tv_sec, st.st_atim.tv_nsec);
	CHECK(st.st_mtim.tv_sec == attr_times[1].tv_sec &&
		      st.st_mtim.tv_nsec == attr_times[1].tv_nsec,
	      "attrs: mtime %lld.%09ld", (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
	CHECK(holds(fd, 0, 4096, 40), "attrs: contents differ");
}

static int setup_hardlink(void)
{
	char a[4200], b[4200];
	int fd = make_file("linked", 0);

	put(fd, 0, 4096, 50);
	snprintf(a, sizeof(a), "%s/linked", dir);
	snprintf(b, sizeof(b), "%s/other-name", dir);
	if (link(a, b))
		prog_fail("link: %s", strerror(errno));
	gone("linked");
	return fd;
}

int main(int argc, char **argv)
{
	int sparse, tail, rewritten, attrs;
	char *slash;

	prog_init(argc, argv, "deleted-files");
	snprintf(dir, sizeof(dir), "%s", argv[1]);
	slash = strrchr(dir, '/');
	if (!slash)
		prog_fail("OUTFILE needs a directory");
	*slash = '\0';
	if (argc > 2 && !strcmp(argv[2], "one")) {
		if (make_file("one", 0) != 3)
			prog_fail("the deleted file is not on fd 3");
		put(3, 0, 4096, 60);
		gone("one");
		prog_ready();
		prog_wait_go();
		prog_finish();
	}
	if (argc > 2 && !strcmp(argv[2], "hardlink")) {
		setup_hardlink();
		prog_ready();
		prog_wait_go();
		prog_finish();
	}
	sparse = setup_sparse();
	tail = setup_tail();
	rewritten = setup_rewritten();
	setup_shared();
	attrs = setup_attrs();
	prog_ready();
	prog_wait_go();
	check_attrs(attrs);
	check_sparse(sparse);
	check_tail(tail);
	check_rewritten(rewritten);
	check_shared();
	prog_finish();
}
