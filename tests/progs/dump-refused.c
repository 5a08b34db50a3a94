/*
 * dump-refused: counts like counter.c while holding something vxdump
 * refuses (see NOTES, issue 3), so the harness can check that a refused
 * dump leaves it running.  Usage: dump-refused OUTFILE MODE, MODE one of
 *
 *   socket        an MPTCP socket listening on 127.0.0.1; writes "socket FD"
 *   io_uring      an io_uring instance made with raw syscalls, its SQ ring
 *                 mapped; writes "io_uring FD" (two refusals: fd and ring)
 *   io_uring-sqpoll an io_uring with an SQPOLL thread, its fd registered
 *                 (IORING_REGISTER_RING_FDS) and closed: no fd, no mapping,
 *                 only the kernel thread; writes "sqpoll TID|TID..." (its io threads)
 *   vfork         a child C that vforks a grandchild G which sleeps, so C
 *                 waits in vfork sharing its mm with G; writes "child C"
 *                 and "vchild G"
 *   clone-vm      a child sharing our address space (CLONE_VM without
 *                 CLONE_THREAD); writes "child PID"
 *   sibling-files two children sharing an fd table that is not ours: C
 *                 forked, S made by C with clone(CLONE_FILES|CLONE_PARENT);
 *                 writes "child C" and "sibling S"
 *   sibling-fs    the same with CLONE_FS (cwd/root/umask)
 *
 * (A child sharing our fd table or fs info, and a thread with its own, are
 * dumped now: tests/progs/share-variants.c.)
 *
 * Children sleep in raw syscalls (die with us: PR_SET_PDEATHSIG) and are
 * killed when the program finishes.  On SIGUSR1 it checks that its
 * "count N" lines increase strictly and that the socket still listens /
 * the ring still takes io_uring_enter / the children still run.
 */
#include <netinet/in.h>
#include <dirent.h>
#include <stdbool.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/mman.h>
#include <linux/io_uring.h>
#include <sys/wait.h>
#include <time.h>
#include "prog.h"

#define CHILD_STACK (64 * 1024)

static volatile uint64_t counter;
static int sock_fd = -1, ring_fd = -1;
static pid_t child_pid = -1, vchild_pid = -1, sibling_pid = -1;

static void setup_socket(int unused)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	/* MPTCP: TCP sockets are dumped since issue 13, MPTCP ones are not */
	sock_fd = socket(AF_INET, SOCK_STREAM, 262 /* IPPROTO_MPTCP */);
	if (sock_fd < 0 || bind(sock_fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(sock_fd, 4))
		prog_fail("MPTCP socket on 127.0.0.1: %s", strerror(errno));
	prog_say("socket %d\n", sock_fd);
}

/* An io_uring of 4 entries (no liburing); map: its SQ ring mapped too. */
static void setup_io_uring(int map)
{
	struct io_uring_params p;
	void *sq;

	memset(&p, 0, sizeof(p));
	ring_fd = (int)syscall(SYS_io_uring_setup, 4, &p);
	if (ring_fd < 0)
		prog_fail("io_uring_setup: %s", strerror(errno));
	if (map) {
		sq = mmap(NULL, p.sq_off.array + p.sq_entries * sizeof(uint32_t),
			  PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, ring_fd,
			  IORING_OFF_SQ_RING);
		if (sq == MAP_FAILED)
			prog_fail("mmap of the SQ ring: %s", strerror(errno));
	}
	prog_say("io_uring %d\n", ring_fd);
}

/* An SQPOLL ring reachable only through its registered index. */
static void setup_io_uring_sqpoll(int unused)
{
	struct io_uring_rsrc_update up;
	struct io_uring_params p;
	char path[300], comm[64], tids[256];
	struct dirent *de;
	bool sqp = false;
	int fd, len = 0, tries;
	DIR *dir;

	memset(&p, 0, sizeof(p));
	p.flags = IORING_SETUP_SQPOLL;
	p.sq_thread_idle = 100000;
	fd = (int)syscall(SYS_io_uring_setup, 4, &p);
	memset(&up, 0, sizeof(up));
	up.offset = -1U;
	up.data = (uint64_t)fd;
	if (fd < 0 || syscall(SYS_io_uring_register, fd, IORING_REGISTER_RING_FDS, &up, 1) != 1)
		prog_fail("io_uring SQPOLL ring: %s", strerror(errno));
	close(fd);
	/* every io_uring thread (the SQPOLL one, io-wq workers): tids need not
	 * follow ours on a busy machine, so the task list is read */
	for (tries = 0; !sqp && tries < 500; tries++) {
		/* the thread names itself iou-sqp-PID once it runs */
		if (tries)
			usleep(10000);
		len = 0;
		dir = opendir("/proc/self/task");
		if (!dir)
			prog_fail("/proc/self/task: %s", strerror(errno));
		while ((de = readdir(dir))) {
			snprintf(path, sizeof(path), "/proc/self/task/%s/comm", de->d_name);
			if (prog_read_file(path, comm, sizeof(comm)) <= 0 ||
			    strncmp(comm, "iou-", 4))
				continue;
			len += snprintf(tids + len, sizeof(tids) - len, "%s%s", len ? "|" : "",
					de->d_name);
			if (!strncmp(comm, "iou-sqp", 7))
				sqp = true;
		}
		closedir(dir);
	}
	if (!sqp || (size_t)len >= sizeof(tids))
		prog_fail("io_uring SQPOLL ring: no iou-sqp thread in /proc/self/task");
	prog_say("sqpoll %s\n", tids);
}

/* Forward: the children below. */
static int sleeper(void *arg);

/* A socket and an io_uring, and a forked child holding both: four refusals. */
static void setup_many(int unused)
{
	setup_socket(0);
	setup_io_uring(0);
	child_pid = fork();
	if (child_pid < 0)
		prog_fail("fork: %s", strerror(errno));
	if (child_pid == 0)
		sleeper(NULL);
	prog_say("child %d\n", (int)child_pid);
}

/* A child's life: sleep in raw syscalls until killed (no libc state used). */
static int sleeper(void *arg)
{
	(void)arg;
	syscall(SYS_prctl, PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	for (;;)
		syscall(SYS_pause);
	return 0;
}

/* A child created by clone(flags) running sleeper() on its own stack. */
static void setup_clone(int flags)
{
	char *stack = malloc(CHILD_STACK);

	if (!stack)
		prog_fail("no memory for a child stack");
	child_pid = clone(sleeper, stack + CHILD_STACK, flags | SIGCHLD, NULL);
	if (child_pid < 0)
		prog_fail("clone(%#x): %s", flags, strerror(errno));
	prog_say("child %d\n", (int)child_pid);
}

/*
 * C (forked) makes S with clone(flags | CLONE_PARENT): S is our child too
 * and shares C's fd table or fs info, not ours.  Reports both.
 */
static void setup_sibling(int flags)
{
	char *stack = malloc(CHILD_STACK);
	int p[2];

	if (!stack || pipe(p))
		prog_fail("no memory or pipe for a sibling");
	child_pid = fork();
	if (child_pid < 0)
		prog_fail("fork: %s", strerror(errno));
	if (child_pid == 0) {
		pid_t s = clone(sleeper, stack + CHILD_STACK, flags | CLONE_PARENT, NULL);

		if (write(p[1], &s, sizeof(s)) != sizeof(s))
			_exit(1);
		sleeper(NULL);
	}
	if (read(p[0], &sibling_pid, sizeof(sibling_pid)) != sizeof(sibling_pid) ||
	    sibling_pid <= 0)
		prog_fail("sibling of %d not made", (int)child_pid);
	close(p[0]);
	close(p[1]);
	prog_say("child %d\nsibling %d\n", (int)child_pid, (int)sibling_pid);
}

/* The only child of pid, from /proc/PID/task/PID/children; -1 if none. */
static pid_t only_child(pid_t pid)
{
	char path[64], buf[64];

	snprintf(path, sizeof(path), "/proc/%d/task/%d/children", (int)pid, (int)pid);
	if (prog_read_file(path, buf, sizeof(buf)) <= 0)
		return -1;
	return atoi(buf);
}

/* C vforks G (G sleeps on C's stack, C waits in vfork); reports both. */
static void setup_vfork(int unused)
{
	char c;
	int p[2];

	if (pipe(p))
		prog_fail("pipe: %s", strerror(errno));
	child_pid = fork();
	if (child_pid < 0)
		prog_fail("fork: %s", strerror(errno));
	if (child_pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
		close(p[0]);
		if (vfork() == 0) { /* only raw syscalls in the vfork child */
			syscall(SYS_write, p[1], "g", 1);
			sleeper(NULL);
		}
		_exit(0);
	}
	close(p[1]);
	if (read(p[0], &c, 1) != 1)
		prog_fail("vfork child did not start");
	close(p[0]);
	vchild_pid = only_child(child_pid);
	if (vchild_pid <= 0)
		prog_fail("vfork child of %d not found", (int)child_pid);
	prog_say("child %d\nvchild %d\n", (int)child_pid, (int)vchild_pid);
}

/* A child of ours still runs (not reaped, not a zombie); then it goes. */
static void check_child(pid_t pid, const char *what)
{
	char path[64], buf[512], *st;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	st = prog_read_file(path, buf, sizeof(buf)) > 0 ? strrchr(buf, ')') : NULL;
	CHECK(st && st[2] != 'Z' && st[2] != 'X', "%s %d is gone", what, (int)pid);
}

/* The refused object is still there and working. */
static void check_object(void)
{
	socklen_t len = sizeof(int);
	int listening = 0;

	if (sock_fd >= 0)
		CHECK(!getsockopt(sock_fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) &&
			      listening,
		      "socket fd %d no longer listens", sock_fd);
	if (ring_fd >= 0)
		CHECK(!syscall(SYS_io_uring_enter, ring_fd, 0, 0, 0, NULL, 0),
		      "io_uring %d no longer takes io_uring_enter: %s", ring_fd, strerror(errno));
	if (vchild_pid > 0) {
		check_child(vchild_pid, "vfork child");
		kill(vchild_pid, SIGKILL); /* C's vfork returns, C exits */
	}
	if (child_pid > 0) {
		check_child(child_pid, "child");
		kill(child_pid, SIGKILL);
		waitpid(child_pid, NULL, __WALL);
	}
	if (sibling_pid > 0) {
		check_child(sibling_pid, "sibling");
		kill(sibling_pid, SIGKILL);
		waitpid(sibling_pid, NULL, __WALL);
	}
}

static const struct {
	const char *name;
	void (*setup)(int arg);
	int arg;
} modes[] = {
	{ "socket", setup_socket, 0 },
	{ "io_uring", setup_io_uring, 1 },
	{ "io_uring-sqpoll", setup_io_uring_sqpoll, 0 },
	{ "vfork", setup_vfork, 0 },
	{ "clone-vm", setup_clone, CLONE_VM },
	{ "sibling-files", setup_sibling, CLONE_FILES },
	{ "sibling-fs", setup_sibling, CLONE_FS },
	{ "many", setup_many, 0 },
};

int main(int argc, char **argv)
{
	struct timespec step = { 0, 10 * 1000000L };
	const char *mode = argc > 2 ? argv[2] : "";
	sigset_t set;
	size_t i;

	prog_init(argc, argv, "dump-refused");
	for (i = 0; i < sizeof(modes) / sizeof(modes[0]) && strcmp(mode, modes[i].name); i++)
		;
	if (i == sizeof(modes) / sizeof(modes[0]))
		prog_fail("unknown mode '%s' (see the head of dump-refused.c)", mode);
	modes[i].setup(modes[i].arg);
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
	prog_ready();
	while (!prog_go) {
		counter++;
		if (counter % 20 == 0)
			prog_say("count %llu\n", (unsigned long long)counter);
		nanosleep(&step, NULL);
	}
	prog_check_counts();
	check_object();
	prog_finish();
}
