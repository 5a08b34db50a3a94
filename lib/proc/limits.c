/*
 * /proc/PID/limits: resource limits of a process we may not prlimit()
 * (another uid without CAP_SYS_RESOURCE).
 */
#define LOG_PREFIX "proc/limits: "

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "proc/proc.h"

#define LIMITS_SOFT_COL 26 /* "%-25s " name */
#define LIMITS_HARD_COL 47 /* then "%-20s " soft */

/* Parses one limit value at s: "unlimited" or a decimal number. */
static int parse_limit_value(const char *s, rlim_t *v)
{
	char *end;

	if (!strncmp(s, "unlimited", 9)) {
		*v = RLIM_INFINITY;
		return 0;
	}
	errno = 0;
	*v = strtoull(s, &end, 10);
	if (errno || end == s)
		return -EINVAL;
	return 0;
}

/*
 * Parses the text of /proc/PID/limits into lim[0..max).  Lines follow the
 * header in RLIMIT_* order.  Returns the number of limits parsed or -EINVAL.
 */
int proc_parse_limits(const char *text, struct rlimit *lim, int max)
{
	const char *line = strchr(text, '\n');
	int n = 0;

	if (!line || strncmp(text, "Limit", 5))
		return -EINVAL;
	for (line++; *line && n < max; n++) {
		const char *eol = strchr(line, '\n');
		size_t len = eol ? (size_t)(eol - line) : strlen(line);

		if (len < LIMITS_HARD_COL + 1)
			return -EINVAL;
		if (parse_limit_value(line + LIMITS_SOFT_COL, &lim[n].rlim_cur) ||
		    parse_limit_value(line + LIMITS_HARD_COL, &lim[n].rlim_max))
			return -EINVAL;
		if (!eol)
			return n + 1;
		line = eol + 1;
	}
	return n;
}
