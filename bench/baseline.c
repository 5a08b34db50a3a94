/*
 * Baselines for the benchmark table: memcpy bandwidth, the first-touch rate
 * of fresh anonymous memory, and a pre-warm mode that touches and frees
 * memory (this VM returns freed memory to its host; touching some first makes
 * large-memory timings steadier).
 * usage: baseline memcpy MiB | touch MiB | warm MiB   (prints MB/s)
 *        baseline run OUTFILE CMD [ARG...]
 * run: forks and execs CMD, waits for it and writes "SECONDS MAXRSS_KIB
 * WCHAR" to OUTFILE (its wall time, the peak RSS wait4 reports and the bytes
 * it wrote, from /proc/PID/io read while it is a zombie); exits with CMD's
 * status.  The bench times vxcr and CRIU through it so neither the
 * Python's fork nor its resident set (counted in ru_maxrss up to exec) is
 * in the numbers.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static double touch(size_t len)
{
	char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	double t0, t1;
	size_t i;

	if (p == MAP_FAILED)
		exit(1);
	t0 = now();
	for (i = 0; i < len; i += 4096)
		p[i] = 1;
	t1 = now();
	munmap(p, len);
	return len / (t1 - t0) / 1e6;
}

static double copy(size_t len)
{
	char *a = malloc(len), *b = malloc(len);
	double t0, t1;

	if (!a || !b)
		exit(1);
	memset(a, 1, len);
	memset(b, 2, len);
	t0 = now();
	memcpy(b, a, len);
	t1 = now();
	if (b[len / 2] != 1)
		exit(1);
	free(a);
	free(b);
	return len / (t1 - t0) / 1e6;
}

/* The wchar line of /proc/PID/io (0 if unreadable). */
static unsigned long long wchar_of(pid_t pid)
{
	unsigned long long v = 0;
	char path[64], line[128];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/io", pid);
	f = fopen(path, "r");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "wchar: %llu", &v) == 1)
			break;
	fclose(f);
	return v;
}

static int run(const char *out, char **argv)
{
	unsigned long long wchar;
	struct rusage ru;
	siginfo_t si;
	double t0, t1;
	int status;
	FILE *f;
	pid_t pid;

	t0 = now();
	pid = fork();
	if (pid < 0)
		return 126;
	if (pid == 0) {
		execvp(argv[0], argv);
		_exit(127);
	}
	if (waitid(P_PID, pid, &si, WEXITED | WNOWAIT))
		return 126;
	t1 = now();
	wchar = wchar_of(pid);
	if (wait4(pid, &status, 0, &ru) != pid)
		return 126;
	f = fopen(out, "w");
	if (!f || fprintf(f, "%.6f %ld %llu\n", t1 - t0, ru.ru_maxrss, wchar) < 0 || fclose(f))
		return 126;
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}

int main(int argc, char **argv)
{
	size_t len;

	if (argc >= 4 && !strcmp(argv[1], "run"))
		return run(argv[2], argv + 3);

	if (argc != 3) {
		fprintf(stderr, "usage: baseline memcpy|touch|warm MiB\n");
		return 2;
	}
	len = strtoull(argv[2], NULL, 0) << 20;
	if (!strcmp(argv[1], "memcpy"))
		printf("%.0f\n", copy(len));
	else if (!strcmp(argv[1], "touch"))
		printf("%.0f\n", touch(len));
	else if (!strcmp(argv[1], "warm"))
		touch(len);
	else
		return 2;
	return 0;
}
