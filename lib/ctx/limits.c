/*
 * `vxcr ctx create --limit FILE=VALUE,...`: memory, cpu and io limits of a
 * context (pids.max is INFO_NPROC, pids.c).  A limit goes into the
 * context's cgroup v2 group when the file is there (the controller is
 * enabled for it); otherwise into a group of the v1 hierarchy carrying the
 * controller, found from /proc/self/cgroup and /proc/self/mountinfo, at
 * <mount>/vxcr/<xid> as for pids.  The v1 groups are derived from the xid,
 * never read from a record: the context's tasks join them (the init before
 * it runs, `ctx exec` and `ctx enter`), and they go with the context.
 * v2 names are translated on a v1 hierarchy: memory.max is
 * memory.limit_in_bytes, cpu.max "QUOTA PERIOD" is cpu.cfs_period_us and
 * cpu.cfs_quota_us ("max" is -1), io.max "MAJ:MIN rbps=N wbps=N riops=N
 * wiops=N" is one blkio.throttle.*_device "MAJ:MIN N" line per key set,
 * io.weight N is blkio.weight or blkio.bfq.weight.  io.max names one
 * device: several devices are several io.max items ("io.max=254:0
 * rbps=1048576,io.max=7:0 wiops=100"), a device at most once per file;
 * it must be a block device here.  Values are parsed strictly
 * (lib/proc/cglimit.c) and each is read back.  A context checkpoint keeps
 * the limits as this same text (ctx_entry.limits) and the restore applies
 * it through the same parser.
 */
#define LOG_PREFIX "ctx/limits: "
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "ctx/ctx.h"
#include "proc/proc.h"

#define LIM_MAX 32

/* One limit as written: file f (v2 or v1) = value. */
struct lim {
	const struct cglimit_file *f;
	bool weight; /* io.weight on v1: blkio.weight or blkio.bfq.weight, found at setup */
	char value[128];
};

static const char *const throttle_files[CGIO_KEYS] = { "blkio.throttle.read_bps_device",
						       "blkio.throttle.write_bps_device",
						       "blkio.throttle.read_iops_device",
						       "blkio.throttle.write_iops_device" };

static bool has_file(const char *dir, const char *file)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	return !access(path, F_OK);
}

/* Adds line l of io file f to v, unless it sets nothing.  0 or -EINVAL (logged). */
static int add_io_line(struct lim *v, int *n, const struct cglimit_file *f,
		       const struct cgio_line *l)
{
	struct cgio_line o;
	int i;

	if (!cgio_line_limits(f, l))
		return 0; /* a new group has no limit */
	for (i = 0; i < *n; i++) {
		if (v[i].f != f || v[i].weight ||
		    cgio_parse_line(f, v[i].value, strlen(v[i].value), &o) || o.maj != l->maj ||
		    o.min != l->min || o.dflt != l->dflt)
			continue;
		pr_err("--limit: %s of device %u:%u given twice\n", f->name, l->maj, l->min);
		return -EINVAL;
	}
	if (*n == LIM_MAX || cgio_format_line(f, l, v[*n].value, sizeof(v[*n].value))) {
		pr_err("--limit: too many limits\n");
		return -EINVAL;
	}
	v[(*n)++].f = f;
	return 0;
}

/*
 * io.weight=N (1..10000): "default N" into the v2 group when its parent
 * enables io, else marked for the v1 blkio group.  0 or -EINVAL (logged).
 */
static int add_weight(struct lim *v, int *n, const char *value, const char *cgroup)
{
	const struct cglimit_file *f = cglimit_lookup("io.weight", true);
	struct cgio_line l;
	char line[64];

	snprintf(line, sizeof(line), "default %s", value);
	if (strlen(value) > 8 || cgio_parse_line(f, line, strlen(line), &l)) {
		pr_err("--limit io.weight=%s: not a weight (1 to 10000)\n", value);
		return -EINVAL;
	}
	if (cgroup && has_file(cgroup, "io.weight"))
		return add_io_line(v, n, f, &l);
	if (*n == LIM_MAX)
		return -EINVAL;
	v[*n].f = cglimit_lookup("blkio.weight", false);
	v[*n].weight = true;
	snprintf(v[(*n)++].value, sizeof(v[0].value), "%s", value);
	return 0;
}

/*
 * An io limit name=value: io.max (v2 syntax, any subset of the keys, one
 * device), io.weight, or a v1 blkio.throttle file ("MAJ:MIN N").  io.max
 * goes into the v2 group when it has the file, else one v1 throttle line
 * per key.  The device must be a block device here.  0 or -EINVAL (logged).
 */
static int add_io(struct lim *v, int *n, const char *name, const char *value, const char *cgroup)
{
	const struct cglimit_file *f;
	struct cgio_line l, one;
	char bad[32];
	int k, ret = 0;

	if (!strcmp(name, "io.weight"))
		return add_weight(v, n, value, cgroup);
	f = cglimit_lookup(name, !strcmp(name, "io.max"));
	if (!f || (f->kind != CGL_IOMAX && f->kind != CGL_IODEV) ||
	    cgio_parse_line(f, value, strlen(value), &l)) {
		pr_err("--limit %s=%s: not an io limit (io.max=MAJ:MIN rbps=N wbps=N riops=N "
		       "wiops=N, io.weight=N)\n",
		       name, value);
		return -EINVAL;
	}
	if (cgio_devices(f, value, bad, sizeof(bad))) {
		pr_err("--limit %s=%s: %s is not a block device here\n", name, value, bad);
		return -EINVAL;
	}
	if (f->kind == CGL_IODEV || (cgroup && has_file(cgroup, "io.max")))
		return add_io_line(v, n, f, &l);
	for (k = 0; !ret && k < CGIO_KEYS; k++) {
		if (l.v[k] == CGIO_NOLIMIT)
			continue;
		one = (struct cgio_line){ l.maj, l.min, false, { l.v[k] } };
		ret = add_io_line(v, n, cglimit_lookup(throttle_files[k], false), &one);
	}
	return ret;
}

/* The v1 hierarchy carrying controller, its mount; 0 or -ENOENT. */
static int v1_mount(const char *controller, char *mnt, size_t len)
{
	struct proc_cgroup_line *lines = calloc(32, sizeof(*lines));
	const struct cglimit_file probe = { "", controller, false, CGL_NUM, 0, 0 };
	char *text = NULL, root[4096];
	int n, i, ret = -ENOENT;

	n = lines ? proc_read_file(0, "cgroup", &text, NULL) : -ENOMEM;
	n = n < 0 ? n : proc_parse_cgroup(text, lines, 32);
	for (i = 0; i < n && ret == -ENOENT; i++)
		if (lines[i].controllers[0] && cglimit_in_hierarchy(&probe, lines[i].controllers))
			ret = proc_cgroup_mount(lines[i].controllers, mnt, len, root, sizeof(root));
	free(text);
	free(lines);
	return ret;
}

/* Adds name=value (v1 file name) to v; translates v2 names.  0 or -EINVAL. */
static int add_v1(struct lim *v, int *n, const char *name, const char *value)
{
	const char *sp = strchr(value, ' ');

	if (!strcmp(name, "memory.max"))
		return add_v1(v, n, "memory.limit_in_bytes", strcmp(value, "max") ? value : "-1");
	if (!strcmp(name, "cpu.max") && sp) {
		char q[32];

		snprintf(q, sizeof(q), "%.*s", (int)(sp - value), value);
		return add_v1(v, n, "cpu.cfs_period_us", sp + 1) ?:
			       add_v1(v, n, "cpu.cfs_quota_us", strcmp(q, "max") ? q : "-1");
	}
	if (*n == LIM_MAX || !(v[*n].f = cglimit_lookup(name, false)) ||
	    (strcmp(v[*n].f->controller, "memory") && strcmp(v[*n].f->controller, "cpu")))
		return -EINVAL;
	snprintf(v[*n].value, sizeof(v[*n].value), "%s", value);
	return cglimit_check(v[*n].f, v[*n].value) ? -EINVAL : (++*n, 0);
}

/*
 * spec "FILE=VALUE,..." into v: the v2 file where the context's group
 * cgroup has it, else the v1 one.  *n entries.  0 or -EINVAL (logged).
 */
static int parse(const char *spec, const char *cgroup, struct lim *v, int *n)
{
	char *copy = strdup(spec), *save = NULL, *item, path[PATH_MAX];
	int ret = copy ? 0 : -ENOMEM;

	*n = 0;
	memset(v, 0, LIM_MAX * sizeof(*v)); /* .weight: only add_weight sets it */
	for (item = copy ? strtok_r(copy, ",", &save) : NULL; !ret && item;
	     item = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(item, '=');
		const struct cglimit_file *f;

		if (!eq || eq == item) {
			ret = -EINVAL;
			break;
		}
		*eq = '\0';
		if (!strncmp(item, "io.", 3) || !strncmp(item, "blkio.", 6)) {
			ret = add_io(v, n, item, eq + 1, cgroup);
			continue;
		}
		f = cglimit_lookup(item, true);
		snprintf(path, sizeof(path), "%s/%s", cgroup ? cgroup : "", item);
		if (f && cgroup && !access(path, F_OK) && strcmp(f->controller, "pids") &&
		    *n < LIM_MAX && !cglimit_check(f, eq + 1)) {
			v[*n].f = f;
			snprintf(v[(*n)++].value, sizeof(v[0].value), "%s", eq + 1);
		} else {
			ret = add_v1(v, n, item, eq + 1);
		}
		if (ret)
			pr_err("--limit %s=%s: not a memory, cpu or io limit this host has, or not a "
			       "valid value (pids.max: --nproc)\n",
			       item, eq + 1);
	}
	free(copy);
	return ret;
}

int vxctx_limits_check(const char *spec)
{
	struct lim v[LIM_MAX];
	int n;

	return parse(spec, NULL, v, &n);
}

/* The group of the context xid that file f goes into (v1: made if make). */
static int group_of(uint32_t xid, const char *cgroup, const struct cglimit_file *f, bool make,
		    char *dir, size_t len)
{
	char mnt[2048];
	int ret;

	if (f->v2) {
		snprintf(dir, len, "%s", cgroup);
		return 0;
	}
	ret = v1_mount(f->controller, mnt, sizeof(mnt));
	if (ret)
		return ret;
	if (make)
		return vxctx_cg_mkdir(mnt, xid, dir, len);
	snprintf(dir, len, "%s/%s/%u", mnt, vxctx_cg_base(), xid);
	return access(dir, F_OK) ? -ENOENT : 0;
}

/* dir/file without its newline into buf.  0 or -errno. */
static int read_value(const char *dir, const char *file, char *buf, size_t len)
{
	char path[PATH_MAX], *text = NULL;
	size_t l;
	int ret;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	ret = proc_read_path(path, &text, NULL);
	if (ret)
		return ret;
	l = strlen(text);
	if (l && text[l - 1] == '\n')
		text[--l] = '\0';
	snprintf(buf, len, "%s", text);
	free(text);
	return 0;
}

/* Does io file f of dir hold line want (formatted as cgio does)?  0 or -ERANGE. */
static int io_reads_back(const char *dir, const struct cglimit_file *f, const char *want)
{
	struct cgio_line *lines = calloc(CGIO_LINES, sizeof(*lines));
	char path[PATH_MAX], *text = NULL, line[160];
	int n = -ENOMEM, i, ret = -ERANGE;
	size_t l;

	snprintf(path, sizeof(path), "%s/%s", dir, f->name);
	if (lines && !proc_read_path(path, &text, NULL)) {
		l = strlen(text);
		if (l && text[l - 1] == '\n')
			text[--l] = '\0';
		n = cgio_parse(f, text, lines, CGIO_LINES);
	}
	for (i = 0; i < n && ret; i++)
		if (!cgio_format_line(f, &lines[i], line, sizeof(line)) && !strcmp(line, want))
			ret = 0;
	free(text);
	free(lines);
	return ret;
}

/*
 * io.weight N on a v1 blkio group dir: blkio.weight (10..1000) or
 * blkio.bfq.weight (1..1000, reads "default N").  0 or -errno (logged).
 */
static int set_v1_weight(const char *dir, const char *value)
{
	const struct cglimit_file *f = cglimit_lookup("blkio.weight", false);
	char want[64], now[300];
	int ret;

	snprintf(want, sizeof(want), "%s", value);
	if (!has_file(dir, f->name)) {
		f = cglimit_lookup("blkio.bfq.weight", false);
		snprintf(want, sizeof(want), "default %s", value);
	}
	if (!has_file(dir, f->name)) {
		pr_err("io.weight: no io controller with weights here\n");
		return -EOPNOTSUPP;
	}
	if (cglimit_check(f, want)) {
		pr_err("io.weight=%s: %s takes %lld to %lld\n", value, f->name, (long long)f->min,
		       (long long)f->max);
		return -EINVAL;
	}
	ret = vxctx_cg_write(dir, f->name, value);
	if (!ret && f->kind == CGL_IOWEIGHT)
		ret = io_reads_back(dir, f, want);
	else if (!ret)
		ret = read_value(dir, f->name, now, sizeof(now)) ?:
								   (strcmp(now, want) ? -ERANGE : 0);
	if (ret)
		pr_err("cgroup %s: cannot set %s=%s: %s\n", dir, f->name, value,
		       ret == -ERANGE ? "reads back otherwise" : strerror(-ret));
	return ret;
}

/* Writes limit l into its group dir, read back.  0 or -errno (logged). */
static int set_one(const char *dir, const struct lim *l)
{
	char now[300] = "";
	int ret;

	if (l->weight)
		return set_v1_weight(dir, l->value);
	ret = vxctx_cg_write(dir, l->f->name, l->value);
	if (!ret && cglimit_multiline(l->f)) {
		ret = io_reads_back(dir, l->f, l->value);
	} else if (!ret) {
		ret = read_value(dir, l->f->name, now, sizeof(now));
		if (!ret && strcmp(now, l->value) &&
		    !(!strcmp(l->value, "-1") && !strcmp(now, "9223372036854771712")))
			ret = -ERANGE;
	}
	if (ret)
		pr_err("cgroup %s: cannot set %s=%s: %s\n", dir, l->f->name, l->value,
		       ret == -ERANGE ? "reads back otherwise" : strerror(-ret));
	return ret;
}

/*
 * Makes the groups of context xid (v2 group cgroup exists) and writes the
 * limits of spec, each read back.  0 or -errno (logged, groups removed).
 */
int vxctx_limits_setup(uint32_t xid, const char *cgroup, const char *spec)
{
	struct lim v[LIM_MAX];
	char dir[PATH_MAX];
	int n, i, ret;

	if (!spec || !spec[0])
		return 0;
	ret = parse(spec, cgroup, v, &n);
	for (i = 0; !ret && i < n; i++) {
		ret = group_of(xid, cgroup, v[i].f, true, dir, sizeof(dir));
		if (ret && v[i].weight)
			pr_err("io.weight: no io controller with weights here\n");
		else if (ret)
			pr_err("--limit %s: no group for it: %s\n", v[i].f->name, strerror(-ret));
		ret = ret ?: set_one(dir, &v[i]);
	}
	if (ret)
		vxctx_limits_remove(xid);
	return ret;
}

/* The context's v1 limit groups (those that exist), or their count. */
static int v1_groups(uint32_t xid, char dirs[][PATH_MAX], int max)
{
	static const char *const ctls[] = { "memory", "cpu", "blkio" };
	struct cglimit_file f = { "", NULL, false, CGL_NUM, 0, 0 };
	int i, n = 0;

	for (i = 0; i < 3 && n < max; i++) {
		f.controller = ctls[i];
		if (!group_of(xid, NULL, &f, false, dirs[n], PATH_MAX))
			n++;
	}
	return n;
}

void vxctx_limits_remove(uint32_t xid)
{
	char dirs[3][PATH_MAX];
	int i, n = v1_groups(xid, dirs, 3);

	for (i = 0; i < n; i++)
		vxctx_cg_remove(dirs[i]);
}

/* pid (0: ourselves) into the context's v1 limit groups.  0 or -errno. */
int vxctx_limits_join(uint32_t xid, pid_t pid)
{
	char dirs[3][PATH_MAX];
	int i, n = v1_groups(xid, dirs, 3), ret = 0;

	for (i = 0; !ret && i < n; i++)
		ret = vxctx_cg_join(dirs[i], pid);
	return ret;
}

/*
 * The limits in force for context xid as --limit text ("" if none): the
 * v1 memory and cpu files of its groups and the v2 memory and cpu files
 * of cgroup that differ from their parent's (a group starts unlimited).
 */
/* The weight of io file f of dir ("N" or "default N" first line), or 0. */
static unsigned long weight_of(const char *dir, const struct cglimit_file *f)
{
	char val[300];

	if (read_value(dir, f->name, val, sizeof(val)))
		return 0;
	if (f->kind == CGL_IOWEIGHT && !strncmp(val, "default ", 8))
		return strtoul(val + 8, NULL, 10);
	return f->kind == CGL_NUM ? strtoul(val, NULL, 10) : 0;
}

/*
 * Appends the io limits of dir (v2: the context's group) to spec at *used:
 * a throttle or io.max line per device as its own item, and io.weight=N
 * if the weight differs from the parent's.
 */
static void io_get(char *dir, bool v2, char *spec, size_t len, size_t *used)
{
	const struct cglimit_file *t;
	char path[PATH_MAX], *text, *line, *save;
	unsigned long w, up;
	size_t k, nt, l;
	char *slash;

	t = cglimit_table(&nt);
	for (k = 0; k < nt; k++) {
		if (t[k].v2 != v2 ||
		    (strcmp(t[k].controller, "io") && strcmp(t[k].controller, "blkio")))
			continue;
		if (t[k].kind == CGL_IOWEIGHT || t[k].kind == CGL_NUM) {
			w = weight_of(dir, &t[k]);
			slash = strrchr(dir, '/');
			if (!w || !slash)
				continue;
			*slash = '\0';
			up = weight_of(dir, &t[k]);
			*slash = '/';
			if (w != up)
				*used += snprintf(spec + *used, *used < len ? len - *used : 0,
						  "%sio.weight=%lu", *used ? "," : "", w);
			continue;
		}
		snprintf(path, sizeof(path), "%s/%s", dir, t[k].name);
		text = NULL;
		if (proc_read_path(path, &text, NULL))
			continue;
		l = strlen(text);
		if (l && text[l - 1] == '\n')
			text[--l] = '\0';
		save = NULL;
		for (line = cgio_check(&t[k], text) ? NULL : strtok_r(text, "\n", &save); line;
		     line = strtok_r(NULL, "\n", &save))
			*used += snprintf(spec + *used, *used < len ? len - *used : 0, "%s%s=%s",
					  *used ? "," : "", t[k].name, line);
		free(text);
	}
}

int vxctx_limits_get(uint32_t xid, const char *cgroup, char *spec, size_t len)
{
	char dirs[4][PATH_MAX], val[300], up[300], *slash;
	const struct cglimit_file *t;
	size_t k, nt, used = 0;
	int i, n;

	spec[0] = '\0';
	n = v1_groups(xid, dirs, 3);
	snprintf(dirs[n++], PATH_MAX, "%s", cgroup);
	t = cglimit_table(&nt);
	for (i = 0; i < n; i++) {
		for (k = 0; k < nt; k++) {
			if (t[k].v2 != (i == n - 1) ||
			    (strcmp(t[k].controller, "memory") && strcmp(t[k].controller, "cpu")) ||
			    read_value(dirs[i], t[k].name, val, sizeof(val)))
				continue;
			slash = strrchr(dirs[i], '/');
			if (!slash)
				continue;
			*slash = '\0';
			if (!read_value(dirs[i], t[k].name, up, sizeof(up)) && !strcmp(up, val))
				val[0] = '\0'; /* as the parent's: not a limit of its own */
			*slash = '/';
			if (val[0] && !cglimit_check(&t[k], val))
				used += snprintf(spec + used, used < len ? len - used : 0,
						 "%s%s=%s", used ? "," : "", t[k].name, val);
		}
		io_get(dirs[i], i == n - 1, spec, len, &used);
	}
	return used < len ? 0 : -ENOSPC;
}
