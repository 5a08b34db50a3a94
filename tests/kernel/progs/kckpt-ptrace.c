/*
 * Dumps a running task while it is ptrace-stopped (not group-stopped):
 * PTRACE_SEIZE and PTRACE_INTERRUPT, waits for the stop, calls task_dump
 * (the ioctl on /dev/vserver) into IMAGE, detaches (the task runs on).
 * Prints "ret N" or "err ENAME"; exits 0 when the dump succeeded.
 *
 *   kckpt-ptrace PID IMAGE
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <unistd.h>

#include "switch/kmod.h"
#include "vxcr/vserver-abi.h"

int main(int argc, char **argv)
{
	struct vcmd_task_dump_v0 td = { 0 };
	struct vserver_ioc ioc = { .size = sizeof(ioc) };
	int dev, st, ret = 1;
	pid_t pid;

	if (argc != 3) {
		fprintf(stderr, "usage: kckpt-ptrace PID IMAGE\n");
		return 2;
	}
	pid = atoi(argv[1]);
	dev = open(VSERVER_DEV_PATH, O_RDWR | O_CLOEXEC);
	td.fd = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (dev < 0 || td.fd < 0) {
		perror("open");
		return 2;
	}
	if (ptrace(PTRACE_SEIZE, pid, 0, 0) || ptrace(PTRACE_INTERRUPT, pid, 0, 0)) {
		perror("ptrace");
		return 2;
	}
	if (waitpid(pid, &st, __WALL) != pid || !WIFSTOPPED(st)) {
		perror("waitpid");
		return 2;
	}
	td.pid = pid;
	ioc.cmd = VCMD_task_dump;
	ioc.data = (unsigned long)&td;
	ioc.data_size = sizeof(td);
	if (ioctl(dev, VSERVER_IOC_CALL, &ioc) < 0) {
		printf("err %s\n", strerrorname_np(errno));
	} else {
		printf("ret %lld\n", (long long)ioc.result);
		ret = 0;
	}
	if (ptrace(PTRACE_DETACH, pid, 0, 0))
		perror("PTRACE_DETACH");
	return ret;
}
