// SPDX-License-Identifier: GPL-2.0
/*
 * The protobuf decoder of the restart (kernel/pbdec.h).  Errors: -EBADMSG
 * for bytes that are not the wire format (a varint over 10 bytes, a length
 * past the end, a group or reserved wire type, field number 0) or a field
 * whose wire type is not the one its message declares; -E2BIG for a value
 * that does not fit where it goes.
 */
#include <linux/errno.h>
#include <linux/string.h>

#include "pbdec.h"

/* Reads one varint; 0 or -EBADMSG (cut short, or longer than 10 bytes). */
int pbd_varint(struct pbd_dec *d, u64 *out)
{
	u64 v = 0;
	int shift;

	for (shift = 0; shift < 70; shift += 7) {
		u8 b;

		if (d->p >= d->end)
			return -EBADMSG;
		b = *d->p++;
		if (shift == 63 && b > 1)
			return -EBADMSG;
		v |= (u64)(b & 0x7f) << shift;
		if (!(b & 0x80)) {
			*out = v;
			return 0;
		}
	}
	return -EBADMSG;
}

static int pbd_fixed(struct pbd_dec *d, unsigned int n, u64 *out)
{
	u64 v = 0;
	unsigned int i;

	if (d->end - d->p < n)
		return -EBADMSG;
	for (i = 0; i < n; i++)
		v |= (u64)d->p[i] << (8 * i);
	d->p += n;
	*out = v;
	return 0;
}

/*
 * Reads the next field of d into f.  Returns 0, or -EBADMSG.  A LEN
 * field's bytes are checked to lie inside d before f points at them.
 */
int pbd_next(struct pbd_dec *d, struct pbd_field *f)
{
	u64 key, len;
	int ret;

	memset(f, 0, sizeof(*f));
	ret = pbd_varint(d, &key);
	if (ret)
		return ret;
	if ((key >> 3) == 0 || (key >> 3) > 0x1fffffff)
		return -EBADMSG;
	f->num = key >> 3;
	f->wire = key & 7;
	switch (f->wire) {
	case PBD_VARINT:
		return pbd_varint(d, &f->u);
	case PBD_FIXED64:
		return pbd_fixed(d, 8, &f->u);
	case PBD_FIXED32:
		return pbd_fixed(d, 4, &f->u);
	case PBD_LEN:
		ret = pbd_varint(d, &len);
		if (ret)
			return ret;
		if (len > (u64)(d->end - d->p))
			return -EBADMSG;
		f->ptr = d->p;
		f->len = len;
		d->p += len;
		return 0;
	default: /* groups (3, 4) and reserved types */
		return -EBADMSG;
	}
}

/* The value of a scalar field: VARINT or a fixed type. */
int pbd_u64(const struct pbd_field *f, u64 *out)
{
	if (f->wire == PBD_LEN)
		return -EBADMSG;
	*out = f->u;
	return 0;
}

/* uint32 / int32 / enum: a 64-bit varint whose value fits 32 bits (an
 * int32 of -1 is sent as 2^64 - 1 and is taken as 0xffffffff). */
int pbd_u32(const struct pbd_field *f, u32 *out)
{
	u64 v;
	int ret;

	ret = pbd_u64(f, &v);
	if (ret)
		return ret;
	if (v > U32_MAX && v < 0xffffffff80000000ull)
		return -E2BIG;
	*out = (u32)v;
	return 0;
}

int pbd_bool(const struct pbd_field *f, bool *out)
{
	u64 v;
	int ret;

	ret = pbd_u64(f, &v);
	if (ret)
		return ret;
	if (v > 1)
		return -EBADMSG;
	*out = v;
	return 0;
}

int pbd_bytes(const struct pbd_field *f, const u8 **ptr, size_t *len)
{
	if (f->wire != PBD_LEN)
		return -EBADMSG;
	*ptr = f->ptr;
	*len = f->len;
	return 0;
}

/* A string field into dst (size bytes with the NUL); a string with a NUL
 * inside or too long for dst is refused. */
int pbd_str(const struct pbd_field *f, char *dst, size_t size)
{
	if (f->wire != PBD_LEN)
		return -EBADMSG;
	if (f->len >= size)
		return -E2BIG;
	if (memchr(f->ptr, 0, f->len))
		return -EBADMSG;
	memcpy(dst, f->ptr, f->len);
	dst[f->len] = 0;
	return 0;
}

/*
 * Calls fn(obj, v) for each value of one occurrence of a repeated integer
 * field, packed (LEN of varints) or not (one VARINT).  0 or the first
 * error (fn's, or -EBADMSG).
 */
int pbd_each_u64(const struct pbd_field *f, int (*fn)(void *obj, u64 v), void *obj)
{
	struct pbd_dec d;
	u64 v;
	int ret;

	if (f->wire != PBD_LEN)
		return pbd_u64(f, &v) ?: fn(obj, v);
	pbd_init(&d, f->ptr, f->len);
	while (!pbd_done(&d)) {
		ret = pbd_varint(&d, &v);
		ret = ret ?: fn(obj, v);
		if (ret)
			return ret;
	}
	return 0;
}
