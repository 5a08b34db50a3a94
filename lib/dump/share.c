/*
 * Who shares an address space, an fd table or fs info (cwd, root, umask)
 * with whom, found with kcmp over the frozen tree.  Instead of comparing
 * every pair, the holders of each kind are sorted in kcmp's order (it
 * answers less/equal/greater for the kernel objects), so holders of one
 * object end up next to each other: O(n log n) kcmp calls.
 *
 * What the image expresses (NOTES, issue 3): threads share the mm; a
 * thread may have an fd table or fs info of its own (core_entry.files_id,
 * own_fs), shared with no other task; a process may share its fd table or
 * fs info with its parent (equal task_entry.files_id / fs_id: restore forks
 * it with CLONE_FILES / CLONE_FS).  Everything else is refused.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <linux/kcmp.h>

#define LOG_PREFIX "dump/share: "
#include "log.h"
#include "dump/dump.h"

/* A holder of a kernel object: a process (th == NULL) or one thread of it. */
struct holder {
	struct dump_task *t;
	struct dump_thread *th;
};

struct sort_arg {
	int type; /* KCMP_* */
	int err;  /* first kcmp failure, -errno */
};

static pid_t holder_pid(const struct holder *h)
{
	return h->th ? h->th->tid : h->t->pid;
}

/* kcmp of two tasks: 0 same object, 1 (a < b) or 2 (a > b), -errno (logged). */
static int kcmp_tasks(pid_t a, pid_t b, int type)
{
	long r = syscall(SYS_kcmp, a, b, type, 0, 0);

	if (r < 0) {
		pr_perror("kcmp(%d, %d, %d)", a, b, type);
		return -errno;
	}
	return r;
}

static int cmp_holders(const void *pa, const void *pb, void *parg)
{
	const struct holder *a = pa, *b = pb;
	struct sort_arg *arg = parg;
	int r;

	if (arg->err)
		return 0;
	r = kcmp_tasks(holder_pid(a), holder_pid(b), arg->type);
	if (r < 0) {
		arg->err = r;
		return 0;
	}
	return r == 0 ? 0 : r == 1 ? -1 : 1;
}

/* Sorts v in kcmp order of type.  0 or -errno (logged). */
static int sort_holders(struct holder *v, size_t n, int type)
{
	struct sort_arg arg = { type, 0 };

	qsort_r(v, n, sizeof(*v), cmp_holders, &arg);
	return arg.err;
}

/*
 * Marks the threads of t whose object of type (KCMP_FILES or KCMP_FS)
 * differs from the leader's.  0 or -errno (logged).
 */
static int mark_own(struct dump_task *t, int type)
{
	size_t i;
	int r;

	for (i = 1; i < t->n_threads; i++) {
		r = kcmp_tasks(t->pid, t->threads[i].tid, type);
		if (r < 0)
			return r;
		if (type == KCMP_FILES)
			t->threads[i].files_id = r != 0; /* numbered later */
		else
			t->threads[i].own_fs = r != 0;
	}
	return 0;
}

static bool thread_owns(const struct dump_thread *th, int type)
{
	return type == KCMP_FILES ? th->files_id != 0 : th->own_fs;
}

/*
 * Every live process, plus (for KCMP_FILES / KCMP_FS) every thread with an
 * object of its own.  *out is malloc'ed.
 */
static int list_holders(struct dump_op *op, int type, struct holder **out, size_t *n)
{
	struct holder *v;
	size_t cap = 0, i, j;

	for (i = 0; i < op->n_tasks; i++)
		cap += op->tasks[i]->zombie ? 0 : op->tasks[i]->n_threads;
	v = calloc(cap + 1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	*n = 0;
	for (i = 0; i < op->n_tasks; i++) {
		struct dump_task *t = op->tasks[i];

		if (t->zombie)
			continue;
		v[(*n)++] = (struct holder){ t, NULL };
		for (j = 1; type != KCMP_VM && j < t->n_threads; j++)
			if (thread_owns(&t->threads[j], type))
				v[(*n)++] = (struct holder){ t, &t->threads[j] };
	}
	*out = v;
	return 0;
}

static const char *kind_name(int type)
{
	switch (type) {
	case KCMP_VM:
		return "address space (vfork or CLONE_VM without CLONE_THREAD)";
	case KCMP_FILES:
		return "fd table (CLONE_FILES)";
	default:
		return "cwd/root/umask (CLONE_FS)";
	}
}

static uint32_t *task_id(struct dump_task *t, int type)
{
	return type == KCMP_FILES ? &t->files_id : &t->fs_id;
}

static bool in_group(const struct holder *g, size_t n, const struct dump_task *t)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!g[i].th && g[i].t == t)
			return true;
	return false;
}

static int cmp_index(const void *pa, const void *pb)
{
	const struct holder *a = pa, *b = pb;

	return (a->t->index > b->t->index) - (a->t->index < b->t->index);
}

/*
 * g[0..n) hold one object of type (n >= 2).  Accepted only for processes
 * each sharing with its parent, the topmost one owning it: they get its
 * id.  0 or -EOPNOTSUPP (logged).
 */
static int share_group(struct holder *g, size_t n, int type)
{
	size_t i;

	qsort(g, n, sizeof(*g), cmp_index);
	for (i = 0; i < n; i++) {
		if (g[i].th) {
			pr_err("pid %d: thread %d shares its own %s with %s %d: not supported\n",
			       g[i].t->pid, g[i].th->tid, kind_name(type),
			       g[!i].th ? "thread" : "pid", holder_pid(&g[!i]));
			return -EOPNOTSUPP;
		}
	}
	for (i = 1; i < n; i++) {
		if (type == KCMP_VM) {
			pr_err("pid %d shares its %s with pid %d: not supported\n", g[i].t->pid,
			       kind_name(type), g[0].t->pid);
			return -EOPNOTSUPP;
		}
		if (!g[i].t->parent || !in_group(g, n, g[i].t->parent)) {
			pr_err("pid %d shares its %s with pid %d, which is not its parent: not supported\n",
			       g[i].t->pid, kind_name(type), g[0].t->pid);
			return -EOPNOTSUPP;
		}
		/* index order: the parent has its id already */
		*task_id(g[i].t, type) = *task_id(g[i].t->parent, type);
	}
	return 0;
}

/* Sorts the holders of type and checks every run of equal ones. */
static int check_kind(struct dump_op *op, int type)
{
	struct holder *v = NULL;
	size_t n = 0, i, j;
	int ret;

	ret = list_holders(op, type, &v, &n);
	ret = ret ?: sort_holders(v, n, type);
	for (i = 0; !ret && i < n; i = j) {
		for (j = i + 1; j < n; j++) {
			ret = kcmp_tasks(holder_pid(&v[i]), holder_pid(&v[j]), type);
			if (ret)
				break;
		}
		ret = ret < 0 ? ret : 0;
		if (!ret && j - i > 1)
			ret = share_group(v + i, j - i, type);
	}
	free(v);
	return ret;
}

/* Thread fd tables of their own get ids after the processes' (task order). */
static void number_thread_tables(struct dump_op *op)
{
	size_t i, j;

	op->n_fdtables = op->n_tasks;
	for (i = 0; i < op->n_tasks; i++) {
		struct dump_task *t = op->tasks[i];

		for (j = 1; !t->zombie && j < t->n_threads; j++)
			if (t->threads[j].files_id)
				t->threads[j].files_id = ++op->n_fdtables;
	}
}

/*
 * Finds what the live tasks of the frozen tree share and sets files_id /
 * fs_id of every process and thread; refuses what the image cannot
 * express.  Returns 0 or -errno (logged).
 */
int dump_tree_check_sharing(struct dump_op *op)
{
	size_t i;
	int ret = 0;

	for (i = 0; !ret && i < op->n_tasks; i++) {
		struct dump_task *t = op->tasks[i];

		t->files_id = t->fs_id = t->index;
		if (t->zombie)
			continue;
		ret = mark_own(t, KCMP_FILES);
		ret = ret ?: mark_own(t, KCMP_FS);
	}
	ret = ret ?: check_kind(op, KCMP_VM);
	ret = ret ?: check_kind(op, KCMP_FILES);
	ret = ret ?: check_kind(op, KCMP_FS);
	if (!ret)
		number_thread_tables(op);
	return ret;
}
