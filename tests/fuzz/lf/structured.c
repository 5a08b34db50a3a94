/*
 * Structured mutation of the repair mode: one protobuf record is unpacked,
 * one of its fields gets a hostile value through mutate-image's descriptor
 * walk (tests/fuzz/mutate/msg.c: huge, zero, off-by-one, bit-flipped,
 * negative values, hostile paths, repeated fields emptied or blown up), and
 * it is packed again.  Byte mutations rarely keep a message parseable;
 * this keeps it parseable and makes its values hostile, which is what the
 * planner's checks see.
 *
 * msg.c allocates with xmalloc() and aliases freely, so every allocation of
 * one mutation (the unpacked message included) comes from an arena that is
 * dropped as a whole afterwards.
 */
#include <stdlib.h>

#include "mutate/mutate.h"
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

/* Gives one field of one protobuf record of im a hostile value; 0, or -1
 * if im has no protobuf record that unpacks. */
int fz_mutate_structured(struct fz_image *im, uint64_t seed)
{
	static ProtobufCAllocator alloc = { arena_alloc, arena_free, NULL };
	struct rng g = { seed };
	const struct img_rec_desc *d = NULL;
	ProtobufCMessage *m = NULL;
	struct fz_rec *r = NULL;
	uint8_t *buf;
	int tries;

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
