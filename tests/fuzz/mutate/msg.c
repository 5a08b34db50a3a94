/*
 * The generic part of mutate-image's mutations, shared with the libFuzzer
 * harnesses' structured mode (tests/fuzz/lf/fuzz.c): the generator, hostile
 * values, and the walk through a protobuf message's descriptor that gives
 * one random field a hostile value.  Memory comes from xmalloc() and
 * mutated messages alias strings and sub-messages freely: mutate-image
 * never frees them, the harnesses allocate from an arena they drop.
 */
#include "mutate/mutate.h"

/* splitmix64: small, fast and good enough to pick mutations. */
uint64_t rnd64(struct rng *g)
{
	uint64_t z = (g->s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* Uniform in 0..n-1 (n > 0). */
uint64_t rnd(struct rng *g, uint64_t n)
{
	return n ? rnd64(g) % n : 0;
}

/* ---- values ------------------------------------------------------------ */

uint64_t hostile_u64(struct rng *g, uint64_t old)
{
	static const uint64_t v[] = {
		0, 1, ~0ull, 1ull << 63, 1ull << 47, 0x7ffffffff000ull,
		0x800000000000ull, 0xffffffffff600000ull, 0xffff800000000000ull,
		4095, 4096, 1ull << 30, 0x7fffffffffffffffull, 0x10000,
	};

	switch (rnd(g, 6)) {
	case 0:
		return rnd64(g);
	case 1:
		return old ^ (1ull << rnd(g, 64));
	case 2:
		return old + (rnd(g, 2) ? PAGE : 1);
	case 3:
		return old - (rnd(g, 2) ? PAGE : 1);
	default:
		return v[rnd(g, sizeof(v) / sizeof(v[0]))];
	}
}

uint32_t hostile_u32(struct rng *g, uint32_t old)
{
	static const uint32_t v[] = {
		0, 1, 2, 3, 64, 65, 1u << 30, 0x7fffffff, 0x80000000u,
		0xffffffffu, 0xfffffffeu, 4096, 1000000,
	};

	switch (rnd(g, 6)) {
	case 0:
		return (uint32_t)rnd64(g);
	case 1:
		return old ^ (1u << rnd(g, 32));
	case 2:
		return (uint32_t)getppid();	/* a live process */
	case 3:
		return old + 1;
	default:
		return v[rnd(g, sizeof(v) / sizeof(v[0]))];
	}
}

int32_t hostile_i32(struct rng *g)
{
	static const int32_t v[] = {
		0, -1, -2, 1, INT32_MIN, INT32_MAX, -1000, -1001, 1001, -20, 19, 40, -100,
	};

	return rnd(g, 4) ? v[rnd(g, sizeof(v) / sizeof(v[0]))] : (int32_t)rnd64(g);
}

/* Paths and names that do not exist, are empty, huge, relative or climb. */
char *hostile_string(struct rng *g)
{
	static const char *const v[] = {
		"", "relative/path", "/nonexistent-vxcr-fuzz/file",
		"../../../../../../../../tmp", "/..", "/tmp/../../../..", "/",
		"/nonexistent-vxcr-fuzz (deleted)", " (deleted)", "%s%n%s%n%p",
		"a\nb", "/proc/self/fd/0", "/dev/null", ".", "..",
		"/proc/self/exe", "[vdso]", "[stack]", "[heap]",
	};
	size_t n, i;
	char *s;

	switch (rnd(g, 5)) {
	case 0:			/* very long: beyond PATH_MAX */
		n = 4000 + rnd(g, 8000);
		s = xmalloc(n + 1);
		for (i = 0; i < n; i++)
			s[i] = i % 64 ? 'a' : '/';
		s[n] = '\0';
		return s;
	case 1:			/* one component beyond NAME_MAX */
		n = 256 + rnd(g, 200);
		s = xmalloc(n + 2);
		s[0] = '/';
		memset(s + 1, 'b', n);
		s[n + 1] = '\0';
		return s;
	default:
		return (char *)v[rnd(g, sizeof(v) / sizeof(v[0]))];
	}
}

/* Bytes: truncated, empty, garbage of the same size, huge or one byte. */
void hostile_bytes(struct rng *g, ProtobufCBinaryData *b)
{
	size_t i, n;
	uint8_t *p;

	switch (rnd(g, 6)) {
	case 0:
		b->len = b->len ? rnd(g, b->len) : 0;
		say("bytes truncated to %zu", b->len);
		return;
	case 1:
		b->len = 0;
		say("bytes emptied");
		return;
	case 2:
		n = b->len ? b->len : 128;
		say("bytes garbage (%zu)", n);
		break;
	case 3:
		n = 1 + rnd(g, 1 << 17);
		say("bytes garbage, %zu long", n);
		break;
	case 4:
		n = b->len + 1 + rnd(g, 64);
		p = xmalloc(n);
		if (b->len)	/* an empty field may have no data */
			memcpy(p, b->data, b->len);
		memset(p + b->len, 0xff, n - b->len);
		b->data = p;
		b->len = n;
		say("bytes extended to %zu", n);
		return;
	default:
		n = 1;
		say("bytes one byte");
		break;
	}
	p = xmalloc(n);
	for (i = 0; i < n; i++)
		p[i] = (uint8_t)rnd64(g);
	b->data = p;
	b->len = n;
}

/* ---- generic mutation through the protobuf descriptors ------------------ */

ProtobufCMessage *new_msg(const ProtobufCMessageDescriptor *d)
{
	ProtobufCMessage *m = xmalloc(d->sizeof_message);

	d->message_init(m);
	return m;
}
void mutate_msg(struct rng *g, ProtobufCMessage *m, int depth);

/* Mutates the single value at p, of field f's type. */
static void mutate_value(struct rng *g, const ProtobufCFieldDescriptor *f, void *p, int depth)
{
	switch (f->type) {
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
		*(uint64_t *)p = hostile_u64(g, *(uint64_t *)p);
		say("= %#llx", (unsigned long long)*(uint64_t *)p);
		break;
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32:
		*(int32_t *)p = hostile_i32(g);
		say("= %d", *(int32_t *)p);
		break;
	case PROTOBUF_C_TYPE_ENUM:
		*(int32_t *)p = rnd(g, 2) ? hostile_i32(g) : (int32_t)rnd(g, 12);
		say("= %d (enum)", *(int32_t *)p);
		break;
	case PROTOBUF_C_TYPE_BOOL:
		*(protobuf_c_boolean *)p = !*(protobuf_c_boolean *)p;
		say("= %d", *(protobuf_c_boolean *)p);
		break;
	case PROTOBUF_C_TYPE_STRING:
		*(char **)p = hostile_string(g);
		say("= \"%.40s\"%s", *(char **)p, strlen(*(char **)p) > 40 ? "..." : "");
		break;
	case PROTOBUF_C_TYPE_BYTES:
		hostile_bytes(g, p);
		break;
	case PROTOBUF_C_TYPE_MESSAGE:
		if (!*(ProtobufCMessage **)p) {
			*(ProtobufCMessage **)p = new_msg(f->descriptor);
			say("= {} (new, empty)");
		} else if (depth >= MAX_DEPTH || rnd(g, 4) == 0) {
			*(ProtobufCMessage **)p = rnd(g, 2) ? NULL : new_msg(f->descriptor);
			say("%s", *(ProtobufCMessage **)p ? "= {} (all fields absent)" : "removed");
		} else {
			mutate_msg(g, *(ProtobufCMessage **)p, depth + 1);
		}
		break;
	default:
		*(uint32_t *)p = hostile_u32(g, *(uint32_t *)p);
		say("= %#x", *(uint32_t *)p);
		break;
	}
}

/* Repeated field: emptied, halved, duplicated, blown up or one element changed. */
static void mutate_repeated(struct rng *g, const ProtobufCFieldDescriptor *f,
			    ProtobufCMessage *m, int depth)
{
	size_t *n = (size_t *)((char *)m + f->quantifier_offset);
	void **arr = (void **)((char *)m + f->offset);
	size_t es = img_pb_value_size(f->type), i, nn;
	uint8_t *na;

	switch (*n ? rnd(g, 6) : 3) {
	case 0:
		*n = 0;
		say(" emptied");
		return;
	case 1:
		*n /= 2;
		say(" cut to %zu", *n);
		return;
	case 2:
	case 3:
		nn = *n ? (rnd(g, 2) ? *n * 2 : *n + 1) : 1;
		if (rnd(g, 8) == 0)
			nn = 1000 + rnd(g, 3000);
		na = xmalloc(nn * es);
		for (i = 0; i < nn; i++) {
			if (*n)
				memcpy(na + i * es, (uint8_t *)*arr + (i % *n) * es, es);
			else
				memset(na + i * es, 0, es);
			if (f->type == PROTOBUF_C_TYPE_MESSAGE && !*n)
				((ProtobufCMessage **)na)[i] = new_msg(f->descriptor);
		}
		say(" %zu -> %zu elements", *n, nn);
		*arr = na;
		*n = nn;
		if (f->type != PROTOBUF_C_TYPE_MESSAGE && rnd(g, 2)) {
			i = rnd(g, nn);
			say(", [%zu] ", i);
			mutate_value(g, f, na + i * es, depth);
		}
		return;
	default:
		i = rnd(g, *n);
		say("[%zu] ", i);
		mutate_value(g, f, (uint8_t *)*arr + i * es, depth);
		/* an element cannot be absent: an empty one instead */
		if (f->type == PROTOBUF_C_TYPE_MESSAGE && !((ProtobufCMessage **)*arr)[i])
			((ProtobufCMessage **)*arr)[i] = new_msg(f->descriptor);
		return;
	}
}

/* One random field of m (recursing into sub-messages) gets a hostile value. */
void mutate_msg(struct rng *g, ProtobufCMessage *m, int depth)
{
	const ProtobufCMessageDescriptor *d = m->descriptor;
	const ProtobufCFieldDescriptor *f = &d->fields[rnd(g, d->n_fields)];
	void *p = (char *)m + f->offset;

	say(".%s", f->name);
	if (f->label == PROTOBUF_C_LABEL_REPEATED) {
		mutate_repeated(g, f, m, depth);
		return;
	}
	if (f->quantifier_offset && f->type != PROTOBUF_C_TYPE_STRING &&
	    f->type != PROTOBUF_C_TYPE_MESSAGE) {
		protobuf_c_boolean *has = (protobuf_c_boolean *)((char *)m + f->quantifier_offset);

		if (*has && rnd(g, 8) == 0) {
			*has = 0;
			say(" removed");
			return;
		}
		*has = 1;
	}
	say(" ");
	mutate_value(g, f, p, depth);
}

