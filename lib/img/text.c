/*
 * Text and JSON views of an image, generic over the protobuf-c descriptors:
 * a new field or record type shows up without changes here.  Raw records
 * print their prefix and data length.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <string.h>

#define LOG_PREFIX "img/text: "
#include "log.h"
#include "img/img.h"
#include "img/records.h"
#include "img/text.h"
#include "img/sign.h"

#define BYTES_SHOWN 16 /* bytes fields: hex shown in text mode */
#define MAX_TYPE 64    /* size tally: types above count as unknown */

struct printer {
	FILE *f;
	bool json;
};

struct tally {
	uint64_t count[MAX_TYPE + 1]; /* [0]: unknown types */
	uint64_t bytes[MAX_TYPE + 1];
};

static void print_msg(const struct printer *p, const ProtobufCMessage *m);

/* How many values field f has in m: 0 or 1, or the repeated count. */
static size_t field_count(const ProtobufCMessage *m, const ProtobufCFieldDescriptor *f)
{
	const char *base = (const char *)m;

	if (f->label == PROTOBUF_C_LABEL_REPEATED)
		return *(const size_t *)(base + f->quantifier_offset);
	if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)
		return *(const uint32_t *)(base + f->quantifier_offset) == f->id;
	if (f->type == PROTOBUF_C_TYPE_STRING || f->type == PROTOBUF_C_TYPE_MESSAGE)
		return *(void *const *)(base + f->offset) != NULL;
	if (f->label == PROTOBUF_C_LABEL_OPTIONAL)
		return *(const protobuf_c_boolean *)(base + f->quantifier_offset);
	return 1;
}

/* Size of one value of type t in a message or a repeated array. */
size_t img_pb_value_size(ProtobufCType t)
{
	switch (t) {
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
		return 8;
	case PROTOBUF_C_TYPE_DOUBLE:
		return sizeof(double);
	case PROTOBUF_C_TYPE_BOOL:
		return sizeof(protobuf_c_boolean);
	case PROTOBUF_C_TYPE_STRING:
		return sizeof(char *);
	case PROTOBUF_C_TYPE_BYTES:
		return sizeof(ProtobufCBinaryData);
	case PROTOBUF_C_TYPE_MESSAGE:
		return sizeof(ProtobufCMessage *);
	default: /* 32-bit ints, float, enum */
		return 4;
	}
}

/*
 * Length of the well-formed UTF-8 sequence at s (1-4), or 0 if the byte at
 * s does not start one (stray continuation, overlong form, surrogate, above
 * U+10FFFF, or cut short).
 */
static size_t utf8_seq_len(const unsigned char *s)
{
	uint32_t cp;
	size_t n, i;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4, cp = s[0] & 0x07;
	else
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80) /* the NUL terminator stops here too */
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10ffff ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

/*
 * A string, in quotes, escaped for JSON (or C-like for text).  Strings in
 * an image are bytes: well-formed UTF-8 is kept as it is (in text mode
 * except C1 controls, which could drive a terminal); any other byte >= 0x80
 * becomes \u00XX in JSON, so the output is valid JSON for any input and
 * \u0080-\u00ff there only ever stands for such a raw byte, and \xXX in
 * text.  NOTES: "img json and bytes that are not UTF-8".
 */
static void print_string(const struct printer *p, const char *str)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t n;

	fputc('"', p->f);
	for (; *s; s += n ? n : 1) {
		n = utf8_seq_len(s);
		if (*s == '"' || *s == '\\')
			fprintf(p->f, "\\%c", *s);
		else if (*s == '\n')
			fputs("\\n", p->f);
		else if (*s == '\t')
			fputs("\\t", p->f);
		else if (!p->json && n == 2 && s[0] == 0xc2 && s[1] < 0xa0) /* C1 */
			fprintf(p->f, "\\xc2\\x%02x", s[1]);
		else if (n > 1 || (n == 1 && *s >= 0x20 && *s != 0x7f))
			fwrite(s, 1, n, p->f);
		else
			fprintf(p->f, p->json ? "\\u%04x" : "\\x%02x", *s);
	}
	fputc('"', p->f);
}

static void print_bytes(const struct printer *p, const ProtobufCBinaryData *b)
{
	size_t i, n = b->len;

	if (!p->json && n > BYTES_SHOWN)
		n = BYTES_SHOWN;
	if (p->json)
		fputc('"', p->f);
	for (i = 0; i < n; i++)
		fprintf(p->f, "%02x", b->data[i]);
	if (p->json)
		fputc('"', p->f);
	else if (n < b->len)
		fprintf(p->f, "..(%zu bytes)", b->len);
	else if (!n)
		fputs("''", p->f);
}

static void print_enum(const struct printer *p, const ProtobufCFieldDescriptor *f, int v)
{
	const ProtobufCEnumValue *ev = protobuf_c_enum_descriptor_get_value(f->descriptor, v);

	if (!ev)
		fprintf(p->f, "%d", v);
	else if (p->json)
		fprintf(p->f, "\"%s\"", ev->name);
	else
		fputs(ev->name, p->f);
}

static void print_float(const struct printer *p, double d)
{
	if (p->json && !isfinite(d))
		fputs("null", p->f);
	else
		fprintf(p->f, "%.17g", d);
}

/* Text mode prints big u64 values in hex, but not times. */
static bool hex_u64(const struct printer *p, const ProtobufCFieldDescriptor *f, uint64_t u)
{
	size_t n = strlen(f->name);

	return !p->json && u > UINT32_MAX && !(n > 3 && !strcmp(f->name + n - 3, "_ns"));
}

/* One value of field f stored at v. */
static void print_value(const struct printer *p, const ProtobufCFieldDescriptor *f, const void *v)
{
	const ProtobufCMessage *sub;
	uint64_t u;

	switch (f->type) {
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32:
		fprintf(p->f, "%" PRId32, *(const int32_t *)v);
		break;
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32:
		fprintf(p->f, "%" PRIu32, *(const uint32_t *)v);
		break;
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
		fprintf(p->f, "%" PRId64, *(const int64_t *)v);
		break;
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
		u = *(const uint64_t *)v; /* addresses and masks read better in hex */
		fprintf(p->f, hex_u64(p, f, u) ? "0x%" PRIx64 : "%" PRIu64, u);
		break;
	case PROTOBUF_C_TYPE_FLOAT:
		print_float(p, *(const float *)v);
		break;
	case PROTOBUF_C_TYPE_DOUBLE:
		print_float(p, *(const double *)v);
		break;
	case PROTOBUF_C_TYPE_BOOL:
		fputs(*(const protobuf_c_boolean *)v ? "true" : "false", p->f);
		break;
	case PROTOBUF_C_TYPE_ENUM:
		print_enum(p, f, *(const int *)v);
		break;
	case PROTOBUF_C_TYPE_STRING:
		print_string(p, *(const char *const *)v);
		break;
	case PROTOBUF_C_TYPE_BYTES:
		print_bytes(p, v);
		break;
	case PROTOBUF_C_TYPE_MESSAGE:
		sub = *(const ProtobufCMessage *const *)v;
		if (sub)
			print_msg(p, sub);
		else
			fputs(p->json ? "null" : "{}", p->f);
		break;
	}
}

/* The fields of m that are set, without braces; returns how many. */
static int print_fields(const struct printer *p, const ProtobufCMessage *m, int done)
{
	const ProtobufCMessageDescriptor *d = m->descriptor;
	const ProtobufCFieldDescriptor *f;
	const char *base = (const char *)m, *arr;
	unsigned i;
	size_t n, k;

	for (i = 0; i < d->n_fields; i++) {
		f = &d->fields[i];
		n = field_count(m, f);
		if (!n)
			continue;
		if (done++)
			fputs(p->json ? "," : " ", p->f);
		fprintf(p->f, p->json ? "\"%s\":" : "%s=", f->name);
		if (f->label != PROTOBUF_C_LABEL_REPEATED) {
			print_value(p, f, base + f->offset);
			continue;
		}
		arr = *(const char *const *)(base + f->offset);
		fputc('[', p->f);
		for (k = 0; k < n; k++) {
			if (k)
				fputc(',', p->f);
			print_value(p, f, arr + k * img_pb_value_size(f->type));
		}
		fputc(']', p->f);
	}
	return done;
}

static void print_msg(const struct printer *p, const ProtobufCMessage *m)
{
	fputc('{', p->f);
	print_fields(p, m, 0);
	fputc('}', p->f);
}

void img_text_msg(FILE *out, const ProtobufCMessage *m)
{
	struct printer p = { out, false };

	print_fields(&p, m, 0);
}

void img_json_msg(FILE *out, const ProtobufCMessage *m)
{
	struct printer p = { out, true };

	print_msg(&p, m);
}

/* The prefix of a raw record and its data length. */
static void print_raw(const struct printer *p, const struct img_record *rec,
		      const struct img_rec_desc *d)
{
	struct img_pages_prefix pp;
	struct img_data_prefix dp;
	uint64_t dlen = rec->length - d->prefix_len;
	FILE *f = p->f;

	if (rec->type == IMG_REC_PAGES || rec->type == IMG_REC_SHMEM_PAGES) {
		memcpy(&pp, rec->payload, sizeof(pp));
		fprintf(f,
			p->json ? "\"prefix\":{\"addr\":%" PRIu64 ",\"mm_id\":%" PRIu32
				  ",\"flags\":%" PRIu32 "}" :
				  "addr=0x%" PRIx64 " mm_id=%" PRIu32 " flags=0x%" PRIx32,
			(uint64_t)pp.addr, pp.mm_id, pp.flags);
		if ((pp.flags & IMG_PAGES_KNOWN) && dlen == sizeof(uint64_t)) {
			uint64_t len;

			memcpy(&len, (const uint8_t *)rec->payload + sizeof(pp), sizeof(len));
			fprintf(f, p->json ? ",\"%s_length\":%" PRIu64 : " %s=%" PRIu64,
				pp.flags & IMG_PAGES_PARENT ? "parent" :
				pp.flags & IMG_PAGES_LAZY   ? "lazy" :
							      "zero",
				len);
		}
	} else if (d->prefix_len == sizeof(dp)) {
		memcpy(&dp, rec->payload, sizeof(dp));
		fprintf(f,
			p->json ? "\"prefix\":{\"id\":%" PRIu32 ",\"flags\":%" PRIu32
				  ",\"offset\":%" PRIu64 "}" :
				  "id=%" PRIu32 " flags=0x%" PRIx32 " offset=%" PRIu64,
			dp.id, dp.flags, (uint64_t)dp.offset);
	}
	fprintf(f, p->json ? ",\"data_length\":%" PRIu64 : " data=%" PRIu64, dlen);
}

/* Unpacks a protobuf record or records why it failed in the reader. */
static int unpack(struct img_reader *r, const struct img_record *rec, const struct img_rec_desc *d,
		  ProtobufCMessage **m)
{
	char what[96];

	if (!img_unpack(rec, d->pb, m))
		return 0;
	snprintf(what, sizeof(what), "payload does not parse as %s", d->pb->name);
	return img_reader_fail(r, rec, -EBADMSG, what);
}

/* The payload of rec: fields, raw prefix, or nothing for unknown types. */
static int print_payload(const struct printer *p, struct img_reader *r,
			 const struct img_record *rec)
{
	const struct img_rec_desc *d = img_rec_lookup(rec->type);
	ProtobufCMessage *m;
	int ret;

	if (!d)
		return 0;
	if (!d->pb) {
		print_raw(p, rec, d);
		return 0;
	}
	ret = unpack(r, rec, d, &m);
	if (ret)
		return ret;
	if (p->json) {
		fputs(",\"payload\":", p->f);
		print_msg(p, m);
	} else {
		print_fields(p, m, 0);
	}
	protobuf_c_message_free_unpacked(m, NULL);
	return 0;
}

static void tally_add(struct tally *t, const struct img_record *rec)
{
	unsigned i = rec->type <= MAX_TYPE && img_rec_lookup(rec->type) ? rec->type : 0;

	t->count[i]++;
	t->bytes[i] += rec->length + 20; /* with type, flags, length, crc */
}

static void print_tally(FILE *f, const struct tally *t, struct img_reader *r)
{
	uint64_t total = 0, n = 0;
	unsigned i;

	for (i = 0; i <= MAX_TYPE; i++)
		total += t->bytes[i], n += t->count[i];
	fprintf(f, "%-12s %10s %14s %7s\n", "kind", "records", "bytes", "share");
	for (i = 0; i <= MAX_TYPE; i++) {
		if (!t->count[i])
			continue;
		fprintf(f, "%-12s %10" PRIu64 " %14" PRIu64 " %6.2f%%\n",
			i ? img_rec_name(i) : "(unknown)", t->count[i], t->bytes[i],
			total ? 100.0 * t->bytes[i] / total : 0.0);
	}
	fprintf(f, "%-12s %10" PRIu64 " %14" PRIu64 "\n", "body", n, total);
	fprintf(f, "%-12s %10s %14" PRIu64 " %6.2f%% of body\n", "image file", "",
		img_reader_raw_bytes(r), total ? 100.0 * img_reader_raw_bytes(r) / total : 0.0);
}

/* Reads every record, calling fn on each; the trailer ends in *end. */
static int for_each(struct img_reader *r, struct img_record *end,
		    int (*fn)(struct img_reader *r, const struct img_record *rec, void *arg),
		    void *arg)
{
	struct img_record rec;
	int ret;

	while ((ret = img_read_record(r, &rec)) == 1) {
		ret = fn(r, &rec, arg);
		if (ret)
			return ret;
	}
	if (!ret)
		*end = rec;
	return ret;
}

/* The trailer record as fields; it was validated by the reader. */
static void print_trailer(const struct printer *p, const struct img_record *end)
{
	ProtobufCMessage *m;

	if (img_unpack(end, &img_trailer__descriptor, &m))
		return;
	if (p->json)
		print_msg(p, m);
	else
		print_fields(p, m, 0);
	protobuf_c_message_free_unpacked(m, NULL);
}

struct show_state {
	struct printer p;
	struct tally t;
};

static int show_one(struct img_reader *r, const struct img_record *rec, void *arg)
{
	struct show_state *s = arg;
	int ret;

	tally_add(&s->t, rec);
	fprintf(s->p.f, "%6" PRIu64 " %-11s %10" PRIu64 "  ", rec->index, img_rec_name(rec->type),
		rec->length);
	if (!img_rec_lookup(rec->type))
		fprintf(s->p.f, "type=%" PRIu32 " flags=0x%" PRIx32 " (skipped)", rec->type,
			rec->flags);
	ret = print_payload(&s->p, r, rec);
	fputc('\n', s->p.f);
	return ret;
}

int img_text_show(struct img_reader *r, FILE *out)
{
	struct show_state s = { .p = { out, false } };
	struct img_record end;
	int ret;

	fprintf(out, "header: format=%" PRIu32 " ", img_reader_version(r));
	print_fields(&s.p, &img_reader_header(r)->base, 0);
	fputc('\n', out);
	ret = for_each(r, &end, show_one, &s);
	if (ret)
		return ret;
	tally_add(&s.t, &end);
	fputs("trailer: ", out);
	print_trailer(&s.p, &end);
	fputs("\n\n", out);
	print_tally(out, &s.t, r);
	return 0;
}

static int json_one(struct img_reader *r, const struct img_record *rec, void *arg)
{
	struct printer *p = arg;
	int ret;

	fprintf(p->f,
		"%s\n{\"index\":%" PRIu64 ",\"type\":\"%s\",\"type_id\":%" PRIu32
		",\"flags\":%" PRIu32 ",\"offset\":%" PRIu64 ",\"length\":%" PRIu64 ",",
		rec->index ? "," : "", rec->index, img_rec_name(rec->type), rec->type, rec->flags,
		rec->offset, rec->length);
	if (!img_rec_lookup(rec->type))
		fputs("\"skipped\":true", p->f);
	else if (img_rec_lookup(rec->type)->pb)
		fputs("\"protobuf\":true", p->f);
	else
		fputs("\"raw\":true,", p->f);
	ret = print_payload(p, r, rec);
	fputc('}', p->f);
	return ret;
}

int img_text_json(struct img_reader *r, FILE *out)
{
	struct printer p = { out, true };
	struct img_record end;
	int ret;

	fprintf(out, "{\"header\":{\"format_version\":%" PRIu32, img_reader_version(r));
	print_fields(&p, &img_reader_header(r)->base, 1);
	fputs("},\n\"records\":[", out);
	ret = for_each(r, &end, json_one, &p);
	if (ret)
		return ret;
	fputs("\n],\n\"trailer\":", out);
	print_trailer(&p, &end);
	fputs("}\n", out);
	return 0;
}

static int verify_one(struct img_reader *r, const struct img_record *rec, void *arg)
{
	const struct img_rec_desc *d = img_rec_lookup(rec->type);
	ProtobufCMessage *m;
	int ret;

	if (!d || !d->pb)
		return 0;
	ret = unpack(r, rec, d, &m);
	if (!ret)
		protobuf_c_message_free_unpacked(m, NULL);
	return ret;
}

/* Who signed the image: checked (trusted keys were given) or not. */
static void print_signer(const struct img_reader *r, FILE *out)
{
	const struct vxcr_key *k = img_reader_signer(r);
	const uint8_t *id = img_reader_sig_id(r);
	char hex[2 * IMG_KEY_ID_LEN + 1];

	if (k)
		fprintf(out, "signed by %s (key %s): good signature\n", k->name,
			img_key_id_hex(k->id, hex));
	else if (id)
		fprintf(out, "signed by key %s (not checked: no --trusted-keys)\n",
			img_key_id_hex(id, hex));
	else
		fprintf(out, "not signed\n");
}

int img_text_verify(struct img_reader *r, FILE *out)
{
	struct img_record end;
	ImgTrailer *t;
	int ret;

	ret = for_each(r, &end, verify_one, NULL);
	if (ret)
		return ret;
	t = img_trailer__unpack(NULL, end.length, end.payload);
	if (!t)
		return -EBADMSG; /* the reader already checked it */
	fprintf(out, "ok: %" PRIu64 " records, %" PRIu64 " bytes of pages\n", t->records,
		t->page_bytes);
	img_trailer__free_unpacked(t, NULL);
	print_signer(r, out);
	return 0;
}

static int size_one(struct img_reader *r, const struct img_record *rec, void *arg)
{
	tally_add(arg, rec);
	return 0;
}

int img_text_size(struct img_reader *r, FILE *out)
{
	struct tally t;
	struct img_record end;
	int ret;

	memset(&t, 0, sizeof(t));
	ret = for_each(r, &end, size_one, &t);
	if (ret)
		return ret;
	tally_add(&t, &end);
	print_tally(out, &t, r);
	return 0;
}

static int img_print(int fd, enum vxcr_img_view view, const struct vxcr_keyring *kr, FILE *out)
{
	static int (*const print[])(struct img_reader *, FILE *) = {
		[VXCR_IMG_SHOW] = img_text_show,
		[VXCR_IMG_JSON] = img_text_json,
		[VXCR_IMG_VERIFY] = img_text_verify,
		[VXCR_IMG_SIZE] = img_text_size,
	};
	struct img_reader *r;
	int ret;

	if ((unsigned)view >= sizeof(print) / sizeof(print[0]))
		return -EINVAL;
	ret = img_reader_open(fd, &r);
	if (ret) {
		vxcr_log(VXCR_LOG_ERR, "%s", img_last_open_error());
		return ret;
	}
	if (kr)
		img_reader_set_keys(r, kr);
	ret = print[view](r, out);
	if (ret)
		vxcr_log(VXCR_LOG_ERR, "%s",
			 *img_reader_error(r) ? img_reader_error(r) : strerror(-ret));
	img_reader_free(r);
	return ret;
}

int vxcr_img_print(int fd, enum vxcr_img_view view, const struct vxcr_keyring *kr, FILE *out)
{
	err_op_begin();
	return err_op_end(img_print(fd, view, kr, out));
}
