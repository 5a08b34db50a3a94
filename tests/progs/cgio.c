/*
 * cgio: the root forks a child and says "kid PID"; the test puts the child
 * into a blkio (io) group throttled to RATE bytes/s on the disk of DIR.
 * On SIGUSR1 (after the restore) the root tells the child to go: it writes
 * MIB MiB to DIR/cgio.PID with O_DIRECT (64 KiB at a time, so the page
 * cache does not hide the disk), reads them back with O_DIRECT and says
 * "io WRITE_NS READ_NS".  The check: each took at least 70% of what RATE
 * allows (a throttle in force), i.e. the rate was at most RATE / 0.7.
 *
 * Usage: cgio OUTFILE DIR MIB RATE
 */
#include <sys/wait.h>
#include <time.h>
#include "prog.h"

#define CHUNK (64 << 10)

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Writes then reads mib MiB of path with O_DIRECT; says the times. */
static void __attribute__((noreturn)) copy(const char *path, long mib)
{
	int64_t t0, t1, t2;
	long i, n = mib * (1 << 20) / CHUNK;
	void *buf;
	int fd;

	if (posix_memalign(&buf, 4096, CHUNK))
		_exit(3);
	memset(buf, 0x5a, CHUNK);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_DIRECT | O_CLOEXEC, 0600);
	if (fd < 0)
		_exit(4);
	t0 = now_ns();
	for (i = 0; i < n; i++)
		if (pwrite(fd, buf, CHUNK, i * CHUNK) != CHUNK)
			_exit(5);
	if (fdatasync(fd))
		_exit(6);
	t1 = now_ns();
	for (i = 0; i < n; i++)
		if (pread(fd, buf, CHUNK, i * CHUNK) != CHUNK)
			_exit(7);
	t2 = now_ns();
	close(fd);
	unlink(path);
	prog_say("io %lld %lld\n", (long long)(t1 - t0), (long long)(t2 - t1));
	_exit(0);
}

int main(int argc, char **argv)
{
	char path[4096];
	long mib, rate;
	int64_t min_ns;
	long long w = 0, r = 0;
	char line[128];
	int st;
	FILE *f;
	pid_t a;

	prog_init(argc, argv, "cgio");
	if (argc < 5)
		prog_fail("usage: cgio OUTFILE DIR MIB RATE");
	mib = atol(argv[3]);
	rate = atol(argv[4]);
	if (mib < 1 || rate < 1)
		prog_fail("bad MIB or RATE");
	min_ns = (int64_t)(mib << 20) * 700000000 / rate;
	a = fork();
	if (a == 0) {
		prog_wait_go();
		snprintf(path, sizeof(path), "%s/cgio.%d", argv[2], (int)getpid());
		copy(path, mib);
	}
	if (a < 0)
		prog_fail("fork: %s", strerror(errno));
	prog_say("kid %d\n", (int)a);
	prog_ready();
	prog_wait_go();
	kill(a, SIGUSR1);
	if (waitpid(a, &st, 0) != a)
		prog_fail("waitpid: %s", strerror(errno));
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the child's IO failed (status %#x)", st);
	f = fopen(argv[1], "r");
	while (f && fgets(line, sizeof(line), f))
		sscanf(line, "io %lld %lld", &w, &r);
	if (f)
		fclose(f);
	prog_say("rates %lld %lld B/s (limit %ld)\n", w ? (mib << 20) * 1000000000LL / w : 0,
		 r ? (mib << 20) * 1000000000LL / r : 0, rate);
	CHECK(w >= min_ns && r >= min_ns,
	      "%ld MiB written in %lld ms, read in %lld ms: faster than %ld B/s allows", mib,
	      w / 1000000, r / 1000000, rate);
	prog_finish();
}
