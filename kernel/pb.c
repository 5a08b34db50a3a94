// SPDX-License-Identifier: GPL-2.0
/*
 * The module's protobuf encoder (pb.h).  A nested message is written in
 * place: its key, then its fields; its length, a varint whose size is known
 * only at the end, is inserted before the fields by moving them up.
 */
#include <linux/errno.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "pb.h"

#define PB_VARINT 0
#define PB_FIXED64 1
#define PB_LEN 2
#define PB_FIXED32 5
#define PB_VARINT_MAX 10

void pb_init(struct pb_buf *b, size_t limit)
{
	memset(b, 0, sizeof(*b));
	b->limit = limit;
}

void pb_free(struct pb_buf *b)
{
	kvfree(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

/* Empties the buffer (keeping its memory) and clears its error. */
void pb_reset(struct pb_buf *b)
{
	b->len = 0;
	b->err = 0;
}

/* Room for n more bytes; false (and b->err set) if there is none. */
static bool pb_room(struct pb_buf *b, size_t n)
{
	size_t cap;
	u8 *p;

	if (b->err)
		return false;
	if (n > b->limit - b->len) {
		b->err = -E2BIG;
		return false;
	}
	if (b->len + n <= b->cap)
		return true;
	cap = max3(b->cap * 2, b->len + n, (size_t)256);
	cap = min(cap, b->limit);
	p = kvmalloc(cap, GFP_KERNEL);
	if (!p) {
		b->err = -ENOMEM;
		return false;
	}
	if (b->len)
		memcpy(p, b->data, b->len);
	kvfree(b->data);
	b->data = p;
	b->cap = cap;
	return true;
}

static size_t varint_put(u8 *p, u64 v)
{
	size_t n = 0;

	while (v >= 0x80) {
		p[n++] = (u8)(v | 0x80);
		v >>= 7;
	}
	p[n++] = (u8)v;
	return n;
}

static void pb_raw_varint(struct pb_buf *b, u64 v)
{
	if (pb_room(b, PB_VARINT_MAX))
		b->len += varint_put(b->data + b->len, v);
}

/* Appends n bytes as they are. */
static void pb_put(struct pb_buf *b, const void *p, size_t n)
{
	if (n && pb_room(b, n)) {
		memcpy(b->data + b->len, p, n);
		b->len += n;
	}
}

static void pb_key(struct pb_buf *b, u32 field, u32 wire)
{
	pb_raw_varint(b, ((u64)field << 3) | wire);
}

void pb_u64(struct pb_buf *b, u32 field, u64 v)
{
	pb_key(b, field, PB_VARINT);
	pb_raw_varint(b, v);
}

/* int32 and int64: a negative value is its 64-bit two's complement. */
void pb_s64(struct pb_buf *b, u32 field, s64 v)
{
	pb_u64(b, field, (u64)v);
}

void pb_bool(struct pb_buf *b, u32 field, bool v)
{
	pb_u64(b, field, v ? 1 : 0);
}

void pb_zigzag(struct pb_buf *b, u32 field, s64 v)
{
	pb_u64(b, field, ((u64)v << 1) ^ (u64)(v >> 63));
}

void pb_fixed64(struct pb_buf *b, u32 field, u64 v)
{
	__le64 le = cpu_to_le64(v);

	pb_key(b, field, PB_FIXED64);
	pb_put(b, &le, sizeof(le));
}

void pb_fixed32(struct pb_buf *b, u32 field, u32 v)
{
	__le32 le = cpu_to_le32(v);

	pb_key(b, field, PB_FIXED32);
	pb_put(b, &le, sizeof(le));
}

void pb_bytes(struct pb_buf *b, u32 field, const void *p, size_t n)
{
	pb_key(b, field, PB_LEN);
	pb_raw_varint(b, n);
	pb_put(b, p, n);
}

void pb_str(struct pb_buf *b, u32 field, const char *s)
{
	if (s)
		pb_bytes(b, field, s, strlen(s));
}

/* Returns the mark pb_nest_end() takes: where the fields start. */
size_t pb_nest_begin(struct pb_buf *b, u32 field)
{
	pb_key(b, field, PB_LEN);
	return b->len;
}

void pb_nest_end(struct pb_buf *b, size_t mark)
{
	u8 head[PB_VARINT_MAX];
	size_t body, n;

	if (b->err)
		return;
	body = b->len - mark;
	n = varint_put(head, body);
	if (!pb_room(b, n))
		return;
	memmove(b->data + mark + n, b->data + mark, body);
	memcpy(b->data + mark, head, n);
	b->len += n;
}
