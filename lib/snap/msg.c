/* snap serve's messages over SOCK_SEQPACKET (proto.h). */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "snap/proto.h"

int snap_msg_send(int sk, const struct snap_msg *m, const void *data, const int *fds, int n)
{
	union {
		char buf[CMSG_SPACE(3 * sizeof(int))];
		struct cmsghdr align;
	} u;
	struct iovec iov[2] = { { (void *)m, sizeof(*m) }, { (void *)data, m->len } };
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = data && m->len ? 2 : 1 };
	struct cmsghdr *c;
	ssize_t r;

	if (n > 3)
		return -EINVAL;
	if (n > 0) {
		memset(&u, 0, sizeof(u));
		mh.msg_control = u.buf;
		mh.msg_controllen = CMSG_SPACE(n * sizeof(int));
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(n * sizeof(int));
		memcpy(CMSG_DATA(c), fds, n * sizeof(int));
	}
	do
		r = sendmsg(sk, &mh, MSG_NOSIGNAL);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return -errno;
	return r == (ssize_t)(sizeof(*m) + (mh.msg_iovlen > 1 ? m->len : 0)) ? 0 : -EMSGSIZE;
}

/* Takes the fds of c into fds (up to 3 in *n), closing the rest. */
static void take_fds(struct cmsghdr *c, int *fds, int *n)
{
	int k = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int)), i, fd;

	for (i = 0; i < k; i++) {
		memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
		if (*n < 3)
			fds[(*n)++] = fd;
		else
			close(fd);
	}
}

int snap_msg_recv(int sk, struct snap_msg *m, char *data, int *fds, int *n)
{
	union {
		char buf[CMSG_SPACE(4 * sizeof(int))];
		struct cmsghdr align;
	} u;
	struct iovec iov[2] = { { m, sizeof(*m) }, { data, data ? SNAP_SERVE_ARGS_MAX : 0 } };
	struct msghdr mh = { .msg_iov = iov,
			     .msg_iovlen = data ? 2 : 1,
			     .msg_control = u.buf,
			     .msg_controllen = sizeof(u.buf) };
	struct cmsghdr *c;
	ssize_t r;
	int i;

	*n = 0;
	do
		r = recvmsg(sk, &mh, MSG_CMSG_CLOEXEC);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return -errno;
	if (r == 0)
		return -EPIPE;
	for (c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
			take_fds(c, fds, n);
	if ((size_t)r < sizeof(*m) || (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) ||
	    m->len > (data ? SNAP_SERVE_ARGS_MAX : 0) || (size_t)r != sizeof(*m) + m->len) {
		for (i = 0; i < *n; i++)
			close(fds[i]);
		*n = 0;
		return -EBADMSG;
	}
	return 0;
}
