/*
 * The janitor of a restore: what a SIGKILLed vxrestore cannot undo itself.
 *
 * The half-built tree is traced with PTRACE_O_EXITKILL, so it dies with
 * us, but a tree whose processes are released one by one at the end is
 * not: a kill in the middle of the releases would leave part of it
 * running.  And SysV segments we created outlive us.  So, for a tree of
 * more than one process or an image with SysV segments, a janitor is
 * forked before anything is created.  It holds one end of a socket pair
 * only we hold the other end of; we send it a pidfd of every process we
 * create (SCM_RIGHTS: no pid can be reused under it) and, once the tree
 * runs on its own, the byte "committed".  If the socket ends without it,
 * the janitor kills every process it was given and removes every SysV
 * segment whose creator is our pid once nobody has it attached
 * (/proc/sysvipc/shm gives the creator, so no id has to reach it first).
 */
#define LOG_PREFIX "restore/janitor: "
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/shm.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "log.h"
#include "proc/proc.h"
#include "restore/restore.h"
#include "util/keeper.h"

#define JANITOR_COMMIT 'c'
#define JANITOR_PID 'p'
#define JANITOR_WAIT_MS 5000
#define JANITOR_MAX_PIDS 65536

/*
 * Removes the segments creator made that nobody has attached; returns how
 * many of its segments are still attached.
 */
static size_t janitor_pass(pid_t creator)
{
	struct proc_sysv_shm *segs = NULL;
	size_t n = 0, i, busy = 0;
	char *text;

	if (proc_read_path("/proc/sysvipc/shm", &text, NULL))
		return 0;
	if (!proc_parse_sysv_shm(text, &segs, &n)) {
		for (i = 0; i < n; i++) {
			if (segs[i].cpid != creator)
				continue;
			if (segs[i].nattch)
				busy++;
			else
				shmctl(segs[i].shmid, IPC_RMID, NULL);
		}
	}
	free(text);
	free(segs);
	return busy;
}

/* Undoes an uncommitted restore: kills the processes, then segments. */
static void janitor_undo(pid_t creator, const int *pidfds, size_t n)
{
	struct timespec ts = { 0, 10 * 1000000 };
	size_t i;
	int waited;

	for (i = 0; i < n; i++)
		syscall(SYS_pidfd_send_signal, pidfds[i], SIGKILL, NULL, 0);
	for (waited = 0; janitor_pass(creator) && waited < JANITOR_WAIT_MS; waited += 10)
		nanosleep(&ts, NULL);
}

/* One message: a byte, maybe with a pidfd.  Returns the byte, 0 at EOF. */
static int janitor_recv(int sk, int *fd)
{
	char c = 0, cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { &c, 1 };
	struct msghdr m = { .msg_iov = &iov,
			    .msg_iovlen = 1,
			    .msg_control = cbuf,
			    .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *cm;
	ssize_t r;

	*fd = -1;
	do {
		r = recvmsg(sk, &m, MSG_CMSG_CLOEXEC);
	} while (r < 0 && errno == EINTR);
	if (r <= 0)
		return 0;
	cm = CMSG_FIRSTHDR(&m);
	if (cm && cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS)
		memcpy(fd, CMSG_DATA(cm), sizeof(int));
	return (unsigned char)c;
}

/* The janitor process.  Never returns. */
static void janitor_main(int sk, pid_t creator)
{
	static int pidfds[JANITOR_MAX_PIDS];
	size_t n = 0;
	int c, fd;

	keeper_detach(sk);
	while ((c = janitor_recv(sk, &fd)) == JANITOR_PID) {
		if (fd >= 0 && n < JANITOR_MAX_PIDS)
			pidfds[n++] = fd;
	}
	if (c != JANITOR_COMMIT)
		janitor_undo(creator, pidfds, n);
	_exit(0);
}

int rst_janitor_start(struct rst_image *img)
{
	pid_t self = getpid(), pid;
	int sk[2];

	if (img->janitor_fd >= 0)
		return 0;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sk)) {
		pr_perror("janitor socket");
		return -errno;
	}
	pid = fork();
	if (pid < 0) {
		pr_perror("cannot start the restore's janitor");
		close(sk[0]);
		close(sk[1]);
		return -errno;
	}
	if (pid == 0)
		janitor_main(sk[0], self);
	close(sk[0]);
	img->janitor_fd = sk[1];
	img->janitor_pid = pid;
	return 0;
}

/* Sends one byte, with fd when fd >= 0.  0 or -errno. */
static int janitor_send(int sk, char c, int fd)
{
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { &c, 1 };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *cm;

	if (fd >= 0) {
		memset(cbuf, 0, sizeof(cbuf));
		m.msg_control = cbuf;
		m.msg_controllen = sizeof(cbuf);
		cm = CMSG_FIRSTHDR(&m);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	}
	return sendmsg(sk, &m, MSG_NOSIGNAL) == 1 ? 0 : -errno;
}

int rst_janitor_watch(struct rst_image *img, pid_t pid)
{
	int fd, ret;

	if (img->janitor_fd < 0)
		return 0;
	fd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (fd < 0) {
		pr_perror("pid %d: pidfd_open", pid);
		return -errno;
	}
	ret = janitor_send(img->janitor_fd, JANITOR_PID, fd);
	close(fd);
	if (ret)
		pr_err("pid %d: cannot hand it to the janitor: %s\n", pid, strerror(-ret));
	return ret;
}

void rst_janitor_commit(struct rst_image *img, bool committed)
{
	if (img->janitor_fd < 0)
		return;
	if (committed && janitor_send(img->janitor_fd, JANITOR_COMMIT, -1))
		pr_warn("janitor: %s\n", strerror(errno));
	close(img->janitor_fd);
	img->janitor_fd = -1;
	waitpid(img->janitor_pid, NULL, 0);
}
