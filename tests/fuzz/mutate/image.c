/*
 * Reading a whole image into memory (struct image: protobuf records
 * unpacked, raw ones copied) and writing it back with valid framing,
 * checksums and trailer; shared by the fuzz and image-editing tools.
 */
#include "mutate/mutate.h"

void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (!p) {
		fprintf(stderr, "%s: out of memory\n", program_invocation_short_name);
		exit(1);
	}
	return p;
}

void insert_rec(struct image *im, size_t at, const struct rec *r)
{
	if (im->n == im->cap) {
		im->cap = im->cap ? im->cap * 2 : 64;
		im->recs = realloc(im->recs, im->cap * sizeof(*im->recs));
		if (!im->recs) {
			fprintf(stderr, "%s: out of memory\n", program_invocation_short_name);
			exit(1);
		}
	}
	memmove(&im->recs[at + 1], &im->recs[at], (im->n - at) * sizeof(*r));
	im->recs[at] = *r;
	im->n++;
}

static int keep_record(struct image *im, const struct img_record *rec)
{
	const struct img_rec_desc *d = img_rec_lookup(rec->type);
	struct rec r = { .type = rec->type, .flags = rec->flags };

	if (d && d->pb) {
		r.msg = protobuf_c_message_unpack(d->pb, NULL, rec->length, rec->payload);
		if (!r.msg) {
			fprintf(stderr, "%s: record %llu (%s) does not unpack\n", program_invocation_short_name,
				(unsigned long long)rec->index, d->name);
			return -1;
		}
	} else {
		r.buf = xmalloc(rec->length);
		memcpy(r.buf, rec->payload, rec->length);
		r.len = rec->length;
	}
	insert_rec(im, im->n, &r);
	return 0;
}

int image_load(const char *path, struct image *im)
{
	struct img_reader *r;
	struct img_record rec;
	const ImgHeader *h;
	int fd, ret;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "%s: %s: %s\n", program_invocation_short_name, path, strerror(errno));
		return -1;
	}
	ret = img_reader_open(fd, &r);
	if (ret) {
		fprintf(stderr, "%s: %s: %s\n", program_invocation_short_name, path, img_last_open_error());
		close(fd);
		return -1;
	}
	h = img_reader_header(r);
	im->compress = h->compression == IMG_COMPRESSION__COMP_ZSTD;
	im->root_pid = h->root_pid;
	im->has_parent = h->has_parent_id && h->parent_id.len == 16;
	if (im->has_parent)
		memcpy(im->parent_id, h->parent_id.data, 16);
	while ((ret = img_read_record(r, &rec)) == 1 && !(ret = keep_record(im, &rec)))
		;
	if (ret < 0)
		fprintf(stderr, "%s: %s: %s\n", program_invocation_short_name, path, img_reader_error(r));
	img_reader_free(r);
	close(fd);
	return ret < 0 ? -1 : 0;
}

int image_save(const char *path, const struct image *im)
{
	struct img_write_opts o = {
		.compress = im->compress, .threads = 1, .root_pid = im->root_pid,
		.parent_id = im->has_parent ? im->parent_id : NULL,
	};
	struct img_writer *w;
	size_t i;
	int fd, ret;

	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		fprintf(stderr, "%s: %s: %s\n", program_invocation_short_name, path, strerror(errno));
		return -1;
	}
	ret = img_writer_open(fd, &o, &w);
	for (i = 0; !ret && i < im->n; i++) {
		const struct rec *r = &im->recs[i];

		ret = r->msg ? img_write_msg(w, r->type, r->msg)
			     : img_write_raw(w, r->type, r->flags, r->buf, r->len);
	}
	if (!ret)
		ret = img_writer_finish(w);
	if (w)
		img_writer_free(w);
	if (close(fd) && !ret)
		ret = -errno;
	if (ret)
		fprintf(stderr, "%s: writing %s: %s\n", program_invocation_short_name, path, strerror(-ret));
	return ret ? -1 : 0;
}

