/*
 * vxcr_snap_serve(): the template (one copy of the snapshot, restored once
 * with a SOCK_SEQPACKET socket as its channel, turned into a fork server
 * by the serve request, forksrv.c) and a unix socket for clients.  Each
 * client request goes to the template with the client's fds; the answers
 * come back with the copy's pidfd, which we keep to kill the copies of a
 * client that goes away.
 */
#define LOG_PREFIX "snap/serve: "
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>

#include "log.h"
#include "snap/snap.h"
#include "snap/proto.h"

#define CLIENTS_MAX 256
#define REQS_MAX 4096

struct srv_req {
	uint32_t sid; /* ours, to the template */
	uint32_t cid; /* the client's */
	int client;   /* its socket, -1 once gone */
	int pidfd;    /* the copy, -1 until spawned */
	pid_t pid;
};

struct server {
	int lsk, tsk, stop_fd;
	pid_t tpid, twaiter;
	int clients[CLIENTS_MAX];
	int nclients;
	struct srv_req reqs[REQS_MAX];
	int nreqs;
	uint32_t next;
	char data[SNAP_SERVE_ARGS_MAX];
};

/* The number after "key:" in a /proc file (-1: none). */
static int proc_field(const char *path, const char *key)
{
	char line[128];
	size_t n = strlen(key);
	FILE *f = fopen(path, "re");
	int v = -1;

	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, key, n) && line[n] == ':' && sscanf(line + n + 1, "%d", &v) == 1)
			break;
	if (f)
		fclose(f);
	return v;
}

/*
 * The pid of a copy's pidfd, in our namespace, if it is a child of the
 * template (the template is the restored program: a pidfd of any other
 * process it sends is refused, we would kill it later).  -1 if not.
 */
static pid_t copy_pid(const struct server *s, int pidfd)
{
	char path[64];
	int pid;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", pidfd);
	pid = proc_field(path, "Pid");
	if (pid <= 0)
		return -1;
	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	return proc_field(path, "PPid") == s->tpid ? pid : -1;
}

static void kill_copy(const struct srv_req *r)
{
	if (r->pidfd >= 0)
		syscall(SYS_pidfd_send_signal, r->pidfd, SIGKILL, NULL, 0);
}

static struct srv_req *req_of(struct server *s, uint32_t sid)
{
	int i;

	for (i = 0; i < s->nreqs; i++)
		if (s->reqs[i].sid == sid)
			return &s->reqs[i];
	return NULL;
}

static void drop_req(struct server *s, struct srv_req *r)
{
	if (r->pidfd >= 0)
		close(r->pidfd);
	*r = s->reqs[--s->nreqs];
}

/* The template's answer, passed on to its client.  0, or -EPIPE if the
 * template is gone. */
static int from_template(struct server *s)
{
	struct snap_msg m = { 0 };
	struct srv_req *r;
	int fds[3], n, ret, i;

	ret = snap_msg_recv(s->tsk, &m, NULL, fds, &n);
	if (ret) {
		pr_err("the template (pid %d) is gone: %s\n", s->tpid, strerror(-ret));
		return -EPIPE;
	}
	for (i = 1; i < n; i++)
		close(fds[i]);
	if (m.type == SNAP_MSG_EXITED) {
		/* read after its SPAWNED: the template may reap it now */
		struct snap_msg reap = { .type = SNAP_MSG_REAP, .id = m.id };

		snap_msg_send(s->tsk, &reap, NULL, NULL, 0);
	}
	r = req_of(s, m.id);
	if (!r) {
		if (n)
			close(fds[0]);
		return 0;
	}
	m.id = r->cid;
	if (m.type == SNAP_MSG_SPAWNED && !m.val && n && copy_pid(s, fds[0]) < 0) {
		pr_warn("the template sent a pidfd of a process not its child: refused\n");
		close(fds[0]);
		n = 0;
		m.val = -EPROTO;
	}
	if (m.type == SNAP_MSG_SPAWNED && !m.val && n) {
		r->pidfd = fds[0];
		r->pid = copy_pid(s, r->pidfd);
		m.pid = r->pid;
		if (r->client < 0 || snap_msg_send(r->client, &m, NULL, &r->pidfd, 1))
			kill_copy(r); /* nobody to wait for it */
		return 0;
	}
	if (n)
		close(fds[0]);
	m.pid = r->pid;
	if (r->client >= 0)
		snap_msg_send(r->client, &m, NULL, NULL, 0);
	drop_req(s, r);
	return 0;
}

/* A client went away: its copies are killed. */
static void client_gone(struct server *s, int i)
{
	int fd = s->clients[i], k;

	for (k = 0; k < s->nreqs; k++)
		if (s->reqs[k].client == fd) {
			kill_copy(&s->reqs[k]);
			s->reqs[k].client = -1;
		}
	close(fd);
	s->clients[i] = s->clients[--s->nclients];
}

/* A request from client i, passed on to the template. */
static void from_client(struct server *s, int i)
{
	struct snap_msg m = { 0 }, rep = { .type = SNAP_MSG_SPAWNED };
	int fds[3], n, ret, k;

	ret = snap_msg_recv(s->clients[i], &m, s->data, fds, &n);
	if (ret == -EAGAIN)
		return;
	if (ret == -EBADMSG || (!ret && (m.type != SNAP_MSG_SPAWN || n != 3))) {
		ret = -EBADMSG;
	} else if (ret) {
		client_gone(s, i);
		return;
	} else if (s->nreqs == REQS_MAX) {
		ret = -EAGAIN;
	} else {
		s->reqs[s->nreqs++] = (struct srv_req){ ++s->next, m.id, s->clients[i], -1, 0 };
		m.id = s->next;
		ret = snap_msg_send(s->tsk, &m, s->data, fds, 3);
		if (ret)
			s->nreqs--;
		m.id = s->reqs[s->nreqs - (ret ? 0 : 1)].cid;
	}
	for (k = 0; k < n; k++)
		close(fds[k]);
	if (ret) {
		rep.id = m.id;
		rep.val = ret;
		snap_msg_send(s->clients[i], &rep, NULL, NULL, 0);
	}
}

static void accept_client(struct server *s)
{
	/* non-blocking: a client that does not read its answers cannot stall
	 * the others (what does not fit its socket is dropped) */
	int fd = accept4(s->lsk, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

	if (fd < 0)
		return;
	if (s->nclients == CLIENTS_MAX) {
		pr_warn("%d clients already: one refused\n", CLIENTS_MAX);
		close(fd);
		return;
	}
	s->clients[s->nclients++] = fd;
}

static int loop(struct server *s)
{
	struct pollfd pf[CLIENTS_MAX + 3];
	int i, n, ret;

	for (;;) {
		pf[0] = (struct pollfd){ .fd = s->tsk, .events = POLLIN };
		pf[1] = (struct pollfd){ .fd = s->lsk, .events = POLLIN };
		pf[2] = (struct pollfd){ .fd = s->stop_fd, .events = POLLIN };
		for (i = 0; i < s->nclients; i++)
			pf[i + 3] = (struct pollfd){ .fd = s->clients[i], .events = POLLIN };
		n = s->nclients;
		if (poll(pf, n + 3, -1) < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (pf[2].revents)
			return 0;
		if (pf[0].revents) {
			ret = from_template(s);
			if (ret)
				return ret;
		}
		for (i = n - 1; i >= 0; i--)
			if (pf[i + 3].revents)
				from_client(s, i);
		if (pf[1].revents)
			accept_client(s);
	}
}

/* The template's first word: it serves, or why it cannot.  0/-errno. */
static int template_serving(struct server *s)
{
	struct snap_msg m = { 0 };
	int fds[3], n, ret, i;

	ret = snap_msg_recv(s->tsk, &m, s->data, fds, &n);
	for (i = 0; i < n; i++)
		close(fds[i]);
	if (ret || m.type != SNAP_MSG_SERVING) {
		pr_err("the template (pid %d) did not start serving: %s\n", s->tpid,
		       ret ? strerror(-ret) : "an unexpected message");
		return ret ?: -EPROTO;
	}
	if (m.val) {
		s->data[m.len ? m.len - 1 : 0] = '\0';
		pr_err("this snapshot cannot be served: %s\n", s->data);
		return m.val < 0 ? m.val : -EPROTO;
	}
	return 0;
}

/* The template: a copy restored with a socket as channel, told to serve. */
static int start_template(struct server *s, const struct vxcr_snap_image *si)
{
	static const uint8_t magic[4] = { 0xff, 0xff, 0xff, 0xff };
	int sp[2], w, ret;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp)) {
		pr_perror("socketpair");
		return -errno;
	}
	if (write(sp[1], magic, sizeof(magic)) != sizeof(magic)) {
		ret = -errno;
		goto out_close;
	}
	w = fcntl(sp[0], F_DUPFD_CLOEXEC, 0);
	if (w < 0) {
		ret = -errno;
		goto out_close;
	}
	ret = snap_restore_chan(si, sp[0], w, &s->tpid, &s->twaiter);
	if (ret) {
		close(sp[1]);
		return ret;
	}
	s->tsk = sp[1];
	return template_serving(s);
out_close:
	close(sp[0]);
	close(sp[1]);
	return ret;
}

static int listen_on(struct server *s, const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		pr_err("socket %s: path too long\n", path);
		return -ENAMETOOLONG;
	}
	strcpy(sa.sun_path, path);
	if (!lstat(path, &st)) {
		pr_err("socket %s: exists already\n", path);
		return -EEXIST;
	}
	s->lsk = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (s->lsk < 0 || bind(s->lsk, (struct sockaddr *)&sa, sizeof(sa)) || chmod(path, 0600) ||
	    listen(s->lsk, 64)) {
		pr_perror("socket %s", path);
		return -errno;
	}
	return 0;
}

static void stop(struct server *s, const char *path)
{
	int i;

	for (i = 0; i < s->nreqs; i++)
		kill_copy(&s->reqs[i]);
	while (s->nreqs)
		drop_req(s, &s->reqs[0]);
	while (s->nclients)
		client_gone(s, 0);
	if (s->tsk >= 0)
		close(s->tsk); /* the template kills its copies and exits */
	if (s->twaiter > 0) {
		/* its namespace's init: everything in it and below goes too */
		kill(s->twaiter, SIGKILL);
		waitpid(s->twaiter, NULL, 0);
	}
	if (s->lsk >= 0) {
		close(s->lsk);
		unlink(path);
	}
}

static int serve(const char *store, const char *name, const char *path, int stop_fd)
{
	struct vxcr_snap_image si;
	struct server *s;
	int ret;

	ret = vxcr_snap_image_open(store, name, &si);
	if (ret)
		return ret;
	if (!si.serve) {
		pr_err("snapshot %s was not taken from vxcr_snap_ready() (its program speaks the "
		       "channel itself): snap serve cannot fork it (snap run can restore it)\n",
		       name);
		vxcr_snap_image_close(&si);
		return -EOPNOTSUPP;
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		vxcr_snap_image_close(&si);
		return -ENOMEM;
	}
	s->lsk = s->tsk = -1;
	s->stop_fd = stop_fd;
	ret = listen_on(s, path);
	if (!ret)
		ret = start_template(s, &si);
	vxcr_snap_image_close(&si);
	if (!ret) {
		pr_info("serving %s on %s: template pid %d\n", name, path, s->tpid);
		ret = loop(s);
	}
	stop(s, path);
	free(s);
	return ret;
}

int vxcr_snap_serve(const char *store, const char *name, const char *path, int stop_fd)
{
	err_op_begin();
	return err_op_end(serve(store, name, path, stop_fd));
}
