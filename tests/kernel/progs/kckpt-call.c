/*
 * Calls the module's checkpoint commands directly (the ioctl on
 * /dev/vserver, no library in between) and prints "ret N" or "err ENAME";
 * exits 0 when the call succeeded, 1 when it failed, 2 on a usage error.
 *
 *   kckpt-call [-u UID] task_dump PID TARGET FLAGS [RESERVED]
 *   kckpt-call [-u UID] vmad_dump TARGET FLAGS
 *
 * TARGET: PATH (created or truncated, write-only), ro:PATH (read-only) or
 * fd:N (that fd number as is).  -u: the device and TARGET are opened
 * first, then the caller becomes UID (and gid UID) before the call.
 */
#include <errno.h>
#include <grp.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "switch/kmod.h"
#include "vxcr/vserver-abi.h"

static int open_target(const char *t)
{
	if (!strncmp(t, "fd:", 3))
		return atoi(t + 3);
	if (!strncmp(t, "ro:", 3))
		return open(t + 3, O_RDONLY);
	return open(t, O_WRONLY | O_CREAT | O_TRUNC, 0600);
}

static int usage(void)
{
	fprintf(stderr, "usage: kckpt-call [-u UID] task_dump PID TARGET FLAGS [RESERVED]\n"
			"       kckpt-call [-u UID] vmad_dump TARGET FLAGS\n");
	return 2;
}

int main(int argc, char **argv)
{
	struct vcmd_task_dump_v0 td = { 0 };
	struct vcmd_vmad_dump_v0 vd = { 0 };
	struct vserver_ioc ioc = { .size = sizeof(ioc) };
	int dev, uid = -1, i = 1;

	if (argc > 2 && !strcmp(argv[1], "-u")) {
		uid = atoi(argv[2]);
		i = 3;
	}
	if (argc - i >= 4 && !strcmp(argv[i], "task_dump")) {
		td.pid = atoi(argv[i + 1]);
		td.fd = open_target(argv[i + 2]);
		td.flags = strtoul(argv[i + 3], NULL, 0);
		td.reserved = argc - i > 4 ? strtoul(argv[i + 4], NULL, 0) : 0;
		ioc.cmd = VCMD_task_dump;
		ioc.data = (unsigned long)&td;
		ioc.data_size = sizeof(td);
	} else if (argc - i == 3 && !strcmp(argv[i], "vmad_dump")) {
		vd.fd = open_target(argv[i + 1]);
		vd.flags = strtoul(argv[i + 2], NULL, 0);
		ioc.cmd = VCMD_vmad_dump;
		ioc.data = (unsigned long)&vd;
		ioc.data_size = sizeof(vd);
	} else {
		return usage();
	}
	dev = open(VSERVER_DEV_PATH, O_RDWR | O_CLOEXEC);
	if (dev < 0) {
		perror(VSERVER_DEV_PATH);
		return 2;
	}
	if (uid >= 0 && (setgroups(0, NULL) || setgid(uid) || setuid(uid))) {
		perror("setuid");
		return 2;
	}
	if (ioctl(dev, VSERVER_IOC_CALL, &ioc) < 0) {
		printf("err %s\n", strerrorname_np(errno));
		return 1;
	}
	printf("ret %lld\n", (long long)ioc.result);
	return 0;
}
