/*
 * `vxcr ctx create --limit FILE=VALUE,...`: memory and cpu limits of a
 * context (pids.max is INFO_NPROC, pids.c).  A limit goes into the
 * context's cgroup v2 group when the file is there (the controller is
 * enabled for it); otherwise into a group of the v1 hierarchy carrying the
 * controller, found from /proc/self/cgroup and /proc/self/mountinfo, at
 * <mount>/vxcr/<xid> as for pids.  The v1 groups are derived from the xid,
 * never read from a record: the context's tasks join them (the init before
 * it runs, `ctx exec` and `ctx enter`), and they go with the context.
 * v2 names are translated on a v1 hierarchy: memory.max is
 * memory.limit_in_bytes, cpu.max "QUOTA PERIOD" is cpu.cfs_period_us and
 * cpu.cfs_quota_us ("max" is -1).  Values are parsed strictly
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

#define LIM_MAX 16

/* One limit as written: file f (v2 or v1) = value. */
struct lim {
	const struct cglimit_file *f;
	char value[64];
};

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
	for (item = copy ? strtok_r(copy, ",", &save) : NULL; !ret && item;
	     item = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(item, '=');
		const struct cglimit_file *f;

		if (!eq || eq == item) {
			ret = -EINVAL;
			break;
		}
		*eq = '\0';
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
			pr_err("--limit %s=%s: not a memory or cpu limit this host has, or not a valid "
			       "value (pids.max: --nproc)\n",
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
	snprintf(dir, len, "%s/vxcr/%u", mnt, xid);
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

/*
 * Makes the groups of context xid (v2 group cgroup exists) and writes the
 * limits of spec, each read back.  0 or -errno (logged, groups removed).
 */
int vxctx_limits_setup(uint32_t xid, const char *cgroup, const char *spec)
{
	struct lim v[LIM_MAX];
	char dir[PATH_MAX], now[300];
	int n, i, ret;

	if (!spec || !spec[0])
		return 0;
	ret = parse(spec, cgroup, v, &n);
	for (i = 0; !ret && i < n; i++) {
		ret = group_of(xid, cgroup, v[i].f, true, dir, sizeof(dir));
		if (ret) {
			pr_err("--limit %s: no group for it: %s\n", v[i].f->name, strerror(-ret));
			break;
		}
		ret = vxctx_cg_write(dir, v[i].f->name, v[i].value);
		ret = ret ?: read_value(dir, v[i].f->name, now, sizeof(now));
		if (!ret && strcmp(now, v[i].value) &&
		    !(!strcmp(v[i].value, "-1") && !strcmp(now, "9223372036854771712")))
			ret = -ERANGE;
		if (ret)
			pr_err("cgroup %s: cannot set %s=%s: %s\n", dir, v[i].f->name, v[i].value,
			       ret == -ERANGE ? "reads back otherwise" : strerror(-ret));
	}
	if (ret)
		vxctx_limits_remove(xid);
	return ret;
}

/* The context's v1 limit groups (those that exist), or their count. */
static int v1_groups(uint32_t xid, char dirs[][PATH_MAX], int max)
{
	static const char *const ctls[] = { "memory", "cpu" };
	struct cglimit_file f = { "", NULL, false, CGL_NUM, 0, 0 };
	int i, n = 0;

	for (i = 0; i < 2 && n < max; i++) {
		f.controller = ctls[i];
		if (!group_of(xid, NULL, &f, false, dirs[n], PATH_MAX))
			n++;
	}
	return n;
}

void vxctx_limits_remove(uint32_t xid)
{
	char dirs[2][PATH_MAX];
	int i, n = v1_groups(xid, dirs, 2);

	for (i = 0; i < n; i++)
		vxctx_cg_remove(dirs[i]);
}

/* pid (0: ourselves) into the context's v1 limit groups.  0 or -errno. */
int vxctx_limits_join(uint32_t xid, pid_t pid)
{
	char dirs[2][PATH_MAX];
	int i, n = v1_groups(xid, dirs, 2), ret = 0;

	for (i = 0; !ret && i < n; i++)
		ret = vxctx_cg_join(dirs[i], pid);
	return ret;
}

/*
 * The limits in force for context xid as --limit text ("" if none): the
 * v1 memory and cpu files of its groups and the v2 memory and cpu files
 * of cgroup that differ from their parent's (a group starts unlimited).
 */
int vxctx_limits_get(uint32_t xid, const char *cgroup, char *spec, size_t len)
{
	char dirs[3][PATH_MAX], val[300], up[300], *slash;
	const struct cglimit_file *t;
	size_t k, nt, used = 0;
	int i, n;

	spec[0] = '\0';
	n = v1_groups(xid, dirs, 2);
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
	}
	return used < len ? 0 : -ENOSPC;
}
