/*
 * The record table of this build (which types it knows, how each payload
 * is packed) and the copy-on-write rule of page records.  The numbers and
 * raw layouts themselves are in vxcr/image.h; the format is specified in
 * docs/image-format.md.
 */
#ifndef VXCR_RECORDS_H
#define VXCR_RECORDS_H

#include <stdint.h>
#include <protobuf-c/protobuf-c.h>

#include "vxcr/image.h"

struct VmaEntry; /* mm.pb-c.h */

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
	uint32_t flags;			      /* IMG_RF_OPTIONAL as written */
	const ProtobufCMessageDescriptor *pb; /* NULL for raw records */
	uint32_t prefix_len;		      /* raw records: fixed prefix bytes */
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
