/*
 * Logging inside libvxcr: pr_* macros through the settable log function.
 * LOG_PREFIX says side and module ("dump/files: ", "img/writer: ").  An
 * error's message also becomes the current operation's error (error.h),
 * without the prefix, if it is the first.
 */
#ifndef VXCR_LOG_H
#define VXCR_LOG_H

#include <errno.h>
#include <string.h>
#include "vxcr/vxcr.h"
#include "error.h"

#ifndef LOG_PREFIX
#define LOG_PREFIX ""
#endif

void vxcr_log(enum vxcr_log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Logs prefix and message; at VXCR_LOG_ERR also sets the current error
 * (code: -errno or 0, the message without the prefix) unless one is set.
 * Keeps errno. */
void log_emit(enum vxcr_log_level lvl, int code, const char *prefix, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

#define pr_err(fmt, ...) log_emit(VXCR_LOG_ERR, 0, LOG_PREFIX, fmt, ##__VA_ARGS__)
#define pr_warn(fmt, ...) log_emit(VXCR_LOG_WARN, 0, LOG_PREFIX, fmt, ##__VA_ARGS__)
#define pr_info(fmt, ...) log_emit(VXCR_LOG_INFO, 0, LOG_PREFIX, fmt, ##__VA_ARGS__)
#define pr_debug(fmt, ...) log_emit(VXCR_LOG_DEBUG, 0, LOG_PREFIX, fmt, ##__VA_ARGS__)
/* pr_err with ": strerror(errno)" appended; the error's code is -errno. */
#define pr_perror(fmt, ...) \
	log_emit(VXCR_LOG_ERR, -errno, LOG_PREFIX, fmt ": %s", ##__VA_ARGS__, strerror(errno))

#endif
