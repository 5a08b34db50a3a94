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

#define LOG_PREFIX "dump: "
#include "log.h"
#include "dump/dump.h"
#include "img/img.h"
#include "img/records.h"

/* The innermost pid of tid (last NSpid field), 0 if unreadable; *levels
 * (may be NULL) gets the number of pid namespaces it is in. */
static pid_t read_nspid(pid_t tid, int *levels)
{
	char *text = NULL, *line;
	size_t len;
	long v = 0;

	if (proc_read_file(tid, "status", &text, &len))
		return 0;
	line = strstr(text, "\nNSpid:");
	if (line) {
		char *p = line + 7, *end;

		for (;;) {
			long n = strtol(p, &end, 10);

			if (end == p)
				break;
			v = n;
			p = end;
			if (levels)
				(*levels)++;
		}
	}
	free(text);
	return (pid_t)v;
}

/* Every member of the context's cgroup must be in the tree. */
static int check_members(const struct dump_ctx *ctx)
{
	char path[600], *text = NULL, *p, *end;
	size_t len;
	int ret = 0;

	snprintf(path, sizeof(path), "%s/cgroup.procs", ctx->ctx_cgroup);
	ret = proc_read_path(path, &text, &len);
	if (ret) {
		pr_err("cannot read %s: %s\n", path, strerror(-ret));
		return ret;
	}
	for (p = text; !ret; p = end) {
		long pid = strtol(p, &end, 10);

		if (end == p)
			break;
		if (!tree_has_pid(ctx, (pid_t)pid)) {
			pr_err("context %u: pid %ld is in it but not under its init (entered with "
			       "`vxcr ctx exec` and still running?): cannot dump the context while "
			       "it runs\n", ctx->ctxe->xid, pid);
			ret = -EBUSY;
		}
	}
	free(text);
	return ret;
}

int ns_map_tree(struct dump_ctx *ctx)
{
	int levels, root_levels = 0;
	size_t i, j;

	for (i = 0; i < ctx->n_tasks; i++) {
		struct dump_task *t = ctx->tasks[i];

		levels = 0;
		t->vpid = ctx->ctxe ? read_nspid(t->pid, &levels) : t->pid;
		if (!t->vpid) {
			pr_err("pid %d: cannot read its pid in the context\n", t->pid);
			return -ESRCH;
		}
		if (!i)
			root_levels = levels;
		if (ctx->ctxe && levels != root_levels) {
			pr_err("context %u: pid %d is in a pid namespace below the context's "
			       "(a nested context?): not supported\n", ctx->ctxe->xid, t->pid);
			return -EOPNOTSUPP;
		}
		for (j = 0; j < t->n_threads; j++) {
			struct dump_thread *th = &t->threads[j];

			th->vtid = j == 0 ? t->vpid : ctx->ctxe ? read_nspid(th->tid, NULL) : th->tid;
			if (!th->vtid) {
				pr_err("thread %d: cannot read its id in the context\n", th->tid);
				return -ESRCH;
			}
		}
	}
	if (!ctx->ctxe)
		return 0;
	if (ctx->root->vpid != 1) {
		pr_err("context %u: pid %d is not the init of its pid namespace\n",
		       ctx->ctxe->xid, ctx->root->pid);
		return -EINVAL;
	}
	return ctx->ctx_cgroup ? check_members(ctx) : 0;
}

pid_t dump_vpid(const struct dump_ctx *ctx, pid_t host)
{
	size_t i, j;

	if (!ctx->ctxe || host <= 0)
		return host;
	for (i = 0; i < ctx->n_tasks; i++) {
		const struct dump_task *t = ctx->tasks[i];

		if (t->pid == host)
			return t->vpid;
		for (j = 1; j < t->n_threads; j++)
			if (t->threads[j].tid == host)
				return t->threads[j].vtid;
	}
	return 0;	/* outside the context's pid namespace */
}

int write_context(struct dump_ctx *ctx)
{
	int ret;

	if (!ctx->ctxe)
		return 0;
	ret = img_write_msg(ctx->w, IMG_REC_CONTEXT, &ctx->ctxe->base);
	if (ret)
		pr_err("cannot write the CONTEXT record: %s\n", strerror(-ret));
	return ret;
}
