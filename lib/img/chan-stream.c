/*
 * Image sinks and sources (img/stream.h) over the migration channel
 * (img/chan.h): an image as messages of one type.
 */
#define LOG_PREFIX "img/chan: "

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "img/chan.h"

#define SINK_IOV_MAX 64

/* ---- the image sink ---- */

struct chan_sink {
	struct img_sink s;
	struct chan *c;
	uint8_t type;
};

/* Sends the first up to CHAN_MSG_MAX bytes of iov as one message. */
static ssize_t chan_sink_writev(struct img_sink *s, const struct iovec *iov, int cnt)
{
	struct chan_sink *cs = (struct chan_sink *)s;
	struct iovec part[SINK_IOV_MAX];
	size_t n = 0;
	int i, k = 0, ret;

	for (i = 0; i < cnt && k < SINK_IOV_MAX && n < CHAN_MSG_MAX; i++) {
		if (!iov[i].iov_len)
			continue;
		part[k] = iov[i];
		if (part[k].iov_len > CHAN_MSG_MAX - n)
			part[k].iov_len = CHAN_MSG_MAX - n;
		n += part[k++].iov_len;
	}
	ret = chan_sendv(cs->c, cs->type, part, k);
	return ret ? ret : (ssize_t)n;
}

static const struct img_sink_ops chan_sink_ops = {
	.writev = chan_sink_writev,
};

int chan_sink(struct chan *c, uint8_t type, struct img_sink **out)
{
	struct chan_sink *cs;

	if (!type)
		return -EINVAL;
	cs = calloc(1, sizeof(*cs));
	if (!cs)
		return -ENOMEM;
	cs->s.ops = &chan_sink_ops;
	cs->c = c;
	cs->type = type;
	snprintf(cs->s.name, sizeof(cs->s.name), "channel to %.48s", chan_peer(c)->name);
	*out = &cs->s;
	return 0;
}

/* ---- the image source ---- */

struct chan_source {
	struct img_source s;
	struct chan *c;
	uint8_t type, end_type;
	bool ended;
	const uint8_t *left; /* the rest of the current message */
	size_t nleft;
};

/* Waits for the channel or cancel_fd: 0, -ECANCELED or -errno. */
static int wait_or_cancel(struct chan *c, int cancel_fd)
{
	struct pollfd p[2] = { { .fd = chan_fd(c), .events = POLLIN },
			       { .fd = cancel_fd, .events = POLLIN } };
	int n;

	do
		n = poll(p, 2, -1);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	return p[1].revents && !p[0].revents ? -ECANCELED : 0;
}

/* Takes the next message of the source's type into cs->left: 0, 1 at
 * the end, or -errno. */
static int chan_source_next(struct chan_source *cs, int cancel_fd)
{
	const void *buf;
	uint8_t type;
	size_t len;
	int ret;

	do {
		if (cancel_fd >= 0) {
			ret = wait_or_cancel(cs->c, cancel_fd);
			if (ret)
				return ret;
		}
		ret = chan_recv(cs->c, &type, &buf, &len);
		if (ret)
			return ret;
		if (type == cs->end_type) {
			cs->ended = true;
			return 1;
		}
		if (type != cs->type) {
			pr_err("channel from %s: a message of type %u inside an image (of type "
			       "%u)\n",
			       chan_peer(cs->c)->name, type, cs->type);
			return -EPROTO;
		}
	} while (!len);
	cs->left = buf;
	cs->nleft = len;
	return 0;
}

static ssize_t chan_source_read(struct img_source *s, void *buf, size_t n, int cancel_fd)
{
	struct chan_source *cs = (struct chan_source *)s;
	int ret;

	if (cs->ended || !n)
		return 0;
	if (!cs->nleft) {
		ret = chan_source_next(cs, cancel_fd);
		if (ret)
			return ret > 0 ? 0 : ret;
	}
	if (n > cs->nleft)
		n = cs->nleft;
	memcpy(buf, cs->left, n);
	cs->left += n;
	cs->nleft -= n;
	return n;
}

static const struct img_source_ops chan_source_ops = {
	.read = chan_source_read,
};

int chan_source(struct chan *c, uint8_t type, uint8_t end_type, struct img_source **out)
{
	struct chan_source *cs;

	if (!type || !end_type || type == end_type)
		return -EINVAL;
	cs = calloc(1, sizeof(*cs));
	if (!cs)
		return -ENOMEM;
	cs->s.ops = &chan_source_ops;
	cs->s.flags = IMG_SOURCE_LIVE | IMG_SOURCE_BLOCKS;
	cs->c = c;
	cs->type = type;
	cs->end_type = end_type;
	snprintf(cs->s.name, sizeof(cs->s.name), "channel from %.44s", chan_peer(c)->name);
	*out = &cs->s;
	return 0;
}
