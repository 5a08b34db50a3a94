/*
 * locks: holds every kind of file lock, and checks after restore, from
 * processes that do not own them, that they are all still held and no
 * other is.
 *
 * Usage: locks OUTFILE DIR [mapped]
 *
 * In DIR: "a" with POSIX locks of this process through fd 10 (WRITE
 * [10, 14], READ [100, 199], READ [2000, EOF) and a WRITE lock set
 * SEEK_END-relative, [900, 949] of the 1000-byte file), OFD locks through
 * a second description on fd 11 (WRITE [20, 22], READ [500, 599]) and a
 * POSIX lock of a child process (WRITE [300, 309]); "b" flock LOCK_EX on
 * fd 12, "c" flock LOCK_SH on fd 13, "d" a read lease on fd 14, "e" a
 * write lease on fd 15 (nobody may open "e" meanwhile: that breaks it).
 * The checks: F_GETLK / F_OFD_GETLK from a forked process (owner, type,
 * no lock in the gaps), flock(LOCK_NB) on new descriptions, F_GETLEASE.
 *
 * "mapped": only a flock on "b" held through a shared mapping (fd
 * closed), which the dump must refuse; after go it checks the flock is
 * still held (the target was left running).
 */
#include <stdbool.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include "prog.h"

enum { FD_A = 10, FD_AO = 11, FD_B = 12, FD_C = 13, FD_D = 14, FD_E = 15, FD_CHILD = 16 };

static char dir[4096];

static int open_in(const char *name, int flags, int want)
{
	char path[4200];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, flags | O_CREAT, 0600);
	if (fd < 0)
		prog_fail("open %s: %s", path, strerror(errno));
	if (want >= 0 && fd != want) {
		if (dup2(fd, want) != want)
			prog_fail("dup2 %d: %s", want, strerror(errno));
		close(fd);
		fd = want;
	}
	return fd;
}

static void lock(int fd, int cmd, short type, short whence, off_t start, off_t len)
{
	struct flock fl = { .l_type = type, .l_whence = whence, .l_start = start, .l_len = len };

	if (fcntl(fd, cmd, &fl))
		prog_fail("lock fd %d [%lld, +%lld]: %s", fd, (long long)start, (long long)len,
			  strerror(errno));
}

/* In a checker: appends to msg if [start, +len] does not show want/pid. */
static void expect(int fd, int cmd, off_t start, off_t len, short want, pid_t pid,
		   char *msg, size_t size)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = start,
			    .l_len = len };
	size_t n = strlen(msg);

	if (fcntl(fd, cmd, &fl)) {
		snprintf(msg + n, size - n, "GETLK %lld: %s; ", (long long)start, strerror(errno));
		return;
	}
	if (fl.l_type != want || (want != F_UNLCK && fl.l_pid != pid))
		snprintf(msg + n, size - n, "at %lld: type %d pid %d, want %d pid %d; ",
			 (long long)start, fl.l_type, (int)fl.l_pid, want, (int)pid);
}

static void expect_flock(const char *name, int op, bool blocked, char *msg, size_t size)
{
	int fd = open_in(name, O_RDONLY, -1), r = flock(fd, op | LOCK_NB);
	size_t n = strlen(msg);

	if (blocked != (r && errno == EWOULDBLOCK))
		snprintf(msg + n, size - n, "flock %s op %d: %s; ", name, op,
			 r ? strerror(errno) : "granted");
	close(fd);
}

/* Runs the checks from a new process (locks are not its own); "" = pass. */
static void check_from_outside(pid_t owner, pid_t child, char *msg, size_t size)
{
	int fd, p[2];
	pid_t pid;
	ssize_t n;

	if (pipe(p) || (pid = fork()) < 0)
		prog_fail("pipe/fork: %s", strerror(errno));
	if (pid == 0) {
		char out[2048] = "";

		fd = open_in("a", O_RDWR, -1);
		expect(fd, F_GETLK, 10, 5, F_WRLCK, owner, out, sizeof(out));
		expect(fd, F_GETLK, 15, 5, F_UNLCK, 0, out, sizeof(out));
		expect(fd, F_GETLK, 150, 1, F_RDLCK, owner, out, sizeof(out));
		expect(fd, F_GETLK, 920, 1, F_WRLCK, owner, out, sizeof(out));
		expect(fd, F_GETLK, 950, 50, F_UNLCK, 0, out, sizeof(out));
		expect(fd, F_GETLK, 1 << 20, 1, F_RDLCK, owner, out, sizeof(out));
		expect(fd, F_GETLK, 305, 1, F_WRLCK, child, out, sizeof(out));
		expect(fd, F_OFD_GETLK, 21, 1, F_WRLCK, -1, out, sizeof(out));
		expect(fd, F_OFD_GETLK, 550, 1, F_RDLCK, -1, out, sizeof(out));
		expect(fd, F_OFD_GETLK, 600, 200, F_UNLCK, 0, out, sizeof(out));
		expect_flock("b", LOCK_SH, true, out, sizeof(out));
		expect_flock("c", LOCK_SH, false, out, sizeof(out));
		expect_flock("c", LOCK_EX, true, out, sizeof(out));
		n = write(p[1], out, strlen(out));
		_exit(n < 0);
	}
	close(p[1]);
	n = read(p[0], msg, size - 1);
	msg[n > 0 ? n : 0] = '\0';
	close(p[0]);
	waitpid(pid, NULL, 0);
}

/* The child holding its own POSIX lock: waits on fd FD_CHILD, then exits. */
static pid_t start_child(int *go)
{
	int p[2];
	pid_t pid;
	char c;

	if (pipe(p) || (pid = fork()) < 0)
		prog_fail("pipe/fork: %s", strerror(errno));
	if (pid == 0) {
		close(p[1]);
		if (dup2(p[0], FD_CHILD) != FD_CHILD)
			_exit(1);
		close(p[0]);
		lock(FD_A, F_SETLK, F_WRLCK, SEEK_SET, 300, 10);
		_exit(read(FD_CHILD, &c, 1) != 1);
	}
	close(p[0]);
	*go = p[1];
	return pid;
}

static void mapped(void)
{
	int fd = open_in("b", O_RDWR, FD_B), other;
	void *m;

	if (ftruncate(fd, 4096) || flock(fd, LOCK_EX))
		prog_fail("flock b: %s", strerror(errno));
	m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (m == MAP_FAILED)
		prog_fail("mmap b: %s", strerror(errno));
	close(fd);
	prog_ready();
	prog_wait_go();
	other = open_in("b", O_RDONLY, -1);
	CHECK(flock(other, LOCK_SH | LOCK_NB) && errno == EWOULDBLOCK,
	      "the flock held through the mapping was lost");
	prog_finish();
}

int main(int argc, char **argv)
{
	char msg[2048];
	pid_t child;
	int go;

	prog_init(argc, argv, "locks");
	if (argc < 3)
		prog_fail("usage: locks OUTFILE DIR [mapped]");
	snprintf(dir, sizeof(dir), "%s", argv[2]);
	if (argc > 3 && !strcmp(argv[3], "mapped"))
		mapped();
	if (ftruncate(open_in("a", O_RDWR, FD_A), 1000))
		prog_fail("ftruncate a: %s", strerror(errno));
	open_in("a", O_RDWR, FD_AO);	/* before: its close(3) would drop POSIX locks */
	lock(FD_A, F_SETLK, F_WRLCK, SEEK_SET, 10, 5);
	lock(FD_A, F_SETLK, F_RDLCK, SEEK_SET, 100, 100);
	lock(FD_A, F_SETLK, F_RDLCK, SEEK_SET, 2000, 0);
	lock(FD_A, F_SETLK, F_WRLCK, SEEK_END, -100, 50);
	lock(FD_AO, F_OFD_SETLK, F_WRLCK, SEEK_SET, 20, 3);
	lock(FD_AO, F_OFD_SETLK, F_RDLCK, SEEK_SET, 500, 100);
	if (flock(open_in("b", O_RDWR, FD_B), LOCK_EX) ||
	    flock(open_in("c", O_RDONLY, FD_C), LOCK_SH))
		prog_fail("flock: %s", strerror(errno));
	if (fcntl(open_in("d", O_RDONLY, FD_D), F_SETLEASE, F_RDLCK) ||
	    fcntl(open_in("e", O_RDWR, FD_E), F_SETLEASE, F_WRLCK))
		prog_fail("F_SETLEASE: %s", strerror(errno));
	child = start_child(&go);
	usleep(100 * 1000);	/* the child takes its lock */
	prog_ready();
	prog_wait_go();
	check_from_outside(getpid(), child, msg, sizeof(msg));
	CHECK(!msg[0], "%s", msg);
	CHECK(fcntl(FD_D, F_GETLEASE) == F_RDLCK, "read lease: %d", fcntl(FD_D, F_GETLEASE));
	CHECK(fcntl(FD_E, F_GETLEASE) == F_WRLCK, "write lease: %d", fcntl(FD_E, F_GETLEASE));
	CHECK(write(go, "x", 1) == 1, "cannot release the child");
	waitpid(child, NULL, 0);
	prog_finish();
}
