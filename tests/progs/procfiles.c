/*
 * fds on /proc files and namespace files.  The process holds:
 * /proc/CHILD/stat of its child (read once), /proc/PID/status of itself
 * read 20 bytes in (the offset must be kept), /proc/PID/task/PID/comm,
 * the /proc/CHILD directory, /proc/meminfo (no process's: by path), and
 * its own ns/net, ns/pid, ns/uts, ns/ipc, ns/mnt, ns/user, ns/cgroup,
 * ns/time, ns/pid_for_children.  The child holds /proc/PARENT/status,
 * and both hold one description of /proc/PARENT/stat (inherited).  A
 * second thread's /proc/PID/task/TID/stat and /proc/TID/status too.
 * After "go": each /proc fd reads the restored task it names (the child's
 * stat starts with the child's pid, status continues at byte 20), each ns
 * fd is on the namespace the process is in now, and the child checks its
 * own fd and reports through its exit status.
 *
 * Refusal modes (argv[2]): "outside PID" opens /proc/PID/stat of a process
 * outside the tree, "foreign-ns PID" opens /proc/PID/ns/uts of a process
 * in another uts namespace.
 */
#include <pthread.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "prog.h"

static const char *const ns[] = { "net",    "pid",  "uts",
				  "ipc",    "mnt",  "user",
				  "cgroup", "time", "pid_for_children" };
#define NNS (sizeof(ns) / sizeof(ns[0]))

static int open_fmt(int flags, const char *fmt, long a, long b)
{
	char path[128];
	int fd;

	snprintf(path, sizeof(path), fmt, a, b);
	fd = open(path, flags);
	if (fd < 0)
		prog_fail("open %s: %s", path, strerror(errno));
	return fd;
}

static volatile pid_t thread_tid;

/* A second thread: its tid, then waits forever. */
static void *thread_main(void *arg)
{
	(void)arg;
	thread_tid = (pid_t)syscall(SYS_gettid);
	for (;;)
		pause();
	return NULL;
}

static void on_usr2(int sig)
{
	(void)sig;
}

/*
 * The child: holds its parent's status, and (inherited) the parent's
 * /proc/PID/stat description at offset 5; checks both on SIGUSR2.
 */
static void child(pid_t parent, int shared)
{
	char buf[256];
	sigset_t set;
	ssize_t n;
	int fd, sig;

	fd = open_fmt(O_RDONLY, "/proc/%ld/status", parent, 0);
	sigemptyset(&set);
	sigaddset(&set, SIGUSR2);
	sigprocmask(SIG_BLOCK, &set, NULL);
	kill(parent, SIGUSR2); /* ready */
	sigwait(&set, &sig);
	n = pread(fd, buf, sizeof(buf) - 1, 0);
	buf[n > 0 ? n : 0] = '\0';
	snprintf(buf + 128, 64, "\nPid:\t%d\n", parent);
	if (n <= 0 || !strstr(buf, buf + 128))
		_exit(3);
	n = pread(shared, buf, 64, 0);
	snprintf(buf + 128, 64, "%d (", parent);
	if (n <= 0 || strncmp(buf, buf + 128, strlen(buf + 128)))
		_exit(4);
	_exit(lseek(shared, 0, SEEK_CUR) == 5 ? 0 : 5);
}

int main(int argc, char **argv)
{
	int stat_fd, status_fd, comm_fd, dir_fd, mem_fd, nsfd[NNS], st, shared, tfd, tfd2;
	pthread_t th;
	char buf[4096], want[64];
	struct stat s1, s2;
	struct sigaction sa;
	sigset_t set;
	pid_t pid = getpid(), kid;
	size_t i;
	ssize_t n;

	prog_init(argc, argv, "procfiles");
	if (argc > 3 && !strcmp(argv[2], "outside")) {
		open_fmt(O_RDONLY, "/proc/%ld/stat", atol(argv[3]), 0);
		prog_ready();
		prog_wait_go();
		prog_finish();
	}
	if (argc > 3 && !strcmp(argv[2], "foreign-ns")) {
		open_fmt(O_RDONLY, "/proc/%ld/ns/uts", atol(argv[3]), 0);
		prog_ready();
		prog_wait_go();
		prog_finish();
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr2;
	sigaction(SIGUSR2, &sa, NULL);
	sigemptyset(&set);
	sigaddset(&set, SIGUSR2);
	sigprocmask(SIG_BLOCK, &set, NULL);
	shared = open_fmt(O_RDONLY, "/proc/%ld/stat", pid, 0);
	if (read(shared, buf, 5) != 5)
		prog_fail("read: %s", strerror(errno));
	kid = fork();
	if (kid < 0)
		prog_fail("fork: %s", strerror(errno));
	if (!kid)
		child(pid, shared);
	sigwait(&set, &st);
	if (pthread_create(&th, NULL, thread_main, NULL))
		prog_fail("pthread_create");
	while (!thread_tid)
		usleep(1000);
	tfd = open_fmt(O_RDONLY, "/proc/%ld/task/%ld/stat", pid, thread_tid);
	tfd2 = open_fmt(O_RDONLY, "/proc/%ld/status", thread_tid, 0);
	stat_fd = open_fmt(O_RDONLY, "/proc/%ld/stat", kid, 0);
	status_fd = open_fmt(O_RDONLY, "/proc/%ld/status", pid, 0);
	comm_fd = open_fmt(O_RDONLY, "/proc/%ld/task/%ld/comm", pid, pid);
	dir_fd = open_fmt(O_RDONLY | O_DIRECTORY, "/proc/%ld", kid, 0);
	mem_fd = open_fmt(O_RDONLY, "/proc/meminfo", 0, 0);
	if (read(stat_fd, buf, 10) != 10 || read(status_fd, buf, 20) != 20 ||
	    read(mem_fd, buf, 10) != 10)
		prog_fail("read: %s", strerror(errno));
	for (i = 0; i < NNS; i++)
		nsfd[i] = open_fmt(O_RDONLY, "/proc/self/ns/%s", (long)ns[i], 0);
	prog_ready();
	prog_wait_go();

	n = pread(stat_fd, buf, sizeof(buf) - 1, 0);
	buf[n > 0 ? n : 0] = '\0';
	snprintf(want, sizeof(want), "%d (procfiles) ", kid);
	CHECK(n > 0 && !strncmp(buf, want, strlen(want)), "/proc/%d/stat reads '%.40s'", kid,
	      n > 0 ? buf : strerror(errno));
	CHECK(lseek(status_fd, 0, SEEK_CUR) == 20, "status fd at %ld, not 20",
	      (long)lseek(status_fd, 0, SEEK_CUR));
	n = read(status_fd, buf, sizeof(buf) - 1);
	buf[n > 0 ? n : 0] = '\0';
	snprintf(want, sizeof(want), "\nPid:\t%d\n", pid);
	CHECK(n > 0 && strstr(buf, want), "status fd does not go on with this process's status");
	n = pread(comm_fd, buf, sizeof(buf) - 1, 0);
	CHECK(n == 10 && !strncmp(buf, "procfiles\n", 10), "comm fd reads %zd bytes", n);
	CHECK(!fstatat(dir_fd, "stat", &s1, 0), "/proc/%d dir fd: %s", kid, strerror(errno));
	n = pread(mem_fd, buf, 9, 0);
	CHECK(n == 9 && !strncmp(buf, "MemTotal:", 9), "meminfo fd reads '%.9s'", buf);
	CHECK(lseek(mem_fd, 0, SEEK_CUR) == 10, "meminfo fd not at 10");
	for (i = 0; i < NNS; i++) {
		snprintf(buf, sizeof(buf), "/proc/self/ns/%s", ns[i]);
		CHECK(!fstat(nsfd[i], &s1) && !stat(buf, &s2) && s1.st_ino == s2.st_ino &&
			      s1.st_dev == s2.st_dev,
		      "ns fd %s is on inode %lu, the process is in %lu", ns[i],
		      (unsigned long)s1.st_ino, (unsigned long)s2.st_ino);
	}
	CHECK((fcntl(status_fd, F_GETFL) & O_ACCMODE) == O_RDONLY, "status fd flags");
	CHECK(lseek(shared, 0, SEEK_CUR) == 5, "shared stat fd not at 5");
	n = pread(tfd, buf, 64, 0);
	snprintf(want, sizeof(want), "%d (", thread_tid);
	CHECK(n > 0 && !strncmp(buf, want, strlen(want)), "task/%d/stat reads '%.20s'", thread_tid,
	      n > 0 ? buf : strerror(errno));
	n = pread(tfd2, buf, sizeof(buf) - 1, 0);
	buf[n > 0 ? n : 0] = '\0';
	snprintf(want, sizeof(want), "\nPid:\t%d\n", thread_tid);
	CHECK(n > 0 && strstr(buf, want), "/proc/%d/status is not the thread's", thread_tid);
	kill(kid, SIGUSR2);
	CHECK(waitpid(kid, &st, 0) == kid && WIFEXITED(st) && !WEXITSTATUS(st),
	      "the child's /proc/%d/status fd failed its check (status %#x)", pid, st);
	prog_finish();
}
