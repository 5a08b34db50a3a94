/*
 * edit-image: rewrites a valid vxcr image with chosen fields changed, with
 * valid framing and checksums, so a test can craft exactly the hostile
 * image it needs (a FIFO record naming a regular file, pages aimed at a
 * shared file mapping, another uid in CREDS, ...).
 *
 * Usage: edit-image IN OUT EDIT...
 *
 * EDIT is TYPE[I].FIELD=VALUE: record type name as `vxcr img show` prints
 * it (FILE, MM, CREDS, PAGES, ...), I the 0-based index among records of
 * that type, FIELD a protobuf field name, descending into messages and
 * repeated messages and integers as NAME[J] (MM[0].vmas[3].kind=2,
 * CGROUP[0].members[0].dirs[1]=7; an index equal to the count of a
 * repeated integer field appends one).  VALUE is a number
 * (0x.. allowed; negative for signed fields), true/false, text for
 * string fields, or hex digits for bytes fields (00ff..., "" for none).  Raw page records (PAGES, SHMEM_PAGES) take addr, mm_id
 * and flags (their prefix), and fill=N (every data byte set to N).
 * Exit status: 0 written, 1 error (said on stderr), 2 usage.
 */
#include "mutate/mutate.h"

/* The record of type name tname and index idx, or NULL. */
static struct rec *find_rec(struct image *im, const char *tname, long idx)
{
	size_t i;

	for (i = 0; i < im->n; i++)
		if (!strcmp(img_rec_name(im->recs[i].type), tname) && idx-- == 0)
			return &im->recs[i];
	return NULL;
}

/* Splits "name[j]" into name (in place) and j (-1 if none). */
static long split_index(char *part)
{
	char *b = strchr(part, '[');

	if (!b)
		return -1;
	*b = '\0';
	return strtol(b + 1, NULL, 0);
}

/* Sets bytes field *b (f) from hex digits v ("" for none).  0 or -1. */
static int set_bytes(ProtobufCBinaryData *b, const ProtobufCFieldDescriptor *f, const char *v)
{
	size_t i, n = strlen(v) / 2;

	if (strlen(v) % 2) {
		fprintf(stderr, "edit-image: field %s: odd number of hex digits\n", f->name);
		return -1;
	}
	b->data = malloc(n ? n : 1);
	if (!b->data)
		return -1;
	for (i = 0; i < n; i++) {
		char hex[3] = { v[2 * i], v[2 * i + 1], 0 };

		b->data[i] = (uint8_t)strtoul(hex, NULL, 16);
	}
	b->len = n;
	return 0;
}

/* Sets scalar field f of m from text v.  0 or -1. */
static int set_scalar(ProtobufCMessage *m, const ProtobufCFieldDescriptor *f, const char *v)
{
	void *at = (char *)m + f->offset;
	long long n = !strcmp(v, "true") ? 1 : !strcmp(v, "false") ? 0 : strtoll(v, NULL, 0);

	if (f->label == PROTOBUF_C_LABEL_OPTIONAL && f->quantifier_offset &&
	    f->type != PROTOBUF_C_TYPE_STRING && f->type != PROTOBUF_C_TYPE_MESSAGE)
		*(protobuf_c_boolean *)((char *)m + f->quantifier_offset) = 1;
	switch (f->type) {
	case PROTOBUF_C_TYPE_STRING:
		*(char **)at = strdup(v);
		return 0;
	case PROTOBUF_C_TYPE_BOOL:
		*(protobuf_c_boolean *)at = n != 0;
		return 0;
	case PROTOBUF_C_TYPE_INT32: case PROTOBUF_C_TYPE_SINT32: case PROTOBUF_C_TYPE_SFIXED32:
	case PROTOBUF_C_TYPE_UINT32: case PROTOBUF_C_TYPE_FIXED32: case PROTOBUF_C_TYPE_ENUM:
		*(uint32_t *)at = (uint32_t)(v[0] == '-' ? n : (long long)strtoull(v, NULL, 0));
		return 0;
	case PROTOBUF_C_TYPE_INT64: case PROTOBUF_C_TYPE_SINT64: case PROTOBUF_C_TYPE_SFIXED64:
	case PROTOBUF_C_TYPE_UINT64: case PROTOBUF_C_TYPE_FIXED64:
		*(uint64_t *)at = v[0] == '-' ? (uint64_t)n : strtoull(v, NULL, 0);
		return 0;
	case PROTOBUF_C_TYPE_BYTES:
		return set_bytes(at, f, v);
	default:
		fprintf(stderr, "edit-image: field %s: type not supported\n", f->name);
		return -1;
	}
}

/*
 * Sets element j of repeated integer field f of m from text v; j equal
 * to the count appends one element.  0 or -1.
 */
static int set_element(ProtobufCMessage *m, const ProtobufCFieldDescriptor *f, long j,
		       const char *v)
{
	size_t *pn = (size_t *)((char *)m + f->quantifier_offset), n = *pn;
	char **parr = (char **)((char *)m + f->offset), *arr = *parr;
	uint64_t x = v[0] == '-' ? (uint64_t)strtoll(v, NULL, 0) : strtoull(v, NULL, 0);

	if (j >= 0 && (size_t)j == n) { /* append (unpacked with malloc) */
		arr = realloc(arr, (n + 1) * sizeof(uint64_t));
		if (!arr)
			return -1;
		*parr = arr;
		*pn = ++n;
	}
	if (j < 0 || (size_t)j >= n) {
		fprintf(stderr, "edit-image: %s[%ld]: out of range (%zu)\n", f->name, j, n);
		return -1;
	}
	switch (f->type) {
	case PROTOBUF_C_TYPE_INT32: case PROTOBUF_C_TYPE_SINT32: case PROTOBUF_C_TYPE_SFIXED32:
	case PROTOBUF_C_TYPE_UINT32: case PROTOBUF_C_TYPE_FIXED32: case PROTOBUF_C_TYPE_ENUM:
		((uint32_t *)arr)[j] = (uint32_t)x;
		return 0;
	case PROTOBUF_C_TYPE_INT64: case PROTOBUF_C_TYPE_SINT64: case PROTOBUF_C_TYPE_SFIXED64:
	case PROTOBUF_C_TYPE_UINT64: case PROTOBUF_C_TYPE_FIXED64:
		((uint64_t *)arr)[j] = x;
		return 0;
	default:
		fprintf(stderr, "edit-image: repeated field %s: type not supported\n", f->name);
		return -1;
	}
}

/* Walks path (dot-separated, with [j]) from m and sets the last field. */
static int set_path(ProtobufCMessage *m, char *path, const char *v)
{
	const ProtobufCFieldDescriptor *f;
	char *dot = strchr(path, '.');
	long j;

	if (dot)
		*dot = '\0';
	j = split_index(path);
	f = protobuf_c_message_descriptor_get_field_by_name(m->descriptor, path);
	if (!f) {
		fprintf(stderr, "edit-image: %s has no field %s\n", m->descriptor->name, path);
		return -1;
	}
	if (!dot && f->label == PROTOBUF_C_LABEL_REPEATED)
		return set_element(m, f, j, v);
	if (!dot)
		return set_scalar(m, f, v);
	if (f->type != PROTOBUF_C_TYPE_MESSAGE) {
		fprintf(stderr, "edit-image: %s is not a message\n", path);
		return -1;
	}
	if (f->label == PROTOBUF_C_LABEL_REPEATED) {
		size_t n = *(size_t *)((char *)m + f->quantifier_offset);

		if (j < 0 || (size_t)j >= n) {
			fprintf(stderr, "edit-image: %s[%ld]: out of range (%zu)\n", path, j, n);
			return -1;
		}
		return set_path((*(ProtobufCMessage ***)((char *)m + f->offset))[j], dot + 1, v);
	}
	m = *(ProtobufCMessage **)((char *)m + f->offset);
	if (!m) {
		fprintf(stderr, "edit-image: %s is not set\n", path);
		return -1;
	}
	return set_path(m, dot + 1, v);
}

/* Edits the prefix or the data of a raw page record. */
static int set_raw(struct rec *r, const char *field, const char *v)
{
	struct img_pages_prefix p;
	uint64_t n = strtoull(v, NULL, 0);

	if (r->len < sizeof(p)) {
		fprintf(stderr, "edit-image: record too short for a page prefix\n");
		return -1;
	}
	memcpy(&p, r->buf, sizeof(p));
	if (!strcmp(field, "addr"))
		p.addr = n;
	else if (!strcmp(field, "mm_id"))
		p.mm_id = (uint32_t)n;
	else if (!strcmp(field, "flags"))
		p.flags = (uint32_t)n;
	else if (!strcmp(field, "fill"))
		memset(r->buf + sizeof(p), (int)n, r->len - sizeof(p));
	else {
		fprintf(stderr, "edit-image: raw records take addr, mm_id, flags, fill\n");
		return -1;
	}
	memcpy(r->buf, &p, sizeof(p));
	return 0;
}

/* Applies one EDIT argument.  0 or -1 (said). */
static int apply_edit(struct image *im, const char *arg)
{
	char *e = strdup(arg), *eq = strchr(e, '='), *dot = strchr(e, '.');
	struct rec *r;
	long idx;

	if (!eq || !dot || dot > eq) {
		fprintf(stderr, "edit-image: bad edit %s\n", arg);
		return -1;
	}
	*eq = *dot = '\0';
	idx = split_index(e);
	r = find_rec(im, e, idx < 0 ? 0 : idx);
	if (!r) {
		fprintf(stderr, "edit-image: no record %s[%ld]\n", e, idx < 0 ? 0 : idx);
		return -1;
	}
	return r->msg ? set_path(r->msg, dot + 1, eq + 1) : set_raw(r, dot + 1, eq + 1);
}

int main(int argc, char **argv)
{
	struct image im = { 0 };
	int i;

	if (argc < 4) {
		fprintf(stderr, "usage: edit-image IN OUT TYPE[I].FIELD=VALUE...\n");
		return 2;
	}
	if (image_load(argv[1], &im))
		return 1;
	for (i = 3; i < argc; i++)
		if (apply_edit(&im, argv[i]))
			return 1;
	return image_save(argv[2], &im) ? 1 : 0;
}
