/* The C API of snap serve's clients (vxcr/snap.h): one connection, copies
 * spawned by request, their ends waited for by pid. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "error.h"
#include "snap/proto.h"
#include "vxcr/snap.h"

struct snap_req {
	uint32_t id;
	pid_t pid;
	int status;
	int done;
};

struct vxcr_snap {
	int sk;
	uint32_t next;
	struct snap_req *reqs;
	size_t n, cap;
};

int vxcr_snap_open(const char *path, struct vxcr_snap **out)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct vxcr_snap *s;
	int ret;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		err_set(-ENAMETOOLONG, "snap serve socket %s: path too long", path);
		return -ENAMETOOLONG;
	}
	strcpy(sa.sun_path, path);
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->sk = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (s->sk < 0 || connect(s->sk, (struct sockaddr *)&sa, sizeof(sa))) {
		ret = -errno;
		err_set(ret, "snap serve socket %s: %s", path, strerror(errno));
		if (s->sk >= 0)
			close(s->sk);
		free(s);
		return ret;
	}
	*out = s;
	return 0;
}

static struct snap_req *find(struct vxcr_snap *s, uint32_t id, pid_t pid)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		if (pid ? s->reqs[i].pid == pid : s->reqs[i].id == id)
			return &s->reqs[i];
	return NULL;
}

/* One message from the server, recorded; *m is it.  0 or -errno. */
static int recv_one(struct vxcr_snap *s, struct snap_msg *m, int *fd)
{
	struct snap_req *r;
	int fds[3], n, ret, i;

	ret = snap_msg_recv(s->sk, m, NULL, fds, &n);
	if (ret) {
		err_set(ret, "snap serve: %s",
			ret == -EPIPE ? "the server is gone" : strerror(-ret));
		return ret;
	}
	*fd = -1;
	for (i = 0; i < n; i++)
		if (i == 0 && m->type == SNAP_MSG_SPAWNED)
			*fd = fds[0];
		else
			close(fds[i]);
	r = find(s, m->id, 0);
	if (r && m->type == SNAP_MSG_EXITED) {
		r->status = m->val;
		r->done = 1;
	} else if (r && m->type == SNAP_MSG_SPAWNED) {
		r->pid = m->val ? -1 : m->pid;
	}
	return 0;
}

/* The arguments of argv, each ended by a NUL, into buf.  Length or -E2BIG. */
static long pack_args(char *const *argv, char *buf)
{
	size_t len = 0, k, i;

	for (i = 0; argv && argv[i]; i++) {
		k = strlen(argv[i]) + 1;
		if (len + k > SNAP_SERVE_ARGS_MAX)
			return -E2BIG;
		memcpy(buf + len, argv[i], k);
		len += k;
	}
	return (long)len;
}

static int spawn(struct vxcr_snap *s, char *const *argv, const int fds[3], pid_t *pid, int *pidfd)
{
	static const int stdio[3] = { 0, 1, 2 };
	struct snap_msg m = { .type = SNAP_MSG_SPAWN, .id = ++s->next };
	struct snap_req *r;
	char *buf = malloc(SNAP_SERVE_ARGS_MAX);
	long len = buf ? pack_args(argv, buf) : -ENOMEM;
	int ret, fd;

	if (len < 0) {
		free(buf);
		err_set((int)len, "snap serve: arguments over %u bytes", SNAP_SERVE_ARGS_MAX);
		return (int)len;
	}
	if (s->n == s->cap) {
		struct snap_req *nr = realloc(s->reqs, (s->cap * 2 + 16) * sizeof(*nr));

		if (!nr) {
			free(buf);
			return -ENOMEM;
		}
		s->reqs = nr;
		s->cap = s->cap * 2 + 16;
	}
	s->reqs[s->n++] = (struct snap_req){ .id = m.id };
	m.len = (uint32_t)len;
	ret = snap_msg_send(s->sk, &m, buf, fds ? fds : stdio, 3);
	free(buf);
	if (ret) {
		err_set(ret, "snap serve: cannot send the request: %s", strerror(-ret));
		return ret;
	}
	do
		ret = recv_one(s, &m, &fd);
	while (!ret && !(m.type == SNAP_MSG_SPAWNED && m.id == s->next) && (fd < 0 || !close(fd)));
	if (ret)
		return ret;
	r = find(s, m.id, 0);
	if (m.val || fd < 0) {
		if (fd >= 0)
			close(fd);
		*r = s->reqs[--s->n];
		ret = m.val ? m.val : -EBADMSG;
		err_set(ret, "snap serve: no copy: %s", strerror(-ret));
		return ret;
	}
	*pid = m.pid;
	if (pidfd)
		*pidfd = fd;
	else
		close(fd);
	return 0;
}

int vxcr_snap_spawn(struct vxcr_snap *s, char *const *argv, const int fds[3], pid_t *pid,
		    int *pidfd)
{
	err_op_begin();
	return err_op_end(spawn(s, argv, fds, pid, pidfd));
}

int vxcr_snap_wait(struct vxcr_snap *s, pid_t pid, int *status)
{
	struct snap_req *r = pid > 0 ? find(s, 0, pid) : NULL;
	struct snap_msg m = { 0 };
	uint32_t id;
	int ret = 0, fd;

	if (!r)
		return -ECHILD;
	id = r->id;
	while (!ret && !find(s, id, 0)->done) {
		ret = recv_one(s, &m, &fd);
		if (fd >= 0)
			close(fd);
	}
	if (ret)
		return ret;
	r = find(s, id, 0);
	*status = r->status;
	*r = s->reqs[--s->n];
	return 0;
}

void vxcr_snap_close(struct vxcr_snap *s)
{
	if (!s)
		return;
	close(s->sk);
	free(s->reqs);
	free(s);
}
