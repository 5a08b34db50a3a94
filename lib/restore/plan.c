/*
 * Restore plan: every record before the first PAGES record, kept in memory so
 * the pages can be streamed straight into the new process afterwards.
 */
#define LOG_PREFIX "restore/plan: "
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "restore/restore.h"

/* Where plan.c keeps the decoded records of one type (RST_KEPT_RECORDS). */
struct kept_rec {
	uint32_t type;
	size_t arr; /* offsetof the array in struct rst_records */
	size_t n;   /* ... and of its count */
};

#define KEPT_ROW(t, field, ctype)                           \
	{ IMG_REC_##t, offsetof(struct rst_records, field), \
	  offsetof(struct rst_records, n_##field) },

static const struct kept_rec kept_recs[] = { RST_KEPT_RECORDS(KEPT_ROW) };

#define NR_KEPT (sizeof(kept_recs) / sizeof(kept_recs[0]))

static void ***kept_arr(struct rst_records *r, const struct kept_rec *k)
{
	return (void ***)((char *)r + k->arr);
}

static size_t *kept_n(struct rst_records *r, const struct kept_rec *k)
{
	return (size_t *)((char *)r + k->n);
}

/* The row of a kept record type, or NULL. */
static const struct kept_rec *kept_of(uint32_t type)
{
	size_t i;

	for (i = 0; i < NR_KEPT; i++)
		if (kept_recs[i].type == type)
			return &kept_recs[i];
	return NULL;
}

/* Unpacks rec (a kept type) and appends it to its type's array. */
static int keep(struct rst_image *img, const struct kept_rec *k, const struct img_record *rec)
{
	const struct img_rec_desc *d = img_rec_lookup(rec->type);
	void ***arr = kept_arr(&img->recs, k), **na;
	size_t *n = kept_n(&img->recs, k);
	ProtobufCMessage *m;
	int ret;

	ret = img_unpack(rec, d->pb, &m);
	if (ret) {
		pr_err("image: record %llu (%s) does not unpack\n", (unsigned long long)rec->index,
		       d->pb->short_name);
		return ret;
	}
	na = realloc(*arr, (*n + 1) * sizeof(*na));
	if (!na) {
		protobuf_c_message_free_unpacked(m, NULL);
		return -ENOMEM;
	}
	na[(*n)++] = m;
	*arr = na;
	return 0;
}

/* CONTEXT: once, first (its pids are those of its own pid namespace). */
static int add_context(struct rst_image *img, const struct img_record *rec)
{
	ProtobufCMessage *m;
	int ret;

	if (img->ctxe || img->recs.n_task) {
		pr_err("image: record %llu: CONTEXT must come once, before every TASK\n",
		       (unsigned long long)rec->index);
		return -EBADMSG;
	}
	ret = img_unpack(rec, &ctx_entry__descriptor, &m);
	if (ret) {
		pr_err("image: CONTEXT record %llu does not unpack\n",
		       (unsigned long long)rec->index);
		return ret;
	}
	img->ctxe = (CtxEntry *)m;
	/*
	 * The rest of a context's image is read by its supervisor, a child
	 * forked once the plan is read (ctx.c): a reader thread (a frame's
	 * decoder, the hasher) started before that fork would not be in the
	 * child, which then waited on it for ever or crashed.  So none starts
	 * until the child lets them (CONTEXT is the first record: none has).
	 */
	if (img->stream.rd) /* none in the dump's vet */
		img_reader_set_threads(img->stream.rd, 1);
	return 0;
}

static int add_file(struct rst_image *img, const struct img_record *rec)
{
	ProtobufCMessage *m;
	struct rst_file *nf;
	int ret;

	ret = img_unpack(rec, &file_entry__descriptor, &m);
	if (ret) {
		pr_err("image: FILE record %llu does not unpack\n", (unsigned long long)rec->index);
		return ret;
	}
	nf = realloc(img->files, (img->nr_files + 1) * sizeof(*nf));
	if (!nf) {
		protobuf_c_message_free_unpacked(m, NULL);
		return -ENOMEM;
	}
	img->files = nf;
	memset(&nf[img->nr_files], 0, sizeof(*nf));
	nf[img->nr_files].fe = (FileEntry *)m;
	nf[img->nr_files].stage_fd = -1;
	nf[img->nr_files].map_fd = -1;
	nf[img->nr_files].ghost_fd = -1;
	img->nr_files++;
	return 0;
}

/* Appends a chunk of len bytes; bytes NULL: not kept (the dump's vet). */
static int put_chunk(struct rst_chunk **arr, size_t *n, const struct img_data_prefix *p,
		     const void *bytes, uint64_t len)
{
	struct rst_chunk *na, *c;

	na = realloc(*arr, (*n + 1) * sizeof(*na));
	if (!na)
		return -ENOMEM;
	*arr = na;
	c = &na[*n];
	c->id = p->id;
	c->offset = p->offset;
	c->len = len;
	c->buf = NULL;
	if (bytes) {
		c->buf = malloc(len ? len : 1);
		if (!c->buf)
			return -ENOMEM;
		memcpy(c->buf, bytes, len);
	}
	(*n)++;
	return 0;
}

/* Copies a FILE_DATA / PIPE_DATA payload (valid only until the next read). */
static int add_chunk(struct rst_chunk **arr, size_t *n, const struct img_record *rec)
{
	const struct img_data_prefix *p = rec->payload;

	if (rec->length < sizeof(*p)) {
		pr_err("image: data record %llu too short\n", (unsigned long long)rec->index);
		return -EBADMSG;
	}
	return put_chunk(arr, n, p, p + 1, rec->length - sizeof(*p));
}

static int add_fdata(struct rst_image *img, const struct img_record *rec)
{
	return add_chunk(&img->fdata, &img->nr_fdata, rec);
}

static int add_pdata(struct rst_image *img, const struct img_record *rec)
{
	return add_chunk(&img->pdata, &img->nr_pdata, rec);
}

static int add_tmpd(struct rst_image *img, const struct img_record *rec)
{
	return add_chunk(&img->tdata, &img->nr_tdata, rec);
}

static int add_skq(struct rst_image *img, const struct img_record *rec)
{
	return add_chunk(&img->skq, &img->nr_skq, rec);
}

/* A page record ends the plan: the pages stream into the processes. */
static int end_plan(struct rst_image *img, const struct img_record *rec)
{
	return 1;
}

/* Record types read into something else than their kept array. */
static const struct {
	uint32_t type;
	int (*read)(struct rst_image *img, const struct img_record *rec);
} readers[] = {
	{ IMG_REC_CONTEXT, add_context },    { IMG_REC_FILE, add_file },
	{ IMG_REC_FILE_DATA, add_fdata },    { IMG_REC_PIPE_DATA, add_pdata },
	{ IMG_REC_PAGES, end_plan },	     { IMG_REC_SHMEM_PAGES, end_plan },
	{ IMG_REC_SK_QUEUE, add_skq },	     { IMG_REC_NETNS, netns_plan_read },
	{ IMG_REC_IPCNS, ipcns_plan_read },  { IMG_REC_TMPFS_DATA, add_tmpd },
	{ IMG_REC_MOUNTS, mntns_plan_read },
};

/*
 * Files one record into the plan: its reader, or its kept array (a type
 * in RST_KEPT_RECORDS); an optional record restore does not know is
 * skipped.  0, 1 at the first page record, or -errno (logged).
 */
int plan_record(struct rst_image *img, const struct img_record *rec)
{
	const struct kept_rec *k;
	size_t i;

	for (i = 0; i < sizeof(readers) / sizeof(readers[0]); i++)
		if (readers[i].type == rec->type)
			return readers[i].read(img, rec);
	k = kept_of(rec->type);
	if (k && img_rec_lookup(rec->type) && img_rec_lookup(rec->type)->pb)
		return keep(img, k, rec);
	if (rec->flags & IMG_RF_OPTIONAL)
		return 0;
	pr_err("image: record %llu: type %u not supported by restore\n",
	       (unsigned long long)rec->index, rec->type);
	return -EPROTO;
}

/*
 * plan_record() of a record handed over in two parts, as the image writer
 * has it (the dump's vet, vet.c): the bytes of data records are not kept.
 */
int plan_record_parts(struct rst_image *img, const struct img_record *hdr, const void *prefix,
		      size_t plen, const void *data, uint64_t dlen)
{
	struct img_record rec = *hdr;
	uint8_t *buf;
	int ret;

	if (hdr->type == IMG_REC_FILE_DATA || hdr->type == IMG_REC_PIPE_DATA ||
	    hdr->type == IMG_REC_SK_QUEUE || hdr->type == IMG_REC_TMPFS_DATA) {
		if (plen != sizeof(struct img_data_prefix)) {
			pr_err("image: data record %llu has a bad prefix\n",
			       (unsigned long long)hdr->index);
			return -EBADMSG;
		}
		if (hdr->type == IMG_REC_SK_QUEUE)
			return put_chunk(&img->skq, &img->nr_skq, prefix, NULL, dlen);
		if (hdr->type == IMG_REC_TMPFS_DATA)
			return put_chunk(&img->tdata, &img->nr_tdata, prefix, NULL, dlen);
		return put_chunk(hdr->type == IMG_REC_FILE_DATA ? &img->fdata : &img->pdata,
				 hdr->type == IMG_REC_FILE_DATA ? &img->nr_fdata : &img->nr_pdata,
				 prefix, NULL, dlen);
	}
	if (hdr->type == IMG_REC_PAGES || hdr->type == IMG_REC_SHMEM_PAGES)
		return 1;
	if (!plen) {
		rec.payload = data;
		return plan_record(img, &rec);
	}
	buf = malloc(plen + dlen);
	if (!buf)
		return -ENOMEM;
	memcpy(buf, prefix, plen);
	memcpy(buf + plen, data, dlen);
	rec.payload = buf;
	ret = plan_record(img, &rec);
	free(buf);
	return ret;
}

static int vma_cmp(const void *a, const void *b)
{
	const VmaEntry *x = *(VmaEntry *const *)a, *y = *(VmaEntry *const *)b;

	return x->start < y->start ? -1 : x->start > y->start;
}

/*
 * Sorted array of the VMAs restore maps itself (not vdso/vvar/vsyscall).
 * Every area restore maps or moves, vdso and vvar included (only vsyscall
 * is the kernel's), must be page-aligned, below the top of user space and
 * disjoint from the others: a vdso moved onto another area would be
 * silently unmapped again when that area is mapped.  Returns 0/-errno.
 */
static int plan_vmas(struct rst_proc *proc)
{
	size_t i, n = 0;

	if (mem_check_mm(proc->mm))
		return -EINVAL;
	proc->vmas = calloc(proc->mm->n_vmas + 1, sizeof(*proc->vmas));
	if (!proc->vmas)
		return -ENOMEM;
	for (i = 0; i < proc->mm->n_vmas; i++) {
		VmaEntry *v = proc->mm->vmas[i];

		if (v->kind == VMA_KIND__VMA_VSYSCALL)
			continue;
		if (v->start >= v->end || (v->start | v->end) & (RST_PAGE - 1) ||
		    v->end > RST_TASK_TOP) {
			pr_err("image: bad memory area %#llx-%#llx\n", (unsigned long long)v->start,
			       (unsigned long long)v->end);
			return -EINVAL;
		}
		if (mem_check_vma(v))
			return -EINVAL;
		proc->vmas[n++] = v;
	}
	qsort(proc->vmas, n, sizeof(*proc->vmas), vma_cmp);
	for (i = 0; i < n; i++) {
		if (i && proc->vmas[i]->start < proc->vmas[i - 1]->end) {
			pr_err("image: memory areas overlap at %#llx\n",
			       (unsigned long long)proc->vmas[i]->start);
			return -EINVAL;
		}
	}
	for (i = 0; i < n; i++) /* drop vdso/vvar, keeping the order */
		if (proc->vmas[i]->kind < VMA_KIND__VMA_VDSO)
			proc->vmas[proc->nr_vmas++] = proc->vmas[i];
	return 0;
}

/* Image-wide values this version lacks. */
static int plan_kinds(struct rst_image *img)
{
	size_t i, j;
	int ret;

	ret = fd_kinds_plan(img);
	if (ret)
		return ret;
	for (j = 0; j < img->recs.n_mm; j++) {
		const MmEntry *mm = img->recs.mm[j];

		for (i = 0; i < mm->n_vmas; i++) {
			if (!protobuf_c_enum_descriptor_get_value(&vma_kind__descriptor,
								  mm->vmas[i]->kind)) {
				pr_err("image: memory area %#llx has unknown kind %d\n",
				       (unsigned long long)mm->vmas[i]->start, mm->vmas[i]->kind);
				return -EBADMSG;
			}
		}
	}
	return 0;
}

/* A per-task record whose key field equals key, or NULL. */
#define FIND(arr, n, keyf, key, fallback)                                      \
	({                                                                     \
		__typeof__(arr[0]) _f = NULL;                                  \
		for (size_t _i = 0; _i < (n); _i++)                            \
			if ((arr[_i]->has_##keyf && arr[_i]->keyf == (key)) || \
			    (!arr[_i]->has_##keyf && (fallback)))              \
				_f = arr[_i];                                  \
		_f;                                                            \
	})

/* Threads of a live process: one CORE per tid, leader first. */
static int plan_threads(struct rst_proc *proc, const struct rst_records *r)
{
	const TaskEntry *t = proc->task;
	size_t i, n = t->n_threads ? t->n_threads : 1;

	if (t->n_threads && t->threads[0] != t->pid) {
		pr_err("image: pid %u: first thread is %u, not the leader\n", t->pid,
		       t->threads[0]);
		return -EBADMSG;
	}
	proc->threads = calloc(n, sizeof(*proc->threads));
	if (!proc->threads)
		return -ENOMEM;
	proc->nr_threads = n;
	for (i = 0; i < n; i++) {
		pid_t tid = t->n_threads ? t->threads[i] : t->pid;

		proc->threads[i].tid = tid;
		proc->threads[i].vtid = tid;
		proc->threads[i].core = FIND(r->core, r->n_core, tid, (uint32_t)tid,
					     r->n_task == 1 && r->n_core == 1);
		if (!proc->threads[i].core || !proc->threads[i].core->regs) {
			pr_err("image: incomplete: thread %d has no CORE record with registers\n",
			       tid);
			return -EINVAL;
		}
		if (proc->threads[i].core->has_files_id &&
		    (!t->has_files_id || proc->threads[i].core->files_id != t->files_id)) {
			uint32_t fid = proc->threads[i].core->files_id;

			proc->threads[i].fdt = FIND(r->fdt, r->n_fdt, files_id, fid, false);
			if (!proc->threads[i].fdt || !i) {
				pr_err("image: thread %d: fd table %u %s\n", tid, fid,
				       i ? "has no FDTABLE record" : "is not the process's");
				return -EBADMSG;
			}
		}
		if (tid < 1 || (tid == 1 && (i || t->pid != 1))) {
			pr_err("image: bad thread id %d\n", tid);
			return -EINVAL;
		}
	}
	proc->core = proc->threads[0].core;
	return 0;
}

/* Fills one process's records.  Returns 0/-errno. */
static int plan_proc(struct rst_proc *proc, const struct rst_records *r, size_t idx)
{
	const TaskEntry *t = proc->task;
	bool one = r->n_task == 1;
	uint32_t id = t->has_mm_id ? t->mm_id : idx + 1;

	if (t->state != TASK_STATE_ALIVE && t->state != TASK_STATE_STOPPED &&
	    t->state != TASK_STATE_DEAD) {
		pr_err("image: task %u has unknown state %u\n", t->pid, t->state);
		return -EBADMSG;
	}
	/* pid 1: only the init of a context, its first task */
	if (t->pid < 1 || (t->pid == 1 && (idx || !proc->img->ctxe))) {
		pr_err("image: bad pid %u\n", t->pid);
		return -EINVAL;
	}
	if (t->state == TASK_STATE_DEAD)
		return 0;
	proc->creds = FIND(r->creds, r->n_creds, pid, t->pid, one);
	proc->sigs = FIND(r->sigs, r->n_sigs, pid, t->pid, one);
	proc->mm = FIND(r->mm, r->n_mm, mm_id, id, one);
	id = t->has_files_id ? t->files_id : idx + 1;
	proc->fdt = FIND(r->fdt, r->n_fdt, files_id, id, one);
	if (!proc->creds || !proc->sigs || !proc->mm || !proc->fdt) {
		pr_err("image: incomplete: pid %u has no %s record\n", t->pid,
		       !proc->creds ? "CREDS" :
		       !proc->sigs  ? "SIGNALS" :
		       !proc->mm    ? "MM" :
				      "FDTABLE");
		return -EINVAL;
	}
	return plan_threads(proc, r) ?: plan_vmas(proc);
}

/*
 * A process of img with role role and nothing planned yet: no records, no
 * pid, no fds.  NULL without memory.  It shares nothing with another
 * process; what the tree shares is in img.
 */
struct rst_proc *rst_proc_new(struct rst_image *img, enum rst_role role)
{
	struct rst_proc *proc = calloc(1, sizeof(*proc));

	if (!proc)
		return NULL;
	proc->img = img;
	proc->role = role;
	proc->pid = -1;
	proc->ctl_rd = proc->ctl_wr = proc->mem_fd = -1;
	proc->uffd = proc->uffd_child = -1;
	proc->inp = &proc->in;
	return proc;
}

/* One process per TASK record, parents found among the earlier ones. */
int plan_complete(struct rst_image *img)
{
	const struct rst_records *r = &img->recs;
	size_t i, j;
	int ret;

	if (!r->n_task) {
		pr_err("image: incomplete: missing TASK record\n");
		return -EINVAL;
	}
	img->procs = calloc(r->n_task, sizeof(*img->procs));
	if (!img->procs)
		return -ENOMEM;
	for (i = 0; i < r->n_task; i++) {
		struct rst_proc *c = rst_proc_new(img, i ? RST_CHILD : RST_ROOT);

		if (!c)
			return -ENOMEM;
		img->procs[img->nr_procs++] = c;
		c->task = r->task[i];
		ret = plan_proc(c, r, i);
		if (ret)
			return ret;
		for (j = 0; i && j < i; j++) {
			if (img->procs[j]->task->pid == c->task->pid) {
				pr_err("image: pid %u appears twice\n", c->task->pid);
				return -EBADMSG;
			}
			if (img->procs[j]->task->pid == c->task->ppid)
				c->parent = img->procs[j];
		}
		if (i && (!c->parent || c->parent->task->state == TASK_STATE_DEAD)) {
			pr_err("image: pid %u: its parent %u is not a live process before it\n",
			       c->task->pid, c->task->ppid);
			return -EBADMSG;
		}
	}
	if (rst_root(img)->task->state == TASK_STATE_DEAD) {
		pr_err("pid %d was a zombie when dumped: nothing to restore\n",
		       rst_root(img)->task->pid);
		return -EINVAL;
	}
	return plan_kinds(img);
}

/*
 * With trusted keys, nothing may be created from records that no valid
 * signature covers: the writer signs everything before the first page
 * record, so the plan is checked before any process exists; the pages
 * are checked at the trailer, which is read before any restored process
 * runs (NOTES: "Signed images").  Returns 0 or -EKEYREJECTED.
 */
static int plan_signed(struct rst_image *img)
{
	if (!img->opts->trusted_keys || !img->stream.have_pending ||
	    img_reader_covered(img->stream.rd, img->stream.pending.index))
		return 0;
	if (!img_reader_sig_id(img->stream.rd))
		pr_err("image: not signed (--trusted-keys takes signed images only)\n");
	else
		pr_err("image: record %llu: the records before the pages carry no "
		       "trusted signature\n",
		       (unsigned long long)img->stream.pending.index);
	return -EKEYREJECTED;
}

/*
 * Reads records up to the first PAGES record (kept in img->stream.pending, unread
 * further) or the trailer.  Returns 0 or -errno.
 */
int plan_read(struct rst_image *img)
{
	struct img_record rec;
	int ret;

	ret = img_reader_open(img->img_fd, &img->stream.rd);
	if (ret) {
		const char *why = img_last_open_error();

		pr_err("image: %s\n", *why ? why : strerror(-ret));
		return ret;
	}
	img->hdr = img_reader_header(img->stream.rd);
	if (img->in_place) /* the helper reads the pages: no thread of ours before its fork */
		img_reader_set_threads(img->stream.rd, 1);
	if (img->opts->trusted_keys)
		img_reader_set_keys(img->stream.rd, img->opts->trusted_keys);
	for (;;) {
		ret = img_read_record(img->stream.rd, &rec);
		if (ret < 0) {
			pr_err("image: %s\n", img_reader_error(img->stream.rd));
			return ret;
		}
		if (ret == 0)
			break;
		ret = plan_record(img, &rec);
		if (ret < 0)
			return ret;
		if (ret == 1) {
			img->stream.pending = rec;
			img->stream.have_pending = true;
			break;
		}
	}
	ret = plan_signed(img);
	return ret ? ret : plan_complete(img);
}

static void free_chunks(struct rst_chunk *c, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(c[i].buf);
	free(c);
}

#define FREE_MSG(m)                                                         \
	do {                                                                \
		if (m)                                                      \
			protobuf_c_message_free_unpacked(&(m)->base, NULL); \
	} while (0)

/* Frees the kept records of one type. */
static void free_kept(struct rst_records *r, const struct kept_rec *k)
{
	void **arr = *kept_arr(r, k);
	size_t i;

	for (i = 0; i < *kept_n(r, k); i++)
		if (arr[i])
			protobuf_c_message_free_unpacked(arr[i], NULL);
	free(arr);
}

/* Frees proc and closes what it holds (nothing of the image). */
void rst_proc_free(struct rst_proc *proc)
{
	if (!proc)
		return;
	if (proc->ctl_rd >= 0)
		close(proc->ctl_rd);
	if (proc->ctl_wr >= 0)
		close(proc->ctl_wr);
	if (proc->mem_fd >= 0)
		close(proc->mem_fd);
	free(proc->threads);
	free(proc->vmas);
	free(proc->uffd_vma);
	free(proc->lazy);
	free(proc);
}

void plan_free(struct rst_image *img)
{
	struct rst_records *r = &img->recs;
	size_t i;

	for (i = 0; i < img->nr_procs; i++)
		rst_proc_free(img->procs[i]);
	free(img->procs);
	free(img->busy);
	for (i = 0; i < img->nr_helpers; i++)
		rst_proc_free(img->helpers[i]);
	free(img->helpers);
	for (i = 0; i < NR_KEPT; i++)
		free_kept(r, &kept_recs[i]);
	FREE_MSG(img->ctxe);
	for (i = 0; i < img->nr_files; i++)
		FREE_MSG(img->files[i].fe);
	free(img->files);
	free_chunks(img->fdata, img->nr_fdata);
	free_chunks(img->tdata, img->nr_tdata);
	free_chunks(img->pdata, img->nr_pdata);
	free_chunks(img->skq, img->nr_skq);
	if (img->stream.rd)
		img_reader_free(img->stream.rd);
}

/* The file description with this id, or NULL. */
struct rst_file *plan_file(const struct rst_image *img, uint32_t id)
{
	size_t i;

	for (i = 0; i < img->nr_files; i++)
		if (img->files[i].fe->id == id)
			return &img->files[i];
	return NULL;
}

/* The VMA containing addr, or NULL (binary search). */
const VmaEntry *plan_vma_at(const struct rst_proc *proc, uint64_t addr)
{
	size_t lo = 0, hi = proc->nr_vmas;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const VmaEntry *v = proc->vmas[mid];

		if (addr < v->start)
			hi = mid;
		else if (addr >= v->end)
			lo = mid + 1;
		else
			return v;
	}
	return NULL;
}
