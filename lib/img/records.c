/*
 * The table of record types known to this build: name, flags as written,
 * protobuf descriptor or raw prefix length.  Indexed by type - 1: a slot
 * with no name is a number this build does not know (e.g. one taken by a
 * branch not merged yet); a retired type keeps its slot and name.
 */
#include <stddef.h>

#include "img/img.h"
#include "img/records.h"
#include "util/cleanup.h"
#include "header.pb-c.h"
#include "task.pb-c.h"
#include "mm.pb-c.h"
#include "files.pb-c.h"
#include "ctx.pb-c.h"
#include "seccomp.pb-c.h"
#include "lock.pb-c.h"
#include "sign.pb-c.h"
#include "cgroup.pb-c.h"
#include "netns.pb-c.h"
#include "ipcns.pb-c.h"
#include "limits.pb-c.h"

#define PB(t, n, d) [t - 1] = { t, n, 0, &d, 0 }
#define PBO(t, n, d) [t - 1] = { t, n, IMG_RF_OPTIONAL, &d, 0 }
#define RAW(t, n, p) [t - 1] = { t, n, 0, NULL, sizeof(p) }

static const struct img_rec_desc rec_table[] = {
	PB(IMG_REC_TRAILER, "TRAILER", img_trailer__descriptor),
	PB(IMG_REC_TASK, "TASK", task_entry__descriptor),
	PB(IMG_REC_CORE, "CORE", core_entry__descriptor),
	PB(IMG_REC_CREDS, "CREDS", creds_entry__descriptor),
	PB(IMG_REC_SIGNALS, "SIGNALS", signals_entry__descriptor),
	PB(IMG_REC_MM, "MM", mm_entry__descriptor),
	PB(IMG_REC_FILE, "FILE", file_entry__descriptor),
	PB(IMG_REC_FDTABLE, "FDTABLE", fdtable_entry__descriptor),
	RAW(IMG_REC_PAGES, "PAGES", struct img_pages_prefix),
	RAW(IMG_REC_FILE_DATA, "FILE_DATA", struct img_data_prefix),
	RAW(IMG_REC_PIPE_DATA, "PIPE_DATA", struct img_data_prefix),
	RAW(IMG_REC_SHMEM_PAGES, "SHMEM_PAGES", struct img_pages_prefix),
	PB(IMG_REC_SYSV_SHM, "SYSV_SHM", sysv_shm_entry__descriptor),
	PB(IMG_REC_CONTEXT, "CONTEXT", ctx_entry__descriptor),
	PB(IMG_REC_SECCOMP, "SECCOMP", seccomp_entry__descriptor),
	PB(IMG_REC_LOCK, "LOCK", lock_entry__descriptor),
	PBO(IMG_REC_SIGNATURE, "SIGNATURE", sig_entry__descriptor),
	PB(IMG_REC_CGROUP, "CGROUP", cgroup_entry__descriptor),
	RAW(IMG_REC_SK_QUEUE, "SK_QUEUE", struct img_data_prefix),
	PB(IMG_REC_IPCNS, "IPCNS", ipcns_entry__descriptor),
	PB(IMG_REC_NETNS, "NETNS", netns_entry__descriptor),
	PB(IMG_REC_LIMITS, "LIMITS", limits_entry__descriptor),
};

_Static_assert(sizeof(struct img_pages_prefix) == 16, "pages prefix is 16 bytes");
_Static_assert(sizeof(struct img_data_prefix) == 16, "data prefix is 16 bytes");

/* The table entry for type, or NULL if this build does not know it. */
const struct img_rec_desc *img_rec_lookup(uint32_t type)
{
	if (type == 0 || type > ARRAY_SIZE(rec_table) || !rec_table[type - 1].name)
		return NULL;
	return &rec_table[type - 1];
}

/* The type's name, or "UNKNOWN". */
const char *img_rec_name(uint32_t type)
{
	const struct img_rec_desc *d = img_rec_lookup(type);

	return d ? d->name : "UNKNOWN";
}

/*
 * The table in number order; *n receives its length.  Slots of unknown
 * numbers have type 0 and no name: skip them.
 */
const struct img_rec_desc *img_rec_table(unsigned *n)
{
	*n = ARRAY_SIZE(rec_table);
	return rec_table;
}

_Bool img_vma_inherits(const VmaEntry *p, const VmaEntry *c)
{
	const uint32_t share = 0x03; /* MAP_SHARED | MAP_PRIVATE */

	if (p->start > c->start || c->end > p->end || p->kind != c->kind)
		return 0;
	if ((p->flags & share) != (c->flags & share))
		return 0;
	if (p->madv & (VXCR_MADV_DONTFORK | VXCR_MADV_WIPEONFORK))
		return 0;
	switch (c->kind) {
	case VMA_KIND__VMA_ANON:
		return 1;
	case VMA_KIND__VMA_FILE_PRIVATE:
		return p->file_id == c->file_id && p->pgoff + (c->start - p->start) == c->pgoff;
	case VMA_KIND__VMA_SHMEM: /* shared, or a private memfd mapping (flags equal) */
		return p->has_shmem_id && c->has_shmem_id && p->shmem_id == c->shmem_id &&
		       p->pgoff + (c->start - p->start) == c->pgoff;
	default:
		return 0;
	}
}
