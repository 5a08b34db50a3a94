/*
 * The process tree: finds and freezes every thread of every process under
 * the root (PTRACE_SEIZE + INTERRUPT, pass after pass until a pass finds
 * nothing new), puts the processes in preorder (docs/image-format.md,
 * "Record order"), refuses what the image cannot express
 * (a zombie leader with live threads; sharing is share.c's), and releases
 * or kills the whole tree at the end.  Sessions and groups are recorded as they are, leaderless
 * ones included: restore rebuilds those with helpers or refuses them.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <linux/kcmp.h>

#define LOG_PREFIX "dump/tree: "
#include "log.h"
#include "dump/dump.h"

#define MAX_PASSES 1000
#define FDS_SPARE 256 /* fds of the dump besides one pidfd a process */

static struct dump_task *task_alloc(pid_t pid)
{
	struct dump_task *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->pid = pid;
	t->pidfd = -1;
	return t;
}

static void task_free(struct dump_task *t)
{
	size_t i;

	for (i = 0; i < t->n_threads; i++)
		free_thread(&t->threads[i]);
	free(t->threads);
	free(t->children);
	free(t->timers);
	free(t->shared_pending.v);
	proc_status_free(&t->status);
	free_mm(t->mm);
	free_fdtable(t->fdt);
	if (t->pidfd >= 0)
		close(t->pidfd);
	free(t);
}

static struct dump_thread *thread_add(struct dump_task *t, pid_t tid)
{
	struct dump_thread *nv;

	if (t->n_threads == t->cap_threads) {
		size_t ncap = t->cap_threads ? t->cap_threads * 2 : 4;

		nv = realloc(t->threads, ncap * sizeof(*nv));
		if (!nv)
			return NULL;
		t->threads = nv;
		t->cap_threads = ncap;
	}
	nv = &t->threads[t->n_threads++];
	memset(nv, 0, sizeof(*nv));
	nv->tid = tid;
	return nv;
}

static struct dump_thread *thread_find(struct dump_task *t, pid_t tid)
{
	size_t i;

	for (i = 0; i < t->n_threads; i++)
		if (t->threads[i].tid == tid)
			return &t->threads[i];
	return NULL;
}

/* Drops threads that exited while being seized (never the leader slot). */
static void threads_compact(struct dump_task *t)
{
	size_t i, j = 1;

	for (i = 1; i < t->n_threads; i++) {
		if (t->threads[i].gone)
			free_thread(&t->threads[i]);
		else
			t->threads[j++] = t->threads[i];
	}
	if (t->n_threads)
		t->n_threads = j;
}

/* Adds process pid to the tree under parent (NULL: the root). */
static struct dump_task *task_add(struct dump_op *op, pid_t pid, struct dump_task *parent)
{
	struct dump_task *t, **nv;

	if (op->n_tasks == op->cap_tasks) {
		size_t ncap = op->cap_tasks ? op->cap_tasks * 2 : 16;

		nv = realloc(op->tasks, ncap * sizeof(*nv));
		if (!nv)
			return NULL;
		op->tasks = nv;
		op->cap_tasks = ncap;
	}
	t = task_alloc(pid);
	if (!t || !thread_add(t, pid))
		goto out_free;
	if (parent) {
		nv = realloc(parent->children, (parent->n_children + 1) * sizeof(*nv));
		if (!nv)
			goto out_free;
		parent->children = nv;
		nv[parent->n_children++] = t;
	}
	t->parent = parent;
	op->tasks[op->n_tasks++] = t;
	return t;

out_free:
	if (t)
		task_free(t);
	return NULL;
}

bool dump_tree_has_pid(const struct dump_op *op, pid_t pid)
{
	size_t i;

	for (i = 0; i < op->n_tasks; i++)
		if (op->tasks[i]->pid == pid)
			return true;
	return false;
}

int dump_tree_parse_pids(const char *text, pid_t **out, size_t *n)
{
	size_t cap = 0;
	pid_t *v = NULL, *nv;
	char *end;
	long p;

	*n = 0;
	for (;;) {
		p = strtol(text, &end, 10);
		if (end == text)
			break;
		text = end;
		if (*n == cap) {
			cap = cap ? cap * 2 : 16;
			nv = realloc(v, cap * sizeof(*nv));
			if (!nv) {
				free(v);
				return -ENOMEM;
			}
			v = nv;
		}
		v[(*n)++] = p;
	}
	*out = v;
	return 0;
}

int dump_list_tids(pid_t pid, pid_t **out, size_t *n)
{
	char path[64], *text = NULL, *nt;
	size_t len = 0;
	struct dirent *de;
	DIR *d;
	int ret;

	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	d = opendir(path);
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		nt = realloc(text, len + strlen(de->d_name) + 2);
		if (!nt) {
			closedir(d);
			free(text);
			return -ENOMEM;
		}
		text = nt;
		len += sprintf(text + len, "%s ", de->d_name);
	}
	closedir(d);
	ret = dump_tree_parse_pids(text ? text : "", out, n);
	free(text);
	return ret;
}

/* Children of thread tid of pid (CONFIG_PROC_CHILDREN). */
static int list_children(pid_t pid, pid_t tid, pid_t **out, size_t *n)
{
	char name[64], *text;
	int ret;

	snprintf(name, sizeof(name), "task/%d/children", tid);
	ret = proc_read_file(pid, name, &text, NULL);
	if (ret)
		return ret;
	ret = dump_tree_parse_pids(text, out, n);
	free(text);
	return ret;
}

/*
 * t's leader is a zombie: a zombie process is recorded as such; a leader
 * that exited while other threads run is refused.  0 or -errno (logged).
 */
static int leader_exited(struct dump_task *t)
{
	pid_t *tids = NULL;
	size_t n = 0, live = 0, i;

	if (dump_list_tids(t->pid, &tids, &n) == 0)
		for (i = 0; i < n; i++)
			live += tids[i] != t->pid;
	free(tids);
	for (i = 1; i < t->n_threads; i++)
		live += t->threads[i].seized;
	if (live) {
		pr_err("pid %d (%s): the thread group leader exited while other threads run: not supported\n",
		       t->pid, t->stat.comm);
		return -EOPNOTSUPP;
	}
	t->zombie = true;
	t->state = TASK_STATE_DEAD;
	return 0;
}

/* Reads the stat of a process just found; zombies are recorded. */
static int classify_task(struct dump_task *t)
{
	if (proc_read_stat(t->pid, &t->stat)) {
		t->gone = true;
		return 0;
	}
	if (t->stat.state == 'Z' || t->stat.state == 'X')
		return leader_exited(t);
	return 0;
}

/* Seizes the threads of t not seen before.  *changed if there were any. */
static int seize_new_threads(struct dump_task *t, bool *changed)
{
	struct dump_thread *th;
	pid_t *tids = NULL;
	size_t n = 0, i;
	int ret;

	ret = dump_list_tids(t->pid, &tids, &n);
	if (ret == -ENOENT || ret == -ESRCH) {
		t->gone = true;
		return 0;
	}
	for (i = 0; !ret && i < n; i++) {
		th = thread_find(t, tids[i]);
		if (th && (th->seized || th->gone))
			continue;
		th = th ?: thread_add(t, tids[i]);
		if (!th) {
			ret = -ENOMEM;
			break;
		}
		*changed = true;
		ret = seize_thread(t, th);
		ret = ret > 0 ? 0 : ret;
	}
	free(tids);
	if (ret)
		return ret;
	threads_compact(t);
	if (!t->threads[0].gone)
		return 0;
	if (proc_read_stat(t->pid, &t->stat)) {
		t->gone = true;
		return 0;
	}
	return leader_exited(t);
}

/* Adds the children of every thread of t not in the tree yet. */
static int find_children(struct dump_op *op, struct dump_task *t, bool *changed)
{
	struct dump_task *c;
	pid_t *pids = NULL;
	size_t n = 0, i, j;
	int ret = 0;

	if (op->opts->root_only)
		return 0; /* the root alone (vmad_dump) */
	for (j = 0; !ret && j < t->n_threads; j++) {
		if (!t->threads[j].seized)
			continue;
		if (list_children(t->pid, t->threads[j].tid, &pids, &n))
			continue; /* thread gone meanwhile */
		for (i = 0; !ret && i < n; i++) {
			if (dump_tree_has_pid(op, pids[i]))
				continue;
			*changed = true;
			c = task_add(op, pids[i], t);
			ret = c ? classify_task(c) : -ENOMEM;
		}
		free(pids);
	}
	return ret;
}

/* One pass over every process known so far (the list grows meanwhile). */
static int seize_pass(struct dump_op *op, bool *changed)
{
	struct dump_task *t;
	size_t i;
	int ret;

	for (i = 0; i < op->n_tasks; i++) {
		t = op->tasks[i];
		if (t->zombie || t->gone)
			continue;
		ret = seize_new_threads(t, changed);
		if (!ret && t->gone && t == op->tasks[0]) {
			pr_err("pid %d exited while being frozen\n", t->pid);
			ret = -ESRCH;
		}
		ret = ret ?: find_children(op, t, changed);
		if (ret)
			return ret;
	}
	return 0;
}

static int cmp_task_pid(const void *a, const void *b)
{
	const struct dump_task *x = *(struct dump_task *const *)a;
	const struct dump_task *y = *(struct dump_task *const *)b;

	return (x->pid > y->pid) - (x->pid < y->pid);
}

static int cmp_thread_tid(const void *a, const void *b)
{
	const struct dump_thread *x = a, *y = b;

	return (x->tid > y->tid) - (x->tid < y->tid);
}

/* Appends t and its subtree to out in preorder, skipping gone processes. */
static int preorder(struct dump_task *t, struct dump_task **out, size_t *n)
{
	size_t i, j = 0;
	int ret;

	if (t->gone) {
		if (t->n_children) {
			pr_err("pid %d exited while its children were being frozen\n", t->pid);
			return -ESRCH;
		}
		return 0;
	}
	t->index = *n + 1;
	out[(*n)++] = t;
	if (t->n_threads > 2)
		qsort(t->threads + 1, t->n_threads - 1, sizeof(*t->threads), cmp_thread_tid);
	if (t->n_children > 1)
		qsort(t->children, t->n_children, sizeof(*t->children), cmp_task_pid);
	for (i = 0; i < t->n_children; i++) {
		ret = preorder(t->children[i], out, n);
		if (ret)
			return ret;
	}
	for (i = 0; i < t->n_children; i++)
		if (!t->children[i]->gone)
			t->children[j++] = t->children[i];
	t->n_children = j;
	return 0;
}

/* Rebuilds op->tasks in preorder with 1-based indexes; frees gone ones. */
static int order_tree(struct dump_op *op)
{
	struct dump_task **v;
	size_t n = 0, old = op->n_tasks, i;
	int ret;

	v = calloc(old, sizeof(*v));
	if (!v)
		return -ENOMEM;
	ret = preorder(op->tasks[0], v, &n);
	if (ret) {
		free(v);
		return ret;
	}
	for (i = 0; i < old; i++)
		if (op->tasks[i]->gone)
			task_free(op->tasks[i]);
	free(op->tasks);
	op->tasks = v;
	op->n_tasks = n;
	op->cap_tasks = old;
	op->root = v[0];
	return 0;
}

/*
 * Each live process's pidfd stays open until the dump ends, besides the
 * dump's own fds (FDS_SPARE at most): lifts this process's soft
 * RLIMIT_NOFILE to its hard limit when the tree needs more than the soft
 * one allows (a usual soft limit is 1024: a tree of 1000 processes ran out
 * of fds half-way).  0, or -EMFILE when even the hard limit is too low.
 */
static int want_fds(const struct dump_op *op)
{
	rlim_t need = (rlim_t)op->n_tasks + FDS_SPARE;
	struct rlimit r;

	if (getrlimit(RLIMIT_NOFILE, &r))
		return -errno;
	if (r.rlim_cur == RLIM_INFINITY || r.rlim_cur >= need)
		return 0;
	if (r.rlim_max != RLIM_INFINITY && r.rlim_max < need) {
		pr_err("pid %d: a tree of %zu processes needs %llu open files, RLIMIT_NOFILE "
		       "allows %llu\n",
		       op->root->pid, op->n_tasks, (unsigned long long)need,
		       (unsigned long long)r.rlim_max);
		return -EMFILE;
	}
	r.rlim_cur = r.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &r)) {
		pr_perror("pid %d: cannot raise RLIMIT_NOFILE to %llu", op->root->pid,
			  (unsigned long long)r.rlim_max);
		return -errno;
	}
	return 0;
}

/* pidfd, state and identity of every live process. */
static int read_states(struct dump_op *op)
{
	size_t i;
	int ret;

	ret = want_fds(op);
	if (ret)
		return ret;
	for (i = 0; i < op->n_tasks; i++) {
		struct dump_task *t = op->tasks[i];

		op->st->threads += t->zombie ? 0 : t->n_threads;
		if (t->zombie)
			continue;
		t->pidfd = syscall(SYS_pidfd_open, t->pid, 0);
		if (t->pidfd < 0) {
			pr_perror("pid %d: pidfd_open", t->pid);
			return -errno;
		}
		ret = seize_read_state(t);
		if (ret)
			return ret;
	}
	op->st->tasks = op->n_tasks;
	return 0;
}

/*
 * Finds and freezes the tree rooted at root: op->tasks in preorder, every
 * live thread seized and stopped, zombies recorded.  Returns 0 or -errno
 * (logged); on failure the caller releases with dump_tree_release().
 */
int dump_tree_seize(struct dump_op *op, pid_t root)
{
	bool changed = true;
	int pass, ret;

	if (!task_add(op, root, NULL))
		return -ENOMEM;
	op->root = op->tasks[0];
	for (pass = 0; changed; pass++) {
		if (pass == MAX_PASSES) {
			pr_err("pid %d: the tree keeps changing after %d passes\n", root, pass);
			return -EAGAIN;
		}
		changed = false;
		ret = seize_pass(op, &changed);
		if (ret)
			return ret;
	}
	ret = order_tree(op);
	return ret ?: read_states(op);
}

/* kcmp of two tasks: 0 same object, 1 different, -errno (logged). */
static int same_object(pid_t a, pid_t b, int type)
{
	long r = syscall(SYS_kcmp, a, b, type, 0, 0);

	if (r < 0) {
		pr_perror("kcmp(%d, %d, %d)", a, b, type);
		return -errno;
	}
	return r != 0;
}

/*
 * Called when thread tid of pid does not stop: a vfork parent waits for
 * its child uninterruptibly.  -EOPNOTSUPP (logged) if a child of tid
 * shares pid's address space, else 0.
 */
int dump_tree_check_vfork(pid_t pid, pid_t tid)
{
	pid_t *pids = NULL;
	size_t n = 0, i;
	int ret = 0;

	if (list_children(pid, tid, &pids, &n))
		return 0;
	for (i = 0; !ret && i < n; i++) {
		if (same_object(pid, pids[i], KCMP_VM) == 0) {
			pr_err("pid %d shares its address space with its child %d (vfork or CLONE_VM without CLONE_THREAD): not supported\n",
			       pid, pids[i]);
			ret = -EOPNOTSUPP;
		}
	}
	free(pids);
	return ret;
}

/*
 * Refusals that need the frozen tree (NOTES, issue 3), then who shares
 * what (share.c).  Session and group ids are not checked: whether a
 * leaderless one can be rebuilt is for restore to decide.  Returns 0 or
 * -errno (logged).
 */
int dump_tree_check(struct dump_op *op)
{
	size_t i;

	for (i = 0; i < op->n_tasks; i++) {
		struct dump_task *t = op->tasks[i];

		if (t->zombie)
			continue;
		if (t->parent && t->stat.ppid != t->parent->pid) {
			pr_err("pid %d changed parent while being frozen (%d, was %d)\n", t->pid,
			       t->stat.ppid, t->parent->pid);
			return -EAGAIN;
		}
	}
	return dump_tree_check_sharing(op);
}

/* Lets every seized thread of the tree go. */
void dump_tree_release(struct dump_op *op)
{
	size_t i;

	for (i = 0; i < op->n_tasks; i++)
		release_task(op->tasks[i]);
}

/* Kills the whole frozen tree, descendants first, and reaps our side. */
int dump_tree_kill(struct dump_op *op)
{
	size_t i;

	for (i = op->n_tasks; i-- > 0;)
		kill_task(op->tasks[i]);
	for (i = op->n_tasks; i-- > 0;)
		reap_task(op->tasks[i]);
	return 0;
}

void dump_tree_free(struct dump_op *op)
{
	size_t i;

	for (i = 0; i < op->n_tasks; i++)
		task_free(op->tasks[i]);
	free(op->tasks);
	op->tasks = NULL;
	op->n_tasks = 0;
	op->root = NULL;
}
