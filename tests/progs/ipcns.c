/*
 * A process in an IPC namespace of its own (it unshares one first) that
 * holds: its ipc sysctls changed, two SysV message queues with typed
 * messages (one keyed, with another owner and mode; one private), a
 * semaphore set with values, an attached segment and an unattached keyed
 * one with contents, and a POSIX queue with messages of two priorities.
 * After "go" it checks every one: same ids, keys, owners, modes, values,
 * contents, messages in order with their types and priorities.
 *
 *   ipcns OUT [mqfd]      mqfd: keeps an mqueue fd open (O_NONBLOCK)
 *   ipcns OUT notify      registers mq_notify on the POSIX queue
 *   ipcns OUT undo        a semop with SEM_UNDO (an undo list: refused)
 *   ipcns OUT shared ...  no namespace of its own: the one it is in (a
 *                         context's); its sysctls are left alone
 *   ipcns OUT bulk N      also N messages of 64 bytes in a third SysV queue
 *                         and N in a second POSIX queue (measurements)
 */
#include <mqueue.h>
#include <sched.h>
#include <stdbool.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>

#include "prog.h"

#define MSQ_KEY 0x1234
#define SEM_KEY 0x2345
#define SHM_KEY 0x3456
#define SHM_SIZE 100000
#define ATT_SIZE 65536
#define MQ_NAME "/vxq"

struct msgbuf_ {
	long mtype;
	char mtext[64];
};

static const struct {
	long type;
	const char *text;
} msgs_a[] = { { 2, "alpha" }, { 1, "bravo" }, { 7, "charlie, a longer one" }, { 1, "" } },
  msgs_b[] = { { 5, "x" }, { 5, "yy" }, { 3, "zzz" } };

static const struct {
	unsigned prio;
	const char *text;
} mq_in[] = { { 1, "low1" }, { 5, "high1" }, { 1, "low2" }, { 5, "high2" }, { 0, "zero" } },
  mq_out[] = { { 5, "high1" }, { 5, "high2" }, { 1, "low1" }, { 1, "low2" }, { 0, "zero" } };

static void sysctl_set(const char *path, const char *v)
{
	int fd = open(path, O_WRONLY);

	if (fd < 0 || write(fd, v, strlen(v)) != (ssize_t)strlen(v))
		prog_fail("write %s: %s", path, strerror(errno));
	close(fd);
}

#define BULK_NAME "/bulk"

/* The bulk queues: N messages each, message i of type/priority i % 7 + 1. */
static int bulk_make(long n)
{
	struct mq_attr attr = { .mq_maxmsg = n, .mq_msgsize = 64 };
	char v[32];
	int id, mq;

	snprintf(v, sizeof(v), "%ld", n * 64);
	sysctl_set("/proc/sys/kernel/msgmnb", v);
	snprintf(v, sizeof(v), "%ld", n);
	sysctl_set("/proc/sys/fs/mqueue/msg_max", v);
	id = msgget(IPC_PRIVATE, IPC_CREAT | 0600);
	mq = mq_open(BULK_NAME, O_RDWR | O_CREAT | O_EXCL, 0600, &attr);
	if (id < 0 || mq < 0)
		prog_fail("bulk queues: %s", strerror(errno));
	for (long i = 0; i < n; i++) {
		struct msgbuf_ b = { i % 7 + 1, "" };

		snprintf(b.mtext, sizeof(b.mtext), "message %ld", i);
		if (msgsnd(id, &b, 64, IPC_NOWAIT) || mq_send(mq, b.mtext, 64, i % 7))
			prog_fail("bulk message %ld: %s", i, strerror(errno));
	}
	close(mq);
	sysctl_set("/proc/sys/kernel/msgmnb", "20000");
	return id;
}

/* All of them there, in order (the POSIX ones by priority, FIFO within). */
static void bulk_check(int id, long n)
{
	int mq = mq_open(BULK_NAME, O_RDONLY | O_NONBLOCK);
	long seen = 0;
	char want[64];

	for (long i = 0; i < n; i++) {
		struct msgbuf_ b;

		snprintf(want, sizeof(want), "message %ld", i);
		if (msgrcv(id, &b, 64, 0, IPC_NOWAIT) != 64 || b.mtype != i % 7 + 1 ||
		    strcmp(b.mtext, want)) {
			CHECK(0, "bulk SysV message %ld differs", i);
			break;
		}
	}
	CHECK(mq >= 0, "mq_open %s: %s", BULK_NAME, strerror(errno));
	for (int prio = 6; mq >= 0 && prio >= 0; prio--) {
		for (long i = prio; i < n; i += 7, seen++) {
			char b[64];
			unsigned p;

			snprintf(want, sizeof(want), "message %ld", i);
			if (mq_receive(mq, b, sizeof(b), &p) != 64 || p != (unsigned)prio ||
			    strcmp(b, want)) {
				CHECK(0, "bulk POSIX message %ld differs", i);
				return;
			}
		}
	}
	CHECK(seen == n, "%ld bulk POSIX messages, not %ld", seen, n);
}

static bool has_arg(int argc, char **argv, const char *word)
{
	for (int i = 2; i < argc; i++)
		if (!strcmp(argv[i], word))
			return true;
	return false;
}

union semun {
	int val;
	struct semid_ds *buf;
	unsigned short *array;
};

static void sysctl_check(const char *path, const char *want)
{
	char buf[128] = "";
	int fd = open(path, O_RDONLY);
	ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;

	if (fd >= 0)
		close(fd);
	if (n > 0)
		buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	CHECK(!strcmp(buf, want), "%s is '%s', not '%s'", path, buf, want);
}

static int make_msq(key_t key, int mode, const void *list, size_t n)
{
	const struct {
		long type;
		const char *text;
	} *m = list;
	int id = msgget(key, IPC_CREAT | IPC_EXCL | mode);

	if (id < 0)
		prog_fail("msgget: %s", strerror(errno));
	for (size_t i = 0; i < n; i++) {
		struct msgbuf_ b = { m[i].type, "" };

		strcpy(b.mtext, m[i].text);
		if (msgsnd(id, &b, strlen(m[i].text), IPC_NOWAIT))
			prog_fail("msgsnd: %s", strerror(errno));
	}
	return id;
}

static void check_msq(int id, const void *list, size_t n, const char *what)
{
	const struct {
		long type;
		const char *text;
	} *m = list;
	struct msqid_ds ds;

	CHECK(!msgctl(id, IPC_STAT, &ds), "%s: msgctl %d: %s", what, id, strerror(errno));
	CHECK(ds.msg_qnum == n, "%s: %lu messages, not %zu", what, (unsigned long)ds.msg_qnum, n);
	for (size_t i = 0; i < n; i++) {
		struct msgbuf_ b;
		ssize_t len = msgrcv(id, &b, sizeof(b.mtext), 0, IPC_NOWAIT);

		CHECK(len == (ssize_t)strlen(m[i].text) && b.mtype == m[i].type &&
			      !memcmp(b.mtext, m[i].text, strlen(m[i].text)),
		      "%s: message %zu is not type %ld '%s'", what, i, m[i].type, m[i].text);
	}
}

int main(int argc, char **argv)
{
	struct mq_attr attr = { .mq_maxmsg = 8, .mq_msgsize = 64 };
	unsigned short vals[3] = { 1, 5, 32767 }, got[3];
	bool keep_fd = has_arg(argc, argv, "mqfd"), notify = has_arg(argc, argv, "notify");
	bool shared = has_arg(argc, argv, "shared");
	long bulk = argc > 3 && !strcmp(argv[2], "bulk") ? atol(argv[3]) : 0;
	int idbulk = -1;
	int ida, idb, sem, shm_att, shm_un, mq, fd = -1;
	struct msqid_ds mds;
	struct shmid_ds sds;
	union semun arg;
	uint8_t *att, *p;

	prog_init(argc, argv, "ipcns");
	if (!shared) { /* else in its parent's namespace (a context's), as it is */
		if (unshare(CLONE_NEWIPC))
			prog_fail("unshare CLONE_NEWIPC: %s", strerror(errno));
		sysctl_set("/proc/sys/kernel/msgmnb", "20000");
		sysctl_set("/proc/sys/kernel/msgmni", "123");
		sysctl_set("/proc/sys/kernel/sem", "250\t32000\t32\t99");
		sysctl_set("/proc/sys/fs/mqueue/queues_max", "77");
	}

	ida = make_msq(MSQ_KEY, 0600, msgs_a, sizeof(msgs_a) / sizeof(msgs_a[0]));
	idb = make_msq(IPC_PRIVATE, 0644, msgs_b, sizeof(msgs_b) / sizeof(msgs_b[0]));
	if (msgctl(ida, IPC_STAT, &mds))
		prog_fail("msgctl: %s", strerror(errno));
	mds.msg_perm.uid = 1234;
	mds.msg_perm.gid = 5678;
	mds.msg_perm.mode = 0640;
	mds.msg_qbytes = 1000;
	if (msgctl(ida, IPC_SET, &mds))
		prog_fail("msgctl IPC_SET: %s", strerror(errno));

	sem = semget(SEM_KEY, 3, IPC_CREAT | IPC_EXCL | 0600);
	arg.array = vals;
	if (sem < 0 || semctl(sem, 0, SETALL, arg))
		prog_fail("semaphores: %s", strerror(errno));
	if (has_arg(argc, argv, "undo")) {
		struct sembuf op[2] = { { 1, -1, SEM_UNDO }, { 1, 1, SEM_UNDO } };

		if (semop(sem, op, 2)) /* adjustments cancel out: values unchanged */
			prog_fail("semop SEM_UNDO: %s", strerror(errno));
	}

	shm_att = shmget(IPC_PRIVATE, ATT_SIZE, IPC_CREAT | 0600);
	att = shm_att >= 0 ? shmat(shm_att, NULL, 0) : (void *)-1;
	shm_un = shmget(SHM_KEY, SHM_SIZE, IPC_CREAT | IPC_EXCL | 0640);
	p = shm_un >= 0 ? shmat(shm_un, NULL, 0) : (void *)-1;
	if (att == (void *)-1 || p == (void *)-1)
		prog_fail("segments: %s", strerror(errno));
	prog_fill(att, ATT_SIZE, 11);
	prog_fill(p, SHM_SIZE - 5000, 12); /* its last 5000 bytes stay zero */
	shmdt(p);

	mq = mq_open(MQ_NAME, O_RDWR | O_CREAT | O_EXCL, 0640, &attr);
	if (mq < 0)
		prog_fail("mq_open: %s", strerror(errno));
	for (size_t i = 0; i < sizeof(mq_in) / sizeof(mq_in[0]); i++)
		if (mq_send(mq, mq_in[i].text, strlen(mq_in[i].text), mq_in[i].prio))
			prog_fail("mq_send: %s", strerror(errno));
	if (notify) {
		struct sigevent sev = { .sigev_notify = SIGEV_NONE };

		if (mq_notify(mq, &sev))
			prog_fail("mq_notify: %s", strerror(errno));
	}
	if (!keep_fd && !notify)
		close(mq);
	else
		fd = mq;
	if (keep_fd)
		fcntl(fd, F_SETFL, O_NONBLOCK);

	if (bulk > 0)
		idbulk = bulk_make(bulk);
	prog_ready();
	prog_wait_go();
	if (bulk > 0)
		bulk_check(idbulk, bulk);

	if (!shared) {
		sysctl_check("/proc/sys/kernel/msgmnb", "20000");
		sysctl_check("/proc/sys/kernel/msgmni", "123");
		sysctl_check("/proc/sys/kernel/sem", "250\t32000\t32\t99");
		sysctl_check("/proc/sys/fs/mqueue/queues_max", "77");
	}
	if (!shared && !bulk)
		sysctl_check("/proc/sys/fs/mqueue/msg_max", "10");

	CHECK(msgget(MSQ_KEY, 0) == ida, "queue key %#x is not id %d", MSQ_KEY, ida);
	CHECK(!msgctl(ida, IPC_STAT, &mds) && mds.msg_perm.uid == 1234 &&
		      mds.msg_perm.gid == 5678 && (mds.msg_perm.mode & 0777) == 0640 &&
		      mds.msg_qbytes == 1000,
	      "queue %d: owner, mode or qbytes differ", ida);
	check_msq(ida, msgs_a, sizeof(msgs_a) / sizeof(msgs_a[0]), "queue a");
	check_msq(idb, msgs_b, sizeof(msgs_b) / sizeof(msgs_b[0]), "queue b");

	CHECK(semget(SEM_KEY, 0, 0) == sem, "semaphore key is not id %d", sem);
	arg.array = got;
	CHECK(!semctl(sem, 0, GETALL, arg) && !memcmp(got, vals, sizeof(vals)),
	      "semaphore values differ: %u %u %u", got[0], got[1], got[2]);

	CHECK(!shmctl(shm_att, IPC_STAT, &sds) && sds.shm_segsz == ATT_SIZE && sds.shm_nattch == 1,
	      "attached segment %d is not there as it was", shm_att);
	CHECK(prog_verify(att, ATT_SIZE, 11) < 0, "attached segment contents differ");
	CHECK(shmget(SHM_KEY, 0, 0) == shm_un, "segment key is not id %d", shm_un);
	CHECK(!shmctl(shm_un, IPC_STAT, &sds) && sds.shm_segsz == SHM_SIZE && sds.shm_nattch == 0 &&
		      (sds.shm_perm.mode & 0777) == 0640,
	      "unattached segment %d: size, attachments or mode differ", shm_un);
	p = shmat(shm_un, NULL, SHM_RDONLY);
	CHECK(p != (void *)-1, "shmat %d: %s", shm_un, strerror(errno));
	if (p != (void *)-1) {
		CHECK(prog_verify(p, SHM_SIZE - 5000, 12) < 0,
		      "unattached segment contents differ");
		for (size_t i = SHM_SIZE - 5000; i < SHM_SIZE; i++)
			if (p[i]) {
				CHECK(0, "unattached segment byte %zu not zero", i);
				break;
			}
	}

	if (fd < 0)
		fd = mq_open(MQ_NAME, O_RDONLY | O_NONBLOCK);
	CHECK(fd >= 0, "mq_open %s: %s", MQ_NAME, strerror(errno));
	if (keep_fd)
		CHECK(fcntl(fd, F_GETFL) & O_NONBLOCK, "the mqueue fd lost O_NONBLOCK");
	if (fd >= 0 && !mq_getattr(fd, &attr)) {
		CHECK(attr.mq_maxmsg == 8 && attr.mq_msgsize == 64 && attr.mq_curmsgs == 5,
		      "POSIX queue attributes: %ld %ld %ld", attr.mq_maxmsg, attr.mq_msgsize,
		      attr.mq_curmsgs);
		for (size_t i = 0; i < sizeof(mq_out) / sizeof(mq_out[0]); i++) {
			char b[64];
			unsigned prio = 99;
			struct timespec ts = { 0, 0 };
			ssize_t n = mq_timedreceive(fd, b, sizeof(b), &prio, &ts);

			CHECK(n == (ssize_t)strlen(mq_out[i].text) && prio == mq_out[i].prio &&
				      !memcmp(b, mq_out[i].text, n > 0 ? n : 0),
			      "POSIX message %zu is not '%s' at %u", i, mq_out[i].text,
			      mq_out[i].prio);
		}
	}
	prog_finish();
}
