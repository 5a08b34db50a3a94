/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A small protobuf (proto2 wire format) decoder for image records read by
 * the kernel: every byte is hostile, so each length is checked against
 * what is left before it is used.  No allocation, no recursion of its
 * own: a nested message is decoded by starting a new pb_dec on the bytes
 * of its length-delimited field.
 */
#ifndef _VXCR_PBDEC_H
#define _VXCR_PBDEC_H

#include <linux/types.h>

enum pb_wire {
	PB_VARINT = 0,
	PB_FIXED64 = 1,
	PB_LEN = 2,
	PB_FIXED32 = 5,
};

struct pb_dec {
	const u8 *p;
	const u8 *end;
};

/* One field as read: number, wire type and value (u for VARINT and the
 * fixed types, ptr/len for LEN, which point into the decoded buffer). */
struct pb_field {
	u32 num;
	u32 wire;
	u64 u;
	const u8 *ptr;
	size_t len;
};

static inline void pb_init(struct pb_dec *d, const void *buf, size_t len)
{
	d->p = buf;
	d->end = (const u8 *)buf + len;
}

static inline bool pb_done(const struct pb_dec *d)
{
	return d->p >= d->end;
}

int pb_varint(struct pb_dec *d, u64 *out);
int pb_next(struct pb_dec *d, struct pb_field *f);
int pb_each_u64(const struct pb_field *f, int (*fn)(void *obj, u64 v), void *obj);
int pb_u64(const struct pb_field *f, u64 *out);
int pb_u32(const struct pb_field *f, u32 *out);
int pb_bool(const struct pb_field *f, bool *out);
int pb_bytes(const struct pb_field *f, const u8 **ptr, size_t *len);
int pb_str(const struct pb_field *f, char *dst, size_t size);

#endif
