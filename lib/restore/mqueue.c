/*
 * POSIX message queue fds (fd kind "mqueue", FILE_MQUEUE): the queue is
 * made by ipcns.c in the tree's new IPC namespace before the root
 * exists; the fd is opened by name there (never created: O_CREAT is not
 * given), then given the recorded O_NONBLOCK.  The name must be one of
 * the IPCNS record's queues: without that record an mq_open would reach
 * a queue of vxrestore's own namespace.
 */
#define LOG_PREFIX "restore: "
#include <errno.h>
#include <fcntl.h>
#include <mqueue.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "restore/ipcns.h"
#include "restore/restore.h"

static int check_mqueue(const struct rst_image *img, const struct rst_file *f)
{
	const char *name = f->fe->mq_name;
	size_t i;

	if (!ipcns_mq_name_ok(name) || !img->ipcns) {
		pr_err("image: POSIX queue fd (file id %u): bad name, or no IPCNS record\n",
		       f->fe->id);
		return -EBADMSG;
	}
	for (i = 0; i < img->ipcns->n_mqs && strcmp(img->ipcns->mqs[i]->name, name); i++)
		;
	if (i == img->ipcns->n_mqs) {
		pr_err("image: POSIX queue fd (file id %u): /%s is not a queue of IPCNS\n",
		       f->fe->id, name);
		return -EBADMSG;
	}
	return 0;
}

static int open_mqueue(const struct rst_image *img, struct rst_file *f)
{
	char name[260];
	int fd, acc = f->fe->flags & O_ACCMODE;

	snprintf(name, sizeof(name), "/%s", f->fe->mq_name);
	fd = mq_open(name, (acc == O_ACCMODE ? O_RDWR : acc) | O_CLOEXEC);
	if (fd < 0) {
		pr_perror("POSIX queue %s (file id %u): mq_open", name, f->fe->id);
		return -errno;
	}
	f->stage_fd = rst_stage_fd(img, fd);
	return f->stage_fd < 0 ? f->stage_fd : rst_set_fl(f->stage_fd, f->fe->flags);
}

const struct rst_fd_kind rst_fd_mqueue = {
	.kind = FILE_KIND__FILE_MQUEUE,
	.name = "mqueue",
	.check_image = check_mqueue,
	.open = open_mqueue,
};
