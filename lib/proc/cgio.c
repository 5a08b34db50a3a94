/*
 * Values of the io controller's files (lib/proc/cglimit.c kinds CGL_IOMAX,
 * CGL_IODEV, CGL_IOWEIGHT): one line per device, as the kernel prints
 * them, "MAJ:MIN ..." with the device's decimal numbers.
 *   v2 io.max:        "254:0 rbps=1048576 wbps=max riops=max wiops=max"
 *   v1 blkio.throttle.{read,write}_{bps,iops}_device: "254:0 1048576"
 *   v2 io.weight, v1 blkio.bfq.weight: "default 100" then "254:0 200"
 * A value is parsed strictly (decimal without sign or leading zero, each
 * key and each device at most once, at most CGIO_LINES lines) and compared
 * in a normal form: io.max lines with all four keys in the kernel's order,
 * lines without a limit dropped (the kernel does not print them), devices
 * in numeric order.  cgio_devices() is the only function here that looks
 * at the host: a device must be a block device of this host
 * (/sys/dev/block/MAJ:MIN), since a value names the dumping host's disks.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "proc/proc.h"

#define IOPS_MAX 4294967294ULL /* UINT_MAX is "no limit" */
#define MAJ_MAX 4095	       /* 12 bits */
#define MIN_MAX 1048575	       /* MINORBITS 20 */

static const char *const iomax_keys[CGIO_KEYS] = { "rbps", "wbps", "riops", "wiops" };

/* Decimal s[0 .. len) in [min, max] (at most INT64_MAX), strictly.  0 or
 * -EINVAL. */
static int dec(const char *s, size_t len, uint64_t min, uint64_t max, uint64_t *out)
{
	int64_t v;
	int ret = cglimit_parse_num(s, len, (int64_t)min, (int64_t)max, false, &v);

	if (!ret)
		*out = (uint64_t)v;
	return ret;
}

/* "MAJ:MIN" at s[0 .. len) into l.  0 or -EINVAL (0:0 and majors 0 too). */
static int devnum(const char *s, size_t len, struct cgio_line *l)
{
	const char *colon = memchr(s, ':', len);
	uint64_t a, b;

	if (!colon || dec(s, colon - s, 1, MAJ_MAX, &a) ||
	    dec(colon + 1, len - (colon + 1 - s), 0, MIN_MAX, &b))
		return -EINVAL;
	l->maj = (unsigned)a;
	l->min = (unsigned)b;
	return 0;
}

/* io.max's "key=value ..." after the device at s[0 .. len) into l. */
static int iomax_keys_parse(const struct cglimit_file *f, const char *s, size_t len,
			    struct cgio_line *l)
{
	const char *end = s + len, *tok = s, *tend, *eq;
	unsigned seen = 0, k;

	for (k = 0; k < CGIO_KEYS; k++)
		l->v[k] = CGIO_NOLIMIT;
	while (tok < end) {
		tend = memchr(tok, ' ', end - tok) ?: end;
		eq = memchr(tok, '=', tend - tok);
		if (!eq)
			return -EINVAL;
		for (k = 0; k < CGIO_KEYS; k++)
			if ((size_t)(eq - tok) == strlen(iomax_keys[k]) &&
			    !strncmp(tok, iomax_keys[k], eq - tok))
				break;
		if (k == CGIO_KEYS || (seen & (1u << k)))
			return -EINVAL;
		seen |= 1u << k;
		if (!(tend - eq == 4 && !strncmp(eq + 1, "max", 3)) &&
		    dec(eq + 1, tend - eq - 1, (uint64_t)f->min,
			k < 2 ? (uint64_t)f->max : IOPS_MAX, &l->v[k]))
			return -EINVAL;
		if (tend == end)
			break;
		tok = tend + 1;
		if (tok == end)
			return -EINVAL; /* a trailing space */
	}
	return seen ? 0 : -EINVAL;
}

int cgio_parse_line(const struct cglimit_file *f, const char *s, size_t len, struct cgio_line *l)
{
	const char *sp = memchr(s, ' ', len);
	size_t rest;

	memset(l, 0, sizeof(*l));
	if (!sp || sp + 1 == s + len)
		return -EINVAL;
	rest = len - (size_t)(sp + 1 - s);
	if (f->kind == CGL_IOWEIGHT && sp - s == 7 && !strncmp(s, "default", 7))
		l->dflt = true;
	else if (devnum(s, sp - s, l))
		return -EINVAL;
	if (f->kind == CGL_IOMAX)
		return iomax_keys_parse(f, sp + 1, rest, l);
	return dec(sp + 1, rest, (uint64_t)f->min, (uint64_t)f->max, &l->v[0]);
}

int cgio_format_line(const struct cglimit_file *f, const struct cgio_line *l, char *out, size_t len)
{
	char v[CGIO_KEYS][24];
	unsigned k;
	int n;

	if (f->kind != CGL_IOMAX) {
		n = l->dflt ? snprintf(out, len, "default %llu", (unsigned long long)l->v[0]) :
			      snprintf(out, len, "%u:%u %llu", l->maj, l->min,
				       (unsigned long long)l->v[0]);
		return n < 0 || (size_t)n >= len ? -ENOSPC : 0;
	}
	for (k = 0; k < CGIO_KEYS; k++) {
		if (l->v[k] == CGIO_NOLIMIT)
			snprintf(v[k], sizeof(v[k]), "max");
		else
			snprintf(v[k], sizeof(v[k]), "%llu", (unsigned long long)l->v[k]);
	}
	n = snprintf(out, len, "%u:%u rbps=%s wbps=%s riops=%s wiops=%s", l->maj, l->min, v[0],
		     v[1], v[2], v[3]);
	return n < 0 || (size_t)n >= len ? -ENOSPC : 0;
}

/* Does line l set a limit (else the kernel does not print it)? */
bool cgio_line_limits(const struct cglimit_file *f, const struct cgio_line *l)
{
	unsigned k;

	if (f->kind != CGL_IOMAX)
		return true;
	for (k = 0; k < CGIO_KEYS; k++)
		if (l->v[k] != CGIO_NOLIMIT)
			return true;
	return false;
}

static int cmp_line(const void *a, const void *b)
{
	const struct cgio_line *x = a, *y = b;

	if (x->dflt != y->dflt)
		return x->dflt ? -1 : 1;
	if (x->maj != y->maj)
		return x->maj < y->maj ? -1 : 1;
	return x->min < y->min ? -1 : (x->min > y->min);
}

int cgio_parse(const struct cglimit_file *f, const char *value, struct cgio_line *lines, int max)
{
	const char *p = value, *nl;
	size_t l;
	int n = 0, i;

	if (strlen(value) > CGIO_TEXT_MAX)
		return -EINVAL;
	while (*p) {
		nl = strchr(p, '\n');
		l = nl ? (size_t)(nl - p) : strlen(p);
		if (n == max || cgio_parse_line(f, p, l, &lines[n]))
			return -EINVAL;
		for (i = 0; i < n; i++)
			if (!cmp_line(&lines[i], &lines[n]))
				return -EINVAL; /* a device (or default) twice */
		n++;
		p += l;
		if (*p == '\n' && !*++p)
			return -EINVAL; /* an empty last line */
	}
	return n;
}

int cgio_check(const struct cglimit_file *f, const char *value)
{
	struct cgio_line lines[CGIO_LINES];

	return cgio_parse(f, value, lines, CGIO_LINES) < 0 ? -EINVAL : 0;
}

int cgio_normalise(const struct cglimit_file *f, const char *value, char *out, size_t len)
{
	struct cgio_line lines[CGIO_LINES];
	size_t used = 0;
	int n, i, ret;

	n = cgio_parse(f, value, lines, CGIO_LINES);
	if (n < 0)
		return n;
	qsort(lines, (size_t)n, sizeof(lines[0]), cmp_line);
	out[0] = '\0';
	for (i = 0; i < n; i++) {
		if (!cgio_line_limits(f, &lines[i]))
			continue;
		if (used && used + 1 < len)
			out[used++] = '\n';
		ret = used < len ? cgio_format_line(f, &lines[i], out + used, len - used) : -ENOSPC;
		if (ret)
			return ret;
		used += strlen(out + used);
	}
	return 0;
}

int cgio_devices(const struct cglimit_file *f, const char *value, char *bad, size_t len)
{
	struct cgio_line lines[CGIO_LINES];
	char path[64];
	struct stat st;
	int n, i;

	n = cgio_parse(f, value, lines, CGIO_LINES);
	if (n < 0)
		return n;
	for (i = 0; i < n; i++) {
		if (lines[i].dflt)
			continue;
		snprintf(path, sizeof(path), "/sys/dev/block/%u:%u", lines[i].maj, lines[i].min);
		if (fstatat(AT_FDCWD, path, &st, AT_SYMLINK_NOFOLLOW)) {
			snprintf(bad, len, "%u:%u", lines[i].maj, lines[i].min);
			return -ENODEV;
		}
	}
	return 0;
}
