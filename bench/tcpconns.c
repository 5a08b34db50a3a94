/*
 * Benchmark workload for TCP C/R: one process holding N established
 * loopback connections (both ends: N accepted sockets, N clients) and
 * their listener, with a few bytes queued each way on every connection.
 * Writes "ready" to READYFILE and sleeps; on SIGUSR1 (after a restore) it
 * sends one byte on every end and reads every byte back, then writes "ok"
 * or "bad" to READYFILE.  With "queued", the connections wait in the
 * listener's accept queue (each client's 3 bytes in it) and are accepted
 * only after SIGUSR1.
 * usage: tcpconns N READYFILE [queued]
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>

static volatile sig_atomic_t go;

static void on_usr1(int sig)
{
	(void)sig;
	go = 1;
}

static void say(const char *file, const char *what)
{
	int fd = open(file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	if (fd < 0 || write(fd, what, strlen(what)) < 0)
		exit(1);
	close(fd);
}

/* Every end reads what its peer queued, sends one byte, reads one back. */
static int check(int *cl, int *sv, int n)
{
	char b[8];
	int i;

	for (i = 0; i < n; i++) {
		if (read(sv[i], b, 3) != 3 || read(cl[i], b, 3) != 3)
			return -1;
		if (write(cl[i], "x", 1) != 1 || write(sv[i], "y", 1) != 1)
			return -1;
		if (read(sv[i], b, 1) != 1 || b[0] != 'x' || read(cl[i], b, 1) != 1 || b[0] != 'y')
			return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof(a);
	int n, l, i, *cl, *sv;
	bool queued;
	sigset_t m, old;

	if (argc < 3 || argc > 4 || (n = atoi(argv[1])) <= 0) {
		fprintf(stderr, "usage: tcpconns N READYFILE [queued]\n");
		return 2;
	}
	queued = argc == 4;
	cl = calloc(n, sizeof(int));
	sv = calloc(n, sizeof(int));
	inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
	l = socket(AF_INET, SOCK_STREAM, 0);
	if (!cl || !sv || l < 0 || bind(l, (struct sockaddr *)&a, len) || listen(l, 4096) ||
	    getsockname(l, (struct sockaddr *)&a, &len))
		return 1;
	for (i = 0; i < n; i++) {
		cl[i] = socket(AF_INET, SOCK_STREAM, 0);
		if (cl[i] < 0 || connect(cl[i], (struct sockaddr *)&a, len))
			return 1;
		if (write(cl[i], "abc", 3) != 3)
			return 1;
		if (queued)
			continue;
		sv[i] = accept(l, NULL, NULL);
		if (sv[i] < 0 || write(sv[i], "def", 3) != 3)
			return 1;
	}
	signal(SIGUSR1, on_usr1);
	sigemptyset(&m);
	sigaddset(&m, SIGUSR1);
	sigprocmask(SIG_BLOCK, &m, &old);
	usleep(100000);
	say(argv[2], "ready");
	while (!go)
		sigsuspend(&old);
	for (i = 0; queued && i < n; i++) {
		sv[i] = accept(l, NULL, NULL);
		if (sv[i] < 0 || write(sv[i], "def", 3) != 3)
			return 1;
	}
	say(argv[2], check(cl, sv, n) ? "bad" : "ok");
	for (;;)
		pause();
}
