/*
 * timerfd: timerfds restored with their clock, times, flags and unread
 * expirations.
 *
 *   rate  MONOTONIC, relative, every 100 ms, blocking: after "go" it
 *         keeps its period (timerfd_gettime) and keeps firing at that
 *         rate: over 1.5 s measured on CLOCK_MONOTONIC, the expirations
 *         read are the elapsed time / 100 ms, +-1
 *   once  BOOTTIME, relative one-shot of 50 ms, expired before "ready"
 *         and not read: reads 1 after restore, then is disarmed (EAGAIN)
 *   ticks MONOTONIC, disarmed, given 1234 unread expirations by
 *         TFD_IOC_SET_TICKS: reads 1234 after restore
 *   slow  REALTIME, relative, first expiry in 50 ms then every hour,
 *         expired once before "ready": reads 1 after restore, and its next
 *         expiry is within the hour
 *   abs   REALTIME, TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET, at a
 *         fixed absolute time an hour ahead: same absolute expiry (+-50 ms)
 *         and fdinfo "settime flags: 03"
 *   mabs  MONOTONIC, TFD_TIMER_ABSTIME, at a fixed time 2 hours ahead
 *         with a 10 s period: same absolute expiry (+-50 ms) and period
 *   alarm REALTIME_ALARM, relative, 3 hours (root has CAP_WAKE_ALARM
 *         here): fdinfo "clockid: 8", time left within 3 hours
 *   off   MONOTONIC, disarmed, with a period of 7 s (settime with a zero
 *         value keeps it): still disarmed, period 7 s, O_NONBLOCK
 *   never MONOTONIC, TFD_TIMER_ABSTIME at tv_sec LONG_MAX (the kernel
 *         clamps it to KTIME_MAX): still more than 200 years away
 */
#include <stdbool.h>
#include <sys/ioctl.h>
#include <sys/timerfd.h>
#include <time.h>
#include "prog.h"

#ifndef TFD_IOC_SET_TICKS
#define TFD_IOC_SET_TICKS _IOW('T', 0, uint64_t)
#endif
#define MS 1000000LL
#define SEC 1000000000LL

static int rate, once, ticks, slow, abs_t, mabs, alarm_t, off, never;
static int64_t abs_at, mabs_at;

static int64_t ns_of(struct timespec ts)
{
	return ts.tv_sec * SEC + ts.tv_nsec;
}

static struct timespec ts_of(int64_t ns)
{
	return (struct timespec){ .tv_sec = ns / SEC, .tv_nsec = ns % SEC };
}

static int64_t now(clockid_t c)
{
	struct timespec ts;

	clock_gettime(c, &ts);
	return ns_of(ts);
}

static int make(clockid_t c, int flags, int tflags, int64_t value, int64_t interval)
{
	struct itimerspec its = { ts_of(interval), ts_of(value) };
	int fd = timerfd_create(c, flags);

	if (fd < 0)
		prog_fail("timerfd_create(%d): %s", (int)c, strerror(errno));
	if (timerfd_settime(fd, tflags, &its, NULL))
		prog_fail("timerfd_settime(%d): %s", (int)c, strerror(errno));
	return fd;
}

/* A timer at the end of time (timespec seconds cannot be made from ns here). */
static int make_never(void)
{
	struct itimerspec far = { { 0, 0 }, { INT64_MAX, 0 } };
	int fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK);

	if (fd < 0 || timerfd_settime(fd, TFD_TIMER_ABSTIME, &far, NULL))
		prog_fail("never: %s", strerror(errno));
	return fd;
}

/* Expirations read from fd (0 with errno on failure). */
static uint64_t take(int fd)
{
	uint64_t v = 0;

	if (read(fd, &v, sizeof(v)) != sizeof(v))
		return 0;
	return v;
}

static struct itimerspec get(int fd)
{
	struct itimerspec its;

	memset(&its, 0, sizeof(its));
	timerfd_gettime(fd, &its);
	return its;
}

/* Does fd's fdinfo have line LINE? */
static bool fdinfo_has(int fd, const char *line)
{
	char path[64], buf[1024];

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	return prog_read_file(path, buf, sizeof(buf)) > 0 && strstr(buf, line);
}

static void check_rate(void)
{
	struct itimerspec its = get(rate);
	int64_t t0, t1;
	uint64_t n, want;

	CHECK(ns_of(its.it_interval) == 100 * MS, "rate: period %lld ns, not 100 ms",
	      (long long)ns_of(its.it_interval));
	take(rate); /* whatever went by since the restore */
	t0 = now(CLOCK_MONOTONIC);
	usleep(1500000);
	n = take(rate);
	t1 = now(CLOCK_MONOTONIC);
	want = (t1 - t0) / (100 * MS);
	CHECK(n + 1 >= want && n <= want + 1, "rate: %llu expirations in %lld ms, expected %llu",
	      (unsigned long long)n, (long long)(t1 - t0) / MS, (unsigned long long)want);
}

static void check_abs(int fd, const char *name, clockid_t c, int64_t at)
{
	int64_t left = ns_of(get(fd).it_value), got = now(c) + left;

	CHECK(left > 0 && got - at < 50 * MS && at - got < 50 * MS,
	      "%s: expires at %lld, not %lld (absolute)", name, (long long)got, (long long)at);
}

static void check_rest(void)
{
	struct itimerspec its;

	CHECK(take(once) == 1, "once: its unread expiration is lost");
	CHECK(take(once) == 0 && errno == EAGAIN, "once: a second read does not fail with EAGAIN");
	CHECK(take(ticks) == 1234, "ticks: the 1234 unread expirations are lost");
	CHECK(take(slow) == 1, "slow: its unread expiration is lost");
	its = get(slow);
	CHECK(ns_of(its.it_interval) == 3600 * SEC && ns_of(its.it_value) > 0 &&
		      ns_of(its.it_value) <= 3600 * SEC,
	      "slow: period %lld ns, next in %lld ns", (long long)ns_of(its.it_interval),
	      (long long)ns_of(its.it_value));
	check_abs(abs_t, "abs", CLOCK_REALTIME, abs_at);
	CHECK(fdinfo_has(abs_t, "settime flags: 03\n"), "abs: settime flags are not 03");
	check_abs(mabs, "mabs", CLOCK_MONOTONIC, mabs_at);
	CHECK(ns_of(get(mabs).it_interval) == 10 * SEC, "mabs: period lost");
	CHECK(fdinfo_has(mabs, "settime flags: 01\n"), "mabs: settime flags are not 01");
	CHECK(fdinfo_has(alarm_t, "clockid: 8\n"), "alarm: not on CLOCK_REALTIME_ALARM");
	its = get(alarm_t);
	CHECK(ns_of(its.it_value) > 0 && ns_of(its.it_value) <= 3 * 3600 * SEC,
	      "alarm: %lld ns left", (long long)ns_of(its.it_value));
	its = get(off);
	CHECK(!ns_of(its.it_value) && ns_of(its.it_interval) == 7 * SEC,
	      "off: armed (%lld ns) or period %lld ns", (long long)ns_of(its.it_value),
	      (long long)ns_of(its.it_interval));
	CHECK(fcntl(off, F_GETFL) & O_NONBLOCK, "off: O_NONBLOCK lost");
	CHECK(!(fcntl(rate, F_GETFL) & O_NONBLOCK), "rate: O_NONBLOCK set after restore");
	CHECK(fdinfo_has(once, "clockid: 7\n"), "once: not on CLOCK_BOOTTIME");
	its = get(never);
	CHECK(its.it_value.tv_sec > 200LL * 365 * 86400, "never: expires in %lld s",
	      (long long)its.it_value.tv_sec);
}

int main(int argc, char **argv)
{
	uint64_t v = 1234;

	prog_init(argc, argv, "timerfd");
	rate = make(CLOCK_MONOTONIC, 0, 0, 100 * MS, 100 * MS);
	once = make(CLOCK_BOOTTIME, TFD_NONBLOCK, 0, 50 * MS, 0);
	ticks = make(CLOCK_MONOTONIC, TFD_NONBLOCK, 0, 0, 0);
	if (ioctl(ticks, TFD_IOC_SET_TICKS, &v))
		prog_fail("TFD_IOC_SET_TICKS: %s", strerror(errno));
	slow = make(CLOCK_REALTIME, TFD_NONBLOCK, 0, 50 * MS, 3600 * SEC);
	abs_at = (now(CLOCK_REALTIME) / SEC + 3600) * SEC + 123456789;
	abs_t = make(CLOCK_REALTIME, TFD_NONBLOCK, TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET,
		     abs_at, 0);
	mabs_at = (now(CLOCK_MONOTONIC) / SEC + 7200) * SEC + 987654321;
	mabs = make(CLOCK_MONOTONIC, TFD_NONBLOCK, TFD_TIMER_ABSTIME, mabs_at, 10 * SEC);
	alarm_t = make(CLOCK_REALTIME_ALARM, TFD_NONBLOCK, 0, 3 * 3600 * SEC, 0);
	off = make(CLOCK_MONOTONIC, TFD_NONBLOCK, 0, 0, 7 * SEC);
	never = make_never();
	usleep(200000); /* once and slow expire */
	prog_ready();
	prog_wait_go();

	check_rest();
	check_rate();
	prog_finish();
}
