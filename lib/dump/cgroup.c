/*
 * cgroup membership of every thread (record CGROUP).  The root process's
 * leader defines the base group in each hierarchy; every thread of the
 * tree is recorded relative to it, and a thread in a group outside the
 * root's subtree is refused (NOTES "cgroup membership (issue 11)").
 * Hierarchies where every thread is in the root's group are not written,
 * and without any other thread there is no record at all.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define LOG_PREFIX "dump/cgroup: "
#include "log.h"
#include "dump/dump.h"
#include "img/img.h"
#include "img/records.h"
#include "cgroup.pb-c.h"

#define CG_MAX_HIER 32

struct cg_dir {
	uint32_t h;
	char *path; /* relative to the base */
	bool threaded;
};

struct cg_member {
	uint32_t tid;		    /* as the image numbers it */
	uint32_t dirs[CG_MAX_HIER]; /* 0 the base, else 1 + index in dirs */
};

struct dump_cgroup {
	struct proc_cgroup_line *base; /* the root leader's lines */
	int n_h;
	int v2; /* index of the v2 hierarchy, -1 */
	char v2mnt[4096], v2root[4096];
	bool have_v2mnt;
	struct cg_dir *dirs;
	size_t n_dirs;
	struct cg_member *members;
	size_t n_members;
};

/* The text of /proc/PID/task/TID/cgroup parsed into lines (malloc'ed). */
static int read_lines(pid_t pid, pid_t tid, struct proc_cgroup_line **out)
{
	char name[64], *text = NULL;
	int n;

	snprintf(name, sizeof(name), "task/%d/cgroup", tid);
	n = proc_read_file(pid, name, &text, NULL);
	if (n < 0) {
		pr_err("pid %d: cannot read /proc/%d/%s: %s\n", pid, pid, name, strerror(-n));
		return n;
	}
	*out = calloc(CG_MAX_HIER, sizeof(**out));
	n = *out ? proc_parse_cgroup(text, *out, CG_MAX_HIER) : -ENOMEM;
	free(text);
	if (n < 0) {
		pr_err("pid %d: cannot parse /proc/%d/%s: %s\n", pid, pid, name, strerror(-n));
		free(*out);
		*out = NULL;
	}
	return n;
}

/*
 * cgroup.type of v2 group path: 1 threaded, 0 a domain of some kind (the
 * root group has no cgroup.type: a domain), -errno if it cannot be read
 * (not logged: the caller says what it was for).
 */
static int v2_threaded(const struct dump_cgroup *cg, const char *path)
{
	char dir[4096], file[4096 + 16], *text = NULL;
	int ret;

	if (!cg->have_v2mnt)
		return -ENOENT;
	ret = proc_cgroup_dir(cg->v2mnt, cg->v2root, path, dir, sizeof(dir));
	if (ret)
		return ret;
	snprintf(file, sizeof(file), "%s/cgroup.type", dir);
	ret = proc_read_path(file, &text, NULL);
	if (ret == -ENOENT) /* the group exists: the root group */
		return access(dir, F_OK) ? -ENOENT : 0;
	if (ret < 0)
		return ret;
	ret = !strcmp(text, "threaded\n");
	free(text);
	return ret;
}

/* The base: the root leader's groups.  0 or -errno (logged). */
static int cg_init(struct dump_op *op, struct dump_task *root)
{
	struct dump_cgroup *cg = calloc(1, sizeof(*cg));
	int i, ret;

	if (!cg)
		return -ENOMEM;
	op->cgroup = cg;
	cg->v2 = -1;
	cg->n_h = read_lines(root->pid, root->pid, &cg->base);
	if (cg->n_h < 0)
		return cg->n_h;
	for (i = 0; i < cg->n_h; i++)
		if (!cg->base[i].controllers[0])
			cg->v2 = i;
	if (cg->v2 < 0)
		return 0;
	cg->have_v2mnt = !proc_cgroup_mount("", cg->v2mnt, sizeof(cg->v2mnt), cg->v2root,
					    sizeof(cg->v2root));
	if (!cg->have_v2mnt)
		return 0; /* no threaded group can be told from another: see v2_threaded() */
	ret = v2_threaded(cg, cg->base[cg->v2].path);
	if (ret > 0) {
		pr_err("pid %d: the root's cgroup %s is threaded: it must be a domain to restore "
		       "the tree below another group\n",
		       root->pid, cg->base[cg->v2].path);
		return -EOPNOTSUPP;
	}
	return 0; /* unreadable: only a member below it needs types (add_dir) */
}

/* Index + 1 of dir (h, rel) in the table, added with its ancestors. */
static int add_dir(struct dump_cgroup *cg, pid_t pid, int h, const char *rel, uint32_t *idx)
{
	char full[4096 + 4096];
	const char *slash = strrchr(rel, '/');
	struct cg_dir *nd;
	uint32_t parent;
	size_t i;
	int ret;

	for (i = 0; i < cg->n_dirs; i++) {
		if (cg->dirs[i].h == (uint32_t)h && !strcmp(cg->dirs[i].path, rel)) {
			*idx = i + 1;
			return 0;
		}
	}
	if (slash) {
		char *up = strndup(rel, slash - rel);

		ret = up ? add_dir(cg, pid, h, up, &parent) : -ENOMEM;
		free(up);
		if (ret)
			return ret;
	}
	nd = realloc(cg->dirs, (cg->n_dirs + 1) * sizeof(*nd));
	if (!nd)
		return -ENOMEM;
	cg->dirs = nd;
	nd = &cg->dirs[cg->n_dirs];
	memset(nd, 0, sizeof(*nd));
	nd->h = h;
	nd->path = strdup(rel);
	if (!nd->path)
		return -ENOMEM;
	cg->n_dirs++;
	if (h == cg->v2) {
		snprintf(full, sizeof(full), "%s/%s",
			 strcmp(cg->base[h].path, "/") ? cg->base[h].path : "", rel);
		ret = v2_threaded(cg, full);
		if (ret < 0) {
			pr_err("pid %d: cgroup %s: cannot read its type: %s\n", pid, full,
			       strerror(-ret));
			return -EOPNOTSUPP;
		}
		nd->threaded = ret;
	}
	*idx = cg->n_dirs;
	return 0;
}

/* Does path have a ".." component (a group outside our cgroup namespace)? */
static bool has_dotdot(const char *path)
{
	const char *c = path;
	size_t l;

	for (;;) {
		l = strcspn(c, "/");
		if (l == 2 && c[0] == '.' && c[1] == '.')
			return true;
		if (!c[l])
			return false;
		c += l + 1;
	}
}

/* Where line l of thread tid is relative to the base: *idx 0 or dir + 1. */
static int place(struct dump_cgroup *cg, struct dump_task *t, pid_t tid,
		 const struct proc_cgroup_line *l, uint32_t *idx)
{
	const char *what = l->controllers[0] ? l->controllers : "cgroup2";
	const char *b, *p = l->path;
	size_t bl;
	int h;

	for (h = 0; h < cg->n_h; h++)
		if (!strcmp(cg->base[h].controllers, l->controllers))
			break;
	if (h == cg->n_h) {
		pr_err("pid %d: tid %d is in hierarchy %s, which the root is not in\n", t->pid, tid,
		       what);
		return -EOPNOTSUPP;
	}
	b = cg->base[h].path;
	bl = strcmp(b, "/") ? strlen(b) : 0;
	*idx = 0;
	if (!strcmp(p, b))
		return 0;
	if (strncmp(p, b, bl) || p[bl] != '/' || !p[bl + 1] || has_dotdot(p + bl)) {
		pr_err("pid %d: tid %d is in cgroup %s:%s, outside the root's %s: groups are "
		       "restored relative to the root's\n",
		       t->pid, tid, what, p, b);
		return -EOPNOTSUPP;
	}
	return add_dir(cg, t->pid, h, p + bl + 1, idx);
}

/* One thread: its groups, a member if it is not in the base everywhere. */
static int collect_thread(struct dump_cgroup *cg, struct dump_task *t, struct dump_thread *th)
{
	struct proc_cgroup_line *lines = NULL;
	struct cg_member m = { .tid = th->vtid };
	bool other = false;
	int i, n, ret = 0;

	n = read_lines(t->pid, th->tid, &lines);
	if (n < 0)
		return n;
	for (i = 0; !ret && i < n; i++) {
		uint32_t idx;
		int h;

		ret = place(cg, t, th->tid, &lines[i], &idx);
		for (h = 0; !ret && h < cg->n_h; h++)
			if (!strcmp(cg->base[h].controllers, lines[i].controllers))
				m.dirs[h] = idx;
		other |= !ret && idx;
	}
	free(lines);
	if (ret || !other)
		return ret;
	struct cg_member *nm = realloc(cg->members, (cg->n_members + 1) * sizeof(*nm));

	if (!nm)
		return -ENOMEM;
	cg->members = nm;
	cg->members[cg->n_members++] = m;
	return 0;
}

/*
 * Collects the groups of every thread of live t (the root first: it sets
 * the base).  0, -EOPNOTSUPP for a refusal (one line logged), or -errno.
 */
int collect_cgroup(struct dump_op *op, struct dump_task *t)
{
	size_t i;
	int ret;

	if (!op->cgroup) {
		ret = cg_init(op, op->root);
		if (ret)
			return ret;
	}
	if (op->cgroup->n_h < 0)
		return -EINVAL; /* the root's were unreadable: said then */
	for (i = 0; i < t->n_threads; i++) {
		ret = collect_thread(op->cgroup, t, &t->threads[i]);
		if (ret)
			return ret;
	}
	return 0;
}

/* The CGROUP record, if some thread is not in the root's group. */
int write_cgroup(struct dump_op *op)
{
	const struct dump_cgroup *cg = op->cgroup;
	CgroupEntry e = CGROUP_ENTRY__INIT;
	CgroupHierarchyEntry hs[CG_MAX_HIER], *ph[CG_MAX_HIER];
	CgroupDirEntry *ds = NULL, **pd = NULL;
	CgroupMemberEntry *ms = NULL, **pm = NULL;
	uint32_t *md = NULL, map[CG_MAX_HIER];
	size_t i, n_used = 0;
	int h, ret = -ENOMEM;

	if (!cg || !cg->n_members)
		return 0;
	for (h = 0; h < cg->n_h; h++) { /* the hierarchies some member is not at the base in */
		map[h] = UINT32_MAX;
		for (i = 0; i < cg->n_members && map[h] == UINT32_MAX; i++)
			if (cg->members[i].dirs[h])
				map[h] = n_used++;
		if (map[h] == UINT32_MAX)
			continue;
		cgroup_hierarchy_entry__init(&hs[map[h]]);
		hs[map[h]].controllers = cg->base[h].controllers;
		ph[map[h]] = &hs[map[h]];
	}
	ds = calloc(cg->n_dirs + 1, sizeof(*ds));
	pd = calloc(cg->n_dirs + 1, sizeof(*pd));
	ms = calloc(cg->n_members, sizeof(*ms));
	pm = calloc(cg->n_members, sizeof(*pm));
	md = calloc(cg->n_members * n_used + 1, sizeof(*md));
	if (!ds || !pd || !ms || !pm || !md)
		goto out;
	for (i = 0; i < cg->n_dirs; i++) { /* every dir is some member's or an ancestor */
		cgroup_dir_entry__init(&ds[i]);
		PB_SET(&ds[i], hierarchy, map[cg->dirs[i].h]);
		ds[i].path = cg->dirs[i].path;
		if (cg->dirs[i].threaded)
			PB_SET(&ds[i], threaded, true);
		pd[i] = &ds[i];
	}
	for (i = 0; i < cg->n_members; i++) {
		cgroup_member_entry__init(&ms[i]);
		PB_SET(&ms[i], tid, cg->members[i].tid);
		ms[i].dirs = md + i * n_used;
		ms[i].n_dirs = n_used;
		for (h = 0; h < cg->n_h; h++)
			if (map[h] != UINT32_MAX)
				ms[i].dirs[map[h]] = cg->members[i].dirs[h];
		pm[i] = &ms[i];
	}
	e.hierarchies = ph;
	e.n_hierarchies = n_used;
	e.dirs = pd;
	e.n_dirs = cg->n_dirs;
	e.members = pm;
	e.n_members = cg->n_members;
	ret = img_write_msg(op->w, IMG_REC_CGROUP, &e.base);
	if (ret)
		pr_err("cannot write the cgroup record: %s\n", strerror(-ret));
out:
	free(ds);
	free(pd);
	free(ms);
	free(pm);
	free(md);
	return ret;
}

void cgroup_free(struct dump_op *op)
{
	struct dump_cgroup *cg = op->cgroup;
	size_t i;

	if (!cg)
		return;
	for (i = 0; i < cg->n_dirs; i++)
		free(cg->dirs[i].path);
	free(cg->dirs);
	free(cg->members);
	free(cg->base);
	free(cg);
	op->cgroup = NULL;
}

/* The directory of dir i on our mounts, into out.  0 or -errno (logged). */
static int dir_path(const struct dump_cgroup *cg, size_t i, char *out, size_t len)
{
	const struct cg_dir *d = &cg->dirs[i];
	const char *ctl = cg->base[d->h].controllers;
	char mnt[4096], root[4096], full[8192 + 2];
	int ret;

	snprintf(full, sizeof(full), "%s/%s",
		 strcmp(cg->base[d->h].path, "/") ? cg->base[d->h].path : "", d->path);
	ret = proc_cgroup_mount(ctl, mnt, sizeof(mnt), root, sizeof(root));
	ret = ret ?: proc_cgroup_dir(mnt, root, full, out, len);
	if (ret)
		pr_err("cgroup %s:%s: cannot find it on our mounts: %s\n", ctl[0] ? ctl : "cgroup2",
		       full, strerror(-ret));
	return ret;
}

/* Adds setting (dir, file, value) to *v.  0 or -ENOMEM. */
static int add_setting(struct cg_settings *v, uint32_t dir, const char *file, char *value)
{
	CgSettingEntry *s, **nv;

	nv = realloc(v->e, (v->n + 1) * sizeof(*nv));
	if (!nv)
		return -ENOMEM;
	v->e = nv;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	cg_setting_entry__init(s);
	PB_SET(s, dir, dir);
	s->file = (char *)file; /* the table's */
	s->value = value;
	v->e[v->n++] = s;
	return 0;
}

/*
 * The known controller files (lib/proc/cglimit.c) of dir i that exist,
 * with their values, appended to v.  A value the restore could not parse
 * back is refused (-EOPNOTSUPP, logged).
 */
static int dir_settings(const struct dump_cgroup *cg, size_t i, struct cg_settings *v)
{
	const char *ctl = cg->base[cg->dirs[i].h].controllers;
	const struct cglimit_file *t;
	char dir[4096], file[4096 + 64], *text;
	size_t n, k, l;
	int ret;

	t = cglimit_table(&n);
	for (k = 0; k < n; k++)
		if (t[k].v2 == !ctl[0] && cglimit_in_hierarchy(&t[k], ctl))
			break;
	if (k == n)
		return 0; /* no known file (name=systemd, freezer, ...): no mount needed */
	ret = dir_path(cg, i, dir, sizeof(dir));
	for (k = 0; !ret && k < n; k++) {
		if (t[k].v2 != !ctl[0] || !cglimit_in_hierarchy(&t[k], ctl))
			continue;
		snprintf(file, sizeof(file), "%s/%s", dir, t[k].name);
		text = NULL;
		if (proc_read_path(file, &text, NULL))
			continue; /* the controller is not there (not enabled) */
		l = strlen(text);
		if (l && text[l - 1] == '\n')
			text[--l] = '\0';
		if (!l && cglimit_multiline(&t[k])) {
			free(text); /* an io file without a device: nothing to set */
			continue;
		}
		if (cglimit_check(&t[k], text)) {
			pr_err("cgroup %s: %s is \"%.64s\", which a restore cannot set\n", dir,
			       t[k].name, text);
			ret = -EOPNOTSUPP;
		}
		ret = ret ?: add_setting(v, i + 1, t[k].name, text);
		if (ret)
			free(text);
	}
	return ret;
}

/*
 * The controller settings of every group of the CGROUP record (none if
 * there is no record), dir numbers as the record's.  0 or -errno (logged).
 */
int cgroup_settings(struct dump_op *op, struct cg_settings *v)
{
	const struct dump_cgroup *cg = op->cgroup;
	size_t i;
	int ret = 0;

	memset(v, 0, sizeof(*v));
	if (!cg || !cg->n_members)
		return 0;
	for (i = 0; !ret && i < cg->n_dirs; i++)
		ret = dir_settings(cg, i, v);
	return ret;
}

void cgroup_settings_free(struct cg_settings *v)
{
	size_t i;

	for (i = 0; i < v->n; i++) {
		free(v->e[i]->value);
		free(v->e[i]);
	}
	free(v->e);
	memset(v, 0, sizeof(*v));
}
