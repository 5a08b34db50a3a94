/*
 * /proc/PID/timers parser (POSIX timers of a process, one block each):
 *
 *   ID: 0
 *   signal: 10/0000000000001234
 *   notify: signal/pid.29237        (or none/..., thread/..., signal/tid.N)
 *   ClockID: 1
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proc/proc.h"

#define SIGEV_THREAD_ID_BIT 4

static const char *const notify_kinds[] = { "signal", "none", "thread" };

/* "signal/pid.N": kind index, | SIGEV_THREAD_ID for "tid", and N. */
static int parse_notify(const char *v, struct proc_timer *pt)
{
	const char *slash = strchr(v, '/');
	size_t i, len;
	char *end;

	if (!slash || slash > strchrnul(v, '\n'))
		return -EINVAL;
	len = slash - v;
	for (i = 0; i < sizeof(notify_kinds) / sizeof(notify_kinds[0]); i++)
		if (strlen(notify_kinds[i]) == len && !strncmp(v, notify_kinds[i], len))
			break;
	if (i == sizeof(notify_kinds) / sizeof(notify_kinds[0]))
		return -EINVAL;
	pt->notify = i;
	if (!strncmp(slash + 1, "tid.", 4))
		pt->notify |= SIGEV_THREAD_ID_BIT;
	else if (strncmp(slash + 1, "pid.", 4))
		return -EINVAL;
	pt->notify_pid = strtol(slash + 5, &end, 10);
	return end == slash + 5 ? -EINVAL : 0;
}

/* "signo/hex": both parts required. */
static int parse_signal(const char *v, struct proc_timer *pt)
{
	char *end;

	pt->signo = strtol(v, &end, 10);
	if (end == v || *end != '/')
		return -EINVAL;
	v = end + 1;
	pt->sigval = strtoull(v, &end, 16);
	return end == v ? -EINVAL : 0;
}

/* One "Key: value" line into the timer being filled; bit of what was seen. */
static int parse_line(const char *line, struct proc_timer *pt, unsigned *seen)
{
	char *end;

	if (!strncmp(line, "ID: ", 4)) {
		pt->id = strtol(line + 4, &end, 10);
		*seen |= 1;
		return end == line + 4 ? -EINVAL : 0;
	}
	if (!strncmp(line, "signal: ", 8)) {
		*seen |= 2;
		return parse_signal(line + 8, pt);
	}
	if (!strncmp(line, "notify: ", 8)) {
		*seen |= 4;
		return parse_notify(line + 8, pt);
	}
	if (!strncmp(line, "ClockID: ", 9)) {
		pt->clock_id = strtol(line + 9, &end, 10);
		*seen |= 8;
		return end == line + 9 ? -EINVAL : 0;
	}
	return 0; /* a line a later kernel added */
}

static int push_timer(struct proc_timer **v, size_t *n, size_t *cap)
{
	struct proc_timer *nv;

	if (*n == *cap) {
		*cap = *cap ? *cap * 2 : 8;
		nv = realloc(*v, *cap * sizeof(*nv));
		if (!nv)
			return -ENOMEM;
		*v = nv;
	}
	memset(&(*v)[*n], 0, sizeof(**v));
	(*n)++;
	return 0;
}

int proc_parse_timers(const char *text, struct proc_timer **out, size_t *n)
{
	struct proc_timer *v = NULL;
	size_t cap = 0, cnt = 0;
	unsigned seen = 0;
	const char *p;
	int ret = 0;

	for (p = text; *p && !ret; p = strchrnul(p, '\n'), p += *p == '\n') {
		if (!strncmp(p, "ID: ", 4)) {
			if (cnt && seen != 0xf)
				ret = -EINVAL; /* previous block incomplete */
			ret = ret ?: push_timer(&v, &cnt, &cap);
			seen = 0;
		} else if (!cnt && *p != '\n') {
			ret = -EINVAL; /* text before the first ID */
		}
		if (!ret && cnt)
			ret = parse_line(p, &v[cnt - 1], &seen);
	}
	if (!ret && cnt && seen != 0xf)
		ret = -EINVAL;
	if (ret) {
		free(v);
		return ret;
	}
	*out = v;
	*n = cnt;
	return 0;
}
