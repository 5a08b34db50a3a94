/*
 * What vxcr migrate and vxcr serve share: the key directory and
 * HOST[:PORT] addresses.
 */
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
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
	if (vxcr_hostport_split(arg, MIG_DEFAULT_PORT, host, hsize, port, psize)) {
		cli_error("%s: %s", cmd, vxcr_last_error());
		return -1;
	}
	return 0;
}

int mig_connect(const char *cmd, const char *arg, int timeout_ms)
{
	int fd = vxcr_tcp_connect(arg, MIG_DEFAULT_PORT, timeout_ms);

	if (fd < 0) {
		cli_error("%s: %s", cmd, vxcr_last_error());
		return -1;
	}
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
