/*
 * A TCP connection to a node's HOST:PORT ([V6]:PORT), within a time.
 */
#define LOG_PREFIX "bproc: "
#include "log.h"
#include "error.h"
#include "bproc/bproc.h"

int bproc_connect(const char *addr, int timeout_ms)
{
	int fd = vxcr_tcp_connect(addr, 0, timeout_ms);

	if (fd < 0)
		err_wrap("node %s", addr);
	return fd;
}
