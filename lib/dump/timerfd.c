/*
 * timerfds (fd kind "timerfd"): clock, settime flags, unread expirations,
 * next expiry and period; O_NONBLOCK is in the common flags.
 *
 * What Linux 6.18 prints (fs/timerfd.c, timerfd_show):
 *   clockid: %d
 *   ticks: %llu                    expirations not read yet
 *   settime flags: 0%o             TFD_TIMER_ABSTIME 1, TFD_TIMER_CANCEL_ON_SET 2
 *   it_value: (%llu, %llu)         time left (0 when expired or disarmed)
 *   it_interval: (%llu, %llu)
 * A periodic timer that expired is not re-armed until someone looks: its
 * "ticks" says 1 however many periods went by and it_value 0.  So the
 * dumper first calls timerfd_gettime() on its own copy of the description
 * (pidfd_getfd), which, like a read, folds the periods gone by into ticks
 * and re-arms it, but consumes nothing (measured: fdinfo then shows the
 * true count).  fdinfo is read twice around that; a timer that expires in
 * between is read again.  An absolute timer's expiry is the clock's time
 * at the read plus what was left (the clock read before and after).
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/timerfd.h>

#define LOG_PREFIX "timerfd: "
#include "log.h"
#include "dump/dump.h"

#define TIMERFD_TRIES 10
#define NSEC 1000000000ULL
#define KTIME_MAX ((1ULL << 63) - 1) /* the kernel clamps every expiry to it */

struct tfd_info {
	uint64_t clockid, ticks, flags, value_ns, interval_ns;
};

static bool is_timerfd(const struct fd_probe *p)
{
	return !strcmp(p->link, "anon_inode:[timerfd]");
}

/* The text after "KEY:" and blanks in fdinfo text, or NULL. */
static const char *field(const char *text, const char *key)
{
	size_t klen = strlen(key);
	const char *l;

	for (l = text; l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
		if (!strncmp(l, key, klen) && l[klen] == ':') {
			l += klen + 1;
			while (*l == ' ' || *l == '\t')
				l++;
			return l;
		}
	return NULL;
}

/* One decimal (base 8 if octal) number at s ending in end.  0/-EINVAL. */
static int number(const char *s, int base, const char *stop, uint64_t *v, const char **after)
{
	char *end;

	if (!s || !isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	*v = strtoull(s, &end, base);
	if (errno || !strchr(stop, *end))
		return -EINVAL;
	*after = end;
	return 0;
}

/* "(SEC, NSEC)" at s as nanoseconds (at most KTIME_MAX).  0/-EINVAL. */
static int timespec_ns(const char *s, uint64_t *ns)
{
	uint64_t sec, nsec;

	if (!s || *s++ != '(' || number(s, 10, ",", &sec, &s) || *++s != ' ' ||
	    number(s + 1, 10, ")", &nsec, &s) || (s[1] != '\n' && s[1]))
		return -EINVAL;
	if (nsec >= NSEC || sec > KTIME_MAX / NSEC || sec * NSEC > KTIME_MAX - nsec)
		return -EINVAL;
	*ns = sec * NSEC + nsec;
	return 0;
}

/* fdinfo text of a timerfd into *t.  0 or -EINVAL (hostile text). */
static int parse_timerfd(const char *text, struct tfd_info *t)
{
	const char *s;

	if (number(field(text, "clockid"), 10, "\n", &t->clockid, &s) ||
	    number(field(text, "ticks"), 10, "\n", &t->ticks, &s) ||
	    number(field(text, "settime flags"), 8, "\n", &t->flags, &s) ||
	    timespec_ns(field(text, "it_value"), &t->value_ns) ||
	    timespec_ns(field(text, "it_interval"), &t->interval_ns))
		return -EINVAL;
	return 0;
}

static uint64_t now_ns(clockid_t c)
{
	struct timespec ts;

	clock_gettime(c, &ts);
	return ts.tv_sec * NSEC + ts.tv_nsec;
}

/* The clock an absolute expiry of clockid is measured on. */
static clockid_t base_clock(uint64_t clockid)
{
	if (clockid == CLOCK_REALTIME_ALARM)
		return CLOCK_REALTIME;
	if (clockid == CLOCK_BOOTTIME_ALARM)
		return CLOCK_BOOTTIME;
	return (clockid_t)clockid;
}

/* fdinfo of our copy fd of p's timer into *t.  0 or -errno (logged). */
static int read_fdinfo(const struct fd_probe *p, int fd, struct tfd_info *t)
{
	char name[48], *text;
	int ret;

	snprintf(name, sizeof(name), "fdinfo/%d", fd);
	ret = proc_read_file(0, name, &text, NULL);
	if (ret) {
		pr_err("pid %d fd %d: timerfd: cannot read our copy's fdinfo\n", p->pid, p->fd);
		return ret;
	}
	ret = parse_timerfd(text, t);
	free(text);
	if (ret || t->clockid > CLOCK_BOOTTIME_ALARM || t->flags > 3) {
		pr_err("pid %d fd %d: timerfd: malformed fdinfo\n", p->pid, p->fd);
		return -EINVAL;
	}
	return 0;
}

/*
 * Reads the timer behind our copy fd: fdinfo (a), gettime (see the head
 * comment), the clock, fdinfo (b, the state kept), the clock, fdinfo (c);
 * again while it expired in between.  A timer with a period and no time
 * left in b is disarmed (settime with a zero value keeps the period) when
 * no expiry came since a; else it expired after gettime.
 */
static int read_timerfd(const struct fd_probe *p, int fd, struct tfd_info *t)
{
	struct tfd_info a, c;
	struct itimerspec its;
	uint64_t t0, t1;
	int i, ret;

	for (i = 0; i < TIMERFD_TRIES; i++) {
		ret = read_fdinfo(p, fd, &a);
		if (!ret && timerfd_gettime(fd, &its)) {
			pr_perror("pid %d fd %d: timerfd_gettime", p->pid, p->fd);
			return -errno;
		}
		t0 = now_ns(base_clock(a.clockid));
		ret = ret ?: read_fdinfo(p, fd, t);
		t1 = now_ns(base_clock(a.clockid));
		ret = ret ?: read_fdinfo(p, fd, &c);
		if (ret)
			return ret;
		if (c.ticks != t->ticks || c.value_ns > t->value_ns)
			continue; /* expired while b was printed */
		if (t->interval_ns && !t->value_ns && t->ticks != a.ticks)
			continue; /* expired after gettime: not re-armed yet */
		if (t->value_ns && (t->flags & TFD_TIMER_ABSTIME)) {
			t0 += (t1 - t0) / 2;
			t->value_ns = t->value_ns > KTIME_MAX - t0 ? KTIME_MAX : t->value_ns + t0;
		}
		return 0;
	}
	pr_err("pid %d fd %d: timerfd keeps expiring while it is read (period %llu ns): "
	       "not supported\n",
	       p->pid, p->fd, (unsigned long long)t->interval_ns);
	return -EOPNOTSUPP;
}

/* The state of timerfd p.  0 or -errno (logged). */
static int dump_timerfd(struct dump_op *op, struct fd_probe *p, struct dump_file *df)
{
	struct tfd_info t;
	TimerfdEntry *e;
	int ret;

	df->e.kind = FILE_KIND__FILE_TIMERFD;
	if (df->local_fd < 0) {
		pr_err("pid %d fd %d: timerfd: no copy of it could be taken (pidfd_getfd)\n",
		       p->pid, p->fd);
		return -EOPNOTSUPP;
	}
	ret = read_timerfd(p, df->local_fd, &t);
	if (ret)
		return ret;
	e = malloc(sizeof(*e));
	if (!e)
		return -ENOMEM;
	timerfd_entry__init(e);
	PB_SET(e, clockid, t.clockid);
	PB_SET(e, settime_flags, t.flags);
	PB_SET(e, ticks, t.ticks);
	PB_SET(e, value_ns, t.value_ns);
	PB_SET(e, interval_ns, t.interval_ns);
	df->sub = e;
	df->e.timerfd = e;
	return fd_set_path(df, p->link);
}

const struct dump_fd_kind dump_fd_timerfd = { "timerfd", is_timerfd, dump_timerfd, NULL };
