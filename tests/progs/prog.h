/*
 * Shared helpers for test programs (the .c files in tests/progs).
 *
 * Protocol: the harness starts `prog OUTFILE [args]` with stdio redirected
 * to files.  The program sets up its state, appends "ready\n" to OUTFILE
 * (prog_ready), and waits for SIGUSR1 (prog_wait_go).  Meanwhile the harness
 * dumps and restores it.  On SIGUSR1 the program checks its state and appends
 * "PASS <name>\n" (exit 0) or "FAIL <name>: reason\n" (exit 1) to OUTFILE.
 *
 * OUTFILE is opened, appended to and closed for every line, so the program
 * holds no extra fd on it, unless prog_keep_out_open() was called (for a
 * program that later loses the right to open it).
 *
 * Checks accumulate: CHECK(cond, fmt, ...) records the first failure and the
 * program reports it through prog_finish().
 */
#ifndef VXCR_TEST_PROG_H
#define VXCR_TEST_PROG_H

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/syscall.h>

static const char *prog_name = "prog";
static const char *prog_out;
static int prog_out_fd = -1;
static volatile sig_atomic_t prog_go;
static char prog_failure[512];

/* Appends one formatted line to OUTFILE; returns 0 or -1. */
__attribute__((format(printf, 1, 2))) static inline int prog_say(const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	int fd = prog_out_fd, n, ret;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0)
		return -1;
	if (n >= (int)sizeof(buf))
		n = sizeof(buf) - 1;
	if (fd < 0)
		fd = open(prog_out, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0) {
		fprintf(stderr, "%s: %s: %s\n", prog_name, prog_out, strerror(errno));
		return -1;
	}
	ret = write(fd, buf, n) == n ? 0 : -1;
	if (fd != prog_out_fd)
		close(fd);
	return ret;
}

/* Reports and exits at once (setup errors and fatal mismatches). */
__attribute__((format(printf, 1, 2), noreturn)) static inline void prog_fail(const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	fprintf(stderr, "FAIL %s: %s\n", prog_name, buf);
	prog_say("FAIL %s: %s\n", prog_name, buf);
	exit(1);
}

/* Records the first failed check; later ones go to stderr only. */
__attribute__((format(printf, 1, 2))) static inline void prog_record_failure(const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s: check failed: %s\n", prog_name, buf);
	if (!prog_failure[0])
		snprintf(prog_failure, sizeof(prog_failure), "%s", buf);
}

#define CHECK(cond, ...)                                  \
	do {                                              \
		if (!(cond))                              \
			prog_record_failure(__VA_ARGS__); \
	} while (0)

/* Writes PASS or the first recorded FAIL and exits 0 or 1. */
__attribute__((noreturn)) static inline void prog_finish(void)
{
	if (prog_failure[0]) {
		prog_say("FAIL %s: %s\n", prog_name, prog_failure);
		exit(1);
	}
	prog_say("PASS %s\n", prog_name);
	exit(0);
}

static inline void prog_on_usr1(int sig)
{
	(void)sig;
	prog_go = 1;
}

/*
 * Parses argv (OUTFILE first), installs the SIGUSR1 "go" handler and blocks
 * SIGUSR1 so prog_wait_go() can wait for it without a race.  Programs that
 * want SIGUSR1 for themselves install their own handler afterwards.
 */
static inline void prog_init(int argc, char **argv, const char *name)
{
	struct sigaction sa;
	sigset_t set;

	prog_name = name;
	if (argc < 2) {
		fprintf(stderr, "usage: %s OUTFILE [args]\n", argv[0]);
		exit(2);
	}
	prog_out = argv[1];
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = prog_on_usr1;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	if (sigaction(SIGUSR1, &sa, NULL))
		prog_fail("sigaction SIGUSR1: %s", strerror(errno));
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_BLOCK, &set, NULL);
}

/* Keeps OUTFILE open on a high fd for the rest of the run. */
static inline void prog_keep_out_open(void)
{
	int fd = open(prog_out, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);

	if (fd < 0)
		prog_fail("open %s: %s", prog_out, strerror(errno));
	prog_out_fd = fcntl(fd, F_DUPFD_CLOEXEC, 900);
	close(fd);
	if (prog_out_fd < 0)
		prog_fail("dup OUTFILE: %s", strerror(errno));
}

static inline void prog_ready(void)
{
	if (prog_say("ready\n"))
		exit(1);
}

/* Waits for SIGUSR1 (blocked by prog_init) with sigsuspend. */
static inline void prog_wait_go(void)
{
	sigset_t wait_mask;

	sigprocmask(SIG_SETMASK, NULL, &wait_mask);
	sigdelset(&wait_mask, SIGUSR1);
	while (!prog_go)
		sigsuspend(&wait_mask);
}

/*
 * Becomes a process outside the tree: forks, the parent exits, and the
 * grandchild (reparented to the harness's subreaper) keeps only stdio and
 * fd keep, moved to 200.  Returns the new fd of keep; _exits on failure.
 */
static inline int prog_outside(int keep)
{
	if (fork())
		_exit(0);
	keep = dup3(keep, 200, O_CLOEXEC);
	if (keep < 0 || syscall(SYS_close_range, 3, 199, 0) ||
	    syscall(SYS_close_range, 201, ~0u, 0))
		_exit(1);
	return keep;
}

/* A deterministic 64-bit pattern for (seed, index). */
static inline uint64_t prog_pattern(uint64_t seed, uint64_t i)
{
	uint64_t x = seed * 0x9e3779b97f4a7c15ULL + i + 1;

	x ^= x >> 31;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 29;
	return x ? x : 1;
}

/* Fills len bytes (multiple of 8) at p with the pattern for seed. */
static inline void prog_fill(void *p, size_t len, uint64_t seed)
{
	uint64_t *q = p;
	size_t i;

	for (i = 0; i < len / 8; i++)
		q[i] = prog_pattern(seed, i);
}

/* Returns the index of the first mismatching word, or -1 if all match. */
static inline long prog_verify(const void *p, size_t len, uint64_t seed)
{
	const uint64_t *q = p;
	size_t i;

	for (i = 0; i < len / 8; i++)
		if (q[i] != prog_pattern(seed, i))
			return (long)i;
	return -1;
}

/* Directory of OUTFILE (for the program's own temporary files). */
static inline const char *prog_dir(void)
{
	static char dir[4096];
	char *slash;

	snprintf(dir, sizeof(dir), "%s", prog_out);
	slash = strrchr(dir, '/');
	if (!slash)
		return ".";
	if (slash == dir)
		return "/";
	*slash = '\0';
	return dir;
}

/* Reads a whole small file into buf (NUL-terminated); returns length or -1. */
static inline ssize_t prog_read_file(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n, total = 0;

	if (fd < 0)
		return -1;
	while ((size_t)total < size - 1 && (n = read(fd, buf + total, size - 1 - total)) > 0)
		total += n;
	close(fd);
	buf[total] = '\0';
	return total;
}

/*
 * Checks that the "count N" lines in OUTFILE increase strictly and that
 * there are at least two; returns the last value.
 */
static inline unsigned long long prog_check_counts(void)
{
	static char buf[1 << 20];
	unsigned long long v, last = 0;
	char *line;
	int n = 0;

	if (prog_read_file(prog_out, buf, sizeof(buf)) < 0)
		prog_fail("read %s: %s", prog_out, strerror(errno));
	for (line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
		if (sscanf(line, "count %llu", &v) != 1)
			continue;
		CHECK(v > last, "count %llu after %llu", v, last);
		last = v;
		n++;
	}
	CHECK(n >= 2, "only %d count lines", n);
	return last;
}

#endif
