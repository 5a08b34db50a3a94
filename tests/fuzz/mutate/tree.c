/*
 * Tree-aware mutations of mutate-image (see mutate_tree()): hostile
 * relations between the tasks, threads, ids and shared objects of an image
 * of a process tree.
 */
#include "mutate/mutate.h"

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

bool is_tree(const struct image *im)
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

/* A task no other task names as its parent (the root if none). */
static TaskEntry *leaf_task(struct rng *g, const struct image *im, size_t nt)
{
	size_t k, j, start = rnd(g, nt);

	for (k = 0; k < nt; k++) {
		TaskEntry *t = nth_task(im, (start + k) % nt);

		for (j = 0; j < nt; j++)
			if (nth_task(im, j)->ppid == t->pid && nth_task(im, j) != t)
				break;
		if (j == nt)
			return t;
	}
	return nth_task(im, 0);
}

/* Drops the PAGES records (zero ranges too) of address space mm_id. */
static void drop_pages_of(struct image *im, uint32_t mm_id)
{
	struct img_pages_prefix pp;
	size_t i, n = 0;

	for (i = 0; i < im->n; i++) {
		if (im->recs[i].type == IMG_REC_PAGES && im->recs[i].len >= sizeof(pp)) {
			memcpy(&pp, im->recs[i].buf, sizeof(pp));
			if (pp.mm_id == mm_id)
				continue;
		}
		im->recs[n++] = im->recs[i];
	}
	if (n != im->n)
		say("(%zu PAGES records of mm %u dropped) ", im->n - n, mm_id);
	im->n = n;
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
		if (rnd(g, 4)) {	/* a plausible zombie: a leaf, no pages */
			t = leaf_task(g, im, nt);
			drop_pages_of(im, t->has_mm_id ? t->mm_id : 0);
		}
		t->has_state = 1;
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
void mutate_tree(struct rng *g, struct image *im)
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
