/*
 * rst-undump: calls vxcr.ko's vmad_undump (PROCMIG/19) through the raw
 * ioctl on /dev/vserver, so that this process becomes the image's.
 *
 * Usage: rst-undump [--as UID | --thread | --sig] IMAGE|-
 *
 * IMAGE is opened read-only ("-": stdin, e.g. a pipe).  --as UID: after
 * opening the device and the image, the process drops to uid and gid UID
 * with no supplementary groups and no capabilities, then calls.
 * --thread: a second thread runs (sleeping) when the call is made.
 * --sig: SIGUSR1 has a handler (SA_RESTART) during the call.
 *
 * On success this never returns: the process is the image's.  When the
 * call fails, the program checks that its own memory is intact (a pattern
 * set before the call) and prints "errno N alive" (exit 3), or "errno N
 * damaged" (exit 4).  Usage and set-up errors: exit 2.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <grp.h>
#include <pthread.h>
#include <signal.h>
#include <sys/ioctl.h>

#include "vxcr/vserver.h"
#include "switch/kmod.h"

#define CANARY_WORDS 4096

static uint64_t canary[CANARY_WORDS];

static void on_usr1(int sig)
{
	(void)sig;
}

static void *sleeper(void *arg)
{
	(void)arg;
	for (;;)
		pause();
	return NULL;
}

int main(int argc, char **argv)
{
	struct vcmd_vmad_undump_v0 u = { 0 };
	struct vserver_ioc ioc = { 0 };
	int dev, fd, i, err, as = -1, thread = 0;
	pthread_t t;

	if (argc == 4 && !strcmp(argv[1], "--as")) {
		as = atoi(argv[2]);
		argv += 2;
		argc -= 2;
	}
	if (argc == 3 && !strcmp(argv[1], "--thread")) {
		thread = 1;
		argv++;
		argc--;
	}
	if (argc == 3 && !strcmp(argv[1], "--sig")) {
		/* SA_RESTART: only the module's -EINTR keeps the call from
		 * being restarted */
		struct sigaction sa = { .sa_handler = on_usr1, .sa_flags = SA_RESTART };

		sigaction(SIGUSR1, &sa, NULL);
		argv++;
		argc--;
	}
	if (argc != 2) {
		fprintf(stderr, "usage: rst-undump [--as UID | --thread | --sig] IMAGE|-\n");
		return 2;
	}
	fd = strcmp(argv[1], "-") ? open(argv[1], O_RDONLY) : 0;
	dev = open(VSERVER_DEV_PATH, O_RDWR);
	if (fd < 0 || dev < 0) {
		perror("rst-undump: open");
		return 2;
	}
	if (as >= 0 && (setgroups(0, NULL) || setresgid(as, as, as) || setresuid(as, as, as))) {
		perror("rst-undump: setresuid");
		return 2;
	}
	if (thread && pthread_create(&t, NULL, sleeper, NULL)) {
		fprintf(stderr, "rst-undump: pthread_create failed\n");
		return 2;
	}
	for (i = 0; i < CANARY_WORDS; i++)
		canary[i] = 0x5a5a5a5a00000000ull + i;
	u.fd = fd;
	ioc.size = sizeof(ioc);
	ioc.cmd = VCMD_vmad_undump;
	ioc.data = (uintptr_t)&u;
	ioc.data_size = sizeof(u);
	ioctl(dev, VSERVER_IOC_CALL, &ioc);
	err = errno;
	for (i = 0; i < CANARY_WORDS && canary[i] == 0x5a5a5a5a00000000ull + i; i++)
		;
	printf("errno %d %s\n", err, i == CANARY_WORDS ? "alive" : "damaged");
	return i == CANARY_WORDS ? 3 : 4;
}
