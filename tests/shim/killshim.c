/*
 * LD_PRELOAD shim for the dump-kill sweeps: counts the ptrace, waitpid,
 * wait4 and process_vm_writev calls of the program, and its writes to a
 * cgroup.freeze file, and SIGKILLs it at one of them, so a test can kill
 * vxdump at every such call in turn.
 *
 *   VXCR_KILL_AT=N        kill at call N (1-based); unset: only count
 *   VXCR_KILL_WHEN=after  kill right after the call returns (default:
 *                         right before it is made)
 *   VXCR_KILL_COUNT=FILE  at a normal exit, write the number of calls made
 *   VXCR_KILL_MAIN_ONLY=1 count and kill only in the process the shim was
 *                         loaded into, not in children it forks (a helper
 *                         such as the dump's guardian is not the dumper)
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/uio.h>
#include <sys/wait.h>

#define MAX_FREEZE_FDS 16

static unsigned long calls, kill_at;
static int kill_after;
static pid_t main_pid;			/* VXCR_KILL_MAIN_ONLY: ours, else 0 */
static int freeze_fds[MAX_FREEZE_FDS];	/* open cgroup.freeze files, -1 */

__attribute__((constructor)) static void shim_init(void)
{
	const char *at = getenv("VXCR_KILL_AT"), *when = getenv("VXCR_KILL_WHEN");
	const char *only = getenv("VXCR_KILL_MAIN_ONLY");
	int i;

	kill_at = at ? strtoul(at, NULL, 10) : 0;
	kill_after = when && !strcmp(when, "after");
	main_pid = only && !strcmp(only, "1") ? getpid() : 0;
	for (i = 0; i < MAX_FREEZE_FDS; i++)
		freeze_fds[i] = -1;
}

__attribute__((destructor)) static void shim_fini(void)
{
	const char *path = getenv("VXCR_KILL_COUNT");
	char buf[32];
	int fd, n;

	if (!path || (main_pid && getpid() != main_pid))
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
	if (main_pid && getpid() != main_pid)
		return;
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

/* cgroup.freeze files: a write to one is a counted call. */
static void note_open(const char *path, int fd)
{
	size_t n = strlen(path), k = strlen("/cgroup.freeze");
	int i;

	if (fd < 0 || n < k || strcmp(path + n - k, "/cgroup.freeze"))
		return;
	for (i = 0; i < MAX_FREEZE_FDS; i++) {
		if (freeze_fds[i] < 0) {
			freeze_fds[i] = fd;
			return;
		}
	}
}

static bool is_freeze_fd(int fd, bool forget)
{
	int i;

	for (i = 0; i < MAX_FREEZE_FDS; i++) {
		if (freeze_fds[i] == fd && fd >= 0) {
			if (forget)
				freeze_fds[i] = -1;
			return true;
		}
	}
	return false;
}

#define OPEN_WRAPPER(name, ...)							\
	{									\
		static __typeof__(&name) real;					\
		mode_t mode = 0;						\
		va_list ap;							\
		int fd;								\
										\
		if (!real)							\
			real = REAL(name);					\
		if (flags & (O_CREAT | O_TMPFILE)) {				\
			va_start(ap, flags);					\
			mode = va_arg(ap, mode_t);				\
			va_end(ap);						\
		}								\
		fd = real(__VA_ARGS__, flags, mode);				\
		note_open(path, fd);						\
		return fd;							\
	}

int open(const char *path, int flags, ...) OPEN_WRAPPER(open, path)
int open64(const char *path, int flags, ...) OPEN_WRAPPER(open64, path)
int openat(int dirfd, const char *path, int flags, ...) OPEN_WRAPPER(openat, dirfd, path)
int openat64(int dirfd, const char *path, int flags, ...) OPEN_WRAPPER(openat64, dirfd, path)

ssize_t write(int fd, const void *buf, size_t len)
{
	static __typeof__(&write) real;
	bool counted = is_freeze_fd(fd, false);
	ssize_t ret;

	if (!real)
		real = REAL(write);
	if (counted)
		tick(0);
	ret = real(fd, buf, len);
	if (counted)
		tick(1);
	return ret;
}

int close(int fd)
{
	static __typeof__(&close) real;

	if (!real)
		real = REAL(close);
	is_freeze_fd(fd, true);
	return real(fd);
}
