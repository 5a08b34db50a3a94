/*
 * vx_vrfork (vxcr/bproc.h): n children on n nodes from one dump.  The
 * caller forks a template child T; T moves as vx_move does, but its
 * helper dumps it once into memory and sends that image to every node
 * (mig_move_out_n), each with a RANK: the node writes the word
 * RANK_MAGIC:rank into the copy's bproc_rank_word once it is restored,
 * and the copy waits for it before it returns its rank (every copy is the
 * same image: the rank cannot be in it).  The ghosts: T becomes the one
 * of the first rank that runs; the caller forks the others, each exec'ing
 * `vxcr ghost` on its socket at once.  One relay (T's helper) serves
 * them all.
 */
#define LOG_PREFIX "bproc: "
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
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

#define RANK_MAGIC 0x52414e4bull /* "RANK" */
#define RANK_WAIT_MS 10000
#define VR_TIMEOUT_MS 10000

/* Written by the node (process_vm_writev) into a restored copy. */
static volatile uint64_t bproc_rank_word;

struct vr_job {
	pid_t pid; /* T */
	int n;
	struct bproc_node *node; /* n of them */
	int (*gs)[2];		 /* n socketpairs: [0] ghost, [1] relay */
	int rp;			 /* T -> caller: the results */
	int *skip;		 /* fds of T left out of its image */
	size_t n_skip;
};

/* What T tells the caller: per rank the error or the pid there. */
struct vr_result {
	int32_t err, node_pid;
};

static int read_all(int fd, void *buf, size_t len)
{
	uint8_t *p = buf;
	ssize_t r;

	while (len) {
		r = read(fd, p, len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -EPIPE;
		p += r;
		len -= (size_t)r;
	}
	return 0;
}

static int write_all(int fd, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	ssize_t w;

	while (len) {
		w = write(fd, p, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -EPIPE;
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

/* In the helper: connect, one dump to all, report, relay. */
static void vr_run(void *arg, const struct vmad_helper *h)
{
	const struct vr_job *j = arg;
	struct mig_move_opts o = { .skip_fds = j->skip, .n_skip_fds = j->n_skip + 2 };
	struct vr_result *res = calloc((size_t)j->n, sizeof(*res));
	struct mig_move_dest *d = calloc((size_t)j->n, sizeof(*d));
	struct chan **c = calloc((size_t)j->n, sizeof(*c));
	int *gfd = calloc((size_t)j->n, sizeof(*gfd));
	struct vxcr_keyring *kr = NULL;
	struct vxcr_key *key = NULL;
	int i, ret, ok = 0;

	for (i = 0; i < j->n; i++)
		close(j->gs[i][0]);	/* only the ghosts may hold them */
	j->skip[j->n_skip] = h->res[0]; /* our copy of the job: room for two */
	j->skip[j->n_skip + 1] = h->go[1];
	if (!vmadump_helper_wait_go(h))
		return;
	prctl(PR_SET_NAME, "vxcr-relay");
	ret = !res || !d || !c || !gfd ? -ENOMEM : bproc_keys_load(&key, &kr);
	if (!ret) {
		o.key = key;
		o.trusted = kr;
		o.timeout_ms = VR_TIMEOUT_MS;
		for (i = 0; i < j->n; i++) {
			d[i].peer_name = j->node[i].key[0] ? j->node[i].key : NULL;
			d[i].rank_addr = (uint64_t)(uintptr_t)&bproc_rank_word;
			d[i].rank_value = RANK_MAGIC << 32 | (uint64_t)i;
			d[i].sock = j->node[i].num < 0 ?
					    -ENOENT :
					    bproc_connect(j->node[i].addr, VR_TIMEOUT_MS);
			d[i].err = d[i].sock < 0 ? d[i].sock : 0;
			err_clear();
		}
		ok = mig_move_out_n(j->pid, d, (size_t)j->n, &o);
		for (i = 0; i < j->n; i++) {
			res[i].err = d[i].err;
			res[i].node_pid = d[i].node_pid;
			c[i] = d[i].c;
			gfd[i] = j->gs[i][1];
		}
		if (!ok) {
			ret = d[0].err ? d[0].err : -EIO;
			err_set(ret, "vx_vrfork: no node runs a child (node %d: %s)",
				j->node[0].num, d[0].why[0] ? d[0].why : strerror(-ret));
		}
	}
	vxcr_keyring_free(kr);
	vxcr_key_free(key);
	report_send(h->res[1], ret, &ok, sizeof(ok));
	if (res && !ret)
		write_all(h->res[1], res, (size_t)j->n * sizeof(*res));
	close(h->res[1]);
	if (!ret)
		mig_move_relay_n(c, gfd, (size_t)j->n);
	free(res);
	free(d);
	free(c);
	free(gfd);
}

/* In a copy on its node: the rank the node writes, or -1. */
static int wait_rank(void)
{
	struct timespec ms = { 0, 1000000 };
	uint64_t w;

	for (int i = 0; i < RANK_WAIT_MS; i++) {
		w = bproc_rank_word;
		if (w >> 32 == RANK_MAGIC)
			return (int)(w & 0xffffffff);
		nanosleep(&ms, NULL);
	}
	return -1;
}

/* T: moves; returns its rank on a node; else never returns. */
static int vr_template(struct vr_job *j, const int *nodes)
{
	struct vmad_helper h = { .run = vr_run, .arg = j };
	struct vr_result *res = calloc((size_t)j->n, sizeof(*res));
	struct stat pipe_st, now;
	int ok = 0, ret, i, k = -1;
	sigset_t all, old;

	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, &old);
	ret = res ? vmadump_helper_start(&h) : -ENOMEM;
	for (i = 0; i < j->n; i++)
		close(j->gs[i][1]);
	if (!ret && fstat(h.res[0], &pipe_st))
		ret = -errno;
	ret = ret ?: vmadump_helper_go(&h);
	if (!ret) {
		ret = report_recv(h.res[0], &ok, sizeof(ok));
		if (fstat(h.res[0], &now) || now.st_ino != pipe_st.st_ino ||
		    now.st_dev != pipe_st.st_dev) {
			int rank = wait_rank(); /* a copy, on its node */

			if (rank < 0 || rank >= j->n) {
				fprintf(stderr, "vx_vrfork: no rank came from the node\n");
				_exit(127);
			}
			bproc_currnode = nodes[rank];
			err_clear();
			sigprocmask(SIG_SETMASK, &old, NULL);
			return rank;
		}
		if (ret == 1)
			ret = -EINTR;
		if (!ret)
			ret = read_all(h.res[0], res, (size_t)j->n * sizeof(*res));
	}
	if (ret) { /* no child anywhere: every rank says why */
		for (i = 0; i < j->n; i++)
			res[i].err = ret;
	}
	write_all(j->rp, res, (size_t)j->n * sizeof(*res));
	for (i = 0; i < j->n && k < 0; i++)
		if (!res[i].err)
			k = i;
	if (k < 0)
		_exit(127);
	close(j->rp);
	bproc_become_ghost(j->gs[k][0], nodes[k], res[k].node_pid);
}

/* The node list's entries of nodes (num -1: not in the list). */
static int vr_nodes(const int *nodes, int n, struct bproc_node *out)
{
	struct bproc_nodes l;
	int ret = bproc_nodes_load(NULL, &l);

	if (ret)
		return ret;
	for (int i = 0; i < n; i++) {
		const struct bproc_node *nd = bproc_node_find(&l, nodes[i]);

		if (nd)
			out[i] = *nd;
		else
			out[i].num = -1;
	}
	bproc_nodes_free(&l);
	return 0;
}

static int vrfork(const int *nodes, int n, pid_t *pids)
{
	struct vr_job j = { .pid = 0, .n = n, .rp = -1 };
	struct vr_result *res = NULL;
	int rp[2] = { -1, -1 }, i, ret, made = 0, status;
	pid_t t;

	if (!nodes || !pids || n < 1 || n > VX_NODES_MAX) {
		err_set(-EINVAL, "vx_vrfork: %d nodes (1..%d), or no arrays", n, VX_NODES_MAX);
		return -EINVAL;
	}
	j.node = calloc((size_t)n, sizeof(*j.node));
	j.gs = calloc((size_t)n, sizeof(*j.gs));
	j.skip = calloc(2 * (size_t)n + 4, sizeof(*j.skip));
	res = calloc((size_t)n, sizeof(*res));
	ret = j.node && j.gs && j.skip && res ? vr_nodes(nodes, n, j.node) : -ENOMEM;
	for (i = 0; j.gs && i < n; i++)
		j.gs[i][0] = j.gs[i][1] = -1;
	for (i = 0; !ret && i < n; i++) {
		if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, j.gs[i])) {
			ret = -errno;
			break;
		}
		j.gs[i][0] = vmadump_above_stdio(j.gs[i][0]);
		j.gs[i][1] = vmadump_above_stdio(j.gs[i][1]);
		j.skip[j.n_skip++] = j.gs[i][0];
		j.skip[j.n_skip++] = j.gs[i][1];
	}
	if (!ret && pipe2(rp, O_CLOEXEC))
		ret = -errno;
	if (!ret) {
		rp[1] = vmadump_above_stdio(rp[1]);
		j.rp = rp[1];
		j.skip[j.n_skip++] = rp[1];
	}
	if (ret) {
		if (!err_is_set())
			err_set(ret, "vx_vrfork: %s", strerror(-ret));
		goto out;
	}
	t = fork();
	if (t == 0) {
		close(rp[0]);
		j.pid = getpid();
		return vr_template(&j, nodes); /* a copy on its node: its rank */
	}
	close(rp[1]);
	rp[1] = -1;
	for (i = 0; i < n; i++) {
		close(j.gs[i][1]);
		j.gs[i][1] = -1;
	}
	if (t < 0) {
		ret = -errno;
		err_set(ret, "vx_vrfork: fork: %s", strerror(-ret));
		goto out;
	}
	ret = read_all(rp[0], res, (size_t)n * sizeof(*res));
	for (i = 0; i < n; i++) {
		pids[i] = ret ? -EINTR : res[i].err;
		if (!ret && !res[i].err) {
			pids[i] = made ? fork() : t; /* T is the first one's ghost */
			if (pids[i] == 0)
				bproc_become_ghost(j.gs[i][0], nodes[i], res[i].node_pid);
			if (pids[i] < 0)
				pids[i] = -errno; /* its process runs on: lost (NOTES) */
			made++;
		}
		close(j.gs[i][0]);
		j.gs[i][0] = -1;
	}
	if (!made) {
		while (waitpid(t, &status, 0) < 0 && errno == EINTR)
			;
		ret = ret ?: (res[0].err ? res[0].err : -EIO);
		err_set(ret, "vx_vrfork: no child was made: %s", strerror(-ret));
	} else {
		ret = 0;
	}
out:
	for (i = 0; j.gs && i < n; i++) {
		if (j.gs[i][0] >= 0)
			close(j.gs[i][0]);
		if (j.gs[i][1] >= 0)
			close(j.gs[i][1]);
	}
	if (rp[0] >= 0)
		close(rp[0]);
	if (rp[1] >= 0)
		close(rp[1]);
	free(j.node);
	free(j.gs);
	free(j.skip);
	free(res);
	return ret ? ret : n;
}

int vx_vrfork(const int *nodes, int n, pid_t *pids)
{
	int ret;

	err_op_begin();
	ret = vrfork(nodes, n, pids);
	if (ret >= 0) {
		err_op_end(0);
		return ret; /* the parent: n; a child: its rank */
	}
	errno = -err_op_end(ret);
	return -1;
}
