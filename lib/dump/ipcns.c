/*
 * The tree's IPC namespace (record IPCNS).  When the root is in another
 * IPC namespace than vxdump's (unshare -i, a context), every process of
 * the tree must be in that one and no process outside the tree may be:
 * then everything in it belongs to the tree and is dumped, read while the
 * tree is frozen with vxdump's thread inside the namespace (setns): the
 * ipc sysctls, every SysV message queue (messages by MSG_COPY, which
 * leaves them queued) and semaphore set (GETALL), and the POSIX message
 * queues (ipcns-mq.c).  Shared memory segments, attached or not, are
 * SYSV_SHM records with SHMEM_PAGES (shmem.c, now read inside the
 * namespace too): the ones nobody attaches are noted here as objects of
 * the root's page group.  The thread
 * goes back when the dump ends, whatever its outcome.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <linux/kcmp.h>

#define LOG_PREFIX "dump/ipcns: "
#include "log.h"
#include "dump/dump.h"
#include "dump/ipcns.h"
#include "img/img.h"
#include "img/records.h"

union semun {
	int val;
	struct semid_ds *buf;
	unsigned short *array;
	struct seminfo *__buf;
};

/* Is pid's IPC namespace the one of nsst?  1, 0, or -errno. */
static int same_ns(pid_t pid, const struct stat *nsst)
{
	struct stat st;
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/ns/ipc", pid);
	if (stat(path, &st))
		return errno == ENOENT || errno == ESRCH ? 0 : -errno;
	return st.st_dev == nsst->st_dev && st.st_ino == nsst->st_ino;
}

/* Every live process of the tree in it.  0 or -EOPNOTSUPP (logged). */
static int check_members(const struct dump_op *op, const struct stat *nsst)
{
	for (size_t i = 1; i < op->n_tasks; i++) {
		const struct dump_task *t = op->tasks[i];
		int ret;

		if (t->zombie)
			continue;
		ret = same_ns(t->pid, nsst);
		if (ret < 0)
			return ret;
		if (!ret) {
			pr_err("pid %d is in another IPC namespace than the tree's root (pid %d): "
			       "not supported\n",
			       t->pid, op->root->pid);
			return -EOPNOTSUPP;
		}
	}
	return 0;
}

/* No process outside the tree in it (they would share what is dumped). */
static int check_outsiders(const struct dump_op *op, const struct stat *nsst)
{
	struct dirent *de;
	DIR *d = opendir("/proc");
	int ret = 0;

	if (!d) {
		pr_perror("cannot list /proc");
		return -errno;
	}
	while (!ret && (de = readdir(d))) {
		char *end;
		long pid = strtol(de->d_name, &end, 10);

		if (*end || pid <= 0 || dump_tree_has_pid(op, (pid_t)pid))
			continue;
		if (same_ns((pid_t)pid, nsst) > 0) {
			pr_err("pid %ld is in the IPC namespace of the tree (root pid %d) but not in "
			       "the tree: its SysV and POSIX IPC objects would be shared\n",
			       pid, op->root->pid);
			ret = -EOPNOTSUPP;
		}
	}
	closedir(d);
	return ret;
}

/*
 * No thread of the tree with a SysV semaphore undo list (semop SEM_UNDO):
 * the kernel shows neither the list nor its adjustments anywhere, but
 * kcmp(KCMP_SYSVSEM) against vxdump, which never used SEM_UNDO (no list),
 * tells whether a thread has one.  Asked only when the namespace holds
 * semaphore sets (an entry is of a set of it): a process that made a
 * thread has a list, empty, from that clone (CLONE_SYSVSEM allocates it),
 * which kcmp cannot tell from one with entries; every context's IPC
 * namespace is its own, and its threaded programs must not be refused
 * for that.  0 or -EOPNOTSUPP (logged).
 */
static int check_undo(const struct dump_op *op)
{
	pid_t self = getpid();

	for (size_t i = 0; i < op->n_tasks; i++) {
		const struct dump_task *t = op->tasks[i];

		for (size_t j = 0; !t->zombie && j < t->n_threads; j++) {
			pid_t tid = t->threads[j].tid;
			long r = syscall(SYS_kcmp, self, tid, KCMP_SYSVSEM, 0, 0);

			if (r < 0) {
				pr_perror("pid %d: kcmp KCMP_SYSVSEM", tid);
				return -errno;
			}
			if (r) {
				pr_err("pid %d may have SysV semaphore undo entries (semop with "
				       "SEM_UNDO, or a thread made: the kernel shows neither): not "
				       "supported while its IPC namespace holds semaphore sets\n",
				       tid);
				return -EOPNOTSUPP;
			}
		}
	}
	return 0;
}

/* One of proc_ipc_sysctls, read inside the namespace.  0 or -errno. */
static int read_sysctl(IpcnsEntry *e, const char *name)
{
	char path[96], *text = NULL;
	IpcSysctl *s;
	size_t len = 0;
	int ret;

	snprintf(path, sizeof(path), "/proc/sys/%s", name);
	ret = proc_read_path(path, &text, &len);
	if (ret == -ENOENT)
		return 0; /* not in this kernel */
	if (ret) {
		pr_err("cannot read %s: %s\n", path, strerror(-ret));
		return ret;
	}
	text[strcspn(text, "\n")] = '\0';
	s = calloc(1, sizeof(*s));
	if (!s || ipcns_push((void ***)&e->sysctls, &e->n_sysctls, s)) {
		free(s);
		free(text);
		return -ENOMEM;
	}
	ipc_sysctl__init(s);
	s->name = strdup(name);
	s->value = text;
	return s->name ? 0 : -ENOMEM;
}

int ipcns_push(void ***v, size_t *n, void *item)
{
	void **nv = realloc(*v, (*n + 1) * sizeof(*nv));

	if (!nv)
		return -ENOMEM;
	nv[(*n)++] = item;
	*v = nv;
	return 0;
}

IpcPermEntry *ipcns_perm(const struct ipc_perm *p, int id)
{
	IpcPermEntry *pe = calloc(1, sizeof(*pe));

	if (!pe)
		return NULL;
	ipc_perm_entry__init(pe);
	PB_SET(pe, key, p->__key);
	PB_SET(pe, id, id);
	PB_SET(pe, uid, p->uid);
	PB_SET(pe, gid, p->gid);
	PB_SET(pe, cuid, p->cuid);
	PB_SET(pe, cgid, p->cgid);
	PB_SET(pe, mode, p->mode & 0777);
	return pe;
}

/* The messages of queue id, in order, without taking them.  0 or -errno. */
static int read_msgs(IpcMsqEntry *q, int id, uint64_t qnum, size_t bufsz, size_t *total)
{
	struct {
		long mtype;
		char mtext[];
	} *buf = malloc(sizeof(long) + bufsz);
	int ret = buf ? 0 : -ENOMEM;

	for (uint64_t i = 0; !ret && i < qnum; i++) {
		ssize_t n = msgrcv(id, buf, bufsz, (long)i, MSG_COPY | IPC_NOWAIT);
		IpcMsgEntry *m;

		if (n < 0) {
			ret = -errno;
			if (errno == ENOSYS)
				pr_err("SysV queue %d: MSG_COPY needs CONFIG_CHECKPOINT_RESTORE: "
				       "cannot read its messages\n",
				       id);
			else
				pr_perror("SysV queue %d: msgrcv MSG_COPY of message %llu", id,
					  (unsigned long long)i);
			ret = errno == ENOSYS ? -EOPNOTSUPP : ret;
			break;
		}
		*total += (size_t)n;
		if (*total > IPCNS_MAX_BYTES) {
			pr_err("SysV queues hold more than %u MiB: not supported\n",
			       IPCNS_MAX_BYTES >> 20);
			ret = -EOPNOTSUPP;
			break;
		}
		m = calloc(1, sizeof(*m));
		if (!m || ipcns_push((void ***)&q->msgs, &q->n_msgs, m)) {
			free(m);
			ret = -ENOMEM;
			break;
		}
		ipc_msg_entry__init(m);
		PB_SET(m, mtype, buf->mtype);
		m->has_text = 1;
		m->text.len = (size_t)n;
		m->text.data = malloc(n ? (size_t)n : 1);
		if (!m->text.data)
			ret = -ENOMEM;
		else
			memcpy(m->text.data, buf->mtext, (size_t)n);
	}
	free(buf);
	return ret;
}

/* Every SysV message queue of the namespace.  0 or -errno (logged). */
static int read_msqs(IpcnsEntry *e)
{
	struct msginfo info;
	struct msqid_ds ds;
	size_t total = 0;
	int maxidx, ret = 0;

	maxidx = msgctl(0, MSG_INFO, (struct msqid_ds *)&info);
	if (maxidx < 0) {
		pr_perror("msgctl MSG_INFO");
		return -errno;
	}
	for (int idx = 0; !ret && idx <= maxidx; idx++) {
		int id = msgctl(idx, MSG_STAT_ANY, &ds);
		IpcMsqEntry *q;

		if (id < 0)
			continue; /* a free slot */
		if (ds.msg_qbytes > IPCNS_MAX_MSG) {
			pr_err("SysV queue %d: msg_qbytes %lu over %u: not supported\n", id,
			       (unsigned long)ds.msg_qbytes, IPCNS_MAX_MSG);
			return -EOPNOTSUPP;
		}
		q = calloc(1, sizeof(*q));
		if (!q || ipcns_push((void ***)&e->msqs, &e->n_msqs, q)) {
			free(q);
			return -ENOMEM;
		}
		ipc_msq_entry__init(q);
		q->perm = ipcns_perm(&ds.msg_perm, id);
		PB_SET(q, qbytes, ds.msg_qbytes);
		ret = q->perm ? read_msgs(q, id, ds.msg_qnum, ds.msg_qbytes, &total) : -ENOMEM;
	}
	return ret;
}

/* Every SysV semaphore set.  0 or -errno (logged). */
static int read_sems(IpcnsEntry *e)
{
	struct seminfo info;
	struct semid_ds ds;
	union semun arg = { .__buf = &info };
	int maxidx;

	maxidx = semctl(0, 0, SEM_INFO, arg);
	if (maxidx < 0) {
		pr_perror("semctl SEM_INFO");
		return -errno;
	}
	for (int idx = 0; idx <= maxidx; idx++) {
		unsigned short *vals;
		IpcSemEntry *s;
		int id;

		arg.buf = &ds;
		id = semctl(idx, 0, SEM_STAT_ANY, arg);
		if (id < 0)
			continue;
		s = calloc(1, sizeof(*s));
		vals = calloc(ds.sem_nsems + 1, sizeof(*vals));
		if (!s || !vals || ipcns_push((void ***)&e->sems, &e->n_sems, s)) {
			free(s);
			free(vals);
			return -ENOMEM;
		}
		ipc_sem_entry__init(s);
		s->perm = ipcns_perm(&ds.sem_perm, id);
		s->values = calloc(ds.sem_nsems + 1, sizeof(*s->values));
		s->pids = calloc(ds.sem_nsems + 1, sizeof(*s->pids));
		arg.array = vals;
		if (!s->perm || !s->values || !s->pids || semctl(id, 0, GETALL, arg)) {
			free(vals);
			pr_perror("semaphore set %d: GETALL", id);
			return errno ? -errno : -ENOMEM;
		}
		s->n_values = s->n_pids = ds.sem_nsems;
		for (size_t i = 0; i < ds.sem_nsems; i++) {
			s->values[i] = vals[i];
			s->pids[i] = semctl(id, (int)i, GETPID);
		}
		free(vals);
	}
	return 0;
}

/*
 * Segment id, which nobody attaches, as a shmem object of the image like
 * an attached one (shmem.c: a SYSV_SHM record, its bytes whole in
 * SHMEM_PAGES of the root's page group): our handle on it is its file,
 * opened through /proc/self/map_files of our own read-only attach, which
 * goes at once.  0 or -errno (logged).
 */
static int note_unattached(struct dump_op *op, int id, const struct shmid_ds *ds)
{
	long page = sysconf(_SC_PAGESIZE);
	unsigned long start, end;
	struct dump_shmem *s;
	char path[96];
	struct stat st;
	void *p;
	int fd;

	p = shmat(id, NULL, SHM_RDONLY);
	if (p == (void *)-1) {
		pr_perror("SysV segment %d: shmat", id);
		return -errno;
	}
	start = (unsigned long)p;
	end = start + (ds->shm_segsz + page - 1) / page * page;
	snprintf(path, sizeof(path), "/proc/self/map_files/%lx-%lx", start, end);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st)) {
		pr_perror("SysV segment %d: cannot open %s", id, path);
		if (fd >= 0)
			close(fd);
		shmdt(p);
		return -EIO;
	}
	shmdt(p);
	s = shmem_get(op, major(st.st_dev), minor(st.st_dev), (uint64_t)id, true, op->root->index);
	if (!s) {
		close(fd);
		return -ENOMEM;
	}
	s->fd = fd;
	return 0;
}

/*
 * Every SysV segment that nobody attaches, noted as a shmem object (the
 * attached ones are the tree's vmas').  0 or -errno (logged).
 */
static int read_shms(struct dump_op *op)
{
	struct shm_info info;
	struct shmid_ds ds;
	uint64_t total = 0;
	int maxidx, ret = 0;

	maxidx = shmctl(0, SHM_INFO, (struct shmid_ds *)&info);
	if (maxidx < 0) {
		pr_perror("shmctl SHM_INFO");
		return -errno;
	}
	for (int idx = 0; !ret && idx <= maxidx; idx++) {
		int id = shmctl(idx, SHM_STAT_ANY, &ds);

		if (id < 0 || ds.shm_nattch)
			continue; /* free, or attached: found through the vmas */
		total += ds.shm_segsz;
		if (total > IPCNS_MAX_BYTES) {
			pr_err("SysV segments nobody attaches are more than %u MiB: not supported\n",
			       IPCNS_MAX_BYTES >> 20);
			return -EOPNOTSUPP;
		}
		ret = note_unattached(op, id, &ds);
	}
	return ret;
}

/* Our thread into nsfd; our own kept in op->ipcns_saved.  0 or -errno. */
static int enter(struct dump_op *op, int nsfd)
{
	op->ipcns_saved = open("/proc/thread-self/ns/ipc", O_RDONLY | O_CLOEXEC);
	if (op->ipcns_saved < 0) {
		pr_perror("cannot open our IPC namespace");
		return -errno;
	}
	if (setns(nsfd, CLONE_NEWIPC)) {
		pr_perror("cannot enter the IPC namespace of the tree");
		close(op->ipcns_saved);
		op->ipcns_saved = -1;
		return -errno;
	}
	return 0;
}

/* The device of the namespace's mqueue filesystem, for FILE_MQUEUE. */
static int mq_dev(struct dump_op *op)
{
	struct stat st;
	int fd = ipcns_mq_root();

	if (fd < 0)
		return fd;
	if (fstat(fd, &st)) {
		close(fd);
		return -errno;
	}
	close(fd);
	op->ipcns_mq_dev = st.st_dev;
	return 0;
}

/* Everything of the namespace we are in into e.  0 or -errno (logged). */
static int read_all(struct dump_op *op, IpcnsEntry *e)
{
	int ret = 0;

	for (size_t i = 0; !ret && proc_ipc_sysctls[i]; i++)
		ret = read_sysctl(e, proc_ipc_sysctls[i]);
	ret = ret ?: read_msqs(e);
	ret = ret ?: read_sems(e);
	ret = ret ?: read_shms(op);
	return ret ?: ipcns_mq_read(op, e) ?: mq_dev(op);
}

int ipcns_collect(struct dump_op *op)
{
	struct stat ours, its;
	char path[64];
	uint64_t t0 = dump_now_ns();
	int nsfd, ret;

	op->ipcns_saved = -1;
	snprintf(path, sizeof(path), "/proc/%d/ns/ipc", op->root->pid);
	if (stat("/proc/thread-self/ns/ipc", &ours) || stat(path, &its)) {
		pr_perror("pid %d: cannot compare its IPC namespace with ours", op->root->pid);
		return -errno;
	}
	if (ours.st_dev == its.st_dev && ours.st_ino == its.st_ino)
		return 0;
	ret = check_members(op, &its) ?: check_outsiders(op, &its);
	if (ret)
		return ret;
	nsfd = open(path, O_RDONLY | O_CLOEXEC);
	if (nsfd < 0) {
		pr_perror("cannot open %s", path);
		return -errno;
	}
	ret = enter(op, nsfd);
	close(nsfd);
	op->ipcns = calloc(1, sizeof(*op->ipcns));
	if (!op->ipcns)
		return -ENOMEM;
	ipcns_entry__init(op->ipcns);
	ret = ret ?: read_all(op, op->ipcns);
	/* undo entries can only be of the namespace's sets: none, none to carry */
	if (!ret && op->ipcns->n_sems)
		ret = check_undo(op);
	if (!ret)
		pr_info("IPC namespace of pid %d read in %.2f ms: %zu SysV queues, %zu semaphore "
			"sets, %zu POSIX queues\n",
			op->root->pid, (dump_now_ns() - t0) / 1e6, op->ipcns->n_msqs,
			op->ipcns->n_sems, op->ipcns->n_mqs);
	return ret;
}

int write_ipcns(struct dump_op *op)
{
	int ret;

	if (!op->ipcns)
		return 0;
	ret = img_write_msg(op->w, IMG_REC_IPCNS, &op->ipcns->base);
	if (ret)
		pr_err("cannot write the IPCNS record: %s\n", strerror(-ret));
	return ret;
}

void ipcns_leave(struct dump_op *op)
{
	if (op->ipcns_saved < 0)
		return;
	if (setns(op->ipcns_saved, CLONE_NEWIPC))
		pr_perror("cannot go back to our IPC namespace");
	close(op->ipcns_saved);
	op->ipcns_saved = -1;
}

void ipcns_free(struct dump_op *op)
{
	ipcns_leave(op);
	if (op->ipcns)
		ipcns_entry__free_unpacked(op->ipcns, NULL);
	op->ipcns = NULL;
}
