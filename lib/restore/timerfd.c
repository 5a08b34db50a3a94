/*
 * timerfds (fd kind "timerfd"), in the root's C part: a new timerfd on the
 * recorded clock, armed with timerfd_settime (the recorded settime flags,
 * so TFD_TIMER_CANCEL_ON_SET registers again; an absolute timer gets its
 * absolute expiry back, a relative one the time it had left; a disarmed
 * one is set to zero, which keeps its flags), then the unread expirations
 * by TFD_IOC_SET_TICKS (CONFIG_CHECKPOINT_RESTORE; settime clears ticks,
 * so it comes after), then O_NONBLOCK.  Alarm clocks need CAP_WAKE_ALARM:
 * without it the restore is refused with one line.
 */
#define LOG_PREFIX "restore: "
#include <errno.h>
#include <fcntl.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/timerfd.h>

#include "log.h"
#include "restore/restore.h"

#ifndef TFD_IOC_SET_TICKS
#define TFD_IOC_SET_TICKS _IOW('T', 0, uint64_t)
#endif
#define KERNEL_O_LARGEFILE 0100000
#define TIMERFD_FLAGS (O_RDWR | O_NONBLOCK | O_APPEND | O_ASYNC | KERNEL_O_LARGEFILE)
#define TIMERFD_SETTIME (TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET)
#define NSEC 1000000000ULL
#define NS_MAX (1ULL << 63) /* above KTIME_MAX, the kernel's last expiry */

static bool known_clock(uint32_t c)
{
	return c == CLOCK_REALTIME || c == CLOCK_MONOTONIC || c == CLOCK_BOOTTIME ||
	       c == CLOCK_REALTIME_ALARM || c == CLOCK_BOOTTIME_ALARM;
}

/* The image alone: the timerfd's own part is there and in range. */
static int check_timerfd(const struct rst_image *img, const struct rst_file *f)
{
	const TimerfdEntry *e = f->fe->timerfd;

	if (!e) {
		pr_err("image: timerfd (file id %u) has no timerfd entry\n", f->fe->id);
		return -EBADMSG;
	}
	if (!known_clock(e->clockid) || (e->settime_flags & ~(uint32_t)TIMERFD_SETTIME)) {
		pr_err("image: timerfd (file id %u): clock %u or settime flags %#x out of range\n",
		       f->fe->id, e->clockid, e->settime_flags);
		return -EBADMSG;
	}
	if (e->value_ns >= NS_MAX || e->interval_ns >= NS_MAX) {
		pr_err("image: timerfd (file id %u): expiry %llu or period %llu ns out of range\n",
		       f->fe->id, (unsigned long long)e->value_ns,
		       (unsigned long long)e->interval_ns);
		return -EBADMSG;
	}
	if ((f->fe->flags & O_ACCMODE) != O_RDWR || (f->fe->flags & ~(uint32_t)TIMERFD_FLAGS)) {
		pr_err("image: timerfd (file id %u): flags %#o are not a timerfd's\n", f->fe->id,
		       f->fe->flags);
		return -EBADMSG;
	}
	return 0;
}

static struct timespec ts_of(uint64_t ns)
{
	return (struct timespec){ .tv_sec = ns / NSEC, .tv_nsec = ns % NSEC };
}

/* Arms fd as recorded and gives it its ticks.  0 or -errno (logged). */
static int arm_timerfd(int fd, const struct rst_file *f)
{
	const TimerfdEntry *e = f->fe->timerfd;
	struct itimerspec its = { ts_of(e->interval_ns), ts_of(e->value_ns) };
	uint64_t ticks = e->ticks;

	if (timerfd_settime(fd, (int)e->settime_flags, &its, NULL)) {
		pr_perror("timerfd (file id %u): settime", f->fe->id);
		return -errno;
	}
	if (ticks && ioctl(fd, TFD_IOC_SET_TICKS, &ticks)) {
		pr_perror("timerfd (file id %u): cannot give it its %llu unread expirations "
			  "(TFD_IOC_SET_TICKS needs CONFIG_CHECKPOINT_RESTORE)",
			  f->fe->id, (unsigned long long)ticks);
		return -errno;
	}
	return 0;
}

/* A new timerfd on the recorded clock, armed, with its ticks and flags. */
static int open_timerfd(const struct rst_image *img, struct rst_file *f)
{
	const TimerfdEntry *e = f->fe->timerfd;
	int fd, ret;

	fd = timerfd_create((int)e->clockid, TFD_CLOEXEC | TFD_NONBLOCK);
	if (fd < 0) {
		ret = -errno;
		if (ret == -EPERM)
			pr_err("timerfd (file id %u): clock %u is an alarm clock and this restore "
			       "lacks CAP_WAKE_ALARM\n",
			       f->fe->id, e->clockid);
		else
			pr_perror("timerfd (file id %u): clock %u", f->fe->id, e->clockid);
		return ret;
	}
	ret = arm_timerfd(fd, f);
	if (ret) {
		close(fd);
		return ret;
	}
	f->stage_fd = rst_stage_fd(img, fd);
	return f->stage_fd < 0 ? f->stage_fd : rst_set_fl(f->stage_fd, f->fe->flags);
}

const struct rst_fd_kind rst_fd_timerfd = {
	.kind = FILE_KIND__FILE_TIMERFD,
	.name = "timerfd",
	.check_image = check_timerfd,
	.open = open_timerfd,
};
