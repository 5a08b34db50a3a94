/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A protobuf (proto2 wire format) encoder for the image records the module
 * writes: varints, fixed, length-delimited and nested fields, into a buffer
 * that grows.  Only encoding: the module never parses protobuf.
 *
 * Errors stick: after the first failure (-ENOMEM, -E2BIG past the limit)
 * every call is a no-op and pb_err() returns it, so a record is built
 * without checking each field and checked once at the end.
 */
#ifndef _VXCR_PB_H
#define _VXCR_PB_H

#include <linux/types.h>

struct pb_buf {
	u8 *data;
	size_t len;
	size_t cap;
	size_t limit; /* most bytes the buffer may hold */
	int err;      /* 0 or the first -errno */
};

void pb_init(struct pb_buf *b, size_t limit);
void pb_free(struct pb_buf *b);
void pb_reset(struct pb_buf *b);
static inline int pb_err(const struct pb_buf *b)
{
	return b->err;
}

/* Wire type 0: uint32/uint64/bool/enum, and int32/int64 (sign-extended). */
void pb_u64(struct pb_buf *b, u32 field, u64 v);
void pb_s64(struct pb_buf *b, u32 field, s64 v);
void pb_bool(struct pb_buf *b, u32 field, bool v);
/* sint32/sint64 (zigzag) */
void pb_zigzag(struct pb_buf *b, u32 field, s64 v);
/* Wire types 1 and 5: fixed64, fixed32 */
void pb_fixed64(struct pb_buf *b, u32 field, u64 v);
void pb_fixed32(struct pb_buf *b, u32 field, u32 v);
/* Wire type 2: bytes and strings (a NULL string writes nothing) */
void pb_bytes(struct pb_buf *b, u32 field, const void *p, size_t n);
void pb_str(struct pb_buf *b, u32 field, const char *s);

/* Nested message: fields written between begin and end go inside it. */
size_t pb_nest_begin(struct pb_buf *b, u32 field);
void pb_nest_end(struct pb_buf *b, size_t mark);

#endif
