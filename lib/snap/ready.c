/*
 * The program's side of the ready channel (vxcr/snap.h): the 'R' byte,
 * then one message with its arguments.  Nothing here logs: a program under
 * test gets a result and the error's message (vxcr_last_error()).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vxcr/snap.h"
#include "error.h"
#include "snap/snap.h"
#include "snap/proto.h"

int snap_parse_chan(const char *s, int fds[2])
{
	char *end;
	long r, w;

	errno = 0;
	r = strtol(s, &end, 10);
	if (errno || end == s || *end != ',' || r < 3 || r > 1 << 20)
		return -EINVAL;
	s = end + 1;
	w = strtol(s, &end, 10);
	if (errno || end == s || *end || w < 3 || w > 1 << 20 || w == r)
		return -EINVAL;
	fds[0] = (int)r;
	fds[1] = (int)w;
	return 0;
}

/* Reads exactly len bytes.  0, -EPIPE at an early end, or -errno. */
static int read_full(int fd, void *buf, size_t len)
{
	size_t got = 0;
	ssize_t n;

	while (got < len) {
		n = read(fd, (char *)buf + got, len - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EPIPE;
		got += (size_t)n;
	}
	return 0;
}

/*
 * The arguments in buf (len bytes, each ended by a NUL) as one allocation:
 * the pointer array, then the strings.  0, -EBADMSG or -ENOMEM.
 */
int snap_split_args(const char *buf, size_t len, int *argc, char ***argv)
{
	size_t i, n = 0, k = 0;
	char **v, *s;

	if (len && buf[len - 1])
		return -EBADMSG;
	for (i = 0; i < len; i++)
		n += !buf[i];
	v = malloc((n + 1) * sizeof(*v) + len + 1);
	if (!v)
		return -ENOMEM;
	s = (char *)(v + n + 1);
	if (len)
		memcpy(s, buf, len);
	for (i = 0; i < len; i += strlen(s + i) + 1)
		v[k++] = s + i;
	v[k] = NULL;
	*argc = (int)n;
	*argv = v;
	return 0;
}

/* Says ready on fds[1] and reads the message from fds[0].  0 or -errno. */
static int ready_on(const int fds[2], int *argc, char ***argv)
{
	char c = VXCR_SNAP_READY_SERVE, *buf;
	uint8_t hdr[4];
	uint32_t len;
	ssize_t n;
	int ret;

	do
		n = write(fds[1], &c, 1);
	while (n < 0 && errno == EINTR);
	if (n != 1) {
		ret = n < 0 ? -errno : -EPIPE;
		err_set(ret, "ready channel: cannot say ready on fd %d: %s", fds[1],
			strerror(-ret));
		return ret;
	}
	ret = read_full(fds[0], hdr, sizeof(hdr));
	if (ret) {
		err_set(ret, "ready channel: no arguments on fd %d: %s", fds[0], strerror(-ret));
		return ret;
	}
	len = hdr[0] | (uint32_t)hdr[1] << 8 | (uint32_t)hdr[2] << 16 | (uint32_t)hdr[3] << 24;
	if (len == SNAP_SERVE_MAGIC) /* snap serve's template: copies return from here */
		return snap_fork_server(fds[0], fds[1], argc, argv);
	if (len > VXCR_SNAP_ARGS_MAX) {
		err_set(-EBADMSG, "ready channel: a message of %u bytes", len);
		return -EBADMSG;
	}
	buf = malloc(len + 1);
	if (!buf)
		return -ENOMEM;
	ret = read_full(fds[0], buf, len) ?: snap_split_args(buf, len, argc, argv);
	free(buf);
	if (ret)
		err_set(ret, "ready channel: bad arguments message: %s", strerror(-ret));
	return ret;
}

int vxcr_snap_ready(int *argc, char ***argv)
{
	const char *env = getenv(VXCR_SNAP_ENV);
	int fds[2], ret;

	*argc = 0;
	*argv = NULL;
	if (!env)
		return snap_split_args("", 0, argc, argv);
	ret = snap_parse_chan(env, fds);
	unsetenv(VXCR_SNAP_ENV);
	if (ret) {
		err_set(ret, "%s: not two fds above 2 (R,W)", VXCR_SNAP_ENV);
		return ret;
	}
	ret = ready_on(fds, argc, argv);
	close(fds[0]);
	close(fds[1]);
	return ret;
}
