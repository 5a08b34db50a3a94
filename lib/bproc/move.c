/*
 * vx_move and vx_rfork (vxcr/bproc.h) on a stock kernel.  The caller
 * blocks every signal and starts vmad's helper process (vmad/dump.h),
 * which connects to the node and moves the caller over the migration
 * channel (mig/move.h): the dump leaves the caller running, blocked in
 * read() on the report pipe; the node restores it, holds it until our
 * COMMIT, and only then does the helper report.  So until then the
 * original runs none of its own code, and after it the original becomes
 * the ghost; the restored copy's read() finds no pipe (its identity
 * differs: vmad's way) and returns 0 on the node.  The helper stays as the
 * relay: it holds the channel, the ghost holds a socket to it (NOTES
 * "BProc moves (issue 18)" says why the relay is not the ghost).
 */
#define LOG_PREFIX "bproc: "
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "log.h"
#include "error.h"
#include "util/report.h"
#include "vxcr/vxcr.h"
#include "vxcr/bproc.h"
#include "vmad/dump.h"
#include "mig/move.h"
#include "bproc/bproc.h"

#ifndef VXCR_BINDIR
#define VXCR_BINDIR "/usr/local/bin"
#endif
#define MOVE_TIMEOUT_MS 10000

int bproc_currnode = BPROC_NODE_MASTER;

int vx_currnode(void)
{
	return bproc_currnode;
}

struct move_job {
	pid_t pid;		/* the caller */
	struct bproc_node node; /* where to */
	int ghost[2];		/* [0] the caller's (the ghost's), [1] the relay's */
	int extra_fd;		/* another fd of the caller left out (vx_rfork's), or -1 */
	char *const *argv;	/* vx_execmove: the program moved instead of the caller */
	char *const *envp;
};

int bproc_keys_load(struct vxcr_key **key, struct vxcr_keyring **kr)
{
	const char *dir = getenv("VXCR_KEYS");
	char path[PATH_MAX];
	int ret;

	if (!dir || !*dir)
		dir = "/etc/vxcr/migrate";
	if (snprintf(path, sizeof(path), "%s/host.key", dir) >= (int)sizeof(path)) {
		err_set(-ENAMETOOLONG, "keys %s: path too long", dir);
		return -ENAMETOOLONG;
	}
	ret = vxcr_key_load(path, key);
	if (ret)
		return ret;
	snprintf(path, sizeof(path), "%s/trusted", dir);
	ret = vxcr_keyring_load(path, kr);
	if (ret) {
		vxcr_key_free(*key);
		*key = NULL;
	}
	return ret;
}

/* In the helper: the move, then the relay. */
static void move_run(void *arg, const struct vmad_helper *h)
{
	const struct move_job *j = arg;
	int skip[4] = { h->res[0], h->go[1], j->ghost[0], j->extra_fd };
	struct mig_move_opts o = { .skip_fds = skip, .n_skip_fds = j->extra_fd >= 0 ? 4 : 3 };
	struct vxcr_keyring *kr = NULL;
	struct vxcr_key *key = NULL;
	struct chan *c = NULL;
	int32_t node_pid = 0;
	pid_t np = 0, target = j->pid;
	int sock, ret;

	close(j->ghost[0]); /* only the ghost may hold it: its end is the relay's EOF */
	if (!vmadump_helper_wait_go(h))
		return;
	prctl(PR_SET_NAME, "vxcr-relay");
	ret = bproc_keys_load(&key, &kr);
	if (!ret && j->argv) { /* the program, stopped after its exec, is what moves */
		target = vmadump_exec_stopped(j->argv, j->envp);
		ret = target < 0 ? (int)target : 0;
		o.n_skip_fds = 0;
		o.stopped = true;
	}
	if (!ret) {
		sock = bproc_connect(j->node.addr, MOVE_TIMEOUT_MS);
		ret = sock < 0 ? sock : 0;
	}
	if (!ret) {
		o.key = key;
		o.trusted = kr;
		o.peer_name = j->node.key[0] ? j->node.key : NULL;
		o.timeout_ms = MOVE_TIMEOUT_MS;
		ret = mig_move_out(target, sock, &o, &c, &np);
		node_pid = (int32_t)np;
	}
	if (j->argv && target > 0) { /* it runs on the node, or nowhere */
		kill(target, SIGKILL);
		while (waitpid(target, NULL, 0) < 0 && errno == EINTR)
			;
	}
	vxcr_keyring_free(kr);
	vxcr_key_free(key);
	report_send(h->res[1], ret, &node_pid, sizeof(node_pid));
	close(h->res[1]);
	if (ret)
		return;
	mig_move_relay(c, j->ghost[1]);
}

/* The original, moved: its fds go, the ghost program comes (or, if it
 * cannot be run, the ghost's loop here). */
void bproc_become_ghost(int fd, int node, pid_t node_pid)
{
	const char *exe = getenv("VXCR_GHOST");
	char comm[17] = "", fdarg[16], nodearg[16], pidarg[16];
	char *argv[] = { (char *)"vxcr", (char *)"ghost", fdarg, comm, nodearg, pidarg, NULL };
	char *envp[] = { NULL };
	int null;

	prctl(PR_GET_NAME, comm);
	if (!exe || !*exe)
		exe = VXCR_BINDIR "/vxcr";
	if (fd != 3) {
		dup3(fd, 3, 0);
		fd = 3;
	} else {
		fcntl(fd, F_SETFD, 0);
	}
	close_range(4, ~0u, 0);
	null = open("/dev/null", O_RDWR);
	if (null >= 0) {
		dup2(null, 0);
		dup2(null, 1);
		dup2(null, 2);
		if (null > 3)
			close(null);
	}
	snprintf(fdarg, sizeof(fdarg), "%d", fd);
	snprintf(nodearg, sizeof(nodearg), "%d", node); /* for vxcr ps --nodes */
	snprintf(pidarg, sizeof(pidarg), "%d", (int)node_pid);
	execve(exe, argv, envp); /* every signal stays blocked */
	vx_ghost_run(fd, comm);
}

int bproc_move(int node, int extra_fd, char *const argv[], char *const envp[],
	       void (*moved)(void *arg, pid_t node_pid), void *arg)
{
	struct move_job job = { .pid = getpid(),
				.ghost = { -1, -1 },
				.extra_fd = extra_fd,
				.argv = argv,
				.envp = envp };
	struct vmad_helper h = { .run = move_run, .arg = &job };
	struct bproc_nodes nodes;
	const struct bproc_node *n;
	struct stat pipe_st, now;
	int saved_errno = errno, ret;
	int32_t node_pid = 0;
	sigset_t all, old;

	if (!argv && vmadump_self_threads() > 1) {
		err_set(-EBUSY, "vx_move: the caller has other threads (a single-threaded caller "
				"only)");
		return -EBUSY;
	}
	ret = bproc_nodes_load(NULL, &nodes);
	if (ret)
		return ret;
	n = bproc_node_find(&nodes, node);
	if (n)
		job.node = *n;
	bproc_nodes_free(&nodes);
	if (!n) {
		err_set(-ENOENT, "vx_move: no node %d in the node list", node);
		return -ENOENT;
	}
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, job.ghost)) {
		ret = -errno;
		err_set(ret, "vx_move: socketpair: %s", strerror(-ret));
		return ret;
	}
	job.ghost[0] = vmadump_above_stdio(job.ghost[0]);
	job.ghost[1] = vmadump_above_stdio(job.ghost[1]);
	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, &old);
	ret = job.ghost[0] < 0 || job.ghost[1] < 0 ? -EMFILE : vmadump_helper_start(&h);
	if (job.ghost[1] >= 0)
		close(job.ghost[1]);
	if (!ret && fstat(h.res[0], &pipe_st))
		ret = -errno;
	ret = ret ?: vmadump_helper_go(&h);
	if (!ret) {
		/* here the image is taken; the copy on the node starts in this read() */
		ret = report_recv(h.res[0], &node_pid, sizeof(node_pid));
		if (!argv && (fstat(h.res[0], &now) || now.st_ino != pipe_st.st_ino ||
			      now.st_dev != pipe_st.st_dev)) {
			bproc_currnode = node; /* restored: none of these fds is ours */
			err_clear();
			sigprocmask(SIG_SETMASK, &old, NULL);
			errno = saved_errno;
			return 0;
		}
		if (ret == 1) {
			err_set(-EINTR, "vx_move: the helper process died before the move ended");
			ret = -EINTR;
		}
	}
	vmadump_helper_close(&h);
	if (!ret || ret == -EHOSTDOWN) {
		if (moved)
			moved(arg, ret ? 0 : (pid_t)node_pid);
		if (ret) /* it may run there: we must not, and cannot relay */
			kill(getpid(), SIGKILL);
		bproc_become_ghost(job.ghost[0], node, (pid_t)node_pid);
	}
	if (job.ghost[0] >= 0)
		close(job.ghost[0]);
	sigprocmask(SIG_SETMASK, &old, NULL);
	errno = saved_errno;
	return ret;
}

int vx_move(int node)
{
	int ret;

	err_op_begin();
	ret = err_op_end(bproc_move(node, -1, NULL, NULL, NULL, NULL));
	if (ret < 0) {
		errno = -ret;
		return -1;
	}
	return 0;
}

void bproc_moved_report(void *arg, pid_t node_pid)
{
	int fd = *(int *)arg;
	int32_t np = (int32_t)node_pid;

	report_send(fd, 0, &np, sizeof(np));
}

pid_t vx_rfork(int node)
{
	int p[2], status, ret;
	int32_t np = 0;
	pid_t child, r;

	err_op_begin();
	if (pipe2(p, O_CLOEXEC)) {
		ret = -errno;
		err_set(ret, "vx_rfork: pipe: %s", strerror(-ret));
		goto out;
	}
	p[1] = vmadump_above_stdio(p[1]);
	child = fork();
	if (child == 0) {
		close(p[0]);
		ret = bproc_move(node, p[1], NULL, NULL, bproc_moved_report, &p[1]);
		if (!ret) {
			err_op_end(0);
			return 0; /* the child, on the node */
		}
		report_send(p[1], ret, &np, sizeof(np));
		_exit(127);
	}
	ret = child < 0 ? -errno : 0;
	if (p[1] >= 0)
		close(p[1]);
	if (ret) {
		err_set(ret, "vx_rfork: fork: %s", strerror(-ret));
		close(p[0]);
		goto out;
	}
	ret = report_recv(p[0], &np, sizeof(np));
	close(p[0]);
	if (ret == 1) {
		err_set(-EINTR, "vx_rfork: the child died before its move ended");
		ret = -EINTR;
	}
	if (ret) { /* no child anywhere: the failed one is reaped */
		do
			r = waitpid(child, &status, 0);
		while (r < 0 && errno == EINTR);
		goto out;
	}
	err_op_end(0);
	return child;
out:
	ret = err_op_end(ret);
	errno = -ret;
	return -1;
}
