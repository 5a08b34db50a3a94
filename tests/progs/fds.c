/*
 * fds: a file descriptor table with gaps: one regular file open several
 * ways (O_RDWR at an offset, O_RDONLY, O_WRONLY|O_APPEND, a dup sharing the
 * offset, an O_CLOEXEC one), /dev/null, /dev/zero, a deleted-while-open file
 * with contents, a pipe with both ends and data in flight (write end
 * O_NONBLOCK), a FIFO opened O_RDWR holding data.  After restore: the same
 * fd numbers and nothing else, flags, offsets, sharing, contents.
 */
#include <dirent.h>
#include <sys/ioctl.h>
#include <sys/sysmacros.h>
#include "prog.h"

enum { FD_RW = 10, FD_RO = 11, FD_APP = 12, FD_DUP = 13, FD_NULL = 20, FD_ZERO = 21,
       FD_DEL = 22, FD_PR = 23, FD_PW = 24, FD_FIFO = 25, FD_CLOEX = 26, FD_NULL2 = 31 };

#define A_LEN 8192
#define DEL_LEN 5000

struct fdinfo {
	int fd, flags, fdflags;
	off_t pos;
	struct stat st;
};

static struct fdinfo info[64];
static int nr_info;
static int fdset_before[64], nr_fdset;
static char a_path[4200];

static void place(int fd, int want)
{
	if (fd < 0)
		prog_fail("open for fd %d: %s", want, strerror(errno));
	if (fd != want) {
		if (dup2(fd, want) != want)
			prog_fail("dup2 %d: %s", want, strerror(errno));
		close(fd);
	}
}

static void open_at(const char *path, int flags, int want, off_t pos)
{
	place(open(path, flags, 0600), want);
	if (pos)
		lseek(want, pos, SEEK_SET);
}

/* Lists open fds (sorted by the kernel) into out; returns the count. */
static int list_fds(int *out, int max)
{
	DIR *dp = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0, fd;

	if (!dp)
		prog_fail("opendir /proc/self/fd: %s", strerror(errno));
	while ((e = readdir(dp)) && n < max) {
		if (e->d_name[0] == '.')
			continue;
		fd = atoi(e->d_name);
		if (fd != dirfd(dp))
			out[n++] = fd;
	}
	closedir(dp);
	return n;
}

static void record(int fd)
{
	struct fdinfo *i = &info[nr_info++];

	i->fd = fd;
	i->flags = fcntl(fd, F_GETFL) & (O_ACCMODE | O_APPEND | O_NONBLOCK);
	i->fdflags = fcntl(fd, F_GETFD);
	i->pos = lseek(fd, 0, SEEK_CUR);
	fstat(fd, &i->st);
}

static void setup(void)
{
	char buf[A_LEN], path[4200];
	int p[2];

	snprintf(a_path, sizeof(a_path), "%s/fds-a.%d", prog_dir(), getpid());
	prog_fill(buf, A_LEN, 21);
	open_at(a_path, O_RDWR | O_CREAT | O_TRUNC, FD_RW, 0);
	if (write(FD_RW, buf, A_LEN) != A_LEN)
		prog_fail("write %s: %s", a_path, strerror(errno));
	lseek(FD_RW, 123, SEEK_SET);
	open_at(a_path, O_RDONLY, FD_RO, 4000);
	open_at(a_path, O_WRONLY | O_APPEND, FD_APP, 0);
	if (write(FD_APP, "appended-before\n", 16) != 16)
		prog_fail("append: %s", strerror(errno));
	place(dup(FD_RW), FD_DUP);
	open_at("/dev/null", O_WRONLY, FD_NULL, 0);
	open_at("/dev/zero", O_RDONLY, FD_ZERO, 0);

	snprintf(path, sizeof(path), "%s/fds-deleted.%d", prog_dir(), getpid());
	open_at(path, O_RDWR | O_CREAT | O_TRUNC, FD_DEL, 0);
	prog_fill(buf, A_LEN, 22);
	if (write(FD_DEL, buf, DEL_LEN) != DEL_LEN || unlink(path))
		prog_fail("deleted file: %s", strerror(errno));
	lseek(FD_DEL, 5, SEEK_SET);

	if (pipe(p))
		prog_fail("pipe: %s", strerror(errno));
	place(p[0], FD_PR);
	place(p[1], FD_PW);
	fcntl(FD_PW, F_SETFL, O_NONBLOCK);
	prog_fill(buf, 104, 23);
	if (write(FD_PW, buf, 100) != 100)
		prog_fail("pipe write: %s", strerror(errno));

	snprintf(path, sizeof(path), "%s/fds-fifo.%d", prog_dir(), getpid());
	if (mkfifo(path, 0600))
		prog_fail("mkfifo: %s", strerror(errno));
	open_at(path, O_RDWR, FD_FIFO, 0);
	prog_fill(buf, 56, 24);
	if (write(FD_FIFO, buf, 50) != 50)
		prog_fail("fifo write: %s", strerror(errno));

	place(open(a_path, O_RDONLY | O_CLOEXEC), FD_CLOEX);
	lseek(FD_CLOEX, 77, SEEK_SET);
	open_at("/dev/null", O_RDONLY, FD_NULL2, 0);
}

static void check_table(void)
{
	int now[64], n, i;
	struct fdinfo *b, a;

	n = list_fds(now, 64);
	CHECK(n == nr_fdset, "%d fds open, %d before", n, nr_fdset);
	for (i = 0; i < n && i < nr_fdset; i++)
		CHECK(now[i] == fdset_before[i], "fd %d open where fd %d was", now[i],
		      fdset_before[i]);
	for (b = info; b < info + nr_info; b++) {
		a.flags = fcntl(b->fd, F_GETFL) & (O_ACCMODE | O_APPEND | O_NONBLOCK);
		a.fdflags = fcntl(b->fd, F_GETFD);
		a.pos = lseek(b->fd, 0, SEEK_CUR);
		CHECK(fstat(b->fd, &a.st) == 0, "fd %d: %s", b->fd, strerror(errno));
		CHECK(a.flags == b->flags, "fd %d: flags %#o, was %#o", b->fd, a.flags, b->flags);
		CHECK(a.fdflags == b->fdflags, "fd %d: fd flags %d, was %d", b->fd, a.fdflags,
		      b->fdflags);
		CHECK(a.pos == b->pos, "fd %d: offset %lld, was %lld", b->fd,
		      (long long)a.pos, (long long)b->pos);
		CHECK((a.st.st_mode & S_IFMT) == (b->st.st_mode & S_IFMT), "fd %d: file type",
		      b->fd);
		CHECK(a.st.st_rdev == b->st.st_rdev, "fd %d: rdev", b->fd);
		if (b->fd != FD_DEL && S_ISREG(b->st.st_mode))
			CHECK(a.st.st_ino == b->st.st_ino, "fd %d: other inode", b->fd);
	}
}

static void check_contents(void)
{
	char buf[A_LEN], want[A_LEN];
	struct stat st, st2;
	int avail = -1;

	prog_fill(want, A_LEN, 21);
	CHECK(pread(FD_RO, buf, 100, 4000) == 100 && !memcmp(buf, want + 4000, 100),
	      "file contents at 4000");
	lseek(FD_RW, 200, SEEK_SET);
	CHECK(lseek(FD_DUP, 0, SEEK_CUR) == 200, "dup'ed fd no longer shares the offset");
	CHECK(lseek(FD_RO, 0, SEEK_CUR) == 4000, "separately opened fd shares the offset");
	CHECK(write(FD_APP, "Z", 1) == 1 && fstat(FD_APP, &st) == 0 && st.st_size == A_LEN + 17,
	      "O_APPEND write did not go to the end");
	CHECK(write(FD_NULL, "x", 1) == 1, "/dev/null write");
	CHECK(read(FD_ZERO, buf, 64) == 64 && !buf[0] && !buf[63], "/dev/zero read");

	prog_fill(want, A_LEN, 22);
	CHECK(fstat(FD_DEL, &st) == 0 && st.st_nlink == 0 && st.st_size == DEL_LEN,
	      "deleted file: nlink %lu size %lld", (unsigned long)st.st_nlink,
	      (long long)st.st_size);
	CHECK(pread(FD_DEL, buf, DEL_LEN, 0) == DEL_LEN && !memcmp(buf, want, DEL_LEN),
	      "deleted file contents");

	prog_fill(want, 104, 23);
	CHECK(fstat(FD_PR, &st) == 0 && fstat(FD_PW, &st2) == 0 && st.st_ino == st2.st_ino,
	      "pipe ends belong to different pipes");
	CHECK(ioctl(FD_PR, FIONREAD, &avail) == 0 && avail == 100, "pipe holds %d bytes", avail);
	CHECK(avail == 100 && read(FD_PR, buf, 100) == 100 && !memcmp(buf, want, 100),
	      "pipe data");
	CHECK(write(FD_PW, "pq", 2) == 2 && read(FD_PR, buf, 2) == 2 && !memcmp(buf, "pq", 2),
	      "pipe does not carry new data");

	prog_fill(want, 56, 24);
	avail = -1;
	CHECK(fstat(FD_FIFO, &st) == 0 && S_ISFIFO(st.st_mode), "fifo type");
	CHECK(ioctl(FD_FIFO, FIONREAD, &avail) == 0 && avail == 50, "fifo holds %d bytes", avail);
	CHECK(avail == 50 && read(FD_FIFO, buf, 50) == 50 && !memcmp(buf, want, 50),
	      "fifo data");
}

int main(int argc, char **argv)
{
	static const int fds[] = { FD_RW, FD_RO, FD_APP, FD_DUP, FD_NULL, FD_ZERO,
				   FD_DEL, FD_PR, FD_PW, FD_FIFO, FD_CLOEX, FD_NULL2 };
	size_t i;

	prog_init(argc, argv, "fds");
	setup();
	for (i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
		record(fds[i]);
	nr_fdset = list_fds(fdset_before, 64);
	prog_ready();
	prog_wait_go();
	check_table();
	check_contents();
	prog_finish();
}
