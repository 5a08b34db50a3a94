/*
 * POSIX message queues of the tree's IPC namespace (ipcns.h).  The only
 * way to read a message is mq_receive, which takes it, so a forked
 * process does it: vxdump's thread is in the namespace, so is the child,
 * which mounts the namespace's mqueue filesystem detached (fsopen,
 * fsmount: nothing appears in any mount namespace), opens each queue
 * through it, takes all its messages (highest priority first, FIFO
 * within one) and sends them back at once in the same order, which
 * leaves the queue as it was.  The child ignores the signals a killed
 * vxdump's terminal or caller would send, so a vxdump killed meanwhile
 * leaves every queue whole.  It writes what it read, packed, to a memfd.
 * A queue with a notification registered (mq_notify) is refused: putting
 * messages back into a queue we emptied would fire it.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <mqueue.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>

#define LOG_PREFIX "dump/ipcns: "
#include "log.h"
#include "dump/dump.h"
#include "dump/ipcns.h"
#include "util/testhook.h"

#define EXIT_REFUSED 2

/* The forked process's refusal, handed to vxdump in the memfd (its log
 * lines are its own: errors are values of the process that made them). */
static char refusal[512];

/* The notifying pid from a queue file's text ("QSIZE:.. NOTIFY_PID:N"). */
static int notify_pid(int fd)
{
	char buf[256], *p;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);

	if (n <= 0)
		return -1;
	buf[n] = '\0';
	p = strstr(buf, "NOTIFY_PID:");
	return p ? atoi(p + 11) : -1;
}

/* Takes the n messages of fd into q.  0 or -errno (logged). */
static int take_all(int fd, IpcMqEntry *q, long n, size_t *total)
{
	char *buf = malloc((size_t)q->msgsize + 1);
	int ret = buf ? 0 : -ENOMEM;

	for (long i = 0; !ret && i < n; i++) {
		unsigned prio;
		ssize_t len = mq_receive(fd, buf, (size_t)q->msgsize, &prio);
		IpcMqMsg *m;

		if (len < 0) {
			ret = -errno;
			pr_perror("POSIX queue /%s: mq_receive", q->name);
			break;
		}
		*total += (size_t)len;
		m = calloc(1, sizeof(*m));
		if (!m || ipcns_push((void ***)&q->msgs, &q->n_msgs, m)) {
			free(m); /* what was taken so far still goes back */
			ret = -ENOMEM;
			break;
		}
		ipc_mq_msg__init(m);
		PB_SET(m, prio, prio);
		m->has_text = 1;
		m->text.data = malloc(len ? (size_t)len : 1);
		m->text.len = m->text.data ? (size_t)len : 0;
		if (m->text.data)
			memcpy(m->text.data, buf, (size_t)len);
		else
			ret = -ENOMEM;
	}
	free(buf);
	return ret;
}

/* Every message taken goes back, in order.  0 or -errno (logged). */
static int put_back(int fd, const IpcMqEntry *q)
{
	int ret = 0;

	for (size_t i = 0; i < q->n_msgs; i++) {
		const IpcMqMsg *m = q->msgs[i];

		if (mq_send(fd, (const char *)m->text.data, m->text.len, m->prio)) {
			pr_perror("POSIX queue /%s: cannot put message %zu back", q->name, i);
			ret = ret ?: -errno;
		}
	}
	return ret;
}

/* One queue, name, of the mqueue directory dfd.  0, -EOPNOTSUPP, -errno. */
static int read_queue(int dfd, const char *name, IpcnsEntry *e, size_t *total)
{
	struct mq_attr attr;
	struct stat st;
	IpcMqEntry *q;
	int fd, ret, back;

	fd = openat(dfd, name, O_RDWR | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 || fstat(fd, &st) || mq_getattr(fd, &attr)) {
		pr_perror("POSIX queue /%s: cannot open it", name);
		ret = -errno;
		if (fd >= 0)
			close(fd);
		return ret;
	}
	if (notify_pid(fd) != 0) {
		snprintf(refusal, sizeof(refusal),
			 "POSIX queue /%s: a process is registered for its notification "
			 "(mq_notify): not supported",
			 name);
		close(fd);
		return -EOPNOTSUPP;
	}
	if (*total + (size_t)attr.mq_curmsgs * (size_t)attr.mq_msgsize > IPCNS_MAX_BYTES) {
		snprintf(refusal, sizeof(refusal),
			 "POSIX queues hold more than %u MiB: not supported",
			 IPCNS_MAX_BYTES >> 20);
		close(fd);
		return -EOPNOTSUPP;
	}
	q = calloc(1, sizeof(*q));
	if (!q || ipcns_push((void ***)&e->mqs, &e->n_mqs, q)) {
		free(q);
		close(fd);
		return -ENOMEM;
	}
	ipc_mq_entry__init(q);
	q->name = strdup(name);
	PB_SET(q, mode, st.st_mode & 07777);
	PB_SET(q, uid, st.st_uid);
	PB_SET(q, gid, st.st_gid);
	PB_SET(q, maxmsg, attr.mq_maxmsg);
	PB_SET(q, msgsize, attr.mq_msgsize);
	ret = q->name ? take_all(fd, q, attr.mq_curmsgs, total) : -ENOMEM;
	test_pause("ipc-mq-out"); /* a kill of vxdump here: the queue is put back */
	back = put_back(fd, q);
	close(fd);
	return ret ?: back;
}

int ipcns_mq_root(void)
{
	int fs, mnt;

	fs = fsopen("mqueue", FSOPEN_CLOEXEC);
	if (fs < 0) {
		pr_perror("fsopen mqueue");
		return -errno;
	}
	if (fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0)) {
		pr_perror("fsconfig mqueue");
		close(fs);
		return -errno;
	}
	mnt = fsmount(fs, FSMOUNT_CLOEXEC, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV);
	if (mnt < 0) {
		pr_perror("fsmount mqueue");
		close(fs);
		return -errno;
	}
	close(fs);
	/* the mount fd is a path only: its root opened to be read */
	fs = openat(mnt, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fs < 0)
		pr_perror("cannot open the mqueue filesystem");
	close(mnt);
	return fs < 0 ? -errno : fs;
}

/* The forked process: every queue, packed to out.  Its exit status. */
static int mq_reader(int out)
{
	IpcnsEntry e = IPCNS_ENTRY__INIT;
	struct dirent *de;
	size_t total = 0, len;
	uint8_t *buf;
	int dfd, ret = 0;
	DIR *d;

	signal(SIGINT, SIG_IGN);
	signal(SIGTERM, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	dfd = ipcns_mq_root();
	if (dfd < 0)
		return 1;
	d = fdopendir(dfd);
	if (!d)
		return 1;
	while (!ret && (de = readdir(d))) {
		if (de->d_name[0] == '.' && (!de->d_name[1] || !strcmp(de->d_name, "..")))
			continue;
		ret = read_queue(dirfd(d), de->d_name, &e, &total);
	}
	closedir(d);
	if (ret == -EOPNOTSUPP) {
		len = strlen(refusal);
		return write(out, refusal, len) == (ssize_t)len ? EXIT_REFUSED : 1;
	}
	if (ret)
		return 1;
	len = ipcns_entry__get_packed_size(&e);
	buf = malloc(len ? len : 1);
	if (!buf)
		return 1;
	ipcns_entry__pack(&e, buf);
	for (size_t at = 0; at < len;) {
		ssize_t n = write(out, buf + at, len - at);

		if (n <= 0)
			return 1;
		at += (size_t)n;
	}
	return 0;
}

/* The memfd's packed queues into e.  0 or -errno (logged). */
static int read_back(int mfd, IpcnsEntry *e)
{
	off_t len = lseek(mfd, 0, SEEK_END);
	IpcnsEntry *got;
	void *p = NULL;

	if (len < 0)
		return -errno;
	if (len) {
		p = mmap(NULL, (size_t)len, PROT_READ, MAP_PRIVATE, mfd, 0);
		if (p == MAP_FAILED) {
			pr_perror("cannot map the POSIX queues read");
			return -errno;
		}
	}
	got = ipcns_entry__unpack(NULL, (size_t)len, p);
	if (p)
		munmap(p, (size_t)len);
	if (!got) {
		pr_err("the POSIX queues read do not unpack\n");
		return -EIO;
	}
	e->mqs = got->mqs;
	e->n_mqs = got->n_mqs;
	got->mqs = NULL;
	got->n_mqs = 0;
	ipcns_entry__free_unpacked(got, NULL);
	return 0;
}

/* The forked process's refusal, logged here.  -EOPNOTSUPP; mfd closed. */
static int refused(int mfd)
{
	char buf[sizeof(refusal)];
	ssize_t n = pread(mfd, buf, sizeof(buf) - 1, 0);

	close(mfd);
	buf[n > 0 ? n : 0] = '\0';
	pr_err("%s\n", n > 0 ? buf : "a POSIX queue cannot be read: not supported");
	return -EOPNOTSUPP;
}

int ipcns_mq_read(struct dump_op *op, IpcnsEntry *e)
{
	int mfd, status = 0, ret;
	pid_t pid;

	(void)op;
	mfd = memfd_create("vxcr-mqueue", MFD_CLOEXEC);
	if (mfd < 0) {
		pr_perror("memfd_create");
		return -errno;
	}
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		pr_perror("cannot fork to read the POSIX queues");
		close(mfd);
		return -errno;
	}
	if (!pid)
		_exit(mq_reader(mfd));
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(status) || WEXITSTATUS(status)) {
		if (WIFEXITED(status) && WEXITSTATUS(status) == EXIT_REFUSED)
			return refused(mfd);
		close(mfd);
		pr_err("the POSIX queues of the IPC namespace could not be read and put back\n");
		return -EIO;
	}
	ret = read_back(mfd, e);
	close(mfd);
	return ret;
}
