/*
 * Dirty-page tracking for live migration's pre-copy (track.h; NOTES:
 * "Dirty pages without soft-dirty (issue 15)").
 *
 * Per process: a userfaultfd made inside it (one thread seized for the
 * injected userfaultfd() and close(), then detached: track-uffd.c), with
 * WP_ASYNC | WP_UNPOPULATED; its private areas registered for write-protect
 * from here.  A round reads /proc/PID/maps, drops what the store holds
 * outside the areas, registers, protects and copies whole the areas not
 * registered yet (PAGE_IS_WPALLOWED tells: a new mmap, an mremap, a mapping
 * replaced), and asks PAGEMAP_SCAN for the pages written in the others,
 * protecting them again in the same call.  Pages are read in batches
 * (process_vm_readv, or /proc/PID/mem in a tree: no pin, no unsharing of
 * copy-on-write pages); all-zero ones are dropped from the store instead
 * of sent.  The mirror of the store is a bitmap per area.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/userfaultfd.h>
#include <sys/ioctl.h>
#include <sys/uio.h>

#define LOG_PREFIX "dump/track: "
#include "log.h"
#include "dump/dump.h"
#include "dump/pagemap.h"
#include "dump/track.h"
#include "dump/track-int.h"

#define PAGE_SZ 4096ul
#define BATCH_BYTES TRK_BATCH_BYTES
#define BATCH_IOVS 1024 /* IOV_MAX */
#define SCAN_REGIONS 512
#define CANDIDATE_SKIP (PAGE_IS_FILE | PAGE_IS_PFNZERO | PAGE_IS_GUARD)

/* The open read batch: ranges of one process, read into buf at once. */
struct trk_batch {
	struct trk_proc *p;
	uint8_t *buf;
	size_t used;
	struct iovec iov[BATCH_IOVS];
	size_t n_iov;
};

struct track {
	struct trk_proc *procs;
	size_t n_procs;
	unsigned round;
	bool final; /* the last round began: no more rounds */
	struct trk_batch b;
	const struct track_sink *s;
	struct track_round *st;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

/* Word-wise zero test of one page, with an early exit every 256 bytes. */
/* Bitmap of an area: bit i = page start + i * PAGE_SZ is held. */
static size_t area_pages(const struct trk_area *a)
{
	return (a->end - a->start) / PAGE_SZ;
}

static void bits_set(uint64_t *m, size_t i, size_t j, bool v)
{
	for (; i < j && i % 64; i++)
		m[i / 64] = v ? m[i / 64] | 1ull << (i % 64) : m[i / 64] & ~(1ull << (i % 64));
	for (; i + 64 <= j; i += 64)
		m[i / 64] = v ? ~0ull : 0;
	for (; i < j; i++)
		m[i / 64] = v ? m[i / 64] | 1ull << (i % 64) : m[i / 64] & ~(1ull << (i % 64));
}

/* First index in [i, n) whose bit is v, or n. */
static size_t bit_find(const uint64_t *m, size_t i, size_t n, bool v)
{
	uint64_t w;

	while (i < n) {
		w = v ? m[i / 64] : ~m[i / 64];
		w &= ~0ull << (i % 64);
		if (w) {
			i = i / 64 * 64 + __builtin_ctzll(w);
			return i < n ? i : n;
		}
		i = i / 64 * 64 + 64;
	}
	return n;
}

/* The first held run of a at or above addr, below end: true with [*s, *e). */
static bool held_run(const struct trk_area *a, uint64_t addr, uint64_t end, uint64_t *s,
		     uint64_t *e)
{
	size_t n, i, j;

	if (!a->held || addr >= a->end || end <= a->start)
		return false;
	if (addr < a->start)
		addr = a->start;
	if (end > a->end)
		end = a->end;
	n = (end - a->start) / PAGE_SZ;
	i = bit_find(a->held, (addr - a->start) / PAGE_SZ, n, true);
	if (i >= n)
		return false;
	j = bit_find(a->held, i, n, false);
	*s = a->start + i * PAGE_SZ;
	*e = a->start + j * PAGE_SZ;
	return true;
}

/* The store forgets [s, e) of p; the mirror first (a failed drop errs safe). */
static int drop(struct track *t, struct trk_proc *p, struct trk_area *a, uint64_t s, uint64_t e)
{
	int ret;

	if (a && a->held)
		bits_set(a->held, (s - a->start) / PAGE_SZ, (e - a->start) / PAGE_SZ, false);
	ret = t->s->drop(t->s->arg, p->key, s, e - s);
	if (ret)
		pr_err("pid %d: the store cannot drop %#llx-%#llx: %s\n", p->pid,
		       (unsigned long long)s, (unsigned long long)e, strerror(-ret));
	return ret;
}

/* Drops every held page of a in [s, e). */
static int drop_held(struct track *t, struct trk_proc *p, struct trk_area *a, uint64_t s,
		     uint64_t e)
{
	uint64_t rs, re;
	int ret = 0;

	while (!ret && held_run(a, s, e, &rs, &re)) {
		ret = drop(t, p, a, rs, re);
		s = re;
	}
	return ret;
}

static struct trk_area *area_at(const struct trk_area *v, size_t n, uint64_t addr)
{
	size_t lo = 0, hi = n, mid;

	while (lo < hi) {
		mid = (lo + hi) / 2;
		if (addr < v[mid].start)
			hi = mid;
		else if (addr >= v[mid].end)
			lo = mid + 1;
		else
			return (struct trk_area *)&v[mid];
	}
	return NULL;
}

/* Start of the first area of v above addr, or UINT64_MAX. */
static uint64_t next_start(const struct trk_area *v, size_t n, uint64_t addr)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (v[i].start > addr)
			return v[i].start;
	return UINT64_MAX;
}

static void areas_free(struct trk_area *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i].held);
	free(v);
}

/* Held pages of old areas o outside the new areas nv: dropped. */
static int drop_uncovered(struct track *t, struct trk_proc *p, struct trk_area *nv, size_t nn)
{
	struct trk_area *o, *na;
	uint64_t rs, re, addr, seg;
	size_t i;
	int ret = 0;

	for (i = 0; !ret && i < p->n_areas; i++) {
		o = &p->areas[i];
		for (addr = o->start; !ret && held_run(o, addr, o->end, &rs, &re); addr = re) {
			for (addr = rs; !ret && addr < re; addr = seg) {
				na = area_at(nv, nn, addr);
				seg = na ? na->end : next_start(nv, nn, addr);
				seg = seg < re ? seg : re;
				if (!na)
					ret = t->s->drop(t->s->arg, p->key, addr, seg - addr);
			}
		}
	}
	if (ret)
		pr_err("pid %d: the store cannot drop pages: %s\n", p->pid, strerror(-ret));
	return ret;
}

/* Copies the held bits of old areas into new area a (same addresses). */
static void carry_bits(const struct trk_proc *p, struct trk_area *a)
{
	uint64_t rs, re, s, e;
	size_t i;

	for (i = 0; i < p->n_areas; i++) {
		const struct trk_area *o = &p->areas[i];

		if (o->start == a->start && o->end == a->end)
			a->untracked = o->untracked;
		for (s = a->start; held_run(o, s, a->end, &rs, &re); s = re) {
			e = re;
			bits_set(a->held, (rs - a->start) / PAGE_SZ, (e - a->start) / PAGE_SZ,
				 true);
		}
	}
}

#define TRACK_AREA_MAX (64ull << 30)

/* Areas whose pages the dump stores privately: not shared, not the kernel's,
 * not bigger than TRACK_AREA_MAX. */
static bool trackable(const struct proc_vma *v)
{
	static const char *const special[] = { "[vdso]", "[vvar]", "[vvar_vclock]", "[vsyscall]" };
	size_t i;

	if (v->shared || v->end <= v->start)
		return false;
	/* a huge sparse reservation (ASan's shadow is terabytes): its bitmap
	 * and scans would cost more than the few pages it has; they go in the
	 * frozen image */
	if (v->end - v->start > TRACK_AREA_MAX)
		return false;
	for (i = 0; i < sizeof(special) / sizeof(special[0]); i++)
		if (!strcmp(v->name, special[i]))
			return false;
	return true;
}

/*
 * The trackable areas of p now, held bits carried over by address; what
 * the store holds outside them is dropped.  0 or -errno.
 */
static int refresh_areas(struct track *t, struct trk_proc *p)
{
	struct proc_vma_list l = { 0 };
	struct trk_area *nv;
	char *text = NULL;
	size_t i, n = 0;
	int ret;

	ret = proc_read_file(p->pid, "maps", &text, NULL);
	ret = ret ?: proc_parse_smaps(text, &l);
	free(text);
	if (ret)
		return ret;
	nv = calloc(l.n ? l.n : 1, sizeof(*nv));
	ret = nv ? 0 : -ENOMEM;
	for (i = 0; !ret && i < l.n; i++) {
		if (!trackable(&l.v[i]))
			continue;
		nv[n].start = l.v[i].start;
		nv[n].end = l.v[i].end;
		nv[n].held = calloc((area_pages(&nv[n]) + 63) / 64, 8);
		if (!nv[n].held)
			ret = -ENOMEM;
		else
			carry_bits(p, &nv[n]);
		n++;
	}
	proc_vma_list_free(&l);
	ret = ret ?: drop_uncovered(t, p, nv, n);
	if (ret) {
		areas_free(nv, n);
		return ret;
	}
	areas_free(p->areas, p->n_areas);
	p->areas = nv;
	p->n_areas = n;
	return 0;
}

/* Sends the non-zero runs of block [addr, addr + len) at data; zero pages dropped. */
static int emit_block(struct track *t, struct trk_proc *p, uint64_t addr, const uint8_t *data,
		      size_t len)
{
	struct trk_area *a = area_at(p->areas, p->n_areas, addr);
	size_t i = 0, j;
	uint64_t t0;
	int ret = 0;

	while (!ret && i < len) {
		bool zero = dump_page_zero(data + i);

		for (j = i + PAGE_SZ; j < len && dump_page_zero(data + j) == zero; j += PAGE_SZ)
			;
		if (zero) {
			ret = drop_held(t, p, a, addr + i, addr + j);
		} else {
			t0 = now_ns();
			ret = t->s->pages(t->s->arg, p->key, addr + i, data + i, j - i);
			t->st->send_ns += now_ns() - t0;
			if (ret)
				pr_err("pid %d: the store cannot take %#llx-%#llx: %s\n", p->pid,
				       (unsigned long long)(addr + i),
				       (unsigned long long)(addr + j), strerror(-ret));
			else if (a)
				bits_set(a->held, (addr + i - a->start) / PAGE_SZ,
					 (addr + j - a->start) / PAGE_SZ, true);
			t->st->pages_sent += (j - i) / PAGE_SZ;
		}
		i = j;
	}
	return ret;
}

/* Reads the batch (ranges never cross areas) and hands it on. */
static int flush_batch(struct track *t)
{
	struct trk_batch *b = &t->b;
	size_t i, off = 0;
	uint64_t t0 = now_ns();
	bool *ok;
	int ret = 0;

	if (!b->n_iov)
		return 0;
	ok = calloc(b->n_iov, sizeof(*ok));
	if (!ok)
		return -ENOMEM;
	trk_read(b->p, b->buf, b->iov, b->n_iov, ok);
	t->st->read_ns += now_ns() - t0;
	for (i = 0; !ret && i < b->n_iov; i++) {
		uint64_t addr = (uintptr_t)b->iov[i].iov_base, len = b->iov[i].iov_len;
		struct trk_area *a = area_at(b->p->areas, b->p->n_areas, addr);

		/* unreadable now (unmapped meanwhile): not held */
		ret = ok[i] ? emit_block(t, b->p, addr, b->buf + off, len) :
			      drop_held(t, b->p, a, addr, addr + len);
		off += len;
	}
	free(ok);
	b->n_iov = 0;
	b->used = 0;
	return ret;
}

/* Queues [s, e) of p for reading. */
static int queue(struct track *t, struct trk_proc *p, uint64_t s, uint64_t e)
{
	struct trk_batch *b = &t->b;
	struct iovec *last;
	size_t len;
	int ret;

	if (b->n_iov && b->p != p) {
		ret = flush_batch(t);
		if (ret)
			return ret;
	}
	b->p = p;
	t->st->pages_dirty += (e - s) / PAGE_SZ;
	while (s < e) {
		if (b->used == BATCH_BYTES || b->n_iov == BATCH_IOVS) {
			ret = flush_batch(t);
			if (ret)
				return ret;
		}
		len = e - s < BATCH_BYTES - b->used ? e - s : BATCH_BYTES - b->used;
		last = b->n_iov ? &b->iov[b->n_iov - 1] : NULL;
		if (last && (uintptr_t)last->iov_base + last->iov_len == s &&
		    area_at(p->areas, p->n_areas, s) ==
			    area_at(p->areas, p->n_areas, (uintptr_t)last->iov_base)) {
			last->iov_len += len;
		} else {
			b->iov[b->n_iov].iov_base = (void *)(uintptr_t)s;
			b->iov[b->n_iov++].iov_len = len;
		}
		b->used += len;
		s += len;
	}
	return 0;
}

/*
 * One PAGEMAP_SCAN call over [*start, end) of p; *n regions in reg.
 * Returns 0 (then *start moves on, to end once done) or -errno.
 */
static int scan(struct track *t, struct trk_proc *p, struct pm_scan_arg *a, uint64_t *start,
		uint64_t end, struct page_region *reg, long *n)
{
	uint64_t t0 = now_ns();

	*n = pm_scan(p->pagemap_fd, a, *start, end, reg, SCAN_REGIONS);
	t->st->scan_ns += now_ns() - t0;
	if (*n < 0)
		return -errno;
	*start = *n < SCAN_REGIONS || a->walk_end <= *start ? end : a->walk_end;
	return 0;
}

/*
 * The pages of a the dump would store (present or swapped, not the file's,
 * not the zero page, not a guard): queued (copy), or, with copy false,
 * every held page outside them dropped.  0 or -errno.
 */
static int scan_candidates(struct track *t, struct trk_proc *p, struct trk_area *a, bool copy)
{
	struct page_region reg[SCAN_REGIONS];
	uint64_t start = a->start, prev = start;
	struct pm_scan_arg sa;
	long n, i;
	int ret = 0;

	while (!ret && start < a->end) {
		memset(&sa, 0, sizeof(sa));
		sa.category_inverted = CANDIDATE_SKIP;
		sa.category_mask = CANDIDATE_SKIP;
		sa.category_anyof_mask = PAGE_IS_PRESENT | PAGE_IS_SWAPPED;
		sa.return_mask = PAGE_IS_PRESENT;
		ret = scan(t, p, &sa, &start, a->end, reg, &n);
		for (i = 0; !ret && i < n; i++) {
			if (copy)
				ret = queue(t, p, reg[i].start, reg[i].end);
			else
				ret = drop_held(t, p, a, prev, reg[i].start);
			prev = reg[i].end;
		}
	}
	if (!ret && !copy)
		ret = drop_held(t, p, a, prev, a->end);
	return ret;
}

/* Is all of a registered with our uffd (write-protect, async)?  1, 0, -errno. */
static int registered(struct track *t, struct trk_proc *p, const struct trk_area *a)
{
	struct page_region reg;
	struct pm_scan_arg sa;
	uint64_t t0 = now_ns();
	long n;

	memset(&sa, 0, sizeof(sa));
	sa.max_pages = 1;
	sa.category_inverted = PAGE_IS_WPALLOWED;
	sa.category_mask = PAGE_IS_WPALLOWED;
	sa.return_mask = PAGE_IS_WPALLOWED;
	n = pm_scan(p->pagemap_fd, &sa, a->start, a->end, &reg, 1);
	t->st->scan_ns += now_ns() - t0;
	if (n < 0)
		return -errno;
	return n == 0;
}

/*
 * The pages of registered a written since the last scan, protected again
 * in the same call, queued.  The kernel's fast path needs category and
 * return masks of exactly PAGE_IS_WRITTEN (4x faster on 1 GiB), so what
 * was written but is no page the dump stores (zapped, then read as the
 * zero page) is read too: zeros are dropped, and the last round drops
 * whatever else is not a candidate (scan_candidates).  An area that
 * changed under the scan (-EPERM: part of it not ours any more) has
 * everything it held dropped.  0 or -errno.
 */
static int scan_written(struct track *t, struct trk_proc *p, struct trk_area *a)
{
	struct page_region reg[SCAN_REGIONS];
	uint64_t start = a->start;
	struct pm_scan_arg sa;
	long n, i;
	int ret = 0;

	while (!ret && start < a->end) {
		memset(&sa, 0, sizeof(sa));
		sa.flags = PM_SCAN_WP_MATCHING | PM_SCAN_CHECK_WPASYNC;
		sa.category_mask = PAGE_IS_WRITTEN;
		sa.return_mask = PAGE_IS_WRITTEN;
		ret = scan(t, p, &sa, &start, a->end, reg, &n);
		for (i = 0; !ret && i < n; i++)
			ret = queue(t, p, reg[i].start, reg[i].end);
	}
	if (ret == -EPERM) {
		pr_debug("pid %d: %#llx-%#llx changed during the scan: dropped\n", p->pid,
			 (unsigned long long)a->start, (unsigned long long)a->end);
		ret = drop_held(t, p, a, a->start, a->end);
	}
	return ret;
}

/*
 * Area a, not registered: what it held belongs to a mapping gone since.
 * Before the last round it is registered, protected and queued whole.
 */
static int new_area(struct track *t, struct trk_proc *p, struct trk_area *a)
{
	int ret;

	ret = drop_held(t, p, a, a->start, a->end);
	if (ret || t->final || a->untracked)
		return ret;
	ret = trk_register(p, a->start, a->end);
	if (ret) {
		pr_debug("pid %d: %#llx-%#llx not tracked: %s\n", p->pid,
			 (unsigned long long)a->start, (unsigned long long)a->end, strerror(-ret));
		a->untracked = true;
		return 0;
	}
	return scan_candidates(t, p, a, true);
}

/* An exec'ed or exited process: the store forgets it; it is not tracked. */
static int proc_gone(struct track *t, struct trk_proc *p)
{
	int ret = 0;

	pr_info("pid %d exec'ed or exited: not tracked any more, its pages dropped\n", p->pid);
	if (p->n_areas)
		ret = t->s->drop(t->s->arg, p->key, 0, UINT64_MAX);
	trk_proc_close(p);
	areas_free(p->areas, p->n_areas);
	p->areas = NULL;
	p->n_areas = 0;
	p->gone = true;
	return ret;
}

/* One round of p.  0 or -errno. */
static int proc_round(struct track *t, struct trk_proc *p)
{
	size_t i;
	int ret, r;

	trk_detach_pending(p);
	if (p->gone)
		return 0;
	if (!trk_mm_alive(p))
		return proc_gone(t, p);
	ret = refresh_areas(t, p);
	if (!ret && !trk_mm_alive(p)) /* exec'ed while maps was read */
		return proc_gone(t, p);
	if (ret == -ENOENT || ret == -ESRCH)
		return proc_gone(t, p);
	p->no_pin = t->n_procs > 1 || trk_has_children(p->pid);
	for (i = 0; !ret && i < p->n_areas; i++) {
		struct trk_area *a = &p->areas[i];

		r = registered(t, p, a);
		if (r < 0)
			ret = r;
		else if (!r)
			ret = new_area(t, p, a);
		else
			ret = scan_written(t, p, a);
		a->reg = r > 0 || (!t->final && !a->untracked);
		/* zapped pages are no longer as the store has them (not in the
		 * last round: the dump stores only what this would keep) */
		if (!ret && r > 0 && !t->final)
			ret = scan_candidates(t, p, a, false);
	}
	return ret ?: flush_batch(t);
}

int track_round(struct track *t, const struct track_sink *s, struct track_round *st)
{
	uint64_t t0 = now_ns();
	size_t i;
	int ret = 0;

	if (t->final)
		return -EINVAL;
	memset(st, 0, sizeof(*st));
	st->round = t->round;
	t->s = s;
	t->st = st;
	for (i = 0; !ret && i < t->n_procs; i++)
		ret = proc_round(t, &t->procs[i]);
	st->total_ns = now_ns() - t0;
	t->round++;
	return ret;
}

/*
 * The last round of p.  Its uffd stays open: unregistering clears the
 * write-protect bit of every page (about 20 ms a GiB), which the freeze
 * need not pay; the dump ignores our registrations (track_registered) and
 * track_free() closes it.  On failure it holds nothing and is closed now.
 */
static int final_one(struct track *t, struct trk_proc *p)
{
	int ret;

	p->done = true;
	ret = proc_round(t, p);
	if (ret) {
		p->gone = true; /* the mirror is unknown */
		trk_proc_close(p);
	}
	return ret;
}

/* The first call of the last round: no more rounds, numbers from zero. */
static void final_begin(struct track *t, const struct track_sink *s, struct track_round *st)
{
	if (!t->final) {
		memset(st, 0, sizeof(*st));
		st->round = t->round;
		t->final = true;
	}
	t->s = s;
	t->st = st;
}

int track_final_pid(struct track *t, pid_t pid, const struct track_sink *s, struct track_round *st)
{
	uint64_t t0 = now_ns();
	size_t i;
	int ret = 0;

	final_begin(t, s, st);
	for (i = 0; i < t->n_procs; i++)
		if (t->procs[i].pid == pid && !t->procs[i].done)
			ret = final_one(t, &t->procs[i]);
	st->total_ns += now_ns() - t0;
	return ret;
}

int track_final(struct track *t, const struct track_sink *s, struct track_round *st)
{
	uint64_t t0 = now_ns();
	size_t i;
	int ret = 0, r;

	final_begin(t, s, st);
	for (i = 0; i < t->n_procs; i++) {
		if (t->procs[i].done)
			continue;
		r = final_one(t, &t->procs[i]);
		ret = ret ?: r;
	}
	st->total_ns += now_ns() - t0;
	return ret;
}

static const struct trk_proc *proc_of_key(const struct track *t, uint32_t key)
{
	size_t i;

	for (i = 0; i < t->n_procs; i++)
		if (t->procs[i].key == key && t->procs[i].done && !t->procs[i].gone)
			return &t->procs[i];
	return NULL;
}

bool track_held(const struct track *t, uint32_t key, uint64_t start, uint64_t end, uint64_t *s,
		uint64_t *e)
{
	const struct trk_proc *p = t ? proc_of_key(t, key) : NULL;
	size_t i;

	for (i = 0; p && i < p->n_areas; i++) {
		if (p->areas[i].end <= start)
			continue;
		if (p->areas[i].start >= end)
			break;
		if (held_run(&p->areas[i], start, end, s, e))
			return true;
	}
	return false;
}

uint32_t track_key_of(const struct track *t, pid_t pid, bool *tracked)
{
	size_t i;

	for (i = 0; t && i < t->n_procs; i++) {
		if (t->procs[i].pid == pid) {
			*tracked = !t->procs[i].gone;
			return t->procs[i].key;
		}
	}
	*tracked = false;
	return 0;
}

bool track_registered(const struct track *t, pid_t pid, uint64_t start, uint64_t end)
{
	const struct trk_area *a;
	size_t i;

	for (i = 0; t && i < t->n_procs; i++) {
		const struct trk_proc *p = &t->procs[i];

		if (p->pid != pid || !p->done || p->gone || p->uffd < 0)
			continue;
		a = area_at(p->areas, p->n_areas, start);
		return a && a->reg && end <= a->end;
	}
	return false;
}

uint64_t track_store_pages(const struct track *t)
{
	uint64_t n = 0;
	size_t i, j, k;

	for (i = 0; t && i < t->n_procs; i++) {
		const struct trk_proc *p = &t->procs[i];

		for (j = 0; j < p->n_areas; j++)
			for (k = 0; k < (area_pages(&p->areas[j]) + 63) / 64; k++)
				n += __builtin_popcountll(p->areas[j].held[k]);
	}
	return n;
}

int track_start(pid_t root, const struct track_opts *o, struct track **out)
{
	struct track *t;
	pid_t *pids = NULL;
	size_t n = 0, i;
	int ret;

	ret = trk_list_tree(root, &pids, &n);
	if (ret) {
		pr_err("pid %d: cannot list its tree: %s\n", root, strerror(-ret));
		return ret;
	}
	t = calloc(1, sizeof(*t));
	if (t) {
		t->procs = calloc(n, sizeof(*t->procs));
		t->b.buf = aligned_alloc(PAGE_SZ, BATCH_BYTES);
	}
	if (!t || !t->procs || !t->b.buf) {
		free(pids);
		track_free(t);
		return -ENOMEM;
	}
	for (i = 0; i < n; i++) {
		struct trk_proc *p = &t->procs[t->n_procs++];

		p->pid = pids[i];
		p->key = o && o->key ? o->key(pids[i], o->key_arg) : (uint32_t)pids[i];
		trk_proc_open(p); /* a failure leaves it gone, warned */
	}
	free(pids);
	*out = t;
	return 0;
}

void track_free(struct track *t)
{
	size_t i;

	if (!t)
		return;
	for (i = 0; t->procs && i < t->n_procs; i++) {
		trk_detach_pending(&t->procs[i]);
		trk_proc_close(&t->procs[i]);
		areas_free(t->procs[i].areas, t->procs[i].n_areas);
	}
	free(t->procs);
	free(t->b.buf);
	free(t);
}
