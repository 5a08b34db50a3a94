/*
 * mutate-image: rewrites a valid vxcr image with hostile contents but valid
 * framing, so that the restorer's checks (not the checksums) are exercised.
 *
 * Usage: mutate-image IN OUT SEED [COUNT [ONLY]]
 *
 * Reads IN with img_reader, applies COUNT mutations (default 1, 2 or 3,
 * chosen by SEED; half of the seeds get one) to the decoded records and
 * writes OUT with img_writer, compressed exactly when IN was.  Every record
 * is checksummed and the trailer is correct, so only what the records *say*
 * is hostile.  The same SEED always gives the same image (values taken from
 * getppid() aside).  ONLY (0-based) applies just that one of the COUNT
 * mutations, to find which one a failure needs.  Each mutation applied is
 * printed on stdout, one line each ("mutation I: RECORD[index] what").
 *
 * Mutation i draws from its own generator (seeded by SEED and i), so the
 * choice of mutation i does not depend on whether the earlier ones ran.
 *
 * Images of a tree (several tasks or threads, SysV segments, memfds, shmem
 * objects) get tree-aware mutations for half of their mutations (see
 * mutate_tree()); a single-process image never does, so the seeds of
 * t-fuzz-restore.sh give the same mutations as before they existed.  They
 * live in mutate/tree.c (every C file under tests/fuzz/mutate/ is linked
 * into the fuzz tools).  Images holding an fd kind of issue 12 (a FILE of
 * a kind of mutate/kinds.c's table, an SK_QUEUE record) get a kind
 * mutation for half of their mutations; images without one draw exactly
 * as before (t-fuzz-kinds.sh).
 *
 * Protobuf records are kept unpacked and re-packed by the writer.  Mutated
 * messages are never freed: mutations alias strings and sub-messages freely
 * and the process ends right after writing.
 *
 * Exit status: 0 written, 1 the input could not be read or OUT not written,
 * 2 usage.
 */
#include "mutate/mutate.h"

/* The description of the mutation being applied, printed once it is done. */
static char what[512];

void say(const char *fmt, ...)
{
	va_list ap;
	size_t l = strlen(what);

	va_start(ap, fmt);
	vsnprintf(what + l, sizeof(what) - l, fmt, ap);
	va_end(ap);
}

/* ---- records as messages -------------------------------------------------- */

/* A deep copy (packs and unpacks), so the copy can be mutated alone. */
ProtobufCMessage *clone_msg(const ProtobufCMessage *m)
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
			rl->resource = rnd(g, 2) ? 16 + rnd(g, 8) : (uint32_t)rnd64(g);
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
		s->siginfo.data[i] = (uint8_t)rnd64(g);
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
		c->xfeatures = rnd(g, 2) ? ~0ull : rnd64(g);
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
				mm->auxv[i] = rnd64(g);
		}
		say(".auxv has %zu entries", mm->n_auxv);
		break;
	case 2:
		mm->has_exe_file_id = 1;
		mm->exe_file_id = rnd(g, 2) ? 0 : 0xffffffffu - rnd(g, 2);
		say(".exe_file_id = %u", mm->exe_file_id);
		break;
	default:
		mm->has_vdso_digest = 1;
		say(".vdso_digest");
		hostile_bytes(g, &mm->vdso_digest);
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
		fe->size = rnd(g, 2) ? ~0ull >> 1 : rnd64(g);
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

struct rec copy_rec(const struct rec *r)
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
long pick(struct rng *g, const struct image *im, uint32_t want)
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

/* ---- the fd kinds of issue 12 (mutate/kinds.c) ---------------------------- */

/* Does im hold a FILE of a kind of kinds.c's table, or an SK_QUEUE record? */
static bool has_kind_rec(const struct image *im)
{
	size_t i;

	for (i = 0; i < im->n; i++)
		if ((im->recs[i].type == IMG_REC_FILE &&
		     kind_known(((FileEntry *)im->recs[i].msg)->kind)) ||
		    (im->recs[i].type == IMG_REC_SK_QUEUE &&
		     im->recs[i].len >= sizeof(struct img_data_prefix)))
			return true;
	return false;
}

/* The ids of im a kind mutation may name; cand (*nc of them): the records it may mutate. */
static void kind_refs_of(const struct image *im, struct kind_refs *k, long *cand, size_t *nc)
{
	size_t i, j, cap = im->n + 1;
	const FileEntry *fe;
	const TaskEntry *t;

	k->files = xmalloc(cap * sizeof(*k->files));
	k->kinds = xmalloc(cap * sizeof(*k->kinds));
	k->inos = xmalloc(cap * sizeof(*k->inos));
	k->pids = xmalloc(cap * sizeof(*k->pids));
	k->zombies = xmalloc(cap * sizeof(*k->zombies));
	k->tids = xmalloc(256 * sizeof(*k->tids));
	for (i = 0; i < im->n; i++) {
		const struct rec *r = &im->recs[i];

		if (r->type == IMG_REC_SK_QUEUE && r->len >= sizeof(struct img_data_prefix))
			cand[(*nc)++] = (long)i;
		if (r->type == IMG_REC_FILE) {
			fe = (const FileEntry *)r->msg;
			k->kinds[k->nf] = fe->kind;
			k->files[k->nf++] = fe->id;
			if (fe->unixsk && fe->unixsk->has_ino)
				k->inos[k->ni++] = fe->unixsk->ino;
			if (kind_known(fe->kind))
				cand[(*nc)++] = (long)i;
		} else if (r->type == IMG_REC_TASK) {
			t = (const TaskEntry *)r->msg;
			if (t->state == TASK_STATE_DEAD)
				k->zombies[k->nz++] = t->pid;
			else
				k->pids[k->np++] = t->pid;
			for (j = 1; j < t->n_threads && k->nt < 256; j++)
				k->tids[k->nt++] = t->threads[j];
		}
	}
}

/*
 * One FILE of an fd kind mutated by its kind with ids of this image, or
 * given a twin (a copy with a fresh id, wired to it: epolls watching each
 * other, sockets paired crosswise), or one SK_QUEUE prefix changed.
 * False if im has none left (an earlier mutation changed its kind).
 */
static bool mutate_kind_rec(struct rng *g, struct image *im)
{
	long *cand = xmalloc((im->n + 1) * sizeof(*cand)), i;
	struct kind_refs k = { 0 };
	struct img_data_prefix dp;
	uint32_t max = 0, id;
	uint64_t off;
	struct rec c;
	size_t nc = 0, j;

	kind_refs_of(im, &k, cand, &nc);
	if (!nc)
		return false;
	i = cand[rnd(g, nc)];
	say("%s[%ld] ", img_rec_name(im->recs[i].type), i);
	if (im->recs[i].type == IMG_REC_SK_QUEUE) {
		memcpy(&dp, im->recs[i].buf, sizeof(dp));
		id = dp.id;
		off = dp.offset;
		mutate_skq(g, &id, &off, &k);
		dp.id = id;
		dp.offset = off;
		memcpy(im->recs[i].buf, &dp, sizeof(dp));
		return true;
	}
	if (rnd(g, 4) == 0) {
		c = copy_rec(&im->recs[i]);
		for (j = 0; j < k.nf; j++)
			max = k.files[j] > max ? k.files[j] : max;
		((FileEntry *)c.msg)->id = max + 1;
		if (kind_twin(g, (FileEntry *)im->recs[i].msg, (FileEntry *)c.msg)) {
			insert_rec(im, (size_t)i + 1, &c);
			return true;
		}
	}
	mutate_kind(g, (FileEntry *)im->recs[i].msg, &k);
	return true;
}

/* ---- tree-aware mutations: several tasks, threads, shared memory ---------- */

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

	if (im->kinds && rnd(g, 2) && mutate_kind_rec(g, im))
		return;
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
	if (image_load(argv[1], &im))
		return 1;
	if (!im.n) {
		fprintf(stderr, "mutate-image: %s has no records\n", argv[1]);
		return 1;
	}
	im.tree = is_tree(&im);
	im.kinds = has_kind_rec(&im);
	for (i = 0; i < count; i++) {
		g.s = seed * 0x100000001b3ull + (uint64_t)i * 0x9e3779b97f4a7c15ull + 1;
		if (only >= 0 && i != only)
			continue;
		what[0] = '\0';
		mutate_once(&g, &im);
		printf("mutation %ld: %s\n", i, what[0] ? what : "(none applicable)");
	}
	return image_save(argv[2], &im) ? 1 : 0;
}
