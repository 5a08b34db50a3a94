/*
 * Incremental images (vxdump --parent): the parent image's pages are read
 * into a page store before the tree is seized (so the freeze does not
 * grow by it), keyed by the pid of their TASK; a page of a private area
 * whose bytes equal the parent's page at the same pid and address is
 * written as part of an IMG_PAGES_PARENT range (pages.c), and the
 * header's parent_id is the parent's image_id.  Only the pages the parent
 * image holds itself are known, unless its own parents are given too
 * (ancestor_fds): then the chain is loaded as restore loads it.
 */
#define LOG_PREFIX "dump/parent: "
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "dump/dump.h"
#include "img/img.h"
#include "img/pstore.h"

/* The parent and its ancestors, as restore loads a chain. */
static int load_chain(struct dump_op *op)
{
	const struct vxcr_dump_opts *o = op->opts;
	int *fds = calloc(o->n_ancestors + 1, sizeof(*fds));
	int ret;

	if (!fds)
		return -ENOMEM;
	fds[0] = o->parent_fd;
	memcpy(fds + 1, o->ancestor_fds, o->n_ancestors * sizeof(*fds));
	ret = pstore_load_chain(fds, o->n_ancestors + 1, NULL, &op->parent);
	free(fds);
	if (!ret)
		pr_info("parent images: %llu pages, %.1f MiB held\n",
			(unsigned long long)pstore_pages(op->parent),
			pstore_mem(op->parent) / 1048576.0);
	return ret;
}

int dump_parent_load(struct dump_op *op)
{
	struct img_reader *r;
	const ImgHeader *h;
	uint64_t pages;
	int ret;

	if (op->opts->parent_fd < 0)
		return 0;
	if (op->opts->n_ancestors) {
		if (!op->opts->ancestor_fds)
			return -EINVAL;
		return load_chain(op);
	}
	ret = img_reader_open(op->opts->parent_fd, &r);
	if (ret) {
		pr_err("parent image: %s\n", img_last_open_error());
		return ret;
	}
	h = img_reader_header(r);
	if (!h->has_image_id || h->image_id.len != 16) {
		pr_err("parent image: it has no id\n");
		ret = -EBADMSG;
		goto out_free;
	}
	ret = pstore_new(h->image_id.data, &op->parent);
	if (ret)
		goto out_free;
	ret = pstore_load_image(op->parent, r, "parent image", true, &pages);
	if (!ret)
		pr_info("parent image: %llu pages, %.1f MiB held\n", (unsigned long long)pages,
			pstore_mem(op->parent) / 1048576.0);
out_free:
	img_reader_free(r);
	return ret;
}

bool dump_parent_same(const struct dump_op *op, const struct dump_task *t, uint64_t addr,
		      const void *data)
{
	const void *p = pstore_get(op->parent, (uint32_t)t->vpid, addr);

	return p && !memcmp(p, data, 4096);
}

void dump_parent_free(struct dump_op *op)
{
	pstore_free(op->parent);
	op->parent = NULL;
}
