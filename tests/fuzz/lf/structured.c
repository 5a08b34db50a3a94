/*
 * Structured mutation of the repair mode: one protobuf record is unpacked,
 * one of its fields gets a hostile value through mutate-image's descriptor
 * walk (tests/fuzz/mutate/msg.c: huge, zero, off-by-one, bit-flipped,
 * negative values, hostile paths, repeated fields emptied or blown up), and
 * it is packed again.  Byte mutations rarely keep a message parseable;
 * this keeps it parseable and makes its values hostile, which is what the
 * planner's checks see.
 *
 * Half the time the record is chosen among the fd kinds of issue 12 (a
 * FILE of a kind of tests/fuzz/mutate/kinds.c's table, or an SK_QUEUE
 * record) and mutated by its kind's row, with ids of the same image.
 *
 * msg.c allocates with xmalloc() and aliases freely, so every allocation of
 * one mutation (the unpacked message included) comes from an arena that is
 * dropped as a whole afterwards.
 */
#include <stdlib.h>

#include "mutate/mutate.h"
#include "img/img-internal.h"
#include "lf/codec.h"

static struct {
	void **p;
	size_t n, cap;
} arena;

void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (arena.n == arena.cap) {
		size_t cap = arena.cap ? arena.cap * 2 : 256;
		void **np = realloc(arena.p, cap * sizeof(*np));

		if (!np)
			abort();
		arena.p = np;
		arena.cap = cap;
	}
	if (!p)
		abort();
	arena.p[arena.n++] = p;
	return p;
}

static void *arena_alloc(void *data, size_t n)
{
	return xmalloc(n);
}

static void arena_free(void *data, void *p)
{
}

static void arena_drop(void)
{
	while (arena.n)
		free(arena.p[--arena.n]);
}

/* msg.c describes each mutation for mutate-image's log; not needed here. */
void say(const char *fmt, ...)
{
}

static ProtobufCAllocator alloc = { arena_alloc, arena_free, NULL };

/* Appends v to the arena array *a of *n (capacity cap, entries beyond dropped). */
static void add(uint32_t **a, size_t *n, size_t cap, uint32_t v)
{
	if (!*a)
		*a = xmalloc(cap * sizeof(**a));
	if (*n < cap)
		(*a)[(*n)++] = v;
}

/* The ids of im a kind mutation may name; at[i]: index of k->files[i]'s record. */
static void gather_refs(const struct fz_image *im, struct kind_refs *k, size_t *at)
{
	size_t i, j, cap = im->n + 1;
	FileEntry *fe;
	TaskEntry *t;

	memset(k, 0, sizeof(*k));
	k->kinds = xmalloc(cap * sizeof(*k->kinds));
	for (i = 0; i < im->n; i++) {
		const struct fz_rec *r = &im->recs[i];

		if (r->type == IMG_REC_FILE) {
			fe = file_entry__unpack(&alloc, r->len, r->p);
			if (!fe)
				continue;
			at[k->nf] = i;
			k->kinds[k->nf] = fe->kind;
			add(&k->files, &k->nf, cap, fe->id);
			if (fe->unixsk && fe->unixsk->has_ino)
				add(&k->inos, &k->ni, cap, fe->unixsk->ino);
		} else if (r->type == IMG_REC_TASK) {
			t = task_entry__unpack(&alloc, r->len, r->p);
			if (!t)
				continue;
			if (t->state == TASK_STATE_DEAD)
				add(&k->zombies, &k->nz, cap, t->pid);
			else
				add(&k->pids, &k->np, cap, t->pid);
			for (j = 1; j < t->n_threads; j++)
				add(&k->tids, &k->nt, 256, t->threads[j]);
		}
	}
}

/* Replaces r's payload by m packed; 0 or -1. */
static int repack(struct fz_rec *r, const ProtobufCMessage *m)
{
	uint8_t *buf = malloc(protobuf_c_message_get_packed_size(m) + 1);

	if (!buf)
		return -1;
	free(r->p);
	r->p = buf;
	r->len = protobuf_c_message_pack(m, buf);
	return 0;
}

/* An SK_QUEUE record: its prefix names something else, or its bytes change length. */
static int mutate_skq_rec(struct rng *g, struct fz_rec *r, const struct kind_refs *k)
{
	uint32_t id = get_le32(r->p);
	uint64_t off = get_le64(r->p + 8);
	size_t n;
	uint8_t *p;

	if (rnd(g, 3) == 0) {
		n = sizeof(struct img_data_prefix) +
		    (rnd(g, 2) ? rnd(g, r->len) : r->len + 1 + rnd(g, 4096));
		p = realloc(r->p, n);
		if (!p)
			return -1;
		if (n > r->len)
			memset(p + r->len, 'q', n - r->len);
		r->p = p;
		r->len = n;
		return 0;
	}
	mutate_skq(g, &id, &off, k);
	put_le32(r->p, id);
	put_le64(r->p + 8, off);
	return 0;
}

/* A FILE of a kind: mutated by its row, or given a twin wired to it. */
static int mutate_file_rec(struct rng *g, struct fz_image *im, size_t i, const struct kind_refs *k)
{
	FileEntry *fe = file_entry__unpack(&alloc, im->recs[i].len, im->recs[i].p), *copy;
	struct fz_rec c = im->recs[i];
	uint32_t max = 0;
	size_t j;
	int ret;

	if (!fe)
		return -1;
	if (rnd(g, 4)) {
		mutate_kind(g, fe, k);
		return repack(&im->recs[i], &fe->base);
	}
	copy = file_entry__unpack(&alloc, c.len, c.p);
	if (!copy)
		return -1;
	for (j = 0; j < k->nf; j++)
		max = k->files[j] > max ? k->files[j] : max;
	copy->id = max + 1;
	if (!kind_twin(g, fe, copy)) {
		mutate_kind(g, fe, k);
		return repack(&im->recs[i], &fe->base);
	}
	c.p = NULL;
	if (repack(&im->recs[i], &fe->base) || repack(&c, &copy->base))
		return -1;
	ret = fz_insert(im, i + 1, &c);
	free(c.p);
	return ret;
}

/* One record of an fd kind of issue 12 mutated by its kind; 0, or -1 if
 * im has none. */
static int mutate_kind_rec(struct rng *g, struct fz_image *im)
{
	size_t *at = xmalloc((im->n + 1) * sizeof(*at)),
	       *cand = xmalloc((im->n + 1) * sizeof(*cand));
	size_t i, n = 0;
	struct kind_refs k;

	gather_refs(im, &k, at);
	for (i = 0; i < k.nf; i++)
		if (kind_known(k.kinds[i]))
			cand[n++] = at[i];
	for (i = 0; i < im->n; i++)
		if (im->recs[i].type == IMG_REC_SK_QUEUE &&
		    im->recs[i].len >= sizeof(struct img_data_prefix))
			cand[n++] = i;
	if (!n)
		return -1;
	i = cand[rnd(g, n)];
	if (im->recs[i].type == IMG_REC_SK_QUEUE)
		return mutate_skq_rec(g, &im->recs[i], &k);
	return mutate_file_rec(g, im, i, &k);
}

/* Gives one field of one protobuf record of im a hostile value (half the
 * time one of an fd kind, by its kind); 0, or -1 if im has no protobuf
 * record that unpacks. */
int fz_mutate_structured(struct fz_image *im, uint64_t seed)
{
	struct rng g = { seed };
	const struct img_rec_desc *d = NULL;
	ProtobufCMessage *m = NULL;
	struct fz_rec *r = NULL;
	uint8_t *buf;
	int tries;

	if (rnd(&g, 2) && !mutate_kind_rec(&g, im)) {
		arena_drop();
		return 0;
	}
	for (tries = 0; tries < 8 && !m && im->n; tries++) {
		r = &im->recs[rnd(&g, im->n)];
		d = img_rec_lookup(r->type);
		if (d && d->pb && r->type != IMG_REC_TRAILER)
			m = protobuf_c_message_unpack(d->pb, &alloc, r->len, r->p);
	}
	if (m) {
		mutate_msg(&g, m, 0);
		buf = malloc(protobuf_c_message_get_packed_size(m) + 1);
		if (buf) {
			free(r->p);
			r->p = buf;
			r->len = protobuf_c_message_pack(m, buf);
		}
	}
	arena_drop();
	return m ? 0 : -1;
}
