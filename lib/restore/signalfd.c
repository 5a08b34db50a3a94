/*
 * signalfds (fd kind "signalfd"), in the root's C part: a new signalfd
 * with the recorded mask (signalfd4 with a 64-bit mask: glibc's sigset_t
 * helpers refuse its own reserved signals 32 and 33, the kernel does not),
 * then the recorded O_NONBLOCK.  The signals it will read are the holder's
 * pending ones, restored with the task (signals.c).
 */
#define LOG_PREFIX "restore: "
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>

#include "log.h"
#include "restore/restore.h"

#define SIGNALFD_NEVER ((1ULL << (SIGKILL - 1)) | (1ULL << (SIGSTOP - 1)))
/* the kernel's O_LARGEFILE, which fdinfo may show (glibc's is 0 here) */
#define KERNEL_O_LARGEFILE 0100000
#define SIGNALFD_FLAGS (O_RDWR | O_NONBLOCK | O_APPEND | O_ASYNC | KERNEL_O_LARGEFILE)

/* The image alone: the signalfd's own part is there and possible. */
static int check_signalfd(const struct rst_image *img, const struct rst_file *f)
{
	const SignalfdEntry *e = f->fe->signalfd;

	if (!e || !e->has_sigmask) {
		pr_err("image: signalfd (file id %u) has no signalfd entry\n", f->fe->id);
		return -EBADMSG;
	}
	if (e->sigmask & SIGNALFD_NEVER) {
		pr_err("image: signalfd (file id %u): mask %#llx holds SIGKILL or SIGSTOP\n",
		       f->fe->id, (unsigned long long)e->sigmask);
		return -EBADMSG;
	}
	if ((f->fe->flags & O_ACCMODE) != O_RDWR || (f->fe->flags & ~(uint32_t)SIGNALFD_FLAGS)) {
		pr_err("image: signalfd (file id %u): flags %#o are not a signalfd's\n", f->fe->id,
		       f->fe->flags);
		return -EBADMSG;
	}
	return 0;
}

/* A new signalfd with the recorded mask and flags. */
static int open_signalfd(const struct rst_image *img, struct rst_file *f)
{
	uint64_t mask = f->fe->signalfd->sigmask;
	int fd;

	fd = syscall(SYS_signalfd4, -1, &mask, sizeof(mask), SFD_CLOEXEC | SFD_NONBLOCK);
	if (fd < 0) {
		pr_perror("signalfd (file id %u, mask %#llx)", f->fe->id, (unsigned long long)mask);
		return -errno;
	}
	f->stage_fd = rst_stage_fd(img, fd);
	return f->stage_fd < 0 ? f->stage_fd : rst_set_fl(f->stage_fd, f->fe->flags);
}

const struct rst_fd_kind rst_fd_signalfd = {
	.kind = FILE_KIND__FILE_SIGNALFD,
	.name = "signalfd",
	.check_image = check_signalfd,
	.open = open_signalfd,
};
