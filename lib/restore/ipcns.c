/*
 * The tree's IPC namespace (record IPCNS): kept as read (one, before
 * every TASK), checked as hostile (ipcns-check.c), and built before the
 * root is cloned: our thread unshares a new IPC namespace and stays in it
 * until the end of the restore, so the root is cloned in it (a context's
 * init without CLONE_NEWIPC), and so are the SysV segments of the image,
 * attached or not (SYSV_SHM records, sysv.c, made later at their ids), and
 * everything else restore makes there.  Nothing is
 * created before the unshare: an image cannot make restore create an
 * object in vxrestore's own namespace.  Order: the recorded sysctls,
 * then every SysV queue and semaphore set at its recorded id
 * (kernel.*_next_id; another id is a refusal), the POSIX queues, the
 * sysctls again (some are raised for a while: root here has no
 * CAP_SYS_RESOURCE, so a queue's msg_qbytes comes from kernel.msgmnb at
 * its creation and a POSIX queue's limits must be within fs.mqueue.*),
 * and everything is read back.  Failed or killed: the namespace's only
 * holders are our thread and the tree, which die with the restore.
 */
#define LOG_PREFIX "restore/ipcns: "
#include <errno.h>
#include <fcntl.h>
#include <mqueue.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/stat.h>

#include "log.h"
#include "img/img.h"
#include "img/records.h"
#include "util/testhook.h"
#include "restore/ipcns.h"
#include "restore/restore.h"

union semun {
	int val;
	struct semid_ds *buf;
	unsigned short *array;
};

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

int ipcns_plan_read(struct rst_image *img, const struct img_record *rec)
{
	ProtobufCMessage *m;
	int ret;

	if (img->ipcns || img->recs.n_task) {
		pr_err("image: record %llu: IPCNS must come once, before every TASK\n",
		       (unsigned long long)rec->index);
		return -EBADMSG;
	}
	ret = img_unpack(rec, &ipcns_entry__descriptor, &m);
	if (ret) {
		pr_err("image: IPCNS record %llu does not unpack\n",
		       (unsigned long long)rec->index);
		return ret;
	}
	img->ipcns = (IpcnsEntry *)m;
	return 0;
}

int ipcns_check_image(const struct rst_image *img)
{
	if (!img->ipcns)
		return 0;
	return ipcns_check(img->ipcns, (SysvShmEntry *const *)img->recs.sysv, img->recs.n_sysv);
}

/* Writes text to /proc/sys/name (of our namespace).  0 or -errno (logged). */
static int write_sysctl(const char *name, const char *text)
{
	char path[96];
	size_t len = strlen(text);
	int fd, ret = 0;

	snprintf(path, sizeof(path), "/proc/sys/%s", name);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, text, len) != (ssize_t)len)
		ret = -errno;
	if (fd >= 0)
		close(fd);
	if (ret)
		pr_err("cannot write %s to %s: %s\n", text, path, strerror(-ret));
	return ret;
}

static int write_sysctl_num(const char *name, long long v)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "%lld", v);
	return write_sysctl(name, buf);
}

static int write_sysctls(const IpcnsEntry *e)
{
	int ret = 0;

	for (size_t i = 0; !ret && i < e->n_sysctls; i++)
		ret = write_sysctl(e->sysctls[i]->name, e->sysctls[i]->value);
	return ret;
}

/* Owner and mode of a SysV object as recorded, through set (IPC_SET). */
static void set_perm(struct ipc_perm *p, const IpcPermEntry *pe)
{
	p->uid = pe->uid;
	p->gid = pe->gid;
	p->mode = pe->mode & 0777;
}

/* The id a *get call made is the recorded one?  0 or -errno (logged). */
static int got_id(const char *what, int got, const IpcPermEntry *pe)
{
	if (got < 0) {
		pr_perror("%s %d (key %#x): cannot create it", what, pe->id, pe->key);
		return -errno;
	}
	if (got != pe->id) {
		pr_err("%s got id %d, not %d\n", what, got, pe->id);
		return -EEXIST;
	}
	return 0;
}

static int make_msq(const IpcMsqEntry *q)
{
	const IpcPermEntry *pe = q->perm;
	struct msqid_ds ds;
	size_t bytes = 0;
	int id, ret;

	ret = write_sysctl_num("kernel/msgmnb", (long long)q->qbytes); /* its msg_qbytes */
	ret = ret ?: write_sysctl_num("kernel/msg_next_id", pe->id);
	if (ret)
		return ret;
	id = msgget(pe->key, IPC_CREAT | IPC_EXCL | (pe->mode & 0777));
	ret = got_id("SysV queue", id, pe);
	if (!ret && msgctl(id, IPC_STAT, &ds) == 0) {
		set_perm(&ds.msg_perm, pe);
		if (msgctl(id, IPC_SET, &ds))
			ret = -errno;
	}
	for (size_t m = 0; !ret && m < q->n_msgs; m++) {
		const IpcMsgEntry *msg = q->msgs[m];
		long *buf = malloc(sizeof(long) + msg->text.len);

		if (!buf)
			return -ENOMEM;
		buf[0] = msg->mtype;
		memcpy(buf + 1, msg->text.data, msg->text.len);
		if (msgsnd(id, buf, msg->text.len, IPC_NOWAIT))
			ret = -errno;
		free(buf);
		bytes += msg->text.len;
	}
	if (!ret && (msgctl(id, IPC_STAT, &ds) || ds.msg_qnum != q->n_msgs ||
		     ds.msg_cbytes != bytes || ds.msg_qbytes != q->qbytes))
		ret = -EIO;
	if (ret)
		pr_err("SysV queue %d: cannot restore it as recorded: %s\n", pe->id,
		       strerror(-ret));
	return ret;
}

static int make_sem(const IpcSemEntry *s)
{
	const IpcPermEntry *pe = s->perm;
	unsigned short *vals = calloc(s->n_values, sizeof(*vals));
	unsigned short *back = calloc(s->n_values, sizeof(*back));
	struct semid_ds ds;
	union semun arg;
	int id, ret = vals && back ? 0 : -ENOMEM;

	ret = ret ?: write_sysctl_num("kernel/sem_next_id", pe->id);
	if (!ret) {
		id = semget(pe->key, (int)s->n_values, IPC_CREAT | IPC_EXCL | (pe->mode & 0777));
		ret = got_id("semaphore set", id, pe);
	}
	for (size_t i = 0; !ret && i < s->n_values; i++)
		vals[i] = (unsigned short)s->values[i];
	arg.array = vals;
	if (!ret && semctl(id, 0, SETALL, arg))
		ret = -errno;
	arg.buf = &ds;
	if (!ret && semctl(id, 0, IPC_STAT, arg) == 0) {
		set_perm(&ds.sem_perm, pe);
		if (semctl(id, 0, IPC_SET, arg))
			ret = -errno;
	}
	arg.array = back;
	if (!ret && (semctl(id, 0, GETALL, arg) || memcmp(vals, back, s->n_values * sizeof(*vals))))
		ret = -EIO;
	if (ret && ret != -EEXIST)
		pr_err("semaphore set %d: cannot restore it as recorded: %s\n", pe->id,
		       strerror(-ret));
	free(vals);
	free(back);
	return ret;
}

static int make_mq(const IpcMqEntry *q)
{
	struct mq_attr attr = { .mq_maxmsg = q->maxmsg, .mq_msgsize = q->msgsize };
	char name[260];
	int fd, ret = 0;

	snprintf(name, sizeof(name), "/%s", q->name);
	fd = mq_open(name, O_RDWR | O_CREAT | O_EXCL | O_NONBLOCK | O_CLOEXEC, 0600, &attr);
	if (fd < 0) {
		pr_perror("POSIX queue %s (maxmsg %lld, msgsize %lld): mq_open", name,
			  (long long)q->maxmsg, (long long)q->msgsize);
		return -errno;
	}
	if (fchown(fd, q->uid, q->gid) || fchmod(fd, q->mode & 0777))
		ret = -errno;
	for (size_t m = 0; !ret && m < q->n_msgs; m++)
		if (mq_send(fd, (const char *)q->msgs[m]->text.data, q->msgs[m]->text.len,
			    q->msgs[m]->prio))
			ret = -errno;
	if (!ret && (mq_getattr(fd, &attr) || attr.mq_curmsgs != (long)q->n_msgs))
		ret = -EIO;
	if (ret)
		pr_err("POSIX queue %s: cannot restore it as recorded: %s\n", name, strerror(-ret));
	close(fd);
	return ret;
}

/* fs.mqueue limits raised to let every queue be made (restored after). */
static int raise_mq_limits(const IpcnsEntry *e)
{
	long long msgs = 0, size = 0;
	int ret;

	for (size_t i = 0; i < e->n_mqs; i++) {
		msgs = e->mqs[i]->maxmsg > msgs ? e->mqs[i]->maxmsg : msgs;
		size = e->mqs[i]->msgsize > size ? e->mqs[i]->msgsize : size;
	}
	if (!e->n_mqs)
		return 0;
	ret = write_sysctl_num("fs/mqueue/msg_max", msgs > 10 ? msgs : 10);
	return ret ?: write_sysctl_num("fs/mqueue/msgsize_max", size > 128 ? size : 128);
}

/* Every object of e, in the namespace we are in.  0 or -errno (logged). */
static int make_all(const IpcnsEntry *e)
{
	int ret;

	ret = write_sysctls(e);
	for (size_t i = 0; !ret && i < e->n_msqs; i++)
		ret = make_msq(e->msqs[i]);
	for (size_t i = 0; !ret && i < e->n_sems; i++)
		ret = make_sem(e->sems[i]);
	ret = ret ?: raise_mq_limits(e);
	for (size_t i = 0; !ret && i < e->n_mqs; i++)
		ret = make_mq(e->mqs[i]);
	return ret ?: write_sysctls(e); /* the raised ones back */
}

int rst_ipcns_build(struct rst_image *img)
{
	uint64_t t0 = mono_ns();
	int ret;

	if (!img->ipcns)
		return 0;
	img->ipcns_saved = open("/proc/thread-self/ns/ipc", O_RDONLY | O_CLOEXEC);
	if (img->ipcns_saved < 0) {
		pr_perror("cannot open our IPC namespace");
		return -errno;
	}
	if (unshare(CLONE_NEWIPC)) {
		pr_perror("cannot make a new IPC namespace");
		ret = -errno;
		close(img->ipcns_saved);
		img->ipcns_saved = -1;
		return ret;
	}
	ret = make_all(img->ipcns);
	if (!ret) {
		test_pause("ipcns-built"); /* a kill here: the namespace goes with us */
		ret = test_fail("ipcns-built");
	}
	if (!ret)
		pr_info("IPC namespace built in %.2f ms: %zu SysV queues, %zu semaphore sets, %zu "
			"POSIX queues\n",
			(mono_ns() - t0) / 1e6, img->ipcns->n_msqs, img->ipcns->n_sems,
			img->ipcns->n_mqs);
	return ret;
}

void rst_ipcns_leave(struct rst_image *img)
{
	if (img->ipcns_saved < 0)
		return;
	if (setns(img->ipcns_saved, CLONE_NEWIPC))
		pr_perror("cannot go back to our IPC namespace");
	close(img->ipcns_saved);
	img->ipcns_saved = -1;
}

void rst_ipcns_free(struct rst_image *img)
{
	rst_ipcns_leave(img);
	if (img->ipcns)
		ipcns_entry__free_unpacked(img->ipcns, NULL);
	img->ipcns = NULL;
}
