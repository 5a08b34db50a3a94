/*
 * Network lock timings (lib/net/netlock.c): lock and unlock of 1, 10, 100
 * and 1000 TCP connections (made-up loopback 4-tuples: the rules do not
 * care whether a socket exists), of a whole namespace from outside it,
 * and the look for a kept lock every restore makes (none there); median,
 * min and max of RUNS tries each, in ms.  Runs in a
 * throw-away network namespace of its own, so the host's ruleset is
 * never touched.
 * usage: netlock [RUNS]   (default 21)
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/wait.h>

#include "log.h"
#include "net/netlock.h"

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void report(const char *what, size_t n, double *v, int runs)
{
	qsort(v, runs, sizeof(*v), cmp_double);
	printf("%-8s %5zu  median %7.3f ms  min %7.3f  max %7.3f\n", what, n, v[runs / 2], v[0],
	       v[runs - 1]);
}

/* n made-up connections 127.0.x.y:port <-> 127.1.x.y:port. */
static void make_conns(struct net_conn *c, size_t n)
{
	size_t i;

	memset(c, 0, n * sizeof(*c));
	for (i = 0; i < n; i++) {
		c[i].local.family = c[i].peer.family = AF_INET;
		c[i].local.ip[0] = c[i].peer.ip[0] = 127;
		c[i].peer.ip[1] = 1;
		c[i].local.ip[2] = c[i].peer.ip[2] = (uint8_t)(i >> 8);
		c[i].local.ip[3] = c[i].peer.ip[3] = (uint8_t)i;
		c[i].local.port = (uint16_t)(10000 + i);
		c[i].peer.port = (uint16_t)(40000 + i);
	}
}

static int bench_conns(size_t n, int runs, double *lk, double *ul)
{
	struct net_conn *c = calloc(n, sizeof(*c));
	struct net_lock *l;
	double t0, t1;
	int r;

	if (!c)
		return -ENOMEM;
	make_conns(c, n);
	for (r = 0; r < runs; r++) {
		t0 = now_ms();
		if (net_lock_conns(c, n, -1, &l)) {
			free(c);
			return -EIO;
		}
		t1 = now_ms();
		net_unlock(l);
		lk[r] = t1 - t0;
		ul[r] = now_ms() - t1;
	}
	free(c);
	report("lock", n, lk, runs);
	report("unlock", n, ul, runs);
	return 0;
}

/* The whole namespace of a sleeping child, locked from ours. */
static int bench_netns(int runs, double *lk, double *ul)
{
	struct net_lock *l;
	char path[64];
	double t0, t1;
	int r, nsfd, p[2];
	char b;
	pid_t pid;

	if (pipe(p))
		return -errno;
	pid = fork();
	if (pid == 0) {
		if (unshare(CLONE_NEWNET) || write(p[1], "r", 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	if (pid < 0 || read(p[0], &b, 1) != 1)
		return -EIO;
	snprintf(path, sizeof(path), "/proc/%d/ns/net", pid);
	nsfd = open(path, O_RDONLY);
	for (r = 0; nsfd >= 0 && r < runs; r++) {
		t0 = now_ms();
		if (net_lock_netns(nsfd, &l))
			break;
		t1 = now_ms();
		net_unlock(l);
		lk[r] = t1 - t0;
		ul[r] = now_ms() - t1;
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	if (nsfd < 0 || r < runs)
		return -EIO;
	close(nsfd);
	report("lock-ns", 0, lk, runs);
	report("unlock", 0, ul, runs);
	return 0;
}

/* What every restore pays: looking for a kept lock of its image (none). */
static int bench_unlock_image(int runs, double *v)
{
	static const uint8_t id[16] = { 0xde, 0xad };
	double t0;
	int r;

	for (r = 0; r < runs; r++) {
		t0 = now_ms();
		if (net_unlock_image(id, sizeof(id)) != -ENOENT)
			return -EIO;
		v[r] = now_ms() - t0;
	}
	report("no-kept", 0, v, runs);
	return 0;
}

int main(int argc, char **argv)
{
	static const size_t sizes[] = { 1, 10, 100, 1000 };
	int runs = argc > 1 ? atoi(argv[1]) : 21;
	double *lk, *ul;
	size_t i;

	if (runs < 1 || runs > 10000) {
		fprintf(stderr, "usage: netlock [RUNS]\n");
		return 2;
	}
	if (unshare(CLONE_NEWNET)) {
		perror("netlock: unshare(CLONE_NEWNET) (needs root)");
		return 1;
	}
	lk = calloc(runs, sizeof(*lk));
	ul = calloc(runs, sizeof(*ul));
	if (!lk || !ul)
		return 1;
	printf("network lock, %d runs each (connections: made-up loopback 4-tuples)\n", runs);
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
		if (bench_conns(sizes[i], runs, lk, ul)) {
			fprintf(stderr, "netlock: locking %zu connections failed: %s\n", sizes[i],
				vxcr_last_error());
			return 1;
		}
	if (bench_netns(runs, lk, ul)) {
		fprintf(stderr, "netlock: locking a namespace failed: %s\n", vxcr_last_error());
		return 1;
	}
	if (bench_unlock_image(runs, lk)) {
		fprintf(stderr, "netlock: looking for a kept lock failed: %s\n", vxcr_last_error());
		return 1;
	}
	free(lk);
	free(ul);
	return 0;
}
