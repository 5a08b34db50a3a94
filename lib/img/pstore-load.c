/*
 * Page stores filled from images: the pages an image carries itself, keyed
 * by the pid of the TASK whose address space they belong to, and the chain
 * of an incremental image's parents loaded farthest first, so that nearer
 * images overwrite and each one's PARENT ranges resolve through those
 * loaded before it.
 */
#define LOG_PREFIX "img/pstore: "
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "img/img.h"
#include "img/pstore.h"
#include "task.pb-c.h"

#define MAX_MM_ID (1u << 22) /* more address spaces than any tree has */

/* The state of one image's load. */
struct pload {
	struct vxcr_pstore *ps;
	struct img_reader *r;
	const char *name;
	bool lenient;
	uint32_t *key; /* key[mm_id]: the TASK pid, 0: none yet */
	uint32_t n_key;
	uint64_t pages;
};

/* A TASK: its address space's key is its pid unless an earlier one has it. */
static int load_task(struct pload *l, const struct img_record *rec)
{
	TaskEntry *t;
	uint32_t *k;
	int ret;

	ret = img_unpack(rec, &task_entry__descriptor, (ProtobufCMessage **)&t);
	if (ret)
		return img_reader_fail(l->r, rec, -EBADMSG, "TASK does not parse");
	if (t->has_mm_id && t->mm_id && t->mm_id < MAX_MM_ID) {
		if (t->mm_id >= l->n_key) {
			k = realloc(l->key, (t->mm_id + 1) * sizeof(*k));
			if (!k) {
				task_entry__free_unpacked(t, NULL);
				return -ENOMEM;
			}
			memset(k + l->n_key, 0, (t->mm_id + 1 - l->n_key) * sizeof(*k));
			l->key = k;
			l->n_key = t->mm_id + 1;
		}
		if (!l->key[t->mm_id])
			l->key[t->mm_id] = t->pid;
	}
	task_entry__free_unpacked(t, NULL);
	return 0;
}

/* A PAGES record: its pages put, a zero range dropped, a parent range checked. */
static int load_pages(struct pload *l, const struct img_record *rec)
{
	const struct img_pages_prefix *p = rec->payload;
	const uint8_t *data = (const uint8_t *)(p + 1);
	uint64_t len = rec->length - sizeof(*p);
	uint32_t key = p->mm_id < l->n_key ? l->key[p->mm_id] : 0;
	char what[160];
	int ret;

	if (!key)
		return img_reader_fail(l->r, rec, -EBADMSG, "pages of no TASK's address space");
	if (p->flags) /* a range: the reader checked its length */
		memcpy(&len, data, sizeof(len));
	if (p->flags & IMG_PAGES_LAZY)
		return img_reader_fail(
			l->r, rec, -EBADMSG,
			"lazy pages (a post-copy migration's image) in a parent image");
	if (p->flags & IMG_PAGES_ZERO)
		return pstore_drop(l->ps, key, p->addr, len);
	if (p->flags & IMG_PAGES_PARENT) {
		if (l->lenient || pstore_has(l->ps, key, p->addr, len))
			return 0;
		snprintf(what, sizeof(what),
			 "pages %#llx-%#llx of pid %u are in none of the images before %s",
			 (unsigned long long)p->addr, (unsigned long long)(p->addr + len), key,
			 l->name);
		return img_reader_fail(l->r, rec, -ENOENT, what);
	}
	ret = pstore_put(l->ps, key, p->addr, data, len);
	if (ret)
		return img_reader_fail(l->r, rec, ret, "cannot keep its pages");
	l->pages += len / 4096;
	return 0;
}

int pstore_load_image(struct vxcr_pstore *ps, struct img_reader *r, const char *name, bool lenient,
		      uint64_t *pages)
{
	struct pload l = { .ps = ps, .r = r, .name = name, .lenient = lenient };
	struct img_record rec;
	int ret;

	while ((ret = img_read_record(r, &rec)) > 0) {
		if (rec.type == IMG_REC_TASK)
			ret = load_task(&l, &rec);
		else if (rec.type == IMG_REC_PAGES)
			ret = load_pages(&l, &rec);
		else
			ret = 0;
		if (ret)
			break;
	}
	free(l.key);
	if (ret < 0)
		pr_err("%s: %s\n", name,
		       *img_reader_error(r) ? img_reader_error(r) : strerror(-ret));
	if (pages)
		*pages = l.pages;
	return ret < 0 ? ret : 0;
}

/* 32 hex digits and a NUL. */
static const char *id_hex(const uint8_t *id, char *buf)
{
	int i;

	for (i = 0; i < 16; i++)
		snprintf(buf + 2 * i, 3, "%02x", id[i]);
	return buf;
}

/* The 16-byte parent_id of h, or NULL. */
static const uint8_t *parent_of(const ImgHeader *h)
{
	return h->has_parent_id && h->parent_id.len == 16 ? h->parent_id.data : NULL;
}

/* Opens the reader of parent i (name "parent N") and checks its ids. */
static int open_parent(int fd, size_t i, size_t n, const struct vxcr_keyring *kr,
		       struct img_reader **out)
{
	const ImgHeader *h;
	char name[32], a[33];
	int ret;

	snprintf(name, sizeof(name), "parent %zu", i + 1);
	ret = img_reader_open(fd, out);
	if (ret) {
		pr_err("%s: %s\n", name, img_last_open_error());
		return ret;
	}
	h = img_reader_header(*out);
	if (!h->has_image_id || h->image_id.len != 16) {
		pr_err("%s: the image has no id\n", name);
		return -EBADMSG;
	}
	if (i + 1 == n && parent_of(h)) {
		pr_err("%s is incremental: its parent %s is needed too (--parent)\n", name,
		       id_hex(parent_of(h), a));
		return -ENOENT;
	}
	if (kr)
		img_reader_set_keys(*out, kr);
	return 0;
}

/* Whether the nearer image's parent_id (pid) is the farther one's image_id. */
static int check_link(const ImgHeader *nearer, const ImgHeader *farther, size_t i)
{
	char a[33], b[33];

	if (parent_of(nearer) && !memcmp(parent_of(nearer), farther->image_id.data, 16))
		return 0;
	if (!parent_of(nearer))
		pr_err("parent %zu is not incremental, but parent %zu (%s) was given after it\n", i,
		       i + 1, id_hex(farther->image_id.data, b));
	else
		pr_err("parent %zu's parent is %s, not parent %zu (%s)\n", i,
		       id_hex(parent_of(nearer), a), i + 1, id_hex(farther->image_id.data, b));
	return -EINVAL;
}

int pstore_load_chain(const int *fds, size_t n, const struct vxcr_keyring *kr,
		      struct vxcr_pstore **out)
{
	struct img_reader **r;
	struct vxcr_pstore *ps = NULL;
	char name[32];
	size_t i;
	int ret = 0;

	if (!n)
		return -EINVAL;
	r = calloc(n, sizeof(*r));
	if (!r)
		return -ENOMEM;
	for (i = 0; !ret && i < n; i++)
		ret = open_parent(fds[i], i, n, kr, &r[i]);
	for (i = 1; !ret && i < n; i++)
		ret = check_link(img_reader_header(r[i - 1]), img_reader_header(r[i]), i);
	if (!ret)
		ret = pstore_new(img_reader_header(r[0])->image_id.data, &ps);
	for (i = n; !ret && i-- > 0;) {
		snprintf(name, sizeof(name), "parent %zu", i + 1);
		ret = pstore_load_image(ps, r[i], name, false, NULL);
	}
	for (i = 0; i < n; i++)
		img_reader_free(r[i]);
	free(r);
	if (ret) {
		pstore_free(ps);
		return ret;
	}
	*out = ps;
	return 0;
}
