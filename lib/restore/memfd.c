/*
 * memfds (fd kind "memfd"), in the root's C part: a new description of the
 * memfd's object, which shmem.c made once for the tree (its pages come
 * from SHMEM_PAGES; its mappings map the same object).
 */
#define LOG_PREFIX "restore: "
#include "log.h"
#include "restore/restore.h"

/* A memfd fd: a new description of its pooled object, with its flags. */
static int open_memfd(const struct rst_image *img, struct rst_file *f)
{
	int fd = rshm_open_file(img, f->fe);

	if (fd < 0)
		return fd;
	f->stage_fd = rst_stage_fd(img, fd);
	return f->stage_fd < 0 ? f->stage_fd : rst_set_fl(f->stage_fd, f->fe->flags);
}

const struct rst_fd_kind rst_fd_memfd = {
	.kind = FILE_KIND__FILE_MEMFD,
	.name = "memfd",
	.open = open_memfd,
};
