/*
 * What both sides of a migration share: the FAILED message and waiting
 * for an expected message.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define LOG_PREFIX "mig: "
#include "log.h"
#include "error.h"
#include "img/chan.h"
#include "mig/proto.h"

uint64_t mig_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void mig_send_failed(struct chan *c, const char *msg)
{
	const char *m = msg ? msg : err_current()->msg;

	if (!m[0])
		m = "failed";
	(void)chan_send(c, MIG_FAILED, m, strnlen(m, 255));
}

void mig_failed_text(const void *p, size_t len, char *buf, size_t size)
{
	const unsigned char *s = p;
	size_t i, o = 0;

	for (i = 0; i < len && o + 1 < size; i++)
		buf[o++] = s[i] >= 0x20 && s[i] < 0x7f ? (char)s[i] : '?';
	buf[o] = '\0';
	if (!o)
		snprintf(buf, size, "no reason given");
}

static const char *msg_name(uint8_t t)
{
	static const char *const names[] = {
		[MIG_HELLO] = "HELLO",	       [MIG_READY] = "READY",
		[MIG_PAGES] = "PAGES",	       [MIG_DROP] = "DROP",
		[MIG_ROUND] = "ROUND",	       [MIG_IMAGE] = "IMAGE",
		[MIG_IMAGE_END] = "IMAGE_END", [MIG_RESTORED] = "RESTORED",
		[MIG_COMMIT] = "COMMIT",       [MIG_DONE] = "DONE",
		[MIG_FAILED] = "FAILED",       [MIG_LAZY_REQ] = "LAZY_REQ",
		[MIG_LAZY_DONE] = "LAZY_DONE", [MIG_SIGNAL] = "SIGNAL",
		[MIG_EXIT] = "EXIT",	       [MIG_STATUS] = "STATUS",
		[MIG_RANK] = "RANK",
	};

	return t < sizeof(names) / sizeof(names[0]) && names[t] ? names[t] : "unknown";
}

int mig_expect(struct chan *c, const char *step, const uint8_t *want, uint8_t *type,
	       const void **buf, size_t *len)
{
	char why[256];
	size_t i;
	int ret;

	ret = chan_recv(c, type, buf, len);
	if (ret) {
		if (!err_is_set())
			pr_err("%s: the link to the peer failed: %s\n", step,
			       ret == -ENODATA ? "it closed the channel" : strerror(-ret));
		return ret == -ENODATA ? -ECONNRESET : ret;
	}
	if (*type == MIG_FAILED) {
		mig_failed_text(*buf, *len, why, sizeof(why));
		pr_err("%s: the peer failed: %s\n", step, why);
		return -ECONNABORTED;
	}
	for (i = 0; want[i]; i++)
		if (want[i] == *type)
			return 0;
	pr_err("%s: unexpected message %s (%u) from the peer\n", step, msg_name(*type), *type);
	return -EPROTO;
}
