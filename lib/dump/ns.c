/*
 * A whole context (lib/ctx/cr.c calls dump_context): the tree is rooted at
 * the context's init and the image records every pid as the context's own
 * pid namespace numbers it (the last field of NSpid in /proc/PID/status),
 * so that the restore, which makes a new pid namespace, gives the same
 * numbers back.  A pid that the namespace cannot see (the session of the
 * init, made by its supervisor outside) is recorded as 0, as the kernel
 * itself shows it inside.  The CONTEXT record comes first, before any TASK.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LOG_PREFIX "dump/ns: "
#include "log.h"
#include "dump/dump.h"
#include "img/img.h"
#include "img/records.h"

/*
 * The pid of a task in its innermost pid namespace and how many pid
 * namespaces it is in, from its status st; NULL st: a zombie's, read now.
 * 0 or -errno (logged).
 */
static int nspid_of(pid_t pid, const struct proc_status *st, pid_t *vpid, uint32_t *levels)
{
	struct proc_status own;
	int ret = 0;

	if (!st) {
		ret = proc_read_status(pid, &own);
		st = ret ? NULL : &own;
	}
	*vpid = st ? st->nspid : 0;
	*levels = st ? st->ns_levels : 0;
	if (st == &own)
		proc_status_free(&own);
	if (*vpid <= 0) {
		pr_err("task %d: cannot read its pid in the context\n", pid);
		return ret ? ret : -ESRCH;
	}
	return 0;
}

/* Every member of the context's cgroup must be in the tree. */
static int check_members(const struct dump_op *op)
{
	char path[600], *text = NULL;
	pid_t *pids = NULL;
	size_t i, n = 0;
	int ret;

	snprintf(path, sizeof(path), "%s/cgroup.procs", op->ctx_cgroup);
	ret = proc_read_path(path, &text, NULL);
	if (ret) {
		pr_err("cannot read %s: %s\n", path, strerror(-ret));
		return ret;
	}
	ret = dump_tree_parse_pids(text, &pids, &n);
	for (i = 0; !ret && i < n; i++) {
		if (!dump_tree_has_pid(op, pids[i])) {
			pr_err("context %u: pid %d is in it but not under its init (entered with "
			       "`vxcr ctx exec` and still running?): cannot dump the context while "
			       "it runs\n",
			       op->ctxe->xid, pids[i]);
			ret = -EBUSY;
		}
	}
	free(pids);
	free(text);
	return ret;
}

int ns_map_tree(struct dump_op *op)
{
	uint32_t levels, root_levels = 0, unused;
	size_t i, j;
	int ret;

	for (i = 0; i < op->n_tasks; i++) {
		struct dump_task *t = op->tasks[i];

		t->vpid = t->pid;
		for (j = 0; j < t->n_threads; j++)
			t->threads[j].vtid = t->threads[j].tid;
		if (!op->ctxe)
			continue;
		ret = nspid_of(t->pid, t->zombie ? NULL : &t->status, &t->vpid, &levels);
		if (ret)
			return ret;
		if (!i)
			root_levels = levels;
		if (levels != root_levels) {
			pr_err("context %u: pid %d is in a pid namespace below the context's "
			       "(a nested context?): not supported\n",
			       op->ctxe->xid, t->pid);
			return -EOPNOTSUPP;
		}
		if (t->n_threads)
			t->threads[0].vtid = t->vpid;
		for (j = 1; j < t->n_threads; j++) {
			const struct proc_status *st = thread_status(t, &t->threads[j]);

			if (!st)
				return -ESRCH;
			ret = nspid_of(t->threads[j].tid, st, &t->threads[j].vtid, &unused);
			if (ret)
				return ret;
		}
	}
	if (!op->ctxe)
		return 0;
	if (op->root->vpid != 1) {
		pr_err("context %u: pid %d is not the init of its pid namespace\n", op->ctxe->xid,
		       op->root->pid);
		return -EINVAL;
	}
	return op->ctx_cgroup ? check_members(op) : 0;
}

pid_t dump_vpid(const struct dump_op *op, pid_t host)
{
	size_t i, j;

	if (!op->ctxe || host <= 0)
		return host;
	for (i = 0; i < op->n_tasks; i++) {
		const struct dump_task *t = op->tasks[i];

		if (t->pid == host)
			return t->vpid;
		for (j = 1; j < t->n_threads; j++)
			if (t->threads[j].tid == host)
				return t->threads[j].vtid;
	}
	return 0; /* outside the context's pid namespace */
}

/* CONTEXT (a context dump), then NETNS and IPCNS (the tree's own namespaces). */
int write_context(struct dump_op *op)
{
	int ret = 0;

	if (op->ctxe)
		ret = img_write_msg(op->w, IMG_REC_CONTEXT, &op->ctxe->base);
	if (ret)
		pr_err("cannot write the CONTEXT record: %s\n", strerror(-ret));
	ret = ret ?: write_netns(op);
	return ret ?: write_ipcns(op);
}
