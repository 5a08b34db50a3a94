/*
 * A client of vxcr snap serve through the C API (vxcr/snap.h):
 *   snap-client SOCKET spawn N ARG...  N copies at once with our stdio
 *                                      ("{}" in an ARG: the copy's index),
 *                                      "spawned I pid P", then each one's
 *                                      "exited I pid P status S"
 *   snap-client SOCKET pss N ARG...    N copies; once each has printed its
 *                                      first line, "pss I pid P KB" of each
 *                                      (smaps_rollup), then kills them
 *   snap-client SOCKET leave ARG...    one copy, "spawned 0 pid P", exits
 *                                      without waiting (a client gone)
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "vxcr/vxcr.h"
#include "vxcr/snap.h"

#define MAX_COPIES 64

static char **args_of(char **argv, int argc, int i)
{
	char **v = calloc(argc + 1, sizeof(*v));
	int k;

	for (k = 0; v && k < argc; k++) {
		char *at = strstr(argv[k], "{}");

		if (at && asprintf(&v[k], "%.*s%d%s", (int)(at - argv[k]), argv[k], i, at + 2) < 0)
			exit(1);
		if (!at)
			v[k] = argv[k];
	}
	return v;
}

static long pss_kb(pid_t pid)
{
	char path[64], line[256];
	long kb = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/smaps_rollup", pid);
	f = fopen(path, "r");
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "Pss: %ld kB", &kb) == 1)
			break;
	if (f)
		fclose(f);
	return kb;
}

int main(int argc, char **argv)
{
	struct vxcr_snap *s;
	pid_t pids[MAX_COPIES];
	int pidfds[MAX_COPIES], n = 1, i, first, status, p[2];

	if (argc < 3) {
		fprintf(stderr, "usage: snap-client SOCKET spawn|pss N ARG... | leave ARG...\n");
		return 2;
	}
	if (vxcr_snap_open(argv[1], &s)) {
		fprintf(stderr, "snap-client: %s\n", vxcr_last_error());
		return 1;
	}
	first = 3;
	if (strcmp(argv[2], "leave")) {
		n = argc > 3 ? atoi(argv[3]) : 0;
		first = 4;
	}
	if (n < 1 || n > MAX_COPIES)
		return 2;
	if (pipe(p))
		return 1;
	for (i = 0; i < n; i++) {
		int fds[3] = { 0, strcmp(argv[2], "pss") ? 1 : p[1], 2 };

		if (vxcr_snap_spawn(s, args_of(argv + first, argc - first, i), fds, &pids[i],
				    &pidfds[i])) {
			fprintf(stderr, "snap-client: spawn %d: %s\n", i, vxcr_last_error());
			return 1;
		}
		printf("spawned %d pid %d\n", i, pids[i]);
		fflush(stdout);
	}
	close(p[1]);
	if (!strcmp(argv[2], "leave"))
		return 0; /* gone without waiting */
	if (!strcmp(argv[2], "pss")) {
		char line[256];
		FILE *f = fdopen(p[0], "r");

		for (i = 0; i < n; i++) /* each copy's first line: it runs */
			if (!f || !fgets(line, sizeof(line), f))
				return 1;
		for (i = 0; i < n; i++)
			printf("pss %d pid %d %ld\n", i, pids[i], pss_kb(pids[i]));
		for (i = 0; i < n; i++)
			syscall(SYS_pidfd_send_signal, pidfds[i], SIGKILL, NULL, 0);
	}
	for (i = 0; i < n; i++) {
		if (vxcr_snap_wait(s, pids[i], &status)) {
			fprintf(stderr, "snap-client: wait %d: %s\n", i, vxcr_last_error());
			return 1;
		}
		printf("exited %d pid %d status %d\n", i, pids[i],
		       WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
	}
	vxcr_snap_close(s);
	return 0;
}
