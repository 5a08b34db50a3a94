/*
 * pipe-size: pipe sizes set with F_SETPIPE_SZ restored exactly, with the
 * bytes they hold.
 *
 *   big    a pipe of 1 MiB (fs.pipe-max-size here) holding 200 KiB: after
 *          "go" F_GETPIPE_SZ says 1 MiB, the 200 KiB read back, and the
 *          empty pipe then takes 1 MiB before EAGAIN
 *   small  a pipe of 4 KiB (below the default), full: 4 KiB, EAGAIN on a
 *          write, its bytes read back
 *   fifo   a FIFO in OUTFILE's directory of 256 KiB holding 100 KiB
 *   user   child C runs as uid 43217 without capabilities and sizes pipes
 *          to 1 MiB until fs.pipe-user-pages-soft refuses it (EPERM: the
 *          uid holds 64 MiB of pipes); a pipe it makes then gets 2 pages
 *          (8 KiB, the kernel's minimum over the limit) and is filled
 *          (so, most often, did the one refused 1 MiB: its size is kept).
 *          After restore (root's: CAP_SYS_ADMIN lifts the user limits)
 *          every pipe of C has its size back: the 1 MiB ones, and the
 *          8 KiB one, full, with its bytes.  C reports by its exit status.
 */
#include <grp.h>
#include <stdbool.h>
#include <sys/wait.h>
#include "prog.h"

#define MIB (1 << 20)
#define USER_UID 43217
#define MAX_USER_PIPES 200

static int big[2], small[2], fifo_r, fifo_w, c_go[2], c_ready[2];
static int user[MAX_USER_PIPES][2], n_user, last[2];

static void mkpipe(int p[2], int size)
{
	if (pipe2(p, O_NONBLOCK))
		prog_fail("pipe2: %s", strerror(errno));
	if (size && fcntl(p[0], F_SETPIPE_SZ, size) != size)
		prog_fail("F_SETPIPE_SZ %d: %s", size, strerror(errno));
}

/* Writes len pattern bytes (seed) to fd; prog_fail on a short write. */
static void fill(int fd, size_t len, uint64_t seed)
{
	static uint64_t buf[MIB / 8];
	size_t done = 0;
	ssize_t r;

	prog_fill(buf, len, seed);
	while (done < len) {
		r = write(fd, (char *)buf + done, len - done);
		if (r <= 0)
			prog_fail("fill %zu bytes: %s", len, strerror(errno));
		done += r;
	}
}

/* Reads len bytes from fd and checks them against seed; then empty. */
static bool drain(int fd, size_t len, uint64_t seed)
{
	static uint64_t buf[MIB / 8 + 1];
	size_t done = 0;
	ssize_t r;

	while (done < len + 1) {
		r = read(fd, (char *)buf + done, len + 1 - done);
		if (r <= 0)
			break;
		done += r;
	}
	return done == len && prog_verify(buf, len, seed) < 0;
}

/* How many bytes the empty pipe fd takes before EAGAIN. */
static size_t capacity(int fd)
{
	static char buf[65536];
	size_t n = 0;
	ssize_t r;

	while ((r = write(fd, buf, sizeof(buf))) > 0)
		n += r;
	return n;
}

/* C: as USER_UID, pipes up to the user's soft limit, one small pipe. */
static void user_child(void)
{
	int i, code = 0, refused_size;
	char c;

	if (setgroups(0, NULL) || setgid(USER_UID) || setuid(USER_UID))
		_exit(90);
	for (n_user = 0; n_user < MAX_USER_PIPES; n_user++) {
		if (pipe2(user[n_user], O_NONBLOCK))
			_exit(91);
		if (fcntl(user[n_user][0], F_SETPIPE_SZ, MIB) < 0)
			break;
	}
	if (n_user == MAX_USER_PIPES || errno != EPERM)
		_exit(92); /* no limit reached */
	refused_size = fcntl(user[n_user][0], F_GETPIPE_SZ);
	if (pipe2(last, O_NONBLOCK) || fcntl(last[0], F_GETPIPE_SZ) != 8192)
		_exit(93);
	fill(last[1], 8192, 5);
	if (write(c_ready[1], "r", 1) != 1)
		_exit(94);
	while (read(c_go[0], &c, 1) < 0 && errno == EINTR)
		;
	for (i = 0; i < n_user && !code; i++)
		if (fcntl(user[i][0], F_GETPIPE_SZ) != MIB)
			code = 1;
	if (!code && fcntl(user[n_user][0], F_GETPIPE_SZ) != refused_size)
		code = 2; /* the one the limit refused */
	if (!code && (fcntl(last[0], F_GETPIPE_SZ) != 8192 || write(last[1], "x", 1) != -1))
		code = 3;
	if (!code && !drain(last[0], 8192, 5))
		code = 4;
	_exit(code);
}

int main(int argc, char **argv)
{
	char path[4200], c;
	int st;
	pid_t pc;

	prog_init(argc, argv, "pipe-size");
	mkpipe(big, MIB);
	fill(big[1], 200 * 1024, 1);
	mkpipe(small, 4096);
	fill(small[1], 4096, 2);
	snprintf(path, sizeof(path), "%s/pipe-size.fifo", prog_dir());
	unlink(path);
	if (mkfifo(path, 0600))
		prog_fail("mkfifo %s: %s", path, strerror(errno));
	fifo_r = open(path, O_RDONLY | O_NONBLOCK);
	fifo_w = open(path, O_WRONLY | O_NONBLOCK);
	if (fifo_r < 0 || fifo_w < 0 || fcntl(fifo_r, F_SETPIPE_SZ, 256 * 1024) < 0)
		prog_fail("fifo %s: %s", path, strerror(errno));
	fill(fifo_w, 100 * 1024, 3);
	if (pipe(c_go) || pipe(c_ready))
		prog_fail("pipe: %s", strerror(errno));
	pc = fork();
	if (pc < 0)
		prog_fail("fork: %s", strerror(errno));
	if (pc == 0)
		user_child();
	if (read(c_ready[0], &c, 1) != 1)
		prog_fail("user child died before it was ready");
	prog_ready();
	prog_wait_go();

	CHECK(fcntl(big[0], F_GETPIPE_SZ) == MIB, "big: size %d, not 1 MiB",
	      fcntl(big[0], F_GETPIPE_SZ));
	CHECK(drain(big[0], 200 * 1024, 1), "big: its 200 KiB did not come back");
	CHECK(capacity(big[1]) == MIB, "big: takes %zu bytes, not 1 MiB", capacity(big[1]));
	CHECK(fcntl(small[0], F_GETPIPE_SZ) == 4096, "small: size %d, not 4096",
	      fcntl(small[0], F_GETPIPE_SZ));
	CHECK(write(small[1], "x", 1) == -1 && errno == EAGAIN, "small: not full");
	CHECK(drain(small[0], 4096, 2), "small: its 4 KiB did not come back");
	CHECK(fcntl(fifo_r, F_GETPIPE_SZ) == 256 * 1024, "fifo: size %d, not 256 KiB",
	      fcntl(fifo_r, F_GETPIPE_SZ));
	CHECK(drain(fifo_r, 100 * 1024, 3), "fifo: its 100 KiB did not come back");
	if (write(c_go[1], "g", 1) != 1 || waitpid(pc, &st, 0) != pc)
		CHECK(0, "user child: %s", strerror(errno));
	else
		CHECK(WIFEXITED(st) && !WEXITSTATUS(st), "user child: check %d failed",
		      WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	prog_finish(); /* the FIFO stays: an image of this run names it */
}
