/*
 * LD_PRELOAD shim for the dump-kill sweeps: counts the ptrace, waitpid,
 * wait4 and process_vm_writev calls of the program and SIGKILLs it at one
 * of them, so a test can kill vxdump at every such call in turn.
 *
 *   VXCR_KILL_AT=N        kill at call N (1-based); unset: only count
 *   VXCR_KILL_WHEN=after  kill right after the call returns (default:
 *                         right before it is made)
 *   VXCR_KILL_COUNT=FILE  at a normal exit, write the number of calls made
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/uio.h>
#include <sys/wait.h>

static unsigned long calls, kill_at;
static int kill_after;

__attribute__((constructor)) static void shim_init(void)
{
	const char *at = getenv("VXCR_KILL_AT"), *when = getenv("VXCR_KILL_WHEN");

	kill_at = at ? strtoul(at, NULL, 10) : 0;
	kill_after = when && !strcmp(when, "after");
}

__attribute__((destructor)) static void shim_fini(void)
{
	const char *path = getenv("VXCR_KILL_COUNT");
	char buf[32];
	int fd, n;

	if (!path)
		return;
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return;
	n = snprintf(buf, sizeof(buf), "%lu\n", calls);
	if (write(fd, buf, (size_t)n) != n)
		n = 0;
	close(fd);
}

/* Called around every counted call; dies at the chosen one. */
static void tick(int after)
{
	if (!after)
		calls++;
	if (kill_at && calls == kill_at && after == kill_after)
		raise(SIGKILL);
}

#define REAL(name) ((__typeof__(&name))dlsym(RTLD_NEXT, #name))

long ptrace(enum __ptrace_request req, ...)
{
	static long (*real)(enum __ptrace_request, pid_t, void *, void *);
	va_list ap;
	pid_t pid;
	void *addr, *data;
	long ret;

	va_start(ap, req);
	pid = va_arg(ap, pid_t);
	addr = va_arg(ap, void *);
	data = va_arg(ap, void *);
	va_end(ap);
	if (!real)
		real = (long (*)(enum __ptrace_request, pid_t, void *, void *))dlsym(RTLD_NEXT,
										  "ptrace");
	tick(0);
	ret = real(req, pid, addr, data);
	tick(1);
	return ret;
}

pid_t waitpid(pid_t pid, int *status, int options)
{
	static __typeof__(&waitpid) real;
	pid_t ret;

	if (!real)
		real = REAL(waitpid);
	tick(0);
	ret = real(pid, status, options);
	tick(1);
	return ret;
}

pid_t wait4(pid_t pid, int *status, int options, struct rusage *ru)
{
	static __typeof__(&wait4) real;
	pid_t ret;

	if (!real)
		real = REAL(wait4);
	tick(0);
	ret = real(pid, status, options, ru);
	tick(1);
	return ret;
}

ssize_t process_vm_writev(pid_t pid, const struct iovec *l, unsigned long ln,
			  const struct iovec *r, unsigned long rn, unsigned long flags)
{
	static __typeof__(&process_vm_writev) real;
	ssize_t ret;

	if (!real)
		real = REAL(process_vm_writev);
	tick(0);
	ret = real(pid, l, ln, r, rn, flags);
	tick(1);
	return ret;
}
