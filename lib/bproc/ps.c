/*
 * vx_moved_list (vxcr/bproc.h): the ghosts running here, found in /proc by
 * their command line "vxcr ghost FD COMM NODE PID" (move.c's
 * become_ghost).  What it says is shown, not trusted: any process may
 * exec a command line like it.
 */
#define LOG_PREFIX "bproc: "
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "error.h"
#include "vxcr/vxcr.h"
#include "vxcr/bproc.h"

/* pid's command line as a ghost's into *m: true if it is one. */
static bool read_ghost(pid_t pid, struct vx_moved *m)
{
	char path[64], buf[256], *arg[7];
	ssize_t len;
	int fd, n = 0;
	char *p, *end;
	long node, npid;

	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	len = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (len <= 0)
		return false;
	buf[len] = '\0';
	for (p = buf; p < buf + len && n < 7; p += strlen(p) + 1)
		arg[n++] = p;
	if (n != 6 || strcmp(arg[0], "vxcr") || strcmp(arg[1], "ghost"))
		return false;
	errno = 0;
	node = strtol(arg[4], &end, 10);
	if (errno || *end || node < 0 || node >= VX_NODES_MAX)
		return false;
	npid = strtol(arg[5], &end, 10);
	if (errno || *end || npid <= 0 || npid > 0x3fffffff)
		return false;
	m->pid = pid;
	m->node = (int)node;
	m->node_pid = (pid_t)npid;
	snprintf(m->comm, sizeof(m->comm), "%.16s", arg[3]);
	return true;
}

static int moved_list(struct vx_moved **out, size_t *n)
{
	struct vx_moved *v = NULL, m, *grown;
	struct dirent *de;
	DIR *d = opendir("/proc");

	*out = NULL;
	*n = 0;
	if (!d) {
		err_set(-errno, "cannot read /proc: %s", strerror(errno));
		return -errno;
	}
	while ((de = readdir(d))) {
		char *end;
		long pid = strtol(de->d_name, &end, 10);

		if (*end || pid <= 0 || !read_ghost((pid_t)pid, &m))
			continue;
		grown = realloc(v, (*n + 1) * sizeof(*v));
		if (!grown) {
			free(v);
			closedir(d);
			*n = 0;
			err_set(-ENOMEM, "out of memory");
			return -ENOMEM;
		}
		v = grown;
		v[(*n)++] = m;
	}
	closedir(d);
	*out = v;
	return 0;
}

int vx_moved_list(struct vx_moved **out, size_t *n)
{
	int ret;

	err_op_begin();
	ret = err_op_end(moved_list(out, n));
	if (ret) {
		errno = -ret;
		return -1;
	}
	return 0;
}
