/*
 * eventfds (fd kind "eventfd"), in the root's C part: a new eventfd in
 * the recorded mode, given its counter by one write (eventfd() takes only
 * 32 bits), then the recorded O_NONBLOCK.  One description per FILE
 * record; fds and processes sharing it get it from the pool like any
 * other description.
 */
#define LOG_PREFIX "restore: "
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/eventfd.h>

#include "log.h"
#include "restore/restore.h"

/* The image alone: the eventfd's own part is there and in range. */
static int check_eventfd(const struct rst_image *img, const struct rst_file *f)
{
	const EventfdEntry *e = f->fe->eventfd;

	if (!e) {
		pr_err("image: eventfd (file id %u) has no eventfd entry\n", f->fe->id);
		return -EBADMSG;
	}
	if (e->count == UINT64_MAX) {
		pr_err("image: eventfd (file id %u): count %#llx is out of range\n", f->fe->id,
		       (unsigned long long)e->count);
		return -EBADMSG;
	}
	return 0;
}

/* A new eventfd with the recorded count, mode and flags. */
static int open_eventfd(const struct rst_image *img, struct rst_file *f)
{
	const EventfdEntry *e = f->fe->eventfd;
	uint64_t count = e->count;
	int fd;

	fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK | (e->semaphore ? EFD_SEMAPHORE : 0));
	if (fd < 0) {
		pr_perror("eventfd (file id %u)", f->fe->id);
		return -errno;
	}
	if (count && write(fd, &count, sizeof(count)) != sizeof(count)) {
		pr_perror("eventfd (file id %u): cannot set its count to %llu", f->fe->id,
			  (unsigned long long)count);
		close(fd);
		return -EIO;
	}
	f->stage_fd = rst_stage_fd(img, fd);
	return f->stage_fd < 0 ? f->stage_fd : rst_set_fl(f->stage_fd, f->fe->flags);
}

const struct rst_fd_kind rst_fd_eventfd = {
	.kind = FILE_KIND__FILE_EVENTFD,
	.name = "eventfd",
	.check_image = check_eventfd,
	.open = open_eventfd,
};
