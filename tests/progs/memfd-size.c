/*
 * memfd-size: memfds whose size is not a multiple of the page size, one
 * held by an fd only (5000 bytes, data in its first and its last, partial
 * page) and one also mapped (4097 bytes, data written through the
 * mapping), plus an empty one, each fd at its own file position.  After
 * restore: the same sizes (a restore that wrote the stored last page whole
 * would grow them to 8192), the same bytes and positions, the mapping
 * still showing the object.  Also the check after a --leave-running dump:
 * vxdump must not move a position (it once ran SEEK_DATA on a copy of
 * the target's own description).
 */
#include <sys/mman.h>
#include "prog.h"

enum { FD_A = 10, FD_B = 11, FD_EMPTY = 12 };

#define A_SIZE 5000
#define B_SIZE 4097
#define A_POS 7
#define B_POS 3

static void make(const char *name, int want, off_t size)
{
	int fd = memfd_create(name, 0);

	if (fd < 0 || dup2(fd, want) != want || ftruncate(want, size))
		prog_fail("memfd %s: %s", name, strerror(errno));
	close(fd);
}

/* Checks size and the bytes written at off of fd. */
static void check(int fd, off_t size, const char *what, off_t off)
{
	char buf[16] = "";
	struct stat st;

	CHECK(!fstat(fd, &st) && st.st_size == size, "fd %d: size %lld, want %lld", fd,
	      (long long)st.st_size, (long long)size);
	if (!what)
		return;
	CHECK(pread(fd, buf, strlen(what), off) == (ssize_t)strlen(what) &&
	      !memcmp(buf, what, strlen(what)), "fd %d: '%s' at %lld is '%.*s'", fd, what,
	      (long long)off, (int)strlen(what), buf);
}

int main(int argc, char **argv)
{
	char *map;

	prog_init(argc, argv, "memfd-size");
	make("odd-a", FD_A, A_SIZE);
	make("odd-b", FD_B, B_SIZE);
	make("empty", FD_EMPTY, 0);
	if (pwrite(FD_A, "head", 4, 0) != 4 || pwrite(FD_A, "tail", 4, A_SIZE - 4) != 4)
		prog_fail("pwrite: %s", strerror(errno));
	map = mmap(NULL, 2 * 4096, PROT_READ | PROT_WRITE, MAP_SHARED, FD_B, 0);
	if (map == MAP_FAILED)
		prog_fail("mmap: %s", strerror(errno));
	memcpy(map, "first", 5);
	map[B_SIZE - 1] = 'z';
	if (lseek(FD_A, A_POS, SEEK_SET) != A_POS || lseek(FD_B, B_POS, SEEK_SET) != B_POS)
		prog_fail("lseek: %s", strerror(errno));
	prog_ready();
	prog_wait_go();
	CHECK(lseek(FD_A, 0, SEEK_CUR) == A_POS, "fd %d: position %lld, want %d", FD_A,
	      (long long)lseek(FD_A, 0, SEEK_CUR), A_POS);
	CHECK(lseek(FD_B, 0, SEEK_CUR) == B_POS, "fd %d: position %lld, want %d", FD_B,
	      (long long)lseek(FD_B, 0, SEEK_CUR), B_POS);
	CHECK(lseek(FD_EMPTY, 0, SEEK_CUR) == 0, "fd %d: position moved", FD_EMPTY);
	check(FD_A, A_SIZE, "head", 0);
	check(FD_A, A_SIZE, "tail", A_SIZE - 4);
	check(FD_B, B_SIZE, "first", 0);
	check(FD_B, B_SIZE, "z", B_SIZE - 1);
	check(FD_EMPTY, 0, NULL, 0);
	CHECK(!memcmp(map, "first", 5) && map[B_SIZE - 1] == 'z', "mapping lost its bytes");
	map[0] = 'F';
	check(FD_B, B_SIZE, "First", 0);
	prog_finish();
}
