/* A forked child's outcome over a pipe: see report.h. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "error.h"
#include "util/report.h"

/* What goes through the pipe: one write, well under PIPE_BUF. */
struct report {
	int32_t err;
	uint32_t len;
	char msg[sizeof(((struct vxcr_error *)0)->msg)];
	uint8_t data[REPORT_DATA_MAX];
};

int report_send(int fd, int err, const void *data, size_t len)
{
	const struct vxcr_error *e = err_current();
	struct report r;
	ssize_t n;

	memset(&r, 0, sizeof(r));
	r.err = err;
	if (len > sizeof(r.data))
		len = sizeof(r.data);
	r.len = len;
	if (len)
		memcpy(r.data, data, len);
	if (err < 0)
		snprintf(r.msg, sizeof(r.msg), "%s", e->msg[0] ? e->msg : strerror(-err));
	do
		n = write(fd, &r, sizeof(r));
	while (n < 0 && errno == EINTR);
	if (!err && n != (ssize_t)sizeof(r))
		return n < 0 ? -errno : -EIO;
	return err;
}

int report_recv(int fd, void *data, size_t len)
{
	struct report r;
	ssize_t n;

	do
		n = read(fd, &r, sizeof(r));
	while (n < 0 && errno == EINTR);
	if (n != (ssize_t)sizeof(r) || r.err > 0 || r.len > sizeof(r.data))
		return 1;
	if (len) {
		memset(data, 0, len);
		memcpy(data, r.data, r.len < len ? r.len : len);
	}
	if (!r.err)
		return 0;
	r.msg[sizeof(r.msg) - 1] = '\0';
	err_set(r.err, "%s", r.msg);
	return r.err;
}
