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
#include "img/pstore.h"
#include "dump/dump.h"
#include "dump/cow.h"
#include "dump/tcpsk.h"
#include "dump/track.h"
#include "img/img.h"
#include "img/records.h"
#include "restore/lazy.h"
#include "restore/vet.h"

void vxcr_dump_opts_init(struct vxcr_dump_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->compress = true;
	o->fsync = true;
	o->parent_fd = -1;
}

uint64_t dump_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

int dump_refusal(struct dump_op *op, const struct dump_task *t, int ret)
{
	const struct vxcr_dump_opts *o = op->opts;
	char line[640];
	size_t n;

	if (ret != -EOPNOTSUPP)
		return ret;
	op->n_refused++;
	if (!o->refused) {
		err_clear(); /* handled: the summary says it */
		return 0;
	}
	if (op->ctxe && t) /* the pid the context knows it by */
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
static int refused_summary(struct dump_op *op)
{
	if (!op->n_refused)
		return 0;
	err_clear(); /* the summary is the dump's error */
	pr_err("%u object%s cannot be checkpointed: nothing was dumped, the %zu process%s "
	       "keep%s running\n",
	       op->n_refused, op->n_refused > 1 ? "s" : "", op->n_tasks,
	       op->n_tasks == 1 ? "" : "es", op->n_tasks == 1 ? "s" : "");
	return -EOPNOTSUPP;
}

/*
 * The image written would be refused by vxrestore (lib/restore/vet.c):
 * restore's reason, in the dump's one line.  Returns ret.
 */
static int vet_refused(struct dump_op *op, int ret)
{
	err_clear(); /* restore's reason is in this one */
	pr_err("vxrestore would refuse this image (%s): nothing was dumped, the %zu "
	       "process%s keep%s running\n",
	       rst_vet_why(op->vet), op->n_tasks, op->n_tasks == 1 ? "" : "es",
	       op->n_tasks == 1 ? "s" : "");
	return ret;
}

/*
 * Pins us to the CPU we run on while the tree is frozen and collected:
 * every injected call is a ptrace round trip, and a wakeup on the other
 * CPU costs an IPI (NOTES: "Restore: one CPU while ptrace ping-pongs").
 * Only our own mask changes, never the target's, so nothing is left
 * behind if we die.  Undone before the image writer starts its threads.
 */
static void pin_to_one_cpu(struct dump_op *op)
{
	cpu_set_t one;
	int cpu = sched_getcpu();

	if (cpu < 0 || sched_getaffinity(0, sizeof(op->cpus), &op->cpus))
		return;
	CPU_ZERO(&one);
	CPU_SET(cpu, &one);
	op->pinned = !sched_setaffinity(0, sizeof(one), &one);
}

static void unpin(struct dump_op *op)
{
	if (op->pinned)
		sched_setaffinity(0, sizeof(op->cpus), &op->cpus);
	op->pinned = false;
}

/*
 * The injection windows of t; a target its cgroup holds frozen is thawed
 * for them (the injected calls must return to user mode) and frozen again,
 * whatever they gave.  0 or -errno (logged).
 */
static int collect_remote_thawed(struct dump_op *op, struct dump_task *t)
{
	const struct dump_freezer *fz = op->freezer;
	int ret, ret2;

	if (!fz)
		return collect_remote(op, t);
	ret = fz->thaw(fz->arg);
	if (ret)
		return ret;
	ret = collect_remote(op, t);
	ret2 = fz->freeze(fz->arg);
	return ret ?: ret2;
}

/*
 * A live migration's last round of the pre-copy for t, right after its
 * injected calls (the kernel may answer them by writing into its memory)
 * and before its areas are read: the pages written since go to the store,
 * what the store holds that changed is dropped.  Its uffd stays open (the
 * mm collection ignores our registrations); track_free() closes it.
 */
static int track_last(struct dump_op *op, struct dump_task *t)
{
	const struct vxcr_dump_mig *mig = op->opts->mig;
	struct track_round local = { 0 };
	int ret;

	if (!mig || !mig->track)
		return 0;
	ret = track_final_pid(mig->track, t->pid, mig->track_sink, mig->final ?: &local);
	if (ret)
		pr_err("pid %d: the last round of the pre-copy failed: %s\n", t->pid,
		       strerror(-ret));
	return ret;
}

/*
 * What is collected of each live process while frozen, in order (one row
 * per collector, with or without the dump's state): after each thread's
 * core, timers, the injected-syscall window, then the records it feeds.
 */
static const struct {
	int (*task)(struct dump_task *t);
	int (*ctx_task)(struct dump_op *op, struct dump_task *t);
} collectors[] = {
	{ collect_timers, NULL }, { NULL, collect_remote_thawed }, { NULL, track_last },
	{ collect_task, NULL },	  { collect_creds, NULL },	   { collect_signals, NULL },
	{ NULL, collect_mm }, /* after the scratch areas are gone */
	{ NULL, collect_fds },	  { NULL, collect_removed_cwds },  { NULL, collect_cgroup },
};

/* Image-wide collection and checks, after every process (refusals count). */
static int (*const image_collectors[])(struct dump_op *op) = {
	collect_sysv_shm, unixsk_collect_inflight, locks_check, timens_collect,
	epoll_resolve,	  unixsk_check_peers,	   tty_collect,
};

/* Everything read from live t while frozen, injection windows included. */
static int collect_one(struct dump_op *op, struct dump_task *t)
{
	size_t i;
	int ret = 0;

	for (i = 0; i < t->n_threads; i++) {
		ret = collect_thread_core(t, &t->threads[i]);
		if (ret)
			return ret;
	}
	for (i = 0; !ret && i < sizeof(collectors) / sizeof(collectors[0]); i++)
		ret = collectors[i].task ? collectors[i].task(t) : collectors[i].ctx_task(op, t);
	return ret;
}

/* Collects every live process in task order (file ids follow it). */
static int collect(struct dump_op *op)
{
	size_t i;
	int ret;

	for (i = 0; i < op->n_tasks; i++) {
		if (op->tasks[i]->zombie)
			continue;
		ret = dump_refusal(op, op->tasks[i], collect_one(op, op->tasks[i]));
		if (ret)
			return ret;
	}
	for (i = 0; i < sizeof(image_collectors) / sizeof(image_collectors[0]); i++) {
		ret = dump_refusal(op, NULL, image_collectors[i](op));
		if (ret)
			return ret;
	}
	ret = dump_refusal(op, NULL, mntns_check_files(op)); /* after every file */
	if (ret)
		return ret;
	ret = refused_summary(op);
	if (ret)
		return ret;
	for (i = 0; i < op->n_tasks; i++) { /* before any page is read */
		if (op->tasks[i]->zombie)
			continue;
		ret = plan_pages(op->tasks[i]);
		if (ret)
			return ret;
	}
	return 0;
}

/* The writer: on a migration's sink (the store's id its parent_id), else on the fd. */
static int writer_open(struct dump_op *op, struct img_write_opts *wo)
{
	const struct vxcr_dump_mig *mig = op->opts->mig;

	if (!mig || !mig->sink)
		return img_writer_open(op->out_fd, wo, &op->w);
	if (op->parent || (mig->track && !mig->parent_id)) {
		pr_err("a live migration's image takes its pages from the destination's store "
		       "(its id needed), not from a parent image\n");
		return -EINVAL;
	}
	if (mig->parent_id)
		wo->parent_id = mig->parent_id;
	return img_writer_open_sink(mig->sink, wo, &op->w);
}

/*
 * The vet of a live migration's image: its PARENT ranges are the pages the
 * destination's store holds (track_held), which the destination's restore
 * checks against the store; the vet has only an empty store of the same
 * id (the header's parent_id checks out), so it checks the rest.
 */
static int mig_vet_tap(void *arg, const struct img_record *hdr, const void *prefix, size_t plen,
		       const void *data, uint64_t dlen)
{
	const struct img_pages_prefix *p = prefix;

	if (hdr->type == IMG_REC_PAGES && plen >= sizeof(*p) && (p->flags & IMG_PAGES_PARENT))
		return 0;
	return rst_vet_tap(arg, hdr, prefix, plen, data, dlen);
}

static int mig_vet(struct dump_op *op)
{
	int ret = pstore_new(op->opts->mig->parent_id, &op->ids);

	if (ret)
		return ret;
	rst_vet_set_pages(op->vet, op->ids);
	img_writer_set_tap(op->w, mig_vet_tap, op->vet);
	return 0;
}

static int open_writer(struct dump_op *op, pid_t pid)
{
	const struct vxcr_dump_opts *o = op->opts;
	struct img_write_opts wo;
	int ret;

	memset(&wo, 0, sizeof(wo));
	wo.compress = o->compress;
	wo.level = o->zstd_level;
	wo.adaptive = o->compress && !o->zstd_every_frame && !o->zstd_level;
	wo.threads = o->zstd_threads;
	if (o->compress && !wo.threads && sysconf(_SC_NPROCESSORS_ONLN) >= 2)
		wo.threads = 2;
	wo.root_pid = pid;
	wo.sign_key = o->sign_key;
	wo.parent_id = op->parent ? pstore_id(op->parent) : NULL;
	ret = writer_open(op, &wo);
	if (ret) {
		pr_err("cannot start the image%s: %s\n", o->mig ? " on the migration's sink" : "",
		       strerror(-ret));
		return ret;
	}
	op->vet = rst_vet_new(img_writer_header(op->w));
	if (!op->vet)
		return -ENOMEM;
	rst_vet_set_pages(op->vet, op->parent);
	if (o->mig && o->mig->lazy) { /* LAZY ranges checked as vxcr serve does */
		static const struct vxcr_lazy vet_lazy;

		rst_vet_set_lazy(op->vet, &vet_lazy);
	}
	img_writer_set_tap(op->w, rst_vet_tap, op->vet);
	return o->mig && o->mig->parent_id ? mig_vet(op) : 0;
}

/* CREDS, SIGNALS, CORE (one per thread) and MM of live t. */
static int write_process(struct dump_op *op, struct dump_task *t)
{
	int ret;

	ret = write_creds(op, t);
	ret = ret ?: write_signals(op, t);
	ret = ret ?: write_cores(op, t);
	ret = ret ?: write_mm(op, t);
	return ret;
}

/* A per-process writer for the live processes only (zombies have no state). */
#define LIVE true

/*
 * The records of the image, in contract order (docs/image-format.md): one
 * row per writer, either image-wide (once) or per process (in task order,
 * preorder).  CONTEXT (a context dump), NETNS (the tree's network namespace
 * when not ours; written by write_context), every TASK, SECCOMP (if any thread
 * has a filter), then per live process CREDS, SIGNALS, COREs and MM, all
 * FILEs, the FDTABLEs (each table once: the process's unless its parent's
 * is shared, then the threads' own ones), the LOCKs, FILE_DATA,
 * PIPE_DATA, SK_QUEUE, SYSV_SHM, the pages grouped by process; the trailer last.
 */
static const struct {
	int (*image)(struct dump_op *op);
	int (*task)(struct dump_op *op, struct dump_task *t);
	bool live;
} writers[] = {
	{ write_context, NULL, false },	  { NULL, write_task, false },
	{ write_seccomp, NULL, false },	  { NULL, write_process, LIVE },
	{ write_files, NULL, false },	  { NULL, write_fdtables, LIVE },
	{ write_locks, NULL, false },	  { write_file_data, NULL, false },
	{ write_pipe_data, NULL, false }, { write_unixsk_queues, NULL, false },
	{ write_sysv_shm, NULL, false },  { write_cgroup, NULL, false },
	{ write_limits, NULL, false },	  { NULL, dump_pages, LIVE },
};

#define N_WRITERS (sizeof(writers) / sizeof(writers[0]))
#define PAGES_ROW (N_WRITERS - 1) /* the pages: last, read from a snapshot (cow.h) */

/* Rows [from, to) of the writers table.  0 or -errno. */
static int write_records(struct dump_op *op, size_t from, size_t to)
{
	size_t w, i;
	int ret = 0;

	for (w = from; !ret && w < to; w++) {
		if (writers[w].image) {
			ret = writers[w].image(op);
			continue;
		}
		for (i = 0; !ret && i < op->n_tasks; i++)
			if (!writers[w].live || !op->tasks[i]->zombie)
				ret = writers[w].task(op, op->tasks[i]);
	}
	return ret;
}

/* After the records: lets the vet judge, finishes. */
static int finish_image(struct dump_op *op, int ret)
{
	ret = ret ?: rst_vet_end(op->vet);
	if (ret)
		return rst_vet_error(op->vet) ? vet_refused(op, ret) : ret;
	ret = img_writer_finish(op->w);
	if (ret)
		pr_err("cannot finish the image: %s\n", strerror(-ret));
	return ret;
}

/* Opens the writer, writes every record, lets the vet judge, finishes. */
static int write_image(struct dump_op *op)
{
	int ret;

	ret = open_writer(op, op->root->vpid);
	ret = ret ?: write_records(op, 0, N_WRITERS);
	return finish_image(op, ret);
}

/*
 * A --leave-running dump: every record but the pages, then the snapshot
 * (cow.h) is set up, so the pages can be read once the tree runs on
 * (write_image_pages); a tree it cannot hold gets its pages now.
 */
static int write_image_head(struct dump_op *op)
{
	int ret;

	ret = open_writer(op, op->root->vpid);
	ret = ret ?: write_records(op, 0, PAGES_ROW);
	ret = ret ?: cow_start(op);
	if (ret || op->cow)
		return ret;
	return finish_image(op, write_records(op, PAGES_ROW, N_WRITERS));
}

/* The pages from the snapshot, the tree running (a thread of the window). */
static int write_image_pages(struct dump_op *op)
{
	return finish_image(op, write_records(op, PAGES_ROW, N_WRITERS));
}

/* A --leave-running dump tries a snapshot: each process makes a uffd when collected. */
static void want_snapshot(struct dump_op *op)
{
	size_t i;

	/* areas stored whole are read frozen: the snapshot covers what it registers */
	op->cow_want = !op->opts->file_contents && cow_wanted(op);
	for (i = 0; i < op->n_tasks; i++)
		op->tasks[i]->cow.want = op->cow_want && !op->tasks[i]->zombie;
}

/*
 * An image in a regular file is on disk, and in place (the caller's commit
 * step), before the target may die.  Returns 0 or -errno.
 */
static int sync_image(struct dump_op *op)
{
	const struct vxcr_dump_opts *o = op->opts;
	int ret;

	/* a regular file is fsync'ed; the sink logs a failure */
	if (o->fsync) {
		ret = img_sink_sync(img_writer_sink(op->w));
		if (ret)
			return ret;
	}
	if (!o->commit)
		return 0;
	ret = test_fail("commit") ?: o->commit(op->out_fd, o->commit_arg);
	if (ret)
		pr_err("cannot put the image in place: %s\n", strerror(-ret));
	return ret;
}

/*
 * Freeze the tree, lock its network, collect, write; on success kill
 * unless leave_running.  The network lock goes once the tree is killed or
 * released, whatever the outcome; with keep_net_lock it is copied into a
 * kept table once the tree is dead, before the owner table goes, so the
 * connections are held without a gap and a vxdump killed before that
 * leaves no table that would cut off a tree running on.
 */
static int dump_tree(struct dump_op *op, pid_t pid)
{
	int ret;

	op->t_seize = dump_now_ns();
	pin_to_one_cpu(op);
	ret = dump_refusal(op, NULL, dump_tree_seize(op, pid));
	if (!ret && !op->n_refused)
		test_pause("seized");
	ret = ret ?: ns_map_tree(op);
	if (!ret && op->opts->root_stop_ours && op->root->state == TASK_STATE_STOPPED)
		op->root->state = TASK_STATE_ALIVE; /* stopped by the caller, not its own */
	ret = ret ?: dump_refusal(op, NULL, dump_tree_check(op));
	/* before any socket is read; a refused tree needs none */
	ret = ret ?: (op->n_refused ? 0 : dump_net_lock(op));
	ret = ret ?: dump_refusal(op, NULL, netns_collect(op));
	ret = ret ?: dump_refusal(op, NULL, ipcns_collect(op));
	ret = ret ?: dump_refusal(op, NULL, mntns_collect(op));
	if (!ret && !op->n_refused)
		want_snapshot(op);
	/* a tree refused as a whole is not looked into further */
	ret = ret ?: (op->n_refused ? refused_summary(op) : collect(op));
	unpin(op);
	if (!ret)
		test_pause("collected");
	ret = ret ?: (op->cow_want ? write_image_head(op) : write_image(op));
	if (!ret)
		test_pause("written");
	netns_leave(op);
	ipcns_leave(op);
	/* our handles on its files go before it runs on or dies */
	free_files(&op->files);
	shmem_free(op);
	if (ret || op->opts->leave_running) {
		if (ret)
			cow_end(op); /* nothing protected once it runs on */
		/* unlocked first: leaving repair mode sends a window probe */
		dump_net_unlock(op, ret ?: -EAGAIN); /* nothing kept (not with leave_running) */
		tcpsk_end(op, false);		     /* out of repair mode before it runs on */
		if (!ret && op->cow) {		     /* released at once, pages read meanwhile */
			ret = cow_trace_window(op, write_image_pages);
		} else {
			dump_tree_release(op); /* running on: no need to wait for the disk */
			op->st->frozen_ns = dump_now_ns() - op->t_seize;
		}
		cow_end(op); /* every write let through */
		return ret ?: sync_image(op);
	}
	ret = sync_image(op);
	if (ret) {
		dump_net_unlock(op, ret);
		tcpsk_end(op, false);
		dump_tree_release(op);
	} else {
		ret = dump_tree_kill(op);
		tcpsk_end(op, !ret); /* killed: its sockets close silently in repair mode */
		if (!ret)	     /* only once the tree is dead: never a running tree cut off */
			dump_net_keep(op);
		dump_net_unlock(op, ret);
	}
	op->st->frozen_ns = dump_now_ns() - op->t_seize;
	return ret;
}

int dump_context(pid_t pid, int fd, const struct vxcr_dump_opts *o, struct vxcr_dump_stats *st,
		 const CtxEntry *ce, const char *cgroup, const struct dump_freezer *fz)
{
	struct vxcr_dump_opts defaults;
	struct vxcr_dump_stats local_st = { 0 };
	struct dump_op op;
	off_t start_off;
	int ret;

	if (!o) {
		vxcr_dump_opts_init(&defaults);
		o = &defaults;
	}
	memset(&op, 0, sizeof(op));
	op.opts = o;
	op.st = st ? st : &local_st;
	memset(op.st, 0, sizeof(*op.st));
	op.out_fd = fd;
	op.ctxe = ce;
	op.ctx_cgroup = cgroup;
	op.freezer = fz;
	op.netns_saved = -1;
	op.ipcns_saved = -1;
	op.t_start = dump_now_ns();
	start_off = lseek(fd, 0, SEEK_CUR);

	if (o->keep_net_lock && o->leave_running) {
		pr_err("keeping the network lock after the dump would cut off the tree that runs "
		       "on (--keep-net-lock with --leave-running)\n");
		return -EINVAL;
	}
	ret = dump_check_target(pid);
	ret = ret ?: dump_parent_load(&op); /* before the seize */
	if (ret) {
		dump_parent_free(&op);
		return ret;
	}
	ret = dump_tree(&op, pid);
	cow_end(&op); /* a dump that stopped early: the uffds go */
	if (op.parent)
		pr_info("%llu pages taken from the parent image\n",
			(unsigned long long)op.parent_pages);
	dump_parent_free(&op);
	if (op.w) {
		const ImgHeader *h = img_writer_header(op.w);
		const struct img_sink *sink = img_writer_sink(op.w);

		if (sink && start_off < 0) /* not seekable: what the writer wrote */
			op.st->image_bytes = sink->bytes;

		if (h && h->has_image_id && h->image_id.len == sizeof(op.st->image_id))
			memcpy(op.st->image_id, h->image_id.data, sizeof(op.st->image_id));
		img_writer_free(op.w);
	}
	rst_vet_free(op.vet);
	pstore_free(op.ids);
	tcpsk_end(&op, false); /* done already unless the dump stopped early */
	free_files(&op.files);
	shmem_free(&op);
	locks_free(&op);
	cgroup_free(&op);
	netns_free(&op);
	ipcns_free(&op);
	mntns_free(&op);
	timens_free(&op);
	dump_tree_free(&op);
	if (start_off >= 0 && lseek(fd, 0, SEEK_CUR) >= start_off)
		op.st->image_bytes = lseek(fd, 0, SEEK_CUR) - start_off;
	op.st->total_ns = dump_now_ns() - op.t_start;
	return ret;
}

int vxcr_dump(pid_t pid, int fd, const struct vxcr_dump_opts *o, struct vxcr_dump_stats *st)
{
	err_op_begin();
	return err_op_end(dump_context(pid, fd, o, st, NULL, NULL, NULL));
}
