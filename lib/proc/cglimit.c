/*
 * Controller settings of a cgroup that an image may carry (record LIMITS):
 * a fixed table of known files, v2 and v1, in the order a restore writes
 * them (a v1 memory limit before memsw, a cpu period before its quota,
 * cgroup.subtree_control before a child's files), and a strict parser for
 * their values.  A value is accepted only in the form the kernel prints
 * it: "max" where the file takes it, decimal numbers without sign (but -1
 * where the file takes it), leading zero, or space, in the file's range;
 * cpu lists of decimal ranges; controller names from a known list; the
 * io files one line per device (lib/proc/cgio.c).
 * Nothing here reads or writes a file (NOTES "Limits and time (issue 14)").
 */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "proc/proc.h"

#define NS_MAX INT64_MAX
#define PIDS_LIMIT 4194304 /* PID_MAX_LIMIT */

static const struct cglimit_file files[] = {
	{ "cgroup.subtree_control", "", true, CGL_CTRLS, 0, 0 },
	{ "cpuset.cpus", "cpuset", true, CGL_CPULIST, 0, 0 },
	{ "cpuset.mems", "cpuset", true, CGL_CPULIST, 0, 0 },
	{ "cpu.max", "cpu", true, CGL_CPUMAX, 1000, NS_MAX / 1000 },
	{ "cpu.weight", "cpu", true, CGL_NUM, 1, 10000 },
	{ "memory.min", "memory", true, CGL_MAX_NUM, 0, NS_MAX },
	{ "memory.low", "memory", true, CGL_MAX_NUM, 0, NS_MAX },
	{ "memory.high", "memory", true, CGL_MAX_NUM, 0, NS_MAX },
	{ "memory.max", "memory", true, CGL_MAX_NUM, 0, NS_MAX },
	{ "memory.swap.max", "memory", true, CGL_MAX_NUM, 0, NS_MAX },
	{ "pids.max", "pids", true, CGL_MAX_NUM, 0, PIDS_LIMIT },
	{ "io.weight", "io", true, CGL_IOWEIGHT, 1, 10000 },
	{ "io.max", "io", true, CGL_IOMAX, 1, NS_MAX },
	{ "cpuset.cpus", "cpuset", false, CGL_CPULIST, 0, 0 },
	{ "cpuset.mems", "cpuset", false, CGL_CPULIST, 0, 0 },
	{ "cpu.cfs_period_us", "cpu", false, CGL_NUM, 1000, 1000000 },
	{ "cpu.cfs_quota_us", "cpu", false, CGL_QUOTA, 1000, NS_MAX / 1000 },
	{ "cpu.shares", "cpu", false, CGL_NUM, 2, 262144 },
	{ "memory.limit_in_bytes", "memory", false, CGL_QUOTA, 0, NS_MAX },
	{ "memory.soft_limit_in_bytes", "memory", false, CGL_QUOTA, 0, NS_MAX },
	{ "memory.memsw.limit_in_bytes", "memory", false, CGL_QUOTA, 0, NS_MAX },
	{ "pids.max", "pids", false, CGL_MAX_NUM, 0, PIDS_LIMIT },
	{ "blkio.weight", "blkio", false, CGL_NUM, 10, 1000 },
	{ "blkio.bfq.weight", "blkio", false, CGL_IOWEIGHT, 1, 1000 },
	{ "blkio.throttle.read_bps_device", "blkio", false, CGL_IODEV, 1, NS_MAX },
	{ "blkio.throttle.write_bps_device", "blkio", false, CGL_IODEV, 1, NS_MAX },
	{ "blkio.throttle.read_iops_device", "blkio", false, CGL_IODEV, 1, 4294967294LL },
	{ "blkio.throttle.write_iops_device", "blkio", false, CGL_IODEV, 1, 4294967294LL },
};

/* cgroup v2 controllers cgroup.subtree_control may name. */
static const char *const controllers[] = { "cpuset",  "cpu",  "io",   "memory",
					   "hugetlb", "pids", "rdma", "misc" };

const struct cglimit_file *cglimit_table(size_t *n)
{
	*n = sizeof(files) / sizeof(files[0]);
	return files;
}

/* The file named name of a v2 (or v1) group, NULL if it is not known. */
const struct cglimit_file *cglimit_lookup(const char *name, bool v2)
{
	size_t i;

	for (i = 0; name && i < sizeof(files) / sizeof(files[0]); i++)
		if (files[i].v2 == v2 && !strcmp(files[i].name, name))
			return &files[i];
	return NULL;
}

/* 1 if controller is one of the comma separated tokens of list. */
bool cglimit_in_hierarchy(const struct cglimit_file *f, const char *list)
{
	size_t l = strlen(f->controller);
	const char *p = list;

	if (f->v2)
		return !list[0];
	while (l && (p = strstr(p, f->controller))) {
		if ((p == list || p[-1] == ',') && (p[l] == ',' || !p[l]))
			return true;
		p += l;
	}
	return false;
}

/*
 * A decimal number s[0 .. len) in [min, max]: digits only, no leading
 * zero, "-1" only if allow_m1.  0 or -EINVAL.
 */
int cglimit_parse_num(const char *s, size_t len, int64_t min, int64_t max, bool allow_m1,
		      int64_t *out)
{
	uint64_t v = 0;
	size_t i;

	if (allow_m1 && len == 2 && !strncmp(s, "-1", 2)) {
		*out = -1;
		return 0;
	}
	if (!len || len > 19 || (s[0] == '0' && len > 1))
		return -EINVAL;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (v > (uint64_t)INT64_MAX || (int64_t)v < min || (int64_t)v > max)
		return -EINVAL;
	*out = (int64_t)v;
	return 0;
}

/* "" or "A[-B][,C[-D]...]" with A <= B < 8192, at most 256 bytes. */
static int parse_cpulist(const char *s)
{
	const char *p = s;
	int64_t a, b;
	size_t l;

	if (strlen(s) > 256)
		return -EINVAL;
	while (*p) {
		l = strcspn(p, ",-");
		if (cglimit_parse_num(p, l, 0, 8191, false, &a))
			return -EINVAL;
		p += l;
		b = a;
		if (*p == '-') {
			l = strcspn(++p, ",");
			if (cglimit_parse_num(p, l, 0, 8191, false, &b) || b < a)
				return -EINVAL;
			p += l;
		}
		if (*p == ',' && !*++p)
			return -EINVAL;
	}
	return 0;
}

/* Known controller names separated by one space, each at most once. */
static int parse_ctrls(const char *s)
{
	unsigned seen = 0, i;
	const char *p = s;
	size_t l;

	while (*p) {
		l = strcspn(p, " ");
		for (i = 0; i < sizeof(controllers) / sizeof(controllers[0]); i++)
			if (strlen(controllers[i]) == l && !strncmp(controllers[i], p, l))
				break;
		if (i == sizeof(controllers) / sizeof(controllers[0]) || (seen & (1u << i)))
			return -EINVAL;
		seen |= 1u << i;
		p += l;
		if (*p == ' ' && !*++p)
			return -EINVAL;
	}
	return 0;
}

/*
 * Checks value (as printed by the kernel, without its newline) for file f.
 * 0, or -EINVAL for anything else.
 */
int cglimit_check(const struct cglimit_file *f, const char *value)
{
	size_t len = value ? strlen(value) : 0;
	const char *sp;
	int64_t v;

	if (!value || len > (cglimit_multiline(f) ? CGIO_TEXT_MAX : 256))
		return -EINVAL;
	switch (f->kind) {
	case CGL_MAX_NUM:
		return !strcmp(value, "max") ?
			       0 :
			       cglimit_parse_num(value, len, f->min, f->max, false, &v);
	case CGL_NUM:
		return cglimit_parse_num(value, len, f->min, f->max, false, &v);
	case CGL_QUOTA:
		return cglimit_parse_num(value, len, f->min, f->max, true, &v);
	case CGL_CPUMAX: /* "max PERIOD" or "QUOTA PERIOD" */
		sp = strchr(value, ' ');
		if (!sp || cglimit_parse_num(sp + 1, strlen(sp + 1), 1000, 1000000, false, &v))
			return -EINVAL;
		if ((size_t)(sp - value) == 3 && !strncmp(value, "max", 3))
			return 0;
		return cglimit_parse_num(value, sp - value, f->min, f->max, false, &v);
	case CGL_CPULIST:
		return parse_cpulist(value);
	case CGL_CTRLS:
		return parse_ctrls(value);
	case CGL_IOMAX:
	case CGL_IODEV:
	case CGL_IOWEIGHT:
		return cgio_check(f, value);
	}
	return -EINVAL;
}

/*
 * The text to write to set value (checked): value itself, or for
 * cgroup.subtree_control "+a +b" ("" for none).  0 or -ENOSPC.
 */
int cglimit_write_text(const struct cglimit_file *f, const char *value, char *out, size_t len)
{
	const char *p = value;
	size_t used = 0, l;
	int n;

	if (f->kind != CGL_CTRLS) {
		n = snprintf(out, len, "%s", value);
		return n < 0 || (size_t)n >= len ? -ENOSPC : 0;
	}
	out[0] = '\0';
	while (*p) {
		l = strcspn(p, " ");
		n = snprintf(out + used, len - used, "%s+%.*s", used ? " " : "", (int)l, p);
		if (n < 0 || (size_t)n >= len - used)
			return -ENOSPC;
		used += (size_t)n;
		p += l + (p[l] == ' ');
	}
	return 0;
}

bool cglimit_multiline(const struct cglimit_file *f)
{
	return f->kind == CGL_IOMAX || f->kind == CGL_IODEV || f->kind == CGL_IOWEIGHT;
}
