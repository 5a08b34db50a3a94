/*
 * vxcr_dump(): freeze, collect, write, then kill or release.  The order of
 * the records follows the dump <-> restore contract in NOTES.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#define LOG_PREFIX "dump: "
#include "log.h"
#include "util/testhook.h"
#include "dump/dump.h"
#include "img/img.h"
#include "img/records.h"


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

/* Everything that is read while frozen, injection window included. */
static int collect(struct dump_ctx *ctx, struct dump_task *t)
{
	size_t i;
	int ret;

	for (i = 0; i < t->n_threads; i++) {
		ret = collect_thread_core(&t->threads[i]);
		if (ret)
			return ret;
	}
	ret = collect_remote(t);
	ret = ret ? : collect_task(t);
	ret = ret ? : collect_creds(t);
	ret = ret ? : collect_signals(t);
	ret = ret ? : collect_mm(ctx, t);	/* after the scratch area is gone */
	ret = ret ? : collect_fds(ctx, t);
	return ret;
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
	ret = img_writer_open(ctx->out_fd, &wo, &ctx->w);
	if (ret)
		pr_err("cannot start the image on fd %d: %s\n", ctx->out_fd, strerror(-ret));
	return ret;
}

/* Records in contract order, then the trailer. */
static int write_image(struct dump_ctx *ctx, struct dump_task *t)
{
	int ret;

	ret = open_writer(ctx, t->pid);
	ret = ret ? : write_task(ctx, t);
	ret = ret ? : write_creds(ctx, t);
	ret = ret ? : write_signals(ctx, t);
	ret = ret ? : write_cores(ctx, t);
	ret = ret ? : write_mm(ctx, t);
	ret = ret ? : write_files(ctx, t);
	ret = ret ? : write_file_data(ctx);
	ret = ret ? : write_pipe_data(ctx);
	ret = ret ? : dump_pages(ctx, t);
	if (ret)
		return ret;
	ret = img_writer_finish(ctx->w);
	if (ret)
		pr_err("cannot finish the image: %s\n", strerror(-ret));
	return ret;
}

/* An image in a regular file is on disk before the target may die. */
static int sync_image(struct dump_ctx *ctx)
{
	struct stat st;

	if (!ctx->opts->fsync || fstat(ctx->out_fd, &st) || !S_ISREG(st.st_mode))
		return 0;
	if (fsync(ctx->out_fd)) {
		pr_perror("cannot fsync the image");
		return -errno;
	}
	return 0;
}

static struct dump_task *task_alloc(pid_t pid)
{
	struct dump_task *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->threads = calloc(1, sizeof(*t->threads));
	if (!t->threads) {
		free(t);
		return NULL;
	}
	t->pid = pid;
	t->pidfd = -1;
	t->n_threads = 1;
	t->threads[0].tid = pid;
	return t;
}

static void task_free(struct dump_task *t)
{
	size_t i;

	for (i = 0; i < t->n_threads; i++)
		free_thread(&t->threads[i]);
	free(t->threads);
	free(t->shared_pending.v);
	proc_status_free(&t->status);
	free_mm(t->mm);
	free_fdtable(t->fdt);
	if (t->pidfd >= 0)
		close(t->pidfd);
	free(t);
}

/* Freeze, collect, write; on success kill unless leave_running. */
static int dump_one(struct dump_ctx *ctx, struct dump_task *t)
{
	int ret;

	t->pidfd = syscall(SYS_pidfd_open, t->pid, 0);
	if (t->pidfd < 0) {
		pr_perror("pid %d: pidfd_open", t->pid);
		return -errno;
	}
	ctx->t_seize = dump_now_ns();
	ret = seize_task(t);
	if (!ret)
		test_pause("seized");
	ret = ret ? : seize_check_alone(t);
	ret = ret ? : collect(ctx, t);
	if (!ret)
		test_pause("collected");
	ret = ret ? : write_image(ctx, t);
	if (!ret)
		test_pause("written");
	/* our handles on its files go before it runs on or dies */
	free_files(&ctx->files);
	if (ret || ctx->opts->leave_running) {
		release_task(t);	/* running on: no need to wait for the disk */
		ctx->st->frozen_ns = dump_now_ns() - ctx->t_seize;
		return ret ? : sync_image(ctx);
	}
	ret = sync_image(ctx);
	if (ret)
		release_task(t);
	else
		ret = kill_task(t);
	ctx->st->frozen_ns = dump_now_ns() - ctx->t_seize;
	return ret;
}

int vxcr_dump(pid_t pid, int fd, const struct vxcr_dump_opts *o, struct vxcr_dump_stats *st)
{
	struct vxcr_dump_opts defaults;
	struct vxcr_dump_stats local_st;
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
	ctx.t_start = dump_now_ns();
	start_off = lseek(fd, 0, SEEK_CUR);

	ret = dump_check_target(pid);
	if (ret)
		return ret;
	ctx.root = task_alloc(pid);
	if (!ctx.root)
		return -ENOMEM;
	ret = dump_one(&ctx, ctx.root);
	if (ctx.w)
		img_writer_free(ctx.w);
	free_files(&ctx.files);
	task_free(ctx.root);
	if (start_off >= 0 && lseek(fd, 0, SEEK_CUR) >= start_off)
		ctx.st->image_bytes = lseek(fd, 0, SEEK_CUR) - start_off;
	ctx.st->total_ns = dump_now_ns() - ctx.t_start;
	return ret;
}
