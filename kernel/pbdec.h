/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A small protobuf (proto2 wire format) decoder for image records read by
 * the kernel: every byte is hostile, so each length is checked against
 * what is left before it is used.  No allocation, no recursion of its
 * own: a nested message is decoded by starting a new pbd_dec on the bytes
 * of its length-delimited field.
 */
#ifndef _VXCR_PBDEC_H
#define _VXCR_PBDEC_H

#include <linux/types.h>

enum pbd_wire {
	PBD_VARINT = 0,
	PBD_FIXED64 = 1,
	PBD_LEN = 2,
	PBD_FIXED32 = 5,
};

struct pbd_dec {
	const u8 *p;
	const u8 *end;
};

/* One field as read: number, wire type and value (u for VARINT and the
 * fixed types, ptr/len for LEN, which point into the decoded buffer). */
struct pbd_field {
	u32 num;
	u32 wire;
	u64 u;
	const u8 *ptr;
	size_t len;
};

static inline void pbd_init(struct pbd_dec *d, const void *buf, size_t len)
{
	d->p = buf;
	d->end = (const u8 *)buf + len;
}

static inline bool pbd_done(const struct pbd_dec *d)
{
	return d->p >= d->end;
}

/* Runs the statement after it once per field of d, with *f set, while ret
 * stays 0: a field that does not decode ends the walk with ret set, and
 * so does a body that sets ret. */
#define pbd_for_each_field(d, f, ret) \
	while (!(ret) && !pbd_done(d) && !((ret) = pbd_next((d), (f))))

int pbd_varint(struct pbd_dec *d, u64 *out);
int pbd_next(struct pbd_dec *d, struct pbd_field *f);
int pbd_each_u64(const struct pbd_field *f, int (*fn)(void *obj, u64 v), void *obj);
int pbd_u64(const struct pbd_field *f, u64 *out);
int pbd_u32(const struct pbd_field *f, u32 *out);
int pbd_bool(const struct pbd_field *f, bool *out);
int pbd_bytes(const struct pbd_field *f, const u8 **ptr, size_t *len);
int pbd_str(const struct pbd_field *f, char *dst, size_t size);

#endif
