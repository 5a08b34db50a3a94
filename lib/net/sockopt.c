/*
 * Socket options shared by the socket kinds (sockopt.h).  Every value set
 * at restore is read back: a kernel that rounds or clamps it is a refusal
 * naming the option, never a silently different socket.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <linux/filter.h>
#include <net/if.h>

#define LOG_PREFIX "net/sockopt: "
#include "log.h"
#include "net/sockopt.h"
#include "util/pb.h"

#define FILTER_MAX_INSNS 4096 /* BPF_MAXINSNS */
#define TIMEO_MAX_US (1ULL << 53)

int net_get_int(int fd, int level, int name, int *v)
{
	int buf[4] = { 0 };
	socklen_t len = sizeof(int);

	/* SO_LINGER and a few others are structs: take their first int */
	if (level == SOL_SOCKET && name == SO_LINGER)
		len = sizeof(struct linger);
	if (getsockopt(fd, level, name, buf, &len))
		return -errno;
	*v = buf[0];
	return 0;
}

int net_get_us(int fd, int name, uint64_t *us)
{
	struct timeval tv = { 0, 0 };
	socklen_t len = sizeof(tv);

	if (getsockopt(fd, SOL_SOCKET, name, &tv, &len))
		return -errno;
	if (tv.tv_sec < 0 || tv.tv_usec < 0)
		return -EINVAL;
	*us = (uint64_t)tv.tv_sec * 1000000 + tv.tv_usec;
	return 0;
}

int net_set_int(int fd, int level, int name, const char *what, int v, int want, const char *who)
{
	int got = 0;
	socklen_t len = sizeof(got);

	errno = 0;
	if (setsockopt(fd, level, name, &v, sizeof(v)) || getsockopt(fd, level, name, &got, &len) ||
	    got != want) {
		pr_err("%s: cannot set %s to %d on this host (%s)\n", who, what, want,
		       errno ? strerror(errno) : "it reads back otherwise");
		return -EOPNOTSUPP;
	}
	return 0;
}

int net_set_us(int fd, int name, const char *what, uint64_t us, const char *who)
{
	struct timeval tv = { .tv_sec = us / 1000000, .tv_usec = us % 1000000 }, got = { 0, 0 };
	socklen_t len = sizeof(got);

	if (!us)
		return 0;
	if (setsockopt(fd, SOL_SOCKET, name, &tv, sizeof(tv)) ||
	    getsockopt(fd, SOL_SOCKET, name, &got, &len) || got.tv_sec != tv.tv_sec ||
	    got.tv_usec != tv.tv_usec) {
		pr_err("%s: cannot set %s to %llu us on this host\n", who, what,
		       (unsigned long long)us);
		return -EOPNOTSUPP;
	}
	return 0;
}

int net_set_buf(int fd, int name, uint32_t want, const char *who)
{
	int force = name == SO_RCVBUF ? SO_RCVBUFFORCE : SO_SNDBUFFORCE;
	const char *what = name == SO_RCVBUF ? "SO_RCVBUF" : "SO_SNDBUF";
	int got = 0, v = want / 2;
	socklen_t len = sizeof(got);

	if (!getsockopt(fd, SOL_SOCKET, name, &got, &len) && got == (int)want)
		return 0;
	if (!setsockopt(fd, SOL_SOCKET, name, &v, sizeof(v)) &&
	    !getsockopt(fd, SOL_SOCKET, name, &got, &len) && got == (int)want)
		return 0;
	/* the FORCE twin cannot be read: read back through name */
	errno = 0;
	if (!setsockopt(fd, SOL_SOCKET, force, &v, sizeof(v)) &&
	    !getsockopt(fd, SOL_SOCKET, name, &got, &len) && got == (int)want)
		return 0;
	pr_err("%s: cannot set %s to %u on this host (%s)\n", who, what, want,
	       errno ? strerror(errno) : "it reads back otherwise");
	return -EOPNOTSUPP;
}

int net_check_fixed(int fd, const struct net_fixed_opt *opts, size_t n, const char *who)
{
	size_t i;
	int v, ret;

	for (i = 0; i < n; i++) {
		ret = net_get_int(fd, opts[i].level, opts[i].name, &v);
		if (ret == -ENOPROTOOPT || ret == -EOPNOTSUPP)
			continue; /* not known to this kernel or kind: at its default */
		if (ret) {
			pr_err("%s: getsockopt %s: %s\n", who, opts[i].what, strerror(-ret));
			return ret;
		}
		if (v != opts[i].dflt) {
			pr_err("%s: socket option %s is %d: only its default %d is supported\n",
			       who, opts[i].what, v, opts[i].dflt);
			return -EOPNOTSUPP;
		}
	}
	return 0;
}

int net_filter_len(int fd)
{
	socklen_t len = 0;

	return getsockopt(fd, SOL_SOCKET, SO_GET_FILTER, NULL, &len) ? -errno : (int)len;
}

int net_filter_read(int fd, void *buf, int n)
{
	socklen_t len = n;

	if (!n)
		return 0;
	if (getsockopt(fd, SOL_SOCKET, SO_GET_FILTER, buf, &len))
		return -errno;
	return (int)len == n ? 0 : -EIO;
}

int net_filter_attach(int fd, const void *insns, size_t len, bool lock, const char *who)
{
	struct sock_fprog prog = { .len = len / sizeof(struct sock_filter),
				   .filter = (struct sock_filter *)insns };

	if (len && setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog))) {
		pr_err("%s: the kernel refuses its socket filter: %s\n", who, strerror(errno));
		return -EOPNOTSUPP;
	}
	if (lock)
		return net_set_int(fd, SOL_SOCKET, SO_LOCK_FILTER, "SO_LOCK_FILTER", 1, 1, who);
	return 0;
}

/* SOL_SOCKET options sk_opts does not carry: refused unless at their default. */
static const struct net_fixed_opt inet_fixed[] = {
	{ SOL_SOCKET, SO_DEBUG, "SO_DEBUG", 0 },
	{ SOL_SOCKET, SO_TIMESTAMPING_OLD, "SO_TIMESTAMPING", 0 },
	{ SOL_SOCKET, SO_RXQ_OVFL, "SO_RXQ_OVFL", 0 },
	{ SOL_SOCKET, SO_WIFI_STATUS, "SO_WIFI_STATUS", 0 },
	{ SOL_SOCKET, SO_SELECT_ERR_QUEUE, "SO_SELECT_ERR_QUEUE", 0 },
	{ SOL_SOCKET, SO_BUSY_POLL, "SO_BUSY_POLL", 0 },
	{ SOL_SOCKET, SO_ZEROCOPY, "SO_ZEROCOPY", 0 },
	{ SOL_SOCKET, SO_RCVMARK, "SO_RCVMARK", 0 },
	{ SOL_SOCKET, SO_PASSCRED, "SO_PASSCRED", 0 },
	{ SOL_SOCKET, SO_PASSSEC, "SO_PASSSEC", 0 },
};

/* Sets *field and *has when v differs from dflt. */
#define TAKE(o, field, v, dflt)                \
	do {                                   \
		if ((v) != (dflt))             \
			PB_SET(o, field, (v)); \
	} while (0)

/* The boolean and int options into o.  0 or -errno. */
static int read_ints(int fd, SkOpts *o)
{
	static const int names[] = { SO_REUSEADDR,   SO_REUSEPORT,     SO_KEEPALIVE,
				     SO_PRIORITY,    SO_MARK,	       SO_RCVLOWAT,
				     SO_BROADCAST,   SO_DONTROUTE,     SO_OOBINLINE,
				     SO_LOCK_FILTER, SO_TIMESTAMP_OLD, SO_TIMESTAMPNS_OLD };
	int v[sizeof(names) / sizeof(names[0])];
	size_t i;
	int ret;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		ret = net_get_int(fd, SOL_SOCKET, names[i], &v[i]);
		if (ret)
			return ret;
	}
	TAKE(o, reuseaddr, !!v[0], 0);
	TAKE(o, reuseport, !!v[1], 0);
	TAKE(o, keepalive, !!v[2], 0);
	TAKE(o, priority, (uint32_t)v[3], 0u);
	TAKE(o, mark, (uint32_t)v[4], 0u);
	TAKE(o, rcvlowat, v[5], 1);
	TAKE(o, broadcast, !!v[6], 0);
	TAKE(o, dontroute, !!v[7], 0);
	TAKE(o, oobinline, !!v[8], 0);
	TAKE(o, filter_locked, !!v[9], 0);
	TAKE(o, timestamp, !!v[10], 0);
	TAKE(o, timestampns, !!v[11], 0);
	return 0;
}

/* Timeouts, linger, device and buffer sizes into o.  0 or -errno. */
static int read_rest(int fd, SkOpts *o, bool sndbuf_set, bool rcvbuf_set)
{
	struct linger lg = { 0, 0 };
	socklen_t len = sizeof(lg);
	char dev[IFNAMSIZ + 1] = "";
	uint64_t rcv_us = 0, snd_us = 0;
	int snd = 0, rcv = 0, ret;

	ret = net_get_us(fd, SO_RCVTIMEO_OLD, &rcv_us) ?: net_get_us(fd, SO_SNDTIMEO_OLD, &snd_us);
	ret = ret ?: net_get_int(fd, SOL_SOCKET, SO_SNDBUF, &snd);
	ret = ret ?: net_get_int(fd, SOL_SOCKET, SO_RCVBUF, &rcv);
	if (ret)
		return ret;
	if (getsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, &len))
		return -errno;
	len = IFNAMSIZ;
	if (getsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, dev, &len))
		return -errno;
	TAKE(o, rcvtimeo_us, rcv_us, 0u);
	TAKE(o, sndtimeo_us, snd_us, 0u);
	if (lg.l_onoff)
		PB_SET(o, linger_s, (uint32_t)lg.l_linger);
	if (sndbuf_set)
		PB_SET(o, sndbuf, (uint32_t)snd);
	if (rcvbuf_set)
		PB_SET(o, rcvbuf, (uint32_t)rcv);
	if (len > 0 && dev[0]) {
		dev[len < IFNAMSIZ ? len : IFNAMSIZ] = '\0';
		o->bindtodevice = strdup(dev);
		if (!o->bindtodevice)
			return -ENOMEM;
	}
	return 0;
}

/* The classic filter into o (allocated).  0 or -errno (logged). */
static int read_filter(int fd, SkOpts *o, const char *who)
{
	int n = net_filter_len(fd), ret;

	if (n == -EACCES) {
		pr_err("%s: an eBPF socket filter is attached: not supported\n", who);
		return -EOPNOTSUPP;
	}
	if (n < 0 || n > FILTER_MAX_INSNS) {
		pr_err("%s: cannot read its socket filter\n", who);
		return n < 0 ? n : -EIO;
	}
	if (!n)
		return 0;
	o->filter.data = malloc((size_t)n * sizeof(struct sock_filter));
	if (!o->filter.data)
		return -ENOMEM;
	ret = net_filter_read(fd, o->filter.data, n);
	if (ret) {
		pr_err("%s: cannot read its socket filter: %s\n", who, strerror(-ret));
		return ret;
	}
	o->filter.len = (size_t)n * sizeof(struct sock_filter);
	o->has_filter = 1;
	return 0;
}

int net_skopts_read(int fd, SkOpts *o, bool sndbuf_set, bool rcvbuf_set, const char *who)
{
	int ret;

	ret = net_check_fixed(fd, inet_fixed, sizeof(inet_fixed) / sizeof(inet_fixed[0]), who);
	if (ret)
		return ret;
	ret = read_ints(fd, o) ?: read_rest(fd, o, sndbuf_set, rcvbuf_set);
	if (ret) {
		pr_err("%s: cannot read its socket options: %s\n", who, strerror(-ret));
		return ret;
	}
	return read_filter(fd, o, who);
}

void net_skopts_free(SkOpts *o)
{
	free(o->bindtodevice);
	o->bindtodevice = NULL;
	free(o->filter.data);
	o->filter.data = NULL;
	o->filter.len = 0;
	o->has_filter = 0;
}

int net_skopts_check(const SkOpts *o, const char *who)
{
	const char *bad = NULL;

	if (o->has_rcvtimeo_us && o->rcvtimeo_us >= TIMEO_MAX_US)
		bad = "SO_RCVTIMEO";
	else if (o->has_sndtimeo_us && o->sndtimeo_us >= TIMEO_MAX_US)
		bad = "SO_SNDTIMEO";
	else if (o->has_rcvlowat && o->rcvlowat < 1)
		bad = "SO_RCVLOWAT";
	else if (o->has_linger_s && o->linger_s > INT32_MAX)
		bad = "SO_LINGER";
	else if ((o->has_sndbuf && (o->sndbuf < 2 || o->sndbuf > INT32_MAX)) ||
		 (o->has_rcvbuf && (o->rcvbuf < 2 || o->rcvbuf > INT32_MAX)))
		bad = "a buffer size";
	else if (o->bindtodevice && (!o->bindtodevice[0] || strlen(o->bindtodevice) >= IFNAMSIZ ||
				     strchr(o->bindtodevice, '/')))
		bad = "SO_BINDTODEVICE";
	else if (o->has_filter && (!o->filter.len || o->filter.len % sizeof(struct sock_filter) ||
				   o->filter.len > FILTER_MAX_INSNS * sizeof(struct sock_filter)))
		bad = "the socket filter";
	else if (o->filter_locked && !o->has_filter)
		bad = "SO_LOCK_FILTER without a filter";
	if (bad) {
		pr_err("image: %s: %s out of range\n", who, bad);
		return -EBADMSG;
	}
	return 0;
}

int net_set_ints(int fd, const struct net_int_set *opts, size_t n, const char *who)
{
	size_t i;
	int ret;

	for (i = 0; i < n; i++) {
		if (!opts[i].on)
			continue;
		ret = net_set_int(fd, opts[i].level, opts[i].name, opts[i].what, opts[i].v,
				  opts[i].v, who);
		if (ret)
			return ret;
	}
	return 0;
}

/* The bool and int options of o that differ from a new socket's. */
static int apply_ints(int fd, const SkOpts *o, const char *who)
{
	const struct net_int_set opts[] = {
		{ SOL_SOCKET, SO_REUSEADDR, "SO_REUSEADDR", o->reuseaddr, 1 },
		{ SOL_SOCKET, SO_REUSEPORT, "SO_REUSEPORT", o->reuseport, 1 },
		{ SOL_SOCKET, SO_KEEPALIVE, "SO_KEEPALIVE", o->keepalive, 1 },
		{ SOL_SOCKET, SO_BROADCAST, "SO_BROADCAST", o->broadcast, 1 },
		{ SOL_SOCKET, SO_DONTROUTE, "SO_DONTROUTE", o->dontroute, 1 },
		{ SOL_SOCKET, SO_OOBINLINE, "SO_OOBINLINE", o->oobinline, 1 },
		{ SOL_SOCKET, SO_TIMESTAMP_OLD, "SO_TIMESTAMP", o->timestamp, 1 },
		{ SOL_SOCKET, SO_TIMESTAMPNS_OLD, "SO_TIMESTAMPNS", o->timestampns, 1 },
		{ SOL_SOCKET, SO_PRIORITY, "SO_PRIORITY", o->has_priority, (int)o->priority },
		{ SOL_SOCKET, SO_MARK, "SO_MARK", o->has_mark, (int)o->mark },
		{ SOL_SOCKET, SO_RCVLOWAT, "SO_RCVLOWAT", o->has_rcvlowat, o->rcvlowat },
	};

	return net_set_ints(fd, opts, sizeof(opts) / sizeof(opts[0]), who);
}

int net_skopts_apply(int fd, const SkOpts *o, const char *who)
{
	struct linger lg = { 1, (int)o->linger_s };
	int ret;

	ret = apply_ints(fd, o, who);
	ret = ret ?: net_set_us(fd, SO_RCVTIMEO_OLD, "SO_RCVTIMEO", o->rcvtimeo_us, who);
	ret = ret ?: net_set_us(fd, SO_SNDTIMEO_OLD, "SO_SNDTIMEO", o->sndtimeo_us, who);
	if (!ret && o->has_sndbuf)
		ret = net_set_buf(fd, SO_SNDBUF, o->sndbuf, who);
	if (!ret && o->has_rcvbuf)
		ret = net_set_buf(fd, SO_RCVBUF, o->rcvbuf, who);
	if (ret)
		return ret;
	if (o->has_linger_s && setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg))) {
		pr_perror("%s: cannot set SO_LINGER", who);
		return -errno;
	}
	if (o->bindtodevice &&
	    setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, o->bindtodevice, strlen(o->bindtodevice))) {
		pr_err("%s: cannot bind it to device %s: %s\n", who, o->bindtodevice,
		       errno == ENODEV ? "no such interface here" : strerror(errno));
		return -errno;
	}
	if (o->has_filter || o->filter_locked)
		return net_filter_attach(fd, o->filter.data, o->filter.len, o->filter_locked, who);
	return 0;
}
