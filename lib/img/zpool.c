/*
 * Compression pool of the image writer.  The caller copies body bytes once
 * into IMG_FRAME_BYTES frame inputs (struct zslot), a pool of workers
 * compresses them, each with its own ZSTD_CCtx and the same parameters as
 * the caller's-thread path, and the caller writes the finished frames out
 * in order through the pool's output function.  At most 2 x workers frames
 * are in flight.
 *
 * Store mode (uncompressed images): the same slots, filled the same way,
 * but one worker writes each full STORE_CHUNK slot out itself, in order,
 * while the caller fills the next; at most STORE_SLOTS chunks in flight.
 * After a failed write the worker writes nothing more and the error comes
 * back from the next zpool_put() or zpool_finish().
 *
 * Signed images: the worker also hashes each frame as stored (SHA-256 of
 * the compressed frame, a segment of the signature chain, sign.h) while it
 * is still in its cache, and the caller passes the hashes on in order
 * through the pool's segment function.  zpool_finish() ends a frame early
 * where a SIGNATURE record starts the next segment.  A signed uncompressed
 * image uses plain mode: the workers only hash, and the caller writes the
 * frame inputs out in order, as compressed frames.
 *
 * Adaptive mode (the default of a compressed image, zframe.h): each worker
 * decides per frame from a probe of sampled bytes: a frame that compresses
 * well (ZF_RATIO_HIGH) is compressed at the level asked for, one that
 * barely does (below ZF_RATIO_LOW) is stored as a raw-block frame, and one
 * in between is compressed at a fast level only while the sink is the
 * bottleneck: frames are queued for it and its writes wait (blocked, not
 * computing or waiting for a CPU) more than half of their time.  On tmpfs
 * the write is the CPU cost and compressing would take the CPU the reading
 * and writing need; on a slow disk, a pipe or a channel it is idle time.
 * A writer thread writes the frames out in order (a raw frame straight
 * from its input, with writev), measures its writes, and the caller only
 * collects what it wrote.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>

#define LOG_PREFIX "img/zpool: "
#include "log.h"
#include "img/img-internal.h"
#include "img/sign.h"
#include "img/zframe.h"

#define CRC_STEP (64u << 10)   /* copy, then crc while still in cache */
#define STORE_CHUNK (4u << 20) /* store mode: bytes per write */
#define STORE_SLOTS 4	       /* store mode: chunks in flight */
#define AUTO_SLOTS_EXTRA 2     /* adaptive: frames beyond 1 a worker */
#define ZF_RATIO_HIGH 200      /* adaptive: probe ratio (%) always compressed */
#define ZF_RATIO_LOW 115       /* adaptive: below it, always raw */
#define ZF_FAST_LEVEL (-1)     /* adaptive: level of the frames in between */
#define ZF_BACKLOG 2	       /* adaptive: frames queued for the sink */

/*
 * One frame: the caller fills in and hands it over, a worker compresses it
 * into out and sets done, the caller writes out.  In store mode the worker
 * writes in itself before setting done; out is unused.
 */
struct zslot {
	uint8_t *in; /* zpool.slot_bytes */
	size_t in_len;
	uint8_t *out; /* ZSTD_compressBound(IMG_FRAME_BYTES) */
	size_t out_len;
	uint8_t *hdrs;		    /* adaptive: headers of a raw frame */
	bool raw;		    /* adaptive: stored raw (from in, or in
				     * out when hashed) */
	bool done;		    /* under zpool.lock */
	bool wdone;		    /* adaptive: written (under zpool.lock) */
	int err;		    /* compression (or write) error of this frame */
	uint8_t hash[IMG_HASH_LEN]; /* of the frame as stored, when the
					 * pool hashes */
};

struct zworker {
	struct zpool *pool;
	ZSTD_CCtx *cctx;
	ZSTD_CCtx *fast;  /* adaptive: the fast level */
	uint8_t *scratch; /* adaptive: the probe's */
	pthread_t tid;
};

/*
 * Frames are numbered in the order the caller hands them over; frame k uses
 * slots[k % nslots].  queued, taken, stop and each slot's done are under
 * lock; written and cur belong to the caller.
 */
struct zpool {
	pthread_mutex_t lock;
	pthread_cond_t work; /* a frame was queued, or stop */
	pthread_cond_t done; /* a frame was compressed */
	struct zslot *slots;
	unsigned nslots;
	uint64_t queued;   /* frames handed to the workers */
	uint64_t taken;	   /* frames taken by a worker */
	uint64_t written;  /* frames written out */
	struct zslot *cur; /* frame being filled, NULL if none */
	bool stop;
	bool store;	      /* no compression: the worker writes */
	bool plain;	      /* no compression: the worker only hashes */
	bool adaptive;	      /* raw or compressed per frame, writer thread */
	int werr;	      /* store, adaptive: first write error (atomic) */
	pthread_cond_t ready; /* adaptive: a frame is ready to write */
	pthread_t writer;     /* adaptive */
	bool writer_started;
	uint64_t wrote;	     /* adaptive: frames written (under lock; atomic) */
	int sink_slow;	     /* adaptive: the sink's writes wait (atomic) */
	uint64_t t_wall;     /* adaptive, writer: decaying sums of the */
	uint64_t t_busy;     /* writes' wall time and cpu + run queue time */
	int sched_fd;	     /* writer: /proc/thread-self/schedstat, or -1 */
	uint64_t n_raw, n_z; /* adaptive: frames stored raw, compressed */
	zpool_outv_fn outv;  /* adaptive: writes on the writer thread */
	size_t slot_bytes;   /* input bytes of a slot */
	struct zworker *workers;
	unsigned nalloc;   /* workers allocated */
	unsigned nworkers; /* started */
	zpool_out_fn out;
	zpool_seg_fn seg; /* NULL: frames are not hashed */
	void *out_ctx;
	struct vxcr_error *err; /* the operation's: workers fail into it */
};

/* Creates a zstd context with the level (0: 1) and a window of one frame.
 * Returns 0 or -errno. */
int img_new_cctx(int level, ZSTD_CCtx **out)
{
	ZSTD_CCtx *cctx;
	size_t zr;

	if (!level)
		level = 1;
	if (level > ZSTD_maxCLevel())
		level = ZSTD_maxCLevel();
	if (level < ZSTD_minCLevel())
		level = ZSTD_minCLevel();
	cctx = ZSTD_createCCtx();
	if (!cctx)
		return -ENOMEM;
	zr = ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, level);
	if (!ZSTD_isError(zr))
		zr = ZSTD_CCtx_setParameter(cctx, ZSTD_c_windowLog, IMG_ZSTD_WINDOW_LOG);
	if (ZSTD_isError(zr)) {
		pr_err("zstd setup: %s\n", ZSTD_getErrorName(zr));
		ZSTD_freeCCtx(cctx);
		return -EINVAL;
	}
	*out = cctx;
	return 0;
}
/* Compresses one frame input into s->out on a worker: 0 or -EIO.  Streams
 * it like the caller's-thread path (unknown content size, window log as
 * set) so that every frame header is one the reader accepts. */
static int zslot_compress(ZSTD_CCtx *cctx, struct zslot *s)
{
	ZSTD_inBuffer in = { s->in, s->in_len, 0 };
	ZSTD_outBuffer out = { s->out, ZSTD_compressBound(IMG_FRAME_BYTES), 0 };
	size_t zr;

	zr = ZSTD_compressStream2(cctx, &out, &in, ZSTD_e_continue);
	if (!ZSTD_isError(zr))
		zr = ZSTD_compressStream2(cctx, &out, &in, ZSTD_e_end);
	if (ZSTD_isError(zr) || zr) {
		pr_err("zstd compression: %s\n",
		       ZSTD_isError(zr) ? ZSTD_getErrorName(zr) : "frame exceeds its bound");
		ZSTD_CCtx_reset(cctx, ZSTD_reset_session_only);
		return -EIO;
	}
	s->out_len = out.pos;
	return 0;
}

/* Store mode: writes a chunk out unless an earlier write failed (then
 * returns that error).  Only one worker runs, so chunks go out in order. */
static int zslot_store(struct zpool *p, struct zslot *s)
{
	int err = __atomic_load_n(&p->werr, __ATOMIC_ACQUIRE);

	if (!err)
		err = p->out(p->out_ctx, s->in, s->in_len);
	if (err)
		__atomic_store_n(&p->werr, err, __ATOMIC_RELEASE);
	return err;
}

/* Adaptive: whether the sink holds the frames back (frame k is the one
 * being decided): it waits in its writes and has frames queued. */
static bool sink_bottleneck(struct zpool *p, uint64_t k)
{
	return __atomic_load_n(&p->sink_slow, __ATOMIC_RELAXED) &&
	       k - __atomic_load_n(&p->wrote, __ATOMIC_RELAXED) >= ZF_BACKLOG;
}

/*
 * Adaptive: compresses frame k (slot s) or stores it raw, as its probe and
 * the sink say (head comment).  A raw frame is written from s->in by the
 * writer thread; when frames are hashed it is encoded into s->out here, so
 * that the hash covers the bytes as stored.  0 or -EIO.
 */
static int zslot_auto(struct zpool *p, struct zworker *wk, struct zslot *s, uint64_t k)
{
	unsigned ratio = zframe_probe(wk->cctx, s->in, s->in_len, wk->scratch);
	ZSTD_CCtx *cctx = NULL;
	int err;

	if (ratio >= ZF_RATIO_HIGH)
		cctx = wk->cctx;
	else if (ratio >= ZF_RATIO_LOW && sink_bottleneck(p, k))
		cctx = wk->fast;
	s->raw = false;
	if (cctx) {
		err = zslot_compress(cctx, s);
		if (err)
			return err;
		pr_debug("frame %llu: probe %u%%, %zu -> %zu\n", (unsigned long long)k, ratio,
			 s->in_len, s->out_len);
		if (s->out_len < zframe_raw_len(s->in_len))
			return 0;
	}
	pr_debug("frame %llu: probe %u%%, %s\n", (unsigned long long)k, ratio,
		 cctx ? "kept raw" : "raw");
	s->raw = true;
	if (p->seg)
		s->out_len = zframe_raw_encode(s->out, s->in, s->in_len);
	return 0;
}

/* Hashes the frame of s as it goes into the image: compressed, or as it is
 * without compression. */
static void zslot_hash(const struct zpool *p, struct zslot *s)
{
	if (p->store || p->plain)
		img_hash(s->hash, s->in, s->in_len);
	else
		img_hash(s->hash, s->out, s->out_len);
}

/* Nanoseconds of a clock. */
static uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

/* The writer thread's cpu time plus its time waiting for a cpu
 * (schedstat's run delay, when the kernel has it). */
static uint64_t busy_ns(struct zpool *p)
{
	unsigned long long run, delay = 0;
	char buf[96];
	ssize_t n;

	if (p->sched_fd >= 0) {
		n = pread(p->sched_fd, buf, sizeof(buf) - 1, 0);
		buf[n > 0 ? n : 0] = 0;
		if (n <= 0 || sscanf(buf, "%llu %llu", &run, &delay) != 2)
			delay = 0;
	}
	return clock_ns(CLOCK_THREAD_CPUTIME_ID) + delay;
}

/*
 * Adaptive, writer thread: writes frame s (raw from its input, or as
 * compressed or encoded in out) unless an earlier write failed, and
 * updates whether the sink is slow: over the last writes (decaying), more
 * than half of the wall time spent neither on a cpu nor waiting for one.
 */
static int zslot_write(struct zpool *p, struct zslot *s)
{
	struct iovec iov[2 * (IMG_FRAME_BYTES / ZF_BLOCK_MAX) + 2];
	uint64_t w0, b0, wall, busy;
	int err = __atomic_load_n(&p->werr, __ATOMIC_ACQUIRE), cnt = 1;

	if (err)
		return err;
	w0 = clock_ns(CLOCK_MONOTONIC);
	b0 = busy_ns(p);
	if (s->raw && !p->seg) {
		cnt = zframe_raw_iov(s->hdrs, s->in, s->in_len, iov);
	} else {
		iov[0].iov_base = s->out;
		iov[0].iov_len = s->out_len;
	}
	err = p->outv(p->out_ctx, iov, cnt);
	if (err) {
		__atomic_store_n(&p->werr, err, __ATOMIC_RELEASE);
		return err;
	}
	wall = clock_ns(CLOCK_MONOTONIC) - w0;
	busy = busy_ns(p) - b0;
	p->t_wall = p->t_wall - p->t_wall / 4 + wall;
	p->t_busy = p->t_busy - p->t_busy / 4 + (busy < wall ? busy : wall);
	__atomic_store_n(&p->sink_slow, p->t_wall > 2 * p->t_busy, __ATOMIC_RELAXED);
	if (s->raw)
		p->n_raw++;
	else
		p->n_z++;
	return 0;
}

/* Adaptive: the writer thread; writes ready frames in order until stopped. */
static void *zwriter_main(void *arg)
{
	struct zpool *p = arg;
	struct zslot *s;
	int err;

	err_attach(p->err);
	p->sched_fd = open("/proc/thread-self/schedstat", O_RDONLY | O_CLOEXEC);
	pthread_mutex_lock(&p->lock);
	for (;;) {
		s = &p->slots[p->wrote % p->nslots];
		while (!p->stop && !(p->wrote < p->queued && s->done))
			pthread_cond_wait(&p->ready, &p->lock);
		if (p->stop)
			break;
		pthread_mutex_unlock(&p->lock);
		err = s->err ? s->err : zslot_write(p, s);
		if (err) /* nothing after a failed frame goes out */
			__atomic_store_n(&p->werr, err, __ATOMIC_RELEASE);
		pthread_mutex_lock(&p->lock);
		s->err = err;
		s->wdone = true;
		__atomic_store_n(&p->wrote, p->wrote + 1, __ATOMIC_RELAXED);
		pthread_cond_broadcast(&p->done);
	}
	pthread_mutex_unlock(&p->lock);
	if (p->sched_fd >= 0)
		close(p->sched_fd);
	return NULL;
}

/* Worker: compresses (or, store, writes) queued frames in turn until
 * stopped. */
static void *zworker_main(void *arg)
{
	struct zworker *wk = arg;
	struct zpool *p = wk->pool;
	struct zslot *s;
	uint64_t k;
	int err;

	err_attach(p->err);
	pthread_mutex_lock(&p->lock);
	for (;;) {
		while (!p->stop && p->taken == p->queued)
			pthread_cond_wait(&p->work, &p->lock);
		if (p->stop)
			break;
		k = p->taken++;
		s = &p->slots[k % p->nslots];
		pthread_mutex_unlock(&p->lock);
		if (p->adaptive)
			err = zslot_auto(p, wk, s, k);
		else
			err = p->store ? zslot_store(p, s) :
			      p->plain ? 0 :
					 zslot_compress(wk->cctx, s);
		if (!err && p->seg)
			zslot_hash(p, s);
		pthread_mutex_lock(&p->lock);
		s->err = err;
		s->done = true;
		pthread_cond_signal(p->adaptive ? &p->ready : &p->done);
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

/*
 * Writes compressed frames to the sink in order, up to frame upto: only those
 * already done, or (wait) waiting for each.  In store mode the worker has
 * written them, in adaptive mode the writer thread: only collects them.  Returns 0 or the first error (of
 * compression or of the write).
 */
static int pool_write(struct zpool *p, uint64_t upto, bool wait)
{
	struct zslot *s;
	int ret = 0;

	pthread_mutex_lock(&p->lock);
	while (!ret && p->written < upto) {
		s = &p->slots[p->written % p->nslots];
		if (!(p->adaptive ? s->wdone : s->done)) {
			if (!wait)
				break;
			pthread_cond_wait(&p->done, &p->lock);
			continue;
		}
		pthread_mutex_unlock(&p->lock);
		ret = s->err;
		if (!ret && !p->store && !p->adaptive)
			ret = p->out(p->out_ctx, p->plain ? s->in : s->out,
				     p->plain ? s->in_len : s->out_len);
		if (!ret && p->seg)
			p->seg(p->out_ctx, s->hash);
		pthread_mutex_lock(&p->lock);
		p->written++;
	}
	pthread_mutex_unlock(&p->lock);
	return ret;
}

/* Hands the frame being filled to the workers, then writes finished ones. */
static int pool_submit(struct zpool *p)
{
	pthread_mutex_lock(&p->lock);
	p->cur->done = false;
	p->cur->wdone = false;
	p->cur = NULL;
	p->queued++;
	pthread_cond_signal(&p->work);
	pthread_mutex_unlock(&p->lock);
	return pool_write(p, p->queued, false);
}

/* Makes p->cur an empty frame, writing out the oldest one if all are busy. */
static int pool_reserve(struct zpool *p)
{
	int ret;

	if (p->queued - p->written == p->nslots) {
		ret = pool_write(p, p->written + 1, true);
		if (ret)
			return ret;
	}
	p->cur = &p->slots[p->queued % p->nslots];
	p->cur->in_len = 0;
	return 0;
}

/* Copies body bytes into frame inputs, handing over each full one; with
 * crc, computes the crc32c over the copy while it is still in cache.
 * Returns 0 or the first error (in store mode also one of a write that
 * failed on the worker since the last call). */
int zpool_put(struct zpool *p, const uint8_t *buf, size_t len, uint32_t *crc)
{
	uint8_t *dst;
	size_t n;
	int ret;

	if (p->store || p->adaptive) {
		ret = __atomic_load_n(&p->werr, __ATOMIC_ACQUIRE);
		if (ret)
			return ret;
	}
	while (len) {
		if (!p->cur) {
			ret = pool_reserve(p);
			if (ret)
				return ret;
		}
		n = p->slot_bytes - p->cur->in_len;
		n = n < len ? n : len;
		n = n < CRC_STEP ? n : CRC_STEP;
		dst = p->cur->in + p->cur->in_len;
		memcpy(dst, buf, n);
		if (crc)
			*crc = crc32c(*crc, dst, n);
		p->cur->in_len += n;
		buf += n;
		len -= n;
		if (p->cur->in_len == p->slot_bytes) {
			ret = pool_submit(p);
			if (ret)
				return ret;
		}
	}
	return 0;
}

/* Stops and joins the workers, frees the pool; unwritten frames are lost. */
void zpool_free(struct zpool *p)
{
	unsigned i;

	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	p->stop = true;
	pthread_cond_broadcast(&p->work);
	pthread_cond_broadcast(&p->ready);
	pthread_mutex_unlock(&p->lock);
	for (i = 0; i < p->nworkers; i++)
		pthread_join(p->workers[i].tid, NULL);
	if (p->writer_started)
		pthread_join(p->writer, NULL);
	if (p->adaptive)
		pr_debug("frames: %llu raw, %llu compressed\n", (unsigned long long)p->n_raw,
			 (unsigned long long)p->n_z);
	for (i = 0; i < p->nalloc; i++) {
		ZSTD_freeCCtx(p->workers[i].cctx);
		ZSTD_freeCCtx(p->workers[i].fast);
		free(p->workers[i].scratch);
	}
	for (i = 0; p->slots && i < p->nslots; i++) {
		free(p->slots[i].in);
		free(p->slots[i].out);
		free(p->slots[i].hdrs);
	}
	free(p->workers);
	free(p->slots);
	pthread_cond_destroy(&p->ready);
	pthread_cond_destroy(&p->done);
	pthread_cond_destroy(&p->work);
	pthread_mutex_destroy(&p->lock);
	free(p);
}

#define HUGE_ALIGN (2ul << 20)

/*
 * A frame buffer of len bytes in transparent huge pages where the kernel
 * has them (madvise mode): its first touch, in the freeze, then faults 2
 * MiB at a time instead of a page at a time.  NULL without memory.
 */
static void *slot_alloc(size_t len)
{
	size_t n = (len + HUGE_ALIGN - 1) & ~(HUGE_ALIGN - 1);
	void *p = aligned_alloc(HUGE_ALIGN, n);

	if (p)
		madvise(p, n, MADV_HUGEPAGE);
	return p;
}

/* Allocates the slots and workers of a pool of n workers: 2 frames and a
 * zstd context each, or in store mode STORE_SLOTS chunks and no context. */
static int pool_alloc(struct zpool *p, unsigned n, int level)
{
	size_t bound = ZSTD_compressBound(IMG_FRAME_BYTES);
	unsigned i;
	int ret;

	p->nslots = p->store ? STORE_SLOTS : p->adaptive ? n + AUTO_SLOTS_EXTRA : 2 * n;
	p->slot_bytes = p->store ? STORE_CHUNK : IMG_FRAME_BYTES;
	p->slots = calloc(p->nslots, sizeof(*p->slots));
	p->workers = calloc(n, sizeof(*p->workers));
	if (!p->slots || !p->workers)
		return -ENOMEM;
	p->nalloc = n;
	for (i = 0; i < p->nslots; i++) {
		p->slots[i].in = slot_alloc(p->slot_bytes);
		if (!p->store && !p->plain) /* touched as far as used: 4 KiB pages */
			p->slots[i].out = malloc(bound);
		if (!p->slots[i].in || (!p->store && !p->plain && !p->slots[i].out))
			return -ENOMEM;
		if (p->adaptive) {
			p->slots[i].hdrs = malloc(zframe_raw_hdrs_len(IMG_FRAME_BYTES));
			if (!p->slots[i].hdrs)
				return -ENOMEM;
		}
	}
	for (i = 0, ret = 0; !ret && i < n; i++) {
		p->workers[i].pool = p;
		if (p->store || p->plain)
			continue;
		ret = img_new_cctx(level, &p->workers[i].cctx);
		if (ret || !p->adaptive)
			continue;
		ret = img_new_cctx(ZF_FAST_LEVEL, &p->workers[i].fast);
		p->workers[i].scratch = malloc(ZF_PROBE_SCRATCH);
		if (!ret && !p->workers[i].scratch)
			ret = -ENOMEM;
	}
	return ret;
}

/* Starts a pool of n workers (store: one writer) with all signals blocked
 * (signals for the process go to the caller's threads, and a write to a
 * broken pipe fails with EPIPE instead of killing the process).  Returns 0
 * or -errno; on success *pp owns the pool. */
enum pool_mode { POOL_ZSTD, POOL_STORE, POOL_PLAIN, POOL_AUTO };

static int pool_start(enum pool_mode mode, unsigned n, int level, zpool_out_fn out,
		      zpool_outv_fn outv, zpool_seg_fn seg, void *ctx, struct zpool **pp)
{
	bool store = mode == POOL_STORE, plain = mode == POOL_PLAIN;
	struct zpool *p;
	sigset_t all, old;
	int ret;

	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->work, NULL);
	pthread_cond_init(&p->done, NULL);
	pthread_cond_init(&p->ready, NULL);
	p->store = store;
	p->plain = plain;
	p->adaptive = mode == POOL_AUTO;
	p->sched_fd = -1;
	p->out = out;
	p->outv = outv;
	p->seg = seg;
	p->out_ctx = ctx;
	p->err = err_current();
	ret = pool_alloc(p, n, level);
	if (ret)
		goto out_free;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	for (; p->nworkers < n; p->nworkers++) {
		ret = -pthread_create(&p->workers[p->nworkers].tid, NULL, zworker_main,
				      &p->workers[p->nworkers]);
		if (ret) {
			pr_err("starting %s thread %u of %u: %s\n",
			       store ? "writer" :
			       plain ? "hashing" :
				       "compression",
			       p->nworkers + 1, n, strerror(-ret));
			break;
		}
	}
	if (!ret && p->adaptive) {
		ret = -pthread_create(&p->writer, NULL, zwriter_main, p);
		p->writer_started = !ret;
		if (ret)
			pr_err("starting the writer thread: %s\n", strerror(-ret));
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (ret)
		goto out_free;
	*pp = p;
	return 0;

out_free:
	zpool_free(p);
	return ret;
}

/* Starts n compression workers; finished frames go to out(ctx) on the
 * caller's thread, and with seg their input hashes to seg(ctx), in order.
 * Returns 0 or -errno; on success *pp owns the pool. */
int zpool_start(unsigned n, int level, zpool_out_fn out, zpool_seg_fn seg, void *ctx,
		struct zpool **pp)
{
	return pool_start(POOL_ZSTD, n, level, out, NULL, seg, ctx, pp);
}

/* Starts n workers that only hash frame inputs (seg: required); the inputs
 * go to out(ctx) on the caller's thread, in order, as they are.  Returns 0
 * or -errno; on success *pp owns the pool. */
int zpool_start_plain(unsigned n, zpool_out_fn out, zpool_seg_fn seg, void *ctx, struct zpool **pp)
{
	return pool_start(POOL_PLAIN, n, 0, out, NULL, seg, ctx, pp);
}

/* Starts a store-mode pool: one thread writes the body through out(ctx)
 * in STORE_CHUNK pieces, unchanged.  Returns 0 or -errno; on success *pp
 * owns the pool. */
int zpool_start_store(zpool_out_fn out, zpool_seg_fn seg, void *ctx, struct zpool **pp)
{
	return pool_start(POOL_STORE, 1, 0, out, NULL, seg, ctx, pp);
}

/* Starts an adaptive pool (head comment): n workers decide and compress at
 * level (the probe's too; -1 is used for the frames in between), a writer
 * thread writes through outv(ctx); with seg, frame hashes go to seg(ctx)
 * on the caller's thread, in order.  Returns 0 or -errno; on success *pp
 * owns the pool. */
int zpool_start_auto(unsigned n, int level, zpool_outv_fn outv, zpool_seg_fn seg, void *ctx,
		     struct zpool **pp)
{
	return pool_start(POOL_AUTO, n, level, NULL, outv, seg, ctx, pp);
}

/* Hands over the frame being filled and writes every frame out: 0 or the
 * first error.  The pool stays usable: the writer also calls it to end a
 * signature segment early (the next frame starts a new one). */
int zpool_finish(struct zpool *p)
{
	int ret = 0;

	if (p->cur)
		ret = pool_submit(p);
	if (!ret)
		ret = pool_write(p, p->queued, true);
	return ret;
}
