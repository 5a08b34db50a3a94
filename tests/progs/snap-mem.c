/*
 * A program for vxcr snap: builds 1 MiB of warm state (a pattern, one word
 * per 4 KiB page, made before it is ready), prints "warm pid P", says
 * ready with vxcr_snap_ready() and then runs the commands it got as its
 * arguments, one after the other:
 *   show      prints "copy pid P value V pattern ok|BAD args N"
 *   set V     writes V to its value word
 *   sleep MS  sleeps
 *   stdin     reads one line from stdin, prints "stdin LINE"
 *   exit N    exits with status N
 * With "early N" as its own argument (at take) it exits with N before it
 * is ready; with "thread" it starts a thread first, with "child" a child
 * process (both wait forever).  Ends with status 0 after the last command.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "vxcr/vxcr.h"
#include "vxcr/snap.h"

#define WARM_BYTES (1 << 20)
#define INITIAL_VALUE 4242

static unsigned long *warm;
static unsigned long value = INITIAL_VALUE;

static unsigned long pattern(size_t i)
{
	return i * 2654435761UL + 17;
}

static int pattern_ok(void)
{
	size_t i;

	for (i = 0; i < WARM_BYTES / sizeof(*warm); i += 512)
		if (warm[i] != pattern(i))
			return 0;
	return 1;
}

static void *idle(void *arg)
{
	for (;;)
		pause();
	return arg;
}

static int run(int argc, char **argv)
{
	char line[256];
	int i;

	for (i = 0; i < argc; i++) {
		const char *c = argv[i], *arg = i + 1 < argc ? argv[i + 1] : "0";

		if (!strcmp(c, "show")) {
			printf("copy pid %d value %lu pattern %s args %d\n", getpid(), value,
			       pattern_ok() ? "ok" : "BAD", argc);
		} else if (!strcmp(c, "set")) {
			value = strtoul(arg, NULL, 10);
			i++;
		} else if (!strcmp(c, "sleep")) {
			struct timespec ts = { atoi(arg) / 1000, (atoi(arg) % 1000) * 1000000L };

			nanosleep(&ts, NULL);
			i++;
		} else if (!strcmp(c, "stdin")) {
			if (!fgets(line, sizeof(line), stdin))
				strcpy(line, "(eof)\n");
			printf("stdin %s", line);
		} else if (!strcmp(c, "exit")) {
			fflush(stdout);
			exit(atoi(arg));
		} else {
			fprintf(stderr, "snap-mem: unknown command %s\n", c);
			return 2;
		}
		fflush(stdout);
	}
	return 0;
}

int main(int argc, char **argv)
{
	char **args;
	int n, ret;
	size_t i;

	if (argc == 3 && !strcmp(argv[1], "early"))
		return atoi(argv[2]);
	if (argc == 2 && !strcmp(argv[1], "thread")) {
		pthread_t t;

		if (pthread_create(&t, NULL, idle, NULL))
			return 1;
	}
	if (argc == 2 && !strcmp(argv[1], "child") && fork() == 0)
		idle(NULL);
	warm = malloc(WARM_BYTES);
	if (!warm)
		return 1;
	for (i = 0; i < WARM_BYTES / sizeof(*warm); i++)
		warm[i] = pattern(i);
	printf("warm pid %d\n", getpid());
	fflush(stdout);
	ret = vxcr_snap_ready(&n, &args);
	if (ret) {
		fprintf(stderr, "snap-mem: ready: %s\n", vxcr_last_error());
		return 1;
	}
	ret = run(n, args);
	free(args);
	return ret;
}
