/*
 * vxcr_migrate(): the source side of a live migration (proto.h).  Pre-copy
 * rounds run while the tree runs (dump/track.h), then the dump freezes it,
 * sends the last dirty set and the image into the channel, and its commit
 * step waits for the destination's RESTORED: only then does the dump kill
 * the tree, and COMMIT goes out.  Any failure before that point leaves the
 * tree running as the dump found it (the dump releases it; the tracker's
 * uffds close, and with them every registration).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <endian.h>
#include <unistd.h>
#include <sys/random.h>
#include <sys/uio.h>

#define LOG_PREFIX "mig/source: "
#include "log.h"
#include "error.h"
#include "vxcr/vserver.h"
#include "util/testhook.h"
#include "img/chan.h"
#include "dump/track.h"
#include "mig/proto.h"

#define DEFAULT_ROUNDS 8
#define DEFAULT_STOP (4ull << 20)
#define DEFAULT_TIMEOUT 30000

void vxcr_migrate_opts_init(struct vxcr_migrate_opts *o)
{
	memset(o, 0, sizeof(*o));
	vxcr_dump_opts_init(&o->dump);
	o->precopy = true;
	o->max_rounds = DEFAULT_ROUNDS;
	o->stop_bytes = DEFAULT_STOP;
	o->timeout_ms = DEFAULT_TIMEOUT;
}

struct mig_src {
	const struct vxcr_migrate_opts *o;
	struct vxcr_migrate_stats *st;
	struct chan *ch;
	uint8_t store_id[16];
	struct track *track;
	uint64_t t0;
	uint64_t round_pages;  /* pages sent in the round running */
	bool restored;	       /* RESTORED came: the dump may kill ours */
	struct lazy_src *lazy; /* post-copy: the areas to serve */
	uint64_t t_dump;       /* the final dump's start */
	int lazy_err;	       /* post-copy failed: the process is lost */
	struct mig_done done;  /* post-copy: the destination's DONE */
};

/* ---- pre-copy: the tracker's sink is the channel ---- */

static int send_pages(void *arg, uint32_t key, uint64_t addr, const void *data, size_t len)
{
	struct mig_src *ms = arg;
	const uint8_t *p = data;
	int ret;

	while (len) {
		size_t n = len < MIG_PAGES_MAX * MIG_PAGE_SZ ? len : MIG_PAGES_MAX * MIG_PAGE_SZ;
		struct mig_pages h = { htole64(addr), htole32(key), 0 };
		struct iovec iov[2] = { { &h, sizeof(h) }, { (void *)p, n } };

		ret = chan_sendv(ms->ch, MIG_PAGES, iov, 2);
		if (ret)
			return ret;
		ms->round_pages += n / MIG_PAGE_SZ;
		addr += n;
		p += n;
		len -= n;
	}
	return 0;
}

static int send_drop(void *arg, uint32_t key, uint64_t addr, uint64_t len)
{
	struct mig_src *ms = arg;
	struct mig_drop d = { htole64(addr), htole64(len), htole32(key), 0 };

	return chan_send(ms->ch, MIG_DROP, &d, sizeof(d));
}

/* For a context, the pid inside its own pid namespace (NSpid's last). */
static uint32_t ns_key(pid_t pid, void *arg)
{
	char path[64], line[256];
	uint32_t key = (uint32_t)pid;
	FILE *f;

	(void)arg;
	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	f = fopen(path, "re");
	if (!f)
		return key;
	while (fgets(line, sizeof(line), f)) {
		char *s, *last = NULL;

		if (strncmp(line, "NSpid:", 6))
			continue;
		for (s = strtok(line + 6, " \t\n"); s; s = strtok(NULL, " \t\n"))
			last = s;
		if (last)
			key = (uint32_t)strtoul(last, NULL, 10);
		break;
	}
	fclose(f);
	return key;
}

static void progress(struct mig_src *ms, unsigned round, bool frozen, uint64_t pages,
		     uint64_t round_ns, uint64_t dirty_pages)
{
	struct vxcr_migrate_progress p;
	struct chan_stats cs;

	if (!ms->o->progress)
		return;
	chan_get_stats(ms->ch, &cs);
	memset(&p, 0, sizeof(p));
	p.round = round;
	p.frozen = frozen;
	p.bytes_sent = cs.wire_sent;
	p.round_pages = pages;
	if (round_ns) {
		p.rate = pages * MIG_PAGE_SZ * 1000000000ull / round_ns;
		p.dirty_rate = dirty_pages * MIG_PAGE_SZ * 1000000000ull / round_ns;
	}
	p.elapsed_ns = mig_now_ns() - ms->t0;
	ms->o->progress(&p, ms->o->progress_arg);
}

/*
 * The rounds while the tree runs, until the stop rule says freeze: a round
 * with at most stop_bytes written, max_rounds reached, twice the memory
 * sent (OpenVZ's rule: the next round would pass it), or no progress (two
 * rounds in a row dirtier than the one before).
 */
static int precopy(struct mig_src *ms, pid_t root)
{
	const struct vxcr_migrate_opts *o = ms->o;
	struct track_sink sink = { send_pages, send_drop, ms };
	struct track_opts to = { o->xid ? ns_key : NULL, NULL };
	uint64_t prev_dirty = UINT64_MAX, sent = 0, mem = 0;
	unsigned worse = 0, r;
	int ret;

	ret = track_start(root, &to, &ms->track);
	if (ret)
		return ret;
	for (r = 0; r < o->max_rounds; r++) {
		struct track_round tr;
		struct mig_round mr;
		uint64_t t = mig_now_ns();

		memset(&tr, 0, sizeof(tr));
		ms->round_pages = 0;
		ret = track_round(ms->track, &sink, &tr);
		if (ret)
			return ret;
		mr.round = htole32(r);
		mr.zero = 0;
		mr.pages = htole64(ms->round_pages);
		ret = chan_send(ms->ch, MIG_ROUND, &mr, sizeof(mr));
		if (ret)
			return ret;
		sent += ms->round_pages * MIG_PAGE_SZ;
		if (!r)
			mem = tr.pages_dirty * MIG_PAGE_SZ;
		ms->st->rounds = r + 1;
		progress(ms, r, false, ms->round_pages, mig_now_ns() - t, tr.pages_dirty);
		pr_info("round %u: %llu pages written since, %llu sent, %.1f ms\n", r,
			(unsigned long long)tr.pages_dirty, (unsigned long long)ms->round_pages,
			(mig_now_ns() - t) / 1e6);
		if (!r) {
			test_pause("mig-precopy");
			continue;
		}
		if (tr.pages_dirty * MIG_PAGE_SZ <= o->stop_bytes)
			break;
		worse = tr.pages_dirty >= prev_dirty ? worse + 1 : 0;
		if (worse >= 2)
			break;
		if (sent + tr.pages_dirty * MIG_PAGE_SZ > 2 * mem)
			break;
		prev_dirty = tr.pages_dirty;
	}
	ms->st->precopy_bytes = sent;
	ms->st->memory_bytes = mem;
	return 0;
}

/* ---- the final dump's commit step: the destination has it all ---- */

/*
 * Post-copy, inside the dump's commit step: COMMIT lets the destination
 * run the tree, ours stays frozen and serves its pages.  Returns 0 so the
 * dump kills ours whatever happens from COMMIT on: the destination has
 * run, so resuming ours would run the process twice; a failure is kept
 * in lazy_err (the process is lost).
 */
static int postcopy(struct mig_src *ms)
{
	struct lazy_src_stats ls;
	uint64_t t;
	int ret;

	ret = chan_send(ms->ch, MIG_COMMIT, NULL, 0);
	if (ret) { /* it may have got it: ours must not run on */
		ms->lazy_err = ret;
		pr_err("cannot commit: the link to the destination failed: %s\n", strerror(-ret));
		err_clear();
		return 0;
	}
	t = mig_now_ns();
	ms->st->frozen_ns = t - ms->t_dump;
	test_pause("lazy-serve");
	memset(&ls, 0, sizeof(ls));
	ret = lazy_src_serve(ms->lazy, ms->ch, &ms->done, &ls);
	ms->st->lazy_ns = mig_now_ns() - t;
	ms->st->lazy_pages = ls.req_pages + ls.bg_pages;
	ms->st->lazy_faults = ls.reqs;
	pr_info("post-copy: %llu pages asked for in %llu requests, %llu streamed, %.1f ms\n",
		(unsigned long long)ls.req_pages, (unsigned long long)ls.reqs,
		(unsigned long long)ls.bg_pages, ms->st->lazy_ns / 1e6);
	if (ret) {
		ms->lazy_err = ret;
		pr_err("the link failed during post-copy (%s): the process ran on the destination "
		       "without all its pages, so it is lost there; ours is killed, not resumed\n",
		       strerror(-ret));
		err_clear(); /* the dump goes on to kill ours */
	}
	return 0;
}

static int await_restored(int fd, void *arg)
{
	static const uint8_t want[] = { MIG_RESTORED, 0 };
	struct mig_src *ms = arg;
	const void *buf;
	uint8_t type;
	size_t len;
	int ret;

	(void)fd;
	ret = chan_send(ms->ch, MIG_IMAGE_END, NULL, 0);
	if (ret) {
		pr_err("cannot end the image: the link to the destination failed: %s\n",
		       strerror(-ret));
		return ret;
	}
	ret = mig_expect(ms->ch, "waiting for the destination's restore", want, &type, &buf, &len);
	if (ret)
		return ret;
	ms->restored = true;
	test_pause("mig-commit");
	ret = test_fail("mig-commit");
	if (ret || !ms->lazy)
		return ret;
	return postcopy(ms);
}

static int final_dump(struct mig_src *ms, pid_t pid)
{
	const struct vxcr_migrate_opts *o = ms->o;
	struct track_sink sink = { send_pages, send_drop, ms };
	struct vxcr_dump_opts d = o->dump;
	struct vxcr_dump_stats ds;
	struct track_round final;
	struct vxcr_dump_mig mig;
	int ret;

	memset(&final, 0, sizeof(final));
	memset(&mig, 0, sizeof(mig));
	ret = chan_sink(ms->ch, MIG_IMAGE, &mig.sink);
	if (ret)
		return ret;
	mig.track = ms->track;
	mig.track_sink = &sink;
	mig.final = &final;
	mig.parent_id = ms->store_id;
	if (ms->lazy) {
		mig.lazy = lazy_src_add;
		mig.lazy_arg = ms->lazy;
	}
	d.mig = &mig;
	d.commit = await_restored;
	d.commit_arg = ms;
	d.fsync = false;
	d.keep_net_lock = false;
	ms->round_pages = 0;
	ms->t_dump = mig_now_ns();
	if (o->xid)
		ret = vxcr_dump_ctx(o->xid, o->rundir, -1, &d, &ds);
	else
		ret = vxcr_dump(pid, -1, &d, &ds);
	img_sink_free(mig.sink);
	if (!ms->lazy || !ms->restored)
		ms->st->frozen_ns = ds.frozen_ns;
	ms->st->final_pages = ms->round_pages + ds.pages_written;
	ms->st->held_pages = track_store_pages(ms->track);
	progress(ms, ms->st->rounds, true, ms->round_pages, 0, final.pages_dirty);
	return ret;
}

/* The tree's root: pid, or the context's init. */
static int find_root(const struct vxcr_migrate_opts *o, pid_t pid, pid_t *root)
{
	vx_info_t vi;

	if (!o->xid) {
		*root = pid;
		return 0;
	}
	if (vx_info(o->xid, &vi) < 0) {
		int e = errno;

		pr_err("context %u: %s\n", o->xid, e == ESRCH ? "no such context" : strerror(e));
		return -e;
	}
	*root = vi.initpid;
	return 0;
}

static int hello(struct mig_src *ms)
{
	static const uint8_t want[] = { MIG_READY, 0 };
	struct mig_hello h;
	const void *buf;
	uint8_t type;
	size_t len;
	int ret;

	memset(&h, 0, sizeof(h));
	memcpy(h.magic, MIG_MAGIC, sizeof(h.magic));
	h.version = htole32(MIG_VERSION);
	h.flags = htole32((ms->o->xid ? MIG_F_CTX : 0) | (ms->o->precopy ? MIG_F_PRECOPY : 0) |
			  (ms->lazy ? MIG_F_LAZY : 0));
	memcpy(h.store_id, ms->store_id, sizeof(h.store_id));
	ret = chan_send(ms->ch, MIG_HELLO, &h, sizeof(h));
	if (ret) {
		pr_err("cannot reach the destination: %s\n", strerror(-ret));
		return ret;
	}
	return mig_expect(ms->ch, "waiting for the destination", want, &type, &buf, &len);
}

/* After the kill: COMMIT, then the destination's DONE. */
static int commit(struct mig_src *ms)
{
	static const uint8_t want[] = { MIG_DONE, 0 };
	const struct mig_done *dn;
	const void *buf;
	uint8_t type;
	size_t len;
	int ret;

	ret = chan_send(ms->ch, MIG_COMMIT, NULL, 0);
	if (!ret)
		ret = mig_expect(ms->ch, "waiting for the destination to run it", want, &type, &buf,
				 &len);
	if (!ret && len != sizeof(*dn)) {
		pr_err("the destination's DONE has %zu bytes, not %zu\n", len, sizeof(*dn));
		ret = -EPROTO;
	}
	if (ret) {
		err_clear();
		pr_err("the link failed after the destination restored the tree and ours was "
		       "killed: it runs there only if the destination got the commit (%s)\n",
		       strerror(-ret));
		return -EHOSTDOWN;
	}
	dn = buf;
	ms->st->dest_pid = (pid_t)le32toh(dn->pid);
	ms->st->dest_xid = le32toh(dn->xid);
	return 0;
}

static int migrate(pid_t pid, int sock, const struct vxcr_migrate_opts *o,
		   struct vxcr_migrate_stats *st)
{
	struct vxcr_migrate_opts defaults;
	struct vxcr_migrate_stats local = { 0 };
	struct chan_stats cs;
	struct mig_src ms;
	pid_t root = 0;
	int ret;

	if (!o) {
		vxcr_migrate_opts_init(&defaults);
		o = &defaults;
	}
	memset(&ms, 0, sizeof(ms));
	ms.o = o;
	ms.st = st ? st : &local;
	memset(ms.st, 0, sizeof(*ms.st));
	ms.t0 = mig_now_ns();
	if (!o->key || !o->trusted) {
		close(sock);
		pr_err("a migration needs our key pair and the destination's trusted key\n");
		return -EINVAL;
	}
	if (o->dump.leave_running || o->dump.keep_net_lock || o->dump.parent_fd >= 0) {
		close(sock);
		pr_err("a migration moves the tree: --leave-running, --keep-net-lock and "
		       "--parent do not apply\n");
		return -EINVAL;
	}
	if (o->lazy && (o->precopy || o->xid)) {
		close(sock);
		pr_err("post-copy (--lazy) %s\n",
		       o->xid ? "of a whole context is not supported" : "goes without pre-copy");
		return -EINVAL;
	}
	ret = find_root(o, pid, &root);
	if (ret) {
		close(sock);
		return ret;
	}
	if (o->lazy) {
		ret = lazy_src_new(&ms.lazy);
		if (ret) {
			close(sock);
			return ret;
		}
	}
	if (getrandom(ms.store_id, sizeof(ms.store_id), 0) != sizeof(ms.store_id)) {
		close(sock);
		pr_perror("getrandom");
		return -errno;
	}
	ret = chan_open(sock, false, o->key, o->trusted, o->timeout_ms, &ms.ch);
	if (ret)
		return ret;
	ret = hello(&ms);
	if (!ret && o->precopy)
		ret = precopy(&ms, root);
	if (!ret)
		ret = final_dump(&ms, pid);
	if (!ret && ms.lazy && ms.lazy_err) {
		err_clear();
		pr_err("the link failed during post-copy: the process is lost (killed here, and "
		       "the destination kills its copy)\n");
		ret = -ENOLINK;
	} else if (!ret && ms.lazy) {
		ms.st->dest_pid = (pid_t)le32toh(ms.done.pid);
		ms.st->dest_xid = le32toh(ms.done.xid);
	} else if (!ret) {
		ret = commit(&ms);
	} else {
		mig_send_failed(ms.ch, NULL); /* the destination undoes its restore */
	}
	lazy_src_free(ms.lazy);
	track_free(ms.track);
	chan_get_stats(ms.ch, &cs);
	ms.st->wire_bytes = cs.wire_sent;
	ms.st->crypt_ns = cs.crypt_ns;
	if (!ret)
		chan_close(ms.ch);
	chan_free(ms.ch);
	ms.st->total_ns = mig_now_ns() - ms.t0;
	return ret;
}

int vxcr_migrate(pid_t pid, int sock, const struct vxcr_migrate_opts *o,
		 struct vxcr_migrate_stats *st)
{
	err_op_begin();
	return err_op_end(migrate(pid, sock, o, st));
}
