/*
 * memfds (fd kind "memfd"): a FILE_MEMFD entry names its shmem object
 * (shmem.c, shared with the memfd's mappings), with its seals; size, pos
 * and flags are the common fields.  Its pages go out whole from pages.c
 * through our own read handle on the object.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/sysmacros.h>

#define LOG_PREFIX "memfd: "
#include "log.h"
#include "dump/dump.h"
#include "img/img.h"

static bool is_memfd(const struct fd_probe *p)
{
	return fd_link_starts(p, "/memfd:");
}

/* A memfd's object, seals and path.  0 or -errno (logged). */
static int dump_memfd(struct dump_op *op, struct fd_probe *p, struct dump_file *df)
{
	struct dump_shmem *sh;
	int seals;

	df->e.kind = FILE_KIND__FILE_MEMFD;
	sh = shmem_get(op, major(p->st.st_dev), minor(p->st.st_dev), p->st.st_ino, false, p->index);
	if (!sh)
		return -ENOMEM;
	/*
	 * A description of our own: pages.c skips holes with SEEK_DATA and
	 * SEEK_HOLE, which on our pidfd_getfd copy (the target's very
	 * description) would move the target's file position.
	 */
	if (sh->fd < 0) {
		sh->fd = fd_reopen_ro(p, 0);
		if (sh->fd < 0) {
			pr_perror("pid %d fd %d: cannot open memfd %s for reading", p->pid, p->fd,
				  p->link);
			return -errno;
		}
	}
	seals = fcntl(sh->fd, F_GET_SEALS);
	if (seals < 0) {
		pr_perror("pid %d fd %d: memfd %s: F_GET_SEALS", p->pid, p->fd, p->link);
		return -errno;
	}
	sh->has_file = true;
	if ((uint64_t)p->st.st_size > sh->size)
		sh->size = p->st.st_size;
	PB_SET(&df->e, shmem_id, sh->id);
	PB_SET(&df->e, seals, seals);
	return fd_set_path(df, p->link);
}

const struct dump_fd_kind dump_fd_memfd = { "memfd", is_memfd, dump_memfd, NULL };
