/*
 * vx_execmove and vx_vexecmove (vxcr/bproc.h).  Each child of a
 * vexecmove is forked here, moves its program (vx_rfork's way) and tells its
 * outcome on a pipe of its own; the children move at the same time, the
 * parent collects their reports in rank order.  A child whose move failed
 * exits at once and is reaped here: pids[i] is then -errno.
 */
#define LOG_PREFIX "bproc: "
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>

#include "log.h"
#include "error.h"
#include "util/report.h"
#include "vxcr/vxcr.h"
#include "vxcr/bproc.h"
#include "bproc/bproc.h"

#define RANK_VAR "BPROC_RANK=XXXXXXX"

/* envp with BPROC_RANK=XXXXXXX replaced by BPROC_RANK=rank (a new array,
 * its strings shared but the one replaced); NULL on no memory. */
static char **rank_env(char *const envp[], int rank, char *buf, size_t size)
{
	size_t n = 0, i;
	char **v;

	while (envp[n])
		n++;
	v = calloc(n + 1, sizeof(*v));
	if (!v)
		return NULL;
	snprintf(buf, size, "BPROC_RANK=%d", rank);
	for (i = 0; i < n; i++)
		v[i] = strcmp(envp[i], RANK_VAR) ? envp[i] : buf;
	return v;
}

struct fan {
	const int *nodes;
	char *const *argv; /* vexecmove's program; NULL: vrfork */
	char *const *envp;
};

/* In child rank: its move.  Returns only on the node (vrfork). */
static void fan_child(const struct fan *f, int rank, int fd)
{
	char buf[32], **env = NULL;
	int ret = 0;

	if (f->argv) {
		env = rank_env(f->envp, rank, buf, sizeof(buf));
		ret = env ? 0 : -ENOMEM;
	}
	ret = ret ?: bproc_move(f->nodes[rank], fd, f->argv, env, bproc_moved_report, &fd);
	if (!ret)
		return;
	report_send(fd, ret, NULL, 0);
	_exit(127);
}

/* The children, pids[i] each; in a child on its node: its rank (>= 0),
 * in the parent: -1 - the number of children made. */
static int fan_out(const struct fan *f, int n, pid_t *pids)
{
	int made = 0, i, status;
	int *rd = calloc(n > 0 ? (size_t)n : 1, sizeof(*rd));
	int32_t np;

	if (!rd) {
		for (i = 0; i < n; i++)
			pids[i] = -ENOMEM;
		return -1;
	}
	for (i = 0; i < n; i++) {
		int p[2];

		rd[i] = -1;
		if (pipe2(p, O_CLOEXEC)) {
			pids[i] = -errno;
			continue;
		}
		if (p[1] <= 2) {
			int nfd = fcntl(p[1], F_DUPFD_CLOEXEC, 3);

			close(p[1]);
			p[1] = nfd;
		}
		pids[i] = fork();
		if (pids[i] == 0) {
			for (int k = 0; k < i; k++)
				if (rd[k] >= 0)
					close(rd[k]);
			close(p[0]);
			free(rd);
			fan_child(f, i, p[1]);
			return i; /* on the node */
		}
		if (pids[i] < 0)
			pids[i] = -errno;
		if (p[1] >= 0)
			close(p[1]);
		if (pids[i] < 0)
			close(p[0]);
		else
			rd[i] = p[0];
	}
	for (i = 0; i < n; i++) {
		int ret;

		if (rd[i] < 0)
			continue;
		ret = report_recv(rd[i], &np, sizeof(np));
		close(rd[i]);
		if (!ret) {
			made++;
			continue;
		}
		if (ret == 1)
			ret = -EINTR;
		while (waitpid(pids[i], &status, 0) < 0 && errno == EINTR)
			;
		pids[i] = ret;
	}
	free(rd);
	return -1 - made;
}

static int fan_check(const int *nodes, int n, pid_t *pids)
{
	if (!nodes || !pids || n < 1 || n > VX_NODES_MAX) {
		err_set(-EINVAL, "bproc: %d nodes (1..%d), or no arrays", n, VX_NODES_MAX);
		return -EINVAL;
	}
	return 0;
}

/* The parent's answer: the count made, or -1 with errno (none made). */
static int fan_result(int r, int n, const pid_t *pids)
{
	int made = -1 - r;

	if (made > 0) {
		err_op_end(0);
		return made;
	}
	for (int i = 0; i < n; i++)
		if (pids[i] < 0) {
			errno = -pids[i];
			break;
		}
	err_op_end(-errno);
	return -1;
}

int vx_execmove(int node, char *const argv[], char *const envp[])
{
	char buf[32], **env;
	int ret;

	err_op_begin();
	if (!argv || !argv[0] || !argv[0][0]) {
		errno = -err_op_end(-EINVAL);
		return -1;
	}
	env = rank_env(envp ? envp : environ, 0, buf, sizeof(buf));
	ret = env ? bproc_move(node, -1, argv, env, NULL, NULL) : -ENOMEM;
	free(env);
	errno = -err_op_end(ret);
	return -1;
}

int vx_vexecmove(const int *nodes, int n, char *const argv[], char *const envp[], pid_t *pids)
{
	struct fan f = { nodes, argv, envp ? envp : environ };
	int r, ret;

	err_op_begin();
	ret = fan_check(nodes, n, pids);
	if (!ret && (!argv || !argv[0] || !argv[0][0])) {
		err_set(-EINVAL, "vx_vexecmove: no program (argv[0])");
		ret = -EINVAL;
	}
	if (ret) {
		errno = -err_op_end(ret);
		return -1;
	}
	r = fan_out(&f, n, pids);
	if (r >= 0) /* cannot happen: a child's program runs on the node */
		_exit(127);
	return fan_result(r, n, pids);
}
