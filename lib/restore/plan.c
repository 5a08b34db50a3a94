/*
 * Restore plan: every record before the first PAGES record, kept in memory so
 * the pages can be streamed straight into the new process afterwards.
 */
#define LOG_PREFIX "restore: "
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "restore/restore.h"

/* Keeps a unpacked singleton record; a second one is an error. */
static int keep_one(void **slot, const struct img_record *rec,
		    const ProtobufCMessageDescriptor *d)
{
	ProtobufCMessage *m;
	int ret;

	if (*slot) {
		pr_err("image: more than one %s record (only one process is supported)\n",
		       d->short_name);
		return -EINVAL;
	}
	ret = img_unpack(rec, d, &m);
	if (ret) {
		pr_err("image: record %llu (%s) does not unpack\n",
		       (unsigned long long)rec->index, d->short_name);
		return ret;
	}
	*slot = m;
	return 0;
}

static int add_file(struct restore_ctx *rc, const struct img_record *rec)
{
	ProtobufCMessage *m;
	struct rst_file *nf;
	int ret;

	ret = img_unpack(rec, &file_entry__descriptor, &m);
	if (ret) {
		pr_err("image: FILE record %llu does not unpack\n",
		       (unsigned long long)rec->index);
		return ret;
	}
	nf = realloc(rc->files, (rc->nr_files + 1) * sizeof(*nf));
	if (!nf) {
		protobuf_c_message_free_unpacked(m, NULL);
		return -ENOMEM;
	}
	rc->files = nf;
	memset(&nf[rc->nr_files], 0, sizeof(*nf));
	nf[rc->nr_files].fe = (FileEntry *)m;
	nf[rc->nr_files].stage_fd = -1;
	nf[rc->nr_files].map_fd = -1;
	rc->nr_files++;
	return 0;
}

/* Copies a FILE_DATA / PIPE_DATA payload (valid only until the next read). */
static int add_chunk(struct rst_chunk **arr, size_t *n, const struct img_record *rec)
{
	const struct img_data_prefix *p = rec->payload;
	struct rst_chunk *na, *c;

	if (rec->length < sizeof(*p)) {
		pr_err("image: data record %llu too short\n", (unsigned long long)rec->index);
		return -EBADMSG;
	}
	na = realloc(*arr, (*n + 1) * sizeof(*na));
	if (!na)
		return -ENOMEM;
	*arr = na;
	c = &na[*n];
	c->id = p->id;
	c->offset = p->offset;
	c->len = rec->length - sizeof(*p);
	c->buf = malloc(c->len ? c->len : 1);
	if (!c->buf)
		return -ENOMEM;
	memcpy(c->buf, (const uint8_t *)rec->payload + sizeof(*p), c->len);
	(*n)++;
	return 0;
}

/* Files one record into the plan.  Returns 1 at the first PAGES record. */
static int plan_record(struct restore_ctx *rc, const struct img_record *rec)
{
	switch (rec->type) {
	case IMG_REC_TASK:
		return keep_one((void **)&rc->task, rec, &task_entry__descriptor);
	case IMG_REC_CREDS:
		return keep_one((void **)&rc->creds, rec, &creds_entry__descriptor);
	case IMG_REC_SIGNALS:
		return keep_one((void **)&rc->sigs, rec, &signals_entry__descriptor);
	case IMG_REC_CORE:
		return keep_one((void **)&rc->core, rec, &core_entry__descriptor);
	case IMG_REC_MM:
		return keep_one((void **)&rc->mm, rec, &mm_entry__descriptor);
	case IMG_REC_FDTABLE:
		return keep_one((void **)&rc->fdt, rec, &fdtable_entry__descriptor);
	case IMG_REC_FILE:
		return add_file(rc, rec);
	case IMG_REC_FILE_DATA:
		return add_chunk(&rc->fdata, &rc->nr_fdata, rec);
	case IMG_REC_PIPE_DATA:
		return add_chunk(&rc->pdata, &rc->nr_pdata, rec);
	case IMG_REC_PAGES:
	case IMG_REC_SHMEM_PAGES:
		return 1;
	default:
		if (rec->flags & IMG_RF_OPTIONAL)
			return 0;
		pr_err("image: record %llu: type %u not supported by restore\n",
		       (unsigned long long)rec->index, rec->type);
		return -EPROTO;
	}
}

static int vma_cmp(const void *a, const void *b)
{
	const VmaEntry *x = *(VmaEntry *const *)a, *y = *(VmaEntry *const *)b;

	return x->start < y->start ? -1 : x->start > y->start;
}

/* Sorted array of the VMAs restore maps itself (not vdso/vvar/vsyscall). */
static int plan_vmas(struct restore_ctx *rc)
{
	size_t i;

	rc->vmas = calloc(rc->mm->n_vmas + 1, sizeof(*rc->vmas));
	if (!rc->vmas)
		return -ENOMEM;
	for (i = 0; i < rc->mm->n_vmas; i++) {
		VmaEntry *v = rc->mm->vmas[i];

		if (v->kind >= VMA_KIND__VMA_VDSO)
			continue;
		if (v->start >= v->end || (v->start | v->end) & (RST_PAGE - 1) ||
		    v->end > RST_TASK_TOP) {
			pr_err("image: bad memory area %#llx-%#llx\n",
			       (unsigned long long)v->start, (unsigned long long)v->end);
			return -EINVAL;
		}
		rc->vmas[rc->nr_vmas++] = v;
	}
	qsort(rc->vmas, rc->nr_vmas, sizeof(*rc->vmas), vma_cmp);
	for (i = 1; i < rc->nr_vmas; i++) {
		if (rc->vmas[i]->start < rc->vmas[i - 1]->end) {
			pr_err("image: memory areas overlap at %#llx\n",
			       (unsigned long long)rc->vmas[i]->start);
			return -EINVAL;
		}
	}
	return 0;
}

/* Records that contradict each other or name values this version lacks. */
static int plan_consistent(const struct restore_ctx *rc)
{
	const TaskEntry *t = rc->task;
	size_t i;

	if (t->state != TASK_STATE_ALIVE && t->state != TASK_STATE_STOPPED &&
	    t->state != TASK_STATE_DEAD) {
		pr_err("image: task %u has unknown state %u\n", t->pid, t->state);
		return -EBADMSG;
	}
	if ((t->n_threads && t->threads[0] != t->pid) ||
	    (rc->core->has_tid && rc->core->tid != t->pid) ||
	    (rc->sigs->has_pid && rc->sigs->pid != t->pid)) {
		pr_err("image: thread, core or signal records do not belong to pid %u\n", t->pid);
		return -EBADMSG;
	}
	for (i = 0; i < rc->nr_files; i++) {
		if (!protobuf_c_enum_descriptor_get_value(&file_kind__descriptor,
							  rc->files[i].fe->kind)) {
			pr_err("image: file id %u has unknown kind %d\n", rc->files[i].fe->id,
			       rc->files[i].fe->kind);
			return -EBADMSG;
		}
	}
	for (i = 0; i < rc->mm->n_vmas; i++) {
		if (!protobuf_c_enum_descriptor_get_value(&vma_kind__descriptor,
							  rc->mm->vmas[i]->kind)) {
			pr_err("image: memory area %#llx has unknown kind %d\n",
			       (unsigned long long)rc->mm->vmas[i]->start, rc->mm->vmas[i]->kind);
			return -EBADMSG;
		}
	}
	return 0;
}

static int plan_complete(struct restore_ctx *rc)
{
	int ret;

	if (!rc->task || !rc->creds || !rc->sigs || !rc->core || !rc->mm || !rc->fdt) {
		pr_err("image: incomplete: missing %s record\n",
		       !rc->task ? "TASK" : !rc->creds ? "CREDS" : !rc->sigs ? "SIGNALS" :
		       !rc->core ? "CORE" : !rc->mm ? "MM" : "FDTABLE");
		return -EINVAL;
	}
	if (!rc->core->regs) {
		pr_err("image: CORE record without registers\n");
		return -EINVAL;
	}
	ret = plan_consistent(rc);
	return ret ? ret : plan_vmas(rc);
}

/*
 * Reads records up to the first PAGES record (kept in rc->pending, unread
 * further) or the trailer.  Returns 0 or -errno.
 */
int plan_read(struct restore_ctx *rc)
{
	struct img_record rec;
	int ret;

	ret = img_reader_open(rc->img_fd, &rc->rd);
	if (ret) {
		const char *why = img_last_open_error();

		pr_err("image: %s\n", *why ? why : strerror(-ret));
		return ret;
	}
	for (;;) {
		ret = img_read_record(rc->rd, &rec);
		if (ret < 0) {
			pr_err("image: %s\n", img_reader_error(rc->rd));
			return ret;
		}
		if (ret == 0)
			break;
		ret = plan_record(rc, &rec);
		if (ret < 0)
			return ret;
		if (ret == 1) {
			rc->pending = rec;
			rc->have_pending = true;
			break;
		}
	}
	return plan_complete(rc);
}

static void free_chunks(struct rst_chunk *c, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(c[i].buf);
	free(c);
}

#define FREE_MSG(m) do { if (m) protobuf_c_message_free_unpacked(&(m)->base, NULL); } while (0)

void plan_free(struct restore_ctx *rc)
{
	size_t i;

	FREE_MSG(rc->task);
	FREE_MSG(rc->creds);
	FREE_MSG(rc->sigs);
	FREE_MSG(rc->core);
	FREE_MSG(rc->mm);
	FREE_MSG(rc->fdt);
	for (i = 0; i < rc->nr_files; i++)
		FREE_MSG(rc->files[i].fe);
	free(rc->files);
	free(rc->vmas);
	free_chunks(rc->fdata, rc->nr_fdata);
	free_chunks(rc->pdata, rc->nr_pdata);
	if (rc->rd)
		img_reader_free(rc->rd);
}

/* The file description with this id, or NULL. */
struct rst_file *plan_file(struct restore_ctx *rc, uint32_t id)
{
	size_t i;

	for (i = 0; i < rc->nr_files; i++)
		if (rc->files[i].fe->id == id)
			return &rc->files[i];
	return NULL;
}

/* The VMA containing addr, or NULL (binary search). */
const VmaEntry *plan_vma_at(const struct restore_ctx *rc, uint64_t addr)
{
	size_t lo = 0, hi = rc->nr_vmas;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const VmaEntry *v = rc->vmas[mid];

		if (addr < v->start)
			hi = mid;
		else if (addr >= v->end)
			lo = mid + 1;
		else
			return v;
	}
	return NULL;
}
