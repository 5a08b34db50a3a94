/*
 * The dump's vet: restore's own planner and checks run on the records as
 * the dump writes them, so that vxdump learns before it kills the target
 * whether vxrestore will accept the image (lib/restore/vet.c).
 */
#ifndef VXCR_RESTORE_VET_H
#define VXCR_RESTORE_VET_H

#include <stddef.h>
#include <stdint.h>

#include "header.pb-c.h"

struct img_record;
struct rst_vet;

/* For an image of header hdr (kept).  NULL if out of memory. */
struct rst_vet *rst_vet_new(const ImgHeader *hdr);
/* The page store an incremental image's PARENT ranges are checked against
 * (the dump's parent image), before the first record; NULL: none. */
struct vxcr_pstore;
void rst_vet_set_pages(struct rst_vet *v, const struct vxcr_pstore *ps);
/* Post-copy: the image's LAZY ranges are checked as vxcr serve would
 * (lz is never called: the vet writes nothing). */
void rst_vet_set_lazy(struct rst_vet *v, const struct vxcr_lazy *lz);
/* An img_tap_fn (img.h): plans each record, checks each page record. */
int rst_vet_tap(void *arg, const struct img_record *hdr, const void *prefix, size_t plen,
		const void *data, uint64_t dlen);
/* After the last record: 0 if restore would accept the image, else the
 * -errno it would fail with (its reason is the last error logged). */
int rst_vet_end(struct rst_vet *v);
/* The error a tap call or rst_vet_end() returned, or 0, and restore's
 * one-line reason for it. */
int rst_vet_error(const struct rst_vet *v);
const char *rst_vet_why(const struct rst_vet *v);
void rst_vet_free(struct rst_vet *v);

#endif
