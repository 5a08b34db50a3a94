/*
 * Record types of image format v1.  Numbers are never reused; a retired type
 * keeps its number in the table marked retired.  When adding one, see the
 * checklist in img.h.
 */
#ifndef VXCR_RECORDS_H
#define VXCR_RECORDS_H

#include <stdint.h>
#include <protobuf-c/protobuf-c.h>

enum img_rec_type {
	IMG_REC_TRAILER		= 1,	/* img_trailer */
	IMG_REC_TASK		= 2,	/* task_entry */
	IMG_REC_CORE		= 3,	/* core_entry, one per thread */
	IMG_REC_CREDS		= 4,	/* creds_entry */
	IMG_REC_SIGNALS		= 5,	/* signals_entry */
	IMG_REC_MM		= 6,	/* mm_entry */
	IMG_REC_FILE		= 7,	/* file_entry */
	IMG_REC_FDTABLE		= 8,	/* fdtable_entry */
	IMG_REC_PAGES		= 9,	/* raw: struct img_pages_prefix + pages */
	IMG_REC_FILE_DATA	= 10,	/* raw: struct img_data_prefix + bytes */
	IMG_REC_PIPE_DATA	= 11,	/* raw: struct img_data_prefix + bytes */
	IMG_REC_SHMEM_PAGES	= 12,	/* raw: struct img_pages_prefix (mm_id = shmem id, addr = offset) */
	IMG_REC_SYSV_SHM	= 13,	/* sysv_shm_entry */
	IMG_REC_CONTEXT		= 14,	/* ctx_entry: first record of a context image */
	IMG_REC_SECCOMP		= 15,	/* seccomp_entry: one, if any thread has a filter */
	IMG_REC_LOCK		= 16,	/* lock_entry: one per held file lock */
};

/* Prefix of a PAGES record: the pages that follow are contiguous from addr. */
struct img_pages_prefix {
	uint64_t addr;
	uint32_t mm_id;
	uint32_t flags;
} __attribute__((packed));

/*
 * img_pages_prefix.flags.  IMG_PAGES_ZERO: no page bytes follow the prefix
 * but a u64 length; the range [addr, addr + length) must read as zeros in
 * mm_id (used for areas a child inherits from its parent, see
 * img_vma_inherits(), where the parent's copy would otherwise show through).
 */
#define IMG_PAGES_ZERO		0x1

/* Prefix of FILE_DATA / PIPE_DATA: bytes of object id starting at offset. */
struct img_data_prefix {
	uint32_t id;
	uint32_t flags;
	uint64_t offset;
} __attribute__((packed));

/* task_entry.state values */
#define TASK_STATE_ALIVE	1
#define TASK_STATE_DEAD		2	/* zombie */
#define TASK_STATE_STOPPED	3	/* job-control stopped: stays stopped */

/* vma_entry.madv bits */
#define VXCR_MADV_DONTFORK	0x1
#define VXCR_MADV_DONTDUMP	0x2
#define VXCR_MADV_HUGEPAGE	0x4
#define VXCR_MADV_NOHUGEPAGE	0x8
#define VXCR_MADV_WIPEONFORK	0x10
#define VXCR_MADV_MERGEABLE	0x20

struct VmaEntry;		/* mm.pb-c.h */

/*
 * The copy-on-write rule shared by dump and restore.  A child's area
 * inherits from its parent when the parent (as recorded) has an area that
 * covers it with the same kind, sharing, backing file/object and offset, and
 * that fork passes on (not DONTFORK/WIPEONFORK): private anonymous or
 * private file areas, or the same shmem object.  Restore then forks the
 * child from its restored parent and keeps such areas as they come, and
 * dump stores only the pages that differ from the parent's (by page frame),
 * plus IMG_PAGES_ZERO ranges where the child reads zeros.
 */
_Bool img_vma_inherits(const struct VmaEntry *parent, const struct VmaEntry *child);

struct img_rec_desc {
	uint32_t type;
	const char *name;
	uint32_t flags;				/* IMG_RF_OPTIONAL as written */
	const ProtobufCMessageDescriptor *pb;	/* NULL for raw records */
	uint32_t prefix_len;			/* raw records: fixed prefix bytes */
};

/* The table entry for type, or NULL if this build does not know it. */
const struct img_rec_desc *img_rec_lookup(uint32_t type);
/* The type's name, or "UNKNOWN" if this build does not know it. */
const char *img_rec_name(uint32_t type);
/*
 * The table for iteration, in number order; *n receives its length.  A
 * number this build does not know (a hole) has a slot with type 0: skip it.
 */
const struct img_rec_desc *img_rec_table(unsigned *n);

#endif
