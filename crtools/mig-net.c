/*
 * What vxcr migrate and vxcr serve share: the key directory and
 * HOST[:PORT] addresses.
 */
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

#include "vxcr/vxcr.h"
#include "cmd.h"
#include "mig-net.h"

int mig_keys_load(const char *cmd, const char *dir, struct vxcr_key **key, struct vxcr_keyring **kr)
{
	char path[PATH_MAX];

	if (snprintf(path, sizeof(path), "%s/host.key", dir) >= (int)sizeof(path)) {
		cli_error("%s: --keys %s: path too long", cmd, dir);
		return -1;
	}
	if (vxcr_key_load(path, key)) {
		cli_error("%s: our key: %s (make it with: vxcr key new %s/host)", cmd,
			  vxcr_last_error(), dir);
		return -1;
	}
	snprintf(path, sizeof(path), "%s/trusted", dir);
	if (vxcr_keyring_load(path, kr)) {
		cli_error("%s: trusted keys: %s (put the peers' NAME.pub files in %s)", cmd,
			  vxcr_last_error(), path);
		vxcr_key_free(*key);
		*key = NULL;
		return -1;
	}
	return 0;
}

int mig_split_addr(const char *cmd, const char *arg, char *host, size_t hsize, char *port,
		   size_t psize)
{
	const char *colon, *h = arg;
	size_t hl;

	if (arg[0] == '[') { /* [v6]:port */
		const char *end = strchr(arg, ']');

		if (!end || (end[1] && end[1] != ':')) {
			cli_error("%s: bad address '%s' ([IPv6]:PORT)", cmd, arg);
			return -1;
		}
		h = arg + 1;
		hl = (size_t)(end - h);
		colon = end[1] ? end + 1 : NULL;
	} else {
		colon = strrchr(arg, ':');
		if (colon && strchr(arg, ':') != colon) /* bare IPv6 */
			colon = NULL;
		hl = colon ? (size_t)(colon - arg) : strlen(arg);
	}
	if (hl >= hsize || (colon && strlen(colon + 1) >= psize)) {
		cli_error("%s: address '%s' too long", cmd, arg);
		return -1;
	}
	memcpy(host, h, hl);
	host[hl] = '\0';
	if (colon) {
		long v;

		if (cli_parse_long(colon + 1, 1, 65535, &v)) {
			cli_error("%s: bad port in '%s' (1..65535)", cmd, arg);
			return -1;
		}
		snprintf(port, psize, "%s", colon + 1);
	} else {
		snprintf(port, psize, "%d", MIG_DEFAULT_PORT);
	}
	return 0;
}

/* connect() within timeout_ms: 0 or -errno. */
static int connect_timeout(int fd, const struct sockaddr *sa, socklen_t len, int timeout_ms)
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

int mig_connect(const char *cmd, const char *arg, int timeout_ms)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res, *ai;
	char host[256], port[16];
	int fd = -1, err = 0, one = 1, r;

	if (mig_split_addr(cmd, arg, host, sizeof(host), port, sizeof(port)))
		return -1;
	r = getaddrinfo(host, port, &hints, &res);
	if (r) {
		cli_error("%s: %s: %s", cmd, host, gai_strerror(r));
		return -1;
	}
	for (ai = res; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
		if (fd < 0) {
			err = -errno;
			continue;
		}
		err = connect_timeout(fd, ai->ai_addr, ai->ai_addrlen, timeout_ms);
		if (!err)
			break;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0) {
		cli_error("%s: cannot connect to %s port %s: %s", cmd, host, port, strerror(-err));
		return -1;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

int mig_listen(const char *cmd, const char *arg)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE }, *res;
	char host[256], port[16];
	int fd, one = 1, r;

	if (mig_split_addr(cmd, arg, host, sizeof(host), port, sizeof(port)))
		return -1;
	r = getaddrinfo(host[0] ? host : NULL, port, &hints, &res);
	if (r) {
		cli_error("%s: %s: %s", cmd, host, gai_strerror(r));
		return -1;
	}
	fd = socket(res->ai_family, res->ai_socktype | SOCK_CLOEXEC, res->ai_protocol);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(fd, res->ai_addr, res->ai_addrlen) || listen(fd, 16)) {
		cli_error("%s: cannot listen on %s port %s: %s", cmd, host[0] ? host : "*", port,
			  strerror(errno));
		if (fd >= 0)
			close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	return fd;
}
