/*
 * cgroup membership (record CGROUP): every process and thread goes back
 * into its group, named relative to the root's group, below the group the
 * restored root is in (vxrestore's own for a tree, the context's for a
 * context).  With --manage-cgroups missing groups are created (and made
 * threaded where recorded); without it they must exist.  Only
 * cgroup.procs, cgroup.threads and tasks are written, plus cgroup.type
 * of a group we created: never a controller file.  Every group is opened
 * beneath its base (openat2 RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS |
 * RESOLVE_NO_XDEV), so no image path reaches outside it (NOTES "cgroup
 * membership (issue 11)").
 */
#define LOG_PREFIX "restore/cgroup: "
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>

#include "log.h"
#include "proc/proc.h"
#include "restore/restore.h"

#define CG_MAX_HIER 32
#define CG_MAX_DIRS 4096
#define CG_MAX_PATH 1024

/* The groups of one restore, opened (or created) below their bases. */
struct rst_cgroup {
	const struct rst_image *img;
	const CgroupEntry *e;
	int base_fd[CG_MAX_HIER]; /* the restored root's group, per hierarchy */
	char base[CG_MAX_HIER][4096];
	struct cg_tid *members; /* e's members by tid */
	int *dir_fd;		/* per dir, -1 */
	bool *created;		/* per dir: made by us (removed if the restore fails) */
};

static const char *hier_name(const CgroupEntry *e, uint32_t h)
{
	return e->hierarchies[h]->controllers[0] ? e->hierarchies[h]->controllers : "cgroup2";
}

static bool is_v2(const CgroupEntry *e, uint32_t h)
{
	return !e->hierarchies[h]->controllers[0];
}

/* 1 + index of the dir named path in hierarchy h, 0 if none. */
static uint32_t find_dir(const CgroupEntry *e, uint32_t h, const char *path, size_t len)
{
	size_t i;

	for (i = 0; i < e->n_dirs; i++)
		if (e->dirs[i]->hierarchy == h && strlen(e->dirs[i]->path) == len &&
		    !strncmp(e->dirs[i]->path, path, len))
			return i + 1;
	return 0;
}

/* The parent of dir d (1-based): 1 + its index, 0 for the base. */
static uint32_t dir_parent(const CgroupEntry *e, uint32_t d)
{
	const char *p = e->dirs[d - 1]->path, *slash = strrchr(p, '/');

	return slash ? find_dir(e, e->dirs[d - 1]->hierarchy, p, slash - p) : 0;
}

/* v2: the domain a process in dir d is in (threaded dirs belong to it). */
static uint32_t dir_domain(const CgroupEntry *e, uint32_t d)
{
	while (d && e->dirs[d - 1]->threaded)
		d = dir_parent(e, d);
	return d;
}

/* A tid and what it stands for (a member, a process), sortable by tid. */
struct cg_tid {
	uint32_t tid;
	const void *what;
};

static int cmp_tid(const void *a, const void *b)
{
	const struct cg_tid *x = a, *y = b;

	return x->tid < y->tid ? -1 : x->tid > y->tid;
}

/* The entry of tid in v[0 .. n) (sorted), NULL if none. */
static const void *tid_find(const struct cg_tid *v, size_t n, uint32_t tid)
{
	const struct cg_tid key = { tid, NULL }, *f;

	f = n ? bsearch(&key, v, n, sizeof(*v), cmp_tid) : NULL;
	return f ? f->what : NULL;
}

/*
 * The members of e sorted by tid (malloc'ed, *out).  0, -EBADMSG for a
 * tid given twice (logged), -ENOMEM.
 */
static int members_index(const CgroupEntry *e, struct cg_tid **out)
{
	struct cg_tid *v = calloc(e->n_members + 1, sizeof(*v));
	size_t i;

	if (!v)
		return -ENOMEM;
	for (i = 0; i < e->n_members; i++)
		v[i] = (struct cg_tid){ e->members[i]->tid, e->members[i] };
	qsort(v, e->n_members, sizeof(*v), cmp_tid);
	for (i = 1; i < e->n_members; i++) {
		if (v[i].tid == v[i - 1].tid) {
			pr_err("image: CGROUP: tid %u is given twice\n", v[i].tid);
			free(v);
			return -EBADMSG;
		}
	}
	*out = v;
	return 0;
}

/* Thread vtid's dir in hierarchy h (members index idx): 0 the base, else 1 + index. */
static uint32_t thread_dir(const CgroupEntry *e, const struct cg_tid *idx, pid_t vtid, uint32_t h)
{
	const CgroupMemberEntry *m = tid_find(idx, e->n_members, (uint32_t)vtid);

	return m ? m->dirs[h] : 0;
}

/* A controllers string as the kernel prints them: [a-z0-9_=,.-], short. */
static bool controllers_ok(const char *s)
{
	size_t n = strlen(s);

	if (n >= 64 || (n && (s[0] == ',' || s[n - 1] == ',' || strstr(s, ",,"))))
		return false;
	return strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_=,.-") == n;
}

/* A relative group path: components of 1..255 printable bytes, no "." or "..". */
static bool path_ok(const char *p)
{
	const char *c = p, *end;
	size_t n = strlen(p), i;

	if (!n || n >= CG_MAX_PATH)
		return false;
	for (i = 0; i < n; i++)
		if ((unsigned char)p[i] < 0x20 || p[i] == 0x7f)
			return false;
	for (;;) {
		end = strchrnul(c, '/');
		if (end == c || end - c > 255 || (end - c == 1 && c[0] == '.') ||
		    (end - c == 2 && c[0] == '.' && c[1] == '.'))
			return false;
		if (!*end)
			return true;
		c = end + 1;
	}
}

/* Hierarchies and dirs of e, each by itself and against the others. */
static int check_dirs(const CgroupEntry *e)
{
	size_t i, j;

	if (!e->n_hierarchies || e->n_hierarchies > CG_MAX_HIER || e->n_dirs > CG_MAX_DIRS) {
		pr_err("image: CGROUP: %zu hierarchies, %zu groups: out of range\n",
		       e->n_hierarchies, e->n_dirs);
		return -EBADMSG;
	}
	for (i = 0; i < e->n_hierarchies; i++) {
		const char *c = e->hierarchies[i]->controllers;

		for (j = 0; c && controllers_ok(c) && j < i; j++)
			if (!strcmp(c, e->hierarchies[j]->controllers))
				break;
		if (!c || !controllers_ok(c) || j < i) {
			pr_err("image: CGROUP: hierarchy %zu is not valid or given twice\n", i);
			return -EBADMSG;
		}
	}
	for (i = 0; i < e->n_dirs; i++) {
		const CgroupDirEntry *d = e->dirs[i];
		const char *slash;

		if (!d->path || !path_ok(d->path) || d->hierarchy >= e->n_hierarchies ||
		    (d->threaded && !is_v2(e, d->hierarchy))) {
			pr_err("image: CGROUP: group %zu is not a valid relative cgroup path\n", i);
			return -EBADMSG;
		}
		slash = strrchr(d->path, '/');
		if (find_dir(e, d->hierarchy, d->path, strlen(d->path)) != i + 1 ||
		    (slash && find_dir(e, d->hierarchy, d->path, slash - d->path) - 1 >= i)) {
			pr_err("image: CGROUP: group %s:%s is given twice or before its parent\n",
			       hier_name(e, d->hierarchy), d->path);
			return -EBADMSG;
		}
	}
	return 0;
}

/* Every thread of a live process of the image, sorted by tid (malloc'ed). */
static int live_threads(const struct rst_image *img, struct cg_tid **out, size_t *n)
{
	struct cg_tid *v;
	size_t k, t, total = 0;

	for (k = 0; k < img->nr_procs; k++)
		total += img->procs[k]->task->state == TASK_STATE_DEAD ? 0 :
									 img->procs[k]->nr_threads;
	v = calloc(total + 1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	*n = 0;
	for (k = 0; k < img->nr_procs; k++)
		for (t = 0;
		     img->procs[k]->task->state != TASK_STATE_DEAD && t < img->procs[k]->nr_threads;
		     t++)
			v[(*n)++] =
				(struct cg_tid){ img->procs[k]->threads[t].vtid, img->procs[k] };
	qsort(v, *n, sizeof(*v), cmp_tid);
	*out = v;
	return 0;
}

/* Member m (index i): its dirs, one per hierarchy, each of that hierarchy. */
static int check_member_dirs(const CgroupEntry *e, const CgroupMemberEntry *m, size_t i)
{
	size_t h;

	if (m->n_dirs != e->n_hierarchies) {
		pr_err("image: CGROUP: member %zu (tid %u) has %zu groups for %zu hierarchies\n", i,
		       m->tid, m->n_dirs, e->n_hierarchies);
		return -EBADMSG;
	}
	for (h = 0; h < m->n_dirs; h++) {
		if (m->dirs[h] > e->n_dirs ||
		    (m->dirs[h] && e->dirs[m->dirs[h] - 1]->hierarchy != h)) {
			pr_err("image: CGROUP: tid %u: group %u of hierarchy %zu is not one of its "
			       "groups\n",
			       m->tid, m->dirs[h], h);
			return -EBADMSG;
		}
	}
	return 0;
}

/* Each member: a thread of a live process, one valid dir per hierarchy. */
static int check_members(const struct rst_image *img, const CgroupEntry *e)
{
	struct cg_tid *live = NULL;
	size_t i, n = 0;
	int ret;

	ret = live_threads(img, &live, &n);
	for (i = 0; !ret && i < e->n_members; i++) {
		const CgroupMemberEntry *m = e->members[i];
		const struct rst_proc *p = tid_find(live, n, m->tid);

		if (!p) {
			pr_err("image: CGROUP: member %zu (tid %u) is no thread of a live process\n",
			       i, m->tid);
			ret = -EBADMSG;
		} else if (p == rst_root(img) && (pid_t)m->tid == p->threads[0].vtid) {
			pr_err("image: CGROUP: the root (pid %u) is not in the root's group\n",
			       m->tid);
			ret = -EBADMSG;
		} else {
			ret = check_member_dirs(e, m, i);
		}
	}
	free(live);
	return ret;
}

/*
 * v2: the threads of a process share one domain (the kernel moves them
 * only within it); a process is never put in a threaded group of its own.
 */
static int check_domains(const struct rst_image *img, const CgroupEntry *e,
			 const struct cg_tid *idx)
{
	size_t k, t;
	uint32_t h;

	for (h = 0; h < e->n_hierarchies; h++) {
		for (k = 0; is_v2(e, h) && k < img->nr_procs; k++) {
			const struct rst_proc *p = img->procs[k];
			uint32_t dom;

			if (!p->nr_threads || p->task->state == TASK_STATE_DEAD)
				continue;
			dom = dir_domain(e, thread_dir(e, idx, p->threads[0].vtid, h));
			for (t = 1; t < p->nr_threads; t++) {
				if (dir_domain(e, thread_dir(e, idx, p->threads[t].vtid, h)) == dom)
					continue;
				pr_err("image: CGROUP: tid %d of pid %d is in another cgroup v2 "
				       "domain than its leader\n",
				       p->threads[t].vtid, p->task->pid);
				return -EBADMSG;
			}
		}
	}
	return 0;
}

/* Image check row (check.c): the CGROUP record by itself and against the tree. */
int cgroup_check_image(const struct rst_image *img)
{
	struct cg_tid *idx = NULL;
	const CgroupEntry *e;
	int ret;

	if (!img->recs.n_cgroup)
		return 0;
	if (img->recs.n_cgroup > 1) {
		pr_err("image: %zu CGROUP records, at most one\n", img->recs.n_cgroup);
		return -EBADMSG;
	}
	e = img->recs.cgroup[0];
	ret = check_dirs(e) ?: members_index(e, &idx);
	ret = ret ?: check_members(img, e) ?: check_domains(img, e, idx);
	free(idx);
	return ret;
}

/* openat2 of path beneath dirfd: no symlink, no other mount, no escape. */
static int open_beneath(int dirfd, const char *path, int flags)
{
	struct open_how how = {
		.flags = (uint64_t)flags | O_CLOEXEC | O_NOFOLLOW,
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS |
			   RESOLVE_NO_XDEV,
	};
	long fd = syscall(SYS_openat2, dirfd, path, &how, sizeof(how));

	return fd < 0 ? -errno : (int)fd;
}

/* Opens the group pid is in, in hierarchy h, as the base.  0 or -errno (logged). */
static int open_base(struct rst_cgroup *cg, uint32_t h, pid_t pid)
{
	struct proc_cgroup_line *lines = calloc(CG_MAX_HIER, sizeof(*lines));
	char *text = NULL, mnt[4096], root[4096], dir[4096];
	const char *name = hier_name(cg->e, h);
	struct statfs sfs;
	int n, i, ret;

	n = lines ? proc_read_file(pid, "cgroup", &text, NULL) : -ENOMEM;
	n = n < 0 ? n : proc_parse_cgroup(text, lines, CG_MAX_HIER);
	free(text);
	for (i = 0; i < n; i++)
		if (!strcmp(lines[i].controllers, cg->e->hierarchies[h]->controllers))
			break;
	ret = n < 0 ? n : i == n ? -ENOENT : 0;
	if (ret) {
		pr_err("pid %d: not in a cgroup hierarchy %s here: %s\n", pid ? pid : getpid(),
		       name, strerror(-ret));
		goto out;
	}
	ret = proc_cgroup_mount(lines[i].controllers, mnt, sizeof(mnt), root, sizeof(root));
	ret = ret ?: proc_cgroup_dir(mnt, root, lines[i].path, dir, sizeof(dir));
	if (ret) {
		pr_err("cgroup hierarchy %s (group %s) is not mounted here: %s\n", name,
		       lines[i].path, strerror(-ret));
		goto out;
	}
	cg->base_fd[h] = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (cg->base_fd[h] < 0 || fstatfs(cg->base_fd[h], &sfs) ||
	    sfs.f_type != (is_v2(cg->e, h) ? CGROUP2_SUPER_MAGIC : CGROUP_SUPER_MAGIC)) {
		ret = cg->base_fd[h] < 0 ? -errno : -ENOTDIR;
		pr_err("cgroup %s: cannot open it as a group of %s: %s\n", dir, name,
		       strerror(-ret));
		goto out;
	}
	snprintf(cg->base[h], sizeof(cg->base[h]), "%s", dir);
out:
	free(lines);
	return ret;
}

/* cgroup.type of the group open on fd is "threaded": 1, 0, or -errno. */
static int read_threaded(int fd)
{
	char buf[32] = "";
	int tfd = open_beneath(fd, "cgroup.type", O_RDONLY);
	ssize_t n;

	if (tfd < 0)
		return tfd;
	n = read(tfd, buf, sizeof(buf) - 1);
	close(tfd);
	if (n < 0)
		return -errno;
	return !strcmp(buf, "threaded\n");
}

/* Writes val to file of the group open on fd.  0 or -errno. */
static int write_file(int fd, const char *file, const char *val)
{
	int wfd = open_beneath(fd, file, O_WRONLY);
	ssize_t n;

	if (wfd < 0)
		return wfd;
	n = write(wfd, val, strlen(val));
	close(wfd);
	return n < 0 ? -errno : 0;
}

static int apply_settings(struct rst_cgroup *cg, size_t i, bool write);

/* Makes dir i (its parent open), threaded if recorded.  0 or -errno (logged). */
static int make_dir(struct rst_cgroup *cg, size_t i, int pfd)
{
	const CgroupDirEntry *d = cg->e->dirs[i];
	const char *last = strrchr(d->path, '/');
	int ret;

	last = last ? last + 1 : d->path;
	if (mkdirat(pfd, last, 0755)) {
		ret = -errno;
		pr_err("cgroup %s/%s: cannot create it: %s\n", cg->base[d->hierarchy], d->path,
		       strerror(-ret));
		return ret;
	}
	cg->created[i] = true;
	ret = rst_janitor_cgroup(cg->img, pfd, last); /* removed if we are killed */
	if (ret)
		return ret;
	cg->dir_fd[i] = open_beneath(pfd, last, O_PATH | O_DIRECTORY);
	ret = cg->dir_fd[i] < 0 ? cg->dir_fd[i] : 0;
	if (!ret && d->threaded)
		ret = write_file(cg->dir_fd[i], "cgroup.type", "threaded");
	if (ret)
		pr_err("cgroup %s/%s: cannot %s it: %s\n", cg->base[d->hierarchy], d->path,
		       cg->dir_fd[i] < 0 ? "open" : "make threaded", strerror(-ret));
	return ret ?: apply_settings(cg, i, true);
}

/* Opens (or, with create, makes) dir i below its base.  0 or -errno (logged). */
static int open_dir(struct rst_cgroup *cg, size_t i, bool create)
{
	const CgroupDirEntry *d = cg->e->dirs[i];
	const char *where = cg->base[d->hierarchy];
	uint32_t p = dir_parent(cg->e, i + 1);
	int pfd = p ? cg->dir_fd[p - 1] : cg->base_fd[d->hierarchy], ret;

	cg->dir_fd[i] = open_beneath(cg->base_fd[d->hierarchy], d->path, O_PATH | O_DIRECTORY);
	if (cg->dir_fd[i] == -ENOENT && create && pfd >= 0)
		return make_dir(cg, i, pfd);
	if (cg->dir_fd[i] == -ENOENT) {
		pr_err("cgroup %s/%s does not exist (vxrestore --manage-cgroups creates it)\n",
		       where, d->path);
		return -ENOENT;
	}
	if (cg->dir_fd[i] < 0) {
		pr_err("cgroup %s/%s: cannot open it beneath %s: %s\n", where, d->path, where,
		       strerror(-cg->dir_fd[i]));
		return cg->dir_fd[i];
	}
	ret = is_v2(cg->e, d->hierarchy) ? read_threaded(cg->dir_fd[i]) : 0;
	if (ret >= 0 && ret != d->threaded) {
		pr_err("cgroup %s/%s is %sthreaded here, the image's is %sthreaded\n", where,
		       d->path, ret ? "" : "not ", d->threaded ? "" : "not ");
		return -EEXIST;
	}
	if (ret < 0)
		pr_err("cgroup %s/%s: cannot read its type: %s\n", where, d->path, strerror(-ret));
	return ret < 0 ? ret : apply_settings(cg, i, false);
}

/* Closes cg's groups; unless keep, removes those it created (children first). */
static void cg_free(struct rst_cgroup *cg, bool keep)
{
	size_t i;

	if (!cg)
		return;
	for (i = cg->e->n_dirs; i-- > 0 && cg->dir_fd;) {
		const char *p = cg->e->dirs[i]->path, *last = strrchr(p, '/');
		uint32_t up = dir_parent(cg->e, i + 1);
		int pfd = up ? cg->dir_fd[up - 1] : cg->base_fd[cg->e->dirs[i]->hierarchy];

		if (!keep && cg->created[i] && pfd >= 0 &&
		    unlinkat(pfd, last ? last + 1 : p, AT_REMOVEDIR))
			pr_warn("cgroup %s/%s: cannot remove it: %s\n",
				cg->base[cg->e->dirs[i]->hierarchy], p, strerror(errno));
		if (cg->dir_fd[i] >= 0)
			close(cg->dir_fd[i]);
	}
	for (i = 0; i < cg->e->n_hierarchies; i++)
		if (cg->base_fd[i] >= 0)
			close(cg->base_fd[i]);
	free(cg->dir_fd);
	free(cg->created);
	free(cg->members);
	free(cg);
}

/*
 * The groups of the image below the groups pid is in (0: ourselves),
 * created where missing if create.  NULL in *out if the image has none.
 * 0 or -errno (logged; what was created is removed again).
 */
static int cg_open(const struct rst_image *img, pid_t pid, bool create, struct rst_cgroup **out)
{
	struct rst_cgroup *cg;
	size_t i;
	int ret = 0;

	*out = NULL;
	if (!img->recs.n_cgroup)
		return 0;
	cg = calloc(1, sizeof(*cg));
	if (!cg)
		return -ENOMEM;
	cg->img = img;
	cg->e = img->recs.cgroup[0];
	cg->dir_fd = malloc((cg->e->n_dirs + 1) * sizeof(*cg->dir_fd));
	cg->created = calloc(cg->e->n_dirs + 1, sizeof(*cg->created));
	for (i = 0; i < CG_MAX_HIER; i++)
		cg->base_fd[i] = -1;
	for (i = 0; cg->dir_fd && i < cg->e->n_dirs; i++)
		cg->dir_fd[i] = -1;
	if (!cg->dir_fd || !cg->created)
		ret = -ENOMEM;
	if (!ret)
		ret = members_index(cg->e, &cg->members);
	for (i = 0; !ret && i < cg->e->n_hierarchies; i++)
		ret = open_base(cg, i, pid);
	for (i = 0; !ret && i < cg->e->n_dirs; i++)
		ret = open_dir(cg, i, create);
	if (ret) {
		cg_free(cg, false);
		return ret;
	}
	*out = cg;
	return 0;
}

/*
 * Host check row (check.c): every group exists below ours, with the
 * recorded type, unless --manage-cgroups will create it.  A context's
 * groups are below the context's group, which does not exist yet: they
 * are checked when the root is cloned (rst_cgroup_setup()).
 */
int cgroup_check_host(const struct rst_image *img)
{
	struct rst_cgroup *cg;
	int ret;

	if (!img->recs.n_cgroup || img->ctxe || img->opts->manage_cgroups)
		return 0;
	ret = cg_open(img, 0, false, &cg);
	cg_free(cg, true);
	return ret;
}

/* Once the root is cloned: the groups below its own, made if asked to. */
int rst_cgroup_setup(struct rst_image *img)
{
	return cg_open(img, rst_root(img)->pid, img->opts->manage_cgroups, &img->cgroup);
}

/* Writes id into file of dir d (0: the base) of hierarchy h.  0 or -errno (logged). */
static int join(const struct rst_cgroup *cg, uint32_t h, uint32_t d, const char *file, pid_t id)
{
	char buf[16];
	int ret;

	snprintf(buf, sizeof(buf), "%d", id);
	ret = write_file(d ? cg->dir_fd[d - 1] : cg->base_fd[h], file, buf);
	if (ret)
		pr_err("cannot move %s %d into cgroup %s%s%s (%s): %s\n",
		       strcmp(file, "cgroup.procs") ? "thread" : "process", id, cg->base[h],
		       d ? "/" : "", d ? cg->e->dirs[d - 1]->path : "", file, strerror(-ret));
	return ret;
}

/* The group process c goes into in hierarchy h (v2: its leader's domain). */
static uint32_t proc_dir(const struct rst_cgroup *cg, const struct rst_proc *c, uint32_t h)
{
	uint32_t d = thread_dir(cg->e, cg->members, c->threads[0].vtid, h);

	return is_v2(cg->e, h) ? dir_domain(cg->e, d) : d;
}

/*
 * Process c (not the root, just forked, one thread) into its groups,
 * before its memory is filled (so it is charged there).  0 or -errno.
 */
int rst_cgroup_enter(struct rst_proc *c)
{
	const struct rst_cgroup *cg = c->img->cgroup;
	uint32_t h;
	int ret = 0;

	for (h = 0; cg && !ret && h < cg->e->n_hierarchies; h++)
		ret = join(cg, h, proc_dir(cg, c, h), "cgroup.procs", c->pid);
	return ret;
}

/* Each thread of c (all created) that is not in its process's group.  0 or -errno. */
int rst_cgroup_threads(struct rst_proc *c)
{
	const struct rst_cgroup *cg = c->img->cgroup;
	uint32_t h, d;
	size_t i;
	int ret = 0;

	for (h = 0; cg && !ret && h < cg->e->n_hierarchies; h++) {
		for (i = 0; !ret && i < c->nr_threads; i++) {
			d = thread_dir(cg->e, cg->members, c->threads[i].vtid, h);
			if (d != proc_dir(cg, c, h))
				ret = join(cg, h, d, is_v2(cg->e, h) ? "cgroup.threads" : "tasks",
					   c->threads[i].tid);
		}
	}
	return ret;
}

/* The end of a restore: the groups stay (keep) or those we made go. */
void rst_cgroup_done(struct rst_image *img, bool keep)
{
	cg_free(img->cgroup, keep);
	img->cgroup = NULL;
}

/*
 * Record LIMITS, its settings: each names a group of the CGROUP record and
 * a file known for that group's hierarchy (lib/proc/cglimit.c), at most
 * once, with a value of that file's form.  0 or -EBADMSG (logged).
 */
int cgroup_check_settings(const struct rst_image *img)
{
	const LimitsEntry *l = img->recs.n_limits ? img->recs.limits[0] : NULL;
	const CgroupEntry *e = img->recs.n_cgroup ? img->recs.cgroup[0] : NULL;
	char bad[32];
	size_t i, j;

	if (!l || !l->n_settings)
		return 0;
	if (!e || l->n_settings > e->n_dirs * 32) {
		pr_err("image: LIMITS: %zu settings for %zu groups\n", l->n_settings,
		       e ? e->n_dirs : 0);
		return -EBADMSG;
	}
	for (i = 0; i < l->n_settings; i++) {
		const CgSettingEntry *s = l->settings[i];
		const CgroupDirEntry *d = s->dir && s->dir <= e->n_dirs ? e->dirs[s->dir - 1] :
									  NULL;
		const struct cglimit_file *f = NULL;

		if (d)
			f = cglimit_lookup(s->file, is_v2(e, d->hierarchy));
		if (!f || !cglimit_in_hierarchy(f, e->hierarchies[d->hierarchy]->controllers) ||
		    cglimit_check(f, s->value)) {
			pr_err("image: LIMITS: setting %zu is not a known file of its group or its "
			       "value is not valid\n",
			       i);
			return -EBADMSG;
		}
		if (cglimit_multiline(f) && cgio_devices(f, s->value, bad, sizeof(bad))) {
			pr_err("image: LIMITS: %s of group %u names device %s, which is not a block "
			       "device here\n",
			       s->file, s->dir, bad);
			return -EBADMSG;
		}
		for (j = 0; j < i; j++) {
			if (l->settings[j]->dir == s->dir &&
			    !strcmp(l->settings[j]->file, s->file)) {
				pr_err("image: LIMITS: %s of group %u is given twice\n", s->file,
				       s->dir);
				return -EBADMSG;
			}
		}
	}
	return 0;
}

/* file of the group open on fd, without its newline, into buf.  0 or -errno. */
static int read_value(int fd, const char *file, char *buf, size_t len)
{
	int rfd = open_beneath(fd, file, O_RDONLY);
	ssize_t n;

	if (rfd < 0)
		return rfd;
	n = read(rfd, buf, len - 1);
	close(rfd);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	if (n && buf[n - 1] == '\n')
		buf[n - 1] = '\0';
	return 0;
}

/*
 * Sets io file f (one line per device) of dir i to value: each line of its
 * normal form written alone, the whole read back and compared normalised.
 * 0 or -errno (logged: the file and line named).
 */
static int set_lines(struct rst_cgroup *cg, size_t i, const struct cglimit_file *f,
		     const char *value)
{
	const CgroupDirEntry *d = cg->e->dirs[i];
	char *want = malloc(3 * CGIO_TEXT_MAX), *now, *norm, *line, *save = NULL;
	int ret;

	if (!want)
		return -ENOMEM;
	now = want + CGIO_TEXT_MAX;
	norm = now + CGIO_TEXT_MAX;
	ret = cgio_normalise(f, value, want, CGIO_TEXT_MAX);
	ret = ret ?: read_value(cg->dir_fd[i], f->name, now, CGIO_TEXT_MAX);
	ret = ret ?: cgio_normalise(f, now, norm, CGIO_TEXT_MAX);
	if (ret || !strcmp(want, norm))
		goto out; /* already so: nothing to write */
	memcpy(now, want, CGIO_TEXT_MAX);
	for (line = strtok_r(now, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		ret = write_file(cg->dir_fd[i], f->name, line);
		if (ret) {
			pr_err("cgroup %s/%s: cannot set %s to \"%s\": %s\n",
			       cg->base[d->hierarchy], d->path, f->name, line, strerror(-ret));
			free(want);
			return ret;
		}
	}
	ret = read_value(cg->dir_fd[i], f->name, now, CGIO_TEXT_MAX);
	ret = ret ?: cgio_normalise(f, now, norm, CGIO_TEXT_MAX);
	if (!ret && strcmp(want, norm)) {
		pr_err("cgroup %s/%s: %s reads back otherwise than the image has\n",
		       cg->base[d->hierarchy], d->path, f->name);
		ret = -ERANGE;
	}
out:
	if (ret == -ENOENT || ret == -EINVAL)
		pr_err("cgroup %s/%s: cannot set %s: %s\n", cg->base[d->hierarchy], d->path,
		       f->name, ret == -ENOENT ? "no such file" : "it reads as no valid value");
	free(want);
	return ret;
}

/* Does io file f of dir i (readable) hold other than value, normalised? */
static bool differs(struct rst_cgroup *cg, size_t i, const struct cglimit_file *f,
		    const char *value)
{
	char *a = malloc(3 * CGIO_TEXT_MAX), *b, *now;
	bool ret;

	if (!a)
		return false;
	b = a + CGIO_TEXT_MAX;
	now = b + CGIO_TEXT_MAX;
	ret = !read_value(cg->dir_fd[i], f->name, now, CGIO_TEXT_MAX) &&
	      !cgio_normalise(f, value, a, CGIO_TEXT_MAX) &&
	      (cgio_normalise(f, now, b, CGIO_TEXT_MAX) || strcmp(a, b));
	free(a);
	return ret;
}

/* Sets file f of dir i to value, read back.  0 or -errno (logged: the file named). */
static int set_value(struct rst_cgroup *cg, size_t i, const struct cglimit_file *f,
		     const char *value)
{
	const CgroupDirEntry *d = cg->e->dirs[i];
	char now[300], text[300];
	int ret;

	ret = read_value(cg->dir_fd[i], f->name, now, sizeof(now));
	if (!ret && !strcmp(now, value))
		return 0; /* already so: nothing to write */
	if (!ret)
		ret = cglimit_write_text(f, value, text, sizeof(text));
	if (!ret)
		ret = write_file(cg->dir_fd[i], f->name, text);
	if (!ret)
		ret = read_value(cg->dir_fd[i], f->name, now, sizeof(now));
	if (!ret && strcmp(now, value))
		ret = -ERANGE;
	if (ret == -ENOENT)
		pr_err("cgroup %s/%s: cannot set %s: no such file (controller %s not there)\n",
		       cg->base[d->hierarchy], d->path, f->name,
		       f->controller[0] ? f->controller : "core");
	else if (ret == -ERANGE)
		pr_err("cgroup %s/%s: %s=%s reads back as %s\n", cg->base[d->hierarchy], d->path,
		       f->name, value, now);
	else if (ret)
		pr_err("cgroup %s/%s: cannot set %s=%s: %s\n", cg->base[d->hierarchy], d->path,
		       f->name, value, strerror(-ret));
	return ret;
}

/*
 * The settings of dir i, in the table's order.  write: a group we just
 * made, set each (before any task is in it).  Else a group that was
 * there: never written (not ours), a value that differs is a warning.
 * 0 or -errno (logged).
 */
static int apply_settings(struct rst_cgroup *cg, size_t i, bool write)
{
	const LimitsEntry *l = cg->img->recs.n_limits ? cg->img->recs.limits[0] : NULL;
	const struct cglimit_file *t;
	size_t n, k, s, written = 0;
	struct timespec t0, t1;
	char now[300];
	int ret = 0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	t = cglimit_table(&n);
	for (k = 0; l && !ret && k < n; k++) {
		for (s = 0; s < l->n_settings; s++)
			if (l->settings[s]->dir == i + 1 &&
			    !strcmp(l->settings[s]->file, t[k].name) &&
			    t[k].v2 == is_v2(cg->e, cg->e->dirs[i]->hierarchy))
				break;
		if (s == l->n_settings)
			continue;
		if (write && cglimit_multiline(&t[k])) {
			ret = set_lines(cg, i, &t[k], l->settings[s]->value);
			written++;
		} else if (write) {
			ret = set_value(cg, i, &t[k], l->settings[s]->value);
			written++;
		} else if (cglimit_multiline(&t[k])) {
			if (!differs(cg, i, &t[k], l->settings[s]->value))
				continue;
			pr_warn("cgroup %s/%s: %s differs here from the image (not written: the "
				"group was there before)\n",
				cg->base[cg->e->dirs[i]->hierarchy], cg->e->dirs[i]->path,
				t[k].name);
		} else if (!read_value(cg->dir_fd[i], t[k].name, now, sizeof(now)) &&
			   strcmp(now, l->settings[s]->value)) {
			pr_warn("cgroup %s/%s: %s is %s here, %s in the image (not written: the "
				"group was there before)\n",
				cg->base[cg->e->dirs[i]->hierarchy], cg->e->dirs[i]->path,
				t[k].name, now, l->settings[s]->value);
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (written)
		pr_debug("cgroup %s/%s: %zu settings in %.1f us\n",
			 cg->base[cg->e->dirs[i]->hierarchy], cg->e->dirs[i]->path, written,
			 ((t1.tv_sec - t0.tv_sec) * 1e9 + (t1.tv_nsec - t0.tv_nsec)) / 1e3);
	return ret;
}
