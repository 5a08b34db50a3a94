/*
 * Benchmark workload for trees and threads: N small processes (children of
 * one root) or one process with N threads, each touching 64 KiB of memory
 * of its own; writes "ready" to READYFILE once all exist and sleeps until
 * killed (children die with the root: PR_SET_PDEATHSIG).
 * usage: many procs|threads N READYFILE
 */
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/prctl.h>

#define TOUCH_LEN (64 * 1024)

static volatile int started;

static void touch_own_memory(int idx)
{
	uint64_t *p = malloc(TOUCH_LEN);
	size_t i;

	if (!p)
		_exit(1);
	for (i = 0; i < TOUCH_LEN / 8; i++)
		p[i] = (uint64_t)idx << 32 | i;
}

static void *thread_main(void *arg)
{
	touch_own_memory((int)(intptr_t)arg);
	__atomic_add_fetch(&started, 1, __ATOMIC_SEQ_CST);
	for (;;)
		pause();
	return NULL;
}

int main(int argc, char **argv)
{
	int n, i, fd, p[2];
	pthread_t t;
	char c;

	if (argc != 4 || (strcmp(argv[1], "procs") && strcmp(argv[1], "threads"))) {
		fprintf(stderr, "usage: many procs|threads N READYFILE\n");
		return 2;
	}
	n = atoi(argv[2]);
	if (pipe(p))
		return 1;
	for (i = 0; i < n; i++) {
		if (argv[1][0] == 't') {
			if (pthread_create(&t, NULL, thread_main, (void *)(intptr_t)i))
				return 1;
			continue;
		}
		switch (fork()) {
		case -1:
			return 1;
		case 0:
			prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
			close(p[0]);
			touch_own_memory(i);
			if (write(p[1], "r", 1) != 1)
				_exit(1);
			close(p[1]);
			for (;;)
				pause();
		}
	}
	close(p[1]);
	if (argv[1][0] == 't') {
		while (__atomic_load_n(&started, __ATOMIC_SEQ_CST) < n)
			usleep(1000);
	} else {
		for (i = 0; i < n; i++)
			if (read(p[0], &c, 1) != 1)
				return 1;
	}
	close(p[0]);
	fd = open(argv[3], O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || write(fd, "ready\n", 6) != 6)
		return 1;
	close(fd);
	for (;;)
		pause();
}
