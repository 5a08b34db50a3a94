/*
 * Logging inside libvxcr: one settable log function for tracing.  An error
 * line is also posted, without its prefix, as the current operation's
 * error (error.h) if none is set yet.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include "log.h"

static vxcr_log_fn log_fn;
static void *log_arg;
static enum vxcr_log_level log_level = VXCR_LOG_WARN;

void vxcr_set_log(vxcr_log_fn fn, void *arg)
{
	log_fn = fn;
	log_arg = arg;
}

void vxcr_set_log_level(enum vxcr_log_level lvl)
{
	log_level = lvl;
}

static void log_vemit(enum vxcr_log_level lvl, int code, const char *prefix, const char *fmt,
		      va_list ap)
{
	char buf[512];
	size_t n, plen = strlen(prefix);

	if (lvl > log_level && lvl != VXCR_LOG_ERR)
		return;
	snprintf(buf, sizeof(buf), "%s", prefix);
	if (plen >= sizeof(buf))
		plen = sizeof(buf) - 1;
	vsnprintf(buf + plen, sizeof(buf) - plen, fmt, ap);
	n = strlen(buf);
	if (n && buf[n - 1] == '\n')
		buf[n - 1] = '\0';
	if (lvl == VXCR_LOG_ERR)
		err_set(code, "%s", buf + plen);
	if (lvl <= log_level && log_fn)
		log_fn(lvl, buf, log_arg);
}

void log_emit(enum vxcr_log_level lvl, int code, const char *prefix, const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	va_start(ap, fmt);
	log_vemit(lvl, code, prefix, fmt, ap);
	va_end(ap);
	errno = saved;
}

void vxcr_log(enum vxcr_log_level lvl, const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	va_start(ap, fmt);
	log_vemit(lvl, 0, "", fmt, ap);
	va_end(ap);
	errno = saved;
}
