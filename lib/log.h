/* Logging inside libvxcr: pr_* macros through the settable log function. */
#ifndef VXCR_LOG_H
#define VXCR_LOG_H

#include <errno.h>
#include <string.h>
#include "vxcr/vxcr.h"

#ifndef LOG_PREFIX
#define LOG_PREFIX ""
#endif

void vxcr_log(enum vxcr_log_level lvl, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define pr_err(fmt, ...)   vxcr_log(VXCR_LOG_ERR, LOG_PREFIX fmt, ##__VA_ARGS__)
#define pr_warn(fmt, ...)  vxcr_log(VXCR_LOG_WARN, LOG_PREFIX fmt, ##__VA_ARGS__)
#define pr_info(fmt, ...)  vxcr_log(VXCR_LOG_INFO, LOG_PREFIX fmt, ##__VA_ARGS__)
#define pr_debug(fmt, ...) vxcr_log(VXCR_LOG_DEBUG, LOG_PREFIX fmt, ##__VA_ARGS__)
/* pr_err with ": strerror(errno)" appended. */
#define pr_perror(fmt, ...) \
	vxcr_log(VXCR_LOG_ERR, LOG_PREFIX fmt ": %s", ##__VA_ARGS__, strerror(errno))

#endif
