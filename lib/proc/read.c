/*
 * Fetching /proc/PID files.  Errors are returned, not logged: the caller
 * knows which object it was after.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proc/proc.h"

static void proc_path(char *buf, size_t size, pid_t pid, const char *name)
{
	if (pid)
		snprintf(buf, size, "/proc/%d/%s", (int)pid, name);
	else
		snprintf(buf, size, "/proc/self/%s", name);
}

/* Reads the whole file into a malloc'ed, NUL-terminated buffer. */
int proc_read_file(pid_t pid, const char *name, char **out, size_t *len)
{
	char path[256];

	proc_path(path, sizeof(path), pid, name);
	return proc_read_path(path, out, len);
}

/* proc_read_file() for a file outside /proc/PID (/proc/sysvipc/shm ...). */
int proc_read_path(const char *path, char **out, size_t *len)
{
	char *buf = NULL, *nb;
	size_t cap = 0, n = 0;
	ssize_t r;
	int fd, ret = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	for (;;) {
		if (cap - n < 4096) {
			cap = cap ? cap * 2 : 16384;
			nb = realloc(buf, cap + 1);
			if (!nb) {
				ret = -ENOMEM;
				break;
			}
			buf = nb;
		}
		r = read(fd, buf + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			ret = r < 0 ? -errno : 0;
			break;
		}
		n += r;
	}
	close(fd);
	if (ret) {
		free(buf);
		return ret;
	}
	buf[n] = '\0';
	*out = buf;
	if (len)
		*len = n;
	return 0;
}

int proc_readlink(pid_t pid, const char *name, char *buf, size_t size)
{
	char path[256];
	ssize_t n;

	proc_path(path, sizeof(path), pid, name);
	n = readlink(path, buf, size - 1);
	if (n < 0)
		return -errno;
	if ((size_t)n == size - 1)
		return -ENAMETOOLONG;
	buf[n] = '\0';
	return 0;
}

int proc_read_long(pid_t pid, const char *name, int base, long long *out)
{
	char *text, *end;
	int ret;

	ret = proc_read_file(pid, name, &text, NULL);
	if (ret)
		return ret;
	errno = 0;
	*out = strtoll(text, &end, base);
	ret = (end == text || errno) ? -EINVAL : 0;
	free(text);
	return ret;
}

/* The first cgroup2 mount point in /proc/self/mountinfo: 0, or -ENOENT. */
int proc_cgroup2_mount(char *out, size_t len)
{
	char line[4096], mnt[4096], *sep;
	FILE *f = fopen("/proc/self/mountinfo", "re");
	int ret = -ENOENT;

	if (!f)
		return -errno;
	while (ret && fgets(line, sizeof(line), f)) {
		sep = strstr(line, " - ");
		if (!sep || strncmp(sep, " - cgroup2 ", 11))
			continue;
		if (sscanf(line, "%*s %*s %*s %*s %4095s", mnt) != 1 || strlen(mnt) >= len)
			continue;
		memcpy(out, mnt, strlen(mnt) + 1);
		ret = 0;
	}
	fclose(f);
	return ret;
}
