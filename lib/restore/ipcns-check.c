/*
 * The IPCNS record checked as hostile (ipcns.c builds it only after
 * this): every count, size and id within what the kernel of the
 * namespace would accept, as the record's own sysctls set it and never
 * above the kernel's hard limits, names of POSIX queues without '/', and
 * the image's SysV segments (SYSV_SHM) within shmmni and shmmax.  Pure: no
 * system call (the fuzzer runs it).
 */
#define LOG_PREFIX "restore/ipcns: "
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "proc/proc.h"
#include "restore/ipcns.h"

/* The first integer of sysctl name in e, else dflt. */
static uint64_t limit(const IpcnsEntry *e, const char *name, unsigned field, uint64_t dflt)
{
	for (size_t i = 0; i < e->n_sysctls; i++) {
		const char *v = e->sysctls[i]->value;

		if (!e->sysctls[i]->name || strcmp(e->sysctls[i]->name, name) || !v)
			continue;
		for (unsigned f = 0; f < field && *v; f++)
			v += strcspn(v, " \t") + (v[strcspn(v, " \t")] ? 1 : 0);
		return *v ? strtoull(v, NULL, 10) : dflt;
	}
	return dflt;
}

static uint64_t min64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

void ipcns_limits(const IpcnsEntry *e, struct ipcns_limits *l)
{
	l->msgmax = min64(limit(e, "kernel/msgmax", 0, 8192), IPCNS_HARD_MSG);
	l->msgmni = min64(limit(e, "kernel/msgmni", 0, 32000), IPCNS_HARD_MNI);
	l->semmsl = min64(limit(e, "kernel/sem", 0, 32000), IPCNS_HARD_SEMMSL);
	l->semmni = min64(limit(e, "kernel/sem", 3, 32000), IPCNS_HARD_MNI);
	l->shmmni = min64(limit(e, "kernel/shmmni", 0, 4096), IPCNS_HARD_MNI);
	l->shmmax = min64(limit(e, "kernel/shmmax", 0, UINT64_MAX), IPCNS_HARD_SHM);
	l->queues_max = min64(limit(e, "fs/mqueue/queues_max", 0, 256), IPCNS_HARD_QUEUES);
}

static int check_sysctls(const IpcnsEntry *e)
{
	if (e->n_sysctls > 32) {
		pr_err("image: IPCNS: %zu sysctls\n", e->n_sysctls);
		return -EBADMSG;
	}
	for (size_t i = 0; i < e->n_sysctls; i++) {
		const IpcSysctl *s = e->sysctls[i];

		if (!proc_ipc_sysctl_known(s->name) || !proc_ipc_sysctl_value_ok(s->value)) {
			pr_err("image: IPCNS: sysctl %zu (%.64s) is not one of the IPC namespace's or "
			       "has a bad value\n",
			       i, s->name ? s->name : "?");
			return -EBADMSG;
		}
		for (size_t j = 0; j < i; j++)
			if (!strcmp(e->sysctls[j]->name, s->name)) {
				pr_err("image: IPCNS: sysctl %s twice\n", s->name);
				return -EBADMSG;
			}
	}
	return 0;
}

static int check_perm(const IpcPermEntry *p, const char *what, size_t i)
{
	if (!p || !p->has_id || p->id < 0 || (p->mode & ~0777u)) {
		pr_err("image: IPCNS: %s %zu has no id or a bad mode\n", what, i);
		return -EBADMSG;
	}
	return 0;
}

/* No two objects of one kind with the same id. */
static int check_ids(IpcPermEntry *const *p, size_t n, const char *what)
{
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < i; j++)
			if (p[i]->id == p[j]->id) {
				pr_err("image: IPCNS: %s id %d twice\n", what, p[i]->id);
				return -EBADMSG;
			}
	return 0;
}

static int check_msqs(const IpcnsEntry *e, const struct ipcns_limits *l, uint64_t *total)
{
	IpcPermEntry **ids = calloc(e->n_msqs + 1, sizeof(*ids));
	int ret = ids ? 0 : -ENOMEM;

	if (!ret && e->n_msqs > l->msgmni) {
		pr_err("image: IPCNS: %zu SysV queues, more than msgmni %llu\n", e->n_msqs,
		       (unsigned long long)l->msgmni);
		ret = -EBADMSG;
	}
	for (size_t i = 0; !ret && i < e->n_msqs; i++) {
		const IpcMsqEntry *q = e->msqs[i];
		uint64_t bytes = 0;

		ret = check_perm(q->perm, "SysV queue", i);
		if (!ret && (!q->qbytes || q->qbytes > IPCNS_HARD_MSG || q->n_msgs > q->qbytes)) {
			pr_err("image: IPCNS: SysV queue %zu: bad msg_qbytes or message count\n",
			       i);
			ret = -EBADMSG;
		}
		for (size_t m = 0; !ret && m < q->n_msgs; m++) {
			const IpcMsgEntry *msg = q->msgs[m];

			bytes += msg->text.len;
			if (msg->mtype <= 0 || msg->text.len > l->msgmax || bytes > q->qbytes) {
				pr_err("image: IPCNS: SysV queue %zu, message %zu: type %lld, %zu bytes "
				       "(msgmax %llu, queue %llu bytes)\n",
				       i, m, (long long)msg->mtype, msg->text.len,
				       (unsigned long long)l->msgmax,
				       (unsigned long long)q->qbytes);
				ret = -EBADMSG;
			}
		}
		*total += bytes;
		if (!ret)
			ids[i] = q->perm;
	}
	ret = ret ?: check_ids(ids, e->n_msqs, "SysV queue");
	free(ids);
	return ret;
}

static int check_sems(const IpcnsEntry *e, const struct ipcns_limits *l)
{
	IpcPermEntry **ids = calloc(e->n_sems + 1, sizeof(*ids));
	int ret = ids ? 0 : -ENOMEM;

	if (!ret && e->n_sems > l->semmni) {
		pr_err("image: IPCNS: %zu semaphore sets, more than semmni\n", e->n_sems);
		ret = -EBADMSG;
	}
	for (size_t i = 0; !ret && i < e->n_sems; i++) {
		const IpcSemEntry *s = e->sems[i];

		ret = check_perm(s->perm, "semaphore set", i);
		if (!ret && (!s->n_values || s->n_values > l->semmsl ||
			     (s->n_pids && s->n_pids != s->n_values))) {
			pr_err("image: IPCNS: semaphore set %zu: %zu semaphores (semmsl %llu)\n", i,
			       s->n_values, (unsigned long long)l->semmsl);
			ret = -EBADMSG;
		}
		for (size_t v = 0; !ret && v < s->n_values; v++)
			if (s->values[v] > IPCNS_SEMVMX) {
				pr_err("image: IPCNS: semaphore set %zu: value %u over %u\n", i,
				       s->values[v], IPCNS_SEMVMX);
				ret = -EBADMSG;
			}
		if (!ret)
			ids[i] = s->perm;
	}
	ret = ret ?: check_ids(ids, e->n_sems, "semaphore set");
	free(ids);
	return ret;
}

/* The SYSV_SHM records (the namespace's segments) within shmmni and shmmax. */
static int check_shms(const struct ipcns_limits *l, SysvShmEntry *const *sysv, size_t n_sysv)
{
	if (n_sysv > l->shmmni) {
		pr_err("image: IPCNS: %zu SysV segments, more than shmmni\n", n_sysv);
		return -EBADMSG;
	}
	for (size_t i = 0; i < n_sysv; i++)
		if (sysv[i]->size > l->shmmax) {
			pr_err("image: IPCNS: SysV segment %d: size %llu over shmmax %llu\n",
			       sysv[i]->shmid, (unsigned long long)sysv[i]->size,
			       (unsigned long long)l->shmmax);
			return -EBADMSG;
		}
	return 0;
}

bool ipcns_mq_name_ok(const char *name)
{
	size_t len = name ? strlen(name) : 0;

	return len && len < 256 && !strchr(name, '/') && strcmp(name, ".") && strcmp(name, "..");
}

static int check_mq(const IpcMqEntry *q, size_t i, uint64_t *total)
{
	uint32_t prev = IPCNS_MQ_PRIO_MAX;

	if (!ipcns_mq_name_ok(q->name) || (q->mode & ~0777u) || q->maxmsg <= 0 ||
	    q->maxmsg > IPCNS_HARD_MQ_MSGS || q->msgsize <= 0 || q->msgsize > IPCNS_HARD_MQ_SIZE ||
	    q->n_msgs > (uint64_t)q->maxmsg) {
		pr_err("image: IPCNS: POSIX queue %zu: bad name, mode, maxmsg, msgsize or message "
		       "count\n",
		       i);
		return -EBADMSG;
	}
	for (size_t m = 0; m < q->n_msgs; m++) {
		const IpcMqMsg *msg = q->msgs[m];

		/* as mq_receive gives them: priorities never rise */
		if (msg->prio >= IPCNS_MQ_PRIO_MAX || msg->prio > prev ||
		    msg->text.len > (uint64_t)q->msgsize) {
			pr_err("image: IPCNS: POSIX queue %zu, message %zu: priority %u, %zu bytes\n",
			       i, m, msg->prio, msg->text.len);
			return -EBADMSG;
		}
		prev = msg->prio;
		*total += msg->text.len;
	}
	return 0;
}

static int check_mqs(const IpcnsEntry *e, const struct ipcns_limits *l, uint64_t *total)
{
	if (e->n_mqs > l->queues_max) {
		pr_err("image: IPCNS: %zu POSIX queues, more than queues_max %llu\n", e->n_mqs,
		       (unsigned long long)l->queues_max);
		return -EBADMSG;
	}
	for (size_t i = 0; i < e->n_mqs; i++) {
		int ret = check_mq(e->mqs[i], i, total);

		if (ret)
			return ret;
		for (size_t j = 0; j < i; j++)
			if (!strcmp(e->mqs[i]->name, e->mqs[j]->name)) {
				pr_err("image: IPCNS: POSIX queue /%s twice\n", e->mqs[i]->name);
				return -EBADMSG;
			}
	}
	return 0;
}

int ipcns_check(const IpcnsEntry *e, SysvShmEntry *const *sysv, size_t n_sysv)
{
	struct ipcns_limits l;
	uint64_t msgs = 0, mq = 0;
	int ret;

	ret = check_sysctls(e);
	if (ret)
		return ret;
	ipcns_limits(e, &l);
	ret = check_msqs(e, &l, &msgs) ?: check_sems(e, &l);
	ret = ret ?: check_shms(&l, sysv, n_sysv) ?: check_mqs(e, &l, &mq);
	if (!ret && (msgs > IPCNS_MAX_BYTES || mq > IPCNS_MAX_BYTES)) {
		pr_err("image: IPCNS: more than %u MiB of messages of one kind\n",
		       IPCNS_MAX_BYTES >> 20);
		ret = -EBADMSG;
	}
	return ret;
}
