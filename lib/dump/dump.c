/*
 * vxcr_dump(): freeze the tree, collect, write, then kill or release.  The order of
 * the records follows docs/image-format.md ("Record order").
 */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#define LOG_PREFIX "dump: "
#include "log.h"
#include "header.pb-c.h"
#include "util/testhook.h"
#include "dump/dump.h"
#include "img/img.h"
#include "img/records.h"
#include "restore/vet.h"

void vxcr_dump_opts_init(struct vxcr_dump_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->compress = true;
	o->fsync = true;
}

uint64_t dump_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

int dump_refusal(struct dump_ctx *ctx, const struct dump_task *t, int ret)
{
	const struct vxcr_dump_opts *o = ctx->opts;
	char line[640];
	size_t n;

	if (ret != -EOPNOTSUPP)
		return ret;
	ctx->n_refused++;
	if (!o->refused) {
		err_clear(); /* handled: the summary says it */
		return 0;
	}
	if (ctx->ctxe && t) /* the pid the context knows it by */
		snprintf(line, sizeof(line), "context pid %d: %s", t->vpid, vxcr_last_error());
	else
		snprintf(line, sizeof(line), "%s", vxcr_last_error());
	n = strlen(line);
	while (n && line[n - 1] == '\n')
		line[--n] = '\0';
	o->refused(line, o->refused_arg);
	err_clear(); /* handled: passed on, and the summary says it */
	return 0;
}

/* After collecting: every refusal was reported; sum them up in one line. */
static int refused_summary(struct dump_ctx *ctx)
{
	if (!ctx->n_refused)
		return 0;
	err_clear(); /* the summary is the dump's error */
	pr_err("%u object%s cannot be checkpointed: nothing was dumped, the %zu process%s "
	       "keep%s running\n",
	       ctx->n_refused, ctx->n_refused > 1 ? "s" : "", ctx->n_tasks,
	       ctx->n_tasks == 1 ? "" : "es", ctx->n_tasks == 1 ? "s" : "");
	return -EOPNOTSUPP;
}

/*
 * The image written would be refused by vxrestore (lib/restore/vet.c):
 * restore's reason, in the dump's one line.  Returns ret.
 */
static int vet_refused(struct dump_ctx *ctx, int ret)
{
	err_clear(); /* restore's reason is in this one */
	pr_err("vxrestore would refuse this image (%s): nothing was dumped, the %zu "
	       "process%s keep%s running\n",
	       rst_vet_why(ctx->vet), ctx->n_tasks, ctx->n_tasks == 1 ? "" : "es",
	       ctx->n_tasks == 1 ? "s" : "");
	return ret;
}

/*
 * Pins us to the CPU we run on while the tree is frozen and collected:
 * every injected call is a ptrace round trip, and a wakeup on the other
 * CPU costs an IPI (NOTES: "Restore: one CPU while ptrace ping-pongs").
 * Only our own mask changes, never the target's, so nothing is left
 * behind if we die.  Undone before the image writer starts its threads.
 */
static void pin_to_one_cpu(struct dump_ctx *ctx)
{
	cpu_set_t one;
	int cpu = sched_getcpu();

	if (cpu < 0 || sched_getaffinity(0, sizeof(ctx->cpus), &ctx->cpus))
		return;
	CPU_ZERO(&one);
	CPU_SET(cpu, &one);
	ctx->pinned = !sched_setaffinity(0, sizeof(one), &one);
}

static void unpin(struct dump_ctx *ctx)
{
	if (ctx->pinned)
		sched_setaffinity(0, sizeof(ctx->cpus), &ctx->cpus);
	ctx->pinned = false;
}

/*
 * The injection windows of t; a target its cgroup holds frozen is thawed
 * for them (the injected calls must return to user mode) and frozen again,
 * whatever they gave.  0 or -errno (logged).
 */
static int collect_remote_thawed(struct dump_ctx *ctx, struct dump_task *t)
{
	const struct dump_freezer *fz = ctx->freezer;
	int ret, ret2;

	if (!fz)
		return collect_remote(ctx, t);
	ret = fz->thaw(fz->arg);
	if (ret)
		return ret;
	ret = collect_remote(ctx, t);
	ret2 = fz->freeze(fz->arg);
	return ret ?: ret2;
}

/*
 * What is collected of each live process while frozen, in order (one row
 * per collector, with or without the dump's state): after each thread's
 * core, timers, the injected-syscall window, then the records it feeds.
 */
static const struct {
	int (*task)(struct dump_task *t);
	int (*ctx_task)(struct dump_ctx *ctx, struct dump_task *t);
} collectors[] = {
	{ collect_timers, NULL },  { NULL, collect_remote_thawed },
	{ collect_task, NULL },	   { collect_creds, NULL },
	{ collect_signals, NULL }, { NULL, collect_mm }, /* after the scratch areas are gone */
	{ NULL, collect_fds },
};

/* Image-wide collection and checks, after every process (refusals count). */
static int (*const image_collectors[])(struct dump_ctx *ctx) = {
	collect_sysv_shm,
	locks_check,
};

/* Everything read from live t while frozen, injection windows included. */
static int collect_one(struct dump_ctx *ctx, struct dump_task *t)
{
	size_t i;
	int ret = 0;

	for (i = 0; i < t->n_threads; i++) {
		ret = collect_thread_core(t, &t->threads[i]);
		if (ret)
			return ret;
	}
	for (i = 0; !ret && i < sizeof(collectors) / sizeof(collectors[0]); i++)
		ret = collectors[i].task ? collectors[i].task(t) : collectors[i].ctx_task(ctx, t);
	return ret;
}

/* Collects every live process in task order (file ids follow it). */
static int collect(struct dump_ctx *ctx)
{
	size_t i;
	int ret;

	for (i = 0; i < ctx->n_tasks; i++) {
		if (ctx->tasks[i]->zombie)
			continue;
		ret = dump_refusal(ctx, ctx->tasks[i], collect_one(ctx, ctx->tasks[i]));
		if (ret)
			return ret;
	}
	for (i = 0; i < sizeof(image_collectors) / sizeof(image_collectors[0]); i++) {
		ret = dump_refusal(ctx, NULL, image_collectors[i](ctx));
		if (ret)
			return ret;
	}
	ret = refused_summary(ctx);
	if (ret)
		return ret;
	for (i = 0; i < ctx->n_tasks; i++) { /* before any page is read */
		if (ctx->tasks[i]->zombie)
			continue;
		ret = plan_pages(ctx->tasks[i]);
		if (ret)
			return ret;
	}
	return 0;
}

static int open_writer(struct dump_ctx *ctx, pid_t pid)
{
	const struct vxcr_dump_opts *o = ctx->opts;
	struct img_write_opts wo;
	int ret;

	memset(&wo, 0, sizeof(wo));
	wo.compress = o->compress;
	wo.level = o->zstd_level;
	wo.threads = o->zstd_threads;
	if (o->compress && !wo.threads && sysconf(_SC_NPROCESSORS_ONLN) >= 2)
		wo.threads = 2;
	wo.root_pid = pid;
	wo.sign_key = o->sign_key;
	ret = img_writer_open(ctx->out_fd, &wo, &ctx->w);
	if (ret) {
		pr_err("cannot start the image on fd %d: %s\n", ctx->out_fd, strerror(-ret));
		return ret;
	}
	ctx->vet = rst_vet_new(img_writer_header(ctx->w));
	if (!ctx->vet)
		return -ENOMEM;
	img_writer_set_tap(ctx->w, rst_vet_tap, ctx->vet);
	return 0;
}

/* CREDS, SIGNALS, CORE (one per thread) and MM of live t. */
static int write_process(struct dump_ctx *ctx, struct dump_task *t)
{
	int ret;

	ret = write_creds(ctx, t);
	ret = ret ?: write_signals(ctx, t);
	ret = ret ?: write_cores(ctx, t);
	ret = ret ?: write_mm(ctx, t);
	return ret;
}

/* A per-process writer for the live processes only (zombies have no state). */
#define LIVE true

/*
 * The records of the image, in contract order (docs/image-format.md): one
 * row per writer, either image-wide (once) or per process (in task order,
 * preorder).  CONTEXT (a context dump), every TASK, SECCOMP (if any thread
 * has a filter), then per live process CREDS, SIGNALS, COREs and MM, all
 * FILEs, the FDTABLEs (each table once: the process's unless its parent's
 * is shared, then the threads' own ones), the LOCKs, FILE_DATA,
 * PIPE_DATA, SYSV_SHM, the pages grouped by process; the trailer last.
 */
static const struct {
	int (*image)(struct dump_ctx *ctx);
	int (*task)(struct dump_ctx *ctx, struct dump_task *t);
	bool live;
} writers[] = {
	{ write_context, NULL, false },	  { NULL, write_task, false },
	{ write_seccomp, NULL, false },	  { NULL, write_process, LIVE },
	{ write_files, NULL, false },	  { NULL, write_fdtables, LIVE },
	{ write_locks, NULL, false },	  { write_file_data, NULL, false },
	{ write_pipe_data, NULL, false }, { write_sysv_shm, NULL, false },
	{ NULL, dump_pages, LIVE },
};

/* Every record before the trailer, by the writers table.  0 or -errno. */
static int write_records(struct dump_ctx *ctx)
{
	size_t w, i;
	int ret = 0;

	for (w = 0; !ret && w < sizeof(writers) / sizeof(writers[0]); w++) {
		if (writers[w].image) {
			ret = writers[w].image(ctx);
			continue;
		}
		for (i = 0; !ret && i < ctx->n_tasks; i++)
			if (!writers[w].live || !ctx->tasks[i]->zombie)
				ret = writers[w].task(ctx, ctx->tasks[i]);
	}
	return ret;
}

/* Opens the writer, writes every record, lets the vet judge, finishes. */
static int write_image(struct dump_ctx *ctx)
{
	int ret;

	ret = open_writer(ctx, ctx->root->vpid);
	ret = ret ?: write_records(ctx);
	ret = ret ?: rst_vet_end(ctx->vet);
	if (ret)
		return rst_vet_error(ctx->vet) ? vet_refused(ctx, ret) : ret;
	ret = img_writer_finish(ctx->w);
	if (ret)
		pr_err("cannot finish the image: %s\n", strerror(-ret));
	return ret;
}

/*
 * An image in a regular file is on disk, and in place (the caller's commit
 * step), before the target may die.  Returns 0 or -errno.
 */
static int sync_image(struct dump_ctx *ctx)
{
	const struct vxcr_dump_opts *o = ctx->opts;
	int ret;

	/* a regular file is fsync'ed; the sink logs a failure */
	if (o->fsync) {
		ret = img_sink_sync(img_writer_sink(ctx->w));
		if (ret)
			return ret;
	}
	if (!o->commit)
		return 0;
	ret = test_fail("commit") ?: o->commit(ctx->out_fd, o->commit_arg);
	if (ret)
		pr_err("cannot put the image in place: %s\n", strerror(-ret));
	return ret;
}

/* Freeze the tree, collect, write; on success kill unless leave_running. */
static int dump_tree(struct dump_ctx *ctx, pid_t pid)
{
	int ret;

	ctx->t_seize = dump_now_ns();
	pin_to_one_cpu(ctx);
	ret = dump_refusal(ctx, NULL, tree_seize(ctx, pid));
	if (!ret && !ctx->n_refused)
		test_pause("seized");
	ret = ret ?: ns_map_tree(ctx);
	ret = ret ?: dump_refusal(ctx, NULL, tree_check(ctx));
	/* a tree refused as a whole is not looked into further */
	ret = ret ?: (ctx->n_refused ? refused_summary(ctx) : collect(ctx));
	unpin(ctx);
	if (!ret)
		test_pause("collected");
	ret = ret ?: write_image(ctx);
	if (!ret)
		test_pause("written");
	/* our handles on its files go before it runs on or dies */
	free_files(&ctx->files);
	shmem_free(ctx);
	if (ret || ctx->opts->leave_running) {
		tree_release(ctx); /* running on: no need to wait for the disk */
		ctx->st->frozen_ns = dump_now_ns() - ctx->t_seize;
		return ret ?: sync_image(ctx);
	}
	ret = sync_image(ctx);
	if (ret)
		tree_release(ctx);
	else
		ret = tree_kill(ctx);
	ctx->st->frozen_ns = dump_now_ns() - ctx->t_seize;
	return ret;
}

int dump_context(pid_t pid, int fd, const struct vxcr_dump_opts *o, struct vxcr_dump_stats *st,
		 const CtxEntry *ce, const char *cgroup, const struct dump_freezer *fz)
{
	struct vxcr_dump_opts defaults;
	struct vxcr_dump_stats local_st = { 0 };
	struct dump_ctx ctx;
	off_t start_off;
	int ret;

	if (!o) {
		vxcr_dump_opts_init(&defaults);
		o = &defaults;
	}
	memset(&ctx, 0, sizeof(ctx));
	ctx.opts = o;
	ctx.st = st ? st : &local_st;
	memset(ctx.st, 0, sizeof(*ctx.st));
	ctx.out_fd = fd;
	ctx.ctxe = ce;
	ctx.ctx_cgroup = cgroup;
	ctx.freezer = fz;
	ctx.t_start = dump_now_ns();
	start_off = lseek(fd, 0, SEEK_CUR);

	ret = dump_check_target(pid);
	if (ret)
		return ret;
	ret = dump_tree(&ctx, pid);
	if (ctx.w) {
		const ImgHeader *h = img_writer_header(ctx.w);

		if (h && h->has_image_id && h->image_id.len == sizeof(ctx.st->image_id))
			memcpy(ctx.st->image_id, h->image_id.data, sizeof(ctx.st->image_id));
		img_writer_free(ctx.w);
	}
	rst_vet_free(ctx.vet);
	free_files(&ctx.files);
	shmem_free(&ctx);
	locks_free(&ctx);
	tree_free(&ctx);
	if (start_off >= 0 && lseek(fd, 0, SEEK_CUR) >= start_off)
		ctx.st->image_bytes = lseek(fd, 0, SEEK_CUR) - start_off;
	ctx.st->total_ns = dump_now_ns() - ctx.t_start;
	return ret;
}

int vxcr_dump(pid_t pid, int fd, const struct vxcr_dump_opts *o, struct vxcr_dump_stats *st)
{
	err_op_begin();
	return err_op_end(dump_context(pid, fd, o, st, NULL, NULL, NULL));
}
