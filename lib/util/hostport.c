/*
 * HOST[:PORT] addresses ([V6]:PORT for IPv6) and a TCP connection to one
 * within a time: what vxcr migrate / serve and the BProc calls share.
 */
#define LOG_PREFIX "net: "
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include "log.h"
#include "error.h"

static int bad_addr(const char *arg, const char *why)
{
	err_set(-EINVAL, "bad address '%s': %s", arg, why);
	return -EINVAL;
}

int vxcr_hostport_split(const char *arg, int default_port, char *host, size_t hsize, char *port,
			size_t psize)
{
	const char *colon, *h = arg;
	size_t hl;

	if (arg[0] == '[') { /* [v6]:port */
		const char *end = strchr(arg, ']');

		if (!end || (end[1] && end[1] != ':'))
			return bad_addr(arg, "not [IPv6]:PORT");
		h = arg + 1;
		hl = (size_t)(end - h);
		colon = end[1] ? end + 1 : NULL;
	} else {
		colon = strrchr(arg, ':');
		if (colon && strchr(arg, ':') != colon) /* bare IPv6 */
			colon = NULL;
		hl = colon ? (size_t)(colon - arg) : strlen(arg);
	}
	if (hl >= hsize || (colon && strlen(colon + 1) >= psize))
		return bad_addr(arg, "too long");
	memcpy(host, h, hl);
	host[hl] = '\0';
	if (colon) {
		const char *p = colon + 1;
		long v = 0;

		if (!*p || strspn(p, "0123456789") != strlen(p) || strlen(p) > 5 ||
		    (v = strtol(p, NULL, 10)) < 1 || v > 65535)
			return bad_addr(arg, "the port is not 1..65535");
		snprintf(port, psize, "%ld", v);
	} else if (default_port > 0) {
		snprintf(port, psize, "%d", default_port);
	} else {
		return bad_addr(arg, "no port (HOST:PORT)");
	}
	return 0;
}

/* connect() within timeout_ms: 0 or -errno. */
static int connect_within(int fd, const struct sockaddr *sa, socklen_t len, int timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = POLLOUT };
	int fl = fcntl(fd, F_GETFL), err = 0;
	socklen_t el = sizeof(err);

	fcntl(fd, F_SETFL, fl | O_NONBLOCK);
	if (connect(fd, sa, len) && errno != EINPROGRESS)
		return -errno;
	if (poll(&p, 1, timeout_ms) <= 0)
		return -ETIMEDOUT;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) || err)
		return -(err ? err : errno);
	fcntl(fd, F_SETFL, fl);
	return 0;
}

static int tcp_connect(const char *arg, int default_port, int timeout_ms)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV };
	struct addrinfo *res, *ai;
	char host[256], port[16];
	int fd = -1, err = -EHOSTUNREACH, one = 1, r;

	r = vxcr_hostport_split(arg, default_port, host, sizeof(host), port, sizeof(port));
	if (r)
		return r;
	r = getaddrinfo(host, port, &hints, &res);
	if (r) {
		err_set(-EHOSTUNREACH, "%s: %s", host, gai_strerror(r));
		return -EHOSTUNREACH;
	}
	for (ai = res; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
		if (fd < 0) {
			err = -errno;
			continue;
		}
		err = connect_within(fd, ai->ai_addr, ai->ai_addrlen, timeout_ms);
		if (!err)
			break;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0) {
		err_set(err, "cannot connect to %s port %s: %s", host, port, strerror(-err));
		return err;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

int vxcr_tcp_connect(const char *arg, int default_port, int timeout_ms)
{
	err_op_begin();
	return err_op_end(tcp_connect(arg, default_port, timeout_ms));
}
