#include <stdarg.h>
#include <stdio.h>
#include "log.h"

static vxcr_log_fn log_fn;
static void *log_arg;
static enum vxcr_log_level log_level = VXCR_LOG_WARN;
static __thread char last_err[512];

void vxcr_set_log(vxcr_log_fn fn, void *arg)
{
	log_fn = fn;
	log_arg = arg;
}

void vxcr_set_log_level(enum vxcr_log_level lvl)
{
	log_level = lvl;
}

const char *vxcr_last_error(void)
{
	return last_err;
}

/* Formats one message; errors are also kept as the thread's last error. */
void vxcr_log(enum vxcr_log_level lvl, const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	size_t n;

	if (lvl > log_level && lvl != VXCR_LOG_ERR)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	n = strlen(buf);
	if (n && buf[n - 1] == '\n')
		buf[n - 1] = '\0';
	if (lvl == VXCR_LOG_ERR)
		memcpy(last_err, buf, sizeof(last_err));
	if (lvl <= log_level && log_fn)
		log_fn(lvl, buf, log_arg);
}
