/*
 * Record LIMITS checked by itself, and the tree's time namespace: when the
 * tree ran in one of its own, we unshare a new one for our children before
 * the root is cloned, with offsets such that CLOCK_MONOTONIC and
 * CLOCK_BOOTTIME inside go on from the values the dump saw (offset = the
 * image's clock - this host's clock now), however long ago and on
 * whatever boot the dump was.  Every task of the tree is forked by the
 * root or below it, so all of them are in it.  The namespace goes with its
 * last task: a failed restore leaves nothing.  A context image keeps its
 * clocks in CONTEXT (VIRT_UPTIME, ctx.c); a LIMITS time namespace in one
 * is refused.
 */
#define LOG_PREFIX "restore/timens: "
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "util/timens.h"
#include "restore/restore.h"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

/* Clocks beyond this (about 146 years) are not a real uptime. */
#define TIMENS_MAX_NS (1LL << 62)

/* Image check row (check.c): at most one LIMITS, clocks in range, settings. */
int limits_check_image(const struct rst_image *img)
{
	const LimitsEntry *l;

	if (!img->recs.n_limits)
		return 0;
	if (img->recs.n_limits > 1) {
		pr_err("image: %zu LIMITS records, at most one\n", img->recs.n_limits);
		return -EBADMSG;
	}
	l = img->recs.limits[0];
	if (l->timens && (img->ctxe || !l->has_monotonic_ns || !l->has_boottime_ns ||
			  l->monotonic_ns < 0 || l->monotonic_ns > TIMENS_MAX_NS ||
			  l->boottime_ns < 0 || l->boottime_ns > TIMENS_MAX_NS)) {
		pr_err("image: LIMITS: the time namespace's clocks are missing or out of range%s\n",
		       img->ctxe ? " (a context's are in CONTEXT)" : "");
		return -EBADMSG;
	}
	if (!l->timens && (l->has_monotonic_ns || l->has_boottime_ns)) {
		pr_err("image: LIMITS: clocks without a time namespace\n");
		return -EBADMSG;
	}
	return cgroup_check_settings(img);
}

static int64_t clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Before the root is cloned: its time namespace, if it had one.  0 or -errno (logged). */
int rst_timens_enter(struct rst_image *img)
{
	const LimitsEntry *l = img->recs.n_limits ? img->recs.limits[0] : NULL;
	int64_t mono, boot;
	int ret;

	if (!l || !l->timens)
		return 0;
	mono = l->monotonic_ns - clock_ns(CLOCK_MONOTONIC);
	boot = l->boottime_ns - clock_ns(CLOCK_BOOTTIME);
	ret = timens_unshare(mono, boot);
	if (ret)
		pr_err("cannot make the tree's time namespace (offsets %lld, %lld ns): %s\n",
		       (long long)mono, (long long)boot, strerror(-ret));
	else
		pr_debug("time namespace: offsets monotonic %lld ns, boottime %lld ns\n",
			 (long long)mono, (long long)boot);
	return ret;
}
