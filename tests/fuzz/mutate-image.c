/*
 * mutate-image: rewrites a valid vxcr image with hostile contents but valid
 * framing, so that the restorer's checks (not the checksums) are exercised.
 *
 * Usage: mutate-image IN OUT SEED [COUNT [ONLY]]
 *
 * Reads IN with img_reader, applies COUNT mutations (default 1, 2 or 3,
 * chosen by SEED; half of the seeds get one) to the decoded records and
 * writes OUT with img_writer, compressed exactly when IN was.  Every record is checksummed and the trailer is
 * correct, so only what the records *say* is hostile.  The same SEED always
 * gives the same image.  ONLY (0-based) applies just that one of the COUNT
 * mutations, to find which one a failure needs.  Each mutation applied is
 * printed on stdout, one line each ("mutation I: RECORD[index] what").
 *
 * Mutation i draws from its own generator (seeded by SEED and i), so the
 * choice of mutation i does not depend on whether the earlier ones ran.
 *
 * Protobuf records are kept unpacked and re-packed by the writer.  Mutated
 * messages are never freed: mutations alias strings and sub-messages freely
 * and the process ends right after writing.
 *
 * Exit status: 0 written, 1 the input could not be read or OUT not written,
 * 2 usage.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/resource.h>

#include "vxcr/vxcr.h"
#include "img/img.h"
#include "img/text.h"
#include "img/records.h"
#include "task.pb-c.h"
#include "mm.pb-c.h"
#include "files.pb-c.h"

#define PAGE		4096ull
#define MAX_DEPTH	3

/* One record of the image; msg for protobuf types, buf/len for raw ones. */
struct rec {
	uint32_t type;
	uint32_t flags;
	ProtobufCMessage *msg;
	uint8_t *buf;
	size_t len;
};

struct image {
	struct rec *recs;
	size_t n;
	size_t cap;
	bool compress;
	uint32_t root_pid;
	uint8_t parent_id[16];
	bool has_parent;
	bool tree;	/* several tasks/threads or shmem objects: see mutate_tree() */
};

struct rng {
	uint64_t s;
};

/* The description of the mutation being applied, printed once it is done. */
static char what[512];

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
	va_list ap;
	size_t l = strlen(what);

	va_start(ap, fmt);
	vsnprintf(what + l, sizeof(what) - l, fmt, ap);
	va_end(ap);
}

/* splitmix64: small, fast and good enough to pick mutations. */
static uint64_t next(struct rng *g)
{
	uint64_t z = (g->s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* Uniform in 0..n-1 (n > 0). */
static uint64_t rnd(struct rng *g, uint64_t n)
{
	return n ? next(g) % n : 0;
}

static void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (!p) {
		fprintf(stderr, "mutate-image: out of memory\n");
		exit(1);
	}
	return p;
}

/* ---- values ------------------------------------------------------------ */

static uint64_t hostile_u64(struct rng *g, uint64_t old)
{
	static const uint64_t v[] = {
		0, 1, ~0ull, 1ull << 63, 1ull << 47, 0x7ffffffff000ull,
		0x800000000000ull, 0xffffffffff600000ull, 0xffff800000000000ull,
		4095, 4096, 1ull << 30, 0x7fffffffffffffffull, 0x10000,
	};

	switch (rnd(g, 6)) {
	case 0:
		return next(g);
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

static uint32_t hostile_u32(struct rng *g, uint32_t old)
{
	static const uint32_t v[] = {
		0, 1, 2, 3, 64, 65, 1u << 30, 0x7fffffff, 0x80000000u,
		0xffffffffu, 0xfffffffeu, 4096, 1000000,
	};

	switch (rnd(g, 6)) {
	case 0:
		return (uint32_t)next(g);
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

static int32_t hostile_i32(struct rng *g)
{
	static const int32_t v[] = {
		0, -1, -2, 1, INT32_MIN, INT32_MAX, -1000, -1001, 1001, -20, 19, 40, -100,
	};

	return rnd(g, 4) ? v[rnd(g, sizeof(v) / sizeof(v[0]))] : (int32_t)next(g);
}

/* Paths and names that do not exist, are empty, huge, relative or climb. */
static char *hostile_string(struct rng *g)
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
static void hostile_bytes(struct rng *g, ProtobufCBinaryData *b)
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
		p[i] = (uint8_t)next(g);
	b->data = p;
	b->len = n;
}

/* ---- generic mutation through the protobuf descriptors ------------------ */

static ProtobufCMessage *new_msg(const ProtobufCMessageDescriptor *d)
{
	ProtobufCMessage *m = xmalloc(d->sizeof_message);

	d->message_init(m);
	return m;
}

/* A deep copy (packs and unpacks), so the copy can be mutated alone. */
static ProtobufCMessage *clone_msg(const ProtobufCMessage *m)
{
	size_t len = protobuf_c_message_get_packed_size(m);
	uint8_t *buf = xmalloc(len);
	ProtobufCMessage *c;

	protobuf_c_message_pack(m, buf);
	c = protobuf_c_message_unpack(m->descriptor, NULL, len, buf);
	free(buf);
	if (!c) {
		fprintf(stderr, "mutate-image: %s does not unpack again\n", m->descriptor->name);
		exit(1);
	}
	return c;
}

static void mutate_msg(struct rng *g, ProtobufCMessage *m, int depth);

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
static void mutate_msg(struct rng *g, ProtobufCMessage *m, int depth)
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

/* ---- targeted mutations of what the restorer must distrust -------------- */

static void mutate_task(struct rng *g, TaskEntry *t)
{
	static const uint32_t pids[] = { 0, 1, 0x7fffffff, 4194304, 4194305 };
	struct rlimit our;
	RlimitEntry *rl;

	switch (rnd(g, 6)) {
	case 0:
		t->has_pid = 1;
		t->pid = rnd(g, 3) ? pids[rnd(g, 5)] : (uint32_t)getppid();
		say(".pid = %u", t->pid);
		break;
	case 1:
		if (!t->n_rlimits)
			break;
		rl = t->rlimits[rnd(g, t->n_rlimits)];
		if (rnd(g, 3) == 0) {
			rl->resource = rnd(g, 2) ? 16 + rnd(g, 8) : (uint32_t)next(g);
			say(".rlimits resource %u", rl->resource);
			break;
		}
		if (rl->resource < RLIM_NLIMITS && !getrlimit(rl->resource, &our) &&
		    our.rlim_max != RLIM_INFINITY)
			rl->max = our.rlim_max + 1 + rnd(g, 1 << 20);
		else
			rl->max = ~0ull - rnd(g, 2);
		rl->cur = rnd(g, 2) ? rl->max : rl->max + 1;	/* cur > max too */
		rl->has_cur = rl->has_max = 1;
		say(".rlimits[%u] cur %#llx max %#llx (above ours)", rl->resource,
		    (unsigned long long)rl->cur, (unsigned long long)rl->max);
		break;
	case 2:
		t->has_state = 1;
		t->state = rnd(g, 2) ? 0 : 4 + rnd(g, 100);
		say(".state = %u", t->state);
		break;
	case 3:
		t->threads = xmalloc(2 * sizeof(*t->threads));
		t->threads[0] = rnd(g, 2) ? 0 : (uint32_t)getppid();
		t->threads[1] = t->pid;
		t->n_threads = 1 + rnd(g, 2);
		say(".threads = [%u%s]", t->threads[0], t->n_threads > 1 ? ", pid" : "");
		break;
	default:
		if (rnd(g, 2)) {
			t->cwd = hostile_string(g);
			say(".cwd = \"%.40s\"", t->cwd);
		} else {
			t->root = hostile_string(g);
			say(".root = \"%.40s\"", t->root);
		}
		break;
	}
}

static SiginfoEntry *odd_siginfo(struct rng *g)
{
	SiginfoEntry *s = (SiginfoEntry *)new_msg(&siginfo_entry__descriptor);
	static const size_t sizes[] = { 0, 1, 4, 127, 129, 256, 4096 };
	size_t i;
	int32_t signo;

	s->has_siginfo = 1;
	s->siginfo.len = rnd(g, 3) ? sizes[rnd(g, 7)] : 128;
	s->siginfo.data = xmalloc(s->siginfo.len);
	for (i = 0; i < s->siginfo.len; i++)
		s->siginfo.data[i] = (uint8_t)next(g);
	if (s->siginfo.len >= 4) {
		signo = rnd(g, 2) ? hostile_i32(g) : (int32_t)rnd(g, 70);
		memcpy(s->siginfo.data, &signo, 4);
	}
	say(" siginfo of %zu bytes", s->siginfo.len);
	return s;
}

static void mutate_core(struct rng *g, CoreEntry *c)
{
	switch (rnd(g, 6)) {
	case 0:
		say(".xsave");
		c->has_xsave = 1;
		hostile_bytes(g, &c->xsave);
		say(" ");
		break;
	case 1:
		c->has_xfeatures = 1;
		c->xfeatures = rnd(g, 2) ? ~0ull : next(g);
		say(".xfeatures = %#llx", (unsigned long long)c->xfeatures);
		break;
	case 2:
		c->pending = xmalloc(sizeof(*c->pending) * 4);
		c->n_pending = 1 + rnd(g, 4);
		for (size_t i = 0; i < c->n_pending; i++)
			c->pending[i] = odd_siginfo(g);
		say(" (.pending x%zu)", c->n_pending);
		break;
	case 3:
		c->regs = rnd(g, 3) ? NULL : (X86Regs *)new_msg(&x86_regs__descriptor);
		say(".regs %s", c->regs ? "= {}" : "removed");
		break;
	default:
		if (!c->regs)
			break;
		say(".regs");
		mutate_msg(g, &c->regs->base, MAX_DEPTH);
		break;
	}
}

/* Another VMA takes (part of) a neighbour's range, or a range turns hostile. */
static void mutate_vmas(struct rng *g, MmEntry *mm)
{
	VmaEntry *v, *w;
	uint64_t t;
	size_t i;

	if (mm->n_vmas < 2)
		return;
	i = rnd(g, mm->n_vmas - 1);
	v = mm->vmas[i];
	w = mm->vmas[i + 1];
	switch (rnd(g, 6)) {
	case 0:
		t = v->start;
		v->start = v->end;
		v->end = t;
		say(".vmas[%zu] start/end swapped", i);
		break;
	case 1:
		w->start = v->end - PAGE * (1 + rnd(g, 2));
		say(".vmas[%zu] overlaps [%zu] (start %#llx)", i + 1, i,
		    (unsigned long long)w->start);
		break;
	case 2:
		w->start = v->start;
		w->end = v->end;
		say(".vmas[%zu] = range of [%zu]", i + 1, i);
		break;
	case 3:
		v->start += 1 + rnd(g, PAGE - 1);
		say(".vmas[%zu] start unaligned (%#llx)", i, (unsigned long long)v->start);
		break;
	case 4:
		v->end = v->start;
		say(".vmas[%zu] empty", i);
		break;
	default:
		v->file_id = rnd(g, 2) ? 9999 : 0;
		v->has_file_id = 1;
		v->has_kind = 1;
		v->kind = VMA_KIND__VMA_FILE_PRIVATE + rnd(g, 3);
		say(".vmas[%zu] kind %d file_id %u", i, v->kind, v->file_id);
		break;
	}
}

static void mutate_mm(struct rng *g, MmEntry *mm)
{
	size_t i;

	switch (rnd(g, 4)) {
	case 0:
		mutate_vmas(g, mm);
		break;
	case 1:
		i = rnd(g, 3);
		mm->n_auxv = i == 0 ? mm->n_auxv | 1 : i == 1 ? 1 : 0;
		if (i == 2 && rnd(g, 2)) {
			mm->n_auxv = 2000 + rnd(g, 2);
			mm->auxv = xmalloc(mm->n_auxv * sizeof(*mm->auxv));
			for (i = 0; i < mm->n_auxv; i++)
				mm->auxv[i] = next(g);
		}
		say(".auxv has %zu entries", mm->n_auxv);
		break;
	case 2:
		mm->has_exe_file_id = 1;
		mm->exe_file_id = rnd(g, 2) ? 0 : 0xffffffffu - rnd(g, 2);
		say(".exe_file_id = %u", mm->exe_file_id);
		break;
	default:
		mm->has_vdso_sha = 1;
		say(".vdso_sha");
		hostile_bytes(g, &mm->vdso_sha);
		break;
	}
}

static void mutate_fdtable(struct rng *g, FdtableEntry *ft)
{
	static const uint32_t fds[] = { 1u << 30, 0xffffffffu, 0x7fffffffu, 65536, 1024, 0 };
	FdEntry *e;

	if (!ft->n_fds)
		return;
	e = ft->fds[rnd(g, ft->n_fds)];
	if (rnd(g, 2)) {
		e->has_fd = 1;
		e->fd = fds[rnd(g, 6)];
		say(".fds fd = %u", e->fd);
	} else {
		e->has_file_id = 1;
		e->file_id = rnd(g, 2) ? 0 : 1000 + rnd(g, 1000);
		say(".fds[fd %u] file_id = %u (nowhere)", e->fd, e->file_id);
	}
}

static void mutate_file(struct rng *g, FileEntry *fe)
{
	switch (rnd(g, 4)) {
	case 0:
		fe->path = hostile_string(g);
		say(".path = \"%.40s\"", fe->path);
		break;
	case 1:
		fe->has_kind = 1;
		fe->kind = rnd(g, 2) ? (FileKind)(7 + rnd(g, 100)) : (FileKind)rnd(g, 7);
		say(".kind = %d", fe->kind);
		break;
	case 2:
		fe->has_id = 1;
		fe->id = rnd(g, 2) ? 0 : fe->id + 1;	/* collides with the next one */
		say(".id = %u", fe->id);
		break;
	default:
		fe->has_deleted = fe->deleted = 1;
		fe->has_size = 1;
		fe->size = rnd(g, 2) ? ~0ull >> 1 : next(g);
		say(".deleted with size %#llx", (unsigned long long)fe->size);
		break;
	}
}

/* ---- raw records --------------------------------------------------------- */

static void mutate_raw(struct rng *g, struct rec *r)
{
	struct img_pages_prefix pp;
	struct img_data_prefix dp;
	size_t cut;

	if (rnd(g, 3) == 0) {	/* cut: never below the prefix (framing) */
		cut = sizeof(pp) + (r->len > sizeof(pp) ? rnd(g, r->len - sizeof(pp)) : 0);
		if (cut > sizeof(pp) && (cut - sizeof(pp)) % PAGE == 0)
			cut--;	/* not a whole number of pages */
		r->len = cut;
		say(" payload cut to %zu bytes", cut);
		return;
	}
	if (r->type == IMG_REC_PAGES || r->type == IMG_REC_SHMEM_PAGES) {
		memcpy(&pp, r->buf, sizeof(pp));
		switch (rnd(g, 4)) {
		case 0:
			pp.addr = hostile_u64(g, pp.addr);
			break;
		case 1:
			pp.addr += 1 + rnd(g, PAGE - 1);
			break;
		case 2:
			pp.mm_id = hostile_u32(g, pp.mm_id);
			break;
		default:
			pp.flags = hostile_u32(g, pp.flags);
			break;
		}
		say(" prefix addr %#llx mm_id %u flags %#x", (unsigned long long)pp.addr,
		    pp.mm_id, pp.flags);
		memcpy(r->buf, &pp, sizeof(pp));
		return;
	}
	memcpy(&dp, r->buf, sizeof(dp));
	switch (rnd(g, 3)) {
	case 0:
		dp.id = hostile_u32(g, dp.id);
		break;
	case 1:
		dp.offset = rnd(g, 2) ? hostile_u64(g, dp.offset) : ~0ull - rnd(g, 16);
		break;
	default:
		dp.flags = hostile_u32(g, dp.flags);
		break;
	}
	say(" prefix id %u offset %#llx flags %#x", dp.id, (unsigned long long)dp.offset,
	    dp.flags);
	memcpy(r->buf, &dp, sizeof(dp));
}

/* ---- whole records -------------------------------------------------------- */

static void insert_rec(struct image *im, size_t at, const struct rec *r)
{
	if (im->n == im->cap) {
		im->cap = im->cap ? im->cap * 2 : 64;
		im->recs = realloc(im->recs, im->cap * sizeof(*im->recs));
		if (!im->recs) {
			fprintf(stderr, "mutate-image: out of memory\n");
			exit(1);
		}
	}
	memmove(&im->recs[at + 1], &im->recs[at], (im->n - at) * sizeof(*r));
	im->recs[at] = *r;
	im->n++;
}

static struct rec copy_rec(const struct rec *r)
{
	struct rec c = *r;

	if (r->msg) {
		c.msg = clone_msg(r->msg);
	} else {
		c.buf = xmalloc(r->len);
		memcpy(c.buf, r->buf, r->len);
	}
	return c;
}

/* Drops, duplicates, swaps or moves records, or adds an empty or unknown one. */
static void mutate_structure(struct rng *g, struct image *im)
{
	size_t i = rnd(g, im->n), j = rnd(g, im->n);
	const struct img_rec_desc *d;
	struct rec r, t;

	switch (rnd(g, 6)) {
	case 0:
		say("record %zu (%s) dropped", i, img_rec_name(im->recs[i].type));
		memmove(&im->recs[i], &im->recs[i + 1], (im->n - i - 1) * sizeof(r));
		im->n--;
		break;
	case 1:
		say("record %zu (%s) duplicated at %zu", i, img_rec_name(im->recs[i].type), j);
		insert_rec(im, j, &(struct rec){ 0 });
		im->recs[j] = copy_rec(&im->recs[i < j ? i : i + 1]);
		break;
	case 2:
		say("records %zu (%s) and %zu (%s) swapped", i, img_rec_name(im->recs[i].type),
		    j, img_rec_name(im->recs[j].type));
		t = im->recs[i];
		im->recs[i] = im->recs[j];
		im->recs[j] = t;
		break;
	case 3:
		say("record %zu (%s) moved to the end", i, img_rec_name(im->recs[i].type));
		t = im->recs[i];
		memmove(&im->recs[i], &im->recs[i + 1], (im->n - i - 1) * sizeof(r));
		im->recs[im->n - 1] = t;
		break;
	case 4:
		d = img_rec_lookup(IMG_REC_TASK + rnd(g, IMG_REC_FDTABLE - IMG_REC_TASK + 1));
		say("empty %s record inserted at %zu", d->name, j);
		r = (struct rec){ .type = d->type, .msg = new_msg(d->pb) };
		insert_rec(im, j, &r);
		break;
	default:
		r = (struct rec){ .type = 100 + rnd(g, 1000), .flags = IMG_RF_OPTIONAL,
				  .len = rnd(g, 64) };
		r.buf = xmalloc(r.len);
		memset(r.buf, 0x5a, r.len);
		say("optional unknown record type %u inserted at %zu", r.type, j);
		insert_rec(im, j, &r);
		break;
	}
}

/* Picks a record (of type want, or any if 0); returns its index or -1. */
static long pick(struct rng *g, const struct image *im, uint32_t want)
{
	size_t i, k = 0, n = 0;

	for (i = 0; i < im->n; i++)
		n += !want || im->recs[i].type == want;
	if (!n)
		return -1;
	k = rnd(g, n);
	for (i = 0; i < im->n; i++)
		if ((!want || im->recs[i].type == want) && k-- == 0)
			return i;
	return -1;
}

/* The targeted mutation of one record of a protobuf type. */
static void mutate_targeted(struct rng *g, struct rec *r)
{
	switch (r->type) {
	case IMG_REC_TASK:
		mutate_task(g, (TaskEntry *)r->msg);
		break;
	case IMG_REC_CORE:
		mutate_core(g, (CoreEntry *)r->msg);
		break;
	case IMG_REC_MM:
		mutate_mm(g, (MmEntry *)r->msg);
		break;
	case IMG_REC_FDTABLE:
		mutate_fdtable(g, (FdtableEntry *)r->msg);
		break;
	case IMG_REC_FILE:
		mutate_file(g, (FileEntry *)r->msg);
		break;
	default:	/* CREDS, SIGNALS: the generic walk covers them */
		mutate_msg(g, r->msg, 0);
		break;
	}
}

/* ---- tree-aware mutations: several tasks, threads, shared memory ---------- */

/*
 * Images of a tree (more than one TASK or thread, SysV segments, memfds or
 * shmem objects) get these for half of their mutations: they play the
 * records' cross references against each other (pids, tids, ppids, ids of
 * mm / fd table / fs / shmem objects, page groups), which random values
 * alone rarely hit.  Single-process images never take this path, so their
 * seeds mean what they always did.
 */

static const uint32_t bogus_ids[] = { 0, 1, 2, 9999, 0x7fffffff, 0xffffffffu, 4194304 };

/* A hostile id: one of bogus_ids or a live process outside the tree. */
static uint32_t bogus_id(struct rng *g)
{
	if (rnd(g, 5) == 0)
		return (uint32_t)getppid();
	return bogus_ids[rnd(g, sizeof(bogus_ids) / sizeof(bogus_ids[0]))];
}

static size_t count_type(const struct image *im, uint32_t type)
{
	size_t i, n = 0;

	for (i = 0; i < im->n; i++)
		n += im->recs[i].type == type;
	return n;
}

/* Index of the k-th record of type, or -1. */
static long nth_rec(const struct image *im, uint32_t type, size_t k)
{
	size_t i;

	for (i = 0; i < im->n; i++)
		if (im->recs[i].type == type && k-- == 0)
			return i;
	return -1;
}

static TaskEntry *nth_task(const struct image *im, size_t k)
{
	long i = nth_rec(im, IMG_REC_TASK, k);

	return i < 0 ? NULL : (TaskEntry *)im->recs[i].msg;
}

/* Some pid or tid of the image (the task's own when only one). */
static uint32_t tree_tid(struct rng *g, const struct image *im)
{
	TaskEntry *t = nth_task(im, rnd(g, count_type(im, IMG_REC_TASK)));

	if (t->n_threads && rnd(g, 2))
		return t->threads[rnd(g, t->n_threads)];
	return t->pid;
}

/* Some shmem object id the image uses (memfd, SysV, mapping), else bogus. */
static uint32_t tree_shmem_id(struct rng *g, const struct image *im)
{
	uint32_t ids[64];
	size_t i, j, n = 0;

	for (i = 0; i < im->n && n < 64; i++) {
		const struct rec *r = &im->recs[i];

		if (r->type == IMG_REC_FILE && ((FileEntry *)r->msg)->has_shmem_id)
			ids[n++] = ((FileEntry *)r->msg)->shmem_id;
		if (r->type == IMG_REC_SYSV_SHM && ((SysvShmEntry *)r->msg)->has_shmem_id)
			ids[n++] = ((SysvShmEntry *)r->msg)->shmem_id;
		if (r->type != IMG_REC_MM)
			continue;
		for (j = 0; j < ((MmEntry *)r->msg)->n_vmas && n < 64; j++)
			if (((MmEntry *)r->msg)->vmas[j]->has_shmem_id)
				ids[n++] = ((MmEntry *)r->msg)->vmas[j]->shmem_id;
	}
	return n && rnd(g, 3) ? ids[rnd(g, n)] : bogus_id(g);
}

static bool is_tree(const struct image *im)
{
	size_t i, j;

	if (count_type(im, IMG_REC_TASK) > 1 || count_type(im, IMG_REC_SYSV_SHM))
		return true;
	for (i = 0; i < im->n; i++) {
		const struct rec *r = &im->recs[i];

		if (r->type == IMG_REC_TASK && ((TaskEntry *)r->msg)->n_threads > 1)
			return true;
		if (r->type == IMG_REC_FILE && ((FileEntry *)r->msg)->kind == FILE_KIND__FILE_MEMFD)
			return true;
		if (r->type != IMG_REC_MM)
			continue;
		for (j = 0; j < ((MmEntry *)r->msg)->n_vmas; j++)
			if (((MmEntry *)r->msg)->vmas[j]->has_shmem_id)
				return true;
	}
	return false;
}

/* A task's parent: itself, another task (maybe its own child), swapped, bogus. */
static void tree_ppid(struct rng *g, struct image *im, size_t nt)
{
	TaskEntry *t = nth_task(im, nt > 1 ? 1 + rnd(g, nt - 1) : 0);
	TaskEntry *o = nth_task(im, rnd(g, nt));
	uint32_t tmp;

	t->has_ppid = o->has_ppid = 1;
	switch (rnd(g, 4)) {
	case 0:
		t->ppid = t->pid;
		say("TASK pid %u: ppid = itself", t->pid);
		break;
	case 1:
		t->ppid = o->pid;
		say("TASK pid %u: ppid = %u (a task of the tree)", t->pid, o->pid);
		break;
	case 2:
		tmp = t->ppid;
		t->ppid = o->ppid;
		o->ppid = tmp;
		say("TASK pids %u and %u: ppids swapped", t->pid, o->pid);
		break;
	default:
		t->ppid = rnd(g, 2) ? tree_tid(g, im) : bogus_id(g);
		say("TASK pid %u: ppid = %u", t->pid, t->ppid);
		break;
	}
}

/* A pid shared by two tasks, or a task taking a thread's tid. */
static void tree_pid(struct rng *g, struct image *im, size_t nt)
{
	size_t k = rnd(g, nt);
	TaskEntry *t = nth_task(im, k), *o = nth_task(im, nt > 1 ? (k + 1 + rnd(g, nt - 1)) % nt : k);
	uint32_t old = t->pid;

	t->pid = rnd(g, 2) ? o->pid : tree_tid(g, im);
	if (t->n_threads && rnd(g, 2))
		t->threads[0] = t->pid;	/* keep "leader first" true */
	say("TASK pid %u: pid = %u%s", old, t->pid,
	    t->n_threads && t->threads[0] == t->pid ? " (threads[0] too)" : "");
}

/* The thread list: another task's tid, a tid twice, leader not first, empty. */
static void tree_threads(struct rng *g, struct image *im, size_t nt)
{
	TaskEntry *t = nth_task(im, rnd(g, nt));
	size_t n = t->n_threads, i;
	uint32_t *v = xmalloc((n + 2) * sizeof(*v)), tmp;

	memcpy(v, t->threads, n * sizeof(*v));
	t->threads = v;
	switch (n ? rnd(g, 5) : 0) {
	case 0:
		v[n] = tree_tid(g, im);
		t->n_threads = n + 1;
		say("TASK pid %u: threads += %u", t->pid, v[n]);
		break;
	case 1:
		i = rnd(g, n);
		v[n] = v[i];
		t->n_threads = n + 1;
		say("TASK pid %u: tid %u listed twice", t->pid, v[i]);
		break;
	case 2:
		i = rnd(g, n);
		tmp = v[0];
		v[0] = v[i];
		v[i] = tmp;
		if (!i)
			v[0] = tree_tid(g, im);
		say("TASK pid %u: threads[0] = %u", t->pid, v[0]);
		break;
	case 3:
		t->n_threads = 0;
		say("TASK pid %u: threads emptied", t->pid);
		break;
	default:
		i = n > 1 ? 1 + rnd(g, n - 1) : 0;
		v[i] = bogus_id(g);
		say("TASK pid %u: threads[%zu] = %u", t->pid, i, v[i]);
		break;
	}
}

/* A CORE moved to another thread, given twice, or with a bogus fd table / fs. */
static void tree_core(struct rng *g, struct image *im)
{
	long i = pick(g, im, IMG_REC_CORE);
	CoreEntry *c;
	struct rec r;

	if (i < 0)
		return;
	c = (CoreEntry *)im->recs[i].msg;
	switch (rnd(g, 4)) {
	case 0:
		c->has_tid = 1;
		c->tid = rnd(g, 3) ? tree_tid(g, im) : bogus_id(g);
		say("CORE[%ld].tid = %u", i, c->tid);
		break;
	case 1:
		r = copy_rec(&im->recs[i]);
		if (rnd(g, 2)) {
			((CoreEntry *)r.msg)->has_tid = 1;
			((CoreEntry *)r.msg)->tid = tree_tid(g, im);
		}
		say("CORE[%ld] duplicated with tid %u", i, ((CoreEntry *)r.msg)->tid);
		insert_rec(im, i + 1, &r);
		break;
	case 2:
		c->has_files_id = 1;
		c->files_id = rnd(g, 2) ? 1 + rnd(g, count_type(im, IMG_REC_FDTABLE) + 1)
					: bogus_id(g);
		say("CORE[%ld] tid %u: files_id = %u", i, c->tid, c->files_id);
		break;
	default:
		c->has_own_fs = 1;
		c->own_fs = 1;
		if (rnd(g, 2))
			c->cwd = hostile_string(g);
		if (rnd(g, 2))
			c->root = hostile_string(g);
		c->has_umask = rnd(g, 2);
		c->umask = hostile_u32(g, 0);
		say("CORE[%ld] tid %u: own_fs, cwd \"%.30s\" root \"%.30s\"", i, c->tid,
		    c->cwd ? c->cwd : "(none)", c->root ? c->root : "(none)");
		break;
	}
}

/* CREDS / SIGNALS of one task claimed by another (one has two, one none). */
static void tree_owner(struct rng *g, struct image *im)
{
	uint32_t type = rnd(g, 2) ? IMG_REC_CREDS : IMG_REC_SIGNALS;
	long i = pick(g, im, type);
	uint32_t pid = rnd(g, 4) ? tree_tid(g, im) : bogus_id(g);

	if (i < 0)
		return;
	if (type == IMG_REC_CREDS) {
		((CredsEntry *)im->recs[i].msg)->has_pid = 1;
		((CredsEntry *)im->recs[i].msg)->pid = pid;
	} else {
		((SignalsEntry *)im->recs[i].msg)->has_pid = 1;
		((SignalsEntry *)im->recs[i].msg)->pid = pid;
	}
	say("%s[%ld].pid = %u", img_rec_name(type), i, pid);
}

/* mm_id / files_id / fs_id of a task or record: another's, absent, bogus. */
static void tree_ids(struct rng *g, struct image *im, size_t nt)
{
	TaskEntry *t = nth_task(im, rnd(g, nt)), *o = nth_task(im, rnd(g, nt));
	uint32_t v = rnd(g, 3) ? 0 : bogus_id(g);
	long i;

	switch (rnd(g, 5)) {
	case 0:
		t->mm_id = v ? v : o->mm_id;
		t->has_mm_id = rnd(g, 8) != 0;
		say("TASK pid %u: mm_id %s%u", t->pid, t->has_mm_id ? "= " : "removed, was ",
		    t->mm_id);
		break;
	case 1:
		t->files_id = v ? v : o->files_id;
		t->has_files_id = rnd(g, 8) != 0;
		say("TASK pid %u: files_id %s%u", t->pid,
		    t->has_files_id ? "= " : "removed, was ", t->files_id);
		break;
	case 2:
		t->has_fs_id = rnd(g, 8) != 0;
		t->fs_id = v ? v : o->has_fs_id ? o->fs_id : 1;
		say("TASK pid %u: fs_id %s%u", t->pid, t->has_fs_id ? "= " : "removed, was ",
		    t->fs_id);
		break;
	case 3:
		i = pick(g, im, IMG_REC_MM);
		if (i < 0)
			break;
		((MmEntry *)im->recs[i].msg)->has_mm_id = 1;
		((MmEntry *)im->recs[i].msg)->mm_id = v ? v : o->mm_id;
		say("MM[%ld].mm_id = %u", i, ((MmEntry *)im->recs[i].msg)->mm_id);
		break;
	default:
		i = pick(g, im, IMG_REC_FDTABLE);
		if (i < 0)
			break;
		((FdtableEntry *)im->recs[i].msg)->has_files_id = 1;
		((FdtableEntry *)im->recs[i].msg)->files_id = v ? v : o->files_id;
		say("FDTABLE[%ld].files_id = %u", i,
		    ((FdtableEntry *)im->recs[i].msg)->files_id);
		break;
	}
}

/* A live task turned zombie (maybe with children) or stopped; odd exit data. */
static void tree_state(struct rng *g, struct image *im, size_t nt)
{
	static const uint32_t sigs[] = { 0, 9, 17, 19, 32, 64, 65, 0xffffffffu };
	/* waitpid statuses: killed by SIGTSTP, SIGCHLD, SIGSTOP, SIGKILL, SIGSEGV
	 * with core, signal 65, 126; "stopped" (0x7f), exit 1, exit 255, odd bits */
	static const int32_t statuses[] = {
		20, 17, 19, 9, 0x8b, 65, 126, 0x7f, 0x137f, 0x100, 0xff00, 0xffff, 0x10000,
	};
	TaskEntry *t = nth_task(im, rnd(g, nt));

	t->has_state = 1;
	switch (rnd(g, 4)) {
	case 0:
		t->state = TASK_STATE_DEAD;
		t->has_exit_code = rnd(g, 4) != 0;
		t->exit_code = rnd(g, 3) ? statuses[rnd(g, sizeof(statuses) / sizeof(statuses[0]))]
					 : hostile_i32(g);
		say("TASK pid %u: zombie, exit_code %s%d", t->pid,
		    t->has_exit_code ? "" : "absent ", t->exit_code);
		break;
	case 1:
		t->state = TASK_STATE_STOPPED;
		say("TASK pid %u: stopped", t->pid);
		break;
	case 2:
		t->has_exit_signal = 1;
		t->exit_signal = sigs[rnd(g, sizeof(sigs) / sizeof(sigs[0]))];
		say("TASK pid %u: exit_signal = %u", t->pid, t->exit_signal);
		break;
	default:
		t->has_exit_code = 1;
		t->exit_code = hostile_i32(g);
		say("TASK pid %u: exit_code = %d (alive)", t->pid, t->exit_code);
		break;
	}
}

/* Process group / session: another task's pid, a thread's, its own, bogus. */
static void tree_group(struct rng *g, struct image *im, size_t nt)
{
	TaskEntry *t = nth_task(im, rnd(g, nt));
	uint32_t v;

	switch (rnd(g, 3)) {
	case 0:
		v = t->pid;
		break;
	case 1:
		v = tree_tid(g, im);
		break;
	default:
		v = bogus_id(g);
		break;
	}
	if (rnd(g, 2)) {
		t->has_pgid = 1;
		t->pgid = v;
		say("TASK pid %u: pgid = %u", t->pid, v);
	} else {
		t->has_sid = 1;
		t->sid = v;
		say("TASK pid %u: sid = %u", t->pid, v);
	}
}

/*
 * A session or group whose leader exited (restore makes helper processes
 * for those): a task moved into a new one, its parent made a child
 * subreaper as the session case requires; the leader's pid free, bogus or
 * a thread's.
 */
static void tree_helpers(struct rng *g, struct image *im, size_t nt)
{
	TaskEntry *t = nth_task(im, nt > 1 ? 1 + rnd(g, nt - 1) : 0), *p = NULL;
	uint32_t leader;
	size_t k;

	for (k = 0; k < nt; k++)
		if (nth_task(im, k)->pid == t->ppid)
			p = nth_task(im, k);
	switch (rnd(g, 4)) {
	case 0:
	case 1:
		leader = nth_task(im, 0)->pid + 500 + rnd(g, 500);	/* most likely free */
		break;
	case 2:
		leader = tree_tid(g, im);
		break;
	default:
		leader = bogus_id(g);
		break;
	}
	if (p && rnd(g, 4))
		p->has_child_subreaper = p->child_subreaper = 1;
	if (rnd(g, 2)) {
		t->has_sid = 1;
		t->sid = leader;
		if (rnd(g, 2)) {
			t->has_pgid = 1;
			t->pgid = leader;
		}
	} else {
		t->has_pgid = 1;
		t->pgid = leader;
	}
	say("TASK pid %u: sid %u pgid %u (leader gone), parent %u %sa subreaper", t->pid,
	    t->sid, t->pgid, t->ppid, p && p->child_subreaper ? "" : "not ");
}

/* TASK records out of preorder: a child first, or two tasks swapped. */
static void tree_order(struct rng *g, struct image *im, size_t nt)
{
	long a = nth_rec(im, IMG_REC_TASK, 0), b;
	struct rec t;

	if (nt < 2)
		return;
	b = nth_rec(im, IMG_REC_TASK, 1 + rnd(g, nt - 1));
	if (rnd(g, 2))
		a = nth_rec(im, IMG_REC_TASK, rnd(g, nt));
	t = im->recs[a];
	im->recs[a] = im->recs[b];
	im->recs[b] = t;
	say("TASK records %ld (pid %u) and %ld (pid %u) swapped", a,
	    ((TaskEntry *)im->recs[a].msg)->pid, b, ((TaskEntry *)im->recs[b].msg)->pid);
}

/* A mapping's shmem object or SysV id: another object's, bogus, absent. */
static void tree_vma_shmem(struct rng *g, struct image *im)
{
	static const int32_t shmids[] = { -1, 0, 1, 0x7fffffff, INT32_MIN, 65536 };
	long i = pick(g, im, IMG_REC_MM);
	MmEntry *mm;
	VmaEntry *v;
	size_t k, j;

	if (i < 0 || !(mm = (MmEntry *)im->recs[i].msg)->n_vmas)
		return;
	k = rnd(g, mm->n_vmas);
	for (j = 0; j < mm->n_vmas && rnd(g, 4); j++)	/* prefer a shmem area */
		if (mm->vmas[(k + j) % mm->n_vmas]->has_shmem_id)
			break;
	k = (k + (j < mm->n_vmas ? j : 0)) % mm->n_vmas;
	v = mm->vmas[k];
	say("MM[%ld].vmas[%zu] %#llx", i, k, (unsigned long long)v->start);
	switch (rnd(g, 4)) {
	case 0:
		v->has_shmem_id = rnd(g, 8) != 0;
		v->shmem_id = tree_shmem_id(g, im);
		say(" shmem_id %s%u", v->has_shmem_id ? "= " : "removed, was ", v->shmem_id);
		break;
	case 1:
		v->has_sysv_shmid = 1;
		v->sysv_shmid = rnd(g, 2) ? shmids[rnd(g, 6)] : (int32_t)v->sysv_shmid + 1;
		say(" sysv_shmid = %d", v->sysv_shmid);
		break;
	case 2:
		v->has_kind = v->has_flags = v->has_shmem_id = 1;
		v->kind = VMA_KIND__VMA_SHMEM;
		v->flags = (v->flags & ~0x3u) | (rnd(g, 4) ? 0x1 : 0x2);	/* SHARED, PRIVATE */
		v->shmem_id = tree_shmem_id(g, im);
		say(" made SHMEM %s of object %u", v->flags & 1 ? "shared" : "private",
		    v->shmem_id);
		break;
	default:
		v->has_pgoff = 1;
		v->pgoff = rnd(g, 2) ? hostile_u64(g, v->pgoff) : v->pgoff + (1ull << 30);
		say(" pgoff = %#llx", (unsigned long long)v->pgoff);
		break;
	}
}

/* A SysV segment with odd attributes, twice, or one nobody maps. */
static void tree_sysv(struct rng *g, struct image *im)
{
	static const uint64_t sizes[] = { 0, 1, 4095, 4097, 1ull << 40, ~0ull, 1ull << 20 };
	static const int32_t ids[] = { -1, 0, 1, 0x7fffffff, INT32_MIN };
	long i = pick(g, im, IMG_REC_SYSV_SHM);
	SysvShmEntry *s;
	struct rec r;

	if (i < 0 || rnd(g, 6) == 0) {
		r = (struct rec){ .type = IMG_REC_SYSV_SHM };
		r.msg = i < 0 ? new_msg(&sysv_shm_entry__descriptor) : clone_msg(im->recs[i].msg);
		i = i < 0 ? nth_rec(im, IMG_REC_TASK, 0) + 1 : i + 1;
		insert_rec(im, i, &r);
		say("SYSV_SHM record inserted at %ld; ", i);
	}
	s = (SysvShmEntry *)im->recs[i].msg;
	switch (rnd(g, 6)) {
	case 0:
		s->has_size = 1;
		s->size = sizes[rnd(g, sizeof(sizes) / sizeof(sizes[0]))];
		say("SYSV_SHM[%ld].size = %#llx", i, (unsigned long long)s->size);
		break;
	case 1:
		s->has_shmid = 1;
		s->shmid = rnd(g, 2) ? ids[rnd(g, 5)] : s->shmid + 1;
		say("SYSV_SHM[%ld].shmid = %d", i, s->shmid);
		break;
	case 2:
		s->has_shmem_id = rnd(g, 8) != 0;
		s->shmem_id = tree_shmem_id(g, im);
		say("SYSV_SHM[%ld].shmem_id %s%u", i, s->has_shmem_id ? "= " : "removed, was ",
		    s->shmem_id);
		break;
	case 3:
		s->has_mode = 1;
		s->mode = rnd(g, 2) ? 0 : hostile_u32(g, s->mode);
		s->has_uid = rnd(g, 2);
		s->uid = hostile_u32(g, 0);
		say("SYSV_SHM[%ld].mode = %#o, uid %s%u", i, s->mode, s->has_uid ? "" : "absent ",
		    s->uid);
		break;
	case 4:
		s->has_key = 1;
		s->key = hostile_i32(g);
		s->has_removed = 1;
		s->removed = !s->removed;
		say("SYSV_SHM[%ld].key = %d, removed = %d", i, s->key, s->removed);
		break;
	default:
		mutate_msg(g, &s->base, 0);
		say(" (SYSV_SHM[%ld])", i);
		break;
	}
}

/* A memfd (or a file made one) with a bogus object, size, seals or name. */
static void tree_memfd(struct rng *g, struct image *im)
{
	long i, k, n = count_type(im, IMG_REC_FILE);
	FileEntry *f = NULL;
	char *s;

	if (!n)
		return;
	for (k = rnd(g, n), i = 0; i < n; i++) {
		f = (FileEntry *)im->recs[nth_rec(im, IMG_REC_FILE, (k + i) % n)].msg;
		if (f->kind == FILE_KIND__FILE_MEMFD)
			break;
	}
	if (f->kind != FILE_KIND__FILE_MEMFD) {
		f->has_kind = 1;
		f->kind = FILE_KIND__FILE_MEMFD;
		say("FILE id %u made a memfd; ", f->id);
	}
	switch (rnd(g, 5)) {
	case 0:
		f->has_shmem_id = rnd(g, 8) != 0;
		f->shmem_id = tree_shmem_id(g, im);
		say("FILE id %u: shmem_id %s%u", f->id, f->has_shmem_id ? "= " : "removed, was ",
		    f->shmem_id);
		break;
	case 1:
		f->has_size = 1;
		f->size = rnd(g, 2) ? hostile_u64(g, f->size) : f->size + 1;
		say("FILE id %u: size = %#llx", f->id, (unsigned long long)f->size);
		break;
	case 2:
		f->has_seals = 1;
		f->seals = rnd(g, 2) ? hostile_u32(g, f->seals) : (uint32_t)rnd(g, 64);
		say("FILE id %u: seals = %#x", f->id, f->seals);
		break;
	case 3:
		if (rnd(g, 2)) {
			f->path = hostile_string(g);
		} else {
			s = xmalloc(400);
			snprintf(s, 400, "/memfd:%0*d (deleted)", (int)rnd(g, 300), 0);
			f->path = s;
		}
		say("FILE id %u: path = \"%.40s\"", f->id, f->path);
		break;
	default:
		f->has_flags = 1;
		f->flags = hostile_u32(g, f->flags);
		say("FILE id %u: flags = %#x", f->id, f->flags);
		break;
	}
}

/* A PAGES / SHMEM_PAGES record made an IMG_PAGES_ZERO range, or one added. */
static void tree_zero(struct rng *g, struct image *im)
{
	static const uint64_t lens[] = {
		0, 1, 4095, PAGE, PAGE * 3, 1ull << 30, 1ull << 47, ~0ull, ~0ull - PAGE + 1,
	};
	static const size_t tails[] = { 0, 4, 8, 8, 8, 16 };	/* bytes after the prefix */
	long i = pick(g, im, rnd(g, 4) ? IMG_REC_PAGES : IMG_REC_SHMEM_PAGES);
	struct img_pages_prefix pp;
	struct rec r;
	uint64_t len;
	size_t tail = tails[rnd(g, 6)];

	if (i < 0 && (i = pick(g, im, IMG_REC_PAGES)) < 0)
		return;
	memcpy(&pp, im->recs[i].buf, sizeof(pp));
	len = rnd(g, 3) ? lens[rnd(g, sizeof(lens) / sizeof(lens[0]))]
			: im->recs[i].len - sizeof(pp) + PAGE * rnd(g, 2);
	if (rnd(g, 3) == 0) {
		pp.mm_id = 1 + rnd(g, count_type(im, IMG_REC_MM) + 1);
		pp.addr += PAGE * rnd(g, 4);
	}
	pp.flags |= IMG_PAGES_ZERO;
	r = (struct rec){ .type = im->recs[i].type, .len = sizeof(pp) + tail };
	r.buf = xmalloc(r.len + 8);
	memcpy(r.buf, &pp, sizeof(pp));
	memcpy(r.buf + sizeof(pp), &len, 8);
	memset(r.buf + sizeof(pp) + 8, 0xa5, tail > 8 ? tail - 8 : 0);
	if (rnd(g, 2)) {
		say("%s[%ld] made ZERO", img_rec_name(r.type), i);
		im->recs[i] = r;
	} else {
		i = rnd(g, 2) ? i + 1 : i;
		say("ZERO %s inserted at %ld", img_rec_name(r.type), i);
		insert_rec(im, i, &r);
	}
	say(": addr %#llx mm_id %u length %#llx, %zu bytes after the prefix",
	    (unsigned long long)pp.addr, pp.mm_id, (unsigned long long)len, tail);
}

/* Pages of one process given to another, or a page group moved. */
static void tree_page_groups(struct rng *g, struct image *im)
{
	long i = pick(g, im, rnd(g, 3) ? IMG_REC_PAGES : IMG_REC_SHMEM_PAGES), j;
	struct img_pages_prefix pp;
	struct rec t;

	if (i < 0 && (i = pick(g, im, IMG_REC_PAGES)) < 0)
		return;
	if (rnd(g, 2)) {
		memcpy(&pp, im->recs[i].buf, sizeof(pp));
		pp.mm_id = im->recs[i].type == IMG_REC_SHMEM_PAGES ? tree_shmem_id(g, im)
				: 1 + rnd(g, count_type(im, IMG_REC_MM) + 1);
		memcpy(im->recs[i].buf, &pp, sizeof(pp));
		say("%s[%ld].mm_id = %u", img_rec_name(im->recs[i].type), i, pp.mm_id);
		return;
	}
	j = pick(g, im, IMG_REC_PAGES);
	t = im->recs[i];
	if (j < i) {
		memmove(&im->recs[j + 1], &im->recs[j], (i - j) * sizeof(t));
		im->recs[j] = t;
		say("%s[%ld] moved to %ld", img_rec_name(t.type), i, j);
	} else {
		im->recs[i] = im->recs[j];
		im->recs[j] = t;
		say("%s[%ld] and PAGES[%ld] swapped", img_rec_name(t.type), i, j);
	}
}

/* POSIX timers with odd ids, clocks, targets and values. */
static void tree_timers(struct rng *g, struct image *im)
{
	static const uint32_t clocks[] = { 0, 1, 2, 3, 7, 8, 9, 11, 12, 0x7fffffff, ~0u };
	static const uint32_t notify[] = { 0, 1, 2, 4, 5, ~0u };
	long i = pick(g, im, IMG_REC_SIGNALS);
	SignalsEntry *s;
	PosixTimerEntry *t;
	size_t k, n;

	if (i < 0)
		return;
	s = (SignalsEntry *)im->recs[i].msg;
	n = rnd(g, 8) ? 1 + rnd(g, 3) : 1000 + rnd(g, 40000);
	s->timers = xmalloc(n * sizeof(*s->timers));
	s->n_timers = n;
	for (k = 0; k < n; k++) {
		t = (PosixTimerEntry *)new_msg(&posix_timer_entry__descriptor);
		t->has_id = t->has_clock_id = t->has_notify = t->has_signo = 1;
		t->has_notify_tid = t->has_value_ns = t->has_interval_ns = 1;
		t->id = rnd(g, 2) ? (uint32_t)k : bogus_id(g);
		t->clock_id = clocks[rnd(g, sizeof(clocks) / sizeof(clocks[0]))];
		t->notify = notify[rnd(g, sizeof(notify) / sizeof(notify[0]))];
		t->signo = rnd(g, 2) ? 10 : (uint32_t)rnd(g, 70);
		t->notify_tid = rnd(g, 2) ? tree_tid(g, im) : bogus_id(g);
		t->value_ns = rnd(g, 2) ? 1 + rnd(g, 1000000000) : hostile_u64(g, 0);
		t->interval_ns = rnd(g, 2) ? 0 : hostile_u64(g, 1000000);
		t->has_overrun = rnd(g, 2);
		t->overrun = hostile_u32(g, 0);
		s->timers[k] = t;
	}
	t = s->timers[0];
	say("SIGNALS[%ld] pid %u: %zu timers, first id %u clock %u notify %u signo %u tid %u "
	    "value %#llx interval %#llx", i, s->pid, n, t->id, t->clock_id, t->notify, t->signo,
	    t->notify_tid, (unsigned long long)t->value_ns, (unsigned long long)t->interval_ns);
}

/* One tree-aware mutation, chosen and shaped by g. */
static void mutate_tree(struct rng *g, struct image *im)
{
	size_t nt = count_type(im, IMG_REC_TASK);

	if (!nt)
		return;
	switch (rnd(g, 15)) {
	case 0:
		tree_ppid(g, im, nt);
		break;
	case 1:
		tree_pid(g, im, nt);
		break;
	case 2:
		tree_threads(g, im, nt);
		break;
	case 3:
		tree_core(g, im);
		break;
	case 4:
		tree_owner(g, im);
		break;
	case 5:
		tree_ids(g, im, nt);
		break;
	case 6:
		tree_state(g, im, nt);
		break;
	case 7:
		tree_group(g, im, nt);
		break;
	case 8:
		tree_order(g, im, nt);
		break;
	case 9:
		tree_vma_shmem(g, im);
		break;
	case 10:
		tree_sysv(g, im);
		break;
	case 11:
		tree_memfd(g, im);
		break;
	case 12:
		tree_zero(g, im);
		break;
	case 13:
		tree_helpers(g, im, nt);
		break;
	default:
		if (rnd(g, 2))
			tree_page_groups(g, im);
		else
			tree_timers(g, im);
		break;
	}
}

/* Applies one mutation, chosen and shaped by g. */
static void mutate_once(struct rng *g, struct image *im)
{
	static const uint32_t pb_types[] = {
		IMG_REC_TASK, IMG_REC_CORE, IMG_REC_CREDS, IMG_REC_SIGNALS,
		IMG_REC_MM, IMG_REC_FILE, IMG_REC_FDTABLE,
	};
	static const uint32_t raw_types[] = {
		IMG_REC_PAGES, IMG_REC_FILE_DATA, IMG_REC_PIPE_DATA, IMG_REC_SHMEM_PAGES,
	};
	uint64_t kind;
	long i;

	if (im->tree && rnd(g, 2)) {
		mutate_tree(g, im);
		return;
	}
	kind = rnd(g, 10);
	if (kind == 9 && im->n > 1) {
		mutate_structure(g, im);
		return;
	}
	if (kind >= 7) {
		i = pick(g, im, raw_types[rnd(g, 4)]);
		if (i < 0)
			i = pick(g, im, IMG_REC_PAGES);
		if (i >= 0) {
			say("%s[%ld]", img_rec_name(im->recs[i].type), i);
			mutate_raw(g, &im->recs[i]);
			return;
		}
	}
	i = pick(g, im, pb_types[rnd(g, 7)]);
	if (i < 0)
		i = pick(g, im, IMG_REC_TASK);
	if (i < 0)
		return;
	say("%s[%ld]", img_rec_name(im->recs[i].type), i);
	if (kind < 4)
		mutate_targeted(g, &im->recs[i]);
	else
		mutate_msg(g, im->recs[i].msg, 0);
}

/* ---- reading and writing ------------------------------------------------- */

static int keep_record(struct image *im, const struct img_record *rec)
{
	const struct img_rec_desc *d = img_rec_lookup(rec->type);
	struct rec r = { .type = rec->type, .flags = rec->flags };

	if (d && d->pb) {
		r.msg = protobuf_c_message_unpack(d->pb, NULL, rec->length, rec->payload);
		if (!r.msg) {
			fprintf(stderr, "mutate-image: record %llu (%s) does not unpack\n",
				(unsigned long long)rec->index, d->name);
			return -1;
		}
	} else {
		r.buf = xmalloc(rec->length);
		memcpy(r.buf, rec->payload, rec->length);
		r.len = rec->length;
	}
	insert_rec(im, im->n, &r);
	return 0;
}

static int load(const char *path, struct image *im)
{
	struct img_reader *r;
	struct img_record rec;
	const ImgHeader *h;
	int fd, ret;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "mutate-image: %s: %s\n", path, strerror(errno));
		return -1;
	}
	ret = img_reader_open(fd, &r);
	if (ret) {
		fprintf(stderr, "mutate-image: %s: %s\n", path, img_last_open_error());
		close(fd);
		return -1;
	}
	h = img_reader_header(r);
	im->compress = h->compression == IMG_COMPRESSION__COMP_ZSTD;
	im->root_pid = h->root_pid;
	im->has_parent = h->has_parent_id && h->parent_id.len == 16;
	if (im->has_parent)
		memcpy(im->parent_id, h->parent_id.data, 16);
	while ((ret = img_read_record(r, &rec)) == 1 && !(ret = keep_record(im, &rec)))
		;
	if (ret < 0)
		fprintf(stderr, "mutate-image: %s: %s\n", path, img_reader_error(r));
	img_reader_free(r);
	close(fd);
	return ret < 0 ? -1 : 0;
}

static int save(const char *path, const struct image *im)
{
	struct img_write_opts o = {
		.compress = im->compress, .threads = 1, .root_pid = im->root_pid,
		.parent_id = im->has_parent ? im->parent_id : NULL,
	};
	struct img_writer *w;
	size_t i;
	int fd, ret;

	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		fprintf(stderr, "mutate-image: %s: %s\n", path, strerror(errno));
		return -1;
	}
	ret = img_writer_open(fd, &o, &w);
	for (i = 0; !ret && i < im->n; i++) {
		const struct rec *r = &im->recs[i];

		ret = r->msg ? img_write_msg(w, r->type, r->msg)
			     : img_write_raw(w, r->type, r->flags, r->buf, r->len);
	}
	if (!ret)
		ret = img_writer_finish(w);
	if (w)
		img_writer_free(w);
	if (close(fd) && !ret)
		ret = -errno;
	if (ret)
		fprintf(stderr, "mutate-image: writing %s: %s\n", path, strerror(-ret));
	return ret ? -1 : 0;
}

static void log_to_stderr(enum vxcr_log_level lvl, const char *msg, void *arg)
{
	if (lvl == VXCR_LOG_ERR)
		fprintf(stderr, "mutate-image: %s", msg);
}

int main(int argc, char **argv)
{
	struct image im = { 0 };
	struct rng g;
	unsigned long long seed;
	long count, only = -1, i;
	char *end;

	if (argc < 4 || argc > 6) {
		fprintf(stderr, "usage: mutate-image IN OUT SEED [COUNT [ONLY]]\n");
		return 2;
	}
	seed = strtoull(argv[3], &end, 0);
	if (*end) {
		fprintf(stderr, "mutate-image: bad seed %s\n", argv[3]);
		return 2;
	}
	g.s = seed;
	count = argc > 4 ? atol(argv[4]) : (long)(const uint8_t[]){ 1, 1, 2, 3 }[rnd(&g, 4)];
	if (argc > 5)
		only = atol(argv[5]);
	setvbuf(stdout, NULL, _IOLBF, 0);
	vxcr_set_log(log_to_stderr, NULL);
	if (load(argv[1], &im))
		return 1;
	if (!im.n) {
		fprintf(stderr, "mutate-image: %s has no records\n", argv[1]);
		return 1;
	}
	im.tree = is_tree(&im);
	for (i = 0; i < count; i++) {
		g.s = seed * 0x100000001b3ull + (uint64_t)i * 0x9e3779b97f4a7c15ull + 1;
		if (only >= 0 && i != only)
			continue;
		what[0] = '\0';
		mutate_once(&g, &im);
		printf("mutation %ld: %s\n", i, what[0] ? what : "(none applicable)");
	}
	return save(argv[2], &im) ? 1 : 0;
}
