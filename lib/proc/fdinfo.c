/*
 * Small /proc parsers: fdinfo, auxv, children lists.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proc/proc.h"

/* Fills fi from /proc/PID/fdinfo/N text; pos and flags are required. */
int proc_parse_fdinfo(const char *text, struct proc_fdinfo *fi)
{
	const char *line = text, *nl;
	unsigned seen = 0;

	memset(fi, 0, sizeof(*fi));
	for (; *line; line = nl + 1) {
		nl = strchrnul(line, '\n');
		if (sscanf(line, "pos: %" SCNu64, &fi->pos) == 1)
			seen |= 1;
		else if (sscanf(line, "flags: %" SCNo32, &fi->flags) == 1)
			seen |= 2;
		else if (sscanf(line, "mnt_id: %" SCNu32, &fi->mnt_id) == 1)
			;
		else if (sscanf(line, "ino: %" SCNu64, &fi->ino) == 1)
			fi->has_ino = true;
		if (!*nl)
			break;
	}
	return seen == 3 ? 0 : -EINVAL;
}

/*
 * The value of line "KEY: VALUE" of fdinfo text (blanks after the colon
 * skipped): *val its first character, *end the line's end.  0 or -ENOENT.
 */
int proc_fdinfo_field(const char *text, const char *key, const char **val, const char **end)
{
	size_t klen = strlen(key);
	const char *line = text, *nl;

	for (; *line; line = nl + 1) {
		nl = strchrnul(line, '\n');
		if (!strncmp(line, key, klen) && line[klen] == ':') {
			*val = line + klen + 1;
			while (**val == ' ' || **val == '\t')
				(*val)++;
			*end = nl;
			return 0;
		}
		if (!*nl)
			break;
	}
	return -ENOENT;
}

/*
 * The value of line "KEY: VALUE" of fdinfo text, one whole unsigned
 * number in base base, into *v.  0, -ENOENT (no such line) or -EINVAL
 * (hostile text: not one whole number in range).
 */
int proc_fdinfo_u64(const char *text, const char *key, int base, uint64_t *v)
{
	const char *s, *nl;
	char *end;

	if (proc_fdinfo_field(text, key, &s, &nl))
		return -ENOENT;
	if (s == nl || !isxdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	*v = strtoull(s, &end, base);
	return errno || end != nl ? -EINVAL : 0;
}

/* The number of lines of fdinfo text that start with prefix. */
size_t proc_fdinfo_count(const char *text, const char *prefix)
{
	size_t plen = strlen(prefix), n = 0;
	const char *line, *nl;

	for (line = text; *line; line = *nl ? nl + 1 : nl) {
		nl = strchrnul(line, '\n');
		n += !strncmp(line, prefix, plen);
	}
	return n;
}

/* auxv is an array of (type, value) u64 pairs ending with AT_NULL (0). */
int proc_parse_auxv(const void *buf, size_t len, uint64_t *out, size_t max, size_t *n)
{
	const uint64_t *w = buf;
	size_t i, words = len / sizeof(uint64_t);

	*n = 0;
	for (i = 0; i + 1 < words; i += 2) {
		if (i + 2 > max)
			return -E2BIG;
		out[i] = w[i];
		out[i + 1] = w[i + 1];
		if (w[i] == 0) {
			*n = i + 2;
			return 0;
		}
	}
	return -EINVAL;
}

/* Counts the space separated pids of a children file. */
int proc_count_pids(const char *text)
{
	int n = 0;
	const char *p = text;

	while (*p) {
		while (*p == ' ' || *p == '\n')
			p++;
		if (!*p)
			break;
		if (*p < '0' || *p > '9')
			return -EINVAL;
		n++;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	return n;
}
