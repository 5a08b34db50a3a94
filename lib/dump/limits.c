/*
 * Record LIMITS: the controller settings of the tree's groups (collected
 * by cgroup.c for the groups of the CGROUP record) and, when the tree runs
 * in a time namespace other than ours, the clocks inside at the dump, so
 * that the restore can make a time namespace whose CLOCK_MONOTONIC and
 * CLOCK_BOOTTIME go on from there (restore/timens.c).  Every live process
 * must be in the root's time namespace, and the root's children must get
 * it too (time_for_children): one namespace is what comes back.  A whole
 * context carries its clocks in CONTEXT (VIRT_UPTIME): not recorded here.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>

#define LOG_PREFIX "dump/limits: "
#include "log.h"
#include "dump/dump.h"
#include "img/img.h"
#include "img/records.h"

/* /proc/PID/ns/NAME (pid 0: ourselves) as st.  0 or -errno. */
static int ns_stat(pid_t pid, const char *name, struct stat *st)
{
	char path[64];

	if (pid)
		snprintf(path, sizeof(path), "/proc/%d/ns/%s", pid, name);
	else
		snprintf(path, sizeof(path), "/proc/self/ns/%s", name);
	return stat(path, st) ? -errno : 0;
}

static bool same_ns(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino;
}

/* The offsets of pid's time namespace (0: ours), ns.  0 or -errno. */
static int offsets(pid_t pid, int64_t *mono, int64_t *boot)
{
	char path[64], *text = NULL, *p;
	long long sec, nsec;
	int ret;

	snprintf(path, sizeof(path), pid ? "/proc/%d/timens_offsets" : "/proc/self/timens_offsets",
		 pid);
	ret = proc_read_path(path, &text, NULL);
	if (ret)
		return ret;
	*mono = *boot = 0;
	ret = -EINVAL;
	if ((p = strstr(text, "monotonic")) && sscanf(p, "monotonic %lld %lld", &sec, &nsec) == 2) {
		*mono = sec * 1000000000LL + nsec;
		ret = 0;
	}
	if ((p = strstr(text, "boottime")) && sscanf(p, "boottime %lld %lld", &sec, &nsec) == 2)
		*boot = sec * 1000000000LL + nsec;
	else
		ret = -EINVAL;
	free(text);
	return ret;
}

static int64_t clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Every live process in the root's time namespace, its children's too. */
static int check_members(struct dump_op *op, const struct stat *root_ns)
{
	struct stat st;
	size_t i;
	int ret;

	ret = ns_stat(op->root->pid, "time_for_children", &st);
	if (!ret && !same_ns(&st, root_ns)) {
		pr_err("pid %d: its children get another time namespace than its own (unshare -T "
		       "without a fork): not supported\n",
		       op->root->pid);
		return -EOPNOTSUPP;
	}
	for (i = 1; !ret && i < op->n_tasks; i++) {
		const struct dump_task *t = op->tasks[i];

		if (t->zombie)
			continue;
		ret = ns_stat(t->pid, "time", &st);
		if (!ret && !same_ns(&st, root_ns)) {
			pr_err("pid %d is in another time namespace than the root %d: not "
			       "supported\n",
			       t->pid, op->root->pid);
			return -EOPNOTSUPP;
		}
	}
	if (ret)
		pr_err("cannot read a time namespace of the tree: %s\n", strerror(-ret));
	return ret;
}

/*
 * Image collector: the tree's time namespace.  Ours: nothing.  Another:
 * its clocks now (ours minus our offsets plus its offsets).  0, or a
 * refusal (-EOPNOTSUPP, logged), or -errno.
 */
int timens_collect(struct dump_op *op)
{
	struct stat ours, root_ns;
	int64_t om, ob, tm, tb;
	int ret;

	if (op->ctxe) /* VIRT_UPTIME: the CONTEXT record has them */
		return 0;
	ret = ns_stat(0, "time", &ours) ?: ns_stat(op->root->pid, "time", &root_ns);
	if (ret == -ENOENT)
		return 0; /* no CONFIG_TIME_NS: one time for all */
	if (ret) {
		pr_err("pid %d: cannot read its time namespace: %s\n", op->root->pid,
		       strerror(-ret));
		return ret;
	}
	ret = check_members(op, &root_ns);
	if (ret || same_ns(&ours, &root_ns))
		return ret;
	ret = offsets(0, &om, &ob) ?: offsets(op->root->pid, &tm, &tb);
	if (ret) {
		pr_err("pid %d: cannot read the offsets of its time namespace: %s\n", op->root->pid,
		       strerror(-ret));
		return ret;
	}
	op->timens = calloc(1, sizeof(*op->timens));
	if (!op->timens)
		return -ENOMEM;
	limits_entry__init(op->timens);
	PB_SET(op->timens, timens, true);
	PB_SET(op->timens, monotonic_ns, clock_ns(CLOCK_MONOTONIC) - om + tm);
	PB_SET(op->timens, boottime_ns, clock_ns(CLOCK_BOOTTIME) - ob + tb);
	pr_debug("pid %d: time namespace, monotonic %lld ns, boottime %lld ns inside\n",
		 op->root->pid, (long long)op->timens->monotonic_ns,
		 (long long)op->timens->boottime_ns);
	return 0;
}

/* The LIMITS record, if there are settings or a time namespace. */
int write_limits(struct dump_op *op)
{
	LimitsEntry e = LIMITS_ENTRY__INIT;
	struct cg_settings v;
	int ret;

	ret = cgroup_settings(op, &v);
	if (ret)
		return ret;
	if (op->timens)
		e = *op->timens;
	e.settings = v.e;
	e.n_settings = v.n;
	if (v.n || e.timens) {
		ret = img_write_msg(op->w, IMG_REC_LIMITS, &e.base);
		if (ret)
			pr_err("cannot write the limits record: %s\n", strerror(-ret));
	}
	cgroup_settings_free(&v);
	return ret;
}

void timens_free(struct dump_op *op)
{
	free(op->timens);
	op->timens = NULL;
}
