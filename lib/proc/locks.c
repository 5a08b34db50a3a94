/*
 * File locks as /proc shows them: /proc/locks and the "lock:" lines of
 * /proc/PID/fdinfo/N, both printed by fs/locks.c lock_get_status().  The
 * text is parsed strictly: a field count, a token or a number that is not
 * exactly what that function prints makes the line -EINVAL.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include "proc/proc.h"

#define LOCK_FIELDS 9 /* "N:" "->" class mode type pid dev start end */

static const char *const class_names[] = {
	[PROC_LOCK_POSIX] = "POSIX", [PROC_LOCK_OFD] = "OFDLCK",  [PROC_LOCK_FLOCK] = "FLOCK",
	[PROC_LOCK_LEASE] = "LEASE", [PROC_LOCK_DELEG] = "DELEG", [PROC_LOCK_ACCESS] = "ACCESS",
};

const char *proc_lock_class_name(int cls)
{
	if (cls < 0 || cls >= (int)(sizeof(class_names) / sizeof(class_names[0])))
		return "UNKNOWN";
	return class_names[cls];
}

/* An unsigned number in base 10 or 16, all of s, at most max.  0/-EINVAL. */
static int parse_u64(const char *s, int base, uint64_t max, uint64_t *out)
{
	const char *p;
	char *end;

	for (p = s; *p; p++)
		if (!(base == 16 ? strchr("0123456789abcdef", *p) : strchr("0123456789", *p)))
			return -EINVAL;
	if (!*s || (base == 10 && s[0] == '0' && s[1]))
		return -EINVAL;
	errno = 0;
	*out = strtoull(s, &end, base);
	if (errno || *end || *out > max)
		return -EINVAL;
	return 0;
}

/* "fe:00:10953015" (major and minor hex) or "<none>:0".  0/-EINVAL. */
static int parse_dev(const char *s, struct proc_lock *l)
{
	char buf[64], *minor, *ino;
	uint64_t v;

	if (!strcmp(s, "<none>:0")) {
		l->no_inode = true;
		return 0;
	}
	if (strlen(s) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, s);
	minor = strchr(buf, ':');
	ino = minor ? strchr(minor + 1, ':') : NULL;
	if (!ino)
		return -EINVAL;
	*minor++ = '\0';
	*ino++ = '\0';
	if (parse_u64(buf, 16, 0xfff, &v))
		return -EINVAL;
	l->dev_major = v;
	if (parse_u64(minor, 16, 0xfffff, &v))
		return -EINVAL;
	l->dev_minor = v;
	return parse_u64(ino, 10, UINT64_MAX, &l->ino);
}

/* Class and mode words.  0/-EINVAL. */
static int parse_class(const char *cls, const char *mode, struct proc_lock *l)
{
	size_t i;

	for (i = 0; i < sizeof(class_names) / sizeof(class_names[0]); i++)
		if (!strcmp(cls, class_names[i]))
			break;
	if (i == sizeof(class_names) / sizeof(class_names[0]))
		return -EINVAL;
	l->cls = i;
	if (l->cls == PROC_LOCK_LEASE || l->cls == PROC_LOCK_DELEG) {
		if (!strcmp(mode, "BREAKING") || !strcmp(mode, "BREAKER"))
			l->breaking = true;
		else if (strcmp(mode, "ACTIVE"))
			return -EINVAL;
		return 0;
	}
	if (!strcmp(mode, "MANDATORY"))
		l->mandatory = true;
	else if (!strcmp(mode, "*NOINODE*"))
		l->no_inode = true;
	else if (strcmp(mode, "ADVISORY"))
		return -EINVAL;
	return 0;
}

/* Type, pid, device and range words (f[0..4]).  0/-EINVAL. */
static int parse_tail(char **f, struct proc_lock *l)
{
	uint64_t v;

	if (!strcmp(f[0], "READ"))
		l->type = F_RDLCK;
	else if (!strcmp(f[0], "WRITE"))
		l->type = F_WRLCK;
	else if (!strcmp(f[0], "UNLCK"))
		l->type = F_UNLCK;
	else
		return -EINVAL;
	if (!strcmp(f[1], "-1"))
		l->pid = -1;
	else if (parse_u64(f[1], 10, 0x7fffffff, &v))
		return -EINVAL;
	else
		l->pid = v;
	if (parse_dev(f[2], l) || parse_u64(f[3], 10, INT64_MAX, &l->start))
		return -EINVAL;
	if (!strcmp(f[4], "EOF"))
		l->end = PROC_LOCK_EOF;
	else if (parse_u64(f[4], 10, INT64_MAX, &l->end) || l->end < l->start)
		return -EINVAL;
	return 0;
}

/* Parses one line (no prefix, up to '\n' or the end).  0/-EINVAL. */
int proc_parse_lock(const char *line, struct proc_lock *l)
{
	char buf[256], *f[LOCK_FIELDS + 1], *save = NULL, *w;
	size_t len = strcspn(line, "\n"), n = 0;
	uint64_t id;

	memset(l, 0, sizeof(*l));
	if (len >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, line, len);
	buf[len] = '\0';
	for (w = strtok_r(buf, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
		if (n == LOCK_FIELDS)
			return -EINVAL;
		f[n++] = w;
	}
	if (n < LOCK_FIELDS - 1)
		return -EINVAL;
	len = strlen(f[0]);
	if (len < 2 || f[0][len - 1] != ':')
		return -EINVAL;
	f[0][len - 1] = '\0';
	if (parse_u64(f[0], 10, UINT64_MAX, &id))
		return -EINVAL;
	l->waiter = n == LOCK_FIELDS;
	if (l->waiter && strcmp(f[1], "->"))
		return -EINVAL;
	if (parse_class(f[1 + l->waiter], f[2 + l->waiter], l))
		return -EINVAL;
	return parse_tail(f + 3 + l->waiter, l);
}

int proc_parse_locks(const char *text, const char *prefix, struct proc_lock **v, size_t *n)
{
	size_t plen = strlen(prefix), cap = 0;
	const char *line, *nl;
	struct proc_lock *nv;

	*v = NULL;
	*n = 0;
	for (line = text; *line; line = nl + 1) {
		nl = strchrnul(line, '\n');
		if (plen && strncmp(line, prefix, plen))
			goto next;
		if (*n == cap) {
			cap = cap ? cap * 2 : 8;
			nv = realloc(*v, cap * sizeof(*nv));
			if (!nv)
				goto out_free;
			*v = nv;
		}
		if (proc_parse_lock(line + plen, &(*v)[*n]))
			goto out_bad;
		(*n)++;
next:
		if (!*nl)
			break;
	}
	return 0;

out_bad:
	free(*v);
	*v = NULL;
	*n = 0;
	return -EINVAL;
out_free:
	free(*v);
	*v = NULL;
	*n = 0;
	return -ENOMEM;
}
