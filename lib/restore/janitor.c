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
 * cgroups we created (--manage-cgroups) are handed over as the parent
 * group's fd and the name, right after the mkdir; the janitor removes
 * them, newest first, once their tasks are gone.
 */
#define LOG_PREFIX "restore/janitor: "
#include <errno.h>
#include <fcntl.h>
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
#define JANITOR_CGROUP 'g'
#define JANITOR_NAME_MAX 256
#define JANITOR_MAX_CGROUPS 4096
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

/* A cgroup we created: its parent's fd and its name. */
struct janitor_cgroup {
	int dirfd;
	char name[JANITOR_NAME_MAX];
};

/* Removes the groups not removed yet, newest first; how many are left. */
static size_t janitor_rmdirs(struct janitor_cgroup *g, size_t n)
{
	size_t i, left = 0;

	for (i = n; i-- > 0;) {
		if (g[i].dirfd < 0)
			continue;
		if (!unlinkat(g[i].dirfd, g[i].name, AT_REMOVEDIR) || errno == ENOENT) {
			close(g[i].dirfd);
			g[i].dirfd = -1;
		} else {
			left++;
		}
	}
	return left;
}

/* Undoes an uncommitted restore: kills the processes, then segments and groups. */
static void janitor_undo(pid_t creator, const int *pidfds, size_t n, struct janitor_cgroup *g,
			 size_t ng)
{
	struct timespec ts = { 0, 10 * 1000000 };
	size_t i;
	int waited;

	for (i = 0; i < n; i++)
		syscall(SYS_pidfd_send_signal, pidfds[i], SIGKILL, NULL, 0);
	for (waited = 0; janitor_pass(creator) && waited < JANITOR_WAIT_MS; waited += 10)
		nanosleep(&ts, NULL);
	for (waited = 0; janitor_rmdirs(g, ng) && waited < JANITOR_WAIT_MS; waited += 10)
		nanosleep(&ts, NULL);
}

/*
 * One message: a byte, maybe with an fd, maybe a name after the byte
 * (NUL-terminated into name, which has JANITOR_NAME_MAX bytes).  Returns
 * the byte, 0 at EOF.
 */
static int janitor_recv(int sk, int *fd, char *name)
{
	char buf[1 + JANITOR_NAME_MAX], cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { buf, sizeof(buf) };
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
	memcpy(name, buf + 1, (size_t)r - 1);
	name[r - 1 < JANITOR_NAME_MAX ? r - 1 : JANITOR_NAME_MAX - 1] = '\0';
	return (unsigned char)buf[0];
}

/* The janitor process.  Never returns. */
static void janitor_main(int sk, pid_t creator)
{
	static int pidfds[JANITOR_MAX_PIDS];
	static struct janitor_cgroup groups[JANITOR_MAX_CGROUPS];
	char name[JANITOR_NAME_MAX];
	size_t n = 0, ng = 0;
	int c, fd;

	keeper_detach(sk);
	while ((c = janitor_recv(sk, &fd, name)) == JANITOR_PID || c == JANITOR_CGROUP) {
		if (fd >= 0 && c == JANITOR_PID && n < JANITOR_MAX_PIDS) {
			pidfds[n++] = fd;
		} else if (fd >= 0 && c == JANITOR_CGROUP && ng < JANITOR_MAX_CGROUPS) {
			groups[ng].dirfd = fd;
			memcpy(groups[ng++].name, name, sizeof(name));
		} else if (fd >= 0) {
			close(fd);
		}
	}
	if (c != JANITOR_COMMIT)
		janitor_undo(creator, pidfds, n, groups, ng);
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

/* Sends one byte, with fd when fd >= 0 and name when not NULL.  0 or -errno. */
static int janitor_send(int sk, char c, int fd, const char *name)
{
	char buf[1 + JANITOR_NAME_MAX], cbuf[CMSG_SPACE(sizeof(int))];
	size_t len = name ? strlen(name) : 0;
	struct iovec iov = { buf, 1 + len };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *cm;

	if (len >= JANITOR_NAME_MAX)
		return -ENAMETOOLONG;
	buf[0] = c;
	memcpy(buf + 1, name ? name : "", len);

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
	return sendmsg(sk, &m, MSG_NOSIGNAL) == (ssize_t)(1 + len) ? 0 : -errno;
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
	ret = janitor_send(img->janitor_fd, JANITOR_PID, fd, NULL);
	close(fd);
	if (ret)
		pr_err("pid %d: cannot hand it to the janitor: %s\n", pid, strerror(-ret));
	return ret;
}

int rst_janitor_cgroup(const struct rst_image *img, int dirfd, const char *name)
{
	int ret;

	if (img->janitor_fd < 0)
		return 0;
	ret = janitor_send(img->janitor_fd, JANITOR_CGROUP, dirfd, name);
	if (ret)
		pr_err("cgroup %s: cannot hand it to the janitor: %s\n", name, strerror(-ret));
	return ret;
}

void rst_janitor_commit(struct rst_image *img, bool committed)
{
	if (img->janitor_fd < 0)
		return;
	if (committed && janitor_send(img->janitor_fd, JANITOR_COMMIT, -1, NULL))
		pr_warn("janitor: %s\n", strerror(errno));
	close(img->janitor_fd);
	img->janitor_fd = -1;
	waitpid(img->janitor_pid, NULL, 0);
}
